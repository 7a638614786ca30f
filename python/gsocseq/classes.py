"""FAO GLC-SHARE land-use classes (METHOD.md section 2): DPM/RPM ratio, NPP-to-input coefficient,
paddy rate factor and SSM group of each class, and the ESA CCI to FAO reclassification."""

from __future__ import annotations

import numpy as np

#: class: (name, DPM/RPM ratio, NPP coefficient, SSM group or None)
CLASSES: dict[int, tuple[str, float, float, str | None]] = {
    2: ("cropland", 1.44, 0.53, "crops"),
    3: ("grassland", 0.67, 0.72, "grass"),
    4: ("tree covered", 0.25, 0.88, None),
    5: ("shrub covered", 0.67, 0.72, "grass"),
    6: ("herbaceous vegetation flooded", 0.67, 0.72, "grass"),
    8: ("sparse vegetation", 0.67, 0.72, "grass"),
    12: ("tree crops", 1.44, 0.53, "crops"),
    13: ("paddy fields", 1.44, 0.53, "paddy"),
}
NAMES = {
    0: "no data",
    1: "artificial",
    7: "mangroves",
    9: "bare soil",
    10: "snow and glaciers",
    11: "water",
    **{k: v[0] for k, v in CLASSES.items()},
}
#: codes that may appear in a land-use raster (0 = no data in the ESA table)
VALID_CODES = frozenset(range(14))
PADDY = 13
PADDY_RATE_FACTOR = 0.4
GROUP_INDEX = {"crops": 0, "grass": 1, "paddy": 2}

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


def lookup_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Arrays indexed by class code 0..255: (DPM/RPM, NPP coefficient, paddy factor, group).

    Classes without coefficients get NaN DPM/RPM and coefficient, factor 1, group 255.
    """
    dr = np.full(256, np.nan)
    coef = np.full(256, np.nan)
    paddy = np.ones(256)
    group = np.full(256, 255, dtype=np.uint8)
    for code, (_, d, c, g) in CLASSES.items():
        dr[code] = d
        coef[code] = c
        if g is not None:
            group[code] = GROUP_INDEX[g]
    paddy[PADDY] = PADDY_RATE_FACTOR
    return dr, coef, paddy, group


def dpm_rpm_of(classes: np.ndarray, float32: bool = False) -> np.ndarray:
    """DPM/RPM ratio of each class code (0 where the class has no coefficients, as the FAO
    stack scripts write it). ``float32``: rounded as the FAO stacks hold it (fao-v1.2 mode)."""
    dr, _, _, _ = lookup_tables()
    out = dr[np.asarray(classes, dtype=np.intp)]
    out = np.where(np.isnan(out), 0.0, out)
    return out.astype(np.float32).astype(np.float64) if float32 else out
