"""``report.html``: tables of totals and means, the figures and the notes."""

from __future__ import annotations

import base64
import html
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Optional

from gsocseq import methods, products, writing
from gsocseq.config import model_words
from gsocseq.qa_protocol import Protocol
from gsocseq.report.load import RunLayer, RunOutput
from gsocseq.report.statistics import HIST_BIN, Statistics


def _fmt_t(v: float) -> str:
    return "" if v == "" or (isinstance(v, float) and math.isnan(v)) else f"{v:,.0f}"


def _fmt_mt(v: Any) -> str:
    return "" if v == "" or (isinstance(v, float) and math.isnan(v)) else f"{v:,.4f}"


def _cell(row: dict[str, Any]) -> str:
    t = _fmt_t(row["total_t_C"])
    mt = _fmt_mt(row["total_Mt_CO2e"])
    if row["uncertainty_t_C"] != "":
        t += f" &plusmn; {_fmt_t(row['uncertainty_t_C'])}"
        mt += f" &plusmn; {_fmt_mt(row['uncertainty_Mt_CO2e'])}"
    return f"{t}<br><span class='co2'>{mt}</span>"


def _class_codes(rows: list[dict[str, Any]], unit: str) -> list[str]:
    codes = {r["land_use"] for r in rows if r["unit"] == unit and r["land_use"] != "all"}
    return sorted(codes, key=int)


def _scenario_table(descriptions: dict[str, str]) -> str:
    """The table of what each scenario does (the run summary's words); empty for runs whose
    summary has none (written before gsocseq had practices)."""
    if not descriptions:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td>{html.escape(text)}</td></tr>"
        for name, text in descriptions.items()
    )
    return f"<h2>Scenarios</h2><table><tr><th>scenario</th><th>what it does</th></tr>{rows}</table>"


def _totals_table(
    rows: list[dict[str, Any]], layers: list[RunLayer], unit: str, total_units: str
) -> str:
    by = {(r["land_use"], r["product"]): r for r in rows if r["unit"] == unit}
    classes = [*_class_codes(rows, unit), "all"]
    co2_units = "Mt CO2e/yr" if total_units.endswith("/yr") else "Mt CO2e"
    head = "".join(f"<th>{html.escape(lay.product)}</th>" for lay in layers)
    out = [f"<table><tr><th>land use</th><th>area (ha)</th>{head}</tr>"]
    for c in classes:
        first = next((by[(c, lay.product)] for lay in layers if (c, lay.product) in by), None)
        if first is None:
            continue
        cells = "".join(
            f"<td>{_cell(by[(c, lay.product)])}</td>" if (c, lay.product) in by else "<td></td>"
            for lay in layers
        )
        name = html.escape(first["land_use_name"])
        label = name if c == "all" else f"{c} {name}"
        out.append(f"<tr><td>{label}</td><td>{_fmt_t(first['area_ha'])}</td>{cells}</tr>")
    out.append("</table>")
    out.append(
        f"<p class='note'>Cells: total {total_units} &plusmn; uncertainty; below, {co2_units}.</p>"
    )
    return "\n".join(out)


def _means_table(rows: list[dict[str, Any]], layers: list[RunLayer]) -> str:
    by = {(r["land_use"], r["product"]): r for r in rows if r["unit"] == "all"}
    classes = [*_class_codes(rows, "all"), "all"]
    head = "".join(f"<th>{html.escape(lay.product)}</th>" for lay in layers)
    out = [f"<table><tr><th>land use</th>{head}</tr>"]
    for c in classes:
        cells = []
        name = ""
        for lay in layers:
            r = by.get((c, lay.product))
            if r is None:
                cells.append("<td></td>")
                continue
            name = r["land_use_name"]
            cells.append(f"<td>{r['mean_per_ha']:.3f} &plusmn; {r['sd_per_ha']:.3f}</td>")
        label = html.escape(name) if c == "all" else f"{c} {html.escape(name)}"
        out.append(f"<tr><td>{label}</td>{''.join(cells)}</tr>")
    out.append(
        "</table><p class='note'>Area-weighted mean &plusmn; area-weighted SD over "
        "pixels, t C/ha/yr.</p>"
    )
    return "\n".join(out)


