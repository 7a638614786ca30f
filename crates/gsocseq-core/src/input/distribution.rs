//! What the unit plausibility checks (METHOD.md section 2) read of an input quantity, counted in
//! fixed memory: a [`Histogram`] of 65,536 bins, the top 16 bits of each value's float32
//! pattern (every power of two cut into 128 bins of equal width, so that a quantile is known
//! within 0.4 % whatever the scale of the values), beside the exact count, minimum and maximum;
//! and, for monthly climate, the same of each pixel's annual mean or sum. The quantiles and the
//! checks themselves are `gsocseq.plausibility`'s.

use ndarray::{ArrayView2, Axis};

use crate::error::{CoreError, Result};
use crate::input::gather::PixelStatus;
use crate::parallel;

/// Bins of a [`Histogram`]: one per value of the top 16 bits of a float32.
pub const BINS: usize = 1 << 16;

/// Values counted per piece of work of [`read`] (its pieces are counted side by side, then
/// added up: the same counts on any number of threads).
const PIECE_VALUES: usize = 1 << 20;
/// Pieces of [`read`] at most (each holds its own histograms, 512 KiB each).
const MAX_PIECES: usize = 16;

/// Count, exact minimum and maximum, and binned counts of finite values.
#[derive(Debug, Clone, PartialEq)]
pub struct Histogram {
    /// Values in each bin, by [`Histogram::key`].
    pub counts: Vec<u64>,
    /// Values counted.
    pub count: u64,
    /// The smallest value counted (+inf when none).
    pub low: f64,
    /// The largest value counted (-inf when none).
    pub high: f64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BINS],
            count: 0,
            low: f64::INFINITY,
            high: f64::NEG_INFINITY,
        }
    }
}

impl Histogram {
    /// The bin of `v`: the top 16 bits of its float32 pattern (rounded to nearest, ties to
    /// even; beyond float32's range, the bin of +-inf).
    #[inline]
    pub fn key(v: f64) -> usize {
        ((v as f32).to_bits() >> 16) as usize
    }

    /// Counts the finite value `v`.
    #[inline]
    pub fn add(&mut self, v: f64) {
        self.counts[Self::key(v)] += 1;
        self.count += 1;
        self.low = self.low.min(v);
        self.high = self.high.max(v);
    }

    /// Adds the counts of `other`.
    pub fn merge(&mut self, other: &Histogram) {
        for (c, o) in self.counts.iter_mut().zip(&other.counts) {
            *c += o;
        }
        self.count += other.count;
        self.low = self.low.min(other.low);
        self.high = self.high.max(other.high);
    }
}

/// The figure of a year of 12 monthly values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Annual {
    /// The mean of the 12 months (temperature): their sum / 12.
    Mean,
    /// The sum of the 12 months (precipitation, PET).
    Sum,
}

spelled!(
    Annual,
    "annual",
    "'mean', 'sum'",
    [Mean = "mean", Sum = "sum"]
);

/// The sum of 12 months `month(0..12)` in the order numpy's `add.reduceat` adds them (numpy
/// 2: the first month plus the pairwise sum of the other 11, eight of them as a tree and the
/// last three one by one), so that the annual figures are the ones the numpy counting gave,
/// bit for bit.
#[inline]
pub fn year_sum(month: impl Fn(usize) -> f64) -> f64 {
    let m = month;
    let tree = ((m(1) + m(2)) + (m(3) + m(4))) + ((m(5) + m(6)) + (m(7) + m(8)));
    m(0) + (((tree + m(9)) + m(10)) + m(11))
}

