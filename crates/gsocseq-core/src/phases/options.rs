//! What a run asks and what one pixel takes and gives: the numerical mode, spin-up method and
//! pools of the numerical spin-up (spelled as in the configuration: [`std::str::FromStr`] and
//! `NAMES`), the run [`Options`] (checked by [`Options::new`] and [`Options::check`]), a pixel's
//! inputs ([`PixelInput`]) and outputs ([`PixelOutput`], [`ChainOutput`], [`flags`]), and how
//! many values a pixel writes.

use super::practices::{ForwardInputs, Practice};
use crate::error::{CoreError, Result};
use crate::input::series::Series;
use crate::rothc::pools::Pools;
use crate::rothc::water_retention::{MoistureOptions, SoilWaterInput};

/// Numerical mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Official discrete monthly RothC-26.3, exact equilibria, deficit carried on.
    Rothamsted,
    /// The numbers of the FAO GSOCseq v1.2 R scripts.
    Fao,
}

/// Spin-up method (METHOD.md section 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpinupMethod {
    /// Exact discrete periodic equilibrium.
    Equilibrium,
    /// Continuous equilibrium at the mean rate (Dechow et al. 2019, script 11).
    Analytical,
    /// 500 years from empty pools (script 11.2, manual eq. 5.1).
    Numerical,
    /// C_eq of the equilibrium, then the official iterative rule without rescaling.
    RothamstedIterative,
}

/// Pools of the numerical spin-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumericalPools {
    /// A second run with C_eq.
    SecondRun,
    /// Pedotransfer functions of Weihermuller et al. (2013).
    Weihermuller,
}

spelled!(
    Mode,
    "mode",
    "'rothamsted', 'fao-v1.2'",
    [Rothamsted = "rothamsted", Fao = "fao-v1.2",]
);
spelled!(
    SpinupMethod,
    "spinup",
    "'equilibrium', 'analytical', 'numerical', 'rothamsted-iterative'",
    [
        Equilibrium = "equilibrium",
        Analytical = "analytical",
        Numerical = "numerical",
        RothamstedIterative = "rothamsted-iterative",
    ]
);
spelled!(
    NumericalPools,
    "numerical_pools",
    "'second-run', 'weihermuller'",
    [SecondRun = "second-run", Weihermuller = "weihermuller"]
);

/// The most warm-up years a pixel may have (the fao-v1.2 chain keeps each year's input).
pub const MAX_WARMUP_YEARS: usize = 128;

/// Run options shared by every pixel.
#[derive(Debug, Clone)]
pub struct Options {
    /// Numerical mode.
    pub mode: Mode,
    /// Spin-up method.
    pub spinup: SpinupMethod,
    /// Pools of the numerical spin-up.
    pub numerical_pools: NumericalPools,
    /// Forward horizons in years, ascending (the first output axis of the final stocks).
    pub horizons: Vec<usize>,
    /// Input increase of each scenario per SSM group (crops, grass, paddy), as fractions;
    /// scenario 0 is BAU (all zeros).
    pub scenarios: Vec<[f64; 3]>,
    /// Whether to run the min/max uncertainty chains.
    pub uncertainty: bool,
    /// FAO mode: the scenario that gets min/max runs (script 13's SSM2).
    pub fao_uncertain_scenario: usize,
    /// Layer depth, cm (30 in GSOCseq).
    pub depth: f64,
    /// Rothamsted mode: step the forward runs month by month instead of the closed form
    /// (for checking; the results agree to ~1e-13 relative).
    pub forward_stepping: bool,
    /// Rothamsted mode: also compute the years to the new steady state of every scenario
    /// (central run, main horizon's scenarios).
    pub steady_state: bool,
    /// Index in `horizons` of the main horizon (the one of the Monte Carlo products).
    pub main_horizon: usize,
    /// Monte Carlo samples per pixel (0: none).
    pub mc_samples: usize,
    /// Seed of the Monte Carlo draws (combined with the pixel's position).
    pub mc_seed: u64,
    /// Evaporation coefficient of the water balance (1.0 for PET).
    pub evap_coefficient: f64,
    /// Rothamsted mode: the moisture function (RothC-26.3 by default; the dryland options of
    /// RothC v2.0.0 take each pixel's [`PixelInput::soil_water`]).
    pub moisture: MoistureOptions,
    /// What each scenario does besides its input increase (METHOD.md section 10), one per
    /// scenario (BAU first) or none: empty, every scenario is its increase of
    /// [`Options::scenarios`].
    pub practices: Vec<Practice>,
    /// The plant input of the forward runs of a forward climate series.
    pub forward_inputs: ForwardInputs,
}

