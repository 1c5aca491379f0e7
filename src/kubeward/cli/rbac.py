"""``kubeward rbac``: who can do what, on manifests (with the API server's default roles) or
on a live cluster (``--cluster``)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click
import orjson

from kubeward.errors import UsageError

if TYPE_CHECKING:
    from kubeward.config import Config
from kubeward.model import K8sObject
from kubeward.rbac.objects import policy_from
from kubeward.rbac.policy import Grant, Policy, Request
from kubeward.rbac.queries import (
    Holder,
    QueryError,
    describe_rule,
    namespace_view,
    parse_subject,
    preset_requests,
    request_for,
    what_can,
    who_can,
)
from kubeward.terminal import printable

F = TypeVar("F", bound=Callable[..., Any])


def _source_options(func: F) -> F:
    options = [
        click.argument("paths", nargs=-1, type=click.Path(allow_dash=True)),
        click.option("--cluster", is_flag=True, help="Read the live cluster instead of files."),
        click.option("--kubeconfig", metavar="FILE", help="--cluster: kubeconfig file."),
        click.option("--context", "kube_context", metavar="NAME", help="--cluster: context."),
        click.option(
            "-f",
            "--format",
            "fmt",
            type=click.Choice(["table", "json"]),
            default="table",
            show_default=True,
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


class _Loaded:
    def __init__(
        self,
        policy: Policy,
        objects: Sequence[K8sObject],
        origin: str,
        kubernetes_version: tuple[int, int],
    ) -> None:
        self.policy = policy
        self.objects = objects
        self.origin = origin
        self.kubernetes_version = kubernetes_version

    @property
    def namespaces(self) -> list[str]:
        found = {o.namespace for o in self.objects if o.namespace}
        found |= {o.name for o in self.objects if o.kind == "Namespace"}
        return sorted(found)

    @property
    def service_accounts(self) -> list[tuple[str, str]]:
        return sorted(
            (o.namespace or "default", o.name) for o in self.objects if o.kind == "ServiceAccount"
        )


def _load(
    paths: tuple[str, ...],
    cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    only_namespace: str | None = None,
) -> _Loaded:
    """The policy of the manifests (with the bundled defaults) or of the cluster.

    ``only_namespace``: the question is about one namespace ("" = cluster-wide only), so a
    cluster read may skip the Roles and RoleBindings of every other namespace (most of a large
    cluster's RBAC). Service accounts are always read everywhere: groups such as
    ``system:serviceaccounts`` expand into all of them.
    """
    if cluster:
        if paths:
            raise UsageError("--cluster reads the cluster: give no paths with it")
        from kubeward.cluster import kubeconfig as kubeconfigs
        from kubeward.cluster import live
        from kubeward.cluster.client import ApiClient

        connection = kubeconfigs.load(kubeconfig, kube_context)
        for warning in connection.warnings:
            click.echo(printable(f"kubeward: warning: {warning}"), err=True)
        rbac_kinds = [k for k in live.CATALOG_KINDS if k.group == "rbac.authorization.k8s.io"]
        with ApiClient(connection) as client:
            if only_namespace is None:
                kinds = [k for k in live.CATALOG_KINDS if k.kind in ("Namespace", "ServiceAccount")]
                read = live.read(client, kinds=[*kinds, *rbac_kinds])
                objects, gaps = read.objects, read.gaps
            else:
                accounts = [k for k in live.CATALOG_KINDS if k.kind == "ServiceAccount"]
                cluster_wide = [k for k in rbac_kinds if k.kind.startswith("Cluster")]
                namespaced = [k for k in rbac_kinds if not k.kind.startswith("Cluster")]
                first = live.read(client, kinds=[*accounts, *cluster_wide])
                objects, gaps = first.objects, first.gaps
                if only_namespace:
                    second = live.read(client, namespaces=[only_namespace], kinds=namespaced)
                    objects, gaps = [*objects, *second.objects], [*gaps, *second.gaps]
            served = live.server_version(client)
        for gap in gaps:
            click.echo(
                printable(f"kubeward: warning: cannot list {gap.resource}: {gap.message}"),
                err=True,
            )
        config = _config()  # a configured version wins, as in `scan --cluster`
        configured = config.params.kubernetes_version
        version = configured if config.kubernetes_version_set or not served else served
        # a live cluster stores aggregated rules: no aggregation, no bundled defaults
        policy = policy_from(objects, aggregate_roles=False)
        return _Loaded(policy, objects, connection.describe(), version)
    from kubeward.sources.bootstrap import bootstrap_objects
    from kubeward.sources.load import LoadOptions, load

    config = _config()

    loaded = load(list(paths or (".",)), LoadOptions(deploy_namespace=config.namespace))
    for problem in loaded.errors:
        where = problem.file or ""
        where += f":{problem.line}" if where and problem.line is not None else ""
        click.echo(
            printable(f"kubeward: error: {where}: {problem.message}" if where else
                      f"kubeward: error: {problem.message}", multiline=True),
            err=True,
        )  # fmt: skip
    if loaded.errors:
        # the answer below is printed, but it may lack what could not be read: exit code 2
        click.get_current_context().meta[_INCOMPLETE] = True
    defaults = bootstrap_objects(config.params.kubernetes_version)
    objects = [*defaults, *loaded.objects]
    policy = policy_from(objects)
    origin = f"{', '.join(paths or ('.',))} with {defaults[0].origin.file}"
    return _Loaded(policy, loaded.objects, origin, config.params.kubernetes_version)


def _config() -> Config:
    from kubeward.cli.scan import resolve_config

    return resolve_config(None, ["."])


def _grant_json(grant: Grant) -> dict[str, Any]:
    binding, role = grant.binding, grant.role
    return {
        "subject": {
            "kind": grant.subject.kind,
            "name": grant.subject.name,
            "namespace": grant.subject.namespace or None,
        },
        "binding": {
            "kind": binding.kind,
            "name": binding.name,
            "namespace": binding.namespace or None,
        },
        "role": {"kind": role.kind, "name": role.name, "namespace": role.namespace or None},
        "rule": {
            "verbs": list(grant.rule.verbs),
            "apiGroups": list(grant.rule.api_groups),
            "resources": list(grant.rule.resources),
            "resourceNames": list(grant.rule.resource_names),
            "nonResourceURLs": list(grant.rule.non_resource_urls),
        },
    }


def _holders_table(request: Request, holders: Sequence[Holder]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"who can {request.describe()}", box=None, pad_edge=False, title_justify="left"
    )
    for column in ("subject", "via binding -> role", "rule"):
        table.add_column(column, overflow="fold")
    for holder in holders:
        via = holder.grant.describe() if holder.grant.binding.subjects else "built in"
        if holder.via_group:
            via = f"group {holder.via_group}: {via}"
        table.add_row(
            printable(holder.label()), printable(via), printable(describe_rule(holder.grant.rule))
        )
    width = None if sys.stdout.isatty() else 160
    Console(highlight=False, markup=False, width=width).print(table)


def _holder_json(holder: Holder) -> dict[str, Any]:
    return {
        "kind": holder.kind,
        "name": holder.name,
        "namespace": holder.namespace or None,
        "viaGroup": holder.via_group or None,
        "evidence": _grant_json(holder.grant),
    }


def _echo_json(value: object) -> None:
    sys.stdout.buffer.write(orjson.dumps(value, option=orjson.OPT_INDENT_2) + b"\n")


_INCOMPLETE = "kubeward.rbac.incomplete"


@click.group()
def rbac() -> None:
    """Who can do what: exact Kubernetes RBAC semantics, on manifests or a live cluster.

    \b
    Manifests are read with the API server's default roles and bindings of the configured
    Kubernetes version (kubernetesVersion in kubeward.yaml), and ClusterRole aggregation.
    """


@rbac.command("who-can")
@click.argument("verb")
@click.argument("target", metavar="RESOURCE[.GROUP][/SUB]|/URL")
@click.option(
    "-n", "--namespace", default="", metavar="NS", help="Namespace (default: cluster-wide)."
)
@click.option("--name", default="", metavar="NAME", help="Object name (resourceNames).")
@_source_options
def who_can_command(
    verb: str,
    target: str,
    namespace: str,
    name: str,
    paths: tuple[str, ...],
    cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    fmt: str,
) -> int:
    """Every subject allowed VERB on the target, with the binding, role and rule as evidence."""
    try:
        request = request_for(verb, target, namespace, name)
    except QueryError as exc:
        raise UsageError(str(exc)) from None
    loaded = _load(paths, cluster, kubeconfig, kube_context, only_namespace=request.namespace)
    holders = who_can(loaded.policy, request, loaded.service_accounts)
    if fmt == "json":
        _echo_json({"request": request.describe(), "subjects": [_holder_json(h) for h in holders]})
    else:
        _holders_table(request, holders)
    return 0


@rbac.command("can")
@click.argument("subject")
@click.argument("verb")
@click.argument("target", metavar="RESOURCE[.GROUP][/SUB]|/URL")
@click.option("-n", "--namespace", default="", metavar="NS")
@click.option("--name", default="", metavar="NAME")
@click.option(
    "--group", "groups", multiple=True, metavar="GROUP", help="Extra groups of the subject."
)
@_source_options
def can_command(
    subject: str,
    verb: str,
    target: str,
    namespace: str,
    name: str,
    groups: tuple[str, ...],
    paths: tuple[str, ...],
    cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    fmt: str,
) -> int:
    """Is SUBJECT (alice, group:devs, sa:NS/NAME) allowed VERB on the target? Exit 0 yes, 1 no."""
    try:
        user = parse_subject(subject, groups)
        request = request_for(verb, target, namespace, name)
    except QueryError as exc:
        raise UsageError(str(exc)) from None
    loaded = _load(paths, cluster, kubeconfig, kube_context, only_namespace=request.namespace)
    grant = loaded.policy.authorize(user, request)
    if fmt == "json":
        _echo_json(
            {
                "subject": user.name,
                "groups": sorted(user.groups),
                "request": request.describe(),
                "allowed": grant is not None,
                "evidence": _grant_json(grant) if grant else None,
            }
        )
    elif grant is None:
        click.echo(printable(f"no: {user.name} may not {request.describe()}"))
    else:
        click.echo(printable(f"yes: {user.name} may {request.describe()}"))
        click.echo(printable(f"  via {grant.describe()}: {describe_rule(grant.rule)}"))
    return 0 if grant is not None else 1


@rbac.command("what-can")
@click.argument("subject")
@click.option(
    "--group", "groups", multiple=True, metavar="GROUP", help="Extra groups of the subject."
)
@_source_options
def what_can_command(
    subject: str,
    groups: tuple[str, ...],
    paths: tuple[str, ...],
    cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    fmt: str,
) -> int:
    """Everything SUBJECT may do: cluster-wide, then per namespace."""
    loaded = _load(paths, cluster, kubeconfig, kube_context)
    try:
        user = parse_subject(subject, groups)
    except QueryError as exc:
        raise UsageError(str(exc)) from None
    scopes = what_can(loaded.policy, user, loaded.namespaces)
    if fmt == "json":
        _echo_json(
            {
                "subject": user.name,
                "groups": sorted(user.groups),
                "scopes": {
                    ns or "(cluster-wide)": [_grant_json(g) for g in grants]
                    for ns, grants in scopes.items()
                },
            }
        )
        return 0
    for namespace, grants in scopes.items():
        click.echo(printable(f"{'cluster-wide' if not namespace else 'namespace ' + namespace}:"))
        for grant in grants:
            click.echo(printable(f"  {describe_rule(grant.rule)}   ({grant.describe()})"))
    return 0


@rbac.command("namespace")
@click.argument("namespace")
@_source_options
def namespace_command(
    namespace: str,
    paths: tuple[str, ...],
    cluster: bool,
    kubeconfig: str | None,
    kube_context: str | None,
    fmt: str,
) -> int:
    """Every subject with any permission in NAMESPACE, and what it holds there."""
    loaded = _load(paths, cluster, kubeconfig, kube_context, only_namespace=namespace)
    grants = namespace_view(loaded.policy, namespace)
    if fmt == "json":
        _echo_json({"namespace": namespace, "grants": [_grant_json(g) for g in grants]})
        return 0
    for grant in grants:
        subject = grant.subject.describe(grant.binding.namespace)
        click.echo(printable(f"{subject:45} {describe_rule(grant.rule)}   ({grant.describe()})"))
    return 0


def _preset(name: str) -> Callable[..., int]:
    @_source_options
    def command(
        paths: tuple[str, ...],
        cluster: bool,
        kubeconfig: str | None,
        kube_context: str | None,
        fmt: str,
    ) -> int:
        loaded = _load(paths, cluster, kubeconfig, kube_context)
        answers = [
            (request, who_can(loaded.policy, request, loaded.service_accounts))
            for request in preset_requests(name, loaded.namespaces, loaded.kubernetes_version)
        ]
        if fmt == "json":
            _echo_json(
                [
                    {"request": r.describe(), "subjects": [_holder_json(h) for h in hs]}
                    for r, hs in answers
                ]
            )
            return 0
        for request, holders in answers:
            _holders_table(request, holders)
        return 0

    command.__doc__ = {
        "secrets": "Who can get, list or watch Secrets: cluster-wide and in each namespace.",
        "exec": "Who can exec, attach or port-forward into pods (also through nodes/proxy).",
    }[name]
    return command


rbac.add_command(click.command("secrets")(_preset("secrets")))
rbac.add_command(click.command("exec")(_preset("exec")))


@rbac.result_callback()
def _exit_code(code: object, **_: object) -> object:
    """A question answered over input that could not all be read exits 2 (as ``scan``), so
    that a script does not take "no" for a real denial."""
    if click.get_current_context().meta.get(_INCOMPLETE):
        return 2
    return code
