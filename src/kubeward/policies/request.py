"""The admission request users' policies see, at every enforcement point.

At admission it is what the API server sent (``operation``, ``userInfo``, ``oldObject``, …);
in a scan or an audit there is no request, so one is made up: a CREATE of the object by nobody,
with nothing before it. Secret values are replaced by a marker in ``object`` and ``oldObject``
either way, keys kept (``model.secrets.without_secret_values``).
"""

from __future__ import annotations

from typing import Any

from kubeward.model import K8sObject
from kubeward.model.secrets import without_secret_values
from kubeward.rules import RuleParams


def admission_request(obj: K8sObject) -> dict[str, Any]:
    """The request carrying ``obj`` (a fresh dict: callers may add to it)."""
    if obj.admission is not None:
        request = dict(obj.admission)
        old = request.get("oldObject")
        request["oldObject"] = without_secret_values(old) if isinstance(old, dict) else old
    else:
        group, _, version = obj.api_version.rpartition("/")
        request = {
            "kind": {"group": group, "version": version, "kind": obj.kind},
            "operation": "CREATE",
            "namespace": obj.namespace or "",
            "name": obj.name,
            "oldObject": None,
            "userInfo": {},
            "dryRun": False,
        }
    request["object"] = without_secret_values(obj.raw)
    return request


def cel_variables(obj: K8sObject, params: Any, rule_params: RuleParams) -> dict[str, Any]:
    """A CEL policy's variables for ``obj``: VAP's ``object``, ``oldObject`` and ``request``
    (the attributes without them), ``params`` and ``namespaceObject``."""
    request = admission_request(obj)
    lookup = rule_params.namespaces
    return {
        "object": request.pop("object"),
        "oldObject": request.pop("oldObject"),
        "request": request,
        "params": params,
        "namespaceObject": (
            lookup.namespace_object(obj.namespace)
            if lookup is not None and obj.namespace is not None
            else None
        ),
    }
