"""Every path of the public API may be any ``os.PathLike`` (here one that is neither ``str``
nor ``pathlib.Path``): the demo, the configuration, validate, run, report, the site table,
evaluate, prepare and the Rothamsted example's reader."""

from __future__ import annotations

import csv
import os
from importlib import resources
from pathlib import Path

import numpy as np

import gsocseq
from gsocseq.config import load
from gsocseq.demo import generate_inputs
from gsocseq.evaluate import evaluate
from gsocseq.evaluate import write as write_evaluation
from gsocseq.report import report
from gsocseq.rothc.example import read_input
from gsocseq.site import run_sites, write_results
from gsocseq.validate import validate

from ..chain.test_evaluate import make_sites


class Where(os.PathLike):
    """A path that is only a path by ``__fspath__``."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __fspath__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"Where({self.path!r})"


def test_a_run_and_its_report_from_pathlike_paths(tmp_path: Path) -> None:
    config = generate_inputs(Where(tmp_path / "demo"), seed=1, rows=12, cols=16, years=3)
    assert config == tmp_path / "demo" / "inputs" / "gsocseq.toml"
    assert load(Where(config)).run.name == load(config).run.name
    assert "pixels" in validate(Where(config))
    summary = gsocseq.run(Where(config), output=Where(tmp_path / "out"))
    assert summary.modelled > 0 and (tmp_path / "out" / summary.layers[0]).is_file()
    html = report(Where(tmp_path / "out"), output=Where(tmp_path / "report"))
    assert Path(html).is_file() and Path(html).is_relative_to(tmp_path / "report")


def test_sites_and_evaluation_from_pathlike_paths(tmp_path: Path) -> None:
    sites = make_sites()
    table = tmp_path / "sites.csv"
    with open(table, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(list(sites))
        out.writerows(zip(*sites.values()))
    result = run_sites(Where(table))
    assert np.array_equal(result["T0"], run_sites(sites)["T0"], equal_nan=True)
    written = write_results(result, Where(tmp_path / "results.csv"))
    assert Path(written).is_file()
    obs = tmp_path / "obs.csv"
    obs.write_text(f"site,year,soc\n{sites['site'][0]},2003,40\n")
    ev = evaluate(Where(table), Where(obs))
    assert ev.statistics["all"].n == 1
    paths = write_evaluation(ev, Where(tmp_path / "evaluation"))
    assert all(Path(p).is_file() for p in paths.values())


def test_rothamsted_example_reader_takes_pathlike() -> None:
    path = resources.files("gsocseq") / "data" / "rothamsted" / "RothC_input.dat"
    with resources.as_file(path) as real:
        data = read_input(Where(real))
    assert data.temperature.size > 12
