"""## What it does
Flags containers (regular, init and ephemeral) and image volumes whose image is not signed
as the `imageSignatures` policy in kubeward.yaml requires: no cosign signature by the required keys
for the image's digest, a signature that is malformed, copied from another image or is an
attestation, an image not pinned by digest where the policy needs one, or a registry that
could not be asked (an error is never a pass).

Runs when image signature verification is on: `kubeward scan --verify-images`, `kubeward
verify`, and the webhook's `/verify-images` path. Images no policy rule names are not checked.
Both formats cosign writes with `--key` are read: simple signing (`sha256-<hex>.sig`) and
Sigstore bundles (OCI referrers, or the referrers tag).

A `kubeward.io/ignore.I007` annotation is never honoured (the deployer would waive the check
for themselves): it is reported and ignored. An exception in kubeward.yaml, which the platform
team owns, can exempt an image.

## Why is this bad?
A registry path says where an image is stored, not who built it: anyone who can push there —
a compromised CI job, a leaked token, a typo-squatted mirror — can replace what a tag points at.
A signature by the release key over the exact digest says the build pipeline produced these
bytes; verifying it at admission (and pinning the digest) means the node runs what was signed.

## Example
```yaml
# kubeward.yaml
imageSignatures:
  rules:
    - name: releases
      images: ["registry.example/acme/**"]
      keys: [keys/release.pub]
---
containers:
  - name: api
    image: registry.example/acme/api@sha256:9f8e...   # no signature by keys/release.pub
```

Use instead: sign the digest in the release pipeline
(`cosign sign --key release.key registry.example/acme/api@sha256:9f8e...`).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation, image_uses
from kubeward.model.signatures import SignatureStatus
from kubeward.rules._base import WORKLOADS, RuleParams, rule

_STATE = {
    SignatureStatus.VERIFIED: "is verified",
    SignatureStatus.UNSIGNED: "is unsigned",
    SignatureStatus.INVALID: "has an invalid signature",
    SignatureStatus.UNPINNED: "is unpinned",
    SignatureStatus.ERROR: "could not be checked",
}


def _needs_verification(params: RuleParams) -> str | None:
    if params.image_signatures is None:
        return "image signature verification is off (imageSignatures in kubeward.yaml, " \
            "scan --verify-images)"  # fmt: skip
    return None


@rule(
    id="I007",
    name="unverified-image-signature",
    title="Image is not signed as the signature policy requires",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Sign the image's digest with a key the policy lists (cosign sign --key) and "
    "reference it by digest.",
    skip_unless=_needs_verification,
    waivable_in_manifest=False,  # the deployer must not be able to waive the signature check
)
def unverified_image_signature(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    verdicts = params.image_signatures or {}
    for use in image_uses(obj):
        image = use.image
        verdict = verdicts.get(image) if image is not None else None
        if image is not None and verdict is not None and not verdict.verified:
            named = f" (now {verdict.digest})" if verdict.digest and "@" not in image else ""
            yield Violation(
                use.path,
                f"{use.label} image {image}{named} {_STATE[verdict.status]}: {verdict.detail}",
            )
