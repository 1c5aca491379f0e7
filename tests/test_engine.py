"""The engine: outcomes per rule and object, rule crashes, suppressions and exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from kubeward.engine import EngineSettings, PolicyException, evaluate
from kubeward.model import Inventory, K8sObject, ProblemKind, Severity, Violation
from kubeward.rules import REGISTRY
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.sources.manifests import objects_from_documents, parse_yaml


def inventory(text: str) -> Inventory:
    parsed = parse_yaml(text.encode(), "t.yaml")
    return Inventory(
        objects_from_documents(parsed.documents, file="t.yaml", deploy_namespace=None).objects
    )


POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: shop
  annotations: {annotations}
spec:
  serviceAccountName: app
  containers:
    - name: app
      image: nginx
      securityContext: {{privileged: {privileged}}}
"""


def pod(name: str = "p", privileged: str = "true", annotations: str = "{}") -> str:
    return POD.format(name=name, privileged=privileged, annotations=annotations)


@rule(
    id="W999",
    name="crashing-rule",
    title="Crashes",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="None.",
)
def crashing_rule(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    if obj.name == "boom":
        raise KeyError("secret-value-that-must-not-leak")
    yield from ()


def test_outcomes_count_pass_fail_skip() -> None:
    inv = inventory(pod("a") + "---\n" + pod("b", privileged="false"))
    result = evaluate(inv, [REGISTRY["W001"], REGISTRY["I001"]], EngineSettings())
    assert result.outcomes["W001"].failed == 1
    assert result.outcomes["W001"].passed == 1
    assert result.outcomes["I001"].skipped == 2
    assert result.outcomes["I001"].skip_reasons == [
        "no trustedRegistries configured in kubeward.yaml"
    ]


def test_a_crashing_rule_is_an_error_for_that_object_only() -> None:
    inv = inventory(pod("boom") + "---\n" + pod("fine"))
    result = evaluate(inv, [crashing_rule, REGISTRY["W001"]], EngineSettings())
    assert result.outcomes["W999"].errored == 1
    assert result.outcomes["W999"].passed == 1
    assert len(result.findings) == 2  # W001 still ran on both
    (error,) = result.errors
    assert error.kind is ProblemKind.RULE
    assert "KeyError" in error.message and "crashing" in error.message
    assert "secret-value" not in error.message


def test_annotation_suppression_needs_a_reason() -> None:
    inv = inventory(
        pod("with-reason", annotations='{"kubeward.io/ignore.W001": "CNI agent, OPS-12"}')
        + "---\n"
        + pod("no-reason", annotations='{"kubeward.io/ignore.W001": " "}')
        + "---\n"
        + pod("by-name", annotations='{"kubeward.io/ignore.privileged-container": "legacy"}')
    )
    result = evaluate(inv, [REGISTRY["W001"]], EngineSettings())
    assert [f.object.name for f in result.suppressed] == ["with-reason", "by-name"]
    assert result.suppressed[0].suppression is not None
    assert result.suppressed[0].suppression.reason == "CNI agent, OPS-12"
    assert [f.object.name for f in result.findings] == ["no-reason"]
    assert any("no reason" in w.message for w in result.warnings)


def test_inline_suppressions_can_be_forbidden() -> None:
    inv = inventory(pod("p", annotations='{"kubeward.io/ignore.W001": "trust me"}'))
    result = evaluate(inv, [REGISTRY["W001"]], EngineSettings(allow_inline_suppressions=False))
    assert len(result.findings) == 1
    assert not result.suppressed
    assert "disabled" in result.warnings[0].message


def test_the_signature_rule_cannot_be_waived_in_a_manifest() -> None:
    """A deployer's ``kubeward.io/ignore.I007`` must not admit an unsigned image: the
    annotation is reported and ignored; an exception in kubeward.yaml still works."""
    from dataclasses import replace

    from kubeward.model.signatures import SignatureStatus, SignatureVerdict

    inv = inventory(pod("p", annotations='{"kubeward.io/ignore.I007": "trust me"}'))
    verdicts = {"nginx": SignatureVerdict("nginx", SignatureStatus.UNSIGNED, "no signature")}
    settings = EngineSettings()
    settings = replace(settings, params=replace(settings.params, image_signatures=verdicts))
    result = evaluate(inv, [REGISTRY["I007"]], settings)
    assert [f.rule_id for f in result.findings] == ["I007"] and not result.suppressed
    (warning,) = result.warnings
    assert "I007 cannot be waived in a manifest" in warning.message and warning.line == 6
    excepted = replace(settings, exceptions=(PolicyException(rules=("I007",), reason="lab"),))
    result = evaluate(inv, [REGISTRY["I007"]], excepted)
    assert not result.findings and [f.rule_id for f in result.suppressed] == ["I007"]


def test_unused_and_unknown_annotations_are_reported() -> None:
    inv = inventory(
        pod(
            "clean",
            privileged="false",
            annotations='{"kubeward.io/ignore.W001": "old", "kubeward.io/ignore.X123": "?"}',
        )
    )
    result = evaluate(inv, [REGISTRY["W001"]], EngineSettings())
    messages = " ".join(w.message for w in result.warnings)
    assert "suppresses nothing" in messages
    assert "names no known rule" in messages
    # each warning points at its annotation's line, not the object's first line
    (needless,) = [w for w in result.warnings if "suppresses nothing" in w.message]
    (unknown,) = [w for w in result.warnings if "no known rule" in w.message]
    assert needless.line == unknown.line == 6  # the flow mapping of annotations; the Pod is at 1


def test_config_exceptions_match_expire_and_report_unused() -> None:
    inv = inventory(pod("node-exporter-abc") + "---\n" + pod("web"))
    settings = EngineSettings(
        exceptions=(
            PolicyException(
                rules=("W",),
                reason="host metrics",
                kinds=("Pod",),
                names=("node-exporter-*",),
                namespaces=("shop",),
            ),
            PolicyException(
                rules=("W001",), reason="old", names=("web",), expires=date(2020, 1, 1)
            ),
            PolicyException(rules=("W001",), reason="never matches", namespaces=("kube-system",)),
        ),
        today=date(2026, 11, 27),
    )
    result = evaluate(inv, [REGISTRY["W001"]], settings)
    assert [f.object.name for f in result.suppressed] == ["node-exporter-abc"]
    assert [f.object.name for f in result.findings] == ["web"]
    messages = [w.message for w in result.warnings]
    assert any(
        "expired after 2020-01-01 (its last day)" in m and "1 finding" in m for m in messages
    )
    assert any("unused" in m and "kube-system" in m for m in messages)


def test_a_namespace_exception_covers_manifests_that_land_there_without_a_namespace() -> None:
    """No namespace and no --namespace: the object lands in `default` (N001's reading), so an
    exception for `default` covers it; one for `shop` does not."""
    text = pod("loose").replace("  namespace: shop\n", "")
    (obj,) = inventory(text)
    assert obj.namespace_source == "unset"
    for namespaces, covered in ((("default",), True), (("shop",), False), (("def*",), True)):
        exception = PolicyException(rules=("W001",), reason="r", namespaces=namespaces)
        assert exception.covers("W001", obj) is covered, namespaces


@pytest.mark.parametrize("namespaces", [("*",), ("default",), ("",), ("?*",)])
def test_no_namespace_pattern_covers_a_cluster_scoped_object(namespaces: tuple[str, ...]) -> None:
    """Not even `*`: "in any namespace" does not waive a ClusterRoleBinding, which reaches all
    of them; an exception without `namespaces` does."""
    (binding,) = inventory(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n"
        "metadata: {name: wide}\nroleRef: {apiGroup: rbac.authorization.k8s.io, "
        "kind: ClusterRole, name: cluster-admin}\nsubjects: []\n"
    )
    assert binding.namespace_source == "cluster"
    assert not PolicyException(rules=("R",), reason="r", namespaces=namespaces).covers(
        "R001", binding
    )
    assert PolicyException(rules=("R",), reason="r").covers("R001", binding)


def test_a_namespace_exception_covers_that_namespace_object_itself() -> None:
    """N011 judges the Namespace `payments`: an exception for namespace `payments` covers it."""
    inv = inventory("apiVersion: v1\nkind: Namespace\nmetadata: {name: payments}\n")
    settings = EngineSettings(
        exceptions=(PolicyException(rules=("N011",), reason="r", namespaces=("pay*",)),)
    )
    result = evaluate(inv, [REGISTRY["N011"]], settings)
    assert [f.object.name for f in result.suppressed] == ["payments"]
    assert not result.findings and not result.warnings


def test_exception_kinds_match_regardless_of_case() -> None:
    """As kubectl takes `deployment`: an exception for it is not silently unused."""
    (obj,) = inventory(pod())
    for kinds in (("Pod",), ("pod",), ("POD",)):
        assert PolicyException(rules=("W001",), reason="r", kinds=kinds).covers("W001", obj)
    assert not PolicyException(rules=("W001",), reason="r", kinds=("Pods",)).covers("W001", obj)


def test_an_exception_covers_its_expiry_day_and_not_the_next() -> None:
    inv = inventory(pod())
    exception = PolicyException(rules=("W001",), reason="r", expires=date(2026, 11, 27))
    for today, suppressed in ((date(2026, 11, 27), True), (date(2026, 11, 28), False)):
        settings = EngineSettings(exceptions=(exception,), today=today)
        result = evaluate(inv, [REGISTRY["W001"]], settings)
        assert bool(result.suppressed) is suppressed, today
        assert bool(result.findings) is not suppressed, today


def test_severity_overrides() -> None:
    inv = inventory(pod())
    result = evaluate(
        inv, [REGISTRY["W001"]], EngineSettings(severity_overrides={"W001": Severity.CRITICAL})
    )
    assert result.findings[0].severity is Severity.CRITICAL


@pytest.mark.parametrize(("kind", "has_pod_spec"), [("Pod", True), ("ConfigMap", False)])
def test_targets(kind: str, has_pod_spec: bool) -> None:
    text = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: x, namespace: s}}\nspec: {{containers: []}}\n"
    (obj,) = inventory(text)
    assert (obj.pod_spec is not None) is has_pod_spec


