"""A small Kubernetes API client: GET, paged LIST and WATCH over httpx, with retries.

Only what a read-only scanner needs. Errors are mapped to what they mean for a scan:
``Forbidden`` (a coverage gap: the rest goes on), ``NotFound`` / ``Gone`` / ``ServerError`` and
other ``ApiError`` statuses (the caller decides: for one collection, a coverage gap),
``ClusterError`` (unreachable, credentials refused: the scan cannot run).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson

from kubeward import __version__
from kubeward.cluster.kubeconfig import Connection, Credentials, without_userinfo
from kubeward.errors import ClusterError

PAGE_SIZE = 500
"""Objects per LIST page: bounded response sizes, as kubectl's default chunking."""
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
"""Accept header for lists that must not carry object bodies (Secrets). No plain
``application/json`` fallback: a server that cannot answer metadata-only must refuse (406)
rather than send values; one that ignores ``as=`` anyway is caught by ``without_values``."""
METADATA_ONLY_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
"""The same for watches: their events carry single objects, not lists (asking a watch for
``PartialObjectMetadataList`` makes the server fail every event and close the stream)."""
VALUE_FIELDS = ("data", "stringData")
RENEW_BEFORE = timedelta(seconds=60)
"""Exec credentials are renewed this long before their ``expirationTimestamp``."""
MIN_RENEW_INTERVAL = 5.0
"""Seconds between two renewals for expiry (a plugin whose tokens are born expired)."""
RETRIES = 4
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class ApiError(Exception):
    """The API server answered with an error status."""

    def __init__(self, status: int, reason: str, message: str, path: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.path = path


class Unauthorized(ClusterError):
    """401: the API server refused the credentials (also fresh ones, when renewable)."""


class Forbidden(ApiError):
    """403: the identity may not do this (a coverage gap, not a failure)."""


class NotFound(ApiError):
    """404: the resource or API is not served."""


class Gone(ApiError):
    """410: the resourceVersion or continue token expired (relist)."""


class ServerError(ApiError):
    """5xx after every retry: this request failed (an aggregated API whose service is down,
    one broken collection); the caller decides whether that stops everything."""


class _ServerNameContext(ssl.SSLContext):
    """An SSL context that sends, and verifies the certificate against, a fixed server name
    (the kubeconfig's ``tls-server-name``) whatever host it connects to, as client-go does.

    A context rather than httpx's ``sni_hostname`` extension: that one is not applied through
    an HTTP proxy's CONNECT tunnel, and ``proxy-url`` must not change which name is checked.
    """

    server_name: str | None = None

    def wrap_socket(self, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        if self.server_name is not None:
            kwargs["server_hostname"] = self.server_name
        return super().wrap_socket(*args, **kwargs)

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        if self.server_name is not None:
            kwargs["server_hostname"] = self.server_name
        return super().wrap_bio(*args, **kwargs)


def without_values(item: dict[str, Any], metadata_kind: str) -> bool:
    """Drop Secret values from an item that was asked for metadata-only; True when the server
    did not honour that (``kind`` is not ``metadata_kind``, or values were present)."""
    stripped = [item.pop(key) for key in VALUE_FIELDS if key in item]
    kind = item.get("kind")
    return bool(stripped) or (kind is not None and kind != metadata_kind)


class Authenticator:
    """A connection's current credentials, shared by every client of a session (thread-safe).

    Exec-plugin credentials are renewed before their ``expirationTimestamp`` and when the API
    server refuses them (revoked, or expired without saying when): once, however many clients
    were refused with the same credentials."""

    def __init__(self, connection: Connection) -> None:
        self._lock = threading.Lock()
        self._credentials = connection.credentials
        self._renewed_at = time.monotonic()

    @property
    def renewable(self) -> bool:
        return self._credentials.renew is not None

    def current(self) -> Credentials:
        with self._lock:
            creds = self._credentials
            if (
                creds.renew is not None
                and creds.expires_at is not None
                and datetime.now(UTC) + RENEW_BEFORE >= creds.expires_at
                and time.monotonic() - self._renewed_at >= MIN_RENEW_INTERVAL
            ):
                self._renew()
            return self._credentials

    def renew(self, refused: Credentials) -> Credentials:
        """Fresh credentials after ``refused`` was refused (unless already renewed since)."""
        with self._lock:
            if self._credentials is refused:
                self._renew()
            return self._credentials

    def _renew(self) -> None:
        renew = self._credentials.renew
        assert renew is not None  # noqa: S101 - callers check renewable
        self._credentials = renew()
        self._renewed_at = time.monotonic()


def _ssl_context(connection: Connection) -> ssl.SSLContext:
    # as ssl.create_default_context(), in the subclass that applies tls-server-name
    context = _ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)
    context.verify_flags = ssl.create_default_context().verify_flags  # this Python's defaults
    context.server_name = connection.tls_server_name
    if connection.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif connection.ca_pem:
        try:
            context.load_verify_locations(cadata=connection.ca_pem.decode("ascii"))
        except (ssl.SSLError, UnicodeDecodeError, ValueError):
            raise ClusterError(
                f"{connection.describe()}: the certificate authority is not valid PEM"
            ) from None
    else:
        context.load_default_certs()
    creds = connection.credentials
    if creds.client_cert and creds.client_key:
        # ssl loads client certificates only from files: write them to a private directory
        # for the moment it takes to load them into the context.
        directory = tempfile.mkdtemp(prefix="kubeward-")
        try:
            cert = os.path.join(directory, "client.crt")
            key = os.path.join(directory, "client.key")
            for path, data in ((cert, creds.client_cert), (key, creds.client_key)):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
            context.load_cert_chain(cert, key)
        except ssl.SSLError:
            raise ClusterError(
                f"{connection.describe()}: the client certificate or key is not valid PEM"
            ) from None
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    return context


class ApiClient:
    """One connection pool to one API server."""

    def __init__(
        self,
        connection: Connection,
        *,
        timeout: float = 30.0,
        retries: int = RETRIES,
        auth: Authenticator | None = None,
    ) -> None:
        self.connection = connection
        self.retries = retries
        self._via = ""
        if connection.proxy_url:
            self._via = f" via proxy {without_userinfo(connection.proxy_url)}"
        self.auth = auth or Authenticator(connection)
        self._timeout = timeout
        self._tls_credentials = connection.credentials
        self._http = self._new_http(connection)

    def _new_http(self, connection: Connection) -> httpx.Client:
        try:
            # proxy-url wins over HTTPS_PROXY / NO_PROXY (read when it is unset), as in client-go
            return httpx.Client(
                base_url=connection.server,
                verify=_ssl_context(connection),
                timeout=httpx.Timeout(self._timeout, connect=10.0),
                headers={"User-Agent": f"kubeward/{__version__}"},
                proxy=connection.proxy_url,
            )
        except ImportError:  # httpx's SOCKS support needs socksio, not a kubeward dependency
            raise ClusterError(
                f"{connection.describe()}: proxy-url{self._via} is a SOCKS proxy, which needs "
                "the Python package socksio (pip install socksio); kubeward does not connect "
                "around a configured proxy"
            ) from None

    def _credentials(self) -> Credentials:
        """The current credentials; a renewed client certificate needs a new TLS context."""
        creds = self.auth.current()
        old = self._tls_credentials
        if (creds.client_cert, creds.client_key) != (old.client_cert, old.client_key):
            self._http.close()
            self._http = self._new_http(replace(self.connection, credentials=creds))
            self._tls_credentials = creds
        return creds

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _headers(self, accept: str | None, creds: Credentials) -> dict[str, str]:
        headers = {"Accept": accept or "application/json"}
        token = replace(self.connection, credentials=creds).bearer_token()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _send(
        self, method: str, path: str, params: Mapping[str, Any] | None, accept: str | None
    ) -> httpx.Response:
        """One request; refused credentials that can be renewed are renewed and tried once."""
        creds = self._credentials()
        response = self._attempts(method, path, params, accept, creds)
        if response.status_code == 401 and self.auth.renewable:
            self.auth.renew(creds)
            response = self._attempts(method, path, params, accept, self._credentials())
        return response

    def _attempts(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        accept: str | None,
        creds: Credentials,
    ) -> httpx.Response:
        """Retried on connection errors, 429 and 5xx with jittered backoff."""
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(
                    method, path, params=params, headers=self._headers(accept, creds)
                )
            except httpx.TransportError as exc:
                if attempt == self.retries:
                    raise ClusterError(
                        f"cannot reach {self.connection.server}{self._via} "
                        f"({type(exc).__name__}: {exc}); {self.connection.describe()}"
                    ) from None
                self._pause(attempt, None)
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self._pause(attempt, response.headers.get("Retry-After"))
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _pause(attempt: int, retry_after: str | None) -> None:
        delay = min(8.0, 0.25 * 2**attempt) * (0.5 + random.random())  # noqa: S311 - jitter
        if retry_after is not None:
            with contextlib.suppress(ValueError):
                delay = min(30.0, float(retry_after))
        time.sleep(delay)

    def _check(self, response: httpx.Response, path: str) -> dict[str, Any]:
        status = response.status_code
        if status < 300:
            try:
                body = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                raise ClusterError(f"{path}: the server's answer is not JSON") from None
            if not isinstance(body, dict):
                raise ClusterError(f"{path}: the server's answer is not a JSON object")
            return body
        reason, message = response.reason_phrase, response.text[:500]
        with contextlib.suppress(orjson.JSONDecodeError, AttributeError):
            status_body = orjson.loads(response.content)
            reason = str(status_body.get("reason") or reason)
            message = str(status_body.get("message") or message)
        if status == 401:
            fresh = ", also fresh ones from the exec plugin" if self.auth.renewable else ""
            raise Unauthorized(
                f"the API server refused the credentials (401 Unauthorized){fresh}; "
                f"{self.connection.describe()}"
            )
        error_type = {403: Forbidden, 404: NotFound, 410: Gone}.get(status, ApiError)
        if error_type is ApiError and status >= 500:
            error_type = ServerError
        raise error_type(status, reason, message, path)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self._check(self._send("GET", path, params, None), path)

    def list_metadata(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> tuple[list[dict[str, Any]], str, bool]:
        """``list`` without object bodies (``PartialObjectMetadataList``). The flag is True when
        the server (or a proxy) ignored that and sent values: they are dropped here, before
        anything else sees them."""
        items, version, kinds = self._list(path, params, METADATA_ONLY, page_size)
        ignored = kinds != {"PartialObjectMetadataList"}
        for item in items:
            ignored |= without_values(item, "PartialObjectMetadata")
        return items, version, ignored

    def _list(
        self, path: str, params: Mapping[str, Any] | None, accept: str | None, page_size: int
    ) -> tuple[list[dict[str, Any]], str, set[str]]:
        """Items, resourceVersion and the kinds of the pages.

        An expired continue token (410) restarts the list once, as client-go's pager does.
        """
        for _ in range(2):
            items: list[dict[str, Any]] = []
            kinds: set[str] = set()
            query = {**(params or {}), "limit": page_size}
            try:
                while True:
                    body = self.get_list_page(path, query, accept)
                    kinds.add(str(body.get("kind")))
                    for item in body.get("items") or ():
                        if isinstance(item, dict):
                            meta = item.get("metadata")
                            if isinstance(meta, dict):
                                meta.pop("managedFields", None)  # big, and no rule reads it
                            items.append(item)
                    meta = body.get("metadata") or {}
                    token = meta.get("continue")
                    if not token:
                        return items, str(meta.get("resourceVersion") or ""), kinds
                    query = {**(params or {}), "limit": page_size, "continue": token}
            except Gone:
                if "continue" not in query:
                    raise
        raise ClusterError(f"{path}: the list kept expiring while it was read")

    def list(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        page_size: int = PAGE_SIZE,
    ) -> tuple[list[dict[str, Any]], str]:
        """Every item of a collection, page by page, and the list's resourceVersion."""
        items, version, _ = self._list(path, params, None, page_size)
        return items, version

    def get_list_page(
        self, path: str, query: Mapping[str, Any], accept: str | None
    ) -> dict[str, Any]:
        return self._check(self._send("GET", path, query, accept), path)

    def watch(
        self,
        path: str,
        resource_version: str,
        params: Mapping[str, Any] | None = None,
        *,
        metadata_only: bool = False,
        timeout_seconds: int = 300,
    ) -> Iterator[dict[str, Any]]:
        """Watch events (``{"type": ..., "object": ...}``), bookmarks included, until the
        server ends the stream. A 410 (in the status or as an ERROR event) raises ``Gone``;
        refused credentials are renewed once when they can be, else raise ``Unauthorized``.
        ``metadata_only`` events carry ``PartialObjectMetadata`` (check with
        ``without_values``)."""
        accept = METADATA_ONLY_WATCH if metadata_only else None
        query = {
            **(params or {}),
            "watch": "1",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": timeout_seconds,
        }
        timeout = httpx.Timeout(timeout_seconds + 30.0, connect=10.0)
        try:
            for renewed in (False, True):
                creds = self._credentials()
                with self._http.stream(
                    "GET", path, params=query, headers=self._headers(accept, creds),
                    timeout=timeout,
                ) as response:  # fmt: skip
                    if response.status_code == 401 and not renewed and self.auth.renewable:
                        self.auth.renew(creds)
                        continue
                    if response.status_code >= 300:
                        response.read()
                        self._check(response, path)
                    yield from self._events(response, path)
                    return
        except httpx.TransportError as exc:
            raise ClusterError(
                f"watch {path}: connection lost{self._via} ({type(exc).__name__}); "
                f"{self.connection.describe()}"
            ) from None

    @staticmethod
    def _events(response: httpx.Response, path: str) -> Iterator[dict[str, Any]]:
        for line in response.iter_lines():
            if not line.strip():
                continue
            event = orjson.loads(line)
            if event.get("type") == "ERROR":
                status = event.get("object") or {}
                if status.get("code") == 410:
                    raise Gone(410, "Expired", str(status.get("message")), path)
                raise ApiError(
                    int(status.get("code") or 500),
                    str(status.get("reason") or "Error"),
                    str(status.get("message") or ""),
                    path,
                )
            yield event
