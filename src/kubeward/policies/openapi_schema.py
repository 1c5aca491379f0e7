"""Values checked against an OpenAPI v3 schema the way the Kubernetes API server checks a custom
resource against its CRD's ``openAPIV3Schema`` — here a Gatekeeper Constraint's ``parameters``
against its ConstraintTemplate's ``spec.crd.spec.validation.openAPIV3Schema``.

No runtime dependency validates OpenAPI (``jsonschema`` is only a test dependency, and it speaks
JSON Schema, not OpenAPI's ``nullable`` or Kubernetes' ``x-kubernetes-*`` extensions), so the
keywords are checked here:

- ``type`` (``object``, ``array``, ``string``, ``integer``, ``number``, ``boolean``; an integral
  ``1.0`` is an integer, a boolean is never a number), ``nullable`` (else ``null`` is refused
  where a type is given), ``x-kubernetes-int-or-string``;
- ``properties``, ``required``, ``additionalProperties`` (``false`` or a schema), and unknown
  fields: a field no ``properties`` names is refused unless ``additionalProperties`` or
  ``x-kubernetes-preserve-unknown-fields: true`` allows it (the API server would prune it, and
  ``kubectl apply`` refuses it), or unless the schema is a legacy one (``preserve_unknown``);
- ``items``, ``minItems``, ``maxItems``, ``uniqueItems``, ``minProperties``, ``maxProperties``;
- ``enum``, ``minimum``, ``maximum``, ``exclusiveMinimum``, ``exclusiveMaximum`` (OpenAPI
  v3.0's booleans), ``multipleOf``, ``minLength``, ``maxLength``, ``pattern`` (read with
  Python's ``re``: a pattern it cannot read is an error of the schema);
- ``allOf``, ``anyOf``, ``oneOf``, ``not``.

Not checked: ``format``, ``x-kubernetes-validations`` (CEL rules), ``x-kubernetes-list-type``
and ``-map-type``; ``default`` values are not filled in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]

TYPES = ("object", "array", "string", "integer", "number", "boolean")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf")
_NUMBERS = ("minimum", "maximum", "multipleOf")
_COUNTS = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
_FLAGS = (
    "nullable",
    "uniqueItems",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
)


class BadSchema(ValueError):
    """The schema itself is malformed; ``path`` is where, inside the schema."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__(message)
        self.path = path


@dataclass(frozen=True)
class Mismatch:
    """A value the schema refuses: where in the value, and why (the value is not repeated)."""

    path: Path
    message: str


def check_schema(schema: Any, at: Path = ()) -> None:
    """Raise ``BadSchema`` unless ``schema`` is one this module can apply."""
    if not isinstance(schema, dict):
        raise BadSchema(at, "a schema is a mapping")
    kind = schema.get("type")
    if kind is not None and kind not in TYPES:
        raise BadSchema((*at, "type"), f"type {kind!r}: one of {', '.join(TYPES)}")
    for key in _FLAGS:
        if key in schema and not isinstance(schema[key], bool):
            raise BadSchema((*at, key), f"{key}: true or false")
    for key in _NUMBERS:
        if key in schema and not _is_number(schema[key]):
            raise BadSchema((*at, key), f"{key}: a number")
    if "multipleOf" in schema and schema["multipleOf"] <= 0:
        raise BadSchema((*at, "multipleOf"), "multipleOf: a number above 0")
    for key in _COUNTS:
        if key in schema and not (_is_integer(schema[key]) and schema[key] >= 0):
            raise BadSchema((*at, key), f"{key}: a whole number, 0 or more")
    if "pattern" in schema:
        pattern = schema["pattern"]
        try:
            re.compile(pattern) if isinstance(pattern, str) else None
        except re.error as exc:
            raise BadSchema((*at, "pattern"), f"pattern: kubeward cannot read it ({exc})") from None
        if not isinstance(pattern, str):
            raise BadSchema((*at, "pattern"), "pattern: a regular expression")
    if "enum" in schema and not isinstance(schema["enum"], list):
        raise BadSchema((*at, "enum"), "enum: a list of values")
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise BadSchema((*at, "required"), "required: a list of field names")
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        raise BadSchema((*at, "properties"), "properties: a mapping of field names to schemas")
    for name, sub in properties.items():
        check_schema(sub, (*at, "properties", name))
    additional = schema.get("additionalProperties", True)
    if not isinstance(additional, bool):
        check_schema(additional, (*at, "additionalProperties"))
    if "items" in schema:
        if isinstance(schema["items"], list):
            raise BadSchema((*at, "items"), "items: one schema (a list of schemas is not "
                            "structural, and Kubernetes refuses it)")  # fmt: skip
        check_schema(schema["items"], (*at, "items"))
    for key in _SCHEMA_LISTS:
        if key in schema:
            subs = schema[key]
            if not isinstance(subs, list) or not subs:
                raise BadSchema((*at, key), f"{key}: a list of schemas")
            for index, sub in enumerate(subs):
                check_schema(sub, (*at, key, index))
    if "not" in schema:
        check_schema(schema["not"], (*at, "not"))


