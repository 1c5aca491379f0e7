"""The shape of a rule: a frozen ``Rule`` value made by a decorator, with no global state.

A rule is one pure function in one module. The module docstring is the rule's documentation
(sections ``## What it does``, ``## Why is this bad?``, ``## Example``); the decorator records
the metadata next to the function and returns a ``Rule``. The catalog (``rules/__init__.py``)
lists every rule explicitly; nothing registers itself on import.
"""

from __future__ import annotations

import enum
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from kubeward.errors import RuleDefinitionError
from kubeward.model import Inventory, K8sObject, Severity, Violation
from kubeward.model.inventory import NamespaceLookup
from kubeward.model.signatures import SignatureVerdict
from kubeward.rbac.access import AccessPolicy
from kubeward.rules._common.images import RegistryPattern


class Scope(enum.StrEnum):
    """What a rule needs to see."""

    OBJECT = "object"
    """One object alone: runs unchanged in CI, at admission and in cluster audits."""
    INVENTORY = "inventory"
    """The object plus every other object of the scan (bindings, policies, service accounts)."""


class Status(enum.StrEnum):
    """A rule's lifecycle stage."""

    STABLE = "stable"
    PREVIEW = "preview"
    DEPRECATED = "deprecated"


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleParams:
    """User-configurable inputs of parameterised rules (from ``kubeward.yaml``)."""

    trusted_registries: tuple[RegistryPattern, ...] = ()
    """Registry hosts or host/path prefixes images may come from; empty = not configured."""
    insecure_registries: tuple[RegistryPattern, ...] = ()
    """Registries known to be served over plain HTTP or with TLS verification off."""
    kubernetes_version: tuple[int, int] = (1, 35)
    """Kubernetes (major, minor) the objects are judged for: some controls are versioned
    (e.g. the Pod Security Standards' safe sysctls and user-namespace relaxations)."""
    required_limits: tuple[str, ...] = ("memory", "cpu")
    """Resources every container must set a limit for (W022). Teams that avoid CPU limits on
    purpose (CPU throttling) configure ``[memory]``."""
    required_requests: tuple[str, ...] = ("memory", "cpu")
    """Resources every container must request (W023)."""
    rbac_policies: tuple[AccessPolicy, ...] = ()
    """Who alone may hold which powers where (R027); empty = not configured."""
    image_signatures: Mapping[str, SignatureVerdict] | None = field(default=None, hash=False)
    """Verdicts by image reference, computed by the caller before the rules run (I007): the
    registry lookups are I/O, the rule only reports. ``None``: verification is off."""
    policy_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)
    """``policyParams:``: what users' CEL policies see as ``params``, by rule ID (instead of
    the policy's own ``spec.params``)."""
    namespaces: NamespaceLookup | None = field(default=None, hash=False, compare=False)
    """Where users' CEL policies find ``namespaceObject``; ``None``: the engine gives the
    evaluated inventory (the webhook gives its watch of the cluster's Namespaces)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """Which objects a rule looks at."""

    kinds: frozenset[str] = frozenset()
    """Exact kinds (``Deployment``, ``ConfigMap``)."""
    workloads: bool = False
    """Every object that carries a pod spec, including custom resources such as Argo Rollouts."""
    every_kind: bool = False

    def matches(self, obj: K8sObject) -> bool:
        return (
            self.every_kind
            or obj.kind in self.kinds
            or (self.workloads and obj.pod_spec is not None)
        )

    def describe(self) -> str:
        parts = []
        if self.every_kind:
            return "every kind"
        if self.workloads:
            parts.append("workloads (any object with a pod spec)")
        parts.extend(sorted(self.kinds))
        return ", ".join(parts)


WORKLOADS = Target(workloads=True)

ObjectCheck: TypeAlias = Callable[[K8sObject, RuleParams], Iterator[Violation]]
InventoryCheck: TypeAlias = Callable[[K8sObject, Inventory, RuleParams], Iterator[Violation]]
SkipCheck: TypeAlias = Callable[[RuleParams], str | None]


@dataclass(frozen=True, kw_only=True, slots=True)
class Rule:
    """One rule of the catalog. Build it with ``@rule`` or ``@inventory_rule``."""

    id: str
    name: str
    title: str
    severity: Severity
    target: Target
    scope: Scope
    remediation: str
    doc: str
    module: str
    check: ObjectCheck | InventoryCheck
    skip_unless: SkipCheck | None = None
    status: Status = Status.STABLE
    aliases: tuple[str, ...] = ()
    references: tuple[str, ...] = field(default=())
    waivable_in_manifest: bool = True
    """Whether a ``kubeward.io/ignore.<ID>`` annotation may suppress it. False for controls
    whose whole point is that the deployer cannot opt out (image signatures): only an
    exception in kubeward.yaml, which the platform team owns, can."""
    reads: frozenset[str] = frozenset()
    """Inventory rules: the other kinds whose *absence* the rule would report (N003: no
    NetworkPolicy selects these pods). Where one of them could not be read (a live scan's
    coverage gap), the rule does not judge: an unread kind is not a missing one."""

    def run_object(self, obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
        assert self.scope is Scope.OBJECT  # noqa: S101 - programming error, not input
        check: ObjectCheck = self.check  # type: ignore[assignment]
        return check(obj, params)

    def run_inventory(
        self, obj: K8sObject, inventory: Inventory, params: RuleParams
    ) -> Iterator[Violation]:
        assert self.scope is Scope.INVENTORY  # noqa: S101 - programming error, not input
        check: InventoryCheck = self.check  # type: ignore[assignment]
        return check(obj, inventory, params)

    @property
    def summary(self) -> str:
        """The first paragraph of ``## What it does``."""
        match = re.search(r"## What it does\s*\n(.+?)(?:\n\s*\n|\Z)", self.doc, re.S)
        return " ".join(match.group(1).split()) if match else self.title


