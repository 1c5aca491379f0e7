"""## What it does
Flags containers (regular, init and ephemeral) and image volumes whose image does not come from
a registry in `trustedRegistries`.

Image references are parsed as the container runtime resolves them (`distribution/reference`,
which containerd, CRI-O and the kubelet use; a differential test holds kubeward to it): `nginx`
is `docker.io/library/nginx`, `acme/api` is `docker.io/acme/api`, `index.docker.io` and
`registry-1.docker.io` are Docker Hub, and a tag and a digest may both be present. Entries
match on whole components: the entry `registry.corp.example` does not trust
`registry.corp.example.evil.com/x`, and `ghcr.io/acme` does not trust `ghcr.io/acme-evil/x`.
An image reference the runtime would refuse (a digest other than sha256/sha384/sha512 in
lower-case hex, a repository name over 255 characters), or that kubeward cannot place on a
host, is untrusted.

How entries compare with what the runtime pulls:

- Host names compare case-insensitively (DNS does): `Registry.Corp/x` is from `registry.corp`.
- A port is part of the registry: the entry `registry.corp` does not trust
  `registry.corp:443/x`, nor `registry.corp:443` `registry.corp/x` (the runtime configures,
  authenticates and reaches them as different hosts; list both if you use both spellings).
- Docker Hub's `library/` is added only where the runtime adds it: `registry-1.docker.io/nginx`
  is the repository `nginx`, not under `docker.io/library` (it is under `docker.io`).
- An entry with one Docker Hub path component is refused as ambiguous (`docker.io/nginx`: the
  image of that name is `docker.io/library/nginx`, the prefix would be the account `nginx`):
  write `docker.io/library/nginx` for the official image, `docker.io/nginx/` for the account.
  `docker.io/library` is the official images.

The rule is skipped (and reported as skipped) when no `trustedRegistries` are configured.

## Why is this bad?
Whoever controls the registry controls the code that runs in your cluster. Pulling only from
registries you operate or vet (ideally with signature verification) removes typo-squatted
public images, hijacked upstream accounts and unreviewed images from the attack surface.

## Example
```yaml
# kubeward.yaml
trustedRegistries:
  - registry.corp.example
  - ghcr.io/acme
---
spec:
  containers:
    - name: web
      image: nginx:1.27        # docker.io/library/nginx: not trusted
```

Use instead: mirror the image into a trusted registry
(`image: registry.corp.example/mirror/nginx:1.27`).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation, image_uses
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.images import InvalidImageReference, first_match, parse_image


def _needs_trusted_registries(params: RuleParams) -> str | None:
    if not params.trusted_registries:
        return "no trustedRegistries configured in kubeward.yaml"
    return None


@rule(
    id="I001",
    name="untrusted-registry",
    title="Image comes from a registry that is not trusted",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Pull the image from a registry listed in `trustedRegistries` (mirror it there).",
    skip_unless=_needs_trusted_registries,
)
def untrusted_registry(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for use in image_uses(obj):
        if use.image is None:
            continue
        try:
            ref = parse_image(use.image)
        except InvalidImageReference as exc:
            yield Violation(use.path, f"{use.label}: {exc}; an unparseable image is untrusted")
            continue
        if first_match(ref, params.trusted_registries) is None:
            yield Violation(
                use.path,
                f"{use.label} pulls {ref.name} from {ref.registry}, which is not trusted",
            )
