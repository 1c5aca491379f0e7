"""Users' CEL policies: loading with file:line errors, findings at scan and admission, export."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from kubeward.admission.review import Reviewer, parse, response
from kubeward.admission.vap import export
from kubeward.audit import AuditSession
from kubeward.config import load_config
from kubeward.engine import EngineSettings
from kubeward.errors import ConfigError, UsageError
from kubeward.model.enforcement import Action, AdmissionSettings
from kubeward.policies import cel_isolation, cel_worker
from kubeward.policies.loader import load_policies
from kubeward.rules import ALL_RULES
from kubeward.scan import ClusterTarget, ScanRequest
from tests.cli_helpers import kubeward
from tests.conftest import scan_paths
from tests.test_admission import review

POLICIES = Path(__file__).parent / "policies"
HEADER = (
    "apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: x}\nspec:\n"
    "  id: ACME010\n  title: t\n  severity: low\n  remediation: r.\n"
)
"""A CELPolicy up to ``match`` (on line 9)."""
TAKEN = {r.id for r in ALL_RULES} | {r.name for r in ALL_RULES}
MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: a, image: nginx}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
  labels: {team: payments}
spec:
  replicas: 3
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: a, image: nginx}]
---
apiVersion: v1
kind: Service
metadata:
  name: shop-api-eu-prod
  namespace: shop
spec:
  ports: [{port: 80}]
"""


def test_policies_load_as_rules() -> None:
    loaded = load_policies([POLICIES], TAKEN)
    assert not loaded.problems
    assert [r.id for r in loaded.rules] == ["ACME001", "ACME002", "ACME003"] + [
        f"ACME01{n}" for n in range(5)
    ]  # acme.yaml, then k8s_libs.yaml
    team = loaded.rules[0]
    assert team.name == "require-team-label" and team.severity.value == "medium"
    assert team.target.workloads
    assert "Every workload names the team" in team.summary


def test_scan_reports_policy_findings_with_lines(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    run = kubeward("scan", "app.yaml", "--policies", str(POLICIES), "--select", "ACME00",
                   "-f", "json", cwd=tmp_path)  # fmt: skip
    assert run.code == 1, run.stderr
    report = json.loads(run.stdout)
    found = sorted((f["ruleId"], f["object"]["name"], f["line"], f["message"])
                   for f in report["findings"])  # fmt: skip
    assert found == [
        ("ACME001", "web", 1, "the workload names no team"),
        ("ACME002", "web", 1, "fewer than two replicas"),
        ("ACME003", "shop-api-eu-prod", 27, "the name ends in -prod"),
        ("ACME003", "shop-api-eu-prod", 27, "the name has more than three parts"),
    ]
    rules = {r["id"]: r for r in report["rules"]}
    assert rules["ACME001"]["helpUri"] is None  # its file is a path on this machine only
    assert rules["ACME001"]["description"] == "Every workload names the team that answers for it."
    assert rules["ACME002"]["passed"] == 1 and rules["ACME002"]["failed"] == 1


def test_config_names_policy_directories(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "acme.yaml").write_text((POLICIES / "acme.yaml").read_text())
    (tmp_path / "kubeward.yaml").write_text("policies: [rules]\n")
    config = load_config(tmp_path / "kubeward.yaml")
    result = scan_paths([tmp_path / "app.yaml"], config=config, select=("ACME00",))
    assert {f.rule_id for f in result.findings} == {"ACME001", "ACME002", "ACME003"}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("kind: CELPolicy\napiVersion: kubeward.io/v1alpha1\nmetadata: {name: x}\n"
         "spec:\n  id: ACME9\n", 5, "upper-case letters then digits"),
        ("apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: x}\nspec:\n"
         "  id: ACME010\n  title: t\n  severity: urgent\n", 7, "severity"),
        ("apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: x}\nspec:\n"
         "  id: ACME010\n  title: t\n  severity: low\n  remediation: r.\n  match: {kinds: [Pod]}\n"
         "  validations:\n    - expression: object.metadata.name ==\n      message: m\n",
         11, "Syntax error"),
        ("apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: x}\nspec:\n"
         "  id: ACME010\n  title: t\n  severity: low\n  remediation: r.\n  match: {kinds: [Pod]}\n"
         "  validations:\n    - expression: |\n        object.metadata.name == 'a' &&\n"
         "        nope.x\n      message: m\n", 13, "undeclared reference to 'nope.x'"),
        ("apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: x}\nspec:\n"
         "  id: W001\n", 1, "already taken"),
        ("apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: x}\nspec:\n"
         "  id: ACME010\n  colour: red\n", 6, "unknown field 'colour'"),
        ("a: [\n", 2, "invalid YAML"),
        ("apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: x}\nspec:\n"
         "  id: ACME010\n  title: t\n  id: ACME011\n", 7, "duplicate key spec.id (also on line 5)"),
        ("apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: x}\nspec:\n"
         "  id: ACME010\n  since: 2027-02-30\n", 6,
         "spec.since: invalid date (day is out of range for month)"),
        ("- just\n- a list\n", 1, "a policy is a mapping"),
        ("apiVersion: v1\nkind: ConfigMap\n", 2, "expected apiVersion"),
        # an unknown or wrongly typed field anywhere is an error, never ignored
        (HEADER + "  match:\n    kinds: [Deployment]\n    excludedNamespaces: [shop]\n", 11,
         "spec.match: unknown field 'excludedNamespaces' (known: kinds, workloads)"),
        (HEADER + "  match: {kinds: [Pod], workloads: 'yes'}\n", 9,
         "spec.match.workloads: true or false"),
        (HEADER + "  match: {kinds: [Pod]}\n" + "  validations:\n    - expression: 'false'\n"
         "      message: m\n      messageExpression: \"'dyn ' + object.metadata.name\"\n", 13,
         "spec.validations[0].messageExpression is not supported: a message computed from the "
         "object could quote a Secret's value"),
        (HEADER + "  match: {kinds: [Pod]}\n" + "  validations:\n    - expression: 'false'\n"
         "      message: m\n      reason: Invalid\n", 13, "validations[0].reason is not supported"),
        (HEADER + "  match: {kinds: [Pod]}\n" + "  validations:\n    - expression: 'false'\n"
         "      mesage: m\n", 12, "spec.validations[0]: unknown field 'mesage'"),
        ("apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: x}\nspec: {}\n"
         "extra: field\n", 5, "unknown field 'extra' (known: apiVersion, kind, metadata, spec)"),
        ("apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata:\n  name: x\n"
         "  namespace: shop\nspec: {}\n", 5, "metadata: unknown field 'namespace'"),
        # a kind that can never match an object
        (HEADER + "  match:\n    kinds:\n      - Pod\n      - deployment\n", 12,
         "spec.match.kinds: 'deployment' is not a kind: kinds are compared exactly, did you mean "
         "'Deployment'?"),
        (HEADER + "  match: {kinds: [Deployments]}\n", 9, "did you mean 'Deployment'?"),
        (HEADER + "  match: {kinds: [networkpolicies]}\n", 9, "did you mean 'NetworkPolicy'?"),
        (HEADER + "  match: {kinds: [certificate]}\n", 9,
         "'certificate' is not a kind: kinds are CamelCase and singular"),
    ],
)  # fmt: skip
def test_policy_problems_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    if "W001" in text:  # a complete policy whose ID is a built-in rule's
        text = text + ("  title: t\n  severity: low\n  remediation: r.\n"
                       "  match: {kinds: [Pod]}\n  validations:\n"
                       "    - {expression: 'true', message: m}\n")  # fmt: skip
    (tmp_path / "p.yaml").write_text(text)
    loaded = load_policies([tmp_path], TAKEN)
    assert not loaded.rules
    (problem,) = loaded.problems
    assert problem.file.endswith("p.yaml")
    assert problem.line == line, problem
    assert fragment in problem.message


