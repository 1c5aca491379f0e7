"""`kubeward admission export-vap` against the API server: the exported policies must decide
like kubeward's rules, object by object.

The policies are installed with ``validationActions: [Warn]`` (so one request shows every
policy's verdict), then the rule fixtures and seeded random workloads of every built-in kind
are created with server-side dry run: the set of policies that warn must equal the set of
exported rules with findings in kubeward's own evaluation of the same object.
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path
from typing import Any

import yaml

from kubeward.admission.vap import export, translations
from kubeward.engine import EngineSettings, evaluate
from kubeward.model import Inventory, K8sObject
from kubeward.model.enforcement import Action, AdmissionSettings
from kubeward.policies.loader import load_policies
from kubeward.rules import REGISTRY, RuleParams
from kubeward.rules._common.images import parse_registry_pattern
from kubeward.sources.manifests import DocumentOrigin, FixedLocator
from tests.testcluster import TestCluster

NAMESPACE = "vap-test"
FIXTURES = Path(__file__).parent.parent / "rules" / "fixtures"
PARAMS = RuleParams(
    trusted_registries=tuple(
        parse_registry_pattern(p)
        for p in ("registry.example", "ghcr.io/acme", "localhost:5000", "docker.io/library")
    ),
    insecure_registries=(parse_registry_pattern("registry.example:5000"),),
)
CUSTOM = load_policies([Path(__file__).parent.parent / "policies"])
"""Users' CEL policies (tests/policies): exported as they are, judged by kubeward's engine."""
TRANSLATIONS = {**translations(PARAMS), **dict.fromkeys(CUSTOM.definitions)}
RULES = [REGISTRY[rule_id] for rule_id in sorted(translations(PARAMS))] + CUSTOM.rules
WARNING = re.compile(r"ValidatingAdmissionPolicy 'kw-([a-z]+\d{3})'")
COLLECTIONS = {
    "Pod": "/api/v1/namespaces/{ns}/pods",
    "PodTemplate": "/api/v1/namespaces/{ns}/podtemplates",
    "ReplicationController": "/api/v1/namespaces/{ns}/replicationcontrollers",
    "Deployment": "/apis/apps/v1/namespaces/{ns}/deployments",
    "ReplicaSet": "/apis/apps/v1/namespaces/{ns}/replicasets",
    "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets",
    "DaemonSet": "/apis/apps/v1/namespaces/{ns}/daemonsets",
    "Job": "/apis/batch/v1/namespaces/{ns}/jobs",
    "CronJob": "/apis/batch/v1/namespaces/{ns}/cronjobs",
    "Service": "/api/v1/namespaces/{ns}/services",
    "Ingress": "/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses",
    "Namespace": "/api/v1/namespaces",
    "Secret": "/api/v1/namespaces/{ns}/secrets",
    "ConfigMap": "/api/v1/namespaces/{ns}/configmaps",
    "NetworkPolicy": "/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
    "RoleBinding": "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/rolebindings",
    "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
}
WORKLOAD_KINDS = sorted(
    k
    for k in COLLECTIONS
    if k
    not in {
        "Service",
        "Ingress",
        "Namespace",
        "Secret",
        "ConfigMap",
        "RoleBinding",
        "ClusterRoleBinding",
    }
)
API_VERSIONS = {"Pod": "v1", "PodTemplate": "v1", "ReplicationController": "v1", "Job": "batch/v1",
                "CronJob": "batch/v1"}  # fmt: skip


def kubeward_verdict(obj: dict[str, Any]) -> set[str]:
    item = K8sObject(json.loads(json.dumps(obj)), DocumentOrigin(None, None, FixedLocator(None)))
    settings = EngineSettings(params=PARAMS)
    return {f.rule_id for f in evaluate(Inventory([item]), RULES, settings).findings}


def api_server_verdict(api: Any, obj: dict[str, Any]) -> set[str] | str:
    """The rules whose policies warned, or the API server's refusal (a string)."""
    path = COLLECTIONS[obj["kind"]].format(ns=NAMESPACE)
    reply = api.post(path, json=obj, params={"dryRun": "All"})
    if reply.status_code != 201:
        return f"{reply.status_code}: {reply.json().get('message', reply.text)[:300]}"
    return {m.group(1).upper() for w in reply.headers.get_list("warning") for m in
            WARNING.finditer(w)}  # fmt: skip


