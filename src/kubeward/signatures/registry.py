"""A small OCI distribution client: what signature verification needs, and no more.

Manifests by tag or digest, blobs, and the referrers API (OCI 1.1) with the referrers-tag
fallback, over HTTPS (plain HTTP only for registries configured as insecure), with the bearer
token challenge and basic credentials in the format of a ``kubernetes.io/dockerconfigjson``
Secret. Content fetched by digest is hashed and checked here; response sizes are bounded.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

from kubeward.signatures.cosign import SignatureFormatError, check_content, sha256_digest

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MAX_MANIFEST_BYTES = 4 * 1024 * 1024
"""The distribution spec's recommended manifest limit."""
MAX_BLOB_BYTES = 4 * 1024 * 1024
"""Signature payloads and bundles are a few KiB; anything larger is refused unread."""
MAX_REFERRER_PAGES = 16
"""Pages of the referrers API followed per image (with ``MAX_SIGNATURES`` bundles read)."""
DOCKER_HUB_API = "registry-1.docker.io"
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(RuntimeError):
    """The registry could not be asked (unreachable, timeout, refused, malformed answer)."""


class NotFound(RegistryError):
    """The registry answered 404 for a manifest or blob."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def read_docker_config(path: Path) -> dict[str, Credentials]:
    """Credentials by registry host from a Docker ``config.json`` / ``.dockerconfigjson``.

    Raises ``ValueError`` with the reason (never a credential) when the file is unusable.
    """
    try:
        document = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a readable Docker config ({type(exc).__name__})") from None
    auths = document.get("auths") if isinstance(document, dict) else None
    if not isinstance(auths, dict):
        raise ValueError(f"{path}: no 'auths' mapping")
    found: dict[str, Credentials] = {}
    for server, entry in auths.items():
        if not isinstance(entry, dict):
            continue
        user, password = entry.get("username"), entry.get("password")
        if isinstance(entry.get("auth"), str):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise ValueError(
                    f"{path}: the 'auth' of {server} is not base64 user:password"
                ) from None
        if isinstance(user, str) and isinstance(password, str):
            host = re.sub(r"^https?://", "", server).split("/")[0].lower()
            if host in ("index.docker.io", "registry-1.docker.io"):
                host = "docker.io"
            found[host] = Credentials(user, password)
    return found


def check_realm(realm: str, registry: str, *, plain_http: bool) -> None:
    """Refuse a token realm that would turn the webhook into a proxy into the cluster's network.

    A registry names the token service in its challenge, and the webhook then sends
    credentials there: an https URL (http only for a plain-HTTP registry), on the registry's
    own host:port, or anywhere but a private, loopback or link-local IP literal (the cloud
    metadata service lives at 169.254.169.254). The same rule as go-containerregistry's
    ``validateRealmURL`` (google/go-containerregistry#2258).
    """
    url = httpx.URL(realm)
    if url.scheme != "https" and not (url.scheme == "http" and plain_http):
        raise RegistryError(f"{registry}: token realm {realm!r}: only https is allowed")
    authority = f"{url.host}:{url.port}" if url.port else url.host
    if authority == registry:
        return
    try:
        address = ipaddress.ip_address(url.host)
    except ValueError:
        return  # a name: resolving it is the network policy's business (egress rules)
    if address.is_private or address.is_loopback or address.is_link_local:
        raise RegistryError(f"{registry}: token realm {realm!r} is a private or link-local address")


@dataclass(frozen=True)
class Manifest:
    content: bytes
    media_type: str
    digest: str
    """sha256 of ``content``, computed here."""

    def json(self) -> dict[str, Any]:
        try:
            value = orjson.loads(self.content)
        except orjson.JSONDecodeError:
            raise SignatureFormatError(f"manifest {self.digest} is not JSON") from None
        if not isinstance(value, dict):
            raise SignatureFormatError(f"manifest {self.digest} is not a JSON object")
        return value


class RegistryClient:
    """One client for every registry (connections and tokens are reused; thread-safe)."""

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        insecure: frozenset[str] = frozenset(),
        credentials: Mapping[str, Credentials] | None = None,
    ) -> None:
        self._http = httpx.Client(timeout=timeout, follow_redirects=True)
        self._insecure = insecure
        self._credentials = dict(credentials or {})
        self._tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._http.close()

    def _base(self, registry: str) -> str:
        host = DOCKER_HUB_API if registry == "docker.io" else registry
        scheme = "http" if registry in self._insecure else "https"
        return f"{scheme}://{host}"

    def _get(
        self, registry: str, repository: str, path: str, accept: str, limit: int
    ) -> tuple[int, bytes, httpx.Headers]:
        return self._get_url(
            registry, repository, f"{self._base(registry)}/v2/{repository}/{path}", accept, limit
        )

    def _get_url(
        self, registry: str, repository: str, url: str, accept: str, limit: int
    ) -> tuple[int, bytes, httpx.Headers]:
        scope = f"repository:{repository}:pull"
        headers = {"Accept": accept}
        try:
            for attempt in range(2):
                token = self._tokens.get((registry, scope))
                if token:
                    headers["Authorization"] = token
                with self._http.stream("GET", url, headers=headers) as answer:
                    if answer.status_code == 401 and attempt == 0:
                        challenge = answer.headers.get("www-authenticate", "")
                        self._authenticate(registry, scope, challenge)
                        continue
                    body = bytearray()
                    for chunk in answer.iter_bytes():
                        body += chunk
                        if len(body) > limit:
                            raise RegistryError(f"{url}: the answer exceeds {limit} bytes")
                    return answer.status_code, bytes(body), answer.headers
        except httpx.TimeoutException:
            raise RegistryError(f"{registry}: timed out") from None
        except httpx.HTTPError as exc:
            raise RegistryError(f"{registry}: {type(exc).__name__}: {exc}") from None
        raise RegistryError(f"{registry}: authentication failed for {repository}")

    def _authenticate(self, registry: str, scope: str, challenge: str) -> None:
        scheme, _, rest = challenge.partition(" ")
        credentials = self._credentials.get(registry)
        if scheme.lower() == "basic":
            if credentials is None:
                raise RegistryError(f"{registry}: asks for credentials and none are configured")
            raw = f"{credentials.username}:{credentials.password}".encode()
            self._tokens[(registry, scope)] = "Basic " + base64.b64encode(raw).decode()
            return
        if scheme.lower() != "bearer":
            raise RegistryError(f"{registry}: unsupported authentication {scheme!r}")
        params = dict(_CHALLENGE_PARAM.findall(rest))
        realm = params.get("realm")
        if not realm:
            raise RegistryError(f"{registry}: bearer challenge without a realm")
        check_realm(realm, registry, plain_http=registry in self._insecure)
        query = {"scope": params.get("scope", scope)}
        if "service" in params:
            query["service"] = params["service"]
        auth = (credentials.username, credentials.password) if credentials else None
        answer = self._http.get(realm, params=query, auth=auth)
        if answer.status_code != 200:
            raise RegistryError(
                f"{registry}: the token service refused access to {scope} ({answer.status_code})"
            )
        try:
            body = answer.json()
        except ValueError:
            raise RegistryError(f"{registry}: the token service answered no JSON") from None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str):
            raise RegistryError(f"{registry}: the token service answered no token")
        with self._lock:
            self._tokens[(registry, scope)] = f"Bearer {token}"

    def manifest(self, registry: str, repository: str, reference: str) -> Manifest:
        """The manifest at a tag or digest; its digest is computed (and checked for digests)."""
        status, body, headers = self._get(
            registry, repository, f"manifests/{reference}", ", ".join(MANIFEST_TYPES),
            MAX_MANIFEST_BYTES,
        )  # fmt: skip
        if status == 404:
            raise NotFound(f"{registry}/{repository}: no manifest {reference}")
        if status != 200:
            raise RegistryError(
                f"{registry}/{repository}: manifest {reference} answered HTTP {status}"
            )
        if reference.startswith("sha256:"):
            check_content(body, reference, f"manifest {reference}")
        media_type = headers.get("content-type", "").split(";")[0].strip()
        return Manifest(body, media_type, sha256_digest(body))

    def blob(self, registry: str, repository: str, digest: str) -> bytes:
        status, body, _ = self._get(registry, repository, f"blobs/{digest}", "*/*", MAX_BLOB_BYTES)
        if status == 404:
            raise NotFound(f"{registry}/{repository}: no blob {digest}")
        if status != 200:
            raise RegistryError(f"{registry}/{repository}: blob {digest} answered HTTP {status}")
        check_content(body, digest, f"blob {digest}")
        return body

    def referrers(self, registry: str, repository: str, digest: str) -> list[dict[str, Any]] | None:
        """The referrers API's descriptors (every page), or ``None`` where the registry lacks
        the API: 404, 405 or 400, or a 200 that is not an OCI image index (the distribution
        spec's only answer), so the caller falls back to the referrers tag.

        No ``artifactType`` filter is sent: registries may ignore it (``OCI-Filters-Applied``
        tells) and some list cosign's bundles under the wrong type (see the verifier), so the
        caller filters. Pages are followed through ``Link: <…>; rel="next"`` on the same
        registry and repository only, at most ``MAX_REFERRER_PAGES`` of them.
        """
        url = f"{self._base(registry)}/v2/{repository}/referrers/{digest}"
        found: list[dict[str, Any]] = []
        for page in range(MAX_REFERRER_PAGES):
            status, body, headers = self._get_url(
                registry, repository, url, OCI_INDEX, MAX_MANIFEST_BYTES
            )
            media_type = headers.get("content-type", "").split(";")[0].strip()
            if page == 0 and (
                status in (404, 405, 400) or (status == 200 and media_type != OCI_INDEX)
            ):
                return None
            if status != 200:
                raise RegistryError(f"{registry}/{repository}: referrers answered HTTP {status}")
            if media_type != OCI_INDEX:
                raise RegistryError(
                    f"{registry}/{repository}: a referrers page answered {media_type!r}"
                )
            try:
                index = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise RegistryError(
                    f"{registry}/{repository}: referrers answered no JSON"
                ) from None
            manifests = index.get("manifests") if isinstance(index, dict) else None
            if isinstance(manifests, list):
                found.extend(m for m in manifests if isinstance(m, dict))
            following = next_page(url, headers.get("link", ""), repository)
            if following is None:
                return found
            url = following
        raise RegistryError(
            f"{registry}/{repository}: more than {MAX_REFERRER_PAGES} pages of referrers"
        )


_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


def next_page(current: str, link: str, repository: str) -> str | None:
    """The absolute URL of the next referrers page named by a ``Link`` header, ``None`` when
    there is none. A link to another host, scheme or repository, or off the referrers path, is
    refused: the registry must not steer the client (and its token) elsewhere."""
    match = _LINK_NEXT.search(link)
    if match is None:
        return None
    base = httpx.URL(current)
    target = base.join(match.group(1))
    if (
        (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port)
        or not target.path.startswith(f"/v2/{repository}/referrers/")
        or target == base
    ):
        raise RegistryError(f"{base.host}/{repository}: refused referrers page link {link!r}")
    return str(target)
