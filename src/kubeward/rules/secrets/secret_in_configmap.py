"""## What it does
Flags ConfigMap entries that hold a credential in plain text, in `data` and in `binaryData`:

- by the key's name: `password`, `db.password`, `api-key`, `aws_secret_access_key`, `token`,
  ... (a bare `key`, `auth` or `salt` only with a random-looking value, or with base64 of
  `user:password`), unless the value is obviously not a secret (empty, a boolean, a number, a
  `${VAR}`/`{{ template }}`/`${{ secrets.X }}`/`#{X}#` reference, code that reads it such as
  `os.environ['X']`, a `sha256:` digest, a file path, a URL without credentials, a placeholder
  such as `changeme`). Names that describe a key without holding it (`..._FINGERPRINT`,
  `..._ALIAS`, `..._ID`, `..._FILE`, `public_key`) are not reported, and a connection string
  (`Server=db;Database=app;...`) only when one of its settings is a credential (`Password=`,
  `AccountKey=`);
- by the value's shape: cloud access keys, private keys (PEM of every type, encrypted ones
  included, and private JWKs: `"d"` or `"k"` in a JWK), JWTs, GitHub/GitLab/Slack/Stripe/npm
  tokens, webhook URLs, `Authorization` headers, connection strings with a password;
- inside files kept in the ConfigMap: `DB_PASSWORD=...` lines of `.env`, `.properties` and
  `.ini` files, `password: ...` lines of YAML, `"password": "..."` pairs of JSON,
  `<password>...</password>` elements of XML, `password value` directives (fluentd, Fluent Bit),
  a docker config's `"auth"` and `.npmrc`'s `_auth`;
- in base64: a value that looks like base64 (16+ characters) is decoded and the decoded text is
  checked the same way; `binaryData` is decoded, and checked when it is UTF-8 text. Binary
  keystores (`.p12`, `.pfx`, `.jks`, `.keystore`; not truststores) are reported by name.

Public material is not reported: certificates and CA bundles (`kube-root-ca.crt`), public keys
(PEM, SSH, JWKS), SSH `known_hosts`, UUIDs, git SHAs and image digests.

The finding names the key and what was detected; the value is never printed.

## Why is this bad?
ConfigMaps are not meant for confidential data: they are readable by every principal that may
read configuration (`get`/`list` on `configmaps` is granted far more widely than on `secrets`,
e.g. by the built-in `view` ClusterRole, which excludes Secrets), encryption at rest is usually
configured for Secrets only, `kubectl describe` and the tools that mask Secrets in diffs, logs
and dashboards print them in full, and they live in Git next to the rest of the manifests.

## Example
```yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: api-config
data:
  db.password: hunter2
  application.properties: |
    spring.datasource.password=hunter2
```

Use instead: keep the credential in a Secret (created from an external secret store, Sealed
Secrets or SOPS rather than committed) and mount it or reference it from the pod:
```yaml
env:
  - name: SPRING_DATASOURCE_PASSWORD
    valueFrom:
      secretKeyRef: {name: api-db, key: password}
```
"""

import re
from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, rule
from kubeward.rules._common.secrets import as_text, decode_base64, detect, detect_text

_KEYSTORE = re.compile(r"(?i)\.(?:p12|pfx|jks|jceks|bcfks|keystore)$")
_TRUSTSTORE = re.compile(r"(?i)trust|cacerts")


@rule(
    id="S002",
    name="secret-in-configmap",
    title="Credential stored in a ConfigMap",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"ConfigMap"})),
    remediation="Move the credential into a Secret (from an external store) and reference it.",
    references=(
        "https://kubernetes.io/docs/concepts/configuration/configmap/",
        "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
    ),
)
def secret_in_configmap(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    data = obj.raw.get("data")
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(key, str) and isinstance(value, str):
                found = detect(key, value)
                if found is not None:
                    yield Violation(
                        ("data", key),
                        f"ConfigMap key {key!r} holds a credential: {found.reason}",
                    )
    binary = obj.raw.get("binaryData")
    if isinstance(binary, dict):
        for key, value in binary.items():
            if not isinstance(key, str) or not isinstance(value, str):
                continue
            decoded = decode_base64(value)
            if decoded is None:
                continue
            text = as_text(decoded)
            if text is not None:
                found = detect_text(text, name=key)
                if found is not None:
                    yield Violation(
                        ("binaryData", key),
                        f"binaryData key {key!r} holds a credential once base64-decoded: "
                        f"{found.reason}",
                    )
            elif _KEYSTORE.search(key) and not _TRUSTSTORE.search(key):
                yield Violation(
                    ("binaryData", key),
                    f"binaryData key {key!r} is a keystore, which holds private keys",
                )
