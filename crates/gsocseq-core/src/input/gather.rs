//! The values of a window's modelled pixels and the invalid-input rule's checks of them
//! (METHOD.md section 2), from the window's bands as read (band-major, in the raster's own
//! type, converted by a [`Conversion`]), in one pass each: the numpy equivalents take several
//! passes over hundreds of bands. A pixel's verdict is a [`PixelStatus`] and the first band
//! concerned.

use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis};

use super::series::{with_values, Conversion, Stored, Values};
use crate::error::{CoreError, Result};
use crate::parallel;

/// The verdict of the invalid-input rule on one pixel's values of a quantity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PixelStatus {
    /// Every band valid.
    Ok = 0,
    /// Nodata in every band: the pixel is not modelled (not an error).
    AllNodata = 1,
    /// Nodata in some bands only.
    SomeNodata = 2,
    /// A value is +-inf.
    Infinite = 3,
    /// A finite value outside the accepted range.
    OutOfRange = 4,
}

impl PixelStatus {
    /// Every status with its name, as a caller spells it (`gsocseq._core.PIXEL_STATUS`).
    pub const NAMED: [(&'static str, PixelStatus); 5] = [
        ("ok", PixelStatus::Ok),
        ("all_nodata", PixelStatus::AllNodata),
        ("some_nodata", PixelStatus::SomeNodata),
        ("infinite", PixelStatus::Infinite),
        ("out_of_range", PixelStatus::OutOfRange),
    ];
}

/// The verdicts of n pixels: status (a [`PixelStatus`] as u8) and the first band concerned
/// (-1 when the pixel is ok or nodata in every band).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdicts {
    /// [`PixelStatus`] of each pixel, as u8.
    pub status: Vec<u8>,
    /// First band concerned of each pixel, or -1.
    pub band: Vec<i32>,
}

/// Per-pixel state of the checks, band after band.
#[derive(Clone, Copy)]
struct PixelCheck {
    nan: u32,
    first_nan: i32,
    first_bad: i32,
    bad: PixelStatus,
}

impl PixelCheck {
    const NEW: PixelCheck = PixelCheck {
        nan: 0,
        first_nan: -1,
        first_bad: -1,
        bad: PixelStatus::Ok,
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
            self.bad = if x.is_infinite() {
                PixelStatus::Infinite
            } else {
                PixelStatus::OutOfRange
            };
        }
    }

    fn verdict(&self, bands: usize) -> (u8, i32) {
        if bands > 0 && self.nan as usize == bands {
            (PixelStatus::AllNodata as u8, -1)
        } else if self.nan > 0 {
            (PixelStatus::SomeNodata as u8, self.first_nan)
        } else if self.first_bad >= 0 {
            (self.bad as u8, self.first_bad)
        } else {
            (PixelStatus::Ok as u8, -1)
        }
    }
}

/// The verdict of window pixel `p` from its NaN count over the bands and whether any value
/// failed the checks (counted in one pass); a pixel that failed is scanned again band by band
/// for the first band concerned.
fn pixel_verdict<T: Stored>(
    rows: &[&[T]],
    p: usize,
    nan: usize,
    failed: bool,
    conv: &Conversion,
    (lo, hi): (f64, f64),
) -> (u8, i32) {
    let bands = rows.len();
    if bands > 0 && nan == bands {
        (PixelStatus::AllNodata as u8, -1)
    } else if failed {
        let mut st = PixelCheck::NEW;
        for (b, src) in rows.iter().enumerate() {
            st.see(conv.value(src[p].into()), b, lo, hi);
        }
        st.verdict(bands)
    } else {
        (PixelStatus::Ok as u8, -1)
    }
}

/// The rows of `raw` (bands, window pixels), which must be in standard layout.
fn rows<'a, T: Stored>(raw: &'a ArrayView2<'_, T>) -> Vec<&'a [T]> {
    raw.rows()
        .into_iter()
        .map(|r| r.to_slice().expect("rows of a standard layout"))
        .collect()
}

fn check_pixels(pixels: &[usize], width: usize) -> Result<()> {
    match pixels.iter().find(|&&p| p >= width) {
        Some(p) => Err(CoreError::shape(
            "pixels",
            format!("index {p} outside the window's {width} pixels"),
        )),
        None => Ok(()),
    }
}

