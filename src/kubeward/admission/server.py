"""The webhook server: HTTPS only (TLS 1.2+), ``POST /validate``, ``/healthz``, ``/readyz``,
``/metrics``; with image signatures configured also ``/verify-images`` and ``/pin-images``.

Raw Starlette on uvicorn (uvloop, httptools): the fastest measured combination for this
workload (see pyproject.toml). The certificate and key are re-read when their files change
(checked at most once a second, on new TLS handshakes), so a rotated Secret needs no restart.
A body that is not a usable AdmissionReview gets HTTP 400 with the reason; a bug gets 500 and
the webhook's ``failurePolicy`` decides. uvicorn drains in-flight requests on SIGTERM.
What a client can make the server hold is bounded: a read timeout per request, a number of
connections, a budget for the bodies being received (see the constants below).
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from kubeward.admission.review import (
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


READ_TIMEOUT_SECONDS = 10.0
"""A request's headers and body must arrive within this of its first byte (a new connection's
first request: of the TLS handshake's end); else HTTP 408 and the connection is closed. The API
server sends a review at once and waits at most 30 s (the webhook's ``timeoutSeconds``) for
the whole answer."""
MAX_CONNECTIONS = 256
"""Open connections; a request over the bound is answered 503 (uvicorn's limit_concurrency,
which counts idle keep-alive connections too: API servers keep pools of them)."""
KEEP_ALIVE_SECONDS = 5
"""An idle connection between requests is closed after this."""
MAX_BUFFERED_BODY_BYTES = 64 * 1024 * 1024
"""Request bodies being received by all requests together: a request that would go over the
bound is answered 503 (eight reviews of the largest size at once; a real review is a few
kilobytes). With the connection bound and the read timeout, what slow or stalled clients can
make the server hold is bounded."""


class BodyTooLarge(Exception):
    pass


class Busy(Exception):
    pass


class BodyBudget:
    """The bytes of request bodies being received, across requests (one event loop)."""

    def __init__(self, limit: int = MAX_BUFFERED_BODY_BYTES) -> None:
        self.limit, self.used = limit, 0

    async def read(self, request: Request) -> bytes:
        """The body; ``BodyTooLarge`` over ``MAX_BODY_BYTES``, ``Busy`` over the budget,
        ``ClientDisconnect`` if the client went (or the read timeout closed the connection)."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            raise BodyTooLarge
        body = bytearray()
        try:
            async for chunk in request.stream():
                self.used += len(chunk)
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise BodyTooLarge
                if self.used > self.limit:
                    raise Busy
            return bytes(body)
        finally:
            self.used -= len(body)


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
    budget = BodyBudget()

    def bad_request(message: str, status: int = 400) -> Response:
        metrics.requests.labels("", "busy" if status == 503 else "bad_request").inc()
        return Response(
            orjson.dumps({"error": message}), status_code=status, media_type="application/json"
        )

    async def read_review(request: Request) -> AdmissionRequest | Response:
        media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
        if media_type != "application/json":
            return bad_request("Content-Type must be application/json", status=415)
        try:
            body = await budget.read(request)
        except BodyTooLarge:
            return bad_request(f"request body over {MAX_BODY_BYTES // (1024 * 1024)} MiB")
        except Busy:
            return bad_request(
                f"busy: over {MAX_BUFFERED_BODY_BYTES // (1024 * 1024)} MiB of request bodies "
                "being received",
                status=503,
            )
        except ClientDisconnect:  # gone, or closed by the read timeout (answered 408 there)
            return Response(status_code=408)
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
                if threaded:
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


def _timeout_answer(read_timeout: float) -> bytes:
    body = orjson.dumps({"error": f"the request was not received within {read_timeout:g} s"})
    head = (
        "HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


def bounded_protocol(read_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's httptools protocol with a read deadline: a request's headers and body must
    arrive within ``read_timeout`` of its first byte (a new connection's first request: of the
    connection), else the server answers 408 and closes the connection. uvicorn itself only
    times out idle keep-alive connections: a stalled request held its memory and its
    connection for ever, and a graceful shutdown waited for it."""
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    timeout_answer = _timeout_answer(read_timeout)

    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        _deadline: asyncio.TimerHandle | None = None
        _in_headers = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._in_headers = True
            if self._deadline is None:
                self._arm()

        def on_headers_complete(self) -> None:
            self._in_headers = False
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._disarm()

        def _arm(self) -> None:
            self._deadline = self.loop.call_later(read_timeout, self._timed_out)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _timed_out(self) -> None:
            self._deadline = None
            if self.transport.is_closing():
                return
            cycle: Any = self.cycle  # None until the first request's headers are in
            if self._in_headers or (cycle is not None and not cycle.response_started):
                self.transport.write(timeout_answer)  # nothing answered to this request yet
            # the application reading the body sees the client gone and answers nothing
            self.transport.close()

    return BoundedHttpToolsProtocol


def serve(
    reviewer: Reviewer,
    *,
    signatures: SignatureReviewer | None = None,
    host: str,
    port: int,
    cert: Path,
    key: Path,
    log_level: str = "info",
    read_timeout: float = READ_TIMEOUT_SECONDS,
    max_connections: int = MAX_CONNECTIONS,
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
        http=bounded_protocol(read_timeout),
        access_log=False,
        log_level=log_level,
        server_header=False,
        limit_concurrency=max_connections,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        # a request in flight is read within read_timeout and judged in well under a second
        # (bounded reviews): draining ends long before this backstop
        timeout_graceful_shutdown=20,
    )
    config.load()
    config.ssl = reloader.context  # uvicorn's own context cannot follow the files
    uvicorn.Server(config).run()
