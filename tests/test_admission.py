"""The webhook's decisions (pure) and its HTTP handling (the ASGI app, no TLS)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import ssl
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from kubeward.admission.review import (
    MAX_BODY_BYTES,
    MAX_CONTAINERS,
    MAX_VOLUMES,
    Reviewer,
    parse,
    response,
)
from kubeward.admission.server import CertificateReloader, create_app, operation_label
from kubeward.engine import EngineSettings, PolicyException
from kubeward.model import K8sObject, Severity, Violation
from kubeward.model.enforcement import Action, AdmissionSettings
from kubeward.model.secrets import LAST_APPLIED, REDACTED, REDACTED_BASE64, without_secret_values
from kubeward.rules import ALL_RULES, RuleParams
from kubeward.rules._base import WORKLOADS
from kubeward.rules._base import rule as object_rule
from kubeward.rules._common.images import parse_registry_pattern

TRUSTED = RuleParams(trusted_registries=(parse_registry_pattern("registry.corp.example"),))
GOOD_CONTAINER: dict[str, Any] = {
    "name": "app",
    "image": "registry.corp.example/shop/api@sha256:" + "a" * 64,
    "imagePullPolicy": "Always",
    "securityContext": {
        "allowPrivilegeEscalation": False, "privileged": False, "readOnlyRootFilesystem": True,
        "runAsNonRoot": True, "runAsUser": 10001, "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    },
    "resources": {"limits": {"cpu": "1", "memory": "128Mi"},
                  "requests": {"cpu": "100m", "memory": "64Mi"}},
    "livenessProbe": {"httpGet": {"path": "/", "port": 8080}},
    "readinessProbe": {"httpGet": {"path": "/", "port": 8080}},
}  # fmt: skip


def pod(name: str = "web", **container: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": "shop"},
        "spec": {
            "serviceAccountName": "web",
            "automountServiceAccountToken": False,
            "containers": [{**GOOD_CONTAINER, **container}],
        },
    }


def review(obj: dict[str, Any] | None, operation: str = "CREATE", **request: Any) -> bytes:
    body = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind": {"group": "", "version": "v1", "kind": (obj or {}).get("kind", "Pod")},
            "namespace": "shop",
            "name": (obj or {}).get("metadata", {}).get("name", ""),
            "operation": operation,
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": obj,
            **request,
        },
    }
    return orjson.dumps(body)


class Client:
    """The ASGI app over httpx's in-process transport (no sockets, no TLS)."""

    def __init__(self, app: Any) -> None:
        self.transport = httpx.ASGITransport(app=app)

    def request(
        self, method: str, path: str, content: bytes | None = None, media_type: str | None = None
    ) -> httpx.Response:
        headers = {"Content-Type": media_type} if media_type else {}

        async def send() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport, base_url="http://t") as api:
                return await api.request(method, path, content=content, headers=headers)

        return asyncio.run(send())

    def get(self, path: str) -> httpx.Response:
        return self.request("GET", path)

    def post(
        self, path: str, content: bytes, media_type: str | None = "application/json"
    ) -> httpx.Response:
        """As the API server sends a review (``Content-Type: application/json``)."""
        return self.request("POST", path, content, media_type)


def reviewer(**settings: Any) -> Reviewer:
    return Reviewer(ALL_RULES, EngineSettings(params=TRUSTED), AdmissionSettings(**settings))


def answer(body: bytes, **settings: Any) -> dict[str, Any]:
    request = parse(body)
    result = response(request, reviewer(**settings).decide(request))
    assert result["response"]["uid"] == request.uid
    return result["response"]  # type: ignore[no-any-return]


def test_compliant_pod_is_admitted() -> None:
    result = answer(review(pod()))
    assert result["allowed"] is True, result
    assert "warnings" not in result
    # inventory-scope rules cannot run on one object: said, not silently passed
    assert "A003" in result["auditAnnotations"]["skipped-rules"]


