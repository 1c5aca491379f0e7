"""Kubernetes RBAC, as the API server's authorizer evaluates it: pure and exact.

A port of the semantics, not string matching (``../shared/notes/rbac.md`` §3 cites the Go
sources): ``RuleAllows`` and its matchers (``pkg/apis/rbac/v1/evaluation_helpers.go``),
subject matching with namespace defaulting (``appliesToUser``), binding scope (a RoleBinding to
a ClusterRole grants only inside the binding's namespace), the ``system:masters`` bypass, and
ClusterRole aggregation for manifests that were never applied (a live cluster's stored rules
already hold the result). The oracle test (tests/cluster/test_rbac_oracle.py) compares every
answer with the API server's SubjectAccessReview.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ALL = "*"
MASTERS = "system:masters"
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True, slots=True)
class Rule:
    """One PolicyRule."""

    verbs: tuple[str, ...] = ()
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    @classmethod
    def parse(cls, raw: Any) -> Rule | None:
        """A rule from its manifest form; None when malformed (the API server rejects it)."""
        if not isinstance(raw, dict):
            return None

        def strings(key: str) -> tuple[str, ...] | None:
            value = raw.get(key)
            if value is None:
                return ()
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return None
            return tuple(value)

        parts = [strings(k) for k in ("verbs", "apiGroups", "resources", "resourceNames")]
        urls = strings("nonResourceURLs")
        if urls is None or any(p is None for p in parts):
            return None
        verbs, groups, resources, names = (p or () for p in parts)
        return cls(verbs, groups, resources, names, urls)


@dataclass(frozen=True, slots=True)
class Request:
    """The attributes the authorizer sees (``authorizer.Attributes``)."""

    verb: str
    resource: str = ""
    subresource: str = ""
    api_group: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""
    """For non-resource requests (``/healthz``)."""

    @property
    def is_resource_request(self) -> bool:
        return not self.path

    def describe(self) -> str:
        if not self.is_resource_request:
            return f"{self.verb} {self.path}"
        # the form the command line takes: deployments.apps/scale
        what = self.resource + (f".{self.api_group}" if self.api_group else "")
        what += f"/{self.subresource}" if self.subresource else ""
        name = f" {self.name}" if self.name else ""
        where = f" in namespace {self.namespace}" if self.namespace else " cluster-wide"
        return f"{self.verb} {what}{name}{where}"


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated identity: name and groups, as the API server knows them."""

    name: str
    groups: frozenset[str] = frozenset()

    @classmethod
    def service_account(cls, namespace: str, name: str) -> User:
        """A service account with the groups the authenticator gives it."""
        return cls(
            f"{SA_PREFIX}{namespace}:{name}",
            frozenset(
                {"system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                 "system:authenticated"}
            ),
        )  # fmt: skip


# -- the matchers (evaluation_helpers.go) -----------------------------------------------------


def verb_matches(rule: Rule, verb: str) -> bool:
    return ALL in rule.verbs or verb in rule.verbs


def api_group_matches(rule: Rule, group: str) -> bool:
    return ALL in rule.api_groups or group in rule.api_groups


def resource_matches(rule: Rule, combined: str, subresource: str) -> bool:
    for resource in rule.resources:
        if resource in (ALL, combined):
            return True
        # "*/sub" matches any resource's "sub"; "pods/*" is literal
        if (
            subresource
            and len(resource) == len(subresource) + 2
            and resource.startswith("*/")
            and resource.endswith(subresource)
        ):
            return True
    return False


def resource_name_matches(rule: Rule, name: str) -> bool:
    return not rule.resource_names or name in rule.resource_names


def non_resource_url_matches(rule: Rule, path: str) -> bool:
    for url in rule.non_resource_urls:
        if url in (ALL, path):
            return True
        if url.endswith("*") and path.startswith(url[:-1]):
            return True
    return False


def rule_allows(request: Request, rule: Rule) -> bool:
    if request.is_resource_request:
        combined = request.resource
        if request.subresource:
            combined = f"{request.resource}/{request.subresource}"
        return (
            verb_matches(rule, request.verb)
            and api_group_matches(rule, request.api_group)
            and resource_matches(rule, combined, request.subresource)
            and resource_name_matches(rule, request.name)
        )
    return verb_matches(rule, request.verb) and non_resource_url_matches(rule, request.path)


# -- subjects, roles, bindings -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str
    """User, Group or ServiceAccount."""
    name: str
    namespace: str = ""

    def applies_to(self, user: User, binding_namespace: str) -> bool:
        """``appliesToUser``: a ServiceAccount without a namespace takes the binding's (none
        for a ClusterRoleBinding: it then matches nobody); ``*`` is not a wildcard."""
        if self.kind == "User":
            return user.name == self.name
        if self.kind == "Group":
            return self.name in user.groups
        if self.kind == "ServiceAccount":
            namespace = self.namespace or binding_namespace
            return bool(namespace) and user.name == f"{SA_PREFIX}{namespace}:{self.name}"
        return False

    def describe(self, binding_namespace: str = "") -> str:
        if self.kind == "ServiceAccount":
            namespace = self.namespace or binding_namespace
            return f"ServiceAccount {namespace or '?'}/{self.name}"
        return f"{self.kind} {self.name}"


@dataclass(frozen=True, slots=True)
class LabelSelector:
    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        for key, operator, values in self.match_expressions:
            present = key in labels
            if operator == "In" and not (present and labels[key] in values):
                return False
            if operator == "NotIn" and present and labels[key] in values:
                return False
            if operator == "Exists" and not present:
                return False
            if operator == "DoesNotExist" and present:
                return False
            if operator not in ("In", "NotIn", "Exists", "DoesNotExist"):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Role:
    """A Role (``namespace`` set) or ClusterRole."""

    name: str
    namespace: str = ""
    rules: tuple[Rule, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    aggregation: tuple[LabelSelector, ...] | None = None
    """ClusterRole ``aggregationRule.clusterRoleSelectors``; None without one."""

    @property
    def kind(self) -> str:
        return "Role" if self.namespace else "ClusterRole"


@dataclass(frozen=True, slots=True)
class Binding:
    """A RoleBinding (``namespace`` set) or ClusterRoleBinding."""

    name: str
    role_kind: str
    role_name: str
    subjects: tuple[Subject, ...]
    namespace: str = ""

    @property
    def kind(self) -> str:
        return "RoleBinding" if self.namespace else "ClusterRoleBinding"


@dataclass(frozen=True, slots=True)
class Grant:
    """Evidence: this binding gives this role's rule to the subject."""

    subject: Subject
    binding: Binding
    role: Role
    rule: Rule

    def describe(self) -> str:
        where = (
            f"{self.binding.kind} {self.binding.namespace + '/' if self.binding.namespace else ''}"
        )
        role = f"{self.role.kind} {self.role.namespace + '/' if self.role.namespace else ''}"
        return f"{where}{self.binding.name} -> {role}{self.role.name}"


class Policy:
    """All roles and bindings of a cluster (or of a set of manifests)."""

    def __init__(self, roles: Iterable[Role], bindings: Iterable[Binding]) -> None:
        self.cluster_roles: dict[str, Role] = {}
        self.roles: dict[tuple[str, str], Role] = {}
        for role in roles:
            if role.namespace:
                self.roles[(role.namespace, role.name)] = role
            else:
                self.cluster_roles[role.name] = role
        self.cluster_bindings: list[Binding] = []
        self.bindings_by_namespace: dict[str, list[Binding]] = {}
        for binding in bindings:
            if binding.namespace:
                self.bindings_by_namespace.setdefault(binding.namespace, []).append(binding)
            else:
                self.cluster_bindings.append(binding)

    def role_for(self, binding: Binding) -> Role | None:
        """``GetRoleReferenceRules``: a ClusterRoleBinding may only reference a ClusterRole."""
        if binding.role_kind == "ClusterRole":
            return self.cluster_roles.get(binding.role_name)
        if binding.role_kind == "Role" and binding.namespace:
            return self.roles.get((binding.namespace, binding.role_name))
        return None

    def bindings_for(self, namespace: str) -> Iterator[Binding]:
        """The bindings that count for a request in ``namespace`` ("" = cluster-scoped)."""
        yield from self.cluster_bindings
        if namespace:
            yield from self.bindings_by_namespace.get(namespace, ())

    def authorize(self, user: User, request: Request) -> Grant | None:
        """The grant that allows the request, or None (denied). ``system:masters`` is allowed
        before RBAC is consulted: the returned grant then names no binding."""
        if MASTERS in user.groups:
            return MASTERS_GRANT
        for binding in self.bindings_for(request.namespace):
            subject = next(
                (s for s in binding.subjects if s.applies_to(user, binding.namespace)), None
            )
            if subject is None:
                continue
            role = self.role_for(binding)
            if role is None:
                continue
            for rule in role.rules:
                if rule_allows(request, rule):
                    return Grant(subject, binding, role, rule)
        return None

    def allowed(self, user: User, request: Request) -> bool:
        return self.authorize(user, request) is not None

    def who_can(self, request: Request) -> list[Grant]:
        """Every (subject, binding, role, rule) that allows ``request``, as the API server's
        ``AllowedSubjects`` finds them (plus the implicit ``system:masters``)."""
        grants: list[Grant] = [MASTERS_GRANT]
        for binding in self.bindings_for(request.namespace):
            role = self.role_for(binding)
            if role is None:
                continue
            rule = next((r for r in role.rules if rule_allows(request, r)), None)
            if rule is None:
                continue
            for subject in binding.subjects:
                if subject.kind not in ("User", "Group", "ServiceAccount"):
                    continue  # the API server refuses the binding ("user" is no kind)
                if subject.kind == "ServiceAccount" and not (
                    subject.namespace or binding.namespace
                ):
                    continue  # matches nobody
                grants.append(Grant(subject, binding, role, rule))
        return grants

    def rules_for(self, user: User, namespace: str) -> list[Grant]:
        """Every rule ``user`` holds in ``namespace`` ("" = cluster-wide grants only)."""
        found: list[Grant] = []
        for binding in self.bindings_for(namespace):
            subject = next(
                (s for s in binding.subjects if s.applies_to(user, binding.namespace)), None
            )
            role = self.role_for(binding) if subject is not None else None
            if subject is None or role is None:
                continue
            found.extend(Grant(subject, binding, role, rule) for rule in role.rules)
        return found


MASTERS_GRANT = Grant(
    Subject("Group", MASTERS),
    Binding("(built in: system:masters bypasses RBAC)", "ClusterRole", "cluster-admin", ()),
    Role("cluster-admin", rules=(Rule((ALL,), (ALL,), (ALL,), (), ()),)),
    Rule((ALL,), (ALL,), (ALL,)),
)


def aggregate(roles: Sequence[Role]) -> list[Role]:
    """ClusterRole aggregation to a fixed point, as kube-controller-manager does: a role with
    an ``aggregationRule`` gets the rules of every other ClusterRole matching any selector
    (sorted by name, de-duplicated), its own rules replaced. For manifests only: a live
    cluster's stored rules are already aggregated."""
    by_name = {r.name: r for r in roles if not r.namespace}
    for _ in range(len(by_name) + 1):
        changed = False
        for name, role in sorted(by_name.items()):
            if role.aggregation is None:
                continue
            rules: list[Rule] = []
            for other_name, other in sorted(by_name.items()):
                if other_name == name:
                    continue
                if any(selector.matches(other.labels) for selector in role.aggregation):
                    rules.extend(r for r in other.rules if r not in rules)
            if tuple(rules) != role.rules:
                by_name[name] = Role(role.name, "", tuple(rules), role.labels, role.aggregation)
                changed = True
        if not changed:
            break
    return [by_name[r.name] if not r.namespace else r for r in roles]
