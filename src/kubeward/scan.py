"""One scan, end to end: inputs → inventory → evaluation → ``ScanResult``.

This is the library entry point the CLI (and tests) call; it does the I/O through
``kubeward.sources`` and leaves rendering to the reporters.
"""

from __future__ import annotations

import gc
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import TYPE_CHECKING, BinaryIO

from kubeward import __version__
from kubeward.config import Config
from kubeward.engine import EngineSettings, Evaluation, evaluate
from kubeward.errors import ConfigError, UsageError
from kubeward.frameworks import Framework, evaluate_framework
from kubeward.model import (
    DOCS_URL,
    SCHEMA_VERSION,
    ClusterInfo,
    CoverageGap,
    Inventory,
    K8sObject,
    Problem,
    ProblemKind,
    RuleSummary,
    ScanInfo,
    ScanResult,
    Severity,
    SeverityCounts,
    Summary,
    ToolInfo,
    Verdict,
    image_uses,
)
from kubeward.model.signatures import SignatureStatus
from kubeward.policies.loader import POLICY_MODULE, CelDefinition, LoadedPolicies, load_policies
from kubeward.rules import ALL_RULES, lookup
from kubeward.rules import select as by_prefix
from kubeward.rules._base import Rule
from kubeward.sources.bootstrap import bootstrap_objects
from kubeward.sources.helm import HelmOptions
from kubeward.sources.inputs import DEFAULT_MAX_FILE_SIZE, discover
from kubeward.sources.load import LoadOptions, Progress, load_inputs

if TYPE_CHECKING:
    from kubeward.cluster.kubeconfig import Connection
    from kubeward.cluster.live import LiveObjects

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_ERROR = 2


@dataclass(frozen=True, kw_only=True)
class ScanRequest:
    paths: tuple[str, ...]
    config: Config = field(default_factory=Config)
    select: tuple[str, ...] = ()
    """Extra rule selection from the command line (replaces the config's when given)."""
    ignore: tuple[str, ...] = ()
    namespace: str | None = None
    fail_on: Severity | None = Severity.LOW
    helm: HelmOptions = field(default_factory=HelmOptions)
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    stdin: BinaryIO | None = None
    frameworks: tuple[Framework, ...] = ()
    """Report per-control results of these frameworks, and run only their rules."""
    cluster: ClusterTarget | None = None
    """Scan a live cluster instead of ``paths``."""
    today: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    policies: tuple[str, ...] = ()
    """Files and directories of users' policies (besides the config's ``policies``)."""
    verify_images: bool = False
    """Check the images' cosign signatures against ``imageSignatures`` (rule I007; network)."""


@dataclass(frozen=True, kw_only=True)
class ClusterTarget:
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()
    """Namespaces to scan; empty = every namespace."""
    allow_partial: bool = False
    """Coverage gaps are warnings instead of errors (exit code by findings only)."""


@dataclass
class ScanSource:
    """What a scan read: objects and every problem met while reading them."""

    objects: list[K8sObject]
    errors: list[Problem]
    warnings: list[Problem]
    files: int = 0
    documents: int = 0
    skipped_documents: int = 0
    coverage: list[CoverageGap] = field(default_factory=list)
    cluster: ClusterInfo | None = None
    context: Sequence[K8sObject] = ()
    """Objects known to exist but not judged (``Inventory.context``)."""
    kubernetes_version: tuple[int, int] | None = None
    """A live cluster's version (from ``/version``), when it could be read."""
    unread: frozenset[tuple[str, str | None]] = frozenset()
    """(kind, namespace) a live scan could not read (``EngineSettings.unread``)."""


def deploy_namespace(request: ScanRequest) -> str | None:
    """``--namespace``, else ``$HELM_NAMESPACE``, else the config's ``namespace``."""
    return request.namespace or os.environ.get("HELM_NAMESPACE") or request.config.namespace