def test_violations_are_denied_with_rule_ids_and_messages() -> None:
    bad = pod(
        image="nginx", securityContext={**GOOD_CONTAINER["securityContext"], "privileged": True}
    )
    result = answer(review(bad))
    assert result["allowed"] is False
    status = result["status"]
    assert status["code"] == 403
    assert status["message"].startswith("kubeward denied Pod shop/web: ")
    for rule in ("W001 privileged-container", "I001 untrusted-registry"):
        assert rule in status["message"]


def test_actions_per_rule_and_prefix() -> None:
    bad = pod(
        image="nginx", securityContext={**GOOD_CONTAINER["securityContext"], "privileged": True}
    )
    result = answer(
        review(bad),
        actions={"W": Action.WARN, "W001": Action.AUDIT, "I": Action.OFF},
        default_action=Action.DENY,
    )
    assert result["allowed"] is True, result.get("status")
    assert not any(w.startswith(("W001", "I001")) for w in result.get("warnings", []))
    assert "W001 privileged-container" in result["auditAnnotations"]["findings"]
    assert "I001" not in json.dumps(result)


def test_warnings_are_short() -> None:
    result = answer(review(pod(image="registry.corp.example/shop/api:latest")),
                    default_action=Action.WARN)  # fmt: skip
    assert result["allowed"] is True
    assert result["warnings"] and all(len(w) <= 256 for w in result["warnings"])


@pytest.mark.parametrize(
    ("settings", "user", "groups", "namespace"),
    [
        ({}, "alice", [], "kube-system"),
        ({"exempt_users": ("ci-*",)}, "ci-bot", [], "shop"),
        ({"exempt_groups": ("platform",)}, "bob", ["platform"], "shop"),
        ({"exempt_service_accounts": ("flux-system/*",)},
         "system:serviceaccount:flux-system:kustomize-controller", [], "shop"),
    ],
)  # fmt: skip
def test_exemptions(settings: dict[str, Any], user: str, groups: list[str], namespace: str) -> None:
    bad = pod(securityContext={"privileged": True})
    body = review(bad, namespace=namespace, userInfo={"username": user, "groups": groups})
    result = answer(body, **settings)
    assert result["allowed"] is True
    assert result["auditAnnotations"]["exempt"].endswith("is exempt")


