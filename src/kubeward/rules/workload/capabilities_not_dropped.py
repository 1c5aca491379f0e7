"""## What it does
Flags containers that do not meet the Pod Security Standards' *restricted* capability rule:
they must drop `ALL` capabilities and may add back only `NET_BIND_SERVICE`. Windows pods are
exempt. Added capabilities outside the baseline set are reported by `W007`/`W029`; this rule
reports containers that do not drop `ALL` and baseline capabilities added back other than
`NET_BIND_SERVICE`, so the three together are the restricted control.

## Why is this bad?
Even the runtime's default capability set (`CHOWN`, `DAC_OVERRIDE`, `FOWNER`, `SETUID`,
`NET_RAW`, ...) gives a compromised process room: changing file ownership, bypassing file
permissions, switching users, crafting raw packets. Few applications need any of them.

## Example
```yaml
securityContext:
  capabilities:
    drop: ["NET_RAW"]
```

Use instead:
```yaml
securityContext:
  capabilities:
    drop: ["ALL"]
    add: ["NET_BIND_SERVICE"]   # only if it binds a port below 1024
```
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import BASELINE_CAPABILITIES, capabilities, is_windows


@rule(
    id="W019",
    name="capabilities-not-dropped",
    title="Container keeps Linux capabilities",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation=(
        'Drop all capabilities (`capabilities.drop: ["ALL"]`); add back only NET_BIND_SERVICE.'
    ),
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",),
)
def capabilities_not_dropped(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if is_windows(obj):
        return
    for container in obj.containers():
        added, dropped = capabilities(container)
        base = (*container.path, "securityContext")
        if "ALL" not in dropped:
            caps = container.security_context.get("capabilities")
            yield Violation(
                (*base, "capabilities") if isinstance(caps, dict) else base,
                f"{container.label} does not drop ALL capabilities",
            )
        extra = [c for c in added if c in BASELINE_CAPABILITIES and c != "NET_BIND_SERVICE"]
        if extra:
            yield Violation(
                (*base, "capabilities", "add"),
                f"{container.label} adds back {', '.join(extra)} "
                "(only NET_BIND_SERVICE is allowed)",
            )