/// The (bands, n) values of window pixels `pixels` of `raw` (bands, window pixels), converted
/// by `conv` (nodata as NaN), one band per task.
pub fn gather<T: Stored>(
    raw: ArrayView2<'_, T>,
    pixels: &[usize],
    conv: Conversion,
) -> Result<Array2<f64>> {
    check_pixels(pixels, raw.ncols())?;
    let (bands, n) = (raw.nrows(), pixels.len());
    let mut out = vec![0.0f64; bands * n];
    let items: Vec<_> = out.chunks_mut(n.max(1)).enumerate().collect();
    parallel::for_each(items, |(b, dst)| {
        let src = raw.row(b);
        for (d, &p) in dst.iter_mut().zip(pixels) {
            *d = conv.value(src[p].into());
        }
    });
    Ok(Array2::from_shape_vec((bands, n), out).expect("bands x pixels"))
}

/// What [`gather_window`] gives: the (bands, n) values, or the verdicts of the checks.
#[derive(Debug)]
pub enum Gathered {
    /// The values of [`gather`].
    Values(Array2<f64>),
    /// The verdicts of [`gather_checked`] (empty without checks).
    Verdicts(Verdicts),
}

/// A window's bands as read, `values` ((bands, width) row-major, in the raster's own type):
/// [`gather`] without `out` and `check`, else [`gather_checked`].
pub fn gather_window(
    values: Values<'_>,
    dim: (usize, usize),
    pixels: &[usize],
    conv: Conversion,
    out: Option<ArrayViewMut2<'_, f64>>,
    check: Option<(f64, f64)>,
) -> Result<Gathered> {
    with_values!(values, v => {
        let raw = ArrayView2::from_shape(dim, v)
            .map_err(|e| CoreError::shape("raw", format!("{e}")))?;
        match (out, check) {
            (None, None) => gather(raw, pixels, conv).map(Gathered::Values),
            (out, check) => gather_checked(raw, pixels, conv, out, check).map(Gathered::Verdicts),
        }
    })
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
fn gather_chunk<T: Stored, const OUT: bool, const CHECK: bool>(
    rows: &[&[T]],
    pix: &[usize],
    conv: &Conversion,
    dst: &mut Option<ArrayViewMut2<'_, f64>>,
    (lo, hi): (f64, f64),
    nan: &mut [u64; CHUNK],
    bad: &mut [u64; CHUNK],
) {
    let len = pix.len();
    let mut tmp = [T::default(); CHUNK];
    let mut xs = [0.0f64; CHUNK];
    for (b, src) in rows.iter().enumerate() {
        for (t, &p) in tmp[..len].iter_mut().zip(pix) {
            *t = src[p];
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
                for (o, &x) in d.column_mut(b).iter_mut().zip(&xs[..len]) {
                    *o = x;
                }
            }
        }
    }
}

/// One pass over the window's values of `pixels`: each converted value written to row i of
/// `out` (n, bands; any strides, e.g. columns of a wider array) when given, and checked against
/// [`lo`, `hi`] when `check` is given (then the [`Verdicts`] are returned; a pixel that fails is
/// scanned again band by band for the first band concerned). With `check` and no `out`, every
/// window pixel up to the last of `pixels` is counted over contiguous rows instead
/// ([`check_dense`]: no gather).
pub fn gather_checked<T: Stored>(
    raw: ArrayView2<'_, T>,
    pixels: &[usize],
    conv: Conversion,
    mut out: Option<ArrayViewMut2<'_, f64>>,
    check: Option<(f64, f64)>,
) -> Result<Verdicts> {
    check_pixels(pixels, raw.ncols())?;
    let n = pixels.len();
    if let Some(o) = &out {
        if o.dim() != (n, raw.nrows()) {
            return Err(CoreError::shape(
                "out",
                format!("shape {:?}, expected ({n}, {})", o.shape(), raw.nrows()),
            ));
        }
    }
    let standard = raw.as_standard_layout();
    let view = standard.view();
    let rows = rows(&view);
    let mut verdicts = match check {
        Some(_) => Verdicts {
            status: vec![0; n],
            band: vec![-1; n],
        },
        None => Verdicts::default(),
    };
    let range = check.unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
    if out.is_none() {
        if check.is_some() {
            check_dense(&rows, pixels, conv, range, &mut verdicts);
        }
        return Ok(verdicts);
    }
    let chunks = n.div_ceil(CHUNK);
    let outs: Vec<Option<ArrayViewMut2<'_, f64>>> = match out.as_mut() {
        Some(o) => o.axis_chunks_iter_mut(Axis(0), CHUNK).map(Some).collect(),
        None => (0..chunks).map(|_| None).collect(),
    };
    let checks: Vec<Option<(&mut [u8], &mut [i32])>> = match check {
        Some(_) => verdicts
            .status
            .chunks_mut(CHUNK)
            .zip(verdicts.band.chunks_mut(CHUNK))
            .map(Some)
            .collect(),
        None => (0..chunks).map(|_| None).collect(),
    };
    let items: Vec<_> = outs.into_iter().zip(checks).enumerate().collect();
    parallel::for_each(items, |(c, (mut dst, verdict))| {
        let pix = &pixels[c * CHUNK..((c + 1) * CHUNK).min(n)];
        let mut nan = [0u64; CHUNK];
        let mut bad = [0u64; CHUNK];
        let (r, cv) = (&rows[..], &conv);
        match verdict.is_some() {
            true => gather_chunk::<T, true, true>(r, pix, cv, &mut dst, range, &mut nan, &mut bad),
            false => {
                gather_chunk::<T, true, false>(r, pix, cv, &mut dst, range, &mut nan, &mut bad)
            }
        }
        if let Some((s, bd)) = verdict {
            for (k, &p) in pix.iter().enumerate() {
                let failed = nan[k] > 0 || bad[k] != 0;
                (s[k], bd[k]) = pixel_verdict(&rows, p, nan[k] as usize, failed, &conv, range);
            }
        }
    });
    Ok(verdicts)
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

