//! Phase 3, the forward runs (METHOD.md sections 5 and 10): the forward climate when no
//! forward layers are given ([`forward_climatology`]), and the runs of Rothamsted-mode chains
//! from t0: every scenario and horizon in closed form (the periodic year's affine map raised to
//! the years left, up to 16 chains as lanes), BAU's maps shared by the scenarios that only scale
//! its plant input and each other scenario on its own maps after its adoption years (stepped
//! month by month); a forward climate series, or the checking option `forward_stepping`, steps
//! every month.

use super::chain::{forward_year, index, scenario_input, ChainJob, ChainState, Perturbation};
use super::classes::ClassTable;
use super::options::{final_len, flags, Options, PixelInput, PixelOutput};
use super::practices::{management, ForwardInputs, Management};
use crate::fao;
use crate::input::series::Series;
use crate::rothc::modifiers::Soil;
use crate::rothc::pools::{total, Pools};
use crate::rothc::step::{decompose_split, month_rate, MonthForcing, YearRates};
use crate::rothc::year_map::{YearMap, YearMaps};

/// The forward climate of a pixel without forward layers (METHOD.md section 5): the 12 monthly
/// means of its warm-up series (degrees C or mm), as numpy's
/// `series.reshape(years, 12).mean(axis=0)` computes them (the years added in order from the
/// first, then divided by their number).
pub fn forward_climatology(series: &Series<'_>) -> [f64; 12] {
    let years = series.len() / 12;
    let mut sum = series.year(0);
    for y in 1..years {
        for (s, x) in sum.iter_mut().zip(series.year(y)) {
            *s += x;
        }
    }
    sum.map(|s| s / years as f64)
}