/// Multipliers fitted to measurements (`gsocseq calibrate`, METHOD.md section 10), Rothamsted
/// mode; [`Calibration::NONE`] changes nothing (the same bits).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// Multiplier of the plant inputs after the spin-up (the warm-up inputs, hence the mean
    /// input of the forward scenarios).
    pub input: f64,
    /// Multiplier of the decomposition rate of every active pool, in every phase (with the
    /// class's rate factor).
    pub rate: f64,
}

impl Calibration {
    /// No calibration: both multipliers 1.
    pub const NONE: Calibration = Calibration {
        input: 1.0,
        rate: 1.0,
    };
}

impl Options {
    /// The options of a run of `mode` and spin-up `spinup` over the forward `horizons`
    /// (years, ascending, `main_horizon` the index of the main one) and `scenarios` (input
    /// increases per SSM group, BAU first), checked ([`Options::check`]). Everything else at
    /// its default: no uncertainty, script 13's SSM2 (index 2, or the last) for the fao-v1.2
    /// min/max, 30 cm, PET (evaporation coefficient 1), the second-run pools of the numerical
    /// spin-up, closed-form forward runs, no steady state, no Monte Carlo; set those fields and
    /// check again.
    pub fn new(
        mode: Mode,
        spinup: SpinupMethod,
        horizons: Vec<usize>,
        main_horizon: usize,
        scenarios: Vec<[f64; 3]>,
    ) -> Result<Options> {
        let options = Options {
            mode,
            spinup,
            numerical_pools: NumericalPools::SecondRun,
            fao_uncertain_scenario: 2.min(scenarios.len().saturating_sub(1)),
            horizons,
            scenarios,
            uncertainty: false,
            depth: 30.0,
            forward_stepping: false,
            steady_state: false,
            main_horizon,
            mc_samples: 0,
            mc_seed: 0,
            evap_coefficient: 1.0,
            moisture: MoistureOptions::default(),
            practices: Vec::new(),
            forward_inputs: ForwardInputs::default(),
        };
        options.check()?;
        Ok(options)
    }

    /// Whether every option can be used: horizons ascending whole years >= 1, `main_horizon`
    /// one of them, at least one scenario (BAU) with finite increases, `fao_uncertain_scenario`
    /// one of them, depth > 0 cm, a finite evaporation coefficient >= 0, and the dryland
    /// moisture options in Rothamsted mode only (the fao-v1.2 numerics have RothC-26.3's).
    pub fn check(&self) -> Result<()> {
        let invalid =
            |argument, message: String| Err(CoreError::InvalidOption { argument, message });
        let h = &self.horizons;
        if h.is_empty() || h[0] == 0 || h.windows(2).any(|w| w[0] >= w[1]) {
            return invalid(
                "horizons",
                format!("{h:?}, expected ascending whole years >= 1"),
            );
        }
        if self.main_horizon >= h.len() {
            return invalid(
                "main_horizon",
                format!(
                    "{} is not an index of the {} horizons",
                    self.main_horizon,
                    h.len()
                ),
            );
        }
        let s = &self.scenarios;
        if s.is_empty() || s.iter().flatten().any(|v| !v.is_finite()) {
            return invalid(
                "scenarios",
                "expected (S, 3) finite increases (crops, grass, paddy), BAU first".into(),
            );
        }
        if self.fao_uncertain_scenario >= s.len() {
            return invalid(
                "fao_uncertain_scenario",
                format!(
                    "{} is not an index of the {} scenarios",
                    self.fao_uncertain_scenario,
                    s.len()
                ),
            );
        }
        if !(self.depth > 0.0 && self.depth.is_finite()) {
            return invalid("depth", format!("{}, expected > 0 cm", self.depth));
        }
        if !(self.evap_coefficient >= 0.0 && self.evap_coefficient.is_finite()) {
            return invalid(
                "evap_coefficient",
                format!("{}, expected a finite value >= 0", self.evap_coefficient),
            );
        }
        let practices = self.practices.len();
        if practices > 0 && practices != s.len() {
            return invalid(
                "practices",
                format!(
                    "{practices}, expected one per scenario ({}, BAU first)",
                    s.len()
                ),
            );
        }
        if self.mode == Mode::Fao && (practices > 0 || self.forward_inputs != Default::default()) {
            return invalid(
                "practices",
                "practice scenarios and forward inputs are refinements of mode 'rothamsted' \
                 (fao-v1.2 reproduces the scripts' increases only)"
                    .into(),
            );
        }
        if self.mode == Mode::Fao && !self.moisture.is_standard() {
            return invalid(
                "moisture",
                format!(
                    "{}: the dryland moisture options are of mode 'rothamsted' (fao-v1.2 \
                     computes RothC-26.3's moisture)",
                    self.moisture.model.name()
                ),
            );
        }
        Ok(())
    }
}

