"""``gsocseq.datasets.run_dataset``: the chain on an xarray Dataset of (time, y, x) inputs gives,
pixel by pixel, the array API's results bit for bit, in memory or chunk-parallel with dask."""

from __future__ import annotations

import numpy as np
import pytest

from gsocseq.datasets import run_dataset
from gsocseq.errors import InputError
from gsocseq.pixels import run_pixels

xr = pytest.importorskip("xarray")

H, W, YEARS = 5, 6, 3


def pixel_inputs(n: int, seed: int = 4) -> dict[str, np.ndarray]:
    """The inputs of ``n`` pixels, named as docs/sites.md; a few not modelled (forest,
    nodata SOC)."""
    rng = np.random.default_rng(seed)
    season = np.cos(np.linspace(0, 2 * np.pi, 12, endpoint=False))

    def months(mean: np.ndarray, amplitude: float, count: int) -> np.ndarray:
        noise = rng.normal(0, 0.1 * amplitude, (n, count))
        return mean[:, None] + amplitude * np.tile(season, count // 12)[None, :] + noise

    t, p = rng.uniform(5, 25, n), rng.uniform(30, 120, n)
    soc = rng.uniform(20, 120, n)
    soc[3] = np.nan
    land_use = rng.choice(np.array([2.0, 3.0, 12.0, 13.0]), (n, YEARS))
    land_use[5, -1] = 4.0  # forest: not modelled
    return {
        "soc": soc,
        "clay": rng.uniform(5, 60, n),
        "npp_reference": rng.uniform(4, 12, n),
        "cover": np.clip(months(np.full(n, 0.8), 0.15, 12), 0.6, 1.0),
        "spinup_temperature": months(t, 6.0, 12),
        "spinup_precipitation": np.abs(months(p, 20.0, 12)),
        "spinup_pet": np.abs(months(p * 0.9, 30.0, 12)),
        "warmup_temperature": months(t + 0.5, 6.0, 12 * YEARS),
        "warmup_precipitation": np.abs(months(p, 20.0, 12 * YEARS)),
        "warmup_pet": np.abs(months(p * 0.9, 30.0, 12 * YEARS)),
        "land_use": land_use,
    }


def as_dataset(inputs: dict[str, np.ndarray]) -> xr.Dataset:
    """(n, bands) inputs as a (band, y, x) Dataset: months, time (the warm-up series), year."""
    variables = {}
    for name, v in inputs.items():
        if v.ndim == 1:
            variables[name] = (("y", "x"), v.reshape(H, W))
            continue
        lead = "year" if name == "land_use" else "month" if v.shape[1] == 12 else "time"
        variables[name] = ((lead, "y", "x"), np.moveaxis(v.reshape(H, W, -1), -1, 0))
    coords = {"y": 10.0 - 0.5 * np.arange(H), "x": 30.0 + 0.5 * np.arange(W)}
    return xr.Dataset(variables, coords=coords)


@pytest.fixture(scope="module")
def inputs() -> dict[str, np.ndarray]:
    return pixel_inputs(H * W)


@pytest.mark.parametrize("options", [{}, {"uncertainty": "montecarlo", "samples": 4}])
def test_a_dataset_gives_the_array_api_results(inputs, options) -> None:
    ref = run_pixels(inputs, threads=1, **options)
    out = run_dataset(as_dataset(inputs), threads=1, **options)
    assert set(out.data_vars) == set(ref)
    assert 0 < int(out["modelled"].sum()) < H * W
    for name, values in ref.items():
        assert out[name].dims == ("y", "x")
        assert np.array_equal(out[name].values.ravel(), values, equal_nan=True), name
    assert np.array_equal(out["x"], 30.0 + 0.5 * np.arange(W))
    assert out["T0"].attrs["units"] == "t C/ha"
    assert out["ASR_SSM1"].attrs["units"] == "t C/ha/yr"
    assert out["cin_mean"].attrs["units"] == "t C/ha/yr"


@pytest.mark.parametrize("scheduler", ["synchronous", "threads"])
def test_dask_chunks_run_in_parallel_with_the_same_bits(inputs, scheduler) -> None:
    pytest.importorskip("dask")
    options = {"uncertainty": "montecarlo", "samples": 4, "threads": 1}
    ref = run_pixels(inputs, **options)
    # chunks of the grid; the warm-up series chunked along time too (joined per pixel)
    ds = as_dataset(inputs).chunk({"y": 2, "x": 4, "time": 12})
    out = run_dataset(ds, **options)
    assert out["T0"].chunks == ((2, 2, 1), (4, 2))  # lazy, chunked as the grid
    done = out.compute(scheduler=scheduler)
    for name, values in ref.items():
        # a pixel's Monte Carlo draws are seeded by its place in the grid, not in its chunk
        assert np.array_equal(done[name].values.ravel(), values, equal_nan=True), name


def test_a_chunk_without_modelled_pixels(inputs) -> None:
    pytest.importorskip("dask")
    bare = dict(inputs, land_use=np.full_like(inputs["land_use"], 4.0))  # forest everywhere
    bare["land_use"][-1] = 2.0  # the last pixel: cropland
    out = run_dataset(as_dataset(bare).chunk({"y": 1}), threads=1).compute()
    assert int(out["modelled"].sum()) == 1 and bool(out["modelled"].values[-1, -1])
    assert np.isnan(out["T0"].values.ravel()[:-1]).all()
    assert np.isfinite(out["T0"].values[-1, -1])


def test_bad_datasets_are_named(inputs) -> None:
    ds = as_dataset(inputs)
    with pytest.raises(InputError, match="unknown variable 'socc'"):
        run_dataset(ds.rename({"soc": "socc"}))
    with pytest.raises(InputError, match=r"clay: dimensions \('month', 'y', 'x'\), expected"):
        run_dataset(ds.assign(clay=ds["cover"]))
    bad = ds.assign(warmup_temperature=ds["warmup_temperature"] * 10.0)  # tenths of degrees
    with pytest.raises(InputError, match="warmup_temperature"):
        run_dataset(bad)
