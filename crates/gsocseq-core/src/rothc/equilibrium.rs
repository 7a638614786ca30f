//! Spin-up: the exact discrete periodic equilibrium, the official iterative rule of the
//! Rothamsted programs, and the continuous analytical equilibrium of Dechow et al. (2019).

use super::modifiers::{is_bare, Soil};
use super::pools::{active, falloon_iom, Partition, Pools, IOM, K};
use super::pools::{split_fym, split_plant_input};
use super::step::{decompose, month_rate, MonthForcing};
use super::year_map::{YearMap, YearMaps};
use crate::error::{CoreError, Result};

/// How the array API's spin-up gets to the state of a repeated year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpinupRule {
    /// The official rule: the year repeated from empty active pools ([`iterative`]).
    RothamstedIterative,
    /// The exact discrete periodic equilibrium ([`equilibrium`]).
    Equilibrium,
}

spelled!(
    SpinupRule,
    "method",
    "'rothamsted-iterative', 'equilibrium'",
    [
        RothamstedIterative = "rothamsted-iterative",
        Equilibrium = "equilibrium"
    ]
);

/// Official spin-up stop: the year-end active carbon changes by at most this (t C/ha).
pub const ITERATIVE_TOLERANCE: f64 = 1e-6;
/// Years the moisture deficit is cycled at most to find its periodic year.
pub const MAX_CYCLE_YEARS: usize = 1000;
/// Years the official iterative spin-up runs at most before giving up.
pub const MAX_ITERATIVE_YEARS: usize = 1_000_000;

/// Why a year has no equilibrium (the rule of [`never_decomposes`]), for messages.
pub const ZERO_RATE: &str = "the decomposition rate is 0 in every month (temperature below -5 \
     degrees C, cover 0 or rate_factor 0 all year, or with min_moisture_rate 0 a soil at \
     wilting point)";
/// Why the continuous equilibrium does not exist at a mean rate modifier `xi` of 0.
pub const ZERO_XI: &str = "the mean rate modifier xi is 0 (the decomposition rate is 0 in every \
     month)";

/// Whether the decomposition rate of `year` is 0 in every month of its periodic deficit cycle
/// (from 0): nothing decomposes, so no equilibrium exists (its year map is the identity on the
/// pools: the fixed point divides by 0). The one rule of the array API and of the chains'
/// spin-up; NaN rates (NaN inputs) are not 0.
pub fn never_decomposes<F: Fn(usize) -> MonthForcing>(soil: &Soil, year: &F) -> bool {
    let mut acc = periodic_tsmd(soil, year, 0.0).tsmd;
    (0..12).all(|m| month_rate(soil, &mut acc, &year(m)).rate == 0.0)
}

/// [`CoreError::NoEquilibrium`] at `location` when `year` [`never_decomposes`].
pub fn check_decomposes<F: Fn(usize) -> MonthForcing>(
    soil: &Soil,
    year: &F,
    location: impl FnOnce() -> String,
) -> Result<()> {
    if never_decomposes(soil, year) {
        return Err(CoreError::NoEquilibrium {
            location: location(),
            cause: ZERO_RATE,
        });
    }
    Ok(())
}

/// The periodic year of the topsoil moisture deficit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TsmdCycle {
    /// Deficit at the end of December (= before January) of the periodic year, mm.
    pub tsmd: f64,
    /// Years run until the year-end deficit repeated.
    pub years: usize,
    /// False when the deficit had not repeated exactly after [`MAX_CYCLE_YEARS`]; the last
    /// year is then used as the cycle.
    pub periodic: bool,
}

/// Cycles the 12 months of `year` from the deficit `tsmd` (mm) until the year-end deficit
/// repeats exactly (the clamps make it periodic within a few years).
pub fn periodic_tsmd<F: Fn(usize) -> MonthForcing>(soil: &Soil, year: &F, tsmd: f64) -> TsmdCycle {
    // the deficit alone (`month_rate` without the rate factors, which it does not need)
    let months: [(f64, bool); 12] = std::array::from_fn(|m| {
        let f = year(m);
        let water_balance = f.precipitation - soil.evap_coefficient * f.evaporation;
        (water_balance, is_bare(f.cover))
    });
    let mut start = tsmd;
    for years in 1..=MAX_CYCLE_YEARS {
        let mut acc = start;
        for &(water_balance, bare) in &months {
            acc = soil.moisture.update_tsmd(acc, water_balance, bare);
        }
        if acc == start || acc.is_nan() {
            return TsmdCycle {
                tsmd: acc,
                years,
                periodic: acc == start,
            };
        }
        start = acc;
    }
    TsmdCycle {
        tsmd: start,
        years: MAX_CYCLE_YEARS,
        periodic: false,
    }
}

