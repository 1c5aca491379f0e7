"""The webhook server: HTTPS only (TLS 1.2+), ``POST /validate``, ``/healthz``, ``/readyz``,
``/metrics``; with image signatures configured also ``/verify-images`` and ``/pin-images``.

Raw Starlette on uvicorn (uvloop, httptools): the fastest measured combination for this
workload (see pyproject.toml). The certificate and key are re-read when their files change
(checked at most once a second, on new TLS handshakes), so a rotated Secret needs no restart.
A body that is not a usable AdmissionReview gets HTTP 400 with the reason; a bug gets 500 and
the webhook's ``failurePolicy`` decides. uvicorn drains in-flight requests on SIGTERM.
"""

from __future__ import annotations

import logging
import os
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from kubeward.admission.review import (
    JUDGED_OPERATIONS,
    MAX_BODY_BYTES,
    OPERATIONS,
    AdmissionRequest,
    Reviewer,
    ReviewError,
    Verdict,
    over_bounds,
    parse,
    response,
)
from kubeward.admission.signatures import SignatureReviewer, patch_response
from kubeward.model.enforcement import Action
from kubeward.terminal import printable

log = logging.getLogger("kubeward.admission")
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)


def operation_label(operation: str) -> str:
    """A metric label from a fixed set: ``parse`` admits only the API server's operations, and
    anything else is "other" so that no client string can add a time series."""
    return operation if operation in OPERATIONS else "other"