def test_update_refuses_only_new_violations() -> None:
    old = pod(securityContext={**GOOD_CONTAINER["securityContext"], "privileged": True})
    relabelled = json.loads(json.dumps(old))
    relabelled["metadata"]["labels"] = {"team": "shop"}
    assert answer(review(relabelled, "UPDATE", oldObject=old))["allowed"] is True
    assert (
        answer(review(relabelled, "UPDATE", oldObject=old), allow_existing_violations=False)[
            "allowed"
        ]
        is False
    )
    # kubectl debug: the ephemeral container is judged, the rest was there before
    debugged = json.loads(json.dumps(relabelled))
    debugged["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "busybox"}]
    result = answer(
        review(debugged, "UPDATE", oldObject=relabelled, subResource="ephemeralcontainers")
    )
    assert result["allowed"] is False
    assert "I001" in result["status"]["message"] and "W001" not in result["status"]["message"]
    assert "(ephemeralcontainers)" in result["status"]["message"]


def test_an_existing_violation_is_the_same_one_not_one_at_the_same_place() -> None:
    """allowExistingViolations waives what the old object already did, and says so; a
    container swapped for another image at the same index is a new violation."""
    old = pod(image="quay.io/vendor/agent@sha256:" + "a" * 64)
    relabelled = json.loads(json.dumps(old))
    relabelled["metadata"]["labels"] = {"team": "shop"}
    kept = answer(review(relabelled, "UPDATE", oldObject=old))
    assert kept["allowed"] is True
    assert "old object had already" in kept["auditAnnotations"]["existing-violations"]
    swapped = pod(name="web", image="docker.io/attacker/miner@sha256:" + "b" * 64)
    swapped["spec"]["containers"][0]["name"] = "miner"
    refused = answer(review(swapped, "UPDATE", oldObject=old))
    assert refused["allowed"] is False and "attacker/miner" in refused["status"]["message"]


def test_a_waiver_by_annotation_is_recorded_in_the_audit_log() -> None:
    waived = pod(securityContext={**GOOD_CONTAINER["securityContext"], "privileged": True})
    waived["metadata"]["annotations"] = {"kubeward.io/ignore.W001": "CNI agent, OPS-12"}
    result = answer(review(waived))
    assert result["allowed"] is True
    trace = result["auditAnnotations"]["suppressed"]
    assert (
        trace.startswith("W001 privileged-container: ")
        and "(by annotation: CNI agent, OPS-12)" in trace
    )


def test_exceptions_expire_by_the_utc_date_as_in_a_scan(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The webhook's node may be in any time zone; an exception must not expire there hours
    before (or after) it does in a scan. The zone is chosen so that its date differs from UTC's
    now: a day ahead (UTC+14) from 10:00 UTC, else a day behind (UTC-12)."""
    now = datetime.now(UTC)
    ahead = now.hour >= 10
    # ahead: the local date is tomorrow, so an exception ending today (UTC) looks expired;
    # behind: the local date is yesterday, so one that ended yesterday (UTC) looks active
    expires = now.date() if ahead else now.date() - timedelta(days=1)
    monkeypatch.setenv("TZ", "Etc/GMT-14" if ahead else "Etc/GMT+12")
    time.tzset()
    try:
        assert date.today() != now.date()  # the premise: the zones' dates differ
        exception = PolicyException(rules=("W001",), reason="CNI agent", expires=expires)
        engine = EngineSettings(params=TRUSTED, exceptions=(exception,))
        bad = pod(securityContext={**GOOD_CONTAINER["securityContext"], "privileged": True})
        request = parse(review(bad))
        verdict = Reviewer(ALL_RULES, engine, AdmissionSettings()).decide(request)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert verdict.allowed is ahead, verdict


def test_deployment_template_is_judged() -> None:
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api"},
        "spec": {"selector": {"matchLabels": {"app": "api"}},
                 "template": {"metadata": {"labels": {"app": "api"}},
                              "spec": pod()["spec"] | {"hostPID": True}}},
    }  # fmt: skip
    result = answer(review(deployment))
    assert result["allowed"] is False
    assert "Deployment shop/api" in result["status"]["message"]


def test_delete_and_connect_are_admitted() -> None:
    assert answer(review(None, "DELETE", oldObject=pod()))["allowed"] is True
    assert answer(review(None, "CONNECT"))["allowed"] is True


CANARY = "Canary-Adm1ss10n-S3cr3t-4b1d"
CANARY_BASE64 = base64.b64encode(CANARY.encode()).decode()


def test_secret_values_never_reach_the_answer() -> None:
    value = "c3VwZXItc2VjcmV0LXBhc3N3b3JkLTEyMzQ1"
    secret = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "db", "annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                {"data": {"password": value, "colour": CANARY_BASE64},
                 "stringData": {"greeting": CANARY}}),
            "note": "password=hunter2-not-a-real-one"}},
        "data": {"password": value, "colour": CANARY_BASE64},  # keys with harmless names too
        "stringData": {"token": "plain-text-token-value", "greeting": CANARY},
    }  # fmt: skip
    old_value = base64.b64encode(b"old-" + CANARY.encode()).decode()
    old = {**secret, "data": {"colour": old_value}, "stringData": {"greeting": "old-" + CANARY}}
    for settings in ({}, {"default_action": Action.WARN}, {"default_action": Action.AUDIT}):
        for body in (review(secret), review(secret, "UPDATE", oldObject=old)):
            text = json.dumps(answer(body, **settings))
            for leaked in (value, "plain-text-token-value", "super-secret", CANARY, "S3cr3t",
                           CANARY_BASE64[:16], old_value[:16]):  # fmt: skip
                assert leaked not in text


def test_a_secret_keeps_its_keys_and_no_value() -> None:
    last_applied = {"kind": "Secret", "data": {"a": CANARY_BASE64, "e": ""}, "stringData": CANARY}
    secret = {
        "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
        "metadata": {"name": "db", "annotations": {LAST_APPLIED: json.dumps(last_applied)}},
        "data": {"tls.crt": CANARY_BASE64, "empty": "", "null": None},
        "stringData": [CANARY],  # not a map (invalid): replaced whole
    }  # fmt: skip
    before = json.dumps(secret)
    seen = without_secret_values(secret)
    assert json.dumps(secret) == before  # the input is not modified
    assert seen["data"] == {"tls.crt": REDACTED_BASE64, "empty": "", "null": None}
    assert seen["stringData"] == REDACTED
    assert base64.b64decode(REDACTED_BASE64).decode() == REDACTED
    assert json.loads(seen["metadata"]["annotations"][LAST_APPLIED]) == {
        "kind": "Secret", "data": {"a": REDACTED_BASE64, "e": ""}, "stringData": REDACTED
    }  # fmt: skip
    assert CANARY not in json.dumps(seen) and CANARY_BASE64 not in json.dumps(seen)
    assert without_secret_values(pod()) == pod()  # any other kind as it is


def test_a_secret_with_values_is_no_committed_manifest_at_admission() -> None:
    """The webhook judges Secrets with their values redacted: S007 (values committed in a
    manifest) does not count the markers, every admitted Secret carries data."""
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
              "data": {"colour": CANARY_BASE64}, "stringData": {"greeting": CANARY}}  # fmt: skip
    result = answer(review(secret), default_action=Action.DENY)
    assert result["allowed"] is True, result


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a JSON object"),
        (b'{"kind": "Pod"}', "expected 'AdmissionReview'"),
        (b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1beta1"}', "admissionReviewVersions"),
        (b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1"}', "request is missing"),
        (b'{"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": {}}', "uid"),
        (review(None), "object is missing"),
        (review(None, object="x"), "not an object"),
        (review(pod(), operation=""), "operation"),
        (b"{}", "kind is missing, expected 'AdmissionReview'"),
        (b'{"kind": 7}', "kind is a JSON number, expected"),
        (review(pod(), operation="create"),
         "request.operation is 'create', expected one of CREATE, UPDATE, DELETE, CONNECT"),
        (review(pod(), operation="PATCH"), "request.operation is 'PATCH', expected one of"),
        (review(pod(), operation="X\x1b[31m" + "z" * 100),
         "request.operation is 'X\\x1b[31m" + "z" * 58 + "…', expected"),
    ],
)  # fmt: skip
def test_broken_reviews_are_http_400(body: bytes, fragment: str) -> None:
    client = Client(create_app(reviewer()))
    reply = client.post("/validate", content=body)
    assert reply.status_code == 400, reply.text
    assert fragment in reply.json()["error"]


@pytest.mark.parametrize("media_type", [None, "text/plain", "application/yaml"])
def test_a_body_that_is_not_json_by_its_content_type_is_http_415(media_type: str | None) -> None:
    client = Client(create_app(reviewer()))
    reply = client.post("/validate", content=review(pod()), media_type=media_type)
    assert reply.status_code == 415
    assert reply.json() == {"error": "Content-Type must be application/json"}
    charset = client.post("/validate", review(pod()), media_type="Application/JSON; charset=utf-8")
    assert charset.status_code == 200


def test_oversized_body_is_refused_without_reading_it_all() -> None:
    client = Client(create_app(reviewer()))
    reply = client.post("/validate", content=b" " * (MAX_BODY_BYTES + 1))
    assert reply.status_code == 400
    assert "MiB" in reply.json()["error"]


def test_http_answers_health_and_metrics() -> None:
    client = Client(create_app(reviewer()))
    assert client.get("/healthz").text == "ok"
    assert client.get("/readyz").status_code == 200
    denied = client.post("/validate", content=review(pod(securityContext={"privileged": True})))
    assert denied.status_code == 200 and denied.json()["response"]["allowed"] is False
    admitted = client.post("/validate", content=review(pod()))
    assert admitted.json()["response"]["allowed"] is True
    metrics = client.get("/metrics").text
    assert 'kubeward_admission_requests_total{decision="denied",operation="CREATE"} 1.0' in metrics
    assert 'kubeward_admission_findings_total{action="deny",rule="W001"} 1.0' in metrics
    assert "kubeward_admission_request_duration_seconds_bucket" in metrics
    assert client.get("/validate").status_code == 405


def crowded_pod(containers: int = 0, volumes: int = 0) -> dict[str, Any]:
    crowded = pod()
    spec = crowded["spec"]
    spec["initContainers"] = [{**GOOD_CONTAINER, "name": f"i{n}"} for n in range(containers // 2)]
    spec["containers"] += [
        {**GOOD_CONTAINER, "name": f"c{n}"} for n in range(containers - containers // 2 - 1)
    ]
    spec["volumes"] = [{"name": f"v{n}", "emptyDir": {}} for n in range(volumes)]
    return crowded


def test_a_pod_spec_over_the_bounds_is_not_judged_and_counts_as_an_error() -> None:
    """More than 1,000 containers (all lists together) or volumes: refused under onError: deny
    without judging (55,000 containers took seconds on the event loop), admitted with the
    reason under onError: allow; an exempt namespace is admitted as ever."""
    client = Client(create_app(reviewer()))
    at_bound = client.post("/validate", content=review(crowded_pod(MAX_CONTAINERS, MAX_VOLUMES)))
    assert at_bound.json()["response"]["allowed"] is True, at_bound.text
    over = client.post("/validate", content=review(crowded_pod(MAX_CONTAINERS + 1)))
    refused = over.json()["response"]
    assert refused["allowed"] is False
    reason = (
        "1,001 containers in the pod spec (init, regular and ephemeral together), over "
        "kubeward's bound of 1,000: not judged"
    )
    assert refused["status"]["message"] == (
        f"kubeward denied Pod shop/web: {reason} (refused: admission.onError is deny)"
    )
    assert refused["warnings"] == [f"kubeward: {reason}"]
    assert refused["auditAnnotations"]["errors"] == reason
    volumes = client.post("/validate", content=review(crowded_pod(volumes=MAX_VOLUMES + 1)))
    assert volumes.json()["response"]["status"]["message"].startswith(
        "kubeward denied Pod shop/web: 1,001 volumes in the pod spec, over kubeward's bound"
    )
    old = client.post(
        "/validate",
        content=review(pod(), "UPDATE", oldObject=crowded_pod(volumes=MAX_VOLUMES + 1)),
    )
    assert "the old object: 1,001 volumes" in old.json()["response"]["status"]["message"]
    allowing = Client(create_app(reviewer(deny_on_error=False)))
    admitted = allowing.post("/validate", content=review(crowded_pod(MAX_CONTAINERS + 1)))
    assert admitted.json()["response"]["allowed"] is True
    assert admitted.json()["response"]["warnings"] == [f"kubeward: {reason}"]
    exempt = client.post(
        "/validate", content=review(crowded_pod(MAX_CONTAINERS + 1), namespace="kube-system")
    )
    assert exempt.json()["response"]["allowed"] is True
    assert "errors" not in exempt.json()["response"]["auditAnnotations"]
    deleted = client.post("/validate", content=review(None, "DELETE"))
    assert deleted.json()["response"]["allowed"] is True


def test_log_lines_show_a_clients_control_characters_escaped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Names, namespace, kind and user are the client's: a newline or an ESC in them must not
    start a forged log line or recolour a terminal."""
    forged = "web\n2026-01-01 00:00:00,000 kubeward.admission admitted everything \x1b[8m"
    bad = pod(name=forged, securityContext={"privileged": True})
    body = review(bad, namespace="shop\x1b]52;c;", userInfo={"username": "eve\r\nroot"})
    with caplog.at_level(logging.INFO, logger="kubeward.admission"):
        reply = Client(create_app(reviewer())).post("/validate", content=body)
    assert reply.json()["response"]["allowed"] is False
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("denied")]
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line.startswith(
        "denied Pod shop\\x1b]52;c;/web\\n2026-01-01 00:00:00,000 kubeward.admission admitted "
        "everything \\x1b[8m by "
    )
    assert line.endswith(" for eve\\r\\nroot")


def test_metric_labels_come_from_a_fixed_set() -> None:
    """No client string becomes a label: one time series per operation the API server sends,
    however many different operations clients make up."""
    client = Client(create_app(reviewer()))
    for number in range(20):
        made_up = client.post("/validate", content=review(pod(), operation=f"OP{number}" * 1000))
        assert made_up.status_code == 400
    assert client.post("/validate", content=review(None, operation="DELETE")).status_code == 200
    series = [
        line for line in client.get("/metrics").text.splitlines()
        if line.startswith("kubeward_admission_requests_total")
    ]  # fmt: skip
    assert series == [
        'kubeward_admission_requests_total{decision="bad_request",operation=""} 20.0',
        'kubeward_admission_requests_total{decision="allowed",operation="DELETE"} 1.0',
    ]
    assert operation_label("CONNECT") == "CONNECT"
    assert operation_label("OP1") == "other"


def _self_signed(directory: Path, name: str) -> tuple[Path, Path]:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "tls.crt", directory / "tls.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_certificate_is_reloaded_when_its_files_change(tmp_path: Path) -> None:
    import os

    cert, key = _self_signed(tmp_path, "first")
    reloader = CertificateReloader(cert, key)
    first = reloader.context
    assert first.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert reloader.refresh() is False  # unchanged
    _self_signed(tmp_path, "second-with-a-longer-name")
    os.utime(cert, (1, 1))  # a distinct stamp even within the file system's time resolution
    assert reloader.refresh() is True
    assert reloader.context is not first
    second = reloader.context
    cert.write_text("half-written")  # a rotation in progress: keep serving the last good pair
    os.utime(cert, (2, 2))
    assert reloader.refresh() is False
    assert reloader.context is second


def test_vap_export_maps_actions_and_explains_the_rest() -> None:
    from kubeward.admission.vap import TRANSLATIONS, export, policy_name
    from kubeward.rules import REGISTRY

    settings = AdmissionSettings(actions={"W001": Action.WARN, "W002": Action.OFF})
    objects, skipped = export(ALL_RULES, settings)
    policies = {o["metadata"]["name"]: o for o in objects if o["kind"].endswith("Policy")}
    bindings = {o["metadata"]["name"]: o for o in objects if o["kind"].endswith("Binding")}
    assert set(policies) == set(bindings)
    assert len(policies) == len(TRANSLATIONS) - 1  # W002 is off
    warn = bindings[policy_name(REGISTRY["W001"])]["spec"]
    assert warn["validationActions"] == ["Warn"]
    assert warn["matchResources"]["namespaceSelector"]["matchExpressions"][0]["values"] == [
        "kube-system", "kubeward"
    ]  # fmt: skip
    assert bindings[policy_name(REGISTRY["W004"])]["spec"]["validationActions"] == ["Deny"]
    reasons = {rule.id: why for rule, why in skipped}
    assert reasons["W002"] == "its admission action is off"
    assert "inventory scope" in reasons["R001"]
    assert "trustedRegistries" in reasons["I001"]
    assert "no network access" in reasons["I007"]
    assert not [rule for rule, why in reasons.items() if "not exported yet" in why]
    with_trust = export(ALL_RULES, AdmissionSettings(), params=TRUSTED)[0]
    (allow_list,) = [o for o in with_trust if o["kind"] == "ConfigMap"]
    assert allow_list["data"] == {"registries": "registry.corp.example"}
    assert with_trust[0]["kind"] == "Namespace"  # where the allow-list lives
    assert len(reasons) + len(policies) == len(ALL_RULES)
    message = policies[policy_name(REGISTRY["A001"])]["spec"]["validations"][0]["message"]
    assert message.startswith("A001 default-service-account: ")


@object_rule(
    id="W998",
    name="chatty-rule",
    title="Says a great deal",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="None.",
)
def chatty_rule(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    yield Violation(("metadata", "name"), "a long message: " + "x" * 3000)  # over every cap
    for n in range(20_000):
        yield Violation(("spec", "containers", n), f"message number {n}")


@pytest.mark.parametrize("action", [Action.WARN, Action.AUDIT, Action.DENY])
def test_warnings_audit_annotations_and_the_deny_message_are_bounded(action: Action) -> None:
    """20,001 findings: kubeward says how many it left out instead of a multi-megabyte answer
    (the API server keeps 4,096 characters of warnings from all sources, 256 each)."""
    settings = AdmissionSettings(default_action=action)
    request = parse(review(pod()))
    answer = response(request, Reviewer([chatty_rule], EngineSettings(), settings).decide(request))
    result = answer["response"]
    assert len(orjson.dumps(answer)) < 6000
    if action is Action.WARN:
        warnings = result["warnings"]
        assert len(warnings) <= 20
        assert all(len(w) <= 256 for w in warnings)
        assert sum(map(len, warnings)) <= 2000
        assert warnings[0] == "W998 chatty-rule: a long message: " + "x" * 221 + "…"
        assert warnings[1] == "W998 chatty-rule: message number 0"
        kept = len(warnings) - 1
        assert warnings[-1] == (
            f"kubeward: ... and {20_001 - kept} more warnings (kubeward scan shows all)"
        )
        return
    assert "warnings" not in result
    text = (
        result["auditAnnotations"]["findings"]
        if action is Action.AUDIT
        else result["status"]["message"].removeprefix("kubeward denied Pod shop/web: ")
    )
    assert len(text) <= 2000
    # the first message is cut rather than dropped, the others are counted
    assert text.startswith("W998 chatty-rule: a long message: xxx")
    assert text.endswith("…; ... and 20000 more (kubeward scan shows all)")


def test_request_bodies_being_received_share_a_bounded_budget() -> None:
    """Slow clients cannot make the server hold more than the budget: a body that would go
    over it is refused (503) while the others are read, and the budget is freed after."""
    from starlette.requests import Request

    from kubeward.admission.server import BodyBudget, Busy

    budget = BodyBudget(limit=3000)

    def request(chunks: list[bytes], gate: asyncio.Event) -> Request:
        async def receive() -> dict[str, Any]:
            if len(chunks) == 1:
                await gate.wait()  # the last chunk is late
            return {"type": "http.request", "body": chunks.pop(0), "more_body": bool(chunks)}

        return Request({"type": "http", "method": "POST", "headers": []}, receive)

    async def scenario() -> tuple[bytes, BaseException | bytes]:
        gate = asyncio.Event()
        slow = asyncio.create_task(budget.read(request([b"a" * 2000, b"b"], gate)))
        await asyncio.sleep(0)  # the slow one holds 2000 bytes and waits
        assert budget.used == 2000
        try:
            unblocked = asyncio.Event()
            unblocked.set()
            second: BaseException | bytes = await budget.read(
                request([b"c" * 900, b"d" * 200], unblocked)
            )
        except Busy as exc:
            second = exc
        gate.set()
        return await slow, second

    first, second = asyncio.run(scenario())
    assert first == b"a" * 2000 + b"b"
    assert isinstance(second, Busy)
    assert budget.used == 0
