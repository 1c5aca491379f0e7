"""Shared by the R rules (risky RBAC permissions): who holds which power, through which
binding, and where.

A rule names *powers* — (verbs, API group, resource[/subresource]) — and asks, for one binding,
which of its subjects get any of them from the bound role. The matching is the authorizer's
(``kubeward.rbac``): wildcards, ``*/sub``, resourceNames (a rule limited to named objects does
not grant the power in general), and scope: a RoleBinding grants only inside its namespace, so
powers over cluster-scoped resources (nodes, webhooks, CRDs, ...) given through a RoleBinding
are inert and not reported. Roles the manifests bind but do not define (``edit``,
``cluster-admin``, ``system:*``) come from the API server's default policy
(``Inventory.context``); its own default bindings are not judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from kubeward.model import Inventory, K8sObject
from kubeward.rbac.objects import binding_from, policy_from
from kubeward.rbac.policy import ALL, Binding, Policy, Request, Role, Rule, Subject, rule_allows

BINDING_KINDS = frozenset({"RoleBinding", "ClusterRoleBinding"})
RBAC_KINDS = frozenset({"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"})

# Cluster-scoped resources a risky rule may name: through a RoleBinding they grant nothing.
CLUSTER_SCOPED = frozenset(
    {
        "nodes", "persistentvolumes", "clusterroles", "clusterrolebindings",
        "customresourcedefinitions", "apiservices", "mutatingwebhookconfigurations",
        "validatingwebhookconfigurations", "validatingadmissionpolicies",
        "validatingadmissionpolicybindings", "mutatingadmissionpolicies",
        "mutatingadmissionpolicybindings", "certificatesigningrequests", "signers",
        "storageclasses", "priorityclasses", "runtimeclasses", "csidrivers", "csinodes",
        "volumeattachments", "ingressclasses", "users", "groups", "uids", "userextras",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Power:
    """Any of ``verbs`` on ``group``/``resource`` (``resource/sub`` for a subresource)."""

    verbs: tuple[str, ...]
    group: str
    resource: str
    namespaced: bool = False
    """Applies inside a RoleBinding's namespace although the resource is cluster-scoped:
    `bind` on clusterroles is checked in the namespace of the binding being written."""
    label: str = ""
    """How messages name the power (default: verb resource.group)."""

    @property
    def cluster_scoped(self) -> bool:
        return not self.namespaced and self.resource.partition("/")[0] in CLUSTER_SCOPED

    def requests(self, namespace: str) -> Iterator[Request]:
        resource, _, sub = self.resource.partition("/")
        for verb in self.verbs:
            yield Request(verb, resource, sub, self.group, namespace)

    def describe(self) -> str:
        group = f".{self.group}" if self.group else ""
        return f"{'/'.join(self.verbs)} {self.resource}{group}"


@dataclass(frozen=True)
class Held:
    """One subject of a binding holds a power through one rule of the bound role."""

    index: int
    subject: Subject
    binding: Binding
    role: Role
    rule: Rule
    power: Power
    verb: str

    @property
    def where(self) -> str:
        if self.binding.namespace:
            return f'in namespace "{self.binding.namespace}"'
        everything = self.power.resource == ALL or self.power.cluster_scoped
        return "cluster-wide" if everything else "in every namespace"

    @property
    def who(self) -> str:
        return self.subject.describe(self.binding.namespace)

    @property
    def via(self) -> str:
        return f"{self.role.kind} {self.role.name}"

    def message(self, why: str) -> str:
        group = f".{self.power.group}" if self.power.group else ""
        what = self.power.label or f"{self.verb} {self.power.resource}{group}"
        return f"{self.who} can {what} {self.where} (via {self.via}): {why}"


def rbac_policy(inventory: Inventory) -> Policy:
    """The scan's policy: its roles and bindings, plus the API server's defaults it uses."""
    return inventory.derived(_build_index).policy


class _Index:
    """Built once per scan: the policy, each judged binding resolved to its role, and a memo of
    which rule of a role grants which power (26 rules ask about the same bindings)."""

    def __init__(self, inventory: Inventory) -> None:
        bindings: list[Binding] = []
        by_object: dict[int, Binding] = {}
        others = []
        for obj in (*inventory.context, *inventory.objects):
            if obj.kind in BINDING_KINDS:
                binding = binding_from(obj)
                if binding is not None:
                    bindings.append(binding)
                    by_object[id(obj)] = binding
            elif obj.kind in RBAC_KINDS:
                others.append(obj)
        self.policy = policy_from(others, extra_bindings=bindings)
        self.bound: dict[int, tuple[Binding, Role]] = {}
        for key, binding in by_object.items():
            role = self.policy.role_for(binding)
            if role is not None:
                self.bound[key] = (binding, role)
        self._matches: dict[tuple[int, Power, bool], tuple[Rule, str] | None] = {}

    def grants(self, role: Role, power: Power, full_wildcard: bool) -> tuple[Rule, str] | None:
        """The first rule of ``role`` granting ``power`` and the verb it grants (scope aside:
        rule matching does not depend on the namespace)."""
        key = (id(role), power, full_wildcard)
        try:
            return self._matches[key]
        except KeyError:
            pass
        found = None
        rules = [r for r in role.rules if full_wildcard or not is_full_wildcard(r)]
        for request in power.requests(""):
            match = next((r for r in rules if rule_allows(request, r)), None)
            if match is not None:
                found = (match, request.verb)
                break
        self._matches[key] = found
        return found


def _build_index(inventory: Inventory) -> _Index:
    # module level: ``derived`` caches by the builder, so it must be the same function each time
    return _Index(inventory)


def is_bootstrap_default(obj: K8sObject) -> bool:
    """The API server's own default bindings (judging them would only repeat Kubernetes)."""
    return obj.name.startswith("system:") and (
        obj.labels.get("kubernetes.io/bootstrapping") == "rbac-defaults"
    )


def bound(obj: K8sObject, inventory: Inventory) -> tuple[Binding, Role] | None:
    """Binding ``obj`` and the role it binds (None: not a binding, a default of the API
    server's, or a role the inventory does not hold)."""
    if obj.kind not in BINDING_KINDS or is_bootstrap_default(obj):
        return None
    return inventory.derived(_build_index).bound.get(id(obj))


def held(
    obj: K8sObject,
    inventory: Inventory,
    powers: Iterable[Power],
    *,
    full_wildcard: bool = False,
) -> Iterator[Held]:
    """For binding ``obj``: each subject that gets one of ``powers`` (first match per subject).

    A rule granting every verb on every resource (``cluster-admin``) holds every power; it is
    R001's to report, so other rules look past it unless ``full_wildcard``.
    """
    if obj.kind not in BINDING_KINDS or is_bootstrap_default(obj):
        return
    index = inventory.derived(_build_index)
    resolved = index.bound.get(id(obj))
    if resolved is None:
        return
    binding, role = resolved
    for power in powers:
        if power.cluster_scoped and binding.namespace:
            continue  # a RoleBinding grants nothing over cluster-scoped resources
        match = index.grants(role, power, full_wildcard)
        if match is not None:
            break
    else:
        return
    rule, verb = match
    for position, subject in enumerate(binding.subjects):
        if subject.kind == "ServiceAccount" and not (subject.namespace or binding.namespace):
            continue  # a ClusterRoleBinding to an account without namespace binds nobody
        yield Held(position, subject, binding, role, rule, power, verb)


def is_full_wildcard(rule: Rule) -> bool:
    return ALL in rule.verbs and ALL in rule.api_groups and ALL in rule.resources
