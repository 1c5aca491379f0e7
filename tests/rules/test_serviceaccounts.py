"""Messages of the service-account rules that the fixtures' (rule, line) pairs do not pin."""

from __future__ import annotations

from kubeward.model import ScanResult
from tests.conftest import ScanText


def _messages(result: ScanResult, rule_id: str) -> list[str]:
    return [f.message for f in result.findings if f.rule_id == rule_id]


def test_a002_names_the_containers_that_get_the_token(scan_text: ScanText) -> None:
    """A container with its own mount at the token's path gets no token; the others do."""
    result = scan_text(
        """\
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop}
spec:
  automountServiceAccountToken: true
  containers:
    - name: app
      image: nginx:1.27
      volumeMounts: [{name: empty, mountPath: /var/run/secrets/kubernetes.io/serviceaccount}]
    - name: sidecar
      image: nginx:1.27
  volumes: [{name: empty, emptyDir: {}}]
""",
        select=("A002",),
    )
    assert _messages(result, "A002") == [
        "the pod spec sets automountServiceAccountToken: true, so the token of ServiceAccount "
        '"shop/default" is mounted into container "sidecar" (the others mount their own '
        "/var/run/secrets/kubernetes.io/serviceaccount)"
    ]


def test_a002_reports_a_hand_made_api_token_besides_automounting(scan_text: ScanText) -> None:
    """Automounting and a projected API-audience token are two findings, on their own lines."""
    result = scan_text(
        """\
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop}
spec:
  serviceAccountName: api
  containers:
    - name: app
      image: nginx:1.27
      volumeMounts: [{name: token, mountPath: /var/run/secrets/tokens}]
  volumes:
    - name: token
      projected:
        sources:
          - serviceAccountToken: {path: token}
""",
        select=("A002",),
    )
    assert [(f.line, f.message) for f in result.findings] == [
        (
            4,
            'automountServiceAccountToken is not set and ServiceAccount "shop/api" is not in '
            "the scan: Kubernetes mounts its token unless the ServiceAccount sets "
            "automountServiceAccountToken: false",
        ),
        (
            14,
            'projected volume "token": mounts a token of ServiceAccount "shop/api" with no '
            'audience, so one the API server accepts, into container "app"',
        ),
    ]


def test_a004_a_cluster_role_binding_without_namespace_is_rejected(scan_text: ScanText) -> None:
    """The API server requires the namespace of a ServiceAccount subject in a
    ClusterRoleBinding: the message must not claim that the binding grants anything."""
    result = scan_text(
        """\
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: view}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
  - {kind: ServiceAccount, name: default}
""",
        select=("A004",),
    )
    assert _messages(result, "A004") == [
        'names the `default` service account for ClusterRole "view" without the `namespace` a '
        "ClusterRoleBinding requires: the API server rejects the binding, and with one added "
        "every pod of that namespace that names no service account gets the role"
    ]


def test_a005_says_when_the_cleaner_invalidated_the_token(scan_text: ScanText) -> None:
    result = scan_text(
        """\
apiVersion: v1
kind: Secret
metadata:
  name: builder-token
  namespace: shop
  labels: {kubernetes.io/legacy-token-invalid-since: "2026-01-10"}
  annotations: {kubernetes.io/service-account.name: builder}
type: kubernetes.io/service-account-token
""",
        select=("A005",),
    )
    assert _messages(result, "A005") == [
        "type kubernetes.io/service-account-token: a non-expiring API token for service "
        'account "builder" (invalidated since 2026-01-10 by the legacy token cleaner; removing '
        "the kubernetes.io/legacy-token-invalid-since label re-enables it)"
    ]


def test_a002_a_live_pod_shows_the_token_the_plugin_mounted(scan_text: ScanText) -> None:
    """A Pod read from a cluster (or at admission) carries the plugin's kube-api-access volume,
    mounted at the token's path in every container: the finding is that volume's token."""
    result = scan_text(
        """\
apiVersion: v1
kind: Pod
metadata: {name: api, namespace: shop}
spec:
  serviceAccountName: api
  containers:
    - name: app
      image: nginx:1.27
      volumeMounts:
        - name: kube-api-access-x7k2p
          mountPath: /var/run/secrets/kubernetes.io/serviceaccount
          readOnly: true
  volumes:
    - name: kube-api-access-x7k2p
      projected:
        sources:
          - serviceAccountToken: {expirationSeconds: 3607, path: token}
          - configMap: {name: kube-root-ca.crt, items: [{key: ca.crt, path: ca.crt}]}
""",
        select=("A002",),
    )
    assert [(f.line, f.message) for f in result.findings] == [
        (
            17,
            'projected volume "kube-api-access-x7k2p": the ServiceAccount admission plugin '
            'mounted the token of "shop/api" into container "app"',
        )
    ]
