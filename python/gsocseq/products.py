"""The layer catalogue (METHOD.md section 7): every layer a run writes, its units, its QA range,
and its file name. This module is the only place that builds or parses a file name of a run's
outputs (``{name}_GSOCseq_{product}[_{year}]_Map030.tif`` and the others): the writer, the
report, the STAC item, the site table and the FAO export all ask it.

Products: ``T0`` (t C/ha), ``finalSOC_{scenario}``, ``AbsDiff_{scenario}``,
``RelDiff_{SSM}`` (t C/ha), ``ASR_{scenario}``, ``RSR_{SSM}`` (t C/ha/yr), with an
``UncertaintyMap030`` twin in % where the run has uncertainty; intermediate layers, the Monte
Carlo statistics and the years to steady state are named ``{name}_GSOCseq_{product}.tif``.
A horizon other than the run's main one adds its final year: ``finalSOC_BAU_2070``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # pragma: no cover
    from gsocseq.config import Config

#: the value of a pixel without a result in every float32 layer
NODATA = -999.0
#: the type of the land-use layer (METHOD.md section 7: int16, the forward class of modelled
#: pixels; in the run's folder and in the FAO delivery)
LAND_USE_DTYPE = "int16"
#: the value of a pixel without a class in the land-use layer (class 0, "no data")
LAND_USE_NODATA = 0
UNITS_STOCK = "t C/ha"
UNITS_RATE = "t C/ha/yr"
UNITS_PERCENT = "%"
UNITS_YEARS = "years"
#: the five pools of a pool layer's bands, in band order
POOLS = ("DPM", "RPM", "BIO", "HUM", "IOM")
#: final stocks outside this range (t C/ha) are nodata before any difference (script 13)
FINAL_RANGE = (0.0, 300.0)
#: the statistics of a Monte Carlo product, in the core's order
MC_STATS = ("Mean", "P2.5", "P97.5", "U")
#: families of the map products, with (quantity, units per ha, units of an area's total)
FAMILIES = {
    "T0": ("stock", UNITS_STOCK, "t C"),
    "finalSOC": ("stock", UNITS_STOCK, "t C"),
    "AbsDiff": ("change", UNITS_STOCK, "t C"),
    "RelDiff": ("change", UNITS_STOCK, "t C"),
    "ASR": ("rate", UNITS_RATE, "t C/yr"),
    "RSR": ("rate", UNITS_RATE, "t C/yr"),
}

#: the layer depth of the products, cm: 0-30 cm, the "030" of their names (``[run] depth``'s
#: default; another depth fails the QA protocol's step 1)
PRODUCT_DEPTH_CM = 30.0

_SEPARATOR = "_GSOCseq_"
_MAP = "Map030"
_UNCERTAINTY = "UncertaintyMap030"
_MC = "MC030"
_PRODUCT = re.compile(r"^(T0|finalSOC|AbsDiff|RelDiff|ASR|RSR)(?:_(.+?))?(?:_(\d{4}))?$")


@dataclass(frozen=True)
class Layer:
    """One output layer of a run."""

    product: str  # e.g. "ASR_SSM1", "T0", "Ceq"
    uncertainty: bool = False
    year: Optional[int] = None  # final year of a horizon other than the main one
    description: str = ""
    units: str = ""
    bands: int = 1
    # named {prefix}_GSOCseq_{product}.tif and outside the QA ranges (intermediate layers,
    # Monte Carlo statistics, years to steady state)
    intermediate: bool = False

    def file_name(self, prefix: str) -> str:
        """The layer's file name in the output folder of run ``prefix``."""
        if self.intermediate:
            return f"{prefix}{_SEPARATOR}{self.product}.tif"
        year = f"_{self.year}" if self.year is not None else ""
        kind = _UNCERTAINTY if self.uncertainty else _MAP
        return f"{prefix}{_SEPARATOR}{self.product}{year}_{kind}.tif"

    @property
    def key(self) -> str:
        """The file name without the run's name: the layer's key in a block's values."""
        return self.file_name("")

    @property
    def column(self) -> str:
        """The layer's column in a site table's results (``ASR_SSM1``,
        ``ASR_SSM1_uncertainty``, ``finalSOC_BAU_2070``, ``T0_Mean_MC030``)."""
        year = f"_{self.year}" if self.year is not None else ""
        return f"{self.product}{year}" + ("_uncertainty" if self.uncertainty else "")

    @property
    def qa_range(self) -> Optional[tuple[float, float, bool, bool]]:
        """(low, high, low included, high included) of the script-15 QA, None for no check."""
        if self.intermediate:
            return None
        if self.uncertainty:
            return (0.0, 200.0, True, True)
        p = self.product
        if p == "T0" or p.startswith("finalSOC"):
            return (0.0, 800.0, True, True)
        if p.startswith("AbsDiff"):
            return (-80.0, 80.0, False, False)
        if p.startswith("RelDiff"):
            return (0.0, 80.0, True, False)
        if p.startswith("ASR"):
            return (-4.0, 4.0, False, True)
        if p.startswith("RSR"):
            return (0.0, 4.0, True, True)
        return None


