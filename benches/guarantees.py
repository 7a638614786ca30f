"""The cost of the run's guarantees (issue 16), measured side by side on the area of
benches/end_to_end.py (10^6 modelled pixels by default).

Run (from the repository, in the project's venv):

    python benches/guarantees.py --size 1e6 --workdir /tmp/gsocseq-bench --rounds 2 \
        [--baseline /path/to/another/checkout/python] [--json results.json]

Per round, each in a fresh subprocess and alternately (the fastest of each is reported):

- run: ``gsocseq.pipeline.run`` into a fresh output folder (threads: all cores), as
  end_to_end.py's run: its wall time includes the folder lock, the name checks, the inputs'
  content hashed on a thread of its own while the blocks compute, every layer checked whole
  (``writing.check_written``: fsync and every tile inside the file) before its final name;
- baseline (with ``--baseline DIR``): the same run with the package found in DIR first on
  ``PYTHONPATH`` (e.g. a checkout of the commit before the guarantees: the A/B of their cost);
- fingerprint: the content fingerprint of every input (BLAKE3 of the contents on every core:
  ``checkpoint.input_hashes``), which a resumed run and an "up to date" check pay before
  anything else, and which a fresh run pays on one thread while its blocks compute;
- up to date: ``pipeline.run`` again on the finished folder (lock, fingerprint, nothing else);
- check_written: every layer of the finished run checked as the run checks it.

Ratios: fingerprint / run, up to date / run, check_written / run and, with a baseline,
(run - baseline) / baseline. Target of issue 16: the fingerprint < 5 % of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import end_to_end  # noqa: E402  (the area of the end-to-end benchmark)


def child(params_json: str) -> None:
    """(subprocess) one measurement: ``what`` of run, fingerprint, check."""
    p = json.loads(params_json)
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    if p["what"] == "run":
        from gsocseq import pipeline

        summary = pipeline.run(p["config"], overwrite=True, output=p["output"])
        out["status"] = summary.status
        out["modelled"] = summary.counts.get("modelled", 0)
    elif p["what"] == "fingerprint":
        from gsocseq.checkpoint import input_hashes
        from gsocseq.config import load

        input_hashes(load(p["config"]))
    elif p["what"] == "check":
        from gsocseq.writing import check_written

        for path in sorted(Path(p["output"]).glob("[!.]*.tif")):
            check_written(path)
    out["wall_s"] = time.perf_counter() - t0
    print(json.dumps(out))


def measure(what: str, params: dict[str, Any], pythonpath: Optional[str] = None) -> float:
    code = (
        f"import sys; sys.path.insert(0, {str(HERE)!r}); import guarantees; "
        "guarantees.child(sys.argv[1])"
    )
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(dict(params, what=what))],
        capture_output=True,
        text=True,
        env=env,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{what} failed (exit {proc.returncode}):\n{proc.stderr}")
    return float(json.loads(proc.stdout.strip().splitlines()[-1])["wall_s"])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=float, default=1e6, help="modelled pixels")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/gsocseq-bench"))
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--baseline", help="PYTHONPATH of another gsocseq package (A/B)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    area = end_to_end.make_area(args.workdir, args.size, "none", 1)
    end_to_end.warm_cache(Path(area["folder"]))
    out = args.workdir / "guarantees-out"
    base_out = args.workdir / "guarantees-baseline"
    times: dict[str, list[float]] = {}
    for r in range(args.rounds):
        for what, folder, path in (
            ("run", out, None),
            ("baseline", base_out, args.baseline),
        ):
            if what == "baseline" and not args.baseline:
                continue
            shutil.rmtree(folder, ignore_errors=True)
            params = {"config": area["config"], "output": str(folder)}
            times.setdefault(what, []).append(measure("run", params, path))
        params = {"config": area["config"], "output": str(out)}
        times.setdefault("fingerprint", []).append(measure("fingerprint", params))
        times.setdefault("up to date", []).append(measure("run", params))
        times.setdefault("check_written", []).append(measure("check", params))
        print(
            f"  round {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f} s" for k, v in times.items()),
            file=sys.stderr,
        )
    best = {k: min(v) for k, v in times.items()}
    run = best["run"]
    rows = [(k, v, v / run) for k, v in best.items()]
    if "baseline" in best:
        rows.append(
            ("run - baseline", run - best["baseline"], (run - best["baseline"]) / best["baseline"])
        )
    print(
        f"\n{area['side']} x {area['side']} pixels ({area['bytes'] / 2**20:,.0f} MiB of inputs), "
        f"{os.cpu_count()} cores, {platform.platform()}\n"
    )
    print(f"| measured | s (fastest of {args.rounds}) | ratio to the run |")
    print("|---|---:|---:|")
    for k, v, ratio in rows:
        print(f"| {k} | {v:.2f} | {100 * ratio:.1f} % |")
    if args.json:
        args.json.write_text(json.dumps({"area": area, "times": times, "best": best}, indent=1))


if __name__ == "__main__":
    main()
