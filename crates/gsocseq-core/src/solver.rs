//! The monthly RothC step (official exact exponential update) and runs over many months.

use crate::modifiers::{is_bare, temperature_factor, Soil};
use crate::pools::{split_fym, split_plant_input, Pools, BIO, DPM, HUM, K, RPM};
use crate::vmath;

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
        let remaining = pools[i] * vmath::exp(-rate * K[i] * MONTH);
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

/// What the rates of a series of months depend on: one value per month in each slice (all
/// of the same length).
#[derive(Debug, Clone, Copy)]
pub struct RateForcing<'a> {
    /// Mean air temperature, degrees C.
    pub temperature: &'a [f64],
    /// Precipitation, mm.
    pub precipitation: &'a [f64],
    /// Evaporation, mm.
    pub evaporation: &'a [f64],
    /// Cover rate factor c.
    pub cover: &'a [f64],
    /// Extra multiplier of the decomposition rate.
    pub rate_factor: &'a [f64],
}

/// The forcing of a series of months, one value per month in each slice (see
/// [`MonthForcing`] for the meaning and units).
#[derive(Debug, Clone, Copy)]
pub struct ForcingSeries<'a> {
    /// Climate, cover and rate factor.
    pub climate: RateForcing<'a>,
    /// Plant carbon input entering at the end of each month, t C/ha.
    pub plant_input: &'a [f64],
    /// Farmyard manure carbon entering at the end of each month, t C/ha.
    pub fym_input: &'a [f64],
    /// DPM/RPM ratio of the plant input.
    pub dpm_rpm: &'a [f64],
}

impl<'a> ForcingSeries<'a> {
    /// No months.
    pub const EMPTY: ForcingSeries<'static> = ForcingSeries {
        climate: RateForcing {
            temperature: &[],
            precipitation: &[],
            evaporation: &[],
            cover: &[],
            rate_factor: &[],
        },
        plant_input: &[],
        fym_input: &[],
        dpm_rpm: &[],
    };

    /// The first `months` months.
    pub fn first_months(&self, months: usize) -> ForcingSeries<'a> {
        let c = &self.climate;
        ForcingSeries {
            climate: RateForcing {
                temperature: &c.temperature[..months],
                precipitation: &c.precipitation[..months],
                evaporation: &c.evaporation[..months],
                cover: &c.cover[..months],
                rate_factor: &c.rate_factor[..months],
            },
            plant_input: &self.plant_input[..months],
            fym_input: &self.fym_input[..months],
            dpm_rpm: &self.dpm_rpm[..months],
        }
    }

    /// Number of months.
    pub fn months(&self) -> usize {
        self.climate.temperature.len()
    }

    /// The forcing of month `m`.
    #[inline]
    pub fn month(&self, m: usize) -> MonthForcing {
        let c = &self.climate;
        MonthForcing {
            temperature: c.temperature[m],
            precipitation: c.precipitation[m],
            evaporation: c.evaporation[m],
            cover: c.cover[m],
            plant_input: self.plant_input[m],
            fym_input: self.fym_input[m],
            dpm_rpm: self.dpm_rpm[m],
            rate_factor: c.rate_factor[m],
        }
    }
}

/// An owned [`ForcingSeries`], built from month values (tests, examples, small runs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForcingTable {
    columns: [Vec<f64>; 8],
}

impl FromIterator<MonthForcing> for ForcingTable {
    fn from_iter<I: IntoIterator<Item = MonthForcing>>(months: I) -> Self {
        let mut t = Self::default();
        for f in months {
            let values = [
                f.temperature,
                f.precipitation,
                f.evaporation,
                f.cover,
                f.rate_factor,
                f.plant_input,
                f.fym_input,
                f.dpm_rpm,
            ];
            for (column, v) in t.columns.iter_mut().zip(values) {
                column.push(v);
            }
        }
        t
    }
}

impl ForcingTable {
    /// The months as slices.
    pub fn series(&self) -> ForcingSeries<'_> {
        let c = &self.columns;
        ForcingSeries {
            climate: RateForcing {
                temperature: &c[0],
                precipitation: &c[1],
                evaporation: &c[2],
                cover: &c[3],
                rate_factor: &c[4],
            },
            plant_input: &c[5],
            fym_input: &c[6],
            dpm_rpm: &c[7],
        }
    }
}

