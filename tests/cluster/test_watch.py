"""Watch streams against the real API server: an expired resourceVersion relists."""

from __future__ import annotations

import queue
import threading

from kubeward.cluster import kubeconfig, live
from kubeward.cluster.client import ApiClient
from kubeward.cluster.watch import CollectionWatch, Event, ObjectEvent, Relisted
from tests.testcluster import TestCluster


def test_an_expired_resource_version_relists_the_collection(cluster: TestCluster) -> None:
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "expired"}}
    configmaps = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": "expired"}}
        for i in range(3)
    ]  # fmt: skip
    cluster.apply([namespace, *configmaps])
    connection = kubeconfig.load(str(cluster.kubeconfig))
    kind = next(k for k in live.CATALOG_KINDS if k.kind == "ConfigMap")
    with ApiClient(connection) as client:
        resource = live.discover(client, [kind]).resources[kind]
        read = live.read(client, ["expired"], [kind])
    (collection,) = read.collections
    # changes, then history compacted and the API server restarted (its watch cache starts
    # afresh): the list's version is gone, so the watch gets 410 and must relist
    cluster.apply([{**configmaps[1], "data": {"changed": "before"}}])
    cluster.compact_etcd()
    cluster.restart_apiserver()
    events: queue.Queue[Event] = queue.Queue()
    stop = threading.Event()
    watch = CollectionWatch(connection, collection, events, stop)
    watch.start()
    try:
        first = events.get(timeout=30)
        assert isinstance(first, Relisted), first
        names = sorted(item["metadata"]["name"] for item in first.items)
        assert [n for n in names if n.startswith("cm-")] == ["cm-0", "cm-1", "cm-2"]
        (changed,) = [i for i in first.items if i["metadata"]["name"] == "cm-1"]
        assert changed["data"] == {"changed": "before"}  # the relist has what the watch missed
        assert first.collection.resource == resource
        # and the watch goes on from the relisted version
        cluster.apply([{**configmaps[0], "data": {"changed": "yes"}}])
        while True:
            event = events.get(timeout=30)
            if isinstance(event, ObjectEvent) and event.item["metadata"]["name"] == "cm-0":
                break
        assert event.type == "MODIFIED"
    finally:
        stop.set()
