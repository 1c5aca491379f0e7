"""## What it does
Flags `Secret` manifests that carry values: `data` or `stringData` with at least one key whose
value is not empty (and not a `${VAR}`/`$(VAR)`/`{{ template }}`/`<placeholder>` filled in at
deploy time).
One finding per Secret lists the keys; the values are never printed. Secrets of type
`kubernetes.io/service-account-token` are reported only when they carry a `token`: the token
controller fills in the token, `ca.crt` and `namespace` (which are public).

When kubeward scans a live cluster, Secrets are listed metadata-only, and the webhook judges
a Secret with its values replaced by a redaction marker (which this rule does not count), so the
rule only fires on manifests: files, Helm charts and Kustomize output.

## Why is this bad?
base64 is an encoding, not encryption: a Secret manifest in a Git repository is a plain-text
credential for everyone who can read the repository, its forks, clones, CI logs and backups,
forever (removing it from the history means rewriting it, and rotating the credential). The
API server protects Secrets with RBAC and, if configured, encryption at rest; a file in Git has
neither.

## Example
```yaml
apiVersion: v1
kind: Secret
metadata:
  name: db
type: Opaque
stringData:
  password: hunter2
```

Use instead: commit only an encrypted or indirect form, and let a controller create the Secret
in the cluster: a `SealedSecret` (Bitnami Sealed Secrets), an `ExternalSecret` (External
Secrets Operator) pointing at a secret manager, a SOPS-encrypted file decrypted at deploy time
(Flux, helm-secrets, ksops), or a `SecretProviderClass` of the Secrets Store CSI driver.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.model.secrets import is_redacted
from kubeward.rules._base import RuleParams, Target, rule
from kubeward.rules._common.secrets import placeholder

_LISTED_KEYS = 10
_SERVICE_ACCOUNT_TYPE = "kubernetes.io/service-account-token"
_PUBLIC_SA_KEYS = frozenset({"ca.crt", "namespace"})


@rule(
    id="S007",
    name="secret-data-in-manifest",
    title="Secret values committed in a manifest",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"Secret"})),
    remediation="Commit a SealedSecret, ExternalSecret or SOPS-encrypted file instead.",
    references=(
        "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
        "https://github.com/bitnami-labs/sealed-secrets",
        "https://external-secrets.io/",
        "https://github.com/getsops/sops",
        "https://secrets-store-csi-driver.sigs.k8s.io/",
    ),
)
def secret_data_in_manifest(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    encoded = _filled_keys(obj.raw.get("data"))
    plain = _filled_keys(obj.raw.get("stringData"))
    secret_type = obj.raw.get("type")
    if secret_type == _SERVICE_ACCOUNT_TYPE:
        # The token controller fills these in; only a committed token is a credential.
        encoded = [key for key in encoded if key not in _PUBLIC_SA_KEYS]
        plain = [key for key in plain if key not in _PUBLIC_SA_KEYS]
    if not encoded and not plain:
        return
    parts = []
    if encoded:
        parts.append(f"data keys {_list(encoded)} (base64, which anyone can decode)")
    if plain:
        parts.append(f"stringData keys {_list(plain)} (plain text)")
    kind = f" (type {secret_type})" if isinstance(secret_type, str) and secret_type else ""
    yield Violation(
        ("data",) if encoded else ("stringData",),
        f"this Secret{kind} commits the values of " + " and ".join(parts),
    )


def _filled_keys(values: object) -> list[str]:
    if not isinstance(values, dict):
        return []
    filled = []
    for key, value in values.items():
        if value is None or value == "" or is_redacted(value):
            continue  # empty, or redacted by kubeward (at admission): no value committed
        if placeholder(value):
            continue  # filled in at deploy time
        filled.append(str(key))
    return filled


def _list(keys: list[str]) -> str:
    shown = ", ".join(repr(key) for key in keys[:_LISTED_KEYS])
    more = len(keys) - _LISTED_KEYS
    return f"{shown} and {more} more" if more > 0 else shown
