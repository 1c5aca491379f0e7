"""Access policies: "only these subjects may VERB RESOURCE in these namespaces".

A team states who may hold a power (read Secrets in ``prod-*``, exec into pods anywhere), in
``kubeward.yaml`` under ``rbacPolicies``; rule R027 reports every binding that gives the power
to anyone else. Pure: parsing of the patterns and matching; the rule does the RBAC part.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase

from kubeward.rbac.policy import SA_PREFIX, Subject


@dataclass(frozen=True, slots=True)
class SubjectPattern:
    """``user:NAME``, ``group:NAME``, ``sa:NAMESPACE/NAME`` (or
    ``system:serviceaccount:NAMESPACE:NAME``); names and namespaces may use ``*`` globs."""

    kind: str
    name: str
    namespace: str = ""
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> SubjectPattern:
        raw = text.strip()
        head, _, rest = raw.partition(":")
        if raw.startswith(SA_PREFIX):
            namespace, _, name = raw[len(SA_PREFIX) :].partition(":")
            return cls._account(namespace, name, raw)
        kind = {"user": "User", "group": "Group", "sa": "ServiceAccount"}.get(head.lower())
        if kind is None or not rest:
            raise ValueError(
                f"{text!r}: expected user:NAME, group:NAME or sa:NAMESPACE/NAME (globs allowed)"
            )
        if kind == "ServiceAccount":
            namespace, _, name = rest.partition("/")
            return cls._account(namespace, name, raw)
        return cls(kind, rest, "", raw)

    @classmethod
    def _account(cls, namespace: str, name: str, raw: str) -> SubjectPattern:
        if not namespace or not name:
            raise ValueError(f"{raw!r}: a service account is sa:NAMESPACE/NAME")
        return cls("ServiceAccount", name, namespace, raw)

    def matches(self, subject: Subject, binding_namespace: str) -> bool:
        if subject.kind != self.kind or not fnmatchcase(subject.name, self.name):
            return False
        if self.kind != "ServiceAccount":
            return True
        return fnmatchcase(subject.namespace or binding_namespace, self.namespace)


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Who may hold ``verbs`` on ``resources`` in ``namespaces`` (globs; none = everywhere)."""

    name: str
    verbs: tuple[str, ...]
    resources: tuple[tuple[str, str], ...]
    """(API group, resource[/subresource])."""
    allowed: tuple[SubjectPattern, ...]
    namespaces: tuple[str, ...] = ()
    reason: str = ""

    def covers_namespace(self, namespace: str) -> bool:
        """A RoleBinding in ``namespace`` is in scope ("" = a ClusterRoleBinding: it reaches
        every namespace, so every policy)."""
        if not namespace or not self.namespaces:
            return True
        return any(fnmatchcase(namespace, pattern) for pattern in self.namespaces)

    def allows(self, subject: Subject, binding_namespace: str) -> bool:
        return any(p.matches(subject, binding_namespace) for p in self.allowed)

    def describe_allowed(self) -> str:
        return ", ".join(p.text for p in self.allowed) if self.allowed else "nobody"

    def describe_scope(self) -> str:
        return f" in {', '.join(self.namespaces)}" if self.namespaces else ""
