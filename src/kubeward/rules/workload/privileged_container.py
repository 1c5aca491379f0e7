"""## What it does
Flags containers that run privileged (`securityContext.privileged: true`), in regular, init
and ephemeral containers of any workload.

## Why is this bad?
A privileged container has every Linux capability, sees all host devices and is not confined
by seccomp or AppArmor: it is root on the node. One compromised privileged container means the
node, its kubelet credentials and every other pod on it are compromised too. The Pod Security
Standards forbid it from the *baseline* level up.

## Example
```yaml
spec:
  containers:
    - name: app
      image: registry.corp.example/app:1.4.2
      securityContext:
        privileged: true
```

Use instead: remove `privileged`, and grant only the specific capabilities the process needs
(`capabilities.add`), if any.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule


@rule(
    id="W001",
    name="privileged-container",
    title="Container runs privileged",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Remove `securityContext.privileged: true`; add only the capabilities needed.",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#baseline",),
)
def privileged_container(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        if container.security_context.get("privileged") is True:
            yield Violation(
                (*container.path, "securityContext", "privileged"),
                f"{container.label} runs privileged: it has full root access to the node",
            )
