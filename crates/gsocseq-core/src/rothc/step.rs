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
        Self::of_months(soil, &std::array::from_fn(forcing))
    }

    /// [`YearRates::new`] of the 12 months `months`.
    #[inline(always)]
    fn of_months(soil: &Soil, months: &[MonthForcing; 12]) -> Self {
        Self {
            a: months.map(|f| temperature_factor(f.temperature)),
            water_balance: months.map(|f| f.precipitation - soil.evap_coefficient * f.evaporation),
            cover: months.map(|f| f.cover),
            rate_factor: months.map(|f| f.rate_factor),
        }
    }

    /// [`YearRates::new`] of `L` soils and their years (`years[l][m]`), the same bits, compiled
    /// for the CPU's vectors ([`crate::simd`]): their temperature factors' exponentials and
    /// divisions as vectors, not one month after the other.
    pub fn of_lanes<const L: usize>(
        soils: &[Soil; L],
        years: &[[MonthForcing; 12]; L],
    ) -> [Self; L] {
        year_rates_lanes(soils, years)
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

simd_dispatch! {
    /// [`YearRates::of_lanes`].
    fn year_rates_lanes<const L: usize>(
        soils: &[Soil; L],
        years: &[[MonthForcing; 12]; L],
    ) -> [YearRates; L] {
        std::array::from_fn(|l| YearRates::of_months(&soils[l], &years[l]))
    }
}

/// The decay factors exp(-rate k_i / 12) of the four active pools DPM, RPM, BIO, HUM for
/// `rate` (>= 0; NaN gives NaN): [`decay_factor_lanes`] of one lane.
#[inline(always)]
pub fn decay_factors(rate: f64) -> [f64; 4] {
    decay_factor_lanes(&[rate]).map(|[f]| f)
}

/// Whether HUM's decay exponent `x` is within [`vmath::expm1_small`]'s range (false for NaN).
#[inline(always)]
fn in_shared_range(x: f64) -> bool {
    x.abs() <= vmath::EXPM1_SMALL_LIMIT
}

/// The decay factors exp(-rate k_i / 12) of the four active pools DPM, RPM, BIO, HUM (indexed
/// `[pool][lane]`) of each lane's `rate`; each lane's factors depend on its rate alone (the
/// same bits in any lane, any number of lanes, on every CPU: no fused multiply-add).
///
/// DPM's factor is [`vmath::exp_decay`] of its exponent. HUM's exponent x = -rate K[HUM] / 12
/// is small (|x| <= 0.02 up to a rate of 12: a monthly mean temperature of 40 degrees C gives
/// a temperature factor of 6.7, the other factors are at most 1), so
/// p = e^x - 1 is a short series ([`vmath::expm1_small`]), and RPM's and BIO's factors are its
/// 15th and 33rd powers (K[RPM] = 15 K[HUM], K[BIO] = 33 K[HUM]; a test checks [`K`]), formed on p - 1 + p^n by squaring (2p + p^2) and products (a + b +
/// ab) - so that no rounding of a number near 1 is ever raised to a power - and rounded once
/// to 1 + p^n: the three factors within a few ulp of the exact ones (tests), for one
/// range-reduced exponential and two tables fewer than exp of each. Lanes with a larger or
/// NaN exponent take [`vmath::exp_decay`] of each pool instead.
#[inline(always)]
pub fn decay_factor_lanes<const L: usize>(rate: &[f64; L]) -> [[f64; L]; 4] {
    let mut f = [[0.0; L]; 4];
    decay_factor_lanes_into(rate, &mut f);
    f
}

/// [`decay_factor_lanes`] written into `f` (`[pool][lane]`), the same bits: the kernels' form,
/// which fills their month scratch in place (a returned array was copied there, 512 bytes a
/// month of 16 lanes).
#[inline(always)]
pub fn decay_factor_lanes_into<const L: usize>(rate: &[f64; L], f: &mut [[f64; L]; 4]) {
    let mut shared = true;
    for l in 0..L {
        let x = -rate[l] * K[HUM] * MONTH;
        shared &= in_shared_range(x);
        let p1 = vmath::expm1_small(x);
        let square = |p: f64| p * (2.0 + p);
        let join = |a: f64, b: f64| (a + b) + a * b;
        let p2 = square(p1);
        let p4 = square(p2);
        let p8 = square(p4);
        let p32 = square(square(p8));
        f[DPM][l] = vmath::exp_decay(-rate[l] * K[DPM] * MONTH);
        f[RPM][l] = 1.0 + join(join(join(p8, p4), p2), p1);
        f[BIO][l] = 1.0 + join(p32, p1);
        f[HUM][l] = 1.0 + p1;
    }
    if !shared {
        // rare (rates above 12, NaN): lane by lane, each lane's choice its own
        for l in 0..L {
            let x = -rate[l] * K[HUM] * MONTH;
            if !in_shared_range(x) {
                for i in [RPM, BIO, HUM] {
                    f[i][l] = vmath::exp_decay(-rate[l] * K[i] * MONTH);
                }
            }
        }
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
    let decay = decay_factors(rate);
    let (plant_dpm, plant_rpm) = split_plant_input(plant_input, dpm_rpm);
    let (fym_dpm, fym_rpm, fym_hum) = split_fym(fym_input);
    decay_and_add(
        pools,
        soil,
        decay,
        [plant_dpm, plant_rpm, fym_dpm, fym_rpm, fym_hum],
    )
}

/// [`decompose`] with the inputs already split (t C/ha at the end of the month: plant to DPM,
/// plant to RPM, FYM to DPM, FYM to RPM, FYM to HUM). Returns the CO2-C released (t C/ha).
#[inline]
pub fn decompose_split(pools: &mut Pools, soil: &Soil, rate: f64, inputs: [f64; 5]) -> f64 {
    let decay = decay_factors(rate);
    decay_and_add(pools, soil, decay, inputs)
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
    use crate::rothc::testing::forcing;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    /// Rates from 0 to 40 (beyond the shared range from 12) and special values.
    fn rates() -> Vec<f64> {
        let mut rates: Vec<f64> = (0..400_000).map(|i| i as f64 * 1.0e-4).collect();
        rates.extend([
            -0.0,
            11.999,
            12.0,
            12.001,
            f64::INFINITY,
            f64::NAN,
            1e300,
            f64::MIN_POSITIVE,
        ]);
        rates
    }

    #[test]
    fn rpm_and_bio_rate_constants_are_15_and_33_times_hum() {
        assert!((K[RPM] / K[HUM] - 15.0).abs() < 1e-14);
        assert!((K[BIO] / K[HUM] - 33.0).abs() < 1e-14);
        // and the shared range covers every rate up to 12
        assert!(in_shared_range(-12.0 * K[HUM] * MONTH));
    }

    #[test]
    fn decay_factors_within_a_few_ulp_of_exp() {
        let mut worst = [0u64; 4];
        for rate in rates().into_iter().filter(|r| r.is_finite() && *r <= 40.0) {
            let f = decay_factors(rate);
            for i in 0..4 {
                // libm's exp of the exponent as the official programs write it
                let exact = (-rate * K[i] * MONTH).exp();
                worst[i] = worst[i].max(ulps(f[i], exact));
            }
        }
        // DPM: the exponential of its own exponent; HUM: a series; RPM, BIO: its powers
        assert!(worst[DPM] <= 1 && worst[HUM] <= 1, "worst {worst:?} ulp");
        assert!(worst[RPM] <= 3 && worst[BIO] <= 3, "worst {worst:?} ulp");
        assert_eq!(decay_factors(0.0), [1.0; 4]);
        assert_eq!(decay_factors(f64::INFINITY), [0.0; 4]);
        assert!(decay_factors(f64::NAN).iter().all(|f| f.is_nan()));
    }

    #[test]
    fn each_lane_has_the_bits_of_its_rate_alone() {
        // lanes mixing shared and fallback rates (above 30, NaN): each lane as if alone
        let rates = rates();
        for (n, chunk) in rates.chunks(16).enumerate().filter(|(n, _)| n % 97 == 0) {
            let mut lanes: [f64; 16] = std::array::from_fn(|l| chunk[l % chunk.len()]);
            lanes[n % 16] = [13.0, f64::NAN, 1e6][n % 3];
            let f = decay_factor_lanes(&lanes);
            for (l, rate) in lanes.iter().enumerate() {
                let alone = decay_factors(*rate);
                for i in 0..4 {
                    assert_eq!(f[i][l].to_bits(), alone[i].to_bits(), "rate {rate}");
                }
            }
        }
    }

    /// [`decay_factor_lanes`] compiled for AVX2 and AVX-512 (where this CPU has them).
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    fn decay_factor_lanes_vectorised(rate: &[f64; 16]) -> Vec<[[f64; 16]; 4]> {
        #[target_feature(enable = "avx2")]
        fn avx2(rate: &[f64; 16]) -> [[f64; 16]; 4] {
            decay_factor_lanes(rate)
        }
        #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
        fn avx512(rate: &[f64; 16]) -> [[f64; 16]; 4] {
            decay_factor_lanes(rate)
        }
        let mut out = Vec::new();
        if std::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked above)
            out.push(unsafe { avx2(rate) });
        }
        if crate::simd::level() == crate::simd::Level::Avx512 {
            // SAFETY: the CPU has these features (checked by `level`)
            out.push(unsafe { avx512(rate) });
        }
        out
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn every_cpu_level_gives_the_same_bits() {
        let rates = rates();
        let mut compared = 0;
        for chunk in rates.chunks_exact(16) {
            let lanes: [f64; 16] = chunk.try_into().unwrap();
            let baseline = decay_factor_lanes(&lanes);
            for vectorised in decay_factor_lanes_vectorised(&lanes) {
                for i in 0..4 {
                    let (a, b) = (
                        baseline[i].map(f64::to_bits),
                        vectorised[i].map(f64::to_bits),
                    );
                    assert_eq!(a, b, "{lanes:?}");
                }
                compared += 1;
            }
        }
        assert!(compared > 0 || !std::is_x86_feature_detected!("avx2"));
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
