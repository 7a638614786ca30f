//! Block reading helpers: gather a window's modelled pixels into float64 and check them, in
//! one pass each (the numpy equivalents take several passes over hundreds of bands).

use numpy::ndarray::{Array1, Array2, ArrayView2};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use rayon::prelude::*;

fn gather<T: Copy + Into<f64> + PartialEq + Sync>(
    raw: ArrayView2<'_, T>,
    pixels: &[i64],
    nodata: Option<T>,
    scale: f64,
    offset: f64,
    round_f32: bool,
) -> Array2<f64> {
    let (bands, n) = (raw.nrows(), pixels.len());
    let mut out = vec![0.0f64; bands * n];
    out.par_chunks_mut(n.max(1))
        .enumerate()
        .for_each(|(b, dst)| {
            let src = raw.row(b);
            for (d, &p) in dst.iter_mut().zip(pixels) {
                let r = src[p as usize];
                let v: f64 = r.into();
                // nodata compared in the raster's own type, as numpy compares it
                let mut x = if nodata == Some(r) || v.is_nan() {
                    f64::NAN
                } else {
                    // as numpy computes it: (raw * scale) + offset, in float64
                    let mut x = v;
                    if scale != 1.0 {
                        x *= scale;
                    }
                    if offset != 0.0 {
                        x += offset;
                    }
                    x
                };
                if round_f32 {
                    x = x as f32 as f64;
                }
                *d = x;
            }
        });
    Array2::from_shape_vec((bands, n), out).expect("shape")
}

/// Values of the flat pixel indices `pixels` of a (bands, window pixels) raw array: float64,
/// nodata as NaN, `raw * scale + offset`, optionally rounded to float32; (bands, n).
#[pyfunction]
#[pyo3(signature = (raw, pixels, nodata, scale, offset, round_f32))]
pub fn gather_pixels<'py>(
    py: Python<'py>,
    raw: &Bound<'py, PyAny>,
    pixels: PyReadonlyArray1<'py, i64>,
    nodata: Option<f64>,
    scale: f64,
    offset: f64,
    round_f32: bool,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let pixels = pixels.as_array().to_vec();
    macro_rules! try_dtype {
        ($($t:ty: $float:expr),*) => {
            $(
                if let Ok(a) = raw.extract::<PyReadonlyArray2<'py, $t>>() {
                    let view = a.as_array();
                    let nd: Option<$t> = nodata.and_then(|x| {
                        let t = x as $t;
                        // floats compare in their own precision (as numpy does); an integer
                        // raster's nodata only matches when it is a whole number in range
                        ($float || f64::from(t) == x).then_some(t)
                    });
                    if let Some(&bad) = pixels.iter().find(|&&p| p < 0 || p as usize >= view.ncols()) {
                        return Err(PyTypeError::new_err(format!("pixels: index {bad} out of range")));
                    }
                    let out = py.detach(|| gather(view, &pixels, nd, scale, offset, round_f32));
                    return Ok(out.into_pyarray(py));
                }
            )*
        };
    }
    try_dtype!(f32: true, f64: true, i16: false, u16: false, i32: false, u32: false, u8: false, i8: false);
    Err(PyTypeError::new_err("raw: unsupported raster data type"))
}

/// The invalid-input rule's checks of (bands, n) values against [lo, hi], per pixel:
/// status 0 ok, 1 nodata in every band, 2 nodata in some bands, 3 +-inf, 4 out of range;
/// and the first band concerned (-1 when ok).
#[pyfunction]
pub fn check_pixels<'py>(
    py: Python<'py>,
    values: PyReadonlyArray2<'py, f64>,
    lo: f64,
    hi: f64,
) -> (Bound<'py, PyArray1<u8>>, Bound<'py, PyArray1<i32>>) {
    let v = values.as_array();
    let (bands, n) = v.dim();
    // band by band (rows are contiguous), keeping per-pixel state
    let (status, band): (Vec<u8>, Vec<i32>) = py.detach(|| {
        let mut nan = vec![0u32; n];
        let mut first_nan = vec![-1i32; n];
        let mut first_bad = vec![-1i32; n];
        let mut bad_kind = vec![0u8; n];
        for b in 0..bands {
            let row = v.row(b);
            for (i, &x) in row.iter().enumerate() {
                if x.is_nan() {
                    nan[i] += 1;
                    if first_nan[i] < 0 {
                        first_nan[i] = b as i32;
                    }
                } else if first_bad[i] < 0 && (x.is_infinite() || x < lo || x > hi) {
                    first_bad[i] = b as i32;
                    bad_kind[i] = if x.is_infinite() { 3 } else { 4 };
                }
            }
        }
        (0..n)
            .map(|i| {
                if bands > 0 && nan[i] as usize == bands {
                    (1, -1)
                } else if nan[i] > 0 {
                    (2, first_nan[i])
                } else if first_bad[i] >= 0 {
                    (bad_kind[i], first_bad[i])
                } else {
                    (0, -1)
                }
            })
            .unzip()
    });
    (
        Array1::from_vec(status).into_pyarray(py),
        Array1::from_vec(band).into_pyarray(py),
    )
}
