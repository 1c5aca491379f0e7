"""## What it does
Flags ConfigMaps that are Helm release records:

- Helm 3 with the `configmap` storage driver (`HELM_DRIVER=configmap`): labels `owner: helm`,
  `name`, `status` and `version`, objects named `sh.helm.release.v1.<release>.v<revision>`;
- Helm 2 (Tiller), which always stored releases in ConfigMaps: label `OWNER: TILLER`.

`data.release` holds the release, gzip-compressed and base64-encoded: the chart, the values it
was installed with and the complete rendered manifests. When the record decodes (within size
limits), the finding says how many Secret objects its manifests contain.

## Why is this bad?
A release record is a plain copy of every object of the release, every Secret included, and of
the values passed with `--set`/`-f` (database passwords, API keys). Stored in a ConfigMap it is
readable by everyone who may read ConfigMaps in the namespace (the built-in `view` role
included), where the Secrets themselves are not. Helm 3 stores releases in Secrets
(`type: helm.sh/release.v1`) by default for this reason; Tiller-era records are often left
behind after the migration to Helm 3.

## Example
```yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: sh.helm.release.v1.shop.v3
  labels: {owner: helm, name: shop, status: deployed, version: "3"}
data:
  release: H4sIAAAAAAAC/+y9...
```

Use instead: use the default `secret` storage driver (unset `HELM_DRIVER`, or
`HELM_DRIVER=secret`), migrate Helm 2 releases with `helm 2to3` and delete the Tiller
ConfigMaps (`helm 2to3 cleanup`), and delete stale release ConfigMaps.
"""

import base64
import binascii
import re
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, rule

_MAX_ENCODED = 8 * 1024 * 1024
_MAX_DECOMPRESSED = 32 * 1024 * 1024
# "kind: Secret" as a line of a manifest: raw newlines (Helm 2's protobuf) or JSON-escaped
# ones (Helm 3's JSON).
_SECRET_KIND = re.compile(rb"(?:^|\n|\\n)kind: *[\"']?Secret[\"']? *(?=\r?\n|\\r|\\n|$)")


@rule(
    id="S004",
    name="helm-release-in-configmap",
    title="Helm release stored in a ConfigMap",
    severity=Severity.MEDIUM,
    target=Target(kinds=frozenset({"ConfigMap"})),
    remediation="Store Helm releases with the default `secret` driver and delete this ConfigMap.",
    references=(
        "https://helm.sh/docs/topics/advanced/#storage-backends",
        "https://github.com/helm/helm-2to3",
    ),
)
def helm_release_in_configmap(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    labels = obj.labels
    helm = _helm_version(labels)
    if helm is None:
        return
    release, revision = _label(labels, "name", "NAME"), _label(labels, "version", "VERSION")
    what = f"Helm {helm} release"
    what += f' "{release}"' if release else ""
    what += f" revision {revision}" if revision else ""
    what += " (stored by Tiller)" if helm == 2 else " (stored by the configmap driver)"
    content = "the chart, its values and every rendered manifest"
    data = obj.raw.get("data")
    payload = data.get("release") if isinstance(data, dict) else None
    if isinstance(payload, str):
        path: tuple[str, ...] = ("data", "release")
        secrets = _count_secrets(payload)
        if secrets:
            content += f", including {secrets} Secret object{'s' if secrets > 1 else ''}"
    else:
        path = ("metadata", "labels", "owner" if helm == 3 else "OWNER")
    yield Violation(path, f"this ConfigMap is the record of {what}: it holds {content}")


def _helm_version(labels: Mapping[str, Any]) -> int | None:
    owner = labels.get("owner")
    if (
        isinstance(owner, str)
        and owner.lower() == "helm"
        and all(key in labels for key in ("name", "status", "version"))
    ):
        return 3
    tiller = labels.get("OWNER")
    if isinstance(tiller, str) and tiller.upper() == "TILLER":
        return 2
    return None


def _label(labels: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = labels.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _count_secrets(payload: str) -> int:
    """Secrets in the release's manifests; 0 if the payload does not decode within limits."""
    if len(payload) > _MAX_ENCODED:
        return 0
    try:
        compressed = base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError):
        return 0
    if compressed[:2] != b"\x1f\x8b":
        return 0
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        release = inflater.decompress(compressed, _MAX_DECOMPRESSED)
    except zlib.error:
        return 0
    return len(_SECRET_KIND.findall(release))
