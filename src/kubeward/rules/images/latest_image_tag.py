"""## What it does
Flags containers (regular, init and ephemeral) and image volumes whose image uses the `latest`
tag, or no tag at all, which the container runtime resolves to `latest`.

An image pinned by digest is not flagged, even with a `latest` tag in front of the digest
(`nginx:latest@sha256:...`): the runtime pulls by digest and ignores the tag. Image references
that cannot be parsed are skipped (I001 reports them).

## Why is this bad?
`latest` is whatever was pushed last. Two replicas, or the same pod before and after a node
restart, can run different code; a rollback to "the previous version" is impossible because
the manifest never named one; and a compromised or broken push goes live without a deploy.
It also hides which version is running from vulnerability reports.

## Example
```yaml
containers:
  - name: web
    image: nginx            # same as nginx:latest
```

Use instead: name a specific version, preferably pinned by digest
(`image: nginx:1.27.3@sha256:<digest>`).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules.images._containers import is_latest, parsed_images


@rule(
    id="I003",
    name="latest-image-tag",
    title="Image uses the latest tag",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Use a specific version tag, ideally pinned by digest.",
)
def latest_image_tag(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for use, ref, path in parsed_images(obj):
        if not is_latest(ref):
            continue
        if ref.tag is None:
            yield Violation(
                path, f"{use.label} uses {ref.name} without a tag, which means `latest`"
            )
        else:
            yield Violation(path, f"{use.label} uses {ref.name}:latest")