def mismatches(schema: Mapping[str, Any], value: Any, *, preserve_unknown: bool) -> list[Mismatch]:
    """What ``schema`` (checked by ``check_schema``) refuses in ``value``, in document order."""
    out: list[Mismatch] = []
    _check(schema, value, (), preserve_unknown, out)
    return out


def show(path: Path) -> str:
    """``labels[0].key``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _check(
    schema: Mapping[str, Any], value: Any, at: Path, preserve: bool, out: list[Mismatch]
) -> None:
    preserve = preserve or schema.get("x-kubernetes-preserve-unknown-fields") is True
    kind = schema.get("type")
    if schema.get("x-kubernetes-int-or-string") is True:
        if value is None and not schema.get("nullable"):
            out.append(Mismatch(at, "null where the schema wants an integer or a string"))
            return
        if value is not None and not (isinstance(value, str) or _is_integer(value)):
            out.append(Mismatch(at, f"{_a(value)} where the schema wants an integer or a string"))
            return
    elif value is None:
        if kind is not None and not schema.get("nullable"):
            out.append(Mismatch(at, f"null where the schema wants {_article(kind)} "
                                    "(it does not say nullable: true)"))  # fmt: skip
        return
    elif kind is not None and not _has_type(value, kind):
        out.append(Mismatch(at, f"{_a(value)} where the schema wants {_article(kind)}"))
        return
    if "enum" in schema and _canonical(value) not in {_canonical(e) for e in schema["enum"]}:
        allowed = ", ".join(repr(e) for e in schema["enum"])
        out.append(Mismatch(at, f"not one of the values the schema allows ({allowed})"))
    if _is_number(value):
        _check_number(schema, value, at, out)
    elif isinstance(value, str):
        _check_string(schema, value, at, out)
    elif isinstance(value, list):
        _check_array(schema, value, at, preserve, out)
    elif isinstance(value, dict):
        _check_object(schema, value, at, preserve, out)
    for sub in schema.get("allOf", ()):
        _check(sub, value, at, True, out)
    # the branches of anyOf, oneOf and not only validate; the fields a value may have are
    # those of the schema around them (Kubernetes' structural schemas)
    if "anyOf" in schema and not any(_fits(s, value) for s in schema["anyOf"]):
        out.append(Mismatch(at, "matches none of the schema's anyOf"))
    if "oneOf" in schema:
        count = sum(_fits(s, value) for s in schema["oneOf"])
        if count != 1:
            out.append(Mismatch(at, f"matches {count} of the schema's oneOf (exactly one, please)"))
    if "not" in schema and _fits(schema["not"], value):
        out.append(Mismatch(at, "matches the schema's not"))


def _fits(schema: Mapping[str, Any], value: Any) -> bool:
    found: list[Mismatch] = []
    _check(schema, value, (), True, found)
    return not found


def _check_number(schema: Mapping[str, Any], value: float, at: Path, out: list[Mismatch]) -> None:
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None:
        if schema.get("exclusiveMinimum") is True and not value > low:
            out.append(Mismatch(at, f"not above the minimum {low}"))
        elif value < low:
            out.append(Mismatch(at, f"below the minimum {low}"))
    if high is not None:
        if schema.get("exclusiveMaximum") is True and not value < high:
            out.append(Mismatch(at, f"not below the maximum {high}"))
        elif value > high:
            out.append(Mismatch(at, f"above the maximum {high}"))
    step = schema.get("multipleOf")
    if step is not None and not math.isclose(value / step, round(value / step)):
        out.append(Mismatch(at, f"not a multiple of {step}"))


def _check_string(schema: Mapping[str, Any], value: str, at: Path, out: list[Mismatch]) -> None:
    _check_count(schema, len(value), at, out, low="minLength", high="maxLength", unit="characters")
    pattern = schema.get("pattern")
    if pattern is not None and re.search(pattern, value) is None:
        out.append(Mismatch(at, f"does not match the pattern {pattern!r}"))


def _check_array(
    schema: Mapping[str, Any], value: list[Any], at: Path, preserve: bool, out: list[Mismatch]
) -> None:
    _check_count(schema, len(value), at, out, low="minItems", high="maxItems", unit="items")
    if schema.get("uniqueItems") is True and len({_canonical(v) for v in value}) < len(value):
        out.append(Mismatch(at, "has repeated items (the schema says uniqueItems)"))
    items = schema.get("items")
    if isinstance(items, dict):
        for index, item in enumerate(value):
            _check(items, item, (*at, index), preserve, out)


def _check_object(
    schema: Mapping[str, Any], value: dict[Any, Any], at: Path, preserve: bool, out: list[Mismatch]
) -> None:
    _check_count(
        schema, len(value), at, out, low="minProperties", high="maxProperties", unit="fields"
    )
    properties: Mapping[str, Any] = schema.get("properties", {})
    additional = schema.get("additionalProperties")
    closed = not preserve and additional is None and (
        "properties" in schema or schema.get("type") == "object")  # fmt: skip
    for key, item in value.items():
        sub = properties.get(key) if isinstance(key, str) else None
        if sub is not None:
            _check(sub, item, (*at, key), preserve, out)
        elif isinstance(additional, dict):
            _check(additional, item, (*at, key), preserve, out)
        elif additional is False or closed:
            known = ", ".join(properties) or "none"
            out.append(Mismatch((*at, key), f"a field the schema does not define (known: {known})"))
    for name in schema.get("required", ()):
        if name not in value:
            out.append(Mismatch(at, f"the required field {name!r} is missing"))


def _check_count(
    schema: Mapping[str, Any], count: int, at: Path, out: list[Mismatch], *, low: str, high: str,
    unit: str,
) -> None:  # fmt: skip
    if low in schema and count < schema[low]:
        out.append(Mismatch(at, f"{count} {unit}, fewer than the {low} {schema[low]}"))
    if high in schema and count > schema[high]:
        out.append(Mismatch(at, f"{count} {unit}, more than the {high} {schema[high]}"))


def _has_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return _is_integer(value)
    if kind == "number":
        return _is_number(value)
    expected = {"object": dict, "array": list, "string": str, "boolean": bool}[kind]
    return isinstance(value, expected)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int) and not isinstance(value, bool)


def _canonical(value: Any) -> Any:
    """A hashable form in which equal JSON values are equal (``true`` is not ``1``)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if _is_number(value):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    if isinstance(value, dict):
        return ("object", frozenset((str(k), _canonical(v)) for k, v in value.items()))
    return ("string", str(value))


_NAMES = {
    type(None): "null",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "an array",
    dict: "an object",
}


def _a(value: Any) -> str:
    return _NAMES.get(type(value), f"a {type(value).__name__}")


def _article(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
