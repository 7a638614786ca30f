//! Affine maps of the active pools over months and years ([`YearMap`]; `L` of them side by
//! side, [`YearMaps`]): the closed-form forward runs and the exact equilibria compose them.

use super::modifiers::Soil;
use super::pools::{Partition, BIO, DPM, HUM, RPM};
use super::step::{decay_factor_lanes, decay_factors};

/// The affine map C -> phi C + g of the four active pools over one or more months
/// (rows and columns DPM, RPM, BIO, HUM; inputs in t C/ha).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearMap {
    /// Linear part.
    pub phi: [[f64; 4]; 4],
    /// Translation: the pools reached from empty pools.
    pub g: [f64; 4],
    /// Whole years composed into the map (months / 12), for bookkeeping.
    pub years: usize,
    /// Months composed into the map.
    pub months: usize,
}

impl Default for YearMap {
    fn default() -> Self {
        Self::identity()
    }
}

impl YearMap {
    /// The map that changes nothing.
    pub fn identity() -> Self {
        let mut phi = [[0.0; 4]; 4];
        for (i, row) in phi.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        Self {
            phi,
            g: [0.0; 4],
            years: 0,
            months: 0,
        }
    }

    /// The map of one month at `rate`, with end-of-month inputs `input` (DPM, RPM, BIO, HUM).
    pub fn month(soil: &Soil, rate: f64, input: [f64; 4]) -> Self {
        let p = &soil.partition;
        let mut phi = [[0.0; 4]; 4];
        let decay = decay_factors(rate);
        for j in 0..4 {
            let e = decay[j];
            let d = 1.0 - e;
            phi[j][j] = e;
            phi[BIO][j] += p.bio * d;
            phi[HUM][j] += p.hum * d;
        }
        Self {
            phi,
            g: input,
            years: 0,
            months: 1,
        }
    }

    /// Appends one month at `rate` with end-of-month inputs `input` (t C/ha to DPM, RPM, BIO,
    /// HUM) to the map, in place: `*self = self.then(&YearMap::month(soil, rate, input))`
    /// without the full matrix product (a month only scales each pool and moves decomposed
    /// carbon to BIO and HUM), equal to it within rounding.
    #[inline]
    pub fn push_month(&mut self, soil: &Soil, rate: f64, input: [f64; 4]) {
        let mut lanes = YearMaps::<1>::from_lanes(std::array::from_ref(self));
        lanes.push_month(&[soil.partition], &[rate], &input.map(|v| [v]));
        *self = YearMap {
            months: self.months + 1,
            years: (self.months + 1) / 12,
            ..lanes.lane(0)
        };
    }

    /// `next` applied after `self`.
    #[inline]
    pub fn then(&self, next: &YearMap) -> Self {
        let months = self.months + next.months;
        let one = |m: &YearMap| YearMaps::<1>::from_lanes(std::array::from_ref(m));
        YearMap {
            years: months / 12,
            months,
            ..one(self).then(&one(next)).lane(0)
        }
    }

    /// Applies the map to active pools `c` with the translation scaled by `scale` (the
    /// translation being the response to a unit input).
    pub fn apply_scaled(&self, c: [f64; 4], scale: f64) -> [f64; 4] {
        let mut out = [0.0; 4];
        for (i, o) in out.iter_mut().enumerate() {
            let mut v = self.g[i] * scale;
            for (k, ck) in c.iter().enumerate() {
                v += self.phi[i][k] * ck;
            }
            *o = v;
        }
        out
    }

    /// Applies the map to active pools `c`.
    pub fn apply(&self, c: [f64; 4]) -> [f64; 4] {
        let mut out = self.g;
        for (i, o) in out.iter_mut().enumerate() {
            for (k, ck) in c.iter().enumerate() {
                *o += self.phi[i][k] * ck;
            }
        }
        out
    }

    /// The fixed point C = phi C + g (see [`YearMaps::fixed_point`]).
    pub fn fixed_point(&self) -> [f64; 4] {
        YearMaps::<1>::from_lanes(std::array::from_ref(self))
            .fixed_point()
            .map(|[v]| v)
    }
}

