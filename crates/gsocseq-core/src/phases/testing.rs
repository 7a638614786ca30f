//! Test data of the phases: run options and an area of pixels of different climates, soils
//! and land-use histories.

use super::options::{
    Calibration, Mode, NumericalPools, Options, PixelInput, PixelRefinements, SpinupMethod,
};
use crate::rothc::water_retention::{MoistureOptions, SoilWaterInput};

/// The moisture options the chain tests run with: RothC-26.3 and two dryland options of
/// RothC v2.0.0.
pub(crate) fn moisture_options() -> [MoistureOptions; 3] {
    let options = |model: &str, bare: &str, min_rate: f64| {
        MoistureOptions::new(model.parse().unwrap(), bare.parse().unwrap(), min_rate).unwrap()
    };
    [
        MoistureOptions::default(),
        options("farina-2", "standard", 0.15),
        options("farina-3", "wilting-point", 0.1),
    ]
}

/// Soil water inputs of pixel `i`: silt, bulk density, and organic carbon for every other
/// pixel (the others derive it from their SOC).
pub(crate) fn soil_water(i: usize) -> SoilWaterInput {
    SoilWaterInput {
        silt: 15.0 + 7.0 * (i % 8) as f64,
        bulk_density: 1.05 + 0.07 * (i % 6) as f64,
        organic_carbon: i.is_multiple_of(2).then_some(0.6 + 0.2 * (i % 5) as f64),
    }
}

pub(crate) fn options(stepping: bool) -> Options {
    Options {
        mode: Mode::Rothamsted,
        spinup: SpinupMethod::Equilibrium,
        numerical_pools: NumericalPools::SecondRun,
        horizons: vec![1, 20, 50, 100],
        scenarios: vec![[0.0; 3], [0.05; 3], [0.1; 3], [0.2; 3]],
        uncertainty: true,
        fao_uncertain_scenario: 2,
        depth: 30.0,
        evap_coefficient: 1.0,
        moisture: Default::default(),
        forward_stepping: stepping,
        steady_state: false,
        main_horizon: 1,
        mc_samples: 0,
        mc_seed: 0,
        practices: Vec::new(),
        forward_inputs: Default::default(),
    }
}

/// Pixels of different climates, soils and land-use histories (20 warm-up years).
pub(crate) struct TestArea {
    pub(crate) t: Vec<Vec<f64>>,
    pub(crate) p: Vec<Vec<f64>>,
    pub(crate) e: Vec<Vec<f64>>,
    pub(crate) t12: Vec<[f64; 12]>,
    pub(crate) p12: Vec<[f64; 12]>,
    pub(crate) e12: Vec<[f64; 12]>,
    pub(crate) covers: Vec<[f64; 12]>,
    pub(crate) classes: Vec<[u8; 20]>,
    pub(crate) dr: [f64; 20],
}

impl TestArea {
    pub(crate) fn new(n: usize) -> Self {
        let year = |i: usize, k: usize| {
            let m = (k % 12) as f64;
            let dry = 1.0 + (i % 5) as f64 * 0.6;
            (
                4.0 + i as f64 * 1.3 + 8.0 * (m * 0.52).sin() + (k / 12) as f64 * 0.04,
                (90.0 - 12.0 * (i % 7) as f64) * (1.0 + 0.5 * (m * 0.7 + i as f64).cos()),
                dry * (40.0 + 35.0 * (m * 0.52).sin()),
            )
        };
        let series = |f: fn((f64, f64, f64)) -> f64| -> Vec<Vec<f64>> {
            (0..n)
                .map(|i| (0..240).map(|k| f(year(i, k))).collect())
                .collect()
        };
        let (t, p, e) = (series(|y| y.0), series(|y| y.1), series(|y| y.2));
        let first = |v: &Vec<f64>| -> [f64; 12] { std::array::from_fn(|m| v[m]) };
        TestArea {
            t12: t.iter().map(first).collect(),
            p12: p.iter().map(first).collect(),
            e12: e.iter().map(first).collect(),
            t,
            p,
            e,
            covers: (0..n)
                .map(|i| std::array::from_fn(|m| if (m + i) % 4 == 0 { 1.0 } else { 0.6 }))
                .collect(),
            classes: (0..n)
                .map(|i| std::array::from_fn(|y| [2, 3, 13][(i + y / 7) % 3]))
                .collect(),
            dr: [1.44; 20],
        }
    }

