"""JUnit XML: one ``testsuite`` per rule, one ``testcase`` per object the rule failed on.

Objects that passed a rule are summed up in one passing test case per rule (a report with a
test case per object and rule would run to millions of entries on a cluster). Scan errors
(unreadable files, render failures, rule crashes) form a suite of their own, so CI marks the
run as broken rather than green. Coverage gaps of a live scan are among those errors; with
``--allow-partial`` (where they are warnings) they form a suite ``kubeward coverage`` of skipped
test cases, one per gap, so that what was not read is never missing from the report.

XML 1.0 cannot carry most control characters (a NUL or ESC in an object's name or in a message
quoting its content): each such character is written as its escape (``\\x1b``), whichever
attribute or text it is in.

The document is written as text, a test suite at a time, in the form ElementTree's ``indent``
and ``tostring`` gave it (two-space indentation, ``<tag ... />`` when empty, its escapes): a
tree of a large scan's 170,000 test cases, serialised by ElementTree's Python code, took longer
than the scan's rules and twice the report's size in memory.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from kubeward.model import CoverageGap, Finding, ProblemKind, RuleSummary, ScanResult

# everything XML 1.0 forbids: C0 controls but tab, LF and CR; surrogates; U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _xml(value: str) -> str:
    """``value`` with what XML 1.0 cannot carry written as escapes (a printable string has
    none of it: the common case skips the expression)."""
    return value if value.isprintable() else _NOT_XML.sub(_escape, value)


def _text(value: str) -> str:
    """Character data, escaped as ElementTree escapes it."""
    value = _xml(value)
    if "&" in value:
        value = value.replace("&", "&amp;")
    if "<" in value:
        value = value.replace("<", "&lt;")
    if ">" in value:
        value = value.replace(">", "&gt;")
    return value


def _attribute(value: str) -> str:
    """An attribute's value, escaped as ElementTree escapes it (line breaks and tabs too)."""
    value = _text(value)
    if '"' in value:
        value = value.replace('"', "&quot;")
    if "\r" in value:
        value = value.replace("\r", "&#13;")
    if "\n" in value:
        value = value.replace("\n", "&#10;")
    if "\t" in value:
        value = value.replace("\t", "&#09;")
    return value


def _start(tag: str, attributes: dict[str, str]) -> str:
    shown = "".join(f' {name}="{_attribute(value)}"' for name, value in attributes.items())
    return f"<{tag}{shown}"


def _element(indent: str, tag: str, attributes: dict[str, str], text: str | None = None) -> str:
    """An element without children, on a line of its own."""
    if text:
        return f"{indent}{_start(tag, attributes)}>{_text(text)}</{tag}>\n"
    return f"{indent}{_start(tag, attributes)} />\n"


def _case(attributes: dict[str, str], child: str | None = None) -> str:
    """A test case (in a suite), with its one child element if it has one."""
    if child is None:
        return f"    {_start('testcase', attributes)} />\n"
    return f"    {_start('testcase', attributes)}>\n{child}    </testcase>\n"


def _suite(attributes: dict[str, str], body: str) -> str:
    return f"  {_start('testsuite', attributes)}>\n{body}  </testsuite>\n"


def _counts(tests: int, failures: int, errors: int, skipped: int) -> dict[str, str]:
    return {
        "tests": str(tests),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": str(skipped),
    }


def _where(finding: Finding) -> str:
    if finding.file and finding.line:
        return f"{finding.file}:{finding.line}"
    return finding.file or str(finding.object)


def _gap_name(gap: CoverageGap) -> str:
    resource = f"{gap.resource}.{gap.group}" if gap.group else gap.resource
    where = f"in namespace {gap.namespace}" if gap.namespace else "cluster-wide"
    return f"{gap.verb} {resource} {where}"


def _coverage_gaps(result: ScanResult) -> list[CoverageGap]:
    """Gaps that are warnings (``--allow-partial``): a suite of skipped test cases."""
    if not result.coverage or any(p.kind is ProblemKind.COVERAGE for p in result.errors):
        return []  # none, or already in the errors suite
    return result.coverage


