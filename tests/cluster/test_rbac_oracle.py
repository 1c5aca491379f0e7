"""kubeward's RBAC answers against the API server's: SubjectAccessReview as the oracle.

Random Roles, ClusterRoles (some aggregated), RoleBindings and ClusterRoleBindings are applied
to the real kube-apiserver; then thousands of random questions — user, groups, verb, group,
resource, subresource, namespace, name, or a non-resource path — are put both to kubeward's
engine (fed the objects read back from the cluster, bootstrap policy included) and to
SubjectAccessReview. Zero mismatches are allowed; a mismatch prints the question and the
bindings and roles that could concern it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubeward.cluster import kubeconfig, live
from kubeward.cluster.client import ApiClient
from kubeward.rbac.objects import policy_from, role_from
from kubeward.rbac.policy import Policy, Request, User, aggregate
from kubeward.rbac.queries import Holder, preset_requests, who_can
from tests.rbac_generator import NAMESPACES, Question, RbacGenerator
from tests.testcluster import ClusterError, TestCluster

QUESTIONS = 6000
RBAC_KINDS = [k for k in live.CATALOG_KINDS if k.group == "rbac.authorization.k8s.io"]


def apply_generated(cluster: TestCluster, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Apply one by one; the API server refuses some shapes (kept out, like kubeward does)."""
    accepted = []
    for obj in objects:
        try:
            cluster.apply([obj])
        except ClusterError:
            continue
        accepted.append(obj)
    return accepted


def read_policy(cluster: TestCluster) -> tuple[Policy, list[Any]]:
    with ApiClient(kubeconfig.load(str(cluster.kubeconfig))) as client:
        objects = live.read(client, kinds=RBAC_KINDS).objects
    return policy_from(objects, aggregate_roles=False), objects


def wait_for_aggregation(cluster: TestCluster, expected: dict[str, Any]) -> None:
    """Until the controller manager has aggregated like kubeward's ``aggregate`` (or 60 s)."""
    deadline = time.monotonic() + 60
    while True:
        _, objects = read_policy(cluster)
        stored = {}
        for obj in objects:
            role = role_from(obj)
            if role is not None and obj.kind == "ClusterRole":
                stored[obj.name] = role.rules
        differing = [name for name, rules in expected.items() if stored.get(name) != rules]
        if not differing:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"aggregation differs for {differing}")
        time.sleep(0.5)


def ask(cluster: TestCluster, questions: list[Question]) -> list[bool]:
    def one(question: Question) -> bool:
        with cluster.client() as api:
            response = api.post(
                "/apis/authorization.k8s.io/v1/subjectaccessreviews", json=question.review()
            )
        response.raise_for_status()
        return bool(response.json()["status"].get("allowed"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, questions))


def request_of(question: Question) -> Request:
    return Request(
        verb=question.verb, resource=question.resource, subresource=question.subresource,
        api_group=question.api_group, namespace=question.namespace, name=question.name,
        path=question.path,
    )  # fmt: skip


def explain(question: Question, policy: Policy) -> str:
    user = User(question.user, frozenset(question.groups))
    lines = [f"question: {question}"]
    for binding in policy.bindings_for(question.namespace):
        subjects = [s for s in binding.subjects if s.applies_to(user, binding.namespace)]
        if not subjects:
            continue
        role = policy.role_for(binding)
        lines.append(f"  {binding} -> {role}")
    return "\n".join(lines)