/// `L` affine maps of the active pools side by side (entry `[..][l]` belongs to map `l`): the
/// operations of [`YearMap`] on all lanes at once, vectorised across the lanes, with the same
/// bits lane by lane ([`YearMap`]'s own operations are these with one lane).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearMaps<const L: usize> {
    /// Linear parts.
    pub phi: [[[f64; L]; 4]; 4],
    /// Translations.
    pub g: [[f64; L]; 4],
}

impl<const L: usize> YearMaps<L> {
    /// `L` maps that change nothing.
    #[inline(always)]
    pub fn identity() -> Self {
        let mut phi = [[[0.0; L]; 4]; 4];
        for (i, row) in phi.iter_mut().enumerate() {
            row[i] = [1.0; L];
        }
        Self {
            phi,
            g: [[0.0; L]; 4],
        }
    }

    /// The maps `maps` side by side.
    #[inline(always)]
    pub fn from_lanes(maps: &[YearMap; L]) -> Self {
        Self {
            phi: std::array::from_fn(|i| std::array::from_fn(|j| maps.map(|m| m.phi[i][j]))),
            g: std::array::from_fn(|i| maps.map(|m| m.g[i])),
        }
    }

    /// Map `l` (its month count left at 0).
    #[inline(always)]
    pub fn lane(&self, l: usize) -> YearMap {
        YearMap {
            phi: self.phi.map(|row| row.map(|v| v[l])),
            g: self.g.map(|v| v[l]),
            years: 0,
            months: 0,
        }
    }

    /// Each lane `l` replaced by `other`'s where `take[l]`.
    #[inline(always)]
    pub fn take_lanes(&mut self, other: &Self, take: &[bool; L]) {
        for (row, other) in self.phi.iter_mut().zip(&other.phi) {
            for (v, o) in row.iter_mut().zip(other) {
                for l in 0..L {
                    v[l] = if take[l] { o[l] } else { v[l] };
                }
            }
        }
        for (v, o) in self.g.iter_mut().zip(&other.g) {
            for l in 0..L {
                v[l] = if take[l] { o[l] } else { v[l] };
            }
        }
    }

    /// Appends one month of each lane at `rate` with end-of-month inputs `input` (t C/ha to
    /// DPM, RPM, BIO, HUM), decomposed carbon going to BIO and HUM by `partition`: in place,
    /// `self.then(&YearMap::month(..))` without the full matrix product, equal to it within
    /// rounding.
    #[inline(always)]
    pub fn push_month(
        &mut self,
        partition: &[Partition; L],
        rate: &[f64; L],
        input: &[[f64; L]; 4],
    ) {
        let e = decay_factor_lanes(rate);
        // carbon decomposed this month from each column (and from the translation)
        let mut moved = [[0.0; L]; 4];
        let mut moved_g = [0.0; L];
        for ((e, row), g) in e.iter().zip(&self.phi).zip(&self.g) {
            for l in 0..L {
                let d = 1.0 - e[l];
                for (m, phi) in moved.iter_mut().zip(row) {
                    m[l] += d * phi[l];
                }
                moved_g[l] += d * g[l];
            }
        }
        for i in 0..4 {
            for l in 0..L {
                let share = match i {
                    BIO => partition[l].bio,
                    HUM => partition[l].hum,
                    _ => 0.0,
                };
                for (phi, m) in self.phi[i].iter_mut().zip(&moved) {
                    phi[l] = e[i][l] * phi[l] + share * m[l];
                }
                self.g[i][l] = e[i][l] * self.g[i][l] + share * moved_g[l] + input[i][l];
            }
        }
    }

    /// `next` applied after `self`, lane by lane.
    #[inline(always)]
    pub fn then(&self, next: &Self) -> Self {
        let mut out = Self {
            phi: [[[0.0; L]; 4]; 4],
            g: next.g,
        };
        for i in 0..4 {
            for j in 0..4 {
                for l in 0..L {
                    let mut s = 0.0;
                    for k in 0..4 {
                        s += next.phi[i][k][l] * self.phi[k][j][l];
                    }
                    out.phi[i][j][l] = s;
                }
            }
            for l in 0..L {
                for k in 0..4 {
                    out.g[i][l] += next.phi[i][k][l] * self.g[k][l];
                }
            }
        }
        out
    }

