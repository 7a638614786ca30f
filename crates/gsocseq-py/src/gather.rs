//! The inputs as read (the core's `input`): the block reader's gathering and checks
//! (`gsocseq.rasters`, `gsocseq.inputs`; `input::gather`), the counting of the unit
//! plausibility checks (`gsocseq.plausibility`; `input::distribution`) and a plain site table's
//! numbers (`gsocseq.site`; `input::table`).

use gsocseq_core::input::distribution::{self, Histogram};
use gsocseq_core::input::gather::{self, Gathered, Verdicts};
use gsocseq_core::input::series::window_pixels;
use gsocseq_core::input::table;
use numpy::ndarray::Array1;
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedStr;
use pyo3::IntoPyObjectExt;

use crate::args::RawArray;
use crate::error::IntoPyResult;

fn verdicts(py: Python<'_>, v: Verdicts) -> PyResult<Bound<'_, PyAny>> {
    (
        Array1::from_vec(v.status).into_pyarray(py),
        Array1::from_vec(v.band).into_pyarray(py),
    )
        .into_bound_py_any(py)
}

/// Values of the flat pixel indices `pixels` of a (bands, window pixels) raw array: float64,
/// nodata as NaN, `raw * scale + offset`, optionally rounded to float32.
///
/// Without `out` and `check`: returns the (bands, n) values. With `out`, a writable float64
/// (n, bands) array (any strides, e.g. columns of a wider array): the values are written there,
/// pixel after pixel, in the same pass. With `check` = (lo, hi): the invalid-input rule's
/// verdicts of the values (as [`check_pixels`]) are returned, (status, band), instead of the
/// values; no values are kept when only `check` is given.
#[pyfunction]
#[pyo3(signature = (raw, pixels, nodata, scale, offset, round_f32, *, out=None, check=None))]
#[allow(clippy::too_many_arguments)]
pub fn gather_pixels<'py>(
    py: Python<'py>,
    raw: &Bound<'py, PyAny>,
    pixels: PyReadonlyArray1<'py, i64>,
    nodata: Option<f64>,
    scale: f64,
    offset: f64,
    round_f32: bool,
    out: Option<Bound<'py, PyArray2<f64>>>,
    check: Option<(f64, f64)>,
) -> PyResult<Bound<'py, PyAny>> {
    let raw = RawArray::extract("raw", raw)?;
    let dim = raw.dim();
    let pixels = window_pixels("pixels", &crate::args::slice(&pixels), dim.1).py()?;
    let guard = out.as_ref().map(|o| o.try_readwrite()).transpose();
    let mut guard = guard.map_err(|e| PyValueError::new_err(format!("out: {e}")))?;
    let values = raw.values();
    let conv = values.conversion(scale, offset, nodata, round_f32);
    let out = guard.as_mut().map(|g| g.as_array_mut());
    let gathered = py.detach(|| gather::gather_window(values, dim, &pixels, conv, out, check));
    match gathered.py()? {
        Gathered::Values(values) => Ok(values.into_pyarray(py).into_any()),
        Gathered::Verdicts(v) if check.is_some() => verdicts(py, v),
        Gathered::Verdicts(_) => Ok(py.None().into_bound(py)),
    }
}

/// The invalid-input rule's checks of (bands, n) values against [lo, hi], per pixel:
/// status 0 ok, 1 nodata in every band, 2 nodata in some bands, 3 +-inf, 4 out of range
/// (`gsocseq_core::input::gather::PixelStatus`); and the first band concerned (-1 when ok).
#[pyfunction]
pub fn check_pixels<'py>(
    py: Python<'py>,
    values: PyReadonlyArray2<'py, f64>,
    lo: f64,
    hi: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let v = values.as_array();
    let checked = py.detach(|| gather::check_values(v, lo, hi));
    verdicts(py, checked)
}

/// A histogram of the plausibility checks: (counts of the 65,536 bins, count, low, high).
type Counted<'py> = (Bound<'py, PyArray1<u64>>, u64, f64, f64);

fn counted(py: Python<'_>, h: Histogram) -> Counted<'_> {
    (h.counts.into_pyarray(py), h.count, h.low, h.high)
}

/// What the plausibility checks read of (n, bands) `values` with each pixel's `status` of
/// [`check_pixels`] (None: every pixel valid): the histogram of every finite value, and of each
/// valid pixel's years (12 bands each) when `annual` is "mean" or "sum" (else None).
#[pyfunction]
#[pyo3(signature = (values, status=None, annual=None))]
pub fn count_values<'py>(
    py: Python<'py>,
    values: PyReadonlyArray2<'py, f64>,
    status: Option<PyReadonlyArray1<'py, u8>>,
    annual: Option<&str>,
) -> PyResult<(Counted<'py>, Option<Counted<'py>>)> {
    let annual = annual.map(str::parse).transpose().py()?;
    let (v, status) = (values.as_array(), status.as_ref().map(crate::args::slice));
    let read = py.detach(|| distribution::read(v, status.as_deref(), annual));
    let (all, years) = read.py()?;
    Ok((counted(py, all), years.map(|h| counted(py, h))))
}

/// The (rows, fields) float64 values of a plain site table `text` (header line first, not
/// read; `fields` per line separated by `delimiter`), the field `skip` left out; None when a
/// row or a cell is not plain (the core's `input::table`).
#[pyfunction]
#[pyo3(signature = (text, delimiter, fields, skip=None))]
pub fn plain_table(
    py: Python<'_>,
    text: PyBackedStr,
    delimiter: char,
    fields: usize,
    skip: Option<usize>,
) -> Option<Bound<'_, PyArray2<f64>>> {
    let d = u8::try_from(delimiter).ok()?;
    let values = py.detach(|| table::plain_numbers(&text, d, fields, skip));
    values.map(|v| v.into_pyarray(py))
}

/// The status codes of the checks ({"ok": 0, "all_nodata": 1, ...}) and the plausible range of
/// each kind of input ({kind: (lo, hi, unit)}).
pub fn constants(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let codes = pyo3::types::PyDict::new(m.py());
    for (name, status) in gather::PixelStatus::NAMED {
        codes.set_item(name, status as u8)?;
    }
    m.add("PIXEL_STATUS", codes)?;
    let ranges = pyo3::types::PyDict::new(m.py());
    for (kind, lo, hi, unit) in gsocseq_core::input::check::PLAUSIBLE {
        ranges.set_item(kind, (lo, hi, unit))?;
    }
    m.add("PLAUSIBLE_RANGES", ranges)?;
    m.add("HISTOGRAM_BINS", distribution::BINS)
}