/// The options of a run as a caller gives them (a binding, a configuration): the enumerations
/// spelled as in a configuration, every option left out (`None`) at the default of
/// [`Options::new`]. [`GivenOptions::options`] parses and checks them.
#[derive(Debug, Clone, Default)]
pub struct GivenOptions {
    /// [`Mode`], spelled.
    pub mode: String,
    /// [`SpinupMethod`], spelled.
    pub spinup: String,
    /// [`Options::horizons`].
    pub horizons: Vec<usize>,
    /// [`Options::scenarios`].
    pub scenarios: Vec<[f64; 3]>,
    /// [`Options::main_horizon`] (default: the first).
    pub main_horizon: Option<usize>,
    /// [`NumericalPools`], spelled.
    pub numerical_pools: Option<String>,
    /// [`Options::uncertainty`].
    pub uncertainty: Option<bool>,
    /// [`Options::fao_uncertain_scenario`].
    pub fao_uncertain_scenario: Option<usize>,
    /// [`Options::depth`], cm.
    pub depth: Option<f64>,
    /// [`Options::evap_coefficient`].
    pub evap_coefficient: Option<f64>,
    /// [`Options::steady_state`].
    pub steady_state: Option<bool>,
    /// [`Options::mc_samples`].
    pub mc_samples: Option<usize>,
    /// [`Options::mc_seed`].
    pub mc_seed: Option<u64>,
    /// [`Options::forward_stepping`].
    pub forward_stepping: Option<bool>,
    /// The moisture model ([`MoistureOptions::spelled`]).
    pub moisture: Option<String>,
    /// The bare-soil limit ([`MoistureOptions::spelled`]).
    pub bare_deficit: Option<String>,
    /// `b` at wilting point ([`MoistureOptions::spelled`]).
    pub min_moisture_rate: Option<f64>,
    /// [`ForwardInputs`], spelled.
    pub forward_inputs: Option<String>,
    /// [`Options::practices`].
    pub practices: Vec<Practice>,
}

impl GivenOptions {
    /// The run's [`Options`]: each spelling parsed (an [`CoreError::UnknownOption`] naming
    /// it), the defaults of [`Options::new`] for what is left out, then checked
    /// ([`Options::check`]).
    pub fn options(self) -> Result<Options> {
        let (mode, spinup) = (self.mode.parse()?, self.spinup.parse()?);
        let main = self.main_horizon.unwrap_or_default();
        let mut o = Options::new(mode, spinup, self.horizons, main, self.scenarios)?;
        macro_rules! given {
            ($($f:ident),*) => { $(if let Some(v) = self.$f { o.$f = v; })* };
        }
        given!(
            uncertainty,
            fao_uncertain_scenario,
            depth,
            evap_coefficient,
            steady_state
        );
        given!(mc_samples, mc_seed, forward_stepping);
        if let Some(v) = self.numerical_pools {
            o.numerical_pools = v.parse()?;
        }
        if let Some(v) = self.forward_inputs {
            o.forward_inputs = v.parse()?;
        }
        let (model, bare) = (self.moisture.as_deref(), self.bare_deficit.as_deref());
        o.moisture = MoistureOptions::spelled(model, bare, self.min_moisture_rate)?;
        o.practices = self.practices;
        o.check()?;
        Ok(o)
    }
}

