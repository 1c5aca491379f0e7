"""## What it does
Flags pods that mount a directory or file of the node (`hostPath` volumes).

See also `W006` (sensitive host paths such as `/`, `/etc` or the container runtime socket,
rated critical) and `W030` (host paths mounted writable).

## Why is this bad?
A hostPath volume breaks the boundary between the pod and the node: depending on the path it
exposes node credentials, other pods' data and logs, or the container runtime. Even
read-only mounts leak information, and symlink tricks have turned read-only mounts into
writes (CVE-2021-25741). The Pod Security Standards forbid every hostPath volume from
*baseline* up.

## Example
```yaml
volumes:
  - name: logs
    hostPath:
      path: /var/log
```

Use instead: an `emptyDir`, a PersistentVolumeClaim, or a node agent deployed in a separate,
privileged namespace that is reviewed on its own.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation, shown
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import volumes


@rule(
    id="W005",
    name="host-path-volume",
    title="Pod mounts a path of the node",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation="Replace the `hostPath` volume with an emptyDir, a PVC or a dedicated node agent.",
    references=("https://kubernetes.io/docs/concepts/storage/volumes/#hostpath",),
)
def host_path_volume(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for volume, path in volumes(obj):
        host_path = volume.get("hostPath")
        if host_path is not None:
            where = host_path.get("path") if isinstance(host_path, dict) else None
            name = shown(volume.get("name"), "?")
            yield Violation(
                (*path, "hostPath"), f'volume "{name}" mounts the node path {shown(where or None)}'
            )