def test_a_policy_with_an_unknown_field_is_refused_and_the_others_still_judge(
    tmp_path: Path,
) -> None:
    good = HEADER.replace("x}", "y}").replace("ACME010", "ACME011")
    (tmp_path / "p.yaml").write_text(
        HEADER + "  match:\n    kinds: [Deployment]\n    excludedNamespaces: [shop]\n"
        "  validations:\n    - {expression: 'false', message: excluded}\n---\n"
        + good + "  match: {kinds: [Deployment]}\n"
        "  validations:\n    - {expression: 'false', message: judged}\n"
    )  # fmt: skip
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    run = kubeward("scan", "app.yaml", "--policies", "p.yaml", "--select", "ACME", "-f", "json",
                   cwd=tmp_path)  # fmt: skip
    assert run.code == 2, run.stdout + run.stderr
    report = json.loads(run.stdout)
    assert {(f["ruleId"], f["message"]) for f in report["findings"]} == {("ACME011", "judged")}
    (error,) = report["errors"]
    assert (error["file"], error["line"]) == ("p.yaml", 11), error
    assert "spec.match: unknown field 'excludedNamespaces'" in error["message"]


def test_a_failing_expression_is_an_error_for_that_object_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: strict}\nspec:\n"
        "  id: ACME020\n  title: t\n  severity: low\n  remediation: r.\n"
        "  match: {kinds: [Deployment]}\n  validations:\n"
        "    - {expression: 'object.spec.replicas >= 2', message: m}\n"
    )
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    run = kubeward("scan", "app.yaml", "--policies", "p.yaml", "--select", "ACME", "-f", "json",
                   cwd=tmp_path)  # fmt: skip
    assert run.code == 2
    report = json.loads(run.stdout)
    (error,) = report["errors"]
    assert error["ruleId"] == "ACME020" and error["line"] == 1
    assert "could not judge Deployment/shop/web" in error["message"]
    assert "could not judge Deployment/shop/web: p.yaml:11: " in error["message"]  # the expression
    assert "kubeward bug" not in error["message"]
    assert "Traceback" not in run.stderr


