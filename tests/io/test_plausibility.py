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
