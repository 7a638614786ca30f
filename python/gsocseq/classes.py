"""FAO GLC-SHARE land-use classes (METHOD.md section 2): names, and the reclassification of the
land-cover products ``gsocseq prepare`` reads (ESA CCI, Copernicus Global Land Cover 100 m, ESA
WorldCover 10 m, GLC-SHARE; METHOD.md section 10), and the class table of a run
(:class:`ClassTable`: the default with the configuration's ``[classes.N]``). The DPM/RPM ratio,
NPP-to-input coefficient, paddy rate factor and SSM group of each default class are the core's
table (:func:`lookup_tables`), the one copy of the numbers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from gsocseq import _core

NAMES = {
    0: "no data",
    1: "artificial",
    2: "cropland",
    3: "grassland",
    4: "tree covered",
    5: "shrub covered",
    6: "herbaceous vegetation flooded",
    7: "mangroves",
    8: "sparse vegetation",
    9: "bare soil",
    10: "snow and glaciers",
    11: "water",
    12: "tree crops",
    13: "paddy fields",
}
#: colours (R, G, B) of the classes in the land-use layer's QGIS style and the report's map
COLOURS = {
    1: (200, 30, 30),  # artificial
    2: (240, 220, 60),  # cropland
    3: (170, 215, 110),  # grassland
    4: (30, 110, 40),  # tree covered
    5: (140, 160, 60),  # shrub covered
    6: (70, 170, 160),  # herbaceous vegetation flooded
    7: (0, 120, 110),  # mangroves
    8: (220, 200, 150),  # sparse vegetation
    9: (180, 150, 120),  # bare soil
    10: (235, 245, 250),  # snow and glaciers
    11: (40, 90, 200),  # water
    12: (230, 140, 40),  # tree crops
    13: (120, 200, 230),  # paddy fields
}
#: codes that may appear in a land-use raster (0 = no data in the ESA table)
VALID_CODES = frozenset(range(14))

ESA_TO_FAO: dict[int, int] = {0: 0, 190: 1, 12: 12, 20: 13, 170: 7, 220: 10, 210: 11}
for _code in (10, 11, 30, 40):
    ESA_TO_FAO[_code] = 2
ESA_TO_FAO[130] = 3
for _code in (50, 60, 61, 62, 70, 71, 72, 80, 81, 82, 90, 100, 110):
    ESA_TO_FAO[_code] = 4
for _code in (120, 121, 122):
    ESA_TO_FAO[_code] = 5
for _code in (160, 180):
    ESA_TO_FAO[_code] = 6
for _code in (150, 151, 152, 153):
    ESA_TO_FAO[_code] = 8
for _code in (200, 201, 202):
    ESA_TO_FAO[_code] = 9

#: Copernicus Global Land Service Land Cover 100 m (discrete classification, collection 3), as
#: the FAO v1.3 land-use script reclassifies it, except herbaceous wetland (90): FAO class 6
#: (herbaceous vegetation flooded) instead of the script's 7 (mangroves, a class Copernicus does
#: not map). 0 unknown, 100 moss and lichen and 200 open sea are "no data" (not modelled), as there.
COPERNICUS_TO_FAO: dict[int, int] = {0: 0, 20: 5, 30: 3, 40: 2, 50: 1, 60: 9, 70: 10, 80: 11}
COPERNICUS_TO_FAO.update({90: 6, 100: 0, 200: 0})
for _code in (111, 112, 113, 114, 115, 116, 121, 122, 123, 124, 125, 126):
    COPERNICUS_TO_FAO[_code] = 4

#: ESA WorldCover 10 m (2020 v100, 2021 v200), the same rules: tree cover 4, shrubland 5,
#: grassland 3, cropland 2, built-up 1, bare / sparse vegetation 9, snow and ice 10, water 11,
#: herbaceous wetland 6, mangroves 7, moss and lichen 0; 0 is the file's "no data".
WORLDCOVER_TO_FAO: dict[int, int] = {0: 0, 10: 4, 20: 5, 30: 3, 40: 2, 50: 1, 60: 9, 70: 10}
WORLDCOVER_TO_FAO.update({80: 11, 90: 6, 95: 7, 100: 0})

#: FAO GLC-SHARE (dominant class, codes 1-11) is the FAO table itself; 0 is "no data".
GLC_SHARE_TO_FAO: dict[int, int] = {code: code for code in range(12)}

#: The built-in reclassification tables of ``[prepare].land_use_table``: name -> (source code ->
#: FAO class, what the report calls it).
RECLASS_TABLES: dict[str, tuple[dict[int, int], str]] = {
    "esa-cci": (ESA_TO_FAO, "ESA CCI -> FAO (v1.2 land-use script)"),
    "copernicus": (COPERNICUS_TO_FAO, "Copernicus Global Land Cover 100 m -> FAO (v1.3 script)"),
    "worldcover": (WORLDCOVER_TO_FAO, "ESA WorldCover 10 m -> FAO"),
    "glc-share": (GLC_SHARE_TO_FAO, "GLC-SHARE -> FAO (the same codes)"),
}

#: Other spellings of the names of :data:`RECLASS_TABLES`.
RECLASS_ALIASES: dict[str, str] = {
    "esa": "esa-cci",
    "esacci": "esa-cci",
    "cgls-lc100": "copernicus",
    "copernicus-lc100": "copernicus",
    "esa-worldcover": "worldcover",
    "glcshare": "glc-share",
}


def reclass_table(name: str) -> tuple[dict[int, int], str] | None:
    """The built-in table called ``name`` (case-insensitive, :data:`RECLASS_TABLES` or an alias):
    a copy of its source-code -> FAO-class mapping and its description; None for any other name
    (a CSV file, say)."""
    key = name.lower()
    key = RECLASS_ALIASES.get(key, key)
    if key not in RECLASS_TABLES:
        return None
    table, note = RECLASS_TABLES[key]
    return dict(table), note


@cache
def lookup_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read-only arrays indexed by class code 0..255: (DPM/RPM, NPP coefficient, paddy factor,
    group), the core's table (``gsocseq._core.ClassTable.default()``).

    Classes without coefficients get NaN DPM/RPM and coefficient, factor 1, group 255.
    """
    table = _core.ClassTable.default()
    arrays = (table.dpm_rpm, table.coefficient, table.paddy_factor, table.ssm_group)
    for a in arrays:
        a.setflags(write=False)
    return arrays


