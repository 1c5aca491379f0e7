"""`kubeward admission manifests`: what it installs passes kubeward's own scan."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml
from cryptography import x509

from kubeward.config import load_config
from tests.cli_helpers import kubeward
from tests.conftest import scan_paths

IMAGE = "ghcr.io/kubeward/kubeward@sha256:" + "b" * 64


def render(tmp_path: Path, *args: str) -> list[dict]:  # type: ignore[type-arg]
    (tmp_path / "kubeward.yaml").write_text(
        "trustedRegistries: [ghcr.io/kubeward]\nadmission:\n  exempt:\n"
        "    namespaces: [kube-system, kubeward, monitoring]\n    users: [ci-admin]\n"
    )
    run = kubeward("admission", "manifests", "--image", IMAGE, *args, cwd=tmp_path)
    assert run.code == 0, run.stderr
    (tmp_path / "install.yaml").write_text(run.stdout)
    return list(yaml.safe_load_all(run.stdout))


def scan(tmp_path: Path):  # type: ignore[no-untyped-def]
    config = load_config(tmp_path / "kubeward.yaml")
    return scan_paths([tmp_path / "install.yaml"], config=config)


def test_cert_manager_install_passes_kubewards_own_scan(tmp_path: Path) -> None:
    objects = render(tmp_path, "--cert-manager", "--apiserver-cidr", "10.0.0.0/24")
    result = scan(tmp_path)
    assert not result.errors
    assert [(f.rule_id, f.message) for f in result.findings] == []
    assert not result.suppressed
    kinds = [o["kind"] for o in objects]
    for kind in ("Namespace", "ServiceAccount", "ConfigMap", "Deployment", "PodDisruptionBudget",
                 "NetworkPolicy", "Service", "Issuer", "Certificate",
                 "ValidatingWebhookConfiguration"):  # fmt: skip
        assert kind in kinds
    webhook = objects[-1]
    assert webhook["metadata"]["annotations"]["cert-manager.io/inject-ca-from"] == (
        "kubeward/kubeward-webhook"
    )
    hook = webhook["webhooks"][0]
    assert hook["sideEffects"] == "None" and hook["admissionReviewVersions"] == ["v1"]
    assert hook["failurePolicy"] == "Fail" and hook["timeoutSeconds"] == 5
    assert hook["namespaceSelector"]["matchExpressions"][0]["values"] == [
        "kube-system", "kubeward", "monitoring"
    ]  # fmt: skip
    assert hook["matchConditions"] == [
        {"name": "not-an-exempt-user", "expression": "!(request.userInfo.username in ['ci-admin'])"}
    ]
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    assert "ci-admin" in config_map["data"]["kubeward.yaml"]
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2


def test_without_apiserver_addresses_the_open_port_is_suppressed_with_a_reason(
    tmp_path: Path,
) -> None:
    render(tmp_path, "--cert-manager", "--failure-policy", "Ignore", "--replicas", "3")
    result = scan(tmp_path)
    assert not result.findings
    assert [f.rule_id for f in result.suppressed] == ["N004"]
    assert "--apiserver-cidr" in (result.suppressed[0].suppression.reason or "")


def test_generated_certificate_serves_the_service_name(tmp_path: Path) -> None:
    objects = render(tmp_path, "--namespace", "guard")
    secret = next(o for o in objects if o["kind"] == "Secret")
    hook = objects[-1]["webhooks"][0]
    ca = x509.load_pem_x509_certificate(base64.b64decode(hook["clientConfig"]["caBundle"]))
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "kubeward-webhook.guard.svc" in names.get_values_for_type(x509.DNSName)
    assert hook["clientConfig"]["service"]["namespace"] == "guard"
    # the generated key is a Secret in a manifest: kubeward says not to commit it, and only that
    result = scan(tmp_path)
    assert {(f.rule_id, f.object.kind) for f in result.findings} == {("S007", "Secret")}


def test_bad_options_are_usage_errors(tmp_path: Path) -> None:
    for args in (("--replicas", "0"), ("--apiserver-cidr", "10.0.0.300/8"), ()):
        image = ("--image", IMAGE) if args else ()
        run = kubeward("admission", "manifests", *image, *args, cwd=tmp_path)
        assert run.code == 2, (args, run.stderr)
        assert "Traceback" not in run.stderr


def write_signature_config(directory: Path) -> None:
    """A kubeward.yaml with imageSignatures and its key file under keys/."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    (directory / "keys").mkdir()
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    (directory / "keys" / "release.pub").write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (directory / "kubeward.yaml").write_text(
        "trustedRegistries: [ghcr.io/kubeward]\n"
        "imageSignatures:\n  rules:\n    - name: kubeward\n"
        "      images: [ghcr.io/kubeward/**]\n      keys: [keys/release.pub]\n"
        "  plainHTTP: [registry.internal:5000]\n"
    )


