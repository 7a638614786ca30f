"""Argument shapes of the array API: scalars, (months,) and (n, months) broadcast to pixels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]


def as_float(name: str, value: Any) -> F64:
    """`value` as a float64 array; any real dtype is accepted."""
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - numpy raises many kinds
        raise ValueError(f"{name}: not an array of numbers ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected real numbers, got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


class Layout:
    """Collects per-month and per-pixel arguments, infers n (pixels) and months, broadcasts.

    Per-month arguments accept a scalar, (months,) or (n, months); per-pixel ones a scalar or
    (n,); `monthly_or_pixel` ones also (n, months).
    """

    def __init__(self, months: int | None = None) -> None:
        self.monthly: dict[str, F64] = {}
        self.per_pixel: dict[str, F64] = {}
        self.fixed_months = months
        self._n: dict[str, int] = {}
        self._months: dict[str, int] = {}

    def add_monthly(self, name: str, value: Any) -> None:
        arr = as_float(name, value)
        if arr.ndim > 2:
            raise ValueError(
                f"{name}: expected a scalar, (months,) or (n, months), got shape {arr.shape}"
            )
        if arr.ndim >= 1:
            self._months[name] = arr.shape[-1]
        if arr.ndim == 2:
            self._n[name] = arr.shape[0]
        self.monthly[name] = arr

    def add_per_pixel(self, name: str, value: Any, monthly_ok: bool = False) -> None:
        arr = as_float(name, value)
        if arr.ndim == 2 and monthly_ok:
            self.add_monthly(name, arr)
            return
        if arr.ndim > 1:
            allowed = "a scalar, (n,) or (n, months)" if monthly_ok else "a scalar or (n,)"
            raise ValueError(f"{name}: expected {allowed}, got shape {arr.shape}")
        if arr.ndim == 1:
            self._n[name] = arr.shape[0]
        if monthly_ok:
            # (n,) of a per-pixel factor: one value for every month of the pixel
            self.monthly[name] = arr[:, None] if arr.ndim == 1 else arr
            return
        self.per_pixel[name] = arr

    def add_pools(self, name: str, value: Any) -> None:
        arr = as_float(name, value)
        if arr.ndim not in (1, 2) or arr.shape[-1] != 5:
            raise ValueError(
                f"{name}: expected (n, 5) or (5,) pools DPM, RPM, BIO, HUM, IOM, "
                f"got shape {arr.shape}"
            )
        if arr.ndim == 2:
            self._n[name] = arr.shape[0]
        self.per_pixel[name] = arr

    @property
    def n(self) -> int:
        return _agree(self._n, "pixels", default=1)

    @property
    def months(self) -> int:
        if self.fixed_months is not None:
            for name, m in self._months.items():
                if m != self.fixed_months:
                    raise ValueError(f"{name}: expected {self.fixed_months} months, got {m}")
            return self.fixed_months
        if not self._months:
            raise ValueError(
                "cannot tell the number of months: give at least one per-month argument "
                "(e.g. temperature) as (months,) or (n, months)"
            )
        months = _agree(self._months, "months", default=0)
        if months < 1:
            raise ValueError("at least one month is needed")
        return months

    def monthly_arrays(self) -> dict[str, F64]:
        n, months = self.n, self.months
        out = {}
        for name, arr in self.monthly.items():
            if arr.ndim == 2 and arr.shape[1] == 1 and months != 1:
                arr = np.broadcast_to(arr, (arr.shape[0], months))
            out[name] = np.broadcast_to(arr, (n, months))
        return out

    def pixel_arrays(self) -> dict[str, F64]:
        n = self.n
        out = {}
        for name, arr in self.per_pixel.items():
            shape = (n, 5) if arr.ndim >= 1 and arr.shape[-1] == 5 and name == "pools" else (n,)
            out[name] = np.ascontiguousarray(np.broadcast_to(arr, shape))
        return out


def _agree(sizes: Mapping[str, int], what: str, default: int) -> int:
    if not sizes:
        return default
    values = set(sizes.values())
    if len(values) > 1:
        listing = ", ".join(f"{k} has {v}" for k, v in sizes.items())
        raise ValueError(f"arguments disagree on the number of {what}: {listing}")
    return values.pop()
