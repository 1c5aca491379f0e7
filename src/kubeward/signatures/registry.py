"""A small OCI distribution client: what signature verification needs, and no more.

Manifests by tag or digest, blobs, and the referrers API (OCI 1.1) with the referrers-tag
fallback, over HTTPS (plain HTTP only for registries configured as insecure), with the bearer
token challenge and basic credentials in the format of a ``kubernetes.io/dockerconfigjson``
Secret. Content fetched by digest is hashed and checked here; response sizes are bounded
(decompressed bytes counted as they stream), and every request of one image's verification
shares one deadline (``RegistryClient.budget``).

Redirects are followed here, not by httpx, so that every hop is checked: no https → http
downgrade (unless the registry is configured plain HTTP), never a link-local or cloud metadata
address, and for token realms the realm rule (``check_realm``) on every hop; credentials are
sent to the first origin only.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import orjson

from kubeward.signatures.cosign import SignatureFormatError, check_content, sha256_digest
from kubeward.signatures.policy import normal_registry

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
MAX_TOKEN_BYTES = MAX_MANIFEST_BYTES
"""A token service's answer: the same bound as a registry's."""
MAX_REFERRER_PAGES = 16
"""Pages of the referrers API followed per image (with ``MAX_SIGNATURES`` bundles read)."""
MAX_REFERRERS = 256
"""Referrers kept per image (those with a valid digest that may be signatures): a registry
cannot make the verifier hold or rank an unbounded list. Beyond it, paging stops."""
MAX_REDIRECTS = 5
DOCKER_HUB_API = "registry-1.docker.io"
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
"""The only digests fetched (cosign writes sha256; anything else is never asked for)."""
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')
_REDIRECTS = (301, 302, 303, 307, 308)
_IPV4_LEGACY = re.compile(r"[0-9a-fA-FxX.]+")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
METADATA_NETWORKS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "169.254.0.0/16",  # link-local: AWS, GCP, Azure IMDS at 169.254.169.254, ECS 169.254.170.2
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # AWS IMDS over IPv6
        "100.100.100.200/32",  # Alibaba Cloud metadata
        "168.63.129.16/32",  # Azure WireServer
    )
)
"""Never asked, whatever the registry or its redirects say."""


class RegistryError(RuntimeError):
    """The registry could not be asked (unreachable, timeout, refused, malformed answer)."""


class NotFound(RegistryError):
    """The registry answered 404 for a manifest or blob."""


class TooSlow(RegistryError):
    """The verification's deadline passed: never turned into a pass, never retried."""


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
            host = re.sub(r"^https?://", "", server).split("/")[0]
            found[normal_registry(host)] = Credentials(user, password)
    return found


def ip_literal(host: str) -> IPAddress | None:
    """The address a URL host spells as an IP literal, in any form the resolver accepts
    (``2130706433``, ``0x7f.1``, ``127.1``, IPv6 with a zone); ``None`` for a name."""
    name = unquote(host).strip("[]")
    try:
        return ipaddress.ip_address(name.partition("%")[0])
    except ValueError:
        pass
    if _IPV4_LEGACY.fullmatch(name):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(name))
        except OSError:
            pass
    return None


ADDRESS_CACHE_SECONDS = 30.0
"""How long a host name's addresses are reused: every registry request is checked (``check_hop``)
and a blocking lookup per request would add up (and escape the verification's deadline)."""
_ADDRESS_CACHE_MAX = 1024
_resolved: dict[str, tuple[float, list[IPAddress]]] = {}