/// Per-month scratch of [`run`], reused from pixel to pixel so that the loop allocates
/// nothing once it has grown to the longest run.
#[derive(Debug, Clone, Default)]
pub struct RunBuffers {
    /// Temperature factor a of each month.
    a: Vec<f64>,
    /// Moisture factor b of each month.
    b: Vec<f64>,
    /// Deficit after each month, mm.
    tsmd: Vec<f64>,
    /// Combined rate of each month.
    rate: Vec<f64>,
    /// exp(-rate k_i / 12) of the four active pools, month by month.
    decay: Vec<[f64; 4]>,
    /// Carbon added at the end of each month, t C/ha: plant to DPM, plant to RPM, FYM to
    /// DPM, FYM to RPM, FYM to HUM.
    inputs: Vec<[f64; 5]>,
}

impl RunBuffers {
    fn resize(&mut self, months: usize) {
        if self.a.len() < months {
            self.a.resize(months, 0.0);
            self.b.resize(months, 0.0);
            self.tsmd.resize(months, 0.0);
            self.rate.resize(months, 0.0);
            self.decay.resize(months, [0.0; 4]);
            self.inputs.resize(months, [0.0; 5]);
        }
    }

    /// The rates of the months of `climate` from deficit `tsmd` (updated), all exponentials
    /// computed in two vectorised batches; the same bits as [`month_rate`] and [`decompose`]
    /// month by month.
    pub fn rates(&mut self, soil: &Soil, tsmd: &mut f64, climate: &RateForcing<'_>) {
        rates_lanes(
            std::array::from_mut(self),
            std::array::from_ref(soil),
            std::array::from_mut(tsmd),
            std::array::from_ref(climate),
        )
    }

    /// Stage 1 of the rates: the temperature factors (vectorised across months).
    fn temperature_factors(&mut self, climate: &RateForcing<'_>) {
        let months = climate.temperature.len();
        self.resize(months);
        let t = &climate.temperature[..months];
        let a = &mut self.a[..months];
        for (a, &t) in a.iter_mut().zip(t) {
            *a = 106.06 / (t + 18.27);
        }
        vmath::exp_in_place(a);
        // `temperature_factor`, with the exponential computed above
        for (a, &t) in a.iter_mut().zip(t) {
            *a = if t < -5.0 { 0.0 } else { 47.91 / (*a + 1.0) };
        }
    }

    /// Stage 3 of the rates, after the deficits: moisture factors, rates and decay factors
    /// (vectorised across months).
    fn decay_factors(&mut self, soil: &Soil, climate: &RateForcing<'_>) {
        let months = climate.temperature.len();
        let (cover, rate_factor) = (&climate.cover[..months], &climate.rate_factor[..months]);
        let (a, b, tsmd) = (
            &self.a[..months],
            &mut self.b[..months],
            &self.tsmd[..months],
        );
        let (rates, decay) = (&mut self.rate[..months], &mut self.decay[..months]);
        for m in 0..months {
            b[m] = soil.moisture.moisture_factor(tsmd[m]);
            let rate = a[m] * b[m] * cover[m] * rate_factor[m];
            rates[m] = rate;
            decay[m] = [
                -rate * K[DPM] * MONTH,
                -rate * K[RPM] * MONTH,
                -rate * K[BIO] * MONTH,
                -rate * K[HUM] * MONTH,
            ];
        }
        vmath::exp_in_place(decay.as_flattened_mut());
    }

    /// The split inputs of every month of `forcing` (vectorised across months), for
    /// [`RunBuffers::decompose_month`].
    pub fn inputs(&mut self, forcing: &ForcingSeries<'_>) {
        let months = forcing.months();
        self.resize(months);
        let (plant, fym) = (&forcing.plant_input[..months], &forcing.fym_input[..months]);
        let dpm_rpm = &forcing.dpm_rpm[..months];
        // The ratio rarely changes from month to month: its two divisions are reused.
        let mut ratio = f64::NAN;
        let (mut to_dpm, mut to_rpm) = (f64::NAN, f64::NAN);
        for (m, out) in self.inputs[..months].iter_mut().enumerate() {
            if dpm_rpm[m].to_bits() != ratio.to_bits() {
                ratio = dpm_rpm[m];
                (to_dpm, to_rpm) = split_plant_input(1.0, ratio);
            }
            // the same bits as `split_plant_input(plant[m], dpm_rpm[m])`
            let (plant_dpm, plant_rpm) = (to_dpm * plant[m], to_rpm * plant[m]);
            let (fym_dpm, fym_rpm, fym_hum) = split_fym(fym[m]);
            *out = [plant_dpm, plant_rpm, fym_dpm, fym_rpm, fym_hum];
        }
    }

