"""From Kubernetes objects (manifests or a live cluster) to an RBAC ``Policy``.

Malformed roles, rules and bindings are left out, as the API server would refuse them; a
ClusterRole with an ``aggregationRule`` is aggregated here only for manifests (``aggregate``):
a live cluster's stored ``rules`` already are the controller's result.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubeward.model import K8sObject
from kubeward.rbac.policy import Binding, LabelSelector, Policy, Role, Rule, Subject, aggregate

RBAC_GROUP = "rbac.authorization.k8s.io"
ROLE_KINDS = frozenset({"Role", "ClusterRole"})
BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})


def _group(api_version: str) -> str:
    return api_version.rpartition("/")[0]


def role_from(obj: K8sObject) -> Role | None:
    if obj.kind not in ROLE_KINDS or _group(obj.api_version) != RBAC_GROUP:
        return None
    rules_raw = obj.raw.get("rules") or []
    rules = (
        tuple(r for r in (Rule.parse(raw) for raw in rules_raw) if r is not None)
        if isinstance(rules_raw, list)
        else ()
    )
    labels = {str(k): str(v) for k, v in obj.labels.items() if isinstance(v, str)}
    aggregation = None
    if obj.kind == "ClusterRole":
        aggregation = _aggregation(obj.raw.get("aggregationRule"))
    namespace = (obj.namespace or "default") if obj.kind == "Role" else ""
    return Role(obj.name, namespace, rules, labels, aggregation)


def _aggregation(raw: Any) -> tuple[LabelSelector, ...] | None:
    if not isinstance(raw, dict):
        return None
    selectors = raw.get("clusterRoleSelectors")
    if not isinstance(selectors, list):
        return ()
    parsed = []
    for selector in selectors:
        if not isinstance(selector, dict):
            continue
        labels = selector.get("matchLabels") or {}
        expressions = selector.get("matchExpressions") or []
        parsed.append(
            LabelSelector(
                tuple((str(k), str(v)) for k, v in labels.items())
                if isinstance(labels, dict)
                else (),
                tuple(
                    (
                        str(e.get("key")),
                        str(e.get("operator")),
                        tuple(map(str, _values(e.get("values")))),
                    )
                    for e in expressions
                    if isinstance(e, dict)
                )
                if isinstance(expressions, list)
                else (),
            )
        )
    return tuple(parsed)


def _values(raw: object) -> list[Any]:
    """A match expression's ``values`` (a number or a mapping there is no list of values)."""
    return raw if isinstance(raw, list) else []


def binding_from(obj: K8sObject) -> Binding | None:
    if obj.kind not in BINDING_KINDS or _group(obj.api_version) != RBAC_GROUP:
        return None
    ref = obj.raw.get("roleRef")
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
        return None
    subjects = []
    listed = obj.raw.get("subjects")
    # not a list (a number, a mapping): no subject, as the API server would refuse it; the
    # wrong type itself is reported as an object error (model/shape.py)
    for raw in listed if isinstance(listed, list) else ():
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
            continue
        namespace = raw.get("namespace")
        subjects.append(
            Subject(
                _kind(raw.get("kind")),
                raw["name"],
                namespace if isinstance(namespace, str) else "",
            )
        )
    namespace = (obj.namespace or "default") if obj.kind == "RoleBinding" else ""
    return Binding(obj.name, _kind(ref.get("kind")), ref["name"], tuple(subjects), namespace)


def _kind(value: object) -> str:
    """A subject's or roleRef's kind; a missing or wrongly-typed one reads as "?" in
    messages (never "None"), and matches no kind."""
    return value if isinstance(value, str) and value else "?"


def policy_from(
    objects: Iterable[K8sObject],
    *,
    aggregate_roles: bool = True,
    extra_roles: Iterable[Role] = (),
    extra_bindings: Iterable[Binding] = (),
) -> Policy:
    """The policy of ``objects``; ``aggregate_roles`` for manifests (not for a live cluster)."""
    roles = list(extra_roles)
    bindings = list(extra_bindings)
    for obj in objects:
        role = role_from(obj)
        if role is not None:
            roles.append(role)
            continue
        binding = binding_from(obj)
        if binding is not None:
            bindings.append(binding)
    return Policy(aggregate(roles) if aggregate_roles else roles, bindings)
