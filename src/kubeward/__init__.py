"""kubeward: Kubernetes security posture management.

One policy catalog, enforced where a mistake can be caught: in the pull request (``kubeward scan``),
at the cluster's front door and in the running cluster.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("kubeward")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
