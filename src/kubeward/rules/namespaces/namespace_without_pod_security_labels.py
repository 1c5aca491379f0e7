"""## What it does
Flags Namespace objects that do not enforce a Pod Security Standard: no
`pod-security.kubernetes.io/enforce` label, or the label set to `privileged`.

Not flagged: `baseline` and `restricted`; an unknown value (Pod Security Admission then
enforces `restricted`, the strictest level); and the system namespaces `EXEMPT_NAMESPACES`
(`kube-system`, `kube-public`, `kube-node-lease`), which Kubernetes creates and whose
components legitimately need privileges. The `warn` and `audit` labels do not count: they
report violations but admit the pods.

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

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, rule

ENFORCE_LABEL = "pod-security.kubernetes.io/enforce"
#: Namespaces Kubernetes creates for its own components.
EXEMPT_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})


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
