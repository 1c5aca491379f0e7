"""The result of one scan: what every reporter renders and what ``--format json`` emits.

``SCHEMA_VERSION`` follows semantic versioning: new optional fields raise the minor version, any
change that can break a consumer raises the major version. The JSON Schema is generated from
these types (``kubeward schema``) and published as ``docs/schema/report-v1.json``.
"""

from __future__ import annotations

import enum

import msgspec

from kubeward.model.findings import Finding, Problem

SCHEMA_VERSION = "1.3"
"""1.1: live-cluster scans (``scan.cluster``, ``coverage``, ``summary.coverageGaps``).
1.2: ``scan.kubernetesVersion``. 1.3: ``rules[].description``; ``rules[].helpUri`` is null for
users' policies (nothing released carried the earlier ``file://`` value)."""
DOCS_URL = "https://github.com/kubeward/kubeward/blob/main/docs"


class Verdict(enum.StrEnum):
    PASS = "pass"  # noqa: S105 - a verdict, not a password
    """No finding at or above the failing severity, no error."""
    FAIL = "fail"
    """At least one finding at or above the failing severity."""
    ERROR = "error"
    """Something could not be judged (unreadable input, render failure, rule crash)."""


class ToolInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    name: str
    version: str


class ClusterInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """The live cluster a scan read (``kubeward scan --cluster``)."""

    context: str
    server: str
    namespaces: list[str]
    """Namespaces scanned; empty = all."""


class CoverageGap(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """Part of a live cluster kubeward could not read: findings there are unknown."""

    verb: str
    resource: str
    group: str
    """API group; ``""`` = core."""
    namespace: str | None
    """null = cluster-wide."""
    message: str
    """The API server's reason (e.g. which user lacks which permission)."""


class ScanInfo(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    started_at: str
    """UTC, ISO 8601."""
    duration_seconds: float
    inputs: list[str]
    """Paths as given on the command line (``-`` = stdin)."""
    namespace: str | None
    """Deploy-time namespace assumed for namespace-less manifests."""
    fail_on: str | None
    """Lowest severity that fails the scan; null = never fail on findings."""
    config: str | None
    """Configuration file used, if any."""
    cluster: ClusterInfo | None = None
    """Set when a live cluster was scanned instead of files."""
    kubernetes_version: str | None = None
    """The Kubernetes version (``1.35``) the objects were judged for: configured, or for a live
    cluster without configuration, the API server's."""


class SeverityCounts(msgspec.Struct, kw_only=True, rename="camel"):
    critical: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0
    info: int = 0


class Summary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    verdict: Verdict
    files: int
    documents: int
    skipped_documents: int
    objects: int
    findings: int
    suppressed: int
    errors: int
    warnings: int
    by_severity: SeverityCounts
    rules_evaluated: int
    coverage_gaps: int = 0


class RuleSummary(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: str
    name: str
    title: str
    severity: str
    """Effective severity (after configured overrides)."""
    scope: str
    description: str = ""
    """What the rule flags, in a sentence or two: the first paragraph of a built-in rule's
    page, a users' policy's description (else its title). Schema 1.3."""
    remediation: str
    help_uri: str | None
    """The rule's documentation page; null for a users' policy (schema 1.3: until then, the
    ``file://`` URI of the policy file, useless off the machine that scanned)."""
    passed: int
    failed: int
    skipped: int
    errored: int
    skip_reasons: list[str]


class ControlResult(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: str
    title: str
    status: str
    """``pass``, ``fail``, ``manual`` (no rule judges it) or ``skipped`` (its rules were)."""
    rules: list[str]
    findings: int


class FrameworkResult(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    id: str
    title: str
    url: str
    passed: int
    failed: int
    manual: int
    skipped: int
    controls: list[ControlResult]


class ScanResult(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    schema_version: str
    tool: ToolInfo
    scan: ScanInfo
    summary: Summary
    findings: list[Finding]
    suppressed: list[Finding]
    errors: list[Problem]
    warnings: list[Problem]
    rules: list[RuleSummary]
    frameworks: list[FrameworkResult] = []
    """Per-control results of the frameworks asked for with ``--framework``."""
    coverage: list[CoverageGap] = []
    """Live-cluster scans: what could not be read (also listed in ``errors``, or in
    ``warnings`` with ``--allow-partial``)."""
