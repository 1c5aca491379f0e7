"""Detectors for credentials written in plain text, which never return or print the value.

Two signals, as gitleaks and detect-secrets use them:

- the *value*: shapes of well-known credentials (cloud keys, private keys and private JWKs,
  JWTs, tokens of common services, connection strings and URLs with a password, HTTP
  ``Authorization`` headers).
  A shape match is reported whatever the name, so documentation examples such as
  ``AKIAIOSFODNN7EXAMPLE`` are reported too: they cannot be told apart from real keys.
- the *name* of the key, variable, annotation or flag. Names fall into classes:

  * **password** (``password``, ``passwd``, ``pwd``, ``pass``, ``passphrase``): any value that
    is not obviously benign is a credential, weak ones (``admin``) included;
  * **strong** (``token``, ``api_key``, ``access_key``, ``private_key``, ``client_secret``,
    ``secret_key``, ``dsn``, connection strings, ...): the same;
  * **secret-ish** (``secret``, ``tls-secret``, ``credentials``): the same, except where such
    names usually *name* a Secret object (annotations, command-line flags): there a value shaped
    like an object reference (``ingress-tls``, ``ns/name``, ``secret/data/app``) is benign;
  * **weak** (``key``, ``auth``, ``salt``, ``hmac``, ``jwt``): only a random-looking value counts
    (16+ characters, not a word, a UUID or a host name, Shannon entropy >= 3.5 bits per
    character, or >= 3.0 for hex: gitleaks' and detect-secrets' thresholds).

  A weak name with base64 of ``user:password`` (a docker config's ``auth``, npm's ``_auth``) is
  judged by the password, whatever its entropy.

  A name that ends in a qualifier (``_FILE``, ``_PATH``, ``_URL``, ``_NAME``, ``_TTL``, ``_ID``,
  ``_TYPE``, ``_PROVIDER``, ``_FINGERPRINT``, ``_ALIAS``, ``_CHECKSUM``, ...) describes a
  credential without holding it, and public keys are not secrets. A name alone is never enough
  when the value is obviously not a secret: empty, a boolean, a number or a duration, a
  reference (``$(VAR)``, ``${VAR}``, ``$VAR``, ``{{ template }}``, GitHub Actions'
  ``${{ secrets.X }}``, ``#{X}#`` replace tokens, ``__X__``, Datadog's ``%%env_VAR%%``,
  ``vault:...``, a secret-manager ARN, code that reads it such as ``os.environ['X']``; a
  ``${VAR:default}`` is judged by its default), an encrypted value (jasypt's ``ENC(...)``,
  SOPS' ``ENC[AES256_GCM,...]``), a digest (``sha256:<hex>``), a file path (none of whose parts
  looks generated), a URL without credentials, or a placeholder (``changeme``, ``<password>``,
  ``REPLACE_ME``, ``xxx``). A ``;``-separated list of settings (``Server=db;Database=app``) under
  a name other than a password name is judged by its settings (``Password=``, ``AccountKey=``).

Text values (files in ConfigMaps, scripts, JSON in annotations) are also scanned for
assignments: ``KEY=value`` (``.env``, ``.properties``, ``.ini``, shell, ``-Dprop=value``,
query strings, ``;``-separated connection strings), ``key: value`` lines (YAML),
``"key": "value"`` pairs (JSON), ``<key>value</key>`` elements (XML) and lines of exactly two
words, ``name value`` (fluentd, Fluent Bit, ``.properties``; password and strong names only, and
an unquoted value must not be a plain word). Values that look like base64 (16+ characters) are
decoded, and the decoded text is scanned when it is UTF-8 text.

Every function returns a ``Detection`` whose reason names the key and the kind of credential,
never the value. Detection is cheap: regexes are compiled once, each value pattern runs only
when one of its literal anchors occurs, and assignment patterns only on lines that contain a
credential keyword.
"""

from __future__ import annotations

import base64
import binascii
import enum
import functools
import math
import re
import shlex
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Detection:
    """Why a key/value looks like a credential. Never holds the value."""

    reason: str


# --------------------------------------------------------------------------------------------
# Value shapes
# --------------------------------------------------------------------------------------------

