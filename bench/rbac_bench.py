"""Benchmark: the RBAC explorer at cluster scale, and kubectl-who-can side by side.

    python bench/rbac_bench.py               # everything (starts the test control plane)
    python bench/rbac_bench.py --no-peer     # the in-process timings only

The data is bench/rbac_corpus.py's seeded synthetic cluster: 5,000 Roles and ClusterRoles,
10,000 RoleBindings and ClusterRoleBindings over 2,000 subjects in 100 namespaces.

In process (best of several runs, after a warm-up):
  * building the index: the bundled default policy plus the corpus into a ``Policy``;
  * ``who-can`` on 500 random questions (verb, resource[/subresource], namespace, name);
  * all R-rules over the corpus (the scan's RBAC part).

Side by side (``kubectl-who-can`` 0.4.0, built from the Go module proxy by bench/peers/build.sh):
the corpus is applied to the test control plane, then both tools answer the same who-can
questions against it, each as a fresh process. Where their answers differ the API server
decides: a SubjectAccessReview for the subject says who is right.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from tests import testcluster  # noqa: E402

from kubeward.engine import evaluate  # noqa: E402
from kubeward.model import Inventory, K8sObject  # noqa: E402
from kubeward.rbac.objects import policy_from  # noqa: E402
from kubeward.rbac.policy import Request  # noqa: E402
from kubeward.rbac.queries import request_for, who_can  # noqa: E402
from kubeward.rules import ALL_RULES  # noqa: E402
from kubeward.sources.bootstrap import bootstrap_objects  # noqa: E402
from kubeward.sources.manifests import DocumentOrigin, FixedLocator  # noqa: E402
from rbac_corpus import generate  # noqa: E402

KUBE_VERSION = (1, 35)
ALL_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
QUESTION_TARGETS = {
    "pods": ALL_VERBS, "pods/exec": ("create", "get"), "pods/log": ("get",),
    "secrets": ALL_VERBS, "configmaps": ALL_VERBS, "services": ALL_VERBS,
    "serviceaccounts": ALL_VERBS, "serviceaccounts/token": ("create",),
    "deployments.apps": ALL_VERBS, "deployments.apps/scale": ("get", "update", "patch"),
    "statefulsets.apps": ALL_VERBS, "statefulsets.apps/scale": ("get", "update", "patch"),
    "daemonsets.apps": ALL_VERBS, "jobs.batch": ALL_VERBS,
    "ingresses.networking.k8s.io": ALL_VERBS, "roles.rbac.authorization.k8s.io": ALL_VERBS,
    "nodes": ALL_VERBS, "nodes/proxy": ("get", "create"), "persistentvolumes": ALL_VERBS,
}  # fmt: skip
"""What is asked, with the verbs each resource serves (kubectl-who-can refuses the others)."""
CLUSTER_SCOPED = ("nodes", "persistentvolumes")


def best(action: Callable[[], object], runs: int) -> tuple[float, object]:
    action()  # warm-up: imports, caches
    times, result = [], None
    for _ in range(runs):
        gc.collect()
        clock = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - clock)
    return min(times), result


def questions(count: int, seed: int) -> list[tuple[str, str, str, str]]:
    """(verb, target, namespace, name): namespaced targets asked in a team namespace."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        target = rng.choice(sorted(QUESTION_TARGETS))
        cluster_scoped = target.split("/")[0] in CLUSTER_SCOPED
        namespace = "" if cluster_scoped else f"team-{rng.randrange(100):03d}"
        name = f"obj-{rng.randrange(10)}" if rng.random() < 0.2 else ""
        out.append((rng.choice(QUESTION_TARGETS[target]), target, namespace, name))
    return out


def in_process(objects: list[K8sObject], runs: int) -> dict[str, Any]:
    defaults = list(bootstrap_objects(KUBE_VERSION))
    everything = [*defaults, *objects]
    index_s, policy = best(lambda: policy_from(everything), runs)
    accounts = sorted((o.namespace or "", o.name) for o in objects if o.kind == "ServiceAccount")
    asked = [request_for(*q) for q in questions(500, seed=3)]
    per_query, answers = [], 0
    for request in asked:
        clock = time.perf_counter()
        answers += len(who_can(policy, request, accounts))  # type: ignore[arg-type]
        per_query.append(time.perf_counter() - clock)
    rules = [r for r in ALL_RULES if r.id.startswith("R")]
    inventory = Inventory(objects, context=defaults)
    rules_s, evaluation = best(lambda: evaluate(inventory, rules), runs)
    findings = len(evaluation.findings)  # type: ignore[attr-defined]
    per_query.sort()
    return {
        "index_s": index_s,
        "who_can_mean_ms": statistics.mean(per_query) * 1000,
        "who_can_p95_ms": per_query[int(len(per_query) * 0.95)] * 1000,
        "who_can_max_ms": per_query[-1] * 1000,
        "who_can_answers": answers,
        "r_rules": len(rules),
        "r_rules_s": rules_s,
        "r_findings": findings,
    }