SECCOMP = [{"type": "RuntimeDefault"}, {"type": "Unconfined"},
           {"type": "Localhost", "localhostProfile": "profiles/audit.json"}]  # fmt: skip
CAPABILITIES = [{"drop": ["ALL"]}, {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                {"drop": ["ALL"], "add": ["CHOWN"]}, {"drop": ["NET_RAW"]}, {"add": ["KILL"]},
                {"drop": ["all"]}, {"drop": ["cap_net_raw"]}, {"add": ["SYS_ADMIN"]},
                {"add": ["cap_sys_ptrace", "CHOWN"]}, {"add": ["NET_ADMIN"], "drop": ["ALL"]},
                {"add": ["SYS_TIME"]}, {"add": ["ALL"]}, {"drop": [" NET_RAW "]}]  # fmt: skip
SELINUX = [{"type": "container_t"}, {"type": "spc_t"}, {"type": "container_engine_t"},
           {"user": "system_u"}, {"role": "system_r", "type": "container_t"}, {"level": "s0:c1"}]  # fmt: skip
DIGEST = "sha256:" + "0123456789abcdef" * 4
IMAGES = [
    "registry.example/app:1", "registry.example/app", "nginx", "nginx:latest", "nginx:1.27",
    f"ghcr.io/acme/api@{DIGEST}", "ghcr.io/acme-evil/api:2", "ghcr.io/acme:1", "k8s.gcr.io/pause:3.9",
    "localhost:5000/tools/x:dev", "Registry.Example/app:1", "index.docker.io/library/redis:7",
    f"docker.io/library/nginx@{DIGEST}", f"registry.example/app:1@{DIGEST}", "UPPER/case:1",
    "bad image", "nginx:", "nginx@sha256:short", ":tag", "registry.example/App:1",
    "registry.example/app:" + "t" * 129, "[::1]:5000/app:1", "registry.example//app",
    "k8s.gcr.io/coredns/coredns:v1.11", "ghcr.io/acme/sub/tool:latest",
    "registry.example:5000/app:2", "registry.example:5000",
    # as the runtime parses them (tests/test_imageref_oracle.py): only these digests, no bare
    # image ID, paths up to 255 characters, library/ only after docker.io or index.docker.io
    f"nginx@sha256:{'A' * 64}", f"nginx:1@sha512:{'a' * 128}", f"nginx@md5:{'a' * 32}",
    "a" * 64, "library/" + "a" * 247, "library/" + "a" * 248, "registry-1.docker.io/nginx:1",
    "Docker.io/nginx:1", "registry-1.docker.io/library/nginx:1", "index.docker.io/redis:7",
]  # fmt: skip
HOST_PATHS = ["/var/log", "/etc", "/etc/ssl/certs", "/var", "/var/lib/kubelet/pods", "/",
              "/data", "/run/containerd/containerd.sock", "//etc//", "/./etc", "/home/user",
              "/var/run/docker.sock", "/proc/sys"]  # fmt: skip
APPARMOR = [{"type": "RuntimeDefault"}, {"type": "Unconfined"},
            {"type": "Localhost", "localhostProfile": "k8s-nginx"}]  # fmt: skip
APPARMOR_VALUES = ["unconfined", "runtime/default", "localhost/k8s-nginx", ""]
HANDLERS = [{"httpGet": {"path": "/", "port": 8080}}, {"tcpSocket": {"port": 8080}},
            {"httpGet": {"path": "/", "port": 8080, "host": "10.0.0.1"}},
            {"tcpSocket": {"port": 22, "host": "metadata.internal"}},
            {"exec": {"command": ["true"]}}]  # fmt: skip


def maybe(rng: random.Random, chance: float, *values: Any) -> Any:
    """One of ``values`` with probability ``chance``, else a sentinel meaning "leave unset"."""
    return rng.choice(values) if rng.random() < chance else UNSET


UNSET = object()


def put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not UNSET:
        target[key] = value


def security_context(rng: random.Random, userns: bool) -> dict[str, Any]:
    context: dict[str, Any] = {}
    put(context, "privileged", maybe(rng, 0.35, True, False, False))
    put(context, "seccompProfile", maybe(rng, 0.3, *SECCOMP))
    if not context.get("privileged"):
        put(context, "allowPrivilegeEscalation", maybe(rng, 0.5, True, False, False))
    put(context, "capabilities", maybe(rng, 0.45, *CAPABILITIES))
    put(context, "runAsNonRoot", maybe(rng, 0.3, True, False))
    put(context, "runAsUser", maybe(rng, 0.25, 0, 1000))
    put(context, "runAsGroup", maybe(rng, 0.2, 0, 1000))
    put(context, "readOnlyRootFilesystem", maybe(rng, 0.4, True, False))
    put(context, "seLinuxOptions", maybe(rng, 0.15, *SELINUX))
    put(context, "appArmorProfile", maybe(rng, 0.15, *APPARMOR))
    if userns:
        put(context, "procMount", maybe(rng, 0.3, "Unmasked", "Default"))
    return context


def container(rng: random.Random, name: str, host_network: bool, userns: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"name": name, "image": rng.choice(IMAGES)}
    put(item, "imagePullPolicy", maybe(rng, 0.5, "Always", "IfNotPresent", "Never"))
    add_environment(rng, item)
    if rng.random() < 0.75:
        item["securityContext"] = security_context(rng, userns)
    roll = rng.random()
    if roll < 0.3:
        port = rng.choice([8080, 9090])
        item["ports"] = [{"containerPort": port, "hostPort": port}]
    elif roll < 0.5:
        item["ports"] = [{"containerPort": 8080}]
    elif roll < 0.6 and not host_network:
        item["ports"] = [{"containerPort": 8080, "hostPort": 0}]
    return item


ENV = [{"name": "MODE", "value": "prod"},
       {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "api", "key": "token"}}},
       {"name": "LEVEL", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "level"}}},
       {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}]  # fmt: skip