/// What was read of one quantity: (n, bands) `values` of n pixels (any strides) and each
/// pixel's `status` of the invalid-input checks ([`PixelStatus`] as u8; None: every pixel
/// valid). Every finite value
/// is counted (nodata and +-inf are not); with `annual` and whole years of 12 bands, each year
/// of each valid pixel ([`PixelStatus::Ok`]) too, its 12 months added by [`year_sum`] (/ 12 for
/// [`Annual::Mean`]).
pub fn read(
    values: ArrayView2<'_, f64>,
    status: Option<&[u8]>,
    annual: Option<Annual>,
) -> Result<(Histogram, Option<Histogram>)> {
    let (n, bands) = values.dim();
    if let Some(s) = status.filter(|s| s.len() != n) {
        let message = format!("{} statuses for {n} pixels", s.len());
        return Err(CoreError::shape("status", message));
    }
    let valid = |i: usize| status.is_none_or(|s| s[i] == PixelStatus::Ok as u8);
    let annual = annual.filter(|_| bands > 0 && bands % 12 == 0);
    let per_piece = PIECE_VALUES.div_ceil(bands.max(1));
    let pieces = n.div_ceil(per_piece.max(1)).clamp(1, MAX_PIECES);
    let rows = n.div_ceil(pieces).max(1);
    let mut counted: Vec<(Histogram, Histogram)> = vec![Default::default(); pieces];
    let items: Vec<_> = counted.iter_mut().enumerate().collect();
    parallel::for_each(items, |(k, (all, years))| {
        let end = ((k + 1) * rows).min(n);
        for i in (k * rows).min(end)..end {
            let row = values.index_axis(Axis(0), i);
            for &v in row.iter().filter(|v| v.is_finite()) {
                all.add(v);
            }
            if let (Some(how), true) = (annual, valid(i)) {
                let months = row.as_slice();
                for y in 0..bands / 12 {
                    let month = |m: usize| match months {
                        Some(s) => s[12 * y + m],
                        None => row[12 * y + m],
                    };
                    let sum = year_sum(month);
                    years.add(if how == Annual::Mean { sum / 12.0 } else { sum });
                }
            }
        }
    });
    let (mut all, mut years) = counted.pop().expect("a piece");
    for (a, y) in &counted {
        all.merge(a);
        years.merge(y);
    }
    Ok((all, annual.map(|_| years)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn a_values_bin_is_the_top_of_its_float32_pattern() {
        assert_eq!(Histogram::key(1.0), 0x3F80);
        assert_eq!(Histogram::key(-2.0), 0xC000);
        assert_eq!(Histogram::key(0.0), 0);
        // beyond float32's range: the bin of +-inf; rounded to nearest float32 first
        assert_eq!(Histogram::key(1e39), 0x7F80);
        assert_eq!(Histogram::key(-1e39), 0xFF80);
        let top = f64::from(f32::from_bits(0x3F80_FFFF)); // the last float32 of bin 0x3F80
        assert_eq!(Histogram::key(top + 0.25 * f64::from(f32::EPSILON)), 0x3F80);
        assert_eq!(Histogram::key(top + 0.75 * f64::from(f32::EPSILON)), 0x3F81);
    }

    #[test]
    fn a_year_is_summed_in_numpys_order() {
        // 1e16 + 1 rounds back to 1e16 (ulp 2): one by one the ones vanish, numpy's order
        // keeps their sum (11, rounded to even: + 12)
        let months = [1e16, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
        let one_by_one = months.iter().skip(1).fold(months[0], |a, &v| a + v);
        assert_eq!((one_by_one, year_sum(|m| months[m])), (1e16, 1e16 + 12.0));
    }

    /// Each pixel's values and years counted one by one, in order: what [`read`] must give.
    fn one_by_one(values: &Array2<f64>, status: &[u8], how: Annual) -> (Histogram, Histogram) {
        let (mut all, mut years) = (Histogram::default(), Histogram::default());
        for (row, &s) in values.rows().into_iter().zip(status) {
            row.iter()
                .filter(|v| v.is_finite())
                .for_each(|&v| all.add(v));
            if s == 0 {
                for year in row.exact_chunks(12) {
                    let sum = year_sum(|m| year[m]);
                    years.add(if how == Annual::Mean { sum / 12.0 } else { sum });
                }
            }
        }
        (all, years)
    }

    #[test]
    fn read_counts_finite_values_and_valid_years_on_any_number_of_pieces() {
        // 24 bands x 100,000 pixels: several pieces; NaN, inf and statuses mixed in
        let (n, bands) = (100_000, 24);
        let mut values = Array2::from_shape_fn((n, bands), |(i, b)| {
            ((i * 7919 + b * 104_729) % 100_003) as f64 * 0.37 - 9_000.0
        });
        let mut status = vec![0u8; n];
        for i in (0..n).step_by(97) {
            values[[i, i % bands]] = f64::NAN;
            status[i] = 2;
        }
        for i in (5..n).step_by(1_013) {
            values[[i, 3]] = f64::INFINITY;
            status[i] = 3;
        }
        for how in [Annual::Mean, Annual::Sum] {
            let (all, years) = read(values.view(), Some(&status), Some(how)).unwrap();
            let (one_all, one_years) = one_by_one(&values, &status, how);
            assert_eq!(all, one_all);
            assert_eq!(years.unwrap(), one_years);
        }
        assert!(PIECE_VALUES.div_ceil(bands) < n, "several pieces");
        // a transposed view reads the same; no status: every pixel valid; no years
        let t = values.t().to_owned();
        let (all, years) = read(t.t(), None, None).unwrap();
        assert_eq!(
            (all.count, years),
            (one_by_one(&values, &status, Annual::Sum).0.count, None)
        );
        let e = read(values.view(), Some(&status[1..]), None).unwrap_err();
        assert_eq!(e.to_string(), "status: 99999 statuses for 100000 pixels");
        // whole years only
        let (_, years) =
            read(values.slice(ndarray::s![.., ..13]), None, Some(Annual::Sum)).unwrap();
        assert!(years.is_none());
        assert_eq!("mean".parse::<Annual>().unwrap(), Annual::Mean);
    }
}
