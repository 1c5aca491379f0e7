"""The data kubeward reasons about: objects, inventories, findings. Pure values, no I/O."""

from kubeward.model.findings import (
    Finding,
    ObjectRef,
    Path,
    PathPart,
    Problem,
    ProblemKind,
    RenderedFrom,
    RuleOutcome,
    Severity,
    Suppression,
    Violation,
    format_path,
)
from kubeward.model.inventory import Inventory
from kubeward.model.objects import Container, K8sObject, Origin, Raw
from kubeward.model.results import (
    DOCS_URL,
    SCHEMA_VERSION,
    RuleSummary,
    ScanInfo,
    ScanResult,
    SeverityCounts,
    Summary,
    ToolInfo,
    Verdict,
)

__all__ = [
    "DOCS_URL",
    "SCHEMA_VERSION",
    "Container",
    "Finding",
    "Inventory",
    "K8sObject",
    "ObjectRef",
    "Origin",
    "Path",
    "PathPart",
    "Problem",
    "ProblemKind",
    "Raw",
    "RenderedFrom",
    "RuleOutcome",
    "RuleSummary",
    "ScanInfo",
    "ScanResult",
    "Severity",
    "SeverityCounts",
    "Summary",
    "Suppression",
    "ToolInfo",
    "Verdict",
    "Violation",
    "format_path",
]