ENV_FROM = [{"secretRef": {"name": "api"}}, {"configMapRef": {"name": "cfg"}},
            {"prefix": "DB_", "secretRef": {"name": "db"}}]  # fmt: skip


RESOURCES = [{"limits": {"cpu": "1", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}},
             {"limits": {"memory": "128Mi"}}, {"requests": {"cpu": "100m"}},
             {"limits": {"cpu": "1", "memory": "1Gi"}}, {}]  # fmt: skip
SYSCTLS = ["net.ipv4.tcp_syncookies", "net.ipv4.tcp_keepalive_time", "kernel.msgmax",
           "net.ipv4.tcp_rmem", "net.core.somaxconn", "kernel.shm_rmid_forced"]  # fmt: skip


MEMORY_LIMITS = ["128Mi", "1Gi", "4Gi", "4096Mi", "4.5Gi", "5Gi", "8G", "4294967296", "4294967297",
                 "3.9Gi", "4000M", "0.5Ti", "4194304Ki"]  # fmt: skip
ENDPOINTS = ["https://api.example.com/v1", "http://api.example.com", "https://[::1]:8443/x",
             "/relative/path", "ftp://files.example.com", "not a url", "https://a:b:c/",
             "https://shop.example.com/a/b/c", "https://user@host.example.com:80/?q=1",
             "https://api.example.com/?debug=1", "https://evil.example.org/",
             "https://api.example.com/path with space"]  # fmt: skip
EXTRA = random.Random()
"""Values for tests/policies/k8s_libs.yaml, drawn apart so the main stream stays as it was."""
VARIANTS = random.Random()
"""W021-W028's later cases (sidecars, pod-level and zero resources, capability order), drawn
apart too."""
POD_RESOURCES = [{"limits": {"cpu": "8", "memory": "600Gi"}}, {"limits": {"memory": "600Gi"}},
                 {"requests": {"cpu": "100m"}}, {"limits": {"cpu": "0", "memory": "0"}}]  # fmt: skip
ZERO_RESOURCES = [{"limits": {"cpu": "0", "memory": "0"}}, {"requests": {"cpu": "0"}},
                  {"requests": {"memory": "0Mi"}, "limits": {"memory": "64Mi"}}]  # fmt: skip
NET_RAW_CAPS = [{"drop": ["ALL"], "add": ["NET_RAW"]}, {"drop": ["CAP_NET_RAW"]},
                {"drop": ["all"], "add": ["cap_net_raw"]}, {"add": ["ALL"], "drop": ["ALL"]},
                {"add": ["NET_RAW"], "drop": ["NET_RAW"]}]  # fmt: skip


