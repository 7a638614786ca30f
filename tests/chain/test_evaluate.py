"""``gsocseq.evaluate``: statistics by hand, and the simulated SOC at observation years against
an independent month-by-month computation with ``gsocseq.rothc`` (METHOD.md 3-5)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from gsocseq import rothc
from gsocseq.config import ConfigError
from gsocseq.evaluate import (
    NOT_MODELLED,
    SIMULATED,
    STARTING_STATE,
    evaluate,
    metrics,
    read_observations,
    write,
)
from gsocseq.rasters import InputError

from ..oracles import miami_npp

#: class: (DPM/RPM, NPP coefficient, rate factor)
CLASSES = {2: (1.44, 0.53, 1.0), 3: (0.67, 0.72, 1.0), 13: (1.44, 0.53, 0.4), 4: (0.25, 0.88, 1.0)}


def make_sites(n: int = 6, years: int = 5, seed: int = 3) -> dict[str, list]:
    """A site table (docs/sites.md) of ``n`` sites with ``years`` warm-up years."""
    rng = np.random.default_rng(seed)
    season = np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False))
    table: dict[str, list] = {"site": [f"s{i}" for i in range(n)]}
    table["soc"] = list(rng.uniform(25, 90, n))
    table["clay"] = list(rng.uniform(8, 55, n))
    table["npp_reference"] = list(rng.uniform(3.0, 7.0, n))
    lu = rng.choice([2, 3, 13], size=(n, years))
    for y in range(years):
        table[f"land_use_{y + 1}"] = list(lu[:, y].astype(float))
    cover = np.where(rng.uniform(size=(n, 12)) < 0.3, 1.0, 0.6)
    for m in range(12):
        table[f"cover_{m + 1}"] = list(cover[:, m])
    base_t = rng.uniform(5, 24, n)
    base_p = rng.uniform(20, 120, n)
    for m in range(12):
        table[f"spinup_temperature_{m + 1}"] = list(base_t - 7 * season[m])
        table[f"spinup_precipitation_{m + 1}"] = list(base_p * (1 + 0.6 * season[m]))
        table[f"spinup_pet_{m + 1}"] = list(60 - 40 * season[m] + 0 * base_t)
    for k in range(12 * years):
        m = k % 12
        table[f"warmup_temperature_{k + 1}"] = list(
            base_t - 7 * season[m] + rng.normal(0.5, 1.0, n)
        )
        table[f"warmup_precipitation_{k + 1}"] = list(
            np.maximum(base_p * (1 + 0.6 * season[m]) * rng.uniform(0.5, 1.5, n), 0)
        )
        table[f"warmup_pet_{k + 1}"] = list(60 - 40 * season[m] + rng.normal(0, 5, n))
    return table


def columns(table: dict[str, list], prefix: str, count: int, i: int) -> np.ndarray:
    return np.array([float(table[f"{prefix}_{k + 1}"][i]) for k in range(count)])


def by_hand(table: dict[str, list], i: int, end_years: int, depth: float = 30.0) -> float:
    """SOC (t C/ha) of site ``i`` at the end of warm-up year ``end_years`` (beyond the warm-up:
    of the business-as-usual forward run), computed month by month with ``gsocseq.rothc`` from
    METHOD.md sections 3-5 (equilibrium spin-up, MIAMI-scaled inputs, forward with the mean
    warm-up input and the mean warm-up climate)."""
    years = sum(1 for k in table if k.startswith("warmup_temperature_")) // 12
    lu = [int(float(table[f"land_use_{y + 1}"][i])) for y in range(years)]
    spin_class = lu[0]
    dr, coef, rate = CLASSES[spin_class]
    cover = columns(table, "cover", 12, i)
    clay = float(table["clay"][i])
    common = {"clay": clay, "depth": depth, "evap_coefficient": 1.0}
    ceq, pools, tsmd = rothc.equilibrium_inputs(
        float(table["soc"][i]),
        temperature=columns(table, "spinup_temperature", 12, i),
        precipitation=columns(table, "spinup_precipitation", 12, i),
        evaporation=columns(table, "spinup_pet", 12, i),
        cover=cover,
        dpm_rpm=dr,
        rate_factor=rate,
        **common,
    )
    t = columns(table, "warmup_temperature", 12 * years, i).reshape(years, 12)
    p = columns(table, "warmup_precipitation", 12 * years, i).reshape(years, 12)
    e = columns(table, "warmup_pet", 12 * years, i).reshape(years, 12)
    npp_ref = float(table["npp_reference"][i]) * coef
    # warm-up inputs: I_1 = C_eq NPP_1 / NPP_ref, I_y = I_{y-1} NPP_y / NPP_{y-1}
    npp = [float(miami_npp(t[y], p[y])) * CLASSES[lu[y]][1] for y in range(years)]
    inputs = [ceq[0] * npp[0] / npp_ref]
    for y in range(1, years):
        inputs.append(inputs[-1] * npp[y] / npp[y - 1])
    state, deficit = pools, tsmd
    for y in range(min(end_years, years)):
        dr_y, _, rate_y = CLASSES[lu[y]]
        out = rothc.run(
            pools=state,
            temperature=t[y],
            precipitation=p[y],
            evaporation=e[y],
            cover=cover,
            plant_input=inputs[y] / 12.0,
            dpm_rpm=dr_y,
            rate_factor=rate_y,
            tsmd=deficit,
            **common,
        )
        state, deficit = out.pools, out.tsmd
    if end_years > years:  # BAU: the mean warm-up input, the mean warm-up climate
        dr_f, _, rate_f = CLASSES[lu[-1]]
        h = end_years - years
        out = rothc.run(
            pools=state,
            temperature=np.tile(t.mean(axis=0), h),
            precipitation=np.tile(p.mean(axis=0), h),
            evaporation=np.tile(e.mean(axis=0), h),
            cover=np.tile(cover, h),
            plant_input=sum(inputs) / years / 12.0,
            dpm_rpm=dr_f,
            rate_factor=rate_f,
            tsmd=deficit,
            **common,
        )
        state = out.pools
    return float(np.sum(state))


def test_metrics_by_hand():
    o = [10.0, 20.0, 30.0, 40.0]
    s = [12.0, 18.0, 33.0, 41.0]
    m = metrics(o, s)
    # residuals 2, -2, 3, 1: SSE 18, mean 1; observed mean 25, spread 500
    assert m.n == 4
    assert m.rmse == pytest.approx(math.sqrt(18 / 4), rel=1e-15)
    assert m.relative_rmse == pytest.approx(100 * math.sqrt(4.5) / 25, rel=1e-15)
    assert m.mean_error == pytest.approx(1.0, rel=1e-15)
    assert m.efficiency == pytest.approx(1 - 18 / 500, rel=1e-15)
    # simulated mean 26; deviations (-14, -8, 7, 15) and (-15, -5, 5, 15)
    cov = 14 * 15 + 8 * 5 + 7 * 5 + 15 * 15
    r = cov / math.sqrt(500 * (14**2 + 8**2 + 7**2 + 15**2))
    assert m.r == pytest.approx(r, rel=1e-14)
    assert (m.observed_mean, m.simulated_mean) == (25.0, 26.0)
    # a perfect model; NaN pairs left out; degenerate cases
    perfect = metrics([1.0, 2.0, 4.0, np.nan], [1.0, 2.0, 4.0, 3.0])
    assert (perfect.n, perfect.rmse, perfect.efficiency, perfect.r) == (3, 0.0, 1.0, 1.0)
    one = metrics([5.0], [6.0])
    assert one.n == 1 and one.rmse == 1.0 and math.isnan(one.efficiency) and math.isnan(one.r)
    assert metrics([], []).n == 0
    # the observed mean as the model: EF = 0
    assert metrics(o, [25.0] * 4).efficiency == 0.0
    with pytest.raises(ValueError, match="observed and simulated"):
        metrics([1.0], [1.0, 2.0])


@pytest.fixture(scope="module")
def sites():
    return make_sites()


def test_simulated_soc_at_observation_years_equals_month_by_month_rothc(sites):
    # warm-up years 2001..2005, then 2006..2008 of the forward run; 2000 is the starting state
    obs = {"site": [], "year": [], "soc": []}
    for i, s in enumerate(sites["site"]):
        for year in (2000, 2001, 2003, 2005, 2008) if i % 2 else (2002, 2004, 2007):
            obs["site"].append(s)
            obs["year"].append(year)
            obs["soc"].append(40.0 + i)
    ev = evaluate(sites, obs)
    index = {s: i for i, s in enumerate(sites["site"])}
    checked = 0
    for j, (s, year) in enumerate(zip(obs["site"], obs["year"])):
        if year == 2000:
            assert ev.status[j] == STARTING_STATE and np.isnan(ev.simulated[j])
            continue
        assert ev.status[j] == SIMULATED
        expected = by_hand(sites, index[s], year - 2000)
        assert ev.simulated[j] == pytest.approx(expected, rel=1e-9), (s, year)
        checked += 1
    assert checked == 21
    assert ev.statistics["all"].n == 21
    assert ev.statistics["all"].rmse == pytest.approx(
        math.sqrt(np.nanmean((ev.simulated - np.asarray(obs["soc"])) ** 2)), rel=1e-12
    )


def test_start_year_shifts_the_calendar_and_groups(sites):
    shifted = dict(sites)
    shifted["start_year"] = [1990] * len(sites["site"])
    obs = {
        "site": list(sites["site"]),
        "year": [1993] * 6,
        "soc": [50.0] * 6,
        "zone": ["north", "south"] * 3,
    }
    ev = evaluate(shifted, obs, by="zone")
    plain = evaluate(sites, {**obs, "year": [2003] * 6})
    assert np.array_equal(ev.simulated, plain.simulated)
    assert set(ev.statistics) == {"all", "north", "south"}
    assert ev.statistics["north"].n == 3
    # by the class of the last warm-up year
    by_class = evaluate(sites, {**obs, "year": [2003] * 6}, by="land_use")
    last = {str(int(c)) for c in sites["land_use_5"]}
    assert set(by_class.statistics) == {"all", *last}
    assert sum(m.n for g, m in by_class.statistics.items() if g != "all") == 6
    before = {**obs, "year": [1989] * 6}
    with pytest.raises(InputError, match=r"row 1: year 1989 is before the start year 1990"):
        evaluate(shifted, before)
    # the other columns are those of docs/sites.md
    with pytest.raises(InputError, match="unknown column 'region'"):
        evaluate({**sites, "region": obs["zone"]}, {**obs, "year": [2003] * 6})
    # zone is one of them: a whole-number code (of a calibration by zone)
    with pytest.raises(InputError, match="column zone: 'north' is not a number"):
        evaluate({**sites, "zone": obs["zone"]}, {**obs, "year": [2003] * 6})


def test_sites_not_modelled_are_listed_not_evaluated(sites):
    forest = dict(sites)
    for y in range(5):  # site s0 is tree covered in every year: not modelled by default
        forest[f"land_use_{y + 1}"] = [4.0, *sites[f"land_use_{y + 1}"][1:]]
    obs = {"site": ["s0", "s1"], "year": [2003, 2003], "soc": [40.0, 41.0]}
    ev = evaluate(forest, obs)
    assert list(ev.status) == [NOT_MODELLED, SIMULATED]
    assert ev.statistics["all"].n == 1


def test_bad_observations_name_the_row(sites, tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text("site,year,soc\ns1,2003,40\ns9,2004,41\n")
    with pytest.raises(InputError, match=r"obs.csv: row 2: site 's9' is not in site table"):
        evaluate(sites, path)
    path.write_text("site,year,soc\ns1,2003.5,40\n")
    with pytest.raises(InputError, match=r"row 1, column year: '2003.5' is not a calendar year"):
        read_observations(path)
    path.write_text("site,year,soc\ns1,2003,-4\n")
    with pytest.raises(InputError, match=r"row 1, column soc: '-4'.*>= 0 t C/ha"):
        read_observations(path)
    path.write_text("site,soc\ns1,4\n")
    with pytest.raises(InputError, match=r"missing column.*year"):
        read_observations(path)
    obs = {"site": ["s1"], "year": [2003], "soc": [40.0]}
    with pytest.raises(InputError, match="--by nowhere: no such column"):
        evaluate(sites, obs, by="nowhere")
    with pytest.raises(ConfigError, match="rothamsted"):
        evaluate(sites, obs, mode="fao-v1.2")


def test_written_tables_and_plot(sites, tmp_path):
    obs = {
        "site": ["s1", "s2", "s3", "s4"],
        "year": [2002, 2003, 2004, 2000],
        "soc": [40.0, 50.0, 60.0, 70.0],
        "group": ["a", "a", "b", "b"],
    }
    ev = evaluate(sites, obs)
    paths = write(ev, tmp_path / "eval")
    rows = list(csv.DictReader(open(paths["observations"])))
    assert [r["status"] for r in rows] == [SIMULATED] * 3 + [STARTING_STATE]
    assert float(rows[0]["residual"]) == pytest.approx(float(rows[0]["simulated_soc"]) - 40.0)
    assert rows[3]["simulated_soc"] == ""
    stats = {r["group"]: r for r in csv.DictReader(open(paths["statistics"]))}
    assert set(stats) == {"all", "a", "b"}
    assert int(stats["a"]["n"]) == 2 and int(stats["b"]["n"]) == 1
    assert float(stats["all"]["rmse"]) == pytest.approx(ev.statistics["all"].rmse, rel=1e-15)
    assert paths["plot"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list((tmp_path / "eval").glob(".*part"))


def test_written_tables_cannot_inject_formulas(sites, tmp_path):
    """Site ids and groups come from the user's tables: a cell a spreadsheet would take for a
    formula gets a leading ' (OWASP), as in the site results and the report's statistics."""
    ids = ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1-1", "-5"]
    table = dict(sites, site=[*ids, *sites["site"][len(ids) :]])
    obs = {
        "site": ids,
        "year": [2002, 2003, 2004, 2002],
        "soc": [40.0, 50.0, 60.0, 45.0],
        "group": ["=cmd|' /C calc'!A0", "-g", "=cmd|' /C calc'!A0", "-g"],
    }
    paths = write(evaluate(table, obs), tmp_path / "eval")
    rows = list(csv.DictReader(open(paths["observations"], newline="")))
    assert [r["site"] for r in rows] == ["'" + ids[0], "'@SUM(A1)", "'+1-1", "-5"]
    assert {r["group"] for r in rows} == {"'=cmd|' /C calc'!A0", "'-g"}
    assert all(float(r["residual"]) == float(r["residual"]) for r in rows)  # numbers stay numbers
    stats = {r["group"] for r in csv.DictReader(open(paths["statistics"], newline=""))}
    assert stats == {"all", "'=cmd|' /C calc'!A0", "'-g"}


def test_written_into_a_symlink_loop(sites, tmp_path):
    from gsocseq.errors import OutputError

    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    ev = evaluate(sites, {"site": ["s1"], "year": [2002], "soc": [40.0]})
    for folder in (tmp_path / "a", tmp_path / "a" / "sub"):
        with pytest.raises(OutputError, match=f"{folder}: cannot be resolved"):
            write(ev, folder)
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="cannot create the output folder"):
        write(ev, tmp_path / "file" / "sub")


def _csv(path, table: dict[str, list]) -> None:
    names = list(table)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names)
        for i in range(len(table[names[0]])):
            w.writerow([table[k][i] for k in names])


def test_evaluate_command(sites, tmp_path):
    from click.testing import CliRunner

    from gsocseq.cli import main

    _csv(tmp_path / "sites.csv", sites)
    obs = {"site": ["s1", "s2", "s3"], "year": [2002, 2004, 2006], "soc": [40.0, 50.0, 60.0]}
    _csv(tmp_path / "obs.csv", obs)
    args = ["evaluate", str(tmp_path / "sites.csv"), str(tmp_path / "obs.csv")]
    res = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "ev")])
    assert res.exit_code == 0, res.output
    assert "RMSE" in res.output and "results in" in res.output
    expected = evaluate(sites, obs)
    stats = {r["group"]: r for r in csv.DictReader(open(tmp_path / "ev/evaluation_statistics.csv"))}
    assert float(stats["all"]["rmse"]) == expected.statistics["all"].rmse
    # an earlier evaluation is kept without --overwrite
    again = CliRunner().invoke(main, [*args, "-o", str(tmp_path / "ev")])
    assert again.exit_code == 2 and "already exists (use --overwrite" in again.output
    assert (
        CliRunner().invoke(main, [*args, "-o", str(tmp_path / "ev"), "--overwrite"]).exit_code == 0
    )
    # a bad row: exit 2 and the row named
    _csv(tmp_path / "bad.csv", {**obs, "site": ["s1", "nowhere", "s3"]})
    bad = CliRunner().invoke(
        main,
        [
            "evaluate",
            str(tmp_path / "sites.csv"),
            str(tmp_path / "bad.csv"),
            "-o",
            str(tmp_path / "x"),
        ],
    )
    assert bad.exit_code == 2 and "row 2: site 'nowhere'" in bad.output


def test_a_full_disk_while_writing_exits_2_and_keeps_the_earlier_files(
    sites, tmp_path, monkeypatch
):
    # before: the OSError of the plot came through (a traceback, exit 1) and its temporary
    # stayed in the folder
    import errno

    import matplotlib.figure

    from gsocseq.errors import OutputError

    obs = {"site": ["s1", "s2", "s3"], "year": [2002, 2003, 2004], "soc": [40.0, 50.0, 60.0]}
    ev = evaluate(sites, obs)
    folder = tmp_path / "eval"
    write(ev, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    def full(self, path, *args, **kwargs):
        with open(path, "wb") as f:
            f.write(b"half a plot")
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", full)
    with pytest.raises(OutputError, match=r"free.*the evaluation needs up to"):
        write(ev, folder, overwrite=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