# ----- side by side on the test control plane -----


@dataclass(frozen=True)
class Who:
    kind: str  # User, Group, ServiceAccount
    name: str
    namespace: str = ""

    def label(self) -> str:
        return f"{self.kind} {self.namespace + '/' if self.namespace else ''}{self.name}"


def populate(cluster: testcluster.TestCluster, raws: list[dict[str, Any]]) -> None:
    order = ("Namespace", "ServiceAccount", "ClusterRole", "Role")
    waves = [[o for o in raws if o["kind"] == kind] for kind in order]
    refused = cluster.apply_in_waves([*waves, [o for o in raws if o["kind"] not in order]])
    if refused:
        raise SystemExit(f"the API server refused {len(refused)} objects, e.g. {refused[:3]}")


def peer_command(binary: str, kubeconfig: Path, question: tuple[str, str, str, str]) -> list[str]:
    verb, target, namespace, name = question
    head, _, sub = target.partition("/")
    command = [binary, verb, f"{head}/{name}" if name else head, "-o", "json"]
    command += ["--kubeconfig", str(kubeconfig)]
    command += ["-n", namespace] if namespace else []
    return command + ([f"--subresource={sub}"] if sub else [])


def kubeward_command(kubeconfig: Path, question: tuple[str, str, str, str]) -> list[str]:
    verb, target, namespace, name = question
    command = [str(Path(sys.executable).parent / "kubeward"), "rbac", "who-can", verb, target]
    command += ["--cluster", "--kubeconfig", str(kubeconfig), "--format", "json"]
    command += ["-n", namespace] if namespace else []
    return command + (["--name", name] if name else [])


def run(command: list[str]) -> tuple[float, Any]:
    clock = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - clock
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:6])}... failed ({done.returncode}): {done.stderr}")
    return wall, json.loads(done.stdout)


def peer_answer(output: Any) -> set[Who]:
    """kubectl-who-can JSON: the matching bindings with their subjects."""
    found = set()
    for key in ("roleBindings", "clusterRoleBindings"):
        for binding in output.get(key) or ():
            for subject in binding.get("subjects") or ():
                namespace = subject.get("namespace") or ""
                if subject["kind"] == "ServiceAccount" and not namespace:
                    namespace = binding.get("namespace") or ""
                found.add(Who(subject["kind"], subject["name"], namespace))
    return found


def kubeward_answer(output: Any) -> set[Who]:
    """Direct subjects only: kubectl-who-can does not expand groups into service accounts."""
    return {
        Who(s["kind"], s["name"], s["namespace"] or "")
        for s in output["subjects"]
        if not s["viaGroup"]
    }


def allowed(api: Any, who: Who, question: tuple[str, str, str, str]) -> bool:
    """The API server's verdict for exactly that subject (a group: a user holding only it)."""
    verb, target, namespace, name = question
    request = request_for(verb, target, namespace, name)
    if who.kind == "ServiceAccount":
        user = f"system:serviceaccount:{who.namespace}:{who.name}"
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{who.namespace}"]
    elif who.kind == "Group":
        user, groups = "kubeward-bench-probe", [who.name]
    else:
        user, groups = who.name, []
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {"user": user, "groups": groups, "resourceAttributes": attributes(request)},
    }
    response = api.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
    response.raise_for_status()
    return bool(response.json()["status"].get("allowed"))


def attributes(request: Request) -> dict[str, str]:
    return {
        "verb": request.verb, "group": request.api_group, "resource": request.resource,
        "subresource": request.subresource, "namespace": request.namespace, "name": request.name,
    }  # fmt: skip