# (description, anchors, regex): the regex runs only when one of its anchors (lowercase literals)
# occurs in the lowercased text, which one pass over the text finds for all patterns at once.
_VALUE_PATTERNS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "an AWS access key ID",
        ("a3t", "akia", "asia", "abia", "acca"),
        r"\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b",
    ),
    ("a private key", ("private key",), r"-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----"),
    ("a PuTTY private key", ("putty-user-key-file",), r"PuTTY-User-Key-File-\d"),
    (
        "a private JSON Web Key",
        ('"kty"',),
        # In a JWK ("kty"), "d" is the private exponent (RSA) or scalar (EC, OKP) and "k" the
        # key of a symmetric ("oct") key; public JWKs (n/e, x/y) have neither.
        r'"(?:d|k)"\s*:\s*"[A-Za-z0-9_-]{16,}"',
    ),
    (
        "a JSON Web Token",
        ("eyj",),
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ),
    (
        "a GitHub token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,})",
    ),
    ("a GitLab token", ("glpat-",), r"\bglpat-[A-Za-z0-9_-]{20,}"),
    (
        "a Slack token",
        ("xox", "xapp-"),
        # bot/user/legacy tokens, refresh tokens (xoxe-) and app-level tokens (xapp-1-A...-...)
        r"\b(?:xox[abposre]-[A-Za-z0-9-]{10,}|xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+)",
    ),
    (
        "a Slack webhook URL",
        ("hooks.slack.com",),
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/+-]{20,}",
    ),
    (
        "a Discord webhook URL",
        ("/api/webhooks/",),
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_-]{20,}",
    ),
    ("a Google API key", ("aiza",), r"\bAIza[0-9A-Za-z_-]{35}\b"),
    (
        "a Stripe secret key",
        ("_live_", "_test_", "_prod_"),
        # test-mode keys too (as gitleaks): they read and write the account's test data
        r"\b(?:sk|rk)_(?:live|test|prod)_[0-9a-zA-Z]{20,}",
    ),
    ("an OpenAI-style API key", ("sk-",), r"\bsk-(?:proj-)?[A-Za-z0-9_-]{32,}"),
    ("an npm token", ("npm_",), r"\bnpm_[A-Za-z0-9]{36}\b"),
    (
        "an HTTP Authorization header with a credential",
        ("authorization",),
        # "Authorization: Bearer x" (curl, HTTP), "Authorization "Bearer x"" (nginx); the
        # credential has a digit, or a capital letter or "+/=" after its first character
        # (base64 of "user:pass" may have no digit), which keeps prose ("authorization basic
        # authentication", "Basic Authentication") out.
        r"(?i)\bauthorization[\"']?(?:\s*:\s*|\s+)[\"']?(?:bearer|basic)\s+(?![$<{%])"
        r"(?-i:(?=[A-Za-z._~+/=-]*\d|.[a-z._~-]*[A-Z+/=]))[A-Za-z0-9._~+/=-]{8,}",
    ),
    (
        "a connection string with a password",
        ("://",),
        # user:password@host, where the password is not a reference or a mask; the user may
        # be empty (redis://:password@host, Redis' own URI form).
        r"\b[A-Za-z][A-Za-z0-9+.-]*://[^:/?#@\s]*:(?![$<{%*])[^@/?#\s]{3,}@[^\s]+",
    ),
    (
        "a connection string with a password",
        ("password", "pwd"),
        # ADO.NET/JDBC/ODBC style: Server=...;Password=...; (a ';' on either side).
        r"(?i)(?:;[ \t]*(?:password|pwd)[ \t]*=[ \t]*(?![ \t;$<{%'\"])[^;\n]{3,}"
        r"|(?:^|;)[ \t]*(?:password|pwd)[ \t]*=[ \t]*(?![ \t;$<{%'\"])[^;\n]{3,};)",
    ),
    ("a .netrc entry with a password", ("machine",), r"\bmachine\s+\S+\s.*?\bpassword\s+\S"),
    (
        "a Redis password directive",
        ("requirepass", "masterauth"),
        r"(?m)^[ \t]*(?:requirepass|masterauth)[ \t]+(?![$<{]|\"\"|'')\S",
    ),
)
_VALUES: tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...] = tuple(
    (description, literals, re.compile(rx)) for description, literals, rx in _VALUE_PATTERNS
)


