//! Monthly series of one pixel, read where they lie: a float64 slice of the pixel's own, or one
//! pixel of a window of raster bands as read from the file (band-major, in the raster's own
//! type, `raw * scale + offset`). The second saves converting and transposing hundreds of bands
//! of every pixel before the model runs; both give the same values. A [`SeriesColumn`] is such
//! a series for every pixel of a block.

use crate::error::{CoreError, Result};
use crate::simd::transpose::prefetch_value;

/// A type rasters store values in: f64, f32, i32, u32, i16, u16, i8, u8 (every one converts to
/// float64 exactly).
pub trait Stored: Copy + Default + Into<f64> + Send + Sync + 'static {
    /// Whether it is a floating-point type.
    const FLOAT: bool;
    /// `x` as this type stores it (Rust's `as`: saturating, NaN to 0 for integers).
    fn from_f64(x: f64) -> Self;
    /// A slice of this type as [`Values`].
    fn values(values: &[Self]) -> Values<'_>;
}

macro_rules! stored {
    ($($t:ty: $variant:ident, $float:expr);* $(;)?) => {
        $(
            impl Stored for $t {
                const FLOAT: bool = $float;
                #[inline(always)]
                fn from_f64(x: f64) -> Self {
                    x as $t
                }
                fn values(values: &[Self]) -> Values<'_> {
                    Values::$variant(values)
                }
            }
        )*
    };
}

stored!(
    f64: F64, true; f32: F32, true; i32: I32, false; u32: U32, false;
    i16: I16, false; u16: U16, false; i8: I8, false; u8: U8, false
);

/// `$body` with `$v` bound to the slice of `$values`, whatever its type (one copy of the loop
/// per stored type, chosen once outside it).
macro_rules! with_values {
    ($values:expr, $v:ident => $body:expr) => {
        match $values {
            Values::F64($v) => $body,
            Values::F32($v) => $body,
            Values::I32($v) => $body,
            Values::U32($v) => $body,
            Values::I16($v) => $body,
            Values::U16($v) => $body,
            Values::I8($v) => $body,
            Values::U8($v) => $body,
        }
    };
}

pub(crate) use with_values;