/// Everything known about one pixel. Temperatures degrees C, precipitation and PET mm/month,
/// SOC t C/ha, clay %, NPP t C/ha/yr, uncertainties as fractions (0.2 = 20 %).
#[derive(Debug, Clone, Copy)]
pub struct PixelInput<'a> {
    /// SOC of the map, t C/ha.
    pub soc: f64,
    /// Clay, %.
    pub clay: f64,
    /// Relative uncertainty of SOC (min run x (1 - u), max run x (1 + u)).
    pub soc_uncertainty: f64,
    /// Relative uncertainty of clay.
    pub clay_uncertainty: f64,
    /// Cover factor of each month in the spin-up.
    pub spinup_cover: &'a [f64; 12],
    /// Cover factor of each month in the warm-up.
    pub warmup_cover: &'a [f64; 12],
    /// Cover factor of each month in the forward runs.
    pub forward_cover: &'a [f64; 12],
    /// Spin-up climatology: temperature.
    pub spinup_temperature: &'a [f64; 12],
    /// Spin-up climatology: precipitation.
    pub spinup_precipitation: &'a [f64; 12],
    /// Spin-up climatology: PET.
    pub spinup_pet: &'a [f64; 12],
    /// Land-use class of the spin-up.
    pub spinup_class: u8,
    /// DPM/RPM ratio of the spin-up.
    pub spinup_dpm_rpm: f64,
    /// Warm-up monthly temperature, 12 Y values.
    pub warmup_temperature: Series<'a>,
    /// Warm-up monthly precipitation, 12 Y values.
    pub warmup_precipitation: Series<'a>,
    /// Warm-up monthly PET, 12 Y values.
    pub warmup_pet: Series<'a>,
    /// Land-use class of each warm-up year.
    pub warmup_class: &'a [u8],
    /// DPM/RPM ratio of each warm-up year.
    pub warmup_dpm_rpm: &'a [f64],
    /// Forward climatology: temperature.
    pub forward_temperature: &'a [f64; 12],
    /// Forward climatology: precipitation.
    pub forward_precipitation: &'a [f64; 12],
    /// Forward climatology: PET.
    pub forward_pet: &'a [f64; 12],
    /// Land-use class of the forward runs.
    pub forward_class: u8,
    /// DPM/RPM ratio of the forward runs.
    pub forward_dpm_rpm: f64,
    /// Reference NPP 1981-2000 before the land-use coefficient: central, min, max.
    pub npp_reference: [f64; 3],
    /// The 1981-2000 monthly temperature (degrees C) and precipitation (mm) series, 12 R
    /// values each, when given: the climate that a Monte Carlo draw's reference NPP follows
    /// (else the warm-up series; see [`super::montecarlo::draw_npp_reference`]).
    pub reference_climate: Option<[Series<'a>; 2]>,
    /// Silt, bulk density and organic carbon of the van Genuchten moisture options
    /// ([`Options::moisture`]); None otherwise. Without organic carbon, each chain's is its
    /// SOC / (bulk density x depth).
    pub soil_water: Option<SoilWaterInput>,
    /// The pixel's multipliers of plant inputs and decomposition rates (Rothamsted mode).
    pub calibration: Calibration,
    /// What the pixel brings for the country refinements (METHOD.md section 10).
    pub refinements: PixelRefinements<'a>,
}

