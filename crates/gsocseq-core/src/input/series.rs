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
        Ok(Series {
            values,
            first,
            stride,
            months,
            conversion,
            plain: matches!(values, Values::F64(_))
                && stride == 1
                && conversion == Conversion::IDENTITY,
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

/// Months (rows of a window) read together by [`Window::gather`]: a pixel's values of the
/// group fill one 64-byte cache line of its float64 series.
const GATHER_MONTHS: usize = 8;

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
    /// [`Window::gather`] of them: a pixel's months lie a row apart, where the hardware does
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

    /// The series of `pixels`, one after the other (pixel-major), into `out` (`pixels.len()
    /// x months` values): read month by month, so that every row is visited once for all of
    /// them (a pixel's months lie a row apart; reading them pixel by pixel would touch a new
    /// page at every month). Panics when a pixel is outside the window or `out` is too short.
    pub fn gather(&self, pixels: &[usize], out: &mut [f64]) {
        let (months, c) = (self.months, self.conversion);
        let out = &mut out[..pixels.len() * months];
        assert!(
            pixels.iter().all(|&p| p < self.width),
            "pixel outside the window"
        );
        // a run of neighbouring pixels (the common case) is read as one slice of each row
        const AHEAD: usize = 40;
        let Some(&first) = pixels.first() else {
            return;
        };
        let run = pixels.iter().enumerate().all(|(k, &p)| p == first + k);
        let last = pixels[pixels.len() - 1];
        macro_rules! fill {
            ($v:expr) => {{
                // GATHER_MONTHS rows at a time: each pixel's months of the group written as
                // one run (a cache line of float64), instead of one value a pass over the
                // pixels (the same values, in the same places)
                let mut m = 0;
                while m < months {
                    let group = (months - m).min(GATHER_MONTHS);
                    for j in m..m + group {
                        if j + AHEAD < months {
                            // rows a few months ahead: the hardware does not look a row ahead
                            let next = (j + AHEAD) * self.width;
                            prefetch_value(&$v[next + first]);
                            prefetch_value(&$v[next + last]);
                        }
                    }
                    let rows: [&[_]; GATHER_MONTHS] = std::array::from_fn(|j| {
                        let r = (m + j.min(group - 1)) * self.width;
                        &$v[r..r + self.width]
                    });
                    if run {
                        for k in 0..pixels.len() {
                            let dst = &mut out[k * months + m..k * months + m + group];
                            for (o, row) in dst.iter_mut().zip(&rows) {
                                *o = c.value(f64::from(row[first + k]));
                            }
                        }
                    } else {
                        for (k, &p) in pixels.iter().enumerate() {
                            let dst = &mut out[k * months + m..k * months + m + group];
                            for (o, row) in dst.iter_mut().zip(&rows) {
                                *o = c.value(f64::from(row[p]));
                            }
                        }
                    }
                    m += group;
                }
            }};
        }
        with_values!(self.values, v => fill!(v));
    }
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
    /// into `scratch` (m x months, month by month), rows are used where they are.
    pub fn load(&self, first: usize, m: usize, scratch: &mut Vec<f64>) {
        if let SeriesColumn::Window { window, pixels } = self {
            scratch.resize(m * window.months(), 0.0);
            window.gather(&pixels[first..first + m], scratch);
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

    /// The series of pixel `first + k` after [`SeriesColumn::load`] of `first..` into
    /// `scratch`.
    pub fn pixel<'s>(&'s self, first: usize, k: usize, scratch: &'s [f64]) -> Series<'s> {
        match self {
            SeriesColumn::Rows { values, months } => {
                let i = first + k;
                Series::from(&values[i * months..(i + 1) * months])
            }
            SeriesColumn::Window { window, .. } => {
                let months = window.months();
                Series::from(&scratch[k * months..(k + 1) * months])
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
            w.gather(pixels, &mut out);
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
    fn window_gather_by_groups_of_months_is_every_pixel_series() {
        // months in groups of GATHER_MONTHS and a shorter last group (8, 16, 21 months): every
        // value in its place, scattered pixels and a run of neighbours
        for months in [GATHER_MONTHS, 2 * GATHER_MONTHS, 2 * GATHER_MONTHS + 5] {
            let raw: Vec<f32> = (0..10 * months).map(|k| k as f32 * 0.25 - 7.0).collect();
            let c = Conversion {
                scale: 0.1,
                offset: 0.0,
                nodata: Some(-6.0),
                round_f32: false,
            };
            let w = Window::new(Values::F32(&raw), 10, months, c).unwrap();
            for pixels in [&[6, 0, 3, 3, 9][..], &[2, 3, 4, 5, 6, 7][..]] {
                let mut out = vec![f64::INFINITY; pixels.len() * months];
                w.gather(pixels, &mut out);
                for (k, &p) in pixels.iter().enumerate() {
                    let want = w.pixel(p).to_vec();
                    let got = &out[k * months..(k + 1) * months];
                    for (g, x) in got.iter().zip(&want) {
                        assert!(g.to_bits() == x.to_bits(), "months {months} pixel {p}");
                    }
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
