"""Detectors for credentials written in plain text, which never return or print the value.

Two signals, as gitleaks and detect-secrets use them: the *name* (key or variable name that
says password, token, API key, ...) and the *value* (shapes of well-known credentials: cloud
keys, private keys, JWTs, tokens of common services, connection strings with a password).
A name alone is not enough when the value is obviously not a secret (empty, a reference such as
``$(VAR)``, a file path, a boolean, a number, or a name ending in ``_FILE``/``_PATH``/``_URL``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENSITIVE_NAME = re.compile(
    r"(?i)(?:passw(?:or)?d|passphrase|\bpwd\b|_pwd\b|secret|token|api[_-]?key|apikey|"
    r"access[_-]?key|private[_-]?key|credential|client[_-]?secret|auth[_-]?key|"
    r"conn(?:ection)?[_-]?str(?:ing)?|\bdsn\b|signing[_-]?key|encryption[_-]?key|"
    r"session[_-]?key|webhook[_-]?url)"
)
# Names that mention a secret but hold something else (where it is, how it behaves).
_BENIGN_NAME = re.compile(
    r"(?i)(?:_|-|\b)(?:file|path|dir|url|uri|endpoint|name|ref|enabled|disable[d]?|ttl|"
    r"timeout|expiry|expires|length|size|type|mode|header|id|version|count|max|min|rotation|"
    r"period|interval|location|mount|key_?id|kind)$"
)
_BENIGN_VALUE = re.compile(
    r"(?i)^(?:|true|false|yes|no|on|off|null|none|[0-9]+|"
    r"\$\([A-Za-z_][A-Za-z0-9_]*\)|\$\{[^}]*\}|\{\{.*\}\}|"
    r"/[^\s]*|[a-z]+://[^:@\s]*|<[^>]*>|\*+|x+|redacted|changeme-in-vault)$"
)

_VALUE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("an AWS access key ID", r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    ("a private key", r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"),
    ("a JSON Web Token", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ("a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})"),
    ("a GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
    ("a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    ("a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("a Stripe secret key", r"\b(?:sk|rk)_live_[0-9a-zA-Z]{20,}"),
    ("an OpenAI-style API key", r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}"),
    (
        "a connection string with a password",
        r"\b[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]+:[^@/?#\s]{3,}@[^\s]+",
    ),
)
# One pass over the value with every pattern as a named alternative; the group that matched
# names the credential.
_VALUES = re.compile("|".join(f"(?P<p{i}>{rx})" for i, (_, rx) in enumerate(_VALUE_PATTERNS)))
_SHORTEST_CREDENTIAL = 16


@dataclass(frozen=True, slots=True)
class Detection:
    """Why a key/value looks like a credential. Never holds the value."""

    reason: str


def detect_value(value: str) -> Detection | None:
    """A credential recognised by the shape of the value alone."""
    if len(value) < _SHORTEST_CREDENTIAL:
        return None
    match = _VALUES.search(value)
    if match is None or match.lastgroup is None:
        return None
    return Detection(f"the value looks like {_VALUE_PATTERNS[int(match.lastgroup[1:])][0]}")


def sensitive_name(name: str) -> bool:
    return bool(_SENSITIVE_NAME.search(name)) and not _BENIGN_NAME.search(name)


def detect(name: str, value: str) -> Detection | None:
    """Classify a named plain-text value; ``None`` if it does not look like a credential."""
    by_value = detect_value(value)
    if by_value is not None:
        return by_value
    if sensitive_name(name) and not _BENIGN_VALUE.match(value.strip()):
        return Detection(f"the name {name!r} says it holds a credential")
    return None
