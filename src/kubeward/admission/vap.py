"""Rules as ValidatingAdmissionPolicies: enforcement inside the API server, no webhook.

``kubeward admission export-vap`` writes, for every rule with a CEL translation here, a
ValidatingAdmissionPolicy and its Binding (``validationActions`` from the rule's admission
action: deny → Deny, warn → Warn, audit → Audit; off → not exported; the binding skips the
exempt namespaces). Each translation must agree with the Python rule object by object: the
differential test (tests/cluster/test_vap_export.py) installs them in the real API server and
compares its verdicts with kubeward's findings on fixtures and generated workloads.

Every other rule is listed with the reason it is not exported (users' Rego policies among
them: the API server evaluates CEL only, so the webhook enforces them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubeward.model.enforcement import Action, AdmissionSettings
from kubeward.policies.kinds import KIND_RESOURCES
from kubeward.policies.loader import POLICY_MODULE, CelDefinition, Definition, RegoDefinition
from kubeward.rules import Rule, RuleParams, Scope
from kubeward.rules._common.images import (
    DIGEST_PATTERN as IMAGE_DIGEST,
)
from kubeward.rules._common.images import (
    DOMAIN_PATTERN as IMAGE_DOMAIN,
)
from kubeward.rules._common.images import (
    IMAGE_ID_PATTERN as IMAGE_ID,
)
from kubeward.rules._common.images import (
    MAX_PATH as MAX_IMAGE_PATH,
)
from kubeward.rules._common.images import (
    REMOTE_PATTERN as IMAGE_REMOTE,
)
from kubeward.rules._common.images import (
    TAG_PATTERN as IMAGE_TAG,
)
from kubeward.rules._common.images import RegistryPattern
from kubeward.rules._common.pods import BASELINE_CAPABILITIES, DANGEROUS_CAPABILITIES
from kubeward.rules.images.deprecated_registry import DEPRECATED_REGISTRIES
from kubeward.rules.namespaces.ingress_snippet_annotation import SNIPPET_NAMES
from kubeward.rules.namespaces.ingress_without_tls import LB_TLS_ANNOTATIONS
from kubeward.rules.namespaces.load_balancer_without_source_ranges import (
    ANNOTATION as LB_SOURCE_RANGES,
)
from kubeward.rules.namespaces.namespace_without_pod_security_labels import (
    ENFORCE_LABEL,
)
from kubeward.rules.namespaces.namespace_without_pod_security_labels import (
    EXEMPT_NAMESPACES as PSA_EXEMPT_NAMESPACES,
)
from kubeward.rules.workload.missing_resource_limits import POD_LEVEL_RESOURCES, POD_LEVEL_SINCE
from kubeward.rules.workload.sensitive_host_path import SENSITIVE_PATHS
from kubeward.rules.workload.unsafe_sysctls import safe_sysctls

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


CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def all_containers(predicate: str, lists: Sequence[str] = CONTAINER_LISTS) -> str:
    """``predicate`` (over ``c``) holds for every regular, init and ephemeral container."""
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
LONG_RUNNING = (
    "object.kind != 'Job' && object.kind != 'CronJob' && (object.kind != 'Pod' || ("
    "!(has(object.metadata.ownerReferences)"
    " && object.metadata.ownerReferences.exists(o, o.kind in ['Job', 'CronJob']))"
    " && (!has(object.spec.restartPolicy) || object.spec.restartPolicy == 'Always')))"
)
"""Not a Job, a CronJob or a Pod that runs to completion (W024, W025)."""


def serving_containers(predicate: str) -> str:
    """``predicate`` holds for every regular container and sidecar (an init container with
    ``restartPolicy: Always``) — W024/W025's ``serving``. A probe without an action never gets
    here: the API server refuses it before admission policies run."""
    sidecars = (
        "variables.spec.initContainers.all(c, !(has(c.restartPolicy)"
        f" && c.restartPolicy == 'Always') || {predicate})"
    )
    return (
        f"variables.spec.containers.all(c, {predicate})"
        f" && (!has(variables.spec.initContainers) || {sidecars})"
    )


PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
HOOKS = ("postStart", "preStop")
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES_1_31 = SELINUX_TYPES | {"container_engine_t"}


def capability(name: str) -> str:
    """``capability_name`` in CEL: upper case, surrounding space and a ``CAP_`` prefix gone."""
    upper = f"{name}.trim().upperAscii()"
    return f"({upper}.startsWith('CAP_') ? {upper}.substring(4) : {upper})"


APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
POD_ANNOTATIONS = (
    "object.kind == 'Pod' ? (has(object.metadata.annotations) ? object.metadata.annotations : {})"
    " : object.kind == 'CronJob' ? (has(object.spec.jobTemplate.spec.template.metadata)"
    " && has(object.spec.jobTemplate.spec.template.metadata.annotations)"
    " ? object.spec.jobTemplate.spec.template.metadata.annotations : {})"
    " : object.kind == 'PodTemplate' ? (has(object.template.metadata)"
    " && has(object.template.metadata.annotations) ? object.template.metadata.annotations : {})"
    " : (has(object.spec.template.metadata) && has(object.spec.template.metadata.annotations)"
    " ? object.spec.template.metadata.annotations : {})"
)
"""The annotations the pods get (``pod_annotations``)."""
RESTRICTED_VOLUME_SOURCES = frozenset(
    {
        "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "fc", "flexVolume",
        "flocker", "gcePersistentDisk", "gitRepo", "glusterfs", "iscsi", "nfs",
        "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos",
        "vsphereVolume",
    }
)  # fmt: skip
"""Every volume source of the Pod API except the allowed ones and hostPath (W005/W006's)."""


def _re(pattern: str) -> str:
    """A Python regex (ASCII, whole string) as a CEL RE2 string literal."""
    return "'^" + pattern.replace("\\", "\\\\").replace("'", "\\'") + "$'"


def bind(name: str, value: str, body: str) -> str:
    """CEL ``let name = value in body``: a one-element ``map`` (``cel.bind`` is not enabled in
    the API server's CEL environment)."""
    return f"[{value}].map({name}, {body})[0]"


def parsed_image(image: str) -> str:
    """CEL: ``image`` parsed like ``parse_image`` into a map: valid, registry, repository,
    tag, digest (``''`` when absent). Go's regexp is RE2, as CEL's ``matches``."""
    valid = (
        f"{image} != '' && {image}.trim() == {image} && size({image}) <= 4096"
        f" && (at < 0 || digest.matches({_re(IMAGE_DIGEST)}))"
        f" && (colon < 0 || tag.matches({_re(IMAGE_TAG)}))"
        f" && (!remote_host || first.matches({_re(IMAGE_DOMAIN)}))"
        f" && remote.matches({_re(IMAGE_REMOTE)})"
        f" && !{image}.matches({_re(IMAGE_ID)}) && size(repository) <= {MAX_IMAGE_PATH}"
    )
    fields = {  # dyn(): the checker wants one value type per map literal
        "valid": valid,
        "registry": "registry",
        "repository": "repository",
        "tag": "colon >= 0 ? tag : ''",
        "digest": "at >= 0 ? digest : ''",
    }
    result = "{" + ", ".join(f"'{k}': dyn({v})" for k, v in fields.items()) + "}"
    steps = [
        ("at", f"{image}.indexOf('@')"),
        ("named", f"at >= 0 ? {image}.substring(0, at) : {image}"),
        ("digest", f"at >= 0 ? {image}.substring(at + 1) : ''"),
        ("colon", "named.lastIndexOf(':') > named.lastIndexOf('/') ? named.lastIndexOf(':') : -1"),
        ("name", "colon >= 0 ? named.substring(0, colon) : named"),
        ("tag", "colon >= 0 ? named.substring(colon + 1) : ''"),
        ("slash", "name.indexOf('/')"),
        ("first", "slash >= 0 ? name.substring(0, slash) : name"),
        (
            "remote_host",
            "slash >= 0 && (first.contains('.') || first.contains(':')"
            " || first == 'localhost' || first.lowerAscii() != first)",
        ),
        ("host", "remote_host ? first.lowerAscii() : 'docker.io'"),
        ("registry", "host in ['index.docker.io', 'registry-1.docker.io'] ? 'docker.io' : host"),
        ("remote", "remote_host ? name.substring(slash + 1) : name"),
        (
            "repository",
            "(!remote_host || first in ['docker.io', 'index.docker.io']) && !remote.contains('/')"
            " ? 'library/' + remote : remote",
        ),
    ]
    for name, value in reversed(steps):
        result = bind(name, value, result)
    return result


def all_images(predicate: str, lists: Sequence[str] = CONTAINER_LISTS) -> str:
    """``predicate`` (over ``c`` and ``r``, its parsed image) holds for every container, and
    for every image volume (its ``reference`` and ``pullPolicy`` in place of the container's
    ``image`` and ``imagePullPolicy``), as the image rules read them."""
    containers = all_containers(bind("r", parsed_image("c.image"), predicate), lists)
    of_volume = predicate.replace("c.imagePullPolicy", "v.image.pullPolicy")
    judged = bind("r", parsed_image("v.image.reference"), of_volume)
    volumes = (
        "(!has(variables.spec.volumes) || variables.spec.volumes.all(v, !has(v.image)"
        f" || !has(v.image.reference) || {judged}))"
    )
    return f"{containers} && {volumes}"


def _registries(patterns: Iterable[RegistryPattern]) -> str:
    """The allow-list as the policy reads it: normalised ``host[/path]`` entries, commas."""
    return ",".join(f"{p.registry}/{p.path}" if p.path else p.registry for p in patterns)


def _pattern_match(pattern: RegistryPattern) -> str:
    """CEL: the parsed image ``r`` is under ``pattern`` (whole path components)."""
    if not pattern.path:
        return f"r.registry == '{pattern.registry}'"
    return (
        f"(r.registry == '{pattern.registry}' && (r.repository == '{pattern.path}'"
        f" || r.repository.startsWith('{pattern.path}/')))"
    )


NETWORK_POLICIES = (("networking.k8s.io", ("networkpolicies",)),)


def _whole(text: str) -> str:
    """CEL: ``text`` is a CIDR covering a whole address family (prefix length 0)."""
    return f"(isCIDR({text}.trim()) && cidr({text}.trim()).prefixLength() == 0)"


def _empty_selector(selector: str) -> str:
    return (
        f"((!has({selector}.matchLabels) || size({selector}.matchLabels) == 0)"
        f" && (!has({selector}.matchExpressions) || size({selector}.matchExpressions) == 0))"
    )


def open_rules_cel(direction: str) -> str:
    """CEL of ``open_rules``: no rule of ``direction`` lets everybody through (when the policy
    isolates that direction)."""
    key, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    spec = "object.spec"
    isolates = (
        f"(has({spec}.policyTypes) && size({spec}.policyTypes) > 0 ? '{direction}' in "
        f"{spec}.policyTypes : "
        + ("true" if direction == "Ingress" else f"has({spec}.egress) && size({spec}.egress) > 0")
        + ")"
    )
    open_peer = (
        f"(has(p.ipBlock) ? ({_whole('p.ipBlock.cidr')} && !(has(p.ipBlock.except)"
        " && size(p.ipBlock.except) > 0))"
        f" : (has(p.namespaceSelector) && {_empty_selector('p.namespaceSelector')}"
        f" && (!has(p.podSelector) || {_empty_selector('p.podSelector')})))"
    )
    return (
        f"!{isolates} || !has({spec}.{key}) || {spec}.{key}.all(r, has(r.{peers})"
        f" && size(r.{peers}) > 0 && r.{peers}.all(p, !{open_peer}))"
    )


def _covered(host: str) -> str:
    """CEL of ``covered``: a TLS entry names ``host``, or its wildcard parent."""

    def listed(name: str) -> str:
        return (
            "object.spec.tls.exists(t, has(t.hosts)"
            f" && t.hosts.exists(h, h.trim().lowerAscii() == {name}))"
        )

    parent = f"'*.' + {host}.substring({host}.indexOf('.') + 1)"
    return (
        f"(variables.tls && ({listed(host)} || (!{host}.startsWith('*.')"
        f" && {host}.contains('.') && {listed(parent)})))"
    )


def apparmor_ok(context: str) -> str:
    return f"!has({context}.appArmorProfile) || {context}.appArmorProfile.type in {CONFINED}"


def host_process(context: str) -> str:
    return (
        f"has({context}.windowsOptions) && has({context}.windowsOptions.hostProcess)"
        f" && {context}.windowsOptions.hostProcess == true"
    )


def _remote(handler: str, present: str) -> str:
    """The probe or hook ``handler`` sends the kubelet to a ``host``."""
    checks = [
        f"(has({handler}.{action}) && has({handler}.{action}.host)"
        f" && {handler}.{action}.host != '')"
        for action in ("httpGet", "tcpSocket")
    ]
    return f"{present} && ({' || '.join(checks)})"


NOT_WINDOWS = "!(has(variables.spec.os) && variables.spec.os.name == 'windows')"
NOT_ON_WINDOWS = (
    f"{NOT_WINDOWS} && !(has(variables.spec.nodeSelector)"
    " && 'kubernetes.io/os' in variables.spec.nodeSelector"
    " && variables.spec.nodeSelector['kubernetes.io/os'] == 'windows')"
)
"""``runs_on_windows``: spec.os or the node selector (W021, W028)."""
POD_CONTEXT = "has(variables.spec.securityContext)"


def no_bad_seccomp(context: str) -> str:
    """``context`` (a securityContext) sets no seccomp type other than the confined ones."""
    return f"!has({context}.seccompProfile) || {context}.seccompProfile.type in {CONFINED}"


@dataclass(frozen=True)
class Translation:
    expression: str
    """True when the object complies (CEL, over ``object`` and, for workloads,
    ``variables.spec``: the pod spec)."""
    variables: tuple[tuple[str, str], ...] = ()
    resources: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(API group, resources) it applies to; empty = the workloads (pod specs)."""
    params: tuple[tuple[str, str], ...] | None = None
    """Data of the ConfigMap the policy reads as ``params`` (an allow-list), if it has one."""
    messages: tuple[tuple[str, str], ...] = ()
    """A user policy's own (expression, message) validations, exported one by one."""


def translations(params: RuleParams | None = None) -> dict[str, Translation]:
    """Rule ID → CEL for these rule parameters (the Kubernetes version, required resources),
    as the rules read them."""
    params = params or RuleParams()
    version = params.kubernetes_version
    userns = "(has(variables.spec.hostUsers) && variables.spec.hostUsers == false)"
    root_exempt = f"{userns} || " if version >= (1, 35) else ""
    selinux = _list(SELINUX_TYPES_1_31 if version >= (1, 31) else SELINUX_TYPES)
    table = {**BASE, **_versioned(root_exempt, selinux)}
    table["W013"] = Translation(
        f"!({POD_CONTEXT} && has(variables.spec.securityContext.sysctls))"
        " || variables.spec.securityContext.sysctls"
        f".all(s, s.name in {_list(safe_sysctls(version))})"
    )

    table["I002"] = Translation(all_images("!r.valid || r.digest != ''"))
    table["I003"] = Translation(
        all_images("!r.valid || r.digest != '' || (r.tag != '' && r.tag != 'latest')")
    )
    table["I005"] = Translation(
        all_images(
            "!r.valid || !("
            + " || ".join(_pattern_match(p) for p, _, _ in DEPRECATED_REGISTRIES)
            + ")"
        )
    )
    # An empty policy is unset, as for the rule (the API server has defaulted both by the time
    # a policy runs, so this only keeps the two readings the same).
    table["I006"] = Translation(
        all_images(
            "!r.valid || r.digest != '' || (has(c.imagePullPolicy) && c.imagePullPolicy != ''"
            " ? c.imagePullPolicy == 'Always' : (r.tag == '' || r.tag == 'latest'))"
        )
    )
    listed = (
        "params.data.registries.split(',').exists(p, "
        + bind(
            "cut",
            "p.indexOf('/')",
            "(cut >= 0 ? p.substring(0, cut) : p) == r.registry && (cut < 0"
            " || r.repository == p.substring(cut + 1)"
            " || r.repository.startsWith(p.substring(cut + 1) + '/'))",
        )
        + ")"
    )
    if params.trusted_registries:
        table["I001"] = Translation(
            all_images(f"r.valid && {listed}"),
            params=(("registries", _registries(params.trusted_registries)),),
        )
    if params.insecure_registries:
        table["I004"] = Translation(
            all_images(f"!r.valid || !{listed}"),
            params=(("registries", _registries(params.insecure_registries)),),
        )

    def positive(value: str) -> str:  # W022/W023: a quantity of 0 bounds nothing
        return f"quantity(string({value})).isGreaterThan(quantity('0'))"

    def bounded(resources: str, section: str) -> str:
        """``effective``: the quantity, or for an absent request the limit, is above zero."""

        def named(part: str) -> str:
            return f"has({resources}.{part}) && n in {resources}.{part}"

        limit = f"({named('limits')} && {positive(f'{resources}.limits[n]')})"
        if section == "limits":
            return f"(has({resources}) && {limit})"
        request = f"{positive(f'{resources}.requests[n]')}"
        return f"(has({resources}) && ({named('requests')} ? {request} : {limit}))"

    def covered(section: str) -> str:
        """``pod_level``: the pod's own spec.resources bounds the resource (1.34+)."""
        if version < POD_LEVEL_SINCE:
            return "false"
        pod = "variables.spec.resources"
        plain = bounded(pod, section)
        if section == "requests":
            # an absent pod-level request, with pod-level limits, is the containers' aggregate
            # when any of them names the resource (defaultPodRequests), else the limit
            def each(predicate: str) -> str:
                return (
                    f"(variables.spec.containers.exists(k, {predicate})"
                    " || (has(variables.spec.initContainers)"
                    f" && variables.spec.initContainers.exists(k, {predicate})))"
                )

            names = each(
                "has(k.resources) && ((has(k.resources.requests) && n in k.resources.requests)"
                " || (has(k.resources.limits) && n in k.resources.limits))"
            )
            plain = (
                f"(has({pod}) && !(has({pod}.requests) && n in {pod}.requests)"
                f" && has({pod}.limits) && size({pod}.limits) > 0 && {names}"
                f" ? {each(bounded('k.resources', 'requests'))} : {plain})"
            )
        return f"(n in {_list(POD_LEVEL_RESOURCES)} && {plain})"

    pods_lists = ("containers", "initContainers")
    if params.required_limits:
        table["W022"] = Translation(
            all_containers(
                f"{_list(params.required_limits)}"
                f".all(n, {covered('limits')} || {bounded('c.resources', 'limits')})",
                lists=pods_lists,
            )
        )
    if params.required_requests:
        # a limit without a request becomes the request (defaulted on Pods, not on templates)
        table["W023"] = Translation(
            all_containers(
                f"{_list(params.required_requests)}"
                f".all(n, {covered('requests')} || {bounded('c.resources', 'requests')})",
                lists=pods_lists,
            )
        )
    return table


BASE: dict[str, Translation] = {
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
    "W007": Translation(
        all_containers(
            "!has(c.securityContext) || !has(c.securityContext.capabilities)"
            " || !has(c.securityContext.capabilities.add)"
            f" || c.securityContext.capabilities.add.all(a, a in {_list(BASELINE_CAPABILITIES)}"
            f" || {capability('a')} in {_list(DANGEROUS_CAPABILITIES)})"
        )
    ),
    "W011": Translation(
        all_containers(
            "!has(c.securityContext) || !has(c.securityContext.procMount)"
            " || c.securityContext.procMount == 'Default'"
        )
    ),
    "W014": Translation(
        f"!({POD_CONTEXT} && {host_process('variables.spec.securityContext')}) && "
        + all_containers(f"!(has(c.securityContext) && {host_process('c.securityContext')})")
    ),
    "W021": Translation(
        f"!({NOT_ON_WINDOWS}) || "
        + all_containers(
            "has(c.securityContext) && has(c.securityContext.readOnlyRootFilesystem)"
            " && c.securityContext.readOnlyRootFilesystem == true"
        )
    ),
    "W024": Translation(f"!({LONG_RUNNING}) || " + serving_containers("has(c.livenessProbe)")),
    "W025": Translation(f"!({LONG_RUNNING}) || " + serving_containers("has(c.readinessProbe)")),
    "W026": Translation(
        f"!({POD_CONTEXT} && ("
        "(has(variables.spec.securityContext.runAsGroup)"
        " && variables.spec.securityContext.runAsGroup == 0)"
        " || (has(variables.spec.securityContext.fsGroup)"
        " && variables.spec.securityContext.fsGroup == 0)"
        " || (has(variables.spec.securityContext.supplementalGroups)"
        " && 0 in variables.spec.securityContext.supplementalGroups))) && "
        + all_containers(
            "!(has(c.securityContext) && has(c.securityContext.runAsGroup)"
            " && c.securityContext.runAsGroup == 0)"
        )
    ),
    "W028": Translation(
        f"!({NOT_ON_WINDOWS}) || "
        + all_containers(
            # keeps_net_raw: a drop of NET_RAW (any case, no CAP_ prefix) removes it; a drop of
            # ALL does unless add names it (in any spelling)
            "has(c.securityContext) && has(c.securityContext.capabilities)"
            " && has(c.securityContext.capabilities.drop)"
            " && (c.securityContext.capabilities.drop.exists(d, d.upperAscii() == 'NET_RAW')"
            " || (c.securityContext.capabilities.drop.exists(d, d.upperAscii() == 'ALL')"
            " && !(has(c.securityContext.capabilities.add)"
            f" && c.securityContext.capabilities.add.exists(a, {capability('a')} == 'NET_RAW'))))"
        )
    ),
    "W029": Translation(
        all_containers(
            "!has(c.securityContext) || !has(c.securityContext.capabilities)"
            " || !has(c.securityContext.capabilities.add)"
            f" || c.securityContext.capabilities.add.all(a, !({capability('a')} in"
            f" {_list(DANGEROUS_CAPABILITIES)}))"
        )
    ),
    "W030": Translation(
        all_containers(
            "!has(c.volumeMounts) || c.volumeMounts.all(m, !(m.name in variables.hostVolumes)"
            " || (has(m.readOnly) && m.readOnly == true))"
        ),
        variables=(
            (
                "hostVolumes",
                "has(variables.spec.volumes)"
                " ? variables.spec.volumes.filter(v, has(v.hostPath)).map(v, v.name) : []",
            ),
        ),
    ),
    "W031": Translation(
        all_containers(
            " && ".join(
                [f"!({_remote(f'c.{probe}', f'has(c.{probe})')})" for probe in PROBES]
                + [
                    f"!(has(c.lifecycle) && "
                    f"{_remote(f'c.lifecycle.{hook}', f'has(c.lifecycle.{hook})')})"
                    for hook in HOOKS
                ]
            )
        )
    ),
    "W009": Translation(
        f"(!{POD_CONTEXT} || {apparmor_ok('variables.spec.securityContext')}) && "
        + all_containers(f"!has(c.securityContext) || {apparmor_ok('c.securityContext')}")
        + " && variables.annotations.all(k, !k.startsWith("
        f"'{APPARMOR_ANNOTATION}') || variables.annotations[k] == ''"
        " || variables.annotations[k] == 'runtime/default'"
        " || variables.annotations[k].startsWith('localhost/'))",
        variables=(("annotations", POD_ANNOTATIONS),),
    ),
    "W006": Translation(
        "!has(variables.spec.volumes) || variables.spec.volumes.all(v, !has(v.hostPath) || "
        + bind(
            "clean",
            "'/' + v.hostPath.path.split('/').filter(p, p != '' && p != '.').join('/')",
            bind(
                "norm",  # /var/run is /run (W006 reads either spelling as the other)
                "clean == '/var/run' ? '/run'"
                " : (clean.startsWith('/var/run/') ? clean.substring(4) : clean)",
                f"norm != '/' && {_list(SENSITIVE_PATHS)}.all(s, norm != s"
                " && !norm.startsWith(s + '/') && !s.startsWith(norm + '/'))",
            ),
        )
        + ")"
    ),
    "N004": Translation(open_rules_cel("Ingress"), resources=NETWORK_POLICIES),
    "N005": Translation(open_rules_cel("Egress"), resources=NETWORK_POLICIES),
    "N007": Translation(
        "!has(object.spec.type) || object.spec.type != 'LoadBalancer' || ("
        "has(object.spec.loadBalancerSourceRanges)"
        " && size(object.spec.loadBalancerSourceRanges) > 0"
        f" ? object.spec.loadBalancerSourceRanges.all(c, !{_whole('c')})"
        " : "
        + bind(
            "ranges",
            "has(object.metadata.annotations)"
            f" && '{LB_SOURCE_RANGES}' in object.metadata.annotations"
            f" ? object.metadata.annotations['{LB_SOURCE_RANGES}'].trim() : ''",
            f"ranges != '' && !ranges.split(',').exists(c, {_whole('c')})",
        )
        + ")",
        resources=(("", ("services",)),),
    ),
    "N009": Translation(
        "(has(object.metadata.annotations) && "
        f"{_list(LB_TLS_ANNOTATIONS)}.exists(k, k in object.metadata.annotations"
        " && object.metadata.annotations[k] != '')) || ("
        "(!has(object.spec.rules) || object.spec.rules.all(r, has(r.host) && r.host.trim() != ''"
        " ? " + _covered("r.host.trim().lowerAscii()") + " : variables.wildcard))"
        " && (variables.wildcard || !has(object.spec.defaultBackend)))",
        # a TLS entry without hosts stands for the wildcard host: it alone covers host-less
        # rules and the default backend
        variables=(
            ("tls", "has(object.spec.tls) && size(object.spec.tls) > 0"),
            (
                "wildcard",
                "has(object.spec.tls) && object.spec.tls.exists(t, !has(t.hosts) || "
                "size(t.hosts) == 0)",
            ),
        ),
        resources=(("networking.k8s.io", ("ingresses",)),),
    ),
    "W020": Translation(
        "!has(variables.spec.volumes) || variables.spec.volumes.all(v, "
        + " && ".join(f"!has(v.{source})" for source in sorted(RESTRICTED_VOLUME_SOURCES))
        + ")"
    ),
    "S004": Translation(
        "!has(object.metadata.labels) || !("
        "(has(object.metadata.labels.owner) && object.metadata.labels.owner.lowerAscii() == 'helm'"
        " && ['name', 'status', 'version'].all(k, k in object.metadata.labels))"
        " || (has(object.metadata.labels.OWNER)"
        " && object.metadata.labels.OWNER.upperAscii() == 'TILLER'))",
        resources=(("", ("configmaps",)),),
    ),
    "S005": Translation(
        all_containers(
            "(!has(c.env) || c.env.all(e, !(has(e.valueFrom) && has(e.valueFrom.secretKeyRef))))"
            " && (!has(c.envFrom) || c.envFrom.all(s, !has(s.secretRef)))"
        )
    ),
    "N006": Translation(
        "!has(object.spec.type) || object.spec.type != 'NodePort'",
        resources=(("", ("services",)),),
    ),
    "N008": Translation(
        "!has(object.spec.externalIPs) || size(object.spec.externalIPs) == 0",
        resources=(("", ("services",)),),
    ),
    "N010": Translation(
        # any prefix (--annotations-prefix); a blank value injects nothing
        "!has(object.metadata.annotations) || !object.metadata.annotations.exists(k, "
        "k.lastIndexOf('/') > 0 && k.substring(k.lastIndexOf('/') + 1) in "
        f"{_list(SNIPPET_NAMES)} && object.metadata.annotations[k].trim() != '')",
        resources=(("networking.k8s.io", ("ingresses",)), ("extensions", ("ingresses",))),
    ),
    "N011": Translation(
        f"object.metadata.name in {_list(PSA_EXEMPT_NAMESPACES)} || (has(object.metadata.labels)"
        f" && '{ENFORCE_LABEL}' in object.metadata.labels"
        f" && object.metadata.labels['{ENFORCE_LABEL}'] != 'privileged')",
        resources=(("", ("namespaces",)),),
    ),
    "A005": Translation(
        "!has(object.type) || object.type != 'kubernetes.io/service-account-token'",
        resources=(("", ("secrets",)),),
    ),
    "A004": Translation(
        "(object.kind == 'ClusterRoleBinding' && object.metadata.name.startsWith('system:')"
        " && has(object.metadata.labels)"
        " && object.metadata.labels[?'kubernetes.io/bootstrapping'].orValue('') == 'rbac-defaults')"
        " || !has(object.subjects) || object.subjects.all(s,"
        " !(s.kind == 'ServiceAccount' && s.name == 'default')"
        " && !(s.kind == 'User' && s.name.startsWith('system:serviceaccount:')"
        # a namespace between the prefix (22 characters) and ':default' (8)
        " && s.name.endsWith(':default') && size(s.name) > 30)"
        " && !(s.kind == 'Group' && (s.name in ['system:serviceaccounts', 'system:authenticated']"
        # a namespace after 'system:serviceaccounts:' (23 characters)
        " || (s.name.startsWith('system:serviceaccounts:') && size(s.name) > 23))))",
        resources=(("rbac.authorization.k8s.io", ("rolebindings", "clusterrolebindings")),),
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
"""Rule ID → CEL for every version. Only rules whose every case CEL decides exactly like the
Python rule (the differential test holds them to it)."""


def _selinux_ok(context: str, allowed: str) -> str:
    options = f"{context}.seLinuxOptions"
    return (
        f"!has({options}) || ((!has({options}.type) || {options}.type in {allowed})"
        f" && (!has({options}.user) || {options}.user == '')"
        f" && (!has({options}.role) || {options}.role == ''))"
    )


def _versioned(root_exempt: str, selinux: str) -> dict[str, Translation]:
    pod = "variables.spec.securityContext"
    pod_non_root = f"{POD_CONTEXT} && has({pod}.runAsNonRoot) && {pod}.runAsNonRoot == true"
    return {
        "W010": Translation(
            f"(!{POD_CONTEXT} || {_selinux_ok(pod, selinux)}) && "
            + all_containers(
                f"!has(c.securityContext) || {_selinux_ok('c.securityContext', selinux)}"
            )
        ),
        "W016": Translation(
            f"{root_exempt}(!({POD_CONTEXT} && has({pod}.runAsNonRoot)"
            f" && {pod}.runAsNonRoot == false) && "
            + all_containers(
                "has(c.securityContext) && has(c.securityContext.runAsNonRoot)"
                f" ? c.securityContext.runAsNonRoot == true : ({pod_non_root})"
            )
            + ")"
        ),
        "W017": Translation(
            f"{root_exempt}(!({POD_CONTEXT} && has({pod}.runAsUser) && {pod}.runAsUser == 0) && "
            + all_containers(
                "!(has(c.securityContext) && has(c.securityContext.runAsUser)"
                " && c.securityContext.runAsUser == 0)"
            )
            + ")"
        ),
    }


NOT_YET = "expressible in CEL, not exported yet"
REGO_REASON = (
    "a Rego policy: the API server evaluates only CEL, so the webhook (kubeward admission "
    "serve) enforces it"
)
PARAMS_NAMESPACE = "kubeward"
"""Where the allow-lists policies read (as ``params``) live: a ConfigMap per policy."""
CREDENTIAL_DETECTORS = frozenset({"S001", "S002", "S003", "S006"})
SPECIAL_REASONS = {
    "N001": "judges every kind in `default`, including what the control plane writes there "
    "(the kubernetes Service's endpoints, events): inside the API server it could refuse the "
    "control plane's own writes",
    "I007": "checks signatures in registries, and CEL has no network access: the webhook's "
    "/verify-images and /pin-images do it (docs/signatures.md)",
    "W022": "requiredLimits is empty in kubeward.yaml: the rule is off",
    "W023": "requiredRequests is empty in kubeward.yaml: the rule is off",
}


TRANSLATIONS = translations()
"""What is exported with the default parameters (W022/W023 drop out when their required
resources are configured empty)."""


def why_not(rule: Rule, table: Mapping[str, Translation] = TRANSLATIONS) -> str | None:
    """None if the rule is exported, else the reason."""
    if rule.id in table:
        return None
    if rule.module.startswith(f"{POLICY_MODULE}:"):
        return "a user policy on kinds the export cannot map to API resources"
    if rule.scope is not Scope.OBJECT:
        return "needs other objects of the cluster (inventory scope): a policy sees one object"
    if rule.id == "I001":
        return "no trustedRegistries configured in kubeward.yaml: the rule is off"
    if rule.id == "I004":
        return "no insecureRegistries configured in kubeward.yaml: the rule is off"
    if rule.id in SPECIAL_REASONS:
        return SPECIAL_REASONS[rule.id]
    if rule.id == "S007":
        return "about manifests committed to a repository: every Secret admitted carries data"
    if rule.id in CREDENTIAL_DETECTORS:
        return "detects credentials with entropy and pattern checks that CEL cannot express"
    return NOT_YET


ACTIONS = {Action.DENY: ["Deny"], Action.WARN: ["Warn"], Action.AUDIT: ["Audit"]}


def export(
    rules: Sequence[Rule],
    settings: AdmissionSettings,
    action: Action | None = None,
    params: RuleParams | None = None,
    custom: Mapping[str, Definition] | None = None,
) -> tuple[list[dict[str, Any]], list[tuple[Rule, str]]]:
    """(policies and bindings, [(rule, why it is not exported)]). ``action`` overrides the
    configured per-rule actions (tests use Warn to see every verdict at once)."""
    table = dict(translations(params))
    refused: dict[str, str] = {}
    overrides = params.policy_params if params is not None else {}
    for rule_id, definition in (custom or {}).items():
        if isinstance(definition, RegoDefinition):
            refused[rule_id] = REGO_REASON
            continue
        translation = custom_translation(definition, overrides.get(rule_id, definition.params))
        if isinstance(translation, str):
            refused[rule_id] = translation
        elif translation is not None:
            table[rule_id] = translation
    objects: list[dict[str, Any]] = []
    skipped: list[tuple[Rule, str]] = []
    for rule in rules:
        reason = refused.get(rule.id) or why_not(rule, table)
        chosen = action or settings.action_for(rule.id)
        if reason is None and chosen is Action.OFF:
            reason = "its admission action is off"
        if reason is not None:
            skipped.append((rule, reason))
            continue
        objects += _policy_and_binding(rule, table[rule.id], ACTIONS[chosen], settings)
    if any(o["kind"] == "ConfigMap" for o in objects):  # the allow-lists need their namespace
        namespace = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": PARAMS_NAMESPACE},
        }
        objects.insert(0, namespace)
    return objects, skipped


def policy_name(rule: Rule) -> str:
    return f"kubeward-{rule.id.lower()}-{rule.name}"


PARAMS_SHAPE = (
    "its params are not a ConfigMap's data ({data: {key: string}}): a VAP reads params from "
    "an object in the cluster, and the export creates ConfigMaps only"
)


def custom_translation(
    definition: CelDefinition, params: Mapping[str, Any] | None = None
) -> Translation | str | None:
    """A user's CEL policy as a VAP: its expressions as they are (one dialect), ``params``
    (``policyParams:`` or its own) as a ConfigMap; None when it names a kind the export does not
    know where to find, a reason when its params cannot be a ConfigMap."""
    config_map: tuple[tuple[str, str], ...] | None = None
    if params is not None:
        data = params.get("data", {})
        if set(params) - {"data"} or not isinstance(data, dict):
            return PARAMS_SHAPE
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            return PARAMS_SHAPE
        config_map = tuple(sorted(data.items()))
    groups: dict[str, list[str]] = {}
    if definition.target.workloads:
        for group, resources in WORKLOAD_RESOURCES.items():
            groups.setdefault(group, []).extend(resources)
    for kind in sorted(definition.target.kinds):
        if kind not in KIND_RESOURCES:
            return None
        group, resource = KIND_RESOURCES[kind]
        if resource not in groups.setdefault(group, []):
            groups[group].append(resource)
    expression = " && ".join(f"({source})" for source, _ in definition.validations)
    return Translation(
        expression,
        resources=tuple((g, tuple(r)) for g, r in groups.items()),
        params=config_map,
        messages=tuple(definition.validations),
    )


def _policy_and_binding(
    rule: Rule, translation: Translation, actions: list[str], settings: AdmissionSettings
) -> list[dict[str, Any]]:
    name = policy_name(rule)
    labels = {"app.kubernetes.io/part-of": "kubeward", "kubeward.io/rule": rule.id}
    workload = not translation.resources
    variables = [{"name": "spec", "expression": POD_SPEC}] if workload else []
    variables += [{"name": n, "expression": e} for n, e in translation.variables]
    targets = (
        translation.resources
        if translation.resources
        else tuple((g, tuple(r)) for g, r in WORKLOAD_RESOURCES.items())
    )
    exempt = [n for n in settings.exempt_namespaces if not any(c in n for c in "*?[")]
    policy: dict[str, Any] = {
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
                        "resources": list(resources),
                    }
                    for group, resources in targets
                ]
            },
            "variables": variables,
            "validations": [
                {"expression": expression, "message": message, "reason": "Forbidden"}
                for expression, message in (
                    [(e, f"{rule.id} {rule.name}: {m}") for e, m in translation.messages]
                    or [(translation.expression, f"{rule.id} {rule.name}: {rule.title}")]
                )
            ],
        },
    }
    if translation.params is not None:
        policy["spec"]["paramKind"] = {"apiVersion": "v1", "kind": "ConfigMap"}
    if workload:  # a ReplicationController may come without a template: nothing to judge
        policy["spec"]["matchConditions"] = [
            {
                "name": "has-pod-spec",
                "expression": "object.kind != 'ReplicationController' || has(object.spec.template)",
            }
        ]
    if not variables:
        del policy["spec"]["variables"]
    binding: dict[str, Any] = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name, "labels": labels},
        "spec": {"policyName": name, "validationActions": actions},
    }
    extra: list[dict[str, Any]] = []
    if translation.params is not None:
        binding["spec"]["paramRef"] = {
            "name": name,
            "namespace": PARAMS_NAMESPACE,
            "parameterNotFoundAction": "Deny",
        }
        extra.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": PARAMS_NAMESPACE, "labels": labels},
                "data": dict(translation.params),
            }
        )
    if exempt:
        binding["spec"]["matchResources"] = {
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": exempt}
                ]
            }
        }
    return [*extra, policy, binding]
