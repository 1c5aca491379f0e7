"""## What it does
Flags containers (regular, init and ephemeral) and image volumes whose image is not pinned by
digest and whose pull policy (`imagePullPolicy`, or `pullPolicy` for an image volume) is not
`Always`: set to `IfNotPresent` or `Never`, set to a value the API server rejects (the values
are case-sensitive: `always` is not `Always`), or left for the API server to default to
`IfNotPresent`.

The default is the API server's, the same for containers and image volumes ([Images:
image pull policy](https://kubernetes.io/docs/concepts/containers/images/#imagepullpolicy-defaulting);
a test compares kubeward with a real kube-apiserver): a policy that is unset, `null` or the
empty string becomes `Always` when the tag is `latest` or the image has neither a tag nor a
digest, and `IfNotPresent` otherwise, so `nginx:Latest` (another tag) and
`localhost:5000/app:5001` (the tag `5001`) default to `IfNotPresent`.

Not flagged: images pinned by digest, with or without a tag beside it (the runtime pulls the
digest, which cannot move), `Always`, and a defaulted policy that becomes `Always`. Image
references that cannot be parsed are skipped (I001 reports them).

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
from kubeward.rules.images._containers import (
    PULL_POLICIES,
    default_pull_policy,
    parsed_images,
)


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
            continue  # pulled by digest, whatever the policy
        field = use.pull_policy_field
        policy = use.owner.get(field)
        tag = f"{ref.name}:{ref.tag or 'latest'}"
        unpinned = f"{use.label}: {tag} is not pinned by digest and {field}"
        cached = "nodes run whatever image they cached for the tag"
        if policy is None or policy == "":  # the API server defaults both
            if default_pull_policy(ref) == "Always":
                continue
            if policy is None:
                yield Violation(use.owner_path, f"{unpinned} defaults to IfNotPresent: {cached}")
            else:
                yield Violation(
                    (*use.owner_path, field),
                    f"{unpinned} is empty, which defaults to IfNotPresent: {cached}",
                )
        elif isinstance(policy, str) and policy != "Always":
            if policy in PULL_POLICIES:
                state = f"is {policy}: {cached}"
            else:
                state = (
                    f'is "{policy}", which the API server rejects (it accepts Always, '
                    "IfNotPresent or Never, case-sensitive)"
                )
            yield Violation((*use.owner_path, field), f"{unpinned} {state}")
