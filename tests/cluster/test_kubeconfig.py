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
