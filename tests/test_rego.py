"""Users' Rego policies: loading with file:line errors, findings at every enforcement point, error
results instead of crashes, the time limit, and Secret values kept out of every message."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from kubeward.admission.review import Reviewer, parse, response
from kubeward.admission.server import create_app
from kubeward.admission.vap import export
from kubeward.config import load_config
from kubeward.engine import EngineSettings, evaluate
from kubeward.model import Inventory, K8sObject
from kubeward.model.enforcement import AdmissionSettings
from kubeward.model.objects import UNLOCATED
from kubeward.model.secrets import REDACTED, REDACTED_BASE64
from kubeward.policies import rego, rego_policies
from kubeward.policies.fields import PolicyRuntimeError
from kubeward.policies.loader import RegoDefinition, load_policies
from kubeward.policies.rego import RegoEvaluationError, messages
from kubeward.rules import ALL_RULES, RuleParams
from tests.cli_helpers import kubeward
from tests.conftest import scan_paths
from tests.test_admission import Client, review

POLICIES = Path(__file__).parent / "policies_rego"
TAKEN = {r.id for r in ALL_RULES} | {r.name for r in ALL_RULES}
HEAD = (
    "apiVersion: kubeward.io/v1alpha1\nkind: RegoPolicy\nmetadata: {name: p}\nspec:\n"
    "  id: ACME900\n  title: The title\n  severity: low\n  remediation: r.\n"
    "  match: {kinds: [Pod, Secret, ConfigMap]}\n"
)
MANIFESTS = """\
apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
spec:
  containers:
    - {name: a, image: nginx}
    - {name: b, image: registry.example/b:1, securityContext: {privileged: true}}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
  labels: {team: payments}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: a, image: registry.example/api:2}]
