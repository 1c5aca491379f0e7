"""## What it does
Flags containers (regular, init and ephemeral) and image volumes whose image is not pinned by
digest and whose `imagePullPolicy` is not `Always`: set to `IfNotPresent` or `Never`, or not
set with a tag other than `latest` (Kubernetes then defaults it to `IfNotPresent`).

Not flagged: images pinned by digest, `imagePullPolicy: Always`, and an unset policy with the
`latest` tag or no tag, which Kubernetes defaults to `Always`. Image references that cannot be
parsed are skipped (I001 reports them).

## Why is this bad?
With `IfNotPresent` a node runs whatever image it has cached under that tag. After the tag is
moved (a re-pushed fix, a compromised push, a rollback) nodes disagree about what the same
manifest runs, and nothing in the cluster shows it. The kubelet also skips the registry's
authorization check for a cached image, so on a shared node another tenant's pod can start a
private image it holds no pull secret for (the reason for the `AlwaysPullImages` admission
plugin).

## Example
```yaml
containers:
  - name: api
    image: ghcr.io/acme/api:2.1.0      # no digest; imagePullPolicy defaults to IfNotPresent
```

Use instead: pin the image by digest (`ghcr.io/acme/api:2.1.0@sha256:<digest>`), or set
`imagePullPolicy: Always` so each start resolves the tag against the registry.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules.images._containers import is_latest, parsed_images

_FIELD = "imagePullPolicy"


@rule(
    id="I006",
    name="mutable-tag-without-always-pull",
    title="Mutable image tag is not always pulled",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="Pin the image by digest, or set `imagePullPolicy: Always`.",
)
def mutable_tag_without_always_pull(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for use, ref, _ in parsed_images(obj):
        if ref.digest is not None:
            continue
        field = use.pull_policy_field
        policy = use.owner.get(field)
        tag = f"{ref.name}:{ref.tag or 'latest'}"
        if policy is None:
            if is_latest(ref):
                continue  # defaults to Always
            yield Violation(
                use.owner_path,
                f"{use.label}: {tag} is not pinned by digest and {field} defaults to "
                "IfNotPresent: nodes run whatever image they cached for the tag",
            )
        elif isinstance(policy, str) and policy != "Always":
            yield Violation(
                (*use.owner_path, field),
                f"{use.label}: {tag} is not pinned by digest and {field} is {policy}: "
                "nodes run whatever image they cached for the tag",
            )
