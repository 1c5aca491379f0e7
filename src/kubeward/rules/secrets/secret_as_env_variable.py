"""## What it does
Flags containers (regular, init and ephemeral) that receive Secret values as environment
variables: each `env` entry with `valueFrom.secretKeyRef`, and each `envFrom` entry with a
`secretRef` (which turns every key of the Secret into a variable).

## Why is this bad?
Environment variables are the least contained place for a secret. They are inherited by every
child process (shells, hooks, crash reporters), readable in `/proc/<pid>/environ` by anything
running as the same user, dumped by error pages, debug endpoints, `env`/`printenv` in
scripts and crash reports, and they are fixed at start: a rotated Secret reaches the pod only
after a restart. A Secret mounted as a volume is a file with restrictive permissions that only
the process that reads it sees, and it is updated in place when the Secret changes. See the
Kubernetes "Good practices for Kubernetes Secrets".

## Example
```yaml
containers:
  - name: api
    env:
      - name: DB_PASSWORD
        valueFrom:
          secretKeyRef: {name: db, key: password}
```

Use instead: mount the Secret and point the application at the file:
```yaml
containers:
  - name: api
    env:
      - name: DB_PASSWORD_FILE
        value: /run/secrets/db/password
    volumeMounts:
      - {name: db, mountPath: /run/secrets/db, readOnly: true}
volumes:
  - name: db
    secret: {secretName: db, defaultMode: 0400}
```
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule


@rule(
    id="S005",
    name="secret-as-env-variable",
    title="Secret passed to a container as environment variables",
    severity=Severity.LOW,
    target=WORKLOADS,
    remediation="Mount the Secret as a read-only volume and have the application read the file.",
    references=(
        "https://kubernetes.io/docs/concepts/security/secrets-good-practices/",
        "https://kubernetes.io/docs/concepts/configuration/secret/#using-secrets-as-files-from-a-pod",
    ),
)
def secret_as_env_variable(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        env = container.raw.get("env")
        if isinstance(env, list):
            for index, var in enumerate(env):
                if not isinstance(var, dict):
                    continue
                value_from = var.get("valueFrom")
                ref = value_from.get("secretKeyRef") if isinstance(value_from, dict) else None
                if not isinstance(ref, dict):
                    continue
                name = var.get("name")
                variable = name if isinstance(name, str) else f"#{index}"
                yield Violation(
                    (*container.path, "env", index, "valueFrom", "secretKeyRef"),
                    f"{container.label} reads {_key(ref)} of {_secret(ref)} into the "
                    f"environment variable {variable}",
                )
        env_from = container.raw.get("envFrom")
        if isinstance(env_from, list):
            for index, source in enumerate(env_from):
                if not isinstance(source, dict):
                    continue
                ref = source.get("secretRef")
                if not isinstance(ref, dict):
                    continue
                prefix = source.get("prefix")
                named = f" (prefixed {prefix})" if isinstance(prefix, str) and prefix else ""
                yield Violation(
                    (*container.path, "envFrom", index, "secretRef"),
                    f"{container.label} turns every key of {_secret(ref)} into an environment "
                    f"variable{named}",
                )


def _secret(ref: dict[str, object]) -> str:
    name = ref.get("name")
    return f'Secret "{name}"' if isinstance(name, str) and name else "a Secret"


def _key(ref: dict[str, object]) -> str:
    key = ref.get("key")
    return f'key "{key}"' if isinstance(key, str) and key else "a key"
