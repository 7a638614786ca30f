//! The monthly RothC step (official exact exponential update) and runs over many months.

use crate::modifiers::{is_bare, temperature_factor, Soil};
use crate::pools::{split_fym, split_plant_input, Pools, BIO, DPM, HUM, K, RPM};

/// One month of time, in years.
pub const MONTH: f64 = 1.0 / 12.0;

/// The forcing of one month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonthForcing {
    /// Mean air temperature, degrees C.
    pub temperature: f64,
    /// Precipitation, mm.
    pub precipitation: f64,
    /// Evaporation, mm (open pan or PET: see [`Soil::evap_coefficient`]).
    pub evaporation: f64,
    /// Cover rate factor c: 0.6 covered .. 1.0 bare.
    pub cover: f64,
    /// Plant carbon input entering at the end of the month, t C/ha.
    pub plant_input: f64,
    /// Farmyard manure carbon entering at the end of the month, t C/ha.
    pub fym_input: f64,
    /// DPM/RPM ratio of the plant input.
    pub dpm_rpm: f64,
    /// Extra multiplier of the decomposition rate (0.4 for paddy fields), 1 otherwise.
    pub rate_factor: f64,
}

/// What a month computed besides the new pools.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct MonthOutcome {
    /// Temperature factor a.
    pub a: f64,
    /// Moisture factor b.
    pub b: f64,
    /// Cover factor c.
    pub c: f64,
    /// Combined rate a b c x rate_factor.
    pub rate: f64,
    /// Accumulated topsoil moisture deficit after this month, mm.
    pub tsmd: f64,
    /// CO2-C released this month, t C/ha.
    pub co2: f64,
}

/// Rate modifiers of one month, updating the carried deficit `tsmd` (mm).
#[inline]
pub fn month_rate(soil: &Soil, tsmd: &mut f64, f: &MonthForcing) -> MonthOutcome {
    let a = temperature_factor(f.temperature);
    let water_balance = f.precipitation - soil.evap_coefficient * f.evaporation;
    *tsmd = soil
        .moisture
        .update_tsmd(*tsmd, water_balance, is_bare(f.cover));
    let b = soil.moisture.moisture_factor(*tsmd);
    let c = f.cover;
    MonthOutcome {
        a,
        b,
        c,
        rate: a * b * c * f.rate_factor,
        tsmd: *tsmd,
        co2: 0.0,
    }
}

/// Decomposes the active pools for one month at `rate` and adds the inputs at its end.
/// Returns the CO2-C released (t C/ha).
#[inline]
pub fn decompose(
    pools: &mut Pools,
    soil: &Soil,
    rate: f64,
    plant_input: f64,
    dpm_rpm: f64,
    fym_input: f64,
) -> f64 {
    let p = &soil.partition;
    // Same order of operations as the official programs, to the last bit where possible.
    let mut d = [0.0; 4];
    for i in [DPM, RPM, BIO, HUM] {
        let remaining = pools[i] * (-rate * K[i] * MONTH).exp();
        d[i] = pools[i] - remaining;
        pools[i] = remaining;
    }
    let co2 = d[DPM] * p.co2 + d[RPM] * p.co2 + d[BIO] * p.co2 + d[HUM] * p.co2;
    pools[BIO] = pools[BIO] + d[DPM] * p.bio + d[RPM] * p.bio + d[BIO] * p.bio + d[HUM] * p.bio;
    pools[HUM] = pools[HUM] + d[DPM] * p.hum + d[RPM] * p.hum + d[BIO] * p.hum + d[HUM] * p.hum;
    let (plant_dpm, plant_rpm) = split_plant_input(plant_input, dpm_rpm);
    let (fym_dpm, fym_rpm, fym_hum) = split_fym(fym_input);
    pools[DPM] = pools[DPM] + plant_dpm + fym_dpm;
    pools[RPM] = pools[RPM] + plant_rpm + fym_rpm;
    pools[HUM] += fym_hum;
    co2
}

