"""kubeward: Kubernetes security posture management.

One policy catalog, enforced where a mistake can be caught: in the pull request (``kubeward scan``),
at the cluster's front door and in the running cluster.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
