"""``gsocseq site`` reads a plain table (``,``, no quotes, numbers or empty cells only) with the
core's parser and any other with the csv module: the same cells, the same results, bit for
bit."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from gsocseq import site
from gsocseq.errors import InputError
from gsocseq.site import run_sites

from .test_evaluate import make_sites


def _write(table: dict[str, list], path: Path, **kwargs) -> Path:
    with open(path, "w", newline="") as f:
        out = csv.writer(f, **kwargs)
        out.writerow(list(table))
        out.writerows(zip(*table.values()))
    return path


@pytest.fixture(scope="module")
def table() -> dict[str, list]:
    sites = make_sites(n=8)
    sites["site"] = [f"plot {i}" for i in range(8)]  # ids with a space
    return {
        k: [repr(float(v)) if isinstance(v, float) else v for v in col] for k, col in sites.items()
    }


def test_plain_tables_take_the_fast_reader_with_the_same_results(table, tmp_path) -> None:
    plain = _write(table, tmp_path / "plain.csv")
    assert site._plain_numbers(plain) is not None
    crlf = _write(table, tmp_path / "crlf.csv", lineterminator="\r\n")
    assert site._plain_numbers(crlf) is not None
    quoted = _write(table, tmp_path / "quoted.csv", quoting=csv.QUOTE_ALL)
    assert site._plain_numbers(quoted) is None
    na = dict(table, clay=["NA", *table["clay"][1:]])  # the first site's clay: nodata
    with_na = _write(na, tmp_path / "na.csv")
    assert site._plain_numbers(with_na) is None
    ref = run_sites(table)  # a mapping: the csv module's cells
    for path in (plain, crlf, quoted):
        got = run_sites(path)
        assert list(got) == list(ref)
        for name in ref:
            assert np.array_equal(got[name], ref[name], equal_nan=name != "site"), name
    got = run_sites(with_na)
    assert not got["modelled"][0] and got["modelled"][1:].all()
    assert np.array_equal(got["T0"][1:], ref["T0"][1:])


def test_an_irregular_plain_table_is_named_as_before(table, tmp_path) -> None:
    path = _write(table, tmp_path / "short.csv")
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]  # row 3 one field short
    path.write_text("\n".join(lines) + "\n")
    assert site._plain_numbers(path) is None
    with pytest.raises(site.InputError, match=r"row 3 \(line 4\) has"):
        run_sites(path)


def test_the_fast_reader_reads_every_number_as_float_does(tmp_path) -> None:
    cells = [
        "0.1",
        "-0",
        ".5",
        "5.",
        "+1",
        "1E5",
        "-12.5e-3",
        "2.2250738585072011e-308",
        "4.9e-324",
        "1e400",
        "123456789.123456789",
        "0.30000000000000004",
        "",  # nodata
    ]
    path = tmp_path / "spellings.csv"
    path.write_text("site,soc,clay\n" + "".join(f"s{i},{c},{i}\n" for i, c in enumerate(cells)))
    plain = site._plain_numbers(path)
    assert plain is not None
    header, ids, values = plain
    assert (header, ids) == (["site", "soc", "clay"], [f"s{i}" for i in range(len(cells))])
    # the csv module's cells and float(), the reader of any other table
    expected = site._numbers(site.read_table(path), ["soc", "clay"], "t").T
    assert values.tobytes() == expected.tobytes()
    # a cell float() reads but the fast reader does not: the other reader, the same values
    for cell in (" 1", "inf", "NA"):
        path.write_text(f"site,soc\na,{cell}\nb,2\n")
        assert site._plain_numbers(path) is None, cell
        assert site._numbers(site.read_table(path), ["soc"], "t").shape == (1, 2)
    # float() reads '1_0' as 10: neither reader takes it
    path.write_text("site,soc\na,1_0\nb,2\n")
    assert site._plain_numbers(path) is None
    with pytest.raises(InputError, match="'1_0' is not a number"):
        site._numbers(site.read_table(path), ["soc"], "t")
