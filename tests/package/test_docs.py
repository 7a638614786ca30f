"""The reference documentation says what the code does: every [run] option documented, the
numbers quoted in docs/report.md recomputed."""

from __future__ import annotations

import math
import re
from pathlib import Path

from affine import Affine
from rasterio.crs import CRS

from gsocseq.config import RunOptions
from gsocseq.report.areas import WGS84_A, WGS84_F, row_areas_ha

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_every_run_option_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    run_table = text.split("## `[run]`")[1].split("\n## ")[0]
    rows = set(re.findall(r"^\| `(\w+)` \|", run_table, flags=re.M))
    assert set(RunOptions.__dataclass_fields__) <= rows, set(RunOptions.__dataclass_fields__) - rows
    uncertainty = next(
        line for line in run_table.splitlines() if line.startswith("| `uncertainty`")
    )
    assert '"montecarlo"' in uncertainty
    # the Monte Carlo outputs and how the draws are made
    for needed in ("_MC030.tif", "P2.5", "P97.5", "1.96", "M(T fT, P fP)", "YearsToSteadyState"):
        assert needed in run_table, needed


def test_spherical_vs_ellipsoid_area_as_documented() -> None:
    """docs/report.md: the spherical cell area (authalic radius) vs the exact ellipsoidal one,
    at the equator and at 89 degrees, signs included."""
    e = math.sqrt(WGS84_F * (2 - WGS84_F))
    qp = (1 - e * e) * (1 / (1 - e * e) + math.log((1 + e) / (1 - e)) / (2 * e))
    radius = WGS84_A * math.sqrt(qp / 2)
    res = 1 / 120

    def difference(lat: float) -> float:
        ellipsoid = row_areas_ha(Affine(res, 0, 0, 0, -res, lat + res), CRS.from_epsg(4326), 0, 1)
        sphere = (
            radius**2
            * math.radians(res)
            * (math.sin(math.radians(lat + res)) - math.sin(math.radians(lat)))
        )
        return 100 * (sphere / 1e4 / ellipsoid[0] - 1)

    text = " ".join((DOCS / "report.md").read_text(encoding="utf-8").split())
    equator = re.search(r"([+-]\d\.\d\d) % at the equator", text)
    pole = re.search(r"([+-]\d\.\d\d) % at 89 degrees", text)
    assert equator and pole
    assert float(equator.group(1)) == round(difference(0.0), 2) == 0.45
    assert float(pole.group(1)) == round(difference(89.0), 2) == -0.89
