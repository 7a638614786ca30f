//! The benches' pixel: one climate (a temperate year, warming 0.01 degrees C a year in the
//! warm-up), its whole-chain input and options. Shared by benches/core.rs and
//! examples/chain_instructions.rs (the instruction count of the same chain), so that both
//! measure one case.

use gsocseq_core::phases::options::{
    Calibration, Mode, NumericalPools, Options, PixelInput, PixelRefinements, SpinupMethod,
};
use gsocseq_core::rothc::step::MonthForcing;

/// Monthly mean temperature, degrees C.
const T: [f64; 12] = [
    3.7, 3.1, 5.5, 7.4, 10.9, 14.4, 16.3, 16.2, 13.8, 9.5, 6.2, 4.1,
];
/// Monthly precipitation, mm.
const P: [f64; 12] = [
    52.2, 42.9, 35.2, 52.0, 64.9, 46.3, 63.5, 60.6, 58.8, 63.4, 72.5, 60.9,
];
/// Monthly open-pan evaporation, mm.
const E: [f64; 12] = [
    6.6, 17.3, 40.7, 70.5, 103.5, 117.3, 130.1, 106.9, 61.9, 29.5, 8.8, 3.9,
];

/// Month `m` (0-based, counted over years) of the case: bare in September, 0.25 t C/ha of
/// plant input a month.
pub fn month(m: usize) -> MonthForcing {
    let k = m % 12;
    MonthForcing {
        temperature: T[k] + 0.01 * (m / 12) as f64,
        precipitation: P[k],
        evaporation: E[k],
        cover: if k == 8 { 1.0 } else { 0.6 },
        plant_input: 0.25,
        fym_input: 0.0,
        dpm_rpm: 1.44,
        rate_factor: 1.0,
    }
}

/// The arrays the whole chain's pixel borrows: 20 warm-up years of months, PET 1.2 x the pan
/// evaporation (mm), cropland (class 2) throughout.
pub struct ChainCase {
    t: Vec<f64>,
    p: Vec<f64>,
    e: Vec<f64>,
    cover: [f64; 12],
    t12: [f64; 12],
    p12: [f64; 12],
    e12: [f64; 12],
    classes: [u8; 20],
    dpm_rpm: [f64; 20],
}

impl ChainCase {
    pub fn new() -> Self {
        let t: Vec<f64> = (0..240).map(|k| month(k).temperature).collect();
        let p: Vec<f64> = (0..240).map(|k| month(k).precipitation).collect();
        let e: Vec<f64> = (0..240).map(|k| month(k).evaporation * 1.2).collect();
        Self {
            cover: std::array::from_fn(|m| month(m).cover),
            t12: std::array::from_fn(|m| t[m]),
            p12: std::array::from_fn(|m| p[m]),
            e12: std::array::from_fn(|m| e[m]),
            t,
            p,
            e,
            classes: [2; 20],
            dpm_rpm: [1.44; 20],
        }
    }

    /// The pixel: SOC 50 t C/ha, clay 23.4 %, uncertainties 20 % and 10 %.
    pub fn pixel(&self) -> PixelInput<'_> {
        PixelInput {
            soc: 50.0,
            clay: 23.4,
            soc_uncertainty: 0.2,
            clay_uncertainty: 0.1,
            spinup_cover: &self.cover,
            warmup_cover: &self.cover,
            forward_cover: &self.cover,
            spinup_temperature: &self.t12,
            spinup_precipitation: &self.p12,
            spinup_pet: &self.e12,
            spinup_class: 2,
            spinup_dpm_rpm: 1.44,
            warmup_temperature: (&self.t).into(),
            warmup_precipitation: (&self.p).into(),
            warmup_pet: (&self.e).into(),
            warmup_class: &self.classes,
            warmup_dpm_rpm: &self.dpm_rpm,
            forward_temperature: &self.t12,
            forward_precipitation: &self.p12,
            forward_pet: &self.e12,
            forward_class: 2,
            forward_dpm_rpm: 1.44,
            npp_reference: [5.0, 4.8, 5.2],
            reference_climate: None,
            soil_water: None,
            calibration: Calibration::NONE,
            refinements: PixelRefinements::NONE,
        }
    }

    /// The pixel with the 20 warm-up years as its forward climate series (every scenario
    /// stepped month by month, 240 months).
    #[allow(dead_code)] // the instruction-count example runs the periodic pixel only
    pub fn forward_series_pixel(&self) -> PixelInput<'_> {
        PixelInput {
            refinements: PixelRefinements {
                forward_climate: Some([(&self.t).into(), (&self.p).into(), (&self.e).into()]),
                ..PixelRefinements::NONE
            },
            ..self.pixel()
        }
    }
}

/// The chain's options: BAU + 3 SSMs (+5, +10, +20 %) over 20 years, 30 cm, PET coefficient
/// 1.0; min/max chains with `uncertainty`, forward months stepped with `stepping`.
pub fn options(uncertainty: bool, stepping: bool, mode: Mode) -> Options {
    Options {
        mode,
        spinup: if mode == Mode::Fao {
            SpinupMethod::Analytical
        } else {
            SpinupMethod::Equilibrium
        },
        numerical_pools: NumericalPools::SecondRun,
        horizons: vec![20],
        scenarios: vec![[0.0; 3], [0.05; 3], [0.1; 3], [0.2; 3]],
        uncertainty,
        fao_uncertain_scenario: 2,
        depth: 30.0,
        evap_coefficient: 1.0,
        moisture: Default::default(),
        forward_stepping: stepping,
        steady_state: false,
        main_horizon: 0,
        mc_samples: 0,
        mc_seed: 0,
        practices: Vec::new(),
        forward_inputs: Default::default(),
    }
}
