//! Years to the new steady state (METHOD.md section 5, manual 5.2) of every scenario of a
//! chain, on year-end stocks.

use super::chain::{forward_year, scenario_input, ChainState, Perturbation, Workspace};
use super::classes::{ClassTable, UNIFORM_WEIGHTS};
use super::options::{ChainOutput, Options, PixelInput};
use super::practices::{management, Management};
use crate::rothc::modifiers::Soil;
use crate::rothc::pools::{total, Pools};
use crate::rothc::step::{month_rate, MonthForcing, YearRates};
use crate::rothc::year_map::YearMap;

/// Years to the new steady state of every scenario of a chain (`steady`), from its state at t0
/// ([`years_to_steady_state`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn chain_steady_state(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    p: &Perturbation,
    chain: &ChainOutput,
    state: &ChainState,
    ws: &mut Workspace,
    steady: &mut [f64],
) {
    if px.refinements.forward_climate.is_some() {
        // no periodic forward year: no steady state
        steady.fill(f64::NAN);
        return;
    }
    let year = forward_year(table, px, p);
    // the monthly maps (for a unit input) are shared by every scenario that only scales BAU's
    // plant input
    let mut pre = std::mem::take(&mut ws.maps);
    let weights = &table.input_weights[px.forward_class as usize];
    let unit_year = forward_unit_maps(&state.soil, &|m| year[m], weights, state.tsmd, &mut pre);
    let bau = management(opts, table, px, p, chain.cin_mean, 0);
    // BAU's maps serve every scenario that only scales BAU's plant input at this pixel
    let plain = |s: usize| {
        opts.practices.get(s).is_none_or(|p| p.is_plain())
            || management(opts, table, px, p, chain.cin_mean, s).scales(&bau)
    };
    for (s, years) in steady.iter_mut().enumerate().filter(|(s, _)| plain(*s)) {
        let input = if opts.practices.is_empty() {
            scenario_input(opts, table, px, p, chain.cin_mean, s)
        } else {
            management(opts, table, px, p, chain.cin_mean, s).monthly_plant(1.0)
        };
        *years = match &unit_year {
            Some(y) => steady_years(&pre, y, chain.pools_t0, input),
            None => f64::NAN,
        };
    }
    // every other scenario on its own maps (its adoption years first), actual inputs
    for (s, years) in steady.iter_mut().enumerate().filter(|(s, _)| !plain(*s)) {
        let scenario = management(opts, table, px, p, chain.cin_mean, s);
        let own = scenario_maps(&state.soil, &year, &bau, &scenario, state.tsmd, &mut pre);
        *years = match &own {
            Some(y) => steady_years(&pre, y, chain.pools_t0, 1.0),
            None => f64::NAN,
        };
    }
    ws.maps = pre;
}

/// The monthly maps of a scenario with its actual inputs, from the deficit `tsmd` (mm) at t0:
/// the months of its adoption years and those before the deficit is periodic go to `pre`
/// (whole years), the periodic year is returned (None when the deficit is not periodic within
/// 10,000 years). `year`: the chain's forward climate.
pub(crate) fn scenario_maps(
    soil: &Soil,
    year: &[MonthForcing; 12],
    bau: &Management,
    scenario: &Management,
    tsmd: f64,
    pre: &mut Vec<YearMap>,
) -> Option<[YearMap; 12]> {
    pre.clear();
    let mut acc = tsmd;
    let plant = [bau.monthly_plant(1.0), scenario.monthly_plant(1.0)];
    let month = |y: usize, m: usize, acc: &mut f64| {
        let (cover, rate_factor, inputs) = scenario.adopted_month(bau, y, m, plant);
        let f = MonthForcing {
            cover,
            rate_factor,
            ..year[m]
        };
        let rate = month_rate(soil, acc, &f).rate;
        YearMap::month(soil, rate, Management::map_inputs(inputs))
    };
    for y in 1..scenario.adoption_years {
        for m in 0..12 {
            pre.push(month(y, m, &mut acc));
        }
    }
    let mut maps = [YearMap::identity(); 12];
    for _ in 0..STEADY_MAX_YEARS {
        let start = acc;
        for (m, map) in maps.iter_mut().enumerate() {
            *map = month(scenario.adoption_years.max(1), m, &mut acc);
        }
        if acc == start {
            return Some(maps);
        }
        pre.extend_from_slice(&maps);
    }
    None
}