class Metrics:
    """Prometheus metrics of one server (its own registry: tests run several servers).

    Every label value comes from a fixed set (operations, decisions, the catalog's rule IDs and
    actions), so the exposition stays a few kilobytes and is written on the event loop."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kubeward_admission_requests",
            "AdmissionReview requests by operation and decision",
            ["operation", "decision"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "kubeward_admission_request_duration_seconds",
            "Time from request received to answer ready",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.findings = Counter(
            "kubeward_admission_findings",
            "Findings at admission by rule and action",
            ["rule", "action"],
            registry=self.registry,
        )

    def record(self, request: AdmissionRequest, verdict: Verdict) -> None:
        decision = "exempt" if verdict.exempt else ("allowed" if verdict.allowed else "denied")
        self.requests.labels(operation_label(request.operation), decision).inc()
        for action, findings in (
            ("deny", verdict.denied), ("warn", verdict.warned), ("audit", verdict.audited)
        ):  # fmt: skip
            for finding in findings:
                self.findings.labels(finding.rule_id, action).inc()


def unjudged(judge: Reviewer, request: AdmissionRequest, reason: str) -> Verdict:
    """The verdict on a request too large to judge (``over_bounds``): what a rule that could
    not judge gets — an error in the warnings and audit annotations, and a refusal when
    ``admission.onError`` is deny and a deny rule would have judged. Exempt requests and
    operations that are never judged are admitted as ``Reviewer.decide`` admits them."""
    verdict = Verdict(skipped_rules=judge.skipped_rules)
    if request.operation not in JUDGED_OPERATIONS or request.object is None:
        return verdict
    verdict.exempt = judge.settings.exemption(request.namespace, request.user, request.groups)
    if verdict.exempt is not None:
        return verdict
    verdict.errors = [reason]
    verdict.refused_on_error = judge.settings.deny_on_error and any(
        judge.settings.action_for(rule.id) is Action.DENY for rule in judge.rules
    )
    verdict.allowed = not verdict.refused_on_error
    return verdict


class BodyTooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BodyTooLarge
    return bytes(body)


def create_app(
    reviewer: Reviewer,
    metrics: Metrics | None = None,
    signatures: SignatureReviewer | None = None,
) -> Starlette:
    """The ASGI application (pure request handling; TLS is the server's).

    With ``signatures``, also ``/verify-images`` and ``/pin-images``: they wait on registries,
    so they run in worker threads and never hold up ``/validate`` on the event loop.
    """
    metrics = metrics or Metrics()

    def bad_request(message: str) -> Response:
        metrics.requests.labels("", "bad_request").inc()
        return Response(
            orjson.dumps({"error": message}), status_code=400, media_type="application/json"
        )

    async def read_review(request: Request) -> AdmissionRequest | Response:
        try:
            body = await _read_body(request)
        except BodyTooLarge:
            return bad_request(f"request body over {MAX_BODY_BYTES // (1024 * 1024)} MiB")
        try:
            return parse(body)
        except ReviewError as exc:
            return bad_request(str(exc))

    def judged(judge: Reviewer, *, threaded: bool) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            review = await read_review(request)
            if isinstance(review, Response):
                return review
            try:
                too_large = over_bounds(review)
                if too_large is not None:
                    verdict = unjudged(judge, review, too_large)
                    log.warning("%s: %s", review.describe(), too_large)
                elif threaded:
                    verdict = await run_in_threadpool(judge.decide, review)
                else:
                    verdict = judge.decide(review)
                answer = orjson.dumps(response(review, verdict))
            except Exception:  # a bug: the API server's failurePolicy decides, the server lives on
                uid = printable(review.uid)
                log.exception("cannot judge %s (uid %s)", review.describe(), uid)
                metrics.requests.labels(operation_label(review.operation), "error").inc()
                return PlainTextResponse("kubeward: internal error", status_code=500)
            metrics.record(review, verdict)
            metrics.latency.observe(time.perf_counter() - started)
            if not verdict.allowed:
                rules = ",".join(sorted({f.rule_id for f in verdict.denied})) or "onError"
                dry = " (dry run)" if review.dry_run else ""
                user = printable(review.user)
                log.info("denied %s by %s for %s%s", review.describe(), rules, user, dry)
            return Response(answer, media_type="application/json")

        return endpoint

    async def pin(request: Request) -> Response:
        assert signatures is not None  # noqa: S101 - the route exists only with signatures
        review = await read_review(request)
        if isinstance(review, Response):
            return review
        started = time.perf_counter()
        too_large = over_bounds(review)
        if too_large is not None:  # nothing pinned: /verify-images judges it (onError)
            log.warning("%s: %s", review.describe(), too_large)
            metrics.requests.labels(operation_label(review.operation), "unchanged").inc()
            return Response(orjson.dumps(patch_response(review, [])), media_type="application/json")
        try:
            patch = await run_in_threadpool(signatures.pins, review)
        except Exception:
            uid = printable(review.uid)
            log.exception("cannot pin images of %s (uid %s)", review.describe(), uid)
            metrics.requests.labels(operation_label(review.operation), "error").inc()
            return PlainTextResponse("kubeward: internal error", status_code=500)
        metrics.requests.labels(
            operation_label(review.operation), "pinned" if patch else "unchanged"
        ).inc()
        metrics.latency.observe(time.perf_counter() - started)
        if patch:
            log.info("pinned %d image(s) of %s", len(patch), review.describe())
        return Response(orjson.dumps(patch_response(review, patch)), media_type="application/json")

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    routes: list[Route] = [
        Route("/validate", judged(reviewer, threaded=False), methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", healthz, methods=["GET"]),  # ready once built: the catalog is loaded
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    if signatures is not None:
        routes += [
            Route("/verify-images", judged(signatures, threaded=True), methods=["POST"]),
            Route("/pin-images", pin, methods=["POST"]),
        ]
    return Starlette(routes=routes)


class CertificateReloader:
    """A server TLS context that follows its certificate and key files."""

    def __init__(self, cert: Path, key: Path, check_every: float = 1.0) -> None:
        self.cert, self.key, self.check_every = cert, key, check_every
        self._lock = threading.Lock()
        self._stamp = self._file_stamp()
        self._checked = time.monotonic()
        self.context = self._build()  # raises on an unusable pair: refuse to start
        self.context.sni_callback = self._on_hello

    def _file_stamp(self) -> tuple[float, float, int, int]:
        cert, key = os.stat(self.cert), os.stat(self.key)
        return (cert.st_mtime, key.st_mtime, cert.st_size, key.st_size)

    def _build(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.cert, self.key)
        return context

    def refresh(self) -> bool:
        """Reload when the files changed; True if a new certificate is in use. A half-written
        or broken pair keeps the old one (and is retried at the next check)."""
        with self._lock:
            try:
                stamp = self._file_stamp()
            except OSError as exc:
                log.warning("cannot stat the TLS files: %s", exc)
                return False
            if stamp == self._stamp:
                return False
            try:
                context = self._build()
            except (OSError, ssl.SSLError) as exc:
                log.warning("keeping the current certificate: the new one fails: %s", exc)
                return False
            context.sni_callback = self._on_hello
            self.context, self._stamp = context, stamp
            log.info("TLS certificate reloaded from %s", self.cert)
            return True

    def _on_hello(
        self, connection: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: ssl.SSLContext
    ) -> None:
        # OpenSSL calls this for every ClientHello (with or without SNI): switch the connection
        # to the newest context before the handshake picks a certificate
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            self.refresh()
        if connection.context is not self.context:
            connection.context = self.context


def serve(
    reviewer: Reviewer,
    *,
    signatures: SignatureReviewer | None = None,
    host: str,
    port: int,
    cert: Path,
    key: Path,
    log_level: str = "info",
) -> None:
    """Run until SIGINT/SIGTERM (in-flight requests are answered first)."""
    import uvicorn

    reloader = CertificateReloader(cert, key)
    config = uvicorn.Config(
        create_app(reviewer, signatures=signatures),
        host=host,
        port=port,
        ssl_certfile=str(cert),
        ssl_keyfile=str(key),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level=log_level,
        server_header=False,
        timeout_graceful_shutdown=20,
    )
    config.load()
    config.ssl = reloader.context  # uvicorn's own context cannot follow the files
    uvicorn.Server(config).run()