def test_admission_and_export_use_the_policies() -> None:
    loaded = load_policies([POLICIES], TAKEN)
    reviewer = Reviewer(loaded.rules, EngineSettings(), AdmissionSettings())
    bare = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "namespace": "shop"},
            "spec": {"template": {"spec": {"containers": []}}}}  # fmt: skip
    request = parse(review(bare))
    answer = response(request, reviewer.decide(request))["response"]
    assert answer["allowed"] is False
    assert "ACME001 require-team-label: the workload names no team" in answer["status"]["message"]
    objects, skipped = export(loaded.rules, AdmissionSettings(), custom=loaded.definitions)
    policies = {o["metadata"]["name"]: o for o in objects if o["kind"].endswith("Policy")}
    service = policies["kubeward-acme003-lowercase-service-names"]["spec"]
    assert [v["expression"] for v in service["validations"]] == [
        "!object.metadata.name.lowerAscii().endsWith('-prod')",
        "object.metadata.name.split('-').size() <= 3",
    ]
    assert service["matchConstraints"]["resourceRules"][0]["resources"] == ["services"]
    assert not skipped


def test_policy_test_command(tmp_path: Path) -> None:
    run = kubeward("policy", "test", str(POLICIES))
    assert run.code == 0, run.stdout + run.stderr
    assert "11 passed, 0 failed" in run.stdout
    (tmp_path / "acme.yaml").write_text((POLICIES / "acme.yaml").read_text())
    (tmp_path / "wrong_test.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: PolicyTest\nmetadata: {name: wrong}\nspec:\n"
        "  cases:\n"
        "    - name: expects the wrong thing\n      rule: ACME002\n      expect: pass\n"
        "      object: {apiVersion: apps/v1, kind: Deployment, metadata: {name: x}, spec: {}}\n"
        "    - name: a failing expression is an error\n      rule: ACME003\n      expect: error\n"
        "      object: {apiVersion: v1, kind: Service, metadata: {}}\n"
    )
    run = kubeward("policy", "test", str(tmp_path), "-f", "json")
    assert run.code == 1, run.stderr
    cases = {c["name"]: c for c in json.loads(run.stdout)["cases"]}
    wrong = cases["expects the wrong thing"]
    assert (wrong["ok"], wrong["actual"], wrong["line"]) == (False, "fail", 6)
    assert cases["a failing expression is an error"]["ok"] is True
    (tmp_path / "broken_test.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: PolicyTest\nmetadata: {name: b}\nspec:\n"
        "  cases:\n    - {name: x, rule: ACME002, expect: maybe, object: {kind: Pod}}\n"
    )
    run = kubeward("policy", "test", str(tmp_path))
    assert run.code == 2
    assert "broken_test.yaml:6: spec.cases[0]: expect: one of pass, fail, error" in run.stdout


