"""## What it does
Flags containers (init and ephemeral ones too) that mount a `hostPath` volume without
`readOnly: true` on the mount. Each mount is judged on its own: a read-only mount of the volume
does not cover another mount of it, and a `subPath` is still a directory of the node.

## Why is this bad?
Writing to the node's filesystem is a classic path to the node: planting cron jobs, kubelet
configuration or binaries, and overwriting files other pods trust. Read-only mounts still
leak information (see `W005`) but cannot persist on the node.

## Example
```yaml
volumeMounts:
  - name: host-logs
    mountPath: /host/var/log      # volume "host-logs" is a hostPath; readOnly unset
```

Use instead: `readOnly: true` on the mount, or no hostPath at all.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation, shown
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import volumes


@rule(
    id="W030",
    name="writable-host-path",
    title="Container mounts a node path writable",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Add `readOnly: true` to the mount of the hostPath volume.",
)
def writable_host_path(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    # Mounts name volumes by string: a volume or mount whose name is not one (a list, a
    # number: a shape error) cannot be matched, and must not be used as a key.
    host_volumes = {
        volume["name"]: shown(volume["hostPath"].get("path") or None)
        for volume, _ in volumes(obj)
        if isinstance(volume.get("hostPath"), dict) and isinstance(volume.get("name"), str)
    }
    if not host_volumes:
        return
    for container in obj.containers():
        mounts = container.raw.get("volumeMounts")
        if not isinstance(mounts, list):
            continue
        for index, mount in enumerate(mounts):
            if not isinstance(mount, dict):
                continue
            name = mount.get("name")
            if not isinstance(name, str) or name not in host_volumes:
                continue
            if mount.get("readOnly") is not True:
                yield Violation(
                    (*container.path, "volumeMounts", index),
                    f"{container.label} mounts the node path {host_volumes[name]} writable",
                )
