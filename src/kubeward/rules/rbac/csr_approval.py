"""## What it does
Flags subjects that may update `certificatesigningrequests/approval` **and** hold `approve` on
`signers` (the API server needs both). Creating CSRs is granted to nodes already, so approval is
the decisive half.

## Why is this bad?
A certificate signed by the `kubernetes.io/kube-apiserver-client` signer with `O=system:masters`
is a permanent cluster-admin credential that no RBAC change revokes.

## Example
```yaml
rules:
  - apiGroups: ["certificates.k8s.io"]
    resources: ["certificatesigningrequests/approval"]
    verbs: ["update"]
  - apiGroups: ["certificates.k8s.io"]
    resources: ["signers"]
    verbs: ["approve"]
```

Use instead: Restrict approval to a signer that cannot mint client certificates: `resourceNames:
["example.com/my-signer"]`.
"""

from collections.abc import Iterator

from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.rbac.policy import Request, rule_allows
from kubeward.rules._base import RuleParams, Target, inventory_rule
from kubeward.rules._common.rbac import Held, Power, held

_POWERS = (
    Power(("update", "patch"), "certificates.k8s.io", "certificatesigningrequests/approval"),
)
_WHY = (
    "approving a CSR for the kube-apiserver-client signer issues a client certificate "
    "for any user or group, system:masters included"
)

_APPROVE = (
    Request(
        "approve", "signers", "", "certificates.k8s.io", "", "kubernetes.io/kube-apiserver-client"
    ),
    Request("approve", "signers", "", "certificates.k8s.io", "", "kubernetes.io/*"),
)


def _approves_client_certificates(found: Held) -> bool:
    return any(rule_allows(r, rule) for r in _APPROVE for rule in found.role.rules)


@inventory_rule(
    id="R017",
    name="csr-approval",
    title="Binding lets subjects approve certificate signing requests",
    severity=Severity.CRITICAL,
    target=Target(kinds=frozenset({"RoleBinding", "ClusterRoleBinding"})),
    remediation="Remove CSR approval, or restrict `approve` on signers to named, harmless signers.",
)
def csr_approval(obj: K8sObject, inventory: Inventory, params: RuleParams) -> Iterator[Violation]:
    for found in held(obj, inventory, _POWERS):
        if not _approves_client_certificates(found):
            continue
        yield Violation(("subjects", found.index), found.message(_WHY))
