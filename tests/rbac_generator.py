"""Seeded random RBAC configurations and access questions, aimed at the corner cases
(``../shared/notes/rbac.md`` §3.8): wildcards, subresources (``*/scale``, the literal
``pods/*``), resourceNames, nonResourceURL prefixes, the ``core`` non-group, case, unknown
verbs, groups, service accounts with and without a namespace, RoleBindings to ClusterRoles,
aggregation with matchLabels and matchExpressions."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

RBAC = "rbac.authorization.k8s.io/v1"
NAMESPACES = ("ns-a", "ns-b", "ns-c")
USERS = ("alice", "bob", "carol", "dave", "*", "system:serviceaccount:ns-a:sa-1")
GROUPS = ("devs", "ops", "auditors", "system:serviceaccounts", "system:serviceaccounts:ns-b",
          "system:authenticated")  # fmt: skip
ACCOUNTS = ("sa-1", "sa-2")
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection",
         "escalate", "bind", "impersonate", "approve", "*", "GET", "educate")  # fmt: skip
API_GROUPS = ("", "apps", "batch", "rbac.authorization.k8s.io", "core", "extensions", "*",
              "certificates.k8s.io")  # fmt: skip
RESOURCES = ("pods", "pods/exec", "pods/log", "pods/*", "*/scale", "*/exec", "deployments",
             "deployments/scale", "secrets", "configmaps", "nodes", "nodes/proxy", "namespaces",
             "*", "serviceaccounts/token", "clusterroles", "roles", "signers", "users")  # fmt: skip
NAMES = ("x", "y", "ns-a", "admin")
URLS = ("/healthz", "/api/*", "*", "/apis", "/apis/*", "/metrics", "/logs/*")
PATHS = ("/healthz", "/healthz/ready", "/api", "/api/v1", "/apis", "/apis/apps", "/metrics",
         "/logs/x", "/version", "/livez")  # fmt: skip


@dataclass(frozen=True)
class Question:
    user: str
    groups: tuple[str, ...]
    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    def review(self) -> dict[str, Any]:
        """The SubjectAccessReview asking this question."""
        spec: dict[str, Any] = {"user": self.user, "groups": list(self.groups)}
        if self.path:
            spec["nonResourceAttributes"] = {"path": self.path, "verb": self.verb}
        else:
            spec["resourceAttributes"] = {
                "namespace": self.namespace, "verb": self.verb, "group": self.api_group,
                "resource": self.resource, "subresource": self.subresource, "name": self.name,
            }  # fmt: skip
        return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": spec}  # fmt: skip


class RbacGenerator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def _some(self, pool: tuple[str, ...], most: int = 3) -> list[str]:
        return self.rng.sample(pool, self.rng.randint(1, most))

    def rule(self, *, cluster: bool) -> dict[str, Any]:
        if cluster and self.rng.random() < 0.15:
            return {"verbs": self._some(("get", "post", "*", "put")),
                    "nonResourceURLs": self._some(URLS, 2)}  # fmt: skip
        rule: dict[str, Any] = {
            "verbs": self._some(VERBS),
            "apiGroups": self._some(API_GROUPS, 2),
            "resources": self._some(RESOURCES),
        }
        if self.rng.random() < 0.2:
            rule["resourceNames"] = self._some(NAMES, 2)
        return rule

    def subject(self) -> dict[str, Any]:
        roll = self.rng.random()
        if roll < 0.35:
            return {"kind": "User", "name": self.rng.choice(USERS),
                    "apiGroup": "rbac.authorization.k8s.io"}  # fmt: skip
        if roll < 0.6:
            return {"kind": "Group", "name": self.rng.choice(GROUPS),
                    "apiGroup": "rbac.authorization.k8s.io"}  # fmt: skip
        subject = {"kind": "ServiceAccount", "name": self.rng.choice(ACCOUNTS)}
        if self.rng.random() < 0.7:
            subject["namespace"] = self.rng.choice(NAMESPACES)
        return subject

    def objects(self, roles: int = 40, bindings: int = 60) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in NAMESPACES
        ]
        cluster_roles, ns_roles = [], []
        for index in range(roles):
            cluster = self.rng.random() < 0.5
            name = f"gen-{'cr' if cluster else 'r'}-{index}"
            role: dict[str, Any] = {
                "apiVersion": RBAC,
                "kind": "ClusterRole" if cluster else "Role",
                "metadata": {"name": name},
                "rules": [self.rule(cluster=cluster) for _ in range(self.rng.randint(1, 3))],
            }
            if cluster:
                role["metadata"]["labels"] = {"agg": self.rng.choice(["one", "two", "none"])}
                if self.rng.random() < 0.15:
                    role.pop("rules")
                    role["aggregationRule"] = {"clusterRoleSelectors": [self._selector()]}
                cluster_roles.append(name)
            else:
                role["metadata"]["namespace"] = self.rng.choice(NAMESPACES)
                ns_roles.append((role["metadata"]["namespace"], name))
            out.append(role)
        for index in range(bindings):
            cluster = self.rng.random() < 0.3
            subjects = [self.subject() for _ in range(self.rng.randint(1, 3))]
            if cluster:
                ref = {"kind": "ClusterRole", "name": self.rng.choice(cluster_roles)}
                meta: dict[str, Any] = {"name": f"gen-crb-{index}"}
            else:
                namespace = self.rng.choice(NAMESPACES)
                if ns_roles and self.rng.random() < 0.5:
                    ref_ns, ref_name = self.rng.choice(ns_roles)
                    # sometimes a Role of another namespace: a dangling reference
                    ref = {"kind": "Role", "name": ref_name}
                    namespace = ref_ns if self.rng.random() < 0.8 else namespace
                else:
                    ref = {"kind": "ClusterRole", "name": self.rng.choice(cluster_roles)}
                meta = {"name": f"gen-rb-{index}", "namespace": namespace}
            out.append({
                "apiVersion": RBAC,
                "kind": "ClusterRoleBinding" if cluster else "RoleBinding",
                "metadata": meta,
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", **ref},
                "subjects": subjects,
            })  # fmt: skip
        return out

    def _selector(self) -> dict[str, Any]:
        if self.rng.random() < 0.5:
            return {"matchLabels": {"agg": self.rng.choice(["one", "two"])}}
        operator = self.rng.choice(["In", "NotIn", "Exists"])
        expression: dict[str, Any] = {"key": "agg", "operator": operator}
        if operator != "Exists":
            expression["values"] = self._some(("one", "two", "none"), 2)
        return {"matchExpressions": [expression]}

    def identity(self) -> tuple[str, tuple[str, ...]]:
        if self.rng.random() < 0.4:
            namespace = self.rng.choice(NAMESPACES)
            account = self.rng.choice(ACCOUNTS)
            implicit = ("system:serviceaccounts", f"system:serviceaccounts:{namespace}",
                        "system:authenticated")  # fmt: skip
            return f"system:serviceaccount:{namespace}:{account}", implicit
        user = self.rng.choice((*USERS, "erin"))
        groups = tuple(self.rng.sample(GROUPS, self.rng.randint(0, 2)))
        return user, groups

    def question(self) -> Question:
        user, groups = self.identity()
        if self.rng.random() < 0.12:
            verb = self.rng.choice(("get", "post", "put", "delete"))
            return Question(user, groups, verb, path=self.rng.choice(PATHS))
        resource, _, sub = self.rng.choice(
            ("pods", "pods/exec", "pods/log", "deployments", "deployments/scale", "secrets",
             "configmaps", "nodes", "nodes/proxy", "namespaces", "serviceaccounts/token",
             "clusterroles", "roles", "signers", "users", "replicasets/scale", "pods/status")
        ).partition("/")  # fmt: skip
        return Question(
            user,
            groups,
            self.rng.choice((*VERBS[:12], "GET", "educate")),
            api_group=self.rng.choice(API_GROUPS[:-1]),
            resource=resource,
            subresource=sub,
            namespace=self.rng.choice((*NAMESPACES, "", "ns-z")),
            name=self.rng.choice(("", "", *NAMES)),
        )
