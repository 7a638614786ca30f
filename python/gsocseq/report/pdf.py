"""The report as a PDF (A4): the methods, pixel counts, warnings, national totals and
QA verdict as text pages, then a figure a page (matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

from gsocseq import methods, writing
from gsocseq.qa_protocol import Protocol
from gsocseq.report.figures import FIGURE_DPI, _plt
from gsocseq.report.statistics import Statistics


def _text_lines(stats: Statistics, qa: Optional[Protocol], notes: Sequence[str]) -> list[str]:
    """The report's methods, counts, warnings, national totals and QA verdict as lines of text
    (the PDF's first pages)."""
    import textwrap

    summary = stats.run.summary
    out: list[str] = []

    def wrap(text: str, indent: str = "") -> None:
        out.extend(textwrap.wrap(text, 110, initial_indent=indent, subsequent_indent=indent + "  "))

    out.append("METHODS")
    for label, text in methods.methods(summary):
        wrap(f"{label}: {text}", "  ")
    out.append("  scenarios (input increase over BAU: crops, grass, paddy):")
    for name, c, g, pd in methods.scenarios(summary):
        out.append(f"    {name:<8} {c:>6g} % {g:>6g} % {pd:>6g} %")
    # what each scenario does (practices: fym, no-till, land-use change): a practice scenario
    # read "0 % 0 % 0 %" above, as BAU
    descriptions = (summary.get("options") or {}).get("scenario_descriptions") or {}
    if descriptions:
        out.append("  what each scenario does:")
        for name, text in descriptions.items():
            wrap(f"{name}: {text}", "    ")
    out += ["", "PIXELS"]
    for count in methods.pixel_counts(summary):
        share = "" if count.share is None else f" ({count.share:.1f} % of the modelled)"
        indent = "    " if count.what[:1] == " " else "  "
        wrap(f"{count.what.strip()}: {count.pixels:,}{share}", indent)
    out += ["", "WARNINGS"]
    rows = methods.warnings(summary) or [("none", "", "")]
    for text, meaning, kept in rows:
        wrap(text + (f": {meaning}; {kept}" if meaning else ""), "  ")
    for n in notes:
        wrap(f"note: {n}", "  ")
    out += ["", "NATIONAL TOTALS (all modelled classes)"]
    for r in stats.rows:
        if r["unit"] == "all" and r["land_use"] == "all" and r["final_year"] in ("", None):
            if r["family"] in ("T0", "finalSOC", "ASR", "RSR") and r["total_Mt_CO2e"] != "":
                out.append(
                    f"  {r['product']:<16} {float(r['total']):>16,.0f} {r['total_units']:<7}"
                    f" {float(r['total_Mt_CO2e']):>12,.4f} Mt CO2e"
                    + ("/yr" if r["family"] in ("ASR", "RSR") else "")
                )
    if qa is not None:
        out += ["", "QA PROTOCOL (Annex II)"]
        for line in qa.summary().splitlines():
            wrap(line.strip(), "  ")
    return out


def write_pdf(
    stats: Statistics,
    figures: dict[str, Path],
    path: Path,
    qa: Optional[Protocol] = None,
    notes: Sequence[str] = (),
) -> Path:
    """The report as a PDF (A4): the methods, pixel counts, warnings, national totals and QA
    verdict as text, then every figure on a page of its own."""
    from matplotlib.backends.backend_pdf import PdfPages

    plt = _plt()
    lines = _text_lines(stats, qa, notes)
    title = f"{stats.run.name}: GSOCseq soil organic carbon sequestration potential"
    per_page = 80
    with writing.replacing(path) as tmp, PdfPages(tmp) as pdf:
        for start in range(0, len(lines), per_page):
            fig = plt.figure(figsize=(8.27, 11.69))
            fig.text(0.06, 0.965, title, fontsize=11, weight="bold", va="top")
            fig.text(
                0.06,
                0.94,
                "\n".join(lines[start : start + per_page]),
                fontsize=6.5,
                family="monospace",
                va="top",
            )
            pdf.savefig(fig)
            plt.close(fig)
        for figure in figures.values():
            image = plt.imread(figure)
            fig = plt.figure(figsize=(8.27, 11.69))
            ax = fig.add_axes((0.05, 0.05, 0.9, 0.9))
            ax.imshow(image)
            ax.set_axis_off()
            pdf.savefig(fig, dpi=FIGURE_DPI)
            plt.close(fig)
    return path
