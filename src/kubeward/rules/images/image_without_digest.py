"""## What it does
Flags containers (regular, init and ephemeral) and image volumes whose image is not pinned by
digest (`image: name@sha256:...`, with or without a tag in front of it).

Image references that cannot be parsed are skipped here: I001 reports them when trusted
registries are configured, and the API server or the kubelet rejects them anyway.

## Why is this bad?
A tag is a mutable pointer: whoever can push to the repository (a maintainer, a CI job, an
attacker with stolen registry credentials) can move it to different content, and the next pod
start or node pull runs it without any change to the manifest. A digest names exactly one
image, so what was reviewed, scanned and signed is what runs, and rollbacks are exact.

## Example
```yaml
containers:
  - name: api
    image: ghcr.io/acme/api:2.1.0
```

Use instead: pin the digest, keeping the tag for readability
(`image: ghcr.io/acme/api:2.1.0@sha256:<digest>`), and let a bot (Renovate, Dependabot)
update both.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules.images._containers import parsed_images


@rule(
    id="I002",
    name="image-without-digest",
    title="Image is not pinned by digest",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="Pin the image by digest (`name:tag@sha256:...`).",
)
def image_without_digest(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for use, ref, path in parsed_images(obj):
        if ref.digest is None:
            shown = f"{ref.name}:{ref.tag}" if ref.tag else f"{ref.name} (no tag: latest)"
            yield Violation(path, f"{use.label} uses {shown}, not pinned by digest")
