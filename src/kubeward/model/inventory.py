"""All objects of one scan, indexed for the rules that look across objects."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from typing import Any, Protocol, TypeVar

from kubeward.model.objects import K8sObject

T = TypeVar("T")


class NamespaceLookup(Protocol):
    """Where users' CEL policies find ``namespaceObject``: the inventory in a scan, the
    webhook's watch of the cluster's Namespaces at admission."""

    def namespace_object(self, name: str) -> dict[str, Any] | None: ...


class Inventory:
    """An immutable collection of objects with lookup by kind, namespace and name."""

    def __init__(self, objects: Iterable[K8sObject], context: Iterable[K8sObject] = ()) -> None:
        self.objects: tuple[K8sObject, ...] = tuple(objects)
        self.context: tuple[K8sObject, ...] = tuple(context)
        """Objects known to exist but not judged: the API server's default RBAC policy for a
        manifest scan (a binding to `edit` means what the server's `edit` grants)."""
        self._derived: dict[Callable[[Inventory], Any], Any] = {}

    def derived(self, build: Callable[[Inventory], T]) -> T:
        """``build(self)``, computed once per inventory and cached.

        Inventory-scope rules run once per object; anything they need about *all* objects
        (service accounts per namespace, policies per namespace) is built here once, keyed by
        the builder function, so a rule stays a pure function and the scan stays linear.
        """
        if "<locals>" in getattr(build, "__qualname__", ""):
            # a nested function is a new key on every call: the cache would never hit
            raise TypeError(f"derived() needs a module-level builder, not {build.__qualname__}")
        try:
            value: T = self._derived[build]
        except KeyError:
            value = self._derived[build] = build(self)
        return value

    def __len__(self) -> int:
        return len(self.objects)

    def __iter__(self) -> Iterator[K8sObject]:
        return iter(self.objects)

    @cached_property
    def _by_kind(self) -> dict[str, tuple[K8sObject, ...]]:
        groups: dict[str, list[K8sObject]] = defaultdict(list)
        for obj in self.objects:
            groups[obj.kind].append(obj)
        return {kind: tuple(objs) for kind, objs in groups.items()}

    @cached_property
    def _by_identity(self) -> dict[tuple[str, str | None, str], K8sObject]:
        return {(o.kind, o.namespace, o.name): o for o in self.objects}

    def of_kind(self, *kinds: str) -> tuple[K8sObject, ...]:
        if len(kinds) == 1:
            return self._by_kind.get(kinds[0], ())
        return tuple(o for kind in kinds for o in self._by_kind.get(kind, ()))

    def get(self, kind: str, namespace: str | None, name: str) -> K8sObject | None:
        return self._by_identity.get((kind, namespace, name))

    @cached_property
    def _namespaces(self) -> dict[str, dict[str, Any]]:
        found = {o.name: o.raw for o in self.context if o.kind == "Namespace"}
        found.update((o.name, o.raw) for o in self.of_kind("Namespace"))
        return found

    def namespace_object(self, name: str) -> dict[str, Any] | None:
        """The manifest of Namespace ``name`` among these objects (or the context), if any:
        what a users' CEL policy sees as ``namespaceObject``."""
        return self._namespaces.get(name)

    @cached_property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._by_kind)

    @cached_property
    def workloads(self) -> tuple[K8sObject, ...]:
        """Objects that carry a pod spec."""
        return tuple(o for o in self.objects if o.pod_spec is not None)