"""


def policy(rego_text: str, **spec: str) -> str:
    """A RegoPolicy document whose module is ``rego_text`` (a block scalar from line 11)."""
    extra = "".join(f"  {key}: {value}\n" for key, value in spec.items())
    body = "".join(f"    {line}\n" for line in rego_text.splitlines())
    return HEAD + extra + "  rego: |\n" + body


def sandbox() -> rego.Sandbox:
    assert isinstance(rego.SANDBOX, rego.Sandbox), "these tests run with the sandbox"
    return rego.SANDBOX


def rule_of(tmp_path: Path, text: str, name: str = "p.yaml") -> Any:
    (tmp_path / name).write_text(text)
    loaded = load_policies([tmp_path / name], TAKEN)
    assert not loaded.problems, loaded.problems
    (rule,) = loaded.rules
    return rule


def judge(rule: Any, raw: dict[str, Any], admission: dict[str, Any] | None = None) -> list[str]:
    obj = K8sObject(raw, UNLOCATED, admission=admission)
    return [v.message for v in rule.run_object(obj, RuleParams())]


def test_rego_policies_load_as_rules() -> None:
    loaded = load_policies([POLICIES], TAKEN)
    assert not loaded.problems, loaded.problems
    rules = {r.id: r for r in loaded.rules}
    assert sorted(rules) == [
        "ACME100",
        "ACME101",
        "ACME102",
        "ACME103",
        "ACME104",
    ]  # no *_test.rego
    team = rules["ACME101"]  # from a .rego file's METADATA block
    assert (team.name, team.title, team.severity.value) == (
        "team-label", "Workload names no team", "medium")  # fmt: skip
    assert team.target.workloads and "team that answers" in team.summary
    assert team.module.endswith("team_label.rego")
    assert rules["ACME100"].target.kinds == {"Pod"}
    versions = {i: d.program.version for i, d in loaded.definitions.items()
                if isinstance(d, RegoDefinition)}  # fmt: skip
    assert versions == {"ACME100": "v0", "ACME101": "v1", "ACME102": "v1", "ACME103": "v1",
                        "ACME104": "v0"}  # fmt: skip
    constraint = rules["ACME104"]  # a Gatekeeper Constraint of a ConstraintTemplate
    assert (constraint.name, constraint.severity.value, constraint.target.kinds) == (
        "repos-from-corp", "high", frozenset({"Pod"}))  # fmt: skip
    assert constraint.title == "Image comes from a repository that is not allowed"


def test_scan_reports_rego_findings(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    run = kubeward("scan", "app.yaml", "--policies", str(POLICIES), "--select", "ACME1",
                   "-f", "json", cwd=tmp_path)  # fmt: skip
    assert run.code == 1, run.stdout + run.stderr
    report = json.loads(run.stdout)
    found = sorted((f["ruleId"], f["object"]["name"], f["line"], f["message"])
                   for f in report["findings"])  # fmt: skip
    assert found == [
        ("ACME100", "web", 1, "image nginx is not from registry.example"),
        ("ACME101", "web", 1, "Pod shop/web names no team"),
        ("ACME103", "web", 1, 'container "b" is privileged'),
        (
            "ACME104",
            "web",
            1,
            "container <a> has an invalid image repo <nginx>, allowed repos "
            'are ["registry.example/", "registry.corp.example/"]',
        ),
    ]
    assert not report["errors"]


def test_config_names_rego_policy_directories(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    (tmp_path / "kubeward.yaml").write_text(f"policies: [{POLICIES}]\n")
    config = load_config(tmp_path / "kubeward.yaml")
    result = scan_paths([tmp_path / "app.yaml"], config=config, select=("ACME10",))
    assert {f.rule_id for f in result.findings} == {"ACME100", "ACME101", "ACME103", "ACME104"}


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (policy("package p\nimport rego.v1\n\ndeny contains msg if {\n  msg :=\n}"),
         15, "expecting `}`"),
        (policy("package p\ndeny[msg] {\n  msg := nofunc(1)\n}"), 13, "could not find function nofunc"),
        (policy("package p\nimport rego.v1\ndeny contains m if {\n  y > 1\n}"), 14,
         "use of undefined variable `y` is unsafe"),
        (policy("package p\nimport rego.v1\nallow := true"), 11, "defines neither deny nor violation"),
        (policy("import rego.v1\ndeny := true"), 11, "no package declaration"),
        (policy("package p\ndeny := true", regoVersion="v2"), 10, "spec.regoVersion: v0 or v1"),
        (policy("package p\ndeny[msg] {\n  msg := 1\n}", regoVersion="v1"), 13, "`if` keyword is required"),
        (policy("package p\nimport rego.v1\ndeny if {\n  http.send({})\n}"), 14, "http.send is not available"),
        (policy("package p\nimport rego.v1\ndeny if count(numbers.range(1, 100000000)) > 0"), 11,
         "evaluating the policy on an empty object failed: evaluation exceeded"),
        (HEAD + "  rego: 42\n", 10, "spec.rego: a non-empty string is required"),
        (HEAD + "  rego: |\n    package p\n    deny := true\n  libs: [1]\n", 13, "spec.libs: a list"),
        (HEAD + "  rego: |\n    package p\n    import data.lib\n    deny if lib.bad\n"
         "  libs:\n    - |\n      package lib\n      bad if {\n", 18, "expecting expression"),
    ],
)  # fmt: skip
def test_rego_problems_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    (tmp_path / "p.yaml").write_text(text)
    loaded = load_policies([tmp_path], TAKEN)
    assert not loaded.rules
    (problem,) = loaded.problems
    assert problem.file.endswith("p.yaml")
    assert problem.line == line, problem
    assert fragment in problem.message, problem


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("package p\n\ndeny[msg] { msg := 1 }\n", 3, "no # METADATA block"),
        ("# METADATA\n# title: t\n# custom:\n#   id: nope\n#   severity: low\n"
         "#   remediation: r.\n#   kinds: [Pod]\npackage p\ndeny := true\n", 4, "custom.id 'nope'"),
        ("# METADATA\n# title: t\n# custom: {id: ACME901, severity: low, remediation: r.}\n"
         "package p\ndeny := true\n", 3, "METADATA custom.match: kinds and/or workloads"),
        ("# METADATA\n# title: [\npackage p\ndeny := true\n", 3, "METADATA: invalid YAML"),
        ("# METADATA\n# title: t\n# custom:\n#   id: ACME901\n#   id: ACME902\npackage p\n"
         "deny := true\n", 5, "METADATA: duplicate key custom.id (also on line 4)"),
        ("# METADATA\n# title: t\n# custom:\n#   id: ACME901\n#   severity: low\n"
         "#   remediation: r.\n#   kinds: [Pod]\npackage p\nimport rego.v1\n\ndeny if {\n  1 +\n}\n",
         13, "Rego:"),
        # kubeward's custom fields are checked like a RegoPolicy's: nothing unknown is ignored
        ("# METADATA\n# title: t\n# custom:\n#   id: ACME901\n#   severity: low\n"
         "#   remediation: r.\n#   kinds: [Pod]\n#   excludedNamespaces: [shop]\npackage p\n"
         "deny := true\n", 8, "METADATA custom: unknown field 'excludedNamespaces'"),
        ("# METADATA\n# title: t\n# custom:\n#   id: ACME901\n#   severity: low\n"
         "#   remediation: r.\n#   workloads: 'yes'\npackage p\ndeny := true\n", 7,
         "METADATA custom.workloads: true or false"),
        ("# METADATA\n# title: t\n# custom:\n#   id: ACME901\n#   severity: low\n"
         "#   remediation: r.\n#   match:\n#     kinds: [Pod]\n#     namespaces: [prod]\n"
         "package p\ndeny := true\n", 9, "METADATA custom.match: unknown field 'namespaces'"),
        ("# METADATA\n# title: t\n# custom:\n#   id: ACME901\n#   severity: low\n"
         "#   remediation: r.\n#   kinds: [pod]\npackage p\ndeny := true\n", 7,
         "METADATA custom.kinds: 'pod' is not a kind"),
        ("# METADATA\n# title: t\n# custom:\n#   id: ACME901\n#   severity: low\n"
         "#   remediation: r.\n#   kinds: [Pod]\n#   match: {workloads: true}\npackage p\n"
         "deny := true\n", 8, "either match or kinds/workloads, not both"),
        # OPA's own annotations, without kubeward's, on a module that defines deny
        ("# METADATA\n# description: d\n# scope: package\npackage p\ndeny := true\n", 2,
         "METADATA custom.id: a non-empty string is required"),
    ],
)  # fmt: skip
def test_rego_file_problems_name_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    (tmp_path / "bad_policy.rego").write_text(text)
    loaded = load_policies([tmp_path], TAKEN)
    assert not loaded.rules
    (problem,) = loaded.problems
    assert problem.file.endswith("bad_policy.rego")
    assert (problem.line, fragment in problem.message) == (line, True), problem


def test_a_library_may_carry_opas_own_metadata(tmp_path: Path) -> None:
    (tmp_path / "lib.rego").write_text(
        "# METADATA\n# description: helpers shared by our policies\n# scope: package\n"
        'package lib.helpers\n\nimport rego.v1\n\nis_pod(o) if o.kind == "Pod"\n'
    )
    (tmp_path / "uses_lib.rego").write_text(
        "# METADATA\n# title: uses lib\n# custom:\n#   id: ACME811\n#   severity: low\n"
        "#   remediation: r.\n#   kinds: [Pod]\npackage b\n\nimport rego.v1\n"
        "import data.lib.helpers\n\ndeny contains \"pod\" if helpers.is_pod(input.review.object)\n"
    )  # fmt: skip
    loaded = load_policies([tmp_path], TAKEN)
    assert not loaded.problems, loaded.problems
    (rule,) = loaded.rules
    assert rule.id == "ACME811"
    assert judge(rule, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}}) == ["pod"]


def test_messages_take_every_documented_shape() -> None:
    assert messages({"deny": ["b", "a"], "violation": [{"msg": "c", "details": {}}]}, "t") == [
        "a", "b", "c"]  # fmt: skip
    assert messages({"deny": True}, "the title") == ["the title"]
    assert messages({"deny": False, "violation": []}, "t") == []
    assert messages({"deny": "one message"}, "t") == ["one message"]
    for bad, fragment in (([42], "holds a number"), ([{"message": "x"}], "without a msg"),
                          ({"a": 1}, "is an object"), (7, "is a number")):  # fmt: skip
        with pytest.raises(RegoEvaluationError, match=fragment):
            messages({"deny": bad}, "t")


@pytest.mark.parametrize(
    ("rego_text", "fragment"),
    [
        ("package p\nimport rego.v1\ndeny contains msg if {\n  x := input.request.object.metadata.name + 1\n"
         "  msg := sprintf(\"%v\", [x])\n}", "p.yaml:14: `add` expects numeric argument"),
        ("package p\nimport rego.v1\nlevel := 1 if input.request.object.kind == \"Pod\"\n"
         "level := 2 if input.request.object.metadata.name\ndeny if level",
         "p.yaml:14: rule conflicts with rule at p.yaml:13"),
        ("package p\nimport rego.v1\ndeny contains 42 if input.request.object", "deny holds a number"),
    ],
)  # fmt: skip
def test_a_failing_evaluation_is_an_error_result_not_a_crash(
    tmp_path: Path, rego_text: str, fragment: str
) -> None:
    (tmp_path / "p.yaml").write_text(policy(rego_text))
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    run = kubeward("scan", "app.yaml", "--policies", "p.yaml", "--select", "ACME", "-f", "json",
                   cwd=tmp_path)  # fmt: skip
    assert run.code == 2, run.stdout + run.stderr
    (error,) = json.loads(run.stdout)["errors"]
    assert error["ruleId"] == "ACME900" and error["line"] == 1
    assert "could not judge Pod/shop/web" in error["message"]
    assert fragment in error["message"], error["message"]
    assert "module-" not in error["message"]  # kubeward's name for the module, not the user's
    assert "kubeward bug" not in error["message"] and "Traceback" not in run.stderr


def test_a_policy_that_never_ends_is_stopped(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setattr(rego, "EVALUATION_TIMEOUT", 0.5)
    endless = rule_of(tmp_path, policy(
        "package p\nimport rego.v1\ndeny contains \"x\" if {\n"
        "  some c in input.request.object.spec.containers\n"
        "  some i in numbers.range(1, 100000)\n  some j in numbers.range(1, 100000)\n"
        "  i == j + 1000000\n}"))  # fmt: skip
    quick = rule_of(tmp_path, policy("package q\nimport rego.v1\ndeny if input.request.object")
                    .replace("ACME900", "ACME901").replace("name: p}", "name: q}"), "q.yaml")  # fmt: skip
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w"},
           "spec": {"containers": [{"name": "a", "image": "x"}]}}  # fmt: skip
    started = time.monotonic()
    with pytest.raises(PolicyRuntimeError, match=r"exceeded 0.5 s and was stopped"):
        judge(endless, pod)
    assert time.monotonic() - started < 10
    assert judge(quick, pod) == ["The title"]  # a new sandbox, with every policy loaded again


def test_the_sandbox_recovers_when_it_dies(tmp_path: Path) -> None:
    rule = rule_of(tmp_path, policy("package p\nimport rego.v1\ndeny if input.request.object"))
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w"}}
    assert judge(rule, pod) == ["The title"]
    process = sandbox()._process
    assert process is not None
    process.kill()
    process.wait()
    assert judge(rule, pod) == ["The title"]  # a new sandbox, the policy loaded again
    assert sandbox()._process is not process


QUOTING = (
    "package p\nimport rego.v1\n"
    "deny contains msg if {\n  some k, v in input.request.object.data\n"
    '  msg := sprintf("data %s=%v", [k, v])\n}\n'
    "deny contains msg if {\n  some k, v in input.review.object.stringData\n"
    '  msg := sprintf("stringData %s=%v", [k, v])\n}\n'
    'deny contains msg if {\n  input.request.object.kind == "Secret"\n'
    '  msg := sprintf("seen %v", [json.marshal(input)])\n}\n'
)
FAILING = (
    "package q\nimport rego.v1\ndeny contains msg if {\n"
    "  x := input.request.object.metadata.annotations[_]\n  msg := to_number(x)\n}"
)


def test_secret_values_never_reach_a_message_or_an_error(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(policy(QUOTING))
    (tmp_path / "q.yaml").write_text(
        policy(FAILING).replace("ACME900", "ACME901").replace("name: p}", "name: q}")
    )
    last_applied = json.dumps({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
                               "stringData": {"password": "hunter2-in-annotation"}})  # fmt: skip
    (tmp_path / "s.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: shop\n"
        f"  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{last_applied}'\n"
        "data: {token: aHVudGVyMi1iYXNlNjQ=}\nstringData: {password: hunter2-plain}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n"
        "data: {colour: blue}\n"
    )
    run = kubeward("scan", "s.yaml", "--policies", "p.yaml", "--policies", "q.yaml",
                   "--select", "ACME", "-f", "json", cwd=tmp_path)  # fmt: skip
    report = json.loads(run.stdout)
    shown = run.stdout + run.stderr
    for value in ("hunter2", "aHVudGVyMi1iYXNlNjQ=", "aHVudGVy"):
        assert value not in shown, value  # (a last-applied copy keeps its keys, not its values)
    (error,) = report["errors"]  # to_number on the redacted annotation fails: details withheld
    assert "details withheld for a Secret" in error["message"]
    assert any(f["message"].startswith("seen ") for f in report["findings"])
    assert {f["message"] for f in report["findings"]} >= {
        "data colour=blue",  # not a Secret
        f"data token={REDACTED_BASE64}",  # a Secret: its keys, each with the marker
        f"stringData password={REDACTED}",
    }


def test_secret_values_never_reach_the_webhook_answer(tmp_path: Path) -> None:
    rule = rule_of(tmp_path, policy(QUOTING))
    reviewer = Reviewer(
        [rule], EngineSettings(), AdmissionSettings(allow_existing_violations=False)
    )
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "shop"},
              "data": {"token": "aHVudGVyMg=="}, "stringData": {"password": "hunter2"}}  # fmt: skip
    body = review(secret, "UPDATE", oldObject={**secret, "data": {"old": "b2xkLXNlY3JldA=="}})
    request = parse(body)
    answer = json.dumps(response(request, reviewer.decide(request)))
    assert "ACME900" in answer  # the json.marshal(input) message: denied, and no value in it
    for value in ("aHVudGVyMg==", "hunter2", "b2xkLXNlY3JldA==", "aHVudGVy", "b2xkLXNlY3Jl"):
        assert value not in answer, value
    assert f"data token={REDACTED_BASE64}" in answer  # the keys are there, not the values
    assert '\\"old\\":\\"' + REDACTED_BASE64 in answer  # the old object's keys too


def test_the_webhook_denies_with_the_rule_id() -> None:
    loaded = load_policies([POLICIES], TAKEN)
    reviewer = Reviewer(loaded.rules, EngineSettings(), AdmissionSettings())
    client = Client(create_app(reviewer))
    pod: dict[str, Any] = {"apiVersion": "v1", "kind": "Pod",
                           "metadata": {"name": "web", "namespace": "shop"},
                           "spec": {"containers": [{"name": "a", "image": "nginx"}]}}  # fmt: skip
    reply = client.post("/validate", review(pod))
    assert reply.status_code == 200
    answer = reply.json()["response"]
    assert answer["allowed"] is False and answer["status"]["code"] == 403
    assert ("ACME100 registry-example: image nginx is not from registry.example"
            in answer["status"]["message"])  # fmt: skip
    fine = {**pod, "metadata": {**pod["metadata"], "labels": {"team": "shop"}},
            "spec": {"containers": [{"name": "a", "image": "registry.example/web:1"}]}}  # fmt: skip
    assert client.post("/validate", review(fine)).json()["response"]["allowed"] is True


def test_rego_reads_the_admission_request() -> None:
    loaded = load_policies([POLICIES], TAKEN)
    reviewer = Reviewer(loaded.rules, EngineSettings(), AdmissionSettings())
    old: dict[str, Any] = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "api", "namespace": "shop", "labels": {"team": "t"}},
           "spec": {"selector": {"matchLabels": {"app": "a"}}, "template": {"spec": {"containers": []}}}}  # fmt: skip
    new = {**old, "spec": {**old["spec"], "selector": {"matchLabels": {"app": "b"}}}}

    def decide(body: bytes) -> dict[str, Any]:
        request = parse(body)
        return response(request, reviewer.decide(request))["response"]  # type: ignore[no-any-return]

    changed = decide(review(new, "UPDATE", oldObject=old))
    assert "ACME102 immutable-selector: spec.selector cannot change" in changed["status"]["message"]
    assert decide(review(new, "UPDATE", oldObject=new))["allowed"] is True
    assert decide(review(new))["allowed"] is True  # CREATE: nothing before it
    anonymous = decide(review(new, userInfo={"username": "system:anonymous"}))
    assert "system:anonymous may not create api" in anonymous["status"]["message"]
    # a scan judges the object as if created, by nobody
    obj = K8sObject(new, UNLOCATED)
    assert not evaluate(Inventory([obj]), loaded.rules, EngineSettings()).findings


def test_policy_test_command_runs_rego_cases(tmp_path: Path) -> None:
    run = kubeward("policy", "test", str(POLICIES))
    assert run.code == 0, run.stdout + run.stderr
    assert "8 passed, 0 failed" in run.stdout
    (tmp_path / "p.yaml").write_text(policy("package p\nimport rego.v1\ndeny if input.request.operation == \"DELETE\""))  # fmt: skip
    (tmp_path / "p_test.yaml").write_text(
        "apiVersion: kubeward.io/v1alpha1\nkind: PolicyTest\nmetadata: {name: t}\nspec:\n  cases:\n"
        "    - {name: delete, rule: ACME900, expect: fail, object: {kind: Pod}, request: {operation: DELETE}}\n"
        "    - {name: wrong, rule: ACME900, expect: fail, object: {kind: Pod}}\n"
        "    - {name: bad request, rule: ACME900, expect: pass, object: {kind: Pod}, request: [1]}\n"
    )
    run = kubeward("policy", "test", str(tmp_path), "-f", "json")
    report = json.loads(run.stdout)
    cases = {c["name"]: c for c in report["cases"]}
    assert cases["delete"]["ok"] is True
    assert (cases["wrong"]["ok"], cases["wrong"]["actual"]) == (False, "pass")
    assert "request: an AdmissionReview request" in report["problems"][0]["message"]
    assert run.code == 2


def test_export_vap_names_rego_policies_as_not_exported() -> None:
    loaded = load_policies([POLICIES], TAKEN)
    objects, skipped = export(loaded.rules, AdmissionSettings(), custom=loaded.definitions)
    assert not objects
    reasons = {rule.id: why for rule, why in skipped}
    assert sorted(reasons) == ["ACME100", "ACME101", "ACME102", "ACME103", "ACME104"]
    assert all("Rego policy" in why and "webhook" in why for why in reasons.values())
    run = kubeward("admission", "export-vap", "--policies", str(POLICIES))
    assert run.code == 0, run.stderr
    assert "#   ACME100 registry-example: a Rego policy" in run.stdout


def test_print_output_stays_in_the_sandbox(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(policy(
        "package p\nimport rego.v1\ndeny if {\n  print(\"PRINTED\", input.request.object)\n  false\n}"))  # fmt: skip
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    run = kubeward("scan", "app.yaml", "--policies", "p.yaml", "--select", "ACME", cwd=tmp_path)
    assert run.code == 0, run.stdout + run.stderr
    assert "PRINTED" not in run.stdout + run.stderr


def test_unencodable_objects_are_error_results(tmp_path: Path) -> None:
    rule = rule_of(tmp_path, policy("package p\nimport rego.v1\ndeny if input.request.object.x"))
    with pytest.raises(PolicyRuntimeError, match="cannot be given to Rego"):
        judge(rule, {"apiVersion": "v1", "kind": "Pod", "x": 2**70})
    assert orjson.dumps({"k": 1})  # orjson is what refuses it (integers beyond 64 bits)


TEMPLATE = """\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata: {name: k8srequiredlabels}
spec:
  crd: {spec: {names: {kind: K8sRequiredLabels}}}
  targets:
    - target: admission.k8s.gatekeeper.sh
      code:
        - engine: K8sNativeValidation
          source: {validations: [{expression: "true"}]}
        - engine: Rego
          source:
            version: v1
            rego: |
              package k8srequiredlabels
              import rego.v1
              violation contains {"msg": msg} if {
                some label in input.parameters.labels
                not input.review.object.metadata.labels[label]
                msg := sprintf("label %s is missing", [label])
              }
