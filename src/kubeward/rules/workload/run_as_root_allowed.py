"""## What it does
Flags containers that are not required to run as a non-root user: neither the container nor
the pod sets `runAsNonRoot: true`, or one of them sets it to `false`. This is the Pod Security
Standards' *restricted* "Running as Non-root" control, evaluated exactly as the admission
controller does: a numeric `runAsUser` alone does not satisfy it. Pods in their own user
namespace (`hostUsers: false`) are exempt from Kubernetes 1.35.

Explicit `runAsUser: 0` is reported by `W017`.

## Why is this bad?
Most images run as root unless told otherwise. Root in a container is root on the node's
kernel with whatever capabilities remain, owns every file the container can reach (including
hostPath and volume mounts) and is one kernel bug away from the node.

## Example
```yaml
spec:
  containers:
    - name: api
      image: registry.corp.example/api:2.1
      securityContext:
        runAsUser: 10001      # runAsNonRoot is not set
```

Use instead: `runAsNonRoot: true` on the pod (and a non-root `USER` in the image).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import pod_path, pod_security_context, user_namespaced


@rule(
    id="W016",
    name="run-as-root-allowed",
    title="Container may run as root",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Set `securityContext.runAsNonRoot: true` on the pod or every container.",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",),
)
def run_as_root_allowed(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if params.kubernetes_version >= (1, 35) and user_namespaced(obj):
        return
    pod_value = pod_security_context(obj).get("runAsNonRoot")
    if pod_value is False:
        yield Violation(
            pod_path(obj, "securityContext", "runAsNonRoot"), "the pod sets runAsNonRoot: false"
        )
    for container in obj.containers():
        value = container.security_context.get("runAsNonRoot")
        if value is False:
            yield Violation(
                (*container.path, "securityContext", "runAsNonRoot"),
                f"{container.label} sets runAsNonRoot: false",
            )
        elif value is None and pod_value is not True:
            yield Violation(
                container.path,
                f"{container.label} may run as root: "
                "neither it nor the pod sets runAsNonRoot: true",
            )
