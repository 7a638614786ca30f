"""FAO GLC-SHARE land-use classes (METHOD.md section 2): names, and the ESA CCI to FAO
reclassification. The DPM/RPM ratio, NPP-to-input coefficient, paddy rate factor and SSM group
of each class are the core's table (:func:`lookup_tables`), the one copy of the numbers."""

from __future__ import annotations

from functools import cache

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
#: colours (R, G, B) of the classes in the land-use layer's colour table and the report's map
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
