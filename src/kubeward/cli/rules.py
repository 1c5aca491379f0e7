"""``kubeward rules`` (the catalog) and ``kubeward rule ID`` (one rule's page)."""

from __future__ import annotations

import click
import orjson

from kubeward.catalog_docs import index_page, rule_page
from kubeward.frameworks import UnknownFramework, framework
from kubeward.rules import ALL_RULES, lookup


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(["table", "markdown", "json"]), default="table",
    show_default=True, help="Output format.",
)  # fmt: skip
@click.option(
    "--framework", "framework_name", metavar="NAME",
    help="Only the rules of a framework (cis, nsa, pss-baseline, pss-restricted, mitre).",
)  # fmt: skip
def rules(fmt: str, framework_name: str | None) -> None:
    """List every rule of the catalog."""
    selected = ALL_RULES
    if framework_name:
        try:
            wanted = framework(framework_name).rule_ids
        except UnknownFramework as exc:
            raise click.UsageError(str(exc)) from None
        selected = tuple(r for r in ALL_RULES if r.id in wanted)
    if fmt == "markdown":
        click.echo(index_page(selected), nl=False)
        return
    if fmt == "json":
        data = [
            {
                "id": r.id,
                "name": r.name,
                "title": r.title,
                "severity": r.severity.value,
                "scope": r.scope.value,
                "target": r.target.describe(),
                "status": r.status.value,
                "remediation": r.remediation,
                "summary": r.summary,
            }
            for r in selected
        ]
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("ID", "name", "severity", "scope", "title"):
        table.add_column(column)
    for r in selected:
        table.add_row(r.id, r.name, r.severity.value, r.scope.value, r.title)
    Console().print(table)


@click.command()
@click.argument("rule_id")
def rule(rule_id: str) -> None:
    """Print the documentation of one rule (by ID or name)."""
    found = lookup(rule_id)
    if found is None:
        raise click.UsageError(f"no rule {rule_id!r} (see `kubeward rules`)")
    click.echo(rule_page(found), nl=False)
