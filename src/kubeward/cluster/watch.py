"""Watching collections: one thread per listed collection, changes into one queue.

Each watch starts at its list's resourceVersion, asks for bookmarks (so its resourceVersion
stays fresh on quiet collections) and, when the server ends the stream, resumes from the last
version it saw. A 410 (the version is too old) relists the collection and hands the whole
listing over; a lost connection (an API server restart) is retried with backoff and resumed
from the last version, so no change is missed. A stream that ends without delivering anything
is resumed after a bounded, jittered exponential backoff (a server that closes streams at once
must not be hammered). A watch that cannot go on — forbidden, or a request the server rejects —
is reported as lost (a coverage gap); refused credentials (after renewing them, when they can
be) are fatal. Secrets are watched metadata-only (``PartialObjectMetadata``; values a server
sends anyway are dropped on arrival), and a second watch with a field selector says which of
them are service-account tokens.
"""

from __future__ import annotations

import queue
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubeward.cluster.client import (
    ApiClient,
    ApiError,
    Authenticator,
    Forbidden,
    Gone,
    Unauthorized,
    without_values,
)
from kubeward.cluster.kubeconfig import Connection
from kubeward.cluster.live import SERVICE_ACCOUNT_TOKEN, Collection, metadata_ignored
from kubeward.errors import ClusterError

WATCH_SECONDS = 60
"""Server-side timeout of one watch request; the stream is then resumed."""
FIRST_BACKOFF = 0.5
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
    """This collection is no longer watched (forbidden, or rejected): a coverage gap."""
    fatal: bool = False
    """The credentials were refused (also fresh ones): nothing can be watched any more."""


Event = ObjectEvent | Relisted | TokenSecret | Status


class Backoff:
    """Bounded exponential backoff with jitter (so many watches do not retry in step)."""

    def __init__(self) -> None:
        self.delay = FIRST_BACKOFF

    def next(self) -> float:
        delay = self.delay * (0.5 + random.random())  # noqa: S311 - jitter, not crypto
        self.delay = min(MAX_BACKOFF, self.delay * 2)
        return min(MAX_BACKOFF, delay)

    def reset(self) -> None:
        self.delay = FIRST_BACKOFF


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
        auth: Authenticator | None = None,
    ) -> None:
        name = f"watch {collection.resource.path(collection.namespace)}"
        super().__init__(name=name, daemon=True)
        self.connection = connection
        self.collection = collection
        self.out = out
        self.stop_event = stop
        self.tokens_only = tokens_only
        self.auth = auth
        self.resource_version = collection.resource_version
        self.streams = 0
        """Watch requests made (tests check that a closing server is not hammered)."""
        self._warned = False

    @property
    def _params(self) -> Mapping[str, Any]:
        return {"fieldSelector": f"type={SERVICE_ACCOUNT_TOKEN}"} if self.tokens_only else {}

    @property
    def _metadata_only(self) -> bool:
        return self.collection.resource.kind.metadata_only

    def run(self) -> None:
        path = self.collection.resource.path(self.collection.namespace)
        backoff = Backoff()
        lost = False
        relist = False
        with ApiClient(self.connection, auth=self.auth) as client:
            while not self.stop_event.is_set():
                try:
                    if relist:
                        self._relist(client, path)
                        relist, delivered = False, True
                    else:
                        delivered = self._stream(client, path)
                    if lost and delivered:
                        lost = False
                        self.out.put(Status(self.collection, f"{path}: watching again"))
                except Gone:
                    delivered, relist = False, True
                except Unauthorized as exc:
                    self.out.put(Status(self.collection, f"{path}: {exc}", lost=True, fatal=True))
                    return
                except Forbidden as exc:
                    message = f"{path}: no longer allowed to watch ({exc.message})"
                    self.out.put(Status(self.collection, message, lost=True))
                    return
                except ApiError as exc:
                    if 400 <= exc.status < 500 and exc.status != 429:
                        # the request itself is rejected: retrying cannot help
                        message = f"{path}: cannot watch ({exc})"
                        self.out.put(Status(self.collection, message, lost=True))
                        return
                    delivered = False
                    lost = self._retrying(path, exc, lost)
                except ClusterError as exc:
                    delivered = False
                    lost = self._retrying(path, exc, lost)
                if delivered:
                    backoff.reset()
                else:
                    self.stop_event.wait(backoff.next())

    def _retrying(self, path: str, exc: Exception, lost: bool) -> bool:
        if not lost:
            self.out.put(Status(self.collection, f"{path}: {exc}; retrying"))
        return True

    def _stream(self, client: ApiClient, path: str) -> bool:
        """One watch request, until the server ends it; whether it delivered any event."""
        self.streams += 1
        delivered = False
        for event in client.watch(
            path,
            self.resource_version,
            self._params,
            metadata_only=self._metadata_only,
            timeout_seconds=WATCH_SECONDS,
        ):
            delivered = True
            self._handle(event, path)
            if self.stop_event.is_set():
                break
        return delivered

    def _handle(self, event: dict[str, Any], path: str) -> None:
        kind = event.get("type")
        item = event.get("object")
        if not isinstance(item, dict):
            return
        if self._metadata_only and kind in ("ADDED", "MODIFIED", "DELETED"):
            self._check_metadata(without_values(item, "PartialObjectMetadata"), path)
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

    def _check_metadata(self, ignored: bool, path: str) -> None:
        """Say once that the server sent values where metadata was asked for (dropped)."""
        if ignored and not self._warned:
            self._warned = True
            self.out.put(Status(self.collection, metadata_ignored(path)))

    def _relist(self, client: ApiClient, path: str) -> None:
        """List again after a 410 (errors are handled, and retried, as the watch's)."""
        if self._metadata_only:
            items, version, ignored = client.list_metadata(path, self._params)
            self._check_metadata(ignored, path)
        else:
            items, version = client.list(path, self._params)
        self.resource_version = version
        if self.tokens_only:
            for item in items:
                meta = item.get("metadata")
                if isinstance(meta, dict):
                    self.out.put(TokenSecret(str(meta.get("uid")), True))
        else:
            self.out.put(Relisted(self.collection, items))
