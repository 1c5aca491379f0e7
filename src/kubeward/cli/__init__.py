"""The ``kubeward`` command. Each subcommand is a thin module: parse, call the library, render.

Exit codes (all subcommands): 0 success / no failing finding, 1 failing findings,
2 usage, configuration or input errors (and internal errors).
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from kubeward import __version__
from kubeward.errors import KubewardError
from kubeward.terminal import printable

EXIT_USAGE = 2

COMMANDS = {
    "scan": "kubeward.cli.scan:scan",
    "rules": "kubeward.cli.rules:rules",
    "rule": "kubeward.cli.rules:rule",
    "schema": "kubeward.cli.schema:schema",
    "audit": "kubeward.cli.audit:audit",
    "history": "kubeward.cli.audit:history",
    "diff": "kubeward.cli.audit:diff",
    "rbac": "kubeward.cli.rbac:rbac",
    "admission": "kubeward.cli.admission:admission",
    "policy": "kubeward.cli.policy:policy",
    "verify": "kubeward.cli.verify:verify",
}
"""Subcommand → where it lives. Imported only when run: `kubeward rbac who-can` need not load
the rule catalog, the engine and the reporters (a third of its start-up time)."""


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        return command if isinstance(command, click.Command) else None


@click.group(
    cls=_LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, "--version", prog_name="kubeward")
def cli() -> None:
    """kubeward: Kubernetes security posture, from pull request to running cluster."""


def main() -> None:
    """Entry point: no traceback ever reaches the user (set KUBEWARD_DEBUG=1 to see one)."""
    try:
        code = cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("kubeward: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(EXIT_USAGE)
    except KubewardError as exc:
        click.echo(f"kubeward: error: {printable(str(exc), multiline=True)}", err=True)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        click.echo("kubeward: interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        if os.environ.get("KUBEWARD_DEBUG"):
            raise
        click.echo(
            f"kubeward: internal error ({type(exc).__name__}); this is a bug, please report it "
            "(KUBEWARD_DEBUG=1 shows the traceback)",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    _exit_now(code if isinstance(code, int) else 0)


def _exit_now(code: int) -> None:
    """Exit without tearing down the heap: freeing a large scan's millions of objects one by
    one costs a quarter of a second and helps nobody (the process ends anyway)."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # closed or broken pipe: keep the normal, careful exit
        sys.exit(code)
    os._exit(code)