def enforced_rules(
    config: Config,
    loaded: LoadedPolicies,
    *,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    frameworks: Sequence[Framework] = (),
) -> tuple[Rule, ...]:
    """The rules an enforcement point runs: the catalog's and the loaded policies', chosen by
    ID prefix the same way for both. ``select`` (the command line's) replaces the config's,
    ``ignore`` adds to it; ``frameworks`` restrict the catalog's rules to theirs.

    The one selection ``scan``, ``audit`` (and ``--watch``), ``admission serve`` and
    ``admission export-vap`` share: an ID ignored in kubeward.yaml is ignored everywhere."""
    chosen = tuple(select) or config.select
    dropped = (*config.ignore, *ignore)
    builtin = by_prefix(ALL_RULES, select=chosen, ignore=dropped)
    if frameworks:
        wanted = frozenset().union(*(f.rule_ids for f in frameworks))
        builtin = tuple(r for r in builtin if r.id in wanted)
    return (*builtin, *by_prefix(loaded.rules, select=chosen, ignore=dropped))


def request_rules(request: ScanRequest, loaded: LoadedPolicies) -> tuple[Rule, ...]:
    """``enforced_rules`` with the request's command-line selection and frameworks.

    A selection that leaves no rule is an error: a scan that runs none passes whatever it
    reads (``select: [W001]`` with ``ignore: [W]``: ignore wins). Unless a policy failed to
    load: its own error is the one to report."""
    rules = enforced_rules(
        request.config,
        loaded,
        select=request.select,
        ignore=request.ignore,
        frameworks=request.frameworks,
    )
    if not rules and not loaded.problems:
        config = request.config
        given = [f"select/ignore in {config.path}"] if config.select or config.ignore else []
        given += ["--select/--ignore"] if request.select or request.ignore else []
        given += ["--framework"] if request.frameworks else []
        raise UsageError(
            f"no rule left to run: {' with '.join(given)} exclude every rule (ignore wins "
            "over select)"
        )
    return rules


def custom_policies(config: Config, extra: Sequence[str] = ()) -> LoadedPolicies:
    """Users' policies (config's ``policies`` and ``--policies``), all of them as loaded:
    ``enforced_rules`` selects among them, ``unknown_policy_ids`` checks names against them."""
    paths = (*config.policy_paths, *extra)
    if not paths:
        return LoadedPolicies()
    return load_policies(paths, {r.id for r in ALL_RULES} | {r.name for r in ALL_RULES})


def unknown_policy_ids(config: Config, loaded: LoadedPolicies) -> list[str]:
    """IDs or prefixes kubeward.yaml names that match no built-in rule and no loaded policy:
    accepted when the file was read (policies load later), most likely a typo. ``loaded``:
    every policy loaded, before selection (an ignored policy is not an unknown one)."""
    ids = [r.id for r in ALL_RULES] + [r.id for r in loaded.rules]
    named = {
        *config.select, *config.ignore, *config.severity_overrides, *config.admission.actions,
        *(prefix for exception in config.exceptions for prefix in exception.rules),
    }  # fmt: skip
    return sorted(key for key in named if not any(i.startswith(key) for i in ids))


def check_policy_ids(config: Config, loaded: LoadedPolicies) -> None:
    """Refuse what kubeward.yaml names that matches no built-in rule and no loaded policy (a
    typo, most likely, and a setting that applies to nothing), at its line: the file was read
    before the policies were loaded (from ``policies:`` and ``--policies`` alike)."""
    unknown = set(unknown_policy_ids(config, loaded))
    for use in config.policy_ids:  # in the file's order
        if use.key in unknown:
            raise ConfigError(
                f"{use.setting}: {use.written!r} matches no rule ID and no loaded policy",
                file=config.path,
                line=use.line,
            )
    if unknown:  # a Config made in code: no lines to give
        raise ConfigError(
            f"{', '.join(sorted(unknown))}: no rule ID and no loaded policy matches",
            file=config.path,
        )


def check_selection(select: Sequence[str], ignore: Sequence[str], loaded: LoadedPolicies) -> None:
    """The command line's ``--select``/``--ignore``, checked as kubeward.yaml's are."""
    ids = [r.id for r in (*ALL_RULES, *loaded.rules)]
    for key in (*select, *ignore):
        if not any(i.startswith(key.strip().upper()) for i in ids):
            also = " and no loaded policy" if loaded.rules else ""
            named = lookup(key)  # a rule's name where its ID goes: say which ID
            hint = f" ({key.strip()!r} is rule {named.id}'s name: give its ID)" if named else ""
            raise UsageError(f"--select/--ignore: {key!r} matches no rule ID{also}{hint}")