/// NaN count and "any other value fails" of window pixels `from..from + nan.len()`, band after
/// band (rows of the same length), in a loop the compiler vectorises (only comparisons and
/// exact conversions: every build counts the same).
#[inline(always)]
fn count<T: Stored>(t: &Tally<'_, T>, from: usize, nan: &mut [u32], bad: &mut [u32]) {
    let (conv, lo, hi) = (&t.conv, t.lo, t.hi);
    for src in t.rows {
        let src = &src[from..from + nan.len()];
        for ((n, f), &r) in nan.iter_mut().zip(bad.iter_mut()).zip(src) {
            let x = conv.value(r.into());
            *n += u32::from(x.is_nan());
            *f |= u32::from(x.is_infinite() | (x < lo) | (x > hi));
        }
    }
}

simd_dispatch! {
    fn count_dispatch[T: Stored](
        t: &Tally<'_, T>,
        from: usize,
        nan: &mut [u32],
        bad: &mut [u32],
    ) -> () => count[T]
}

/// The checks of [`gather_checked`] without values kept: every window pixel up to the last of
/// `pixels` counted band after band over contiguous rows (loops the compiler vectorises; no
/// gather), then the verdict of each of `pixels`.
fn check_dense<T: Stored>(
    rows: &[&[T]],
    pixels: &[usize],
    conv: Conversion,
    (lo, hi): (f64, f64),
    verdicts: &mut Verdicts,
) {
    let width = pixels.iter().map(|&p| p + 1).max().unwrap_or(0);
    let mut nan = vec![0u32; width];
    let mut bad = vec![0u32; width];
    let tally = Tally { rows, conv, lo, hi };
    let items: Vec<_> = nan
        .chunks_mut(DENSE)
        .zip(bad.chunks_mut(DENSE))
        .enumerate()
        .collect();
    parallel::for_each(items, |(c, (nan, bad))| {
        count_dispatch(&tally, c * DENSE, nan, bad)
    });
    let verdict = verdicts.status.iter_mut().zip(verdicts.band.iter_mut());
    for ((s, bd), &p) in verdict.zip(pixels) {
        let failed = nan[p] > 0 || bad[p] != 0;
        (*s, *bd) = pixel_verdict(rows, p, nan[p] as usize, failed, &conv, (lo, hi));
    }
}

/// The verdicts of (bands, n) float64 values against [`lo`, `hi`], in the order they lie: pixel
/// after pixel when each pixel's values are contiguous (the transpose of a caller's (n, bands)
/// array: no band-major copy needed), else band by band keeping per-pixel state.
pub fn check_values(values: ArrayView2<'_, f64>, lo: f64, hi: f64) -> Verdicts {
    let (bands, n) = values.dim();
    if bands > 1 && values.stride_of(Axis(0)) == 1 {
        let columns = values.columns().into_iter();
        let (status, band) = columns
            .map(|c| pixel_values_verdict(c.to_slice().expect("contiguous"), lo, hi))
            .unzip();
        return Verdicts { status, band };
    }
    let mut state = vec![PixelCheck::NEW; n];
    for b in 0..bands {
        for (st, &x) in state.iter_mut().zip(values.row(b)) {
            st.see(x, b, lo, hi);
        }
    }
    let (status, band) = state.iter().map(|st| st.verdict(bands)).unzip();
    Verdicts { status, band }
}

