"""The manifests that install the webhook: ``kubeward admission manifests``.

Namespace (Pod Security ``restricted``), ServiceAccount, ConfigMap (the kubeward.yaml the
webhook uses), Deployment (replicas spread over nodes, hardened, limits, probes), a
PodDisruptionBudget, a NetworkPolicy admitting only the webhook port, the Service, and the
ValidatingWebhookConfiguration. TLS: a generated CA and serving certificate (a
``kubernetes.io/tls`` Secret and the CA in ``caBundle``), or cert-manager (a self-signed Issuer,
a Certificate and ``cert-manager.io/inject-ca-from``). kubeward's own scan finds nothing in them
(a test keeps it so).
"""

from __future__ import annotations

import base64
import copy
import datetime
from dataclasses import dataclass
from typing import Any

from kubeward.model.enforcement import AdmissionSettings

WEBHOOK_NAME = "validate.kubeward.io"
PORT = 8443
RESOURCES = {
    "": ["pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers",
         "services", "configmaps", "secrets", "serviceaccounts", "namespaces"],
    "apps": ["deployments", "statefulsets", "daemonsets", "replicasets"],
    "batch": ["jobs", "cronjobs"],
    "networking.k8s.io": ["ingresses", "networkpolicies"],
    "rbac.authorization.k8s.io": ["rolebindings", "clusterrolebindings"],
}  # fmt: skip
"""What the webhook is registered for: every kind an object-scope rule judges
(``tests/test_admission_manifests.py`` holds it to the catalog)."""
WORKLOAD_RESOURCES = frozenset({
    "pods", "pods/ephemeralcontainers", "podtemplates", "replicationcontrollers",
    "deployments", "statefulsets", "daemonsets", "replicasets", "jobs", "cronjobs",
})  # fmt: skip
"""What the signature webhooks are registered for: everything that carries containers."""


@dataclass(frozen=True, kw_only=True)
class InstallOptions:
    image: str
    namespace: str = "kubeward"
    replicas: int = 2
    failure_policy: str = "Fail"
    timeout_seconds: int = 5
    cert_manager: bool = False
    certificate_days: int = 365
    apiserver_cidrs: tuple[str, ...] = ()
    key_files: tuple[tuple[str, bytes], ...] = ()
    """Image signatures: the public keys kubeward.yaml names (path relative to it, content).
    With them come the signature webhooks (``/pin-images``, ``/verify-images``)."""
    signature_failure_policy: str = "Fail"
    signature_timeout_seconds: int = 15
    registry_ports: tuple[int, ...] = (443,)
    """Where the signature webhooks may connect (besides DNS): the registries' ports."""
    namespace_lookup: bool = False
    """Users' CEL policies read ``namespaceObject``: the webhook lists and watches Namespaces
    (a token, a ClusterRole allowing exactly that, egress to the API server)."""
    policy_files: tuple[tuple[str, bytes], ...] = ()
    """Users' policy files kubeward.yaml lists (path relative to it, content): installed next
    to it, as in the repository."""
    policy_resources: tuple[tuple[str, str], ...] = ()
    """(API group, resource) of the built-in kinds users' policies judge beyond the catalog's,
    for the webhook's rules."""

    def resources(self) -> dict[str, list[str]]:
        """What ``/validate`` is registered for: the catalog's kinds and the policies'."""
        out = {group: list(resources) for group, resources in RESOURCES.items()}
        for group, resource in self.policy_resources:
            listed = out.setdefault(group, [])
            if resource not in listed:
                listed.append(resource)
        return out

    @property
    def signatures(self) -> bool:
        return bool(self.key_files)


