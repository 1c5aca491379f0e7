"""``kubeward scan``: manifests, charts and kustomizations in; reports and an exit code out."""

from __future__ import annotations

import os
import shlex
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click

from kubeward.config import (
    Config,
    find_config,
    invalid_namespace,
    load_config,
    parse_fail_on,
    parse_kubernetes_version,
)
from kubeward.errors import UsageError
from kubeward.frameworks import Framework, UnknownFramework, framework
from kubeward.model import ScanResult, Severity
from kubeward.reporters import FORMATS, renderer
from kubeward.scan import ClusterTarget, ScanRequest, exit_code, run_scan
from kubeward.sources.helm import HelmOptions
from kubeward.sources.inputs import DEFAULT_MAX_FILE_SIZE, InputKind, discover
from kubeward.sources.load import Progress
from kubeward.terminal import printable

_PROGRESS_MIN_INPUTS = 20


def split_ids(values: Sequence[str], option: str) -> tuple[str, ...]:
    """``--select``/``--ignore`` values: comma-separated rule IDs or prefixes, none empty (an
    empty one would select or ignore nothing in particular, silently)."""
    parts = tuple(part.strip() for value in values for part in value.split(","))
    if any(not part for part in parts):
        shown = " ".join(repr(value) for value in values)
        raise UsageError(f"{option}: an empty rule ID in {shown}")
    return parts


def check_namespaces(names: Sequence[str]) -> None:
    """``--namespace`` values must be names the API server accepts (a typo such as
    ``Shop_Prod`` would otherwise judge manifests for a namespace that cannot exist)."""
    for name in names:
        problem = invalid_namespace(name)
        if problem is not None:
            raise UsageError(f"--namespace: {problem}")


SUFFIX_FORMATS = {".json": "json", ".sarif": "sarif", ".xml": "junit", ".html": "html",
                  ".htm": "html", ".txt": "table"}  # fmt: skip
"""The format of an ``--output`` given without a ``--format``, by the file's extension."""

_ALSO_HOLDS = {".json": ("sarif",), ".txt": FORMATS}
"""Formats an explicit ``--format`` may write into a known extension besides its own: SARIF is
JSON (some tools name it ``.sarif.json``), and any report is text."""

_FORMAT_SUFFIXES = {"json": ".json", "sarif": ".sarif", "junit": ".xml", "html": ".html",
                    "table": ".txt"}  # fmt: skip

ReportOption = tuple[str, str]
"""``("-f", format)`` or ``("-o", file)``: the report options in command-line order."""

_REPORT_ORDER = "kubeward.report-options"


