"""Image signatures at admission: ``/verify-images`` (validating) and ``/pin-images`` (mutating).

They are separate webhooks from ``/validate`` on purpose: they ask registries, so they get
their own failurePolicy and timeout, and a registry outage cannot fail-close the cheap rules.

* ``/pin-images`` rewrites every tag the signature policy covers to ``tag@sha256:<digest>`` —
  but only to a digest whose signatures verify — so the node pulls exactly what was verified
  (JSONPatch; it never denies: judging is the validating webhook's job).
* ``/verify-images`` judges the object with rule I007: each covered image must be pinned by
  digest and signed as the policy requires; a registry that cannot be asked is a finding too.
  The rule's admission action, exemptions, exceptions and suppressions apply as on
  ``/validate``.
"""

from __future__ import annotations

import base64
from dataclasses import replace
from typing import Any

import orjson

from kubeward.admission.review import AdmissionRequest, Judged, Reviewer
from kubeward.cluster.live import LIVE_ORIGIN
from kubeward.engine import EngineSettings, evaluate
from kubeward.model import Inventory, K8sObject, image_uses
from kubeward.model.enforcement import AdmissionSettings
from kubeward.model.signatures import SignatureStatus, SignatureVerdict
from kubeward.rules import REGISTRY
from kubeward.signatures.registry import RegistryError
from kubeward.signatures.verifier import ImageVerifier, verify_images

SIGNATURE_RULE = "I007"


class SignatureReviewer(Reviewer):
    """Judges requests with rule I007, its verdicts computed per request (with the cache)."""

    def __init__(
        self, verifier: ImageVerifier, engine: EngineSettings, settings: AdmissionSettings
    ) -> None:
        super().__init__([REGISTRY[SIGNATURE_RULE]], engine, settings)
        self.verifier = verifier

    def _judge(self, context: dict[str, Any], namespace: str, engine: EngineSettings) -> Judged:
        # Reviewer.decide removed the Secret values of context["object"] already
        obj = K8sObject(
            context["object"], LIVE_ORIGIN, deploy_namespace=namespace or None, admission=context
        )
        images = [use.image for use in image_uses(obj) if use.image is not None]
        verdicts = verify_images(self.verifier, images, resolve_tags=True)
        for image, verdict in verdicts.items():
            if "@" not in image and verdict.verified:
                # signed now, but a tag can move before the node pulls it: only a pinned
                # digest is admitted (/pin-images pins it; here it evidently did not run)
                verdicts[image] = SignatureVerdict(
                    image, SignatureStatus.UNPINNED,
                    f"not pinned by digest (the tag names {verdict.digest}, which is signed; "
                    "the pin-images webhook pins it)", verdict.digest, verdict.signers,
                )  # fmt: skip
        judged = replace(engine, params=replace(engine.params, image_signatures=verdicts))
        evaluation = evaluate(Inventory([obj]), self.rules, judged)
        return Judged(evaluation.findings, evaluation.errors, evaluation.suppressed)

    def pins(self, request: AdmissionRequest) -> list[dict[str, str]]:
        """JSONPatch operations pinning covered tags to their verified digests."""
        if request.operation not in ("CREATE", "UPDATE") or request.object is None:
            return []
        if self.settings.exemption(request.namespace, request.user, request.groups) is not None:
            return []
        obj = K8sObject(request.object, LIVE_ORIGIN)
        patch = []
        for use in image_uses(obj):  # containers and image volumes
            image = use.image
            if image is None or "@" in image or not self.verifier.covers(image):
                continue
            try:
                digest = self.verifier.resolve(image)
            except (RegistryError, ValueError):
                continue  # not pinned: /verify-images then refuses the tag
            verdict = self.verifier.verify(f"{image}@{digest}")
            if verdict is not None and verdict.verified:
                pointer = "/" + "/".join(_escape(str(part)) for part in use.path)
                patch.append({"op": "replace", "path": pointer, "value": f"{image}@{digest}"})
        return patch


def _escape(token: str) -> str:
    """RFC 6901: ``~`` and ``/`` inside a JSON Pointer token."""
    return token.replace("~", "~0").replace("/", "~1")


def patch_response(request: AdmissionRequest, patch: list[dict[str, str]]) -> dict[str, Any]:
    answer: dict[str, Any] = {"uid": request.uid, "allowed": True}
    if patch:
        answer["patchType"] = "JSONPatch"
        answer["patch"] = base64.b64encode(orjson.dumps(patch)).decode()
        answer["auditAnnotations"] = {
            "pinned": ", ".join(op["value"] for op in patch)[:2000],
        }
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": answer}
