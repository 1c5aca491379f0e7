"""SARIF 2.1.0 for code scanning: one run, the evaluated rules as the driver's rules.

- ``ruleId`` is the rule ID; rule help is the rule's documentation (Markdown and text);
  ``properties.security-severity`` lets GitHub rank results (critical 9.5 … info 1.0).
- Locations are the manifest file and line, plus the object as a logical location; objects
  without a file (live clusters) carry only the logical location.
- Suppressed findings are included with their ``suppressions`` (kind ``external`` for config
  exceptions, ``inSource`` for annotations) so code scanning shows them as dismissed.
- Errors (unparseable files, render failures) are ``toolExecutionNotifications``.
"""

from __future__ import annotations

import hashlib
from typing import Any
from urllib.parse import quote

import orjson

from kubeward.model import Finding, Problem, RuleSummary, ScanResult, Severity, Verdict
from kubeward.reporters._text import without_surrogates
from kubeward.rules import lookup

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/kubeward/kubeward"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "1.0",
}


def _uri(path: str) -> str:
    """``path`` as a URI reference: every byte but the unreserved and the separators
    percent-encoded. A colon too: ``a:b.yaml`` would be the scheme ``a`` (RFC 3986, 4.2). A file
    name that is not UTF-8 is its bytes as they are on disk (Python holds them as surrogates)."""
    try:
        raw = path.replace("\\", "/").encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate that is no undecodable byte
        raw = without_surrogates(path.replace("\\", "/")).encode("utf-8")
    return quote(raw, safe="/@-._~!$&'()*+,;=")


def _location(file: str | None, line: int | None, logical: str | None) -> dict[str, Any]:
    location: dict[str, Any] = {}
    if file:
        physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(file)}}
        if line:
            physical["region"] = {"startLine": line}
        location["physicalLocation"] = physical
    if logical:
        location["logicalLocations"] = [{"fullyQualifiedName": logical, "kind": "resource"}]
    return location


def _fingerprint(finding: Finding) -> str:
    # surrogatepass: a lone surrogate in a name hashes too (the same bytes as UTF-8 otherwise)
    key = f"{finding.rule_id}|{finding.object}|{finding.path}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(key).hexdigest()[:32]


def _result(finding: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index[finding.rule_id],
        "level": _LEVEL[finding.severity],
        "message": {"text": f"{finding.object}: {finding.message}"},
        "locations": [_location(finding.file, finding.line, str(finding.object))],
        "partialFingerprints": {"kubeward/v1": _fingerprint(finding)},
        "properties": {"severity": finding.severity.value, "path": finding.path},
    }
    if finding.suppression is not None:
        result["suppressions"] = [
            {
                "kind": "inSource" if finding.suppression.kind == "annotation" else "external",
                "status": "accepted",
                "justification": finding.suppression.reason,
            }
        ]
    return result


def _notification(problem: Problem, level: str) -> dict[str, Any]:
    note: dict[str, Any] = {"level": level, "message": {"text": problem.message}}
    location = _location(
        problem.file, problem.line, str(problem.object) if problem.object else None
    )
    if location:
        note["locations"] = [location]
    if problem.rule_id:
        note["associatedRule"] = {"id": problem.rule_id}
    return note


def _rule(summary: RuleSummary) -> dict[str, Any]:
    """A ``reportingDescriptor``: a built-in rule's help is its page; a users' policy's, its
    description (the policy file is on the scanning machine only: no ``helpUri``)."""
    builtin = lookup(summary.id)
    doc = builtin.doc if builtin is not None else summary.description or summary.title
    severity = Severity(summary.severity)
    descriptor: dict[str, Any] = {
        "id": summary.id,
        "name": summary.name,
        "shortDescription": {"text": summary.title},
        "fullDescription": {"text": summary.description or summary.title},
        "help": {
            "text": f"{doc}\n\nRemediation: {summary.remediation}",
            "markdown": f"{doc}\n\n**Remediation:** {summary.remediation}",
        },
        "defaultConfiguration": {"level": _LEVEL[severity]},
        "properties": {
            "security-severity": _SECURITY_SEVERITY[severity],
            "tags": ["security", "kubernetes"],
            "precision": "high",
        },
    }
    if summary.help_uri:
        descriptor["helpUri"] = summary.help_uri
    return descriptor


def render(result: ScanResult) -> bytes:
    rules: list[dict[str, Any]] = []
    rule_index: dict[str, int] = {}
    for summary in result.rules:
        rule_index[summary.id] = len(rules)
        rules.append(_rule(summary))
    results = [_result(f, rule_index) for f in result.findings]
    results.extend(_result(f, rule_index) for f in result.suppressed)
    notifications = [_notification(p, "error") for p in result.errors]
    notifications.extend(_notification(p, "warning") for p in result.warnings)
    log = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kubeward",
                        "version": result.tool.version,
                        "semanticVersion": result.tool.version,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": result.summary.verdict is not Verdict.ERROR,
                        "toolExecutionNotifications": notifications,
                    }
                ],
                "results": results,
                "columnKind": "unicodeCodePoints",
            }
        ],
    }
    try:
        return orjson.dumps(log, option=orjson.OPT_INDENT_2) + b"\n"
    except orjson.JSONEncodeError:
        # A lone surrogate in a name or message (``kubeward.reporters._text``): the rare log
        # that has one is walked, the common one is not.
        return orjson.dumps(without_surrogates(log), option=orjson.OPT_INDENT_2) + b"\n"