def add_variants(spec: dict[str, Any]) -> None:
    """Sidecars with or without probes, pod-level and zero resources, NET_RAW re-added,
    Windows by node selector."""
    if VARIANTS.random() < 0.2:
        spec["resources"] = VARIANTS.choice(POD_RESOURCES)
    linux = "os" not in spec
    for item in spec["containers"] + spec.get("initContainers", []):
        if VARIANTS.random() < 0.15:
            item["resources"] = VARIANTS.choice(ZERO_RESOURCES)
        if linux and VARIANTS.random() < 0.2:
            context = item.setdefault("securityContext", {})
            context["capabilities"] = VARIANTS.choice(NET_RAW_CAPS)
    if spec.get("initContainers") and VARIANTS.random() < 0.5:
        sidecar = spec["initContainers"][0]
        sidecar["restartPolicy"] = "Always"
        for probe in ("livenessProbe", "readinessProbe"):
            put(sidecar, probe, maybe(VARIANTS, 0.5, *HANDLERS[:2]))
    if linux and VARIANTS.random() < 0.08:
        spec["nodeSelector"] = {"kubernetes.io/os": "windows"}


def add_environment(rng: random.Random, item: dict[str, Any]) -> None:
    put(item, "resources", maybe(rng, 0.6, *RESOURCES))
    if "memory" in item.get("resources", {}).get("limits", {}):  # tests/policies: ACME010
        limits = {**item["resources"]["limits"], "memory": EXTRA.choice(MEMORY_LIMITS)}
        item["resources"] = {**item["resources"], "limits": limits}
    if rng.random() < 0.35:
        item["env"] = rng.sample(ENV, rng.randint(1, 2))
    if rng.random() < 0.2:
        item["envFrom"] = [rng.choice(ENV_FROM)]


def add_probes(rng: random.Random, item: dict[str, Any]) -> None:
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        put(item, probe, maybe(rng, 0.45, *HANDLERS))
    if rng.random() < 0.2:
        item["lifecycle"] = {rng.choice(["postStart", "preStop"]): rng.choice(HANDLERS[:4])}


def pod_spec(rng: random.Random, restart: str | None) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    userns = rng.random() < 0.15
    if userns:
        spec["hostUsers"] = False
    else:
        for flag in ("hostPID", "hostIPC", "hostNetwork"):
            put(spec, flag, maybe(rng, 0.35, True, True, False))
    put(spec, "shareProcessNamespace", maybe(rng, 0.3, True, False))
    if spec.get("hostPID") and spec.get("shareProcessNamespace"):
        del spec["shareProcessNamespace"]  # the API server refuses both
    host_network = spec.get("hostNetwork") is True
    spec["containers"] = [
        container(rng, f"c{i}", host_network, userns) for i in range(rng.randint(1, 2))
    ]
    for item in spec["containers"]:
        add_probes(rng, item)
    if host_network:  # one owner per node port
        seen: set[int] = set()
        for item in spec["containers"]:
            item["ports"] = [p for p in item.get("ports", []) if p["containerPort"] not in seen]
            seen.update(p["containerPort"] for p in item["ports"])
    if rng.random() < 0.3:
        spec["initContainers"] = [container(rng, "init", True, userns)]
        spec["initContainers"][0].pop("ports", None)
    roll = rng.random()
    if roll < 0.3:
        spec["volumes"] = [{"name": "logs", "hostPath": {"path": rng.choice(HOST_PATHS)}},
                           {"name": "tmp", "emptyDir": {}}]  # fmt: skip
    elif roll < 0.45:
        spec["volumes"] = [{"name": "tmp", "emptyDir": {}}]
    elif roll < 0.55:
        spec["volumes"] = [rng.choice([
            {"name": "share", "nfs": {"server": "10.0.0.1", "path": "/exports"}},
            {"name": "flex", "flexVolume": {"driver": "example.com/driver"}},
            {"name": "conf", "configMap": {"name": "cfg"}},
            {"name": "disk", "iscsi": {"targetPortal": "10.0.0.2:3260",
                                       "iqn": "iqn.2001-04.com.example:storage", "lun": 0}},
        ])]  # fmt: skip
    for item in spec["containers"] + spec.get("initContainers", []):
        if spec.get("volumes") and rng.random() < 0.7:
            mount = {"name": rng.choice(spec["volumes"])["name"], "mountPath": "/data"}
            put(mount, "readOnly", maybe(rng, 0.6, True, False))
            item["volumeMounts"] = [mount]
    if rng.random() < 0.5:
        context: dict[str, Any] = {}
        put(context, "seccompProfile", maybe(rng, 0.5, *SECCOMP))
        put(context, "runAsNonRoot", maybe(rng, 0.4, True, False))
        put(context, "runAsUser", maybe(rng, 0.3, 0, 1000))
        put(context, "runAsGroup", maybe(rng, 0.2, 0, 1000))
        put(context, "fsGroup", maybe(rng, 0.2, 0, 2000))
        put(context, "supplementalGroups", maybe(rng, 0.2, [0], [1000, 0], [3000]))
        put(context, "seLinuxOptions", maybe(rng, 0.15, *SELINUX))
        if rng.random() < 0.25:
            names = rng.sample(SYSCTLS, rng.randint(1, 2))
            context["sysctls"] = [{"name": n, "value": "1"} for n in names]
        spec["securityContext"] = context
    if rng.random() < 0.06:
        spec["os"] = {"name": "windows"}
        for item in spec["containers"] + spec.get("initContainers", []):
            item.pop("securityContext", None)  # most Linux settings are refused for Windows
        spec.pop("securityContext", None)
        for flag in ("hostPID", "hostIPC", "shareProcessNamespace", "hostUsers"):
            spec.pop(flag, None)
        if rng.random() < 0.5:
            spec["hostNetwork"] = True
            spec["securityContext"] = {"windowsOptions": {"hostProcess": True}}
            spec.pop("volumes", None)
            for item in spec["containers"] + spec.get("initContainers", []):
                item.pop("ports", None)
                item.pop("volumeMounts", None)
    account = rng.choice(["none", "default", "web", "old-web", "old-default", "empty"])
    if account in ("default", "web"):
        spec["serviceAccountName"] = account
    elif account.startswith("old-"):
        spec["serviceAccount"] = account[4:]
    elif account == "empty":
        spec["serviceAccountName"] = ""
    if restart:
        spec["restartPolicy"] = restart
    add_variants(spec)
    return spec


