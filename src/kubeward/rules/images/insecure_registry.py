"""## What it does
Flags containers (regular, init and ephemeral) and image volumes whose image comes from a
registry listed in `insecureRegistries` in `kubeward.yaml`: registries you know are served over
plain HTTP or with TLS verification turned off on the nodes (containerd `insecure_skip_verify`,
an `http://` endpoint in `hosts.toml`, Docker's `insecure-registries`).

Entries match like `trustedRegistries` entries: a registry host, optionally with a path prefix,
on whole components, the host case-insensitively. A port is part of the registry, as on the
nodes (containerd reads `certs.d/<host:port>/hosts.toml`, Docker matches `insecure-registries`
on `host:port`): the entry `registry.corp:5000` flags neither `registry.corp/x` nor
`registry.corp:50001/x`, and the entry `registry.corp` does not flag `registry.corp:5000/x`;
list each `host:port` the nodes reach without verified TLS. (CRI-O's `registries.conf` also
applies a `registry.corp` entry to `registry.corp:5000`, which containers/image calls
unintended; list both there too.) Image references that cannot be parsed are skipped (I001
reports them).
The rule is skipped (and reported as skipped) when no `insecureRegistries` are configured.

## Why is this bad?
Without verified TLS, anyone on the network path between a node and the registry can read the
pull credentials and substitute the image: the node runs whatever the attacker serves, with
the pod's privileges and secrets. Pinning by digest detects the substitution, but the
credentials still travel in clear.

## Example
```yaml
# kubeward.yaml
insecureRegistries:
  - registry.lab.internal:5000
---
containers:
  - name: api
    image: registry.lab.internal:5000/acme/api:2.1.0
```

Use instead: serve the registry over HTTPS with a certificate the nodes trust, then remove it
from `insecureRegistries`, or move the image to a registry that does.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.images import first_match
from kubeward.rules.images._containers import parsed_images


def _needs_insecure_registries(params: RuleParams) -> str | None:
    if not params.insecure_registries:
        return "no insecureRegistries configured in kubeward.yaml"
    return None


@rule(
    id="I004",
    name="insecure-registry",
    title="Image comes from an insecure registry",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Pull the image from a registry served over verified HTTPS.",
    skip_unless=_needs_insecure_registries,
)
def insecure_registry(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for use, ref, path in parsed_images(obj):
        match = first_match(ref, params.insecure_registries)
        if match is not None:
            yield Violation(
                path,
                f"{use.label} pulls {ref.name} from an insecure registry "
                f"({match.original} in insecureRegistries: plain HTTP or unverified TLS)",
            )
