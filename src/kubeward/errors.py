"""kubeward's exceptions. Every user-facing failure is one of these; none escapes as a traceback.

    KubewardError
    ├── UsageError          bad command line (flags that do not fit together)       -> exit 2
    ├── ConfigError         kubeward.yaml is unreadable or invalid (file:line)       -> exit 2
    ├── ClusterError        kubeconfig invalid, cluster unreachable, credentials refused -> exit 2
    ├── SourceError         an input could not be turned into objects
    │   ├── InputError      unreadable, binary, too large, not UTF-8 (file)
    │   ├── ManifestError   YAML/JSON that does not parse, bombs, nesting (file:line)
    │   └── RenderError     helm or kustomize failed, or is not installed
    └── RuleDefinitionError the catalog itself is malformed (caught by the catalog test)

Scan-time problems (a file that does not parse, a rule that raises on one object) are *recorded*
in the scan result and reported in every output format; they do not stop the scan. Only
usage and configuration errors abort it.
"""

from __future__ import annotations

__all__ = [
    "ClusterError",
    "ConfigError",
    "InputError",
    "KubewardError",
    "ManifestError",
    "RenderError",
    "RuleDefinitionError",
    "RuleEvaluationError",
    "SourceError",
    "UsageError",
]


class KubewardError(Exception):
    """Base class of every error kubeward raises on purpose."""


class UsageError(KubewardError):
    """The command line cannot be acted on."""


class ConfigError(KubewardError):
    """The configuration file is unreadable or invalid."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        where = f"{file}:{line}: " if file and line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")
        self.file = file
        self.line = line
        self.detail = message


class ClusterError(KubewardError):
    """The cluster cannot be scanned at all: bad kubeconfig, unreachable, credentials refused.

    (Missing permissions on some kinds are not errors of this kind: they are coverage gaps,
    recorded in the result while the rest is scanned.)"""


class SourceError(KubewardError):
    """An input could not be turned into Kubernetes objects."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.file = file
        self.line = line
        self.detail = message


class InputError(SourceError):
    """A file or stream could not be read as text (missing, binary, too large, not UTF-8)."""


class ManifestError(SourceError):
    """A YAML or JSON document is malformed or exceeds a safety limit."""


class RenderError(SourceError):
    """``helm template`` or ``kustomize build`` failed, or the tool is missing."""


class RuleDefinitionError(KubewardError):
    """A rule in the catalog is malformed (duplicate ID, missing docs, bad name)."""


class RuleEvaluationError(KubewardError):
    """A rule could not judge one object for a reason that is not a kubeward bug: a user's
    policy expression failed on it (a missing field, a wrong type)."""