def workload(rng: random.Random, index: int) -> dict[str, Any]:
    kind = rng.choice(WORKLOAD_KINDS)
    labels = {"app": f"w{index}"}
    restart = "Never" if kind in ("Job", "CronJob") else None
    spec = pod_spec(rng, restart)
    pod_meta: dict[str, Any] = {"labels": labels}
    if rng.random() < 0.2 and spec.get("os", {}).get("name") != "windows":
        target = rng.choice(spec["containers"])["name"]
        key = f"container.apparmor.security.beta.kubernetes.io/{target}"
        pod_meta["annotations"] = {key: rng.choice(APPARMOR_VALUES)}
    if rng.random() < 0.1 and spec.get("os", {}).get("name") != "windows":
        spec.setdefault("securityContext", {})["appArmorProfile"] = rng.choice(APPARMOR)
    template = {"metadata": pod_meta, "spec": spec}
    meta: dict[str, Any] = {"name": f"w{index}", "namespace": NAMESPACE}
    if rng.random() < 0.5:
        meta["labels"] = {"team": "payments"}  # tests/policies: ACME001
    api_version = API_VERSIONS.get(kind, "apps/v1")
    if kind == "Pod":
        meta.update({k: v for k, v in pod_meta.items() if k == "annotations"})
        put(spec, "restartPolicy", maybe(rng, 0.4, "Always", "Never", "OnFailure"))
        if rng.random() < 0.15:
            meta["ownerReferences"] = [{"apiVersion": "batch/v1", "kind": "Job", "name": "owner",
                                        "uid": "6f1f7a4c-0b7e-4c51-9a57-3c9d9f0a0009"}]  # fmt: skip
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec}
    if kind == "PodTemplate":
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "template": template}
    if kind == "CronJob":
        job = {"template": template}
        return {"apiVersion": api_version, "kind": kind, "metadata": meta,
                "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": job}}}  # fmt: skip
    body: dict[str, Any] = {"template": template}
    if kind in ("Deployment", "StatefulSet"):
        put(body, "replicas", maybe(rng, 0.6, 1, 2, 3))  # tests/policies: ACME002
    if kind not in {"Job", "ReplicationController"}:
        body["selector"] = {"matchLabels": labels}
    if kind == "ReplicationController":
        body["selector"] = labels
    return {"apiVersion": api_version, "kind": kind, "metadata": meta, "spec": body}


