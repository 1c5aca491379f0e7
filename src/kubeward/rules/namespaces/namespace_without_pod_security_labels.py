"""## What it does
Flags Namespace objects that do not enforce a Pod Security Standard: no
`pod-security.kubernetes.io/enforce` label, the label set to `privileged`, or any
`pod-security.kubernetes.io/` label with an invalid value.

A level must be exactly `privileged`, `baseline` or `restricted`, a version `latest` or
`v1.<minor>`. Pod Security Admission evaluates an invalid enforce level as `restricted`, but
it first refuses to admit a Namespace created with an invalid label, or updated to one (its
`ValidateNamespace`): the manifest does not apply, and a namespace that already exists (made
by `kubectl create namespace`, Helm's `--create-namespace`, Argo CD's `CreateNamespace`) keeps
the labels it had, usually none.

Not flagged: `baseline` and `restricted`, with any valid `enforce-version` (a version pinned to
an old release still enforces the level's checks as of that release, missing only those added
later); and the system namespaces `EXEMPT_NAMESPACES` (`kube-system`, `kube-public`,
`kube-node-lease`), which Kubernetes creates and whose components legitimately need privileges.
The `warn` and `audit` labels do not count: they report violations but admit the pods.

References: [Pod Security Admission](https://kubernetes.io/docs/concepts/security/pod-security-admission/)
(labels and modes), [Enforce Pod Security Standards with Namespace
Labels](https://kubernetes.io/docs/tasks/configure-pod-container/enforce-standards-namespace-labels/),
and `k8s.io/pod-security-admission` (`api.ParseLevel`, `api.ParseVersion`,
`Admission.ValidateNamespace`).

## Why is this bad?
Pod Security Admission is the built-in guard that rejects privileged pods, host namespaces,
hostPath volumes and the like. A namespace without an `enforce` label gets the cluster's
default level, which is `privileged` (no checks) unless the API server's admission
configuration says otherwise, so anyone who can create a pod there can take over the node.

## Example
```yaml
apiVersion: v1
kind: Namespace
metadata:
  name: shop
  labels:
    pod-security.kubernetes.io/warn: restricted    # warns, but enforces nothing
```

Use instead: enforce a level (and warn on the stricter one while migrating):
```yaml
  labels:
    pod-security.kubernetes.io/enforce: baseline
    pod-security.kubernetes.io/warn: restricted
```
"""

import re
from collections.abc import Iterator, Mapping
from typing import Any

from kubeward.model import K8sObject, Severity, Violation, shown
from kubeward.rules._base import RuleParams, Target, rule

_PREFIX = "pod-security.kubernetes.io/"
ENFORCE_LABEL = _PREFIX + "enforce"
LEVELS = frozenset({"privileged", "baseline", "restricted"})
_MODES = ("enforce", "audit", "warn")
_VERSION = re.compile(r"v1\.(0|[1-9][0-9]*)")
#: Namespaces Kubernetes creates for its own components.
EXEMPT_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


def _valid(key: str, value: object) -> bool:
    if not isinstance(value, str):
        return False
    if key.endswith("-version"):
        return value == "latest" or _VERSION.fullmatch(value) is not None
    return value in LEVELS


def _invalid(labels: Mapping[str, Any]) -> list[str]:
    """The Pod Security labels whose value the admission plugin rejects, as it parses them."""
    keys = [_PREFIX + mode + suffix for mode in _MODES for suffix in ("", "-version")]
    return [key for key in keys if key in labels and not _valid(key, labels[key])]


@rule(
    id="N011",
    name="namespace-without-pod-security-labels",
    title="Namespace does not enforce a Pod Security Standard",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"Namespace"})),
    remediation=(
        "Label the namespace `pod-security.kubernetes.io/enforce: baseline` (or `restricted`)."
    ),
)
def namespace_without_pod_security_labels(
    obj: K8sObject, params: RuleParams
) -> Iterator[Violation]:
    if obj.name in EXEMPT_NAMESPACES:
        return
    invalid = _invalid(obj.labels)
    for key in invalid:
        yield Violation(
            ("metadata", "labels", key),
            f'namespace "{obj.name}": invalid {key} value "{shown(obj.labels[key])}": the '
            "API server rejects the Namespace, so none of its Pod Security labels take effect",
        )
    if invalid:
        return
    level = obj.labels.get(ENFORCE_LABEL)
    if level is None:
        path = (
            ("metadata", "labels")
            if isinstance(obj.metadata.get("labels"), dict)
            else ("metadata",)
        )
        yield Violation(
            path,
            f'namespace "{obj.name}" has no {ENFORCE_LABEL} label: pods are admitted at the '
            "cluster's default level, privileged unless configured otherwise",
        )
    elif level == "privileged":
        yield Violation(
            ("metadata", "labels", ENFORCE_LABEL),
            f'namespace "{obj.name}" enforces the privileged level: Pod Security Admission '
            "checks nothing",
        )