def test_rule_params_reach_rules() -> None:
    from kubeward.rules._common.images import parse_registry_pattern

    inv = inventory(pod())
    params = RuleParams(trusted_registries=(parse_registry_pattern("docker.io/library"),))
    result = evaluate(inv, [REGISTRY["I001"]], EngineSettings(params=params))
    assert result.outcomes["I001"].passed == 1


def test_inventory_rules_do_not_judge_where_what_they_read_is_unread() -> None:
    """A live scan's coverage gap on NetworkPolicies in "shop": N003 is skipped there (with
    the reason) instead of saying that no NetworkPolicy selects the pods; elsewhere it judges."""
    other = pod("q").replace("namespace: shop", "namespace: other")
    inv = inventory(pod("p") + "---\n" + other)
    n003 = REGISTRY["N003"]
    assert n003.reads == {"NetworkPolicy"}
    settings = EngineSettings(unread=frozenset({("NetworkPolicy", "shop")}))
    result = evaluate(inv, [n003], settings)
    assert [(f.object.namespace, f.rule_id) for f in result.findings] == [("other", "N003")]
    outcome = result.outcomes["N003"]
    assert (outcome.skipped, outcome.failed) == (1, 1)
    assert outcome.skip_reasons == [
        "not judged where NetworkPolicy could not be read (coverage gap)"
    ]
    cluster_wide = EngineSettings(unread=frozenset({("NetworkPolicy", None)}))
    assert evaluate(inv, [n003], cluster_wide).findings == []


def test_rules_read_kinds_a_live_scan_lists() -> None:
    """``reads`` names kinds kubeward lists (else a gap could never match it)."""
    from kubeward.cluster.live import CATALOG_KINDS

    listed = {kind.kind for kind in CATALOG_KINDS}
    declared = {kind for r in REGISTRY.values() for kind in r.reads}
    assert declared and declared <= listed