def _trie_regex(words: Sequence[str]) -> str:
    """An alternation of ``words`` factored by prefix (``a(?:kia|sia)``): one branch per char."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + build(sub) for char, sub in sorted(node.items()) if char]
        if not branches:
            return ""
        optional = "" in node
        body = branches[0] if len(branches) == 1 and not optional else f"(?:{'|'.join(branches)})"
        return body + ("?" if optional else "")

    return build(trie)


# Anchor → the patterns it enables; one regex (a prefix trie) finds every anchor in one pass.
_PATTERNS_OF: dict[str, tuple[int, ...]] = {
    literal: tuple(i for i, (_, lits, _) in enumerate(_VALUE_PATTERNS) if literal in lits)
    for _, lits, _ in _VALUE_PATTERNS
    for literal in lits
}
_ANCHORS = re.compile(_trie_regex(sorted(_PATTERNS_OF)))
_LONG_TEXT = 2048
_SHORTEST_CREDENTIAL = 16


def _shape(text: str, lower: str | None = None) -> tuple[str, bool] | None:
    """The first known credential shape in ``text``: (description, whether it is all of it)."""
    if len(text) < _SHORTEST_CREDENTIAL:
        return None
    if lower is None:
        lower = text.lower()
    if len(lower) > _LONG_TEXT:  # substring search beats a regex pass on long texts
        anchors = [anchor for anchor in _PATTERNS_OF if anchor in lower]
    else:
        anchors = _ANCHORS.findall(lower)
    if not anchors:
        return None
    for index in sorted({i for anchor in anchors for i in _PATTERNS_OF[anchor]}):
        description, _, pattern = _VALUES[index]
        match = pattern.search(text)
        if match is not None:
            return description, len(match.group()) >= len(text.strip())
    return None


def _shape_reason(found: tuple[str, bool]) -> str:
    description, whole = found
    return f"the value {'looks like' if whole else 'contains'} {description}"


def detect_value(value: str) -> Detection | None:
    """A credential recognised by the shape of the value alone."""
    found = _shape(value)
    return Detection(_shape_reason(found)) if found is not None else None


# --------------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------------


class NameClass(enum.Enum):
    """How strongly a name says that its value is a credential."""

    PASSWORD = enum.auto()
    STRONG = enum.auto()
    SECRETISH = enum.auto()
    WEAK = enum.auto()


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_S = r"[^a-z0-9]?"  # an optional separator
_B = r"(?<![a-z0-9])"  # a token starts
_E = r"(?![a-z0-9])"  # a token ends
_PASSWORD_NAME = re.compile(
    rf"passw(?:or)?d|passphrase|{_B}(?:pass|pwd|pw|requirepass|masterauth|pgpass){_E}"
)
_STRONG_NAME = re.compile(
    rf"token(?!iz)|api{_S}keys?{_E}|(?:access|secret|private|priv){_S}keys?{_E}|"
    rf"(?:auth|signing|encryption|session|master|license|client|account|service|db|database|"
    rf"consumer|cookie|hmac|app|shared){_S}keys?{_E}|"
    rf"(?:client|app|jwt|session|cookie|webhook|shared|signing|hmac|encryption|consumer|"
    rf"oauth){_S}secrets?{_E}|"
    rf"conn(?:ection)?{_S}str(?:ing)?|{_B}dsn{_E}|bearer|{_B}sas{_E}"
)
_SECRETISH_NAME = re.compile(rf"secret|credential|{_B}creds?{_E}")
_WEAK_NAME = re.compile(rf"{_B}(?:key|keys|auth|salt|hmac|jwt){_E}")
# Names that mention a credential but hold something else (where it is, how it behaves): the
# name's last word says so.
_BENIGN_LAST_WORDS = frozenset({
    "file", "files", "path", "paths", "dir", "directory", "url", "uri", "endpoint", "host",
    "port", "name", "names", "ref", "enable", "enabled", "disable", "disabled", "ttl", "timeout",
    "expiry", "expires", "expiration", "lifetime", "duration", "age", "length", "size", "type",
    "mode", "header", "id", "ids", "version", "count", "max", "min", "limit", "rotation",
    "period", "interval", "location", "mount", "kind", "prefix", "suffix", "policy", "provider",
    "backend", "store", "method", "algorithm", "alg", "strategy", "format", "scheme", "issuer",
    "audience", "scope", "scopes", "source", "class", "hash", "regex", "pattern", "field",
    "label", "annotation", "selector", "namespace", "required", "reload", "refresh", "retries",
    "attempts", "template", "env", "var", "generator", "stdin", "prompt", "keyid", "encryption",
    "hashing", "hasher", "complexity", "strength", "validation", "validator", "reset", "rules",
    "rounds", "authentication", "fingerprint", "fingerprints", "thumbprint", "digest", "checksum",
    "checksums", "sha", "sha1", "sha256", "alias", "arn", "kid", "cache",
})  # fmt: skip
_PUBLIC_KEY = re.compile(rf"{_B}pub(?:lic)?{_S}keys?{_E}")
_WORD_SEPARATORS = re.compile(r"[^a-z0-9]+")
# Every credential name above contains one of these: a cheap first test.
_KEYWORDS = (
    "pass", "pw", "secret", "token", "key", "auth", "cred", "dsn", "salt", "hmac", "jwt",
    "bearer", "sas", "conn",
)  # fmt: skip
_KEYWORD = re.compile("|".join(_KEYWORDS))
# Lines judged per text: bounds the cost of a pathological 1 MiB file (about 8 us a line).
_MAX_KEYWORD_LINES = 5000


def normalize_name(name: str) -> str:
    """``dbPassword`` → ``db_password``: camelCase boundaries become separators, lowercased."""
    return _CAMEL.sub("_", name).lower()


@functools.lru_cache(maxsize=4096)
def name_class(name: str) -> NameClass | None:
    """How strongly ``name`` says it holds a credential; ``None`` if it does not."""
    norm = normalize_name(name)
    if _KEYWORD.search(norm) is None:
        return None
    words = [word for word in _WORD_SEPARATORS.split(norm) if word]
    if not words or words[-1] in _BENIGN_LAST_WORDS or _PUBLIC_KEY.search(norm):
        return None
    if _PASSWORD_NAME.search(norm):
        return NameClass.PASSWORD
    if _STRONG_NAME.search(norm):
        return NameClass.STRONG
    if _SECRETISH_NAME.search(norm):
        return NameClass.SECRETISH
    if _WEAK_NAME.search(norm):
        return NameClass.WEAK
    return None


def sensitive_name(name: str) -> bool:
    """The name says it holds a credential (weak names such as ``key`` included)."""
    return name_class(name) is not None


# --------------------------------------------------------------------------------------------
# Values that are not secrets, and values that look random
# --------------------------------------------------------------------------------------------

_BENIGN_VALUE = re.compile(
    r"(?i)(?:|true|false|yes|no|y|n|on|off|null|nil|none|~|enabled?|disabled?|required|optional|"
    r"auto|"
    # numbers, versions, sizes and durations: 8, 1.2.3, 512Mi, 30s, 1h30m
    r"[-+]?\d+(?:[.,]\d+)*(?:(?:ns|us|ms|s|m|h|d|w|y|k|ki|mi|gi|ti|kb|mb|gb|b|%)\d*)*|"
    # references resolved elsewhere
    # ($(VAR) of the kubelet, ${VAR} and $VAR of shells and envsubst, $(command), `command`,
    # Grafana's $__file{path}, Argo CD's $secret:key)
    # (a ${VAR:default} is judged by its default, in benign_value), Datadog's %%env_VAR%%,
    # encrypted values of jasypt (ENC(...)) and SOPS (ENC[AES256_GCM,...])
    r"\$\(.*\)|\$\{[^:}]*\}|\$[A-Za-z_][\w.:-]*(?:\{[^}]*\})?|`.*`|\{\{.*\}\}|%[A-Za-z_]\w*%|"
    r"%%[A-Za-z_][\w.-]*%%|ENC\(.*\)|ENC\[[A-Z0-9_]+,.*\]|"
    # GitHub Actions' ${{ secrets.X }}; Octopus, Azure DevOps (#{X}#) and Ruby/fluentd (#{...})
    # interpolation; the replace-tokens convention __X__
    r"\$\{\{.*\}\}|#\{[^}]*\}#?|__[A-Za-z][\w.]*__|"
    # code that reads the value: os.environ['X'], os.getenv("X"), get_secret() (cut at a
    # quote in KEY=value lines: os.environ[)
    r"[A-Za-z_][\w.]*(?:[(\[]|\(\)|\((?:'[^']*'|\"[^\"]*\")\)|\[(?:'[^']*'|\"[^\"]*\")\])|"
    # digests written with their algorithm (OCI, Helm, Docker): sha256:<hex>
    r"(?:sha1|sha224|sha256|sha384|sha512|md5):[0-9a-f]{32,128}|"
    r"vault:\S+|ref\+\w+://\S+|arn:aws[\w-]*:(?:secretsmanager|ssm|kms):\S+|"
    # URLs without credentials (file paths: see benign_value)
    r"[a-z][a-z0-9+.-]*://[^\s@/?#]*(?:[/?#]\S*)?|"
    # placeholders
    r"<[^>]*>|\[[^\]]*\]|x+|\*+|\.{3,}|-+|_+|#+|"
    r"change[-_ ]?me|change[-_ ]?it|replace[-_ ]?me|replace[-_ ]?this|to[-_ ]?do|tbd|fixme|"
    r"dummy|placeholder|redacted|masked|not[-_ ]?set|unset|your[-_ ][\w -]*|[\w-]*[-_ ]here)"
)
# In annotations and command lines a secret-ish name usually names a Secret (``ns/name``) or a
# path in a secret manager (``secret/data/app``); such lowercase references are not values.
_REFERENCE = re.compile(r"(?:[a-z][a-z0-9-]*:)?[a-z0-9][a-z0-9._-]*(?:/[a-z0-9][a-z0-9._-]*)*")
_TOKENISH = re.compile(r"[A-Za-z0-9+/=_.~:!@#$%^&*-]+")
_WORDS = re.compile(r"[A-Za-z_.-]+")
_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_HOSTNAME = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")
RANDOM_MIN_LENGTH = 16
ENTROPY_THRESHOLD = 3.5
HEX_ENTROPY_THRESHOLD = 3.0


_DEFAULTED_REFERENCE = re.compile(r"\$\{[^:}]*:-?(.*)\}")
"""``${VAR:default}`` (Spring, envsubst) and ``${VAR:-default}`` (shells): the default is a
literal, which may itself be the secret."""
_PATH = re.compile(r"(?:\.{1,2}|~)?/\S*")


def benign_value(value: str) -> bool:
    """Obviously not a secret: empty, boolean, number, reference, path, plain URL, placeholder."""
    value = value.strip()
    if _BENIGN_VALUE.fullmatch(value) is not None:
        return True
    defaulted = _DEFAULTED_REFERENCE.fullmatch(value)
    if defaulted is not None:
        return benign_value(defaulted.group(1))
    # A file path, unless a part of it looks generated: base64 tokens start with "/" too.
    return _PATH.fullmatch(value) is not None and not any(
        looks_random(part) for part in value.split("/")
    )


# A Secret value filled in at deploy time (envsubst, Helm/Go templates that were not rendered,
# argocd-vault-plugin's <path:...>): a manifest with it commits no value.
_PLACEHOLDER = re.compile(r"\s*(?:\$\{[^}]*\}|\$\([A-Za-z_]\w*\)|\{\{.*\}\}|<[^>]*>)\s*", re.S)


def placeholder(value: object) -> bool:
    """A Secret's ``data``/``stringData`` value that is a placeholder, not a committed value."""
    return isinstance(value, str) and _PLACEHOLDER.fullmatch(value) is not None


