"""What a pod pulls (its containers' images and its image volumes' references), parsed, for
the image rules that judge valid references only (an unparseable reference is reported by I001
and skipped by the others)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from kubeward.model import ImageUse, K8sObject, Path, image_uses
from kubeward.rules._common.images import ImageRef, InvalidImageReference, parse_image


@lru_cache(maxsize=4096)
def _parse(image: str) -> ImageRef | None:
    """``parse_image`` memoised: a scan holds few distinct images, each in many containers,
    and five rules read each of them (``ImageRef`` is immutable, so sharing it is safe)."""
    try:
        return parse_image(image)
    except InvalidImageReference:
        return None


def parsed_images(obj: K8sObject) -> Iterator[tuple[ImageUse, ImageRef, Path]]:
    """``(use, image, path of its reference field)`` for every image use (``image_uses``)
    whose reference is valid."""
    for use in image_uses(obj):
        if use.image is None:
            continue
        ref = _parse(use.image)
        if ref is not None:
            yield use, ref, use.path


PULL_POLICIES = ("Always", "IfNotPresent", "Never")
"""The values the API server accepts for ``imagePullPolicy`` and ``pullPolicy`` (case-sensitive)."""


def default_pull_policy(ref: ImageRef) -> str:
    """What the API server sets an unset or empty pull policy to (``SetDefaults_Container`` and
    ``SetDefaults_ImageVolumeSource``, which read the tag with ``parsers.ParseImageName``):
    ``Always`` when the tag is ``latest`` (even beside a digest) or when there is neither a
    tag nor a digest, else ``IfNotPresent``. The tag compares case-sensitively: ``Latest`` is
    another tag."""
    if ref.tag is None and ref.digest is None:
        return "Always"
    return "Always" if ref.tag == "latest" else "IfNotPresent"


def is_latest(ref: ImageRef) -> bool:
    """No digest, and the tag is ``latest`` or missing (which the runtime reads as ``latest``)."""
    return ref.digest is None and (ref.tag is None or ref.tag == "latest")