def render(result: ScanResult) -> str:
    return "".join(render_chunks(result))


def render_chunks(result: ScanResult) -> Iterator[str]:
    """The document a test suite at a time (the totals on its root are counted first)."""
    by_rule: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for finding in result.findings:
        by_rule[finding.rule_id][str(finding.object)].append(finding)
    gaps = _coverage_gaps(result)
    total_tests = len(result.errors) + len(gaps)
    total_failures = total_skipped = 0
    for rule in result.rules:
        failing = len(by_rule.get(rule.id, ()))
        total_tests += failing + bool(rule.passed) + bool(rule.skipped)
        total_failures += failing
        total_skipped += bool(rule.skipped)
    total_skipped += len(gaps)
    root = _start(
        "testsuites",
        {
            "name": "kubeward",
            **_counts(total_tests, total_failures, len(result.errors), total_skipped),
            "time": f"{result.scan.duration_seconds:.3f}",
        },
    )
    head = '<?xml version="1.0" encoding="UTF-8"?>\n'
    if not (result.rules or result.errors or gaps):
        yield f"{head}{root} />\n"
        return
    yield f"{head}{root}>\n"
    for rule in result.rules:
        yield _rule_suite(rule, by_rule.get(rule.id, {}))
    if result.errors:
        yield _errors_suite(result)
    if gaps:
        cases = "".join(
            _case(
                {"classname": "coverage", "name": _gap_name(gap)},
                _element("      ", "skipped", {"message": f"not read: {gap.message}"}),
            )
            for gap in gaps
        )
        yield _suite({"name": "kubeward coverage", **_counts(len(gaps), 0, 0, len(gaps))}, cases)
    yield "</testsuites>\n"


def _rule_suite(rule: RuleSummary, failing: dict[str, list[Finding]]) -> str:
    classname = f"{rule.id}.{rule.name}"
    parts = [
        "    <properties>\n",
        _element("      ", "property", {"name": "severity", "value": rule.severity}),
        "    </properties>\n",
    ]
    for obj, findings in failing.items():
        first = findings[0]
        attributes = {"classname": classname, "name": obj, "file": first.file or ""}
        if first.line:
            attributes["line"] = str(first.line)
        details = "\n".join(f"{_where(f)} {f.path}: {f.message}" for f in findings)
        failure = _element(
            "      ",
            "failure",
            {"message": f"{rule.title} ({len(findings)})", "type": rule.severity},
            f"{details}\n\nRemediation: {rule.remediation}",
        )
        parts.append(_case(attributes, failure))
    if rule.passed:
        parts.append(_case({"classname": classname, "name": f"{rule.passed} object(s) passed"}))
    if rule.skipped:
        skipped = _element(
            "      ", "skipped", {"message": "; ".join(rule.skip_reasons) or "skipped"}
        )
        parts.append(
            _case({"classname": classname, "name": f"{rule.skipped} object(s) skipped"}, skipped)
        )
    tests = len(failing) + bool(rule.passed) + bool(rule.skipped)
    counts = _counts(tests, len(failing), 0, int(bool(rule.skipped)))
    return _suite({"name": f"{rule.id} {rule.name}", **counts}, "".join(parts))


def _errors_suite(result: ScanResult) -> str:
    parts = []
    for problem in result.errors:
        where = f"{problem.file}:{problem.line}" if problem.file and problem.line else problem.file
        attributes = {"classname": f"errors.{problem.kind.value}", "name": where or "scan"}
        if problem.file:
            attributes["file"] = problem.file
        error = _element(
            "      ",
            "error",
            {"message": problem.message, "type": problem.kind.value},
            problem.message,
        )
        parts.append(_case(attributes, error))
    count = len(result.errors)
    return _suite({"name": "kubeward scan errors", **_counts(count, 0, count, 0)}, "".join(parts))