/// The values behind a [`Series`], in the raster's own type.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    /// float64
    F64(&'a [f64]),
    /// float32
    F32(&'a [f32]),
    /// int32
    I32(&'a [i32]),
    /// uint32
    U32(&'a [u32]),
    /// int16
    I16(&'a [i16]),
    /// uint16
    U16(&'a [u16]),
    /// int8
    I8(&'a [i8]),
    /// uint8
    U8(&'a [u8]),
}

impl Values<'_> {
    /// Number of stored values.
    pub fn len(&self) -> usize {
        with_values!(self, v => v.len())
    }

    /// True when no values are stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How these values become model values ([`Conversion::new`] of their type).
    pub fn conversion(
        &self,
        scale: f64,
        offset: f64,
        nodata: Option<f64>,
        round: bool,
    ) -> Conversion {
        fn of<T: Stored>(_: &[T], s: f64, o: f64, n: Option<f64>, r: bool) -> Conversion {
            Conversion::new::<T>(s, o, n, r)
        }
        with_values!(self, v => of(v, scale, offset, nodata, round))
    }
}

/// How stored values become model values: `raw * scale + offset` in float64 (the offset only
/// added when not 0, so -0.0 stays -0.0), nodata (compared in the stored type) and NaN as NaN,
/// optionally rounded to float32 (the FAO scripts' rasters). The same arithmetic as numpy's
/// `raw.astype(float64) * scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conversion {
    /// Factor applied to stored values (e.g. 0.1 for temperatures stored x10).
    pub scale: f64,
    /// Added after the scale.
    pub offset: f64,
    /// Stored value that means "no data" (as float64; exact for every stored type).
    pub nodata: Option<f64>,
    /// Round the result to float32.
    pub round_f32: bool,
}

impl Conversion {
    /// The conversion of values stored as `T`: `raw * scale + offset`, optionally rounded to
    /// float32, with the raster's `nodata` as `T` stores it: floats compare in their own
    /// precision (as numpy does); an integer raster's nodata only matches when it is a whole
    /// number in range; a NaN nodata is no value (NaN is missing anyway).
    pub fn new<T: Stored>(scale: f64, offset: f64, nodata: Option<f64>, round_f32: bool) -> Self {
        let nodata = nodata.filter(|x| !x.is_nan()).and_then(|x| {
            let stored: f64 = T::from_f64(x).into();
            (T::FLOAT || stored == x).then_some(stored)
        });
        Conversion {
            scale,
            offset,
            nodata,
            round_f32,
        }
    }

    /// Values as stored: scale 1, no offset, no nodata, no rounding.
    pub const IDENTITY: Conversion = Conversion {
        scale: 1.0,
        offset: 0.0,
        nodata: None,
        round_f32: false,
    };

    /// The model value of stored value `v` (as float64, exact for every stored type).
    /// Branch-free (the options select between values), so that loops over values vectorise.
    #[inline(always)]
    pub fn value(&self, v: f64) -> f64 {
        let scaled = v * self.scale;
        let shifted = scaled + self.offset;
        let x = if self.offset != 0.0 { shifted } else { scaled };
        let nodata = self.nodata.unwrap_or(f64::NAN);
        let x = if v.is_nan() | (v == nodata) {
            f64::NAN
        } else {
            x
        };
        let rounded = x as f32 as f64;
        if self.round_f32 {
            rounded
        } else {
            x
        }
    }
}

/// A monthly series of one pixel: `months` values at `first`, `first + stride`, ... of
/// `values`, converted by `conversion`.
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    values: Values<'a>,
    first: usize,
    stride: usize,
    months: usize,
    conversion: Conversion,
    /// float64 values one after the other, as they are (read by plain copies)
    plain: bool,
    /// float64 values as they are, at any stride (read without conversion)
    raw: bool,
}

/// A series' positions do not lie within its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("series of {months} months from {first} by {stride} outside {len} values")]
pub struct OutOfBounds {
    /// First position.
    pub first: usize,
    /// Step between months.
    pub stride: usize,
    /// Months.
    pub months: usize,
    /// Stored values.
    pub len: usize,
}

impl<'a> Series<'a> {
    /// `months` values from `first` by `stride` (checked against the stored values).
    pub fn strided(
        values: Values<'a>,
        first: usize,
        stride: usize,
        months: usize,
        conversion: Conversion,
    ) -> std::result::Result<Self, OutOfBounds> {
        let last = months
            .checked_sub(1)
            .map(|m| m.checked_mul(stride).and_then(|k| k.checked_add(first)));
        let len = values.len();
        match last {
            Some(Some(k)) if k < len => {}
            None if first <= len => {}
            _ => {
                return Err(OutOfBounds {
                    first,
                    stride,
                    months,
                    len,
                })
            }
        }
        let raw = matches!(values, Values::F64(_)) && conversion == Conversion::IDENTITY;
        Ok(Series {
            values,
            first,
            stride,
            months,
            conversion,
            plain: raw && stride == 1,
            raw,
        })
    }

    /// Number of months.
    pub fn len(&self) -> usize {
        self.months
    }

    /// True for a series of no months.
    pub fn is_empty(&self) -> bool {
        self.months == 0
    }

    /// Value of month `m` (0-based; panics past the end).
    pub fn month(&self, m: usize) -> f64 {
        assert!(
            m < self.months,
            "month {m} of a {}-month series",
            self.months
        );
        self.months_from(m, &mut [0.0])[0]
    }

    /// The 12 values of year `y` (months 12 y .. 12 y + 12; panics past the end).
    #[inline(always)]
    pub fn year(&self, y: usize) -> [f64; 12] {
        assert!(
            12 * y + 12 <= self.months,
            "year {y} of a {}-month series",
            self.months
        );
        if let (true, Values::F64(v)) = (self.plain, self.values) {
            // the common case, a few vector moves (no call)
            let at = self.first + 12 * y;
            return v[at..at + 12].try_into().expect("12 months");
        }
        if let (true, Values::F64(v)) = (self.raw, self.values) {
            // float64 values a stride apart (the lanes of a window's pixels)
            let at = self.first + 12 * y * self.stride;
            return std::array::from_fn(|m| v[at + m * self.stride]);
        }
        let mut out = [0.0; 12];
        self.months_from(12 * y, &mut out);
        out
    }

    /// Every value as one float64 slice, where the series is stored so (a pixel's own values:
    /// the common case), else None.
    #[inline(always)]
    pub fn as_plain(&self) -> Option<&'a [f64]> {
        match (self.plain, self.values) {
            (true, Values::F64(v)) => Some(&v[self.first..self.first + self.months]),
            _ => None,
        }
    }

    /// The float64 values the series reads as they are, its first position and its stride
    /// (month m at `first + m * stride`), where it is stored so (a pixel's own values, or a
    /// pixel of the lanes of [`SeriesColumn::load`]), else None.
    #[inline(always)]
    pub fn as_strided(&self) -> Option<(&'a [f64], usize, usize)> {
        match (self.raw, self.values) {
            (true, Values::F64(v)) => Some((v, self.first, self.stride)),
            _ => None,
        }
    }

    /// Every value, in order.
    pub fn to_vec(&self) -> Vec<f64> {
        let mut out = vec![0.0; self.months];
        self.months_from(0, &mut out);
        out
    }

    /// `out.len()` values from month `m` (within the series, checked by the callers).
    #[inline]
    fn months_from<'o>(&self, m: usize, out: &'o mut [f64]) -> &'o [f64] {
        let (start, step, c) = (self.first + m * self.stride, self.stride, self.conversion);
        if let (true, Values::F64(v)) = (self.plain, self.values) {
            // a pixel's own values (the common case): a copy
            out.copy_from_slice(&v[start..start + out.len()]);
            return out;
        }
        if let (true, Values::F64(v)) = (self.raw, self.values) {
            // float64 values as they are, a stride apart (the lanes of a window's pixels)
            for (k, o) in out.iter_mut().enumerate() {
                *o = v[start + k * step];
            }
            return out;
        }
        macro_rules! fill {
            ($v:expr) => {
                for (k, o) in out.iter_mut().enumerate() {
                    *o = c.value(f64::from($v[start + k * step]));
                }
            };
        }
        with_values!(self.values, v => fill!(v));
        out
    }
}

/// Bands of a window as read: `months` rows of `width` values (row-major, a row one month of
/// every window pixel; rows may be longer than the window, see the pipeline's reader).
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    values: Values<'a>,
    width: usize,
    months: usize,
    conversion: Conversion,
}

