"""## What it does
Flags `hostPath` volumes that expose the node's most sensitive paths: the root filesystem,
`/etc`, `/root`, `/home`, `/boot`, `/dev`, `/proc`, `/sys`, the kubelet's state
(`/var/lib/kubelet`), etcd's data, Kubernetes' configuration and PKI (`/etc/kubernetes`),
and the container runtime sockets and state (`/var/run/docker.sock`, containerd, CRI-O,
cri-dockerd, Podman, the containerd of k3s, k0s and MicroK8s, `/var/lib/docker`,
`/var/lib/containerd`, k3s' `/var/lib/rancher`). A path matches when it is one of these or
lies below them; `/` and paths above a sensitive one (such as `/var/run`, which contains the
runtime sockets) match too. `/var/run` is read as `/run`, which it links to on every current
distribution, so either spelling of a socket matches.

## Why is this bad?
These mounts hand over the node: the runtime socket starts privileged containers, `/etc` and
`/root` hold credentials and allow writing cron jobs or SSH keys, `/var/lib/kubelet` holds
every pod's service-account tokens and secrets, `/proc` and `/sys` expose the kernel.

## Example
```yaml
volumes:
  - name: docker
    hostPath:
      path: /var/run/docker.sock
```

Use instead: do not mount runtime sockets or system directories; use the Kubernetes API, a
CSI driver, or a narrowly scoped node agent reviewed on its own.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation, shown
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.pods import volumes

SENSITIVE_PATHS = (
    "/etc",
    "/root",
    "/home",
    "/boot",
    "/dev",
    "/proc",
    "/sys",
    "/var/lib/kubelet",
    "/var/lib/etcd",
    "/etc/kubernetes",
    "/var/lib/docker",
    "/var/lib/containerd",
    "/var/lib/crio",
    "/var/lib/rancher",  # k3s and RKE2: their containerd, server token and TLS keys
    "/var/lib/k0s",
    "/var/snap/microk8s",
    # runtime sockets and state, under /run (see _normalise for /var/run)
    "/run/docker.sock",
    "/run/dockershim.sock",
    "/run/containerd",
    "/run/crio",
    "/run/cri-dockerd.sock",
    "/run/podman",
    "/run/k3s",
    "/run/k0s",
)


def _normalise(path: str) -> str:
    parts = [p for p in path.split("/") if p and p != "."]
    out: list[str] = []
    for part in parts:
        if part == "..":
            if out:
                out.pop()
        else:
            out.append(part)
    if out[:2] == ["var", "run"]:
        # /var/run is a symbolic link to /run: one spelling of each socket is enough
        out[:2] = ["run"]
    return "/" + "/".join(out)


def sensitive(path: str) -> str | None:
    """The sensitive path that ``path`` exposes, if any (itself, below it, or above it)."""
    clean = _normalise(path)
    if clean == "/":
        return "/"
    for candidate in SENSITIVE_PATHS:
        if (
            clean == candidate
            or clean.startswith(candidate + "/")
            or candidate.startswith(clean + "/")
        ):
            return candidate
    return None


@rule(
    id="W006",
    name="sensitive-host-path",
    title="Pod mounts a sensitive path of the node",
    severity=Severity.CRITICAL,
    target=WORKLOADS,
    remediation="Remove the mount of the node's system directory or container runtime socket.",
)
def sensitive_host_path(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for volume, path in volumes(obj):
        host_path = volume.get("hostPath")
        if not isinstance(host_path, dict):
            continue
        where = host_path.get("path")
        if not isinstance(where, str):
            continue
        hit = sensitive(where)
        if hit is not None:
            what = "the node's root filesystem" if hit == "/" else hit
            yield Violation(
                (*path, "hostPath", "path"),
                f'volume "{shown(volume.get("name"), "?")}" mounts {where}, exposing {what}',
            )