def test_a_policy_test_case_that_tests_nothing_is_a_broken_file(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text((POLICIES / "acme.yaml").read_text())
    one_replica = (
        "{apiVersion: apps/v1, kind: Deployment, metadata: {name: x}, spec: {replicas: 1}}"
    )
    (tmp_path / "t_test.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: PolicyTest\nmetadata: {name: t}\nspec:\n"
        "  cases:\n"
        "    - name: a typo in the rule ID\n      rule: ACME0002\n      expect: error\n"
        f"      object: {one_replica}\n"
        "    - name: a misspelt request\n      rule: ACME002\n      expect: fail\n"
        f"      requets: {{operation: UPDATE}}\n      object: {one_replica}\n"
    )  # fmt: skip
    run = kubeward("policy", "test", str(tmp_path))
    assert run.code == 2, run.stdout + run.stderr
    assert f"ERROR {tmp_path}/t_test.yaml:7: rule: no rule ACME0002" in run.stdout, run.stdout
    assert f"ERROR {tmp_path}/t_test.yaml:13: spec.cases[1]: unknown field 'requets'" in run.stdout
    assert "0 passed, 0 failed, 2 broken" in run.stdout


def test_a_policy_test_case_may_name_the_message_it_expects(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text((POLICIES / "acme.yaml").read_text())
    one_replica = (
        "{apiVersion: apps/v1, kind: Deployment, metadata: {name: x}, spec: {replicas: 1}}"
    )
    (tmp_path / "t_test.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: PolicyTest\nmetadata: {name: t}\nspec:\n"
        "  cases:\n"
        "    - name: the right message\n      rule: ACME002\n      expect: fail\n"
        f"      message: fewer than two\n      object: {one_replica}\n"
        "    - name: another message\n      rule: ACME002\n      expect: fail\n"
        f"      message: too many replicas\n      object: {one_replica}\n"
    )  # fmt: skip
    run = kubeward("policy", "test", str(tmp_path), "-f", "json")
    assert run.code == 1, run.stdout + run.stderr
    cases = {
        c["name"]: (c["ok"], c["actual"], c["message"]) for c in json.loads(run.stdout)["cases"]
    }
    assert cases == {
        "the right message": (True, "fail", "fewer than two"),
        "another message": (False, "fail", "too many replicas"),
    }
    run = kubeward("policy", "test", str(tmp_path))
    assert "expected fail with a message containing 'too many replicas', got fail (" in run.stdout
    (tmp_path / "t_test.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: PolicyTest\nmetadata: {name: t}\nspec:\n"
        "  cases:\n    - name: a pass has no message\n      rule: ACME002\n      expect: pass\n"
        f"      message: fewer\n      object: {one_replica}\n"
    )  # fmt: skip
    run = kubeward("policy", "test", str(tmp_path))
    assert run.code == 2
    assert "t_test.yaml:9: spec.cases[0]: message: only with expect: fail or error" in run.stdout


def test_a_failure_on_a_secret_quotes_no_value(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: numeric}\nspec:\n"
        "  id: ACME030\n  title: t\n  severity: low\n  remediation: r.\n"
        "  match: {kinds: [Secret]}\n  validations:\n"
        "    - {expression: 'int(object.stringData.password) > 0', message: m}\n"
    )
    (tmp_path / "s.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\n"
        "stringData: {password: hunter2-not-a-number}\n"
    )
    run = kubeward("scan", "s.yaml", "--policies", "p.yaml", "--select", "ACME", "-f", "json",
                   cwd=tmp_path)  # fmt: skip
    (error,) = json.loads(run.stdout)["errors"]
    assert "details withheld" in error["message"]
    assert "hunter2" not in run.stdout + run.stderr


@pytest.mark.parametrize(
    ("settings", "allowed"),
    [
        (AdmissionSettings(), False),  # a deny rule that cannot judge refuses (onError: deny)
        (AdmissionSettings(deny_on_error=False), True),
        (AdmissionSettings(actions={"ACME020": Action.WARN}), True),  # it could only have warned
    ],
    ids=["deny-on-error", "allow-on-error", "warn-rule"],
)
def test_a_policy_that_cannot_judge_at_admission_is_never_passed_silently(
    tmp_path: Path, settings: AdmissionSettings, allowed: bool
) -> None:
    (tmp_path / "p.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: strict}\nspec:\n"
        "  id: ACME020\n  title: t\n  severity: low\n  remediation: r.\n"
        "  match: {kinds: [Deployment]}\n  validations:\n"
        "    - {expression: 'object.spec.replicas >= 2', message: m}\n"
    )
    loaded = load_policies([tmp_path], TAKEN)
    reviewer = Reviewer(loaded.rules, EngineSettings(), settings)
    no_replicas = {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "namespace": "shop"}, "spec": {}}  # fmt: skip
    request = parse(review(no_replicas))
    answer = response(request, reviewer.decide(request))["response"]
    assert answer["allowed"] is allowed
    (warning,) = answer["warnings"]  # kubectl prints it either way
    assert warning.startswith("kubeward: rule ACME020 (strict) could not judge Deployment")
    assert "could not judge" in answer["auditAnnotations"]["errors"]
    if not allowed:
        assert "refused: admission.onError is deny" in answer["status"]["message"]


def test_cel_policies_see_the_admission_request_and_the_old_object(tmp_path: Path) -> None:
    """VAP's `request` and `oldObject`: the API server's at admission, a CREATE by nobody in a
    scan (as Rego policies see it)."""
    (tmp_path / "p.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: CELPolicy\nmetadata: {name: keep-owner}\nspec:\n"
        "  id: ACME030\n  title: t\n  severity: low\n  remediation: r.\n"
        "  match: {kinds: [ConfigMap]}\n  validations:\n"
        "    - expression: >-\n"
        "        request.operation == 'CREATE' ||\n"
        "        object.metadata.?labels.?owner == oldObject.metadata.?labels.?owner ||\n"
        "        request.userInfo.username == 'admin'\n"
        "      message: only admin changes the owner label\n"
    )
    loaded = load_policies([tmp_path], TAKEN)
    assert not loaded.problems
    reviewer = Reviewer(loaded.rules, EngineSettings(), AdmissionSettings())

    def config_map(owner: str) -> dict[str, object]:
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c", "namespace": "shop", "labels": {"owner": owner}}}  # fmt: skip

    def decide(user: str, old_owner: str) -> bool:
        body = review(config_map("b"), "UPDATE", oldObject=config_map(old_owner),
                      userInfo={"username": user})  # fmt: skip
        request = parse(body)
        return bool(response(request, reviewer.decide(request))["response"]["allowed"])

    assert decide("bob", "b") is True  # the owner did not change
    assert decide("bob", "a") is False
    assert decide("admin", "a") is True
    (tmp_path / "cm.yaml").write_text(yaml.safe_dump(config_map("a")))
    result = scan_paths([tmp_path / "cm.yaml"], config=None, select=("ACME030",),
                        policies=(str(tmp_path / "p.yaml"),))  # fmt: skip
    assert not result.findings  # a scan judges a CREATE
    assert [r.id for r in result.rules] == ["ACME030"]


