"""The kinds a live scan lists, the catalog's needs and deploy/rbac.yaml stay in step."""

from __future__ import annotations

from pathlib import Path

import yaml

from kubeward.cluster.live import CATALOG_KINDS, CRD_PLURALS, Kind, Resource, live_object
from kubeward.model.objects import BUILTIN_POD_SPEC_PATHS, CRD_POD_SPEC_PATHS
from kubeward.rules import ALL_RULES

RBAC = Path(__file__).resolve().parent.parent / "deploy" / "rbac.yaml"


def test_every_kind_a_rule_reads_is_listed() -> None:
    listed = {kind.kind for kind in CATALOG_KINDS}
    targeted = set().union(*(rule.target.kinds for rule in ALL_RULES))
    assert targeted <= listed
    # workloads: every built-in kind with a pod spec (PodTemplate is not a workload)
    assert set(BUILTIN_POD_SPEC_PATHS) - {"PodTemplate"} <= listed
    assert set(CRD_PLURALS) == set(CRD_POD_SPEC_PATHS)


def test_the_deployed_role_grants_exactly_list_and_watch_on_the_listed_kinds() -> None:
    documents = list(yaml.safe_load_all(RBAC.read_text()))
    (role,) = [d for d in documents if d["kind"] == "ClusterRole"]
    granted = set()
    for rule in role["rules"]:
        assert sorted(rule["verbs"]) == ["list", "watch"], rule
        granted |= {(g, r) for g in rule["apiGroups"] for r in rule["resources"]}
    assert granted == {(kind.group, kind.plural) for kind in CATALOG_KINDS}
    (binding,) = [d for d in documents if d["kind"] == "ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_live_objects_live_where_the_api_server_says() -> None:
    """Discovery's ``namespaced`` decides, not kubeward's table of kinds: a cluster-scoped
    custom resource listed from a cluster is never "in the default namespace"."""
    cluster_wide = Resource(
        Kind("example.com", "Widget", "widgets"), "example.com/v1", "widgets", False
    )
    namespaced = Resource(
        Kind("example.com", "Gadget", "gadgets"), "example.com/v1", "gadgets", True
    )
    widget = live_object({"metadata": {"name": "w"}}, cluster_wide, set())
    gadget = live_object({"metadata": {"name": "g", "namespace": "shop"}}, namespaced, set())
    assert (widget.namespace, widget.namespace_source) == (None, "cluster")
    assert (gadget.namespace, gadget.namespace_source) == ("shop", "explicit")