ID_PATTERN = re.compile(r"^[AINSWRMHETG]\d{3}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
REQUIRED_SECTIONS = ("## What it does", "## Why is this bad?", "## Example")


def _make(
    *,
    id: str,
    name: str,
    title: str,
    severity: Severity,
    target: Target,
    remediation: str,
    scope: Scope,
    skip_unless: SkipCheck | None,
    status: Status,
    aliases: Iterable[str],
    references: Iterable[str],
    fn: ObjectCheck | InventoryCheck,
    waivable_in_manifest: bool = True,
    reads: Iterable[str] = (),
) -> Rule:
    module = sys.modules[fn.__module__]
    doc = (module.__doc__ or "").strip()
    if not ID_PATTERN.match(id):
        raise RuleDefinitionError(
            f"{fn.__module__}: rule ID {id!r} is not a family letter + 3 digits"
        )
    if not NAME_PATTERN.match(name):
        raise RuleDefinitionError(f"{id}: name {name!r} is not kebab-case")
    return Rule(
        id=id,
        name=name,
        title=title,
        severity=severity,
        target=target,
        scope=scope,
        remediation=remediation,
        doc=doc,
        module=fn.__module__,
        check=fn,
        skip_unless=skip_unless,
        status=status,
        aliases=tuple(aliases),
        references=tuple(references),
        waivable_in_manifest=waivable_in_manifest,
        reads=frozenset(reads),
    )


def rule(
    *,
    id: str,
    name: str,
    title: str,
    severity: Severity,
    target: Target,
    remediation: str,
    skip_unless: SkipCheck | None = None,
    status: Status = Status.STABLE,
    aliases: Iterable[str] = (),
    references: Iterable[str] = (),
    waivable_in_manifest: bool = True,
) -> Callable[[ObjectCheck], Rule]:
    """Declare an object-scope rule: ``fn(obj, params) -> Iterator[Violation]``."""

    def wrap(fn: ObjectCheck) -> Rule:
        return _make(
            id=id, name=name, title=title, severity=severity, target=target,
            remediation=remediation, scope=Scope.OBJECT, skip_unless=skip_unless,
            status=status, aliases=aliases, references=references, fn=fn,
            waivable_in_manifest=waivable_in_manifest,
        )  # fmt: skip

    return wrap


def inventory_rule(
    *,
    id: str,
    name: str,
    title: str,
    severity: Severity,
    target: Target,
    remediation: str,
    skip_unless: SkipCheck | None = None,
    status: Status = Status.STABLE,
    aliases: Iterable[str] = (),
    references: Iterable[str] = (),
    reads: Iterable[str] = (),
) -> Callable[[InventoryCheck], Rule]:
    """Declare an inventory-scope rule: ``fn(obj, inventory, params) -> Iterator[Violation]``.
    ``reads``: the kinds whose absence it reports (see ``Rule.reads``)."""

    def wrap(fn: InventoryCheck) -> Rule:
        return _make(
            id=id, name=name, title=title, severity=severity, target=target,
            remediation=remediation, scope=Scope.INVENTORY, skip_unless=skip_unless,
            status=status, aliases=aliases, references=references, fn=fn, reads=reads,
        )  # fmt: skip

    return wrap
