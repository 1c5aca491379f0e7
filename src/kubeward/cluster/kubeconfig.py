"""Where the cluster is and who we are: kubeconfig files, contexts, credentials, in-cluster.

Follows kubectl's rules: ``--kubeconfig`` names one file, else ``$KUBECONFIG`` lists files
(``:``-separated; for each cluster, user and context name the first file that defines it wins,
and the first ``current-context`` set wins), else ``~/.kube/config``; with none of them, the
pod's service account when running inside a cluster. Relative paths in a file are relative to
that file, and so is an exec plugin's command when it names a path (holds a ``/``). Credentials:
client certificates (files or ``*-data``), bearer tokens (``token``, ``tokenFile``) and exec
plugins (``client.authentication.k8s.io`` ExecCredential). A cluster's ``tls-server-name`` and
``proxy-url`` (http, https, socks5) are honoured.

No credential ever appears in an error message: errors name the file, context and field. A
``user:password@`` in a server URL is dropped when the file is read (never sent, shown or
stored), with a warning.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from kubeward.errors import ClusterError
from kubeward.yaml_lines import YamlProblem, load_one

IN_CLUSTER_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
EXEC_TIMEOUT = 60.0
PROXY_SCHEMES = ("http", "https", "socks5")
"""What client-go accepts in ``proxy-url``."""


def without_userinfo(url: str) -> str:
    """``url`` without a ``user:password@`` part: the form of a URL that may be shown or stored."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _parse_url(url: str) -> SplitResult | None:
    """The parts of ``url`` when it is a usable absolute URL, else ``None``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        return None
    return parts if parts.hostname else None


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """How to authenticate: PEM bytes for a client certificate, or a bearer token."""

    client_cert: bytes | None = field(default=None, repr=False)
    client_key: bytes | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    """Re-read on every connection: projected service-account tokens rotate."""
    expires_at: datetime | None = None
    """An exec plugin's ``expirationTimestamp``: renew before then."""
    renew: Callable[[], Credentials] | None = field(default=None, repr=False, compare=False)
    """Fresh credentials (runs the exec plugin again); None when they cannot be renewed."""


@dataclass(frozen=True, kw_only=True)
class Connection:
    """Everything the API client needs; ``describe()`` is safe to print."""

    server: str
    context: str
    source: str
    """The kubeconfig file(s) or ``in-cluster``."""
    ca_pem: bytes | None = field(default=None, repr=False)
    insecure: bool = False
    tls_server_name: str | None = None
    """The name to send (SNI) and to verify the server's certificate against, if not the host."""
    proxy_url: str | None = field(default=None, repr=False)
    """The cluster's ``proxy-url`` (may hold the proxy's credentials: show ``without_userinfo``)."""
    namespace: str | None = None
    """The context's default namespace."""
    credentials: Credentials = field(default_factory=Credentials)
    warnings: tuple[str, ...] = ()
    """Safe to print: what in the kubeconfig kubeward ignored."""

    def describe(self) -> str:
        return f"context {self.context!r} ({self.server}) from {self.source}"

    def bearer_token(self) -> str | None:
        if self.credentials.token_file is not None:
            try:
                return self.credentials.token_file.read_text().strip()
            except OSError as exc:
                raise ClusterError(
                    f"{self.describe()}: cannot read token file "
                    f"{self.credentials.token_file}: {exc.strerror}"
                ) from None
        return self.credentials.token


