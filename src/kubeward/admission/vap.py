"""Rules as ValidatingAdmissionPolicies: enforcement inside the API server, no webhook.

``kubeward admission export-vap`` writes, for every rule with a CEL translation here, a
ValidatingAdmissionPolicy and its Binding (``validationActions`` from the rule's admission
action: deny → Deny, warn → Warn, audit → Audit; off → not exported; the binding skips the
exempt namespaces). Each translation must agree with the Python rule object by object: the
differential test (tests/cluster/test_vap_export.py) installs them in the real API server and
compares its verdicts with kubeward's findings on fixtures and generated workloads.

Every other rule is listed with the reason it is not exported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kubeward.model.enforcement import Action, AdmissionSettings
from kubeward.rules import Rule, Scope
from kubeward.rules._common.pods import BASELINE_CAPABILITIES

POD_SPEC = (
    "object.kind == 'Pod' ? object.spec"
    " : object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec"
    " : object.kind == 'PodTemplate' ? object.template.spec"
    " : object.spec.template.spec"
)
"""Where each built-in workload kind keeps its pod spec (as ``K8sObject.pod_spec``)."""
WORKLOAD_RESOURCES = {
    "": ["pods", "podtemplates", "replicationcontrollers"],
    "apps": ["deployments", "replicasets", "statefulsets", "daemonsets"],
    "batch": ["jobs", "cronjobs"],
}


def all_containers(predicate: str) -> str:
    """``predicate`` (over ``c``) holds for every regular, init and ephemeral container."""
    lists = ("containers", "initContainers", "ephemeralContainers")
    parts = []
    for name in lists:
        each = f"variables.spec.{name}.all(c, {predicate})"
        parts.append(each if name == "containers" else f"(!has(variables.spec.{name}) || {each})")
    return " && ".join(parts)


def pod_flag_off(field: str) -> str:
    return f"!(has(variables.spec.{field}) && variables.spec.{field} == true)"


def _list(values: Iterable[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in sorted(values)) + "]"


CONFINED = "['Localhost', 'RuntimeDefault']"
NOT_WINDOWS = "!(has(variables.spec.os) && variables.spec.os.name == 'windows')"
POD_CONTEXT = "has(variables.spec.securityContext)"


def no_bad_seccomp(context: str) -> str:
    """``context`` (a securityContext) sets no seccomp type other than the confined ones."""
    return f"!has({context}.seccompProfile) || {context}.seccompProfile.type in {CONFINED}"


@dataclass(frozen=True)
class Translation:
    expression: str
    """True when the object complies (CEL, over ``object`` and ``variables.spec``)."""
    variables: tuple[tuple[str, str], ...] = ()


TRANSLATIONS: dict[str, Translation] = {
    "W001": Translation(
        all_containers(
            "!(has(c.securityContext) && has(c.securityContext.privileged)"
            " && c.securityContext.privileged == true)"
        )
    ),
    "W002": Translation(pod_flag_off("hostPID")),
    "W003": Translation(pod_flag_off("hostIPC")),
    "W004": Translation(pod_flag_off("hostNetwork")),
    "W005": Translation(
        "!has(variables.spec.volumes) || variables.spec.volumes.all(v, !has(v.hostPath))"
    ),
    # host network: every port binds the node (the API server fills hostPort in for Pods,
    # not for pod templates, whose pods get it when they are created)
    "W008": Translation(
        all_containers(
            f"!has(c.ports) || c.ports.all(p, {pod_flag_off('hostNetwork')}"
            " && (!has(p.hostPort) || p.hostPort == 0))"
        )
    ),
    "W027": Translation(pod_flag_off("shareProcessNamespace")),
    "W012": Translation(
        f"(!{POD_CONTEXT} || {no_bad_seccomp('variables.spec.securityContext')}) && "
        + all_containers(f"!has(c.securityContext) || {no_bad_seccomp('c.securityContext')}")
    ),
    "W015": Translation(
        f"!({NOT_WINDOWS}) || "
        + all_containers(
            "has(c.securityContext) && has(c.securityContext.allowPrivilegeEscalation)"
            " && c.securityContext.allowPrivilegeEscalation == false"
        )
    ),
    "W018": Translation(
        f"!({NOT_WINDOWS}) || ({POD_CONTEXT} && has(variables.spec.securityContext.seccompProfile)"
        f" && variables.spec.securityContext.seccompProfile.type in {CONFINED}) || "
        + all_containers("has(c.securityContext) && has(c.securityContext.seccompProfile)")
    ),
    "W019": Translation(
        f"!({NOT_WINDOWS}) || "
        + all_containers(
            "has(c.securityContext) && has(c.securityContext.capabilities)"
            " && has(c.securityContext.capabilities.drop)"
            " && 'ALL' in c.securityContext.capabilities.drop"
            " && (!has(c.securityContext.capabilities.add) || c.securityContext.capabilities.add"
            f".all(a, !(a in {_list(BASELINE_CAPABILITIES - {'NET_BIND_SERVICE'})})))"
        )
    ),
    "A001": Translation(
        "variables.account != '' && variables.account != 'default'",
        variables=(
            (
                "account",
                "has(variables.spec.serviceAccountName) && variables.spec.serviceAccountName != ''"
                " ? variables.spec.serviceAccountName"
                " : has(variables.spec.serviceAccount) ? variables.spec.serviceAccount : ''",
            ),
        ),
    ),
}
"""Rule ID → CEL. Only rules whose every case CEL decides exactly like the Python rule."""

NOT_YET = "expressible in CEL, not exported yet"
CREDENTIAL_DETECTORS = frozenset({"S001", "S002", "S003", "S006"})


def why_not(rule: Rule) -> str | None:
    """None if the rule is exported, else the reason."""
    if rule.id in TRANSLATIONS:
        return None
    if rule.scope is not Scope.OBJECT:
        return "needs other objects of the cluster (inventory scope): a policy sees one object"
    if rule.id.startswith("I"):
        return (
            "image references must be parsed like the container runtime does (implicit "
            "docker.io/library, registry host detection, digests): not exported yet"
        )
    if rule.id == "S007":
        return "about manifests committed to a repository: every Secret admitted carries data"
    if rule.id in CREDENTIAL_DETECTORS:
        return "detects credentials with entropy and pattern checks that CEL cannot express"
    return NOT_YET


ACTIONS = {Action.DENY: ["Deny"], Action.WARN: ["Warn"], Action.AUDIT: ["Audit"]}


def export(
    rules: Sequence[Rule], settings: AdmissionSettings, action: Action | None = None
) -> tuple[list[dict[str, Any]], list[tuple[Rule, str]]]:
    """(policies and bindings, [(rule, why it is not exported)]). ``action`` overrides the
    configured per-rule actions (tests use Warn to see every verdict at once)."""
    objects: list[dict[str, Any]] = []
    skipped: list[tuple[Rule, str]] = []
    for rule in rules:
        reason = why_not(rule)
        chosen = action or settings.action_for(rule.id)
        if reason is None and chosen is Action.OFF:
            reason = "its admission action is off"
        if reason is not None:
            skipped.append((rule, reason))
            continue
        objects += _policy_and_binding(rule, TRANSLATIONS[rule.id], ACTIONS[chosen], settings)
    return objects, skipped


def policy_name(rule: Rule) -> str:
    return f"kubeward-{rule.id.lower()}-{rule.name}"


def _policy_and_binding(
    rule: Rule, translation: Translation, actions: list[str], settings: AdmissionSettings
) -> list[dict[str, Any]]:
    name = policy_name(rule)
    labels = {"app.kubernetes.io/part-of": "kubeward", "kubeward.io/rule": rule.id}
    variables = [{"name": "spec", "expression": POD_SPEC}]
    variables += [{"name": n, "expression": e} for n, e in translation.variables]
    exempt = [n for n in settings.exempt_namespaces if not any(c in n for c in "*?[")]
    policy = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": [group],
                        "apiVersions": ["*"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": resources,
                    }
                    for group, resources in WORKLOAD_RESOURCES.items()
                ]
            },
            # a ReplicationController may come without a template: nothing to judge
            "matchConditions": [
                {
                    "name": "has-pod-spec",
                    "expression": "object.kind != 'ReplicationController'"
                    " || has(object.spec.template)",
                }
            ],
            "variables": variables,
            "validations": [
                {
                    "expression": translation.expression,
                    "message": f"{rule.id} {rule.name}: {rule.title}",
                    "reason": "Forbidden",
                }
            ],
        },
    }
    binding: dict[str, Any] = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": labels},
        "spec": {"policyName": name, "validationActions": actions},
    }
    if exempt:
        binding["spec"]["matchResources"] = {
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": exempt}
                ]
            }
        }
    return [policy, binding]