    /// [`RunBuffers::decompose`] with the inputs of month `m` of the last
    /// [`RunBuffers::inputs`].
    #[inline]
    pub fn decompose_month(&self, m: usize, pools: &mut Pools, soil: &Soil) -> f64 {
        let [plant_dpm, plant_rpm, fym_dpm, fym_rpm, fym_hum] = self.inputs[m];
        let co2 = self.decay_month(m, pools, soil);
        pools[DPM] = pools[DPM] + plant_dpm + fym_dpm;
        pools[RPM] = pools[RPM] + plant_rpm + fym_rpm;
        pools[HUM] += fym_hum;
        co2
    }

    /// Decomposition of month `m` of the last [`RunBuffers::rates`], without the inputs.
    #[inline]
    fn decay_month(&self, m: usize, pools: &mut Pools, soil: &Soil) -> f64 {
        let p = &soil.partition;
        let decay = &self.decay[m];
        let mut d = [0.0; 4];
        for i in [DPM, RPM, BIO, HUM] {
            let remaining = pools[i] * decay[i];
            d[i] = pools[i] - remaining;
            pools[i] = remaining;
        }
        let co2 = d[DPM] * p.co2 + d[RPM] * p.co2 + d[BIO] * p.co2 + d[HUM] * p.co2;
        pools[BIO] = pools[BIO] + d[DPM] * p.bio + d[RPM] * p.bio + d[BIO] * p.bio + d[HUM] * p.bio;
        pools[HUM] = pools[HUM] + d[DPM] * p.hum + d[RPM] * p.hum + d[BIO] * p.hum + d[HUM] * p.hum;
        co2
    }

    /// Decomposes `pools` in month `m` of the last [`RunBuffers::rates`] and adds the inputs
    /// at its end; the same bits as [`decompose`]. Returns the CO2-C released (t C/ha).
    #[inline]
    pub fn decompose(
        &self,
        m: usize,
        pools: &mut Pools,
        soil: &Soil,
        plant_input: f64,
        dpm_rpm: f64,
        fym_input: f64,
    ) -> f64 {
        let co2 = self.decay_month(m, pools, soil);
        let (plant_dpm, plant_rpm) = split_plant_input(plant_input, dpm_rpm);
        let (fym_dpm, fym_rpm, fym_hum) = split_fym(fym_input);
        pools[DPM] = pools[DPM] + plant_dpm + fym_dpm;
        pools[RPM] = pools[RPM] + plant_rpm + fym_rpm;
        pools[HUM] += fym_hum;
        co2
    }

    /// What month `m` of the last [`RunBuffers::rates`] computed, with `co2` released.
    #[inline]
    pub fn outcome(&self, m: usize, cover: f64, co2: f64) -> MonthOutcome {
        MonthOutcome {
            a: self.a[m],
            b: self.b[m],
            c: cover,
            rate: self.rate[m],
            tsmd: self.tsmd[m],
            co2,
        }
    }
}