/// The composed affine map of one year from the deficit `tsmd` (mm) with the year's own
/// inputs, and the year-end deficit. `plant_scale` multiplies every plant input.
pub fn year_map<F: Fn(usize) -> MonthForcing>(
    soil: &Soil,
    year: &F,
    tsmd: f64,
    plant_override: Option<f64>,
    with_fym: bool,
) -> (YearMap, f64) {
    let mut acc = tsmd;
    let mut map = YearMap::identity();
    for m in 0..12 {
        let f = year(m);
        let out = month_rate(soil, &mut acc, &f);
        let plant = plant_override.unwrap_or(f.plant_input);
        let (pd, pr) = split_plant_input(plant, f.dpm_rpm);
        let fym = if with_fym { f.fym_input } else { 0.0 };
        let (fd, fr, fh) = split_fym(fym);
        map.push_month(soil, out.rate, [pd + fd, pr + fr, 0.0, fh]);
    }
    (map, acc)
}

/// A spin-up result: pools at the end of December and the deficit carried into January.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spinup {
    /// Pools DPM, RPM, BIO, HUM, IOM, t C/ha.
    pub pools: Pools,
    /// Deficit at the end of the spin-up, mm.
    pub tsmd: f64,
    /// Months run (iterative rule), or years cycled for the deficit (equilibrium).
    pub count: usize,
    /// Whether the deficit cycle (equilibrium) or the pools (iterative) converged.
    pub converged: bool,
}

/// Exact discrete periodic equilibrium of the year `year` with its own inputs: the deficit is
/// cycled to its periodic year from 0, then the fixed point of the composed year map.
pub fn equilibrium<F: Fn(usize) -> MonthForcing>(soil: &Soil, year: &F, iom: f64) -> Spinup {
    let cycle = periodic_tsmd(soil, year, 0.0);
    let (map, _) = year_map(soil, year, cycle.tsmd, None, true);
    let c = map.fixed_point();
    Spinup {
        pools: [c[0], c[1], c[2], c[3], iom],
        tsmd: cycle.tsmd,
        count: cycle.years,
        converged: cycle.periodic,
    }
}

/// Equilibrium plant input for a target total SOC (t C/ha): IOM by Falloon from `soc`, the
/// annual plant input entering as 1/12 a month (FYM as given by the forcing). Returns
/// (annual input t C/ha/yr, pools at the end of December, periodic year-end deficit mm,
/// whether the deficit cycle was periodic).
pub fn equilibrium_inputs<F: Fn(usize) -> MonthForcing>(
    soil: &Soil,
    year: &F,
    soc: f64,
) -> (f64, Pools, f64, bool) {
    let [out] = equilibrium_inputs_lanes(&[*soil], &[std::array::from_fn(year)], &[soc]);
    out
}

/// [`equilibrium_inputs`] of `L` sites side by side (soils, years of 12 months and target SOC
/// of each lane): the year maps composed as vectors across the lanes, the same bits lane by
/// lane.
pub fn equilibrium_inputs_lanes<const L: usize>(
    soils: &[Soil; L],
    years: &[[MonthForcing; 12]; L],
    soc: &[f64; L],
) -> [(f64, Pools, f64, bool); L] {
    equilibrium_inputs_weighted_lanes(soils, years, soc, &[[1.0; 12]; L])
}