def _units_table(stats: Statistics, layers: list[RunLayer]) -> str:
    rows = [r for r in stats.rows if r["land_use"] == "all"]
    by = {(r["unit"], r["product"]): r for r in rows}
    units = [
        u
        for u in [*stats.zone_names[1:], stats.zone_names[0], "all"]
        if any((u, lay.product) in by for lay in layers)
    ]
    head = "".join(f"<th>{html.escape(lay.product)}</th>" for lay in layers)
    out = [
        f"<table><tr><th>{html.escape(stats.zones.field if stats.zones else 'unit')}</th>"
        f"<th>area (ha)</th>{head}</tr>"
    ]
    for u in units:
        first = next(by[(u, lay.product)] for lay in layers if (u, lay.product) in by)
        cells = "".join(
            f"<td>{_cell(by[(u, lay.product)])}</td>" if (u, lay.product) in by else "<td></td>"
            for lay in layers
        )
        out.append(f"<tr><td>{html.escape(u)}</td><td>{_fmt_t(first['area_ha'])}</td>{cells}</tr>")
    out.append("</table>")
    return "\n".join(out)


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]], cls: str = "") -> str:
    out = [f"<table class='{cls}'><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head)]
    out[0] += "</tr>"
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def _methods_html(summary: dict[str, Any]) -> str:
    """The methods box: what was run and how, without run.json."""
    scen = [
        (name, f"{c:g} %", f"{g:g} %", f"{pd:g} %") for name, c, g, pd in methods.scenarios(summary)
    ]
    return "\n".join(
        [
            "<div class='box'><h2>Methods</h2>",
            _table(["", ""], methods.methods(summary), "left"),
            "<h3>Scenarios: increase of the carbon input over BAU, per group of classes</h3>",
            _table(["scenario", "crops (2, 12)", "grass (3, 5, 6, 8)", "paddy (13)"], scen),
            "<h3>Inputs (paths relative to the run's output folder)</h3>",
            _table(["quantity", "file"], methods.inputs(summary), "left"),
            "</div>",
        ]
    )


def _counts_html(summary: dict[str, Any]) -> str:
    rows = [
        (c.what, f"{c.pixels:,}", "" if c.share is None else f"{c.share:.1f} %", c.meaning)
        for c in methods.pixel_counts(summary)
    ]
    return "<h2>Pixels</h2>" + _table(
        ["pixels", "count", "of the modelled", "what it means"], rows, "left"
    )


def _warnings_html(summary: dict[str, Any]) -> str:
    rows = methods.warnings(summary)
    if not rows:
        return "<h2>Warnings</h2><p>None.</p>"
    return "<h2>Warnings</h2>" + _table(
        ["warning", "what it means", "the pixels' values"], rows, "left"
    )


def _emissions_html(
    rows: list[dict[str, Any]], rates: list[RunLayer], emissions: Optional[float]
) -> str:
    """The national sequestration per year as a share of the national agricultural emissions
    the user gave (Mt CO2e/yr, e.g. FAOSTAT)."""
    if not emissions:
        return ""
    out = []
    for lay in rates:
        if lay.family != "ASR":
            continue
        r = next(
            (
                r
                for r in rows
                if r["unit"] == "all" and r["land_use"] == "all" and r["product"] == lay.product
            ),
            None,
        )
        if r is None or r["total_Mt_CO2e"] == "":
            continue
        mt = float(r["total_Mt_CO2e"])
        out.append((lay.scenario, f"{mt:,.4f}", f"{100.0 * mt / emissions:.2f} %"))
    return (
        f"<h2>Share of the national agricultural emissions ({emissions:,g} Mt CO2e/yr)</h2>"
        + _table(["scenario", "sequestration (Mt CO2e/yr)", "share of the emissions"], out)
        + "<p class='note'>Sequestration: the national total of ASR (all modelled classes), "
        "x 44/12; a negative value is a loss of soil carbon.</p>"
    )


def _protocol_html(qa: Optional[Protocol]) -> str:
    if qa is None:
        return ""
    rows = [(c.step, c.item, c.check, c.measured, c.expected, c.result) for c in qa.checks]
    verdict = "passed" if qa.passed else f"{len(qa.failures)} of {len(qa.checks)} checks failed"
    return (
        f"<h2>QA protocol (GSOCseq manual, Annex II): {verdict}</h2>"
        + _table(["step", "item", "check", "measured", "expected", "result"], rows, "left")
        + "<p class='note'>On the national layers of the run: their names carry the run's "
        "name (gsocseq export --fao ISO3 names them with the ISO3 code) and they lie on the "
        "run's grid; pixels left out by an exclusion rule are not counted as masked (the FAO "
        "delivery has their values).</p>"
    )


def _files_html(run: RunOutput, folder: Path) -> str:
    """The files to send to FAO: the export's zip when there is one, else how to make it."""
    zips = sorted(run.dir.glob(f"*/{products.SUBMISSION_GLOB}"))
    if zips:
        items = "".join(
            f"<li><code>{html.escape(os.path.relpath(z, folder))}</code> "
            f"({z.stat().st_size / 1e6:.1f} MB)</li>"
            for z in zips
        )
        return (
            "<h2>Files to send to FAO</h2><ul>" + items + "</ul><p class='note'>The zip holds "
            "the 29 products on the GSP template grid, the land use, the exclusion mask, the QA "
            "protocol, a manifest and SHA256SUMS.</p>"
        )
    return (
        "<h2>Files to send to FAO</h2><p>None yet: <code>gsocseq export "
        f"{html.escape(str(run.dir))} --fao ISO3</code> writes the zip to send (the 29 products "
        "on the GSP template grid, the QA protocol, a manifest), in "
        f"<code>{html.escape(products.fao_folder('ISO3'))}</code> of the run folder.</p>"
    )


_CSS = """
body{font-family:sans-serif;max-width:1200px;margin:1em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;font-size:12px;margin:0.5em 0}
td,th{border:1px solid #bbb;padding:3px 6px;text-align:right;vertical-align:top}
td:first-child,th:first-child{text-align:left}
.co2{color:#555}.note{font-size:12px;color:#555}
img{max-width:100%;border:1px solid #eee;margin:0.5em 0}
table.left td,table.left th{text-align:left}
.box{border:1px solid #999;padding:0 1em 1em;margin:1em 0;background:#fafafa}
"""


def _evaluation_section(evaluation: tuple[list[dict[str, str]], Optional[Path]]) -> list[str]:
    """The statistics of ``gsocseq evaluate`` per group and its 1:1 plot (docs/evaluation.md)."""
    rows, plot = evaluation
    columns = (
        ("group", "group", ""),
        ("n", "n", ""),
        ("rmse", "RMSE (t C/ha)", ".3f"),
        ("relative_rmse_percent", "RMSE (%)", ".1f"),
        ("mean_error", "mean error (t C/ha)", "+.3f"),
        ("efficiency", "EF", ".3f"),
        ("r", "r", ".3f"),
    )

    def cell(value: str, fmt: str) -> str:
        if not fmt or value == "":
            return html.escape(value)
        return format(float(value), fmt)

    head = "".join(f"<th>{html.escape(title)}</th>" for _, title, _ in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(r.get(k, ''), f)}</td>" for k, _, f in columns) + "</tr>"
        for r in rows
    )
    parts = [
        "<h2>Evaluation against measured SOC</h2>",
        f"<table><tr>{head}</tr>{body}</table>",
        "<p class='note'>Simulated SOC at the years of the measurements (gsocseq evaluate; "
        "FAO GSOCseq manual ch. 12): RMSE, mean error (simulated - observed), modelling "
        "efficiency EF = 1 - SSE / sum (O - mean O)<sup>2</sup> and Pearson's r.</p>",
    ]
    if plot is not None:
        data = base64.b64encode(plot.read_bytes()).decode("ascii")
        parts.append(
            f"<img src='data:image/png;base64,{data}' alt='simulated against observed SOC'>"
        )
    return parts


