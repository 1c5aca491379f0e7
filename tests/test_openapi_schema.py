"""OpenAPI v3 schemas applied to values (a Gatekeeper Constraint's parameters): what Kubernetes
refuses is refused with the path of the value, and where the keywords mean what they mean in
JSON Schema draft 4, the verdict is the one of the ``jsonschema`` library."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from kubeward.policies.openapi_schema import BadSchema, check_schema, mismatches, show

LABELS = {
    "type": "object",
    "properties": {
        "message": {"type": "string"},
        "labels": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"key": {"type": "string"}, "allowedRegex": {"type": "string"}},
                "required": ["key"],
            },
        },
    },
}


def found(schema: dict[str, Any], value: Any, *, preserve: bool = False) -> list[str]:
    check_schema(schema)
    return [f"{show(m.path)}: {m.message}"
            for m in mismatches(schema, value, preserve_unknown=preserve)]  # fmt: skip


@pytest.mark.parametrize(
    ("schema", "value", "expected"),
    [
        (LABELS, {"labels": [{"key": "owner", "allowedRegex": "^a$"}]}, []),
        (LABELS, {"labels": ["team"]},
         ["labels[0]: a string where the schema wants an object"]),
        (LABELS, {"labels": [{"allowedRegex": "x"}]},
         ["labels[0]: the required field 'key' is missing"]),
        (LABELS, {"labels": "team"}, ["labels: a string where the schema wants an array"]),
        (LABELS, {"label": ["team"]},
         ["label: a field the schema does not define (known: message, labels)"]),
        (LABELS, {"message": None}, [
            "message: null where the schema wants a string (it does not say nullable: true)"]),
        ({"type": "string", "nullable": True}, None, []),
        ({"type": "integer"}, True, [": a boolean where the schema wants an integer"]),
        ({"type": "integer"}, 3.0, []),
        ({"type": "integer"}, 3.5, [": a number where the schema wants an integer"]),
        ({"type": "number"}, 3, []),
        ({"x-kubernetes-int-or-string": True}, "50%", []),
        ({"x-kubernetes-int-or-string": True}, 50, []),
        ({"x-kubernetes-int-or-string": True}, [50], [
            ": an array where the schema wants an integer or a string"]),
        ({"type": "object", "x-kubernetes-preserve-unknown-fields": True}, {"a": {"b": 1}}, []),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, {"a": 1, "b": "2"},
         ["b: a string where the schema wants an integer"]),
        ({"type": "string", "enum": ["Audit", "Deny"]}, "deny",
         [": not one of the values the schema allows ('Audit', 'Deny')"]),
        ({"enum": [1]}, True, [": not one of the values the schema allows (1)"]),
        ({"type": "integer", "minimum": 1, "maximum": 10, "exclusiveMaximum": True}, 10,
         [": not below the maximum 10"]),
        ({"type": "string", "pattern": "^[a-z]+$", "maxLength": 3}, "Abcd",
         [": 4 characters, more than the maxLength 3", ": does not match the pattern '^[a-z]+$'"]),
        ({"type": "array", "minItems": 1, "uniqueItems": True}, [],
         [": 0 items, fewer than the minItems 1"]),
        ({"type": "array", "uniqueItems": True}, [{"a": 1}, {"a": 1}],
         [": has repeated items (the schema says uniqueItems)"]),
        ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, 1.5,
         [": matches none of the schema's anyOf"]),
        ({"not": {"type": "string"}}, "a", [": matches the schema's not"]),
    ],
)  # fmt: skip
def test_values_are_checked_with_the_path_of_each_mistake(
    schema: dict[str, Any], value: Any, expected: list[str]
) -> None:
    assert found(schema, value) == expected


def test_a_legacy_schema_keeps_unknown_fields() -> None:
    assert found(LABELS, {"label": ["team"]}, preserve=True) == []
    assert found(LABELS, {"labels": ["team"]}, preserve=True) == [
        "labels[0]: a string where the schema wants an object"]  # fmt: skip


def test_values_are_not_repeated_in_messages() -> None:
    secret = "s3cr3t-value"  # parameters may carry anything: a message never quotes the value
    for schema in ({"type": "integer"}, {"type": "string", "enum": ["a"]},
                   {"type": "string", "maxLength": 2}, {"type": "string", "pattern": "^x$"}):  # fmt: skip
        assert all(secret not in line for line in found(schema, secret))


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"type": "object", "properties": {"labels": {"type": "list"}}},
         ("properties", "labels", "type")),
        ({"type": "array", "items": "string"}, ("items",)),
        ({"type": "array", "items": [{"type": "string"}]}, ("items",)),
        ({"type": "string", "pattern": "(unclosed"}, ("pattern",)),
        ({"required": "key"}, ("required",)),
        ({"anyOf": []}, ("anyOf",)),
        ({"nullable": "yes"}, ("nullable",)),
    ],
)  # fmt: skip
def test_malformed_schemas_are_refused_with_their_path(
    schema: dict[str, Any], where: tuple[str, ...]
) -> None:
    with pytest.raises(BadSchema) as caught:
        check_schema(schema)
    assert caught.value.path == where


DRAFT4_CASES: list[tuple[dict[str, Any], Any]] = [
    (LABELS, {"labels": [{"key": "a"}], "message": "m"}),
    (LABELS, {"labels": [{"key": 1}]}),
    (LABELS, {"labels": [{}]}),
    ({"type": "integer", "minimum": 0, "exclusiveMinimum": True}, 0),
    ({"type": "integer", "minimum": 0, "exclusiveMinimum": True}, 1),
    ({"type": "number", "multipleOf": 0.5}, 1.5),
    ({"type": "number", "multipleOf": 0.5}, 1.2),
    ({"type": "boolean"}, 0),
    ({"type": "string", "minLength": 2}, "a"),
    ({"type": "array", "maxItems": 1, "items": {"type": "string"}}, ["a", 2]),
    ({"type": "object", "minProperties": 1}, {}),
    ({"type": "object", "additionalProperties": False, "properties": {"a": {}}}, {"b": 1}),
    ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1),
    ({"oneOf": [{"type": "integer"}, {"type": "string"}]}, 1),
    ({"allOf": [{"type": "integer"}, {"minimum": 3}]}, 2),
    ({"enum": [[1, 2], {"a": True}]}, {"a": True}),
    ({"enum": [[1, 2], {"a": True}]}, {"a": 1}),
]


@pytest.mark.parametrize(("schema", "value"), DRAFT4_CASES)
def test_verdicts_agree_with_jsonschema_on_draft4_keywords(
    schema: dict[str, Any], value: Any
) -> None:
    expected = jsonschema.Draft4Validator(schema).is_valid(value)
    assert (found(schema, value, preserve=True) == []) == expected
