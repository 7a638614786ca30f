//! Phase 2, the warm-up (METHOD.md sections 4 and 10) of Rothamsted-mode chains as the lanes of
//! one kernel: each year's input from its MIAMI NPP (or the pixel's NPP, or its carbon input,
//! of the year), entering by the class's monthly pattern, the months run from the spin-up's
//! state.

use super::chain::{ChainJob, ChainState, WarmupChain};
use super::classes::ClassTable;
use super::options::{flags, PixelInput, PixelOutput, WarmupInputs};
use crate::fao;
use crate::rothc::lanes::{LaneSoils, LaneState, LaneYear};
use crate::rothc::modifiers::Soil;
use crate::rothc::pools::{split_fym, split_plant_input, Pools};
use crate::simd::transpose::{rows_to_lanes, LaneMonth};

/// Rows of a warm-up year's climate: temperature, precipitation, PET.
const TEMPERATURE: usize = 0;
const PRECIPITATION: usize = 1;
const PET: usize = 2;

/// A quantity's warm-up series of `L` lanes stored a stride apart: each lane's float64 values,
/// its first position and its stride ([`crate::input::series::Series::as_strided`]).
type StridedLanes<'a, const L: usize> = ([&'a [f64]; L], [usize; L], [usize; L]);

/// The warm-up of the first (up to) `L` chains of `states` (updated in place), jobs `jobs` of
/// `pixels` with `warmup`, as the lanes of one kernel: year by year, each lane's plant input
/// from its MIAMI NPP (`cin_t0`, `cin_mean` and flags into `outs`), its forcing written
/// straight into the kernel's month-major lanes, then the year's months run. Lanes beyond the
/// chains repeat the first one. Returns the chains done.
///
/// The lanes are the inner loop: the chains' years (each a serial chain of sums, exponentials
/// and divisions) are independent of each other, so they overlap in the CPU, and each year's
/// series are read once for both the NPP and the forcing. The whole warm-up is compiled for the
/// CPU's vectors ([`crate::simd`]); a year's forcing stays in the cache between its writing and
/// its months.
pub(crate) fn warm_up<const L: usize>(
    table: &ClassTable,
    states: &mut [ChainState],
    jobs: &[ChainJob],
    pixels: &[PixelInput<'_>],
    warmup: &[WarmupChain],
    outs: &mut [PixelOutput],
) -> usize {
    warm_up_lanes::<L>(table, states, jobs, pixels, warmup, outs)
}

simd_dispatch! {
    fn warm_up_lanes<const L: usize>(
        table: &ClassTable,
        states: &mut [ChainState],
        jobs: &[ChainJob],
        pixels: &[PixelInput<'_>],
        warmup: &[WarmupChain],
        outs: &mut [PixelOutput],
    ) -> usize {
        let n = states.len().min(L);
        let lane = |l: usize| if l < n { l } else { 0 };
        let mut pools: [Pools; L] = std::array::from_fn(|l| states[lane(l)].pools);
        let mut tsmd: [f64; L] = std::array::from_fn(|l| states[lane(l)].tsmd);
        let soils: [Soil; L] = std::array::from_fn(|l| states[lane(l)].soil);
        let lane_soils = LaneSoils::new(&soils);
        let mut state = LaneState::new(&pools, &tsmd);
        let years = pixels[jobs[0].pixel].warmup_class.len();
        let (fym_dpm, fym_rpm, fym_hum) = split_fym(0.0);
        // what does not change from year to year is written once (the kernel does not change
        // it): the pixels' covers (lanes taking their class's cover overwrite theirs every
        // year) and the manure (none)
        let mut v = LaneYear::<L>::default();
        v.inputs[2] = [fym_dpm; L];
        v.inputs[3] = [fym_rpm; L];
        v.inputs[4] = [fym_hum; L];
        // lanes without cover values take their class's default cover year by year
        let mut class_cover = [false; L];
        for l in 0..L {
            let px = &pixels[jobs[lane(l)].pixel];
            class_cover[l] = px.warmup_cover[0].is_nan();
            for (m, c) in px.warmup_cover.iter().enumerate() {
                v.cover[m][l] = *c;
            }
            assert_eq!(
                px.warmup_class.len(),
                years,
                "chains of different warm-up lengths"
            );
        }
        // the plant input of each lane: restarted from the equilibrium input after a year
        // without a coefficient (and in the first year), else last year's scaled by the NPP of
        // the year over last year's
        let mut previous_npp = [f64::NAN; L];
        let mut restart = [true; L];
        let mut input = [0.0; L];
        let mut input_sum = [0.0; L];
        let mut flagged = [0u32; L];
        let patterns = table.patterned
            && (0..L).any(|l| {
                let px = &pixels[jobs[lane(l)].pixel];
                px.warmup_class.iter().any(|c| !table.uniform_input(*c))
            });
        let mut weights = [[1.0; L]; 12];
        let mut npp_sum = [0.0; L];
        // without refinements in any lane, no refinement is looked at year by year (the plain
        // warm-up's instructions: the loop is unswitched on this)
        let refined = (0..L).any(|l| {
            let px = &pixels[jobs[lane(l)].pixel];
            class_cover[l]
                || warmup[lane(l)].npp_mean
                || !matches!(px.refinements.warmup_inputs, WarmupInputs::Miami)
        });
        // the DPM/RPM split of each lane's plant input, divided again only when the ratio
        // changes (the bits of `split_plant_input(1.0, ratio)`)
        let mut ratio = [f64::NAN; L];
        let (mut to_dpm, mut to_rpm) = ([f64::NAN; L], [f64::NAN; L]);
        // each lane's climate factors and evaporation coefficient, and the scratch of a year's
        // temperature, precipitation and PET: rows of the lanes, then month-major
        let temperature_factor: [f64; L] = std::array::from_fn(|l| warmup[lane(l)].temperature);
        let precipitation_factor: [f64; L] =
            std::array::from_fn(|l| warmup[lane(l)].precipitation);
        let evap: [f64; L] = std::array::from_fn(|l| soils[l].evap_coefficient);
        let ceq: [f64; L] = std::array::from_fn(|l| warmup[lane(l)].ceq);
        let npp_reference: [f64; L] = std::array::from_fn(|l| warmup[lane(l)].npp_reference);
        let calibration_input: [f64; L] =
            std::array::from_fn(|l| pixels[jobs[lane(l)].pixel].calibration.input);
        let calibration_rate: [f64; L] =
            std::array::from_fn(|l| pixels[jobs[lane(l)].pixel].calibration.rate);
        let mut climate = [LaneMonth::<L, 3>::default(); 12];
        let plain_rows = |q: usize| -> Option<[&[f64]; L]> {
            let mut rows = [&[][..]; L];
            for (l, row) in rows.iter_mut().enumerate() {
                let px = &pixels[jobs[lane(l)].pixel];
                let series = match q {
                    TEMPERATURE => &px.warmup_temperature,
                    PRECIPITATION => &px.warmup_precipitation,
                    _ => &px.warmup_pet,
                };
                *row = series.as_plain()?;
                assert!(row.len() >= 12 * years, "a warm-up series shorter than its years");
            }
            Some(rows)
        };
        let plain = match (plain_rows(TEMPERATURE), plain_rows(PRECIPITATION), plain_rows(PET)) {
            (Some(t), Some(p), Some(e)) => Some([t, p, e]),
            _ => None,
        };
        // else float64 series a stride apart (a window's, as the block's loading lays them out
        // for the lanes: [`crate::input::series::SeriesColumn::load`]): each lane's values, its
        // first position and stride; `together` when the lanes are neighbours of one buffer
        // (month m of every lane one slice)
        let strided_rows = |q: usize| -> Option<StridedLanes<'_, L>> {
            let (mut rows, mut first, mut stride) = ([&[][..]; L], [0; L], [0; L]);
            for l in 0..L {
                let px = &pixels[jobs[lane(l)].pixel];
                let series = match q {
                    TEMPERATURE => &px.warmup_temperature,
                    PRECIPITATION => &px.warmup_precipitation,
                    _ => &px.warmup_pet,
                };
                (rows[l], first[l], stride[l]) = series.as_strided()?;
                assert!(series.len() >= 12 * years, "a warm-up series shorter than its years");
            }
            Some((rows, first, stride))
        };
        let strided = match plain {
            Some(_) => None,
            None => match (
                strided_rows(TEMPERATURE),
                strided_rows(PRECIPITATION),
                strided_rows(PET),
            ) {
                (Some(t), Some(p), Some(e)) => Some([t, p, e]),
                _ => None,
            },
        };
        let together = strided.as_ref().is_some_and(|s| {
            s.iter().all(|(rows, first, stride)| {
                (0..L).all(|l| {
                    std::ptr::eq(rows[l], rows[0])
                        && stride[l] == stride[0]
                        && first[l] == first[0] + l
                })
            })
        });
        for y in 0..years {
            // Passes over the lanes, each with a short body, so that the lanes' chains (sums,
            // exponentials and divisions of one lane depend on each other) overlap: the months
            // and their sums; the MIAMI NPP of each lane's year; its input.
            // The lanes' years laid out month-major: float64 series straight from where they
            // lie, in registers ([`rows_to_lanes`]); others value by value.
            if let Some(plain) = &plain {
                for (q, rows) in plain.iter().enumerate() {
                    let year = rows.map(|r| &r[12 * y..12 * y + 12]);
                    rows_to_lanes(&year, 12, &mut climate, q);
                }
            } else if let Some(strided) = &strided {
                // already month-major: a slice of the lanes' values a month where they are
                // neighbours (a full batch), else value by value
                for (q, (rows, first, stride)) in strided.iter().enumerate() {
                    for (m, month) in climate.iter_mut().enumerate() {
                        let lanes = &mut month.0[q];
                        if together {
                            let at = first[0] + (12 * y + m) * stride[0];
                            lanes.copy_from_slice(&rows[0][at..at + L]);
                        } else {
                            for (l, v) in lanes.iter_mut().enumerate() {
                                *v = rows[l][first[l] + (12 * y + m) * stride[l]];
                            }
                        }
                    }
                }
            } else {
                for l in 0..L {
                    let px = &pixels[jobs[lane(l)].pixel];
                    let series = [
                        &px.warmup_temperature,
                        &px.warmup_precipitation,
                        &px.warmup_pet,
                    ];
                    for (q, series) in series.into_iter().enumerate() {
                        for (m, v) in series.year(y).into_iter().enumerate() {
                            climate[m].0[q][l] = v;
                        }
                    }
                }
            }
            let (mut t_sum, mut p_sum) = ([0.0; L], [0.0; L]);
            for (m, LaneMonth([t, pr, pet])) in climate.iter().enumerate() {
                for l in 0..L {
                    let temperature = t[l] * temperature_factor[l];
                    let precipitation = pr[l] * precipitation_factor[l];
                    t_sum[l] += temperature;
                    p_sum[l] += precipitation;
                    v.temperature[m][l] = temperature;
                    v.water_balance[m][l] = precipitation - evap[l] * pet[l];
                }
            }
            // (computed for every lane, used where the input follows it)
            let t_mean: [f64; L] = std::array::from_fn(|l| t_sum[l] / 12.0);
            let miami = fao::miami_npp_lanes(&t_mean, &p_sum);
            if refined {
                for l in 0..L {
                    let (w, px) = (&warmup[lane(l)], &pixels[jobs[lane(l)].pixel]);
                    let class = px.warmup_class[y];
                    let coef = table.coef[class as usize];
                    let given = px.refinements.warmup_inputs;
                    if w.npp_mean {
                        npp_sum[l] += miami[l];
                    }
                    // a class without coefficients has no DPM/RPM ratio: no input that year,
                    // a given carbon input included (METHOD.md section 4)
                    if coef.is_nan() {
                        input[l] = 0.0;
                        restart[l] = true;
                        flagged[l] |= flags::CLASS_WITHOUT_COEFFICIENT;
                    } else if let WarmupInputs::Carbon(given) = given {
                        input[l] = given[y] * px.calibration.input;
                    } else {
                        let npp = match given {
                            WarmupInputs::Npp(given) => given[y],
                            _ => miami[l],
                        } * coef;
                        input[l] = if restart[l] {
                            w.ceq * npp / w.npp_reference * px.calibration.input
                        } else {
                            input[l] * npp / previous_npp[l]
                        };
                        restart[l] = false;
                        previous_npp[l] = npp;
                    }
                    if class_cover[l] {
                        for (m, c) in table.cover[class as usize].iter().enumerate() {
                            v.cover[m][l] = *c;
                        }
                    }
                    if patterns {
                        for (m, w) in table.input_weights[class as usize].iter().enumerate() {
                            weights[m][l] = *w;
                        }
                    }
                    input_sum[l] += input[l];
                    // the bits of `LaneForcing::load` on the monthly columns: the plant input split
                    // by `split_plant_input(1.0, ratio)`, then times the month's input
                    let r = px.warmup_dpm_rpm[y];
                    if r.to_bits() != ratio[l].to_bits() {
                        ratio[l] = r;
                        (to_dpm[l], to_rpm[l]) = split_plant_input(1.0, r);
                    }
                    let plant = input[l] / 12.0;
                    v.rate_factor[l] = table.paddy[class as usize] * px.calibration.rate;
                    v.inputs[0][l] = to_dpm[l] * plant;
                    v.inputs[1][l] = to_rpm[l] * plant;
                }
            } else {
                // the plain warm-up (MIAMI inputs, no refinement in any lane): the same
                // arithmetic as above, the lanes' branches as selections, so that the lanes'
                // divisions go as vectors; first what each lane's class and ratio give
                let (mut coef, mut paddy) = ([0.0; L], [0.0; L]);
                for l in 0..L {
                    let px = &pixels[jobs[lane(l)].pixel];
                    let class = px.warmup_class[y] as usize;
                    (coef[l], paddy[l]) = (table.coef[class], table.paddy[class]);
                    if patterns {
                        for (m, w) in table.input_weights[class].iter().enumerate() {
                            weights[m][l] = *w;
                        }
                    }
                    let r = px.warmup_dpm_rpm[y];
                    if r.to_bits() != ratio[l].to_bits() {
                        ratio[l] = r;
                        (to_dpm[l], to_rpm[l]) = split_plant_input(1.0, r);
                    }
                }
                for l in 0..L {
                    let missing = coef[l].is_nan();
                    let npp = miami[l] * coef[l];
                    let fresh = ceq[l] * npp / npp_reference[l] * calibration_input[l];
                    let scaled = input[l] * npp / previous_npp[l];
                    let follows = if restart[l] { fresh } else { scaled };
                    input[l] = if missing { 0.0 } else { follows };
                    previous_npp[l] = if missing { previous_npp[l] } else { npp };
                    flagged[l] |= if missing {
                        flags::CLASS_WITHOUT_COEFFICIENT
                    } else {
                        0
                    };
                    restart[l] = missing;
                    input_sum[l] += input[l];
                    let plant = input[l] / 12.0;
                    v.rate_factor[l] = paddy[l] * calibration_rate[l];
                    v.inputs[0][l] = to_dpm[l] * plant;
                    v.inputs[1][l] = to_rpm[l] * plant;
                }
            }
            if patterns {
                state.year_weighted(&lane_soils, &mut v, &weights);
            } else {
                state.year(&lane_soils, &mut v);
            }
        }
        state.store(&mut pools, &mut tsmd);
        for (l, state) in states.iter_mut().take(n).enumerate() {
            (state.pools, state.tsmd) = (pools[l], tsmd[l]);
            state.npp_mean = npp_sum[l] / years as f64;
            let job = &jobs[l];
            let out = &mut outs[job.pixel];
            out.flags |= flagged[l];
            let chain = &mut out.chains[job.run];
            chain.cin_t0 = input[l];
            chain.cin_mean = input_sum[l] / years as f64;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::chain::perturbations;
    use crate::phases::spinup::rothamsted_spinup;
    use crate::phases::testing::{options, TestArea};
    use crate::rothc::forcing::ForcingSeries;
    use crate::rothc::lanes::{self, RunBuffers};

    #[test]
    fn warm_up_lanes_give_the_bits_of_run_on_monthly_columns() {
        // The warm-up forcing written straight into the kernel's lanes (`warm_up`) against the
        // monthly columns of each chain (temperature x factor, precipitation x factor, PET,
        // cover, rate factor, input / 12, FYM 0, DPM/RPM of the year) run by `lanes::run`,
        // the input of each year computed chain by chain as METHOD.md section 4 has it.
        let table = ClassTable::default();
        let mut area = TestArea::new(11);
        // two years of a class without a coefficient: no input, then a restart from Ceq
        area.classes[3][5] = 7;
        area.classes[3][6] = 7;
        let pixels = area.pixels();
        let opts = options(false);
        let jobs: Vec<ChainJob> = pixels
            .iter()
            .enumerate()
            .flat_map(|(k, px)| {
                perturbations(px)
                    .into_iter()
                    .enumerate()
                    .map(move |(run, perturb)| ChainJob {
                        pixel: k,
                        perturb,
                        run,
                    })
            })
            .collect();
        let mut outs = vec![PixelOutput::default(); pixels.len()];
        let mut warmup = vec![WarmupChain::default(); jobs.len()];
        let states: Vec<ChainState> = jobs
            .iter()
            .zip(&mut warmup)
            .map(|(j, w)| {
                let px = &pixels[j.pixel];
                rothamsted_spinup(
                    &opts,
                    &table,
                    px,
                    &j.perturb,
                    j.run,
                    None,
                    w,
                    &mut outs[j.pixel],
                )
            })
            .collect();
        let mut lanes = states.clone();
        let mut start = 0;
        while start < jobs.len() {
            let (st, js, w) = (&mut lanes[start..], &jobs[start..], &warmup[start..]);
            start += warm_up::<16>(&table, st, js, &pixels, w, &mut outs);
        }
        let mut restarts = 0;
        for (j, (job, state)) in jobs.iter().zip(&states).enumerate() {
            let (px, p) = (&pixels[job.pixel], &job.perturb);
            let mut columns: [Vec<f64>; 8] = Default::default();
            let ceq = outs[job.pixel].chains[job.run].ceq;
            let npp_reference = p.npp_reference * table.coef[px.spinup_class as usize];
            let (mut input, mut sum, mut previous) = (0.0, 0.0, None);
            for y in 0..px.warmup_class.len() {
                let (t, pr, e) = (
                    px.warmup_temperature.year(y),
                    px.warmup_precipitation.year(y),
                    px.warmup_pet.year(y),
                );
                let class = px.warmup_class[y];
                let coef = table.coef[class as usize];
                if coef.is_nan() {
                    input = 0.0;
                    previous = None;
                    restarts += 1;
                } else {
                    let t_mean = (0..12).map(|m| t[m] * p.temperature).sum::<f64>() / 12.0;
                    let p_sum = (0..12).map(|m| pr[m] * p.precipitation).sum::<f64>();
                    let npp = fao::miami_npp(t_mean, p_sum) * coef;
                    input = match previous {
                        None => ceq * npp / npp_reference,
                        Some((input, previous_npp)) => input * npp / previous_npp,
                    };
                    previous = Some((input, npp));
                }
                sum += input;
                for m in 0..12 {
                    columns[0].push(t[m] * p.temperature);
                    columns[1].push(pr[m] * p.precipitation);
                    columns[2].push(e[m]);
                    columns[3].push(px.warmup_cover[m]);
                    columns[4].push(table.paddy[class as usize]);
                    columns[5].push(input / 12.0);
                    columns[6].push(0.0);
                    columns[7].push(px.warmup_dpm_rpm[y]);
                }
            }
            let chain = &outs[job.pixel].chains[job.run];
            assert!(chain.cin_mean > 0.0);
            assert_eq!(chain.cin_t0.to_bits(), input.to_bits(), "chain {j}");
            assert_eq!(
                chain.cin_mean.to_bits(),
                (sum / 20.0).to_bits(),
                "chain {j}"
            );
            let flagged = outs[job.pixel].flags & flags::CLASS_WITHOUT_COEFFICIENT != 0;
            assert_eq!(flagged, job.pixel == 3, "chain {j}");
            let (mut pools, mut tsmd) = (state.pools, state.tsmd);
            let series = ForcingSeries::from_columns(&columns);
            let mut buf = RunBuffers::default();
            lanes::run(
                &mut pools,
                &mut tsmd,
                &state.soil,
                &series,
                &mut buf,
                |_, _, _| {},
            );
            assert_eq!(
                (pools.map(f64::to_bits), tsmd.to_bits()),
                (lanes[j].pools.map(f64::to_bits), lanes[j].tsmd.to_bits()),
                "chain {j}"
            );
        }
        assert_eq!(
            restarts, 6,
            "pixel 3's two years without a coefficient, 3 chains"
        );
    }
}
