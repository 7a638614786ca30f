"""What the unit plausibility checks (METHOD.md section 2, gsocseq.survey) cost a run.

Run (from the repository, in the project's venv):

    python benches/plausibility.py --size 1e6 --rounds 5 --workdir /tmp/gsocseq-bench \
        --json plausibility.json

On the synthetic area of benches/end_to_end.py (generated there once, cached in WORKDIR and
shared with that benchmark; ``--compress`` as there), each round runs, in fresh subprocesses
and fresh output folders, one after the other (A then B in odd rounds, B then A in even ones,
so that neither always comes first):

- A: ``gsocseq.pipeline.run`` as it is, the checks included; the seconds spent in the checks
  (``gsocseq.survey.check_inputs``, the survey and the decisions) are measured inside that
  run;
- B: the same run with the checks replaced by nothing.

Figures (medians over the rounds; the input files are read once first, so that every run sees
a warm page cache):

- checks s: seconds of the checks inside run A;
- checks / run: checks s / wall time of run A, round by round (the figure the acceptance
  criterion is about: < 2 %);
- checks / run, CPU s: the same with CPU seconds of the process (all its threads), which a
  busy shared machine disturbs less than wall time;
- A / B: wall time of A / wall time of B, round by round (the same, measured from outside;
  noisier, as two whole runs differ by more than the checks on a shared machine).

Prints a Markdown table and the machine, and writes everything to --json.

Measured 2026-12-06 on the 2-core Xeon VM shared with three other contributors' builds and
tests (load average 4-12: wall times of the same run varied from 29 to 71 s, so A / B says
nothing about 1 %; the in-process ratios do):

| inputs | rounds | checks s | checks CPU s | run CPU s | checks / run | checks / run, CPU s |
|---|---:|---:|---:|---:|---:|---:|
| uncompressed (5.1 GB) | 6 | 0.41 | 0.30 | 29.5 | 1.05 % | 1.02 % |
| DEFLATE | 4 | 1.23 | 0.55 | 37.5 | 1.22 % | 1.44 % |
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import end_to_end  # noqa: E402  (the area and the machine description of that benchmark)


def child(params_json: str) -> None:
    """(subprocess) one run, with (A) or without (B) the checks; prints a JSON line."""
    from gsocseq import pipeline

    p = json.loads(params_json)
    spent: list[tuple[float, float]] = []
    checks = pipeline.check_inputs

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), time.process_time()
        try:
            return checks(*args, **kwargs)
        finally:
            spent.append((time.perf_counter() - t0, time.process_time() - c0))

    pipeline.check_inputs = timed if p["checks"] else (lambda *args, **kwargs: [])
    t0, c0 = time.perf_counter(), time.process_time()
    summary = pipeline.run(p["config"], overwrite=True, output=p["output"], threads=p["threads"])
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    result = {
        "wall_s": wall,
        "cpu_s": cpu,
        "checks_s": sum(w for w, _ in spent),
        "checks_cpu_s": sum(c for _, c in spent),
        "modelled": summary.counts["modelled"],
    }
    print(json.dumps(result))


def in_subprocess(params: dict[str, Any]) -> dict[str, Any]:
    code = f"import sys; sys.path.insert(0, {str(HERE)!r}); import plausibility; "
    code += "plausibility.child(sys.argv[1])"
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(params)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"run failed (exit {proc.returncode}):\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", type=float, default=1e6, help="modelled pixels")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/gsocseq-bench"))
    ap.add_argument("--compress", choices=sorted(end_to_end.COMPRESSION), default="none")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=0, help="threads of the run (0 = all)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args()
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    area = end_to_end.make_area(workdir, args.size, args.compress, args.seed)
    folder = Path(area["folder"])
    end_to_end.warm_cache(folder)
    runs = workdir / "runs-plausibility"
    if runs.exists():
        shutil.rmtree(runs)  # outputs of earlier rounds: a finished run would do nothing
    rounds = []
    for k in range(args.rounds):
        pair = {}
        order = (("A", True), ("B", False))
        for label, with_checks in order if k % 2 == 0 else order[::-1]:  # A B, B A, ...
            out = runs / f"{label}-{k}"
            print(f"  round {k + 1}/{args.rounds}: run {label}", file=sys.stderr)
            params = {"config": area["config"], "output": str(out), "threads": args.threads}
            pair[label] = in_subprocess({**params, "checks": with_checks})
        rounds.append(pair)
    a = [r["A"]["wall_s"] for r in rounds]
    b = [r["B"]["wall_s"] for r in rounds]
    checks = [r["A"]["checks_s"] for r in rounds]
    cpu = [(r["A"]["checks_cpu_s"], r["A"]["cpu_s"]) for r in rounds]
    results = {
        "machine": end_to_end.machine(),
        "area": {k: area[k] for k in ("side", "compress", "bytes")},
        "modelled": rounds[0]["A"]["modelled"],
        "rounds": rounds,
        "checks_s": statistics.median(checks),
        "run_a_s": statistics.median(a),
        "run_b_s": statistics.median(b),
        "checks_over_run": statistics.median(c / w for c, w in zip(checks, a)),
        "checks_cpu_s": statistics.median(c for c, _ in cpu),
        "checks_over_run_cpu": statistics.median(c / t for c, t in cpu),
        "a_over_b": statistics.median(x / y for x, y in zip(a, b)),
    }
    m = results["machine"]
    print(
        f"Machine: {m['cpu_model'] or m['processor']}, {m['cpus']} CPUs; {m['platform']}\n\n"
        "| area | modelled px | rounds | checks s | run A s | run B s | checks / run "
        "| checks / run, CPU s | A / B |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
        f"| {area['side']}x{area['side']} {args.compress} | {results['modelled']:,} "
        f"| {args.rounds} | {results['checks_s']:.3f} | {results['run_a_s']:.2f} "
        f"| {results['run_b_s']:.2f} | {100 * results['checks_over_run']:.2f} % "
        f"| {100 * results['checks_over_run_cpu']:.2f} % | {results['a_over_b']:.3f} |"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