/// [`forward_climatology`] of `N` pixels' series at once: where they lie as the lanes of the
/// block's loading lay them out (one buffer, the pixels' values of a month side by side:
/// [`Series::as_strided`]), the years of every pixel are added together, a month's pixels as
/// one vector (the same sums in the same order: the same bits); else pixel by pixel.
pub fn forward_climatologies<const N: usize>(series: &[Series<'_>; N]) -> [[f64; 12]; N] {
    // an array, not a Vec: no allocation per batch
    let lanes: [Option<(&[f64], usize, usize)>; N] =
        std::array::from_fn(|k| series[k].as_strided());
    let side_by_side = lanes
        .first()
        .copied()
        .flatten()
        .and_then(|(v, first, stride)| {
            let months = series[0].len();
            let together = lanes.iter().zip(series).enumerate().all(|(l, (lane, x))| {
                matches!(*lane, Some((w, f, s))
                if std::ptr::eq(w, v) && f == first + l && s == stride && x.len() == months)
            });
            (together && months >= 12).then_some((v, first, stride, months / 12))
        });
    let Some((v, first, stride, years)) = side_by_side else {
        return std::array::from_fn(|k| forward_climatology(&series[k]));
    };
    let month = |y: usize, m: usize| -> &[f64; N] {
        let at = first + (12 * y + m) * stride;
        v[at..at + N].try_into().expect("N lanes")
    };
    let mut sum: [[f64; N]; 12] = std::array::from_fn(|m| *month(0, m));
    for y in 1..years {
        for (m, s) in sum.iter_mut().enumerate() {
            for (s, x) in s.iter_mut().zip(month(y, m)) {
                *s += x;
            }
        }
    }
    std::array::from_fn(|l| std::array::from_fn(|m| sum[m][l] / years as f64))
}

/// The climate of a chain's forward runs: the 12 months of the forward climatology repeated,
/// or a forward climate series (METHOD.md section 10) with the chain's temperature and
/// precipitation factors.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::large_enum_variant)] // one a chain, on the stack
pub(crate) enum ForwardClimate<'a> {
    /// The forward year of the chain ([`forward_year`]: climate already perturbed).
    Periodic(&'a [MonthForcing; 12]),
    /// 12 H months of temperature, precipitation and PET, and the chain's factors of the
    /// first two.
    Series {
        series: [Series<'a>; 3],
        temperature: f64,
        precipitation: f64,
    },
}

impl<'a> ForwardClimate<'a> {
    /// The forward climate of a chain of `px` perturbed by `p`: its series, else `year` (the
    /// chain's [`forward_year`]).
    pub(crate) fn of(px: &PixelInput<'a>, p: &Perturbation, year: &'a [MonthForcing; 12]) -> Self {
        match px.refinements.forward_climate {
            Some(series) => ForwardClimate::Series {
                series,
                temperature: p.temperature,
                precipitation: p.precipitation,
            },
            None => ForwardClimate::Periodic(year),
        }
    }

    /// Temperature (degrees C), precipitation and PET (mm) of month `m` of year `y` (from 0).
    #[inline]
    fn month(&self, y: usize, m: usize) -> [f64; 3] {
        match self {
            ForwardClimate::Periodic(year) => {
                let f = &year[m];
                [f.temperature, f.precipitation, f.evaporation]
            }
            ForwardClimate::Series {
                series: [t, p, e],
                temperature,
                precipitation,
            } => {
                let k = 12 * y + m;
                [
                    t.month(k) * temperature,
                    p.month(k) * precipitation,
                    e.month(k),
                ]
            }
        }
    }

    /// MIAMI NPP of year `y` (t C/ha/yr, before a land-use coefficient).
    fn miami_npp(&self, y: usize) -> f64 {
        let (mut t_sum, mut p_sum) = (0.0, 0.0);
        for m in 0..12 {
            let [t, p, _] = self.month(y, m);
            t_sum += t;
            p_sum += p;
        }
        fao::miami_npp(t_sum / 12.0, p_sum)
    }
}

/// One scenario of one chain stepped month by month: its soil and climate, BAU's management
/// and the scenario's (the adoption moves from the first to the second), and the warm-up's
/// mean MIAMI NPP when the inputs follow the NPP of a forward series.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScenarioRun<'a> {
    pub(crate) soil: Soil,
    pub(crate) climate: ForwardClimate<'a>,
    pub(crate) bau: Management,
    pub(crate) scenario: Management,
    pub(crate) npp_mean: Option<f64>,
}

impl ScenarioRun<'_> {
    /// NPP of forward year `y` over the warm-up's mean (1 unless the inputs follow the NPP).
    #[inline]
    fn npp_scale(&self, y: usize) -> f64 {
        match self.npp_mean {
            Some(mean) => self.climate.miami_npp(y) / mean,
            None => 1.0,
        }
    }

    /// Steps the forward years `years` (from 0) from `pools` and `tsmd` (updated);
    /// `year_end(y, pools)` sees the pools at the end of each year y + 1.
    pub(crate) fn step(
        &self,
        pools: &mut Pools,
        tsmd: &mut f64,
        years: std::ops::Range<usize>,
        year_end: &mut dyn FnMut(usize, &Pools),
    ) {
        let (bau, s) = (&self.bau, &self.scenario);
        for y in years {
            let scale = self.npp_scale(y);
            let plant = [bau.monthly_plant(scale), s.monthly_plant(scale)];
            for m in 0..12 {
                let [temperature, precipitation, evaporation] = self.climate.month(y, m);
                let (cover, rate_factor, inputs) = s.adopted_month(bau, y + 1, m, plant);
                let forcing = MonthForcing {
                    temperature,
                    precipitation,
                    evaporation,
                    cover,
                    plant_input: 0.0,
                    fym_input: 0.0,
                    dpm_rpm: s.dpm_rpm,
                    rate_factor,
                };
                let rate = month_rate(&self.soil, tsmd, &forcing).rate;
                decompose_split(pools, &self.soil, rate, inputs);
            }
            year_end(y + 1, pools);
        }
    }
}