/// Years after t0 to the new steady state (METHOD.md section 5, manual 5.2), on year-end
/// stocks: the smallest t (years, linear between year ends) after which
/// |SOC_Dec(y) - SOC_eq| <= 0.05 |SOC(t0) - SOC_eq| at every later year end y, with SOC the
/// total including IOM and SOC_eq the year-end total of the scenario's periodic equilibrium.
/// (The band is relative to SOC(t0), so SOC(t0) is outside it unless SOC(t0) = SOC_eq.) NaN
/// where SOC(t0) = SOC_eq exactly (no band), when a value is not finite, when the deficit is
/// not periodic within 10,000 years, or when the stocks do not stay within the band within
/// 1,000,000 years.
pub fn years_to_steady_state(
    soil: &Soil,
    forcing: &dyn Fn(usize) -> MonthForcing,
    tsmd: f64,
    pools_t0: Pools,
    monthly_input: f64,
) -> f64 {
    let mut pre = Vec::new();
    match forward_unit_maps(soil, forcing, &UNIFORM_WEIGHTS, tsmd, &mut pre) {
        Some(year) => steady_years(&pre, &year, pools_t0, monthly_input),
        None => f64::NAN,
    }
}

/// Monthly maps of the forward climate for a unit monthly input entering month m x
/// `weights[m]` (a class's input pattern, [`ClassTable::input_weights`]), from the deficit
/// `tsmd` (mm): the months before the deficit is periodic go to `pre` (whole years), the
/// periodic year is returned (None when the deficit is not periodic within 10,000 years).
pub(crate) fn forward_unit_maps(
    soil: &Soil,
    forcing: &dyn Fn(usize) -> MonthForcing,
    weights: &[f64; 12],
    tsmd: f64,
    pre: &mut Vec<YearMap>,
) -> Option<[YearMap; 12]> {
    let dpm_rpm = forcing(0).dpm_rpm;
    let (to_dpm, to_rpm) = (dpm_rpm / (dpm_rpm + 1.0), 1.0 / (dpm_rpm + 1.0));
    let unit = |m: usize| [to_dpm * weights[m], to_rpm * weights[m], 0.0, 0.0];
    pre.clear();
    let mut year: [YearMap; 12] = [YearMap::identity(); 12];
    let mut acc = tsmd;
    let rates = YearRates::new(soil, forcing);
    for _ in 0..STEADY_MAX_YEARS {
        let start = acc;
        for (m, map) in year.iter_mut().enumerate() {
            *map = YearMap::month(soil, rates.rate(soil, &mut acc, m), unit(m));
        }
        if acc == start {
            return Some(year);
        }
        pre.extend_from_slice(&year);
    }
    None
}

/// Years stepped at most until the deficit is periodic.
const STEADY_MAX_YEARS: usize = 10_000;

/// Years stepped at most towards the band of the steady state.
const BAND_MAX_YEARS: usize = 1_000_000;