def shannon_entropy(text: str) -> float:
    """Bits per character, from the character frequencies of ``text`` (gitleaks' measure)."""
    if not text:
        return 0.0
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in Counter(text).values())


def looks_random(value: str) -> bool:
    """A machine-generated token: long, one word, not a word/UUID/host name, high entropy."""
    if not RANDOM_MIN_LENGTH <= len(value) <= 4096 or not _TOKENISH.fullmatch(value):
        return False
    if _WORDS.fullmatch(value) or _UUID.fullmatch(value) or _HOSTNAME.fullmatch(value):
        return False
    threshold = HEX_ENTROPY_THRESHOLD if _HEX.fullmatch(value) else ENTROPY_THRESHOLD
    return shannon_entropy(value) >= threshold


# ``Server=db;Database=app;Integrated Security=true``: a connection string (or any other
# ``;``-separated list of settings) holds a credential only if one of its settings does.
_SETTINGS_LIST = re.compile(r"[A-Za-z][\w .-]*=[^;\n]*(?:;[ \t]*[A-Za-z][\w .-]*=[^;\n]*)+;?")
# HTTP Basic credentials (``.dockerconfigjson``'s "auth", npm's ``_auth``): base64 of user:pass.
_USER_PASSWORD = re.compile(r"[^\s:]+:(\S+)")