def layer_key(product: str, uncertainty: bool = False, year: Optional[int] = None) -> str:
    """The key (:attr:`Layer.key`) of a map layer."""
    return Layer(product, uncertainty=uncertainty, year=year).key


def intermediate_key(product: str) -> str:
    """The key (:attr:`Layer.key`) of an intermediate layer (no QA, no Map030 suffix)."""
    return Layer(product, intermediate=True).key


def mc_product(product: str, stat: str) -> str:
    """The product of statistic ``stat`` (of :data:`MC_STATS`) of Monte Carlo ``product``."""
    return f"{product}_{stat}_{_MC}"


def steady_state_product(scenario: str) -> str:
    return f"YearsToSteadyState_{scenario}"


def mc_products(scenarios: list[str]) -> list[tuple[str, str]]:
    """(product, units) of the Monte Carlo statistics, in the core's order."""
    out = [("T0", UNITS_STOCK)]
    out += [(f"finalSOC_{s}", UNITS_STOCK) for s in scenarios]
    out += [(f"ASR_{s}", UNITS_RATE) for s in scenarios]
    out += [(f"RSR_{s}", UNITS_RATE) for s in scenarios[1:]]
    return out


def layers(config: Config, scenarios: list[str], t0_year: int) -> list[Layer]:
    """Every layer the run of ``config`` writes, in a stable order (``scenarios``: BAU first;
    ``t0_year``: the calendar year of t0)."""
    fao = config.run.mode == "fao-v1.2"
    minmax = config.run.uncertainty != "none"
    ssms = scenarios[1:]
    out: list[Layer] = []
    for years in config.all_horizons:
        main = years == config.run.years
        year = None if main else t0_year + years
        span = f"{t0_year}-{t0_year + years}"
        if main:
            out.append(
                Layer("T0", description=f"SOC stock at t0 ({t0_year}), 0-30 cm", units=UNITS_STOCK)
            )
        stock = f"SOC stock {t0_year + years}"
        for product, names, what, units in (
            ("finalSOC", scenarios, stock, UNITS_STOCK),
            ("AbsDiff", scenarios, f"SOC change {span}", UNITS_STOCK),
            ("RelDiff", ssms, f"SOC minus BAU, {span}", UNITS_STOCK),
            ("ASR", scenarios, f"absolute sequestration rate {span}", UNITS_RATE),
            ("RSR", ssms, f"relative sequestration rate vs BAU, {span}", UNITS_RATE),
        ):
            for s in names:
                out.append(
                    Layer(f"{product}_{s}", year=year, description=f"{what}, {s}", units=units)
                )
        if not minmax:
            continue

        def unc(product: str, what: str, year: Optional[int] = year) -> Layer:
            return Layer(
                product,
                uncertainty=True,
                year=year,
                description=f"uncertainty of {what}",
                units=UNITS_PERCENT,
            )

        if main:
            out.append(unc("T0", "the t0 stock"))
        out.append(unc("BAU", "the final BAU stock"))
        if "SSM2" in scenarios or fao:
            out.append(unc("SSM", "the final SSM2 stock (FAO name)"))
        if not fao:
            for s in ssms:
                out.append(unc(s, f"the final {s} stock"))
        for s in scenarios:
            out.append(unc(f"ASR_{s}", f"ASR {s}"))
        for s in ssms:
            out.append(unc(f"RSR_{s}", f"RSR {s}"))
    out += extra_layers(config, scenarios)
    if config.run.intermediate:
        for product, what, units, bands in (
            ("Ceq", "equilibrium carbon input of the spin-up", UNITS_RATE, 1),
            ("Cin_t0", "carbon input of the last warm-up year", UNITS_RATE, 1),
            ("Cin_mean", "mean warm-up carbon input (BAU input)", UNITS_RATE, 1),
            (spinup_pools_product(), "pools at the end of the spin-up", UNITS_STOCK, 5),
            (t0_pools_product(t0_year), f"pools at t0 ({t0_year})", UNITS_STOCK, 5),
        ):
            out.append(
                Layer(product, description=what, units=units, bands=bands, intermediate=True)
            )
    _check_distinct(out, config.run.name)
    return out