class ReportOrderCommand(click.Command):
    """Keeps the order of the ``-f``/``-o`` values in ``ctx.meta``: click gives each option's
    values on their own, and ``pair_outputs`` pairs them by how they interleave."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A second, identical parse (the first fails as click would, and nothing else is
        # kept): the parser's order lists every occurrence of every option, in turn.
        _, _, order = self.make_parser(ctx).parse_args(args=list(args))
        ctx.meta[_REPORT_ORDER] = tuple(p.name for p in order if p.name in ("formats", "outputs"))
        return super().parse_args(ctx, args)


def report_options(
    ctx: click.Context, formats: Sequence[str], outputs: Sequence[str]
) -> list[ReportOption]:
    """The ``-f``/``-o`` values as they were given, interleaved (see ``ReportOrderCommand``)."""
    values = {"formats": iter(formats), "outputs": iter(outputs)}
    order: Sequence[str] = ctx.meta[_REPORT_ORDER]
    return [("-f" if name == "formats" else "-o", next(values[name])) for name in order]


def pair_outputs(options: Sequence[ReportOption]) -> list[tuple[str, str | None]]:
    """Pair ``-f`` and ``-o`` as the command line orders them (docs/reports.md): an ``-f`` is
    for the ``-o`` right after it (``-f FORMAT -o FILE``), else for the ``-o`` right before it
    if that one has none (``-o FILE -f FORMAT``), else for standard output; an ``-o`` left
    without one takes its extension's format. Refused rather than guessed: an ``-f`` between
    two ``-o`` that could both be its own (unless the whole line is in the older order,
    ``-o FILE -f FORMAT`` each time), an ``-f`` that contradicts its file's extension, several
    formats for standard output."""
    kinds = [kind for kind, _ in options]
    format_of: dict[int, int] = {}  # index of an -o -> index of its -f
    if len(kinds) % 2 == 0 and kinds == ["-o", "-f"] * (len(kinds) // 2):
        # -o FILE -f FORMAT throughout: what pairing by position always meant for this line
        format_of = {index: index + 1 for index in range(0, len(kinds), 2)}
    for index, (kind, fmt) in enumerate(options):
        if kind != "-f" or index in format_of.values():
            continue
        after = index + 1 < len(kinds) and kinds[index + 1] == "-o"
        before = index > 0 and kinds[index - 1] == "-o" and index - 1 not in format_of
        if after and before:
            _between(fmt, options[index - 1][1], options[index + 1][1])
        if after or before:
            format_of[index + 1 if after else index - 1] = index
    paired = set(format_of.values())
    pairs: list[tuple[str, str | None]] = []
    for index, (kind, value) in enumerate(options):
        if kind == "-f":
            if index not in paired:
                pairs.append((value, None))
            continue
        target = None if value == "-" else value
        if index not in format_of:
            pairs.append((_format_by_extension(target), target))
            continue
        fmt = options[format_of[index]][1]
        if target is not None:
            _check_extension(fmt, target, before=format_of[index] > index)
        pairs.append((fmt, target))
    to_stdout = [fmt for fmt, target in pairs if target is None]
    if len(to_stdout) > 1:
        raise UsageError(
            f"formats {', '.join(to_stdout)} would all go to standard output: "
            "give each but one an --output FILE"
        )
    return pairs or [("table", None)]


def _between(fmt: str, first: str, second: str) -> None:
    """``-o A -f FORMAT -o B``: the older order would give FORMAT to A, the documented one to
    B, and the file names must not decide between the two."""
    first, second = shlex.quote(first), shlex.quote(second)
    raise UsageError(
        f"-o {first} -f {fmt} -o {second}: the -f could be for either file; write "
        f"'-f {fmt} -o {first} -o {second}' or '-f {fmt} -o {second} -o {first}' "
        "(a format goes right before its file)"
    )


def _format_by_extension(target: str | None) -> str:
    if target is None:
        return "table"
    fmt = SUFFIX_FORMATS.get(Path(target).suffix.lower())
    if fmt is None:
        known = ", ".join(SUFFIX_FORMATS)
        raise UsageError(
            f"--output {target}: give its --format (-f FORMAT -o {shlex.quote(target)}); the "
            f"format is told from the extension only for {known}"
        )
    return fmt


def _check_extension(fmt: str, target: str, *, before: bool) -> None:
    """An explicit format into a file whose extension names another is a mistake a CI job would
    not notice (a JSON report uploaded as SARIF): refused."""
    suffix = Path(target).suffix.lower()
    own = SUFFIX_FORMATS.get(suffix)
    if own is None or fmt == own or fmt in _ALSO_HOLDS.get(suffix, ()):
        return
    quoted = shlex.quote(target)
    given = f"-o {quoted} -f {fmt}" if before else f"-f {fmt} -o {quoted}"
    holds = " or ".join((own, *_ALSO_HOLDS.get(suffix, ())))
    message = (
        f"{given}: a {suffix} file is for {holds}, not {fmt}; give -f {own}, or a file name "
        f"for {fmt} ({_FORMAT_SUFFIXES[fmt]})"
    )
    if before:  # perhaps meant: this file by its extension, the format on standard output
        message += f"; for {fmt} on standard output: -f {fmt} -o - -o {quoted}"
    raise UsageError(message)


def check_outputs(outputs: Sequence[str], scanned: Sequence[str]) -> None:
    """Refuse reports that would overwrite each other or a file the scan reads."""
    seen: dict[str, str] = {}
    for target in outputs:
        if target == "-":
            continue
        real = os.path.realpath(target)  # (a link loop resolves to itself: no error here)
        if real in seen:
            same = "given twice" if target == seen[real] else f"the same file as {seen[real]}"
            raise UsageError(f"--output {target}: {same}; give each format its own file")
        seen[real] = target
    existing = {
        identity: target
        for real, target in seen.items()
        if (identity := _file_identity(real)) is not None
    }
    if not existing:
        return
    inputs, _ = discover(scanned)
    for item in inputs:
        # by device and inode: one stat per file, where resolving each path cost a stat per
        # path component (and a hard link to a manifest is that manifest too)
        if item.kind is not InputKind.FILE:
            continue
        identity = _file_identity(item.path)
        if identity is not None and identity in existing:
            raise UsageError(
                f"--output {existing[identity]}: {item.path} is one of the scanned files; "
                "write the report outside the scanned paths"
            )


def _file_identity(path: str) -> tuple[int, int] | None:
    """(device, inode) of a regular file; None for anything else or nothing."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return (found.st_dev, found.st_ino) if stat.S_ISREG(found.st_mode) else None