"""
CONSTRAINT = """\
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sRequiredLabels
metadata:
  name: need-owner
  annotations: {kubeward.io/id: ACME950}
spec:
  parameters: {labels: [owner]}
"""


def test_gatekeeper_code_entries_and_constraints_without_match(tmp_path: Path) -> None:
    (tmp_path / "gk.yaml").write_text(TEMPLATE + CONSTRAINT)
    loaded = load_policies([tmp_path], TAKEN)
    assert not loaded.problems, loaded.problems
    (rule,) = loaded.rules
    assert rule.target.every_kind and rule.severity.value == "medium"
    assert judge(rule, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}) == [
        "label owner is missing"]  # fmt: skip


@pytest.mark.parametrize(
    ("constraint", "line", "fragment"),
    [
        (CONSTRAINT.replace("  annotations: {kubeward.io/id: ACME950}\n", ""), 25,
         "add the annotation kubeward.io/id"),
        (CONSTRAINT.replace("ACME950", "lower1"), 27, "kubeward.io/id 'lower1'"),
        (CONSTRAINT.replace("kind: K8sRequiredLabels", "kind: K8sUnknown"), 24,
         "no ConstraintTemplate defines kind 'K8sUnknown'"),
        (CONSTRAINT + "  match: {namespaceSelector: {matchLabels: {a: b}}}\n", 30,
         "spec.match.namespaceSelector is not supported"),
        (CONSTRAINT + "  match: {excludedNamespace: [a]}\n", 30,
         "spec.match.excludedNamespace: not a field of Gatekeeper's match"),
        (CONSTRAINT + "  match: {scope: cluster}\n", 30, "spec.match.scope 'cluster': one of"),
        (CONSTRAINT + "  match:\n    kinds:\n      - {apiGroups: [apps], kinds: [deployment]}\n",
         32, "did you mean 'Deployment'?"),
        (CONSTRAINT + "  match:\n    labelSelector:\n      matchExpressions:\n"
         "        - {key: a, operator: In}\n", 33, "matchExpressions[0]: {key, operator"),
        (CONSTRAINT + "  match: {labelSelector: {matchLabels: {a: 1}}}\n", 30,
         "matchLabels: a mapping of label names to strings"),
        (CONSTRAINT.replace("name: need-owner", "name: Need.Owner"), 26, "kebab-case"),
    ],
)  # fmt: skip
def test_gatekeeper_problems_name_file_and_line(
    tmp_path: Path, constraint: str, line: int, fragment: str
) -> None:
    (tmp_path / "gk.yaml").write_text(TEMPLATE + constraint)
    loaded = load_policies([tmp_path], TAKEN)
    (problem,) = loaded.problems
    assert (problem.line, fragment in problem.message) == (line, True), problem


def _object(kind: str, name: str, namespace: str | None = None, **labels: str) -> dict[str, Any]:
    api = {"Namespace": "v1", "ClusterRole": "rbac.authorization.k8s.io/v1"}.get(kind, "apps/v1")
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": api, "kind": kind, "metadata": meta}


GK_OBJECTS = {
    "Namespace/other": _object("Namespace", "other"),
    "Namespace/shop": _object("Namespace", "shop"),
    "ClusterRole/cr": _object("ClusterRole", "cr"),
    "Deployment/other/web-1": _object("Deployment", "web-1", "other"),
    "Deployment/shop/api": _object("Deployment", "api", "shop", app="api"),
    "Deployment/(none)/loose": _object("Deployment", "loose"),
}


@pytest.mark.parametrize(
    ("match", "judged"),
    [
        # a Namespace is matched by its own name (Gatekeeper's namespacesMatch)
        ("{excludedNamespaces: [other]}",
         ["ClusterRole/cr", "Deployment/(none)/loose", "Deployment/shop/api", "Namespace/shop"]),
        # cluster-scoped objects other than a Namespace are not filtered by namespaces
        ("{kinds: [{apiGroups: ['*'], kinds: [Namespace, ClusterRole]}], namespaces: [other]}",
         ["ClusterRole/cr", "Namespace/other"]),
        ("{namespaces: ['*er']}", ["ClusterRole/cr", "Deployment/other/web-1", "Namespace/other"]),
        # a manifest without a namespace lands in default, as rule N001 reads it
        ("{excludedNamespaces: [default]}", [o for o in GK_OBJECTS if o != "Deployment/(none)/loose"]),
        ("{namespaces: [default]}", ["ClusterRole/cr", "Deployment/(none)/loose"]),
        ("{scope: Cluster}", ["ClusterRole/cr", "Namespace/other", "Namespace/shop"]),
        ("{scope: Namespaced}",
         ["Deployment/(none)/loose", "Deployment/other/web-1", "Deployment/shop/api"]),
        ("{name: 'web-*'}", ["Deployment/other/web-1"]),
        ("{labelSelector: {matchExpressions: [{key: app, operator: In, values: [api]}]}}",
         ["Deployment/shop/api"]),
        ("{labelSelector: {matchExpressions: [{key: app, operator: DoesNotExist}]}, "
         "kinds: [{kinds: [Deployment]}]}",
         ["Deployment/(none)/loose", "Deployment/other/web-1"]),
    ],
)  # fmt: skip
def test_gatekeeper_match_selects_as_gatekeeper_does(
    tmp_path: Path, match: str, judged: list[str]
) -> None:
    rule = rule_of(tmp_path, TEMPLATE + CONSTRAINT + f"  match: {match}\n", "gk.yaml")
    flagged = [
        name
        for name, raw in GK_OBJECTS.items()
        if rule.target.matches(obj := K8sObject(raw, UNLOCATED))
        and list(rule.run_object(obj, RuleParams()))
    ]
    assert sorted(flagged) == sorted(judged)


def test_gatekeeper_match_takes_the_deploy_namespace(tmp_path: Path) -> None:
    rule = rule_of(tmp_path, TEMPLATE + CONSTRAINT + "  match: {excludedNamespaces: [default]}\n")
    raw = GK_OBJECTS["Deployment/(none)/loose"]
    assert list(rule.run_object(K8sObject(raw, UNLOCATED, deploy_namespace="shop"), RuleParams()))
    assert not list(rule.run_object(K8sObject(raw, UNLOCATED), RuleParams()))


SCHEMA = """\
  crd:
    spec:
      names: {kind: K8sRequiredLabels}
      validation:
        openAPIV3Schema:
          type: object
          properties:
            labels: {type: array, items: {type: string}}