impl<'a> Window<'a> {
    /// `months` rows of `width` values.
    pub fn new(
        values: Values<'a>,
        width: usize,
        months: usize,
        conversion: Conversion,
    ) -> std::result::Result<Self, OutOfBounds> {
        match width.checked_mul(months) {
            Some(k) if k <= values.len() => Ok(Window {
                values,
                width,
                months,
                conversion,
            }),
            _ => Err(OutOfBounds {
                first: 0,
                stride: width,
                months,
                len: values.len(),
            }),
        }
    }

    /// Months (rows).
    pub fn months(&self) -> usize {
        self.months
    }

    /// The series of window pixel `p` (< width; panics otherwise).
    pub fn pixel(&self, p: usize) -> Series<'a> {
        assert!(p < self.width, "pixel {p} of a window of {}", self.width);
        Series::strided(self.values, p, self.width, self.months, self.conversion)
            .expect("within the window")
    }

    /// Asks for the values of `pixels` to be brought into cache (a hint for a later
    /// [`Window::gather_lanes`] of them: a pixel's months lie a row apart, where the hardware does
    /// not look ahead). The first and last pixels' values of every row.
    pub fn prefetch(&self, pixels: &[usize]) {
        let (Some(&a), Some(&b)) = (pixels.first(), pixels.last()) else {
            return;
        };
        if a >= self.width || b >= self.width {
            return;
        }
        macro_rules! hint {
            ($v:expr) => {
                for m in 0..self.months {
                    let row = m * self.width;
                    prefetch_value(&$v[row + a]);
                    prefetch_value(&$v[row + b]);
                }
            };
        }
        with_values!(self.values, v => hint!(v));
    }

    /// The series of `pixels` into `out`, laid out as the lanes of the warm-up kernel read
    /// them: the pixels in groups of `lanes` (the last one shorter), each group month-major,
    /// `lanes` values a month (pixel `k`'s month `j` at `(k / lanes) * lanes * months + j *
    /// lanes + k % lanes`; `out` holds `pixels.len().div_ceil(lanes) * lanes * months`
    /// values, those of the last group's missing pixels untouched). Read month by month, each
    /// row of the window once for all of them (a pixel's months lie a row apart) and, for a
    /// run of neighbouring pixels (the common case), as one slice: the window is month-major
    /// as the lanes are, so that every value is converted and written once, in its place.
    /// Panics when a pixel is outside the window, `lanes` is 0 or `out` is too short.
    pub fn gather_lanes(&self, pixels: &[usize], lanes: usize, out: &mut [f64]) {
        let months = self.months;
        assert!(lanes > 0, "no lanes");
        let out = &mut out[..pixels.len().div_ceil(lanes) * lanes * months];
        assert!(
            pixels.iter().all(|&p| p < self.width),
            "pixel outside the window"
        );
        if pixels.is_empty() {
            return;
        }
        let (width, c) = (self.width, self.conversion);
        with_values!(self.values, v => gather_dispatch(v, width, months, c, pixels, lanes, out));
    }
}