/// Every scenario of a Rothamsted-mode chain from its state at t0 stepped month by month (a
/// forward climate series, or the checking option `forward_stepping`): the final total SOC of
/// each horizon into `final_soc` (chain `r`).
#[allow(clippy::too_many_arguments)]
pub(crate) fn rothamsted_forward(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    p: &Perturbation,
    r: usize,
    state: &ChainState,
    out: &mut PixelOutput,
    final_soc: &mut [f64],
) {
    let chain = out.chains[r];
    let year = forward_year(table, px, p);
    let climate = ForwardClimate::of(px, p, &year);
    let npp_mean = match (climate, opts.forward_inputs) {
        (ForwardClimate::Series { .. }, ForwardInputs::NppScaled) => Some(state.npp_mean),
        _ => None,
    };
    let bau = management(opts, table, px, p, chain.cin_mean, 0);
    let max_years = opts.horizons.last().copied().unwrap_or(0);
    let mut negative = false;
    for s in 0..opts.scenarios.len() {
        let run = ScenarioRun {
            soil: state.soil,
            climate,
            bau,
            scenario: management(opts, table, px, p, chain.cin_mean, s),
            npp_mean,
        };
        let (mut pools, mut tsmd) = (chain.pools_t0, state.tsmd);
        run.step(&mut pools, &mut tsmd, 0..max_years, &mut |y, pools| {
            for (h, years) in opts.horizons.iter().enumerate() {
                if *years == y {
                    final_soc[index(opts, h, s, r)] = total(pools);
                }
            }
        });
        negative |= pools.iter().any(|v| *v < 0.0);
    }
    if negative {
        out.flags |= flags::NEGATIVE_POOL;
    }
}