@contextmanager
def _progress(enabled: bool) -> Iterator[Progress | None]:
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[bold]scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}", style="dim", markup=False),
        transient=True,
        console=Console(stderr=True),
    )
    task = bar.add_task("", total=None)
    shown = False

    def update(done: int, total: int, current: str) -> None:
        nonlocal shown
        if not shown and total >= _PROGRESS_MIN_INPUTS:
            bar.start()
            shown = True
        bar.update(task, completed=done, total=total, description=printable(current)[-50:])

    try:
        yield update
    finally:
        if shown:
            bar.stop()


def _write(result: ScanResult, pairs: list[tuple[str, str | None]], color: bool) -> None:
    for fmt, target in pairs:
        if fmt == "sarif":
            from kubeward.reporters.sarif import results_over_limit

            if (over := results_over_limit(result)) is not None:
                # said where CI logs show it, not only inside the file code scanning refuses
                click.echo(f"kubeward: warning: {over}", err=True)
        pieces = _pieces(result, fmt, color=color and target is None)
        if target is None:
            for piece in pieces:
                sys.stdout.buffer.write(piece)
            sys.stdout.buffer.flush()
            continue
        try:
            path = Path(target)
            if path.parent != Path():
                path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as handle:
                for piece in pieces:
                    handle.write(piece)
        except OSError as exc:
            raise UsageError(f"cannot write {target}: {exc.strerror}") from None


def _pieces(result: ScanResult, fmt: str, color: bool) -> Iterable[bytes | bytearray | memoryview]:
    """The report in ``fmt``, in pieces written as they are made. Why: held whole, the report
    of a large scan was the run's largest allocation (85 MB of JSON, 184 MB of SARIF on the
    20k-object corpus), and SARIF's tree of results as much again; each machine format makes
    a chunk of findings at a time instead."""
    if fmt == "table":
        from kubeward.reporters.table import render_pieces as table_pieces

        return (piece.encode("utf-8") for piece in table_pieces(result, color=color))
    if fmt == "json":
        from kubeward.reporters.json import render_chunks as json_chunks

        return json_chunks(result)
    if fmt == "sarif":
        from kubeward.reporters.sarif import render_chunks as sarif_chunks

        return sarif_chunks(result)
    if fmt == "html":
        from kubeward.reporters.html import render_chunks as html_chunks

        return (piece.encode("utf-8") for piece in html_chunks(result))
    if fmt == "junit":
        from kubeward.reporters.junit import render_chunks as junit_chunks

        return (piece.encode("utf-8") for piece in junit_chunks(result))
    output = renderer(fmt)(result)
    return (output.encode("utf-8") if isinstance(output, str) else output,)


def _framework(name: str) -> Framework:
    try:
        return framework(name)
    except UnknownFramework as exc:
        raise UsageError(f"--framework: {exc}") from None


