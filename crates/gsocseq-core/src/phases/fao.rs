//! The fao-v1.2 chain (METHOD.md section 9): spin-up, warm-up and forward runs with the numbers
//! of the FAO GSOCseq v1.2 R scripts ([`crate::fao`]). The chains of a batch run side by side:
//! their Euler steps in the lanes of [`EulerLanes`], each lane the bits of a chain run alone.

use super::chain::{increase, index, perturbations, Perturbation, INCREASE_UNCERTAINTY};
use super::classes::ClassTable;
use super::options::{
    final_len, flags, NumericalPools, Options, PixelInput, PixelOutput, SpinupMethod,
};
use crate::fao::lanes::{xi_lanes, EulerLanes, LANES};
use crate::fao::{self, EulerModel, PedotransferGroup, MONTHS};
use crate::rothc::pools::{total, Pools};

pub(crate) fn scaled(values: &[f64], factor: f64) -> [f64; 12] {
    let mut out = [0.0; 12];
    for (o, v) in out.iter_mut().zip(values.iter()) {
        *o = v * factor;
    }
    out
}

/// Inputs of the warm-up kept for their mean (the scripts' 20 years fit with room to spare).
const KEPT_INPUTS: usize = 128;

/// Every fao-v1.2 chain of `pixels` (`runs` per pixel: central, min, max): the chains' outputs
/// and flags into `outs`, their final total SOC into `final_soc` ([`final_len`] per pixel, as
/// [`super::chain::simulate_pixels`] indexes it).
pub(crate) fn fao_chains(
    opts: &Options,
    table: &ClassTable,
    pixels: &[PixelInput<'_>],
    runs: usize,
    outs: &mut [PixelOutput],
    final_soc: &mut [f64],
) {
    let mut forward = ForwardLanes::default();
    let mut spin_and_warm = |group: &[(usize, usize)]| {
        chain_group(opts, table, pixels, group, outs, &mut forward, final_soc)
    };
    let mut group = [(0, 0); LANES];
    let mut m = 0;
    for (k, r) in (0..pixels.len()).flat_map(|k| (0..runs).map(move |r| (k, r))) {
        // a group's warm-ups are as long as each other
        let years = |k: usize| pixels[k].warmup_class.len();
        if m == LANES || (m > 0 && years(group[0].0) != years(k)) {
            spin_and_warm(&group[..m]);
            m = 0;
        }
        group[m] = (k, r);
        m += 1;
    }
    if m > 0 {
        spin_and_warm(&group[..m]);
    }
    forward.flush(opts, outs, final_soc);
}

/// The spin-up and warm-up of the chains `group` ((pixel, run) pairs, at most [`LANES`], the
/// same number of warm-up years), side by side; their forward runs are queued on `forward`.
// (lane l of many per-lane arrays, year y of the warm-up: indices read best)
#[allow(clippy::needless_range_loop)]
fn chain_group(
    opts: &Options,
    table: &ClassTable,
    pixels: &[PixelInput<'_>],
    group: &[(usize, usize)],
    outs: &mut [PixelOutput],
    forward: &mut ForwardLanes,
    final_soc: &mut [f64],
) {
    let m = group.len();
    let perturb: [Perturbation; LANES] = std::array::from_fn(|l| {
        group
            .get(l)
            .map_or(Perturbation::NONE, |&(k, r)| perturbations(&pixels[k])[r])
    });
    let px = |l: usize| &pixels[group[l].0];
    let soc: [f64; LANES] = std::array::from_fn(|l| {
        if l < m {
            px(l).soc * perturb[l].soc
        } else {
            0.0
        }
    });
    let clay: [f64; LANES] = std::array::from_fn(|l| {
        if l < m {
            px(l).clay * perturb[l].clay
        } else {
            0.0
        }
    });
    // the model of each chain's clay (its DPM/RPM ratio set for each phase)
    let model: [EulerModel; LANES] = std::array::from_fn(|l| {
        EulerModel::new(clay[l], if l < m { px(l).spinup_dpm_rpm } else { 1.0 })
    });

    // Phase 1: spin-up (scripts 11 / 11.2)
    let mut ceq = [0.0; LANES];
    let mut spun: [Pools; LANES] = [[0.0; 5]; LANES];
    match opts.spinup {
        SpinupMethod::Numerical => {
            let mut lanes = EulerLanes::<LANES>::default();
            let mut xi = [[0.0; MONTHS]; LANES];
            for l in 0..m {
                let (px, p) = (px(l), &perturb[l]);
                xi[l] = fao::xi_months(
                    &scaled(px.spinup_temperature, p.temperature),
                    &scaled(px.spinup_precipitation, p.precipitation),
                    px.spinup_pet,
                    px.spinup_cover,
                    clay[l],
                    table.paddy[px.spinup_class as usize],
                );
                lanes.set_forcing(l, &model[l], 1.0, &xi[l]);
                lanes.set_pools(l, &[0.0, 0.0, 0.0, 0.0, fao::iom(px.soc)]);
            }
            lanes.run_between(500.0, 0.0);
            for l in 0..m {
                let fb = lanes.pools(l);
                let iom = fao::iom(soc[l]);
                ceq[l] = (soc[l] - iom) / ((fb[0] + fb[1] + fb[2] + fb[3] + fb[4] - iom) / 1.0);
                spun[l] = match opts.numerical_pools {
                    NumericalPools::Weihermuller => {
                        match PedotransferGroup::of_class(px(l).spinup_class) {
                            Some(g) => fao::weihermuller_pools(soc[l], clay[l], iom, g),
                            None => [f64::NAN; 5],
                        }
                    }
                    NumericalPools::SecondRun => {
                        lanes.set_forcing(l, &model[l], ceq[l], &xi[l]);
                        lanes.set_pools(l, &[0.0, 0.0, 0.0, 0.0, iom]);
                        [0.0; 5]
                    }
                };
            }
            if opts.numerical_pools == NumericalPools::SecondRun {
                lanes.run_between(500.0, 0.0);
                for (l, pools) in spun.iter_mut().enumerate().take(m) {
                    *pools = lanes.pools(l);
                }
            }
            for (l, &(k, _)) in group.iter().enumerate() {
                if spun[l][0] < 0.0 {
                    outs[k].flags |= flags::NEGATIVE_PEDOTRANSFER_DPM;
                }
            }
        }
        _ => {
            for l in 0..m {
                let px = px(l);
                // script 11: T and P not perturbed, IOM of the central SOC (its scoping bug)
                let xi = fao::xi_months(
                    px.spinup_temperature,
                    px.spinup_precipitation,
                    px.spinup_pet,
                    px.spinup_cover,
                    clay[l],
                    table.paddy[px.spinup_class as usize],
                );
                let iom_central = fao::iom(px.soc);
                (ceq[l], spun[l]) = fao::analytical_spinup(
                    soc[l],
                    iom_central,
                    fao::r_mean(&xi),
                    clay[l],
                    px.spinup_dpm_rpm,
                );
            }
        }
    }
    for (l, &(k, r)) in group.iter().enumerate() {
        let chain = &mut outs[k].chains[r];
        chain.ceq = ceq[l];
        chain.pools_spinup = spun[l];
        chain.tsmd_spinup = 0.0;
    }

    // Phase 2: warm-up (script 12): the central NPP reference with the last year's class
    let years = px(0).warmup_class.len();
    let mut lanes = EulerLanes::<LANES>::default();
    let mut npp_reference = [0.0; LANES];
    for l in 0..m {
        lanes.set_pools(l, &spun[l]);
        let px = px(l);
        npp_reference[l] = px.npp_reference[0] * table.coef[px.warmup_class[years - 1] as usize];
    }
    let mut amplification = [1.0; LANES];
    let (mut input, mut previous_npp) = ([f64::NAN; LANES], [f64::NAN; LANES]);
    let mut inputs = [[0.0f64; KEPT_INPUTS]; LANES];
    let mut cin_t0 = [f64::NAN; LANES];
    let mut climate = [[[0.0; LANES]; MONTHS]; 4];
    let mut paddy = [1.0; LANES];
    for y in 0..years {
        for (l, &(k, _)) in group.iter().enumerate() {
            let (px, p) = (px(l), &perturb[l]);
            let class = px.warmup_class[y];
            let coef = table.coef[class as usize];
            let t = scaled(&px.warmup_temperature.year(y), p.temperature);
            let pr = scaled(&px.warmup_precipitation.year(y), p.precipitation);
            let pet = px.warmup_pet.year(y);
            let npp = if coef.is_nan() {
                outs[k].flags |= flags::CLASS_WITHOUT_COEFFICIENT;
                0.0
            } else {
                fao::miami_npp(fao::r_mean(&t), fao::r_sum(&pr)) * coef
            };
            input[l] = if y == 0 {
                (ceq[l] / npp_reference[l]) * npp
            } else {
                (input[l] / previous_npp[l]) * npp
            };
            previous_npp[l] = npp;
            if y < KEPT_INPUTS {
                inputs[l][y] = input[l];
            }
            if y == 17 {
                cin_t0[l] = input[l];
            }
            for m in 0..MONTHS {
                climate[0][m][l] = t[m];
                climate[1][m][l] = pr[m];
                climate[2][m][l] = pet[m];
                climate[3][m][l] = px.warmup_cover[m];
            }
            paddy[l] = table.paddy[class as usize];
        }
        let [t, pr, pet, cover] = &climate;
        let xi = xi_lanes([t, pr, pet, cover], &clay, &paddy, m);
        for l in 0..m {
            let model = model[l].with_dpm_rpm(px(l).warmup_dpm_rpm[y]);
            lanes.set_forcing(l, &model, input[l], &std::array::from_fn(|m| xi[m][l]));
        }
        let year = lanes.run_between(1.0, 0.0);
        for (a, y) in amplification.iter_mut().zip(year) {
            *a *= y;
        }
    }
    for (l, &(k, r)) in group.iter().enumerate() {
        if years < 18 {
            cin_t0[l] = input[l];
        }
        if amplification[l] > 1.0 {
            outs[k].flags |= flags::FAO_UNSTABLE_WARMUP;
        }
        let pools = lanes.pools(l);
        let chain = &mut outs[k].chains[r];
        chain.pools_t0 = pools;
        chain.soc_t0 = total(&pools);
        chain.cin_t0 = cin_t0[l];
        chain.cin_mean = fao::r_mean(&inputs[l][..years.min(KEPT_INPUTS)]);
        chain.tsmd_t0 = 0.0;
    }

    // Phase 3: forward (script 13), queued
    let uncertain = opts.fao_uncertain_scenario;
    for (l, &(k, r)) in group.iter().enumerate() {
        let (px, p) = (px(l), &perturb[l]);
        let xi = fao::xi_months(
            &scaled(px.forward_temperature, p.temperature),
            &scaled(px.forward_precipitation, p.precipitation),
            px.forward_pet,
            px.forward_cover,
            clay[l],
            table.paddy[px.forward_class as usize],
        );
        let model = model[l].with_dpm_rpm(px.forward_dpm_rpm);
        let cin_mean = outs[k].chains[r].cin_mean;
        for s in 0..opts.scenarios.len() {
            let factor = 1.0 + increase(opts, table, s, px.forward_class);
            let input = match (r, s) {
                (0, _) => cin_mean * factor,
                (_, 0) => cin_mean,
                (1, s) if s == uncertain => cin_mean * (factor - INCREASE_UNCERTAINTY),
                (2, s) if s == uncertain => cin_mean * (factor + INCREASE_UNCERTAINTY),
                _ => continue,
            };
            let pools_t0 = outs[k].chains[r].pools_t0;
            forward.push((k, r, s), &model, input, &xi, &pools_t0);
            if forward.m == LANES {
                forward.flush(opts, outs, final_soc);
            }
        }
    }
}

/// Forward runs (script 13) waiting for a full set of lanes: each a chain's scenario.
#[derive(Default)]
struct ForwardLanes {
    lanes: EulerLanes<LANES>,
    /// (pixel, run, scenario) of each lane.
    runs: [(usize, usize, usize); LANES],
    m: usize,
}

impl ForwardLanes {
    fn push(
        &mut self,
        run: (usize, usize, usize),
        model: &EulerModel,
        input: f64,
        xi: &[f64; MONTHS],
        pools_t0: &Pools,
    ) {
        self.lanes.set_forcing(self.m, model, input, xi);
        self.lanes.set_pools(self.m, pools_t0);
        self.runs[self.m] = run;
        self.m += 1;
    }

    /// Runs the queued lanes over every horizon (each continuing the previous one); the total
    /// SOC at each horizon into `final_soc`, the flags into `outs`.
    fn flush(&mut self, opts: &Options, outs: &mut [PixelOutput], final_soc: &mut [f64]) {
        let (m, flen) = (self.m, final_len(opts));
        let mut amplification = [1.0; LANES];
        let mut done = 0.0;
        for (h, &horizon) in opts.horizons.iter().enumerate() {
            let steps = self.lanes.run_between(horizon as f64, done);
            done = horizon as f64;
            for (l, &(k, r, s)) in self.runs[..m].iter().enumerate() {
                amplification[l] *= steps[l];
                final_soc[k * flen + index(opts, h, s, r)] = total(&self.lanes.pools(l));
            }
        }
        for (l, &(k, _, _)) in self.runs[..m].iter().enumerate() {
            if amplification[l] > 1.0 {
                outs[k].flags |= flags::FAO_UNSTABLE_FORWARD;
            }
            if self.lanes.pools(l).iter().any(|v| *v < 0.0) {
                outs[k].flags |= flags::NEGATIVE_POOL;
            }
        }
        self.m = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::super::chain::{simulate_pixels, Workspace};
    use super::super::testing::{options, TestArea};
    use super::*;

    /// The chain one at a time, as before the lanes (the reference of the lanes' bits).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn fao_chain(
        opts: &Options,
        table: &ClassTable,
        px: &PixelInput<'_>,
        perturb: &[Perturbation; 3],
        r: usize,
        out: &mut PixelOutput,
        final_soc: &mut [f64],
    ) {
        let p = &perturb[r];
        let soc = px.soc * p.soc;
        let clay = px.clay * p.clay;
        let iom_central = fao::iom(px.soc);
        let spin_paddy = table.paddy[px.spinup_class as usize];

        // Phase 1: spin-up (scripts 11 / 11.2)
        let (ceq, pools) = match opts.spinup {
            SpinupMethod::Numerical => {
                let xi = fao::xi_months(
                    &scaled(px.spinup_temperature, p.temperature),
                    &scaled(px.spinup_precipitation, p.precipitation),
                    px.spinup_pet,
                    px.spinup_cover,
                    clay,
                    spin_paddy,
                );
                let model = EulerModel::new(clay, px.spinup_dpm_rpm);
                let mut fb: Pools = [0.0, 0.0, 0.0, 0.0, iom_central];
                model.run(&mut fb, 1.0, &xi, 500.0);
                let iom = fao::iom(soc);
                let ceq = (soc - iom) / ((fb[0] + fb[1] + fb[2] + fb[3] + fb[4] - iom) / 1.0);
                let pools = match opts.numerical_pools {
                    NumericalPools::Weihermuller => {
                        match PedotransferGroup::of_class(px.spinup_class) {
                            Some(g) => fao::weihermuller_pools(soc, clay, iom, g),
                            None => [f64::NAN; 5],
                        }
                    }
                    NumericalPools::SecondRun => {
                        let mut pools: Pools = [0.0, 0.0, 0.0, 0.0, iom];
                        model.run(&mut pools, ceq, &xi, 500.0);
                        pools
                    }
                };
                if pools[0] < 0.0 {
                    out.flags |= flags::NEGATIVE_PEDOTRANSFER_DPM;
                }
                (ceq, pools)
            }
            _ => {
                // script 11: T and P not perturbed, IOM of the central SOC (its scoping bug)
                let xi = fao::xi_months(
                    px.spinup_temperature,
                    px.spinup_precipitation,
                    px.spinup_pet,
                    px.spinup_cover,
                    clay,
                    spin_paddy,
                );
                fao::analytical_spinup(soc, iom_central, fao::r_mean(&xi), clay, px.spinup_dpm_rpm)
            }
        };
        let chain = &mut out.chains[r];
        chain.ceq = ceq;
        chain.pools_spinup = pools;
        chain.tsmd_spinup = 0.0;

        // Phase 2: warm-up (script 12): the central NPP reference with the last year's class
        let years = px.warmup_class.len();
        let last_class = px.warmup_class[years - 1];
        let npp_reference = px.npp_reference[0] * table.coef[last_class as usize];
        let mut pools = pools;
        let mut amplification = 1.0;
        let (mut input, mut previous_npp) = (f64::NAN, f64::NAN);
        let mut inputs = [0.0f64; 128];
        let mut cin_t0 = f64::NAN;
        for y in 0..years {
            let class = px.warmup_class[y];
            let coef = table.coef[class as usize];
            let t = scaled(&px.warmup_temperature.year(y), p.temperature);
            let pr = scaled(&px.warmup_precipitation.year(y), p.precipitation);
            let pet = px.warmup_pet.year(y);
            let npp = if coef.is_nan() {
                out.flags |= flags::CLASS_WITHOUT_COEFFICIENT;
                0.0
            } else {
                fao::miami_npp(fao::r_mean(&t), fao::r_sum(&pr)) * coef
            };
            input = if y == 0 {
                (ceq / npp_reference) * npp
            } else {
                (input / previous_npp) * npp
            };
            previous_npp = npp;
            if y < inputs.len() {
                inputs[y] = input;
            }
            if y == 17 {
                cin_t0 = input;
            }
            let xi = fao::xi_months(
                &t,
                &pr,
                &pet,
                px.warmup_cover,
                clay,
                table.paddy[class as usize],
            );
            let model = EulerModel::new(clay, px.warmup_dpm_rpm[y]);
            amplification *= model.run(&mut pools, input, &xi, 1.0);
        }
        if years < 18 {
            cin_t0 = input;
        }
        if amplification > 1.0 {
            out.flags |= flags::FAO_UNSTABLE_WARMUP;
        }
        let cin_mean = fao::r_mean(&inputs[..years.min(inputs.len())]);
        let chain = &mut out.chains[r];
        chain.pools_t0 = pools;
        chain.soc_t0 = total(&pools);
        chain.cin_t0 = cin_t0;
        chain.cin_mean = cin_mean;
        chain.tsmd_t0 = 0.0;

        // Phase 3: forward (script 13)
        let xi = fao::xi_months(
            &scaled(px.forward_temperature, p.temperature),
            &scaled(px.forward_precipitation, p.precipitation),
            px.forward_pet,
            px.forward_cover,
            clay,
            table.paddy[px.forward_class as usize],
        );
        let model = EulerModel::new(clay, px.forward_dpm_rpm);
        let uncertain = opts.fao_uncertain_scenario;
        for s in 0..opts.scenarios.len() {
            let factor = 1.0 + increase(opts, table, s, px.forward_class);
            let input = match (r, s) {
                (0, _) => cin_mean * factor,
                (_, 0) => cin_mean,
                (1, s) if s == uncertain => cin_mean * (factor - INCREASE_UNCERTAINTY),
                (2, s) if s == uncertain => cin_mean * (factor + INCREASE_UNCERTAINTY),
                _ => continue,
            };
            let mut fp = out.chains[r].pools_t0;
            let mut done = 0.0;
            let mut amplification = 1.0;
            for (h, &horizon) in opts.horizons.iter().enumerate() {
                amplification *= model.run_between(&mut fp, input, &xi, horizon as f64, done);
                done = horizon as f64;
                final_soc[index(opts, h, s, r)] = total(&fp);
            }
            if amplification > 1.0 {
                out.flags |= flags::FAO_UNSTABLE_FORWARD;
            }
            if fp.iter().any(|v| *v < 0.0) {
                out.flags |= flags::NEGATIVE_POOL;
            }
        }
    }

    #[test]
    fn chains_in_lanes_give_the_bits_of_each_chain_alone() {
        let table = ClassTable::default();
        let n = 23;
        let area = TestArea::new(n);
        let mut pixels = area.pixels();
        // a pixel of 15 warm-up years (a group of its own) and one of a class without
        // pedotransfer pools
        pixels[3].warmup_class = &area.classes[3][..15];
        pixels[5].spinup_class = 7;
        for (spinup, numerical_pools, uncertainty) in [
            (SpinupMethod::Analytical, NumericalPools::SecondRun, true),
            (SpinupMethod::Analytical, NumericalPools::SecondRun, false),
            (SpinupMethod::Numerical, NumericalPools::SecondRun, true),
            (SpinupMethod::Numerical, NumericalPools::Weihermuller, true),
        ] {
            let opts = Options {
                mode: super::super::options::Mode::Fao,
                spinup,
                numerical_pools,
                uncertainty,
                ..options(false)
            };
            let flen = final_len(&opts);
            let mut outs = vec![PixelOutput::default(); n];
            let mut finals = vec![0.0; n * flen];
            let ids: Vec<u64> = (0..n as u64).collect();
            simulate_pixels(
                &opts,
                &table,
                &pixels,
                &mut Workspace::default(),
                &mut outs,
                &mut finals,
                &mut [],
                &mut [],
                &ids,
            );
            let bits = |v: &[f64]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            let mut flagged = 0;
            for (i, px) in pixels.iter().enumerate() {
                let mut out = PixelOutput::default();
                let mut fin = vec![f64::NAN; flen];
                let perturb = perturbations(px);
                for r in 0..if uncertainty { 3 } else { 1 } {
                    fao_chain(&opts, &table, px, &perturb, r, &mut out, &mut fin);
                }
                let what = format!("pixel {i}, {spinup:?}, {numerical_pools:?}");
                assert_eq!(
                    bits(&fin),
                    bits(&finals[i * flen..(i + 1) * flen]),
                    "{what}"
                );
                for (a, b) in out.chains.iter().zip(outs[i].chains.iter()) {
                    let fields = |c: &super::super::options::ChainOutput| {
                        let mut v = vec![c.ceq, c.soc_t0, c.cin_t0, c.cin_mean];
                        v.extend(c.pools_spinup.iter().chain(c.pools_t0.iter()));
                        bits(&v)
                    };
                    assert_eq!(fields(a), fields(b), "{what}");
                }
                // the checks simulate_pixels adds
                for chain in out.chains.iter().take(if uncertainty { 3 } else { 1 }) {
                    if chain.pools_t0.iter().any(|v| *v < 0.0) {
                        out.flags |= flags::NEGATIVE_POOL;
                    }
                    if !chain.soc_t0.is_finite() || fin.iter().any(|v| v.is_infinite()) {
                        out.flags |= flags::NOT_FINITE;
                    }
                }
                assert_eq!(out.flags, outs[i].flags, "{what}");
                flagged += (out.flags != 0) as usize;
            }
            // the pixels are not all alike: some flagged, some finite
            assert!(flagged > 0, "{spinup:?}");
            assert!(finals.iter().any(|v| v.is_finite()));
        }
    }
}
