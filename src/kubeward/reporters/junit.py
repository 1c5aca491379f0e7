"""JUnit XML: one ``testsuite`` per rule, one ``testcase`` per object the rule failed on.

Objects that passed a rule are summed up in one passing test case per rule (a report with a
test case per object and rule would run to millions of entries on a cluster). Scan errors
(unreadable files, render failures, rule crashes) form a suite of their own, so CI marks the
run as broken rather than green. Coverage gaps of a live scan are among those errors; with
``--allow-partial`` (where they are warnings) they form a suite ``kubeward coverage`` of skipped
test cases, one per gap, so that what was not read is never missing from the report.

XML 1.0 cannot carry most control characters (a NUL or ESC in an object's name or in a message
quoting its content): the document is made well-formed once, after serialisation, by writing
each such character as its escape (``\\x1b``), whichever attribute or text it is in.
"""

from __future__ import annotations

import re
from collections import defaultdict
from xml.etree import ElementTree as ET

from kubeward.model import CoverageGap, Finding, ProblemKind, ScanResult

# everything XML 1.0 forbids: C0 controls but tab, LF and CR; surrogates; U+FFFE and U+FFFF
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _well_formed(document: str) -> str:
    return _NOT_XML.sub(_escape, document)


def _where(finding: Finding) -> str:
    if finding.file and finding.line:
        return f"{finding.file}:{finding.line}"
    return finding.file or str(finding.object)


def _gap_name(gap: CoverageGap) -> str:
    resource = f"{gap.resource}.{gap.group}" if gap.group else gap.resource
    where = f"in namespace {gap.namespace}" if gap.namespace else "cluster-wide"
    return f"{gap.verb} {resource} {where}"


def _coverage_suite(root: ET.Element, result: ScanResult) -> int:
    """Gaps that are warnings (``--allow-partial``): skipped test cases. Returns how many."""
    if not result.coverage or any(p.kind is ProblemKind.COVERAGE for p in result.errors):
        return 0  # none, or already in the errors suite
    suite = ET.SubElement(root, "testsuite", name="kubeward coverage")
    for gap in result.coverage:
        case = ET.SubElement(suite, "testcase", classname="coverage", name=_gap_name(gap))
        ET.SubElement(case, "skipped", message=f"not read: {gap.message}")
    count = len(result.coverage)
    for attribute, value in (("tests", count), ("failures", 0), ("errors", 0), ("skipped", count)):
        suite.set(attribute, str(value))
    return count


def render(result: ScanResult) -> str:
    by_rule: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for finding in result.findings:
        by_rule[finding.rule_id][str(finding.object)].append(finding)
    root = ET.Element("testsuites", name="kubeward")
    total_tests = total_failures = total_errors = total_skipped = 0
    for rule in result.rules:
        failing = by_rule.get(rule.id, {})
        suite = ET.SubElement(root, "testsuite", name=f"{rule.id} {rule.name}")
        ET.SubElement(
            ET.SubElement(suite, "properties"), "property", name="severity", value=rule.severity
        )
        tests = failures = skipped = 0
        for obj, findings in failing.items():
            first = findings[0]
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{rule.id}.{rule.name}",
                name=obj,
                file=first.file or "",
            )
            if first.line:
                case.set("line", str(first.line))
            details = "\n".join(f"{_where(f)} {f.path}: {f.message}" for f in findings)
            failure = ET.SubElement(
                case,
                "failure",
                message=f"{rule.title} ({len(findings)})",
                type=rule.severity,
            )
            failure.text = f"{details}\n\nRemediation: {rule.remediation}"
            tests += 1
            failures += 1
        if rule.passed:
            ET.SubElement(
                suite,
                "testcase",
                classname=f"{rule.id}.{rule.name}",
                name=f"{rule.passed} object(s) passed",
            )
            tests += 1
        if rule.skipped:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=f"{rule.id}.{rule.name}",
                name=f"{rule.skipped} object(s) skipped",
            )
            ET.SubElement(case, "skipped", message="; ".join(rule.skip_reasons) or "skipped")
            tests += 1
            skipped += 1
        suite.set("tests", str(tests))
        suite.set("failures", str(failures))
        suite.set("errors", "0")
        suite.set("skipped", str(skipped))
        total_tests += tests
        total_failures += failures
        total_skipped += skipped
    if result.errors:
        suite = ET.SubElement(root, "testsuite", name="kubeward scan errors")
        for problem in result.errors:
            where = (
                f"{problem.file}:{problem.line}" if problem.file and problem.line else problem.file
            )
            case = ET.SubElement(
                suite, "testcase", classname=f"errors.{problem.kind.value}", name=where or "scan"
            )
            if problem.file:
                case.set("file", problem.file)
            error = ET.SubElement(case, "error", message=problem.message, type=problem.kind.value)
            error.text = problem.message
        count = len(result.errors)
        suite.set("tests", str(count))
        suite.set("failures", "0")
        suite.set("errors", str(count))
        suite.set("skipped", "0")
        total_tests += count
        total_errors += count
    gaps = _coverage_suite(root, result)
    total_tests += gaps
    total_skipped += gaps
    root.set("tests", str(total_tests))
    root.set("failures", str(total_failures))
    root.set("errors", str(total_errors))
    root.set("skipped", str(total_skipped))
    root.set("time", f"{result.scan.duration_seconds:.3f}")
    ET.indent(root)
    document = ET.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{_well_formed(document)}\n'
