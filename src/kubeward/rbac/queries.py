"""The questions `kubeward rbac` answers, on a ``Policy``: who can, can, what can, a
namespace's view, and the presets (secrets, exec). Pure; the CLI loads and prints."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kubeward.rbac.policy import (
    ALL,
    MASTERS,
    MASTERS_GRANT,
    SA_PREFIX,
    Grant,
    Policy,
    Request,
    Rule,
    User,
)

AUTHENTICATED = "system:authenticated"
UNAUTHENTICATED = "system:unauthenticated"
ANONYMOUS = "system:anonymous"
"""The user of a request without credentials; the API server gives it the group
``system:unauthenticated``, never ``system:authenticated``."""
SA_GROUP_PREFIX = "system:serviceaccounts:"


class QueryError(ValueError):
    """A question kubeward cannot parse (the message says what was expected)."""


def parse_target(text: str) -> tuple[str, str, str, str]:
    """``pods``, ``pods/exec``, ``deployments.apps/scale``, ``/healthz`` →
    (api group, resource, subresource, path)."""
    if text.startswith("/"):
        return "", "", "", text
    head, _, sub = text.partition("/")
    resource, _, group = head.partition(".")
    if not resource:
        raise QueryError(f"{text!r}: expected RESOURCE[.GROUP][/SUBRESOURCE] or /URL")
    return group, resource, sub, ""


def request_for(
    verb: str, target: str, namespace: str = "", name: str = "", api_group: str | None = None
) -> Request:
    group, resource, sub, path = parse_target(target)
    return Request(
        verb=verb,
        resource=resource,
        subresource=sub,
        api_group=api_group if api_group is not None else group,
        namespace="" if path else namespace,
        name=name,
        path=path,
    )


def parse_subject(text: str, groups: Iterable[str] = ()) -> User:
    """``alice`` / ``user:alice``, ``group:devs``, ``sa:NS/NAME`` (or
    ``system:serviceaccount:NS:NAME``): the identity with the groups the API server adds."""
    extra = frozenset(groups)
    if text.startswith(SA_PREFIX):
        namespace, _, name = text[len(SA_PREFIX) :].partition(":")
    elif text.startswith(("sa:", "serviceaccount:")):
        namespace, _, name = text.partition(":")[2].partition("/")
    else:
        if text.startswith("group:"):
            group = text[6:]
            implied = UNAUTHENTICATED if group == UNAUTHENTICATED else AUTHENTICATED
            return User(f"(any member of {group})", frozenset({group, implied}) | extra)
        user = text.removeprefix("user:")
        if not user:
            raise QueryError("empty subject")
        implied = UNAUTHENTICATED if user == ANONYMOUS else AUTHENTICATED
        return User(user, frozenset({implied}) | extra)
    if not namespace or not name:
        raise QueryError(f"{text!r}: a service account is sa:NAMESPACE/NAME")
    account = User.service_account(namespace, name)
    return User(account.name, account.groups | extra)


@dataclass(frozen=True)
class Holder:
    """An answer to who-can: a subject (expanded from a group where known) and the evidence."""

    kind: str
    name: str
    namespace: str
    grant: Grant
    via_group: str = ""

    def label(self) -> str:
        who = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {who}"


def who_can(
    policy: Policy, request: Request, service_accounts: Sequence[tuple[str, str]] = ()
) -> list[Holder]:
    """Every subject the request is allowed for; groups of service accounts are expanded into
    the accounts kubeward knows (``service_accounts``: (namespace, name) pairs)."""
    holders: list[Holder] = []
    seen: set[tuple[str, str, str, str]] = set()
    by_namespace: dict[str, list[tuple[str, str]]] = {}
    for account in service_accounts:
        by_namespace.setdefault(account[0], []).append(account)

    def add(holder: Holder) -> None:
        key = (holder.kind, holder.namespace, holder.name, holder.via_group)
        if key not in seen:
            seen.add(key)
            holders.append(holder)

    for grant in policy.who_can(request):
        subject = grant.subject
        if subject.kind == "ServiceAccount":
            namespace = subject.namespace or grant.binding.namespace
            add(Holder("ServiceAccount", subject.name, namespace, grant))
            continue
        add(Holder(subject.kind, subject.name, "", grant))
        if subject.kind != "Group":
            continue
        if subject.name in ("system:serviceaccounts", AUTHENTICATED):
            members: Iterable[tuple[str, str]] = service_accounts
        elif subject.name.startswith(SA_GROUP_PREFIX):
            members = by_namespace.get(subject.name[len(SA_GROUP_PREFIX) :], ())
        else:
            continue
        for namespace, name in members:
            add(Holder("ServiceAccount", name, namespace, grant, via_group=subject.name))
    return holders


def what_can(policy: Policy, user: User, namespaces: Sequence[str]) -> dict[str, list[Grant]]:
    """The rules ``user`` holds cluster-wide ("") and in each namespace (beyond cluster-wide)."""
    if MASTERS in user.groups:
        return {"": [MASTERS_GRANT]}
    cluster = policy.rules_for(user, "")
    out = {"": cluster}
    cluster_keys = {(g.binding.name, g.rule) for g in cluster}
    for namespace in namespaces:
        extra = [
            g
            for g in policy.rules_for(user, namespace)
            if (g.binding.name, g.rule) not in cluster_keys
        ]
        if extra:
            out[namespace] = extra
    return out


def namespace_view(policy: Policy, namespace: str) -> list[Grant]:
    """Every (subject, rule) that applies in ``namespace``: its RoleBindings, and the
    ClusterRoleBindings that reach every namespace."""
    grants: list[Grant] = []
    for binding in policy.bindings_for(namespace):
        role = policy.role_for(binding)
        if role is None:
            continue
        for subject in binding.subjects:
            grants.extend(Grant(subject, binding, role, rule) for rule in role.rules)
    return grants


WEBSOCKET_CREATE_CHECK = (1, 35)
"""From Kubernetes 1.35 (`AuthorizePodWebsocketUpgradeCreatePermission`, beta and on by default)
a WebSocket exec, attach or port-forward also needs `create`: before it, `get` was enough."""


def connect_verbs(kubernetes_version: tuple[int, int]) -> tuple[str, ...]:
    """The verbs on pods/exec|attach|portforward that open them on that Kubernetes version."""
    return ("create",) if kubernetes_version >= WEBSOCKET_CREATE_CHECK else ("create", "get")


SECRET_VERBS = ("get", "list", "watch")
EXEC_TARGETS = ("pods/exec", "pods/attach", "pods/portforward")
NODE_PROXY_VERBS = ("get", "create")
"""`get nodes/proxy` still reaches the kubelet's exec endpoint over WebSocket on every version."""


def preset_requests(
    preset: str, namespaces: Sequence[str], kubernetes_version: tuple[int, int] = (1, 35)
) -> list[Request]:
    scopes = ["", *namespaces]
    if preset == "secrets":
        return [request_for(v, "secrets", ns) for v in SECRET_VERBS for ns in scopes]
    if preset == "exec":
        pods = [
            request_for(verb, target, ns)
            for verb in connect_verbs(kubernetes_version)
            for target in EXEC_TARGETS
            for ns in scopes
        ]
        return pods + [request_for(verb, "nodes/proxy") for verb in NODE_PROXY_VERBS]
    raise QueryError(f"unknown preset {preset!r} (secrets, exec)")


def describe_rule(rule: Rule) -> str:
    if rule.non_resource_urls:
        return f"{','.join(rule.verbs)} {','.join(rule.non_resource_urls)}"
    groups = ",".join(g or "core" for g in rule.api_groups) if rule.api_groups != (ALL,) else "*"
    names = f" [{','.join(rule.resource_names)}]" if rule.resource_names else ""
    return f"{','.join(rule.verbs)} {','.join(rule.resources)} ({groups}){names}"