def dpm_rpm_of(classes: np.ndarray, float32: bool = False) -> np.ndarray:
    """DPM/RPM ratio of each class code (0 where the class has no coefficients, as the FAO
    stack scripts write it). ``float32``: rounded as the FAO stacks hold it (fao-v1.2 mode)."""
    dr, _, _, _ = lookup_tables()
    out = dr[np.asarray(classes, dtype=np.intp)]
    out = np.where(np.isnan(out), 0.0, out)
    return out.astype(np.float32).astype(np.float64) if float32 else out


#: The FAO classes modelled unless ``[classes].modelled`` says otherwise (METHOD.md section 2:
#: cropland, grassland, shrub covered, tree crops, paddy fields: the v1.2 target points).
DEFAULT_MODELLED: tuple[int, ...] = (2, 3, 5, 12, 13)

#: SSM groups of the configuration, by their index in the core's table (255: none).
GROUPS: dict[str, int] = {"crops": 0, "grass": 1, "paddy": 2, "none": 255}

#: The keys of a ``[classes.N]`` table (METHOD.md section 10).
CLASS_KEYS = (
    "name",
    "dpm_rpm",
    "npp_coefficient",
    "rate_factor",
    "ssm_group",
    "input_pattern",
    "cover",
)

#: How far from 1 the 12 shares of an input pattern may sum (the core's, which checks them too).
PATTERN_SUM_TOLERANCE: float = _core.PATTERN_SUM_TOLERANCE