    /// Each lane's map composed `k[l]` times (k >= 0), by squaring.
    #[inline(always)]
    pub fn power(&self, k: &[usize; L]) -> Self {
        let (mut result, mut base, mut k) = (Self::identity(), *self, *k);
        while k.iter().any(|&k| k > 0) {
            let odd = k.map(|k| k & 1 == 1);
            result.take_lanes(&result.then(&base), &odd);
            k = k.map(|k| k >> 1);
            base.take_lanes(&base.then(&base), &k.map(|k| k > 0));
        }
        result
    }

    /// The fixed point C = phi C + g of each lane. DPM and RPM do not receive carbon from other
    /// pools, so phi is block lower-triangular: two scalar equations, then a 2x2 system.
    #[inline(always)]
    pub fn fixed_point(&self) -> [[f64; L]; 4] {
        let (phi, g) = (&self.phi, &self.g);
        let mut c = [[0.0; L]; 4];
        for l in 0..L {
            let dpm = g[DPM][l] / (1.0 - phi[DPM][DPM][l]);
            let rpm = g[RPM][l] / (1.0 - phi[RPM][RPM][l]);
            let r_bio = g[BIO][l] + phi[BIO][DPM][l] * dpm + phi[BIO][RPM][l] * rpm;
            let r_hum = g[HUM][l] + phi[HUM][DPM][l] * dpm + phi[HUM][RPM][l] * rpm;
            let (a11, a12) = (1.0 - phi[BIO][BIO][l], -phi[BIO][HUM][l]);
            let (a21, a22) = (-phi[HUM][BIO][l], 1.0 - phi[HUM][HUM][l]);
            let det = a11 * a22 - a12 * a21;
            c[DPM][l] = dpm;
            c[RPM][l] = rpm;
            c[BIO][l] = (r_bio * a22 - a12 * r_hum) / det;
            c[HUM][l] = (a11 * r_hum - a21 * r_bio) / det;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rothc::pools::{split_fym, split_plant_input};
    use crate::rothc::step::step_month;
    use crate::rothc::testing::forcing;

    #[test]
    fn affine_map_equals_step() {
        let soil = Soil::new(25.0, 23.0, 0.75);
        let mut pools = [1.0, 5.0, 0.8, 30.0, 3.0];
        let mut tsmd = 0.0;
        let f = forcing();
        let start = [pools[0], pools[1], pools[2], pools[3]];
        let out = step_month(&mut pools, &mut tsmd, &soil, &f);
        let (d, r) = split_plant_input(f.plant_input, f.dpm_rpm);
        let (fd, fr, fh) = split_fym(f.fym_input);
        let map = YearMap::month(&soil, out.rate, [d + fd, r + fr, 0.0, fh]);
        let mapped = map.apply(start);
        for i in 0..4 {
            assert!((mapped[i] - pools[i]).abs() <= 1e-14 * pools[i].abs().max(1.0));
        }
    }

    #[test]
    fn push_month_equals_the_matrix_product() {
        let soil = Soil::new(33.0, 23.0, 0.75);
        let mut full = YearMap::identity();
        let mut fast = YearMap::identity();
        for m in 0..30 {
            let rate = 0.2 + 0.37 * (m % 7) as f64;
            let input = [0.05 * (m % 3) as f64, 0.03, 0.0, 0.001 * (m % 2) as f64];
            full = full.then(&YearMap::month(&soil, rate, input));
            fast.push_month(&soil, rate, input);
            assert_eq!((fast.months, fast.years), (full.months, full.years));
            for i in 0..4 {
                for j in 0..4 {
                    assert!(
                        (fast.phi[i][j] - full.phi[i][j]).abs() <= 1e-14,
                        "month {m}"
                    );
                }
                assert!((fast.g[i] - full.g[i]).abs() <= 1e-14 * full.g[i].abs().max(1.0));
            }
        }
    }

    #[test]
    fn fixed_point_is_fixed() {
        let soil = Soil::new(40.0, 23.0, 0.75);
        let mut year = YearMap::identity();
        for m in 0..12 {
            let rate = 0.3 + 0.1 * m as f64;
            year = year.then(&YearMap::month(&soil, rate, [0.05, 0.03, 0.0, 0.001]));
        }
        let c = year.fixed_point();
        let again = year.apply(c);
        for i in 0..4 {
            assert!((again[i] - c[i]).abs() <= 1e-12 * c[i]);
        }
    }
}