def load(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Connection:
    """The connection for ``context`` (default: the current context); raises ``ClusterError``."""
    env = os.environ if environ is None else environ
    if kubeconfig:
        files = [Path(kubeconfig)]
        if not files[0].exists():
            raise ClusterError(f"kubeconfig {kubeconfig}: no such file")
    elif env.get("KUBECONFIG"):
        files = [Path(p) for p in env["KUBECONFIG"].split(os.pathsep) if p]
        files = [f for f in files if f.exists()]
    else:
        default = Path(env.get("HOME", str(Path.home()))) / ".kube" / "config"
        files = [default] if default.exists() else []
    if not files:
        if env.get("KUBERNETES_SERVICE_HOST") and (IN_CLUSTER_DIR / "token").exists():
            return in_cluster(env)
        raise ClusterError(
            "no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config"
        )
    return _from_files(files, context)


def in_cluster(env: Mapping[str, str]) -> Connection:
    host, port = env["KUBERNETES_SERVICE_HOST"], env.get("KUBERNETES_SERVICE_PORT", "443")
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    ca = IN_CLUSTER_DIR / "ca.crt"
    namespace = IN_CLUSTER_DIR / "namespace"
    return Connection(
        server=server,
        context="in-cluster",
        source="in-cluster",
        ca_pem=ca.read_bytes() if ca.exists() else None,
        namespace=namespace.read_text().strip() if namespace.exists() else None,
        credentials=Credentials(token_file=IN_CLUSTER_DIR / "token"),
    )


@dataclass
class _Merged:
    clusters: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    users: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    contexts: dict[str, tuple[dict[str, Any], Path]] = field(default_factory=dict)
    current: str | None = None


def _read(path: Path) -> dict[str, Any]:
    try:
        _, data = load_one(path.read_text())
    except OSError as exc:
        raise ClusterError(f"kubeconfig {path}: cannot read: {exc.strerror}") from None
    except YamlProblem as exc:  # never the value: a kubeconfig holds credentials
        where = f":{exc.line}" if exc.line is not None else ""
        raise ClusterError(f"kubeconfig {path}{where}: not valid YAML ({exc.message})") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ClusterError(f"kubeconfig {path}: expected a mapping at the top level")
    return data


def _from_files(files: Sequence[Path], context: str | None) -> Connection:
    merged = _Merged()
    for path in files:
        data = _read(path)
        for section, target in (
            ("clusters", merged.clusters),
            ("users", merged.users),
            ("contexts", merged.contexts),
        ):
            entries = data.get(section) or []
            if not isinstance(entries, list):
                raise ClusterError(f"kubeconfig {path}: {section} must be a list")
            for index, entry in enumerate(entries):
                body_key = section[:-1]
                if (
                    not isinstance(entry, dict)
                    or not isinstance(entry.get("name"), str)
                    or not isinstance(entry.get(body_key) or {}, dict)
                ):
                    raise ClusterError(
                        f"kubeconfig {path}: {section}[{index}] needs a name "
                        f"and a {body_key} mapping"
                    )
                target.setdefault(entry["name"], (entry.get(body_key) or {}, path))
        current = data.get("current-context")
        if merged.current is None and isinstance(current, str) and current:
            merged.current = current
    source = ", ".join(str(p) for p in files)
    name = context or merged.current
    if not name:
        raise ClusterError(f"kubeconfig {source}: no current-context; pass --context")
    if name not in merged.contexts:
        known = ", ".join(sorted(merged.contexts)) or "none"
        raise ClusterError(f"kubeconfig {source}: no context {name!r} (contexts: {known})")
    ctx, ctx_file = merged.contexts[name]
    cluster_name, user_name = ctx.get("cluster"), ctx.get("user")
    if cluster_name not in merged.clusters:
        raise ClusterError(f"kubeconfig {ctx_file}: context {name!r} names unknown cluster")
    cluster, cluster_file = merged.clusters[cluster_name]
    where = f"kubeconfig {cluster_file}, cluster {cluster_name!r}"
    server, warnings = _server(cluster.get("server"), where)
    user: dict[str, Any] = {}
    user_file = ctx_file
    if user_name:
        if user_name not in merged.users:
            raise ClusterError(f"kubeconfig {ctx_file}: context {name!r} names unknown user")
        user, user_file = merged.users[user_name]
    namespace = ctx.get("namespace")
    return Connection(
        server=server,
        context=name,
        source=source,
        ca_pem=_pem(cluster, "certificate-authority", cluster_file, where),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        tls_server_name=_optional_str(cluster, "tls-server-name", where),
        proxy_url=_proxy_url(cluster, where),
        namespace=namespace if isinstance(namespace, str) and namespace else None,
        credentials=_credentials(user, user_file, f"kubeconfig {user_file}, user {user_name!r}"),
        warnings=warnings,
    )


def _server(server: Any, where: str) -> tuple[str, tuple[str, ...]]:
    """The server URL without credentials, and the warning when it held some.

    Basic auth is gone from Kubernetes (1.19), so a ``user:password@`` can only be a leftover
    or a mistake: it is never sent (httpx would send it as basic auth), shown or stored. No
    message shows the URL as written: it may hold the password.
    """
    if not isinstance(server, str) or not server.startswith(("https://", "http://")):
        raise ClusterError(f"{where} has no https:// server")
    clean = without_userinfo(server).rstrip("/")
    parts = _parse_url(clean)
    # an '@' left over means a password that urlsplit read as host or path: refuse, unshown
    if parts is None or "@" in clean:
        raise ClusterError(f"{where}: the server is not a valid URL")
    if clean == server.rstrip("/"):
        return clean, ()
    return clean, (
        f"{where}: the server URL holds credentials (user:password@); "
        "kubeward ignores them and connects as the kubeconfig user",
    )


def _optional_str(section: Mapping[str, Any], key: str, where: str) -> str | None:
    value = section.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ClusterError(f"{where}: {key} must be a string")
    return value


def _proxy_url(cluster: Mapping[str, Any], where: str) -> str | None:
    """``proxy-url``, checked as client-go does; the message never shows it (credentials)."""
    proxy = _optional_str(cluster, "proxy-url", where)
    if proxy is None:
        return None
    parts = _parse_url(proxy)
    if parts is None or parts.scheme not in PROXY_SCHEMES:
        raise ClusterError(
            f"{where}: proxy-url must be a {', '.join(s + '://' for s in PROXY_SCHEMES)} URL"
        )
    return proxy


def _pem(section: Mapping[str, Any], key: str, file: Path, where: str) -> bytes | None:
    """``key-data`` (base64) or the file named by ``key`` (relative to the kubeconfig)."""
    data = section.get(f"{key}-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True)
        except ValueError:
            raise ClusterError(f"{where}: {key}-data is not valid base64") from None
    name = section.get(key)
    if not name:
        return None
    path = Path(str(name)).expanduser()
    if not path.is_absolute():
        path = file.parent / path
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ClusterError(f"{where}: cannot read {key} {path}: {exc.strerror}") from None


def _credentials(user: Mapping[str, Any], file: Path, where: str) -> Credentials:
    if user.get("exec"):
        return _renewable(lambda: _exec(_exec_relative_to(user["exec"], file), where))
    cert = _pem(user, "client-certificate", file, where)
    key = _pem(user, "client-key", file, where)
    if (cert is None) != (key is None):
        raise ClusterError(f"{where}: client-certificate and client-key come together")
    token = user.get("token")
    token_file = user.get("tokenFile")
    if user.get("username") or user.get("auth-provider"):
        raise ClusterError(
            f"{where}: basic auth and auth-provider plugins are not supported "
            "(removed from kubectl); use a token, a client certificate or an exec plugin"
        )
    if token_file:
        path = Path(str(token_file)).expanduser()
        return Credentials(
            client_cert=cert,
            client_key=key,
            token_file=path if path.is_absolute() else file.parent / path,
        )
    return Credentials(client_cert=cert, client_key=key, token=str(token) if token else None)


def _exec_relative_to(spec: Any, file: Path) -> Any:
    """As client-go: a command that names a path (``./plugin``, ``bin/plugin``) is relative
    to the kubeconfig file that defines the user; a bare name is looked up in ``PATH``."""
    if not isinstance(spec, dict) or not isinstance(spec.get("command"), str):
        return spec
    command = Path(spec["command"])
    if os.sep not in spec["command"] or command.is_absolute():
        return spec
    # absolute: "./plugin" joined to a relative directory "." would become a PATH lookup
    return {**spec, "command": str(file.parent.absolute() / command)}


def _exec(spec: Any, where: str) -> Credentials:
    """Run a client-go credential plugin once and take its ExecCredential status."""
    if not isinstance(spec, dict) or not isinstance(spec.get("command"), str):
        raise ClusterError(f"{where}: exec needs a command")
    args = spec.get("args") or []
    env = dict(os.environ)
    for entry in spec.get("env") or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            env[entry["name"]] = str(entry.get("value", ""))
    api_version = spec.get("apiVersion") or "client.authentication.k8s.io/v1"
    env["KUBERNETES_EXEC_INFO"] = json.dumps(
        {"apiVersion": api_version, "kind": "ExecCredential", "spec": {"interactive": False}}
    )
    try:
        done = subprocess.run(
            [spec["command"], *map(str, args)],
            capture_output=True,
            env=env,
            timeout=EXEC_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"{where}: exec plugin {spec['command']!r} failed: {exc}") from None
    if done.returncode != 0:
        # stderr may echo secrets; say only that it failed, and how
        raise ClusterError(
            f"{where}: exec plugin {spec['command']!r} exited with {done.returncode}"
        )
    try:
        status = json.loads(done.stdout)["status"]
    except (ValueError, KeyError, TypeError):
        raise ClusterError(f"{where}: exec plugin output is not an ExecCredential") from None
    token = status.get("token")
    cert, key = status.get("clientCertificateData"), status.get("clientKeyData")
    if not token and not (cert and key):
        raise ClusterError(f"{where}: exec plugin returned no token and no certificate")
    return Credentials(
        token=str(token) if token else None,
        client_cert=str(cert).encode() if cert else None,
        client_key=str(key).encode() if key else None,
        expires_at=_expiry(status.get("expirationTimestamp")),
    )


def _renewable(run: Callable[[], Credentials]) -> Credentials:
    """Run a credential plugin now, and keep the way to run it again (tokens expire)."""
    return replace(run(), renew=lambda: _renewable(run))


def _expiry(value: Any) -> datetime | None:
    """An RFC 3339 ``expirationTimestamp``; None when absent or unreadable (never expires)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
