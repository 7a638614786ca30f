"""What a run did, in the words a reader of its report needs without run.json: the methods
(mode and why, spin-up, period, scenarios with their input increases per group, uncertainty,
exclusions, inputs, version), the pixel counts (modelled per class, not modelled per rule,
excluded per rule, masked by the QA step per layer), the warnings with what they mean and
whether the pixels keep their values, and the files to send to FAO. From the run summary
alone (plain data; the report renders it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from gsocseq import products
from gsocseq.classes import NAMES
from gsocseq.config import model_words

#: why a mode, in one sentence each (docs/fao-submission.md has the figures)
MODE_WHY = {
    "rothamsted": "the official RothC-26.3 numerics that the GSOCseq manual specifies, without "
    "the numerical defects of the FAO v1.2 R scripts: the mode for a national submission",
    "fao-v1.2": "reproduces the numbers of the FAO GSOCseq v1.2 R scripts, their numerical "
    "defects included: for reproducing or comparing with maps made with the scripts; a new "
    "national submission should use rothamsted (docs/fao-submission.md)",
}
#: the core's flags (their words in the run summary): what they mean for the pixels' values
FLAG_MEANINGS = {
    "spin-up deficit not periodic after 1,000 years": (
        "the spin-up climate's moisture deficit did not repeat exactly from year to year; the "
        "spin-up used the deficit of the last year",
        "values kept",
    ),
    "a run ended with a negative pool": (
        "a carbon pool of a min, central or max run fell below 0 t C/ha (unstable numerics)",
        "values kept; the QA step masks final stocks outside [0, 300] t C/ha",
    ),
    "fao-v1.2 warm-up Euler unstable (DPM amplification > 1)": (
        "the R scripts' forward-Euler step on DPM oscillates or grows in these hot, humid "
        "pixels (decomposition rate above 1.2 per month): their fao-v1.2 numbers are an "
        "artefact of the scripts (rothamsted mode has no such step)",
        "values kept, as the R scripts keep them; the QA step masks those out of range",
    ),
    "fao-v1.2 forward Euler unstable (DPM amplification > 1)": (
        "as for the warm-up, over a forward run: the fao-v1.2 forward numbers of these pixels "
        "are an artefact of the scripts",
        "values kept, as the R scripts keep them; the QA step masks those out of range",
    ),
    "pedotransfer DPM negative": (
        "the pedotransfer pools of the spin-up give a negative DPM pool for this SOC and clay",
        "values kept",
    ),
    "iterative spin-up not converged": (
        "the iterative spin-up reached its year limit before SOC settled",
        "values kept (the state at the limit)",
    ),
    "a warm-up year's class has no coefficients": (
        "in some warm-up year the pixel's land use has no NPP coefficient (artificial, bare "
        "soil, water, ...): no plant input that year",
        "values kept (fao-v1.2: nodata where the scripts' 0/0 gives none)",
    ),
    "a result is not finite": (
        "a stock is NaN or infinite (no equilibrium, or the fao-v1.2 numerics diverged)",
        "nodata in the layers",
    ),
}
#: reasons a candidate pixel is not modelled (counts ``{reason}:{quantity}``)
REASONS = {
    "nodata": "nodata in every band of {q}",
    "invalid": 'invalid {q} (masked: [run] invalid = "mask")',
    "not modelled": "{q}",
}


@dataclass(frozen=True)
class Count:
    """One row of the pixel counts: what, pixels, share of the modelled pixels (%, or None),
    and what it means."""

    what: str
    pixels: int
    share: Optional[float]
    meaning: str


def class_label(code: int) -> str:
    """``2 cropland``: a class code with its name."""
    return f"{code} {NAMES.get(code, '(unknown class)')}"


def methods(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) rows of the methods box."""
    opts = summary.get("options") or {}
    mode = str(summary.get("mode") or opts.get("mode") or "?")
    years = opts.get("years")
    horizons = [h for h in (opts.get("horizons") or []) if h != years]
    rows = [
        ("mode", f"{mode}: {MODE_WHY.get(mode, 'unknown mode')}"),
        ("spin-up", f"{opts.get('spinup', '?')} (pools: {opts.get('numerical_pools', '?')})"),
        (
            "forward period",
            f"{years} years"
            + (f"; also {', '.join(str(h) for h in horizons)} years" if horizons else ""),
        ),
        ("uncertainty", _uncertainty(opts)),
        (
            "modelled land use",
            ", ".join(class_label(int(c)) for c in opts.get("modelled_classes") or []),
        ),
        ("exclusions", _exclusions(opts.get("exclusions"))),
        ("QA step", "on (script 13 and 15 ranges)" if opts.get("qa_mask", True) else "off"),
        # (the PDF said neither: a calibrated farina-2 run read as a plain RothC-26.3 one)
        ("model options", model_words(opts) or "RothC-26.3 moisture, not calibrated"),
        ("gsocseq", f"{summary.get('version', '?')} ({opts.get('platform', '?')})"),
    ]
    return rows


def _uncertainty(opts: Mapping[str, Any]) -> str:
    u = opts.get("uncertainty")
    if u == "montecarlo":
        return f"Monte Carlo, {opts.get('samples')} draws per pixel (seed {opts.get('seed')})"
    if u == "minmax":
        return "min/max runs (the GSOCseq manual's rule)"
    return "none"


