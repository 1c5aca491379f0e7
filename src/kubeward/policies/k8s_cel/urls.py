"""The Kubernetes url library (library/urls.go) on a port of the parts of Go's ``net/url``
it uses: ``url()`` accepts what both ``url.ParseRequestURI`` and ``url.Parse`` accept, and the
getters read ``url.Parse``'s result. Python's urllib splits URLs differently, hence the port.
"""

from __future__ import annotations

import ipaddress
import string
from dataclasses import dataclass
from functools import lru_cache

HEX = frozenset(string.hexdigits)
ALPHANUMERIC = frozenset(string.ascii_letters + string.digits)
USERINFO_CHARS = ALPHANUMERIC | frozenset("-._:~!$&'()*+,;=%@")
HOST_CHARS = frozenset("!$&'()*+,;=:[]<>\"")
SUB_DELIMS = frozenset("!$&'()*+,;=:@[]%")  # left alone in an already escaped path


class URLError(ValueError):
    pass


@dataclass
class ParsedURL:
    scheme: str = ""
    opaque: str = ""
    user: tuple[str, str | None] | None = None
    host: str = ""
    path: str = ""
    raw_path: str = ""
    omit_host: bool = False
    force_query: bool = False
    raw_query: str = ""
    fragment: str = ""
    raw_fragment: str = ""


def _should_escape(byte: int, mode: str) -> bool:
    c = chr(byte)
    if c in ALPHANUMERIC:
        return False
    if mode in ("host", "zone") and c in HOST_CHARS:
        return False
    if c in "-_.~":
        return False
    if c in "$&+,/:;=?@":
        if mode == "path":
            return c == "?"
        if mode == "userinfo":
            return c in "@/?:"
        if mode == "query":
            return True
        if mode == "fragment":
            return False
    return not (mode == "fragment" and c in "!()*")


def _unescape(text: str, mode: str) -> str:
    raw = text.encode()
    out = bytearray()
    i = 0
    while i < len(raw):
        byte = raw[i]
        if byte == 0x25:  # %
            pair = raw[i + 1 : i + 3].decode("ascii", "replace")
            if len(pair) < 2 or not set(pair) <= HEX:
                raise URLError(f"invalid URL escape {raw[i : i + 3].decode(errors='replace')!r}")
            value = int(pair, 16)
            if mode == "host" and value < 0x80 and pair != "25":
                raise URLError(f"invalid URL escape %{pair}")
            if mode == "zone" and pair != "25" and value != 0x20 and _should_escape(value, "host"):
                raise URLError(f"invalid URL escape %{pair}")
            out.append(value)
            i += 3
            continue
        if mode in ("host", "zone") and byte < 0x80 and _should_escape(byte, mode):
            raise URLError(f"invalid character {chr(byte)!r} in host name")
        out.append(0x20 if byte == 0x2B and mode == "query" else byte)  # '+' in a query
        i += 1
    return out.decode("utf-8", "surrogateescape")


def _escape(text: str, mode: str) -> str:
    return "".join(
        ("+" if byte == 0x20 and mode == "query" else f"%{byte:02X}")
        if _should_escape(byte, mode)
        else chr(byte)
        for byte in text.encode("utf-8", "surrogateescape")
    )


def _valid_port(port: str) -> bool:
    return port == "" or (port[0] == ":" and all(c in string.digits for c in port[1:]))


def _parse_host(host: str) -> str:
    if host.startswith("["):
        close = host.rfind("]")
        if close < 0:
            raise URLError("missing ']' in host")
        if not _valid_port(host[close + 1 :]):
            raise URLError(f"invalid port {host[close + 1 :]!r} after host")
        zone = host.find("%25", 0, close)
        literal = host[1 : zone if zone >= 0 else close]
        try:  # only an IPv6 address between brackets (Go 1.25 checks it; IPv4-mapped is fine)
            ipaddress.IPv6Address(_unescape(literal, "host"))
        except ValueError:
            raise URLError(f"invalid IP-literal {literal!r}") from None
        if zone >= 0:
            return (_unescape(host[:zone], "host") + _unescape(host[zone:close], "zone")
                    + _unescape(host[close:], "host"))  # fmt: skip
    elif (colon := host.rfind(":")) >= 0 and not _valid_port(host[colon:]):
        raise URLError(f"invalid port {host[colon:]!r} after host")
    return _unescape(host, "host")


def _parse_authority(url: ParsedURL, authority: str) -> None:
    at = authority.rfind("@")
    url.host = _parse_host(authority[at + 1 :])
    if at < 0:
        return
    userinfo = authority[:at]
    if not set(userinfo) <= USERINFO_CHARS:
        raise URLError("net/url: invalid userinfo")
    name, colon, password = userinfo.partition(":")
    url.user = (_unescape(name, "userinfo"),
                _unescape(password, "userinfo") if colon else None)  # fmt: skip


