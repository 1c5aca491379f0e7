"""Seeded generator of a realistic Kubernetes manifest corpus for benchmarks.

Writes ``--objects`` objects into multi-document YAML files of ``--per-file`` documents each.
The kind mix follows the corpus described in ``../shared/notes/dependency-measurements.md`` §2
(Deployments, ConfigMaps, Pods, Services, Secrets, ServiceAccounts, RBAC, StatefulSets,
CronJobs, NetworkPolicies, Ingresses, DaemonSets), with a mix of hardened and careless specs so
that rules both pass and fail.

    python bench/corpus.py --out /tmp/corpus --objects 20000 --per-file 100 --seed 42
"""

from __future__ import annotations

import argparse
import base64
import random
from pathlib import Path
from typing import Any

import yaml

KIND_WEIGHTS = {
    "Deployment": 3600,
    "ConfigMap": 2600,
    "Pod": 2400,
    "Service": 2400,
    "Secret": 1600,
    "ServiceAccount": 1600,
    "RoleBinding": 1000,
    "StatefulSet": 800,
    "Role": 800,
    "CronJob": 600,
    "NetworkPolicy": 600,
    "Ingress": 600,
    "DaemonSet": 600,
    "ClusterRole": 400,
    "ClusterRoleBinding": 400,
}

IMAGES = [
    "nginx:1.27.{n}",
    "nginx",
    "redis:latest",
    "docker.io/library/postgres:16.{n}",
    "ghcr.io/acme/api:v2.{n}.0",
    "registry.corp.example/platform/worker:1.{n}",
    "quay.io/prometheus/node-exporter:v1.{n}.0",
    "registry.corp.example/platform/web@sha256:{digest}",
]
APPS = ["web", "api", "worker", "cache", "db", "auth", "billing", "search", "gateway", "metrics"]
TEAMS = ["payments", "identity", "platform", "data", "growth", "default"]


class _Dumper(yaml.CSafeDumper):
    pass