PARAMS_POLICY = """\
apiVersion: kubeward.io/v1alpha1
kind: CELPolicy
metadata: {name: replica-ceiling}
spec:
  id: ACME040
  title: Too many replicas
  severity: low
  remediation: Ask for a quota.
  match: {kinds: [Deployment]}
  params:
    data: {maxReplicas: "5"}
  validations:
    - expression: object.spec.?replicas.orValue(1) <= int(params.data.maxReplicas)
      message: more replicas than the ceiling
---
apiVersion: kubeward.io/v1alpha1
kind: CELPolicy
metadata: {name: prod-needs-owner}
spec:
  id: ACME041
  title: Production workload names no owner
  severity: medium
  remediation: Label it with its owner.
  match: {kinds: [Deployment]}
  validations:
    - expression: >-
        namespaceObject.metadata.?labels.?tier.orValue('') != 'prod' ||
        'owner' in object.metadata.?labels.orValue({})
      message: a workload in a production namespace names no owner
"""


def deployment(name: str, namespace: str, replicas: int, **labels: str) -> dict[str, object]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"replicas": replicas}}  # fmt: skip


def test_cel_policies_read_params_from_the_policy_or_from_kubeward_yaml(tmp_path: Path) -> None:
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(PARAMS_POLICY)
    (tmp_path / "app.yaml").write_text(
        yaml.safe_dump_all([deployment("small", "a", 3), deployment("big", "a", 8)])
    )
    run = kubeward("scan", "app.yaml", "--policies", "policies", "--select", "ACME040",
                   "-f", "json", cwd=tmp_path)  # fmt: skip
    report = json.loads(run.stdout)
    assert [f["object"]["name"] for f in report["findings"]] == ["big"]
    # kubeward.yaml's policyParams replace the policy's own
    (tmp_path / "kubeward.yaml").write_text(
        "policies: [policies]\npolicyParams:\n  ACME040: {data: {maxReplicas: '2'}}\n"
        "  ZZZ001: {data: {}}\n"
    )
    run = kubeward("scan", "app.yaml", "--select", "ACME040", "-f", "json", cwd=tmp_path)
    report = json.loads(run.stdout)
    assert sorted(f["object"]["name"] for f in report["findings"]) == ["big", "small"]
    assert any(
        "policyParams: ZZZ001 is not a CEL policy that was loaded" in w["message"]
        for w in report["warnings"]
    )
    (tmp_path / "kubeward.yaml").write_text("policyParams:\n  acme: {data: {}}\n")
    run = kubeward("scan", "app.yaml", cwd=tmp_path)
    assert run.code == 2
    assert "kubeward.yaml:2" in run.stderr and "'acme' is not a policy ID" in run.stderr


def test_namespace_object_is_the_scanned_namespace_or_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PARAMS_POLICY)
    namespaces = [
        {"apiVersion": "v1", "kind": "Namespace",
         "metadata": {"name": "shop", "labels": {"tier": "prod"}}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "lab"}},
    ]  # fmt: skip
    objects = [
        deployment("orphan", "shop", 1),
        deployment("owned", "shop", 1, owner="team-a"),
        deployment("lab-app", "lab", 1),
        deployment("elsewhere", "unknown", 1),
    ]
    (tmp_path / "app.yaml").write_text(yaml.safe_dump_all([*namespaces, *objects]))
    result = scan_paths([tmp_path / "app.yaml"], config=None, select=("ACME041",),
                        policies=(str(tmp_path / "p.yaml"),))  # fmt: skip
    assert [f.object.name for f in result.findings] == ["orphan"]
    (error,) = result.errors
    assert "elsewhere" in error.message
    assert "namespaceObject is null: Namespace 'unknown' is not among the objects scanned" in (
        error.message
    )


def test_policy_tests_give_params_and_the_namespace(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PARAMS_POLICY)
    cases = [
        {"name": "ceiling from the case", "rule": "ACME040", "expect": "fail",
         "params": {"data": {"maxReplicas": "1"}}, "object": deployment("d", "x", 2)},
        {"name": "ceiling from the policy", "rule": "ACME040", "expect": "pass",
         "object": deployment("d", "x", 2)},
        {"name": "prod namespace", "rule": "ACME041", "expect": "fail",
         "namespaceObject": {"apiVersion": "v1", "kind": "Namespace",
                             "metadata": {"name": "x", "labels": {"tier": "prod"}}},
         "object": deployment("d", "x", 2)},
        {"name": "no namespace given", "rule": "ACME041", "expect": "error",
         "object": deployment("d", "x", 2)},
    ]  # fmt: skip
    (tmp_path / "p_test.yaml").write_text(yaml.safe_dump({
        "apiVersion": "kubeward.io/v1alpha1", "kind": "PolicyTest", "metadata": {"name": "t"},
        "spec": {"cases": cases}}))  # fmt: skip
    run = kubeward("policy", "test", str(tmp_path))
    assert run.code == 0, run.stdout + run.stderr
    assert "4 passed, 0 failed" in run.stdout


