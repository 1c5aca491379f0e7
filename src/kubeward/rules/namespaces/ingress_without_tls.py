"""## What it does
Flags Ingresses (`networking.k8s.io`, and the legacy `extensions` group) that serve hosts
without TLS.

Reported, each where it is declared:

- a rule whose `host` is not covered by any `spec.tls[].hosts` entry; a wildcard TLS host
  `*.example.com` covers exactly one label (`shop.example.com`, not `example.com` nor
  `a.shop.example.com`), and a wildcard rule host is covered only by the same wildcard;
- a rule without `host` (it matches every host name), or a `defaultBackend` (it answers
  requests no rule matches, for any host name), unless a `spec.tls` entry has no `hosts` (or
  `hosts: []`). Such an entry stands for the wildcard host ("defaults to the wildcard host
  setting for the loadbalancer controller", says the IngressTLS API) and covers host-less
  rules but no named host; entries that list named hosts cover only those.

`ingressClassName` does not change the verdict: an IngressClass's parameters (for example an
AWS `IngressClassParams` certificate) are not visible from the Ingress, so suppress the
finding with a reason when the class terminates TLS for it.

Not flagged: Ingresses whose TLS is terminated by the cloud load balancer, declared with one
of the annotations of `LB_TLS_ANNOTATIONS` (the AWS Load Balancer Controller's
`alb.ingress.kubernetes.io/certificate-arn`, GKE's `networking.gke.io/managed-certificates`
and `ingress.gcp.kubernetes.io/pre-shared-cert`).

## Why is this bad?
A host served without TLS sends cookies, credentials and tokens in clear text, and lets
anyone on the network path read or rewrite responses. Controllers only serve HTTPS for the
hosts listed under `spec.tls`; a host missing from that list is plain HTTP (or gets the
controller's default, usually self-signed, certificate).

## Example
```yaml
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: shop, namespace: shop}
spec:
  tls:
    - hosts: [shop.example.com]
      secretName: shop-tls
  rules:
    - host: shop.example.com
    - host: api.example.com          # not covered: plain HTTP
```

Use instead: list every host under `spec.tls` with a certificate that covers it
(`hosts: [shop.example.com, api.example.com]`), e.g. issued by cert-manager.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from kubeward.model import K8sObject, Severity, Violation
from kubeward.model.objects import api_group
from kubeward.rules._base import RuleParams, Target, rule

INGRESS_GROUPS = frozenset({"networking.k8s.io", "extensions"})

#: Annotations that make the cloud load balancer terminate TLS for the whole Ingress.
LB_TLS_ANNOTATIONS = (
    "alb.ingress.kubernetes.io/certificate-arn",
    "networking.gke.io/managed-certificates",
    "ingress.gcp.kubernetes.io/pre-shared-cert",
)


def _tls(spec: Mapping[str, Any]) -> tuple[bool, bool, frozenset[str]]:
    """Whether there is any TLS entry, whether one has no hosts (the wildcard host), and the
    named TLS hosts (lower-cased)."""
    entries = spec.get("tls")
    if not isinstance(entries, list):
        return False, False, frozenset()
    hosts: set[str] = set()
    any_entry = wildcard = False
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        any_entry = True
        names = entry.get("hosts")
        if isinstance(names, list) and names:
            hosts.update(h.strip().lower() for h in names if isinstance(h, str))
        else:  # unset and [] are the same to the API (omitempty)
            wildcard = True
    return any_entry, wildcard, frozenset(hosts)


def covered(host: str, tls_hosts: frozenset[str]) -> bool:
    """Is ``host`` served by a certificate for one of ``tls_hosts``?"""
    if host in tls_hosts:
        return True
    if host.startswith("*."):
        return False
    _, dot, parent = host.partition(".")
    return bool(dot) and f"*.{parent}" in tls_hosts


@rule(
    id="N009",
    name="ingress-without-tls",
    title="Ingress serves hosts without TLS",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"Ingress"})),
    remediation="List every host of the Ingress under `spec.tls` with a certificate for it.",
)
def ingress_without_tls(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    spec = obj.raw.get("spec")
    if api_group(obj.api_version) not in INGRESS_GROUPS or not isinstance(spec, dict):
        return
    if any(obj.annotations.get(key) for key in LB_TLS_ANNOTATIONS):
        return
    has_tls, wildcard, tls_hosts = _tls(spec)
    uncovered = (
        "no spec.tls entry without hosts covers it" if has_tls else "the Ingress has no spec.tls"
    )
    rules = spec.get("rules")
    for index, item in enumerate(rules if isinstance(rules, list) else []):
        if not isinstance(item, dict):
            continue
        host = item.get("host")
        if isinstance(host, str) and host.strip():
            if not covered(host.strip().lower(), tls_hosts):
                why = "is not listed in spec.tls" if has_tls else "has no TLS (no spec.tls)"
                yield Violation(
                    ("spec", "rules", index, "host"),
                    f'host "{host}" {why}: it is served over plain HTTP',
                )
        elif not wildcard:
            yield Violation(
                ("spec", "rules", index),
                f"rule {index} has no host and {uncovered}: every host name it matches is "
                "served over plain HTTP",
            )
    if not wildcard:
        for key in ("defaultBackend", "backend"):
            if isinstance(spec.get(key), dict):
                yield Violation(
                    ("spec", key),
                    f"{key} answers every host name and {uncovered}: requests no rule matches "
                    "are served over plain HTTP",
                )