/// Rows a few months ahead of [`gather_lanes`]' reading are asked for: the hardware does not
/// look a row ahead.
const AHEAD: usize = 40;

/// The loop of [`Window::gather_lanes`] over the `months` rows of `width` values `v` (checked
/// there; `pixels` not empty), compiled for the CPU's vectors (a run of neighbours converted
/// a vector at a time).
#[inline(always)]
fn gather_lanes<T: Stored>(
    v: &[T],
    width: usize,
    months: usize,
    c: Conversion,
    pixels: &[usize],
    lanes: usize,
    out: &mut [f64],
) {
    let (first, last) = (pixels[0], pixels[pixels.len() - 1]);
    let run = pixels.iter().enumerate().all(|(k, &p)| p == first + k);
    let from = |g: usize| first + g * lanes;
    // every cache line of a row between the first and the last pixel where the pixels are
    // most of them (a block's modelled pixels: neighbours but for the pixels not modelled),
    // else the first and last pixels' (a row is a new page: the hardware does not fetch it
    // ahead, and its lines are met one row at a time)
    let line = (64 / std::mem::size_of::<T>()).max(1);
    let dense = last.abs_diff(first) < 2 * pixels.len();
    let step = if dense { line } else { usize::MAX };
    let (first, last) = (first.min(last), first.max(last));
    for j in 0..months {
        if j + AHEAD < months {
            let next = (j + AHEAD) * width;
            for p in (first..last).step_by(step) {
                prefetch_value(&v[next + p]);
            }
            prefetch_value(&v[next + last]);
        }
        let row = &v[j * width..(j + 1) * width];
        for (g, group) in pixels.chunks(lanes).enumerate() {
            let at = g * lanes * months + j * lanes;
            let dst = &mut out[at..at + group.len()];
            if run {
                // 8 values at a time (a fixed count: converted as vectors), then the rest
                let src = &row[from(g)..from(g) + group.len()];
                let (mut d8, mut s8) = (dst.chunks_exact_mut(8), src.chunks_exact(8));
                for (d, s) in (&mut d8).zip(&mut s8) {
                    let (d, s): (&mut [f64; 8], &[T; 8]) =
                        (d.try_into().expect("8"), s.try_into().expect("8"));
                    for (o, x) in d.iter_mut().zip(s) {
                        *o = c.value((*x).into());
                    }
                }
                for (o, x) in d8.into_remainder().iter_mut().zip(s8.remainder()) {
                    *o = c.value((*x).into());
                }
            } else {
                for (o, &p) in dst.iter_mut().zip(group) {
                    *o = c.value(row[p].into());
                }
            }
        }
    }
}