def _check_distinct(out: list[Layer], prefix: str) -> None:
    """A ConfigError when two layers would be one file (or one site-table column): a scenario
    named ``T0`` or ``SSM`` (uncertainty layers of the t0 stock, of SSM2 under its FAO name),
    ``ASR_BAU``, ``BAU_2070`` (a horizon's layers), or two names that differ in case only
    (``SSM1`` and ``ssm1``: Windows and macOS compare file names without case). One of the
    two layers was silently written over the other."""
    seen: dict[str, Layer] = {}
    for lay in out:
        for name in {lay.key.lower(), f"column:{lay.column.lower()}"}:
            other = seen.setdefault(name, lay)
            if other is not lay:
                from gsocseq.errors import ConfigError

                raise ConfigError(
                    f"[scenarios]: the layer of {other.description or other.product} and that "
                    f"of {lay.description or lay.product} would be one file, "
                    f"{other.file_name(prefix)} (file names compare without case on Windows "
                    "and macOS): rename the scenario (T0, SSM, ASR_..., RSR_..., a name "
                    "followed by _ and a year, or another scenario's name in other case are "
                    "taken)"
                )


def spinup_pools_product() -> str:
    """The intermediate layer of the pools at the end of the spin-up (5 bands)."""
    return "Pools2000"


def t0_pools_product(t0_year: int) -> str:
    """The intermediate layer of the pools at t0 (5 bands)."""
    return f"Pools{t0_year}"


def extra_layers(config: Config, scenarios: list[str]) -> list[Layer]:
    """Monte Carlo statistics and years to steady state, when requested."""
    out: list[Layer] = []
    if config.run.uncertainty == "montecarlo":
        n = config.run.samples
        for product, units in mc_products(scenarios):
            for stat in MC_STATS:
                out.append(
                    Layer(
                        mc_product(product, stat),
                        description=f"{product}, Monte Carlo {stat} of {n} samples",
                        units=UNITS_PERCENT if stat == "U" else units,
                        intermediate=True,
                    )
                )
    if config.run.steady_state:
        for s in scenarios:
            out.append(
                Layer(
                    steady_state_product(s),
                    description=f"years after t0 until the year-end SOC stays within 5 % of "
                    f"the distance to the {s} steady state",
                    units=UNITS_YEARS,
                    intermediate=True,
                )
            )
    return out


