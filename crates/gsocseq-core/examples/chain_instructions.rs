//! The bench's whole chain with min/max (`chain_minmax_per_pixel_batch_of_16` of
//! benches/core.rs) run `N` times on its batch of 16 pixels, for an instruction count that does
//! not depend on the machine's load: `valgrind --tool=callgrind` of `N` = 1 and `N` = 11,
//! the difference / 160 = instructions per pixel. Prints the first final stock (the bits).
//! Run: `cargo build --release -p gsocseq-core --example chain_instructions`, then
//! `valgrind --tool=callgrind target/release/examples/chain_instructions 11`.

use gsocseq_core::phases::chain::{simulate_pixels, Workspace, BATCH};
use gsocseq_core::phases::classes::ClassTable;
use gsocseq_core::phases::options::{
    final_len, Calibration, Mode, NumericalPools, Options, PixelInput, PixelOutput,
    PixelRefinements, SpinupMethod,
};
use std::hint::black_box;

const T: [f64; 12] = [
    3.7, 3.1, 5.5, 7.4, 10.9, 14.4, 16.3, 16.2, 13.8, 9.5, 6.2, 4.1,
];
const P: [f64; 12] = [
    52.2, 42.9, 35.2, 52.0, 64.9, 46.3, 63.5, 60.6, 58.8, 63.4, 72.5, 60.9,
];
const E: [f64; 12] = [
    6.6, 17.3, 40.7, 70.5, 103.5, 117.3, 130.1, 106.9, 61.9, 29.5, 8.8, 3.9,
];

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1, |a| a.parse().expect("a count"));
    let mode = match args.next().as_deref() {
        Some("fao") => Mode::Fao,
        _ => Mode::Rothamsted,
    };
    let t: Vec<f64> = (0..240)
        .map(|k| T[k % 12] + 0.01 * (k / 12) as f64)
        .collect();
    let p: Vec<f64> = (0..240).map(|k| P[k % 12]).collect();
    let e: Vec<f64> = (0..240).map(|k| E[k % 12] * 1.2).collect();
    let cover: [f64; 12] = std::array::from_fn(|m| if m == 8 { 1.0 } else { 0.6 });
    let t12: [f64; 12] = std::array::from_fn(|m| t[m]);
    let p12: [f64; 12] = std::array::from_fn(|m| p[m]);
    let e12: [f64; 12] = std::array::from_fn(|m| e[m]);
    let classes = [2u8; 20];
    let dr = [1.44; 20];
    let px = PixelInput {
        soc: 50.0,
        clay: 23.4,
        soc_uncertainty: 0.2,
        clay_uncertainty: 0.1,
        spinup_cover: &cover,
        warmup_cover: &cover,
        forward_cover: &cover,
        spinup_temperature: &t12,
        spinup_precipitation: &p12,
        spinup_pet: &e12,
        spinup_class: 2,
        spinup_dpm_rpm: 1.44,
        warmup_temperature: (&t).into(),
        warmup_precipitation: (&p).into(),
        warmup_pet: (&e).into(),
        warmup_class: &classes,
        warmup_dpm_rpm: &dr,
        forward_temperature: &t12,
        forward_precipitation: &p12,
        forward_pet: &e12,
        forward_class: 2,
        forward_dpm_rpm: 1.44,
        npp_reference: [5.0, 4.8, 5.2],
        reference_climate: None,
        soil_water: None,
        calibration: Calibration::NONE,
        refinements: PixelRefinements::NONE,
    };
    let opts = Options {
        mode,
        spinup: if mode == Mode::Fao {
            SpinupMethod::Analytical
        } else {
            SpinupMethod::Equilibrium
        },
        numerical_pools: NumericalPools::SecondRun,
        horizons: vec![20],
        scenarios: vec![[0.0; 3], [0.05; 3], [0.1; 3], [0.2; 3]],
        uncertainty: true,
        fao_uncertain_scenario: 2,
        depth: 30.0,
        evap_coefficient: 1.0,
        moisture: Default::default(),
        forward_stepping: false,
        steady_state: false,
        main_horizon: 0,
        mc_samples: 0,
        mc_seed: 0,
        practices: Vec::new(),
        forward_inputs: Default::default(),
    };
    let table = ClassTable::default();
    let mut ws = Workspace::default();
    let mut outs = vec![PixelOutput::default(); BATCH];
    let mut finals = vec![0.0; BATCH * final_len(&opts)];
    let pixels = [px; BATCH];
    let ids = [0u64; BATCH];
    for _ in 0..n {
        simulate_pixels(
            &opts,
            &table,
            black_box(&pixels),
            &mut ws,
            &mut outs,
            &mut finals,
            &mut [],
            &mut [],
            &ids,
        );
    }
    let bits: u64 = finals
        .iter()
        .copied()
        .chain(
            outs.iter()
                .flat_map(|o| o.chains.iter().flat_map(|c| c.pools_t0)),
        )
        .fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
            (h ^ v.to_bits()).wrapping_mul(0x0100_0000_01b3)
        });
    println!("{:?} {:016x}", finals[0], bits);
}