RBAC = "rbac.authorization.k8s.io"
SUBJECTS = [
    {"kind": "ServiceAccount", "name": "default", "namespace": NAMESPACE},
    {"kind": "ServiceAccount", "name": "web", "namespace": NAMESPACE},
    {"kind": "User", "name": f"system:serviceaccount:{NAMESPACE}:default", "apiGroup": RBAC},
    {"kind": "User", "name": "system:serviceaccount:default", "apiGroup": RBAC},
    {"kind": "User", "name": "alice", "apiGroup": RBAC},
    {"kind": "Group", "name": "system:serviceaccounts", "apiGroup": RBAC},
    {"kind": "Group", "name": f"system:serviceaccounts:{NAMESPACE}", "apiGroup": RBAC},
    {"kind": "Group", "name": "system:serviceaccounts:", "apiGroup": RBAC},
    {"kind": "Group", "name": "system:authenticated", "apiGroup": RBAC},
    {"kind": "Group", "name": "devs", "apiGroup": RBAC},
]
SNIPPETS = ["nginx.ingress.kubernetes.io/configuration-snippet",
            "nginx.ingress.kubernetes.io/server-snippet", "nginx.ingress.kubernetes.io/rewrite-target",
            "nginx.ingress.kubernetes.io/auth-snippet", "ingress.example.com/server-snippet"]  # fmt: skip


HELM_LABELS = [
    {"owner": "helm", "name": "web", "status": "deployed", "version": "3"},
    {"owner": "Helm", "name": "web", "status": "superseded", "version": "2"},
    {"owner": "helm", "name": "web"},
    {"OWNER": "TILLER", "NAME": "web", "VERSION": "1"},
    {"OWNER": "tiller"},
    {"app": "web"},
    {},
]


SOURCE_RANGES = [["0.0.0.0/0"], ["10.0.0.0/8"], ["::/0"], ["192.168.0.0/16", "0.0.0.0/0"],
                 ["203.0.113.0/24"]]  # fmt: skip
LB_RANGES = "service.beta.kubernetes.io/load-balancer-source-ranges"
RANGE_ANNOTATIONS = ["0.0.0.0/0", "10.0.0.0/8", "10.0.0.0/8, 0.0.0.0/0", "  ", "::/0"]
TLS_ANNOTATIONS = ["alb.ingress.kubernetes.io/certificate-arn",
                   "networking.gke.io/managed-certificates"]  # fmt: skip
HOSTS = ["shop.example.com", "api.example.com", "*.example.com", "example.com", None]


def selector(rng: random.Random) -> dict[str, Any]:
    return rng.choice([{}, {"matchLabels": {"team": "a"}}, {"matchLabels": {}},
                       {"matchExpressions": [{"key": "env", "operator": "Exists"}]}])  # fmt: skip


def peer(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.3:
        block: dict[str, Any] = {"cidr": rng.choice(["0.0.0.0/0", "::/0", "10.0.0.0/8"])}
        if rng.random() < 0.3 and block["cidr"] != "::/0":
            block["except"] = ["10.1.0.0/16"] if block["cidr"] == "10.0.0.0/8" else ["10.0.0.0/8"]
        return {"ipBlock": block}
    if roll < 0.65:
        item = {"namespaceSelector": selector(rng)}
        if rng.random() < 0.5:
            item["podSelector"] = selector(rng)
        return item
    return {"podSelector": selector(rng)}


def network_policy(rng: random.Random, meta: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"podSelector": selector(rng)}
    put(spec, "policyTypes", maybe(rng, 0.6, ["Ingress"], ["Egress"], ["Ingress", "Egress"]))
    for key, peers in (("ingress", "from"), ("egress", "to")):
        if rng.random() < 0.7:
            rules = []
            for _ in range(rng.randint(1, 2)):
                rule: dict[str, Any] = {}
                if rng.random() < 0.8:
                    rule[peers] = [peer(rng) for _ in range(rng.randint(1, 2))]
                if rng.random() < 0.4:
                    rule["ports"] = [{"protocol": "TCP", "port": 443}]
                rules.append(rule)
            spec[key] = rules
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta,
            "spec": spec}  # fmt: skip


