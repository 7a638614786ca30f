"""``gsocseq site``: the GSOCseq phases for a table of sites instead of rasters.

One row per site, monthly values in numbered columns (schema: docs/sites.md). The same
validation rule, phases and layer formulas as ``gsocseq run``; the results are one row per
site with the values the map layers would hold.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from gsocseq import _core, csvsafe
from gsocseq.config import Config
from gsocseq.errors import InputError, OutputError
from gsocseq.pixels import MONTHLY, REFINED, REQUIRED, SERIES, SINGLE, configure, run_checked


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
#: the text before the first line break (as str.splitlines() breaks lines)
_FIRST_LINE = re.compile("[^\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]*")
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
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{path}: file not found") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read the site table ({exc})") from None
    # UTF-8 (with or without Excel's BOM), or UTF-16 with its BOM (Excel's "Unicode text")
    utf16 = raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    try:
        text = raw.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{path}: line {line} is not UTF-8 text (byte {raw[exc.start]:#04x}): save the "
            "table as 'CSV UTF-8' (Excel: Save As, CSV UTF-8 (Comma delimited)) or convert it"
        ) from None
    first = _FIRST_LINE.match(text).group(0) if text.strip() else ""  # type: ignore[union-attr]
    delimiter = _delimiter(first, path)
    try:  # in one pass (the rows checked below)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        header = [h.strip() for h in next(reader, [])]
        rows = [row for row in reader if any(cell.strip() for cell in row)]  # no blank lines
        regular = all(len(row) == len(header) for row in rows)
    except csv.Error:
        regular = False
    if not regular:  # row by row: the first error, naming its row and line
        header, rows = _rows(text, delimiter, path)
    _check_header(header, len(rows), path)
    table = dict(zip(header, map(list, zip(*rows))))
    if delimiter != ",":  # a ';' or tab table: decimal commas are decimal points
        for name, cells in table.items():
            if name != "site":
                table[name] = [c.replace(",", ".") if _DECIMAL_COMMA.match(c) else c for c in cells]
    return table


def _check_header(header: list[str], rows: int, path: Path) -> None:
    """Every column named, once; some rows."""
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


def _plain_numbers(
    source: Union[str, os.PathLike],
) -> Optional[tuple[list[str], Optional[list[str]], np.ndarray]]:
    """A plain site table read by the core (``_core.plain_table``, on every core): (header, the
    site column or None, (n, columns) float64 values of every other column in header order).
    Only for a table that :func:`read_table` would read to the same cells: separated by ``,``,
    no quotes, every line a row with the header's fields, every cell other than the site a
    plain number (read as ``float()`` reads it) or empty (nodata); None for any other table,
    which :func:`read_table` then reads (and names what is wrong)."""
    try:
        with open(source, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError):
        return None
    if '"' in text or ("\r" in text and text.count("\r") != text.count("\r\n")):
        return None  # quotes, or a line ended by "\r" alone
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the last line's end
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if len(lines) < 2 or _FIRST_LINE.match(text).group(0) != lines[0]:  # type: ignore[union-attr]
        return None  # another line break (str.splitlines() breaks lines at more characters)
    if _delimiter(lines[0], Path(source)) != ",":
        return None
    header = [h.strip() for h in lines[0].split(",")]
    site = header.index("site") if "site" in header else None
    columns = [i for i in range(len(header)) if i != site]
    if not columns:
        return None
    values = _core.plain_table(text, ",", len(header), site)
    if values is None or values.shape != (len(lines) - 1, len(columns)):
        return None  # a row of another length, a blank one, a space, NA, inf: read_table's way
    _check_header(header, len(lines) - 1, Path(source))
    ids = [line.split(",", site + 1)[site] for line in lines[1:]] if site is not None else None
    return header, ids, values


def _rows(text: str, delimiter: str, path: Path) -> tuple[list[str], list[list[str]]]:
    """The header and rows of a site table read row by row, raising an InputError at the first
    row whose field count is not the header's (naming its row and line) or that csv cannot
    read."""
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
    return header, rows


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
    if any("\n" in cell or "\r" in cell for cell in row):
        return ' (a quote " that is not closed? a quoted value runs on over the next lines)'
    if len(row) > len(header) and delimiter == ",":
        return " (an unquoted decimal comma? write 12.5, or separate the columns with ';')"
    if len(row) > len(header):
        return " (a separator inside a value?)"
    return " (a missing field? an empty value keeps its separators: a,,b)"


def _known_columns(header: Sequence[str], where: str) -> None:
    """Every column is one of docs/sites.md (else an error suggesting the closest one)."""
    numbered = (*MONTHLY, *SERIES, *REFINED, "land_use")
    names = ("site", "land_use", *SINGLE)
    for h in header:
        m = re.match(r"^(.*)_(\d+)$", h)
        if h in names or (m and m.group(1) in numbered):
            continue
        base = m.group(1) if m else h
        known = [*names, *numbered]
        close = difflib.get_close_matches(base.lower(), known, n=1)  # 'SOC': 'soc'
        suggestion = ""
        if close:
            suggestion = f" (did you mean {close[0] + ('_' + m.group(2) if m else '')!r}?)"
        raise InputError(
            f"{where}: unknown column {h!r}{suggestion}; the columns are in docs/sites.md"
        )


def _has_underscore(column: Sequence[Any]) -> bool:
    """Whether a cell of ``column`` is a string holding '_' (one joined pass for strings)."""
    try:
        return "_" in "".join(column)
    except TypeError:  # numbers or None among the cells
        return any(isinstance(v, str) and "_" in v for v in column)


def _numbers(table: dict[str, Any], names: list[str], where: str) -> np.ndarray:
    """(bands, n) float64 values of the columns ``names`` (empty, NA, nan: NaN)."""
    n = len(table[names[0]])
    out = np.empty((len(names), n))
    for b, name in enumerate(names):
        column = table[name]
        # float() reads '4_5' as 45 (Python's digit grouping): such a column goes cell by cell
        if not _has_underscore(column):
            try:  # every cell a number: float() of each (as below), in one pass
                out[b] = np.fromiter(map(float, column), dtype=np.float64, count=n)
                continue
            except (TypeError, ValueError):
                pass  # nodata cells, or a bad one: cell by cell
        for i, v in enumerate(column):
            if v is None or (isinstance(v, str) and v.strip().lower() in ("", "na", "nan")):
                out[b, i] = np.nan
                continue
            try:
                if isinstance(v, str) and "_" in v:
                    raise ValueError(v)
                out[b, i] = float(v)
            except (TypeError, ValueError):
                hint = ""
                if "," in str(v):
                    hint = " (a decimal comma? write 12.5)"
                elif "_" in str(v):
                    hint = " (digits grouped with '_'? write the plain number, e.g. 4.5 or 45)"
                raise InputError(
                    f"{where}: row {i + 1}, column {name}: {v!r} is not a number{hint}"
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
    map products (e.g. ``finalSOC_BAU``, ``ASR_SSM1``, ``ASR_SSM1_uncertainty``). The chain
    is :func:`gsocseq.pixels.run_pixels`'s.
    """
    cfg = configure(config, **options)
    where = str(sites) if not isinstance(sites, Mapping) else "site table"
    plain = None if isinstance(sites, Mapping) else _plain_numbers(sites)
    if plain is None:
        table = read_table(sites)
        header = list(table)
        n = len(next(iter(table.values())))
        ids = table.get("site", [str(i + 1) for i in range(n)])

        def numbers(names: list[str]) -> np.ndarray:  # (bands, n)
            return _numbers(table, names, where)

    else:
        header, site_ids, values = plain
        n = values.shape[0]
        ids = site_ids if site_ids is not None else [str(i + 1) for i in range(n)]
        position = {h: i for i, h in enumerate(h for h in header if h != "site")}

        def numbers(names: list[str]) -> np.ndarray:  # (bands, n), a view of (n, bands)
            return values[:, [position[name] for name in names]].T

    _known_columns(header, where)
    data: dict[str, np.ndarray] = {}
    for name in SINGLE:
        if name in header:
            data[name] = numbers([name])
    for name in MONTHLY:
        cols = _columns(header, name)
        if cols:
            if len(cols) != 12:
                raise InputError(
                    f"{where}: {name}_1..{name}_12 expected, found {len(cols)} columns"
                )
            data[name] = numbers(cols)
    for name in (*SERIES, *REFINED):
        cols = _columns(header, name)
        if cols:
            data[name] = numbers(cols)
    missing = [k for k in REQUIRED if k not in data]
    if missing:
        raise InputError(f"{where}: missing columns for {', '.join(missing)} (see docs/sites.md)")
    lu_cols = _columns(header, "land_use")
    if lu_cols:
        lu = np.ascontiguousarray(numbers(lu_cols))
    elif "land_use" in header:
        lu = np.ascontiguousarray(numbers(["land_use"]))
    else:
        raise InputError(f"{where}: missing column land_use (or land_use_1..land_use_Y)")

    def locate(name: str) -> Callable[[int, int], str]:
        def where_(i: int, b: int) -> str:
            return f"{where}: site {ids[i]} (row {i + 1}), {name} value {b + 1}"

        return where_

    columns = run_checked(cfg, data, lu, where, locate, _fix)
    result: dict[str, np.ndarray] = {
        "site": np.asarray(ids, dtype=object),
        "modelled": columns.pop("modelled").astype(np.int64),
    }
    columns.pop("flags")
    result.update(columns)
    return result


