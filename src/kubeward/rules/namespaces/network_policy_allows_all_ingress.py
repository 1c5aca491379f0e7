"""## What it does
Flags ingress rules of Kubernetes NetworkPolicies (`networking.k8s.io`) that admit traffic
from everyone, pointing at the offending rule or peer.

A rule admits everyone when it has:

- no `from` (or `from: []`), such as the empty rule `{}`: every source, in or
  outside the cluster;
- an empty peer `{}` (which the API server rejects as "must specify a peer": it never takes
  effect, and is reported so that the manifest gets fixed rather than applied);
- a peer with `namespaceSelector: {}` and no `podSelector` (or an empty one): every pod of every
  namespace;
- a peer with `ipBlock.cidr` `0.0.0.0/0` or `::/0` (any prefix length 0) and no `except`: every
  address of that family. A block with `except` entries is not flagged: carving out ranges
  (the cluster network, the cloud metadata address) is a deliberate restriction, to review on
  its own terms.

Not flagged, as the API defines them: `ingress: []` or no `ingress` (no rule: the policy denies
all ingress of the pods it selects); a peer with only `podSelector`, even `{}` (pods of the
policy's own namespace); a peer with both selectors and a non-empty `podSelector` (the two
selectors of one peer are ANDed: those pods in those namespaces; separate peers are ORed);
a narrower CIDR.

The rule's ports do not change the verdict: a rule open to everyone on port 22 is as open as
one on every port, and the message says which ports (a port entry without `port` is every
port of its protocol, TCP unless `protocol` says otherwise; `endPort` makes a range). Rules
are judged only if the policy isolates ingress (`Ingress` in `policyTypes`, or `policyTypes`
unset or empty, which the API server defaults to include `Ingress`); otherwise they have no
effect: a policy with `policyTypes: [Egress]` is not judged here.

## Why is this bad?
A pod selected by a NetworkPolicy is isolated, and only what the policy's rules allow gets
through. A rule that allows everyone cancels the isolation for every pod the policy selects,
while the policy's existence suggests to reviewers (and to N003) that the pods are protected.

## Example
```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
    - {}                          # everyone, on every port
```

Use instead: name the clients and ports:
```yaml
  ingress:
    - from:
        - podSelector: {matchLabels: {app: web}}
      ports:
        - {protocol: TCP, port: 8080}
```
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, rule
from kubeward.rules.namespaces._network_policy import INGRESS, open_rules


@rule(
    id="N004",
    name="network-policy-allows-all-ingress",
    title="NetworkPolicy allows ingress from everyone",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"NetworkPolicy"})),
    remediation=(
        "Restrict the ingress rule to the pods, namespaces or address ranges that need access."
    ),
    references=(
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
        "https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/",
    ),
)
def network_policy_allows_all_ingress(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    yield from open_rules(obj, INGRESS)
