"""## What it does
Flags Ingresses that carry an ingress-nginx snippet annotation, one of `SNIPPET_NAMES`:
`nginx.ingress.kubernetes.io/configuration-snippet`, `server-snippet`, `auth-snippet`,
`stream-snippet` or `modsecurity-snippet`, the five annotations ingress-nginx rates "Critical"
in its [annotation risk table](https://kubernetes.github.io/ingress-nginx/user-guide/nginx-configuration/annotations-risk/).
The annotation's value is never quoted.

Any prefix counts: the controller's `--annotations-prefix` flag replaces
`nginx.ingress.kubernetes.io` (forks and old releases use `ingress.kubernetes.io`). A value
that is blank after trimming is not flagged: ingress-nginx trims each line and ignores an empty
value, so nothing is injected.

Not flagged: the "High" risk annotations (`auth-url`, `auth-signin`, `mirror-target`,
`mirror-host`, `server-alias`, ...). They were injection vectors too (CVE-2025-24514 via
`auth-url`, CVE-2025-1097 via `auth-tls-match-cn`, CVE-2025-1098 via `mirror-*`), but they are
ordinary features whose values the controller validates since v1.11.5 / v1.12.1
(`enable-annotation-validation`); keeping ingress-nginx patched is the fix there. Other
controllers' snippets (NGINX Inc.'s `nginx.org/server-snippets`) are not covered.

## Why is this bad?
A snippet is raw nginx configuration pasted into the shared controller, which runs with a
service account that can read the Secrets (TLS keys, tokens) of every namespace. Whoever can
create an Ingress in any namespace can use a snippet to read those files and the controller's
token, or to hijack other tenants' traffic (CVE-2021-25742). The IngressNightmare
vulnerabilities (CVE-2025-1974 with CVE-2025-24514, CVE-2025-1097 and CVE-2025-1098) showed
again that configuration injected through Ingress annotations leads to code execution in the
controller and a cluster-wide secret leak. ingress-nginx disables snippet annotations by
default since v1.9 (`allow-snippet-annotations: false`); manifests that depend on them keep
the risk alive, or silently stop working.

## Example
```yaml
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: shop
  annotations:
    nginx.ingress.kubernetes.io/configuration-snippet: |
      more_set_headers "X-Frame-Options: DENY";
```

Use instead: the dedicated annotations or ConfigMap options of the controller
(`nginx.ingress.kubernetes.io/custom-headers` with a ConfigMap of headers), or move the logic
into the application or a Gateway API filter.
"""

from collections.abc import Iterator

from kubeward.model import K8sObject, Severity, Violation
from kubeward.rules._base import RuleParams, Target, rule

#: ingress-nginx annotations (after the prefix) whose value is pasted into nginx.conf as is.
SNIPPET_NAMES = frozenset(
    {
        "configuration-snippet",
        "server-snippet",
        "auth-snippet",
        "stream-snippet",
        "modsecurity-snippet",
    }
)


def _snippet(key: str, value: object) -> bool:
    prefix, slash, name = key.rpartition("/")
    # a blank value is ignored by the controller (its parser trims each line)
    blank = isinstance(value, str) and not value.strip()
    return bool(prefix and slash) and name in SNIPPET_NAMES and not blank


@rule(
    id="N010",
    name="ingress-snippet-annotation",
    title="Ingress injects an nginx configuration snippet",
    severity=Severity.HIGH,
    target=Target(kinds=frozenset({"Ingress"})),
    remediation=(
        "Remove the snippet annotation and use the controller's dedicated annotations or "
        "ConfigMap options."
    ),
)
def ingress_snippet_annotation(obj: K8sObject, params: RuleParams) -> Iterator[Violation]:
    for key, value in obj.annotations.items():
        if _snippet(key, value):
            yield Violation(
                ("metadata", "annotations", key),
                f"annotation {key} injects raw nginx configuration into the shared ingress "
                "controller",
            )
