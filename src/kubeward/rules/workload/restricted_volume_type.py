"""## What it does
Flags volumes of types the Pod Security Standards' *restricted* profile does not allow. Allowed
are `configMap`, `csi`, `downwardAPI`, `emptyDir`, `ephemeral`, `image`,
`persistentVolumeClaim`, `projected` and `secret`; anything else (`nfs`, `iscsi`, `cephfs`,
`gitRepo`, `flexVolume`, cloud disks, ...) is reported. `hostPath` volumes are reported by
`W005`. A volume with no source at all is defaulted to `emptyDir` by the API server and allowed.

## Why is this bad?
In-tree network and cloud volume types connect the node to storage chosen by whoever writes
the pod spec, bypassing PersistentVolume provisioning and its access control; `gitRepo` has
run arbitrary commands on the node (CVE-2018-11235, CVE-2024-10220); `flexVolume` executes
drivers on the node.

## Example
```yaml
volumes:
  - name: shared
    nfs:
      server: 10.0.0.5
      path: /exports
```

Use instead: a PersistentVolumeClaim (the administrator defines the NFS PersistentVolume).
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation, shown
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import volumes

ALLOWED_VOLUME_TYPES = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)


@rule(
    id="W020",
    name="restricted-volume-type",
    title="Pod uses a volume type outside the restricted set",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Use a PersistentVolumeClaim or one of the restricted volume types instead.",
    references=("https://kubernetes.io/docs/concepts/security/pod-security-standards/#restricted",),
)
def restricted_volume_type(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for volume, path in volumes(obj):
        sources = [k for k, v in volume.items() if k != "name" and v is not None]
        if not sources or any(k in ALLOWED_VOLUME_TYPES for k in sources) or "hostPath" in sources:
            continue
        kind = sources[0]
        yield Violation(
            (*path, kind),
            f'volume "{shown(volume.get("name"), "?")}" is of type {kind}, '
            "which the restricted profile does not allow",
        )