def _basic_credential(value: str) -> bool | None:
    """Whether ``value``, base64 of ``user:password``, has a password that is not benign; None
    if it is not base64 of ``user:password``."""
    decoded = decode_base64_text(value)
    match = _USER_PASSWORD.fullmatch(decoded) if decoded is not None else None
    return None if match is None else not benign_value(match.group(1))


def _judge(name: str, value: str, *, refs: bool) -> str | None:
    """Why the name and value together say "credential" (a phrase about the name), or None."""
    cls = name_class(name)
    if cls is None:
        return None
    value = value.strip()
    if benign_value(value):
        return None
    if cls is NameClass.WEAK:
        # base64 of user:password is judged by its password (user:${TOKEN} is a template),
        # whatever its entropy; anything else by its randomness
        basic = _basic_credential(value)
        if basic is not None:
            return (
                "suggests a key and the value is a base64-encoded user:password" if basic else None
            )
        return "suggests a key and the value looks random" if looks_random(value) else None
    if cls is not NameClass.PASSWORD and _SETTINGS_LIST.fullmatch(value):
        return None  # judged setting by setting, by the assignments scan
    if cls is NameClass.SECRETISH and refs and _REFERENCE.fullmatch(value):
        return None
    return "says it holds a credential"


# --------------------------------------------------------------------------------------------
# Assignments inside text: KEY=value, key: value, "key": "value", <key>value</key>
# --------------------------------------------------------------------------------------------

_NAME = r"[A-Za-z_][A-Za-z0-9_.\-]{0,79}"
_BARE = r"(\$\([^)\n]*\)|\$\{[^}\s]*\}|\{\{[^}\n]*\}\}|[^\s;&,\"'`{\[][^\s;&,\"'`]{0,999})"
# A name starts after a separator; ":" for .npmrc's //registry/:_authToken=...
_ASSIGN_EQ = re.compile(
    rf"(?:^|(?<=[\s;,{{(&?|'\":]))(?:export[ \t]+|-D|--?)?({_NAME})[ \t]*=>?(?!=)[ \t]*"
    rf"(?:\"((?:[^\"\\\n]|\\.){{0,1000}})\"|'([^'\n]{{0,1000}})'|{_BARE})?"
)
_ASSIGN_COLON = re.compile(rf"^[ \t]*(?:-[ \t]+)?({_NAME})[ \t]*:(?:[ \t]+([^\n]*))?$", re.M)
_ASSIGN_JSON = re.compile(
    rf"[\"']({_NAME})[\"'][ \t]*:[ \t]*"
    r"(?:\"((?:[^\"\\\n]|\\.){0,1000})\"|'([^'\n]{0,1000})'|([^\s,}\]{\[\"'][^\s,}\]]{0,199}))"
)
_ASSIGN_XML = re.compile(rf"<({_NAME})>([^<\n]{{1,1000}})</\1>")
# ``name value`` directives (fluentd, Fluent Bit, .properties with a space, many daemons'
# configs): a whole line of exactly two words. Judged only for password and strong names, and an
# unquoted value must not be a plain word: prose ("Password Policy") has this shape too.
_ASSIGN_SPACE = re.compile(
    rf"[ \t]*({_NAME})[ \t]+"
    r"(?:\"([^\"\n]{1,1000})\"|'([^'\n]{1,1000})'|([^\s\"'=:][^\s;]{0,999}))[ \t]*;?[ \t]*"
)
_DIRECTIVE_CLASSES = (NameClass.PASSWORD, NameClass.STRONG)
_YAML_NOT_A_VALUE = re.compile(r"[|>][-+0-9]*|[&*!]\S*|[{\[].*")


