"""``kubeward schema``: print the JSON Schema of the JSON report."""

from __future__ import annotations

import click
import orjson

from kubeward.reporters.json import schema as report_schema


@click.command()
def schema() -> None:
    """Print the JSON Schema of `scan --format json` output."""
    click.echo(orjson.dumps(report_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
