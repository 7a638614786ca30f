"""The GSOCseq chain on an xarray Dataset: gridded inputs in memory (or in a dask graph) in, a
Dataset of layers out. Needs xarray (``pip install "gsocseq[xarray]"``); dask-backed inputs
run chunk by chunk in parallel (``xarray.apply_ufunc(dask="parallelized")``), lazily until
``.compute()``.

Variables are named as the columns of docs/sites.md (the inputs of
:func:`gsocseq.pixels.run_pixels`), each on the grid's two spatial dimensions (those of
``soc``, e.g. ``(y, x)``), after a leading dimension of its own for the multi-valued ones (any
name, e.g. ``time``):

- ``soc``, ``clay``, ``npp_reference`` ... : ``(y, x)``;
- ``cover``, ``spinup_temperature``, ``spinup_precipitation``, ``spinup_pet`` and the
  optional ``forward_*``: 12 months, e.g. ``(month, y, x)``;
- ``warmup_temperature``, ``warmup_precipitation``, ``warmup_pet``: 12 Y months from January of
  the first warm-up year, e.g. ``(time, y, x)``;
- ``land_use``: ``(y, x)``, or one class per warm-up year (the last Y' <= Y), e.g.
  ``(year, y, x)``.

Units as in docs/sites.md; NaN is nodata. The result holds ``modelled`` (bool), ``flags`` (the
core's bits, :data:`gsocseq.chain.FLAGS`), ``ceq``, ``cin_t0``, ``cin_mean``, ``soc_t0`` and
one float64 variable per map product (``T0``, ``finalSOC_BAU``, ``ASR_SSM1_uncertainty``, ...)
on the grid, with the inputs' spatial coordinates and the units in each variable's ``units``
attribute. Every pixel's results are those of :func:`~gsocseq.pixels.run_pixels` on the grid's
pixels in row-major order, bit for bit, however the inputs are chunked: a pixel's Monte Carlo
draws are seeded by its position in the grid, not in its chunk.

The unit plausibility checks look at the pixels of one call (of one chunk, with dask).
"""

from __future__ import annotations

import os
from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any, Optional, Union

import numpy as np

from gsocseq import products
from gsocseq.chain import Chain
from gsocseq.config import Config
from gsocseq.errors import InputError
from gsocseq.pixels import CORE_COLUMNS, MONTHLY, SERIES, SINGLE, configure, run_pixels

if TYPE_CHECKING:  # pragma: no cover
    import xarray as xr

#: units of the results that are not map layers
CORE_UNITS = {
    "ceq": products.UNITS_STOCK,
    "cin_t0": products.UNITS_RATE,
    "cin_mean": products.UNITS_RATE,
    "soc_t0": products.UNITS_STOCK,
}


def result_units(config: Config, warmup_years: int) -> dict[str, str]:
    """The (n,) results of :func:`gsocseq.pixels.run_pixels` for ``config``, in order, with
    their units (``modelled`` and ``flags`` have none)."""
    out = {"modelled": "", "flags": ""}
    out.update({name: CORE_UNITS[name] for name in CORE_COLUMNS})
    for layer in Chain(config, warmup_years).layers:
        if layer.bands == 1:
            out[layer.column] = layer.units
    return out


def run_dataset(
    inputs: xr.Dataset,
    config: Union[str, os.PathLike, Mapping[str, Any], Config, None] = None,
    **options: Any,
) -> xr.Dataset:
    """The GSOCseq chain for every pixel of ``inputs`` (see the module's docstring); returns a
    Dataset of the results on the same grid, lazy when the inputs are dask arrays.
    ``config`` and ``options`` as for :func:`gsocseq.pixels.run_pixels`. Bad values raise
    :class:`~gsocseq.errors.InputError` (with dask: when computed)."""
    import xarray as xr

    cfg = configure(config, **options)
    names = [str(k) for k in inputs.data_vars]
    unknown = sorted(set(names) - {*SINGLE, *MONTHLY, *SERIES, "land_use"})
    if unknown:
        raise InputError(
            f"unknown variable {unknown[0]!r}: the inputs are named as the columns of docs/sites.md"
        )
    if "soc" not in names:
        raise InputError("missing variable soc (see docs/sites.md)")
    grid = inputs["soc"].dims
    if len(grid) != 2:
        raise InputError(f"soc: expected 2 dimensions (the grid, e.g. (y, x)), got {grid}")
    lead: dict[str, Optional[Hashable]] = {}
    for name in names:
        dims = inputs[name].dims
        extra = tuple(d for d in dims if d not in grid)
        if set(grid) - set(dims) or len(extra) > 1 or (name in SINGLE and extra):
            yx = ", ".join(map(str, grid))
            expected = (
                f"({yx})"
                if name in SINGLE
                else f"({yx}) or (year, {yx})"
                if name == "land_use"
                else f"(month, {yx})"
            )
            raise InputError(f"{name}: dimensions {dims}, expected {expected}")
        lead[name] = extra[0] if extra else None
    series = [k for k in SERIES if k in names and lead[k] is not None]
    months = inputs[series[0]].sizes[lead[series[0]]] if series else 0
    years = months // 12 if months and months % 12 == 0 else 1  # run_pixels names a bad length
    units = result_units(cfg, years)
    height, width = (inputs.sizes[d] for d in grid)
    ids = xr.DataArray(
        np.arange(height * width, dtype=np.uint64).reshape(height, width),
        dims=grid,
        coords={d: inputs[d] for d in grid if d in inputs.coords},
    )

    def one_block(*arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        """The chain on one block of the grid: (..., [band]) arrays, the ids last."""
        shape = arrays[-1].shape
        n = int(np.prod(shape))
        flat = {
            name: a.reshape(n, -1) if lead[name] is not None else a.reshape(n)
            for name, a in zip(names, arrays[:-1])
        }
        result = run_pixels(flat, cfg, pixel_id=arrays[-1].reshape(n))
        out = []
        for name in units:
            if name in result:
                out.append(result[name].reshape(shape))
            elif name == "modelled":
                out.append(np.zeros(shape, dtype=bool))
            elif name == "flags":
                out.append(np.zeros(shape, dtype=np.uint8))
            else:  # no pixel of the block is modelled
                out.append(np.full(shape, np.nan))
        return tuple(out)

    args = []
    for name in names:
        a = inputs[name]
        if lead[name] is not None and a.chunks is not None:
            a = a.chunk({lead[name]: -1})  # a pixel's values in one chunk
        args.append(a)
    lazy = [a for a in args if a.chunks is not None]
    if lazy:  # the ids chunked as the grid of the (first) dask-backed input
        ids = ids.chunk({d: lazy[0].chunksizes[d] for d in grid})
    dtypes = [bool if k == "modelled" else np.uint8 if k == "flags" else np.float64 for k in units]
    results = xr.apply_ufunc(
        one_block,
        *args,
        ids,
        input_core_dims=[[lead[k]] if lead[k] is not None else [] for k in names] + [[]],
        output_core_dims=[[] for _ in units],
        dask="parallelized",
        output_dtypes=dtypes,
    )
    out = xr.Dataset({name: da for name, da in zip(units, results)})
    for name, unit in units.items():
        if unit:
            out[name].attrs["units"] = unit
    out["flags"].attrs["flag_masks"] = np.array(sorted(_flags()), dtype=np.uint8)
    out["flags"].attrs["flag_meanings"] = " ".join(
        _flags()[bit].replace(" ", "_") for bit in sorted(_flags())
    )
    return out.transpose(*grid)


def _flags() -> dict[int, str]:
    from gsocseq.chain import FLAGS

    return FLAGS
