"""National report of a gsocseq run (METHOD.md section 8): statistics, figures, STAC item.

``gsocseq report RUN_OUTPUT_DIR`` (or :func:`report`) reads the layers a run wrote
(``{name}_GSOCseq_*_Map030.tif``, ``*_UncertaintyMap030.tif``, ``{name}_GSOCseq_LandUse.tif``
and ``{name}_GSOCseq_run.json``) window by window and writes into the report folder:

- ``{name}_GSOCseq_statistics.csv``: per administrative unit (optional), land-use class and
  layer: pixels, area (ha), area-weighted mean and SD (t C/ha or t C/ha/yr), total (t C, or
  t C/yr for rates) and in Mt CO2e (x 44/12 / 1e6), with the total's uncertainty where the
  layer has an uncertainty layer (fully correlated rule: sum of U_i/100 x |X_i| x a_i).
- ``report.html`` with PNG figures beside it in ``figures/`` (300 dpi): maps of the stocks and
  rates, histograms and boxplots of ASR and RSR per land-use class, tables of totals.
- ``{name}_GSOCseq_stac.json``: a STAC 1.0 item with one asset per layer (:mod:`gsocseq.stac`).

Memory does not grow with the raster: statistics are accumulated over windows, histograms on a
fixed fine grid of values, and maps are drawn from decimated reads.

Rooms: :mod:`~gsocseq.report.load` (the run's layers), :mod:`~gsocseq.report.areas`,
:mod:`~gsocseq.report.zones`, :mod:`~gsocseq.report.statistics`,
:mod:`~gsocseq.report.figures`, :mod:`~gsocseq.report.html`.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import rasterio

from gsocseq import products
from gsocseq.errors import InputError
from gsocseq.qa_protocol import Protocol
from gsocseq.report.areas import row_areas_ha, window_areas_ha
from gsocseq.report.figures import make_figures
from gsocseq.report.html import write_html
from gsocseq.report.load import RunLayer, RunOutput, load_run
from gsocseq.report.pdf import write_pdf
from gsocseq.report.statistics import CO2_PER_C, compute_statistics, write_csv
from gsocseq.report.zones import Zones, missing_units, read_admin, read_zone_raster

if TYPE_CHECKING:  # pragma: no cover
    from gsocseq.config import Config

__all__ = [
    "CO2_PER_C",
    "RunLayer",
    "RunOutput",
    "Zones",
    "compute_statistics",
    "load_run",
    "read_admin",
    "report",
    "row_areas_ha",
    "window_areas_ha",
]


def report(
    run_dir: str | os.PathLike[str],
    output: Optional[str | os.PathLike[str]] = None,
    admin: Optional[str | os.PathLike[str]] = None,
    admin_field: Optional[str] = None,
    wait: bool = False,
    emissions: Optional[float] = None,
    zones: Optional[str | os.PathLike[str]] = None,
    zone_names: Optional[str | os.PathLike[str]] = None,
    evaluation: Optional[str | os.PathLike[str]] = None,
) -> Path:
    """Write the national report of the run in ``run_dir`` into ``output`` (default
    ``run_dir/report``): statistics CSV, ``report.html`` with its figures (300 dpi PNGs in
    ``figures/``; left out with a note if matplotlib is not installed) and the STAC item.
    ``admin``: polygons (GeoJSON, or any OGR format with pyogrio) to group the
    statistics by, named by ``admin_field``. ``emissions``: the national agricultural
    emissions (Mt CO2e/yr, e.g. FAOSTAT), for the share the sequestration would offset.
    ``zones``: a categorical raster (IPCC climate zones, agro-ecological zones; any grid,
    taken at the run's pixels by the nearest neighbour) to group the statistics by instead of
    ``admin``, its codes named by the CSV ``zone_names`` (``code,name``). ``evaluation``: the
    folder of ``gsocseq evaluate -o FOLDER``, whose statistics and 1:1 plot become a section.
    ``run_dir`` may be the run's configuration (TOML) too. The run folder is held shared
    meanwhile (a run writing it makes this wait with ``wait``, else raise
    :class:`~gsocseq.folder.FolderInUse`). Returns the path of ``report.html``; a PDF of the
    report (``report.pdf``) is written beside it when matplotlib is installed."""
    from gsocseq.folder import FolderLock, run_config, run_folder, write_errors

    if emissions is not None and not (emissions > 0 and math.isfinite(emissions)):
        raise InputError(
            f"--emissions {emissions:g}: expected the national agricultural emissions in Mt "
            "CO2e/yr, a positive number (e.g. FAOSTAT's 'Emissions totals', agriculture)"
        )
    if zones is not None and admin is not None:
        raise InputError("--zones and --admin exclude each other: group by one of them")
    config = run_config(run_dir)
    run_dir = config.output_dir if config is not None else run_folder(run_dir)
    # shared: no run writes the folder meanwhile (the report never mixes two runs' layers)
    folder = Path(output) if output is not None else Path(run_dir) / "report"
    with FolderLock(Path(run_dir), shared=True, wait=wait, what="report"):
        # a full disk: exit 2 naming the folder (a traceback before); every file is written
        # under a temporary name and renamed once whole, so the last report's files are
        # whole, the old or the new
        with write_errors(folder, lambda: _report_bytes(folder), "the report", ""):
            return _report(
                run_dir,
                folder,
                admin,
                admin_field,
                emissions,
                zones,
                zone_names,
                evaluation,
                config,
            )


#: the space a report needs at least (its figures are drawn at a fixed size, whatever the
#: map's: the demo's report is 6 MB)
REPORT_BYTES = 16 * 2**20


def _report_bytes(folder: Path) -> int:
    """About the space a report needs: an earlier report's size in ``folder`` (the new one
    is written beside it before replacing it), at least :data:`REPORT_BYTES`."""
    try:
        earlier = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    except OSError:
        earlier = 0
    return max(earlier, REPORT_BYTES)


def check_report_folder(folder: Path, name: str) -> None:
    """:class:`~gsocseq.errors.OutputError` when ``folder`` holds files by the names the report
    writes (``report.html``, ``report.pdf``, the statistics, the STAC item, ``figures/*.png``)
    and no earlier report wrote them (no :data:`~gsocseq.products.REPORT_MARKER`): ``-o``
    naming a folder of the user's own files replaced them without a word."""
    from gsocseq.errors import OutputError

    if not folder.is_dir() or (folder / products.REPORT_MARKER).is_file():
        return
    names = [n.format(prefix=name) for n in products.REPORT_FILES]
    theirs = [n for n in names if (folder / n).exists()]
    figures = folder / "figures"
    if figures.is_dir():
        theirs += sorted(f"figures/{p.name}" for p in figures.glob("*.png"))
    if theirs:
        shown = ", ".join(theirs[:4]) + (f" and {len(theirs) - 4} more" if len(theirs) > 4 else "")
        raise OutputError(
            f"{folder}: holds {shown}, which no gsocseq report wrote; the report would replace "
            "them: move them, or choose another report folder (-o)"
        )


def _report(
    run_dir: str | os.PathLike[str],
    folder: Path,
    admin: Optional[str | os.PathLike[str]],
    admin_field: Optional[str],
    emissions: Optional[float] = None,
    zone_raster: Optional[str | os.PathLike[str]] = None,
    zone_names: Optional[str | os.PathLike[str]] = None,
    evaluation: Optional[str | os.PathLike[str]] = None,
    config: Optional[Config] = None,
) -> Path:
    from gsocseq import stac
    from gsocseq.checkpoint import check_finished
    from gsocseq.evaluate import read_written

    run = load_run(run_dir)
    check_finished(run.dir, run.name, [p.name for p in run.all_rasters], "report on", config)
    measured = read_written(evaluation) if evaluation is not None else None
    zones = None
    notes: list[str] = []
    if zone_raster is not None:
        with rasterio.open(run.land_use) as ds:
            zones = read_zone_raster(zone_raster, zone_names, ds)
    if admin is not None:
        with rasterio.open(run.land_use) as ds:
            zones = read_admin(admin, admin_field, ds.crs)
        for note in zones.notes:
            notes.append(note)
            print("warning: " + note, file=sys.stderr)
    stats = compute_statistics(run, zones)
    if zones and not any(r["unit"] not in ("all", "(outside)") for r in stats.rows):
        raise InputError(f"{admin}: no admin polygon covers a pixel of the run's layers")
    if zones and stats.zone_pixels is not None:
        with rasterio.open(run.land_use) as ds:
            bounds = ds.bounds
        present = {r["unit"] for r in stats.rows}
        source = admin if admin is not None else zone_raster
        for note in missing_units(zones, present, stats.zone_pixels, bounds, source):
            notes.append(note)
            print("warning: " + note, file=sys.stderr)
    # the folder only once the inputs are good: a bad --admin leaves no empty folder behind
    check_report_folder(folder, run.name)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"{folder}: cannot create the report folder ({exc})") from None
    # before any file: a report stopped midway leaves a folder the next one may replace
    (folder / products.REPORT_MARKER).write_text(
        f"a report of gsocseq run {run.name!r}: gsocseq report replaces its files\n",
        encoding="utf-8",
    )
    csv_path = write_csv(stats.rows, folder / products.statistics_file(run.name))

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        figures: dict[str, Path] = {}
        notes.append(
            "matplotlib is not installed: figures left out (pip install 'gsocseq[report]')."
        )
        print("warning: " + notes[-1], file=sys.stderr)
    else:
        figures = make_figures(stats, folder / "figures")
    qa = run_protocol(run)

    stac_path = folder / products.stac_file(run.name)
    extra = {
        "run_summary": {
            "href": str(run.dir / products.summary_file(run.name)),
            "type": "application/json",
            "title": "run summary",
            "roles": ["metadata"],
        },
        "statistics": {
            "href": str(csv_path),
            "type": "text/csv",
            "title": "national statistics",
            "roles": ["metadata"],
        },
        "report": {
            "href": str(folder / "report.html"),
            "type": "text/html",
            "title": "national report",
            "roles": ["overview"],
        },
    }
    rasters = [p for p in run.all_rasters if p.suffix == ".tif"]
    item = stac.build_item(
        folder,
        run.name,
        rasters,
        extra_assets=extra,
        t0_year=run.t0_year,
        final_year=run.final_year,
        properties={
            "title": f"{run.name} GSOCseq soil organic carbon sequestration potential",
            "gsocseq:mode": run.summary.get("mode"),
            "gsocseq:version": run.summary.get("version"),
        },
    )
    stac.write_item(item, stac_path)
    path = write_html(stats, figures, folder, csv_path, stac_path, notes, qa, emissions, measured)
    if figures:
        write_pdf(stats, figures, folder / "report.pdf", qa, notes)
    return path


def run_protocol(run: RunOutput) -> Optional[Protocol]:
    """The Annex II QA protocol on the run's own layers (:func:`gsocseq.qa_protocol.national`)."""
    from gsocseq.qa_protocol import national

    return national(run.dir, run.name, run.summary.get("options") or {})