def check_ids(request: ScanRequest, loaded: LoadedPolicies) -> None:
    """``check_policy_ids`` and ``check_selection`` for a scan or an audit, unless a policy
    failed to load: an unknown ID may be one of its, and its own error is reported."""
    if loaded.problems:
        return
    check_policy_ids(request.config, loaded)
    check_selection(request.select, request.ignore, loaded)


def unused_policy_params(config: Config, loaded: LoadedPolicies) -> list[Problem]:
    """``policyParams:`` entries that no loaded CEL policy reads (a typo, or a policy gone)."""
    policies = {
        rule_id for rule_id, d in loaded.definitions.items() if isinstance(d, CelDefinition)
    }
    return [
        Problem(
            kind=ProblemKind.CONFIG,
            file=config.path,
            message=f"policyParams: {rule_id} is not a CEL policy that was loaded (unused)",
        )
        for rule_id in config.params.policy_params
        if rule_id not in policies
    ]


def help_uri(rule: Rule) -> str | None:
    """Where a rule's documentation is, for a reader anywhere (a report travels: code scanning,
    a CI artifact): a built-in rule's page; None for a users' policy, whose file is only a path
    on the machine that scanned (its documentation is in the report: title, description,
    remediation)."""
    if rule.module.startswith(f"{POLICY_MODULE}:"):
        return None
    return f"{DOCS_URL}/rules/{rule.id}.md"


def engine_settings(
    request: ScanRequest, started: datetime, policies: Sequence[Rule] = ()
) -> EngineSettings:
    """``policies``: every user policy loaded, selected or not (annotations may name them)."""
    config = request.config
    return EngineSettings(
        params=config.params,
        severity_overrides=config.severity_overrides,
        exceptions=config.exceptions,
        allow_inline_suppressions=config.allow_inline_suppressions,
        today=started.date(),
        policies=tuple(policies),
    )


def run_scan(request: ScanRequest, progress: Progress | None = None) -> ScanResult:
    started = request.today()
    clock = time.perf_counter()
    namespace = deploy_namespace(request)
    custom = custom_policies(request.config, request.policies)
    check_ids(request, custom)
    rules = request_rules(request, custom)
    # Bulk loading allocates millions of long-lived containers; the cyclic collector would
    # rescan them again and again for nothing (measured: 2-6x slower loads), so it is paused.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        options = LoadOptions(
            deploy_namespace=namespace,
            max_file_size=request.max_file_size,
            helm=request.helm,
            stdin=request.stdin,
        )
        source = (
            read_cluster(request.cluster)
            if request.cluster is not None
            else _read_files(request, options, progress)
        )
        if source.kubernetes_version is not None and not request.config.kubernetes_version_set:
            # judge a live cluster for its own version (PSS sysctls, WebSocket exec, ...)
            params = replace(request.config.params, kubernetes_version=source.kubernetes_version)
            request = replace(request, config=replace(request.config, params=params))
        source.errors.extend(
            Problem(kind=ProblemKind.INPUT, message=p.message, file=p.file, line=p.line)
            for p in custom.problems
        )
        source.warnings.extend(unused_policy_params(request.config, custom))
        source.warnings.extend(  # (only when a policy failed to load: see check_ids)
            Problem(
                kind=ProblemKind.CONFIG,
                file=request.config.path,
                message=f"{key} matches no rule and no loaded policy (a typo?)",
            )
            for key in unknown_policy_ids(request.config, custom)
        )
        if request.verify_images:
            request = _with_signature_verdicts(request, source)
        inventory = Inventory(source.objects, source.context)
        settings = replace(engine_settings(request, started, custom.rules), unread=source.unread)
        evaluation = evaluate(inventory, rules, settings)
    finally:
        if gc_was_enabled:
            # Everything allocated meanwhile sits in the youngest generation: the first
            # collection after enable() would traverse all of it (measured: 1.3 s on the
            # 20k-object corpus). Frozen objects are skipped by the cyclic collector (they are
            # still freed by reference counting); scan results hold no cycles worth collecting.
            gc.freeze()
            gc.enable()
    return build_result(
        request,
        source,
        rules,
        evaluation,
        started=started,
        duration=time.perf_counter() - clock,
        namespace=namespace,
    )