# -- the other files of a run's folder -------------------------------------------------------


def land_use_file(prefix: str) -> str:
    """The land-use layer (int16 FAO class of the forward runs of the modelled pixels, 0
    elsewhere; the class names in its tags, its colours in the QGIS style beside it)."""
    return f"{prefix}{_SEPARATOR}LandUse.tif"


def style_file(file_name: str) -> str:
    """The QGIS style beside a layer file (QGIS loads ``X.qml`` as the style of ``X.tif``)."""
    return f"{os.path.splitext(file_name)[0]}.qml"


def summary_file(prefix: str) -> str:
    """The run summary, written last (JSON)."""
    return f"{prefix}{_SEPARATOR}run.json"


def statistics_file(prefix: str) -> str:
    """The report's statistics table (CSV)."""
    return f"{prefix}{_SEPARATOR}statistics.csv"


def stac_file(prefix: str) -> str:
    """The report's STAC item (JSON)."""
    return f"{prefix}{_SEPARATOR}stac.json"


def stac_id(prefix: str) -> str:
    """The id of the report's STAC item (``KEN_GSOCseq``)."""
    return prefix + _SEPARATOR.rstrip("_")


#: bits of the exclusion mask, by the rule's quantity (METHOD.md section 2); a pixel meeting
#: several rules has their sum, 0 none
EXCLUSION_BITS = {"soc": 1, "sand": 2, "ec": 4}
#: the exclusion mask's value of a pixel the run did not model
EXCLUSION_NODATA = 255


def exclusion_mask_file(prefix: str) -> str:
    """The exclusion mask (uint8: the sum of :data:`EXCLUSION_BITS` of the rules a modelled
    pixel meets, 0 none; :data:`EXCLUSION_NODATA` not modelled)."""
    return f"{prefix}{_SEPARATOR}ExclusionMask.tif"


#: the flags layer's value of a pixel the run did not model (uint16)
FLAGS_NODATA = 65535


def flags_file(prefix: str) -> str:
    """The per-pixel flags ([run] flags: uint16 sum of the core's flag bits, 0 none;
    :data:`FLAGS_NODATA` not modelled)."""
    return f"{prefix}{_SEPARATOR}Flags.tif"


def excluded_values_file(prefix: str) -> str:
    """The values of the pixels an exclusion rule leaves out of the national layers: one band
    per map layer (its key as the band's description), nodata elsewhere. Written when the
    run's exclusions are enabled; ``gsocseq export --fao`` delivers them (one continuous
    surface, METHOD.md section 7)."""
    return f"{prefix}{_SEPARATOR}ExcludedValues.tif"


# -- the FAO delivery (gsocseq export --fao ISO3; {prefix}: the ISO3 code) ---------------------

#: the two files of a layer across the antimeridian: the eastern hemisphere (up to 180
#: degrees) and the western one (from -180)
EAST, WEST = "_east", "_west"


def part_file(file_name: str, part: str) -> str:
    """``file_name`` (``....tif``) of one part of a layer across the antimeridian (``part``:
    :data:`EAST`, :data:`WEST` or "" for a layer in one piece)."""
    stem, ext = os.path.splitext(file_name)
    return f"{stem}{part}{ext}"


def fao_folder(prefix: str) -> str:
    """The delivery's folder in the run's output folder."""
    return f"FAO_{prefix}"


def qa_protocol_file(prefix: str) -> str:
    """The Annex II QA protocol, a pass/fail table (CSV)."""
    return f"{prefix}{_SEPARATOR}QA_protocol.csv"


def manifest_file(prefix: str) -> str:
    """The delivery's manifest (JSON: files, sizes, checksums, grid, run, protocol)."""
    return f"{prefix}{_SEPARATOR}manifest.json"


def checksums_file(prefix: str) -> str:
    """The delivery's checksums as ``sha256sum -c`` reads them."""
    return f"{prefix}{_SEPARATOR}SHA256SUMS.txt"