/// Closed-form forward runs of up to `L` chains of a batch as lanes (lanes beyond the chains
/// repeat the first one); the chain outputs at t0 must be set. BAU and the scenarios that only
/// scale its plant input share BAU's maps; each other scenario gets its own (after its
/// adoption years, stepped).
#[allow(clippy::too_many_arguments)]
pub(crate) fn forward_lanes<const L: usize>(
    opts: &Options,
    table: &ClassTable,
    pixels: &[PixelInput<'_>],
    jobs: &[ChainJob],
    states: &[ChainState],
    outs: &mut [PixelOutput],
    final_soc: &mut [f64],
) {
    let at = |l: usize| if l < jobs.len() { l } else { 0 };
    let job = |l: usize| &jobs[at(l)];
    let soils: [Soil; L] = std::array::from_fn(|l| states[at(l)].soil);
    let years: [[MonthForcing; 12]; L] = std::array::from_fn(|l| {
        let j = job(l);
        forward_year(table, &pixels[j.pixel], &j.perturb)
    });
    let cin_mean: [f64; L] =
        std::array::from_fn(|l| outs[job(l).pixel].chains[job(l).run].cin_mean);
    let flen = final_len(opts);
    let n_s = opts.scenarios.len();
    let plain = |s: usize| opts.practices.get(s).is_none_or(|p| p.is_plain());
    let management_of = |l: usize, s: usize| {
        let j = job(l);
        management(opts, table, &pixels[j.pixel], &j.perturb, cin_mean[l], s)
    };
    let bau_managed: [Management; L] = std::array::from_fn(|l| management_of(l, 0));
    // Whether scenario s of lane l runs on BAU's maps: it only scales BAU's plant input
    // everywhere, or its practices change nothing else at the lane's pixel (then its stocks
    // are BAU's bit for bit where they change nothing at all).
    let on_bau_maps = |l: usize, s: usize| plain(s) || management_of(l, s).scales(&bau_managed[l]);
    // The monthly input (t C/ha) of each plain scenario of each lane.
    let inputs = |l: usize, s: usize| {
        let j = job(l);
        let px = &pixels[j.pixel];
        if opts.practices.is_empty() {
            scenario_input(opts, table, px, &j.perturb, cin_mean[l], s)
        } else {
            management_of(l, s).monthly_plant(1.0)
        }
    };
    let c0: [[f64; 4]; L] = std::array::from_fn(|l| {
        let p = states[at(l)].pools;
        [p[0], p[1], p[2], p[3]]
    });
    let iom: [f64; L] = std::array::from_fn(|l| states[at(l)].pools[4]);
    let mut negative = [false; L];
    let mut write = |l: usize, h: usize, s: usize, c: [f64; 4], negative: &mut [bool; L]| {
        negative[l] |= c.iter().any(|v| *v < 0.0);
        if l < jobs.len() {
            let i = index(opts, h, s, jobs[l].run);
            final_soc[jobs[l].pixel * flen + i] = c[0] + c[1] + c[2] + c[3] + iom[l];
        }
    };

    // BAU's maps, for a unit monthly input split by each lane's ratio and pattern
    let weights: [&[f64; 12]; L] =
        std::array::from_fn(|l| &table.input_weights[pixels[job(l).pixel].forward_class as usize]);
    let split: [(f64, f64); L] = std::array::from_fn(|l| {
        let r = years[l][0].dpm_rpm;
        (r / (r + 1.0), 1.0 / (r + 1.0))
    });
    let unit = |m: usize| -> [[f64; L]; 4] {
        let mut u = [[0.0; L]; 4];
        for (l, (to_dpm, to_rpm)) in split.iter().enumerate() {
            [u[0][l], u[1][l]] = [to_dpm * weights[l][m], to_rpm * weights[l][m]];
        }
        u
    };
    let rates = YearRates::of_lanes(&soils, &years);
    let tsmd: [f64; L] = std::array::from_fn(|l| states[at(l)].tsmd);
    let mut bau = |unit_inputs: &[[[f64; L]; 4]]| {
        closed_form_lanes(
            &opts.horizons,
            &[0; L],
            &soils,
            &rates,
            unit_inputs,
            &tsmd,
            &mut |l, h, map| {
                for s in (0..n_s).filter(|&s| on_bau_maps(l, s)) {
                    let c = map.apply_scaled(c0[l], inputs(l, s));
                    write(l, h, s, c, &mut negative);
                }
            },
        )
    };
    // one month's inputs for every month without input patterns
    if table.patterned {
        bau(&std::array::from_fn::<_, 12, _>(unit));
    } else {
        bau(&[unit(0)]);
    }

    // every other scenario on its own maps, after its adoption years
    for s in (0..n_s).filter(|&s| !plain(s)) {
        let managed: [Management; L] = std::array::from_fn(|l| management_of(l, s));
        // lanes already written from BAU's maps
        let done: [bool; L] = std::array::from_fn(|l| managed[l].scales(&bau_managed[l]));
        if done.iter().all(|&d| d) {
            continue;
        }
        let max_years = opts.horizons.last().copied().unwrap_or(0);
        let offset: [usize; L] =
            std::array::from_fn(|l| managed[l].adoption_years.saturating_sub(1).min(max_years));
        let mut pools: [Pools; L] = std::array::from_fn(|l| states[at(l)].pools);
        let mut tsmd = tsmd;
        for l in (0..L).filter(|&l| offset[l] > 0 && !done[l]) {
            let run = ScenarioRun {
                soil: soils[l],
                climate: ForwardClimate::Periodic(&years[l]),
                bau: bau_managed[l],
                scenario: managed[l],
                npp_mean: None,
            };
            run.step(
                &mut pools[l],
                &mut tsmd[l],
                0..offset[l],
                &mut |y, pools| {
                    for (h, years) in opts.horizons.iter().enumerate() {
                        if *years == y {
                            let c = [pools[0], pools[1], pools[2], pools[3]];
                            write(l, h, s, c, &mut negative);
                        }
                    }
                },
            );
        }
        // the scenario's year: its cover and rate factor, its inputs month by month
        let own: [[MonthForcing; 12]; L] = std::array::from_fn(|l| {
            let mg = &managed[l];
            years[l].map(|f| MonthForcing {
                rate_factor: mg.rate_factor,
                ..f
            })
        });
        let mut month_inputs = [[[0.0; L]; 4]; 12];
        let mut own = own;
        for (l, mg) in managed.iter().enumerate() {
            let plant = mg.monthly_plant(1.0);
            for (m, inputs) in month_inputs.iter_mut().enumerate() {
                own[l][m].cover = mg.cover[m];
                let v = Management::map_inputs(mg.month_inputs(m, plant));
                for i in 0..4 {
                    inputs[i][l] = v[i];
                }
            }
        }
        let rates = YearRates::of_lanes(&soils, &own);
        let c0: [[f64; 4]; L] = pools.map(|p| [p[0], p[1], p[2], p[3]]);
        closed_form_lanes(
            &opts.horizons,
            &offset,
            &soils,
            &rates,
            &month_inputs,
            &tsmd,
            &mut |l, h, map| {
                if !done[l] {
                    let c = map.apply_scaled(c0[l], 1.0);
                    write(l, h, s, c, &mut negative);
                }
            },
        );
    }
    for (job, negative) in jobs.iter().zip(negative) {
        if negative {
            outs[job.pixel].flags |= flags::NEGATIVE_POOL;
        }
    }
}

/// Forward runs in closed form: months are stepped (as affine maps, for a unit input) only
/// until the moisture deficit joins its periodic year, whose composed map is then raised to
/// the remaining years by squaring. The cost does not grow with the horizon, and all
/// scenarios, which differ only in the input, share the maps.
///
/// From the pools `pools_t0` (t C/ha) and deficit `tsmd` (mm) at t0, under the 12-month
/// `forcing` (its `dpm_rpm` splits the input) with `inputs(s)` t C/ha a month for scenario
/// `s`, writes the total SOC (t C/ha) of every horizon and scenario of `opts` for chain `r`
/// into `final_soc` (indexed as in [`super::chain::simulate_pixel`]). Returns whether a pool
/// went negative. Panics unless `r < 3` and `final_soc.len() >= final_len(opts)`.
#[allow(clippy::too_many_arguments)]
pub fn forward_closed_form(
    opts: &Options,
    soil: &Soil,
    forcing: &dyn Fn(usize) -> MonthForcing,
    tsmd: f64,
    pools_t0: Pools,
    inputs: &dyn Fn(usize) -> f64,
    r: usize,
    final_soc: &mut [f64],
) -> bool {
    let r_dpm = forcing(0).dpm_rpm;
    let unit = [[[r_dpm / (r_dpm + 1.0)], [1.0 / (r_dpm + 1.0)], [0.0], [0.0]]];
    let c0 = [pools_t0[0], pools_t0[1], pools_t0[2], pools_t0[3]];
    let mut negative = false;
    closed_form_lanes(
        &opts.horizons,
        &[0],
        &[*soil],
        &[YearRates::new(soil, forcing)],
        &unit,
        &[tsmd],
        &mut |_, h, map| {
            negative |= write_finals(opts, map, c0, pools_t0[4], inputs, h, r, &mut |i, v| {
                final_soc[i] = v
            });
        },
    );
    negative
}

simd_dispatch! {
    /// The year maps of `L` chains side by side, the same bits lane by lane, from their soils,
    /// the rates of their forward year and the carbon added at the end of each month (t C/ha
    /// to DPM, RPM, BIO, HUM: `inputs[m][pool][lane]`, 12 months or one for every month, for a
    /// unit input or the actual ones) and
    /// their deficits: `at_horizon(lane, h, map)` gets the map from the lane's start to
    /// horizon h, `horizons[h] - offset[lane]` years later (horizons not after the offset are
    /// skipped). The maps of all lanes are composed as vectors; the transient years before
    /// each lane's deficit is periodic are composed for every lane (and kept for those still
    /// in them).
    fn closed_form_lanes<const L: usize>(
        horizons: &[usize],
        offset: &[usize; L],
        soils: &[Soil; L],
        rates: &[YearRates; L],
        inputs: &[[[f64; L]; 4]],
        tsmd: &[f64; L],
        at_horizon: &mut dyn FnMut(usize, usize, &YearMap),
    ) -> () {
        let (max_years, n_h) = (horizons.last().copied().unwrap_or(0), horizons.len());
        let partition = soils.map(|s| s.partition);
        // Years before the deficit is periodic, composed; then the periodic year.
        let mut acc = *tsmd;
        let (mut pre, mut periodic) = (YearMaps::<L>::identity(), YearMaps::<L>::identity());
        let mut pre_years = [0usize; L];
        let mut next_h: [usize; L] =
            std::array::from_fn(|l| horizons.iter().take_while(|&&h| h <= offset[l]).count());
        let mut transient: [bool; L] = std::array::from_fn(|l| next_h[l] < n_h);
        let mut found = [false; L];
        for y in 0..max_years {
            if !transient.iter().any(|&t| t) {
                break;
            }
            let start = acc;
            let mut year = YearMaps::<L>::identity();
            for m in 0..12 {
                let input = &inputs[m % inputs.len()];
                let mut rate = [0.0; L];
                for l in 0..L {
                    rate[l] = rates[l].rate(&soils[l], &mut acc[l], m);
                }
                year.push_month(&partition, &rate, input);
            }
            let joined: [bool; L] = std::array::from_fn(|l| transient[l] && acc[l] == start[l]);
            periodic.take_lanes(&year, &joined);
            for l in 0..L {
                found[l] |= joined[l];
                transient[l] &= !joined[l];
            }
            pre.take_lanes(&pre.then(&year), &transient);
            for l in (0..L).filter(|&l| transient[l]) {
                pre_years[l] += 1;
                while next_h[l] < n_h && horizons[next_h[l]] - offset[l] == y + 1 {
                    at_horizon(l, next_h[l], &pre.lane(l));
                    next_h[l] += 1;
                }
            }
        }
        // The remaining horizons: the periodic year raised to the years left after the transient.
        let mut power = YearMaps::<L>::identity();
        let mut power_years = [0usize; L];
        for (h, &horizon) in horizons.iter().enumerate() {
            let todo: [bool; L] = std::array::from_fn(|l| found[l] && h >= next_h[l]);
            if !todo.iter().any(|&t| t) {
                continue;
            }
            let k: [usize; L] = std::array::from_fn(|l| {
                if todo[l] {
                    horizon - offset[l] - pre_years[l] - power_years[l]
                } else {
                    0
                }
            });
            power.take_lanes(&power.then(&periodic.power(&k)), &todo);
            let map = pre.then(&power);
            for l in (0..L).filter(|&l| todo[l]) {
                power_years[l] += k[l];
                at_horizon(l, h, &map.lane(l));
            }
        }
    }
}

/// The final total SOC of every scenario at horizon `h` from the map of the horizon (chain
/// `r`), each to `write(index, value)`; whether a pool went negative.
#[allow(clippy::too_many_arguments)]
pub(crate) fn write_finals(
    opts: &Options,
    map: &YearMap,
    c0: [f64; 4],
    iom: f64,
    inputs: &dyn Fn(usize) -> f64,
    h: usize,
    r: usize,
    write: &mut dyn FnMut(usize, f64),
) -> bool {
    let mut negative = false;
    for s in 0..opts.scenarios.len() {
        let c = map.apply_scaled(c0, inputs(s));
        negative |= c.iter().any(|v| *v < 0.0);
        write(index(opts, h, s, r), c[0] + c[1] + c[2] + c[3] + iom);
    }
    negative
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::chain::{simulate_pixel, Workspace};
    use crate::phases::options::{PixelInput, PixelOutput};
    use crate::phases::testing::{moisture_options, options, soil_water, OnePixel};

    #[test]
    fn climatologies_side_by_side_are_each_pixels_bits() {
        // 4 pixels' 3 years in lanes of 4 (month-major, a lane a pixel, as the block loads a
        // window's series), values whose sums round: each pixel's means bit for bit those of
        // its own series; pixels not side by side (reversed, or of their own rows) the same
        use crate::input::series::{Conversion, Values};
        let (n, months) = (4, 36);
        let value = |k: usize, j: usize| ((k * 37 + j * 11) % 17) as f64 * 0.1 + 1e-3 * j as f64;
        let mut lanes = vec![0.0; n * months];
        for k in 0..n {
            for j in 0..months {
                lanes[j * n + k] = value(k, j);
            }
        }
        let row = |k: usize| (0..months).map(|j| value(k, j)).collect();
        let rows: Vec<Vec<f64>> = (0..n).map(row).collect();
        let own = rows.iter().map(|r| forward_climatology(&Series::from(r)));
        let want: Vec<[u64; 12]> = own.map(|c| c.map(f64::to_bits)).collect();
        let strided = |k: usize| {
            Series::strided(Values::F64(&lanes), k, n, months, Conversion::IDENTITY).unwrap()
        };
        let got = forward_climatologies::<4>(&std::array::from_fn(strided));
        assert_eq!(got.map(|c| c.map(f64::to_bits))[..], want[..]);
        let reversed = forward_climatologies::<4>(&std::array::from_fn(|l| strided(3 - l)));
        for l in 0..4 {
            assert_eq!(reversed[l].map(f64::to_bits), want[3 - l]);
        }
        let own = forward_climatologies::<4>(&std::array::from_fn(|k| Series::from(&rows[k])));
        assert_eq!(own.map(|c| c.map(f64::to_bits))[..], want[..]);
        // (the sums do round: a mean differs from the one of a sum in another order)
        assert!(got.iter().flatten().any(|x| x.fract() != 0.0));
    }

    #[test]
    fn closed_form_forward_equals_month_by_month() {
        let table = ClassTable::default();
        // humid, dry (deficit at the clamp), dry with bare months, paddy, cold
        let climates: [(f64, f64, f64, u8); 5] = [
            (12.0, 110.0, 40.0, 2),
            (24.0, 15.0, 150.0, 3),
            (20.0, 30.0, 90.0, 2),
            (27.0, 200.0, 120.0, 13),
            (-2.0, 40.0, 10.0, 5),
        ];
        for (t_mean, p_mean, e_mean, class) in climates {
            let season: [f64; 12] =
                std::array::from_fn(|m| (m as f64 * std::f64::consts::FRAC_PI_6).cos());
            let t: [f64; 12] = std::array::from_fn(|m| t_mean + 6.0 * season[m]);
            let pr: [f64; 12] = std::array::from_fn(|m| p_mean * (1.0 + 0.8 * season[m]));
            let e: [f64; 12] = std::array::from_fn(|m| e_mean * (1.0 - 0.5 * season[m]));
            let cover: [f64; 12] = std::array::from_fn(|m| if m < 3 { 1.0 } else { 0.6 });
            let one = OnePixel::new(t, pr, e, cover, class, 0.01);
            let px = one.input(55.0, 28.0, [5.0, 4.8, 5.2]);
            for (k, moisture) in moisture_options().into_iter().enumerate() {
                let px = PixelInput {
                    soil_water: Some(soil_water(k)),
                    ..px
                };
                let mut results = Vec::new();
                for stepping in [false, true] {
                    let mut opts = options(stepping);
                    opts.moisture = moisture;
                    let mut out = PixelOutput::default();
                    let mut finals = vec![0.0; final_len(&opts)];
                    simulate_pixel(
                        &opts,
                        &table,
                        &px,
                        &mut Workspace::default(),
                        &mut out,
                        &mut finals,
                        &mut [],
                        &mut [],
                        0,
                    );
                    results.push(finals);
                }
                for (a, b) in results[0].iter().zip(results[1].iter()) {
                    assert!(a.is_finite() && b.is_finite());
                    assert!(
                        (a / b - 1.0).abs() < 1e-12,
                        "{a} vs {b} (T {t_mean}, {moisture:?})"
                    );
                }
            }
        }
    }
}