def test_export_turns_config_map_params_into_a_param_ref(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(PARAMS_POLICY)
    loaded = load_policies([tmp_path], TAKEN)
    objects, skipped = export(loaded.rules, AdmissionSettings(), custom=loaded.definitions)
    assert not skipped
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    name = "kubeward-acme040-replica-ceiling"
    assert by_name[("ConfigMap", name)]["data"] == {"maxReplicas": "5"}
    assert by_name[("ValidatingAdmissionPolicy", name)]["spec"]["paramKind"]["kind"] == "ConfigMap"
    assert by_name[("ValidatingAdmissionPolicyBinding", name)]["spec"]["paramRef"]["name"] == name
    assert "paramKind" not in by_name[("ValidatingAdmissionPolicy",
                                       "kubeward-acme041-prod-needs-owner")]["spec"]  # fmt: skip
    structured = PARAMS_POLICY.replace('data: {maxReplicas: "5"}', "limits: [5]")
    (tmp_path / "p.yaml").write_text(structured)
    loaded = load_policies([tmp_path], TAKEN)
    _, skipped = export(loaded.rules, AdmissionSettings(), custom=loaded.definitions)
    assert [(r.id, why.split(":")[0]) for r, why in skipped] == [
        ("ACME040", "its params are not a ConfigMap's data ({data")
    ]


def test_kubeward_yaml_may_name_policy_ids_and_a_typo_is_an_error(tmp_path: Path) -> None:
    """Users' IDs in kubeward.yaml are checked against the policies loaded for the run, whether
    the file lists them (`policies:`) or the command line does (`--policies`): docs/policies.md
    gives both as the same thing."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(PARAMS_POLICY)
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(deployment("big", "a", 8)))
    settings = (
        "select: [ACME040]\nseverity: {ACME040: critical}\nadmission: {actions: {ACME041: warn}}\n"
        "exceptions: [{rules: [ACME041], reason: owners come later}]\n"
    )
    for listed, given in (("policies: [policies]\n", ()), ("", ("--policies", "policies"))):
        (tmp_path / "kubeward.yaml").write_text(listed + settings)
        run = kubeward("scan", "app.yaml", *given, "-f", "json", cwd=tmp_path)
        assert run.code == 1, run.stderr
        report = json.loads(run.stdout)
        assert [(f["ruleId"], f["severity"]) for f in report["findings"]] == [
            ("ACME040", "critical")
        ]
        assert [w["message"] for w in report["warnings"]] == [  # known, and of no use here
            "exception for rules ACME041 matched no finding (unused: remove it)"
        ]
        run = kubeward("admission", "export-vap", *given, cwd=tmp_path)
        assert run.code == 0, run.stderr
        assert "kubeward-acme040-replica-ceiling" in run.stdout
        # the server reads the file and loads the policies before it looks at its certificate
        run = kubeward("admission", "serve", *given, "--tls-cert", "none.pem", "--tls-key",
                       "none.pem", cwd=tmp_path)  # fmt: skip
        assert run.stderr == "kubeward: error: none.pem: no such file\n"
        # a typo is an error at its line, for every command that reads the file
        typo = tmp_path / "kubeward.yaml"
        typo.write_text(listed + settings + "ignore: [ACME049]\n")
        line = 6 if listed else 5
        for command in (("scan", "app.yaml"), ("admission", "export-vap"),
                        ("admission", "serve", "--tls-cert", "app.yaml", "--tls-key", "app.yaml")):  # fmt: skip
            run = kubeward(*command, *given, cwd=tmp_path)
            assert run.code == 2, command
            assert run.stderr == (
                f"kubeward: error: kubeward.yaml:{line}: ignore: 'ACME049' matches no rule ID "
                "and no loaded policy\n"
            ), command
    # without policies, an unknown ID is still an error when the file is read
    (tmp_path / "kubeward.yaml").write_text("select: [ACME04]\n")
    run = kubeward("scan", "app.yaml", cwd=tmp_path)
    assert run.stderr == "kubeward: error: kubeward.yaml:1: select: 'ACME04' matches no rule ID\n"
    # the command line's --select/--ignore are checked against the loaded policies too
    (tmp_path / "kubeward.yaml").write_text("")
    run = kubeward("scan", "app.yaml", "--policies", "policies", "--ignore", "ACME49",
                   cwd=tmp_path)  # fmt: skip
    assert run.code == 2 and run.stderr == (
        "kubeward: error: --select/--ignore: 'ACME49' matches no rule ID and no loaded policy\n"
    )
    run = kubeward("scan", "app.yaml", "--select", "ACME04", cwd=tmp_path)
    assert run.stderr == "kubeward: error: --select/--ignore: 'ACME04' matches no rule ID\n"


def test_an_unknown_id_is_no_error_when_a_policy_failed_to_load(tmp_path: Path) -> None:
    """The ID may be the broken policy's: the scan reports the policy's error (exit code 2) and
    only warns about the ID."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(PARAMS_POLICY.replace("id: ACME041", "id: 41"))
    (tmp_path / "app.yaml").write_text(yaml.safe_dump(deployment("big", "a", 8)))
    (tmp_path / "kubeward.yaml").write_text("ignore: [ACME041]\n")
    run = kubeward("scan", "app.yaml", "--policies", "policies", "-f", "json", cwd=tmp_path)
    assert run.code == 2, run.stderr
    report = json.loads(run.stdout)
    assert [e["file"] for e in report["errors"]] == ["policies/p.yaml"]
    assert [w["message"] for w in report["warnings"]] == [
        "ACME041 matches no rule and no loaded policy (a typo?)"
    ]


def test_select_and_ignore_choose_policies_wherever_rules_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One selection for built-in rules and users' policies: scan, export-vap, audit --watch
    (the webhook: tests/test_admission_server.py); an ignored policy is no unknown ID."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "acme.yaml").write_text((POLICIES / "acme.yaml").read_text())
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    (tmp_path / "kubeward.yaml").write_text(
        "policies: [policies]\nselect: [ACME]\nignore: [ACME001]\n"
    )
    run = kubeward("scan", "app.yaml", "-f", "json", cwd=tmp_path)
    report = json.loads(run.stdout)
    assert [r["id"] for r in report["rules"]] == ["ACME002", "ACME003"]
    assert [f["ruleId"] for f in report["findings"]] == ["ACME002", "ACME003", "ACME003"]
    assert report["warnings"] == []  # ACME001 was loaded, then ignored: not a typo

    run = kubeward("admission", "export-vap", cwd=tmp_path)
    assert run.code == 0, run.stderr
    exported = [o["metadata"]["name"] for o in yaml.safe_load_all(run.stdout)
                if o["kind"] == "ValidatingAdmissionPolicy"]  # fmt: skip
    assert exported == [
        "kubeward-acme002-enough-replicas",
        "kubeward-acme003-lowercase-service-names",
    ]

    monkeypatch.setitem(cel_worker._ISOLATION, "on", False)  # the session turns isolation on
    monkeypatch.setattr(cel_isolation, "_POLICIES", [])
    config = load_config(tmp_path / "kubeward.yaml")
    request = ScanRequest(paths=(), config=config, ignore=("ACME003",), cluster=ClusterTarget())
    assert [r.id for r in AuditSession(request, lambda _: None).rules] == ["ACME002"]
    # an ID that matches no rule and no loaded policy stops the watch before it starts
    (tmp_path / "kubeward.yaml").write_text("policies: [policies]\nignore: [ACME009]\n")
    request = replace(request, config=load_config(tmp_path / "kubeward.yaml"))
    with pytest.raises(ConfigError, match=r"kubeward\.yaml:2: ignore: 'ACME009' matches no rule"):
        AuditSession(request, lambda _: None)
    request = replace(request, config=config, ignore=("ACME009",))
    with pytest.raises(UsageError, match="'ACME009' matches no rule ID and no loaded policy"):
        AuditSession(request, lambda _: None)


def annotated(name: str, replicas: int, annotations: dict[str, str]) -> dict[str, object]:
    return {**deployment(name, "shop", replicas),
            "metadata": {"name": name, "namespace": "shop", "annotations": annotations}}  # fmt: skip


def test_ignore_annotations_name_users_policies_like_built_in_rules(tmp_path: Path) -> None:
    objects = [
        annotated("by-id", 1, {"kubeward.io/ignore.ACME002": "we scale with HPA"}),
        annotated("by-name", 1, {"kubeward.io/ignore.enough-replicas": "HPA"}),
        annotated("needless", 3, {"kubeward.io/ignore.ACME002": "HPA"}),
        annotated("both", 1, {"kubeward.io/ignore.ACME002": "HPA", "kubeward.io/ignore.W001": "x"}),
    ]
    (tmp_path / "app.yaml").write_text(yaml.safe_dump_all(objects))
    policies = (str(POLICIES),)
    result = scan_paths([tmp_path / "app.yaml"], select=("ACME002",), policies=policies)
    assert not result.findings
    assert [(f.object.name, f.suppression and f.suppression.reason) for f in result.suppressed] == [
        ("by-id", "we scale with HPA"), ("by-name", "HPA"), ("both", "HPA")
    ]  # fmt: skip
    assert [w.message for w in result.warnings] == [
        "annotation kubeward.io/ignore.ACME002 suppresses nothing: ACME002 finds no problem "
        "here (remove it)"
    ]
    # a policy left out by --select is still a known rule (as a built-in one is)
    result = scan_paths([tmp_path / "app.yaml"], select=("W001",), policies=policies)
    assert not [w.message for w in result.warnings if "known" in w.message]
    # allowInlineSuppressions: false applies to users' policies too
    (tmp_path / "kubeward.yaml").write_text("allowInlineSuppressions: false\n")
    config = load_config(tmp_path / "kubeward.yaml")
    result = scan_paths([tmp_path / "app.yaml"], config=config, select=("ACME002",),
                        policies=policies)  # fmt: skip
    assert [f.object.name for f in result.findings] == ["by-id", "by-name", "both"]
    assert sorted((w.line, w.message.split(":")[0]) for w in result.warnings) == [
        (5, "annotation kubeward.io/ignore.ACME002 ignored"),
        (15, "annotation kubeward.io/ignore.enough-replicas ignored"),
        (25, "annotation kubeward.io/ignore.ACME002 ignored"),
        (35, "annotation kubeward.io/ignore.ACME002 ignored"),
        (36, "annotation kubeward.io/ignore.W001 ignored"),
    ]
    # at admission, the same annotation moves the finding aside: the request is admitted
    loaded = load_policies([POLICIES], TAKEN)
    reviewer = Reviewer(loaded.rules, EngineSettings(policies=tuple(loaded.rules)),
                        AdmissionSettings())  # fmt: skip
    for obj, allowed in ((annotated("x", 1, {}), False),
                         (annotated("x", 1, {"kubeward.io/ignore.ACME002": "HPA"}), True)):  # fmt: skip
        obj["metadata"]["labels"] = {"team": "shop"}  # type: ignore[index]
        request = parse(review(obj))
        answer = response(request, reviewer.decide(request))["response"]
        assert answer["allowed"] is allowed, answer


SECRET_KEYS_POLICY = """\
apiVersion: kubeward.io/v1alpha1
kind: CELPolicy
metadata: {name: secret-keys}
spec:
  id: ACME420
  title: Secret keys
  severity: medium
  remediation: r.
  match: {kinds: [Secret]}
  validations:
    - expression: "object.type != 'kubernetes.io/tls' || 'tls.crt' in object.?data.orValue({})"
      message: no tls.crt
    - expression: "!('password' in object.?data.orValue({}))"
      message: a key named password
    - expression: "object.?data.orValue({}).all(k, size(object.data[k]) > 0)"
      message: an empty value
    - expression: "oldObject == null || oldObject.data.all(k, k in object.?data.orValue({}))"
      message: a key was removed
---
apiVersion: kubeward.io/v1alpha1
kind: RegoPolicy
metadata: {name: decoded-secret}
spec:
  id: ACME421
  title: Secret value decodes to nothing
  severity: low
  remediation: r.
  match: {kinds: [Secret]}
  rego: |
    package decoded
    import rego.v1
    deny contains msg if {
      some k, v in input.request.object.data
      base64.decode(v) == ""
      msg := sprintf("%s decodes to nothing", [k])
    }
"""


def secret(name: str, data: dict[str, str], kind: str = "Opaque") -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Secret", "type": kind,
            "metadata": {"name": name, "namespace": "shop"}, "data": data}  # fmt: skip