def _scheme(raw: str) -> tuple[str, str]:
    for i, c in enumerate(raw):
        if c in string.ascii_letters:
            continue
        if c in string.digits + "+-.":
            if i == 0:
                return "", raw
            continue
        if c == ":":
            if i == 0:
                raise URLError("missing protocol scheme")
            return raw[:i], raw[i + 1 :]
        return "", raw
    return "", raw


def _parse(raw: str, via_request: bool) -> ParsedURL:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise URLError("net/url: invalid control character in URL")
    if raw == "" and via_request:
        raise URLError("empty url")
    url = ParsedURL()
    if raw == "*":
        url.path = "*"
        return url
    scheme, rest = _scheme(raw)
    url.scheme = scheme.lower()
    if rest.endswith("?") and rest.count("?") == 1:
        url.force_query, rest = True, rest[:-1]
    else:
        rest, _, url.raw_query = rest.partition("?")
    if not rest.startswith("/"):
        if url.scheme:
            url.opaque = rest  # a rootless path
            return url
        if via_request:
            raise URLError("invalid URI for request")
        if ":" in rest.partition("/")[0]:
            raise URLError("first path segment in URL cannot contain colon")
    if (url.scheme or (not via_request and not rest.startswith("///"))) and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        _parse_authority(url, authority)
        rest = slash + path
    elif url.scheme and rest.startswith("/"):
        url.omit_host = True
    url.path = _unescape(rest, "path")
    url.raw_path = "" if _escape(url.path, "path") == rest else rest
    return url


@lru_cache(maxsize=1024)  # read-only results; the same texts come back
def parse_request_uri(raw: str) -> ParsedURL:
    return _parse(raw, via_request=True)


@lru_cache(maxsize=1024)
def parse(raw: str) -> ParsedURL:
    without_fragment, hash_sign, fragment = raw.partition("#")
    url = _parse(without_fragment, via_request=False)
    if hash_sign:
        url.fragment = _unescape(fragment, "fragment")
        url.raw_fragment = "" if _escape(url.fragment, "fragment") == fragment else fragment
    return url


def to_url(raw: str) -> ParsedURL:
    """``url()``: the request-URI check first (absolute URI or absolute path), then Parse."""
    try:
        parse_request_uri(raw)
        return parse(raw)
    except URLError as exc:
        raise URLError(f"URL parse error during conversion from string: {exc}") from None


def is_url(raw: str) -> bool:
    try:
        parse_request_uri(raw)
    except URLError:
        return False
    return True


def _valid_encoded(text: str, mode: str) -> bool:
    return all(
        chr(byte) in SUB_DELIMS or not _should_escape(byte, mode)
        for byte in text.encode("utf-8", "surrogateescape")
    )


def escaped_path(url: ParsedURL) -> str:
    if url.raw_path and _valid_encoded(url.raw_path, "path"):
        try:
            if _unescape(url.raw_path, "path") == url.path:
                return url.raw_path
        except URLError:
            pass
    if url.path == "*":
        return "*"
    return _escape(url.path, "path")


def _escaped_fragment(url: ParsedURL) -> str:
    if url.raw_fragment and _valid_encoded(url.raw_fragment, "fragment"):
        try:
            if _unescape(url.raw_fragment, "fragment") == url.fragment:
                return url.raw_fragment
        except URLError:
            pass
    return _escape(url.fragment, "fragment")


def to_string(url: ParsedURL) -> str:
    """Go's ``URL.String()``: what Kubernetes compares for ``==``."""
    out = f"{url.scheme}:" if url.scheme else ""
    if url.opaque:
        out += url.opaque
    else:
        if (url.scheme or url.host or url.user) and not (
            url.omit_host and not url.host and not url.user
        ):
            if url.host or url.path or url.user:
                out += "//"
            if url.user:
                name, password = url.user
                out += _escape(name, "userinfo")
                out += "" if password is None else ":" + _escape(password, "userinfo")
                out += "@"
            out += _escape(url.host, "host")
        path = escaped_path(url)
        if path and path[0] != "/" and url.host:
            out += "/"
        if not out and ":" in path.partition("/")[0]:
            out += "./"
        out += path
    if url.force_query or url.raw_query:
        out += "?" + url.raw_query
    if url.fragment:
        out += "#" + _escaped_fragment(url)
    return out


def _split_host_port(host_port: str) -> tuple[str, str]:
    host, port = host_port, ""
    colon = host.rfind(":")
    if colon >= 0 and _valid_port(host[colon:]):
        host, port = host[:colon], host[colon + 1 :]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


def hostname(url: ParsedURL) -> str:
    return _split_host_port(url.host)[0]


def port(url: ParsedURL) -> str:
    return _split_host_port(url.host)[1]


def query(url: ParsedURL) -> dict[str, list[str]]:
    """Go's ``URL.Query()``: pairs that do not decode (or hold ';') are dropped."""
    values: dict[str, list[str]] = {}
    for pair in url.raw_query.split("&"):
        if not pair or ";" in pair:
            continue
        key, _, value = pair.partition("=")
        try:
            key, value = _unescape(key, "query"), _unescape(value, "query")
        except URLError:
            continue
        values.setdefault(key, []).append(value)
    return values