/// Years to the steady state for the monthly input `monthly_input` (t C/ha), from the unit
/// maps of [`forward_unit_maps`] (see [`years_to_steady_state`]). The year ends are stepped
/// with each year's composed map until no later year end can leave the band: the periodic
/// year's linear part is non-negative with column sums below 1 (carbon only stays, moves to
/// BIO and HUM, or leaves as CO2), so the sum of the pools' absolute distances to the
/// equilibrium never grows from one year end to the next, and it bounds |SOC - SOC_eq|.
pub(crate) fn steady_years(
    pre: &[YearMap],
    year: &[YearMap; 12],
    pools_t0: Pools,
    monthly_input: f64,
) -> f64 {
    let compose = |months: &[YearMap]| months.iter().fold(YearMap::identity(), |a, m| a.then(m));
    let iom = pools_t0[4];
    let periodic = compose(year);
    let c_eq = YearMap {
        g: periodic.g.map(|v| v * monthly_input),
        ..periodic
    }
    .fixed_point();
    let soc_eq = c_eq.iter().sum::<f64>() + iom;
    let soc_t0 = total(&pools_t0);
    let tol = 0.05 * (soc_t0 - soc_eq).abs();
    if !(tol > 0.0 && tol.is_finite()) {
        return f64::NAN;
    }
    let outside = |soc: f64| (soc - soc_eq).abs() > tol;
    // the last year end outside the band (year, SOC) and the SOC of the year end after it
    let mut last_fail = outside(soc_t0).then_some((0usize, soc_t0));
    let mut after = f64::NAN;
    let mut c = [pools_t0[0], pools_t0[1], pools_t0[2], pools_t0[3]];
    let mut y = 0usize;
    let mut step = |map: &YearMap, c: &mut [f64; 4], y: &mut usize| {
        *c = map.apply_scaled(*c, monthly_input);
        *y += 1;
        let soc = c.iter().sum::<f64>() + iom;
        if outside(soc) {
            last_fail = Some((*y, soc));
            after = f64::NAN;
        } else if matches!(last_fail, Some((f, _)) if f + 1 == *y) {
            after = soc;
        }
    };
    for months in pre.chunks(12) {
        step(&compose(months), &mut c, &mut y);
    }
    let mut settled = false;
    for _ in 0..BAND_MAX_YEARS {
        let distance: f64 = c.iter().zip(&c_eq).map(|(a, b)| (a - b).abs()).sum();
        if !distance.is_finite() {
            return f64::NAN;
        }
        if distance <= tol {
            settled = true;
            break;
        }
        step(&periodic, &mut c, &mut y);
    }
    match last_fail {
        _ if !settled => f64::NAN,
        None => 0.0,
        Some((y_fail, s_fail)) => {
            // the linear path between the year ends y_fail and y_fail + 1 enters the band at
            // its edge on the side of SOC(y_fail)
            let edge = if s_fail > soc_eq {
                soc_eq + tol
            } else {
                soc_eq - tol
            };
            let f = ((edge - s_fail) / (after - s_fail)).clamp(0.0, 1.0);
            y_fail as f64 + f
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rothc::step::{decompose, month_rate};

    #[test]
    fn years_to_steady_state_equals_a_long_monthly_run() {
        let soil = Soil::new(30.0, 30.0, 1.0);
        let t = [
            2.0, 3.0, 6.0, 9.0, 13.0, 16.0, 18.0, 18.0, 15.0, 11.0, 6.0, 3.0,
        ];
        let pr = [
            60.0, 50.0, 45.0, 40.0, 50.0, 45.0, 50.0, 55.0, 60.0, 70.0, 75.0, 70.0,
        ];
        let e = [
            5.0, 10.0, 30.0, 55.0, 85.0, 100.0, 110.0, 90.0, 55.0, 25.0, 8.0, 4.0,
        ];
        let forcing = |m: usize| MonthForcing {
            temperature: t[m],
            precipitation: pr[m],
            evaporation: e[m],
            cover: if m == 8 { 1.0 } else { 0.6 },
            plant_input: 0.0,
            fym_input: 0.0,
            dpm_rpm: 1.44,
            rate_factor: 1.0,
        };
        let pools0 = [0.3, 4.0, 0.6, 25.0, 3.0];
        // below, near and above the input that holds SOC(t0)
        for input in [0.15, 0.25, 0.4] {
            let got = years_to_steady_state(&soil, &forcing, -20.0, pools0, input);
            // reference: 10,000 years month by month; the year ends, the last one outside the
            // band, linear between year ends
            let mut p = [pools0[0], pools0[1], pools0[2], pools0[3], pools0[4]];
            let mut acc = -20.0;
            let mut year_ends = vec![total(&p)];
            for k in 0..120_000 {
                let f = MonthForcing {
                    plant_input: input,
                    ..forcing(k % 12)
                };
                let rate = month_rate(&soil, &mut acc, &f).rate;
                decompose(&mut p, &soil, rate, input, 1.44, 0.0);
                if k % 12 == 11 {
                    year_ends.push(total(&p));
                }
            }
            let eq = year_ends[year_ends.len() - 1];
            let tol = 0.05 * (year_ends[0] - eq).abs();
            let last = (0..year_ends.len())
                .rev()
                .find(|&y| (year_ends[y] - eq).abs() > tol)
                .unwrap();
            let edge = if year_ends[last] > eq {
                eq + tol
            } else {
                eq - tol
            };
            let f = (edge - year_ends[last]) / (year_ends[last + 1] - year_ends[last]);
            let want = last as f64 + f;
            assert!(got.is_finite() && want > 1.0);
            assert!((got - want).abs() < 1e-9 * want, "{got} vs {want}");
        }
        // no band where SOC(t0) is the equilibrium exactly
        let eq = {
            let mut pre = Vec::new();
            let year =
                forward_unit_maps(&soil, &forcing, &UNIFORM_WEIGHTS, -20.0, &mut pre).unwrap();
            assert!(pre.is_empty() || pre.len() % 12 == 0);
            let composed = year.iter().fold(YearMap::identity(), |a, m| a.then(m));
            YearMap {
                g: composed.g.map(|v| v * 0.25),
                ..composed
            }
            .fixed_point()
        };
        let at_eq = [eq[0], eq[1], eq[2], eq[3], 3.0];
        assert_eq!(total(&at_eq), eq.iter().sum::<f64>() + 3.0);
        assert!(years_to_steady_state(&soil, &forcing, -20.0, at_eq, 0.25).is_nan());
    }
}