/// Where the plant inputs of the warm-up years come from (METHOD.md sections 4 and 10).
#[derive(Debug, Clone, Copy, Default)]
pub enum WarmupInputs<'a> {
    /// MIAMI NPP of each year's climate (section 4).
    #[default]
    Miami,
    /// The pixel's NPP of each warm-up year (t C/ha/yr, Y values) replaces MIAMI:
    /// I_y = C_eq NPP_y coef_y / (NPP_ref coef_spin-up), NPP_ref the spin-up-period NPP.
    Npp(&'a [f64]),
    /// The pixel's carbon input of each warm-up year (t C/ha/yr, Y values), used as given,
    /// except in a year of a class without coefficients: no DPM/RPM ratio, input 0 (section 4).
    Carbon(&'a [f64]),
}

/// What a pixel brings for the country refinements of METHOD.md section 10
/// ([`PixelRefinements::NONE`] without them).
#[derive(Debug, Clone, Copy, Default)]
pub struct PixelRefinements<'a> {
    /// Where the warm-up's plant inputs come from.
    pub warmup_inputs: WarmupInputs<'a>,
    /// A forward climate series instead of the 12-month forward climatology: temperature
    /// (degrees C), precipitation and PET (mm), 12 H months each (H at least the longest
    /// horizon); the forward runs are then stepped month by month.
    pub forward_climate: Option<[Series<'a>; 3]>,
    /// The pixel's values of the scenario settings given per pixel
    /// ([`super::practices::Setting::ByPixel`]); NaN: BAU's value.
    pub scenario_values: &'a [f64],
}

impl PixelRefinements<'_> {
    /// No refinement.
    pub const NONE: PixelRefinements<'static> = PixelRefinements {
        warmup_inputs: WarmupInputs::Miami,
        forward_climate: None,
        scenario_values: &[],
    };
}

/// Flags raised for a pixel (bits of [`PixelOutput::flags`]).
pub mod flags {
    /// The spin-up deficit did not repeat exactly within 1,000 years.
    pub const DEFICIT_NOT_PERIODIC: u32 = 1;
    /// A run ended with a negative pool.
    pub const NEGATIVE_POOL: u32 = 2;
    /// FAO mode: DPM amplification of forward Euler over the warm-up exceeded 1.
    pub const FAO_UNSTABLE_WARMUP: u32 = 4;
    /// FAO mode: DPM amplification of forward Euler over a forward run exceeded 1.
    pub const FAO_UNSTABLE_FORWARD: u32 = 8;
    /// Weihermuller pools with a negative DPM.
    pub const NEGATIVE_PEDOTRANSFER_DPM: u32 = 16;
    /// The official iterative spin-up did not converge.
    pub const SPINUP_NOT_CONVERGED: u32 = 32;
    /// A warm-up year's class has no coefficients (input 0 that year).
    pub const CLASS_WITHOUT_COEFFICIENT: u32 = 64;
    /// A result is not finite (no equilibrium, NaN from the FAO numerics, ...).
    pub const NOT_FINITE: u32 = 128;

    /// Rothamsted mode: a spin-up's decomposition rate is 0 in every month (the rule of
    /// [`crate::rothc::equilibrium::never_decomposes`]): no equilibrium exists, the pixel's
    /// results are NaN. Not a flag of the summary: the caller's invalid-input rule takes the
    /// pixel (an input error naming it, or not modelled and counted).
    pub const NO_EQUILIBRIUM: u32 = 256;

    /// Rothamsted mode with a dryland moisture option: the soil water inputs of a chain (clay,
    /// silt, bulk density, organic carbon, that of the chain's SOC when not given) give no
    /// usable retention curve (the Wösten et al. 1999 functions outside their range, organic
    /// soils above all: deficits not ordered 0 > 1 bar > wilting point), so the chain's moisture
    /// function and results are NaN. Not a flag of the summary: as [`NO_EQUILIBRIUM`], the
    /// caller's invalid-input rule takes the pixel.
    pub const NO_SOIL_WATER: u32 = 512;

