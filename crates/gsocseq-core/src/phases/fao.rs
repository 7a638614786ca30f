//! The fao-v1.2 chain (METHOD.md section 9): spin-up, warm-up and forward runs of one chain with
//! the numbers of the FAO GSOCseq v1.2 R scripts ([`crate::fao`]).

use super::chain::{increase, index, Perturbation, INCREASE_UNCERTAINTY};
use super::classes::ClassTable;
use super::options::{flags, NumericalPools, Options, PixelInput, PixelOutput, SpinupMethod};
use crate::fao::{self, EulerModel, PedotransferGroup};
use crate::rothc::pools::{total, Pools};

pub(crate) fn scaled(values: &[f64], factor: f64) -> [f64; 12] {
    let mut out = [0.0; 12];
    for (o, v) in out.iter_mut().zip(values.iter()) {
        *o = v * factor;
    }
    out
}

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