"""


def _line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


@pytest.mark.parametrize(
    ("parameters", "bad", "fragment"),
    [
        ("{labels: [{key: owner}]}", "{key: owner}",
         "spec.parameters.labels[0]: an object where the schema wants a string"),
        ("{labels: owner}", "labels: owner",
         "spec.parameters.labels: a string where the schema wants an array"),
        ("{label: [owner]}", "label: [owner]",
         "spec.parameters.label: a field the schema does not define (known: labels)"),
    ],
)  # fmt: skip
def test_gatekeeper_parameters_are_checked_against_the_template_schema(
    tmp_path: Path, parameters: str, bad: str, fragment: str
) -> None:
    text = TEMPLATE.replace("  crd: {spec: {names: {kind: K8sRequiredLabels}}}\n", SCHEMA)
    text += CONSTRAINT.replace("{labels: [owner]}", "\n    " + parameters)
    (tmp_path / "gk.yaml").write_text(text)
    loaded = load_policies([tmp_path], TAKEN)
    (problem,) = loaded.problems
    assert fragment in problem.message, problem
    assert f"gk.yaml:{_line_of(text, 'openAPIV3Schema')})" in problem.message
    assert problem.line == _line_of(text, bad) and not loaded.rules


def test_gatekeeper_legacy_schemas_keep_unknown_parameters(tmp_path: Path) -> None:
    text = TEMPLATE.replace("  crd: {spec: {names: {kind: K8sRequiredLabels}}}\n", SCHEMA)
    text = text.replace("templates.gatekeeper.sh/v1", "templates.gatekeeper.sh/v1beta1")
    (tmp_path / "gk.yaml").write_text(text + CONSTRAINT.replace("[owner]", "[owner], extra: 1"))
    assert not load_policies([tmp_path], TAKEN).problems
    (tmp_path / "gk.yaml").write_text(text + CONSTRAINT.replace("[owner]", "[1]"))
    (problem,) = load_policies([tmp_path], TAKEN).problems
    assert (
        "spec.parameters.labels[0]: an integer where the schema wants a string" in problem.message
    )


def test_gatekeeper_a_malformed_schema_is_reported_with_the_template(tmp_path: Path) -> None:
    text = TEMPLATE.replace("  crd: {spec: {names: {kind: K8sRequiredLabels}}}\n", SCHEMA)
    text = text.replace("items: {type: string}", "items: string")
    (tmp_path / "gk.yaml").write_text(text + CONSTRAINT)
    template, constraint = load_policies([tmp_path], TAKEN).problems
    assert template.line == _line_of(text, "labels: {type: array")
    assert "openAPIV3Schema.properties.labels.items: a schema is a mapping" in template.message
    assert "has an invalid openAPIV3Schema" in constraint.message


def test_a_broken_template_is_reported_once_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "gk.yaml").write_text(
        TEMPLATE.replace("not input.review.object", "not input.review.object +") + CONSTRAINT
    )
    loaded = load_policies([tmp_path], TAKEN)
    template, constraint = loaded.problems
    assert template.line == 19 and "Rego:" in template.message, template
    assert "does not compile" in constraint.message


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("package p\ndeny if input.request.object", ("request",)),
        ("package p\ndeny if input . review.object\nx := input.parameters.a", ("review", "parameters")),
        ("package p\ndeny if walk(input, [_, v])", ("request", "review", "parameters")),
        ("package p\n# input is the review\ndeny if input.review", ("request", "review", "parameters")),
        ("package p\ndeny if input[\"review\"]", ("request", "review", "parameters")),
        ("package p\ndeny if my_input.request", ()),
    ],
)  # fmt: skip
def test_only_the_input_a_policy_names_is_sent(text: str, keys: tuple[str, ...]) -> None:
    assert rego._input_keys([rego.RegoModule("x.rego", 1, text)]) == keys


def test_a_policy_that_exhausts_its_memory_is_an_error_result(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(policy(
        "package p\nimport rego.v1\ndeny if {\n  input.request.object.spec\n"
        "  count(numbers.range(1, 1000000000)) > 0\n}"))  # fmt: skip
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    # a cap just above what the sandbox maps at start, so memory runs out before the time limit
    rule_of(tmp_path, policy("package q\nimport rego.v1\ndeny if input.request"), "q.yaml")
    process = sandbox()._process
    assert process is not None
    status = Path(f"/proc/{process.pid}/status")
    if not status.exists():
        pytest.skip("needs /proc to size the cap")
    mapped = next(int(line.split()[1]) for line in status.read_text().splitlines()
                  if line.startswith("VmSize:")) // 1024  # fmt: skip
    run = kubeward("scan", "app.yaml", "--policies", "p.yaml", "--select", "ACME", "-f", "json",
                   cwd=tmp_path, env={"KUBEWARD_REGO_MEMORY_LIMIT_MB": str(mapped + 250)})  # fmt: skip
    errors = json.loads(run.stdout)["errors"]
    assert errors and all("sandbox died during the evaluation" in e["message"] for e in errors)


def test_in_process_evaluation_gives_the_same_findings(tmp_path: Path) -> None:
    (tmp_path / "app.yaml").write_text(MANIFESTS)
    runs = [kubeward("scan", "app.yaml", "--policies", str(POLICIES), "--select", "ACME1",
                     "-f", "json", cwd=tmp_path, env={"KUBEWARD_REGO_IN_PROCESS": flag})
            for flag in ("0", "1")]  # fmt: skip
    sandboxed, in_process = ([(f["ruleId"], f["message"]) for f in json.loads(r.stdout)["findings"]]
                             for r in runs)  # fmt: skip
    assert sandboxed == in_process and len(sandboxed) == 4


def several(tmp_path: Path, *texts: str) -> list[Any]:
    """One rule per Rego text: ACME900, ACME901, … (packages p0, p1, …)."""
    rules = []
    for i, text in enumerate(texts):
        document_ = policy(text.replace("package p", f"package p{i}"))
        document_ = document_.replace("ACME900", f"ACME9{i:02}").replace(
            "name: p}", f"name: p{i}}}"
        )
        rules.append(rule_of(tmp_path, document_, f"p{i}.yaml"))
    return rules


JUDGING = (
    "package p\nimport rego.v1\ndeny contains msg if {\n"
    "  some c in input.request.object.spec.containers\n"
    '  msg := sprintf("container %s", [c.name])\n}'
)
DENYING = 'package p\nimport rego.v1\ndeny if input.request.operation == "CREATE"'
LOOPING = (
    'package p\nimport rego.v1\ndeny contains "x" if {\n'
    "  some c in input.request.object.spec.containers\n"
    "  some i in numbers.range(1, 100000)\n  some j in numbers.range(1, 100000)\n"
    "  i == j + 1000000\n}"
)
POD: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w", "namespace": "shop",
                                                   "annotations": {"n": "not a number"}},
    "spec": {"containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]},
}  # fmt: skip


def decided(rules: list[Any], obj: dict[str, Any], *, ahead: bool = True) -> tuple[Any, ...]:
    """(allowed, denied (rule, message), errors) of the webhook on a CREATE of ``obj``."""
    reviewer = Reviewer(rules, EngineSettings(), AdmissionSettings())
    if not ahead:
        reviewer.rego_rules = ()
    verdict = reviewer.decide(parse(review(obj)))
    return verdict.allowed, sorted((f.rule_id, f.message) for f in verdict.denied), verdict.errors


def test_policies_sent_ahead_judge_as_one_by_one(tmp_path: Path) -> None:
    rules = several(tmp_path, JUDGING, FAILING, DENYING, QUOTING)
    assert len(rules[0].check.program.inputs) == 1  # JUDGING and DENYING share one encoding
    one_by_one = decided(rules, POD, ahead=False)
    assert decided(rules, POD) == one_by_one
    allowed, denied, errors = one_by_one
    assert (
        not allowed and ("ACME900", "container b") in denied and ("ACME902", "The title") in denied
    )
    (error,) = errors  # the failing one is an error, with its file and line; the others judge
    assert "ACME901" in error and "p1.yaml:15: could not parse string as number" in error, error


def test_a_policy_sent_ahead_is_still_stopped_at_its_time_limit(
    tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setattr(rego, "EVALUATION_TIMEOUT", 0.5)
    rules = several(tmp_path, JUDGING, LOOPING, DENYING)
    started = time.monotonic()
    allowed, denied, errors = decided(rules, POD)
    assert time.monotonic() - started < 5
    (error,) = errors
    assert "ACME901" in error and "exceeded 0.5 s and was stopped" in error
    # the ones after it in the queue were lost with the sandbox: evaluated again, in a new one
    assert ("ACME900", "container a") in denied and ("ACME902", "The title") in denied
    assert not allowed
    assert decided(rules[:1], POD) == (False, [("ACME900", "container a"),
                                               ("ACME900", "container b")], [])  # fmt: skip


def test_a_policy_sent_ahead_that_exhausts_memory_costs_only_its_verdict(
    tmp_path: Path, monkeypatch: Any
) -> None:
    rules = several(tmp_path, JUDGING, "package p\nimport rego.v1\ndeny if {\n"
                    "  input.request.object.spec\n  count(numbers.range(1, 1000000000)) > 0\n}",
                    DENYING)  # fmt: skip
    process = sandbox()._process
    status = Path(f"/proc/{process.pid}/status") if process is not None else Path("/nonexistent")
    if not status.exists():
        pytest.skip("needs /proc to size the cap")
    mapped = next(int(line.split()[1]) for line in status.read_text().splitlines()
                  if line.startswith("VmSize:")) // 1024  # fmt: skip
    sandbox().close()
    monkeypatch.setenv("KUBEWARD_REGO_MEMORY_LIMIT_MB", str(mapped + 250))
    _, denied, errors = decided(rules, POD)
    (error,) = errors
    assert "ACME901" in error and ("sandbox died" in error or "exceeded" in error), error
    assert ("ACME900", "container a") in denied and ("ACME902", "The title") in denied
    sandbox().close()  # the next test's sandbox gets the usual cap


def test_large_inputs_sent_ahead_do_not_block_on_a_full_pipe(tmp_path: Path) -> None:
    rules = several(tmp_path, *(
        f"package p\nimport rego.v1\ndeny contains msg if {{\n"
        f"  v := input.request.object.data.big\n  msg := sprintf(\"{i}: %d\", [count(v)])\n}}"
        for i in range(4)))  # fmt: skip
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                  "data": {"big": "x" * 300_000}}  # fmt: skip
    assert decided(rules, config_map) == (
        False, [(f"ACME90{i}", f"{i}: 300000") for i in range(4)], [])  # fmt: skip


def test_answers_nobody_takes_are_read_before_the_next_evaluation(tmp_path: Path) -> None:
    first, second = several(tmp_path, JUDGING, DENYING)
    obj = K8sObject(POD, UNLOCATED)
    with rego_policies.judged_ahead([first, second], obj):
        assert judge(first, POD) == ["container a", "container b"]  # second's answer left unread
    assert judge(second, POD) == ["The title"]
    assert not sandbox()._waiting and not sandbox()._incoming


def test_a_policy_whose_preparation_fails_is_judged_on_its_turn(
    tmp_path: Path, monkeypatch: Any
) -> None:
    rules = several(tmp_path, JUDGING, DENYING)

    def broken(*_: Any) -> bytes:
        raise RuntimeError("an encoder bug")

    monkeypatch.setattr(rego_policies, "encode", broken)  # nothing goes ahead: one by one
    assert decided(rules, POD) == decided(rules, POD, ahead=False)
    allowed, denied, errors = decided(rules, POD)
    assert not allowed and not errors and ("ACME901", "The title") in denied
