//! Phase 1, the spin-up (METHOD.md section 3) of a Rothamsted-mode chain: the equilibrium input
//! and pools at 2000 by the run's method (exact equilibrium, analytical, numerical or the
//! official iterative rule), the equilibria of up to 16 chains as lanes.

use super::chain::{chain_soil, spin_year, ChainJob, ChainState, Perturbation, WarmupChain};
use super::classes::ClassTable;
use super::options::{flags, NumericalPools, Options, PixelInput, PixelOutput, SpinupMethod};
use super::practices::ForwardInputs;
use crate::fao::{self, PedotransferGroup};
use crate::rothc::equilibrium::{self, periodic_tsmd};
use crate::rothc::modifiers::Soil;
use crate::rothc::pools::{active, falloon_iom, Pools};
use crate::rothc::step::{decompose, month_rate, MonthForcing};

/// What [`equilibrium::equilibrium_inputs`] gives: annual input, pools, deficit, periodic.
pub(crate) type Equilibrium = (f64, Pools, f64, bool);

/// Spin-up (Rothamsted mode) of one chain, and what its warm-up takes (into `warmup`; the
/// warm-up itself runs in lanes with other chains: [`warm_up`]).
/// `equilibrium`: the chain's [`equilibrium::equilibrium_inputs`] when computed already (in
/// lanes with other chains).
#[allow(clippy::too_many_arguments)]
pub(crate) fn rothamsted_spinup(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    p: &Perturbation,
    r: usize,
    equilibrium: Option<Equilibrium>,
    warmup: &mut WarmupChain,
    out: &mut PixelOutput,
) -> ChainState {
    let soc = px.soc * p.soc;
    let clay = px.clay * p.clay;
    let soil = chain_soil(opts, px, p);
    if !opts.moisture.is_standard() && soil.moisture.one_bar.is_nan() {
        // the pixel's soil water gives no moisture function (its inputs are finite here)
        out.flags |= flags::NO_SOIL_WATER;
    }
    let year = spin_year(table, px, p);
    let spin_year = |m: usize| year[m];
    let iom = falloon_iom(soc);
    let weights = &table.input_weights[px.spinup_class as usize];

    // Phase 1: spin-up
    let (ceq, pools, tsmd) = match opts.spinup {
        SpinupMethod::Equilibrium | SpinupMethod::RothamstedIterative => {
            let (ceq, pools, tsmd, periodic) = equilibrium.unwrap_or_else(|| {
                let [e] = equilibrium::equilibrium_inputs_weighted_lanes(
                    &[soil],
                    &[year],
                    &[soc],
                    &[*weights],
                );
                e
            });
            if !periodic {
                out.flags |= flags::DEFICIT_NOT_PERIODIC;
            }
            if opts.spinup == SpinupMethod::RothamstedIterative {
                let year = |m: usize| MonthForcing {
                    plant_input: ceq / 12.0 * weights[m],
                    ..spin_year(m)
                };
                let it = equilibrium::iterative(&soil, &year, iom);
                if !it.converged {
                    out.flags |= flags::SPINUP_NOT_CONVERGED;
                }
                if r == 0 {
                    out.spinup_months = it.count as u64;
                }
                (ceq, it.pools, it.tsmd)
            } else {
                (ceq, pools, tsmd)
            }
        }
        SpinupMethod::Analytical => {
            let cycle = periodic_tsmd(&soil, &spin_year, 0.0);
            if !cycle.periodic {
                out.flags |= flags::DEFICIT_NOT_PERIODIC;
            }
            let mut acc = cycle.tsmd;
            let mut sum = 0.0;
            for m in 0..12 {
                sum += month_rate(&soil, &mut acc, &spin_year(m)).rate;
            }
            let (ceq, pools) =
                equilibrium::analytical_equilibrium(soc, sum / 12.0, clay, px.spinup_dpm_rpm);
            (ceq, pools, cycle.tsmd)
        }
        SpinupMethod::Numerical => {
            let mut unit: Pools = [0.0, 0.0, 0.0, 0.0, iom];
            let mut acc = 0.0;
            for k in 0..6000 {
                let f = spin_year(k % 12);
                let rate = month_rate(&soil, &mut acc, &f).rate;
                let plant = 1.0 / 12.0 * weights[k % 12];
                decompose(&mut unit, &soil, rate, plant, f.dpm_rpm, 0.0);
            }
            let ceq = (soc - iom) / active(&unit);
            let pools = match opts.numerical_pools {
                // the model is linear in the input: the second run is the first one scaled
                NumericalPools::SecondRun => [
                    ceq * unit[0],
                    ceq * unit[1],
                    ceq * unit[2],
                    ceq * unit[3],
                    iom,
                ],
                NumericalPools::Weihermuller => {
                    match PedotransferGroup::of_class(px.spinup_class) {
                        Some(g) => fao::weihermuller_pools(soc, clay, iom, g),
                        None => [f64::NAN; 5],
                    }
                }
            };
            if pools[0] < 0.0 {
                out.flags |= flags::NEGATIVE_PEDOTRANSFER_DPM;
            }
            (ceq, pools, acc)
        }
    };
    // no equilibrium (NaN; the analytical ceq 0 at xi 0, the numerical run's accumulation):
    // the pixel is not modellable
    let exact = matches!(
        opts.spinup,
        SpinupMethod::Equilibrium | SpinupMethod::RothamstedIterative
    );
    let (ceq, pools) =
        if (!exact || !ceq.is_finite()) && equilibrium::never_decomposes(&soil, &spin_year) {
            out.flags |= flags::NO_EQUILIBRIUM;
            (f64::NAN, [f64::NAN; 5])
        } else {
            (ceq, pools)
        };
    let chain = &mut out.chains[r];
    chain.ceq = ceq;
    chain.pools_spinup = pools;
    chain.tsmd_spinup = tsmd;

    // Phase 2 (warm-up) in lanes with other chains: `warm_up`
    *warmup = WarmupChain {
        temperature: p.temperature,
        precipitation: p.precipitation,
        ceq,
        npp_reference: p.npp_reference * table.coef[px.spinup_class as usize],
        npp_mean: opts.forward_inputs == ForwardInputs::NppScaled,
    };
    ChainState {
        soil,
        pools,
        tsmd,
        npp_mean: f64::NAN,
    }
}

/// The equilibria of the chains `jobs` (at most `L`) as lanes, appended to `out`; lanes beyond
/// the chains repeat the first one.
pub(crate) fn equilibria_of<const L: usize>(
    opts: &Options,
    table: &ClassTable,
    pixels: &[PixelInput<'_>],
    jobs: &[ChainJob],
    out: &mut Vec<Equilibrium>,
) {
    let job = |l: usize| &jobs[if l < jobs.len() { l } else { 0 }];
    let soils: [Soil; L] = std::array::from_fn(|l| {
        let j = job(l);
        chain_soil(opts, &pixels[j.pixel], &j.perturb)
    });
    let years: [[MonthForcing; 12]; L] = std::array::from_fn(|l| {
        let j = job(l);
        spin_year(table, &pixels[j.pixel], &j.perturb)
    });
    let soc: [f64; L] = std::array::from_fn(|l| {
        let j = job(l);
        pixels[j.pixel].soc * j.perturb.soc
    });
    let weights: [[f64; 12]; L] = std::array::from_fn(|l| {
        let class = pixels[job(l).pixel].spinup_class;
        table.input_weights[class as usize]
    });
    let lanes = equilibrium::equilibrium_inputs_weighted_lanes(&soils, &years, &soc, &weights);
    out.extend_from_slice(&lanes[..jobs.len()]);
}