simd_dispatch! {
    fn gather_dispatch[T: Stored](
        v: &[T],
        width: usize,
        months: usize,
        c: Conversion,
        pixels: &[usize],
        lanes: usize,
        out: &mut [f64],
    ) -> () => gather_lanes[T]
}

/// The indices `pixels` of pixels of a window of `width` pixels, checked (an error naming
/// `argument` for one outside).
pub fn window_pixels(argument: &str, pixels: &[i64], width: usize) -> Result<Vec<usize>> {
    pixels
        .iter()
        .map(|&p| match usize::try_from(p) {
            Ok(i) if i < width => Ok(i),
            _ => Err(CoreError::shape(
                argument,
                format!("index {p} outside the window's {width} pixels"),
            )),
        })
        .collect()
}

/// A monthly series of every pixel of a block: (n, months) float64 rows, pixel i in row i, or
/// the bands of a window as read, pixel i at window pixel `pixels[i]`.
#[derive(Debug, Clone, Copy)]
pub enum SeriesColumn<'a> {
    /// (n, months) float64, row-major.
    Rows {
        /// The values, pixel after pixel.
        values: &'a [f64],
        /// Months of a pixel.
        months: usize,
    },
    /// Bands of a window.
    Window {
        /// The bands as read.
        window: Window<'a>,
        /// The window pixel of each pixel ([`window_pixels`]).
        pixels: &'a [usize],
    },
}

impl<'a> SeriesColumn<'a> {
    /// `values` of pixels of `months` months each, one after the other.
    pub fn rows(argument: &str, values: &'a [f64], months: usize) -> Result<Self> {
        if months == 0 || !values.len().is_multiple_of(months) {
            return Err(CoreError::shape(
                argument,
                format!(
                    "{} values, not whole pixels of {months} months",
                    values.len()
                ),
            ));
        }
        Ok(SeriesColumn::Rows { values, months })
    }

    /// The `months` rows of `width` values of a window (as [`Window::new`]) and the window
    /// pixel of each pixel.
    pub fn window(
        argument: &str,
        values: Values<'a>,
        width: usize,
        months: usize,
        conversion: Conversion,
        pixels: &'a [usize],
    ) -> Result<Self> {
        let window = Window::new(values, width, months, conversion)
            .map_err(|e| CoreError::shape(argument, e.to_string()))?;
        if let Some(p) = pixels.iter().find(|&&p| p >= width) {
            return Err(CoreError::shape(
                format!("{argument}.pixels"),
                format!("index {p} outside the window's {width} pixels"),
            ));
        }
        Ok(SeriesColumn::Window { window, pixels })
    }

    /// Number of pixels.
    pub fn pixels(&self) -> usize {
        match self {
            SeriesColumn::Rows { values, months } => values.len() / months,
            SeriesColumn::Window { pixels, .. } => pixels.len(),
        }
    }

    /// Months of every pixel.
    pub fn months(&self) -> usize {
        match self {
            SeriesColumn::Rows { months, .. } => *months,
            SeriesColumn::Window { window, .. } => window.months(),
        }
    }

    /// Whether it holds `n` pixels of `months` months (an error naming `argument` if not).
    pub fn expect(&self, argument: &str, n: usize, months: usize) -> Result<()> {
        if self.pixels() != n || self.months() != months {
            return Err(CoreError::shape(
                argument,
                format!(
                    "{} pixels of {} months, expected {n} of {months}",
                    self.pixels(),
                    self.months()
                ),
            ));
        }
        Ok(())
    }

    /// Makes pixels `first..first + m` ready for [`SeriesColumn::pixel`]: a window's are read
    /// into `scratch` once, as the warm-up's kernel reads them (groups of `lanes` pixels,
    /// month-major: [`Window::gather_lanes`]); rows are used where they are.
    pub fn load(&self, first: usize, m: usize, lanes: usize, scratch: &mut Vec<f64>) {
        if let SeriesColumn::Window { window, pixels } = self {
            scratch.resize(m.div_ceil(lanes) * lanes * window.months(), 0.0);
            window.gather_lanes(&pixels[first..first + m], lanes, scratch);
        }
    }

