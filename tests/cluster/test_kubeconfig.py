"""Kubeconfig loading: merging, contexts, credential kinds, and errors that never leak them."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
import yaml

from kubeward.cluster import kubeconfig
from kubeward.errors import ClusterError

SECRET_TOKEN = "canary-token-s3cr3t"


def write(path: Path, config: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(config))
    return path


def config(server: str = "https://127.0.0.1:6443", **user: object) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": user or {"token": SECRET_TOKEN}}],
        "contexts": [
            {"name": "ctx", "context": {"cluster": "c", "user": "u", "namespace": "shop"}}
        ],
        "current-context": "ctx",
    }


def test_token_context_and_namespace(tmp_path: Path) -> None:
    path = write(tmp_path / "config", config())
    connection = kubeconfig.load(str(path))
    assert connection.server == "https://127.0.0.1:6443"
    assert connection.context == "ctx"
    assert connection.namespace == "shop"
    assert connection.bearer_token() == SECRET_TOKEN
    assert SECRET_TOKEN not in repr(connection)
    assert SECRET_TOKEN not in connection.describe()


def test_kubeconfig_variable_merges_first_wins(tmp_path: Path) -> None:
    first = config(server="https://first:6443")
    first["users"] = []
    second = config(server="https://second:6443")
    second["current-context"] = "other"
    second["contexts"].append({"name": "other", "context": {"cluster": "c", "user": "u"}})  # type: ignore[attr-defined]
    a = write(tmp_path / "a", first)
    b = write(tmp_path / "b", second)
    connection = kubeconfig.load(environ={"KUBECONFIG": f"{a}:{tmp_path / 'missing'}:{b}"})
    assert connection.server == "https://first:6443"  # cluster c from the first file
    assert connection.context == "ctx"  # the first current-context set wins
    assert connection.bearer_token() == SECRET_TOKEN  # user u only in the second file
    other = kubeconfig.load(context="other", environ={"KUBECONFIG": f"{a}:{b}"})
    assert other.context == "other"


def test_relative_files_and_inline_data(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_text("CA-PEM")
    (tmp_path / "pki" / "client.crt").write_text("CERT-PEM")
    data = config(
        **{"client-certificate": "pki/client.crt",
           "client-key-data": base64.b64encode(b"KEY-PEM").decode()}
    )  # fmt: skip
    data["clusters"][0]["cluster"]["certificate-authority"] = "pki/ca.crt"  # type: ignore[index]
    path = write(tmp_path / "config", data)
    connection = kubeconfig.load(str(path))
    assert connection.ca_pem == b"CA-PEM"
    assert connection.credentials.client_cert == b"CERT-PEM"
    assert connection.credentials.client_key == b"KEY-PEM"


def test_token_file_is_read_when_used(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    path = write(tmp_path / "config", config(tokenFile="token"))
    connection = kubeconfig.load(str(path))
    assert connection.bearer_token() == "first"
    token.write_text("rotated\n")
    assert connection.bearer_token() == "rotated"


def test_exec_plugin(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(
        "import json, os, sys\n"
        "info = json.loads(os.environ['KUBERNETES_EXEC_INFO'])\n"
        "assert info['kind'] == 'ExecCredential'\n"
        "print(json.dumps({'apiVersion': info['apiVersion'], 'kind': 'ExecCredential',\n"
        "                  'status': {'token': os.environ['TOKEN']}}))\n"
    )
    import sys

    exec_spec = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable,
        "args": [str(plugin)],
        "env": [{"name": "TOKEN", "value": SECRET_TOKEN}],
    }
    path = write(tmp_path / "config", config(exec=exec_spec))
    assert kubeconfig.load(str(path)).bearer_token() == SECRET_TOKEN


def test_failing_exec_plugin_does_not_echo_its_output(tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.sh"
    plugin.write_text(f"#!/bin/sh\necho {SECRET_TOKEN} >&2\necho {SECRET_TOKEN}\nexit 3\n")
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    path = write(tmp_path / "config", config(exec={"command": str(plugin)}))
    with pytest.raises(ClusterError) as caught:
        kubeconfig.load(str(path))
    assert "exited with 3" in str(caught.value)
    assert SECRET_TOKEN not in str(caught.value)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda c: c.update({"current-context": "nope"}), "no context 'nope'"),
        (lambda c: c.pop("current-context"), "no current-context"),
        (lambda c: c["clusters"][0]["cluster"].update({"server": "127.0.0.1"}), "no https:// server"),
        (lambda c: c.update({"users": "x"}), "users must be a list"),
        (lambda c: c["users"][0].update({"user": {"username": "a", "password": SECRET_TOKEN}}), "basic auth"),
        (lambda c: c["users"][0].update({"user": {"client-key-data": "!!"}}), "not valid base64"),
        (lambda c: c["users"][0].update({"user": {"client-certificate": "missing.crt", "client-key": "k"}}), "cannot read client-certificate"),
    ],
)  # fmt: skip
def test_bad_kubeconfigs_are_clear_errors(tmp_path: Path, mutate: object, expected: str) -> None:
    data = json.loads(json.dumps(config()))
    mutate(data)  # type: ignore[operator]
    path = write(tmp_path / "config", data)
    with pytest.raises(ClusterError) as caught:
        kubeconfig.load(str(path))
    assert expected in str(caught.value)
    assert SECRET_TOKEN not in str(caught.value)


def test_unparseable_and_missing_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.write_text("clusters: [\n")
    with pytest.raises(ClusterError, match=r"bad:\d+: not valid YAML"):
        kubeconfig.load(str(bad))
    # a value YAML cannot build (was an internal error), and a duplicate key: named, never shown
    dated = tmp_path / "dated"
    dated.write_text(f"apiVersion: v1\npreferences: {{expiry: 2027-02-30}}\n"
                     f"users: [{{name: u, user: {{token: {SECRET_TOKEN}}}}}]\n")  # fmt: skip
    with pytest.raises(ClusterError, match=r"dated:2: not valid YAML \(.*invalid date") as caught:
        kubeconfig.load(str(dated))
    assert SECRET_TOKEN not in str(caught.value)
    twice = tmp_path / "twice"
    twice.write_text(f"users: []\nusers: [{{name: u, user: {{token: {SECRET_TOKEN}}}}}]\n")
    with pytest.raises(ClusterError, match=r"twice:2: .*duplicate key users") as caught:
        kubeconfig.load(str(twice))
    assert SECRET_TOKEN not in str(caught.value)
    with pytest.raises(ClusterError, match="no such file"):
        kubeconfig.load(str(tmp_path / "missing"))
    with pytest.raises(ClusterError, match="no kubeconfig"):
        kubeconfig.load(environ={"HOME": str(tmp_path)})


URL_PASSWORD = "canary-url-passw0rd"


def test_credentials_in_the_server_url_are_dropped_with_a_warning(tmp_path: Path) -> None:
    server = f"https://bob:{URL_PASSWORD}@127.0.0.1:6443/"
    path = write(tmp_path / "config", config(server=server))
    connection = kubeconfig.load(str(path))
    assert connection.server == "https://127.0.0.1:6443"
    assert len(connection.warnings) == 1
    assert "server URL holds credentials" in connection.warnings[0]
    for shown in (repr(connection), connection.describe(), *connection.warnings):
        assert URL_PASSWORD not in shown
        assert "bob" not in shown


@pytest.mark.parametrize(
    "server",
    [
        f"https://bob/x:{URL_PASSWORD}@127.0.0.1:6443",  # an unencoded '/' in the user part
        f"https://bob:{URL_PASSWORD}/x@127.0.0.1:6443",  # ... or in the password
    ],
)
def test_a_server_url_that_hides_credentials_elsewhere_is_refused_unshown(
    tmp_path: Path, server: str
) -> None:
    path = write(tmp_path / "config", config(server=server))
    with pytest.raises(ClusterError, match="the server is not a valid URL") as caught:
        kubeconfig.load(str(path))
    assert URL_PASSWORD not in str(caught.value)


def test_proxy_url_and_tls_server_name_are_read(tmp_path: Path) -> None:
    data = config()
    proxy = f"http://p:{URL_PASSWORD}@127.0.0.1:3128"
    data["clusters"][0]["cluster"].update(  # type: ignore[index]
        {"proxy-url": proxy, "tls-server-name": "api.internal"}
    )
    connection = kubeconfig.load(str(write(tmp_path / "config", data)))
    assert connection.proxy_url == proxy
    assert connection.tls_server_name == "api.internal"
    assert URL_PASSWORD not in repr(connection)
    assert kubeconfig.without_userinfo(proxy) == "http://127.0.0.1:3128"


@pytest.mark.parametrize(
    "proxy", ["ftp://127.0.0.1:21", "127.0.0.1:3128", f"socks4://u:{URL_PASSWORD}@h:1"]
)
def test_a_proxy_url_kubectl_would_refuse_is_refused_unshown(tmp_path: Path, proxy: str) -> None:
    data = config()
    data["clusters"][0]["cluster"]["proxy-url"] = proxy  # type: ignore[index]
    with pytest.raises(
        ClusterError, match="proxy-url must be a http://, https://, socks5:// URL"
    ) as caught:
        kubeconfig.load(str(write(tmp_path / "config", data)))
    assert URL_PASSWORD not in str(caught.value)


def test_a_relative_exec_command_is_relative_to_the_kubeconfig(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "kube"
    (home / "bin").mkdir(parents=True)
    plugin = home / "bin" / "plugin.sh"
    plugin.write_text(
        '#!/bin/sh\nprintf \'{"apiVersion": "client.authentication.k8s.io/v1", '
        f'"kind": "ExecCredential", "status": {{"token": "{SECRET_TOKEN}"}}}}\'\n'
    )
    plugin.chmod(plugin.stat().st_mode | stat.S_IEXEC)
    write(home / "config", config(exec={"command": "./bin/plugin.sh"}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    # the kubeconfig named relatively too: the directory "." of "../kube/config" is not enough
    assert kubeconfig.load("../kube/config").bearer_token() == SECRET_TOKEN
    monkeypatch.chdir(home)
    assert kubeconfig.load("config").bearer_token() == SECRET_TOKEN
    # a bare name is a PATH lookup, as in kubectl: never a file beside the kubeconfig
    write(home / "config", config(exec={"command": "plugin.sh"}))
    monkeypatch.chdir(home / "bin")
    with pytest.raises(ClusterError, match=r"exec plugin 'plugin\.sh' failed"):
        kubeconfig.load(str(home / "config"))