def _yaml_value(raw: str | None) -> str:
    """The scalar of a ``key: value`` line: unquoted, without a trailing comment."""
    if raw is None:
        return ""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        quote = raw[0]
        end = raw.find(quote, 1)
        return raw[1:end] if end > 0 else raw[1:]
    if _YAML_NOT_A_VALUE.fullmatch(raw):
        return ""  # a block scalar, alias, tag or flow collection: not judged here
    hash_at = raw.find(" #")
    return (raw[:hash_at] if hash_at >= 0 else raw).rstrip(",").strip()


def _assignments(line: str) -> Iterator[tuple[str, str]]:
    if "=" in line:
        for match in _ASSIGN_EQ.finditer(line):
            value = next((g for g in match.groups()[1:] if g is not None), "")
            yield match.group(1), value
            if "=" in value:  # --from-literal=password=..., -Dopts=-Dx.password=...
                for inner in _ASSIGN_EQ.finditer(value):
                    yield inner.group(1), next((g for g in inner.groups()[1:] if g is not None), "")
    if ":" in line:
        for match in _ASSIGN_JSON.finditer(line):
            yield match.group(1), next((g for g in match.groups()[1:] if g is not None), "")
        for match in _ASSIGN_COLON.finditer(line):
            yield match.group(1), _yaml_value(match.group(2))
    if "</" in line:
        for match in _ASSIGN_XML.finditer(line):
            yield match.group(1), match.group(2)
    directive = _ASSIGN_SPACE.fullmatch(line)
    if directive is not None and name_class(directive.group(1)) in _DIRECTIVE_CLASSES:
        bare = directive.group(4)
        if bare is None or not _WORDS.fullmatch(bare):
            yield directive.group(1), next(g for g in directive.groups()[1:] if g is not None)


def _keyword_lines(text: str, lower: str) -> Iterator[str]:
    """Each distinct line of ``text`` that contains a credential keyword, in order."""
    if len(lower) > _LONG_TEXT:
        starts = (at for keyword in _KEYWORDS for at in _find_all(lower, keyword))
    else:
        starts = (match.start() for match in _KEYWORD.finditer(lower))
    spans: dict[int, int] = {}
    for at in starts:
        start = lower.rfind("\n", 0, at) + 1
        if start not in spans:
            end = lower.find("\n", at)
            spans[start] = len(lower) if end < 0 else end
    for start in sorted(spans)[:_MAX_KEYWORD_LINES]:
        yield text[start : spans[start]]


def _find_all(text: str, word: str) -> Iterator[int]:
    at = text.find(word)
    while at >= 0:
        yield at
        end = text.find("\n", at)
        if end < 0:
            return
        at = text.find(word, end)


def _scan_assignments(text: str, lower: str, *, refs: bool) -> Detection | None:
    for line in _keyword_lines(text, lower):
        for name, value in _assignments(line):
            why = _judge(name, value, refs=refs)
            if why is not None:
                return Detection(f"it sets {_quote_name(name)}, whose name {why}")
    return None


def _quote_name(name: str) -> str:
    return repr(name if len(name) <= 60 else name[:57] + "...")


# --------------------------------------------------------------------------------------------
# base64
# --------------------------------------------------------------------------------------------

