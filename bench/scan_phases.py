"""Where a scan's time goes: load, evaluate, render (one process; each phase best of ``--runs``).

    python bench/scan_phases.py [CORPUS_DIR]

The corpus defaults to the one bench/scan_bench.py generates. The cyclic garbage collector is
paused for load and evaluate, as ``kubeward scan`` does.
"""

from __future__ import annotations

import argparse
import gc
import os
import time
from pathlib import Path

from kubeward.config import load_config
from kubeward.engine import EngineSettings, evaluate
from kubeward.model import Inventory
from kubeward.reporters.json import render
from kubeward.rules import ALL_RULES
from kubeward.scan import ScanRequest, run_scan
from kubeward.sources.load import LoadOptions, load

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description="kubeward scan phases")
    default = Path(os.environ.get("TMPDIR", "/tmp")) / "kubeward-bench" / "corpus"
    parser.add_argument("corpus", nargs="?", type=Path, default=default)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    config = load_config(HERE / "kubeward-bench.yaml")
    request = ScanRequest(paths=(str(args.corpus),), config=config)
    settings = EngineSettings(params=config.params)
    rows: list[tuple[float, float, float, float]] = []
    for _ in range(args.runs):
        # Each run on fresh objects: evaluating the same objects again would reuse caches.
        start = time.perf_counter()
        result = run_scan(request)
        scanned = time.perf_counter()
        report = render(result)
        rendered = time.perf_counter()
        del result
        gc.disable()
        loaded = load([str(args.corpus)], LoadOptions())
        inventory = Inventory(loaded.objects)
        load_end = time.perf_counter()
        evaluation = evaluate(inventory, ALL_RULES, settings)
        evaluated = time.perf_counter()
        gc.freeze()  # as run_scan does: no collection over everything just allocated
        gc.enable()
        rows.append(
            (scanned - start, load_end - rendered, evaluated - load_end, rendered - scanned)
        )
    scan_time, load_time, evaluate_time, render_time = (min(c) for c in zip(*rows, strict=True))
    print(f"objects {len(inventory):,}  findings {len(evaluation.findings):,}")
    print(f"run_scan  {scan_time:6.2f} s  (load + evaluate + summaries)")
    print(f"load      {load_time:6.2f} s  (read, split, parse, objects)")
    print(f"evaluate  {evaluate_time:6.2f} s  (shape checks, {len(ALL_RULES)} rules, lines)")
    print(f"json      {render_time:6.2f} s  ({len(report) / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
