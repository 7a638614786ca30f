"""The quality-assurance protocol of the GSOCseq manual (Annex II; METHOD.md 7, "FAO delivery")
as a pass/fail table, computed from the layer files themselves, window by window.

Steps of Annex II, each a row (or a row per product or land-use class):

1. the 29 mandatory products present, as GeoTIFFs named ``{ISO3}_GSOCseq_{product}.tif``;
2. EPSG:4326 and the 30 arc-second (1/120 degree) template grid;
3. values only on pixels of a modelled land-use class (the land-use layer);
4. every value inside the product's QA range (METHOD.md 7, ``products.Layer.qa_range``); no
   more than 10 % of the modelled pixels without a value (masked) in any layer (Annex I, common
   errors 2 and 3: "if more than 10 % of the modelled area shows no values, the procedure should
   be re-run"); per land-use class, mean final SOC SSM3 >= SSM2 >= SSM1 >= BAU (over the pixels
   with all four) and mean RSR >= 0 for every SSM.

Memory is bounded by the window, not by the map: the land-use layer (and exclusion mask) and one
layer open at a time, the 7 layers of the per-class means kept for the window.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
import rasterio

from gsocseq import csvsafe, products
from gsocseq.classes import DEFAULT_MODELLED, NAMES
from gsocseq.rasters import read_values, windows

__all__ = ["Check", "Protocol", "fao_layers", "protocol", "template_grid_problem"]

#: the GSP template grid: EPSG:4326, 30 arc-seconds, cells aligned to multiples of it from -180/90
TEMPLATE_EPSG = 4326
TEMPLATE_RES = 1.0 / 120.0
#: grids match within this fraction of a pixel (METHOD.md 1)
GRID_TOLERANCE = 1e-6
#: Annex I, common errors 2 and 3
MASKED_SHARE_MAX = 0.10
SCENARIOS = ("BAU", "SSM1", "SSM2", "SSM3")
BLOCK = 512
#: windows tallied side by side (each window held: about 25 MiB; a run under a budget below
#: the default tallies one at a time: gsocseq.pipeline.memory.protocol_workers)
WORKERS = 2


def fao_layers() -> list[products.Layer]:
    """The 29 mandatory GSOCseq products (manual Table 16.1), as the fao-v1.2 mode writes them."""
    from gsocseq.config import from_dict

    config = from_dict({"run": {"mode": "fao-v1.2"}}, require_inputs=False)
    return products.layers(config, list(SCENARIOS), 2020)


@dataclass(frozen=True)
class Check:
    """One row of the protocol."""

    step: int  # Annex II step
    item: str  # what was checked: a product, a land-use class, "all products"
    check: str
    measured: str
    expected: str
    result: str  # "pass", "fail" or "n/a" (not applicable here, ``measured`` says why)


@dataclass
class Protocol:
    """The protocol's table."""

    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.result == "fail"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "failed": len(self.failures),
            "checks": [asdict(c) for c in self.checks],
        }

    def write_csv(self, path: Path) -> Path:
        with open(path, "w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["step", "item", "check", "measured", "expected", "result"])
            for c in self.checks:
                cells = [c.step, c.item, c.check, c.measured, c.expected, c.result]
                # "-7.1 to 4.3": text a spreadsheet would read as a formula
                writer.writerow([csvsafe.cell(v) for v in cells])
        return path

    def summary(self) -> str:
        """One line, then the failed checks, for a terminal."""
        n = len(self.checks)
        if self.passed:
            return f"QA protocol (Annex II): passed ({n} checks)"
        lines = [f"QA protocol (Annex II): {len(self.failures)} of {n} checks failed"]
        for c in self.failures:
            lines.append(
                f"  step {c.step}, {c.item}: {c.check}: {c.measured} (expected {c.expected})"
            )
        return "\n".join(lines)


def template_grid_problem(ds: rasterio.io.DatasetReader) -> Optional[str]:
    """None when ``ds`` lies on the GSP template grid, else what differs."""
    crs = ds.crs
    if crs is None or crs.to_epsg() != TEMPLATE_EPSG:
        return f"CRS {crs} is not EPSG:4326"
    t = ds.transform
    r = TEMPLATE_RES
    tol = GRID_TOLERANCE * r
    if abs(t.a - r) > tol or abs(t.e + r) > tol or t.b != 0 or t.d != 0:
        return f"pixel {t.a:.9g} x {-t.e:.9g} degrees, not 1/120 (0.00833333)"
    cols = (t.c + 180.0) / r
    rows = (90.0 - t.f) / r
    if abs(cols - round(cols)) > GRID_TOLERANCE or abs(rows - round(rows)) > GRID_TOLERANCE:
        return f"origin ({t.c:.9g}, {t.f:.9g}) not on a multiple of 1/120 degree from -180/90"
    return None


@dataclass
class _Stats:
    valid: int = 0
    outside_range: int = 0
    outside_land_use: int = 0
    masked: int = 0  # modelled pixels without a value
    low: float = math.inf
    high: float = -math.inf


@dataclass
class _Tally:
    """What one window adds to the protocol: per layer key (valid, masked, outside the land
    use, lowest, highest, outside the QA range); per land-use class (in the order of the
    codes) the pixels with all four final stocks, their sums (None without the four), and
    each RSR layer's (count, sum)."""

    layers: dict[str, tuple[int, int, int, float, float, int]] = field(default_factory=dict)
    classes: list[tuple[int, int, Optional[np.ndarray], list[tuple[int, float]]]] = field(
        default_factory=list
    )


def _tally_window(task: tuple[Any, ...]) -> _Tally:
    """The :class:`_Tally` of one window (on a thread of its own: its own file handles)."""
    part, lu_path, mask_path, window, present, kept, modelled_codes, finals, rsr = task
    tally = _Tally()
    with rasterio.open(lu_path) as lu_ds:
        lu = read_values(lu_ds, window)
    codes = np.where(np.isnan(lu), -1, lu).astype(np.int64)
    support = np.isin(codes, modelled_codes)
    countable = support
    if mask_path is not None:  # left out by an exclusion rule: not masked
        with rasterio.open(mask_path) as mask_ds:
            bits = read_values(mask_ds, window)
        countable = support & ~(bits > 0)
    # kept for the per-class sums only: a window of all 29 layers in float64 was 61 MiB of a
    # run's peak at 512-pixel windows
    values: dict[str, np.ndarray] = {}
    for lay in present:
        # opened for the window only: an open layer keeps its last compressed tile (up to
        # 1 MiB a layer: 25 MiB of the 29 layers held open, docs/scaling.md)
        with rasterio.open(part[lay.key]) as ds:
            v = read_values(ds, window)
        if lay.key in kept:
            values[lay.key] = v
        ok = ~np.isnan(v)
        low, high, outside = math.inf, -math.inf, 0
        if ok.any():
            low, high = float(v[ok].min()), float(v[ok].max())
        rng = lay.qa_range
        if rng is not None and ok.any():
            lo, hi, lo_in, hi_in = rng
            x = v[ok]
            below = x < lo if lo_in else x <= lo
            above = x > hi if hi_in else x >= hi
            outside = int((below | above).sum())
        tally.layers[lay.key] = (
            int(ok.sum()),
            int((countable & ~ok).sum()),
            int((ok & ~support).sum()),
            low,
            high,
            outside,
        )
    order_ok = len(finals) == len(SCENARIOS)
    for c in np.unique(codes[support]):
        here = support & (codes == c)
        every, sums = 0, None
        if order_ok:
            four = np.stack([values[lay.key][here] for lay in finals])
            all_four = ~np.isnan(four).any(axis=0)
            every, sums = int(all_four.sum()), four[:, all_four].sum(axis=1)
        rsr_parts = []
        for lay in rsr:
            x = values[lay.key][here]
            x = x[~np.isnan(x)]
            rsr_parts.append((len(x), float(x.sum())))
        tally.classes.append((int(c), every, sums, rsr_parts))
    return tally


def protocol(
    parts: Sequence[Mapping[str, Optional[Path]]],
    land_use: Sequence[Path],
    prefix: str,
    modelled: Sequence[int],
    *,
    template: bool,
    years: Optional[int] = None,
    depth: Optional[float] = None,
    block: int = BLOCK,
    excluded: Optional[Sequence[Path]] = None,
    workers: int = WORKERS,
) -> Protocol:
    """The protocol of a set of layers.

    ``parts``: for each part of the delivery (one, or two where an area crosses the
    antimeridian), the file of each of :func:`fao_layers` by its key (``Layer.key``; None when
    missing), all of a part on the grid of its ``land_use`` file. ``prefix``: the name the
    files should carry (the ISO3 code). ``template``: whether the files are meant to be on the
    GSP template grid (an export; a run's national layers need not be: step 2 is then n/a).
    ``years``: the forward horizon of the run (FAO asks 20). ``depth``: the run's layer depth,
    cm (the products are 0-30 cm, ``Map030``). ``excluded``: for a run's
    national layers, the exclusion mask of each part: pixels an exclusion rule leaves out are
    not counted as masked (the FAO delivery has their values). ``workers``: windows tallied
    side by side (the same table for any number)."""
    layers = fao_layers()
    checks: list[Check] = []
    present = [lay for lay in layers if all(p.get(lay.key) is not None for p in parts)]
    missing = [lay.file_name(prefix) for lay in layers if lay not in present]
    checks.append(
        Check(
            1,
            "all products",
            "the 29 mandatory products present",
            f"{len(present)} of {len(layers)}"
            + (
                f"; missing {', '.join(missing[:4])}" + (" ..." if len(missing) > 4 else "")
                if missing
                else ""
            ),
            "29 of 29",
            "pass" if not missing else "fail",
        )
    )
    badly_named = []
    for part in parts:
        for lay in present:
            path = part[lay.key]
            assert path is not None
            stem = lay.file_name(prefix)[: -len(".tif")]
            if not (path.name.startswith(stem) and path.suffix.lower() == ".tif"):
                badly_named.append(path.name)
    iso = len(prefix) == 3 and prefix.isalpha() and prefix.isupper()
    checks.append(
        Check(
            1,
            "all products",
            "named {ISO3}_GSOCseq_{product}.tif (ISO 3166-1 alpha-3 code)",
            f"prefix {prefix!r}" + (f"; {len(badly_named)} other names" if badly_named else ""),
            "three capital letters, e.g. KEN",
            "pass" if iso and not badly_named else "fail",
        )
    )
    if years is not None:
        checks.append(
            Check(
                1,
                "all products",
                "forward horizon",
                f"{years} years",
                "20 years (2020-2040)",
                "pass" if years == 20 else "fail",
            )
        )
    if depth is not None:  # a run of [run] depth = 20 was named, checked and sent as 0-30 cm
        checks.append(
            Check(
                1,
                "all products",
                "layer depth ([run] depth)",
                f"{depth:g} cm",
                f"{products.PRODUCT_DEPTH_CM:g} cm (0-30 cm, as the products are named)",
                "pass" if depth == products.PRODUCT_DEPTH_CM else "fail",
            )
        )

    # step 2: the grid of every file
    problems: list[str] = []
    for part, lu_file in zip(parts, land_use):
        for path in [lu_file, *(part[lay.key] for lay in present)]:
            assert path is not None
            with rasterio.open(path) as ds:
                problem = template_grid_problem(ds)
                if ds.driver != "GTiff":
                    problem = f"{ds.driver} file, not a GeoTIFF"
            if problem:
                problems.append(f"{path.name}: {problem}")
    if template:
        result = "fail" if problems else "pass"
        measured = problems[0] if problems else "every file"
    else:
        result = "n/a"
        measured = (
            f"national grid ({problems[0].split(': ', 1)[1]}); gsocseq export --fao puts the "
            "layers on the template"
            if problems
            else "every file (the national grid is the template)"
        )
    checks.append(
        Check(
            2,
            "all products",
            "EPSG:4326, 30 arc-second cells aligned to the GSP template",
            measured,
            "EPSG:4326, 1/120 degree from -180/90",
            result,
        )
    )

    # steps 3 and 4, window by window
    stats = {lay.key: _Stats() for lay in present}
    finals = [lay for lay in present if lay.product in {f"finalSOC_{s}" for s in SCENARIOS}]
    rsr = [lay for lay in present if lay.product.startswith("RSR_") and not lay.uncertainty]
    kept = {lay.key for lay in (*finals, *rsr)}
    # per class: pixels, sum of each final stock (pixels with all four); RSR sums and counts
    final_sums: dict[int, np.ndarray] = {}
    rsr_sums: dict[int, np.ndarray] = {}
    modelled_codes = np.asarray(sorted(set(modelled)), dtype=np.int64)
    for k, (part, lu_path) in enumerate(zip(parts, land_use)):
        with rasterio.open(lu_path) as lu_ds:
            height, width = lu_ds.height, lu_ds.width
        mask_path = excluded[k] if excluded is not None else None
        tasks = [
            (part, lu_path, mask_path, window, present, kept, modelled_codes, finals, rsr)
            for window in windows(height, width, block)
        ]
        # the windows tallied side by side (GDAL's decoding and numpy release the GIL), their
        # tallies added here in window order: the same sums in the same order as one at a time
        workers = min(workers, len(tasks), os.cpu_count() or 1)
        with ThreadPoolExecutor(max(1, workers), thread_name_prefix="gsocseq-qa") as pool:
            for tally in pool.map(_tally_window, tasks):
                for key, (valid, masked, elsewhere, low, high, outside) in tally.layers.items():
                    s = stats[key]
                    s.valid += valid
                    s.masked += masked
                    s.outside_land_use += elsewhere
                    s.low = min(s.low, low)
                    s.high = max(s.high, high)
                    s.outside_range += outside
                for c, every, sums, rsr_parts in tally.classes:
                    if sums is not None:
                        acc = final_sums.setdefault(c, np.zeros(len(finals) + 1))
                        acc[0] += every
                        acc[1:] += sums
                    for j, (n, total) in enumerate(rsr_parts):
                        acc = rsr_sums.setdefault(c, np.zeros(2 * len(rsr)))
                        acc[2 * j] += n
                        acc[2 * j + 1] += total

    outside = sum(s.outside_land_use for s in stats.values())
    checks.append(
        Check(
            3,
            "all products",
            "values only on pixels of a modelled land-use class",
            f"{outside} values elsewhere" if outside else "yes",
            f"classes {', '.join(str(c) for c in sorted(set(modelled)))} of the land-use layer",
            "pass" if outside == 0 else "fail",
        )
    )
    for lay in present:
        s = stats[lay.key]
        rng = lay.qa_range
        name = lay.file_name(prefix)[: -len(".tif")]
        if rng is not None:
            lo, hi, lo_in, hi_in = rng
            expected = f"{'[' if lo_in else '('}{lo:g}, {hi:g}{']' if hi_in else ')'}"
            measured = (f"{s.low:.4g} to {s.high:.4g}" if s.valid else "no values") + (
                f"; {s.outside_range} values outside" if s.outside_range else ""
            )
            checks.append(
                Check(
                    4,
                    name,
                    f"values in the QA range ({lay.units})",
                    measured,
                    expected,
                    "pass" if s.outside_range == 0 and s.valid else "fail",
                )
            )
        modelled_pixels = s.valid - s.outside_land_use + s.masked
        share = s.masked / modelled_pixels if modelled_pixels else 1.0
        checks.append(
            Check(
                4,
                name,
                "modelled pixels without a value (masked)",
                f"{100 * share:.1f} % ({s.masked} of {modelled_pixels})",
                f"<= {100 * MASKED_SHARE_MAX:g} %",
                "pass" if share <= MASKED_SHARE_MAX else "fail",
            )
        )
    for c in sorted(set(final_sums) | set(rsr_sums)):
        label = f"class {c} {NAMES.get(c, '')}".rstrip()
        fsum = final_sums.get(c)
        if fsum is not None and fsum[0] > 0:
            means = fsum[1:] / fsum[0]
            ordered = all(means[k + 1] >= means[k] for k in range(len(means) - 1))
            checks.append(
                Check(
                    4,
                    label,
                    "mean final SOC SSM3 >= SSM2 >= SSM1 >= BAU (pixels with all four)",
                    ", ".join(f"{s} {m:.3f}" for s, m in zip(SCENARIOS, means)) + " t C/ha",
                    "non-decreasing from BAU to SSM3",
                    "pass" if ordered else "fail",
                )
            )
        racc = rsr_sums.get(c)
        if racc is not None and rsr:
            parts_text = []
            ok = True
            for k, lay in enumerate(rsr):
                n = racc[2 * k]
                if n == 0:
                    continue
                mean = racc[2 * k + 1] / n
                ok &= mean >= 0
                parts_text.append(f"{lay.product[len('RSR_') :]} {mean:.4f}")
            if parts_text:
                checks.append(
                    Check(
                        4,
                        label,
                        "mean RSR >= 0 for every SSM",
                        ", ".join(parts_text) + " t C/ha/yr",
                        ">= 0",
                        "pass" if ok else "fail",
                    )
                )
    return Protocol(checks)


def national(
    folder: Path, prefix: str, options: Mapping[str, Any], workers: int = WORKERS
) -> Optional[Protocol]:
    """The protocol on the national layers of run ``prefix`` in ``folder`` (``options``: the
    run summary's), or None for a run without any of the 29 products: their names carry the
    run's name, their grid is the run's (step 2 n/a), and pixels that the run's exclusion
    rules leave out are not counted as masked. ``workers``: windows tallied side by side."""
    paths: dict[str, Optional[Path]] = {}
    for lay in fao_layers():
        path = folder / lay.file_name(prefix)
        paths[lay.key] = path if path.exists() else None
    if not any(paths.values()):
        return None
    modelled = [int(c) for c in options.get("modelled_classes") or DEFAULT_MODELLED]
    mask = folder / products.exclusion_mask_file(prefix)
    ex = options.get("exclusions")
    applied = isinstance(ex, Mapping) and ex.get("enabled") and mask.exists()
    return protocol(
        [paths],
        [folder / products.land_use_file(prefix)],
        prefix,
        modelled,
        template=False,
        years=options.get("years"),
        depth=options.get("depth"),
        excluded=[mask] if applied else None,
        workers=workers,
    )
