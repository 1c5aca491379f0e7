"""``kubeward.yaml``: finding, reading and validating the configuration.

Unknown keys are errors, not ignored: a typo such as ``trustedRegistry:`` would otherwise turn
a check off without anyone noticing. Every error names the file and line.

```yaml
select: [W, I, S, A, N]        # rule IDs or prefixes to run (default: all)
ignore: [W011]                 # rule IDs or prefixes not to run
severity: {N001: medium}       # per-rule severity overrides
failOn: low                    # lowest severity that fails the scan (or "never")
namespace: payments            # deploy-time namespace of namespace-less manifests
trustedRegistries:             # registry hosts, or host/path prefixes
  - registry.corp.example
  - ghcr.io/acme
kubernetesVersion: "1.30"      # the version objects are judged for (default: 1.35)
requiredLimits: [memory]       # resources W022 requires limits for (default: memory, cpu)
requiredRequests: [memory, cpu]  # resources W023 requires requests for (default: both)
allowInlineSuppressions: true  # honour kubeward.io/ignore.<ID> annotations in manifests
imageSignatures:               # cosign signatures images must carry (rule I007)
  rules:
    - name: releases
      images: ["registry.corp.example/acme/**"]
      keys: [keys/release.pub]
rbacPolicies:                  # who alone may hold a power (rule R027)
  - name: prod-secrets
    verbs: [get, list, watch]
    resources: [secrets]         # RESOURCE[.GROUP][/SUBRESOURCE]
    namespaces: ["prod-*"]       # globs; omitted = everywhere
    allowedSubjects: ["group:platform-admins", "sa:vault/vault"]
    reason: production credentials are read by Vault only
policies: [policies/]          # users' CEL and Rego policies
policyParams:                  # what a CEL policy sees as `params`, by its ID
  ACME003: {data: {maxReplicas: "10"}}
exceptions:
  - rules: [W001]
    namespaces: [kube-system]
    kinds: [DaemonSet]
    names: ["node-exporter-*"]
    reason: node exporter reads host metrics
    expires: 2027-06-30
```
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import msgspec
import yaml

from kubeward.engine import PolicyException
from kubeward.errors import ConfigError
from kubeward.model import Severity, format_path
from kubeward.model.enforcement import Action, AdmissionSettings
from kubeward.rbac.access import AccessPolicy, SubjectPattern
from kubeward.rbac.queries import QueryError, parse_target
from kubeward.rules import ALL_RULES, lookup
from kubeward.rules._base import RuleParams
from kubeward.rules._common.images import RegistryPattern, parse_registry_pattern
from kubeward.signatures.policy import (
    Require,
    SignaturePolicy,
    SignatureRule,
    Unpinned,
    check_image_pattern,
)
from kubeward.yaml_lines import YamlProblem, load_one, node_line

if TYPE_CHECKING:
    from kubeward.signatures.cosign import PublicKey

RESOURCE_NAMES = ("memory", "cpu")
"""Resources whose limits and requests rules W022/W023 require (both unless configured)."""
_KUBERNETES_VERSION = re.compile(r"v?(1)\.(\d{1,3})(?:\.\d+)?")
CONFIG_NAMES = ("kubeward.yaml", ".kubeward.yaml", "kubeward.yml", ".kubeward.yml")
NEVER = "never"
MAX_CONFIG_BYTES = 4 * 2**20
"""The largest kubeward.yaml read (thousands of exceptions take a few hundred KiB)."""


NAMESPACE_PATTERN = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""What the API server accepts as a namespace name (a DNS-1123 label, at most 63 characters)."""


def invalid_namespace(name: str) -> str | None:
    """Why ``name`` cannot be a namespace, or None if it can."""
    if len(name) > 63 or re.fullmatch(NAMESPACE_PATTERN.strip("^$"), name) is None:
        return (
            f"{name!r} is not a namespace name (lowercase letters, digits and '-', starting and "
            "ending with a letter or digit, at most 63 characters)"
        )
    return None


