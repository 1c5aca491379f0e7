"""The Kubernetes ip and cidr libraries (library/ip.go, library/cidr.go): Go's ``netip``
parsing rules, with Kubernetes' refusals of zones and IPv4-mapped IPv6 addresses."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@lru_cache(maxsize=4096)  # the same few texts come back object after object
def parse_ip(raw: str) -> Address:
    """An address as ``netip.ParseAddr`` reads it, or ValueError with Kubernetes' message."""
    # netip picks the family by the first '.', ':' or '%' in the text
    kind = next((c for c in raw if c in ".:%"), None)
    try:
        if kind == ".":
            address: Address = ipaddress.IPv4Address(raw)
        elif kind == ":":
            plain, percent, zone = raw.partition("%")
            if percent and not zone:
                raise ValueError("zone must be a non-empty string")
            address = ipaddress.IPv6Address(plain)
            if percent:
                raise ValueError(f"IP address {raw!r} with zone value is not allowed")
        else:
            raise ValueError("missing IPv6 address" if kind == "%" else "unable to parse IP")
    except ipaddress.AddressValueError as exc:
        raise ValueError(
            f"IP Address {raw!r} parse error during conversion from string: {exc}"
        ) from None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        raise ValueError(f"IPv4-mapped IPv6 address {raw!r} is not allowed")
    return address


@lru_cache(maxsize=4096)
def parse_cidr(raw: str) -> tuple[Address, int]:
    """A prefix as ``netip.ParsePrefix`` reads it (host bits kept), or ValueError."""
    address_text, slash, bits_text = raw.rpartition("/")
    if not slash:
        raise ValueError(f"network address parse error: {raw!r}: no '/'")
    address = parse_ip(address_text)
    # no sign, no leading zero, ASCII digits only (Python's int() would take more)
    if (
        not bits_text.isascii()
        or not bits_text.isdigit()
        or (len(bits_text) > 1 and bits_text[0] == "0")
    ):
        raise ValueError(f"network address parse error: {raw!r}: bad bits after slash")
    bits = int(bits_text)
    if bits > address.max_prefixlen:
        raise ValueError(f"network address parse error: {raw!r}: prefix length out of range")
    return address, bits


def ip_text(address: Address) -> str:
    return str(address)  # RFC 5952, as netip's Addr.String()


def cidr_text(address: Address, bits: int) -> str:
    return f"{address}/{bits}"


def masked(address: Address, bits: int) -> Address:
    host_bits = address.max_prefixlen - bits
    return type(address)(int(address) >> host_bits << host_bits)


def contains_ip(address: Address, bits: int, other: Address) -> bool:
    if address.version != other.version:
        return False
    return masked(address, bits) == masked(other, bits)


def contains_cidr(address: Address, bits: int, other: Address, other_bits: int) -> bool:
    if address.version != other.version:
        return False
    return masked(address, bits) == masked(other, bits) and bits <= other_bits


def family(address: Address) -> int:
    return address.version


def is_unspecified(address: Address) -> bool:
    return int(address) == 0


def is_loopback(address: Address) -> bool:
    if address.version == 4:
        return address.packed[0] == 127
    return int(address) == 1


def is_multicast(address: Address) -> bool:
    if address.version == 4:
        return address.packed[0] & 0xF0 == 0xE0
    return address.packed[0] == 0xFF


def is_link_local_multicast(address: Address) -> bool:
    packed = address.packed
    if address.version == 4:
        return packed[:3] == b"\xe0\x00\x00"
    return (packed[0] << 8 | packed[1]) & 0xFF0F == 0xFF02


def is_link_local_unicast(address: Address) -> bool:
    packed = address.packed
    if address.version == 4:
        return packed[:2] == b"\xa9\xfe"
    return (packed[0] << 8 | packed[1]) & 0xFFC0 == 0xFE80


def is_global_unicast(address: Address) -> bool:
    if address.version == 4 and int(address) in (0, 0xFFFFFFFF):
        return False
    return not (
        is_unspecified(address)
        or is_loopback(address)
        or is_multicast(address)
        or is_link_local_unicast(address)
    )
