"""Watching collections: one thread per listed collection, changes into one queue.

Each watch starts at its list's resourceVersion, asks for bookmarks (so its resourceVersion
stays fresh on quiet collections) and, when the server ends the stream, resumes from the last
version it saw. A 410 (the version is too old) relists the collection and hands the whole
listing over; a lost connection (an API server restart) is retried with backoff and resumed
from the last version, so no change is missed. Secrets are watched metadata-only, and a second
watch with a field selector says which of them are service-account tokens.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeward.cluster.client import (
    METADATA_ONLY,
    ApiClient,
    ApiError,
    Forbidden,
    Gone,
)
from kubeward.cluster.kubeconfig import Connection
from kubeward.cluster.live import SERVICE_ACCOUNT_TOKEN, Collection
from kubeward.errors import ClusterError

WATCH_SECONDS = 60
"""Server-side timeout of one watch request; the stream is then resumed."""
MAX_BACKOFF = 10.0


@dataclass(frozen=True)
class ObjectEvent:
    """ADDED, MODIFIED or DELETED: one object of one collection."""

    type: str
    collection: Collection
    item: dict[str, Any]


@dataclass(frozen=True)
class Relisted:
    """The watch fell too far behind: here is the whole collection again."""

    collection: Collection
    items: list[dict[str, Any]]


@dataclass(frozen=True)
class TokenSecret:
    """A Secret (by uid) is, or stopped being, a service-account token."""

    uid: str
    present: bool


@dataclass(frozen=True)
class Status:
    """Something worth telling the user: a lost connection, a resumed watch, a gap."""

    collection: Collection
    message: str
    lost: bool = False
    """Forbidden: this collection is no longer watched."""


Event = ObjectEvent | Relisted | TokenSecret | Status


class CollectionWatch(threading.Thread):
    """Watches one collection until ``stop`` is set (a daemon: the process may just exit)."""

    def __init__(
        self,
        connection: Connection,
        collection: Collection,
        out: queue.Queue[Event],
        stop: threading.Event,
        *,
        tokens_only: bool = False,
    ) -> None:
        name = f"watch {collection.resource.path(collection.namespace)}"
        super().__init__(name=name, daemon=True)
        self.connection = connection
        self.collection = collection
        self.out = out
        self.stop_event = stop
        self.tokens_only = tokens_only
        self.resource_version = collection.resource_version

    @property
    def _params(self) -> Mapping[str, Any]:
        return {"fieldSelector": f"type={SERVICE_ACCOUNT_TOKEN}"} if self.tokens_only else {}

    @property
    def _accept(self) -> str | None:
        return METADATA_ONLY if self.collection.resource.kind.metadata_only else None

    def run(self) -> None:
        path = self.collection.resource.path(self.collection.namespace)
        backoff = 0.5
        lost = False
        with ApiClient(self.connection) as client:
            while not self.stop_event.is_set():
                try:
                    for event in client.watch(
                        path,
                        self.resource_version,
                        self._params,
                        accept=self._accept,
                        timeout_seconds=WATCH_SECONDS,
                    ):
                        if lost:
                            lost = False
                            self.out.put(Status(self.collection, f"{path}: watching again"))
                        self._handle(event)
                        if self.stop_event.is_set():
                            return
                    backoff = 0.5
                except Gone:
                    self._relist(client, path)
                except Forbidden as exc:
                    message = f"{path}: no longer allowed to watch ({exc.message})"
                    self.out.put(Status(self.collection, message, lost=True))
                    return
                except (ClusterError, ApiError) as exc:
                    if not lost:
                        lost = True
                        self.out.put(Status(self.collection, f"{path}: {exc}; retrying"))
                    self.stop_event.wait(backoff)
                    backoff = min(MAX_BACKOFF, backoff * 2)

    def _handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        item = event.get("object")
        if not isinstance(item, dict):
            return
        meta = item.get("metadata")
        version = meta.get("resourceVersion") if isinstance(meta, dict) else None
        if isinstance(version, str) and version:
            self.resource_version = version
        if kind == "BOOKMARK" or kind not in ("ADDED", "MODIFIED", "DELETED"):
            return
        if self.tokens_only:
            uid = str(meta.get("uid")) if isinstance(meta, dict) else ""
            self.out.put(TokenSecret(uid, kind != "DELETED"))
            return
        if isinstance(meta, dict):
            meta.pop("managedFields", None)
        self.out.put(ObjectEvent(str(kind), self.collection, item))

    def _relist(self, client: ApiClient, path: str) -> None:
        """Relist after a 410; retried like a lost connection until it works or we stop."""
        backoff = 0.5
        while not self.stop_event.is_set():
            try:
                items, version = client.list(path, self._params, accept=self._accept)
            except (ClusterError, ApiError):
                self.stop_event.wait(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            self.resource_version = version
            if self.tokens_only:
                for item in items:
                    meta = item.get("metadata")
                    if isinstance(meta, dict):
                        self.out.put(TokenSecret(str(meta.get("uid")), True))
            else:
                self.out.put(Relisted(self.collection, items))
            return
