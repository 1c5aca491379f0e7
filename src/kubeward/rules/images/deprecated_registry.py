"""## What it does
Flags containers (regular, init and ephemeral) and image volumes whose image comes from a
registry that is deprecated or frozen.

The registries are listed in the module constant `DEPRECATED_REGISTRIES`:

- `k8s.gcr.io`: the former Kubernetes community registry, frozen since 3 April 2023 ([k8s.gcr.io
  Image Registry Will Be Frozen From the 3rd of April
  2023](https://kubernetes.io/blog/2023/02/06/k8s-gcr-io-freeze-announcement/), KEP-3720):
  no new images or tags are pushed there, new releases and patches are published only to
  `registry.k8s.io`, requests have been redirected to `registry.k8s.io` since 20 March 2023
  ([k8s.gcr.io Redirect to registry.k8s.io](https://kubernetes.io/blog/2023/03/10/image-registry-redirect/)),
  and the old name is to be phased out altogether.
- `gcr.io/google_containers` and `gcr.io/google-containers` (two spellings of one Google-owned
  repository): what `k8s.gcr.io` served until 2020, deprecated in favour of `k8s.gcr.io` since
  2018 (kubernetes/kubernetes#62198) and frozen read-only in 2020, when `k8s.gcr.io` moved to
  community-owned storage that received a copy of its images (kubernetes/release#270). The
  same image is at `registry.k8s.io` under the rest of the path (`gcr.io/google_containers/pause`
  is `registry.k8s.io/pause`).

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
from kubeward.rules._common.images import ImageRef, RegistryPattern, parse_registry_pattern
from kubeward.rules.images._containers import parsed_images

#: Deprecated registries (host or host/path prefix) with what to use instead and why.
DEPRECATED_REGISTRIES: tuple[tuple[RegistryPattern, str, str], ...] = (
    (parse_registry_pattern("k8s.gcr.io"), "registry.k8s.io", "frozen since 3 April 2023"),
    (parse_registry_pattern("gcr.io/google_containers"), "registry.k8s.io", "frozen since 2020"),
    (parse_registry_pattern("gcr.io/google-containers"), "registry.k8s.io", "frozen since 2020"),
)


def _moved(ref: ImageRef, pattern: RegistryPattern, replacement: str) -> str:
    """Where the same image is now: the replacement, then the path under the pattern's
    prefix (``gcr.io/google_containers/pause`` → ``registry.k8s.io/pause``)."""
    rest = ref.repository[len(pattern.path) :].lstrip("/") if pattern.path else ref.repository
    return f"{replacement}/{rest}" if rest else replacement


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
                yield Violation(
                    path,
                    f"{use.label} pulls {ref.name} from {pattern.original} ({why}); "
                    f"use {_moved(ref, pattern, replacement)}",
                )
                break