def write_html(
    stats: Statistics,
    figures: dict[str, Path],
    folder: Path,
    csv_path: Path,
    stac_path: Path,
    notes: Sequence[str] = (),
    qa: Optional[Protocol] = None,
    emissions: Optional[float] = None,
    evaluation: Optional[tuple[list[dict[str, str]], Optional[Path]]] = None,
) -> Path:
    """Write ``report.html`` in ``folder``: one file, its figures embedded; with
    ``evaluation`` (the statistics and the 1:1 plot of ``gsocseq evaluate``), a section on the
    agreement with measured SOC."""
    run = stats.run
    main = [lay for lay in run.layers if lay.year is None]
    stocks = [lay for lay in main if lay.family in ("T0", "finalSOC")]
    rates = [lay for lay in main if lay.family in ("ASR", "RSR")]
    opts = run.summary.get("options") or {}
    period = (
        f"{run.t0_year}-{run.final_year}"
        if run.t0_year and run.final_year
        else f"{opts.get('years', '?')} years"
    )

    words = model_words(opts)
    model = f" ({html.escape(words)})" if words else ""

    def img(key: str, alt: str) -> str:
        """The figure embedded (the report is one file, to e-mail or archive)."""
        if key not in figures:
            return ""
        data = base64.b64encode(figures[key].read_bytes()).decode("ascii")
        return f"<img src='data:image/png;base64,{data}' alt='{html.escape(alt)}'>"

    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(run.name)} GSOCseq national report</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(run.name)}: GSOCseq soil organic carbon sequestration potential</h1>",
        f"<p>Run folder <code>{html.escape(str(run.dir))}</code>, mode "
        f"<b>{html.escape(str(run.summary.get('mode', '?')))}</b>{model}, period {period}, "
        f"scenarios BAU, {html.escape(', '.join(sorted(opts.get('scenarios') or {})))}; "
        f"gsocseq {html.escape(str(run.summary.get('version', '?')))}. Statistics: "
        f"<a href='{html.escape(csv_path.name)}'>{html.escape(csv_path.name)}</a>; "
        f"STAC item: <a href='{html.escape(stac_path.name)}'>{html.escape(stac_path.name)}</a>."
        "</p>",
        *(f"<p class='note'><b>Note:</b> {html.escape(n)}</p>" for n in notes),
        _methods_html(run.summary),
        _scenario_table(opts.get("scenario_descriptions") or {}),
        _counts_html(run.summary),
        _warnings_html(run.summary),
        _emissions_html(stats.rows, rates, emissions),
        "<h2>Totals per land-use class</h2>",
        "<h3>SOC stocks (t C, 0-30 cm)</h3>",
        _totals_table(stats.rows, stocks, "all", "t C"),
        "<h3>Sequestration per year (t C/yr)</h3>",
        _totals_table(stats.rows, rates, "all", "t C/yr"),
        "<p class='note'>Area: pixel areas on the WGS84 ellipsoid (geographic grids: by "
        "latitude; projected grids: the ground area of each cell, not the nominal area of a "
        "conformal projection). Uncertainty of a total: the per-pixel uncertainty "
        "layers (U %) summed as fully correlated, sum(U<sub>i</sub>/100 |X<sub>i</sub>| "
        "a<sub>i</sub>); pixels whose uncertainty is nodata add nothing (the CSV's "
        "uncertainty_area_share gives the share of the area covered).</p>",
        "<h3>Mean rates per class (area-weighted)</h3>",
        _means_table(stats.rows, rates),
    ]
    if stats.zones:
        parts += [
            f"<h2>Per {'zone' if stats.zones.raster else 'administrative unit'} "
            f"({html.escape(stats.zones.field)})</h2>",
            "<h3>SOC stocks (t C)</h3>",
            _units_table(stats, stocks),
            "<h3>Sequestration per year (t C/yr)</h3>",
            _units_table(stats, rates),
            img("ASR_choropleth", "mean ASR per unit"),
            img("RSR_choropleth", "mean RSR per unit"),
        ]
    if figures:
        parts += [
            "<h2>Maps</h2>",
            img("stocks", "SOC stock maps"),
            img("ASR_map", "ASR maps"),
            img("RSR_map", "RSR maps"),
            img("uncertainty_map", "uncertainty maps"),
            img("land_use_map", "land-use map"),
            "<h2>Distributions per land-use class</h2>",
            img("ASR_histograms", "ASR histograms"),
            img("ASR_boxplots", "ASR boxplots"),
            img("RSR_histograms", "RSR histograms"),
            img("RSR_boxplots", "RSR boxplots"),
            "<p class='note'>Histograms count pixels; boxes are the quartiles and median, "
            "whiskers the furthest values within 1.5 IQR (outliers not drawn), all to "
            f"{HIST_BIN} t C/ha/yr.</p>",
        ]
    parts.append(_protocol_html(qa))
    parts.append(_files_html(run, folder))
    if evaluation is not None:
        parts += _evaluation_section(evaluation)
    parts.append("</body></html>")
    path = folder / "report.html"
    with writing.replacing(path) as tmp:
        tmp.write_text("\n".join(p for p in parts if p) + "\n", encoding="utf-8")
    return path