/// [`RunBuffers::rates`] of `L` independent series at once (the same number of months): the
/// deficit, the one sequential part, advances the lanes in step so that their dependency
/// chains overlap.
pub fn rates_lanes<const L: usize>(
    buffers: &mut [RunBuffers; L],
    soils: &[Soil; L],
    tsmd: &mut [f64; L],
    climate: &[RateForcing<'_>; L],
) {
    let months = climate[0].temperature.len();
    for (buffers, climate) in buffers.iter_mut().zip(climate) {
        assert_eq!(
            climate.temperature.len(),
            months,
            "lanes of different lengths"
        );
        buffers.temperature_factors(climate);
    }
    for m in 0..months {
        for l in 0..L {
            let (soil, c) = (&soils[l], &climate[l]);
            let water_balance = c.precipitation[m] - soil.evap_coefficient * c.evaporation[m];
            tsmd[l] = soil
                .moisture
                .update_tsmd(tsmd[l], water_balance, is_bare(c.cover[m]));
            buffers[l].tsmd[m] = tsmd[l];
        }
    }
    for l in 0..L {
        buffers[l].decay_factors(&soils[l], &climate[l]);
    }
}

/// Runs the months of `forcing` from `pools` and `tsmd`; `observe(m, pools, outcome)` sees
/// the state at the end of every month. Returns the cumulative CO2-C released (t C/ha). The
/// same bits as [`step_month`] month by month; `buffers` holds the per-month rates (computed
/// in vectorised batches).
#[inline]
pub fn run<O>(
    pools: &mut Pools,
    tsmd: &mut f64,
    soil: &Soil,
    forcing: &ForcingSeries<'_>,
    buffers: &mut RunBuffers,
    mut observe: O,
) -> f64
where
    O: FnMut(usize, &Pools, &MonthOutcome),
{
    let [co2] = run_lanes(
        std::array::from_mut(pools),
        std::array::from_mut(tsmd),
        std::array::from_ref(soil),
        std::array::from_ref(forcing),
        std::array::from_mut(buffers),
        |_, m, pools, out| observe(m, pools, out),
    );
    co2
}

/// [`run`] of `L` independent series of the same number of months at once, advanced in step
/// (their sequential dependency chains overlap: several times the throughput of one at a
/// time); `observe(lane, m, pools, outcome)`. Each lane gives the same bits as [`run`].
#[inline]
pub fn run_lanes<const L: usize, O>(
    pools: &mut [Pools; L],
    tsmd: &mut [f64; L],
    soils: &[Soil; L],
    forcing: &[ForcingSeries<'_>; L],
    buffers: &mut [RunBuffers; L],
    mut observe: O,
) -> [f64; L]
where
    O: FnMut(usize, usize, &Pools, &MonthOutcome),
{
    let months = forcing[0].months();
    rates_lanes(buffers, soils, tsmd, &forcing.map(|f| f.climate));
    for (buffers, forcing) in buffers.iter_mut().zip(forcing) {
        buffers.inputs(forcing);
    }
    let mut co2 = [0.0; L];
    for m in 0..months {
        for l in 0..L {
            let f = &forcing[l];
            let c = buffers[l].decompose_month(m, &mut pools[l], &soils[l]);
            co2[l] += c;
            observe(
                l,
                m,
                &pools[l],
                &buffers[l].outcome(m, f.climate.cover[m], c),
            );
        }
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
            let e = vmath::exp(-rate * K[j] * MONTH);
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
    fn batched_run_equals_stepping_bit_for_bit() {
        let soil = Soil::new(31.0, 23.0, 0.75);
        let forcing = |m: usize| MonthForcing {
            temperature: -8.0 + 3.1 * (m % 13) as f64,
            precipitation: 10.0 + 17.0 * (m % 7) as f64,
            evaporation: 5.0 + 23.0 * (m % 5) as f64,
            cover: if m.is_multiple_of(3) { 1.0 } else { 0.6 },
            plant_input: 0.01 * (m % 11) as f64,
            fym_input: 0.02 * (m % 4) as f64,
            dpm_rpm: 1.44,
            rate_factor: if m.is_multiple_of(17) { 0.4 } else { 1.0 },
        };
        let (mut p1, mut t1) = ([1.0, 5.0, 0.8, 30.0, 3.0], -3.0);
        let (mut p2, mut t2) = (p1, t1);
        let mut outs = Vec::new();
        let mut bufs = RunBuffers::default();
        let table: ForcingTable = (0..100).map(forcing).collect();
        let co2 = run(
            &mut p1,
            &mut t1,
            &soil,
            &table.series(),
            &mut bufs,
            |_, p, o| outs.push((*p, *o)),
        );
        let mut co2_step = 0.0;
        for (m, (p, o)) in outs.iter().enumerate() {
            let o2 = step_month(&mut p2, &mut t2, &soil, &forcing(m));
            co2_step += o2.co2;
            assert_eq!(*o, o2, "month {m}");
            assert_eq!(*p, p2, "month {m}");
        }
        assert_eq!((co2, t1), (co2_step, t2));
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