def test_signature_webhooks_have_their_own_failure_policy_and_timeout(tmp_path: Path) -> None:
    write_signature_config(tmp_path)
    run = kubeward(
        "admission", "manifests", "--image", IMAGE, "--apiserver-cidr", "10.0.0.0/24",
        "--cert-manager", "--signature-failure-policy", "Ignore", "--signature-timeout", "20", cwd=tmp_path,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    (tmp_path / "install.yaml").write_text(run.stdout)
    objects = list(yaml.safe_load_all(run.stdout))
    by_kind = {o["kind"]: o for o in reversed(objects)}  # the first of each kind
    cheap = by_kind["ValidatingWebhookConfiguration"]["webhooks"][0]  # the first: /validate
    assert (cheap["failurePolicy"], cheap["timeoutSeconds"]) == ("Fail", 5)
    verify = next(o for o in objects if o["metadata"]["name"] == "kubeward-image-signatures")
    hook = verify["webhooks"][0]
    assert (hook["failurePolicy"], hook["timeoutSeconds"]) == ("Ignore", 20)
    assert hook["clientConfig"]["service"]["path"] == "/verify-images"
    assert (
        "pods" in hook["rules"][0]["resources"] and "services" not in hook["rules"][0]["resources"]
    )
    pin = by_kind["MutatingWebhookConfiguration"]["webhooks"][0]
    assert pin["clientConfig"]["service"]["path"] == "/pin-images"
    assert pin["failurePolicy"] == "Ignore" and pin["reinvocationPolicy"] == "IfNeeded"
    injected = by_kind["MutatingWebhookConfiguration"]["metadata"]["annotations"]
    assert injected == {"cert-manager.io/inject-ca-from": "kubeward/kubeward-webhook"}
    config_map = by_kind["ConfigMap"]
    assert "BEGIN PUBLIC KEY" in config_map["data"]["key.keys_release.pub"]
    volume = next(
        v for v in by_kind["Deployment"]["spec"]["template"]["spec"]["volumes"]
        if v["name"] == "config"
    )  # fmt: skip
    assert {"key": "key.keys_release.pub", "path": "keys/release.pub"} in volume["configMap"][
        "items"
    ]
    egress_ports = {
        p["port"] for rule in by_kind["NetworkPolicy"]["spec"]["egress"] for p in rule["ports"]
    }
    assert egress_ports == {53, 443, 5000}
    result = scan(tmp_path)
    assert not result.errors
    assert [(f.rule_id, f.message) for f in result.findings] == []
    assert [f.rule_id for f in result.suppressed] == ["N005"]  # registries only: DNS is confined


def test_namespace_lookup_grants_reading_namespaces_and_nothing_more(tmp_path: Path) -> None:
    objects = render(
        tmp_path, "--namespace-lookup", "--cert-manager", "--apiserver-cidr", "10.0.0.0/24"
    )
    result = scan(tmp_path)
    assert [(f.rule_id, f.message) for f in result.findings] == []
    assert [f.rule_id for f in result.suppressed] == ["A002"]
    (role,) = [o for o in objects if o["kind"] == "ClusterRole"]
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}
    ]
    (binding,) = [o for o in objects if o["kind"] == "ClusterRoleBinding"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "kubeward-webhook", "namespace": "kubeward"}
    ]
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is True
    policy = next(o for o in objects if o["kind"] == "NetworkPolicy")
    assert policy["spec"]["egress"] == [
        {"ports": [{"protocol": "TCP", "port": 443}, {"protocol": "TCP", "port": 6443}],
         "to": [{"ipBlock": {"cidr": "10.0.0.0/24"}}]}
    ]  # fmt: skip