class _ExceptionEntry(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    rules: list[str]
    reason: str
    # None = omitted (any); an empty list is refused rather than read as "any"
    namespaces: list[str] | None = None
    kinds: list[str] | None = None
    names: list[str] | None = None
    # checked by _expiry: msgspec's own messages for a date and time or a number are obscure
    expires: Any = None


class _RbacPolicyEntry(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: str
    verbs: list[str]
    resources: list[str]
    allowed_subjects: list[str] = []
    namespaces: list[str] = []
    reason: str = ""


class _AdmissionExempt(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    namespaces: list[str] | None = None
    users: list[str] = []
    groups: list[str] = []
    service_accounts: list[str] = []


class _AdmissionEntry(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    default_action: str = "deny"
    actions: dict[str, str] = {}
    allow_existing_violations: bool = True
    exempt: _AdmissionExempt | None = None
    on_error: str = "deny"


class _SignatureRuleEntry(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    name: str
    images: list[str]
    keys: list[str]
    require: str = "any"


class _SignaturesEntry(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    rules: list[_SignatureRuleEntry] = []
    unpinned: str = "pin"
    cache_ttl: float = msgspec.field(default=3600.0, name="cacheTTL")
    timeout: float = 5.0
    plain_http: list[str] = msgspec.field(default_factory=list, name="plainHTTP")
    credentials: str | None = None


NamespaceName = Annotated[str, msgspec.Meta(pattern=NAMESPACE_PATTERN, max_length=63)]
"""A Kubernetes namespace name: a DNS-1123 label."""


class _ConfigFile(msgspec.Struct, forbid_unknown_fields=True, rename="camel"):
    select: list[str] = []
    ignore: list[str] = []
    severity: dict[str, str] = {}
    fail_on: str | None = None
    namespace: NamespaceName | None = None
    trusted_registries: list[str] = []
    insecure_registries: list[str] = []
    kubernetes_version: str | float | None = None
    required_limits: list[str] | None = None
    required_requests: list[str] | None = None
    allow_inline_suppressions: bool = True
    exceptions: list[_ExceptionEntry] = []
    rbac_policies: list[_RbacPolicyEntry] = []
    admission: _AdmissionEntry | None = None
    policies: list[str] = []
    policy_params: dict[str, dict[str, Any]] = {}
    image_signatures: _SignaturesEntry | None = None


@dataclass(frozen=True)
class PolicyIdUse:
    """An ID or prefix kubeward.yaml names that no built-in rule has: accepted as a users'
    policy's when the file is read, checked once the policies are loaded
    (``kubeward.scan.check_policy_ids``)."""

    key: str
    """As matched against rule IDs (upper case)."""
    written: str
    setting: str
    """Where, as error messages name it: ``ignore``, ``exceptions[0].rules``, ..."""
    line: int | None


@dataclass(frozen=True, kw_only=True)
class Config:
    """The resolved configuration (defaults when there is no file)."""

    path: str | None = None
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity_overrides: dict[str, Severity] = field(default_factory=dict)
    fail_on: Severity | None = Severity.LOW
    fail_on_set: bool = False
    kubernetes_version_set: bool = False
    """The version was configured (else a live scan uses the API server's)."""
    namespace: str | None = None
    params: RuleParams = field(default_factory=RuleParams)
    allow_inline_suppressions: bool = True
    exceptions: tuple[PolicyException, ...] = ()
    admission: AdmissionSettings = field(default_factory=AdmissionSettings)
    policy_paths: tuple[str, ...] = ()
    """Files and directories of users' policies, CEL and Rego (relative to the config file)."""
    signatures: SignaturePolicy | None = None
    """``imageSignatures:``: which images must be signed by which keys (rule I007)."""
    policy_ids: tuple[PolicyIdUse, ...] = ()
    """The IDs it names that only a users' policy can have, where it names them."""


@dataclass(frozen=True)
class FoundConfig:
    """The configuration file the scanned paths lead to (:func:`find_config`)."""

    path: Path
    stray_for: str | None = None
    """A scanned path whose search found this file above its directory while outside any git
    repository (the search climbs up to ``/`` there): worth saying which file applies."""


def find_config(scanned: Iterable[str], cwd: Path | None = None) -> FoundConfig | None:
    """The config file of the scanned paths: for each, the first one in its directory or above
    (up to the root of its git repository, else up to ``/``), else the working directory's.

    Paths that lead to different files cannot share one: ``ConfigError`` naming both. A path
    that leads to none takes the others'."""
    here = (cwd or Path.cwd()).resolve()
    fallback = _config_in(here)
    found: dict[Path, tuple[str, bool]] = {}  # file -> (the first path leading to it, stray)
    for raw in scanned:
        if raw == "-":
            continue
        path = Path(os.path.realpath(raw))  # (Path.resolve raises on a symlink loop)
        start = path if path.is_dir() else path.parent
        config, stray = _config_above(start, here)
        if config is None:
            if fallback is None:
                continue
            config, stray = fallback, False
        if config not in found:
            found[config] = (raw, stray)
        if len(found) > 1:
            (first, (first_raw, _)), (second, (second_raw, _)) = found.items()
            raise ConfigError(
                f"the scanned paths have different configuration files: {_display(first)} "
                f"(for {first_raw}) and {_display(second)} (for {second_raw}); pass --config "
                "FILE to use one for all, or scan them separately"
            )
    if not found:
        return FoundConfig(fallback) if fallback is not None else None
    ((config, (raw, stray)),) = found.items()
    return FoundConfig(config, stray_for=raw if stray else None)


def _config_in(directory: Path) -> Path | None:
    for name in CONFIG_NAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def _config_above(start: Path, cwd: Path) -> tuple[Path | None, bool]:
    """The first config file from ``start`` up to its repository root (else ``/``), and whether
    it was found above ``start`` and the working directory with no repository around it."""
    for directory in (start, *start.parents):
        config = _config_in(directory)
        if config is not None:
            stray = directory not in (start, cwd) and not any(
                (d / ".git").exists() for d in (directory, *directory.parents)
            )
            return config, stray
        if (directory / ".git").exists():
            break
    return None, False


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


_PATH_PART = re.compile(r"\.([A-Za-z0-9_]+)|\[(\d+)\]")


def _parse_msgspec_path(text: str) -> list[str | int]:
    match = re.search(r"at `\$([^`]*)`", text)
    if not match:
        return []
    return [
        m.group(1) if m.group(1) is not None else int(m.group(2))
        for m in _PATH_PART.finditer(match.group(1))
    ]


def _bare_boolean(data: Any, where: Sequence[str | int]) -> list[str | int] | None:
    """The path to the boolean a string setting got (``R: off``; msgspec names the mapping, not
    the entry, when the value of a mapping is wrong), else None."""
    value = data
    for part in where:
        in_mapping = isinstance(value, dict) and part in value
        in_list = isinstance(value, list) and isinstance(part, int) and part < len(value)
        if not (in_mapping or in_list):
            return None
        value = value[part]
    if isinstance(value, bool):
        return list(where)
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, bool):
                return [*where, key]
    return None


def is_rule_prefix(prefix: str) -> bool:
    """True if at least one rule ID starts with ``prefix`` (case-insensitive)."""
    wanted = prefix.strip().upper()
    return bool(wanted) and any(r.id.startswith(wanted) for r in ALL_RULES)


def _no_rule(text: str) -> str:
    """Why ``text`` is refused where rule IDs or prefixes are expected, with the ID when it is
    a rule's name (which annotations and ``severity`` take, but a prefix list cannot)."""
    named = lookup(text)
    hint = f" ({text.strip()!r} is rule {named.id}'s name: write its ID)" if named else ""
    return f"{text!r} matches no rule ID{hint}"


def load_config(path: Path, *, more_policies: bool = False) -> Config:
    """Read and validate a configuration file; raises ``ConfigError`` with file and line.

    ``more_policies``: the command line gives users' policies too (``--policies``). The IDs
    of users' policies that the file names are then checked only once those are loaded, as
    when the file lists ``policies:`` itself."""
    shown = _display(path)
    try:
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            # a configuration is a page of settings; one this large is not one, and YAML would
            # take seconds and gigabytes to say so (a scanned repository's file is untrusted)
            raise ConfigError(
                f"{size} bytes, over the {MAX_CONFIG_BYTES // 2**20} MiB a configuration may have",
                file=shown,
            )
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration: {exc}", file=shown) from None
    try:
        root, data = load_one(text)
    except YamlProblem as exc:
        raise ConfigError(exc.message, file=shown, line=exc.line) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the configuration must be a mapping of settings", file=shown, line=1)

    def fail(message: str, at: Sequence[str | int]) -> ConfigError:
        return ConfigError(message, file=shown, line=node_line(root, at))

    try:
        raw = msgspec.convert(data, _ConfigFile)
    except msgspec.ValidationError as exc:
        message = str(exc)
        where = _parse_msgspec_path(message)
        unknown = re.search(r"unknown field `([^`]+)`", message)
        if unknown:
            where = [*where, unknown.group(1)]
            message = f"unknown setting {unknown.group(1)!r} (see docs/configuration.md)"
        elif "got `bool`" in message and (boolean := _bare_boolean(data, where)) is not None:
            where = boolean
            message = (
                f"{format_path(tuple(where))}: expected a string, got a boolean (YAML reads a "
                'bare off, no, on or yes as one): write it in quotes, e.g. "off"'
            )
        else:
            message = re.sub(r" - at `\$[^`]*`", "", message)
            if where:
                message = f"{format_path(tuple(where))}: {message}"
        raise fail(message, where) from None
    config = _resolve(raw, shown, root, custom=bool(raw.policies) or more_policies)
    base = path.parent
    signatures = _signatures(raw.image_signatures, base, fail) if raw.image_signatures else None
    return replace(
        config,
        policy_paths=tuple(str(base / entry) for entry in raw.policies),
        signatures=signatures,
    )


def _signatures(
    entry: _SignaturesEntry, base: Path, fail: Callable[[str, Sequence[str | int]], ConfigError]
) -> SignaturePolicy:
    # Imported here: the key parsers (cryptography, pycryptodome) and the registry client
    # (httpx) cost ~0.1-0.2 s of start-up, and only configurations with imageSignatures use them.
    from kubeward.signatures.cosign import UnusableKey, load_public_key
    from kubeward.signatures.registry import read_docker_config

    top = "imageSignatures"
    rules: list[SignatureRule] = []
    loaded: dict[Path, PublicKey] = {}
    for index, rule in enumerate(entry.rules):
        at: list[str | int] = [top, "rules", index]
        label = f"{top}.rules[{index}]"
        if not rule.name.strip() or any(r.name == rule.name for r in rules):
            raise fail(f"{label}: a unique name is required", [*at, "name"])
        if not rule.images:
            raise fail(f"{label}: list the images it covers", [*at, "images"])
        images = []
        for image_index, glob in enumerate(rule.images):
            try:
                images.append(check_image_pattern(glob))
            except ValueError as exc:
                raise fail(
                    f"{label}.images[{image_index}]: {exc}", [*at, "images", image_index]
                ) from None
        if not rule.keys:
            raise fail(f"{label}: list the public keys that may sign", [*at, "keys"])
        keys = []
        for key_index, key_path in enumerate(rule.keys):
            path = (base / key_path).resolve()
            if path not in loaded:
                try:
                    loaded[path] = load_public_key(path.read_bytes(), key_path)
                except (OSError, UnusableKey) as exc:
                    reason = (
                        exc
                        if isinstance(exc, UnusableKey)
                        else f"cannot read {key_path}: {exc.strerror}"
                    )
                    raise fail(
                        f"{label}.keys[{key_index}]: {reason}", [*at, "keys", key_index]
                    ) from None
            keys.append(loaded[path])
        try:
            require = Require(rule.require.strip().lower())
        except ValueError:
            raise fail(
                f"{label}.require: {rule.require!r} is not any or all", [*at, "require"]
            ) from None
        rules.append(SignatureRule(rule.name, tuple(images), tuple(keys), require))
    try:
        unpinned = Unpinned(entry.unpinned.strip().lower())
    except ValueError:
        raise fail(
            f"{top}.unpinned: {entry.unpinned!r} is not pin or deny", [top, "unpinned"]
        ) from None
    if not 0 < entry.timeout <= 30:
        raise fail(f"{top}.timeout: between 0 and 30 seconds", [top, "timeout"])
    if entry.cache_ttl < 0:
        raise fail(f"{top}.cacheTTL: seconds, 0 or more", [top, "cacheTTL"])
    credentials = None
    if entry.credentials:
        credentials = (base / entry.credentials).resolve()
        try:
            read_docker_config(credentials)
        except ValueError as exc:
            raise fail(f"{top}.credentials: {exc}", [top, "credentials"]) from None
    return SignaturePolicy(
        rules=tuple(rules),
        unpinned=unpinned,
        cache_ttl=entry.cache_ttl,
        timeout=entry.timeout,
        plain_http=frozenset(h.strip().lower() for h in entry.plain_http),
        credentials=credentials,
    )


def _resolve(raw: _ConfigFile, shown: str, root: yaml.Node | None, *, custom: bool) -> Config:
    """``custom``: users' policies are given (here or on the command line); the IDs only they
    can have are known once they are loaded, so any well-formed one is kept in ``policy_ids``
    for then."""

    def fail(message: str, at: Sequence[str | int]) -> ConfigError:
        return ConfigError(message, file=shown, line=node_line(root, at))

    policy_ids: list[PolicyIdUse] = []

    def known(prefix: str, setting: str, at: Sequence[str | int], *, whole: bool = False) -> bool:
        if not whole and is_rule_prefix(prefix):  # a whole ID: the caller looked it up
            return True
        key = prefix.strip().upper()
        if not custom or not (_POLICY_ID if whole else _POLICY_PREFIX).match(key):
            return False
        policy_ids.append(PolicyIdUse(key, prefix, setting, node_line(root, at)))
        return True

    for key, entries in (("select", raw.select), ("ignore", raw.ignore)):
        for index, entry in enumerate(entries):
            if not known(entry, key, [key, index]):
                raise fail(f"{key}: {_no_rule(entry)}", [key, index])
    overrides: dict[str, Severity] = {}
    for rule_key, severity in raw.severity.items():
        found = lookup(rule_key)
        if found is not None:
            rule_id = found.id
        elif known(rule_key, "severity", ["severity", rule_key], whole=True):
            rule_id = rule_key.strip().upper()
        else:
            raise fail(f"severity: unknown rule {rule_key!r}", ["severity", rule_key])
        try:
            overrides[rule_id] = Severity.parse(severity)
        except ValueError as exc:
            raise fail(f"severity.{rule_key}: {exc}", ["severity", rule_key]) from None
    fail_on: Severity | None = Severity.LOW
    if raw.fail_on is not None:
        try:
            fail_on = parse_fail_on(raw.fail_on)
        except ValueError as exc:
            raise fail(f"failOn: {exc} or 'never'", ["failOn"]) from None
    registries: dict[str, tuple[RegistryPattern, ...]] = {}
    for key, entries in (
        ("trustedRegistries", raw.trusted_registries),
        ("insecureRegistries", raw.insecure_registries),
    ):
        parsed = []
        for index, entry in enumerate(entries):
            try:
                parsed.append(parse_registry_pattern(entry))
            except ValueError as exc:
                raise fail(f"{key}[{index}]: {exc}", [key, index]) from None
        registries[key] = tuple(parsed)
    version = RuleParams().kubernetes_version
    if isinstance(raw.kubernetes_version, float):
        raise fail(
            f'kubernetesVersion: quote the version ("1.30"): YAML reads it as the number '
            f"{raw.kubernetes_version}",
            ["kubernetesVersion"],
        )
    if raw.kubernetes_version is not None:
        try:
            version = parse_kubernetes_version(raw.kubernetes_version)
        except ValueError as exc:
            raise fail(f"kubernetesVersion: {exc}", ["kubernetesVersion"]) from None
    resources: dict[str, tuple[str, ...]] = {}
    for key, names in (
        ("requiredLimits", raw.required_limits),
        ("requiredRequests", raw.required_requests),
    ):
        if names is None:
            resources[key] = RESOURCE_NAMES
            continue
        for index, name in enumerate(names):
            if name not in RESOURCE_NAMES:
                choices = ", ".join(RESOURCE_NAMES)
                raise fail(f"{key}[{index}]: {name!r} is not one of {choices}", [key, index])
        resources[key] = tuple(dict.fromkeys(names))
    rbac_policies = _rbac_policies(raw.rbac_policies, fail)
    admission = _admission(raw.admission, fail, known) if raw.admission else AdmissionSettings()
    exceptions = []
    for index, exception in enumerate(raw.exceptions):
        at: list[str | int] = ["exceptions", index]
        if not exception.rules:
            raise fail(f"exceptions[{index}]: list the rules it covers", [*at, "rules"])
        for rule_index, prefix in enumerate(exception.rules):
            if not known(prefix, f"exceptions[{index}].rules", [*at, "rules", rule_index]):
                raise fail(
                    f"exceptions[{index}].rules: {_no_rule(prefix)}",
                    [*at, "rules", rule_index],
                )
        if not exception.reason.strip():
            raise fail(f"exceptions[{index}]: a reason is required", [*at, "reason"])
        for key in ("namespaces", "kinds", "names"):
            if getattr(exception, key) == []:
                # "matches nothing" or "matches anything"? Neither is what anyone writes `[]` for
                # (a template's empty list, most likely): omitting the key means any.
                raise fail(
                    f"exceptions[{index}].{key}: an empty list; omit {key} to match any",
                    [*at, key],
                )
        for kind_index, kind in enumerate(exception.kinds or ()):
            if not _KIND.fullmatch(kind):
                raise fail(
                    f"exceptions[{index}].kinds[{kind_index}]: {kind!r} is not a kind: write "
                    "the kind alone, as in kinds: [Deployment] (no group, version or wildcard)",
                    [*at, "kinds", kind_index],
                )
        exceptions.append(
            PolicyException(
                rules=tuple(r.strip().upper() for r in exception.rules),
                reason=exception.reason.strip(),
                namespaces=tuple(exception.namespaces or ()),
                kinds=tuple(exception.kinds or ()),
                names=tuple(exception.names or ()),
                expires=_expiry(exception.expires, index, fail),
                file=shown,
                line=node_line(root, at),
            )
        )
    return Config(
        path=shown,
        select=tuple(s.strip().upper() for s in raw.select),
        ignore=tuple(s.strip().upper() for s in raw.ignore),
        severity_overrides=overrides,
        fail_on=fail_on,
        fail_on_set=raw.fail_on is not None,
        kubernetes_version_set=raw.kubernetes_version is not None,
        namespace=raw.namespace or None,
        params=RuleParams(
            trusted_registries=registries["trustedRegistries"],
            insecure_registries=registries["insecureRegistries"],
            kubernetes_version=version,
            required_limits=resources["requiredLimits"],
            required_requests=resources["requiredRequests"],
            rbac_policies=rbac_policies,
            policy_params=_policy_params(raw.policy_params, fail),
        ),
        allow_inline_suppressions=raw.allow_inline_suppressions,
        exceptions=tuple(exceptions),
        admission=admission,
        policy_ids=tuple(policy_ids),
    )


_KIND = re.compile(r"[A-Za-z][A-Za-z0-9]*")
"""A kind as an object's ``kind:`` spells it (matched case-insensitively)."""
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _expiry(
    value: object, index: int, fail: Callable[[str, Sequence[str | int]], ConfigError]
) -> date | None:
    """``exceptions[index].expires``: a date, bare (YAML reads ``2027-06-30`` as one) or
    quoted; the last day the exception applies, by UTC's calendar (``engine.utc_today``)."""
    label = f"exceptions[{index}].expires"
    at: list[str | int] = ["exceptions", index, "expires"]
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError as exc:
            raise fail(f"{label}: invalid date ({exc})", at) from None
    if isinstance(value, datetime):
        problem = "a date and time; give the date alone (it applies through that day, UTC)"
    elif isinstance(value, str):
        problem = f"{value!r} is not a date"
    else:
        problem = f"expected a date, got {_TYPE_NAMES.get(type(value), type(value).__name__)}"
    raise fail(f"{label}: {problem}: write YYYY-MM-DD, e.g. 2027-06-30", at)


_TYPE_NAMES = {
    bool: "a boolean",
    int: "a number",
    float: "a number",
    list: "a list",
    dict: "a mapping",
}


_POLICY_ID = re.compile(r"^[A-Z]{1,10}\d{3,6}$")  # as policies.fields.ID_PATTERN
_POLICY_PREFIX = re.compile(r"^[A-Z]{1,10}\d{0,6}$")


def _policy_params(
    entries: dict[str, dict[str, Any]], fail: Callable[[str, Sequence[str | int]], ConfigError]
) -> dict[str, dict[str, Any]]:
    """``policyParams:``: rule ID → what that CEL policy sees as ``params``."""
    for rule_id in entries:
        if not _POLICY_ID.match(rule_id):
            raise fail(
                f"policyParams: {rule_id!r} is not a policy ID (upper-case letters then digits)",
                ["policyParams", rule_id],
            )
    return entries


def _admission(
    entry: _AdmissionEntry,
    fail: Callable[[str, Sequence[str | int]], ConfigError],
    known: Callable[[str, str, Sequence[str | int]], bool],
) -> AdmissionSettings:
    choices = ", ".join(a.value for a in Action)

    def action(text: str, at: Sequence[str | int]) -> Action:
        try:
            return Action(text.strip().lower())
        except ValueError:
            raise fail(f"{format_path(tuple(at))}: {text!r} is not one of {choices}", at) from None

    actions: dict[str, Action] = {}
    for key, text in entry.actions.items():
        at = ["admission", "actions", key]
        if not known(key, "admission.actions", at):
            raise fail(f"admission.actions: {_no_rule(key)}", at)
        actions[key.strip().upper()] = action(text, at)
    exempt = entry.exempt or _AdmissionExempt()
    for index, account in enumerate(exempt.service_accounts):
        if "/" not in account:
            raise fail(
                f"admission.exempt.serviceAccounts[{index}]: {account!r} is not NAMESPACE/NAME",
                ["admission", "exempt", "serviceAccounts", index],
            )
    if entry.on_error.strip().lower() not in ("deny", "allow"):
        raise fail(
            f"admission.onError: {entry.on_error!r} is not deny or allow", ["admission", "onError"]
        )
    defaults = AdmissionSettings()
    return AdmissionSettings(
        deny_on_error=entry.on_error.strip().lower() == "deny",
        default_action=action(entry.default_action, ["admission", "defaultAction"]),
        actions=actions,
        allow_existing_violations=entry.allow_existing_violations,
        exempt_namespaces=(
            tuple(exempt.namespaces)
            if exempt.namespaces is not None
            else defaults.exempt_namespaces
        ),
        exempt_users=tuple(exempt.users),
        exempt_groups=tuple(exempt.groups),
        exempt_service_accounts=tuple(exempt.service_accounts),
    )


def _rbac_policies(
    entries: Sequence[_RbacPolicyEntry],
    fail: Callable[[str, Sequence[str | int]], ConfigError],
) -> tuple[AccessPolicy, ...]:
    policies: list[AccessPolicy] = []
    names: set[str] = set()
    for index, entry in enumerate(entries):
        at: list[str | int] = ["rbacPolicies", index]
        label = f"rbacPolicies[{index}]"
        if not entry.name.strip():
            raise fail(f"{label}: a name is required", [*at, "name"])
        if entry.name in names:
            raise fail(f"{label}: another policy is named {entry.name!r}", [*at, "name"])
        names.add(entry.name)
        if not entry.verbs:
            raise fail(f"{label}: list the verbs it reserves", [*at, "verbs"])
        for verb_index, verb in enumerate(entry.verbs):
            if verb == "*" or not verb.strip():
                raise fail(
                    f"{label}.verbs[{verb_index}]: name the verbs (get, list, create, ...); "
                    f"{verb!r} is not one",
                    [*at, "verbs", verb_index],
                )
        if not entry.resources:
            raise fail(f"{label}: list the resources it covers", [*at, "resources"])
        resources = []
        for resource_index, text in enumerate(entry.resources):
            try:
                if text.startswith("/"):
                    raise QueryError("non-resource URLs are not supported in rbacPolicies")
                group, resource, sub, _ = parse_target(text)
            except QueryError as exc:
                raise fail(
                    f"{label}.resources[{resource_index}]: {exc}",
                    [*at, "resources", resource_index],
                ) from None
            resources.append((group, f"{resource}/{sub}" if sub else resource))
        allowed = []
        for subject_index, text in enumerate(entry.allowed_subjects):
            try:
                allowed.append(SubjectPattern.parse(text))
            except ValueError as exc:
                raise fail(
                    f"{label}.allowedSubjects[{subject_index}]: {exc}",
                    [*at, "allowedSubjects", subject_index],
                ) from None
        policies.append(
            AccessPolicy(
                name=entry.name,
                verbs=tuple(dict.fromkeys(v.strip() for v in entry.verbs)),
                resources=tuple(resources),
                allowed=tuple(allowed),
                namespaces=tuple(entry.namespaces),
                reason=entry.reason.strip(),
            )
        )
    return tuple(policies)


def parse_kubernetes_version(text: str) -> tuple[int, int]:
    """``1.30``, ``v1.30`` or ``1.30.2`` → ``(1, 30)``; raises ``ValueError``."""
    match = _KUBERNETES_VERSION.fullmatch(str(text).strip())
    if match is None:
        raise ValueError(f"{text!r} is not a Kubernetes version such as 1.30")
    return int(match.group(1)), int(match.group(2))


def parse_fail_on(text: str) -> Severity | None:
    """``--fail-on`` value: a severity, or ``never``; raises ``ValueError``."""
    if text.strip().lower() in (NEVER, "none"):
        return None
    return Severity.parse(text)
