"""The Kubernetes CEL libraries of ValidatingAdmissionPolicy (Kubernetes 1.35,
k8s.io/apiserver/pkg/cel/library): lists, regex, url, quantity, ip and cidr.

cel-expr-python checks expressions with declarations and runs them with Python functions, but
it cannot pass an opaque value (a Quantity, an IP) to or from Python. So there are two sets:

- ``checker_*``: declarations with the real opaque types (``kubernetes.Quantity``, ``net.IP``,
  ``net.CIDR``, ``kubernetes.URL``), for the environment that compiles; a misuse
  (``quantity('1').isLessThan(1)``, ``ip('1.2.3.4') == cidr('1.2.3.0/24')``) is a compile
  error, as in the API server;
- ``runtime_extension``: the same functions over tagged maps (``values.py``) with the Python
  implementations, for the environment that evaluates the checked expression.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from cel_expr_python import cel

from kubeward.policies.k8s_cel import lists, net, quantity, reclaim, regex, urls
from kubeward.policies.k8s_cel.values import (
    CIDR,
    IP,
    QUANTITY,
    URL,
    NoSuchOverload,
)

T = cel.Type
QUANTITY_TYPE, URL_TYPE = T.AbstractType(QUANTITY), T.AbstractType(URL)
IP_TYPE, CIDR_TYPE = T.AbstractType(IP), T.AbstractType(CIDR)
COMPARABLE = {"int": T.INT, "uint": T.UINT, "double": T.DOUBLE, "bool": T.BOOL,
              "duration": T.DURATION, "timestamp": T.TIMESTAMP, "string": T.STRING,
              "bytes": T.BYTES}  # fmt: skip
SUMMABLE = {name: COMPARABLE[name] for name in ("int", "uint", "double", "duration")}

# The compiling environment re-declares the standard ``string()`` with the ip and cidr
# overloads (a declaration through ``functions=`` cannot be merged into a standard one).
CHECKER_CONFIG = "stdlib:\n  exclude_functions:\n    - name: string\n"
STANDARD_STRING = {"string": T.STRING, "int": T.INT, "uint": T.UINT, "double": T.DOUBLE,
                   "bytes": T.BYTES, "bool": T.BOOL, "timestamp": T.TIMESTAMP,
                   "duration": T.DURATION}  # fmt: skip


def _decl(name: str, *overloads: tuple[str, Any, list[Any], bool]) -> cel.FunctionDecl:
    standard = {f"{n}_to_string" for n in STANDARD_STRING}  # re-declared, natively implemented
    KUBERNETES_OVERLOADS.update(oid for oid, *_ in overloads if oid not in standard)
    return cel.FunctionDecl(name, [
        cel.Overload(overload_id, result, parameters, is_member=member)
        for overload_id, result, parameters, member in overloads
    ])  # fmt: skip


def checker_functions() -> list[cel.FunctionDecl]:
    """Declarations with opaque types, for ``cel.NewEnv(functions=...)``."""
    q, ip, cidr, url = QUANTITY_TYPE, IP_TYPE, CIDR_TYPE, URL_TYPE
    member, glob = True, False
    lists_ = [
        _decl("isSorted", *[(f"list_{n}_is_sorted_bool", T.BOOL, [T.List(t)], member)
                            for n, t in COMPARABLE.items()]),
        _decl("sum", *[(f"list_{n}_sum_{n}", t, [T.List(t)], member)
                       for n, t in SUMMABLE.items()]),
        _decl("min", *[(f"list_{n}_min_{n}", t, [T.List(t)], member)
                       for n, t in COMPARABLE.items()]),
        _decl("max", *[(f"list_{n}_max_{n}", t, [T.List(t)], member)
                       for n, t in COMPARABLE.items()]),
    ]  # fmt: skip
    regex_ = [
        _decl("find", ("string_find_string", T.STRING, [T.STRING, T.STRING], member)),
        _decl("findAll",
              ("string_find_all_string", T.List(T.STRING), [T.STRING, T.STRING], member),
              ("string_find_all_string_int", T.List(T.STRING), [T.STRING, T.STRING, T.INT],
               member)),
    ]  # fmt: skip
    url_getters = [("getScheme", "url_get_scheme"), ("getHost", "url_get_host"),
                   ("getHostname", "url_get_hostname"), ("getPort", "url_get_port"),
                   ("getEscapedPath", "url_get_escaped_path")]  # fmt: skip
    urls_ = [
        _decl("url", ("string_to_url", url, [T.STRING], glob)),
        _decl("isURL", ("is_url_string", T.BOOL, [T.STRING], glob)),
        *[_decl(name, (oid, T.STRING, [url], member)) for name, oid in url_getters],
        _decl("getQuery", ("url_get_query", T.Map(T.STRING, T.List(T.STRING)), [url], member)),
    ]
    quantity_ = [
        _decl("quantity", ("string_to_quantity", q, [T.STRING], glob)),
        _decl("isQuantity", ("is_quantity_string", T.BOOL, [T.STRING], glob)),
        _decl("sign", ("quantity_sign", T.INT, [q], glob)),  # global in Kubernetes' code
        _decl("isGreaterThan", ("quantity_is_greater_than", T.BOOL, [q, q], member)),
        _decl("isLessThan", ("quantity_is_less_than", T.BOOL, [q, q], member)),
        _decl("compareTo", ("quantity_compare_to", T.INT, [q, q], member)),
        _decl("asApproximateFloat", ("quantity_get_float", T.DOUBLE, [q], member)),
        _decl("asInteger", ("quantity_get_int", T.INT, [q], member)),
        _decl("isInteger", ("quantity_is_integer", T.BOOL, [q], member)),
        _decl("add", ("quantity_add", q, [q, q], member),
              ("quantity_add_int", q, [q, T.INT], member)),
        _decl("sub", ("quantity_sub", q, [q, q], member),
              ("quantity_sub_int", q, [q, T.INT], member)),
    ]  # fmt: skip
    ip_predicates = ["isUnspecified", "isLoopback", "isLinkLocalMulticast",
                     "isLinkLocalUnicast", "isGlobalUnicast"]  # fmt: skip
    net_ = [
        _decl("ip", ("string_to_ip", ip, [T.STRING], glob), ("cidr_ip", ip, [cidr], member)),
        _decl("isIP", ("is_ip", T.BOOL, [T.STRING], glob)),
        _decl("ip.isCanonical", ("ip_is_canonical", T.BOOL, [T.STRING], glob)),
        _decl("family", ("ip_family", T.INT, [ip], member)),
        *[_decl(name, (f"ip_{name}", T.BOOL, [ip], member)) for name in ip_predicates],
        _decl("cidr", ("string_to_cidr", cidr, [T.STRING], glob)),
        _decl("isCIDR", ("is_cidr", T.BOOL, [T.STRING], glob)),
        _decl("containsIP", ("cidr_contains_ip_string", T.BOOL, [cidr, T.STRING], member),
              ("cidr_contains_ip_ip", T.BOOL, [cidr, ip], member)),
        _decl("containsCIDR", ("cidr_contains_cidr_string", T.BOOL, [cidr, T.STRING], member),
              ("cidr_contains_cidr", T.BOOL, [cidr, cidr], member)),
        _decl("masked", ("cidr_masked", cidr, [cidr], member)),
        _decl("prefixLength", ("cidr_prefix_length", T.INT, [cidr], member)),
        _decl("string",
              *[(f"{n}_to_string", T.STRING, [t], glob) for n, t in STANDARD_STRING.items()],
              ("ip_to_string", T.STRING, [ip], glob), ("cidr_to_string", T.STRING, [cidr], glob)),
    ]  # fmt: skip
    return lists_ + regex_ + urls_ + quantity_ + net_


def checker_extension() -> cel.CelExtension:
    """``indexOf``/``lastIndexOf`` on lists, merged into the strings extension's functions of
    the same names (``functions=`` cannot merge). Kubernetes declares ``list(A).indexOf(A)``;
    here the element is ``dyn``, so a mismatched element compiles (and is not found)."""
    return cel.CelExtension("kubernetes.lists.index", [
        _decl("indexOf", ("list_a_index_of_int", T.INT, [T.List(T.DYN), T.DYN], True)),
        _decl("lastIndexOf", ("list_a_last_index_of_int", T.INT, [T.List(T.DYN), T.DYN], True)),
    ])  # fmt: skip


# cel-expr-python 0.1.3 leaks on every call of a Python function from CEL: it never releases
# the argument tuple, the arguments converted into it or the returned object (48 bytes for a
# call with a bool, 112 with a short string, more with lists). kubeward's Kubernetes functions
# are Python functions, so each call leaks unless ``reclaim`` gives the references back (it
# does where its self-test passes); where it cannot, a webhook or a watch evaluates
# expressions that call one in the recycled CEL worker (cel_worker). The overload IDs of the
# checking environment:
KUBERNETES_OVERLOADS: set[str] = set()


def leaking_functions(serialized: bytes) -> tuple[str, ...]:
    """The Kubernetes library overloads a checked expression (``serialize()``) references."""
    if not KUBERNETES_OVERLOADS:
        checker_functions()  # declaring them records their IDs
        checker_extension()
    text = serialized.decode("latin-1")
    return tuple(sorted(
        oid for oid in KUBERNETES_OVERLOADS
        if re.search(rf"(?<![A-Za-z0-9_]){re.escape(oid)}(?![A-Za-z0-9_])", text)
    ))  # fmt: skip


# Run time: what each tagged value means to Python


def _quantity(value: Any, function: str) -> quantity.Quantity:
    try:
        amount = quantity.from_canonical(_text(value, function))
    except (ArithmeticError, ValueError):  # a plain string reached it through dyn
        raise NoSuchOverload(function) from None
    # The canonical text does not say how Kubernetes held the value: an integral value that
    # fits is taken to be an int64 (`1000m` and `1.0` are too here; Kubernetes says no, but
    # the API server canonicalises objects' quantities to `1` before CEL sees them)
    integral = amount == amount.to_integral_value()
    fits = quantity.INT64_MIN <= amount <= quantity.INT64_MAX
    return quantity.Quantity(amount, integral and fits)


def _tag_quantity(parsed: quantity.Quantity) -> str:
    # the AsInt64 flag travels as the *type* of a zero (int or double): CEL's equality finds
    # 0 == 0.0, so it does not change what == says of two quantities
    return quantity.canonical(parsed.amount)


# An IP, a CIDR and a URL travel as their canonical text: a string crosses into Python leaking
# ~110 bytes (a converted map far more), the checker has already typed every use, and `==`
# and `string()` on the canonical text are Kubernetes' own.


def _text(value: Any, function: str) -> str:
    if not isinstance(value, str):
        raise NoSuchOverload(function)
    return value


def _ip(value: Any, function: str) -> net.Address:
    return net.parse_ip(_text(value, function))


def _cidr(value: Any, function: str) -> tuple[net.Address, int]:
    return net.parse_cidr(_text(value, function))


def _url(value: Any, function: str) -> urls.ParsedURL:
    return urls.parse(_text(value, function))


def _is_quantity(text: str) -> bool:
    try:
        quantity.parse(text)
    except quantity.QuantityError:
        return False
    return True


def _is(parser: Callable[[str], Any]) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            parser(text)
        except ValueError:
            return False
        return True

    return check


def _to_int(value: Any) -> Any:
    integer = quantity.as_integer(_quantity(value, "asInteger"))
    if integer is None:
        raise ValueError("cannot convert value to integer")
    return integer


def _plus(sign: int) -> Callable[[Any, Any], str]:
    def arithmetic(left: Any, right: Any) -> str:
        name = "add" if sign > 0 else "sub"
        amount = _quantity(left, name)
        other = (quantity.parse(str(right)) if isinstance(right, int)
                 else _quantity(right, name))  # fmt: skip
        combined = quantity.add(amount, other) if sign > 0 else quantity.subtract(amount, other)
        return _tag_quantity(combined)

    return arithmetic


def _compare(left: Any, right: Any, name: str) -> int:
    return quantity.compare(_quantity(left, name).amount, _quantity(right, name).amount)


def _as_cidr(value: Any, function: str) -> tuple[net.Address, int]:
    return net.parse_cidr(value) if isinstance(value, str) else _cidr(value, function)


def _as_ip(value: Any, function: str) -> net.Address:
    return net.parse_ip(value) if isinstance(value, str) else _ip(value, function)


def _ip_member(value: Any) -> str:
    address, _ = _cidr(value, "ip")
    return net.ip_text(address)


def _masked(value: Any) -> str:
    address, bits = _cidr(value, "masked")
    return net.cidr_text(net.masked(address, bits), bits)


def _ip_predicate(check: Callable[[net.Address], bool], name: str) -> Callable[[Any], bool]:
    return lambda value: check(_ip(value, name))


MAP, LIST, S = T.Map(T.STRING, T.DYN), T.List(T.DYN), T.STRING
# (name, member, parameters, result, implementation)
RUNTIME: list[tuple[str, bool, list[Any], Any, Callable[..., Any]]] = [
    ("isSorted", True, [LIST], T.BOOL, lists.is_sorted),
    ("sum", True, [LIST], T.DYN, lists.total),
    ("min", True, [LIST], T.DYN, lists.minimum),
    ("max", True, [LIST], T.DYN, lists.maximum),
    ("indexOf", True, [LIST, T.DYN], T.INT, lists.index_of),
    ("lastIndexOf", True, [LIST, T.DYN], T.INT, lists.last_index_of),
    ("find", True, [S, S], S, regex.find),
    ("findAll", True, [S, S], T.List(S), regex.find_all),
    ("findAll", True, [S, S, T.INT], T.List(S), regex.find_all),
    ("url", False, [S], S, lambda text: urls.to_string(urls.to_url(text))),
    ("isURL", False, [S], T.BOOL, urls.is_url),
    ("getScheme", True, [S], S, lambda u: _url(u, "getScheme").scheme),
    ("getHost", True, [S], S, lambda u: _url(u, "getHost").host),
    ("getHostname", True, [S], S, lambda u: urls.hostname(_url(u, "getHostname"))),
    ("getPort", True, [S], S, lambda u: urls.port(_url(u, "getPort"))),
    ("getEscapedPath", True, [S], S, lambda u: urls.escaped_path(_url(u, "getEscapedPath"))),
    ("getQuery", True, [S], MAP, lambda u: urls.query(_url(u, "getQuery"))),
    ("quantity", False, [S], S, lambda text: _tag_quantity(quantity.parse(text))),
    ("isQuantity", False, [S], T.BOOL, _is_quantity),
    ("sign", False, [S], T.INT, lambda q: quantity.sign(_quantity(q, "sign").amount)),
    ("isGreaterThan", True, [S, S], T.BOOL, lambda a, b: _compare(a, b, "isGreaterThan") == 1),
    ("isLessThan", True, [S, S], T.BOOL, lambda a, b: _compare(a, b, "isLessThan") == -1),
    ("compareTo", True, [S, S], T.INT, lambda a, b: _compare(a, b, "compareTo")),
    ("asApproximateFloat", True, [S], T.DOUBLE,
     lambda q: quantity.as_approximate_float(_quantity(q, "asApproximateFloat").amount)),
    ("asInteger", True, [S], T.INT, _to_int),
    ("isInteger", True, [S], T.BOOL,
     lambda q: quantity.as_integer(_quantity(q, "isInteger")) is not None),
    ("add", True, [S, S], S, _plus(1)),
    ("add", True, [S, T.INT], S, _plus(1)),
    ("sub", True, [S, S], S, _plus(-1)),
    ("sub", True, [S, T.INT], S, _plus(-1)),
    ("ip", False, [S], S, lambda text: net.ip_text(net.parse_ip(text))),
    ("ip", True, [S], S, _ip_member),
    ("isIP", False, [S], T.BOOL, _is(net.parse_ip)),
    ("ip.isCanonical", False, [S], T.BOOL, lambda text: net.ip_text(net.parse_ip(text)) == text),
    ("family", True, [S], T.INT, lambda v: net.family(_ip(v, "family"))),
    ("isUnspecified", True, [S], T.BOOL, _ip_predicate(net.is_unspecified, "isUnspecified")),
    ("isLoopback", True, [S], T.BOOL, _ip_predicate(net.is_loopback, "isLoopback")),
    ("isLinkLocalMulticast", True, [S], T.BOOL,
     _ip_predicate(net.is_link_local_multicast, "isLinkLocalMulticast")),
    ("isLinkLocalUnicast", True, [S], T.BOOL,
     _ip_predicate(net.is_link_local_unicast, "isLinkLocalUnicast")),
    ("isGlobalUnicast", True, [S], T.BOOL,
     _ip_predicate(net.is_global_unicast, "isGlobalUnicast")),
    ("cidr", False, [S], S, lambda text: net.cidr_text(*net.parse_cidr(text))),
    ("isCIDR", False, [S], T.BOOL, _is(net.parse_cidr)),
    ("containsIP", True, [S, S], T.BOOL,
     lambda c, i: net.contains_ip(*_cidr(c, "containsIP"), _ip(i, "containsIP"))),
    ("containsCIDR", True, [S, S], T.BOOL,
     lambda c, o: net.contains_cidr(*_cidr(c, "containsCIDR"), *_cidr(o, "containsCIDR"))),
    ("masked", True, [S], S, _masked),
    ("prefixLength", True, [S], T.INT, lambda c: _cidr(c, "prefixLength")[1]),
]  # fmt: skip


def runtime_extension() -> cel.CelExtension:
    """The implementations, for the environment that evaluates checked expressions."""
    by_name: dict[str, list[cel.Overload]] = {}
    for name, member, parameters, result, implementation in RUNTIME:
        overloads = by_name.setdefault(name, [])
        overload_id = f"kubeward_{name}_{len(overloads)}"
        overloads.append(cel.Overload(overload_id, result, parameters, is_member=member,
                                      impl=reclaim.reclaiming(implementation)))  # fmt: skip
    return cel.CelExtension("kubernetes", [cel.FunctionDecl(n, o) for n, o in by_name.items()])
