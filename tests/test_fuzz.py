"""Property tests: no input ever crashes the loader, and the CLI never prints a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward.engine import evaluate
from kubeward.model import Inventory
from kubeward.rules import ALL_RULES
from kubeward.sources.manifests import objects_from_documents, parse_json, parse_yaml
from tests.cli_helpers import kubeward

YAMLISH = st.text(
    alphabet=st.sampled_from(list("abcdekmnpsy:-[]{},'\"&*!|>#%@ \n\t0123456789.~<?=")),
    max_size=300,
)
OBJECTISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(
        ["apiVersion", "kind", "metadata", "spec", "template", "containers", "initContainers", "name",
         "namespace", "image", "securityContext", "privileged", "env", "value", "items", "annotations",
         "serviceAccountName", "jobTemplate", "labels", "rules", "verbs", "resources", "subjects",
         "roleRef", "data", "externalIPs", "ingress", "from", "tls", "limits", "memory",
         "automountServiceAccountToken"]), children, max_size=5),
    max_leaves=30,
)  # fmt: skip


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(YAMLISH, st.binary(max_size=200).map(lambda b: b.decode("utf-8", "ignore"))))
def test_any_text_loads_without_exceptions(text: str) -> None:
    parsed = parse_yaml(text.encode(), "f.yaml")
    out = objects_from_documents(parsed.documents, file="f.yaml", deploy_namespace=None)
    evaluate(Inventory(out.objects), ALL_RULES)
    for problem in [*parsed.problems, *out.problems]:
        assert problem.message and problem.file == "f.yaml"
    parse_json(text.encode(), "f.json")


# Kinds with a pod spec, and the kinds whose other fields are type-checked (model/shape.py).
KINDS = [
    ("v1", "Pod"), ("apps/v1", "Deployment"), ("batch/v1", "CronJob"), ("apps/v1", "Pod"),
    ("argoproj.io/v1alpha1", "Rollout"), ("v1", "List"), ("v1", "ConfigMap"), ("v1", "Secret"),
    ("v1", "Service"), ("v1", "ServiceAccount"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"), ("networking.k8s.io/v1", "NetworkPolicy"),
    ("networking.k8s.io/v1", "Ingress"), ("example.com/v1", "Service"),
]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(KINDS), OBJECTISH)
def test_any_object_shape_is_judged_without_crashing(kind: tuple[str, str], body: object) -> None:
    import orjson

    api_version, kind_name = kind
    value = {"apiVersion": api_version, "kind": kind_name}
    if isinstance(body, dict):
        value.update(body)
    parsed = parse_json(orjson.dumps(value), "o.json")
    out = objects_from_documents(parsed.documents, file="o.json", deploy_namespace=None)
    result = evaluate(Inventory(out.objects), ALL_RULES)
    assert not any(e.kind.value == "rule" for e in result.errors), [
        e.message for e in result.errors
    ]


def test_cli_survives_a_directory_of_garbage(tmp_path: Path) -> None:
    import random

    rng = random.Random(7)
    for index in range(40):
        size = rng.randint(0, 400)
        data = bytes(rng.getrandbits(8) for _ in range(size))
        if index % 2:
            data = data.replace(b"\x00", b" ")
        (tmp_path / f"g{index}.yaml").write_bytes(data)
    run = kubeward("scan", ".", "-f", "json", cwd=tmp_path)
    assert run.code in (0, 1, 2)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr


REVIEW_REQUEST = st.fixed_dictionaries(
    {},
    optional={
        "uid": st.one_of(st.text(max_size=8), st.integers(-(2**63), 2**63 - 1), st.none()),
        "operation": st.sampled_from(["CREATE", "UPDATE", "DELETE", "CONNECT", "", 7]),
        "kind": st.one_of(OBJECTISH, st.fixed_dictionaries({"kind": st.text(max_size=8)})),
        "namespace": st.one_of(st.text(max_size=8), st.booleans()),
        "name": st.one_of(st.text(max_size=8), st.none()),
        "subResource": st.sampled_from(["", "ephemeralcontainers", "status"]),
        "userInfo": st.one_of(OBJECTISH, st.fixed_dictionaries(
            {"username": st.text(max_size=20), "groups": st.lists(OBJECTISH, max_size=3)})),
        "object": st.one_of(OBJECTISH, st.fixed_dictionaries(
            {"apiVersion": st.sampled_from(["v1", "apps/v1", "batch/v1"]),
             "kind": st.sampled_from(["Pod", "Deployment", "CronJob", "Secret", "Service"]),
             "metadata": OBJECTISH, "spec": OBJECTISH, "data": OBJECTISH})),
        "oldObject": OBJECTISH,
        "dryRun": OBJECTISH,
    },
)  # fmt: skip


REVIEW_VERSIONS = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1", ""]


def review_of(request: object, version: str) -> dict[str, object]:
    return {"apiVersion": version, "kind": "AdmissionReview", "request": request}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=200),
        st.builds(review_of, REVIEW_REQUEST, st.sampled_from(REVIEW_VERSIONS)),
    )
)
def test_any_admission_review_is_answered_or_refused_cleanly(body: object) -> None:
    """Parsed and judged, or refused with ReviewError (HTTP 400): never another exception."""
    import orjson

    from kubeward.admission.review import Reviewer, ReviewError, parse, response
    from kubeward.engine import EngineSettings
    from kubeward.model.enforcement import AdmissionSettings

    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    try:
        request = parse(raw)
    except ReviewError as exc:
        refusal = str(exc)
    else:
        refusal = ""
    if refusal:
        return
    verdict = Reviewer(ALL_RULES, EngineSettings(), AdmissionSettings()).decide(request)
    if request.object is None:
        assert verdict.allowed
    answer = response(request, verdict)
    assert answer["response"]["uid"] == request.uid
    assert isinstance(answer["response"]["allowed"], bool)
    orjson.dumps(answer)
