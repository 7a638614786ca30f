"""The unit plausibility checks' histograms, counted by the core (``_core.count_values``),
against the numpy counting they replaced (the oracle below), bin for bin."""

from __future__ import annotations

import numpy as np

from gsocseq import _core
from gsocseq.plausibility import Distribution, Reading


def _oracle(values: np.ndarray) -> tuple[np.ndarray, int, float, float]:
    """The former ``Distribution.add``: float32 patterns' top 16 bits, numpy's bincount."""
    v = values[np.isfinite(values)].ravel()
    with np.errstate(over="ignore"):
        keys = v.astype(np.float32).view(np.uint32) >> 16
    return np.bincount(keys, minlength=1 << 16), v.size, float(v.min()), float(v.max())


def _values() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [rng.normal(15, 1e3, (3000, 24)), rng.uniform(-1e40, 1e40, (40, 24)), np.zeros((2, 24))]
    )
    values[::7, 5] = np.nan  # nodata in some bands
    values[11] = np.nan  # in every band
    values[3, 2] = np.inf
    status, _ = _core.check_pixels(np.ascontiguousarray(values.T), -1e4, 1e4)
    return values, status


def test_the_core_counts_values_and_years_as_numpy_did() -> None:
    values, status = _values()
    assert set(np.unique(status)) == {0, 1, 2, 3, 4}
    for annual in ("mean", "sum"):
        (counts, count, low, high), years = _core.count_values(values, status, annual)
        oracle = _oracle(values)
        assert np.array_equal(counts.view(np.int64), oracle[0])
        assert (count, low, high) == oracle[1:]
        # each valid pixel's years: 12 months added in order (numpy's reduceat)
        sums = np.add.reduceat(values[status == 0], [0, 12], axis=1)
        expected = _oracle(sums / 12 if annual == "mean" else sums)
        assert years is not None
        assert np.array_equal(years[0].view(np.int64), expected[0])
        assert years[1:] == expected[1:]
    # any strides: a transposed view gives the same counts
    again, _ = _core.count_values(np.ascontiguousarray(values.T).T, status)
    assert np.array_equal(again[0], counts) and again[1:] == (count, low, high)


def test_a_reading_and_a_distribution_count_through_the_core() -> None:
    values, status = _values()
    reading = Reading(
        "warmup_temperature",
        "temperature",
        "test",
        "degrees C",
        "every pixel",
        lambda f: f"x{f}",
        annual=Reading.annual_for("temperature", 24),
    )
    half = len(values) // 2
    for part in (slice(0, half), slice(half, None)):  # two blocks add up
        band = np.zeros(len(status[part]), np.int32)
        reading.add(values[part], status[part], band, lambda b, i, v, seen: "beyond")
    oracle = _oracle(values)
    assert np.array_equal(reading.values.counts, oracle[0])
    assert reading.values.count == oracle[1] and reading.pixels == np.count_nonzero(status != 1)
    assert reading.annual is not None and reading.annual.count == 2 * np.count_nonzero(status == 0)
    d = Distribution()
    d.add(values)
    assert np.array_equal(d.counts, oracle[0]) and (d.low, d.high) == oracle[2:]
    assert d.median == reading.values.median


def test_a_median_of_zeros_is_zero_not_the_middle_of_its_bin() -> None:
    """Mostly-zero values (a silt map of sands) printed their median as 4.59e-41, the middle of
    the bin of 0 and the subnormal numbers; it is 0, and 0 stays within [low, high]."""
    d = Distribution()
    d.add(np.array([0.0] * 7 + [12.5, 40.0]))
    assert d.median == 0.0 and d.quantile(0.25) == 0.0
    assert d.quantile(0.95) > 12.0  # the other bins keep their middles
    negative = Distribution()
    negative.add(np.array([-3.0, -2.0, -1.0]))
    assert negative.median < 0  # no zero forced into a distribution without it


def _series(rng: np.random.Generator, years: int, season: np.ndarray, noise: float) -> np.ndarray:
    """Band means of a series stored year by year: the seasons plus each year's own noise."""
    return (season[None] + rng.normal(0, noise, (years, 12))).reshape(-1)


def _order(means: np.ndarray, kind: str = "temperature", ratio: float = 10.0) -> str:
    from gsocseq.config import Checks
    from gsocseq.plausibility import _order_problem

    r = Reading("warmup_temperature", kind, "t.tif", "degrees C", "", lambda f: "")
    r.band_means = means
    return _order_problem([r], Checks(series_order_ratio=ratio))


def test_series_stored_year_by_year_are_never_refused() -> None:
    # whatever the seasons (none to 15 degrees C), the years' noise (0.1 to 5) and the length
    # (2 to 100 years): a file stored year by year reads as such
    rng = np.random.default_rng(5)
    month = np.arange(12)
    for _ in range(2000):
        amplitude = rng.choice([0.0, 0.2, 1.0, 5.0, 15.0])
        phase = rng.uniform(0, 12)
        season = 20 + amplitude * np.cos(2 * np.pi * (month - phase) / 12)
        years = int(rng.choice([2, 3, 5, 12, 20, 30, 100]))
        means = _series(rng, years, season, float(rng.choice([0.1, 0.5, 2.0, 5.0])))
        assert _order(means) == "", (amplitude, years)


def test_series_stored_month_by_month_are_refused_where_the_seasons_are_strong() -> None:
    rng = np.random.default_rng(6)
    month = np.arange(12)
    refused = 0
    for _ in range(500):
        years = int(rng.choice([2, 5, 20, 40]))
        season = 10 + 8 * np.cos(2 * np.pi * (month - rng.uniform(0, 12)) / 12)
        means = _series(rng, years, season, 0.6)
        by_month = means.reshape(years, 12).T.reshape(-1)
        text = _order(by_month)
        refused += bool(text)
        if text:
            assert "looks stored month by month" in text
            assert f"month m of year y is band {years}*(m-1)+y" in text
    assert refused == 500
    # seasons no stronger than the years' noise: both orders read alike, nothing refused
    season = 25 + 0.3 * np.cos(2 * np.pi * month / 12)
    weak = _series(rng, 20, season, 0.6)
    assert _order(weak.reshape(20, 12).T.reshape(-1)) == ""
    # a series repeating one year, or constant: nothing to tell
    assert _order(np.tile(season, 20)) == ""
    assert _order(np.full(240, 7.0)) == ""