def _fix(name: str) -> Callable[[float], str]:
    """How to rescale the column(s) of ``name`` by a factor, for a hint."""
    columns = name if name in SINGLE else f"{name}_*"
    return lambda factor: f"multiply the column(s) {columns} by {factor:g}"


def results_path(
    path: Union[str, os.PathLike], keep: Sequence[Union[str, os.PathLike, None]] = ()
) -> Path:
    """The result file ``path`` made absolute, its symlinks followed (the results replace a
    link's target, not the link); an :class:`~gsocseq.errors.OutputError` for a symlink loop,
    a folder, or one of the files ``keep`` (the site table, the configuration: the results
    would replace them)."""
    try:
        target = Path(path).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a loop (Python < 3.13)
        raise OutputError(
            f"{path}: cannot be resolved ({exc}); choose another result file"
        ) from None
    if target.is_dir():
        raise OutputError(f"{path}: is a folder; give the result file, e.g. {path}/results.csv")
    for other in keep:
        if other is not None and Path(other).exists() and target == Path(other).resolve():
            raise OutputError(
                f"{path}: is the input {other}; the results would replace it: choose another "
                "result file"
            )
    return target


def write_results(result: dict[str, np.ndarray], path: Union[str, os.PathLike]) -> Path:
    """Write result columns as CSV (atomically: a temporary file renamed when complete)."""
    path = results_path(path)
    tmp = path.with_name(f".{path.name}.part")
    names = list(result)
    columns = [_cells(np.asarray(result[name])) for name in names]
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(names)
            w.writerows(zip(*columns))
        os.replace(tmp, path)
    except BaseException as exc:  # a signal too: no temporary left behind
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{path}: cannot write the results ({exc})") from None
        raise
    return path


def _cells(column: np.ndarray) -> list[str]:
    """The CSV cells of a result column: a float as its shortest repr (NaN: empty), anything
    else as text made safe for spreadsheets."""
    if column.dtype.kind == "f":
        return ["" if v != v else repr(v) for v in column.tolist()]
    out = []
    for v in column:
        if isinstance(v, (float, np.floating)):
            out.append("" if np.isnan(v) else repr(float(v)))
        else:
            out.append(csvsafe.cell(str(v)))
    return out
