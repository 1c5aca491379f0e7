"""A real Kubernetes control plane on 127.0.0.1 for tests: etcd, kube-apiserver and
kube-controller-manager, built from the Go module proxy by ``tools/testcluster/build.sh``.

    python -m tests.testcluster up      # what `make testcluster-up` runs: start, print kubeconfig
    python -m tests.testcluster down    # stop the cluster `up` started

In tests, the session fixture ``cluster`` (tests/conftest.py) starts one per test session.
Everything binds to 127.0.0.1 on free ports; certificates are made fresh for each cluster.
The controller manager runs only the controllers an API-level tool needs: ClusterRole
aggregation (``admin``/``edit``/``view`` get their rules), namespaces (deletion finishes), the
default service account and its CA bundle, garbage collection. There are no nodes: Pods stay
Pending and Deployments create no ReplicaSets, which is all a scanner needs.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = Path(__file__).resolve().parent.parent
BUILD_SCRIPT = ROOT / "tools" / "testcluster" / "build.sh"
STATE_FILE = Path(tempfile.gettempdir()) / "kubeward-testcluster" / "state.json"
READY_TIMEOUT = 90.0  # seconds; a contended 2-core runner can take 30+ s (kubernetes PR #137743)
CONTROLLERS = ",".join(
    (
        "clusterrole-aggregation-controller",
        "namespace-controller",
        "garbage-collector-controller",
        "serviceaccount-controller",
        "root-ca-certificate-publisher-controller",
    )
)


class ClusterError(Exception):
    """The control plane could not be built, started or reached."""


def bin_dir() -> Path:
    """Where the binaries are: ``$KUBEWARD_TESTCLUSTER_BIN``, else the build script's cache."""
    configured = os.environ.get("KUBEWARD_TESTCLUSTER_BIN")
    if configured:
        return Path(configured)
    done = subprocess.run(
        [str(BUILD_SCRIPT), "--bin-dir"], capture_output=True, text=True, check=True
    )
    return Path(done.stdout.strip())


def missing_binaries(directory: Path) -> list[str]:
    names = ("etcd", "kube-apiserver", "kube-controller-manager")
    return [name for name in names if not (directory / name).exists()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the test process dies, however it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


_CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    key_cert_sign=True,
    crl_sign=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    encipher_only=False,
    decipher_only=False,
)