def test_answers_match_subject_access_review(cluster: TestCluster) -> None:
    generator = RbacGenerator(seed=20261127)
    manifests = generator.objects()
    accepted = apply_generated(cluster, manifests)
    assert len(accepted) > 80  # most generated objects are valid

    # aggregation computed from the manifests == what kube-controller-manager stored
    generated_roles = [r for r in (role_from(o) for o in _objects(accepted)) if r is not None]
    bootstrap_sources = [
        r
        for r in (role_from(o) for o in read_policy(cluster)[1])
        if r is not None and r.aggregation is None
    ]
    computed = {
        r.name: r.rules
        for r in aggregate([*bootstrap_sources, *generated_roles])
        if r.aggregation is not None and r.name.startswith("gen-")
    }
    wait_for_aggregation(cluster, computed)

    policy, _ = read_policy(cluster)
    questions = [generator.question() for _ in range(QUESTIONS)]
    oracle = ask(cluster, questions)
    mismatches = [
        (q, expected)
        for q, expected in zip(questions, oracle, strict=True)
        if policy.allowed(User(q.user, frozenset(q.groups)), request_of(q)) != expected
    ]
    assert sum(oracle) > QUESTIONS // 20, "too few allowed answers: the test would prove little"
    assert not mismatches, "\n\n".join(
        f"API server says {'allowed' if expected else 'denied'}\n{explain(q, policy)}"
        for q, expected in mismatches[:5]
    )


def test_who_can_matches_subject_access_review(cluster: TestCluster) -> None:
    generator = RbacGenerator(seed=7)
    apply_generated(cluster, generator.objects(roles=20, bindings=30))
    policy, _ = read_policy(cluster)
    identities = [generator.identity() for _ in range(25)]
    checked = 0
    for _ in range(60):
        template = generator.question()
        request = request_of(template)
        grants = policy.who_can(request)
        questions = [
            Question(user, groups, template.verb, template.api_group, template.resource,
                     template.subresource, template.namespace, template.name, template.path)
            for user, groups in identities
        ]  # fmt: skip
        for question, allowed in zip(questions, ask(cluster, questions), strict=True):
            user = User(question.user, frozenset(question.groups))
            named = any(g.subject.applies_to(user, g.binding.namespace) for g in grants)
            assert named == allowed, explain(question, policy)
            checked += 1
    assert checked == 60 * 25


def test_presets_match_subject_access_review(cluster: TestCluster) -> None:
    """The `secrets` and `exec` presets: every subject listed is allowed by the API server
    (no false positives), and every identity the API server allows is listed (none missed)."""
    generator = RbacGenerator(seed=11)
    apply_generated(cluster, generator.objects(roles=24, bindings=40))
    policy, _ = read_policy(cluster)
    identities = [generator.identity() for _ in range(30)]
    requests = [*preset_requests("secrets", NAMESPACES), *preset_requests("exec", NAMESPACES)]
    listed_total = 0
    for request in requests:
        holders = [h for h in who_can(policy, request) if not h.via_group]
        listed = [(identity_of(h), h) for h in holders]
        pool = [*identities, *(i for i, _ in listed)]
        questions = [
            Question(user, groups, request.verb, request.api_group, request.resource,
                     request.subresource, request.namespace, request.name, request.path)
            for user, groups in pool
        ]  # fmt: skip
        verdicts = ask(cluster, questions)
        for (user, groups), allowed in zip(pool[: len(identities)], verdicts, strict=False):
            named = any(
                g.subject.applies_to(User(user, frozenset(groups)), g.binding.namespace)
                for g in policy.who_can(request)
            )
            assert named == allowed, (request.describe(), user, groups)
        for (_, holder), allowed in zip(listed, verdicts[len(identities) :], strict=True):
            assert allowed, f"{request.describe()}: {holder.label()} listed, API server denies"
        listed_total += len(listed)
    assert listed_total > len(requests), "the presets found too few holders to prove much"


def identity_of(holder: Holder) -> tuple[str, tuple[str, ...]]:
    """The identity a who-can answer stands for (a group: someone holding only that group)."""
    if holder.kind == "ServiceAccount":
        groups = ("system:serviceaccounts", f"system:serviceaccounts:{holder.namespace}")
        return f"system:serviceaccount:{holder.namespace}:{holder.name}", groups
    if holder.kind == "Group":
        return "kubeward-probe", (holder.name,)
    return holder.name, ()


def _objects(manifests: list[dict[str, Any]]) -> list[Any]:
    from kubeward.model import K8sObject
    from kubeward.sources.manifests import DocumentOrigin, FixedLocator

    origin = DocumentOrigin(None, None, FixedLocator(None))
    return [K8sObject(m, origin) for m in manifests]
