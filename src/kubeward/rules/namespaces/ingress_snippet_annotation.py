"""## What it does
Flags Ingresses that carry an ingress-nginx snippet annotation, one of `SNIPPET_ANNOTATIONS`:
`nginx.ingress.kubernetes.io/configuration-snippet`, `server-snippet`, `auth-snippet`,
`stream-snippet` or `modsecurity-snippet`. The annotation's value is never quoted.

Only the default `nginx.ingress.kubernetes.io/` prefix is recognised (a controller started with
another `--annotations-prefix` is not covered).

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

_PREFIX = "nginx.ingress.kubernetes.io/"
#: ingress-nginx annotations whose value is pasted into nginx.conf as is.
SNIPPET_ANNOTATIONS = frozenset(
    _PREFIX + name
    for name in (
        "configuration-snippet",
        "server-snippet",
        "auth-snippet",
        "stream-snippet",
        "modsecurity-snippet",
    )
)


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
    for key in obj.annotations:
        if key in SNIPPET_ANNOTATIONS:
            yield Violation(
                ("metadata", "annotations", key),
                f"annotation {key} injects raw nginx configuration into the shared ingress "
                "controller",
            )
