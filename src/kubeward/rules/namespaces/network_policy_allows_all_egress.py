"""## What it does
Flags egress rules of Kubernetes NetworkPolicies (`networking.k8s.io`) that allow traffic to
every destination, pointing at the offending rule or peer.

A rule allows every destination when it has:

- no `to` (or `to: []`), such as the empty rule `{}`: every destination, in or
  outside the cluster;
- an empty peer `{}` (which the API server rejects as "must specify a peer": it never takes
  effect, and is reported so that the manifest gets fixed rather than applied);
- a peer with `namespaceSelector: {}` and no `podSelector` (or an empty one): every pod of every
  namespace;
- a peer with `ipBlock.cidr` `0.0.0.0/0` or `::/0` (any prefix length 0) and no `except`: every
  address of that family. A block with `except` entries is not flagged: the common "internet
  but not the cluster network or the metadata service" pattern is a deliberate restriction, to
  review on its own terms.

Not flagged, as the API defines them: `egress: []` or no `egress` (no rule: with `Egress` in
`policyTypes` the policy denies all egress of the pods it selects, without it the policy does
not touch egress); a peer with only `podSelector`, even `{}` (pods of the
policy's own namespace); a peer with both selectors and a non-empty `podSelector` (the two
selectors of one peer are ANDed: those pods in those namespaces; separate peers are ORed);
a narrower CIDR.

The rule's ports do not change the verdict; the message says which ports (a port entry
without `port` is every port of its protocol, TCP unless `protocol` says otherwise; a rule to
everyone on port 53 only is usually meant for DNS: target the cluster DNS pods instead). Rules are
judged only if the policy isolates egress (`Egress` in `policyTypes`, or `policyTypes` unset
or empty and the policy has egress rules, which makes the API server add `Egress`); otherwise
they have no effect.

## Why is this bad?
Egress policies are what stop a compromised pod from exfiltrating data, downloading tooling,
reaching the cloud metadata service (`169.254.169.254`) for node credentials, or attacking
other workloads. A rule that allows every destination turns the policy into a no-op for the
pods it selects.

## Example
```yaml
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api, namespace: shop}
spec:
  podSelector: {matchLabels: {app: api}}
  policyTypes: [Egress]
  egress:
    - to:
        - ipBlock: {cidr: 0.0.0.0/0}
```

Use instead: allow only the destinations the pods need:
```yaml
  egress:
    - to:
        - podSelector: {matchLabels: {app: postgres}}
      ports:
        - {protocol: TCP, port: 5432}
```
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, rule
from kubeward.rules.namespaces._network_policy import EGRESS, open_rules


@rule(
    id="N005",
    name="network-policy-allows-all-egress",
    title="NetworkPolicy allows egress to everyone",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"NetworkPolicy"})),
    remediation="Restrict the egress rule to the pods, namespaces or address ranges the pods need.",
    references=(
        "https://kubernetes.io/docs/concepts/services-networking/network-policies/",
        "https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/",
    ),
)
def network_policy_allows_all_egress(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    yield from open_rules(obj, EGRESS)
