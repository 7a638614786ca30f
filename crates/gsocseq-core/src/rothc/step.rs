//! The monthly RothC step (official exact exponential update): the rate modifiers of a month,
//! the decomposition with the inputs at its end.

use super::modifiers::{is_bare, temperature_factor, Soil};
use super::pools::{split_fym, split_plant_input, Pools, BIO, DPM, HUM, K, RPM};
use crate::simd::vmath;

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

/// The parts of [`month_rate`] that do not depend on the deficit, for the 12 months of a year
/// repeated many times (the forward climatology): computed once, then each month's rate from
/// the carried deficit with the same bits as [`month_rate`].
#[derive(Debug, Clone, Copy)]
pub struct YearRates {
    /// Temperature factor a.
    a: [f64; 12],
    /// Precipitation - coefficient x evaporation, mm.
    water_balance: [f64; 12],
    /// Cover factor c.
    cover: [f64; 12],
    /// Extra multiplier of the decomposition rate.
    rate_factor: [f64; 12],
}

impl YearRates {
    /// The months `forcing(0..12)` on `soil`.
    pub fn new(soil: &Soil, forcing: &dyn Fn(usize) -> MonthForcing) -> Self {
        let months: [MonthForcing; 12] = std::array::from_fn(forcing);
        Self {
            a: months.map(|f| temperature_factor(f.temperature)),
            water_balance: months.map(|f| f.precipitation - soil.evap_coefficient * f.evaporation),
            cover: months.map(|f| f.cover),
            rate_factor: months.map(|f| f.rate_factor),
        }
    }

    /// The combined rate of month `m` (0..12), updating the carried deficit `tsmd` (mm).
    #[inline]
    pub fn rate(&self, soil: &Soil, tsmd: &mut f64, m: usize) -> f64 {
        let c = self.cover[m];
        *tsmd = soil
            .moisture
            .update_tsmd(*tsmd, self.water_balance[m], is_bare(c));
        let b = soil.moisture.moisture_factor(*tsmd);
        self.a[m] * b * c * self.rate_factor[m]
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
    let decay = K.map(|k| vmath::exp_decay(-rate * k * MONTH));
    let (plant_dpm, plant_rpm) = split_plant_input(plant_input, dpm_rpm);
    let (fym_dpm, fym_rpm, fym_hum) = split_fym(fym_input);
    decay_and_add(
        pools,
        soil,
        decay,
        [plant_dpm, plant_rpm, fym_dpm, fym_rpm, fym_hum],
    )
}

/// The month of [`decompose`] from the decay factors exp(-rate k_i / 12) of the four active
/// pools and the split inputs (t C/ha: plant to DPM, plant to RPM, FYM to DPM, FYM to RPM,
/// FYM to HUM). Returns the CO2-C released (t C/ha).
#[inline]
pub(crate) fn decay_and_add(
    pools: &mut Pools,
    soil: &Soil,
    decay: [f64; 4],
    inputs: [f64; 5],
) -> f64 {
    let p = &soil.partition;
    // Same order of operations as the official programs, to the last bit where possible.
    let mut d = [0.0; 4];
    for i in [DPM, RPM, BIO, HUM] {
        let remaining = pools[i] * decay[i];
        d[i] = pools[i] - remaining;
        pools[i] = remaining;
    }
    let co2 = d[DPM] * p.co2 + d[RPM] * p.co2 + d[BIO] * p.co2 + d[HUM] * p.co2;
    pools[BIO] = pools[BIO] + d[DPM] * p.bio + d[RPM] * p.bio + d[BIO] * p.bio + d[HUM] * p.bio;
    pools[HUM] = pools[HUM] + d[DPM] * p.hum + d[RPM] * p.hum + d[BIO] * p.hum + d[HUM] * p.hum;
    let [plant_dpm, plant_rpm, fym_dpm, fym_rpm, fym_hum] = inputs;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rothc::pools::total;

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
}