def test_policies_see_a_secrets_keys_not_its_values(tmp_path: Path) -> None:
    """Keys as they are, values replaced by a marker (empty values stay empty): the same
    verdicts in a scan and at admission as the API server's, and no value to quote."""
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(SECRET_KEYS_POLICY)
    tls = "kubernetes.io/tls"
    secrets = [
        secret("tls-ok", {"tls.crt": "Zm9v", "tls.key": "YmFy"}, tls),
        secret("tls-no-crt", {"tls.key": "YmFy"}, tls),
        secret("with-password", {"password": "eA=="}),
        secret("empty-value", {"a": "", "b": "eA=="}),
    ]
    (tmp_path / "s.yaml").write_text(yaml.safe_dump_all(secrets))
    expected = [
        ("ACME420", "tls-no-crt", "no tls.crt"),
        ("ACME420", "with-password", "a key named password"),
        ("ACME420", "empty-value", "an empty value"),
        ("ACME421", "empty-value", "a decodes to nothing"),
    ]
    policies = (str(tmp_path / "policies"),)
    result = scan_paths([tmp_path / "s.yaml"], select=("ACME",), policies=policies)
    assert not result.errors
    assert [(f.rule_id, f.object.name, f.message) for f in result.findings] == expected

    loaded = load_policies(policies, TAKEN)
    reviewer = Reviewer(loaded.rules, EngineSettings(), AdmissionSettings())
    denied = []
    for obj in secrets:
        request = parse(review(obj))
        verdict = reviewer.decide(request)
        assert not verdict.errors
        denied += [(f.rule_id, f.object.name, f.message) for f in verdict.denied]
    assert denied == expected
    # the old object keeps its keys as well
    old = secret("tls-ok", {"tls.crt": "Zm9v", "tls.key": "YmFy", "ca.crt": "YmF6"}, tls)
    request = parse(review(secrets[0], "UPDATE", oldObject=old))
    assert [f.message for f in reviewer.decide(request).denied] == ["a key was removed"]
