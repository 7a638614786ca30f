//! Block reading helpers: gather a window's modelled pixels into float64 and check them, in
//! one pass each (the numpy equivalents take several passes over hundreds of bands).

use gsocseq_core::input::series::Conversion;
use numpy::ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Axis};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use rayon::prelude::*;

/// The nodata value `nodata` as the raster's type `T` stores it, as float64 (`cast` converts
/// to `T`): floats compare in their own precision (as numpy does); an integer raster's nodata
/// only matches when it is a whole number in range; NaN is no value (NaN is missing anyway).
pub(crate) fn stored_nodata<T: Into<f64>>(
    nodata: Option<f64>,
    cast: impl Fn(f64) -> T,
    float: bool,
) -> Option<f64> {
    nodata.filter(|x| !x.is_nan()).and_then(|x| {
        let stored: f64 = cast(x).into();
        (float || stored == x).then_some(stored)
    })
}

fn gather<T: Copy + Into<f64> + Default + Sync>(
    raw: ArrayView2<'_, T>,
    pixels: &[i64],
    conv: Conversion,
) -> Array2<f64> {
    let (bands, n) = (raw.nrows(), pixels.len());
    let mut out = vec![0.0f64; bands * n];
    out.par_chunks_mut(n.max(1))
        .enumerate()
        .for_each(|(b, dst)| {
            let src = raw.row(b);
            for (d, &p) in dst.iter_mut().zip(pixels) {
                *d = conv.value(src[p as usize].into());
            }
        });
    Array2::from_shape_vec((bands, n), out).expect("shape")
}

/// Per-pixel state of the invalid-input rule's checks, band after band.
#[derive(Clone, Copy)]
struct PixelCheck {
    nan: u32,
    first_nan: i32,
    first_bad: i32,
    bad_kind: u8,
}

impl PixelCheck {
    const NEW: PixelCheck = PixelCheck {
        nan: 0,
        first_nan: -1,
        first_bad: -1,
        bad_kind: 0,
    };

    #[inline(always)]
    fn see(&mut self, x: f64, b: usize, lo: f64, hi: f64) {
        if x.is_nan() {
            self.nan += 1;
            if self.first_nan < 0 {
                self.first_nan = b as i32;
            }
        } else if self.first_bad < 0 && (x.is_infinite() || x < lo || x > hi) {
            self.first_bad = b as i32;
            self.bad_kind = if x.is_infinite() { 3 } else { 4 };
        }
    }

    /// (status, band): 0 ok, 1 nodata in every band, 2 nodata in some bands, 3 +-inf, 4 out of
    /// range; the first band concerned (-1 when ok or nodata in every band).
    fn status(&self, bands: usize) -> (u8, i32) {
        if bands > 0 && self.nan as usize == bands {
            (1, -1)
        } else if self.nan > 0 {
            (2, self.first_nan)
        } else if self.first_bad >= 0 {
            (self.bad_kind, self.first_bad)
        } else {
            (0, -1)
        }
    }
}

/// The (status, band) of [`PixelCheck::status`] of window pixel `p` from its NaN count over
/// the bands and whether any value failed the checks (counted in one pass); a pixel that
/// failed is scanned again band by band for the first band concerned.
fn pixel_verdict<T: Copy + Into<f64>>(
    rows: &[&[T]],
    p: usize,
    nan: usize,
    failed: bool,
    conv: &Conversion,
    lo: f64,
    hi: f64,
) -> (u8, i32) {
    let bands = rows.len();
    if bands > 0 && nan == bands {
        (1, -1)
    } else if failed {
        let mut st = PixelCheck::NEW;
        for (b, src) in rows.iter().enumerate() {
            st.see(conv.value(src[p].into()), b, lo, hi);
        }
        st.status(bands)
    } else {
        (0, -1)
    }
}

/// Pixels per task of [`gather_checked`]: the output rows of a task and the source values of
/// one band for them stay in L1.
const CHUNK: usize = 1024;

/// The pass of [`gather_checked`] over one chunk of pixels, band after band: values written to
/// `dst` (OUT) and counted (CHECK: NaN count and whether any other value fails the checks). The
/// band's raw values of the chunk are gathered first, then converted and checked in loops over
/// contiguous arrays that the compiler vectorises.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn gather_chunk<T: Copy + Into<f64> + Default, const OUT: bool, const CHECK: bool>(
    rows: &[&[T]],
    pix: &[i64],
    conv: &Conversion,
    dst: &mut Option<ArrayViewMut2<'_, f64>>,
    lo: f64,
    hi: f64,
    nan: &mut [u64; CHUNK],
    bad: &mut [u64; CHUNK],
) {
    let len = pix.len();
    let mut tmp = [T::default(); CHUNK];
    let mut xs = [0.0f64; CHUNK];
    for (b, src) in rows.iter().enumerate() {
        for (t, &p) in tmp[..len].iter_mut().zip(pix) {
            // SAFETY: every pixel index was checked against the row length
            *t = unsafe { *src.get_unchecked(p as usize) };
        }
        for (x, &t) in xs[..len].iter_mut().zip(&tmp[..len]) {
            *x = conv.value(t.into());
        }
        if CHECK {
            for ((n, f), &x) in nan[..len].iter_mut().zip(&mut bad[..len]).zip(&xs[..len]) {
                *n += u64::from(x.is_nan());
                *f |= u64::from(x.is_infinite() | (x < lo) | (x > hi));
            }
        }
        if OUT {
            if let Some(d) = dst.as_mut() {
                for (k, &x) in xs[..len].iter().enumerate() {
                    // SAFETY: the chunk has pix.len() rows and `rows.len()` columns
                    unsafe { *d.uget_mut((k, b)) = x };
                }
            }
        }
    }
}