def _str_presenter(dumper: _Dumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str_presenter)


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.counter = 0

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.rng.choice(APPS)}-{self.counter}"

    def namespace(self) -> str | None:
        roll = self.rng.random()
        if roll < 0.08:
            return None
        return self.rng.choice(TEAMS)

    def metadata(self, prefix: str, *, namespaced: bool = True) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "name": self.name(prefix),
            "labels": {
                "app.kubernetes.io/name": self.rng.choice(APPS),
                "app.kubernetes.io/part-of": "shop",
                "app.kubernetes.io/version": f"1.{self.rng.randint(0, 40)}.0",
            },
        }
        if namespaced:
            ns = self.namespace()
            if ns is not None:
                meta["namespace"] = ns
        if self.rng.random() < 0.5:
            meta["annotations"] = {
                "team.example.com/owner": f"{self.rng.choice(TEAMS)}@example.com",
                "team.example.com/runbook": f"https://runbooks.example.com/{self.rng.choice(APPS)}",
            }
        return meta

    def image(self) -> str:
        template = self.rng.choice(IMAGES)
        digest = "".join(self.rng.choice("0123456789abcdef") for _ in range(64))
        return template.format(n=self.rng.randint(0, 9), digest=digest)

    def container(self, name: str, hardened: bool) -> dict[str, Any]:
        c: dict[str, Any] = {
            "name": name,
            "image": self.image(),
            "imagePullPolicy": self.rng.choice(["IfNotPresent", "Always"]),
            "ports": [{"name": "http", "containerPort": self.rng.choice([8080, 8443, 9090, 3000])}],
            "env": [
                {"name": "LOG_LEVEL", "value": self.rng.choice(["info", "debug", "warn"])},
                {"name": "LOG_FORMAT", "value": "json"},
                {"name": "HTTP_PORT", "value": str(self.rng.choice([8080, 8443, 9090]))},
                {
                    "name": "POD_NAMESPACE",
                    "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}},
                },
                {
                    "name": "DB_HOST",
                    "valueFrom": {"configMapKeyRef": {"name": "db-config", "key": "host"}},
                },
            ],
        }
        if self.rng.random() < 0.2:
            c["env"].append(
                {"name": "DB_PASSWORD", "value": f"pw-{self.rng.randint(1000, 9999)}x!"}
            )
        if self.rng.random() < 0.4:
            c["env"].append(
                {
                    "name": "API_TOKEN",
                    "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}},
                }
            )
        if hardened or self.rng.random() < 0.5:
            c["resources"] = {
                "requests": {"cpu": f"{self.rng.choice([50, 100, 250])}m", "memory": "128Mi"},
                "limits": {"cpu": "500m", "memory": f"{self.rng.choice([256, 512])}Mi"},
            }
        if hardened or self.rng.random() < 0.6:
            c["readinessProbe"] = {
                "httpGet": {"path": "/healthz", "port": "http"},
                "periodSeconds": 10,
            }
            c["livenessProbe"] = {
                "httpGet": {"path": "/livez", "port": "http"},
                "initialDelaySeconds": 5,
            }
        if hardened:
            c["securityContext"] = {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "runAsUser": 10001,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            }
        else:
            roll = self.rng.random()
            if roll < 0.1:
                c["securityContext"] = {"privileged": True}
            elif roll < 0.25:
                c["securityContext"] = {"capabilities": {"add": ["NET_ADMIN", "SYS_TIME"]}}
            elif roll < 0.5:
                c["securityContext"] = {"runAsUser": 0, "allowPrivilegeEscalation": True}
        c["volumeMounts"] = [{"name": "config", "mountPath": "/etc/app", "readOnly": True}]
        return c

    def pod_spec(self, hardened: bool) -> dict[str, Any]:
        n_containers = self.rng.choice([1, 2, 2, 2, 3])
        spec: dict[str, Any] = {
            "containers": [self.container(f"c{i}", hardened) for i in range(n_containers)],
            "volumes": [{"name": "config", "configMap": {"name": "app-config"}}],
        }
        if self.rng.random() < 0.3:
            spec["initContainers"] = [self.container("init", hardened)]
        if hardened or self.rng.random() < 0.5:
            spec["serviceAccountName"] = self.name("sa")
        if hardened:
            spec["automountServiceAccountToken"] = False
            spec["securityContext"] = {
                "runAsNonRoot": True,
                "fsGroup": 10001,
                "seccompProfile": {"type": "RuntimeDefault"},
            }
        else:
            roll = self.rng.random()
            if roll < 0.05:
                spec["hostNetwork"] = True
            elif roll < 0.08:
                spec["hostPID"] = True
            elif roll < 0.12:
                spec["volumes"].append(
                    {
                        "name": "host",
                        "hostPath": {
                            "path": self.rng.choice(["/", "/var/log", "/var/run/docker.sock"])
                        },
                    }
                )
        if self.rng.random() < 0.3:
            spec["volumes"].append({"name": "data", "persistentVolumeClaim": {"claimName": "data"}})
            spec["volumes"].append({"name": "tmp", "emptyDir": {}})
        if self.rng.random() < 0.3:
            spec["tolerations"] = [
                {"key": "dedicated", "operator": "Equal", "value": "apps", "effect": "NoSchedule"}
            ]
        if self.rng.random() < 0.3:
            spec["affinity"] = {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 100,
                            "podAffinityTerm": {
                                "topologyKey": "kubernetes.io/hostname",
                                "labelSelector": {"matchLabels": {"app": self.rng.choice(APPS)}},
                            },
                        }
                    ]
                }
            }
        return spec

    def template(self, hardened: bool) -> dict[str, Any]:
        app = self.rng.choice(APPS)
        return {"metadata": {"labels": {"app": app}}, "spec": self.pod_spec(hardened)}

    def workload(self, kind: str) -> dict[str, Any]:
        hardened = self.rng.random() < 0.35
        obj: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": self.metadata(kind.lower()),
        }
        tmpl = self.template(hardened)
        selector = {"matchLabels": dict(tmpl["metadata"]["labels"])}
        if kind == "Pod":
            obj["apiVersion"] = "v1"
            obj["spec"] = tmpl["spec"]
        elif kind == "CronJob":
            obj["apiVersion"] = "batch/v1"
            tmpl["spec"]["restartPolicy"] = "OnFailure"
            obj["spec"] = {
                "schedule": f"*/{self.rng.randint(5, 59)} * * * *",
                "jobTemplate": {"spec": {"template": tmpl}},
            }
        elif kind == "DaemonSet":
            obj["spec"] = {"selector": selector, "template": tmpl}
        else:
            obj["spec"] = {
                "replicas": self.rng.randint(1, 6),
                "selector": selector,
                "template": tmpl,
            }
            if kind == "StatefulSet":
                obj["spec"]["serviceName"] = self.name("svc")
        return obj

    def make(self, kind: str) -> dict[str, Any]:
        rng = self.rng
        if kind in ("Deployment", "Pod", "StatefulSet", "DaemonSet", "CronJob"):
            return self.workload(kind)
        if kind == "ConfigMap":
            data = {"host": "db.internal", "LOG_FORMAT": "json", "app.properties": "a=1\nb=2\n"}
            if rng.random() < 0.1:
                data["aws_secret_access_key"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCY" + str(
                    rng.randint(10, 99)
                )
            return {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": self.metadata("cm"),
                "data": data,
            }
        if kind == "Secret":
            token = base64.b64encode(rng.randbytes(24)).decode()
            return {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": self.metadata("secret"),
                "type": "Opaque",
                "data": {"token": token},
            }
        if kind == "Service":
            svc_type = rng.choice(
                ["ClusterIP", "ClusterIP", "ClusterIP", "NodePort", "LoadBalancer"]
            )
            return {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": self.metadata("svc"),
                "spec": {
                    "type": svc_type,
                    "selector": {"app": rng.choice(APPS)},
                    "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
                },
            }
        if kind == "ServiceAccount":
            sa: dict[str, Any] = {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": self.metadata("sa"),
            }
            if rng.random() < 0.5:
                sa["automountServiceAccountToken"] = False
            return sa
        if kind in ("Role", "ClusterRole"):
            rules = [
                {
                    "apiGroups": [""],
                    "resources": ["configmaps", "services"],
                    "verbs": ["get", "list", "watch"],
                },
            ]
            roll = rng.random()
            if roll < 0.15:
                rules.append(
                    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]}
                )
            elif roll < 0.2:
                rules.append({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})
            elif roll < 0.25:
                rules.append({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]})
            return {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": kind,
                "metadata": self.metadata(kind.lower(), namespaced=kind == "Role"),
                "rules": rules,
            }
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            sa_name = "default" if rng.random() < 0.1 else self.name("sa")
            return {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": kind,
                "metadata": self.metadata(kind.lower(), namespaced=kind == "RoleBinding"),
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole"
                    if kind == "ClusterRoleBinding" or rng.random() < 0.5
                    else "Role",
                    "name": rng.choice(["view", "edit", "app-reader", "cluster-admin"]),
                },
                "subjects": [
                    {"kind": "ServiceAccount", "name": sa_name, "namespace": rng.choice(TEAMS)}
                ],
            }
        if kind == "NetworkPolicy":
            ingress: list[dict[str, Any]] = [
                {
                    "from": [{"podSelector": {"matchLabels": {"app": rng.choice(APPS)}}}],
                    "ports": [{"port": 8080}],
                }
            ]
            if rng.random() < 0.1:
                ingress = [{}]
            return {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": self.metadata("netpol"),
                "spec": {
                    "podSelector": {"matchLabels": {"app": rng.choice(APPS)}},
                    "policyTypes": ["Ingress"],
                    "ingress": ingress,
                },
            }
        if kind == "Ingress":
            host = f"{rng.choice(APPS)}.shop.example.com"
            return {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": self.metadata("ing"),
                "spec": {
                    "tls": [{"hosts": [host], "secretName": "tls"}],
                    "rules": [
                        {
                            "host": host,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": "web", "port": {"number": 80}}
                                        },
                                    }
                                ]
                            },
                        }
                    ],
                },
            }
        raise ValueError(kind)


def generate(out: Path, *, objects: int, per_file: int, seed: int) -> list[Path]:
    gen = Generator(seed)
    kinds = [k for k, w in KIND_WEIGHTS.items() for _ in range(w)]
    scale = objects / len(kinds)
    plan = (
        [k for k in kinds for _ in range(1)]
        if scale == 1
        else [gen.rng.choice(kinds) for _ in range(objects)]
    )
    gen.rng.shuffle(plan)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for start in range(0, len(plan), per_file):
        docs = [gen.make(kind) for kind in plan[start : start + per_file]]
        path = out / f"manifests-{start // per_file:04d}.yaml"
        path.write_text(yaml.dump_all(docs, Dumper=_Dumper, sort_keys=False, width=120))
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--objects", type=int, default=20000)
    parser.add_argument("--per-file", type=int, default=100)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    files = generate(args.out, objects=args.objects, per_file=args.per_file, seed=args.seed)
    size = sum(f.stat().st_size for f in files)
    print(f"wrote {args.objects} objects in {len(files)} files ({size / 1e6:.1f} MB) to {args.out}")


if __name__ == "__main__":
    main()
