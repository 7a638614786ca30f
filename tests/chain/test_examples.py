"""The example site table of the docs (docs/examples/sites.csv): three pixels of the public
FAO t1000 area, which in fao-v1.2 mode give the FAO R scripts' own map values."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio

from gsocseq.qa_protocol import fao_layers
from gsocseq.site import run_sites

from ..conftest import DATA

EXAMPLE = Path(__file__).parents[2] / "docs/examples/sites.csv"
MAPS = DATA / "fao_v1.2_t1000/outputs/maps"


def _column(layer) -> str:
    if not layer.uncertainty:
        return layer.product
    return f"{layer.product}_uncertainty"


def test_example_sites_give_the_r_scripts_maps():
    results = run_sites(EXAMPLE, mode="fao-v1.2")
    sites = [str(s) for s in results["site"]]
    assert len(sites) == 3 and all(int(m) == 1 for m in results["modelled"])
    for layer in fao_layers():
        with rasterio.open(MAPS / layer.file_name("THA_NP")) as ds:
            ref = ds.read(1)
        column = results[_column(layer)]
        for k, site in enumerate(sites):
            row, col = (int(v) for v in site.split("-r")[1].split("c"))
            assert np.float32(column[k]) == ref[row, col], (site, layer.product)


def test_a_sites_results_do_not_depend_on_the_other_rows(tmp_path):
    """Each site's results, in either mode, are those of the site alone (the land use of the
    sites differs year by year: a site once got another row's DPM/RPM ratios)."""
    header, *rows = EXAMPLE.read_text().splitlines()
    for mode in ("rothamsted", "fao-v1.2"):
        together = run_sites(EXAMPLE, mode=mode)
        assert all(int(m) == 1 for m in together["modelled"])
        for k, row in enumerate(rows):
            alone = tmp_path / f"site{k}.csv"
            alone.write_text(f"{header}\n{row}\n")
            single = run_sites(alone, mode=mode)
            for name in ("T0", "finalSOC_BAU", "ASR_SSM2", "RSR_SSM3", "ASR_SSM2_uncertainty"):
                assert together[name][k] == single[name][0], (mode, k, name)
