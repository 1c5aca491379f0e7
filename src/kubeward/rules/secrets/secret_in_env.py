"""## What it does
Flags container environment variables whose literal `value` is a credential: the variable's
name says it holds a password, token or API key (a bare `KEY`, `AUTH` or `SALT` only with a
random-looking value) and the value is not obviously benign (empty, a boolean, a number, a
`$(VAR)`/`${VAR}`/`${{ secrets.X }}`/`#{X}#` reference, a file path, a URL without credentials,
a placeholder such as `changeme`, a connection string without a password); names that
describe a key without holding it (`SIGNING_KEY_FINGERPRINT`, `KMS_KEY_ALIAS`, `TOKEN_TTL`,
`PASSWORD_FILE`) are not reported; or the value has the shape of a known credential (cloud
access keys, private keys, JWTs, GitHub/GitLab/Slack/Stripe tokens, webhook URLs, connection
strings with a password); or the value sets one (`-Dapp.password=...` in
`JAVA_TOOL_OPTIONS`, JSON with a `"password"`), also once base64-decoded.

The finding names the container and the variable; the value is never printed.

## Why is this bad?
A literal in the pod spec is stored in plain text in every copy of the manifest: the Git
repository, CI logs, Helm release records, the API server and `kubectl get -o yaml` output of
anyone who can read the workload. Secrets belong in Secret objects (or an external secret
store), referenced with `valueFrom.secretKeyRef`, so access is governed by RBAC on Secrets.

## Example
```yaml
env:
  - name: DB_PASSWORD
    value: hunter2
```

Use instead:
```yaml
env:
  - name: DB_PASSWORD
    valueFrom:
      secretKeyRef: {name: db, key: password}
```
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.secrets import detect


@rule(
    id="S001",
    name="secret-in-env",
    title="Credential written as a plain environment variable",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Move the value into a Secret and reference it with `valueFrom.secretKeyRef`.",
)
def secret_in_env(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        env = container.raw.get("env")
        if not isinstance(env, list):
            continue
        for index, var in enumerate(env):
            if not isinstance(var, dict):
                continue
            name, value = var.get("name"), var.get("value")
            if not isinstance(name, str) or not isinstance(value, str):
                continue
            detection = detect(name, value)
            if detection is not None:
                yield Violation(
                    (*container.path, "env", index, "value"),
                    f"{container.label} sets {name} in plain text: {detection.reason}",
                )
