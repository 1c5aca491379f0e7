"""Seeded synthetic RBAC at cluster scale: Roles, ClusterRoles and bindings over many subjects
(users, groups, service accounts in 100 namespaces), for bench/rbac_bench.py.

    generate(roles=5000, bindings=10000, subjects=2000, seed=1) -> list of manifest dicts
"""

from __future__ import annotations

import random
from typing import Any

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC = f"{RBAC_GROUP}/v1"
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
RESOURCES = [
    ("", "pods"), ("", "pods/exec"), ("", "pods/log"), ("", "secrets"), ("", "configmaps"),
    ("", "services"), ("", "serviceaccounts"), ("", "serviceaccounts/token"), ("", "events"),
    ("apps", "deployments"), ("apps", "deployments/scale"), ("apps", "statefulsets"),
    ("apps", "daemonsets"), ("batch", "jobs"), ("batch", "cronjobs"),
    ("networking.k8s.io", "ingresses"), ("networking.k8s.io", "networkpolicies"),
    ("rbac.authorization.k8s.io", "roles"), ("rbac.authorization.k8s.io", "rolebindings"),
    ("", "nodes"), ("", "persistentvolumes"), ("", "nodes/proxy"),
    ("apps", "*"), ("apps", "*/scale"), ("", "pods/*"),
]  # fmt: skip
"""The shapes peers match wrongly are here on purpose: ``*`` and ``*/scale`` (a wildcard
resource, and every resource's scale subresource), ``pods/*`` (literal, matches nothing), rules
with resourceNames, and groups that name the service accounts of a namespace."""


def generate(*, roles: int, bindings: int, subjects: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    namespaces = [f"team-{i:03d}" for i in range(100)]
    out: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in namespaces
    ]
    users = [f"user-{i:04d}" for i in range(subjects // 2)]
    groups = [f"group-{i:03d}" for i in range(subjects // 10 - 3)]
    groups += [f"system:serviceaccounts:{namespaces[i]}" for i in range(3)]
    accounts = [
        (rng.choice(namespaces), f"sa-{i:04d}") for i in range(subjects - len(users) - len(groups))
    ]
    out += [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": n, "namespace": ns}}
        for ns, n in accounts
    ]
    role_refs: list[tuple[str, str, str | None]] = []
    for index in range(roles):
        cluster = rng.random() < 0.3
        rules = []
        for _ in range(rng.randint(1, 4)):
            picks = rng.sample(RESOURCES, rng.randint(1, 3))
            rule: dict[str, Any] = {
                "apiGroups": sorted({g for g, _ in picks}),
                "resources": [r for _, r in picks],
                "verbs": rng.sample(VERBS, rng.randint(1, 4)) if rng.random() > 0.05 else ["*"],
            }
            if rng.random() < 0.1:
                rule["resourceNames"] = [f"obj-{rng.randint(0, 9)}"]
            rules.append(rule)
        name = f"role-{index:05d}"
        meta: dict[str, Any] = {"name": name}
        if not cluster:
            meta["namespace"] = rng.choice(namespaces)
        out.append({"apiVersion": RBAC, "kind": "ClusterRole" if cluster else "Role",
                    "metadata": meta, "rules": rules})  # fmt: skip
        role_refs.append(("ClusterRole" if cluster else "Role", name, meta.get("namespace")))
    cluster_roles = [r for r in role_refs if r[0] == "ClusterRole"]
    for index in range(bindings):
        subject_list = []
        for _ in range(rng.randint(1, 3)):
            roll = rng.random()
            if roll < 0.5:
                subject_list.append({"kind": "User", "name": rng.choice(users),
                                     "apiGroup": RBAC_GROUP})  # fmt: skip
            elif roll < 0.7:
                subject_list.append({"kind": "Group", "name": rng.choice(groups),
                                     "apiGroup": RBAC_GROUP})  # fmt: skip
            else:
                namespace, name = rng.choice(accounts)
                subject_list.append(
                    {"kind": "ServiceAccount", "name": name, "namespace": namespace}
                )
        if rng.random() < 0.1:
            kind, name, _ = rng.choice(cluster_roles)
            reference = {"apiGroup": RBAC_GROUP, "kind": kind, "name": name}
            out.append({"apiVersion": RBAC, "kind": "ClusterRoleBinding",
                        "metadata": {"name": f"crb-{index:05d}"},
                        "roleRef": reference, "subjects": subject_list})  # fmt: skip
            continue
        kind, name, role_ns = rng.choice(role_refs)
        namespace = role_ns if kind == "Role" and role_ns else rng.choice(namespaces)
        reference = {"apiGroup": RBAC_GROUP, "kind": kind, "name": name}
        out.append({"apiVersion": RBAC, "kind": "RoleBinding",
                    "metadata": {"name": f"rb-{index:05d}", "namespace": namespace},
                    "roleRef": reference, "subjects": subject_list})  # fmt: skip
    return out
