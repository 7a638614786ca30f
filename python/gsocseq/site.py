"""``gsocseq site``: the GSOCseq phases for a table of sites instead of rasters.

One row per site, monthly values in numbered columns (schema: docs/sites.md). The same
validation rule, phases and layer formulas as ``gsocseq run``; the results are one row per
site with the values the map layers would hold.
"""

from __future__ import annotations

import csv
import difflib
import io
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Optional, Union

import click
import numpy as np

from gsocseq import csvsafe, maps, model
from gsocseq.config import Config, ConfigError, load, with_options
from gsocseq.forward import scenario_table
from gsocseq.inputs import assemble, check_values, exclusions, limits, range_message
from gsocseq.plausibility import Reading, check
from gsocseq.rasters import InputError

#: column prefix: (kind of values, number of values or None for 12 Y)
MONTHLY = {
    "cover": "cover",
    "spinup_temperature": "temperature",
    "spinup_precipitation": "precipitation",
    "spinup_pet": "pet",
    "forward_temperature": "temperature",
    "forward_precipitation": "precipitation",
    "forward_pet": "pet",
}
SERIES = {
    "warmup_temperature": "temperature",
    "warmup_precipitation": "precipitation",
    "warmup_pet": "pet",
}
SINGLE = {
    "soc": "soc",
    "clay": "clay",
    "npp_reference": "npp",
    "npp_reference_min": "npp",
    "npp_reference_max": "npp",
    "soc_uncertainty": "uncertainty",
    "clay_uncertainty": "uncertainty",
    "sand": "sand",
    "ec": "ec",
    "spinup_land_use": "class",
}
REQUIRED = (
    "soc",
    "clay",
    "npp_reference",
    "cover",
    "spinup_temperature",
    "spinup_precipitation",
    "spinup_pet",
    "warmup_temperature",
    "warmup_precipitation",
    "warmup_pet",
)


def _columns(header: Sequence[str], prefix: str) -> list[str]:
    pattern = re.compile(rf"^{re.escape(prefix)}_(\d+)$")
    found = sorted((int(m.group(1)), h) for h in header if (m := pattern.match(h)))
    numbers = [k for k, _ in found]
    if numbers and numbers != list(range(1, len(numbers) + 1)):
        raise InputError(
            f"columns {prefix}_1..{prefix}_{len(numbers)}: numbered columns run from 1 without "
            f"gaps (found {numbers[:5]}...)"
        )
    return [h for _, h in found]


#: separators a site table may use (the one that splits the header into most columns)
DELIMITERS = (",", ";", "\t")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d*,\d+(?:[eE][-+]?\d+)?\s*$")


def read_table(source: Union[str, os.PathLike, Mapping[str, Sequence[Any]]]) -> dict[str, Any]:
    """Columns of a site table (a CSV path or a mapping of column -> values).

    The separator is the one of ``,``, ``;`` and tab that splits the header into most columns;
    with ``;`` or tab, decimal commas (``12,5``) are read as decimal points. Every row has as
    many fields as the header (an unquoted decimal comma in a ``,`` file adds one) and no
    column appears twice: else an :class:`InputError` naming the row or column."""
    if isinstance(source, Mapping):
        table = {str(k): list(v) for k, v in source.items()}
        lengths = {k: len(v) for k, v in table.items()}
        if len(set(lengths.values())) > 1:
            raise InputError(f"site table: columns of different lengths ({lengths})")
        return table
    path = Path(source)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read the site table ({exc})") from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = _delimiter(first, path)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = [h.strip() for h in next(reader, [])]
        rows: list[list[str]] = []
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            if len(row) != len(header):
                raise InputError(
                    f"{path}: row {len(rows) + 1} (line {reader.line_num}) has {len(row)} "
                    f"fields, the header has {len(header)}{_field_hint(row, header, delimiter)}"
                )
            rows.append(row)
    except csv.Error as exc:
        raise InputError(f"{path}: cannot read the site table ({exc})") from None
    for i, name in enumerate(header):
        if not name:
            raise InputError(f"{path}: column {i + 1} of the header has no name")
        if header.index(name) != i:
            raise InputError(
                f"{path}: column {name!r} appears twice (columns {header.index(name) + 1} and "
                f"{i + 1})"
            )
    if not rows:
        raise InputError(f"{path}: no sites (the table has a header and no rows)")
    table = {h: [r[i] for r in rows] for i, h in enumerate(header)}
    if delimiter != ",":  # a ';' or tab table: decimal commas are decimal points
        for name, cells in table.items():
            if name != "site":
                table[name] = [c.replace(",", ".") if _DECIMAL_COMMA.match(c) else c for c in cells]
    return table


def _delimiter(header: str, path: Path) -> str:
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in DELIMITERS}
    best = max(counts.values())
    winners = [d for d, c in counts.items() if c == best]
    if best > 1 and len(winners) > 1:
        raise InputError(
            f"{path}: the header splits into {best} columns at "
            f"{' and at '.join(repr(w) for w in winners)}: use one separator"
        )
    return winners[0]


