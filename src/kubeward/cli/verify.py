"""``kubeward verify IMAGE...``: are these images signed as the policy (or ``--key``) says?"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import orjson

from kubeward.terminal import printable

EXIT_VERIFIED = 0
EXIT_NOT_VERIFIED = 1
EXIT_CANNOT_CHECK = 2


@click.command()
@click.argument("images", nargs=-1, required=True)
@click.option(
    "--key", "keys", multiple=True, type=click.Path(exists=True, dir_okay=False),
    help="A public key (PEM, e.g. cosign.pub) to check against instead of imageSignatures in "
    "kubeward.yaml; repeatable.",
)  # fmt: skip
@click.option(
    "--require", type=click.Choice(["any", "all"]), default="any", show_default=True,
    help="With --key: one key's signature suffices, or every key must have signed.",
)  # fmt: skip
@click.option("-c", "--config", "config_path", type=click.Path(), help="kubeward.yaml to use.")
@click.option(
    "--plain-http", multiple=True, metavar="HOST:PORT",
    help="Registries to speak to without TLS (local test registries); repeatable.",
)  # fmt: skip
@click.option(
    "--credentials", type=click.Path(exists=True, dir_okay=False),
    help="Registry credentials: a Docker config.json / .dockerconfigjson.",
)  # fmt: skip
@click.option(
    "-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
    show_default=True,
)  # fmt: skip
def verify(
    images: tuple[str, ...],
    keys: tuple[str, ...],
    require: str,
    config_path: str | None,
    plain_http: tuple[str, ...],
    credentials: str | None,
    fmt: str,
) -> int:
    """Check the cosign signatures of IMAGES (tags are resolved to the digest they name now),
    in both formats cosign writes: simple signing (sha256-<hex>.sig) and Sigstore bundles
    (OCI referrers).

    \b
    Exit codes: 0 every image verified; 1 an image is unsigned, wrongly signed or not named
    by any rule; 2 an image could not be checked (registry unreachable or refusing, usage or
    configuration error).
    """
    from dataclasses import replace

    from kubeward.cli.scan import resolve_config
    from kubeward.errors import ConfigError
    from kubeward.model.signatures import SignatureStatus
    from kubeward.signatures.cosign import UnusableKey, load_public_key
    from kubeward.signatures.policy import Require, SignaturePolicy, SignatureRule
    from kubeward.signatures.verifier import ImageVerifier, client_for, verify_images

    if keys:
        try:
            loaded = tuple(load_public_key(Path(k).read_bytes(), k) for k in keys)
        except UnusableKey as exc:
            raise click.UsageError(f"--key: {exc}") from None
        policy = SignaturePolicy(rules=(SignatureRule("--key", ("**",), loaded, Require(require)),))
    else:
        config = resolve_config(config_path, (".",))
        if config.signatures is None or not config.signatures.enabled:
            raise click.UsageError("give --key, or imageSignatures rules in kubeward.yaml")
        policy = config.signatures
    policy = replace(
        policy,
        plain_http=policy.plain_http | {h.strip().lower() for h in plain_http},
        credentials=Path(credentials) if credentials else policy.credentials,
    )
    try:
        client = client_for(policy)
    except ValueError as exc:
        raise ConfigError(f"credentials: {exc}") from None
    verifier = ImageVerifier(policy, client)
    try:
        verdicts = verify_images(verifier, images, resolve_tags=True)
    finally:
        client.close()
    rows: list[tuple[str, str, str | None, str]] = []
    for image in images:
        verdict = verdicts.get(image)
        if verdict is None:
            rows.append((image, "not-covered", None, "no imageSignatures rule names this image"))
        else:
            rows.append((image, verdict.status.value, verdict.digest, verdict.detail))
    if fmt == "json":
        document = [{"image": i, "status": s, "digest": d, "detail": t} for i, s, d, t in rows]
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        for image, status, digest, detail in rows:
            at = f"@{digest}" if digest and digest not in image else ""
            click.echo(printable(f"{status:<11} {image}{at}: {detail}"))
    statuses = {status for _, status, _, _ in rows}
    if SignatureStatus.ERROR.value in statuses:
        return EXIT_CANNOT_CHECK
    if statuses != {SignatureStatus.VERIFIED.value}:
        return EXIT_NOT_VERIFIED
    return EXIT_VERIFIED
