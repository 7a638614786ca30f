"""Calibration multipliers as runs take them (METHOD.md section 10): the table that
``gsocseq calibrate`` writes and ``[run] calibration`` reads, one multiplier of plant inputs or
of decomposition rates per group (a land-use class, a zone, or every pixel), and each pixel's
multipliers from its group.
"""

from __future__ import annotations

import csv
import math
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from gsocseq.errors import ConfigError

#: what a multiplier multiplies: "input" the plant inputs after the spin-up (warm-up and
#: forward), "rate" the decomposition rate of every active pool in every phase
PARAMETERS = ("input", "rate")
#: accepted multipliers
BOUNDS = (1e-3, 1e3)
#: what the groups of a calibration table are: the FAO class of the last warm-up year, the
#: code of the ``zone`` input (raster or site column), or every pixel at once
GROUPINGS = ("land_use", "zone", "all")
#: the one group of a table by "all"
ALL = "all"
#: columns of a calibration table (those after ``multiplier`` are for the reader)
TABLE_COLUMNS = (
    "by",
    "group",
    "parameter",
    "multiplier",
    "standard_error",
    "n",
    "rmse_before",
    "rmse_after",
    "converged",
)


def group_name(value: Any) -> str:
    """A group value as text: a class or zone code 2.0 as "2"."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


@dataclass(frozen=True)
class CalibrationTable:
    """Multipliers per group, as ``gsocseq calibrate`` writes them and runs take them
    (``[run] calibration``): ``by`` says what the groups are (:data:`GROUPINGS`); ``input``
    and ``rate`` map a group to its multiplier of plant inputs or of decomposition rates.
    Pixels of a group without a multiplier keep 1 (counted by :meth:`multipliers`)."""

    by: str
    input: Mapping[str, float] = field(default_factory=dict)
    rate: Mapping[str, float] = field(default_factory=dict)
    source: str = "calibration table"

    def groups(self, lu_last: np.ndarray, zone: Optional[np.ndarray]) -> np.ndarray:
        """The group of each of n pixels from the class of their last warm-up year and, for a
        table by zone, their (n,) zone codes."""
        if self.by == ALL:
            return np.full(len(lu_last), ALL, dtype=object)
        if self.by == "zone":
            if zone is None:
                raise ConfigError(
                    f"{self.source}: multipliers by zone need the zone of every pixel: the "
                    "[inputs] zone raster or the site table's zone column"
                )
            values = zone
        else:
            values = lu_last
        codes, inverse = np.unique(np.asarray(values, dtype=np.float64), return_inverse=True)
        names = np.array([group_name(c) for c in codes], dtype=object)
        return names[inverse.ravel()]

    def multipliers(
        self,
        lu_last: np.ndarray,
        zone: Optional[np.ndarray] = None,
        counts: Optional[Counter] = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(n,) multipliers of plant inputs and of decomposition rates of n pixels (1 where
        their group has none; counted in ``counts`` as ``calibration:uncalibrated``)."""
        groups = self.groups(lu_last, zone)
        out = []
        for table in (self.input, self.rate):
            out.append(np.array([table.get(g, 1.0) for g in groups], dtype=np.float64))
        if counts is not None:
            known = set(self.input) | set(self.rate)
            counts["calibration:uncalibrated"] += int(sum(g not in known for g in groups))
        return out[0], out[1]


def read_table(source: Union[str, os.PathLike, Mapping[str, Any]]) -> CalibrationTable:
    """A calibration table: a CSV with the columns ``by`` (:data:`GROUPINGS`, the same in
    every row), ``group``, ``parameter`` (:data:`PARAMETERS`) and ``multiplier`` (others, such as
    ``standard_error``, are kept for the reader); a row whose ``converged`` is false is refused.
    Errors (:class:`ConfigError`) name the file and row."""
    if isinstance(source, Mapping):
        where = "calibration table"
        columns = {str(k): [str(v) for v in vals] for k, vals in source.items()}
        rows = [dict(zip(columns, r)) for r in zip(*columns.values())]
    else:
        where = str(source)
        try:
            with open(source, newline="", encoding="utf-8-sig") as f:
                rows = list(csv.DictReader(f))
        except FileNotFoundError:
            raise ConfigError(f"{where}: calibration table not found") from None
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise ConfigError(f"{where}: cannot read the calibration table ({exc})") from None
    if not rows:
        raise ConfigError(f"{where}: no multipliers (expected a header and one row per group)")
    missing = [c for c in ("by", "group", "parameter", "multiplier") if c not in rows[0]]
    if missing:
        raise ConfigError(
            f"{where}: missing column(s) {', '.join(missing)} (a table of gsocseq calibrate: "
            f"{', '.join(TABLE_COLUMNS)})"
        )
    by: Optional[str] = None
    tables: dict[str, dict[str, float]] = {p: {} for p in PARAMETERS}
    for i, row in enumerate(rows, start=1):
        here = f"{where}: row {i}"
        row_by = (row.get("by") or "").strip()
        if row_by not in GROUPINGS:
            raise ConfigError(f"{here}, column by: {row_by!r} is not one of {', '.join(GROUPINGS)}")
        if by is not None and row_by != by:
            raise ConfigError(f"{here}, column by: {row_by!r}, the rows above are by {by!r}")
        by = row_by
        parameter = (row.get("parameter") or "").strip()
        if parameter not in PARAMETERS:
            raise ConfigError(
                f"{here}, column parameter: {parameter!r} is not one of {', '.join(PARAMETERS)}"
            )
        group = group_name(row.get("group") or "")
        if not group:
            raise ConfigError(f"{here}, column group: empty")
        try:
            k = float(row.get("multiplier") or "nan")
        except ValueError:
            k = math.nan
        if not BOUNDS[0] <= k <= BOUNDS[1]:
            raise ConfigError(
                f"{here}, column multiplier: {row.get('multiplier')!r}, expected a number from "
                f"{BOUNDS[0]:g} to {BOUNDS[1]:g}"
            )
        if (row.get("converged") or "").strip().lower() in ("false", "0", "no"):
            raise ConfigError(
                f"{here}: the fit of group {group!r} did not converge (see its n and RMSE): "
                "remove the row to run that group uncalibrated"
            )
        if group in tables[parameter]:
            raise ConfigError(f"{here}: a second {parameter} multiplier of group {group!r}")
        tables[parameter][group] = k
    assert by is not None
    return CalibrationTable(by, tables["input"], tables["rate"], where)


def load_table(path: Optional[Path]) -> Optional[CalibrationTable]:
    """The table of ``[run] calibration`` (None: no calibration)."""
    return None if path is None else read_table(path)