    /// Asks for pixels `first..first + m` (those that exist) to be brought into cache, for a
    /// later [`SeriesColumn::load`].
    pub fn prefetch(&self, first: usize, m: usize) {
        if let SeriesColumn::Window { window, pixels } = self {
            let to = (first + m).min(pixels.len());
            if first < to {
                window.prefetch(&pixels[first..to]);
            }
        }
    }

    /// The series of pixel `first + k` after [`SeriesColumn::load`] of `first..` with `lanes`
    /// into `scratch` (a window's: `lanes` values apart, [`Series::as_strided`]).
    pub fn pixel<'s>(
        &'s self,
        first: usize,
        k: usize,
        lanes: usize,
        scratch: &'s [f64],
    ) -> Series<'s> {
        match self {
            SeriesColumn::Rows { values, months } => {
                let i = first + k;
                Series::from(&values[i * months..(i + 1) * months])
            }
            SeriesColumn::Window { window, .. } => {
                let months = window.months();
                let at = (k / lanes) * lanes * months + k % lanes;
                Series::strided(
                    Values::F64(scratch),
                    at,
                    lanes,
                    months,
                    Conversion::IDENTITY,
                )
                .expect("a pixel loaded")
            }
        }
    }
}

impl<'a> From<&'a [f64]> for Series<'a> {
    /// A pixel's own float64 values, as they are.
    fn from(values: &'a [f64]) -> Self {
        Series {
            values: Values::F64(values),
            first: 0,
            stride: 1,
            months: values.len(),
            conversion: Conversion::IDENTITY,
            plain: true,
            raw: true,
        }
    }
}

