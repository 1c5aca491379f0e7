"""``kubeward admission serve``: the catalog as a validating admission webhook."""

from __future__ import annotations

from pathlib import Path

import click

from kubeward.errors import UsageError


@click.group()
def admission() -> None:
    """Admission control: deny, warn about or audit objects as the API server admits them."""


@admission.command("serve")
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")  # noqa: S104
@click.option("--port", default=8443, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--tls-cert", required=True, type=click.Path(dir_okay=False), help="Serving certificate (PEM)."
)
@click.option("--tls-key", required=True, type=click.Path(dir_okay=False), help="Its key (PEM).")
@click.option("--config", "config_path", metavar="FILE", help="kubeward.yaml (default: found).")
@click.option(
    "--log-level",
    default="info",
    show_default=True,
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
)
def serve_command(
    host: str, port: int, tls_cert: str, tls_key: str, config_path: str | None, log_level: str
) -> int:
    """Serve POST /validate (AdmissionReview v1) over HTTPS, plus /healthz, /readyz, /metrics.

    \b
    Each rule's action at admission (deny, warn, audit, off) and the exempt namespaces, users,
    groups and service accounts come from the admission: section of kubeward.yaml; select,
    ignore, exceptions and rule parameters apply as in a scan. The certificate and key are
    reloaded when their files change.
    """
    import logging
    import ssl

    from kubeward.admission.review import Reviewer
    from kubeward.admission.server import serve
    from kubeward.cli.scan import resolve_config
    from kubeward.engine import EngineSettings
    from kubeward.rules import ALL_RULES, select

    config = resolve_config(config_path, ["."])
    for path in (tls_cert, tls_key):
        if not Path(path).is_file():
            raise UsageError(f"{path}: no such file")
    rules = select(ALL_RULES, select=config.select, ignore=config.ignore)
    engine = EngineSettings(
        params=config.params,
        severity_overrides=config.severity_overrides,
        exceptions=config.exceptions,
        allow_inline_suppressions=config.allow_inline_suppressions,
    )
    reviewer = Reviewer(rules, engine, config.admission)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(name)s %(message)s")
    try:
        serve(reviewer, host=host, port=port, cert=Path(tls_cert), key=Path(tls_key),
              log_level=log_level)  # fmt: skip
    except ssl.SSLError as exc:
        raise UsageError(f"--tls-cert/--tls-key: {exc}") from None
    return 0
