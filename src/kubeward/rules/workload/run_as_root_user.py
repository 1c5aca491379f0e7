"""## What it does
Flags pods and containers that explicitly run as user ID 0 (`runAsUser: 0`). Pods in their
own user namespace (`hostUsers: false`) are exempt from Kubernetes 1.35, as in the Pod
Security Standards.

YAML spellings that Kubernetes reads as 0 (`00`, `0x0`, `0o0`) count.

## Why is this bad?
UID 0 in the container is UID 0 on the node's kernel: every remaining capability applies, files
on mounted volumes are owned by root, and a kernel or runtime escape lands as root on the
node.

## Example
```yaml
securityContext:
  runAsUser: 0
```

Use instead: a high non-zero UID (e.g. 10001) that the image supports.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path, pod_security_context, user_namespaced


@rule(
    id="W017",
    name="run-as-root-user",
    title="Container runs as user ID 0",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Set `runAsUser` to a non-zero UID the image supports.",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",),
)
def run_as_root_user(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if params.kubernetes_version >= (1, 35) and user_namespaced(obj):
        return
    if pod_security_context(obj).get("runAsUser") == 0:
        yield Violation(
            pod_path(obj, "securityContext", "runAsUser"), "the pod runs as UID 0 (root)"
        )
    for container in obj.containers():
        if container.security_context.get("runAsUser") == 0:
            yield Violation(
                (*container.path, "securityContext", "runAsUser"),
                f"{container.label} runs as UID 0 (root)",
            )
