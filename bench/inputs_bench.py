"""Benchmark: the same objects in other shapes of input, and every report format.

    python bench/inputs_bench.py [--runs 3] [--formats] [--shapes]

Shapes (each from the first 40 files of the 20,000-object corpus, 4,000 objects):
- ``files-100``: 40 files of 100 documents (the corpus as it is);
- ``files-1``: 4,000 files of one object each in 8 directories (a repository of one
  manifest per object);
- ``json-list``: the 4,000 objects as one `kind: List` JSON document (`kubectl get -o json`).

Formats: the whole 20,000-object corpus scanned to each of json, table, sarif, junit and html.
Each command runs in a fresh process (wall: best of ``--runs``; peak RSS: the largest of them),
as in scan_bench.py. Prints Markdown rows for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scan_bench import ensure_corpus, machine, measure  # noqa: E402

SHAPE_FILES = 40


def _documents(path: Path) -> list[bytes]:
    text = path.read_bytes()
    parts = text.split(b"\n---\n")
    return [part.removeprefix(b"---\n") + b"\n" for part in parts if part.strip()]


def shapes(corpus: Path, work: Path) -> dict[str, Path]:
    files = sorted(corpus.glob("*.yaml"))[:SHAPE_FILES]
    hundred = work / "files-100"
    one = work / "files-1"
    listing = work / "json-list" / "all.json"
    if not hundred.exists():
        hundred.mkdir(parents=True)
        for file in files:
            (hundred / file.name).write_bytes(file.read_bytes())
    if not one.exists():
        index = 0
        for file in files:
            for document in _documents(file):
                directory = one / f"d{index // 500}"
                directory.mkdir(parents=True, exist_ok=True)
                (directory / f"o{index:05}.yaml").write_bytes(document)
                index += 1
    if not listing.exists():
        import yaml  # the generator's own dependency; not kubeward's reader

        items = [
            yaml.load(document, Loader=yaml.CSafeLoader)
            for file in files
            for document in _documents(file)
        ]
        listing.parent.mkdir(parents=True)
        body = {"apiVersion": "v1", "kind": "List", "items": items}
        listing.write_bytes(orjson.dumps(body, option=orjson.OPT_INDENT_2))
    return {"files-100": hundred, "files-1": one, "json-list": listing}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", action="store_true", help="only the formats")
    parser.add_argument("--shapes", action="store_true", help="only the input shapes")
    args = parser.parse_args()
    both = not (args.formats or args.shapes)
    work = Path(os.environ.get("TMPDIR", "/tmp")) / "kubeward-bench"
    corpus = ensure_corpus(work)
    config = str(HERE / "kubeward-bench.yaml")
    kubeward = [sys.executable, "-m", "kubeward", "scan", "--config", config]
    print(f"machine: {machine()}\n")
    with tempfile.TemporaryDirectory() as out:
        if both or args.shapes:
            print("| input (4,000 objects) | wall (best) | peak RSS |\n|---|---|---|")
            for name, path in shapes(corpus, work / "shapes").items():
                command = [*kubeward, "-f", "json", "-o", f"{out}/{name}.json", str(path)]
                row = measure(name, 4_000, command, args.runs)
                print(f"| {name} | {row.best:.2f} s | {row.peak_rss_mib:.0f} MiB |")
            print()
        if both or args.formats:
            print("| format (20,000 objects) | wall (best) | peak RSS | size |\n|---|---|---|---|")
            for fmt in ("json", "table", "sarif", "junit", "html"):
                target = Path(out) / f"report.{fmt}"
                command = [*kubeward, "-f", fmt, "-o", str(target), str(corpus)]
                row = measure(fmt, 20_000, command, args.runs)
                size = target.stat().st_size / 2**20
                print(f"| {fmt} | {row.best:.2f} s | {row.peak_rss_mib:.0f} MiB | {size:.0f} MiB |")


if __name__ == "__main__":
    main()