def ingress(rng: random.Random, meta: dict[str, Any]) -> dict[str, Any]:
    annotations = {k: rng.choice(["x", "x", " \n "]) for k in SNIPPETS if rng.random() < 0.2}
    if rng.random() < 0.15:
        annotations[rng.choice(TLS_ANNOTATIONS)] = rng.choice(["arn:aws:acm:x", ""])
    meta["annotations"] = annotations
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    spec: dict[str, Any] = {}
    if rng.random() < 0.4:
        spec["defaultBackend"] = backend
    rules = []
    for _ in range(rng.randint(0 if spec else 1, 2)):
        rule: dict[str, Any] = {"http": {"paths": [{"path": "/", "pathType": "Prefix",
                                                    "backend": backend}]}}  # fmt: skip
        host = rng.choice(HOSTS)
        if host:
            rule["host"] = host
        rules.append(rule)
    if rules:
        spec["rules"] = rules
    if rng.random() < 0.5:
        spec["tls"] = [{"hosts": rng.sample([h for h in HOSTS if h], rng.randint(0, 2)),
                        "secretName": "tls"}]  # fmt: skip
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta,
            "spec": spec}  # fmt: skip


def other_object(rng: random.Random, index: int) -> dict[str, Any]:
    """Services, Ingresses, Namespaces, Secrets and bindings, for the non-workload rules."""
    name = f"o{index}"
    meta: dict[str, Any] = {"name": name, "namespace": NAMESPACE}
    kind = rng.choice(["Service", "Service", "Ingress", "Ingress", "Namespace", "Secret",
                       "RoleBinding", "ClusterRoleBinding", "ConfigMap", "NetworkPolicy",
                       "NetworkPolicy"])  # fmt: skip
    if kind == "NetworkPolicy":
        return network_policy(rng, meta)
    if kind == "ConfigMap":
        meta["labels"] = rng.choice(HELM_LABELS)
        data = {"release": "H4sI"}
        if EXTRA.random() < 0.7:
            data["endpoint"] = EXTRA.choice(ENDPOINTS)  # tests/policies: ACME014
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "data": data}
    if kind == "Service":
        meta["name"] = rng.choice([name, f"{name}-prod", f"{name}-eu-west-1", f"{name}-api"])
        spec: dict[str, Any] = {"selector": {"app": "x"}, "ports": [{"port": 80}]}
        put(spec, "type", maybe(rng, 0.8, "ClusterIP", "NodePort", "LoadBalancer", "LoadBalancer"))
        put(spec, "externalIPs", maybe(rng, 0.3, ["203.0.113.10"], ["198.51.100.1", "::1"]))
        if spec.get("type") == "LoadBalancer":
            put(spec, "loadBalancerSourceRanges", maybe(rng, 0.5, *SOURCE_RANGES))
            if rng.random() < 0.4:
                meta["annotations"] = {LB_RANGES: rng.choice(RANGE_ANNOTATIONS)}
        return {"apiVersion": "v1", "kind": kind, "metadata": meta, "spec": spec}
    if kind == "Ingress":
        return ingress(rng, meta)
    if kind == "Namespace":
        level = maybe(rng, 0.7, "privileged", "baseline", "restricted")
        labels = {} if level is UNSET else {"pod-security.kubernetes.io/enforce": level}
        return {
            "apiVersion": "v1",
            "kind": kind,
            "metadata": {"name": f"ns-{name}", "labels": labels},
        }
    if kind == "Secret":
        secret: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": meta}
        kind_of = maybe(rng, 0.7, "Opaque", "kubernetes.io/service-account-token")
        put(secret, "type", kind_of)
        if kind_of == "kubernetes.io/service-account-token":
            meta["annotations"] = {"kubernetes.io/service-account.name": "web"}
        return secret
    subjects = rng.sample(SUBJECTS, rng.randint(0, 3))
    binding: dict[str, Any] = {
        "apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta,
        "roleRef": {"apiGroup": RBAC, "kind": "ClusterRole", "name": "view"},
    }  # fmt: skip
    if subjects:
        binding["subjects"] = subjects
    if kind == "ClusterRoleBinding":
        del meta["namespace"]
        if rng.random() < 0.4:
            meta["name"] = f"system:kubeward-{name}"
            if rng.random() < 0.6:
                meta["labels"] = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    return binding