@dataclass(frozen=True, eq=False)
class ClassTable:
    """The land-use class table of a run (METHOD.md sections 2 and 10): the default table of
    section 2 with the configuration's ``[classes.N]`` changes. Arrays indexed by class code
    0..255, read-only."""

    names: Mapping[int, str]
    dpm_rpm: np.ndarray  # NaN: no coefficients
    coefficient: np.ndarray  # NPP-to-input coefficient, NaN: none
    rate_factor: np.ndarray  # 0.4 paddy, else 1
    ssm_group: np.ndarray  # uint8: 0 crops, 1 grass, 2 paddy, 255 none
    input_pattern: np.ndarray  # (256, 12) shares of the annual plant input; NaN rows: 1/12 each
    cover: np.ndarray  # (256, 12) default cover factors, NaN: none
    changes: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def default(cls) -> ClassTable:
        """The table of METHOD.md section 2 (the core's)."""
        return _default_table()

    @property
    def known(self) -> np.ndarray:
        """(256,) bool: codes of the table (a land-use raster may hold only these)."""
        out = np.zeros(256, dtype=bool)
        out[list(self.names)] = True
        return out

    @property
    def max_code(self) -> int:
        return max(self.names)

    @property
    def modellable(self) -> tuple[int, ...]:
        """Codes with coefficients (NPP coefficient and DPM/RPM)."""
        ok = ~np.isnan(self.coefficient) & ~np.isnan(self.dpm_rpm)
        return tuple(int(c) for c in np.nonzero(ok)[0])

    @property
    def uniform_input(self) -> bool:
        """Whether every class takes its plant input as I/12 a month."""
        return bool(np.isnan(self.input_pattern).all())

    @property
    def default_cover(self) -> bool:
        """Whether some class has a default cover (12 monthly cover factors)."""
        return not bool(np.isnan(self.cover).all())

    def has_cover(self, code: int) -> bool:
        """Whether class ``code`` has a default cover."""
        return not bool(np.isnan(self.cover[code, 0]))

    def covered(self, codes: np.ndarray) -> np.ndarray:
        """Bool, of the shape of ``codes`` (class codes; NaN: none): whether the class has a
        default cover."""
        has = ~np.isnan(self.cover[:, 0])
        codes = np.asarray(codes)
        valid = np.isfinite(codes) & (codes >= 0) & (codes <= 255)
        return valid & has[np.where(valid, codes, 0).astype(np.intp)]

    def lookup(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(DPM/RPM, NPP coefficient, rate factor, group), as :func:`lookup_tables`."""
        return self.dpm_rpm, self.coefficient, self.rate_factor, self.ssm_group

    def dpm_rpm_of(self, classes: np.ndarray, float32: bool = False) -> np.ndarray:
        """DPM/RPM ratio of each class code (0 where the class has no coefficients, as the FAO
        stack scripts write it). ``float32``: rounded as the FAO stacks hold it."""
        out = self.dpm_rpm[np.asarray(classes, dtype=np.intp)]
        out = np.where(np.isnan(out), 0.0, out)
        return out.astype(np.float32).astype(np.float64) if float32 else out

    def name(self, code: int) -> str:
        return self.names.get(code, f"class {code}")

    def with_changes(self, changes: Mapping[int, Mapping[str, Any]]) -> ClassTable:
        """This table with ``changes`` ({code: {key: value}}, keys of :data:`CLASS_KEYS`,
        already checked by :func:`check_class`): existing classes changed, new ones added."""
        if not changes:
            return self
        names = dict(self.names)
        arrays = {
            "dpm_rpm": self.dpm_rpm.copy(),
            "npp_coefficient": self.coefficient.copy(),
            "rate_factor": self.rate_factor.copy(),
            "ssm_group": self.ssm_group.copy(),
            "input_pattern": self.input_pattern.copy(),
            "cover": self.cover.copy(),
        }
        for code, entry in changes.items():
            for key, value in entry.items():
                if key == "name":
                    names[code] = value
                elif key == "ssm_group":
                    arrays[key][code] = GROUPS[value]
                elif key == "input_pattern":
                    arrays[key][code] = value  # the core divides by their sum
                else:
                    arrays[key][code] = value
            names.setdefault(code, f"class {code}")
        for a in arrays.values():
            a.setflags(write=False)
        merged = {c: dict(e) for c, e in self.changes.items()}
        for c, e in changes.items():
            merged.setdefault(c, {}).update(e)
        return ClassTable(
            names=names,
            dpm_rpm=arrays["dpm_rpm"],
            coefficient=arrays["npp_coefficient"],
            rate_factor=arrays["rate_factor"],
            ssm_group=arrays["ssm_group"],
            input_pattern=arrays["input_pattern"],
            cover=arrays["cover"],
            changes=merged,
        )


@cache
def _default_table() -> ClassTable:
    dr, coef, paddy, group = lookup_tables()
    pattern = np.full((256, 12), np.nan)
    cover = np.full((256, 12), np.nan)
    for a in (pattern, cover):
        a.setflags(write=False)
    return ClassTable(
        names=dict(NAMES),
        dpm_rpm=dr,
        coefficient=coef,
        rate_factor=paddy,
        ssm_group=group,
        input_pattern=pattern,
        cover=cover,
    )


def check_class(code: int, entry: Mapping[str, Any], where: str) -> dict[str, Any]:
    """The checked entry of ``[classes.N]`` (METHOD.md section 10); ValueError naming the key,
    the value and what is expected. A class new to the default table needs a name, dpm_rpm and
    npp_coefficient; so does a default class without coefficients that gets some."""
    out: dict[str, Any] = {}
    for key in entry:
        if key not in CLASS_KEYS:
            raise ValueError(f"{where}: unknown key {key!r} (expected {', '.join(CLASS_KEYS)})")

    def number(key: str, low: float, strict: bool = False, why: str = "") -> None:
        if key not in entry:
            return
        v = entry[key]
        if (
            isinstance(v, bool)
            or not isinstance(v, (int, float))
            or not np.isfinite(v)
            or (v <= low if strict else v < low)
        ):
            raise ValueError(
                f"{where}.{key}: {v!r}, expected a number {'>' if strict else '>='} {low:g}{why}"
            )
        out[key] = float(v)

    if "name" in entry:
        if not isinstance(entry["name"], str) or not entry["name"].strip():
            raise ValueError(f"{where}.name: expected a text")
        out["name"] = entry["name"]
    number("dpm_rpm", 0.0)
    # > 0: the reference NPP is scaled by the spin-up class's coefficient and each warm-up
    # year's input by the ratio of two years' (0 gave NaN stocks with exit 0)
    number(
        "npp_coefficient",
        0.0,
        strict=True,
        why=" (the plant input is NPP x npp_coefficient; the spin-up's reference NPP and "
        "the warm-up's year-to-year ratios divide by it: 0 leaves the class's pixels without "
        "a result)",
    )
    number("rate_factor", 0.0, strict=True)
    if "ssm_group" in entry:
        if entry["ssm_group"] not in GROUPS:
            raise ValueError(
                f"{where}.ssm_group: {entry['ssm_group']!r}, expected one of {', '.join(GROUPS)}"
            )
        out["ssm_group"] = entry["ssm_group"]
    for key, (low, high, what) in {
        "input_pattern": (0.0, np.inf, "shares of the annual plant input >= 0 that sum to 1"),
        "cover": (0.6, 1.0, "cover factors 0.6 (covered) .. 1.0 (bare)"),
    }.items():
        if key not in entry:
            continue
        v = entry[key]
        ok = (
            isinstance(v, list)
            and len(v) == 12
            and all(
                isinstance(x, (int, float)) and not isinstance(x, bool) and low <= x <= high
                for x in v
            )
        )
        if ok and key == "input_pattern":
            ok = abs(sum(v) - 1.0) <= PATTERN_SUM_TOLERANCE
        if not ok:
            raise ValueError(f"{where}.{key}: {v!r}, expected 12 monthly {what}")
        out[key] = [float(x) for x in v]
    default = _default_table()
    has = not np.isnan(default.coefficient[code]) if 0 <= code < 256 else False
    if code not in default.names or (not has and "npp_coefficient" in out):
        missing = [k for k in ("name", "dpm_rpm", "npp_coefficient") if k not in out]
        if code in default.names:
            missing = [k for k in missing if k != "name"]
        if missing:
            state = "is new" if code not in default.names else "has no coefficients"
            raise ValueError(f"{where}: class {code} {state}; give {', '.join(missing)}")
    return out
