"""## What it does
Flags workloads whose pods get their service account's API token mounted
(`/var/run/secrets/kubernetes.io/serviceaccount`).

Kubernetes mounts the token unless `automountServiceAccountToken: false` is set on the pod spec
or, when the pod spec leaves it unset, on the ServiceAccount; the pod spec wins over the
ServiceAccount. So the rule:

- flags `automountServiceAccountToken: true` in the pod spec (whatever the ServiceAccount says);
- passes `automountServiceAccountToken: false` in the pod spec;
- when the pod spec does not set it, looks up the ServiceAccount the pods run as (same
  namespace, `serviceAccountName`, `default` when none is named) among the scanned objects:
  it passes if that ServiceAccount sets `automountServiceAccountToken: false`, and flags
  otherwise. A ServiceAccount that is not part of the scan is taken as not disabling it (the
  safe reading: that is what Kubernetes does for a ServiceAccount created without the field);
  the message says whether the ServiceAccount was found.

The ServiceAccount admission plugin mounts the token into every init and regular container
that does not already mount something at exactly `/var/run/secrets/kubernetes.io/serviceaccount`.
So a pod whose containers all mount their own volume there gets no automatic token and is not
flagged for it; when only some do, the message names the containers that get the token.

Turning automounting off does not keep a token out of the pod when a `projected` volume asks
for one: a `serviceAccountToken` source without an `audience` gets a token for the API server
(its default audience) — the same credential, only written by hand. Each such source, in a
volume that a container mounts, is flagged on its own, whatever `automountServiceAccountToken`
says. A source with an `audience` (Vault, a cloud identity provider) is not: the API server does
not accept that token (kubeward cannot see `--api-audiences`; an audience that the API server
was configured to accept is missed). A Pod read from a cluster, or judged at admission, already
carries the volume the plugin added (`kube-api-access-<suffix>`, mounted at that path): its
token is reported there, as mounted by the plugin.

## Why is this bad?
Most workloads never call the Kubernetes API, yet every container of such a pod can read a
bearer token for its service account. Anyone who gets code execution in the pod (an RCE, a
malicious dependency, a debug shell) can use it against the API server with whatever RBAC the
service account holds, often more than intended, and probe the API for escalation paths.
Not mounting the token removes that credential from the pod altogether.

## Example
```yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web              # does not disable automounting
---
kind: Deployment
spec:
  template:
    spec:
      serviceAccountName: web
      containers:
        - name: web
          image: ghcr.io/acme/web:1.4.2
```

Use instead: set `automountServiceAccountToken: false` on the ServiceAccount (or on the pod
spec). A pod that authenticates to another service with its service account identity mounts a
`projected` `serviceAccountToken` with that service's `audience`, into the one container that
needs it. A pod that really calls the Kubernetes API holds an API token either way: mount it
only into the container that calls the API and record the exception with a suppression
(`kubeward.io/ignore.A002: "<reason>"`).
"""

from collections.abc import Iterator, Mapping
from typing import Any

from kubeward.model import Container, Inventory, K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, inventory_rule
from kubeward.rules._common.pods import service_account_name, volume_mounts, volumes

_FIELD = "automountServiceAccountToken"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
# The containers the ServiceAccount admission plugin mounts the token into (ephemeral containers
# are added later, through their own subresource, and never get it).
_AUTOMOUNTED_LISTS = ("initContainers", "containers")
# The volume the plugin adds (`kube-api-access-<suffix>`): a Pod read from a cluster, or at
# admission, carries it, and its containers mount it at MOUNT_PATH.
_INJECTED_VOLUME = "kube-api-access-"


def _receivers(obj: K8sObject) -> list[Container]:
    """Containers that get the automounted token: the plugin skips a container that already
    mounts something at the token's path (exactly that string)."""
    receivers = []
    for container in obj.containers():
        if container.list_name not in _AUTOMOUNTED_LISTS:
            continue
        mounts = container.raw.get("volumeMounts")
        if isinstance(mounts, list) and any(
            type(mount) is dict and mount.get("mountPath") == MOUNT_PATH for mount in mounts
        ):
            continue
        receivers.append(container)
    return receivers


def _into(receivers: list[Container], obj: K8sObject) -> str:
    everyone = [c for c in obj.containers() if c.list_name in _AUTOMOUNTED_LISTS]
    if len(receivers) == len(everyone):
        return "every container"
    return ", ".join(c.label for c in receivers) + f" (the others mount their own {MOUNT_PATH})"