def fixture_objects() -> list[dict[str, Any]]:
    found = []
    for rule_id in sorted(TRANSLATIONS):
        for path in sorted((FIXTURES / rule_id).glob("*.yaml")):
            if path.name == "kubeward.yaml":
                continue
            for index, doc in enumerate(yaml.safe_load_all(path.read_text())):
                if isinstance(doc, dict) and doc.get("kind") in COLLECTIONS:
                    meta = {**doc.get("metadata", {}), "namespace": NAMESPACE}
                    if doc["kind"] in ("Namespace", "ClusterRoleBinding"):
                        meta.pop("namespace")  # cluster-scoped: keep the name (it matters)
                    else:
                        meta["name"] = f"f-{rule_id.lower()}-{path.stem}-{index}"
                    doc["metadata"] = meta
                    found.append(doc)
    return found


def shorten(objects: list[dict[str, Any]]) -> None:
    """Short policy names and messages: the API server keeps at most 4 KiB of warnings per
    response, and an object can break twenty rules (the CEL is untouched)."""
    for obj in objects:
        rule_id = obj["metadata"].get("labels", {}).get("kubeward.io/rule", "")
        if obj["kind"] == "ValidatingAdmissionPolicy":
            obj["metadata"]["name"] = f"kw-{rule_id.lower()}"
            for validation in obj["spec"]["validations"]:
                validation["message"] = rule_id
        elif obj["kind"] == "ValidatingAdmissionPolicyBinding":
            obj["metadata"]["name"] = obj["spec"]["policyName"] = f"kw-{rule_id.lower()}"


def test_restricted_volume_sources_are_every_other_source(cluster: TestCluster) -> None:
    """W020's translation names each disallowed volume source: the list must be the Pod API's."""
    from kubeward.admission.vap import RESTRICTED_VOLUME_SOURCES
    from kubeward.rules.workload.restricted_volume_type import ALLOWED_VOLUME_TYPES

    with cluster.client() as api:
        schemas = api.get("/openapi/v3/api/v1").json()["components"]["schemas"]
    sources = set(schemas["io.k8s.api.core.v1.Volume"]["properties"]) - {"name"}
    assert sources == RESTRICTED_VOLUME_SOURCES | ALLOWED_VOLUME_TYPES | {"hostPath"}


def test_exported_policies_decide_like_the_rules(cluster: TestCluster) -> None:
    objects, _ = export(
        RULES, AdmissionSettings(exempt_namespaces=()), action=Action.WARN, params=PARAMS,
        custom=CUSTOM.definitions,
    )  # fmt: skip
    policies = [o for o in objects if o["kind"] == "ValidatingAdmissionPolicy"]
    assert len(policies) == len(TRANSLATIONS)
    assert any("paramKind" in p["spec"] for p in policies)  # I001 reads its allow-list
    shorten(objects)
    accounts = ["web", "old", "runner", "build-bot", "deployer", "app", "api"]
    cluster.apply(
        [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}]
        + [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": n, "namespace": NAMESPACE},
            }
            for n in accounts
        ]
        + objects
    )
    rng = random.Random(20261127)
    EXTRA.seed(1127)
    VARIANTS.seed(2811)
    corpus = fixture_objects() + [workload(rng, i) for i in range(700)]
    corpus += [other_object(rng, i) for i in range(700)]
    with cluster.client() as api:
        # policies become active a moment after they are created: until the first objects get
        # kubeward's verdicts (or a minute passed: then the mismatches below say what differs)
        warm_up = [o for kind in COLLECTIONS for o in [c for c in corpus if c["kind"] == kind][:6]]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and any(
            api_server_verdict(api, o) not in (kubeward_verdict(o),)
            and not isinstance(api_server_verdict(api, o), str)
            for o in warm_up
        ):
            time.sleep(1)
        compared, refused, mismatches = 0, [], []
        fired: dict[str, int] = dict.fromkeys(TRANSLATIONS, 0)
        for obj in corpus:
            verdict = api_server_verdict(api, obj)
            if isinstance(verdict, str):
                refused.append((obj["metadata"]["name"], verdict))
                assert "ValidatingAdmissionPolicy" not in verdict, verdict  # a policy error
                continue
            compared += 1
            expected = kubeward_verdict(obj)
            for rule_id in expected:
                fired[rule_id] += 1
            if verdict != expected:
                mismatches.append((obj, sorted(expected), sorted(verdict)))
    assert compared >= 700, (compared, refused[:5])
    # every policy was seen both failing and passing, or the comparison would prove little
    assert all(5 <= n <= compared - 5 for n in fired.values()), str(sorted(fired.items()))
    assert not mismatches, "\n\n".join(
        f"kubeward {k}, API server {a}:\n{yaml.safe_dump(o)}" for o, k, a in mismatches[:3]
    )