simd_dispatch! {
    /// [`equilibrium_inputs_lanes`] with the annual plant input entering month m as
    /// 1/12 x `weights[lane][m]` (12 x the month's share; 1 every month: 1/12 a month, the
    /// same bits as [`equilibrium_inputs_lanes`]).
    pub fn equilibrium_inputs_weighted_lanes<const L: usize>(
        soils: &[Soil; L],
        years: &[[MonthForcing; 12]; L],
        soc: &[f64; L],
        weights: &[[f64; 12]; L],
    ) -> [(f64, Pools, f64, bool); L] {
        let cycles: [TsmdCycle; L] =
            std::array::from_fn(|l| periodic_tsmd(&soils[l], &|m| years[l][m], 0.0));
        // the unit year map (plant input 1/12 a month, no manure) from the periodic deficit
        let mut acc = cycles.map(|c| c.tsmd);
        let mut unit = YearMaps::<L>::identity();
        // (the months of every lane: an index, not an iterator)
        #[allow(clippy::needless_range_loop)]
        for m in 0..12 {
            let mut rate = [0.0; L];
            let mut input = [[0.0; L]; 4];
            for l in 0..L {
                let f = &years[l][m];
                rate[l] = month_rate(&soils[l], &mut acc[l], f).rate;
                // as `year_map` with the plant input 1/12 (x the month's weight), no manure
                let (pd, pr) = split_plant_input(1.0 / 12.0 * weights[l][m], f.dpm_rpm);
                let (fd, fr, fh) = split_fym(0.0);
                [input[0][l], input[1][l], input[2][l], input[3][l]] = [pd + fd, pr + fr, 0.0, fh];
            }
            unit.push_month(&soils.map(|s| s.partition), &rate, &input);
        }
        let c_unit = unit.fixed_point();
        std::array::from_fn(|l| {
            let (soil, year, soc) = (&soils[l], &years[l], soc[l]);
            let iom = falloon_iom(soc);
            let cycle = cycles[l];
            let c_unit = c_unit.map(|v| v[l]);
            // without manure (the GSOCseq case) its share is zero: skip the second composition
            let c_fym = if year.iter().any(|f| f.fym_input != 0.0) {
                year_map(soil, &|m| year[m], cycle.tsmd, Some(0.0), true)
                    .0
                    .fixed_point()
            } else {
                [0.0; 4]
            };
            let unit_sum: f64 = c_unit.iter().sum();
            let fym_sum: f64 = c_fym.iter().sum();
            let annual = (soc - iom - fym_sum) / unit_sum;
            let mut pools = [0.0; 5];
            for i in 0..4 {
                pools[i] = annual * c_unit[i] + c_fym[i];
            }
            pools[IOM] = iom;
            (annual, pools, cycle.tsmd, cycle.periodic)
        })
    }
}

/// The official spin-up rule of the Rothamsted programs: the 12 months repeated from empty
/// active pools and deficit 0 until, at a year end, the active carbon differs from the
/// previous year end (0 before the first) by at most [`ITERATIVE_TOLERANCE`] t C/ha.
pub fn iterative<F: Fn(usize) -> MonthForcing>(soil: &Soil, year: &F, iom: f64) -> Spinup {
    let mut pools: Pools = [0.0, 0.0, 0.0, 0.0, iom];
    let mut tsmd = 0.0;
    let mut previous = 0.0;
    let mut months = 0;
    for _ in 0..MAX_ITERATIVE_YEARS {
        for m in 0..12 {
            let f = year(m);
            let out = month_rate(soil, &mut tsmd, &f);
            decompose(
                &mut pools,
                soil,
                out.rate,
                f.plant_input,
                f.dpm_rpm,
                f.fym_input,
            );
        }
        months += 12;
        let now = active(&pools);
        if (now - previous).abs() <= ITERATIVE_TOLERANCE {
            return Spinup {
                pools,
                tsmd,
                count: months,
                converged: true,
            };
        }
        if now.is_nan() {
            break;
        }
        previous = now;
    }
    Spinup {
        pools: [f64::NAN; 5],
        tsmd: f64::NAN,
        count: months,
        converged: false,
    }
}

/// Active pools (DPM, RPM, BIO, HUM; t C/ha) of the continuous RothC equilibrium for an input
/// of 1 t C/ha/yr at the constant rate modifier `xi` (Dechow et al. 2019, FAO v1.2 script 11).
pub fn analytical_unit_pools(xi: f64, clay: f64, dpm_rpm: f64) -> [f64; 4] {
    let p = Partition::new(clay);
    let throughput = 1.0 / (1.0 - p.bio - p.hum);
    let (i_dpm, i_rpm) = split_plant_input(1.0, dpm_rpm);
    [
        i_dpm / (K[0] * xi),
        i_rpm / (K[1] * xi),
        p.bio * throughput / (K[2] * xi),
        p.hum * throughput / (K[3] * xi),
    ]
}