def addresses(host: str) -> list[IPAddress]:
    """The addresses a URL host names: its IP literal, else what the name resolves to (cached
    for ``ADDRESS_CACHE_SECONDS``; empty when it does not resolve: the connection then fails
    too)."""
    literal = ip_literal(host)
    if literal is not None:
        return [literal]
    now = time.monotonic()
    cached = _resolved.get(host)
    if cached is not None and cached[0] > now:
        return cached[1]
    try:
        infos = socket.getaddrinfo(unquote(host), None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    found = [ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    if len(_resolved) >= _ADDRESS_CACHE_MAX:
        _resolved.clear()
    _resolved[host] = (now + ADDRESS_CACHE_SECONDS, found)
    return found


def _unmapped(address: IPAddress) -> IPAddress:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_metadata(address: IPAddress) -> bool:
    """Link-local or a cloud metadata service's address."""
    address = _unmapped(address)
    return any(address in network for network in METADATA_NETWORKS)


def is_internal(address: IPAddress) -> bool:
    """Not a public unicast address: loopback, private, link-local, shared (100.64/10),
    reserved, multicast, unspecified, or a cloud metadata service."""
    address = _unmapped(address)
    return (
        not address.is_global
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or is_metadata(address)
    )


_QUERY = re.compile(r"""(\b[a-z][a-z0-9+.-]*://[^\s?#'"]*)[?#][^\s'"]*""", re.I)


def shown(url: httpx.URL | str) -> str:
    """A URL for a message: scheme, host, port and path only. Registries redirect blob
    downloads to pre-signed storage URLs whose query is a credential (``X-Amz-Signature``,
    Azure's ``sig=``), and a URL may carry ``user:password@``: neither may reach a report."""
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        return str(parsed.copy_with(query=None, fragment=None, userinfo=b""))
    except (httpx.InvalidURL, TypeError, ValueError):  # not parseable: cut at "?", "#", "@"
        text = str(url)
        scheme, sep, rest = text.partition("://")
        rest = re.split(r"[?#]", rest, maxsplit=1)[0]
        return f"{scheme}{sep}{rest.rpartition('@')[2]}"[:200]


def _without_queries(text: str) -> str:
    """``text`` (an HTTP library's message) with the query of every URL in it removed."""
    return _QUERY.sub(lambda m: m.group(1), text)


def _url(text: str, registry: str, what: str) -> httpx.URL:
    try:
        return httpx.URL(text)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise RegistryError(f"{registry}: {what} {shown(text)!r} is not a valid URL") from None


def _registry_url(registry: str) -> httpx.URL:
    return httpx.URL(f"https://{DOCKER_HUB_API if registry == 'docker.io' else registry}")


def _same_host(url: httpx.URL, registry: str) -> bool:
    """Whether ``url`` is on the registry's own host: its very ``host:port``, or the same host
    *name* on another port (a token service beside the registry). An IP literal counts only
    with the registry's port: another port of a loopback or private address is another
    service."""
    own = _registry_url(registry)
    if url.host.lower() != own.host.lower():
        return False
    return url.port == own.port or ip_literal(own.host) is None


def check_realm(realm: str, registry: str, *, plain_http: bool) -> None:
    """Refuse a token realm that would turn the webhook into a proxy into the cluster's network.

    A registry names the token service in its challenge, and the webhook then sends
    credentials there: an https URL (http only for a plain-HTTP registry), either on the
    registry's own host (its ``host:port``, or its host name on another port) or on a host
    whose every address is public. IP literals are read in every form the resolver accepts
    (``2130706433``, ``0xa9fea9fe``, ``127.1``) and names are resolved; loopback, private,
    link-local, shared (100.64/10), reserved, multicast, unspecified and cloud metadata
    addresses are refused (``is_internal``). Applied to the realm and to every redirect hop
    from it. What a name resolves to at connection time can still differ (DNS rebinding):
    egress network policy is the backstop. Compare go-containerregistry's ``validateRealmURL``
    (google/go-containerregistry#2258), which checks IP literals only.
    """
    url = _url(realm, registry, "token realm")
    if url.scheme != "https" and not (url.scheme == "http" and plain_http):
        raise RegistryError(f"{registry}: token realm {shown(url)!r}: only https is allowed")
    if not url.host:
        raise RegistryError(f"{registry}: token realm {shown(url)!r} names no host")
    if _same_host(url, registry):
        return
    internal = [str(a) for a in addresses(url.host) if is_internal(a)]
    if internal:
        raise RegistryError(
            f"{registry}: token realm {shown(url)!r} is a private, loopback, link-local or "
            f"metadata address ({internal[0]})"
        )


def check_hop(
    url: httpx.URL, registry: str, *, plain_http: bool, realm: bool, redirected: bool
) -> None:
    """One request (the first or a redirect hop): https unless the registry is plain HTTP;
    never a link-local or metadata address; a redirect from a registry whose addresses are all
    public must stay on public addresses; for a token realm, ``check_realm`` on every hop."""
    if realm:
        check_realm(str(url), registry, plain_http=plain_http)
        return
    if url.scheme != "https" and not (url.scheme == "http" and plain_http):
        raise RegistryError(f"{registry}: refused {url.scheme} URL {shown(url)!r}: only https")
    found = addresses(url.host)
    metadata = [str(a) for a in found if is_metadata(a)]
    if metadata:
        raise RegistryError(
            f"{registry}: refused {shown(url)!r}: a link-local or metadata address ({metadata[0]})"
        )
    if redirected and not _same_host(url, registry):
        internal = [str(a) for a in found if is_internal(a)]
        if internal and not any(is_internal(a) for a in addresses(_registry_url(registry).host)):
            raise RegistryError(
                f"{registry}: refused redirect to {shown(url)!r}, a private or loopback address "
                f"({internal[0]})"
            )


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
    """One client for every registry (connections and tokens are reused; thread-safe).

    ``timeout`` bounds each network wait (connect, each read); ``budget`` bounds all the
    requests made inside it, bodies included, as one deadline.
    """

    def __init__(
        self,
        *,
        timeout: float = 5.0,
        insecure: frozenset[str] = frozenset(),
        credentials: Mapping[str, Credentials] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)
        self._timeout = timeout
        self._insecure = insecure
        self._credentials = {normal_registry(k): v for k, v in (credentials or {}).items()}
        self._tokens: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._local = threading.local()

    def close(self) -> None:
        self._http.close()

    @contextmanager
    def budget(self, seconds: float) -> Iterator[None]:
        """Every request of this thread inside the block shares one deadline, ``seconds`` from
        now (an enclosing budget, if any, stays in force); past it they raise ``TooSlow``."""
        if getattr(self._local, "deadline", None) is not None:
            yield
            return
        self._local.deadline = self._clock() + seconds
        self._local.budget = seconds
        try:
            yield
        finally:
            self._local.deadline = None

    def _remaining(self, registry: str) -> float:
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is None:
            return self._timeout
        left = deadline - self._clock()
        if left <= 0:
            raise TooSlow(
                f"{registry}: registry too slow: no complete answer within the "
                f"{self._local.budget:g} s allowed for one image"
            )
        return min(left, self._timeout)

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
        for attempt in range(2):
            headers = {"Accept": accept}
            token = self._tokens.get((registry, scope))
            if token:
                headers["Authorization"] = token
            status, body, answer_headers = self._fetch(registry, url, headers, limit)
            if status == 401 and attempt == 0:
                self._authenticate(registry, scope, answer_headers.get("www-authenticate", ""))
                continue
            if status == 401:
                break
            return status, body, answer_headers
        raise RegistryError(f"{registry}: authentication failed for {repository}")

    def _fetch(
        self, registry: str, url: str, headers: Mapping[str, str], limit: int,
        *, realm: bool = False,
    ) -> tuple[int, bytes, httpx.Headers]:  # fmt: skip
        """One GET, its redirects followed and checked hop by hop, its body read within
        ``limit`` decompressed bytes and the budget; every httpx failure a ``RegistryError``."""
        plain_http = registry in self._insecure
        current = _url(url, registry, "URL")
        origin = (current.scheme, current.host, current.port)
        sent = {**headers, "Accept-Encoding": "gzip"}
        try:
            for hop in range(MAX_REDIRECTS + 1):
                check_hop(current, registry, plain_http=plain_http, realm=realm, redirected=hop > 0)
                hop_headers = dict(sent)
                if (current.scheme, current.host, current.port) != origin:
                    hop_headers.pop("Authorization", None)  # credentials stay with the origin
                timeout = self._remaining(registry)
                with self._http.stream(
                    "GET", current, headers=hop_headers, timeout=timeout
                ) as answer:
                    location = answer.headers.get("location")
                    if answer.status_code in _REDIRECTS and location:
                        current = _url(location, registry, "redirect")
                        current = answer.url.join(current)
                        continue
                    body = self._read(registry, answer, limit)
                    return answer.status_code, body, answer.headers
        except httpx.TimeoutException:
            raise RegistryError(f"{registry}: timed out") from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            detail = _without_queries(str(exc))
            raise RegistryError(f"{registry}: {type(exc).__name__}: {detail}") from None
        raise RegistryError(f"{registry}: more than {MAX_REDIRECTS} redirects from {shown(url)}")

    def _read(self, registry: str, answer: httpx.Response, limit: int) -> bytes:
        """The body, decompressed here (gzip or deflate) so that the bound counts decompressed
        bytes chunk by chunk and the deadline is checked between chunks."""
        where = f"{registry}: {shown(answer.url)}"
        declared = answer.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise RegistryError(f"{where}: the answer exceeds {limit} bytes")
        encoding = answer.headers.get("content-encoding", "").strip().lower()
        decoder: Any = None
        if encoding in ("gzip", "x-gzip"):
            decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            decoder = zlib.decompressobj()
        elif encoding not in ("", "identity"):
            raise RegistryError(f"{where}: unsupported Content-Encoding {encoding!r}")
        body = bytearray()
        try:
            for chunk in answer.iter_raw():
                self._remaining(registry)
                data = chunk
                while data:
                    if decoder is None:
                        body += data
                        data = b""
                    else:  # at most one byte past the limit decompressed, however dense
                        body += decoder.decompress(data, limit + 1 - len(body))
                        data = decoder.unconsumed_tail
                    if len(body) > limit:
                        raise RegistryError(f"{where}: the answer exceeds {limit} bytes")
            if decoder is not None:
                body += decoder.flush()
        except zlib.error:
            raise RegistryError(f"{where}: the answer is not valid {encoding}") from None
        if len(body) > limit:
            raise RegistryError(f"{where}: the answer exceeds {limit} bytes")
        return bytes(body)

    def _authenticate(self, registry: str, scope: str, challenge: str) -> None:
        scheme, _, rest = challenge.partition(" ")
        credentials = self._credentials.get(normal_registry(registry))
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
        try:
            url = str(httpx.URL(realm).copy_merge_params(query))
        except (httpx.InvalidURL, ValueError, TypeError):
            raise RegistryError(
                f"{registry}: token realm {shown(realm)!r} is not a valid URL"
            ) from None
        headers = {"Accept": "application/json"}
        if credentials:
            raw = f"{credentials.username}:{credentials.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        status, content, _ = self._fetch(registry, url, headers, MAX_TOKEN_BYTES, realm=True)
        if status != 200:
            raise RegistryError(
                f"{registry}: the token service refused access to {scope} ({status})"
            )
        try:
            body = orjson.loads(content)
        except orjson.JSONDecodeError:
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

    def referrers(
        self, registry: str, repository: str, digest: str,
        keep: Callable[[Mapping[str, Any]], bool] = lambda descriptor: True,
    ) -> Referrers | None:  # fmt: skip
        """The referrers API's descriptors that ``keep`` accepts and whose ``digest`` is a valid
        sha256 digest, across pages, at most ``MAX_REFERRERS`` of them; ``None`` where the
        registry lacks the API: 404, 405 or 400, or a 200 that is not an OCI image index (the
        distribution spec's only answer), so the caller falls back to the referrers tag.

        No ``artifactType`` filter is sent: registries may ignore it (``OCI-Filters-Applied``
        tells) and some list cosign's bundles under the wrong type (see the verifier), so the
        caller filters (``keep``). Pages are followed through ``Link: <…>; rel="next"`` on the
        same registry and repository only, at most ``MAX_REFERRER_PAGES`` of them; only the
        kept descriptors of a page outlive it.
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
            del body
            more = keep_descriptors(index, keep, found)
            del index
            following = next_page(url, headers.get("link", ""), repository)
            if following is None or more:
                return Referrers(tuple(found), truncated=more or following is not None)
            url = following
        raise RegistryError(
            f"{registry}/{repository}: more than {MAX_REFERRER_PAGES} pages of referrers"
        )


@dataclass(frozen=True)
class Referrers:
    descriptors: tuple[dict[str, Any], ...]
    truncated: bool
    """More were listed than ``MAX_REFERRERS``: the rest were not considered."""


def keep_descriptors(
    index: Any, keep: Callable[[Mapping[str, Any]], bool], found: list[dict[str, Any]]
) -> bool:
    """Append to ``found`` the descriptors of an image index that ``keep`` accepts and that
    have a valid sha256 ``digest``, up to ``MAX_REFERRERS`` in ``found``; whether more were
    left over."""
    manifests = index.get("manifests") if isinstance(index, dict) else None
    if not isinstance(manifests, list):
        return False
    for descriptor in manifests:
        if not isinstance(descriptor, dict):
            continue
        digest = descriptor.get("digest")
        if not isinstance(digest, str) or not DIGEST.fullmatch(digest) or not keep(descriptor):
            continue
        if len(found) >= MAX_REFERRERS:
            return True
        found.append(descriptor)
    return False


_LINK_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


def next_page(current: str, link: str, repository: str) -> str | None:
    """The absolute URL of the next referrers page named by a ``Link`` header, ``None`` when
    there is none. A link to another host, scheme or repository, or off the referrers path, is
    refused: the registry must not steer the client (and its token) elsewhere."""
    match = _LINK_NEXT.search(link)
    if match is None:
        return None
    base = httpx.URL(current)
    try:
        target = base.join(match.group(1))
    except (httpx.InvalidURL, ValueError, TypeError):
        raise RegistryError(
            f"{base.host}/{repository}: refused referrers page link {link!r}"
        ) from None
    if (
        (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port)
        or not target.path.startswith(f"/v2/{repository}/referrers/")
        or target == base
    ):
        raise RegistryError(
            f"{base.host}/{repository}: refused referrers page link {shown(link)!r}"
        )
    return str(target)
