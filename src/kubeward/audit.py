"""``kubeward audit``: scan a live cluster into the history store, once or continuously.

With ``--watch`` the cluster is listed once, then watched (``kubeward.cluster.watch``). Each
batch of changes re-evaluates only what it can affect: the object-scope rules of the objects
that changed, and the inventory-scope rules of the namespaces they are in (every inventory rule
of the catalog relates objects within one namespace: a workload and its service account, its
NetworkPolicies, the other workloads sharing its account). The findings that appear and
disappear are emitted as JSON lines and recorded; a full snapshot is recorded at start, every
``snapshot_interval`` and at the end. A collection whose watch is lost for good becomes a
coverage gap from then on (emitted, and in every later snapshot's scope); credentials the API
server refuses even when fresh end the session (``failure``).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import msgspec

from kubeward.cluster import kubeconfig, live
from kubeward.cluster.client import ApiClient, Authenticator
from kubeward.cluster.watch import (
    CollectionWatch,
    Event,
    ObjectEvent,
    Relisted,
    Status,
    TokenSecret,
)
from kubeward.engine import EngineSettings, Evaluation, evaluate, merge
from kubeward.errors import ClusterError, ConfigError
from kubeward.history import HistoryStore, fingerprint, scope_of
from kubeward.model import Finding, Inventory, K8sObject, ScanResult
from kubeward.policies.loader import isolate_leaking_policies
from kubeward.rules._base import Scope
from kubeward.scan import (
    ClusterTarget,
    ScanRequest,
    build_result,
    check_ids,
    cluster_source,
    custom_policies,
    engine_settings,
    request_rules,
)

Emit = Callable[[dict[str, Any]], None]
BATCH_SECONDS = 0.2
"""After a change, wait this long for more before evaluating (bursts become one batch)."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class _State:
    """The watched cluster as kubeward holds it, and the findings on it."""

    objects: dict[str, K8sObject] = field(default_factory=dict)
    """By uid."""
    tokens: set[str] = field(default_factory=set)
    findings: dict[str, Finding] = field(default_factory=dict)
    """By fingerprint (the current findings, not suppressed)."""