@dataclass
class _Certificates:
    """A CA, the API server's serving certificate and the service-account signing key."""

    directory: Path
    ca_key: ec.EllipticCurvePrivateKey = field(init=False)
    ca_cert: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeward-test-ca")])
        now = datetime.datetime.now(datetime.UTC)
        self.ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_CA_KEY_USAGE, critical=True)
            .sign(self.ca_key, hashes.SHA256())
        )
        self.write("ca.crt", self.ca_cert.public_bytes(serialization.Encoding.PEM))
        server_key, server_cert = self.issue(
            "kube-apiserver", (), server=True, names=("localhost", "127.0.0.1")
        )
        self.write("apiserver.key", server_key)
        self.write("apiserver.crt", server_cert)
        signing = ec.generate_private_key(ec.SECP256R1())
        self.write("sa.key", _private_pem(signing))
        self.write(
            "sa.pub",
            signing.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )

    def path(self, name: str) -> Path:
        return self.directory / name

    def write(self, name: str, data: bytes) -> Path:
        target = self.path(name)
        target.write_bytes(data)
        target.chmod(0o600)
        return target

    def issue(
        self,
        common_name: str,
        groups: Sequence[str],
        *,
        server: bool = False,
        names: Sequence[str] = (),
    ) -> tuple[bytes, bytes]:
        """A key and certificate (PEM) signed by the CA: CN = user, O = groups."""
        key = ec.generate_private_key(ec.SECP256R1())
        attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
        attributes += [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        now = datetime.datetime.now(datetime.UTC)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attributes))
            .issuer_name(self.ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if names:
            import ipaddress

            alternatives: list[x509.GeneralName] = []
            for entry in names:
                try:
                    alternatives.append(x509.IPAddress(ipaddress.ip_address(entry)))
                except ValueError:
                    alternatives.append(x509.DNSName(entry))
            builder = builder.add_extension(x509.SubjectAlternativeName(alternatives), False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        return _private_pem(key), cert.public_bytes(serialization.Encoding.PEM)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


@dataclass
class TestCluster:
    """One control plane. ``start()``, use ``kubeconfig`` / ``client()``, ``stop()``."""

    __test__ = False  # not a pytest test class

    binaries: Path
    workdir: Path
    audit_policy: Mapping[str, Any] | None = None
    """An audit.k8s.io/v1 Policy: when set, the API server writes ``audit.log`` (JSON lines)."""
    detached: bool = False
    """Keep running after this process exits (``make testcluster-up``)."""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def kubeconfig(self) -> Path:
        """Admin kubeconfig (a client certificate in ``system:masters``)."""
        return self.workdir / "admin.kubeconfig"

    @property
    def audit_log(self) -> Path:
        return self.workdir / "audit.log"

    def start(self) -> TestCluster:
        self.workdir.mkdir(parents=True, exist_ok=True)
        missing = missing_binaries(self.binaries)
        if missing:
            raise ClusterError(f"not built: {', '.join(missing)} (run `make testcluster`)")
        self.certs = _Certificates(self.workdir / "pki")
        self.ports = {name: free_port() for name in ("etcd", "peer", "apiserver", "kcm")}
        self.tokens: dict[str, str] = {}
        self._write_token_file({"kubeward-test-admin": ("admin-token", ["system:masters"])})
        self.user_kubeconfig("kubeward-admin", ["system:masters"], target=self.kubeconfig)
        try:
            self._start_etcd()
            self._start_apiserver()
            self._start_controller_manager()
            self._wait_for_aggregation()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.workdir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [str(self.binaries / args[0]), *args[1:]],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=None if self.detached else _die_with_parent,  # noqa: PLW1509
        )
        log.close()

    def _start_etcd(self) -> None:
        client = f"http://127.0.0.1:{self.ports['etcd']}"
        peer = f"http://127.0.0.1:{self.ports['peer']}"
        self._spawn(
            "etcd",
            [
                "etcd", "--name=kubeward-test", f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
                f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=kubeward-test={peer}", "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )  # fmt: skip
        self._wait("etcd", lambda: httpx.get(f"{client}/health", timeout=2).status_code == 200)

    def apiserver_args(self) -> list[str]:
        pki = self.certs.path
        args = [
            "kube-apiserver",
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={self.ports['apiserver']}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={pki('apiserver.crt')}",
            f"--tls-private-key-file={pki('apiserver.key')}",
            f"--client-ca-file={pki('ca.crt')}",
            f"--token-auth-file={self.workdir / 'tokens.csv'}",
            "--authorization-mode=Node,RBAC",
            f"--service-account-issuer={self.server}",
            f"--service-account-key-file={pki('sa.pub')}",
            f"--service-account-signing-key-file={pki('sa.key')}",
            "--service-cluster-ip-range=10.96.0.0/16",  # room for benchmark-sized clusters
            "--allow-privileged=true",
            "--profiling=false",
        ]
        if self.audit_policy is not None:
            policy = self.workdir / "audit-policy.yaml"
            policy.write_text(yaml.safe_dump(dict(self.audit_policy)))
            args += [
                f"--audit-policy-file={policy}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                "--audit-log-mode=blocking",
            ]
        return args

    def _start_apiserver(self) -> None:
        self._spawn("apiserver", self.apiserver_args())
        self._wait("apiserver", lambda: self._get("/readyz").status_code == 200)

    def compact_etcd(self) -> int:
        """Compact etcd's history up to now (as the API server does every 5 minutes), so a
        watch from an older resourceVersion gets 410 Gone. Returns the revision."""
        etcd = f"http://127.0.0.1:{self.ports['etcd']}"
        with httpx.Client(base_url=etcd, timeout=10) as api:
            revision = api.post("/v3/kv/range", json={"key": "AA=="}).json()["header"]["revision"]
            api.post("/v3/kv/compaction", json={"revision": revision, "physical": True})
        return int(revision)

    def restart_apiserver(self) -> None:
        """Stop and start the API server on the same port (etcd keeps the state)."""
        self._terminate("apiserver")
        self._start_apiserver()

    def _start_controller_manager(self) -> None:
        pki = self.certs.path
        self._spawn(
            "controller-manager",
            [
                "kube-controller-manager",
                f"--kubeconfig={self.kubeconfig}",
                f"--authentication-kubeconfig={self.kubeconfig}",
                f"--authorization-kubeconfig={self.kubeconfig}",
                "--bind-address=127.0.0.1",
                f"--secure-port={self.ports['kcm']}",
                f"--controllers={CONTROLLERS}",
                f"--service-account-private-key-file={pki('sa.key')}",
                f"--root-ca-file={pki('ca.crt')}",
                "--leader-elect=false",
                "--profiling=false",
            ],
        )

    def _wait_for_aggregation(self) -> None:
        """The controller manager is useful once ``view`` has its aggregated rules."""

        def aggregated() -> bool:
            found = self._get("/apis/rbac.authorization.k8s.io/v1/clusterroles/view")
            return found.status_code == 200 and bool(found.json().get("rules"))

        self._wait("controller-manager", aggregated)

    def _wait(self, name: str, ready: Any) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            process = self.processes[name]
            if process.poll() is not None:
                raise ClusterError(f"{name} exited with {process.returncode}: {self._tail(name)}")
            with contextlib.suppress(httpx.HTTPError):
                if ready():
                    return
            time.sleep(0.25)
        raise ClusterError(f"{name} not ready after {READY_TIMEOUT:.0f} s: {self._tail(name)}")

    def _tail(self, name: str) -> str:
        log = self.workdir / f"{name}.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"

    def _terminate(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def stop(self) -> None:
        for name in ("controller-manager", "apiserver", "etcd"):
            self._terminate(name)

    # -- identities ------------------------------------------------------------------------

    def _write_token_file(self, users: Mapping[str, tuple[str, Sequence[str]]]) -> None:
        """Static bearer tokens (read at start-up): user -> (token, groups)."""
        lines = []
        for user, (token, groups) in users.items():
            self.tokens[user] = token
            lines.append(f'{token},{user},uid-{user},"{",".join(groups)}"')
        (self.workdir / "tokens.csv").write_text("\n".join(lines) + "\n")

    def user_kubeconfig(
        self, user: str, groups: Sequence[str] = (), *, target: Path | None = None
    ) -> Path:
        """A kubeconfig for a client-certificate user (CN = ``user``, O = ``groups``)."""
        key, cert = self.certs.issue(user, groups)
        key_file = self.certs.write(f"user-{user}.key", key)
        cert_file = self.certs.write(f"user-{user}.crt", cert)
        return self._kubeconfig(
            target or self.workdir / f"{user}.kubeconfig",
            {"client-certificate": str(cert_file), "client-key": str(key_file)},
        )

    def token_kubeconfig(self, token: str, name: str) -> Path:
        """A kubeconfig that authenticates with a bearer token (e.g. a service account's)."""
        return self._kubeconfig(self.workdir / f"{name}.kubeconfig", {"token": token})

    def _kubeconfig(self, target: Path, credentials: Mapping[str, str]) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "kubeward-test",
                    "cluster": {
                        "server": self.server if self.ports else "https://127.0.0.1:0",
                        "certificate-authority": str(self.certs.path("ca.crt")),
                    },
                }
            ],
            "users": [{"name": "user", "user": dict(credentials)}],
            "contexts": [
                {"name": "kubeward-test", "context": {"cluster": "kubeward-test", "user": "user"}}
            ],
            "current-context": "kubeward-test",
        }
        target.write_text(yaml.safe_dump(config))
        target.chmod(0o600)
        return target

    def service_account_token(self, namespace: str, name: str) -> str:
        """A bound token for a service account (TokenRequest API; the account must exist)."""
        with self.client() as api:
            response = api.post(
                f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {}},
            )
        response.raise_for_status()
        return str(response.json()["status"]["token"])

    # -- API access for test setup -----------------------------------------------------------

    def _get(self, path: str) -> httpx.Response:
        with self.client() as api:
            return api.get(path)

    def client(self) -> httpx.Client:
        """An admin HTTP client (tests' setup and checks; kubeward uses its own client)."""
        pki = self.certs.path
        context = ssl.create_default_context(cafile=str(pki("ca.crt")))
        context.load_cert_chain(pki("user-kubeward-admin.crt"), pki("user-kubeward-admin.key"))
        return httpx.Client(base_url=self.server, verify=context, timeout=30)

    def resources(self) -> dict[tuple[str, str], tuple[str, bool]]:
        """(apiVersion, kind) -> (collection path, namespaced), from discovery."""
        found: dict[tuple[str, str], tuple[str, bool]] = {}
        with self.client() as api:
            versions = [("v1", "/api/v1")]
            for group in api.get("/apis").json()["groups"]:
                for version in group["versions"]:
                    gv = version["groupVersion"]
                    versions.append((gv, f"/apis/{gv}"))
            for group_version, base in versions:
                listing = api.get(base)
                if listing.status_code != 200:
                    continue
                for resource in listing.json()["resources"]:
                    if "/" in resource["name"]:
                        continue
                    key = (group_version, resource["kind"])
                    found.setdefault(key, (f"{base}/{resource['name']}", resource["namespaced"]))
        return found

    def object_path(
        self,
        obj: Mapping[str, Any],
        namespace: str = "default",
        resources: Mapping[tuple[str, str], tuple[str, bool]] | None = None,
    ) -> str:
        """The API path of ``obj`` (found by discovery)."""
        collection, namespaced = (resources or self.resources())[(obj["apiVersion"], obj["kind"])]
        meta = obj["metadata"]
        if namespaced:
            base, plural = collection.rsplit("/", 1)
            collection = f"{base}/namespaces/{meta.get('namespace') or namespace}/{plural}"
        return f"{collection}/{meta['name']}"

    def apply(self, objects: Sequence[Mapping[str, Any]], namespace: str = "default") -> None:
        """Server-side apply, in the order given. After a Namespace, waits for its `default`
        ServiceAccount (pods need it, and a token Secret naming a missing one is deleted)."""
        resources = self.resources()
        with self.client() as api:
            for obj in objects:
                response = api.patch(
                    self.object_path(obj, namespace, resources),
                    params={"fieldManager": "kubeward-tests", "force": "true"},
                    content=json.dumps(obj),
                    headers={"Content-Type": "application/apply-patch+yaml"},
                )
                if response.status_code >= 300:
                    raise ClusterError(
                        f"apply {obj['kind']}/{obj['metadata']['name']}: {response.text}"
                    )
                if obj["kind"] == "Namespace":
                    self.wait_for_default_service_account(obj["metadata"]["name"])

    def apply_in_waves(
        self, waves: Sequence[Sequence[Mapping[str, Any]]], workers: int = 8
    ) -> list[str]:
        """Bulk server-side apply for benchmarks: each wave with ``workers`` concurrent clients,
        after the previous one (accounts before the pods that name them). Returns what the API
        server refused ("Kind/name: status reason")."""
        resources = self.resources()
        local = threading.local()
        clients: list[httpx.Client] = []
        refused: list[str] = []

        def apply(obj: Mapping[str, Any]) -> None:
            if not hasattr(local, "api"):
                local.api = self.client()
                clients.append(local.api)
            response = local.api.patch(
                self.object_path(obj, "default", resources),
                params={"fieldManager": "kubeward-bench", "force": "true"},
                content=json.dumps(obj),
                headers={"Content-Type": "application/apply-patch+yaml"},
            )
            if response.status_code >= 300:
                reason = response.text[:200]
                refused.append(
                    f"{obj['kind']}/{obj['metadata']['name']}: {response.status_code} {reason}"
                )

        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for wave in waves:
                    list(pool.map(apply, wave))
        finally:
            for client in clients:
                client.close()
        return refused

    def wait_for_default_service_account(self, namespace: str, timeout: float = 30) -> None:
        """The controller manager creates each namespace's `default` ServiceAccount shortly
        after the namespace; objects that need it (a token Secret naming it is deleted when it
        is missing) must wait for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._get(f"/api/v1/namespaces/{namespace}/serviceaccounts/default").is_success:
                return
            time.sleep(0.1)
        raise ClusterError(f"no default service account in {namespace} after {timeout:.0f} s")

    def bootstrap_rbac(self) -> list[dict[str, Any]]:
        """The API server's default RBAC objects (label kubernetes.io/bootstrapping:
        rbac-defaults), as stored, without server-set metadata (tools/gen_bootstrap_rbac.py)."""
        objects: list[dict[str, Any]] = []
        with self.client() as api:
            for plural in ("clusterroles", "clusterrolebindings", "roles", "rolebindings"):
                listing = api.get(
                    f"/apis/rbac.authorization.k8s.io/v1/{plural}",
                    params={"labelSelector": "kubernetes.io/bootstrapping=rbac-defaults"},
                ).json()
                kind = listing["kind"].removesuffix("List")
                for item in listing["items"]:
                    meta = item["metadata"]
                    kept = {"name": meta["name"]}
                    if meta.get("namespace"):
                        kept["namespace"] = meta["namespace"]
                    if meta.get("labels"):
                        kept["labels"] = meta["labels"]
                    body = {
                        k: v
                        for k, v in item.items()
                        if k in ("rules", "aggregationRule", "roleRef", "subjects")
                    }
                    objects.append(
                        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
                         "metadata": kept, **body}
                    )  # fmt: skip
        return sorted(
            objects,
            key=lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]),
        )

    def delete(self, obj: Mapping[str, Any], namespace: str = "default") -> None:
        with self.client() as api:
            api.delete(self.object_path(obj, namespace))


@contextlib.contextmanager
def running(workdir: Path | None = None, **options: Any) -> Iterator[TestCluster]:
    """A started cluster, stopped on exit (also when the block raises)."""
    directory = workdir or Path(tempfile.mkdtemp(prefix="kubeward-testcluster-"))
    cluster = TestCluster(bin_dir(), directory, **options)
    try:
        yield cluster.start()
    finally:
        cluster.stop()
        if workdir is None:
            shutil.rmtree(directory, ignore_errors=True)


def _up() -> int:
    if STATE_FILE.exists():
        print(f"a test cluster is already up (state in {STATE_FILE}); `make testcluster-down`")
        return 1
    workdir = STATE_FILE.parent / "cluster"
    shutil.rmtree(workdir, ignore_errors=True)
    cluster = TestCluster(bin_dir(), workdir, detached=True)
    try:
        cluster.start()
    except ClusterError as exc:
        print(f"testcluster: {exc}", file=sys.stderr)
        return 2
    state = {name: process.pid for name, process in cluster.processes.items()}
    STATE_FILE.write_text(json.dumps({"pids": state, "workdir": str(workdir)}))
    print(cluster.kubeconfig.resolve())
    return 0


def _down() -> int:
    if not STATE_FILE.exists():
        print("no test cluster is up")
        return 0
    state = json.loads(STATE_FILE.read_text())
    for pid in state["pids"].values():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for pid in state["pids"].values():
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    shutil.rmtree(state["workdir"], ignore_errors=True)
    STATE_FILE.unlink()
    print("test cluster stopped")
    return 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command not in ("up", "down"):
        print("usage: python -m tests.testcluster up|down", file=sys.stderr)
        sys.exit(2)
    sys.exit(_up() if command == "up" else _down())