    /// Every flag with the words of the run summary.
    pub const DESCRIPTIONS: [(u32, &str); 8] = [
        (
            DEFICIT_NOT_PERIODIC,
            "spin-up deficit not periodic after 1,000 years",
        ),
        (NEGATIVE_POOL, "a run ended with a negative pool"),
        (
            FAO_UNSTABLE_WARMUP,
            "fao-v1.2 warm-up Euler unstable (DPM amplification > 1)",
        ),
        (
            FAO_UNSTABLE_FORWARD,
            "fao-v1.2 forward Euler unstable (DPM amplification > 1)",
        ),
        (NEGATIVE_PEDOTRANSFER_DPM, "pedotransfer DPM negative"),
        (SPINUP_NOT_CONVERGED, "iterative spin-up not converged"),
        (
            CLASS_WITHOUT_COEFFICIENT,
            "a warm-up year's class has no coefficients",
        ),
        (NOT_FINITE, "a result is not finite"),
    ];
}

/// Results of one chain of phases (central, min or max).
#[derive(Debug, Clone, Copy, Default)]
pub struct ChainOutput {
    /// Equilibrium input C_eq, t C/ha/yr.
    pub ceq: f64,
    /// Pools at the end of the spin-up (2000), t C/ha.
    pub pools_spinup: Pools,
    /// Deficit carried out of the spin-up, mm.
    pub tsmd_spinup: f64,
    /// Pools at t0 (end of the warm-up), t C/ha.
    pub pools_t0: Pools,
    /// SOC at t0, t C/ha.
    pub soc_t0: f64,
    /// Input of the last warm-up year (FAO: year 18), t C/ha/yr.
    pub cin_t0: f64,
    /// Mean warm-up input, t C/ha/yr.
    pub cin_mean: f64,
    /// Deficit at t0, mm.
    pub tsmd_t0: f64,
}

/// Results of one pixel; the final stocks go to a separate slice.
#[derive(Debug, Clone, Copy, Default)]
pub struct PixelOutput {
    /// Central, min and max chains.
    pub chains: [ChainOutput; 3],
    /// Months of the official iterative spin-up (central), 0 otherwise.
    pub spinup_months: u64,
    /// Bits of [`flags`].
    pub flags: u32,
}

/// Number of values of the final stocks of one pixel: horizons x scenarios x 3 runs.
pub fn final_len(opts: &Options) -> usize {
    opts.horizons.len() * opts.scenarios.len() * 3
}

/// Number of Monte Carlo values of one pixel: (T0, final stocks, ASR, RSR) x (mean, 2.5 and
/// 97.5 percentiles, U %).
pub fn mc_len(opts: &Options) -> usize {
    if opts.mc_samples == 0 {
        0
    } else {
        3 * opts.scenarios.len() * 4
    }
}