def _field_hint(row: list[str], header: list[str], delimiter: str) -> str:
    if len(row) > len(header) and delimiter == ",":
        return " (an unquoted decimal comma? write 12.5, or separate the columns with ';')"
    if len(row) > len(header):
        return " (a separator inside a value?)"
    return " (a missing field? an empty value keeps its separators: a,,b)"


def _known_columns(header: Sequence[str], where: str) -> None:
    """Every column is one of docs/sites.md (else an error suggesting the closest one)."""
    numbered = (*MONTHLY, *SERIES, "land_use")
    names = ("site", "land_use", *SINGLE)
    for h in header:
        m = re.match(r"^(.*)_(\d+)$", h)
        if h in names or (m and m.group(1) in numbered):
            continue
        base = m.group(1) if m else h
        close = difflib.get_close_matches(base, [*names, *numbered], n=1)
        suggestion = ""
        if close:
            suggestion = f" (did you mean {close[0] + ('_' + m.group(2) if m else '')!r}?)"
        raise InputError(
            f"{where}: unknown column {h!r}{suggestion}; the columns are in docs/sites.md"
        )


def _numbers(table: dict[str, Any], names: list[str], where: str) -> np.ndarray:
    out = np.empty((len(names), len(table[names[0]])))
    for b, name in enumerate(names):
        for i, v in enumerate(table[name]):
            if v is None or (isinstance(v, str) and v.strip().lower() in ("", "na", "nan")):
                out[b, i] = np.nan
                continue
            try:
                out[b, i] = float(v)
            except (TypeError, ValueError):
                comma = " (a decimal comma? write 12.5)" if "," in str(v) else ""
                raise InputError(
                    f"{where}: row {i + 1}, column {name}: {v!r} is not a number{comma}"
                ) from None
    return out


def run_sites(
    sites: Union[str, os.PathLike, Mapping[str, Sequence[Any]]],
    config: Union[str, os.PathLike, Mapping[str, Any], Config, None] = None,
    **options: Any,
) -> dict[str, np.ndarray]:
    """Run every phase for a table of sites; returns result columns (one value per site).

    ``config`` gives [run] options, scenarios and classes (its [inputs] are not needed);
    ``options`` override [run] keys (e.g. ``mode="fao-v1.2"``). Columns returned: ``site``,
    ``modelled`` (1 or 0), ``ceq``, ``cin_t0``, ``cin_mean`` (t C/ha/yr), ``soc_t0`` and the
    map products (e.g. ``finalSOC_BAU``, ``ASR_SSM1``, ``ASR_SSM1_uncertainty``).
    """
    cfg = load(config if config is not None else {}, require_inputs=False)
    if options:
        cfg = with_options(cfg, **options)
    where = str(sites) if not isinstance(sites, Mapping) else "site table"
    table = read_table(sites)
    header = list(table)
    _known_columns(header, where)
    n = len(next(iter(table.values())))
    ids = table.get("site", [str(i + 1) for i in range(n)])
    data: dict[str, np.ndarray] = {}
    for name in SINGLE:
        if name in table:
            data[name] = _numbers(table, [name], where)
    for name in MONTHLY:
        cols = _columns(header, name)
        if cols:
            if len(cols) != 12:
                raise InputError(
                    f"{where}: {name}_1..{name}_12 expected, found {len(cols)} columns"
                )
            data[name] = _numbers(table, cols, where)
    years = None
    for name in SERIES:
        cols = _columns(header, name)
        if not cols:
            continue
        if len(cols) % 12:
            raise InputError(
                f"{where}: {name} has {len(cols)} monthly columns, not a multiple of 12"
            )
        if years is not None and len(cols) != 12 * years:
            raise InputError(f"{where}: {name} has {len(cols)} columns, expected {12 * years}")
        years = len(cols) // 12
        data[name] = _numbers(table, cols, where)
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise InputError(f"{where}: missing columns for {', '.join(missing)} (see docs/sites.md)")
    assert years is not None
    lu_cols = _columns(header, "land_use")
    if lu_cols:
        lu = _numbers(table, lu_cols, where)
        if lu.shape[0] > years:
            raise InputError(f"{where}: {len(lu_cols)} land_use columns for {years} warm-up years")
        lu = np.concatenate([np.repeat(lu[:1], years - lu.shape[0], axis=0), lu])
    elif "land_use" in table:
        lu = np.repeat(_numbers(table, ["land_use"], where), years, axis=0)
    else:
        raise InputError(f"{where}: missing column land_use (or land_use_1..land_use_Y)")

    counts: Counter = Counter()

    def locate(name: str):
        def where_(i: int, b: int) -> str:
            return f"{where}: site {ids[i]} (row {i + 1}), {name} value {b + 1}"

        return where_

    bounds = limits(cfg.checks)
    kinds = {name: SINGLE.get(name) or MONTHLY.get(name) or SERIES[name] for name in data}
    _check_units(data, kinds, lu, cfg, where, locate, bounds)
    ok = np.ones(n, dtype=bool)
    for name, values in data.items():
        kind = kinds[name]
        ok &= check_values(
            name, kind, values, locate(name), cfg.run.invalid, counts, "", bounds, _fix(name)
        )
    ok &= check_values("land_use", "class", lu, locate("land_use"), cfg.run.invalid, counts)
    with np.errstate(invalid="ignore"):
        ok &= np.isin(np.nan_to_num(lu[-1], nan=-1), cfg.modelled) & (data["soc"][0] > 0)
    ok &= exclusions(cfg, data, ok, counts)
    result: dict[str, np.ndarray] = {
        "site": np.asarray(ids, dtype=object),
        "modelled": ok.astype(np.int64),
    }
    lu_ok = lu[:, ok].T.astype(np.uint8)
    arrays = assemble(cfg, {k: v[:, ok].T for k, v in data.items()}, lu_ok, False)
    arrays["pixel_id"] = np.flatnonzero(ok).astype(np.uint64)  # the row seeds the draws
    if ok.any():
        sim = model.simulate(cfg, arrays)
        scenarios, _, uncertain = scenario_table(cfg)
        values = maps.compute(cfg, scenarios, uncertain, sim, 2000 + years, counts)
        layer_list = maps.layers(cfg, scenarios, 2000 + years)
        if cfg.run.qa_mask:
            maps.apply_qa(layer_list, values, counts)
        fields = {
            "ceq": sim["ceq"][:, 0],
            "cin_t0": sim["cin_t0"][:, 0],
            "cin_mean": sim["cin_mean"][:, 0],
            "soc_t0": sim["soc_t0"][:, 0],
        }
        for key, v in values.items():
            if v.ndim != 1:
                continue
            name = key.removeprefix("_GSOCseq_").removesuffix(".tif")
            name = name.replace("_UncertaintyMap030", "_uncertainty").replace("_Map030", "")
            fields[name] = v
        for name, v in fields.items():
            col = np.full(n, np.nan)
            col[ok] = v
            result[name] = col
    return result