/// The verdict of one pixel's values (band after band): a NaN count and "any other value
/// fails" in one pass the compiler vectorises; a pixel that failed is scanned again for the first
/// band concerned.
fn pixel_values_verdict(values: &[f64], lo: f64, hi: f64) -> (u8, i32) {
    let (mut nan, mut bad) = (0u32, 0u32);
    for &x in values {
        nan += u32::from(x.is_nan());
        bad |= u32::from(x.is_infinite() | (x < lo) | (x > hi));
    }
    if nan == 0 && bad == 0 {
        return (PixelStatus::Ok as u8, -1);
    }
    let mut st = PixelCheck::NEW;
    for (b, &x) in values.iter().enumerate() {
        st.see(x, b, lo, hi);
    }
    st.verdict(values.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 30 bands of a window of 3000 pixels (rows one value longer), int16 x 0.1 with nodata
    /// -999: pixel 5 nodata everywhere, 7 in band 3 only, 11 out of range from band 20, 13
    /// out of range in band 2 and nodata in band 9.
    fn window() -> (Array2<i16>, Conversion) {
        let (bands, width) = (30, 3000);
        let mut raw =
            Array2::from_shape_fn((bands, width + 1), |(b, p)| ((b * 7 + p) % 400) as i16);
        raw.column_mut(5).fill(-999);
        raw[[3, 7]] = -999;
        for b in 20..30 {
            raw[[b, 11]] = 900;
        }
        raw[[2, 13]] = -700;
        raw[[9, 13]] = -999;
        (raw, Conversion::new::<i16>(0.1, 0.0, Some(-999.0), false))
    }

    #[test]
    fn every_path_gives_the_verdicts_of_the_values() {
        let (raw, conv) = window();
        let check = (0.0, 50.0);
        let pixels: Vec<usize> = (0..3000).rev().step_by(3).chain([5, 7, 11, 13]).collect();
        let values = gather(raw.view(), &pixels, conv).unwrap();
        let want = check_values(values.view(), check.0, check.1);
        let at = |p: usize| pixels.iter().position(|&q| q == p).unwrap();
        let verdict = |v: &Verdicts, p| (v.status[at(p)], v.band[at(p)]);
        assert_eq!(verdict(&want, 5), (1, -1));
        assert_eq!(verdict(&want, 7), (2, 3));
        assert_eq!(verdict(&want, 11), (4, 20));
        assert_eq!(verdict(&want, 13), (2, 9));
        assert_eq!(verdict(&want, 2), (0, -1));
        // the dense count (no values kept) and the gather into a strided output
        let dense = gather_checked(raw.view(), &pixels, conv, None, Some(check)).unwrap();
        assert_eq!(dense, want);
        let mut wide = Array2::from_elem((pixels.len(), 2 * 30), f64::NAN);
        let mut out = wide.slice_mut(ndarray::s![.., ..;2]);
        let both = gather_checked(raw.view(), &pixels, conv, Some(out.view_mut()), Some(check));
        assert_eq!(both.unwrap(), want);
        // the same values pixel-major (the transpose of an (n, bands) array): the same verdicts
        let pixel_major = values.t().as_standard_layout().into_owned();
        assert_eq!(check_values(pixel_major.t(), check.0, check.1), want);
        let bits = |a: &Array2<f64>| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&out.t().to_owned()), bits(&values));
        // an index outside the window, an output of the wrong shape
        let e = gather(raw.view(), &[3001], conv).unwrap_err();
        assert_eq!(
            e.to_string(),
            "pixels: index 3001 outside the window's 3001 pixels"
        );
        let mut small = Array2::zeros((2, 30));
        let e = gather_checked(raw.view(), &[1, 2, 3], conv, Some(small.view_mut()), None);
        assert!(e
            .unwrap_err()
            .to_string()
            .starts_with("out: shape [2, 30], expected (3, 30)"));
    }

    #[test]
    fn nodata_as_the_raster_stores_it() {
        // float32 nodata compares in float32; an integer raster's fractional nodata is none
        let c = Conversion::new::<f32>(1.0, 0.0, Some(-3.4e38), false);
        assert_eq!(c.nodata, Some(f64::from(-3.4e38f32)));
        assert_eq!(
            Conversion::new::<u8>(1.0, 0.0, Some(2.5), false).nodata,
            None
        );
        assert_eq!(
            Conversion::new::<u8>(1.0, 0.0, Some(255.0), false).nodata,
            Some(255.0)
        );
        assert_eq!(
            Conversion::new::<f64>(1.0, 0.0, Some(f64::NAN), false).nodata,
            None
        );
    }

    #[test]
    fn pixel_statuses_are_named_in_the_order_of_their_codes() {
        let codes: Vec<u8> = PixelStatus::NAMED.iter().map(|(_, s)| *s as u8).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
        assert_eq!(
            PixelStatus::NAMED[4],
            ("out_of_range", PixelStatus::OutOfRange)
        );
    }
}
