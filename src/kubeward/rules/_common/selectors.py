"""Kubernetes label selectors (``matchLabels`` and ``matchExpressions``), as the API evaluates
them: all requirements must hold; an empty selector matches everything; a malformed selector
matches nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def selector_matches(selector: Any, labels: Mapping[str, Any]) -> bool:
    """Does ``selector`` (a LabelSelector mapping) select an object with ``labels``?"""
    if selector is None:
        return False
    if not isinstance(selector, dict):
        return False
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, dict):
        return False
    for key, value in match_labels.items():
        if labels.get(key) != value:
            return False
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        return False
    for expression in expressions:
        if not isinstance(expression, dict):
            return False
        key, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        if not isinstance(key, str) or not isinstance(values, list):
            return False
        present = key in labels
        if operator == "In":
            if not present or labels[key] not in values:
                return False
        elif operator == "NotIn":
            if present and labels[key] in values:
                return False
        elif operator == "Exists":
            if not present:
                return False
        elif operator == "DoesNotExist":
            if present:
                return False
        else:
            return False
    return True