/// One RothC month: modifiers, decomposition, inputs. Updates `pools` and `tsmd` in place.
#[inline]
pub fn step_month(
    pools: &mut Pools,
    tsmd: &mut f64,
    soil: &Soil,
    f: &MonthForcing,
) -> MonthOutcome {
    let mut out = month_rate(soil, tsmd, f);
    out.co2 = decompose(pools, soil, out.rate, f.plant_input, f.dpm_rpm, f.fym_input);
    out
}

/// Runs `months` months from `pools` and `tsmd`, the forcing of month `m` given by
/// `forcing(m)`; `observe(m, pools, outcome)` sees the state at the end of every month.
/// Returns the cumulative CO2-C released (t C/ha).
#[inline]
pub fn run<F, O>(
    pools: &mut Pools,
    tsmd: &mut f64,
    soil: &Soil,
    months: usize,
    forcing: F,
    mut observe: O,
) -> f64
where
    F: Fn(usize) -> MonthForcing,
    O: FnMut(usize, &Pools, &MonthOutcome),
{
    let mut co2 = 0.0;
    for m in 0..months {
        let out = step_month(pools, tsmd, soil, &forcing(m));
        co2 += out.co2;
        observe(m, pools, &out);
    }
    co2
}

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
        for j in 0..4 {
            let e = (-rate * K[j] * MONTH).exp();
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

    /// `next` applied after `self`.
    pub fn then(&self, next: &YearMap) -> Self {
        let months = self.months + next.months;
        let mut out = YearMap {
            phi: [[0.0; 4]; 4],
            g: next.g,
            years: months / 12,
            months,
        };
        for i in 0..4 {
            for j in 0..4 {
                let mut s = 0.0;
                for k in 0..4 {
                    s += next.phi[i][k] * self.phi[k][j];
                }
                out.phi[i][j] = s;
            }
            for k in 0..4 {
                out.g[i] += next.phi[i][k] * self.g[k];
            }
        }
        out
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

    /// The fixed point C = phi C + g. DPM and RPM do not receive carbon from other pools,
    /// so phi is block lower-triangular: two scalar equations, then a 2x2 system.
    pub fn fixed_point(&self) -> [f64; 4] {
        let phi = &self.phi;
        let dpm = self.g[DPM] / (1.0 - phi[DPM][DPM]);
        let rpm = self.g[RPM] / (1.0 - phi[RPM][RPM]);
        let r_bio = self.g[BIO] + phi[BIO][DPM] * dpm + phi[BIO][RPM] * rpm;
        let r_hum = self.g[HUM] + phi[HUM][DPM] * dpm + phi[HUM][RPM] * rpm;
        let (a11, a12) = (1.0 - phi[BIO][BIO], -phi[BIO][HUM]);
        let (a21, a22) = (-phi[HUM][BIO], 1.0 - phi[HUM][HUM]);
        let det = a11 * a22 - a12 * a21;
        let bio = (r_bio * a22 - a12 * r_hum) / det;
        let hum = (a11 * r_hum - a21 * r_bio) / det;
        [dpm, rpm, bio, hum]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pools::total;

    fn forcing() -> MonthForcing {
        MonthForcing {
            temperature: 12.0,
            precipitation: 40.0,
            evaporation: 80.0,
            cover: 0.6,
            plant_input: 0.3,
            fym_input: 0.1,
            dpm_rpm: 1.44,
            rate_factor: 1.0,
        }
    }

    #[test]
    fn mass_balance() {
        let soil = Soil::new(25.0, 23.0, 0.75);
        let mut pools = [1.0, 5.0, 0.8, 30.0, 3.0];
        let mut tsmd = 0.0;
        for _ in 0..30 {
            let before = total(&pools);
            let f = forcing();
            let out = step_month(&mut pools, &mut tsmd, &soil, &f);
            let after = total(&pools);
            let expected = before + f.plant_input + f.fym_input - out.co2;
            assert!((after - expected).abs() <= 1e-12 * after);
        }
    }

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