def test_the_webhook_is_registered_for_every_kind_an_object_rule_judges(tmp_path: Path) -> None:
    """Every kind an object-scope rule names, and every built-in kind with a pod spec (the
    workload rules), reaches ``/validate``; a kind left out is admitted unjudged. The signature
    webhooks see every kind that carries containers."""
    from kubeward.model.objects import BUILTIN_POD_SPEC_PATHS
    from kubeward.policies.kinds import KIND_RESOURCES
    from kubeward.rules import ALL_RULES, Scope

    objects = render(tmp_path)
    hook = next(o for o in objects if o["kind"] == "ValidatingWebhookConfiguration")
    registered = {
        (group, resource)
        for rule in hook["webhooks"][0]["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }
    judged = {kind for r in ALL_RULES if r.scope is Scope.OBJECT for kind in r.target.kinds}
    judged |= set(BUILTIN_POD_SPEC_PATHS)
    missing = sorted(kind for kind in judged if KIND_RESOURCES[kind] not in registered)
    assert missing == []
    assert ("", "pods/ephemeralcontainers") in registered
    write_signature_config(tmp_path)
    run = kubeward("admission", "manifests", "--image", IMAGE, cwd=tmp_path)
    assert run.code == 0, run.stderr
    verify = next(
        o for o in yaml.safe_load_all(run.stdout)
        if o["metadata"]["name"] == "kubeward-image-signatures"
    )  # fmt: skip
    carrying = {r for rule in verify["webhooks"][0]["rules"] for r in rule["resources"]}
    assert {KIND_RESOURCES[kind][1] for kind in BUILTIN_POD_SPEC_PATHS} <= carrying


ROLE_POLICY = """\
apiVersion: kubeward.io/v1alpha1
kind: CELPolicy
metadata: {name: no-wildcard-roles}
spec:
  id: ACME070
  title: Role grants every verb
  severity: high
  remediation: List the verbs.
  match: {kinds: [Role, ClusterRole]}
  validations:
    - {expression: "!object.rules.exists(r, '*' in r.verbs)", message: every verb}
---
apiVersion: kubeward.io/v1alpha1
kind: CELPolicy
metadata: {name: widget-owner}
spec:
  id: ACME071
  title: Widget without owner
  severity: low
  remediation: Label it.
  match: {kinds: [Widget]}
  validations:
    - {expression: "has(object.metadata.labels)", message: no labels}
"""


def test_users_policies_are_installed_next_to_kubeward_yaml_and_registered(
    tmp_path: Path,
) -> None:
    """The policy files kubeward.yaml lists travel in the ConfigMap and land where it names
    them, so the webhook loads the same policies; the kinds they judge are registered, and a
    kind that cannot be (a custom resource) is named on stderr."""
    from kubeward.scan import custom_policies

    repo = tmp_path / "repo"
    (repo / "policies" / "more").mkdir(parents=True)
    (repo / "policies" / "acme.yaml").write_text(
        (Path(__file__).parent / "policies" / "acme.yaml").read_text()
    )
    (repo / "policies" / "more" / "roles.yaml").write_text(ROLE_POLICY)
    (repo / "kubeward.yaml").write_text("policies: [policies]\n")
    run = kubeward("admission", "manifests", "--image", IMAGE, cwd=repo)
    assert run.code == 0, run.stderr
    assert "policy ACME071 judges Widget" in run.stderr
    objects = list(yaml.safe_load_all(run.stdout))
    config_map = next(o for o in objects if o["kind"] == "ConfigMap")
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    volume = next(
        v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "config"
    )
    installed = tmp_path / "installed"  # the volume as the pod sees it
    for item in volume["configMap"]["items"]:
        target = installed / item["path"]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(config_map["data"][item["key"]])
    in_repo = custom_policies(load_config(repo / "kubeward.yaml"), ())
    in_pod = custom_policies(load_config(installed / "kubeward.yaml"), ())
    assert not in_pod.problems
    assert [r.id for r in in_pod.rules] == [r.id for r in in_repo.rules]
    assert {"ACME070", "ACME071"} <= {r.id for r in in_pod.rules}
    hook = next(o for o in objects if o["kind"] == "ValidatingWebhookConfiguration")
    rbac = next(
        r for r in hook["webhooks"][0]["rules"]
        if r["apiGroups"] == ["rbac.authorization.k8s.io"]
    )  # fmt: skip
    assert {"roles", "clusterroles", "rolebindings"} <= set(rbac["resources"])


def test_policies_the_install_cannot_carry_are_usage_errors(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "roles.yaml").write_text(ROLE_POLICY)
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "kubeward.yaml").write_text("policies: [../elsewhere]\n")
    run = kubeward("admission", "manifests", "--image", IMAGE, cwd=repo)
    assert run.code == 2
    assert "keep policy files below kubeward.yaml's directory" in run.stderr
    (repo / "ns.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: team}\n"
        "spec:\n  id: ACME072\n  title: t\n  severity: low\n  remediation: r.\n"
        "  match: {kinds: [ConfigMap]}\n  validations:\n"
        '    - {expression: "namespaceObject == null || has(namespaceObject.metadata)", '
        "message: m}\n"
    )
    (repo / "kubeward.yaml").write_text("policies: [ns.yaml]\n")
    run = kubeward("admission", "manifests", "--image", IMAGE, cwd=repo)
    assert run.code == 2
    assert "ACME072 read namespaceObject: add --namespace-lookup" in run.stderr
    run = kubeward("admission", "manifests", "--image", IMAGE, "--namespace-lookup", cwd=repo)
    assert run.code == 0, run.stderr