def render(
    options: InstallOptions, config_text: str, settings: AdmissionSettings
) -> list[dict[str, Any]]:
    ns, name = options.namespace, "kubeward-webhook"
    labels = {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "kubeward"}
    service_dns = f"{name}.{ns}.svc"
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": ns,
                "labels": {
                    "pod-security.kubernetes.io/enforce": "restricted",
                    "pod-security.kubernetes.io/enforce-version": "latest",
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "automountServiceAccountToken": False,  # the webhook never calls the API server
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"{name}-config", "namespace": ns, "labels": labels},
            "data": {
                "kubeward.yaml": config_text,
                **{_key_item(path): content.decode() for path, content in options.key_files},
                **{
                    _policy_item(index, path): content.decode()
                    for index, (path, content) in enumerate(options.policy_files)
                },
            },
        },
        _deployment(options, name, labels),
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}},
        },
        _network_policy(options, name, labels),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {
                "selector": labels,
                "ports": [{"name": "https", "port": 443, "targetPort": PORT, "protocol": "TCP"}],
            },
        },
    ]
    if options.namespace_lookup:
        objects[3:3] = _namespace_reader(ns, name, labels)
    webhook = _webhook_configuration(options, name, settings)
    if options.cert_manager:
        objects += _cert_manager(ns, name, service_dns, labels)
        webhook["metadata"]["annotations"] = {"cert-manager.io/inject-ca-from": f"{ns}/{name}"}
    else:
        ca_pem, cert_pem, key_pem = generate_certificates(service_dns, options.certificate_days)
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/tls",
                "metadata": {"name": f"{name}-tls", "namespace": ns, "labels": labels},
                "data": {"tls.crt": _b64(cert_pem), "tls.key": _b64(key_pem)},
            }
        )
        webhook["webhooks"][0]["clientConfig"]["caBundle"] = _b64(ca_pem)
    objects.append(webhook)
    if options.signatures:
        for configuration in _signature_webhooks(options, name, settings):
            if options.cert_manager:
                configuration["metadata"]["annotations"] = {
                    "cert-manager.io/inject-ca-from": f"{ns}/{name}"
                }
            else:
                configuration["webhooks"][0]["clientConfig"]["caBundle"] = _b64(ca_pem)
            objects.append(configuration)
    return objects


def _namespace_reader(ns: str, name: str, labels: dict[str, str]) -> list[dict[str, Any]]:
    """Read access to Namespaces, and nothing else, for the webhook's service account."""
    role = f"{name}-namespace-reader"
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role, "labels": labels},
            "rules": [
                {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role, "labels": labels},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role,
            },
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}],
        },
    ]


