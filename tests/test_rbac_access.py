"""Access policies (``rbacPolicies``, rule R027): parsing, errors with lines, the findings."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.config import load_config
from kubeward.errors import ConfigError
from kubeward.rbac.access import AccessPolicy, SubjectPattern
from kubeward.rbac.policy import Subject
from tests.conftest import scan_paths

FIXTURES = Path(__file__).parent / "rules" / "fixtures" / "R027"


@pytest.mark.parametrize(
    ("text", "subject", "binding_namespace", "expected"),
    [
        ("user:bob", Subject("User", "bob"), "", True),
        ("user:bob", Subject("Group", "bob"), "", False),
        ("group:platform-*", Subject("Group", "platform-admins"), "", True),
        ("sa:vault/vault", Subject("ServiceAccount", "vault", "vault"), "", True),
        ("sa:vault/vault", Subject("ServiceAccount", "vault", "prod"), "", False),
        # a RoleBinding's account without namespace lives in the binding's namespace
        ("sa:prod-*/backup-*", Subject("ServiceAccount", "backup-1"), "prod-eu", True),
        (
            "system:serviceaccount:ci:deployer",
            Subject("ServiceAccount", "deployer", "ci"),
            "",
            True,
        ),
        ("user:*", Subject("User", "system:anonymous"), "", True),
    ],
)
def test_subject_patterns(
    text: str, subject: Subject, binding_namespace: str, expected: bool
) -> None:
    assert SubjectPattern.parse(text).matches(subject, binding_namespace) is expected


@pytest.mark.parametrize("text", ["bob", "robot:x", "sa:ns", "sa:/name", "group:"])
def test_bad_subject_patterns(text: str) -> None:
    with pytest.raises(ValueError, match=r"expected|service account"):
        SubjectPattern.parse(text)


def test_namespace_scope() -> None:
    policy = AccessPolicy("p", ("get",), (("", "secrets"),), (), namespaces=("prod-*",))
    assert policy.covers_namespace("prod-eu")
    assert not policy.covers_namespace("staging")
    assert policy.covers_namespace("")  # a ClusterRoleBinding reaches every namespace
    assert AccessPolicy("p", ("get",), (("", "secrets"),), ()).covers_namespace("staging")


def test_config_parses_policies() -> None:
    config = load_config(FIXTURES / "kubeward.yaml")
    first, second = config.params.rbac_policies
    assert first.name == "prod-secrets"
    assert first.verbs == ("get", "list", "watch")
    assert first.resources == (("", "secrets"),)
    assert [p.text for p in first.allowed] == [
        "group:platform-admins", "sa:vault/vault", "sa:prod-*/backup-*"
    ]  # fmt: skip
    assert second.resources == (("", "pods/exec"),)
    assert second.namespaces == ()


def test_config_error_names_the_line(tmp_path: Path) -> None:
    config = tmp_path / "kubeward.yaml"
    config.write_text(
        "rbacPolicies:\n"
        "  - name: a\n"
        "    verbs: [get]\n"
        "    resources: [secrets]\n"
        "    allowedSubjects:\n"
        "      - group:ok\n"
        "      - alice\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert raised.value.line == 7
    assert "rbacPolicies[0].allowedSubjects[1]" in str(raised.value)
    config.write_text(
        "rbacPolicies:\n"
        "  - {name: a, verbs: [get], resources: [secrets]}\n"
        "  - {name: a, verbs: [get], resources: [pods/exec]}\n"
    )
    with pytest.raises(ConfigError, match="another policy is named 'a'") as raised:
        load_config(config)
    assert raised.value.line == 3


def test_findings_name_subject_place_role_and_policy() -> None:
    config = load_config(FIXTURES / "kubeward.yaml")
    result = scan_paths([FIXTURES / "fail.yaml"], config=config, select=("R027",))
    messages = sorted(f.message for f in result.findings)
    assert len(messages) == 7, messages
    assert (
        'User bob can list secrets in namespace "prod-eu" (via ClusterRole secret-reader): '
        'access policy "prod-secrets" allows only group:platform-admins, sa:vault/vault, '
        "sa:prod-*/backup-* in prod-* (production credentials are read by Vault only)"
    ) in messages
    carol = [m for m in messages if m.startswith("User carol ")]
    assert len(carol) == 2  # cluster-admin breaks both policies
    assert (
        'User dave can create pods/exec in namespace "dev" (via Role shell): '
        'access policy "exec" allows only group:sre'
    ) in messages
    # the built-in `edit` reads secrets and execs: a ClusterRoleBinding reaches prod-* too
    assert sum(m.startswith("Group developers can ") for m in messages) == 2


def test_skipped_without_policies() -> None:
    result = scan_paths([FIXTURES / "fail.yaml"], select=("R027",))
    assert not result.findings
    (summary,) = [r for r in result.rules if r.id == "R027"]
    assert summary.skip_reasons == ["no rbacPolicies configured in kubeward.yaml"]


@pytest.mark.parametrize(
    ("text", "groups"),
    [
        ("alice", {"system:authenticated"}),
        ("system:anonymous", {"system:unauthenticated"}),  # never system:authenticated
        ("group:system:unauthenticated", {"system:unauthenticated"}),
        ("group:devs", {"devs", "system:authenticated"}),
    ],
)
def test_the_groups_the_api_server_adds(text: str, groups: set[str]) -> None:
    """As the API server authenticates: a request without credentials is system:anonymous in
    system:unauthenticated (a grant to system:authenticated does not reach it)."""
    from kubeward.rbac.queries import parse_subject

    assert set(parse_subject(text).groups) == groups