/// Annual input (t C/ha/yr) and pools of the continuous equilibrium that hold total `soc`
/// (t C/ha) at the mean rate modifier `xi`, IOM by Falloon.
pub fn analytical_equilibrium(soc: f64, xi: f64, clay: f64, dpm_rpm: f64) -> (f64, Pools) {
    let iom = falloon_iom(soc);
    let unit = analytical_unit_pools(xi, clay, dpm_rpm);
    let annual = (soc - iom) / unit.iter().sum::<f64>();
    (
        annual,
        [
            annual * unit[0],
            annual * unit[1],
            annual * unit[2],
            annual * unit[3],
            iom,
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rothc::pools::total;
    use crate::rothc::step::step_month;

    fn year(m: usize) -> MonthForcing {
        let t = [
            3.7, 3.1, 5.5, 7.4, 10.9, 14.4, 16.3, 16.2, 13.8, 9.5, 6.2, 4.1,
        ];
        let p = [
            52.2, 42.9, 35.2, 52.0, 64.9, 46.3, 63.5, 60.6, 58.8, 63.4, 72.5, 60.9,
        ];
        let e = [
            6.6, 17.3, 40.7, 70.5, 103.5, 117.3, 130.1, 106.9, 61.9, 29.5, 8.8, 3.9,
        ];
        MonthForcing {
            temperature: t[m],
            precipitation: p[m],
            evaporation: e[m],
            cover: if m == 8 { 1.0 } else { 0.6 },
            plant_input: if m == 7 { 1.74 } else { 0.0 },
            fym_input: if m == 2 { 0.5 } else { 0.0 },
            dpm_rpm: 1.44,
            rate_factor: 1.0,
        }
    }

    #[test]
    fn equilibrium_is_periodic() {
        let soil = Soil::new(23.4, 23.0, 0.75);
        let eq = equilibrium(&soil, &year, 3.0);
        assert!(eq.converged);
        let mut pools = eq.pools;
        let mut tsmd = eq.tsmd;
        for m in 0..12 {
            step_month(&mut pools, &mut tsmd, &soil, &year(m));
        }
        for (p, e) in pools.iter().zip(eq.pools.iter()) {
            assert!((p - e).abs() <= 1e-12 * e);
        }
        assert_eq!(tsmd, eq.tsmd);
    }

    #[test]
    fn iterative_approaches_equilibrium() {
        let soil = Soil::new(23.4, 23.0, 0.75);
        let eq = equilibrium(&soil, &year, 3.0);
        let it = iterative(&soil, &year, 3.0);
        assert!(it.converged);
        assert!((total(&it.pools) - total(&eq.pools)).abs() < 1e-3);
    }

    #[test]
    fn equilibrium_inputs_hit_target() {
        let soil = Soil::new(30.0, 30.0, 1.0);
        let (annual, pools, _, periodic) = equilibrium_inputs(&soil, &year, 55.0);
        assert!(periodic && annual > 0.0);
        assert!((total(&pools) - 55.0).abs() < 1e-12 * 55.0);
    }

    #[test]
    fn a_year_without_decomposition_has_no_equilibrium() {
        let soil = Soil::new(30.0, 30.0, 1.0);
        assert!(!never_decomposes(&soil, &year));
        // below -5 degrees C all year (a = 0), cover 0 or rate_factor 0: rate 0 every month
        let cold = |m: usize| MonthForcing {
            temperature: -25.0,
            ..year(m)
        };
        let bare_zero = |m: usize| MonthForcing {
            cover: 0.0,
            ..year(m)
        };
        let stopped = |m: usize| MonthForcing {
            rate_factor: 0.0,
            ..year(m)
        };
        assert!(never_decomposes(&soil, &cold));
        assert!(never_decomposes(&soil, &bare_zero));
        assert!(never_decomposes(&soil, &stopped));
        let (annual, _, _, _) = equilibrium_inputs(&soil, &cold, 55.0);
        assert!(!annual.is_finite());
        let e = check_decomposes(&soil, &cold, || "pixel 4".into()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("pixel 4: {ZERO_RATE}: no equilibrium exists")
        );
        // one month at -4 degrees C decomposes: an equilibrium
        let thaw = |m: usize| MonthForcing {
            temperature: if m == 6 { -4.0 } else { -25.0 },
            ..year(m)
        };
        assert!(!never_decomposes(&soil, &thaw));
        assert!(equilibrium_inputs(&soil, &thaw, 55.0).0.is_finite());
        // NaN inputs are not 0: NaN results, as every NaN input gives
        let unknown = |m: usize| MonthForcing {
            temperature: f64::NAN,
            ..year(m)
        };
        assert!(!never_decomposes(&soil, &unknown));
    }

    #[test]
    fn analytical_hits_target() {
        let (annual, pools) = analytical_equilibrium(60.0, 0.7, 25.0, 1.44);
        assert!(annual > 0.0);
        assert!((total(&pools) - 60.0).abs() < 1e-12 * 60.0);
        // DPM/RPM flux ratio equals dpm_rpm
        assert!((pools[0] * 10.0 / (pools[1] * 0.3) - 1.44).abs() < 1e-12);
    }
}