impl<'a> From<&'a Vec<f64>> for Series<'a> {
    fn from(values: &'a Vec<f64>) -> Self {
        Series::from(values.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_series_is_the_values() {
        let v: Vec<f64> = (0..24).map(|k| k as f64 * 0.5 - 3.0).collect();
        let s = Series::from(&v);
        assert_eq!(s.len(), 24);
        assert_eq!(s.to_vec(), v);
        assert_eq!(s.year(1)[..], v[12..]);
        assert_eq!(s.month(5), v[5]);
    }

    #[test]
    fn band_major_window_with_scale_offset_and_nodata() {
        // 3 bands of a 4-pixel window, int16 x10 with nodata -999, pixel 2 read
        let raw: [i16; 12] = [1, 2, 35, 4, 5, 6, -999, 8, 9, 10, -123, 12];
        let c = Conversion {
            scale: 0.1,
            offset: 1.5,
            nodata: Some(-999.0),
            round_f32: false,
        };
        let s = Series::strided(Values::I16(&raw), 2, 4, 3, c).unwrap();
        let got = s.to_vec();
        assert_eq!(got[0], 35.0 * 0.1 + 1.5);
        assert!(got[1].is_nan());
        assert_eq!(got[2], -123.0 * 0.1 + 1.5);
    }

    #[test]
    fn rounding_and_negative_zero_as_numpy() {
        let raw: [f32; 2] = [-0.0, 0.1];
        let c = Conversion {
            scale: 0.1,
            offset: 0.0,
            nodata: None,
            round_f32: true,
        };
        let s = Series::strided(Values::F32(&raw), 0, 1, 2, c).unwrap();
        let got = s.to_vec();
        assert!(got[0] == 0.0 && got[0].is_sign_negative());
        assert_eq!(got[1], (f64::from(0.1f32) * 0.1) as f32 as f64);
    }

    #[test]
    fn window_gather_is_every_pixel_series() {
        // 5 months of a window of 6 pixels in rows of 8 (padded)
        let raw: Vec<u16> = (0..40).map(|k| (k * 7 % 23) as u16).collect();
        let c = Conversion {
            scale: 0.5,
            offset: -1.0,
            nodata: Some(14.0),
            round_f32: false,
        };
        let w = Window::new(Values::U16(&raw), 8, 5, c).unwrap();
        // scattered pixels, and a run of neighbours (read as slices)
        for pixels in [&[4, 1, 5, 5][..], &[0, 1, 2, 3, 4, 5][..]] {
            let mut out = vec![0.0; pixels.len() * 5];
            w.gather_lanes(pixels, 1, &mut out);
            for (k, &p) in pixels.iter().enumerate() {
                let want = w.pixel(p).to_vec();
                for m in 0..5 {
                    let got = out[k * 5 + m];
                    assert!(got == want[m] || (got.is_nan() && want[m].is_nan()));
                }
            }
            assert!(out.iter().any(|x| x.is_nan()));
        }
        assert!(Window::new(Values::U16(&raw), 8, 6, c).is_err());
    }

    #[test]
    fn window_gather_in_lanes_is_every_pixel_series() {
        // groups of 1, 3, 4 and 16 lanes (a shorter last group, one group of fewer pixels than
        // lanes): pixel k's month j at (k / lanes) lanes months + j lanes + k % lanes, bit for
        // bit the pixel's series; the missing pixels' places untouched; the column's series of
        // each pixel the same; scattered pixels and a run of neighbours
        let months = 29;
        let raw: Vec<f32> = (0..10 * months).map(|k| k as f32 * 0.25 - 7.0).collect();
        let c = Conversion {
            scale: 0.1,
            offset: 0.0,
            nodata: Some(-6.0),
            round_f32: false,
        };
        let w = Window::new(Values::F32(&raw), 10, months, c).unwrap();
        for lanes in [1, 3, 4, 16] {
            for pixels in [&[6, 0, 3, 3, 9][..], &[2, 3, 4, 5, 6, 7][..]] {
                let len = pixels.len().div_ceil(lanes) * lanes * months;
                let mut out = vec![f64::INFINITY; len];
                w.gather_lanes(pixels, lanes, &mut out);
                let mut placed = vec![false; len];
                for (k, &p) in pixels.iter().enumerate() {
                    let want = w.pixel(p).to_vec();
                    for (j, x) in want.iter().enumerate() {
                        let at = (k / lanes) * lanes * months + j * lanes + k % lanes;
                        assert_eq!(out[at].to_bits(), x.to_bits(), "lanes {lanes} pixel {p}");
                        placed[at] = true;
                    }
                }
                assert!(out
                    .iter()
                    .zip(&placed)
                    .all(|(x, p)| *p || *x == f64::INFINITY));
                // (window pixel 4's first month is the nodata value)
                assert_eq!(out.iter().any(|x| x.is_nan()), pixels.contains(&4));
                let column = SeriesColumn::window("s", Values::F32(&raw), 10, months, c, pixels);
                let column = column.unwrap();
                let mut scratch = Vec::new();
                column.load(0, pixels.len(), lanes, &mut scratch);
                for (k, &p) in pixels.iter().enumerate() {
                    let got = column.pixel(0, k, lanes, &scratch);
                    let want = w.pixel(p);
                    let bits = |s: &Series<'_>| s.to_vec().iter().map(|x| x.to_bits()).collect();
                    let (g, x): (Vec<u64>, Vec<u64>) = (bits(&got), bits(&want));
                    assert_eq!(g, x, "lanes {lanes} pixel {p}");
                    assert_eq!(got.year(1).map(f64::to_bits)[..], x[12..24]);
                    assert_eq!(got.as_strided().map(|(_, _, s)| s), Some(lanes));
                }
            }
        }
    }

    #[test]
    fn out_of_bounds_is_an_error() {
        let raw = [0.0f64; 10];
        assert!(Series::strided(Values::F64(&raw), 2, 4, 3, Conversion::IDENTITY).is_err());
        assert!(Series::strided(Values::F64(&raw), 1, 4, 3, Conversion::IDENTITY).is_ok());
        assert!(Series::strided(Values::F64(&raw), 10, 4, 0, Conversion::IDENTITY).is_ok());
        assert!(Series::strided(Values::F64(&raw), 11, 4, 0, Conversion::IDENTITY).is_err());
        assert!(
            Series::strided(Values::F64(&raw), 0, usize::MAX, 3, Conversion::IDENTITY).is_err()
        );
    }
}