class AuditSession:
    """One ``audit --watch`` run: ``start()``, then ``run(stop)`` until stopped."""

    def __init__(
        self,
        request: ScanRequest,
        emit: Emit,
        store: HistoryStore | None = None,
        *,
        snapshot_interval: float = 3600.0,
    ) -> None:
        if request.cluster is None:
            raise ValueError("audit needs a cluster target")
        self.request = request
        self.target: ClusterTarget = request.cluster
        self.emit = emit
        self.store = store
        self.snapshot_interval = snapshot_interval
        custom = custom_policies(request.config, request.policies)
        if custom.problems:  # a watch runs for hours: a broken policy must not go unnoticed
            raise ConfigError(
                "policies: "
                + "; ".join(f"{p.file}:{p.line or '?'}: {p.message}" for p in custom.problems)
            )
        check_ids(request, custom)
        self.rules = request_rules(request, custom)
        isolate_leaking_policies(custom, self.rules)  # long-running: see policies.cel_worker
        self.policies = tuple(custom.rules)
        """Every user policy loaded, selected or not (annotations may name them)."""
        self.object_rules = tuple(r for r in self.rules if r.scope is Scope.OBJECT)
        self.inventory_rules = tuple(r for r in self.rules if r.scope is Scope.INVENTORY)
        self.state = _State()
        self.events: queue.Queue[Event] = queue.Queue()
        self.session_id: int | None = None
        self.watches: list[CollectionWatch] = []
        self.gaps: list[live.Gap] = []
        self.warnings: list[str] = []
        self.failure: str | None = None
        """Why the session had to end (credentials refused), if it did."""

    # -- start: list, evaluate everything, record, start watching ----------------------------

    def start(self, stop: threading.Event) -> ScanResult:
        self.connection = kubeconfig.load(self.target.kubeconfig, self.target.context)
        # one set of credentials for every watch: an exec plugin is re-run once, not per watch
        self.auth = Authenticator(self.connection)
        with ApiClient(self.connection, auth=self.auth) as client:
            read = live.read(client, self.target.namespaces)
        self.gaps = read.gaps
        self.warnings = read.warnings
        self.collections = read.collections
        self.state.tokens = set(read.token_secrets)
        for obj in read.objects:
            self.state.objects[live.uid_of(obj.raw)] = obj
        result = self.snapshot()
        self.state.findings = {fingerprint(f): f for f in result.findings}
        if self.store is not None:
            self.session_id = self.store.record_scan(
                result, kind="audit", source=scope_of(result).label()
            )
        self.emit(
            {
                "type": "snapshot",
                "at": now(),
                "scanId": self.session_id,
                "objects": result.summary.objects,
                "findings": result.summary.findings,
                "coverageGaps": result.summary.coverage_gaps,
            }
        )
        for collection in self.collections:
            self.watches.append(
                CollectionWatch(self.connection, collection, self.events, stop, auth=self.auth)
            )
            if collection.resource.kind.kind == "Secret":
                self.watches.append(
                    CollectionWatch(
                        self.connection, collection, self.events, stop,
                        tokens_only=True, auth=self.auth,
                    )
                )  # fmt: skip
        for watch in self.watches:
            watch.start()
        return result

    def settings(self, started: datetime) -> EngineSettings:
        # what the listing could not read stays unread for the session (Rule.reads)
        settings = engine_settings(self.request, started, self.policies)
        return replace(settings, unread=live.unread(self.gaps))

    def snapshot(self) -> ScanResult:
        """A full evaluation of the current state, as a scan result."""
        started = datetime.now(UTC)
        clock = time.perf_counter()
        objects = live.without_controlled(list(self.state.objects.values()))
        evaluation = evaluate(Inventory(objects), self.rules, self.settings(started))
        read = live.LiveObjects(objects=objects, gaps=self.gaps, warnings=self.warnings)
        source = cluster_source(self.target, self.connection, read)
        return build_result(
            self.request, source, self.rules, evaluation,
            started=started, duration=time.perf_counter() - clock,
        )  # fmt: skip

    # -- the watch loop ----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        last_snapshot = time.monotonic()
        while not stop.is_set() and self.failure is None:
            batch = self._next_batch(stop)
            if batch:
                self.apply(batch)
            if self.store is not None and time.monotonic() - last_snapshot > self.snapshot_interval:
                self.record_snapshot()
                last_snapshot = time.monotonic()

    def finish(self) -> None:
        if self.store is not None:
            self.record_snapshot()
        self.emit({"type": "stopped", "at": now(), "findings": len(self.state.findings)})

    def record_snapshot(self) -> None:
        if self.store is None:
            return
        result = self.snapshot()
        scan_id = self.store.record_scan(result, kind="audit", source=scope_of(result).label())
        self.emit(
            {
                "type": "recorded",
                "at": now(),
                "scanId": scan_id,
                "coverageGaps": result.summary.coverage_gaps,
            }
        )

    def exit_code(self) -> int:
        """As for scans: 2 with coverage gaps (unless partial coverage is allowed), else 0 (a
        watch reports findings as it goes; they do not fail it). Refused credentials raise."""
        if self.failure is not None:
            raise ClusterError(self.failure)
        return 2 if self.gaps and not self.target.allow_partial else 0

    def _next_batch(self, stop: threading.Event) -> list[Event]:
        try:
            first = self.events.get(timeout=0.5)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + BATCH_SECONDS
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self.events.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def apply(self, batch: Iterable[Event]) -> None:
        """Fold a batch of changes into the state and emit what it changed in the findings."""
        changed = _Changes()
        objects = self.state.objects
        for event in batch:
            if isinstance(event, Status):
                self.emit({"type": "status", "at": now(), "message": event.message})
                if event.lost:
                    self._lost(event)
                continue
            if isinstance(event, TokenSecret):
                if event.present:
                    self.state.tokens.add(event.uid)
                else:
                    self.state.tokens.discard(event.uid)
                obj = objects.get(event.uid)
                if obj is not None:
                    self._retype(event.uid, obj, changed)
                continue
            if isinstance(event, Relisted):
                self._relisted(event, changed)
                continue
            assert isinstance(event, ObjectEvent)  # noqa: S101 - the union is exhausted
            if not self._in_scope(event.collection, event.item):
                continue
            uid = live.uid_of(event.item)
            old = objects.pop(uid, None)
            if old is not None:
                changed.note(old)
            if event.type != "DELETED":
                new = live.live_object(event.item, event.collection.resource, self.state.tokens)
                objects[uid] = new
                changed.note(new, uid)
        if changed.identities:
            self._reevaluate(changed)

    def _in_scope(self, collection: live.Collection, item: dict[str, Any]) -> bool:
        """Namespace objects are watched cluster-wide: keep those of the audited namespaces,
        as the first listing did."""
        return live.in_scope(collection.resource.kind.kind, item, self.target.namespaces)

    def _lost(self, event: Status) -> None:
        """A watch that cannot go on: its collection is a coverage gap from now on (every
        collection when the credentials were refused: the session ends)."""
        lost = [c.collection for c in self.watches] if event.fatal else [event.collection]
        if event.fatal:
            self.failure = event.message
        known = {(g.resource, g.group, g.namespace) for g in self.gaps}
        for collection in lost:
            kind = collection.resource.kind
            key = (collection.resource.plural, kind.group, collection.namespace)
            if key in known:
                continue
            known.add(key)
            gap = live.Gap("watch", key[0], key[1], key[2], event.message)
            self.gaps.append(gap)
            self.emit(
                {
                    "type": "gap",
                    "at": now(),
                    "verb": gap.verb,
                    "resource": gap.resource,
                    "group": gap.group,
                    "namespace": gap.namespace,
                    "message": gap.message,
                    "coverageGaps": len(self.gaps),
                }
            )

    def _retype(self, uid: str, obj: K8sObject, changed: _Changes) -> None:
        """A Secret turned out to be (or not be) a service-account token: judge it again."""
        resource = next(c.resource for c in self.collections if c.resource.kind.kind == obj.kind)
        raw = {k: v for k, v in obj.raw.items() if k != "type"}
        new = live.live_object(raw, resource, self.state.tokens)
        self.state.objects[uid] = new
        changed.note(new, uid)

    def _relisted(self, event: Relisted, changed: _Changes) -> None:
        resource = event.collection.resource
        namespace = event.collection.namespace
        current = {
            uid
            for uid, obj in self.state.objects.items()
            if obj.kind == resource.kind.kind
            and obj.api_version == resource.api_version
            and (namespace is None or obj.namespace == namespace)
        }
        listed = {
            live.uid_of(item): live.live_object(item, resource, self.state.tokens)
            for item in event.items
            if self._in_scope(event.collection, item)
        }
        for uid in current - listed.keys():
            changed.note(self.state.objects.pop(uid))
        for uid, obj in listed.items():
            old = self.state.objects.get(uid)
            if old is not None:
                changed.note(old)
            self.state.objects[uid] = obj
            changed.note(obj, uid)

    def _reevaluate(self, changed: _Changes) -> None:
        objects = live.without_controlled(list(self.state.objects.values()))
        inventory = Inventory(objects)
        kept = {id(obj) for obj in objects}
        settings = self.settings(datetime.now(UTC))
        touched = [
            self.state.objects[uid]
            for uid in changed.uids
            if uid in self.state.objects and id(self.state.objects[uid]) in kept
        ]
        # The catalog's inventory rules relate objects within one namespace: judge again every
        # object of the touched namespaces (a cluster-scoped change touches all of them).
        everything = None in changed.namespaces
        related = [
            obj
            for obj in objects
            if everything
            or obj.namespace in changed.namespaces
            or (obj.kind == "Namespace" and obj.name in changed.namespaces)
        ]
        parts = [
            evaluate(inventory, self.object_rules, settings, objects=touched, final=False),
            evaluate(inventory, self.inventory_rules, settings, objects=related, final=False),
        ]
        evaluation: Evaluation = merge(parts)
        rejudged_inventory = {_identity(obj) for obj in related} | changed.identities
        inventory_ids = {r.id for r in self.inventory_rules}
        before = self.state.findings
        after = {
            key: finding
            for key, finding in before.items()
            if _identity_of(finding)
            not in (rejudged_inventory if finding.rule_id in inventory_ids else changed.identities)
        }
        after.update((fingerprint(f), f) for f in evaluation.findings)
        self.state.findings = after
        self._report(
            [after[k] for k in after.keys() - before.keys()],
            [before[k] for k in before.keys() - after.keys()],
        )

    def _report(self, new: list[Finding], resolved: list[Finding]) -> None:
        at = now()
        for kind, findings in (("new", new), ("resolved", resolved)):
            for finding in sorted(findings, key=fingerprint):
                self.emit({"type": kind, "at": at, "finding": msgspec.to_builtins(finding)})
        if self.store is not None and self.session_id is not None and (new or resolved):
            self.store.record_events(
                self.session_id,
                [("new", f) for f in new] + [("resolved", f) for f in resolved],
                at=at,
            )


Identity = tuple[str, str | None, str]


def _identity(obj: K8sObject) -> Identity:
    return (obj.kind, obj.namespace, obj.name)


def _identity_of(finding: Finding) -> Identity:
    return (finding.object.kind, finding.object.namespace, finding.object.name)


@dataclass
class _Changes:
    """What a batch touched: objects (before and after the change) and namespaces."""

    uids: set[str] = field(default_factory=set)
    identities: set[Identity] = field(default_factory=set)
    namespaces: set[str | None] = field(default_factory=set)

    def note(self, obj: K8sObject, uid: str | None = None) -> None:
        self.identities.add(_identity(obj))
        # a Namespace object touches its own namespace; None = a cluster-scoped change
        self.namespaces.add(obj.name if obj.kind == "Namespace" else obj.namespace)
        if uid is not None:
            self.uids.add(uid)