    pub(crate) fn pixels(&self) -> Vec<PixelInput<'_>> {
        (0..self.t.len())
            .map(|i| PixelInput {
                soc: 20.0 + 4.0 * i as f64,
                clay: 5.0 + 3.0 * i as f64,
                soc_uncertainty: 0.2,
                clay_uncertainty: 0.1,
                spinup_cover: &self.covers[i],
                warmup_cover: &self.covers[i],
                forward_cover: &self.covers[i],
                spinup_temperature: &self.t12[i],
                spinup_precipitation: &self.p12[i],
                spinup_pet: &self.e12[i],
                spinup_class: self.classes[i][0],
                spinup_dpm_rpm: 1.44,
                warmup_temperature: (&self.t[i]).into(),
                warmup_precipitation: (&self.p[i]).into(),
                warmup_pet: (&self.e[i]).into(),
                warmup_class: &self.classes[i],
                warmup_dpm_rpm: &self.dr,
                forward_temperature: &self.t12[i],
                forward_precipitation: &self.p12[i],
                forward_pet: &self.e12[i],
                forward_class: self.classes[i][19],
                forward_dpm_rpm: 1.44,
                npp_reference: [5.0, 4.8, 5.2],
                reference_climate: None,
                soil_water: Some(soil_water(i)),
                calibration: Calibration::NONE,
                refinements: PixelRefinements::NONE,
            })
            .collect()
    }
}

/// One pixel with the climate of one year of months in every phase (the 20 warm-up years
/// repeat it, the temperature rising by `trend` degrees C a month), one cover and one class.
pub(crate) struct OnePixel {
    pub(crate) t: [f64; 12],
    pub(crate) p: [f64; 12],
    pub(crate) e: [f64; 12],
    pub(crate) cover: [f64; 12],
    pub(crate) class: u8,
    pub(crate) wt: Vec<f64>,
    pub(crate) wp: Vec<f64>,
    pub(crate) we: Vec<f64>,
    pub(crate) classes: [u8; 20],
    pub(crate) dr: [f64; 20],
}

impl OnePixel {
    /// `t` degrees C, `p` and `e` mm a month.
    pub(crate) fn new(
        t: [f64; 12],
        p: [f64; 12],
        e: [f64; 12],
        cover: [f64; 12],
        class: u8,
        trend: f64,
    ) -> Self {
        let months = |v: &[f64; 12]| -> Vec<f64> { (0..240).map(|k| v[k % 12]).collect() };
        OnePixel {
            wt: (0..240).map(|k| t[k % 12] + trend * k as f64).collect(),
            wp: months(&p),
            we: months(&e),
            t,
            p,
            e,
            cover,
            class,
            classes: [class; 20],
            dr: [1.44; 20],
        }
    }

    /// The pixel with `soc` t C/ha, `clay` % and the MIAMI NPP `npp_reference` (central, min,
    /// max) t C/ha/yr; no soil water inputs.
    pub(crate) fn input(&self, soc: f64, clay: f64, npp_reference: [f64; 3]) -> PixelInput<'_> {
        PixelInput {
            soc,
            clay,
            soc_uncertainty: 0.2,
            clay_uncertainty: 0.1,
            spinup_cover: &self.cover,
            warmup_cover: &self.cover,
            forward_cover: &self.cover,
            spinup_temperature: &self.t,
            spinup_precipitation: &self.p,
            spinup_pet: &self.e,
            spinup_class: self.class,
            spinup_dpm_rpm: 1.44,
            warmup_temperature: (&self.wt).into(),
            warmup_precipitation: (&self.wp).into(),
            warmup_pet: (&self.we).into(),
            warmup_class: &self.classes,
            warmup_dpm_rpm: &self.dr,
            forward_temperature: &self.t,
            forward_precipitation: &self.p,
            forward_pet: &self.e,
            forward_class: self.class,
            forward_dpm_rpm: 1.44,
            npp_reference,
            reference_climate: None,
            soil_water: None,
            calibration: Calibration::NONE,
            refinements: PixelRefinements::NONE,
        }
    }
}