def _fix(name: str) -> Any:
    """How to rescale the column(s) of ``name`` by a factor, for a hint."""
    columns = name if name in SINGLE else f"{name}_*"
    return lambda factor: f"multiply the column(s) {columns} by {factor:g}"


def _check_units(
    data: dict[str, np.ndarray],
    kinds: dict[str, str],
    lu: np.ndarray,
    cfg: Config,
    where: str,
    locate: Any,
    bounds: Any,
) -> None:
    """The unit plausibility checks of a run (METHOD.md section 2) over the modelled sites:
    every value of every row is read."""
    with np.errstate(invalid="ignore"):
        rows = np.isin(np.nan_to_num(lu[-1], nan=-1), cfg.modelled) & (data["soc"][0] > 0)
    readings = []
    for name, values in data.items():
        kind = kinds[name]
        columns = name if name in SINGLE else f"{name}_1..{name}_{values.shape[0]}"
        reading = Reading(
            name,
            kind,
            f"{where}, column(s) {columns}",
            bounds[kind][2],
            "every modelled site",
            _fix(name),
            annual=Reading.annual_for(kind, values.shape[0]),
        )
        lo, hi, _ = bounds[kind]

        def beyond(b: int, i: int, value: float, name: str = name, kind: str = kind) -> str:
            site = int(np.flatnonzero(rows)[i])
            text = locate(name)(site, b)
            return range_message(text, name, kind, value, "", bounds, _fix(name))

        reading.add(values[:, rows], lo, hi, beyond)
        readings.append(reading)
    check(readings, cfg.checks, pointwise=cfg.run.invalid == "error")


def write_results(result: dict[str, np.ndarray], path: Union[str, os.PathLike]) -> Path:
    """Write result columns as CSV (atomically: a temporary file renamed when complete)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.part")
    names = list(result)
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(names)
        for i in range(len(result["site"])):
            row = []
            for name in names:
                v = result[name][i]
                if isinstance(v, (float, np.floating)):
                    row.append("" if np.isnan(v) else repr(float(v)))
                else:
                    row.append(csvsafe.cell(str(v)))
            w.writerow(row)
    os.replace(tmp, path)
    return path


@click.command("site")
@click.argument("sites", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Result CSV.",
)
@click.option(
    "-c",
    "--config",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Configuration for [run] options, scenarios and classes.",
)
@click.option("--mode", type=click.Choice(["rothamsted", "fao-v1.2"]), help="Numerical mode.")
@click.option("-q", "--quiet", is_flag=True, help="No report.")
def site_command(
    sites: Path, output: Path, config: Optional[Path], mode: Optional[str], quiet: bool
) -> None:
    """Run the GSOCseq phases for every row of the site table SITES (CSV)."""
    options = {"mode": mode} if mode else {}
    if mode == "fao-v1.2":
        options["spinup"] = "analytical"
        options["numerical_pools"] = "weihermuller"
    try:
        result = run_sites(sites, config, **options)
        write_results(result, output)
    except (ConfigError, InputError) as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(2) from None
    if not quiet:
        click.echo(
            f"{int(result['modelled'].sum())} of {len(result['site'])} sites modelled; "
            f"results in {output}",
            err=True,
        )
