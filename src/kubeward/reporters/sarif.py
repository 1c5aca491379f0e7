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

import gc
import hashlib
import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import orjson

from kubeward.model import (
    Finding,
    ObjectRef,
    Problem,
    RuleSummary,
    ScanResult,
    Severity,
    Verdict,
)
from kubeward.reporters._text import without_surrogates
from kubeward.rules import lookup

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://github.com/kubeward/kubeward"
# GitHub code scanning refuses a whole upload whose run has more results than this ("SARIF
# results exceed hard limit"); of those it takes, it shows the 5,000 most severe.
RESULTS_PER_RUN_LIMIT = 25_000

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


def _fingerprint(finding: Finding, obj: str) -> str:
    # surrogatepass: a lone surrogate in a name hashes too (the same bytes as UTF-8 otherwise)
    key = f"{finding.rule_id}|{obj}|{finding.path}".encode("utf-8", "surrogatepass")
    return hashlib.sha256(key).hexdigest()[:32]


class _Made:
    """Parts of results shared by many: made once (percent-encoding a file's path per finding
    was a fifth of the report's time on a large scan). orjson writes a part where it is."""

    def __init__(self) -> None:
        self.artifacts: dict[str, dict[str, str]] = {}
        # findings come grouped by object: the last object's name and logical location
        self.object: ObjectRef | None = None
        self.name = ""
        self.logical: list[dict[str, str]] = []

    def artifact(self, file: str) -> dict[str, str]:
        if (artifact := self.artifacts.get(file)) is None:
            artifact = self.artifacts[file] = {"uri": _uri(file)}
        return artifact

    def name_of(self, obj: ObjectRef) -> str:
        if obj is not self.object:
            self.object, self.name = obj, str(obj)
            self.logical = [{"fullyQualifiedName": self.name, "kind": "resource"}]
        return self.name


def _result(finding: Finding, rule_index: dict[str, int], made: _Made) -> dict[str, Any]:
    obj = made.name_of(finding.object)
    location: dict[str, Any] = {}
    if finding.file:
        physical: dict[str, Any] = {"artifactLocation": made.artifact(finding.file)}
        if finding.line:
            physical["region"] = {"startLine": finding.line}
        location["physicalLocation"] = physical
    location["logicalLocations"] = made.logical
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index[finding.rule_id],
        "level": _LEVEL[finding.severity],
        "message": {"text": f"{obj}: {finding.message}"},
        "locations": [location],
        "partialFingerprints": {"kubeward/v1": _fingerprint(finding, obj)},
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


def results_over_limit(result: ScanResult) -> str | None:
    """Why GitHub code scanning will reject this report, or None: one run holds a result per
    finding, suppressed ones included, and an upload of a run with more than
    ``RESULTS_PER_RUN_LIMIT`` is refused whole (none of its alerts are shown)."""
    count = len(result.findings) + len(result.suppressed)
    if count <= RESULTS_PER_RUN_LIMIT:
        return None
    return (
        f"the SARIF report has {count:,} results ({len(result.findings):,} findings, "
        f"{len(result.suppressed):,} suppressed); GitHub code scanning rejects an upload with more "
        f"than {RESULTS_PER_RUN_LIMIT:,} results in a run. All are in the report: to upload, "
        "leave out rules (--ignore or --select; suppressed findings count too) or scan fewer "
        "paths per job, each uploaded with its own category; keep the whole report as a build "
        "artifact (-f json -o FILE)"
    )


def render(result: ScanResult) -> bytes:
    return b"".join(render_chunks(result))


# Results encoded per piece of ``render_chunks``: ~10 MB of SARIF.
CHUNK_RESULTS = 10_000
_RESULTS_MARKER = b'"results": []'
# A result is four levels deep (log, runs, run, results): a chunk is encoded as deep, inside
# three lists, so that orjson indents it as in the document; the lists are cut off again.
_NESTED_START = b"[\n  [\n    [\n      ["
_NESTED_END = b"\n      ]\n    ]\n  ]\n]"


def render_chunks(result: ScanResult, chunk: int = CHUNK_RESULTS) -> Iterator[bytes | memoryview]:
    """``render(result)`` in pieces, to be written one after the other.

    Why: a result is a tree of a dozen dicts; built all at once for a large scan (173,000
    findings) they took half a gigabyte next to the scan result, and the encoded log as much
    again. Here ``chunk`` results at a time are built, encoded and let go. The log around them
    is encoded with an empty list of results, and each chunk at the depth of the results, so
    the pieces concatenate to the log encoded at once, byte for byte.
    """
    rule_index = {summary.id: index for index, summary in enumerate(result.rules)}
    skeleton = _encode(_log(result, [])) + b"\n"
    # In JSON text a quote inside a string is escaped, so this can only be the run's results.
    cut = skeleton.index(_RESULTS_MARKER) + len(_RESULTS_MARKER) - 1
    findings = list(itertools.chain(result.findings, result.suppressed))
    if not findings:
        yield skeleton
        return
    yield memoryview(skeleton)[:cut]
    made = _Made()
    for start in range(0, len(findings), chunk):
        encoded = _encode([[[_results(findings[start : start + chunk], rule_index, made)]]])
        if start:
            yield b","
        # "\n        {...},\n        {...}": the entries, without the brackets
        yield memoryview(encoded)[len(_NESTED_START) : -len(_NESTED_END)]
    yield b"\n      " + skeleton[cut:]


def _results(
    findings: list[Finding], rule_index: dict[str, int], made: _Made
) -> list[dict[str, Any]]:
    # A chunk is ~100,000 dicts, none in a cycle: the cyclic collector, run every 700
    # allocations, would traverse them again and again (a third of the report's time).
    paused = gc.isenabled()
    gc.disable()
    try:
        return [_result(f, rule_index, made) for f in findings]
    finally:
        if paused:
            gc.enable()


def _log(result: ScanResult, results: list[dict[str, Any]]) -> dict[str, Any]:
    notifications = [_notification(p, "error") for p in result.errors]
    notifications.extend(_notification(p, "warning") for p in result.warnings)
    if (over := results_over_limit(result)) is not None:
        notifications.append({"level": "warning", "message": {"text": f"kubeward: {over}"}})
    return {
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
                        "rules": [_rule(summary) for summary in result.rules],
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


def _encode(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2)
    except orjson.JSONEncodeError:
        # A lone surrogate in a name or message (``kubeward.reporters._text``): the rare piece
        # that has one is walked, the common one is not.
        return orjson.dumps(without_surrogates(value), option=orjson.OPT_INDENT_2)
