"""Regenerate the documentation that comes from code: rule pages and the report JSON Schema.

python tools/gen_docs.py          # write docs/rules/*.md and docs/schema/report-v1.json
python tools/gen_docs.py --check  # exit 1 if any of them is stale (used by the tests)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import orjson

from kubeward.catalog_docs import index_page, rule_page
from kubeward.reporters.json import schema
from kubeward.rules import ALL_RULES

ROOT = Path(__file__).resolve().parent.parent


def expected_files() -> dict[Path, str]:
    files = {ROOT / "docs" / "rules" / f"{rule.id}.md": rule_page(rule) for rule in ALL_RULES}
    files[ROOT / "docs" / "rules" / "index.md"] = index_page(ALL_RULES)
    files[ROOT / "docs" / "schema" / "report-v1.json"] = (
        orjson.dumps(schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode() + "\n"
    )
    return files


def stale_files() -> list[Path]:
    stale = [
        path
        for path, text in expected_files().items()
        if not path.is_file() or path.read_text(encoding="utf-8") != text
    ]
    rules_dir = ROOT / "docs" / "rules"
    known = {path.name for path in expected_files() if path.parent == rules_dir}
    stale += [p for p in rules_dir.glob("*.md") if p.name not in known]
    return stale


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only report stale files")
    args = parser.parse_args()
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run `make docs`)")
        return 1 if stale else 0
    rules_dir = ROOT / "docs" / "rules"
    expected = expected_files()
    for old in rules_dir.glob("*.md"):
        if old not in expected:
            old.unlink()
    for path, text in expected.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(expected)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
