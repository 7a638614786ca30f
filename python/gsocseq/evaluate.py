"""Evaluation against measurements (METHOD.md section 10; FAO GSOCseq manual ch. 12).

Sites (a site table, docs/sites.md) are simulated by the GSOCseq chain as ``gsocseq site`` does;
their SOC at the dates of the observations is compared with the observed SOC. Per group of
observations: n, RMSE, relative RMSE (% of the observed mean), mean error (simulated -
observed), modelling efficiency EF = 1 - SSE / sum (observed - mean observed)^2 and Pearson's r;
a CSV of every observation with its simulated value, a CSV of the statistics and a 1:1 plot.

Dates are calendar years: an observation of year y is compared with the simulated SOC at the end
of year y. A site's ``soc`` is its SOC in its ``start_year`` (column of the site table, default
2000, the spin-up year of GSOCseq); warm-up year k is ``start_year + k``; after the warm-up the
business-as-usual forward run continues (its climate as in ``gsocseq site``). Observations of the
start year are the starting state, not a prediction: they are listed and left out of the
statistics. Units: SOC t C/ha over the run's depth.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from gsocseq import csvsafe, writing
from gsocseq.config import Config, load, with_options
from gsocseq.errors import ConfigError, InputError, OutputError
from gsocseq.folder import write_errors
from gsocseq.multipliers import CalibrationTable, group_name, load_table

Source = Union[str, os.PathLike, Mapping[str, Sequence[Any]]]

#: every class with coefficients: a truncated run simulates the site whatever its class in the
#: last year of the truncated warm-up (whether the site is modelled is the full run's rule)
_ALL_CLASSES = (2, 3, 4, 5, 6, 8, 12, 13)
#: status of an observation
SIMULATED = "simulated"
STARTING_STATE = "starting state"
NOT_MODELLED = "site not modelled"
ALL = "all"


@dataclass(frozen=True)
class Metrics:
    """Agreement of simulated with observed SOC (t C/ha) over n observations.

    rmse: root mean square error, t C/ha; relative_rmse: RMSE as % of the observed mean;
    mean_error: mean of simulated - observed (bias), t C/ha; efficiency: modelling efficiency
    EF = 1 - sum (S - O)^2 / sum (O - mean O)^2 (1 perfect, 0 no better than the observed mean;
    NaN when every observation is equal); r: Pearson's correlation (NaN with fewer than two
    observations or no spread).
    """

    n: int
    observed_mean: float
    simulated_mean: float
    rmse: float
    relative_rmse: float
    mean_error: float
    efficiency: float
    r: float


def metrics(observed: Any, simulated: Any) -> Metrics:
    """:class:`Metrics` of pairs of observed and simulated SOC (t C/ha); pairs with a NaN are
    left out."""
    o = np.asarray(observed, dtype=np.float64).ravel()
    s = np.asarray(simulated, dtype=np.float64).ravel()
    if o.shape != s.shape:
        raise ValueError(f"observed and simulated: {o.size} and {s.size} values")
    keep = ~(np.isnan(o) | np.isnan(s))
    o, s = o[keep], s[keep]
    n = int(o.size)
    if n == 0:
        nan = math.nan
        return Metrics(0, nan, nan, nan, nan, nan, nan, nan)
    residual = s - o
    sse = float(np.sum(residual**2))
    o_mean, s_mean = float(np.mean(o)), float(np.mean(s))
    rmse = math.sqrt(sse / n)
    spread = float(np.sum((o - o_mean) ** 2))
    s_spread = float(np.sum((s - s_mean) ** 2))
    efficiency = 1.0 - sse / spread if spread > 0 else math.nan
    if n >= 2 and spread > 0 and s_spread > 0:
        r = float(np.sum((o - o_mean) * (s - s_mean)) / math.sqrt(spread * s_spread))
    else:
        r = math.nan
    return Metrics(
        n=n,
        observed_mean=o_mean,
        simulated_mean=s_mean,
        rmse=rmse,
        relative_rmse=100.0 * rmse / o_mean if o_mean != 0 else math.nan,
        mean_error=float(np.mean(residual)),
        efficiency=efficiency,
        r=r,
    )


@dataclass(frozen=True)
class Observations:
    """Observed SOC: one entry per row of the observation table (``row`` 1-based)."""

    site: np.ndarray
    year: np.ndarray
    soc: np.ndarray
    columns: Mapping[str, np.ndarray]
    row: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.site)


def _cell(value: Any) -> Optional[str]:
    if value is None:
        return None
    text = str(value).strip()
    return None if text.lower() in ("", "na", "nan") else text


def read_observations(source: Source) -> Observations:
    """The observation table: columns ``site`` (an identifier of the site table), ``year``
    (calendar year) and ``soc`` (observed SOC, t C/ha); any other column (e.g. ``group``) is
    kept for grouping. A CSV path or a mapping of column -> values."""
    from gsocseq.site import read_table

    where = str(source) if not isinstance(source, Mapping) else "observation table"
    table = read_table(source)
    missing = [c for c in ("site", "year", "soc") if c not in table]
    if missing:
        raise InputError(
            f"{where}: missing column(s) {', '.join(missing)} (expected site, year, soc)"
        )
    n = len(table["site"])
    if n == 0:
        raise InputError(f"{where}: no observations")
    site = np.empty(n, dtype=object)
    year = np.empty(n, dtype=np.int64)
    soc = np.empty(n)
    for i in range(n):
        s, y, c = (_cell(table[k][i]) for k in ("site", "year", "soc"))
        if s is None:
            raise InputError(f"{where}: row {i + 1}: no site")
        site[i] = s
        try:
            yf = float(y) if y is not None else math.nan
        except ValueError:
            yf = math.nan
        if not (math.isfinite(yf) and yf == int(yf)):
            raise InputError(f"{where}: row {i + 1}, column year: {y!r} is not a calendar year")
        year[i] = int(yf)
        try:
            soc[i] = float(c) if c is not None else math.nan
        except ValueError:
            raise InputError(f"{where}: row {i + 1}, column soc: {c!r} is not a number") from None
        if not (math.isfinite(soc[i]) and soc[i] >= 0):
            raise InputError(
                f"{where}: row {i + 1}, column soc: {c!r}, expected an observed SOC >= 0 t C/ha"
            )
    columns = {
        k: np.array([_cell(v) for v in vals], dtype=object)
        for k, vals in table.items()
        if k not in ("site", "year", "soc")
    }
    return Observations(site, year, soc, columns, np.arange(1, n + 1), where)


@dataclass(frozen=True)
class SiteTable:
    """A site table (docs/sites.md) as read, with what the evaluation needs from it."""

    table: dict[str, list[Any]]
    ids: list[str]
    start_year: np.ndarray
    years: int
    source: str

    def index(self) -> dict[str, int]:
        return {s: i for i, s in enumerate(self.ids)}


def read_sites(source: Source) -> SiteTable:
    """A site table with its warm-up length and each site's ``start_year`` (default 2000)."""
    from gsocseq.site import _columns, read_table

    where = str(source) if not isinstance(source, Mapping) else "site table"
    table = read_table(source)
    n = len(next(iter(table.values()), []))
    ids = [str(v).strip() for v in table.get("site", [str(i + 1) for i in range(n)])]
    seen: set[str] = set()
    for i, s in enumerate(ids):
        if s in seen:
            raise InputError(f"{where}: row {i + 1}: site {s!r} appears twice")
        seen.add(s)
    cols = _columns(list(table), "warmup_temperature")
    if not cols or len(cols) % 12:
        raise InputError(
            f"{where}: warmup_temperature_1..12Y expected (monthly series of whole years)"
        )
    start = np.full(n, 2000, dtype=np.int64)
    if "start_year" in table:
        for i, v in enumerate(table["start_year"]):
            text = _cell(v)
            try:
                value = float(text) if text is not None else 2000.0
            except ValueError:
                value = math.nan
            if not (math.isfinite(value) and value == int(value)):
                raise InputError(
                    f"{where}: row {i + 1}, column start_year: {v!r} is not a calendar year"
                )
            start[i] = int(value)
    # start_year is the evaluation's own column: the site table of the runs is the rest
    table = {k: v for k, v in table.items() if k != "start_year"}
    return SiteTable(table, ids, start, len(cols) // 12, where)


def _config(config: Any, options: Mapping[str, Any]) -> Config:
    cfg = load(config if config is not None else {}, require_inputs=False)
    if options:
        cfg = with_options(cfg, **options)
    if cfg.run.mode != "rothamsted":
        raise ConfigError(
            '[run].mode: evaluation and calibration compare year-end states: mode = "rothamsted" '
            "only (the v1.2 scripts' years are 11 Euler steps)"
        )
    # raw simulated SOC of the central run: no min/max, Monte Carlo or QA blanking
    return with_options(cfg, uncertainty="none", qa_mask=False, steady_state=False)


_NUMBERED = re.compile(r"^(.*)_(\d+)$")


def _floats(values: Sequence[Any]) -> np.ndarray:
    """Numbers of a column that ``gsocseq site`` has checked (empty, NA, nan: NaN)."""
    return np.array([math.nan if _cell(v) is None else float(v) for v in values])


def site_arrays(sites: SiteTable) -> dict[str, np.ndarray]:
    """The columns of a checked site table as the inputs of
    :func:`gsocseq.pixels.run_pixels`: (n,) single values, (n, bands) numbered columns;
    ``land_use`` as (n, Y), fewer years expanded as the runs do (the oldest repeated at the
    start)."""
    from gsocseq.pixels import MONTHLY, SERIES, SINGLE

    table = sites.table
    out: dict[str, np.ndarray] = {}
    numbered: dict[str, list[tuple[int, str]]] = {}
    for name in table:
        m = _NUMBERED.match(name)
        if name in SINGLE or name == "land_use":
            out[name] = _floats(table[name])
        elif m and m.group(1) in (*MONTHLY, *SERIES, "land_use"):
            numbered.setdefault(m.group(1), []).append((int(m.group(2)), name))
    for prefix, cols in numbered.items():
        out[prefix] = np.column_stack([_floats(table[c]) for _, c in sorted(cols)])
    lu = out["land_use"]
    if lu.ndim == 1:
        lu = lu[:, None]
    out["land_use"] = np.concatenate(
        [np.repeat(lu[:, :1], sites.years - lu.shape[1], axis=1), lu], axis=1
    )
    return out


def _subset(arrays: Mapping[str, np.ndarray], rows: np.ndarray, years: int) -> dict[str, Any]:
    """The inputs of the sites ``rows`` with their first ``years`` warm-up years: the state at
    the end of warm-up year ``years`` of the full run is the state at the end of this run
    (each year depends only on the years before it)."""
    from gsocseq.pixels import SERIES

    out: dict[str, Any] = {}
    for name, a in arrays.items():
        if name in SERIES:
            out[name] = a[rows, : 12 * years]
        elif name == "land_use":
            out[name] = a[rows, :years]
        else:
            out[name] = a[rows]
    return out


def site_multipliers(sites: SiteTable, table: CalibrationTable) -> tuple[np.ndarray, np.ndarray]:
    """Each site's multipliers of plant inputs and of decomposition rates from a calibration
    table: by the class of its last warm-up year (as a run takes them), or its ``zone``."""
    arrays = site_arrays(sites)
    zone = arrays.get("zone")
    if table.by == "zone" and zone is None:
        raise InputError(
            f"{sites.source}: the multipliers of {table.source} are by zone: give each site's "
            "zone (column zone)"
        )
    return table.multipliers(arrays["land_use"][:, -1], zone)


def simulate_at_years(
    sites: SiteTable,
    site_index: np.ndarray,
    years: np.ndarray,
    config: Config,
    multipliers: Optional[tuple[np.ndarray, np.ndarray]] = None,
    modelled: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulated SOC (t C/ha) at the end of calendar year ``years[j]`` of site
    ``site_index[j]``, and the status of each (:data:`SIMULATED`, :data:`STARTING_STATE`,
    :data:`NOT_MODELLED`); NaN where not simulated. Years before a site's start year are an
    :class:`InputError` (raised by :func:`match_sites`, which knows the rows).
    ``multipliers``: each site's multipliers of plant inputs and of decomposition rates
    (:func:`site_multipliers`); the configuration's calibration table is not read here.
    ``modelled``: whether each site is modelled, when known (else from a run of the sites)."""
    from gsocseq.chain import spinup_year
    from gsocseq.pixels import run_pixels
    from gsocseq.site import run_sites

    k = years - sites.start_year[site_index]
    simulated = np.full(len(k), np.nan)
    status = np.full(len(k), NOT_MODELLED, dtype=object)
    status[k == 0] = STARTING_STATE
    # the site table checked as `gsocseq site` checks it; whether a site is modelled is the
    # rule of the full run
    config = replace(config, run=replace(config.run, calibration=None))
    if modelled is None:
        modelled = np.asarray(run_sites(sites.table, config, years=1)["modelled"]) == 1
    arrays = site_arrays(sites)
    if "spinup_land_use" not in arrays:  # the spin-up class of the full run
        lu = np.nan_to_num(arrays["land_use"], nan=255).astype(np.uint8)
        first = spinup_year(lu, config.class_table)
        arrays["spinup_land_use"] = lu[np.arange(len(lu)), first].astype(np.float64)
    truncated = replace(config, modelled=_ALL_CLASSES)
    for year in np.unique(k[k > 0]):
        pick = np.flatnonzero((k == year) & modelled[site_index])
        if pick.size == 0:
            continue
        rows = np.unique(site_index[pick])
        given = None if multipliers is None else (multipliers[0][rows], multipliers[1][rows])
        if year <= sites.years:
            res = run_pixels(_subset(arrays, rows, int(year)), truncated, calibration=given)
            values = np.asarray(res["soc_t0"], dtype=np.float64)
        else:
            inputs = _subset(arrays, rows, sites.years)
            res = run_pixels(inputs, config, calibration=given, years=int(year) - sites.years)
            values = np.asarray(res["finalSOC_BAU"], dtype=np.float64)
        at = {int(r): j for j, r in enumerate(rows)}
        for p in pick:
            simulated[p] = values[at[int(site_index[p])]]
            if not np.isnan(simulated[p]):
                status[p] = SIMULATED
    return simulated, status


@dataclass(frozen=True)
class Evaluation:
    """Observations with their simulated SOC, and the statistics of each group."""

    observations: Observations
    simulated: np.ndarray
    status: np.ndarray
    group: np.ndarray
    by: Optional[str]
    statistics: dict[str, Metrics]

    @property
    def residual(self) -> np.ndarray:
        """Simulated - observed, t C/ha (NaN where not simulated)."""
        return self.simulated - self.observations.soc


def match_sites(sites: SiteTable, obs: Observations) -> np.ndarray:
    """Row of the site table of every observation; an unknown site or a year before the
    site's start year is an :class:`InputError` naming the observation's row."""
    index = sites.index()
    out = np.empty(len(obs), dtype=np.int64)
    for j in range(len(obs)):
        s = obs.site[j]
        if s not in index:
            raise InputError(f"{obs.source}: row {obs.row[j]}: site {s!r} is not in {sites.source}")
        out[j] = index[s]
        start = sites.start_year[out[j]]
        if obs.year[j] < start:
            raise InputError(
                f"{obs.source}: row {obs.row[j]}: year {obs.year[j]} is before the start year "
                f"{start} of site {s!r} (the year of its soc, set by start_year)"
            )
    return out


def groups(sites: SiteTable, obs: Observations, index: np.ndarray, by: Optional[str]) -> np.ndarray:
    """The group of every observation: the value of column ``by`` of the observations, else
    of the site table, or ``land_use`` (the site's class in its last warm-up year); "all"
    without ``by`` and a group column."""
    if by is None:
        if "group" in obs.columns:
            by = "group"
        else:
            return np.full(len(obs), ALL, dtype=object)
    if by in obs.columns:
        values = obs.columns[by]
    elif by == "land_use":  # the class of the last warm-up year, as the run's
        last = site_arrays(sites)["land_use"][:, -1]
        values = np.array(
            [None if np.isnan(v) else group_name(v) for v in last[index]], dtype=object
        )
    elif by in sites.table:
        column = [_cell(v) for v in sites.table[by]]
        values = np.array([column[i] for i in index], dtype=object)
    else:
        raise InputError(
            f"--by {by}: no such column in {obs.source} or {sites.source} (columns: "
            f"{', '.join(sorted(set(obs.columns) | set(sites.table)))[:300]})"
        )
    return np.array(["(none)" if v is None else group_name(v) for v in values], dtype=object)


def evaluate(
    sites: Source,
    observations: Source,
    config: Any = None,
    by: Optional[str] = None,
    **options: Any,
) -> Evaluation:
    """Simulate the sites at the years of the observations and compare (module docstring).

    ``sites``: a site table (docs/sites.md, with an optional ``start_year`` column);
    ``observations``: columns site, year, soc (t C/ha) and any others; ``config``: [run]
    options, scenarios and classes (its [inputs] are not needed), ``options`` override [run]
    keys; ``by``: the column (of the observations, else of the site table) whose values group
    the statistics (default: the observations' ``group`` column if any). Statistics are given
    for every group and for all observations (key ``"all"``).
    """
    cfg = _config(config, options)
    site_table = read_sites(sites)
    obs = read_observations(observations)
    index = match_sites(site_table, obs)
    table = load_table(cfg.run.calibration)
    multipliers = None if table is None else site_multipliers(site_table, table)
    simulated, status = simulate_at_years(site_table, index, obs.year, cfg, multipliers)
    group = groups(site_table, obs, index, by)
    used = status == SIMULATED
    statistics = {ALL: metrics(obs.soc[used], simulated[used])}
    for g in sorted(set(group[used])):
        pick = used & (group == g)
        statistics[g] = metrics(obs.soc[pick], simulated[pick])
    return Evaluation(obs, simulated, status, group, by, statistics)


def _number(v: float) -> str:
    return "" if not math.isfinite(v) else repr(float(v))


def write_tables(evaluation: Evaluation, folder: Union[str, os.PathLike]) -> dict[str, Path]:
    """``evaluation.csv`` (one row per observation: site, year, group, observed, simulated,
    residual in t C/ha, status) and ``evaluation_statistics.csv`` (one row per group) in
    ``folder`` (created), each written whole before it takes its name."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the output folder ({exc})") from None
    obs = evaluation.observations
    rows = [
        [
            obs.site[j],
            int(obs.year[j]),
            evaluation.group[j],
            _number(obs.soc[j]),
            _number(evaluation.simulated[j]),
            _number(evaluation.residual[j]),
            evaluation.status[j],
        ]
        for j in range(len(obs))
    ]
    header = ["site", "year", "group", "observed_soc", "simulated_soc", "residual", "status"]
    paths = {"observations": _write(folder / "evaluation.csv", header, rows)}
    stat_header = [
        "group",
        "n",
        "observed_mean",
        "simulated_mean",
        "rmse",
        "relative_rmse_percent",
        "mean_error",
        "efficiency",
        "r",
    ]
    stat_rows = [
        [
            g,
            m.n,
            _number(m.observed_mean),
            _number(m.simulated_mean),
            _number(m.rmse),
            _number(m.relative_rmse),
            _number(m.mean_error),
            _number(m.efficiency),
            _number(m.r),
        ]
        for g, m in evaluation.statistics.items()
    ]
    paths["statistics"] = _write(folder / "evaluation_statistics.csv", stat_header, stat_rows)
    return paths


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with writing.replacing(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        # site ids and groups come from the user's tables: no formula for a spreadsheet
        w.writerows([csvsafe.cell(v) for v in row] for row in rows)
    return path


def plot_one_to_one(evaluation: Evaluation, path: Union[str, os.PathLike]) -> Path:
    """The 1:1 plot of simulated against observed SOC (t C/ha), one colour per group, with the
    statistics of all observations; written to ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    obs = evaluation.observations
    used = evaluation.status == SIMULATED
    fig, ax = plt.subplots(figsize=(5.5, 5.5), dpi=120)
    try:
        groups = sorted(set(evaluation.group[used]))
        for g in groups:
            pick = used & (evaluation.group == g)
            ax.scatter(obs.soc[pick], evaluation.simulated[pick], s=18, alpha=0.8, label=g)
        values = np.concatenate([obs.soc[used], evaluation.simulated[used]])
        hi = float(values.max()) * 1.05 if values.size else 1.0
        ax.plot([0, hi], [0, hi], color="0.3", lw=1, label="1:1")
        ax.set_xlim(0, hi)
        ax.set_ylim(0, hi)
        ax.set_aspect("equal")
        ax.set_xlabel("Observed SOC (t C/ha)")
        ax.set_ylabel("Simulated SOC (t C/ha)")
        m = evaluation.statistics[ALL]
        ax.set_title(
            f"n = {m.n}, RMSE = {m.rmse:.2f} t C/ha ({m.relative_rmse:.1f} %)\n"
            f"ME = {m.mean_error:+.2f} t C/ha, EF = {m.efficiency:.2f}, r = {m.r:.2f}",
            fontsize=9,
        )
        if 1 < len(groups) <= 20:
            ax.legend(fontsize=7, loc="upper left")
        with writing.replacing(path) as tmp:
            fig.savefig(tmp, format="png", bbox_inches="tight")
    finally:
        plt.close(fig)
    return path


#: the files :func:`write` writes into its folder
FILES = ("evaluation.csv", "evaluation_statistics.csv", "evaluation_1to1.png")


def write(
    evaluation: Evaluation, folder: Union[str, os.PathLike], overwrite: bool = False
) -> dict[str, Path]:
    """The tables (:func:`write_tables`) and, with matplotlib installed (``gsocseq[report]``),
    the 1:1 plot ``evaluation_1to1.png`` in ``folder``. Files of an earlier evaluation there
    are replaced only with ``overwrite`` (else an :class:`~gsocseq.errors.OutputError`)."""
    folder = Path(folder)
    try:
        folder.resolve()  # a symlink loop: RuntimeError (Python < 3.13)
    except (OSError, RuntimeError) as exc:
        raise OutputError(f"{folder}: cannot be resolved ({exc}); choose another folder") from None
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: the output folder is a file")
    existing = [folder / f for f in FILES if (folder / f).exists()]
    if existing and not overwrite:
        raise OutputError(f"{existing[0]}: already exists (use --overwrite to replace it)")
    # a full disk: exit 2 naming the folder (a traceback before), each file the earlier one
    # or a whole new one
    with write_errors(folder, lambda: EVALUATION_BYTES, "the evaluation", ""):
        paths = write_tables(evaluation, folder)
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return paths
        paths["plot"] = plot_one_to_one(evaluation, folder / "evaluation_1to1.png")
    return paths


#: about the space an evaluation needs: its tables and a 1:1 plot of 660 x 660 pixels
EVALUATION_BYTES = 2**20


def read_written(folder: Union[str, os.PathLike]) -> tuple[list[dict[str, str]], Optional[Path]]:
    """The statistics (one dict per group, the columns of ``evaluation_statistics.csv``) and
    the 1:1 plot (None when it was not drawn) of an evaluation written into ``folder`` by
    :func:`write` (``gsocseq evaluate -o FOLDER``); a folder without the statistics is an
    :class:`InputError`."""
    folder = Path(folder)
    path = folder / FILES[1]
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        raise InputError(
            f"{path}: not found (the folder of gsocseq evaluate -o FOLDER holds it)"
        ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"{path}: cannot read the evaluation statistics ({exc})") from None
    needed = {"group", "n", "rmse", "relative_rmse_percent", "mean_error", "efficiency", "r"}
    if not rows or not needed <= set(rows[0]):
        raise InputError(f"{path}: not the statistics of gsocseq evaluate")
    plot = folder / FILES[2]
    return rows, plot if plot.exists() else None


def summary(evaluation: Evaluation) -> str:
    """The statistics as a text table (t C/ha; relative RMSE in %), one line per group."""
    head = f"{'group':<16} {'n':>5} {'RMSE':>8} {'RMSE %':>7} {'ME':>8} {'EF':>6} {'r':>6}"
    lines = [head]
    for g, m in evaluation.statistics.items():
        lines.append(
            f"{g[:16]:<16} {m.n:>5} {m.rmse:>8.3f} {m.relative_rmse:>7.2f} "
            f"{m.mean_error:>+8.3f} {m.efficiency:>6.3f} {m.r:>6.3f}"
        )
    counts = {s: int(np.sum(evaluation.status == s)) for s in (STARTING_STATE, NOT_MODELLED)}
    notes = [f"{n} {s}" for s, n in counts.items() if n]
    if notes:
        lines.append(f"left out: {', '.join(notes)}")
    return "\n".join(lines)
