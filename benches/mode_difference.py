"""How far apart the two numerical modes are: the same inputs run in ``rothamsted`` and in
``fao-v1.2`` mode, on the public FAO t1000 test area (tests/data/fao_v1.2_t1000, the FAO v1.2
layout) and on the demonstration area (``gsocseq demo``, seed 0). Prints the markdown tables of
docs/fao-submission.md.

    python benches/mode_difference.py [--keep DIR]

Compared on the pixels modelled in both runs (exclusions off in both, so that the pixel sets
agree); "water-limited": annual precipitation below annual PET in the spin-up climatology.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np
import rasterio

from gsocseq.demo import generate_inputs
from gsocseq.init import discover
from gsocseq.pipeline import run

ROOT = Path(__file__).resolve().parents[1]
T1000 = ROOT / "tests/data/fao_v1.2_t1000/inputs"

PRODUCTS = [
    ("Cin_mean", "mean warm-up C input (BAU input)", "t C/ha/yr"),
    ("T0_Map030", "T0 stock", "t C/ha"),
    ("finalSOC_BAU_Map030", "final SOC, BAU", "t C/ha"),
    ("ASR_BAU_Map030", "ASR BAU", "t C/ha/yr"),
    ("ASR_SSM1_Map030", "ASR SSM1", "t C/ha/yr"),
    ("ASR_SSM2_Map030", "ASR SSM2", "t C/ha/yr"),
    ("ASR_SSM3_Map030", "ASR SSM3", "t C/ha/yr"),
    ("RSR_SSM1_Map030", "RSR SSM1", "t C/ha/yr"),
    ("RSR_SSM2_Map030", "RSR SSM2", "t C/ha/yr"),
    ("RSR_SSM3_Map030", "RSR SSM3", "t C/ha/yr"),
    ("T0_UncertaintyMap030", "uncertainty of T0", "%"),
    ("ASR_SSM2_UncertaintyMap030", "uncertainty of ASR SSM2", "%"),
]


def _read(path: Path, band: int = 1) -> np.ndarray:
    with rasterio.open(path) as ds:
        a = ds.read(band).astype(np.float64)
        if ds.nodata is not None and not math.isnan(ds.nodata):
            a[a == ds.nodata] = np.nan
    return a


def _t1000_config(out: Path, mode: str) -> dict:
    """The t1000 area's FAO folder as gsocseq init finds it."""
    found = discover(T1000)
    return {
        "run": {"name": "THA", "mode": mode, "output": str(out), "intermediate": True},
        "exclusions": {"enabled": False},
        "inputs": {
            "fao": {k: {"path": str(e.path), "scale": e.scale} for k, e in found.inputs.items()}
        },
    }


def _water_limited_t1000() -> np.ndarray:
    with rasterio.open(T1000 / "STACK/THA_NP_Stack_Set_SPIN_UP.tif") as ds:
        p = ds.read(list(range(15, 27))).astype(np.float64).sum(axis=0)
        e = ds.read(list(range(27, 39))).astype(np.float64).sum(axis=0)
    return p < e


def _demo_runs(folder: Path) -> tuple[dict[str, Path], np.ndarray, str]:
    from gsocseq.config import load

    config = generate_inputs(folder / "demo", seed=0)
    outs = {}
    for mode in ("rothamsted", "fao-v1.2"):
        out = folder / f"demo-{mode}"
        cfg = load(config)
        data = {
            "run": {"name": "DEMO", "mode": mode, "output": str(out), "intermediate": True},
            "inputs": {k: {"path": str(v.path), "scale": v.scale} for k, v in cfg.inputs.items()},
            "classes": {"modelled": list(cfg.modelled)},
            "exclusions": {"enabled": False},
        }
        run(data)
        outs[mode] = out
    cfg = load(config)
    p = _read_sum(cfg.inputs["spinup_precipitation"].path)
    e = _read_sum(cfg.inputs["spinup_pet"].path)
    return outs, p < e, "DEMO"


def _read_sum(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read().astype(np.float64).sum(axis=0)


def _table(title: str, outs: dict[str, Path], name: str, dry: np.ndarray) -> list[str]:
    roth, fao = outs["rothamsted"], outs["fao-v1.2"]
    t0r = _read(roth / f"{name}_GSOCseq_T0_Map030.tif")
    t0f = _read(fao / f"{name}_GSOCseq_T0_Map030.tif")
    both = ~np.isnan(t0r) & ~np.isnan(t0f)
    lines = [
        f"### {title}: {int(both.sum())} pixels modelled in both modes, "
        f"{int((both & dry).sum())} of them water-limited (annual P < PET)",
        "",
        "| layer | unit | mean rothamsted | mean fao-v1.2 | fao-v1.2 - rothamsted (mean) "
        "| relative | per pixel: median, 5-95 % of fao-v1.2 - rothamsted "
        "| mean difference, water-limited / other pixels |",
        "| --- | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for product, label, unit in PRODUCTS:
        a = _read(roth / f"{name}_GSOCseq_{product}.tif")
        b = _read(fao / f"{name}_GSOCseq_{product}.tif")
        ok = both & ~np.isnan(a) & ~np.isnan(b)
        d = b[ok] - a[ok]
        ma, mb = float(a[ok].mean()), float(b[ok].mean())
        rel = (mb - ma) / abs(ma) * 100 if ma else math.nan
        p5, p50, p95 = np.percentile(d, [5, 50, 95])
        wet = ok & ~dry
        dd = ok & dry
        dry_text = f"{float((b - a)[dd].mean()):+.4g}" if dd.any() else "-"
        wet_text = f"{float((b - a)[wet].mean()):+.4g}" if wet.any() else "-"
        lines.append(
            f"| {label} | {unit} | {ma:.4g} | {mb:.4g} | {mb - ma:+.4g} | {rel:+.1f} % "
            f"| {p50:+.3g} ({p5:+.3g} to {p95:+.3g}) | {dry_text} / {wet_text} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", type=Path, help="Keep the runs in this folder.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        outs = {}
        for mode in ("rothamsted", "fao-v1.2"):
            out = folder / f"t1000-{mode}"
            run(_t1000_config(out, mode))
            outs[mode] = out
        lines = _table("FAO t1000 test area (FAO v1.2 layout)", outs, "THA", _water_limited_t1000())
        demo_outs, dry, name = _demo_runs(folder)
        lines += ["", *_table("Demonstration area (gsocseq demo, seed 0)", demo_outs, name, dry)]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