def _with_signature_verdicts(request: ScanRequest, source: ScanSource) -> ScanRequest:
    """Ask the registries about every image the signature policy covers (tags are resolved
    to the digest they name now), so that rule I007 can report; registry failures are also
    reported as warnings: an image that could not be checked is never a pass."""
    # Imported here: the registry client (httpx) and the crypto libraries cost start-up time
    # that scans without --verify-images do not need.
    from kubeward.signatures.verifier import ImageVerifier, client_for, verify_images

    policy = request.config.signatures
    if policy is None or not policy.enabled:
        raise ConfigError("--verify-images: no imageSignatures rules in kubeward.yaml")
    images = (
        use.image for obj in source.objects for use in image_uses(obj) if use.image is not None
    )
    verifier = ImageVerifier(policy, client_for(policy))
    try:
        verdicts = verify_images(verifier, images, resolve_tags=True)
    finally:
        verifier.client.close()
    source.warnings.extend(
        Problem(kind=ProblemKind.REGISTRY, message=f"image {v.image} not checked: {v.detail}")
        for v in verdicts.values()
        if v.status is SignatureStatus.ERROR
    )
    params = replace(request.config.params, image_signatures=verdicts)
    return replace(request, config=replace(request.config, params=params))


def build_result(
    request: ScanRequest,
    source: ScanSource,
    rules: Sequence[Rule],
    evaluation: Evaluation,
    *,
    started: datetime,
    duration: float,
    namespace: str | None = None,
) -> ScanResult:
    """The report of one evaluation of ``source`` (also used for ``audit --watch`` snapshots)."""
    config = request.config
    # Tallied in C (a Counter over a map): a Python loop with getattr/setattr over the
    # findings took ~80 ms for the 173,000 of the 20k-object corpus.
    tally = Counter(map(_severity_of, evaluation.findings))
    counts = SeverityCounts(**{severity.value: n for severity, n in tally.items()})
    errors = sorted(source.errors + evaluation.errors, key=_where)
    warnings = sorted(source.warnings + evaluation.warnings, key=_where)
    threshold = request.fail_on
    failing = threshold is not None and any(s.rank >= threshold.rank for s in tally)
    verdict = Verdict.ERROR if errors else (Verdict.FAIL if failing else Verdict.PASS)
    rule_summaries = [
        RuleSummary(
            id=rule.id,
            name=rule.name,
            title=rule.title,
            severity=config.severity_overrides.get(rule.id, rule.severity).value,
            scope=rule.scope.value,
            description=rule.summary,
            remediation=rule.remediation,
            help_uri=help_uri(rule),
            passed=evaluation.outcomes[rule.id].passed,
            failed=evaluation.outcomes[rule.id].failed,
            skipped=evaluation.outcomes[rule.id].skipped,
            errored=evaluation.outcomes[rule.id].errored,
            skip_reasons=evaluation.outcomes[rule.id].skip_reasons,
        )
        for rule in rules
    ]
    return ScanResult(
        schema_version=SCHEMA_VERSION,
        tool=ToolInfo(name="kubeward", version=__version__),
        scan=ScanInfo(
            started_at=started.isoformat(timespec="seconds").replace("+00:00", "Z"),
            duration_seconds=round(duration, 3),
            inputs=list(request.paths),
            namespace=namespace,
            fail_on=threshold.value if threshold is not None else None,
            config=config.path,
            cluster=source.cluster,
            kubernetes_version="{}.{}".format(*config.params.kubernetes_version),
        ),
        summary=Summary(
            verdict=verdict,
            files=source.files,
            documents=source.documents,
            skipped_documents=source.skipped_documents,
            objects=len(source.objects),
            findings=len(evaluation.findings),
            suppressed=len(evaluation.suppressed),
            errors=len(errors),
            warnings=len(warnings),
            by_severity=counts,
            rules_evaluated=len(rules),
            coverage_gaps=len(source.coverage),
        ),
        findings=evaluation.findings,
        suppressed=evaluation.suppressed,
        errors=errors,
        warnings=warnings,
        rules=rule_summaries,
        frameworks=[
            evaluate_framework(spec, rule_summaries, evaluation.findings)
            for spec in request.frameworks
        ],
        coverage=source.coverage,
    )