def _safe(path: str) -> str:
    """``path`` as ConfigMap keys may spell it (no ``/``; the volume maps it back)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in path)


def _key_item(path: str) -> str:
    """A ConfigMap key for a key file."""
    return "key." + _safe(path)


def _policy_item(index: int, path: str) -> str:
    """A ConfigMap key for a policy file: numbered, since ``a/b_c`` and ``a_b/c`` would
    otherwise meet."""
    return f"policy.{index:03d}.{_safe(path)[-200:]}"  # a key holds at most 253 characters


def _signature_webhooks(
    options: InstallOptions, name: str, settings: AdmissionSettings
) -> list[dict[str, Any]]:
    """A mutating webhook that pins tags and a validating one that checks signatures, with
    their own failurePolicy and timeout: registries are slow or down at times, and that must
    not fail-close the cheap rules of ``/validate``."""
    validating = _webhook_configuration(options, name, settings)
    hook = validating["webhooks"][0]
    workloads = {group: [r for r in resources if r in WORKLOAD_RESOURCES]
                 for group, resources in options.resources().items()}  # fmt: skip
    hook["rules"] = [rule for rule in hook["rules"] if workloads[rule["apiGroups"][0]]]
    for rule in hook["rules"]:
        rule["resources"] = workloads[rule["apiGroups"][0]]
    hook["failurePolicy"] = options.signature_failure_policy
    hook["timeoutSeconds"] = options.signature_timeout_seconds
    validating["metadata"]["name"] = "kubeward-image-signatures"
    hook["name"] = "verify-images.kubeward.io"
    hook["clientConfig"]["service"]["path"] = "/verify-images"
    mutating = copy.deepcopy(validating)
    mutating["kind"] = "MutatingWebhookConfiguration"
    mutating["metadata"]["name"] = "kubeward-pin-images"
    pin = mutating["webhooks"][0]
    pin["name"] = "pin-images.kubeward.io"
    pin["clientConfig"]["service"]["path"] = "/pin-images"
    # a pin that fails is harmless: /verify-images then refuses the unpinned tag
    pin["failurePolicy"] = "Ignore"
    pin["reinvocationPolicy"] = "IfNeeded"  # pin what later mutating webhooks add, too
    return [mutating, validating]


SERVE_ARGS = [
    "admission", "serve", "--host", "0.0.0.0", "--port", str(PORT),  # noqa: S104 (in its pod)
    "--tls-cert", "/tls/tls.crt", "--tls-key", "/tls/tls.key", "--config", "/config/kubeward.yaml",
]  # fmt: skip


def _network_policy(options: InstallOptions, name: str, labels: dict[str, str]) -> dict[str, Any]:
    """Only the webhook port, only from the API server when its addresses are given."""
    ingress: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": PORT}]}
    metadata: dict[str, Any] = {"name": name, "namespace": options.namespace, "labels": labels}
    annotations = {}
    if options.apiserver_cidrs:
        ingress["from"] = [{"ipBlock": {"cidr": cidr}} for cidr in options.apiserver_cidrs]
    else:
        annotations["kubeward.io/ignore.N004"] = (
            "the API server calls the webhook from addresses not known when rendering; render "
            "with --apiserver-cidr to restrict the sources"
        )
    if options.namespace_lookup and not options.apiserver_cidrs:
        annotations["kubeward.io/ignore.N005"] = (
            "the webhook watches Namespaces through the API server, whose addresses are not "
            "known when rendering; render with --apiserver-cidr to restrict the destinations"
        )
    if options.signatures:
        annotations["kubeward.io/ignore.N005"] = (
            "the signature webhooks fetch signatures from the image registries, wherever they "
            "are; only their ports are open"
        )
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata,
        "spec": {
            "podSelector": {"matchLabels": labels},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [ingress],
            "egress": _egress(options),
        },
    }


def _egress(options: InstallOptions) -> list[dict[str, Any]]:
    """Nothing, unless signatures are checked (DNS and the registries' ports) or Namespaces
    are looked up (the API server)."""
    out: list[dict[str, Any]] = []
    if options.namespace_lookup:
        api_server: dict[str, Any] = {
            "ports": [{"protocol": "TCP", "port": port} for port in (443, 6443)]
        }
        if options.apiserver_cidrs:
            api_server["to"] = [{"ipBlock": {"cidr": cidr}} for cidr in options.apiserver_cidrs]
        out.append(api_server)
    if not options.signatures:
        return out
    cluster_dns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    return [
        *out,
        {"to": [cluster_dns],
         "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
        {"ports": [{"protocol": "TCP", "port": port} for port in options.registry_ports]},
    ]  # fmt: skip


def _probe(path: str) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": PORT, "scheme": "HTTPS"}, "periodSeconds": 5}


def _deployment(options: InstallOptions, name: str, labels: dict[str, str]) -> dict[str, Any]:
    container = {
        "name": "webhook",
        "image": options.image,
        "imagePullPolicy": "Always",
        "args": SERVE_ARGS,
        "ports": [{"name": "https", "containerPort": PORT, "protocol": "TCP"}],
        "readinessProbe": _probe("/readyz"),
        "livenessProbe": _probe("/healthz"),
        "resources": {
            "requests": {"cpu": "100m", "memory": "128Mi"},
            "limits": {"cpu": "1", "memory": "256Mi"},
        },
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "privileged": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [
            {"name": "tls", "mountPath": "/tls", "readOnly": True},
            {"name": "config", "mountPath": "/config", "readOnly": True},
        ],
    }
    deployment: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": options.namespace, "labels": labels},
        "spec": {
            "replicas": options.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": name,
                    "automountServiceAccountToken": False,
                    "securityContext": {
                        "runAsNonRoot": True,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "affinity": {
                        "podAntiAffinity": {
                            "preferredDuringSchedulingIgnoredDuringExecution": [
                                {
                                    "weight": 100,
                                    "podAffinityTerm": {
                                        "labelSelector": {"matchLabels": labels},
                                        "topologyKey": "kubernetes.io/hostname",
                                    },
                                }
                            ]
                        }
                    },
                    "containers": [container],
                    "volumes": [
                        {"name": "tls", "secret": {"secretName": f"{name}-tls"}},
                        {"name": "config", "configMap": _config_volume(options, name)},
                    ],
                },
            },
        },
    }
    if options.namespace_lookup:
        pod = deployment["spec"]["template"]
        pod["spec"]["automountServiceAccountToken"] = True
        pod["metadata"]["annotations"] = {
            "kubeward.io/ignore.A002": "the webhook watches Namespaces for policies that read "
            "namespaceObject; its ClusterRole allows get, list and watch on namespaces only"
        }
    return deployment


def _config_volume(options: InstallOptions, name: str) -> dict[str, Any]:
    source: dict[str, Any] = {"name": f"{name}-config"}
    if options.key_files or options.policy_files:  # where kubeward.yaml names them
        source["items"] = [
            {"key": "kubeward.yaml", "path": "kubeward.yaml"},
            *({"key": _key_item(path), "path": path} for path, _ in options.key_files),
            *({"key": _policy_item(index, path), "path": path}
              for index, (path, _) in enumerate(options.policy_files)),
        ]  # fmt: skip
    return source


def _webhook_configuration(
    options: InstallOptions, name: str, settings: AdmissionSettings
) -> dict[str, Any]:
    exempt = sorted({*settings.exempt_namespaces, options.namespace, "kube-system"})
    literal = [n for n in exempt if not any(c in n for c in "*?[")]
    conditions = []
    if settings.exempt_users:
        users = [u for u in settings.exempt_users if not any(c in u for c in "*?[")]
        if users:
            conditions.append(
                {
                    "name": "not-an-exempt-user",
                    "expression": f"!(request.userInfo.username in {_cel_list(users)})",
                }
            )
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": "kubeward", "labels": {"app.kubernetes.io/part-of": "kubeward"}},
        "webhooks": [
            {
                "name": WEBHOOK_NAME,
                "clientConfig": {
                    "service": {
                        "name": name,
                        "namespace": options.namespace,
                        "path": "/validate",
                        "port": 443,
                    }
                },
                "rules": [
                    {
                        "apiGroups": [group],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": resources,
                        "scope": "*",
                    }
                    for group, resources in options.resources().items()
                ],
                # the immutable name label: relabelling a namespace cannot opt it out
                "namespaceSelector": {
                    "matchExpressions": [
                        {
                            "key": "kubernetes.io/metadata.name",
                            "operator": "NotIn",
                            "values": literal,
                        }
                    ]
                },
                **({"matchConditions": conditions} if conditions else {}),
                "failurePolicy": options.failure_policy,
                "matchPolicy": "Equivalent",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": options.timeout_seconds,
            }
        ],
    }


def _cel_list(values: list[str]) -> str:
    return (
        "["
        + ", ".join("'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'" for v in values)
        + "]"
    )


def _cert_manager(
    ns: str, name: str, service_dns: str, labels: dict[str, str]
) -> list[dict[str, Any]]:
    return [
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Issuer",
            "metadata": {"name": f"{name}-selfsigned", "namespace": ns, "labels": labels},
            "spec": {"selfSigned": {}},
        },
        {
            "apiVersion": "cert-manager.io/v1",
            "kind": "Certificate",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {
                "secretName": f"{name}-tls",
                "dnsNames": [service_dns, f"{service_dns}.cluster.local"],
                "issuerRef": {"name": f"{name}-selfsigned", "kind": "Issuer"},
                "duration": "2160h",
                "renewBefore": "360h",
                "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
            },
        },
    ]


def generate_certificates(service_dns: str, days: int) -> tuple[bytes, bytes, bytes]:
    """A CA and a serving certificate for the webhook's Service (PEM: CA, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeward-webhook-ca")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.DNSName(service_dns), x509.DNSName(f"{service_dns}.cluster.local")]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, service_dns)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.public_bytes(pem), cert.public_bytes(pem), key_pem


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