def _mounted_by(obj: K8sObject) -> dict[str, list[str]]:
    """Volume name → labels of the containers that mount it."""
    found: dict[str, list[str]] = {}
    for container in obj.containers():
        for mount in volume_mounts(container):
            name = mount.get("name")
            if isinstance(name, str) and container.label not in found.get(name, []):
                found.setdefault(name, []).append(container.label)
    return found


def _token_sources(volume: Mapping[str, Any]) -> Iterator[tuple[int, Mapping[str, Any]]]:
    projected = volume.get("projected")
    sources = projected.get("sources") if isinstance(projected, dict) else None
    if not isinstance(sources, list):
        return
    for index, source in enumerate(sources):
        token = source.get("serviceAccountToken") if isinstance(source, dict) else None
        if isinstance(token, dict):
            yield index, token


def _explicit_tokens(obj: K8sObject, shown: str) -> Iterator[Violation]:
    """Projected ``serviceAccountToken`` sources with no ``audience``: the token is for the API
    server (its default audience), whatever ``automountServiceAccountToken`` says."""
    listed = (obj.pod_spec or {}).get("volumes")
    if not isinstance(listed, list) or not any(
        isinstance(volume, dict) and "projected" in volume for volume in listed
    ):
        return  # (most pods: no need to map who mounts what)
    mounted = _mounted_by(obj)
    for volume, path in volumes(obj):
        name = volume.get("name")
        if not isinstance(name, str) or not mounted.get(name):
            continue  # a volume no container mounts puts nothing in front of the processes
        users = mounted[name]
        for index, token in _token_sources(volume):
            audience = token.get("audience")
            if isinstance(audience, str) and audience:
                continue  # for another service (Vault, a cloud IdP): the API server rejects it
            if name.startswith(_INJECTED_VOLUME):
                what = f'the ServiceAccount admission plugin mounted the token of "{shown}"'
            else:
                what = (
                    f'mounts a token of ServiceAccount "{shown}" with no audience, so one the '
                    "API server accepts,"
                )
            yield Violation(
                (*path, "projected", "sources", index, "serviceAccountToken"),
                f'projected volume "{name}": {what} into {", ".join(users)}',
            )


@inventory_rule(
    id="A002",
    name="service-account-token-automount",
    title="Service account token is mounted into the pods",
    severity=Severity.MEDIUM,
    target=WORKLOADS,
    remediation=(
        "Set `automountServiceAccountToken: false` on the ServiceAccount or the pod spec; "
        "give a projected token an `audience` other than the API server, and suppress the "
        "finding (with the reason) where a container really calls the API."
    ),
    reads={"ServiceAccount"},
    references=(
        "https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#opt-out-of-api-credential-automounting",
        "https://kubernetes.io/docs/reference/access-authn-authz/service-accounts-admin/#bound-service-account-token-volume",
        "https://kubernetes.io/docs/concepts/storage/projected-volumes/#serviceaccounttoken",
        "https://github.com/kubernetes/kubernetes/blob/master/plugin/pkg/admission/serviceaccount/admission.go",
    ),
)
def service_account_token_automount(
    obj: K8sObject, inventory: Inventory, params: RuleParams
) -> Iterator[Violation]:
    if obj.pod_spec is None:
        return
    sa_name = service_account_name(obj)
    shown = f"{obj.namespace}/{sa_name}" if obj.namespace else sa_name
    receivers = _receivers(obj)
    if receivers:
        yield from _automounted(obj, inventory, shown, receivers)
    yield from _explicit_tokens(obj, shown)


def _automounted(
    obj: K8sObject, inventory: Inventory, shown: str, receivers: list[Container]
) -> Iterator[Violation]:
    """The token the admission plugin mounts into ``receivers``."""
    spec, base = obj.pod_spec, obj.pod_spec_path
    if spec is None or base is None:
        return
    pod_value = spec.get(_FIELD)
    if pod_value is True:
        into = _into(receivers, obj)
        yield Violation(
            (*base, _FIELD),
            f"the pod spec sets {_FIELD}: true, so the token of ServiceAccount "
            f'"{shown}" is mounted into {into}',
        )
        return
    if pod_value is False:
        return
    account = inventory.get("ServiceAccount", obj.namespace, service_account_name(obj))
    if account is None:
        yield Violation(
            base,
            f'{_FIELD} is not set and ServiceAccount "{shown}" is not in the scan: '
            "Kubernetes mounts its token unless the ServiceAccount sets "
            f"{_FIELD}: false",
        )
        return
    sa_value = account.raw.get(_FIELD)
    if sa_value is False:
        return
    said = "sets it to true" if sa_value is True else "does not set it either"
    yield Violation(
        base,
        f'{_FIELD} is not set and ServiceAccount "{shown}" {said}: '
        f"its token is mounted into {_into(receivers, obj)}",
    )