/// Number of steady-state values of one pixel (one per scenario).
pub fn steady_len(opts: &Options) -> usize {
    if opts.steady_state {
        opts.scenarios.len()
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_spelled_as_in_a_configuration_and_checked() {
        for (name, mode) in [("rothamsted", Mode::Rothamsted), ("fao-v1.2", Mode::Fao)] {
            assert_eq!((name.parse::<Mode>().unwrap(), mode.name()), (mode, name));
        }
        assert_eq!(Mode::NAMES, ["rothamsted", "fao-v1.2"]);
        for &name in SpinupMethod::NAMES {
            assert_eq!(name.parse::<SpinupMethod>().unwrap().name(), name);
        }
        let e = "magic".parse::<NumericalPools>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "numerical_pools: unknown value \"magic\" (expected one of 'second-run', 'weihermuller')"
        );
        let scenarios = vec![[0.0; 3], [0.05; 3], [0.1; 3]];
        let new = |horizons: Vec<usize>, main: usize| {
            Options::new(
                Mode::Rothamsted,
                SpinupMethod::Equilibrium,
                horizons,
                main,
                scenarios.clone(),
            )
        };
        let ok = new(vec![20, 50], 1).unwrap();
        assert_eq!(
            (ok.fao_uncertain_scenario, ok.depth, ok.evap_coefficient),
            (2, 30.0, 1.0)
        );
        for (horizons, main, argument) in [
            (vec![50, 20], 0, "horizons"),
            (vec![0, 20], 0, "horizons"),
            (vec![], 0, "horizons"),
            (vec![20], 1, "main_horizon"),
        ] {
            let e = new(horizons, main).unwrap_err();
            assert!(
                matches!(e, CoreError::InvalidOption { argument: a, .. } if a == argument),
                "{e}"
            );
        }
        let mut o = ok.clone();
        o.depth = 0.0;
        assert!(o
            .check()
            .unwrap_err()
            .to_string()
            .starts_with("depth: 0, expected > 0 cm"));
        let mut o = ok;
        o.scenarios.push([f64::NAN, 0.0, 0.0]);
        assert!(o.check().is_err());
        let one = Options::new(
            Mode::Fao,
            SpinupMethod::Analytical,
            vec![20],
            0,
            vec![[0.0; 3]],
        );
        let mut one = one.unwrap();
        assert_eq!(one.fao_uncertain_scenario, 0);
        // the dryland moisture options are not silently ignored by the fao-v1.2 numerics
        one.moisture = MoistureOptions {
            model: crate::rothc::water_retention::MoistureModel::Farina2,
            ..Default::default()
        };
        let e = one.check().unwrap_err();
        assert!(
            e.to_string().starts_with("moisture: farina-2: the dryland"),
            "{e}"
        );
        one.mode = Mode::Rothamsted;
        assert!(one.check().is_ok());
    }

    #[test]
    fn given_options_take_the_defaults_of_new_and_parse_their_spellings() {
        use crate::rothc::water_retention::{BareDeficit, MoistureModel};
        let scenarios = vec![[0.0; 3], [0.05; 3]];
        let given = |f: &dyn Fn(&mut GivenOptions)| {
            let mut g = GivenOptions {
                mode: "rothamsted".into(),
                spinup: "equilibrium".into(),
                horizons: vec![20],
                scenarios: scenarios.clone(),
                ..Default::default()
            };
            f(&mut g);
            g.options()
        };
        let o = given(&|_| {}).unwrap();
        let new = Options::new(
            Mode::Rothamsted,
            SpinupMethod::Equilibrium,
            vec![20],
            0,
            scenarios.clone(),
        )
        .unwrap();
        assert_eq!(format!("{o:?}"), format!("{new:?}"));
        let o = given(&|g| {
            g.depth = Some(23.0);
            g.evap_coefficient = Some(0.75);
            g.numerical_pools = Some("weihermuller".into());
            g.moisture = Some("farina-2".into());
            g.min_moisture_rate = Some(0.15);
            g.mc_samples = Some(7);
        })
        .unwrap();
        assert_eq!((o.depth, o.evap_coefficient, o.mc_samples), (23.0, 0.75, 7));
        assert_eq!(o.numerical_pools, NumericalPools::Weihermuller);
        let m = (
            o.moisture.model,
            o.moisture.bare_deficit,
            o.moisture.min_rate,
        );
        assert_eq!(m, (MoistureModel::Farina2, BareDeficit::Standard, 0.15));
        let e = given(&|g| g.spinup = "magic".into()).unwrap_err();
        assert!(
            e.to_string().starts_with("spinup: unknown value \"magic\""),
            "{e}"
        );
        let e = given(&|g| g.bare_deficit = Some("dry".into())).unwrap_err();
        assert!(
            matches!(
                e,
                CoreError::UnknownOption {
                    argument: "bare_deficit",
                    ..
                }
            ),
            "{e}"
        );
        // checked after the values are set: a depth of 0 cm is refused
        let e = given(&|g| g.depth = Some(0.0)).unwrap_err();
        assert_eq!(e.to_string(), "depth: 0, expected > 0 cm");
        let e = given(&|g| g.mode = "fao-v1.2".into());
        assert!(e.is_ok());
        let e = given(&|g| {
            g.mode = "fao-v1.2".into();
            g.moisture = Some("farina-3".into());
        })
        .unwrap_err();
        assert!(
            matches!(
                e,
                CoreError::InvalidOption {
                    argument: "moisture",
                    ..
                }
            ),
            "{e}"
        );
    }
}
