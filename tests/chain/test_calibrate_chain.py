"""``gsocseq calibrate``: multipliers per group fitted with the GSOCseq chain to synthetic
observations made with known multipliers (recovered within their standard errors), the
calibration table and the runs that take it."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from gsocseq.calibrate import calibrate, summary, write_table
from gsocseq.cli import main
from gsocseq.config import ConfigError
from gsocseq.evaluate import _config, match_sites, read_observations, read_sites, simulate_at_years
from gsocseq.multipliers import CalibrationTable, read_table
from gsocseq.pipeline import run
from gsocseq.site import run_sites

from ..synthetic import make_area
from .test_evaluate import make_sites
from .test_site import site_table

#: the true multipliers of each class of the last warm-up year
TRUTH = {"input": {"2": 1.25, "3": 0.8, "13": 1.1}, "rate": {"2": 0.85, "3": 1.2, "13": 1.05}}


def _table(n: int = 12) -> dict[str, list]:
    table = make_sites(n=n, years=6, seed=11)
    for y in range(1, 6):  # one class per site (its group)
        table[f"land_use_{y}"] = list(table["land_use_6"])
    return table


def _observations(table: dict, parameter: str, noise: float, seed: int = 2) -> dict[str, list]:
    """SOC simulated with the true multipliers at years 2003, 2006 and 2012 (forward run),
    plus normal noise (t C/ha)."""
    sites = read_sites(table)
    years = [2003, 2006, 2012]
    obs = {
        "site": [s for s in sites.ids for _ in years],
        "year": [y for _ in sites.ids for y in years],
        "soc": [0.0] * (len(sites.ids) * len(years)),
    }
    truth = CalibrationTable("land_use", **{parameter: TRUTH[parameter]})
    last = np.array([float(v) for v in table["land_use_6"]])
    multipliers = truth.multipliers(last)
    observed = read_observations(obs)
    index = match_sites(sites, observed)
    cfg = _config(None, {})
    simulated, _ = simulate_at_years(sites, index, observed.year, cfg, multipliers)
    rng = np.random.default_rng(seed)
    obs["soc"] = list(simulated + rng.normal(0, noise, simulated.size))
    return obs


@pytest.mark.parametrize("parameter", ["input", "rate"])
def test_known_multipliers_recovered(parameter):
    table = _table()
    exact = calibrate(table, _observations(table, parameter, 0.0), parameter=parameter)
    assert set(exact.fits) == set(TRUTH[parameter])
    for group, fit in exact.fits.items():
        assert fit.converged
        assert fit.multiplier == pytest.approx(TRUTH[parameter][group], rel=1e-6)
        assert fit.rmse_after < 1e-5 < fit.rmse_before
    noisy = calibrate(table, _observations(table, parameter, 0.5), parameter=parameter)
    for group, fit in noisy.fits.items():
        assert fit.standard_error > 0
        assert abs(fit.multiplier - TRUTH[parameter][group]) < 3 * fit.standard_error
    assert "RMSE k" in summary(noisy)


def test_the_table_is_what_runs_take(tmp_path):
    table = _table(8)
    fitted = calibrate(table, _observations(table, "input", 0.0), by="land_use")
    path = write_table(fitted, tmp_path / "calibration.csv")
    read = read_table(path)
    assert read.by == "land_use" and set(read.input) == set(fitted.fits)
    assert dict(read.input) == pytest.approx({g: TRUTH["input"][g] for g in read.input})
    # a site run with the table: each site's inputs multiplied by its class's multiplier
    calibrated = run_sites(table, {"run": {"mode": "rothamsted", "calibration": str(path)}})
    plain = run_sites(table, {"run": {"mode": "rothamsted"}})
    factor = np.array([TRUTH["input"][str(int(float(c)))] for c in table["land_use_6"]])
    # the spin-up state is the map's (the inputs are multiplied after it); Cin_mean scales
    np.testing.assert_allclose(calibrated["cin_mean"], plain["cin_mean"] * factor, rtol=1e-12)
    assert np.all(np.abs(calibrated["finalSOC_BAU"] - plain["finalSOC_BAU"]) > 1e-3)
    with pytest.raises(ConfigError, match='need mode = "rothamsted"'):
        run_sites(table, {"run": {"mode": "fao-v1.2", "calibration": str(path)}})


def test_a_raster_run_takes_the_table(tmp_path):
    cfg = make_area(tmp_path / "area", rows=3, cols=4, seed=9)
    path = tmp_path / "calibration.csv"
    path.write_text("by,group,parameter,multiplier\nland_use,2,rate,0.9\n")
    plain = run(cfg, output=tmp_path / "plain")
    calibrated = run(cfg, output=tmp_path / "calibrated", calibration=path)
    assert calibrated.options["calibration"] == str(path.resolve())
    # the pixels of other classes: no multiplier, counted, the same bits
    assert calibrated.counts["calibration:uncalibrated"] > 0
    sites = site_table(cfg)
    by_site = run_sites(sites, {"run": {"mode": "rothamsted", "calibration": str(path)}})
    base = run_sites(sites)
    last = np.array(sites["land_use_20"])
    m = by_site["modelled"] == 1
    same = m & (last != 2)
    assert np.array_equal(by_site["finalSOC_BAU"][same], base["finalSOC_BAU"][same])
    assert np.all(by_site["finalSOC_BAU"][m & (last == 2)] != base["finalSOC_BAU"][m & (last == 2)])
    assert plain.counts["modelled"] == calibrated.counts["modelled"]


def test_a_table_changed_after_the_run_is_another_run(tmp_path):
    """The run's fingerprint holds the table's multipliers, not only its path: a table edited
    (or written again by gsocseq calibrate) after the run was 'up to date', its layers those of
    the old multipliers (and export and report took them). Now it is another configuration:
    refused, naming the change; --overwrite computes it again; the same multipliers written
    otherwise (columns in another order) are the same run."""
    from gsocseq.checkpoint import check_finished
    from gsocseq.config import load
    from gsocseq.errors import InputError, OutputError

    cfg = make_area(tmp_path / "area", rows=3, cols=4, seed=9)
    path = tmp_path / "calibration.csv"
    path.write_text("by,group,parameter,multiplier\nland_use,2,rate,0.9\n")
    out = tmp_path / "out"
    cfg["run"].update(output=str(out), calibration=str(path))
    run(cfg)
    layer = out / "TST_GSOCseq_finalSOC_BAU_Map030.tif"
    before = layer.read_bytes()
    path.write_text("by,group,parameter,multiplier\nland_use,2,rate,0.8\n")
    with pytest.raises(OutputError, match=r"calibration\.rate\.2: 0\.9 -> 0\.8"):
        run(cfg)
    assert layer.read_bytes() == before
    with pytest.raises(InputError, match=r"calibration\.rate\.2: 0\.9 -> 0\.8"):
        check_finished(out, "TST", [layer.name], "export", load(cfg))
    run(cfg, overwrite=True)
    after = layer.read_bytes()
    assert after != before
    path.write_text("group,parameter,by,multiplier,n\n2,rate,land_use,0.80,3\n")
    run(cfg)
    check_finished(out, "TST", [layer.name], "export", load(cfg))
    assert layer.read_bytes() == after


def test_pixels_without_a_multiplier_are_named_in_a_warning(tmp_path):
    """A table none of whose groups the run's pixels hold calibrated nothing: exit 0 and a
    count in run.json only. Now a warning says how many pixels ran uncalibrated."""
    cfg = make_area(tmp_path / "area", rows=3, cols=4, seed=9)
    path = tmp_path / "calibration.csv"
    path.write_text("by,group,parameter,multiplier\nland_use,99,input,1.2\n")
    summary = run(cfg, output=tmp_path / "none", calibration=path)
    n = summary.counts["modelled"]
    assert summary.counts["calibration:uncalibrated"] == n
    assert any(
        w.startswith(f"none of the {n:,} modelled pixels has a multiplier in the calibration")
        for w in summary.warnings
    ), summary.warnings
    path.write_text("by,group,parameter,multiplier\nland_use,2,rate,0.9\n")
    summary = run(cfg, output=tmp_path / "some", calibration=path)
    k = summary.counts["calibration:uncalibrated"]
    assert 0 < k < n
    # (the warning said these pixels "have a multiplier" and "ran uncalibrated")
    assert any(
        w.startswith(f"{k:,} of the {n:,} modelled pixels have no multiplier in the calibration")
        for w in summary.warnings
    ), summary.warnings


def test_calibration_table_errors_name_the_row(tmp_path):
    bad = {
        "by,group,parameter,multiplier\nland_use,2,input,1.1\nzone,3,input,1\n": "rows above",
        "by,group,parameter,multiplier\nland_use,2,inputs,1.1\n": "parameter: 'inputs'",
        "by,group,parameter,multiplier\nland_use,2,input,-1\n": "expected a number from",
        "by,group,parameter,multiplier,converged\nall,all,rate,1.1,false\n": "did not converge",
        "by,group,parameter,multiplier\nall,all,rate,1.1\nall,all,rate,1.2\n": "a second rate",
        "by,group,multiplier\nall,all,1.1\n": "missing column",
    }
    for text, message in bad.items():
        path = tmp_path / "t.csv"
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            read_table(path)
    with pytest.raises(ConfigError, match="not found"):
        read_table(tmp_path / "missing.csv")


def test_the_command(tmp_path):
    table = _table(6)
    obs = _observations(table, "input", 0.2)
    for name, data in (("sites.csv", table), ("obs.csv", obs)):
        rows = list(zip(*data.values()))
        lines = [",".join(data)] + [",".join(str(v) for v in r) for r in rows]
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    out = tmp_path / "calibration.csv"
    args = ["calibrate", str(tmp_path / "sites.csv"), str(tmp_path / "obs.csv"), "-o", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "RMSE" in result.output and out.exists()
    assert read_table(out).by == "land_use"
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    by_zone = CliRunner().invoke(main, [*args, "--overwrite", "--by", "zone"])
    assert by_zone.exit_code == 2 and "zone column" in by_zone.output