def _exclusions(ex: Any) -> str:
    if not isinstance(ex, Mapping):
        return "not recorded"
    rules = ", ".join(ex.get("rules") or []) or "none"
    missing = ex.get("not_applied") or []
    unapplied = f"; not applied: {', '.join(missing)}" if missing else ""
    if ex.get("enabled"):
        return f"{rules}: modelled, left out of the national layers, delivered to FAO{unapplied}"
    return f"off (rules {rules} only recorded in the exclusion mask){unapplied}"


def scenarios(summary: Mapping[str, Any]) -> list[tuple[str, float, float, float]]:
    """(scenario, crops, grass, paddy) input increases in %, BAU first."""
    table = (summary.get("options") or {}).get("scenarios") or {}
    rows = [("BAU", 0.0, 0.0, 0.0)]
    for name, inc in table.items():
        crops, grass, paddy = (100.0 * float(v) for v in inc)
        rows.append((name, crops, grass, paddy))
    return rows


def inputs(summary: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(quantity, file) of each input, as the run summary names it (relative to the output
    folder)."""
    return [(k, str(v)) for k, v in (summary.get("inputs") or {}).items()]


def pixel_counts(summary: Mapping[str, Any]) -> list[Count]:
    """The pixel counts of the run: modelled (per class), not modelled (per rule), excluded
    (per rule) and masked by the QA step (per layer), with shares of the modelled pixels."""
    counts = summary.get("counts") or {}
    modelled = int(counts.get("modelled", 0))

    def share(k: int) -> Optional[float]:
        return 100.0 * k / modelled if modelled else None

    out = [
        Count(
            "modelled",
            modelled,
            100.0 if modelled else None,
            "pixels of a modelled land-use class with valid inputs and SOC > 0",
        )
    ]
    classes = sorted(
        (int(k.split("_")[-1]), int(v)) for k, v in counts.items() if k.startswith("modelled:")
    )
    for code, k in classes:
        out.append(Count(f"  {class_label(code)}", k, share(k), "modelled, of this class in t0"))
    for key, k in sorted(counts.items()):
        head, _, what = key.partition(":")
        if head in REASONS:
            quantity = what.replace("soc_0", "SOC = 0 (no carbon)")
            out.append(
                Count(
                    f"not modelled: {quantity}",
                    int(k),
                    None,
                    REASONS[head].format(q=quantity) + "; nodata in every layer",
                )
            )
    land_use = _land_use_file(summary)
    if counts.get("area:no_land_use"):
        out.append(
            Count(
                "not modelled: no land use",
                int(counts["area:no_land_use"]),
                None,
                f"SOC has a value but the last warm-up year's land use{land_use} is nodata (the "
                "land-use raster does not cover them); nodata in every layer",
            )
        )
    outside = sorted(
        (int(k.split("_")[-1]), int(v)) for k, v in counts.items() if k.startswith("area:class_")
    )
    for code, k in outside:
        out.append(
            Count(
                f"not modelled: class {class_label(code)}",
                k,
                None,
                f"SOC has a value; the last warm-up year's land use{land_use} is a class "
                "outside [classes] modelled; nodata in every layer",
            )
        )
    for key, k in sorted(counts.items()):
        if key.startswith("excluded:"):
            rule = key[len("excluded:") :]
            out.append(
                Count(
                    f"excluded: {rule}",
                    int(k),
                    share(int(k)),
                    "modelled; nodata in the national layers; values in the FAO delivery "
                    "(the exclusion mask says which rule)",
                )
            )
    if counts.get("cover:class_default"):
        k = int(counts["cover:class_default"])
        out.append(
            Count(
                "cover: class default",
                k,
                share(k),
                "modelled without a cover value: the default cover of their classes "
                "([classes.N] cover)",
            )
        )
    for key, k in sorted(counts.items()):
        if key.startswith("qa:"):
            what = key[len("qa:") :]
            layer = what.replace(" outside range", "").replace(" outside [0, 300]", "")
            parsed = products.parse(f"X{layer}" if layer.startswith("_") else f"X_{layer}", "X")
            name = parsed.stem if parsed is not None else layer
            rule = (
                "outside [0, 300] t C/ha (script 13)"
                if "[0, 300]" in what
                else ("outside the layer's QA range (script 15)")
            )
            out.append(
                Count(f"masked by QA: {name}", int(k), share(int(k)), f"{rule}: nodata there")
            )
    return out


def _land_use_file(summary: Mapping[str, Any]) -> str:
    """`` (in FILE)``: the file of the run's land use, as the run summary names it."""
    inputs = summary.get("inputs") or {}
    path = inputs.get("land_use") or inputs.get("warmup_stack")
    return f" (in {path})" if path else ""


def warnings(summary: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(warning, what it means, what happens to the pixels) of each warning of the run."""
    out = []
    for w in summary.get("warnings") or []:
        text = str(w)
        meaning, kept = "", ""
        for flag, (m, k) in FLAG_MEANINGS.items():
            if text.endswith(f"pixels: {flag}"):
                meaning, kept = m, k
                break
        out.append((text, meaning, kept))
    return out