def side_by_side(raws: list[dict[str, Any]], count: int, peer: str, work: Path) -> dict[str, Any]:
    with testcluster.running(work / "cluster") as cluster:
        clock = time.perf_counter()
        populate(cluster, raws)
        print(f"applied {len(raws):,} objects in {time.perf_counter() - clock:.0f} s")
        api = cluster.client()
        rows = []
        for question in questions(count, seed=11):
            peer_s, peer_out = run(peer_command(peer, cluster.kubeconfig, question))
            ours_s, ours_out = run(kubeward_command(cluster.kubeconfig, question))
            theirs, ours = peer_answer(peer_out), kubeward_answer(ours_out)
            verdicts = {who: allowed(api, who, question) for who in theirs ^ ours}
            peer_wrong = [w.label() for w, ok in verdicts.items() if ok != (w in theirs)]
            ours_wrong = [w.label() for w, ok in verdicts.items() if ok != (w in ours)]
            rows.append({
                "question": question, "peer_s": peer_s, "kubeward_s": ours_s,
                "peer": len(theirs), "kubeward": len(ours),
                "peer_wrong": sorted(peer_wrong), "kubeward_wrong": sorted(ours_wrong),
            })  # fmt: skip
        return {"rows": rows}


def report(numbers: dict[str, Any], rows: Sequence[dict[str, Any]], peer_version: str) -> None:
    date = datetime.now(UTC).isoformat(timespec="seconds")
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    print(f"date: {date}\nmachine: {machine}")
    print(f"index (bootstrap + corpus): {numbers['index_s']:.3f} s")
    print(
        f"who-can over 500 questions: mean {numbers['who_can_mean_ms']:.2f} ms, "
        f"p95 {numbers['who_can_p95_ms']:.2f} ms, max {numbers['who_can_max_ms']:.2f} ms "
        f"({numbers['who_can_answers']:,} subjects in all)"
    )
    print(
        f"all {numbers['r_rules']} R-rules: {numbers['r_rules_s']:.3f} s, "
        f"{numbers['r_findings']:,} findings"
    )
    if not rows:
        return
    print(f"\nside by side with kubectl-who-can {peer_version} ({len(rows)} questions):")
    print(f"{'question':58} {'peer s':>7} {'kw s':>6} {'peer':>5} {'kw':>5}  wrong (per SAR)")
    for row in rows:
        verb, target, namespace, name = row["question"]
        text = f"{verb} {target}" + (f" --name {name}" if name else "")
        text += f" -n {namespace}" if namespace else ""
        wrong = []
        if row["peer_wrong"]:
            wrong.append(f"peer {len(row['peer_wrong'])}: {', '.join(row['peer_wrong'][:3])}")
        if row["kubeward_wrong"]:
            wrong.append(f"kubeward {len(row['kubeward_wrong'])}: {row['kubeward_wrong'][:3]}")
        print(f"{text:58} {row['peer_s']:7.2f} {row['kubeward_s']:6.2f} {row['peer']:5} "
              f"{row['kubeward']:5}  {'; '.join(wrong) or '-'}")  # fmt: skip
    peer_median = statistics.median(r["peer_s"] for r in rows)
    ours_median = statistics.median(r["kubeward_s"] for r in rows)
    print(
        f"median per question: kubectl-who-can {peer_median:.2f} s, kubeward {ours_median:.2f} s "
        f"(ratio {peer_median / ours_median:.2f}); questions with a wrong answer: "
        f"kubectl-who-can {sum(1 for r in rows if r['peer_wrong'])}, "
        f"kubeward {sum(1 for r in rows if r['kubeward_wrong'])}; wrong subjects: "
        f"kubectl-who-can {sum(len(r['peer_wrong']) for r in rows)}, "
        f"kubeward {sum(len(r['kubeward_wrong']) for r in rows)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="kubeward RBAC explorer benchmark")
    parser.add_argument("--roles", type=int, default=5000)
    parser.add_argument("--bindings", type=int, default=10_000)
    parser.add_argument("--subjects", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--questions", type=int, default=30, help="side-by-side questions")
    parser.add_argument("--no-peer", action="store_true", help="skip the kubectl-who-can part")
    args = parser.parse_args()
    raws = generate(roles=args.roles, bindings=args.bindings, subjects=args.subjects, seed=1)
    origin = DocumentOrigin(None, None, FixedLocator(None))
    objects = [K8sObject(raw, origin) for raw in json.loads(json.dumps(raws))]
    print(f"corpus: {len(objects):,} objects ({args.roles:,} roles, {args.bindings:,} bindings, "
          f"{args.subjects:,} subjects)")  # fmt: skip
    numbers = in_process(objects, args.runs)
    rows: list[dict[str, Any]] = []
    if not args.no_peer:
        built = subprocess.run(
            [str(HERE / "peers" / "build.sh"), "kubectl-who-can"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        with tempfile.TemporaryDirectory(prefix="kubeward-rbac-bench-") as work:
            rows = side_by_side(raws, args.questions, built.stdout.strip(), Path(work))["rows"]
    report(numbers, rows, "v0.4.0")


if __name__ == "__main__":
    main()
