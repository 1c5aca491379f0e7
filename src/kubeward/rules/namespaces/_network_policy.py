"""NetworkPolicy semantics shared by the N rules, as the ``networking.k8s.io/v1`` API defines
them.

- ``spec.podSelector`` selects the pods the policy applies to in its own namespace; an empty
  selector (``{}``, or the field left out) selects every pod of the namespace.
- ``spec.policyTypes`` says which directions the policy isolates. When it is missing or empty,
  the API server defaults it to ``[Ingress]``, plus ``Egress`` if the policy has egress rules.
  Rules of a direction the policy does not isolate have no effect.
- A rule without peers (no ``from``/``to``, or an empty list) matches every source or
  destination; a rule without ports (or an empty list) matches every port.
- A peer with only ``namespaceSelector`` selects every pod of the selected namespaces; with
  both selectors, the pods matching ``podSelector`` in those namespaces; with only
  ``podSelector``, pods of the policy's own namespace. An empty selector matches everything.
  A peer with none of them is rejected ("must specify a peer"), as is ``ipBlock`` with another.
- A port entry without ``port`` (or a null entry) matches every port of its protocol, which
  defaults to TCP.

Sources: the NetworkPolicy concept page and API reference on kubernetes.io, checked against
a v1.35 API server (defaulting and validation of each shape above).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from kubeward.model import K8sObject, Path, Violation, shown
from kubeward.model.objects import api_group

#: API groups whose ``NetworkPolicy`` kind has the Kubernetes semantics (``extensions`` is the
#: pre-1.16 home of the same type).
K8S_GROUPS = frozenset({"networking.k8s.io", "extensions"})
INGRESS, EGRESS = "Ingress", "Egress"


def is_k8s_network_policy(obj: K8sObject) -> bool:
    return obj.kind == "NetworkPolicy" and api_group(obj.api_version) in K8S_GROUPS


def policy_spec(obj: K8sObject) -> Mapping[str, Any]:
    spec = obj.raw.get("spec")
    return spec if isinstance(spec, dict) else {}


def policy_types(spec: Mapping[str, Any]) -> frozenset[str]:
    """The directions the policy isolates, after the API server's defaulting."""
    types = spec.get("policyTypes")
    if isinstance(types, list) and types:
        return frozenset(t for t in types if isinstance(t, str))
    egress = spec.get("egress")
    if isinstance(egress, list) and egress:
        return frozenset({INGRESS, EGRESS})
    return frozenset({INGRESS})


def pod_selector(spec: Mapping[str, Any]) -> Any:
    """``spec.podSelector``; a missing one is the empty selector (all pods of the namespace)."""
    selector = spec.get("podSelector")
    return {} if selector is None else selector


def empty_selector(selector: Any) -> bool:
    return (
        isinstance(selector, dict)
        and not selector.get("matchLabels")
        and not selector.get("matchExpressions")
    )


def _whole_range(cidr: Any) -> str | None:
    """``"IPv4"``/``"IPv6"`` if ``cidr`` covers the whole address space (prefix length 0)."""
    if not isinstance(cidr, str):
        return None
    try:
        network = ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None
    return f"IPv{network.version}" if network.prefixlen == 0 else None


def _ports(rule: Mapping[str, Any]) -> str:
    ports = rule.get("ports")
    if not isinstance(ports, list) or not ports:
        return "on every port"
    listed: list[str] = []
    for entry in ports:
        item = {} if entry is None else entry  # a null entry decodes as the zero port: TCP, all
        if not isinstance(item, dict):
            continue
        protocol = item.get("protocol")
        protocol = protocol if isinstance(protocol, str) else "TCP"
        port, end = item.get("port"), item.get("endPort")
        if port is None:
            listed.append(f"every {protocol} port")
        elif isinstance(end, int) and not isinstance(end, bool):
            listed.append(f"{protocol} {shown(port)}-{end}")
        else:
            listed.append(f"{protocol} {shown(port)}")
    return "on " + ", ".join(listed) if listed else "on every port"


def _open_peer(peer: Any) -> str | None:
    """Whom ``peer`` lets through when that is everybody (a phrase for the message), or None."""
    if peer is None or (isinstance(peer, dict) and all(v is None for v in peer.values())):
        return (
            "everyone: an empty peer `{}` restricts nothing (and the API server rejects it "
            "as 'must specify a peer')"
        )
    if not isinstance(peer, dict):
        return None
    block = peer.get("ipBlock")
    if isinstance(block, dict):
        family = _whole_range(block.get("cidr"))
        excepted = block.get("except")
        if family is not None and not (isinstance(excepted, list) and excepted):
            return f"every {family} address (ipBlock {block.get('cidr')})"
        return None
    namespaces = peer.get("namespaceSelector")
    pods = peer.get("podSelector")
    if empty_selector(namespaces) and (pods is None or empty_selector(pods)):
        return "every pod of every namespace (empty namespaceSelector)"
    return None


def open_rules(obj: K8sObject, direction: str) -> Iterator[Violation]:
    """Violations for each rule or peer of ``direction`` that lets everybody through."""
    if not is_k8s_network_policy(obj):
        return
    spec = policy_spec(obj)
    if direction not in policy_types(spec):
        return
    if direction == INGRESS:
        key, peers_key, verb = "ingress", "from", "admits traffic from"
    else:
        key, peers_key, verb = "egress", "to", "allows traffic to"
    rules = spec.get(key)
    if not isinstance(rules, list):
        return
    for index, item in enumerate(rules):
        rule = {} if item is None else item  # a null rule is the zero value: an empty rule
        if not isinstance(rule, dict):
            continue
        where: Path = ("spec", key, index)
        ports = _ports(rule)
        peers = rule.get(peers_key)
        if peers is None or peers == []:
            state = "no" if peers is None else "an empty"
            yield Violation(
                where if peers is None else (*where, peers_key),
                f"{key} rule {index} has {state} `{peers_key}`, so it {verb} everyone, "
                f"in or outside the cluster, {ports}",
            )
            continue
        if not isinstance(peers, list):
            continue
        for peer_index, peer in enumerate(peers):
            who = _open_peer(peer)
            if who is not None:
                yield Violation(
                    (*where, peers_key, peer_index),
                    f"{key} rule {index} {verb} {who}, {ports}",
                )
