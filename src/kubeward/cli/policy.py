"""``kubeward policy test``: run users' policy tests (like ``opa test`` / ``kyverno test``)."""

from __future__ import annotations

import sys

import click
import orjson

from kubeward.terminal import printable


@click.group()
def policy() -> None:
    """Users' policies: test them before they judge anything."""


@policy.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option(
    "-f", "--format", "fmt", type=click.Choice(["table", "json"]), default="table",
    show_default=True,
)  # fmt: skip
def test_command(paths: tuple[str, ...], fmt: str) -> int:
    """Run the PolicyTest cases found in PATHS against the policies there (CEL, Rego; and the
    built-in rules). Exit 0 when every case gets what it expects, 1 when one does not, 2 when a
    policy or test file is broken."""
    from kubeward.policies.loader import load_policies
    from kubeward.policies.testing import load_cases, run_cases
    from kubeward.rules import ALL_RULES

    taken = {r.id for r in ALL_RULES} | {r.name for r in ALL_RULES}
    loaded = load_policies(paths, taken)
    cases, problems = load_cases(paths)
    rules = {r.id: r for r in (*ALL_RULES, *loaded.rules)}
    outcomes, unknown = run_cases(cases, rules)
    problems = [*loaded.problems, *problems, *unknown]
    if fmt == "json":
        report = {
            "cases": [
                {"name": o.case.name, "file": o.case.file, "line": o.case.line,
                 "rule": o.case.rule_id, "expected": o.case.expect, "actual": o.actual,
                 "message": o.case.message, "ok": o.ok, "detail": o.detail or None}
                for o in outcomes
            ],
            "problems": [{"file": p.file, "line": p.line, "message": p.message} for p in problems],
        }  # fmt: skip
        sys.stdout.buffer.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        for outcome in outcomes:
            mark = "ok  " if outcome.ok else "FAIL"
            where = f"{outcome.case.file}:{outcome.case.line}"
            line = f"{mark} {outcome.case.rule_id:<10} {outcome.case.name} ({where})"
            if not outcome.ok:
                expected = outcome.case.expect
                if outcome.case.message is not None:
                    expected += f" with a message containing {outcome.case.message!r}"
                line += f": expected {expected}, got {outcome.actual}"
                line += f" ({outcome.detail})" if outcome.detail else ""
            click.echo(printable(line))
        for problem in problems:
            click.echo(
                printable(
                    f"ERROR {problem.file}:{problem.line or '?'}: {problem.message}", multiline=True
                )
            )
        failed = sum(not o.ok for o in outcomes)
        click.echo(
            f"{len(outcomes) - failed} passed, {failed} failed"
            + (f", {len(problems)} broken" if problems else "")
        )
    if problems:
        return 2
    return 1 if any(not o.ok for o in outcomes) else 0
