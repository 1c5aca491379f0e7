"""Every rule against its annotated fixtures: the exact set of (line, rule) pairs.

Fixtures live in ``tests/rules/fixtures/<ID>/``: ``fail*.yaml`` files mark each line that must
be reported with ``# expect: <ID>``; ``pass*.yaml`` files must produce no finding of the rule.
Lines without a marker must stay clean, so the clean cases come for free. A ``kubeward.yaml``
in the directory configures the rule (e.g. trusted registries), a ``verdicts.json`` gives
image signature verdicts (I007: the registry lookups are tested in test_signatures.py); a subdirectory
(``fixtures/<ID>/<variant>/``) holds fixtures for another configuration of the same rule. A
``# namespace: NS`` comment in the first line of a file sets the deploy-time namespace.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from kubeward.config import Config, load_config
from kubeward.model.signatures import SignatureStatus, SignatureVerdict
from kubeward.rules import ALL_RULES, Rule
from tests.conftest import scan_paths

FIXTURES = Path(__file__).parent / "fixtures"
_EXPECT = re.compile(r"#\s*expect:\s*([A-Z]\d{3}(?:\s*,\s*[A-Z]\d{3})*)")
_NAMESPACE = re.compile(r"^#\s*namespace:\s*(\S+)")


def expectations(path: Path) -> set[tuple[int, str]]:
    expected = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            expected |= {(number, rule.strip()) for rule in match.group(1).split(",")}
    return expected


def fixture_files() -> list[Path]:
    return sorted([*FIXTURES.glob("*/*.yaml"), *FIXTURES.glob("*/*/*.yaml")])


@pytest.mark.parametrize(
    "fixture",
    [f for f in fixture_files() if f.name != "kubeward.yaml"],
    ids=lambda p: p.relative_to(FIXTURES).as_posix(),
)
def test_fixture(fixture: Path) -> None:
    rule_id = fixture.relative_to(FIXTURES).parts[0]
    config_file = fixture.parent / "kubeward.yaml"
    config = load_config(config_file) if config_file.exists() else Config()
    verdicts_file = fixture.parent / "verdicts.json"
    if verdicts_file.exists():  # signature verdicts stand in for registry lookups (I007)
        listed = json.loads(verdicts_file.read_text())["verdicts"]
        verdicts = {
            image: SignatureVerdict(image, SignatureStatus(status), detail)
            for image, (status, detail) in listed.items()
        }
        config = replace(config, params=replace(config.params, image_signatures=verdicts))
    first = fixture.read_text().splitlines()[0] if fixture.read_text() else ""
    ns = _NAMESPACE.match(first)
    result = scan_paths(
        [fixture], config=config, select=(rule_id,), namespace=ns.group(1) if ns else None
    )
    assert not result.errors, [e.message for e in result.errors]
    actual = {(f.line, f.rule_id) for f in result.findings}
    expected = expectations(fixture)
    if fixture.name.startswith("pass"):
        assert not expected, "pass fixtures carry no expectations"
    else:
        assert expected, "fail fixtures must expect at least one finding"
    assert actual == expected


@pytest.mark.parametrize("rule", ALL_RULES, ids=lambda r: r.id)
def test_every_rule_has_failing_and_clean_fixtures(rule: Rule) -> None:
    directory = FIXTURES / rule.id
    assert list(directory.glob("fail*.yaml")), (
        f"{rule.id}: add tests/rules/fixtures/{rule.id}/fail*.yaml"
    )
    assert list(directory.glob("pass*.yaml")), (
        f"{rule.id}: add tests/rules/fixtures/{rule.id}/pass*.yaml"
    )
