"""The parsed image of every container, for the image rules that judge valid references only
(an unparseable reference is reported by I001 and skipped by the others)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

from kubeward.model import Container, K8sObject, Path
from kubeward.rules._common.images import ImageRef, InvalidImageReference, parse_image


@lru_cache(maxsize=4096)
def _parse(image: str) -> ImageRef | None:
    """``parse_image`` memoised: a scan holds few distinct images, each in many containers,
    and five rules read each of them (``ImageRef`` is immutable, so sharing it is safe)."""
    try:
        return parse_image(image)
    except InvalidImageReference:
        return None


def parsed_images(obj: K8sObject) -> Iterator[tuple[Container, ImageRef, Path]]:
    """``(container, image, path of its image field)`` for init, regular and ephemeral
    containers whose image is a valid reference."""
    for container in obj.containers():
        image = container.image
        if image is None:
            continue
        ref = _parse(image)
        if ref is not None:
            yield container, ref, (*container.path, "image")


def is_latest(ref: ImageRef) -> bool:
    """No digest, and the tag is ``latest`` or missing (which the runtime reads as ``latest``)."""
    return ref.digest is None and (ref.tag is None or ref.tag == "latest")