_B64_WHOLE = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")
_B64_TOKEN = re.compile(r"(?<![A-Za-z0-9+/=_-])[A-Za-z0-9+/]{16,}={0,2}(?![A-Za-z0-9+/=_-])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_URLSAFE = str.maketrans("-_", "+/")
BASE64_MIN_LENGTH = 16
_EMBEDDED_SCAN_LIMIT = 64 * 1024
_EMBEDDED_CANDIDATES = 50


def decode_base64(value: str) -> bytes | None:
    """The bytes of a base64 (standard or URL-safe, padding optional) string, else None."""
    compact = "".join(value.split())
    if not compact or not _B64_WHOLE.fullmatch(compact):
        return None
    missing = -len(compact.rstrip("=")) % 4
    if missing == 3:
        return None
    compact = compact.rstrip("=").translate(_URLSAFE) + "=" * missing
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None


def as_text(data: bytes) -> str | None:
    """``data`` as text if it is UTF-8 without control characters (other than whitespace)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text and _CONTROL.search(text) is None else None


def decode_base64_text(value: str) -> str | None:
    """The decoded text of a base64 value of 16+ characters that decodes to UTF-8 text."""
    if len(value) < BASE64_MIN_LENGTH:
        return None
    data = decode_base64(value)
    if data is None:
        return None
    return as_text(data)


def _base64_candidates(text: str) -> Iterator[str]:
    stripped = text.strip()
    whole = decode_base64_text(stripped)
    if whole is not None:
        yield whole
        return
    if len(text) > _EMBEDDED_SCAN_LIMIT:
        return
    for count, match in enumerate(_B64_TOKEN.finditer(text)):
        if count >= _EMBEDDED_CANDIDATES:
            return
        token = match.group()
        if len(token) % 4 == 0 and token != stripped:
            decoded = decode_base64_text(token)
            if decoded is not None:
                yield decoded


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def _single_line(value: str) -> bool:
    stripped = value.strip()
    return "\n" not in stripped and stripped[:1] not in ("{", "[")


def _scan_text(text: str, *, refs: bool) -> Detection | None:
    """Value shapes anywhere in ``text``, then assignments with a credential name."""
    lower = text.lower()
    found = _shape(text, lower)
    if found is not None:
        return Detection(_shape_reason(found))
    return _scan_assignments(text, lower, refs=refs)


def _detect(name: str | None, value: str, *, refs: bool, decode: bool) -> Detection | None:
    lower = value.lower()
    found = _shape(value, lower)
    if found is not None:
        return Detection(_shape_reason(found))
    if name is not None and _single_line(value):
        why = _judge(name, value, refs=refs)
        if why is not None:
            return Detection(f"the name {_quote_name(name)} {why}")
    inner = _scan_assignments(value, lower, refs=refs)
    if inner is not None:
        return inner
    if decode and len(value) >= BASE64_MIN_LENGTH:
        for decoded in _base64_candidates(value):
            hit = _scan_text(decoded, refs=refs)
            if hit is not None:
                return Detection(f"once base64-decoded, {hit.reason}")
    return None


_CACHED_VALUE_LENGTH = 1024


@functools.lru_cache(maxsize=8192)
def _detect_cached(name: str | None, value: str, refs: bool) -> Detection | None:
    return _detect(name, value, refs=refs, decode=True)


def detect(name: str, value: str) -> Detection | None:
    """Classify a named plain-text value (an env var, a ConfigMap key) as a credential or not.

    Checks the value's shape, then the name (for one-line values), then assignments inside the
    value, then the base64-decoded value. Short values are memoised: manifests repeat them.
    """
    if len(value) <= _CACHED_VALUE_LENGTH:
        return _detect_cached(name, value, False)
    return _detect(name, value, refs=False, decode=True)


def detect_text(text: str, *, name: str | None = None) -> Detection | None:
    """Like ``detect`` for a value that is already decoded (no further base64 decoding)."""
    return _detect(name, text, refs=False, decode=False)


def detect_annotation(key: str, value: str) -> Detection | None:
    """An annotation: judged by the name after the prefix (``example.com/db-password``).

    References to Secrets (``auth-secret: basic-auth``) and Helm's ``checksum/*`` digests are
    not credentials.
    """
    if key.startswith("checksum/"):
        return None
    name = key.rpartition("/")[2]
    if len(value) <= _CACHED_VALUE_LENGTH:
        return _detect_cached(name, value, True)
    return _detect(name, value, refs=True, decode=True)


# Flags that take a credential as their value, written as the next argument (``--token x``).
_FLAG = re.compile(r"--?([A-Za-z][A-Za-z0-9_.-]{0,79})")
_SPACED_FLAG = re.compile(
    r"(?:^|(?<=\s))--?([A-Za-z][A-Za-z0-9_.-]{0,79})[ \t]+"
    r"(?:\"([^\"\n]{1,1000})\"|'([^'\n]{1,1000})'|([^\s\"'-][^\s\"']{0,999}))"
)
_CLEAR_FLAG_CLASSES = (NameClass.PASSWORD, NameClass.STRONG, NameClass.SECRETISH)


def _clear_flag(name: str) -> bool:
    return name_class(name) in _CLEAR_FLAG_CLASSES


# Short options whose meaning is known for the program that takes them: (program names, option,
# how the value is given, what the value is). "glued": ``-pVALUE`` only (mysql's ``-p VALUE``
# prompts for the password and takes VALUE as the database); "next": ``-a VALUE`` or ``-aVALUE``.
# A "user:password" value (curl) is a credential only with a password after the colon.
_MYSQL = (
    "mysql", "mysqladmin", "mysqldump", "mysqlcheck", "mysqlimport", "mysqlshow",
    "mariadb", "mariadb-admin", "mariadb-dump", "mariadb-check", "mariadb-import", "mariadb-show",
)  # fmt: skip
_MONGO = ("mongo", "mongosh", "mongodump", "mongorestore", "mongoexport", "mongoimport")
_PROGRAM_OPTIONS: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (_MYSQL, "-p", "glued", "password"),
    (("redis-cli", "valkey-cli", "keydb-cli"), "-a", "next", "password"),
    (_MONGO, "-p", "next", "password"),
    (("sshpass",), "-p", "next", "password"),
    (("curl",), "-u", "next", "user:password"),
    (("curl",), "--user", "next", "user:password"),
    (("curl",), "-U", "next", "user:password"),
    (("curl",), "--proxy-user", "next", "user:password"),
)
_OPTIONS_OF: dict[str, tuple[tuple[str, str, str], ...]] = {
    program: tuple(
        (opt, how, what) for names, opt, how, what in _PROGRAM_OPTIONS if program in names
    )
    for names, _, _, _ in _PROGRAM_OPTIONS
    for program in names
}
_SHELL_SEPARATORS = frozenset({";", "&&", "||", "|", "&", ";;"})


def _shell_words(item: str) -> list[str]:
    """The words of a shell command (quotes removed, ``;``/``&&``/``|`` as words of their own)."""
    lexer = shlex.shlex(item, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # unbalanced quotes: words are still words
        return item.split()


def _option_value(
    words: list[tuple[int, str]], at: int, option: str, how: str
) -> tuple[int, str] | None:
    """The (item index, value) that ``words[at]`` gives ``option``, if it is that option."""
    index, word = words[at]
    if len(word) > len(option) and word.startswith(option):
        glued = word[len(option) :]
        return index, glued[1:] if option.startswith("--") and glued[:1] == "=" else glued
    if word == option and how == "next" and at + 1 < len(words):
        return words[at + 1]
    return None


def _credential_value(value: str, what: str) -> bool:
    if what == "user:password":
        _, colon, value = value.partition(":")
        if not colon:
            return False
    value = value.strip()
    # $VAR, ${VAR}, $(command) (split by the shell lexer) and `command` are read at run time.
    return value[:1] not in ("$", "`", "") and not benign_value(value)


def _program_options(items: Sequence[object]) -> Iterator[tuple[int, Detection]]:
    """Literal credentials given to the short options of well-known programs (see above)."""
    words: list[tuple[int, str]] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            split = _shell_words(item) if any(c.isspace() for c in item.strip()) else [item]
            words.extend((index, word) for word in split)
    program: str | None = None
    for at, (_, word) in enumerate(words):
        if word in _SHELL_SEPARATORS:
            program = None
            continue
        name = word.rpartition("/")[2]
        if name in _OPTIONS_OF:
            program = name
            continue
        if program is None or not word.startswith("-"):
            continue
        for option, how, what in _OPTIONS_OF[program]:
            given = _option_value(words, at, option, how)
            if given is not None and _credential_value(given[1], what):
                yield (
                    given[0],
                    Detection(f"the option {option} of {program} is given a literal {what}"),
                )
                break


def detect_args(items: Sequence[object]) -> Iterator[tuple[int, Detection]]:
    """Credentials in a container's ``command``/``args`` (or an exec probe's command).

    Yields ``(index, detection)``, at most one per item: credential shapes, ``--flag=value``,
    ``--flag value`` (in one item or as two items) and ``NAME=value`` assignments, where the flag
    is clearly named (password, passwd, pwd, pass, token, secret, api-key, access-key,
    private-key, client-secret, auth-token, requirepass, ...), and the short options of
    well-known programs (``mysql -pVALUE``, ``redis-cli -a``, ``mongosh -p``, ``sshpass -p``,
    ``curl -u user:password``), in argv or in a shell script. ``$(VAR)`` references and other
    benign values are skipped, and so are other short options such as ``-p``: their meaning
    depends on the program.
    """
    reported: set[int] = set()
    for index, item in enumerate(items):
        if not isinstance(item, str) or index in reported:
            continue
        found = (
            _detect_cached(None, item, True)
            if len(item) <= _CACHED_VALUE_LENGTH
            else _detect(None, item, refs=True, decode=True)
        )
        if found is None and " " in item.strip():
            for match in _SPACED_FLAG.finditer(item):
                flag = match.group(1)
                value = next(g for g in match.groups()[1:] if g is not None)
                if _clear_flag(flag) and _judge(flag, value, refs=True) is not None:
                    found = Detection(f"the flag --{flag} is given a literal credential")
                    break
        if found is not None:
            reported.add(index)
            yield index, found
            continue
        flag_match = _FLAG.fullmatch(item.strip())
        if flag_match is None or index + 1 >= len(items):
            continue
        value = items[index + 1]
        flag = flag_match.group(1)
        if (
            isinstance(value, str)
            and not value.startswith("-")
            and _clear_flag(flag)
            and _judge(flag, value, refs=True) is not None
        ):
            reported.add(index + 1)
            yield index + 1, Detection(f"it is the value of the flag --{flag}")
    for index, found in _program_options(items):
        if index not in reported:
            reported.add(index)
            yield index, found
