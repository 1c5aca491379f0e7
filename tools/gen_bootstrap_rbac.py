"""Regenerate src/kubeward/rbac/bootstrap/v<version>.json from a real API server.

    python tools/gen_bootstrap_rbac.py      # starts the test control plane (make testcluster)

The API server creates its default roles and bindings (label kubernetes.io/bootstrapping:
rbac-defaults) at start-up; the controller manager aggregates admin/edit/view. This dumps them
as stored — the facts a manifest-only scan needs to know what `cluster-admin`, `edit` or
`system:*` grant. tests/cluster/test_rbac_bootstrap.py checks the file against the server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests import testcluster  # noqa: E402

OUT = ROOT / "src" / "kubeward" / "rbac" / "bootstrap"


def main() -> None:
    with testcluster.running() as cluster:
        with cluster.client() as api:
            version = api.get("/version").json()["gitVersion"]
        objects = cluster.bootstrap_rbac()
    minor = ".".join(version.lstrip("v").split(".")[:2])
    target = OUT / f"v{minor}.json"
    target.write_text(json.dumps({"kubernetesVersion": version, "objects": objects},
                                 indent=1, sort_keys=True) + "\n")  # fmt: skip
    print(f"wrote {len(objects)} objects to {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
