"""## What it does
Flags credentials written into a container's `command` or `args` (regular, init and ephemeral
containers), and into the `exec` commands of its probes and lifecycle hooks:

- clearly named flags with a literal value: `--password=...`, `--db-password ...`,
  `--token ...` (as one item or as the next item), `--api-key`, `--access-key`,
  `--private-key`, `--client-secret`, `--auth-token`, `--requirepass`, `-Dsome.password=...`;
- `NAME=value` assignments with a credential name (`export DB_PASSWORD=...` in `sh -c`
  scripts), also in query strings and `;`-separated connection strings;
- values with the shape of a known credential: connection strings with a password (`mysql://
  user:pass@db`), `Authorization: Bearer ...` headers, cloud keys, JWTs, service tokens, also
  once base64-decoded;
- the short options that take a password in well-known programs, in argv or in `sh -c`
  scripts: `mysql`/`mysqldump`/`mysqladmin`/`mariadb` `-pVALUE` (glued: `-p VALUE` prompts),
  `redis-cli -a`, `mongosh`/`mongodump` `-p`, `sshpass -p`, `curl -u`/`--user user:password`.

Values that are references (`$(VAR)`, which the kubelet expands from the environment, `$VAR`,
`${VAR}`, `$(cat file)`), file paths, URLs without credentials and placeholders are not
reported. Other short options (`-p`, `-a`, `-u` of other programs) are not judged: their
meaning depends on the program.

## Why is this bad?
A container's command line is stored in plain text in the pod spec (readable by everyone who
may read the workload), and at run time it is world-readable on the node: any process can read
`/proc/<pid>/cmdline`, and `ps` shows it to every user of the host and of the pod. Arguments
are also printed by `kubectl describe pod` and end up in logs and crash reports.

## Example
```yaml
containers:
  - name: cache
    image: redis:7.4
    args: ["redis-server", "--requirepass", "hunter2"]
```

Use instead: have the program read the credential from a mounted Secret file (or from its
environment). At the least, reference a Secret with `$(VAR)`: the value leaves the manifest,
though the kubelet still expands it into the command line the process runs with:
```yaml
containers:
  - name: cache
    image: redis:7.4
    args: ["redis-server", "--requirepass", "$(REDIS_PASSWORD)"]
    env:
      - name: REDIS_PASSWORD
        valueFrom:
          secretKeyRef: {name: redis, key: password}
```
"""

from collections.abc import Iterator
from typing import Any

from kubeward.model import Container, K8sObject, Path, Severity, Violation
from kubeward.rules._base import WORKLOADS, RuleParams, rule
from kubeward.rules._common.secrets import detect_args

_HANDLERS = ("livenessProbe", "readinessProbe", "startupProbe")
_HOOKS = ("postStart", "preStop")


@rule(
    id="S006",
    name="secret-in-command-args",
    title="Credential written in a container command line",
    severity=Severity.HIGH,
    target=WORKLOADS,
    remediation="Pass the credential from a Secret (`$(VAR)` or a mounted file), not literally.",
    references=("https://kubernetes.io/docs/concepts/security/secrets-good-practices/",),
)
def secret_in_command_args(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for container in obj.containers():
        for items, path, where in _command_lines(container):
            for index, found in detect_args(items):
                yield Violation(
                    (*path, index),
                    f"{container.label} has a credential in {where} (item {index}): {found.reason}",
                )


def _command_lines(container: Container) -> Iterator[tuple[list[Any], Path, str]]:
    """``(items, path, description)`` of each command line of the container."""
    raw = container.raw
    for field in ("command", "args"):
        items = raw.get(field)
        if isinstance(items, list):
            yield items, (*container.path, field), f"its {field}"
    for probe in _HANDLERS:
        command = _exec_command(raw.get(probe))
        if command is not None:
            yield command, (*container.path, probe, "exec", "command"), f"its {probe} command"
    lifecycle = raw.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in _HOOKS:
            command = _exec_command(lifecycle.get(hook))
            if command is not None:
                path = (*container.path, "lifecycle", hook, "exec", "command")
                yield command, path, f"its {hook} hook"


def _exec_command(handler: object) -> list[Any] | None:
    if not isinstance(handler, dict):
        return None
    exec_action = handler.get("exec")
    command = exec_action.get("command") if isinstance(exec_action, dict) else None
    return command if isinstance(command, list) else None