def resolve_config(
    config_path: str | None, paths: Sequence[str], policies: Sequence[str] = ()
) -> Config:
    """``--config``, else the file the scanned paths lead to, else the defaults. ``policies``:
    the command line's ``--policies`` (the file may name their IDs: see ``load_config``)."""
    more_policies = bool(policies)
    if config_path:
        path = Path(config_path)
        if not path.is_file():
            what = "a directory, not a file" if path.is_dir() else "no such file"
            raise UsageError(f"--config {config_path}: {what}")
        return load_config(path, more_policies=more_policies)
    found = find_config(paths)
    if found is None:
        return Config()
    if found.stray_for is not None:
        # Outside a repository the search climbs up to /: say which file applies. The paths are
        # directory names, which may hold escape sequences: shown as escapes (kubeward.terminal).
        click.echo(
            f"kubeward: using {printable(str(found.path))}, found above "
            f"{printable(str(found.stray_for))} (outside any git repository); --config FILE "
            "chooses another",
            err=True,
        )
    return load_config(found.path, more_policies=more_policies)


@click.command(cls=ReportOrderCommand)
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option(
    "-f",
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(FORMATS),
    help="Report format; repeat for several, each right before its --output (the one "
    "without an --output goes to stdout).",
)
@click.option(
    "-o",
    "--output",
    "outputs",
    multiple=True,
    metavar="FILE",
    help="Write the --format given right before it to FILE ('-' = stdout); without one, the "
    "format is told from the extension (.json, .sarif, .xml, .html, .txt).",
)
@click.option(
    "-c",
    "--config",
    "config_path",
    metavar="FILE",
    help="Configuration file (default: kubeward.yaml found next to the scanned paths).",
)
@click.option(
    "-n",
    "--namespace",
    "namespaces",
    multiple=True,
    metavar="NS",
    help="Files: the namespace manifests without one will be deployed to (default: "
    "$HELM_NAMESPACE, else the config's `namespace`). --cluster: a namespace to scan "
    "(repeatable; default: all).",
)
@click.option(
    "--cluster",
    is_flag=True,
    help="Scan the live cluster of the kubeconfig's current context instead of files.",
)
@click.option("--kubeconfig", metavar="FILE", help="--cluster: kubeconfig file ($KUBECONFIG).")
@click.option("--context", "kube_context", metavar="NAME", help="--cluster: kubeconfig context.")
@click.option(
    "--allow-partial",
    is_flag=True,
    help="--cluster: kinds the identity may not list are warnings, not errors (exit code 2).",
)
@click.option(
    "--fail-on",
    metavar="SEVERITY",
    help="Lowest severity that makes the exit code 1: info, low, medium, high, "
    "critical or never (default: low).",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings fail the scan.")
@click.option(
    "--policies",
    "policies",
    multiple=True,
    metavar="PATH",
    type=click.Path(),
    help="Policy files (CEL, Rego) or directories (besides the config's `policies`).",
)
@click.option(
    "--verify-images", is_flag=True,
    help="Check the images' cosign signatures against imageSignatures in kubeward.yaml "
    "(rule I007; asks the registries).",
)  # fmt: skip
@click.option(
    "--select",
    multiple=True,
    metavar="IDS",
    help="Only these rule IDs or prefixes (comma-separated; replaces the config's).",
)
@click.option(
    "--ignore",
    multiple=True,
    metavar="IDS",
    help="Skip these rule IDs or prefixes (comma-separated; adds to the config's).",
)
@click.option("--helm-values", multiple=True, metavar="FILE", help="Values file for Helm charts.")
@click.option("--helm-set", multiple=True, metavar="K=V", help="`--set` for Helm charts.")
@click.option(
    "--helm-set-string", multiple=True, metavar="K=V", help="`--set-string` for Helm charts."
)
@click.option(
    "--helm-release",
    default="kubeward",
    show_default=True,
    metavar="NAME",
    help="Release name for rendering Helm charts.",
)
@click.option(
    "--kube-version", metavar="VERSION",
    help="Kubernetes version (1.30) to render Helm charts for and judge objects by "
    "(default: kubernetesVersion in kubeward.yaml, else 1.35).",
)  # fmt: skip
@click.option(
    "--max-file-size",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_FILE_SIZE // 2**20,
    show_default=True,
    metavar="MB",
    help="Largest manifest file read, in MiB.",
)
@click.option(
    "--framework",
    "framework_names",
    multiple=True,
    metavar="NAME",
    help="Report per-control results of a framework (cis, nsa, pss-baseline, "
    "pss-restricted, mitre) and run only its rules; repeatable.",
)
@click.option("--no-progress", is_flag=True, help="Never show a progress bar.")
@click.option(
    "--color/--no-color", default=None, help="Colour the table (default: when a terminal)."
)
def scan(
    paths: tuple[str, ...],
    formats: tuple[str, ...],
    outputs: tuple[str, ...],
    config_path: str | None,
    namespaces: tuple[str, ...],
    cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    allow_partial: bool,
    fail_on: str | None,
    exit_zero: bool,
    policies: tuple[str, ...],
    verify_images: bool,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    helm_values: tuple[str, ...],
    helm_set: tuple[str, ...],
    helm_set_string: tuple[str, ...],
    helm_release: str,
    kube_version: str | None,
    max_file_size: int,
    framework_names: tuple[str, ...],
    no_progress: bool,
    color: bool | None,
) -> int:
    """Scan manifests, Helm charts and Kustomize directories (default: the current
    directory), or with --cluster the live cluster.

    \b
    Exit codes: 0 no finding at or above --fail-on; 1 findings; 2 input, usage or
    configuration errors (unparseable files are reported and all others still scanned),
    an unreachable cluster or refused credentials, kinds the identity may not list.
    """
    if cluster and paths:
        raise UsageError("--cluster scans the cluster: give no paths with it")
    if not cluster and (kubeconfig or kube_context or allow_partial):
        raise UsageError("--kubeconfig, --context and --allow-partial need --cluster")
    namespaces = tuple(dict.fromkeys(namespaces))  # -n a -n a: scanned once
    if not cluster and len(namespaces) > 1:
        raise UsageError("one --namespace for files (the deploy-time namespace)")
    check_namespaces(namespaces)
    targets = paths or (".",)
    check_outputs(outputs, () if cluster else targets)
    pairs = pair_outputs(report_options(click.get_current_context(), formats, outputs))
    config = resolve_config(config_path, targets, policies)
    threshold: Severity | None = config.fail_on
    if fail_on is not None:
        try:
            threshold = parse_fail_on(fail_on)
        except ValueError as exc:
            raise UsageError(f"--fail-on: {exc} or 'never'") from None
    if kube_version is not None:
        # One version for both: the charts are rendered for it and the objects judged for it.
        try:
            version = parse_kubernetes_version(kube_version)
        except ValueError as exc:
            raise UsageError(f"--kube-version: {exc}") from None
        config = replace(
            config,
            params=replace(config.params, kubernetes_version=version),
            kubernetes_version_set=True,
        )
    request = ScanRequest(
        paths=() if cluster else tuple(targets),
        config=config,
        select=split_ids(select, "--select"),
        policies=policies,
        verify_images=verify_images,
        ignore=split_ids(ignore, "--ignore"),
        namespace=None if cluster else (namespaces[0] if namespaces else None),
        cluster=ClusterTarget(
            kubeconfig=kubeconfig,
            context=kube_context,
            namespaces=namespaces,
            allow_partial=allow_partial,
        )
        if cluster
        else None,
        fail_on=threshold,
        helm=HelmOptions(
            release=helm_release,
            values_files=helm_values,
            set_values=helm_set,
            set_string_values=helm_set_string,
            kube_version=kube_version,
        ),
        max_file_size=max_file_size * 2**20,
        frameworks=tuple(_framework(name) for name in framework_names),
    )
    if verify_images and (config.signatures is None or not config.signatures.enabled):
        raise UsageError("--verify-images needs imageSignatures rules in kubeward.yaml")
    show_progress = not no_progress and sys.stderr.isatty() and not os.environ.get("CI")
    with _progress(show_progress) as progress:
        result = run_scan(request, progress)
    use_color = (
        color if color is not None else sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    )
    _write(result, pairs, use_color)
    return exit_code(result, exit_zero=exit_zero)
