"""The bundled example application: the hardened variant is clean, the insecure one is not,
and no output format ever carries one of its planted secret values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import kubeward
from tests.conftest import ROOT, require_tool

EXAMPLES = ROOT / "examples"
CANARY = "canary-s3cr3t-do-not-print"


def scan(variant: str, *args: str) -> dict[str, Any]:
    run = kubeward("scan", EXAMPLES / variant, "-f", "json", *args, cwd=ROOT)
    assert "Traceback" not in run.stderr
    report: dict[str, Any] = json.loads(run.stdout)
    report["_code"] = run.code
    return report


def test_manifests_hold_a_realistic_application() -> None:
    for variant in ("insecure", "hardened"):
        report = scan(f"{variant}/manifests")
        assert report["summary"]["objects"] >= 40, variant
        assert not report["errors"]


def test_hardened_variant_scans_clean() -> None:
    require_tool("helm")
    require_tool("kustomize")
    report = scan("hardened", "--namespace", "shop")
    assert report["summary"]["errors"] == 0
    assert report["findings"] == [], [
        (f["ruleId"], f["file"], f["line"]) for f in report["findings"]
    ]
    assert report["_code"] == 0
    assert report["summary"]["rulesEvaluated"] >= 60


def test_insecure_variant_trips_most_rules() -> None:
    require_tool("helm")
    require_tool("kustomize")
    report = scan("insecure")
    assert report["_code"] == 1
    fired = {f["ruleId"] for f in report["findings"]}
    assert len(fired) >= 40
    assert {f["file"].split("/")[2] for f in report["findings"]} >= {
        "manifests",
        "chart",
        "kustomize",
    }


@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "junit", "html"])
def test_no_planted_secret_reaches_any_report(fmt: str, tmp_path: Path) -> None:
    assert any(
        CANARY in p.read_text() for p in (EXAMPLES / "insecure" / "manifests").glob("*.yaml")
    )
    out = tmp_path / "report"
    run = kubeward("scan", EXAMPLES / "insecure" / "manifests", "-f", fmt, "-o", out, cwd=ROOT)
    assert run.code == 1
    text = out.read_text()
    assert CANARY not in text
    assert CANARY not in run.stdout + run.stderr
