"""Enforcement at admission: what the webhook does with each rule's findings, and whom it
never judges (``admission:`` in kubeward.yaml)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

SA_PREFIX = "system:serviceaccount:"


class Action(enum.StrEnum):
    """One rule's effect at admission (independent of CI and audit)."""

    DENY = "deny"
    """The request is refused with the rule's message (HTTP 403)."""
    WARN = "warn"
    """Admitted; the message comes back as a warning (kubectl prints it)."""
    AUDIT = "audit"
    """Admitted; the message is recorded in the API server's audit log (audit annotation)."""
    OFF = "off"
    """Not evaluated at admission."""


@dataclass(frozen=True, kw_only=True)
class AdmissionSettings:
    default_action: Action = Action.DENY
    actions: Mapping[str, Action] = field(default_factory=dict)
    """By rule ID or ID prefix (``W``, ``W02``, ``W022``); the longest match wins."""
    allow_existing_violations: bool = True
    """On UPDATE, refuse only findings the old object did not have already (adding an ephemeral
    container is judged by that container; a label change does not fail on an old problem)."""
    exempt_namespaces: tuple[str, ...] = ("kube-system", "kubeward")
    exempt_users: tuple[str, ...] = ()
    exempt_groups: tuple[str, ...] = ()
    exempt_service_accounts: tuple[str, ...] = ()
    """``NAMESPACE/NAME`` globs."""
    deny_on_error: bool = True
    """A deny rule that could not judge the object (a user's policy failing on it, a timeout,
    a crash) refuses the request, as a webhook's ``failurePolicy: Fail`` would; else it is
    admitted. Either way the error comes back as a warning and an audit annotation."""

    def action_for(self, rule_id: str) -> Action:
        best = ""
        for prefix in self.actions:
            if rule_id.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        return self.actions[best] if best else self.default_action

    def exemption(self, namespace: str, user: str, groups: tuple[str, ...]) -> str | None:
        """Why a request is not judged (None = it is)."""
        if namespace and any(fnmatchcase(namespace, p) for p in self.exempt_namespaces):
            return f"namespace {namespace} is exempt"
        if any(fnmatchcase(user, p) for p in self.exempt_users):
            return f"user {user} is exempt"
        for group in groups:
            if any(fnmatchcase(group, p) for p in self.exempt_groups):
                return f"group {group} is exempt"
        if user.startswith(SA_PREFIX):
            account_namespace, _, name = user[len(SA_PREFIX) :].partition(":")
            account = f"{account_namespace}/{name}"
            if any(fnmatchcase(account, p) for p in self.exempt_service_accounts):
                return f"service account {account} is exempt"
        return None