def submission_file(prefix: str) -> str:
    """The zip to send."""
    return f"{prefix}{_SEPARATOR}submission.zip"


#: globs of a delivery's manifest, checksums and zip (any ISO3 code)
MANIFEST_GLOB = manifest_file("*")
CHECKSUMS_GLOB = checksums_file("*")
SUBMISSION_GLOB = submission_file("*")


def checkpoint_folder(prefix: str) -> str:
    """The folder of a run's block checkpoints and manifest, inside its output folder."""
    return f".gsocseq-{prefix}"


#: patterns of a run's temporaries (a process that died without removing them leaves them; the
#: exclusive holder of the folder removes them): {prefix} is the run name
STALE = (
    ".{prefix}" + _SEPARATOR + "*.part.tif",
    ".{prefix}" + _SEPARATOR + "run.json.part",
    ".gsocseq-{prefix}/.manifest.*.part",
    ".gsocseq-{prefix}/blocks/.block_*.part.npz",
)
#: written into a report folder before the report's files: the files by the names of
#: REPORT_FILES (and figures/*.png) there are an earlier report's, gsocseq's to replace
REPORT_MARKER = ".gsocseq-report"
#: files of ``gsocseq report`` in ``{output}/report`` ({prefix}: the run name)
REPORT_FILES = (
    "report.html",
    "report.pdf",
    statistics_file("{prefix}"),
    stac_file("{prefix}"),
    REPORT_MARKER,
)
#: glob of a run summary (any run name)
SUMMARY_GLOB = summary_file("*")


def run_name_of_summary(file_name: str) -> str:
    """The run name of a run summary's file name (``KEN_GSOCseq_run.json`` -> ``KEN``)."""
    return file_name[: -len(summary_file(""))]


# -- parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """What a file name of a run's folder says (:func:`parse`)."""

    stem: str  # the name without the run's name and ".tif": "ASR_SSM1_2070_Map030"
    product: str  # "ASR_SSM1_2070" for a map or uncertainty layer, else as ``stem``
    kind: str  # "map", "uncertainty", "land_use" or "other"


def parse(file_name: str, prefix: str) -> Optional[Parsed]:
    """What the ``.tif`` file ``file_name`` of run ``prefix`` is; None for a file that is not
    a layer of that run."""
    head = f"{prefix}{_SEPARATOR}"
    if not file_name.startswith(head) or not file_name.endswith(".tif"):
        return None
    stem = file_name[len(head) : -len(".tif")]
    if file_name == land_use_file(prefix):
        return Parsed(stem, stem, "land_use")
    for kind, suffix in (("uncertainty", _UNCERTAINTY), ("map", _MAP)):
        if stem.endswith(f"_{suffix}"):
            return Parsed(stem, stem[: -len(suffix) - 1], kind)
    return Parsed(stem, stem, "other")


def split_product(product: str) -> Optional[tuple[str, str, Optional[int]]]:
    """(family, scenario, final year or None) of a map product (``ASR_SSM1_2070`` ->
    ("ASR", "SSM1", 2070); ``T0`` -> ("T0", "T0", None)); None for another product."""
    m = _PRODUCT.match(product)
    if m is None:
        return None
    year = m.group(3)
    return m.group(1), m.group(2) or "T0", int(year) if year else None


def uncertainty_products(family: str, scenario: str, year: Optional[int]) -> list[str]:
    """The products of the uncertainty layer of a map product, most specific first (the final
    SSM2 stock's uncertainty has its FAO name ``SSM`` too); empty for a family without one."""
    suffix = f"_{year}" if year is not None else ""
    if family == "T0":
        return ["T0"]
    if family == "finalSOC":
        return [scenario + suffix] + (["SSM" + suffix] if scenario == "SSM2" else [])
    if family in ("ASR", "RSR"):
        return [f"{family}_{scenario}{suffix}"]
    return []
