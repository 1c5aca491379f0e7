"""The cluster's Namespaces, for users' CEL policies that read ``namespaceObject``.

An AdmissionReview does not carry the Namespace of the object it admits; the API server's own
ValidatingAdmissionPolicies read it from its informer cache. The webhook does the same: it
lists the Namespaces once at start-up (and refuses to start if it cannot: a policy must never
judge with a Namespace it was not allowed to see) and keeps the copy current with a watch, so
a review never waits on the API server. Only started when a loaded policy reads
``namespaceObject``; it needs ``get``/``list``/``watch`` on namespaces (``admission
manifests --namespace-lookup`` grants exactly that).
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any

from kubeward.cluster.client import ApiClient, ApiError
from kubeward.cluster.kubeconfig import Connection
from kubeward.cluster.live import Collection, Kind, Resource
from kubeward.cluster.watch import CollectionWatch, Event, ObjectEvent, Relisted, Status
from kubeward.errors import ClusterError

log = logging.getLogger("kubeward.admission")

NAMESPACES = Resource(Kind("", "Namespace", "namespaces"), "v1", "namespaces", namespaced=False)


class NamespaceCache:
    """Namespace manifests by name, kept current by a watch (daemon threads)."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._objects: dict[str, dict[str, Any]] = {}
        self._events: queue.Queue[Event] = queue.Queue()
        self._stop = threading.Event()

    def start(self) -> None:
        """List every Namespace, then follow changes; raises ``ClusterError`` if the first
        listing fails (no permission, API server unreachable)."""
        try:
            with ApiClient(self.connection) as client:
                items, version = client.list(NAMESPACES.path())
        except ApiError as exc:
            raise ClusterError(f"cannot list namespaces: {exc}") from None
        self._replace(items)
        collection = Collection(NAMESPACES, None, version)
        CollectionWatch(self.connection, collection, self._events, self._stop).start()
        threading.Thread(target=self._apply, name="namespace cache", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def namespace_object(self, name: str) -> dict[str, Any] | None:
        # One dict read: atomic under the GIL, so reviews never wait for the watch.
        return self._objects.get(name)

    def __len__(self) -> int:
        return len(self._objects)

    def _replace(self, items: list[dict[str, Any]]) -> None:
        fresh = {}
        for item in items:
            name = _name(item)
            if name:
                fresh[name] = _trimmed(item)
        self._objects = fresh  # swapped whole: a reader sees the old or the new listing

    def _apply(self) -> None:
        while not self._stop.is_set():
            event = self._events.get()
            if isinstance(event, Relisted):
                self._replace(event.items)
            elif isinstance(event, ObjectEvent):
                name = _name(event.item)
                if not name:
                    continue
                if event.type == "DELETED":
                    self._objects.pop(name, None)
                else:
                    self._objects[name] = _trimmed(event.item)
            elif isinstance(event, Status):
                log.warning("namespace cache: %s", event.message)


def _name(item: dict[str, Any]) -> str | None:
    meta = item.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and name else None


def _trimmed(item: dict[str, Any]) -> dict[str, Any]:
    """The Namespace as a policy sees it (a listing's items carry no apiVersion and kind)."""
    meta = item.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return {"apiVersion": "v1", "kind": "Namespace", **item}