/// One pass over the window's values of `pixels`: each converted value written to row i of
/// `out` (n, bands) when given, and checked against `check` = (lo, hi) when given (then the
/// per-pixel status and band of [`check_pixels`] are returned; a pixel that fails is scanned
/// again band by band for the first band concerned).
fn gather_checked<T: Copy + Into<f64> + Default + Sync>(
    raw: ArrayView2<'_, T>,
    pixels: &[i64],
    conv: Conversion,
    out: Option<&mut ArrayViewMut2<'_, f64>>,
    check: Option<(f64, f64)>,
) -> (Vec<u8>, Vec<i32>) {
    let n = pixels.len();
    let rows: Vec<&[T]> = raw
        .rows()
        .into_iter()
        .map(|r| r.to_slice().expect("standard layout"))
        .collect();
    let chunks = n.div_ceil(CHUNK);
    let has_out = out.is_some();
    let outs: Vec<Option<ArrayViewMut2<'_, f64>>> = match out {
        Some(o) => o.axis_chunks_iter_mut(Axis(0), CHUNK).map(Some).collect(),
        None => (0..chunks).map(|_| None).collect(),
    };
    let (mut status, mut band) = match check {
        Some(_) => (vec![0u8; n], vec![-1i32; n]),
        None => (Vec::new(), Vec::new()),
    };
    let checks: Vec<Option<(&mut [u8], &mut [i32])>> = match check {
        Some(_) => status
            .chunks_mut(CHUNK)
            .zip(band.chunks_mut(CHUNK))
            .map(Some)
            .collect(),
        None => (0..chunks).map(|_| None).collect(),
    };
    let (lo, hi) = check.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
    if !has_out && check.is_some() {
        check_dense(&rows, pixels, conv, lo, hi, &mut status, &mut band);
        return (status, band);
    }
    outs.into_iter()
        .zip(checks)
        .enumerate()
        .collect::<Vec<_>>()
        .into_par_iter()
        .for_each(|(c, (mut dst, verdict))| {
            let pix = &pixels[c * CHUNK..((c + 1) * CHUNK).min(n)];
            let mut nan = [0u64; CHUNK];
            let mut bad = [0u64; CHUNK];
            let (r, cv) = (&rows[..], &conv);
            match (has_out, check.is_some()) {
                (true, true) => {
                    gather_chunk::<T, true, true>(r, pix, cv, &mut dst, lo, hi, &mut nan, &mut bad)
                }
                (true, false) => {
                    gather_chunk::<T, true, false>(r, pix, cv, &mut dst, lo, hi, &mut nan, &mut bad)
                }
                (false, true) => {
                    gather_chunk::<T, false, true>(r, pix, cv, &mut dst, lo, hi, &mut nan, &mut bad)
                }
                (false, false) => {}
            }
            if let Some((s, bd)) = verdict {
                for (k, &p) in pix.iter().enumerate() {
                    let failed = nan[k] > 0 || bad[k] != 0;
                    (s[k], bd[k]) =
                        pixel_verdict(&rows, p as usize, nan[k] as usize, failed, &conv, lo, hi);
                }
            }
        });
    (status, band)
}

/// Window pixels per task of [`check_dense`] (their counters stay in L1).
const DENSE: usize = 2048;

/// The window rows and checks of [`check_dense`].
struct Tally<'a, T> {
    rows: &'a [&'a [T]],
    conv: Conversion,
    lo: f64,
    hi: f64,
}

impl<T: Copy + Into<f64> + Default> Tally<'_, T> {
    /// NaN count and "any other value fails" of window pixels `from..from + nan.len()`, band
    /// after band (rows of the same length), in a loop the compiler vectorises.
    #[inline(always)]
    fn count(&self, from: usize, nan: &mut [u32], bad: &mut [u32]) {
        let (conv, lo, hi) = (&self.conv, self.lo, self.hi);
        for src in self.rows {
            let src = &src[from..from + nan.len()];
            for ((n, f), &r) in nan.iter_mut().zip(bad.iter_mut()).zip(src) {
                let x = conv.value(r.into());
                *n += u32::from(x.is_nan());
                *f |= u32::from(x.is_infinite() | (x < lo) | (x > hi));
            }
        }
    }

    /// [`Tally::count`] compiled for AVX-512 or AVX2 when the CPU has them (the build stays
    /// x86-64 baseline); only comparisons and exact conversions, so every path counts the same.
    fn count_dispatch(&self, from: usize, nan: &mut [u32], bad: &mut [u32]) {
        #[cfg(target_arch = "x86_64")]
        {
            #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
            fn avx512<T: Copy + Into<f64> + Default>(
                t: &Tally<'_, T>,
                from: usize,
                nan: &mut [u32],
                bad: &mut [u32],
            ) {
                t.count(from, nan, bad)
            }
            #[target_feature(enable = "avx2")]
            fn avx2<T: Copy + Into<f64> + Default>(
                t: &Tally<'_, T>,
                from: usize,
                nan: &mut [u32],
                bad: &mut [u32],
            ) {
                t.count(from, nan, bad)
            }
            let has_avx512 = std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl");
            if has_avx512 {
                // SAFETY: the CPU supports these AVX-512 subsets, checked above.
                return unsafe { avx512(self, from, nan, bad) };
            }
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2, checked on the line above.
                return unsafe { avx2(self, from, nan, bad) };
            }
        }
        self.count(from, nan, bad)
    }
}