def _read_files(
    request: ScanRequest, options: LoadOptions, progress: Progress | None
) -> ScanSource:
    inputs, missing = discover(request.paths)
    loaded = load_inputs(inputs, options, progress)
    missing_problems = [
        Problem(kind=ProblemKind.INPUT, file=exc.file, line=exc.line, message=exc.detail)
        for exc in missing
    ]
    if not inputs and not missing:
        # A mistyped or emptied path must not pass a CI check in silence.
        missing_problems.append(
            Problem(
                kind=ProblemKind.INPUT,
                message=f"nothing to scan in {', '.join(request.paths)}: no manifests "
                "(.yaml, .yml, .json), Helm charts or Kustomize directories",
            )
        )
    return ScanSource(
        objects=loaded.objects,
        # manifests bind to roles the API server creates itself (cluster-admin, edit, system:*)
        context=bootstrap_objects(request.config.params.kubernetes_version),
        errors=missing_problems + loaded.errors,
        warnings=loaded.warnings,
        files=loaded.files,
        documents=loaded.documents,
        skipped_documents=loaded.skipped_documents,
    )


def read_cluster(target: ClusterTarget) -> ScanSource:
    """List the live cluster (raises ``ClusterError`` when it cannot be read at all)."""
    from kubeward.cluster import kubeconfig, live  # httpx is imported only for live scans
    from kubeward.cluster.client import ApiClient

    connection = kubeconfig.load(target.kubeconfig, target.context)
    with ApiClient(connection) as client:
        read = live.read(client, target.namespaces)
        version = live.server_version(client)
    return replace(cluster_source(target, connection, read), kubernetes_version=version)


def cluster_source(target: ClusterTarget, connection: Connection, read: LiveObjects) -> ScanSource:
    """What a live read gives a scan: objects, and coverage gaps as errors or warnings."""
    coverage = [
        CoverageGap(
            verb=gap.verb,
            resource=gap.resource,
            group=gap.group,
            namespace=gap.namespace,
            message=gap.message,
        )
        for gap in read.gaps
    ]
    problems = [
        Problem(
            kind=ProblemKind.COVERAGE,
            message=f"cannot {gap.verb} {gap.resource}"
            + (f".{gap.group}" if gap.group else "")
            + (f" in namespace {gap.namespace}" if gap.namespace else " cluster-wide")
            + f": {gap.message}",
        )
        for gap in coverage
    ]
    from kubeward.cluster.live import unread

    warnings = [Problem(kind=ProblemKind.COVERAGE, message=text) for text in read.warnings]
    # what the kubeconfig held that kubeward ignored (e.g. credentials in the server URL)
    ignored = [Problem(kind=ProblemKind.CONFIG, message=m) for m in connection.warnings]
    return ScanSource(
        unread=unread(read.gaps),
        objects=read.objects,
        errors=[] if target.allow_partial else problems,
        warnings=[*ignored, *(problems if target.allow_partial else []), *warnings],
        coverage=coverage,
        cluster=ClusterInfo(
            context=connection.context,
            server=connection.server,
            namespaces=list(dict.fromkeys(target.namespaces)),
        ),
    )


_severity_of = attrgetter("severity")


def _where(problem: Problem) -> tuple[str, int]:
    return (problem.file or "", problem.line or 0)


def exit_code(result: ScanResult, *, exit_zero: bool = False) -> int:
    """0 = pass, 1 = findings at/above the failing severity, 2 = errors (input, render, rule)."""
    if result.summary.verdict is Verdict.ERROR:
        return EXIT_ERROR
    if result.summary.verdict is Verdict.FAIL and not exit_zero:
        return EXIT_FINDINGS
    return EXIT_OK
