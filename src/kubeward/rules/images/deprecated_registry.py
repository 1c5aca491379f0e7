"""## What it does
Flags containers (regular, init and ephemeral) and image volumes whose image comes from a
registry that is deprecated or frozen.

The registries are listed in the module constant `DEPRECATED_REGISTRIES`:

- `k8s.gcr.io`: the former Kubernetes community registry, frozen since 3 April 2023: no new
  images or tags are pushed there, new releases and patches are published only to
  `registry.k8s.io`, and the old registry may stop serving altogether.

Image references that cannot be parsed are skipped (I001 reports them).

## Why is this bad?
A frozen registry receives no security fixes: the image you pull will never get a patched
tag, and a later version you upgrade to is not there. When the registry is switched off, pods
fail to start on any node that has not cached the image, typically during an incident or a
node replacement.

## Example
```yaml
containers:
  - name: metrics
    image: k8s.gcr.io/metrics-server/metrics-server:v0.6.2
```

Use instead: pull the same image from `registry.k8s.io`
(`image: registry.k8s.io/metrics-server/metrics-server:v0.7.2`) or from your own mirror.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.images import RegistryPattern, parse_registry_pattern
from kubeward.rules.images._containers import parsed_images

#: Deprecated registries (host or host/path prefix) with what to use instead and why.
DEPRECATED_REGISTRIES: tuple[tuple[RegistryPattern, str, str], ...] = (
    (parse_registry_pattern("k8s.gcr.io"), "registry.k8s.io", "frozen since April 2023"),
)


@rule(
    id="I005",
    name="deprecated-registry",
    title="Image comes from a deprecated registry",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Pull the image from the registry that replaced it (`registry.k8s.io`).",
)
def deprecated_registry(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for use, ref, path in parsed_images(obj):
        for pattern, replacement, why in DEPRECATED_REGISTRIES:
            if pattern.matches(ref):
                instead = f"{replacement}/{ref.repository}" if not pattern.path else replacement
                yield Violation(
                    path,
                    f"{use.label} pulls {ref.name} from {pattern.original} ({why}); use {instead}",
                )
                break