/// The checks of [`gather_checked`] without values kept: every window pixel up to the last of
/// `pixels` checked band after band over contiguous rows (loops the compiler vectorises; no
/// gather), then the verdict of each of `pixels`; a pixel that fails is scanned again band by
/// band for the first band concerned.
fn check_dense<T: Copy + Into<f64> + Default + Sync>(
    rows: &[&[T]],
    pixels: &[i64],
    conv: Conversion,
    lo: f64,
    hi: f64,
    status: &mut [u8],
    band: &mut [i32],
) {
    let width = pixels.iter().map(|&p| p as usize + 1).max().unwrap_or(0);
    let mut nan = vec![0u32; width];
    let mut bad = vec![0u32; width];
    let tally = Tally { rows, conv, lo, hi };
    nan.par_chunks_mut(DENSE)
        .zip(bad.par_chunks_mut(DENSE))
        .enumerate()
        .for_each(|(c, (nan, bad))| tally.count_dispatch(c * DENSE, nan, bad));
    for ((s, bd), &p) in status.iter_mut().zip(band.iter_mut()).zip(pixels) {
        let p = p as usize;
        let failed = nan[p] > 0 || bad[p] != 0;
        (*s, *bd) = pixel_verdict(rows, p, nan[p] as usize, failed, &conv, lo, hi);
    }
}

/// Values of the flat pixel indices `pixels` of a (bands, window pixels) raw array: float64,
/// nodata as NaN, `raw * scale + offset`, optionally rounded to float32.
///
/// Without `out` and `check`: returns the (bands, n) values. With `out`, a writable float64
/// (n, bands) array (any strides, e.g. columns of a wider array): the values are written there,
/// pixel after pixel, in the same pass. With `check` = (lo, hi): the invalid-input rule's
/// checks of the values (as [`check_pixels`]) are returned, (status, band), instead of the
/// values; with neither `out` nor values kept when only `check` is given.
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
    let pixels = pixels.as_array().to_vec();
    let mut out_guard = match &out {
        Some(o) => Some(
            o.try_readwrite()
                .map_err(|e| PyValueError::new_err(format!("out: {e}")))?,
        ),
        None => None,
    };
    macro_rules! try_dtype {
        ($($t:ty: $float:expr),*) => {
            $(
                if let Ok(a) = raw.extract::<PyReadonlyArray2<'py, $t>>() {
                    let view = a.as_array();
                    if let Some(&bad) = pixels.iter().find(|&&p| p < 0 || p as usize >= view.ncols()) {
                        return Err(PyTypeError::new_err(format!("pixels: index {bad} out of range")));
                    }
                    let conv = Conversion {
                        scale,
                        offset,
                        nodata: stored_nodata(nodata, |x| x as $t, $float),
                        round_f32,
                    };
                    if out_guard.is_none() && check.is_none() {
                        let values = py.detach(|| gather(view, &pixels, conv));
                        return Ok(values.into_pyarray(py).into_any());
                    }
                    let standard = view.as_standard_layout();
                    let mut dst = out_guard.as_mut().map(|g| g.as_array_mut());
                    if let Some(d) = &dst {
                        if d.dim() != (pixels.len(), standard.nrows()) {
                            return Err(PyValueError::new_err(format!(
                                "out: shape {:?}, expected ({}, {})",
                                d.shape(), pixels.len(), standard.nrows()
                            )));
                        }
                    }
                    let (status, band) = py.detach(|| {
                        gather_checked(standard.view(), &pixels, conv, dst.as_mut(), check)
                    });
                    return match check {
                        Some(_) => (
                            Array1::from_vec(status).into_pyarray(py),
                            Array1::from_vec(band).into_pyarray(py),
                        )
                            .into_bound_py_any(py),
                        None => Ok(py.None().into_bound(py)),
                    };
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
        let mut state = vec![PixelCheck::NEW; n];
        for b in 0..bands {
            for (st, &x) in state.iter_mut().zip(v.row(b)) {
                st.see(x, b, lo, hi);
            }
        }
        state.iter().map(|st| st.status(bands)).unzip()
    });
    (
        Array1::from_vec(status).into_pyarray(py),
        Array1::from_vec(band).into_pyarray(py),
    )
}
