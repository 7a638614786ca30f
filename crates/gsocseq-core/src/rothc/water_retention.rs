//! Soil water retention for the dryland moisture options of the official RothC v2.0.0
//! (Farina et al. 2013; ROTHC.md section 8): the Wösten et al. (1999) pedotransfer functions
//! for the van Genuchten (1980) retention curve, the topsoil moisture deficits at fixed
//! suctions, and the moisture function of each option (deficit limits and the shape of the
//! moisture rate modifier `b`).
//!
//! Units: clay, silt and organic carbon in %, bulk density in g/cm3, suction heads in cm of
//! water (the official program calls them "mbar" and uses them as cm, without conversion:
//! 1000 is its "1 bar", 15000 its wilting point), depth in cm, deficits in mm (<= 0).

use crate::error::{CoreError, Result};
use crate::input::check::Range;

/// Suction head of field capacity, cm: deficits are measured from the water content here.
pub const FIELD_CAPACITY_HEAD: f64 = 50.0;
/// Suction head of the "1 bar" deficit, below which decomposition slows, cm.
pub const ONE_BAR_HEAD: f64 = 1000.0;
/// Suction head of the wilting point ("15 bar"), cm.
pub const WILTING_POINT_HEAD: f64 = 15000.0;
/// Suction head of the driest state of option `farina-2` ("1000 bar"), cm.
pub const DRY_HEAD: f64 = 1_000_000.0;
/// Residual water content of the retention curve, cm3/cm3 (the official program's value).
pub const RESIDUAL_WATER_CONTENT: f64 = 0.01;
/// Organic matter per unit organic carbon.
pub const ORGANIC_MATTER_PER_CARBON: f64 = 1.72;
/// The moisture rate modifier at wilting point of RothC-26.3 (and the default of
/// `min_moisture_rate`).
pub const STANDARD_MIN_RATE: f64 = 0.2;
/// Share of the wilting-point deficit of RothC-26.3 at which `b` starts to drop ("1 bar").
pub const STANDARD_ONE_BAR_SHARE: f64 = 0.444;
/// Share of the wilting-point deficit of RothC-26.3 that a bare soil reaches.
pub const STANDARD_BARE_SHARE: f64 = 0.556;
/// The van Genuchten options' bare limit lies this share of the way from the wilting point to
/// the 1-bar deficit: `wp - (0.6388 / 0.8) (wp - one_bar)`.
pub const VAN_GENUCHTEN_BARE_SHARE: f64 = 0.6388 / 0.8;

/// Silt, % (the pedotransfer functions take its logarithm and inverse).
pub const SILT: Range = Range::above(0.0, 100.0, "(0, 100] %");
/// Clay of the van Genuchten options, % (the pedotransfer functions take its inverse).
pub const CLAY: Range = Range::above(0.0, 100.0, "(0, 100] % (> 0 for the van Genuchten options)");
/// Bulk density, g/cm3 (up to the density of quartz: 127 or 1270 is a unit of cg/cm3 or
/// kg/m3).
pub const BULK_DENSITY: Range = Range::above(0.0, 2.65, "(0, 2.65] g/cm3");
/// Organic carbon, % (organic matter 1.72 OC at most 100 %: 9.4 for 0.94 % is g/kg).
pub const ORGANIC_CARBON: Range = Range::above(0.0, 100.0 / 1.72, "(0, 58.1] %");
/// `min_moisture_rate`, the moisture rate modifier at wilting point.
pub const MIN_RATE: Range = Range::closed(0.0, 1.0, "[0, 1]");

/// How the moisture rate modifier follows the deficit (`opt_RMmoist` of RothC v2.0.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MoistureModel {
    /// RothC-26.3 (`opt_RMmoist` 1): deficit limits from clay and depth.
    #[default]
    Rothc263,
    /// `opt_RMmoist` 2: van Genuchten deficits; a covered soil may dry past wilting point to
    /// the 10^6 cm deficit, with `b` held at its minimum there.
    Farina2,
    /// `opt_RMmoist` 3: van Genuchten deficits with the shape of RothC-26.3.
    Farina3,
}

impl MoistureModel {
    /// The names accepted by [`std::str::FromStr`], in words.
    pub const EXPECTED: &'static str = "\"rothc-26.3\", \"farina-2\" or \"farina-3\"";

    /// The option's name.
    pub fn name(self) -> &'static str {
        match self {
            MoistureModel::Rothc263 => "rothc-26.3",
            MoistureModel::Farina2 => "farina-2",
            MoistureModel::Farina3 => "farina-3",
        }
    }

    /// Whether the option needs silt, bulk density and organic carbon.
    pub fn uses_van_genuchten(self) -> bool {
        self != MoistureModel::Rothc263
    }
}

impl std::str::FromStr for MoistureModel {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "rothc-26.3" => Ok(MoistureModel::Rothc263),
            "farina-2" => Ok(MoistureModel::Farina2),
            "farina-3" => Ok(MoistureModel::Farina3),
            _ => Err(CoreError::UnknownOption {
                argument: "moisture",
                value: s.to_string(),
                expected: Self::EXPECTED,
            }),
        }
    }
}

/// The deficit a bare soil dries to (`opt_SMDbare` of RothC v2.0.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BareDeficit {
    /// `opt_SMDbare` 1: 0.556 of the wilting-point deficit (RothC-26.3), or
    /// [`VAN_GENUCHTEN_BARE_SHARE`] of the way from wilting point to 1 bar (van Genuchten).
    #[default]
    Standard,
    /// `opt_SMDbare` 2: the wilting-point deficit.
    WiltingPoint,
}

impl BareDeficit {
    /// The names accepted by [`std::str::FromStr`], in words.
    pub const EXPECTED: &'static str = "\"standard\" or \"wilting-point\"";

    /// The option's name.
    pub fn name(self) -> &'static str {
        match self {
            BareDeficit::Standard => "standard",
            BareDeficit::WiltingPoint => "wilting-point",
        }
    }
}

impl std::str::FromStr for BareDeficit {
    type Err = CoreError;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "standard" => Ok(BareDeficit::Standard),
            "wilting-point" => Ok(BareDeficit::WiltingPoint),
            _ => Err(CoreError::UnknownOption {
                argument: "bare_deficit",
                value: s.to_string(),
                expected: Self::EXPECTED,
            }),
        }
    }
}

/// The moisture options of a run: `moisture`, `bare_deficit`, `min_moisture_rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoistureOptions {
    /// How `b` follows the deficit.
    pub model: MoistureModel,
    /// The bare-soil limit.
    pub bare_deficit: BareDeficit,
    /// `b` at wilting point (`minRM_Moist`): 0.2; Farina et al. also used 0.15 and 0.1.
    /// RothC-26.3 always uses 0.2 (the official program reads it for options 2 and 3 only).
    pub min_rate: f64,
}

impl Default for MoistureOptions {
    /// RothC-26.3: the moisture function of every run without the options.
    fn default() -> Self {
        MoistureOptions {
            model: MoistureModel::Rothc263,
            bare_deficit: BareDeficit::Standard,
            min_rate: STANDARD_MIN_RATE,
        }
    }
}

impl MoistureOptions {
    /// The options spelled as in a configuration (`model`, `bare_deficit`; an
    /// [`CoreError::UnknownOption`] for another spelling), checked ([`MoistureOptions::new`]);
    /// each left out (None) at RothC-26.3's ([`MoistureOptions::default`]).
    pub fn spelled(
        model: Option<&str>,
        bare_deficit: Option<&str>,
        min_rate: Option<f64>,
    ) -> Result<Self> {
        let standard = MoistureOptions::default();
        let model = model.map_or(Ok(standard.model), str::parse)?;
        let bare = bare_deficit.map_or(Ok(standard.bare_deficit), str::parse)?;
        MoistureOptions::new(model, bare, min_rate.unwrap_or(standard.min_rate))
    }

    /// Checked options: `min_rate` in [0, 1], and 0.2 with [`MoistureModel::Rothc263`] (which
    /// the official program runs with 0.2 whatever is asked: another value is refused rather
    /// than ignored).
    pub fn new(model: MoistureModel, bare_deficit: BareDeficit, min_rate: f64) -> Result<Self> {
        if !(MIN_RATE.accepts(min_rate) && min_rate.is_finite()) {
            return Err(CoreError::OutOfRange {
                argument: "min_moisture_rate",
                location: "the run options".into(),
                value: min_rate,
                expected: MIN_RATE.expected,
            });
        }
        if model == MoistureModel::Rothc263 && min_rate != STANDARD_MIN_RATE {
            return Err(CoreError::OutOfRange {
                argument: "min_moisture_rate",
                location: "the run options (moisture \"rothc-26.3\")".into(),
                value: min_rate,
                expected: "0.2 with moisture \"rothc-26.3\" (other values need \"farina-2\" or \
                           \"farina-3\", as in the official RothC v2.0.0)",
            });
        }
        Ok(MoistureOptions {
            model,
            bare_deficit,
            min_rate,
        })
    }

    /// Whether these are the options of RothC-26.3 (every limit from clay and depth as
    /// before the options existed).
    pub fn is_standard(&self) -> bool {
        *self == MoistureOptions::default()
    }
}

/// What the pedotransfer functions take: clay, silt and organic carbon in %, bulk density in
/// g/cm3.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoilWater {
    /// Clay, %.
    pub clay: f64,
    /// Silt, %.
    pub silt: f64,
    /// Bulk density, g/cm3.
    pub bulk_density: f64,
    /// Organic carbon, %.
    pub organic_carbon: f64,
}

impl SoilWater {
    /// Checks every value is in its range ([`CLAY`], [`SILT`], [`BULK_DENSITY`],
    /// [`ORGANIC_CARBON`]); `location` says where the soil is (only called on error).
    /// Non-finite values pass (they make the site's results NaN).
    pub fn check(&self, location: impl Fn() -> String) -> Result<()> {
        CLAY.check("clay", self.clay, &location)?;
        SILT.check("silt", self.silt, &location)?;
        BULK_DENSITY.check("bulk_density", self.bulk_density, &location)?;
        ORGANIC_CARBON.check("organic_carbon", self.organic_carbon, &location)
    }

    /// Organic carbon, % (t C/ha over bulk density x depth): a layer of `depth` cm at
    /// `bulk_density` g/cm3 holding `soc` t C/ha is `soc / (bulk_density depth)` % carbon.
    pub fn organic_carbon_from_soc(soc: f64, bulk_density: f64, depth: f64) -> f64 {
        soc / (bulk_density * depth)
    }
}

/// A site's inputs of the van Genuchten options besides clay: silt %, bulk density g/cm3 and,
/// when known, organic carbon % (else from the SOC of the layer,
/// [`SoilWater::organic_carbon_from_soc`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SoilWaterInput {
    /// Silt, %.
    pub silt: f64,
    /// Bulk density, g/cm3.
    pub bulk_density: f64,
    /// Organic carbon, %; None: SOC / (bulk density x depth).
    pub organic_carbon: Option<f64>,
}

impl SoilWaterInput {
    /// What the pedotransfer functions take for a soil of `clay` % holding `soc` t C/ha in a
    /// layer of `depth` cm.
    pub fn soil_water(&self, clay: f64, soc: f64, depth: f64) -> SoilWater {
        SoilWater {
            clay,
            silt: self.silt,
            bulk_density: self.bulk_density,
            organic_carbon: self.organic_carbon.unwrap_or_else(|| {
                SoilWater::organic_carbon_from_soc(soc, self.bulk_density, depth)
            }),
        }
    }
}

/// A van Genuchten (1980) retention curve: water content at suction head h,
/// `theta(h) = theta_r + (theta_s - theta_r) / (1 + (alpha h)^n)^m`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VanGenuchten {
    /// Inverse of the air-entry suction, 1/cm.
    pub alpha: f64,
    /// Saturated water content, cm3/cm3.
    pub theta_s: f64,
    /// Residual water content, cm3/cm3.
    pub theta_r: f64,
    /// Shape parameter n (> 1).
    pub n: f64,
    /// Shape parameter m = 1 - 1/n.
    pub m: f64,
}

impl VanGenuchten {
    /// The curve of a topsoil by the continuous pedotransfer functions of Wösten et al. (1999)
    /// (topsoil t = 1, organic matter 1.72 OC, residual water content 0.01), in the official
    /// program's order of operations.
    pub fn wosten_topsoil(soil: &SoilWater) -> Self {
        let (clay, silt, bd) = (soil.clay, soil.silt, soil.bulk_density);
        let om = soil.organic_carbon * ORGANIC_MATTER_PER_CARBON;
        let t = 1.0;
        let alpha = (-14.96 + 0.03135 * clay + 0.0351 * silt + 0.646 * om + 15.29 * bd
            - 0.192 * t
            - 4.671 * (bd * bd)
            - 0.000781 * (clay * clay)
            - 0.00687 * (om * om)
            + 0.0449 * (1.0 / om)
            + 0.0663 * silt.ln()
            + 0.1482 * om.ln()
            - 0.04546 * bd * silt
            - 0.4852 * bd * om
            + 0.00673 * clay * t)
            .exp();
        let theta_s = 0.7919 + 0.001691 * clay - 0.29619 * bd - 0.000001491 * (silt * silt)
            + 0.0000821 * (om * om)
            + 0.02427 * (1.0 / clay)
            + 0.01113 * (1.0 / silt)
            + 0.01472 * silt.ln()
            - 0.0000733 * om * clay
            - 0.000619 * bd * clay
            - 0.001183 * bd * om
            - 0.0001664 * silt * t;
        let n = (-25.23 - 0.02195 * clay + 0.0074 * silt - 0.194 * om + 45.5 * bd
            - 7.24 * (bd * bd)
            + 0.0003658 * (clay * clay)
            + 0.002885 * (om * om)
            - 12.81 * (1.0 / bd)
            - 0.1524 * (1.0 / silt)
            - 0.01958 * (1.0 / om)
            - 0.2876 * silt.ln()
            - 0.0709 * om.ln()
            - 44.6 * bd.ln()
            - 0.02264 * bd * clay
            + 0.0896 * bd * om
            + 0.00718 * clay * t)
            .exp()
            + 1.0;
        VanGenuchten {
            alpha,
            theta_s,
            theta_r: RESIDUAL_WATER_CONTENT,
            n,
            m: 1.0 - 1.0 / n,
        }
    }

    /// Volumetric water content (cm3/cm3) at suction `head` (cm of water, >= 0).
    pub fn water_content(&self, head: f64) -> f64 {
        self.theta_r
            + (self.theta_s - self.theta_r) / (1.0 + (self.alpha * head).powf(self.n)).powf(self.m)
    }

    /// Topsoil moisture deficit (mm, <= 0) of a layer of `depth` cm drained from field
    /// capacity to suction `head` (cm): `(theta(head) - theta(50)) 10 depth`.
    pub fn deficit(&self, head: f64, depth: f64) -> f64 {
        (self.water_content(head) - self.water_content(FIELD_CAPACITY_HEAD)) * 10.0 * depth
    }
}

/// The moisture function of a site: the limits of the accumulated topsoil moisture deficit
/// and the moisture rate modifier `b` (all deficits in mm, <= 0; fixed in time).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoistureFunction {
    /// Deepest deficit of a covered soil: the wilting point (RothC-26.3, `farina-3`) or the
    /// 10^6 cm deficit (`farina-2`).
    pub covered: f64,
    /// Deepest deficit a bare soil dries to (a drier one does not dry further).
    pub bare: f64,
    /// Deficit at "1 bar": `b` is 1 above it and falls linearly to `min_rate` at
    /// `wilting_point`.
    pub one_bar: f64,
    /// Deficit at wilting point, where `b` = `min_rate`.
    pub wilting_point: f64,
    /// `b` at wilting point.
    pub min_rate: f64,
    /// At or below this deficit `b` is `min_rate`: the wilting point for `farina-2`, minus
    /// infinity otherwise (the official program's linear rule, unclamped).
    pub floor: f64,
}

impl MoistureFunction {
    /// A function whose every value is NaN: a site whose soil water cannot be known (its
    /// moisture factors, hence its pools, are NaN).
    pub const NAN: MoistureFunction = MoistureFunction {
        covered: f64::NAN,
        bare: f64::NAN,
        one_bar: f64::NAN,
        wilting_point: f64::NAN,
        min_rate: f64::NAN,
        floor: f64::NAN,
    };

    /// RothC-26.3 for `clay` % and a layer of `depth` cm: wilting point
    /// `-(20 + 1.3 clay - 0.01 clay^2) depth / 23`, 1 bar 0.444 and bare 0.556 of it.
    pub fn standard(clay: f64, depth: f64) -> Self {
        let wilting_point = -(20.0 + 1.3 * clay - 0.01 * (clay * clay)) * depth / 23.0;
        MoistureFunction {
            covered: wilting_point,
            bare: STANDARD_BARE_SHARE * wilting_point,
            one_bar: STANDARD_ONE_BAR_SHARE * wilting_point,
            wilting_point,
            min_rate: STANDARD_MIN_RATE,
            floor: f64::NEG_INFINITY,
        }
    }

    /// The function of `options` for `clay` % and a layer of `depth` cm; the van Genuchten
    /// options take the retention curve of `water` (Wösten), whose values are checked here
    /// (`location` says where the soil is, for messages). Without `water` they are an error.
    /// A curve that does not give deficits ordered 0 > 1 bar > wilting point >= 10^6 cm (its
    /// saturated water content at or below the residual one) is an error too.
    pub fn new(
        options: &MoistureOptions,
        clay: f64,
        depth: f64,
        water: Option<&SoilWater>,
        location: impl Fn() -> String,
    ) -> Result<Self> {
        let (one_bar, wilting_point, dry) = if options.model.uses_van_genuchten() {
            let water = water.ok_or_else(|| CoreError::OutOfRange {
                argument: "silt",
                location: location(),
                value: f64::NAN,
                expected: "silt, bulk density and organic carbon for moisture \"farina-2\" \
                           or \"farina-3\"",
            })?;
            water.check(&location)?;
            let curve = VanGenuchten::wosten_topsoil(water);
            let one_bar = curve.deficit(ONE_BAR_HEAD, depth);
            let wilting_point = curve.deficit(WILTING_POINT_HEAD, depth);
            let dry = curve.deficit(DRY_HEAD, depth);
            let finite = [one_bar, wilting_point, dry].iter().all(|v| v.is_finite());
            // NaN inputs give NaN deficits: the site's results are NaN, not an error.
            let unordered = !(0.0 > one_bar && one_bar > wilting_point && wilting_point >= dry);
            if finite && unordered {
                return Err(CoreError::OutOfRange {
                    argument: "soil water retention",
                    location: format!(
                        "{} (clay {} %, silt {} %, bulk density {} g/cm3, organic carbon {} %: \
                         deficits at 1 bar {one_bar} mm, wilting point {wilting_point} mm)",
                        location(),
                        water.clay,
                        water.silt,
                        water.bulk_density,
                        water.organic_carbon
                    ),
                    value: one_bar,
                    expected: "a retention curve with 0 > 1-bar deficit > wilting-point deficit \
                               (Wösten et al. 1999 pedotransfer functions; check the units of \
                               the soil inputs)",
                });
            }
            (one_bar, wilting_point, dry)
        } else {
            let s = Self::standard(clay, depth);
            (s.one_bar, s.wilting_point, f64::NAN)
        };
        let van_genuchten = options.model.uses_van_genuchten();
        let bare = match (options.bare_deficit, van_genuchten) {
            (BareDeficit::WiltingPoint, _) => wilting_point,
            (BareDeficit::Standard, false) => STANDARD_BARE_SHARE * wilting_point,
            (BareDeficit::Standard, true) => {
                wilting_point - VAN_GENUCHTEN_BARE_SHARE * (wilting_point - one_bar)
            }
        };
        let farina2 = options.model == MoistureModel::Farina2;
        Ok(MoistureFunction {
            covered: if farina2 { dry } else { wilting_point },
            bare,
            one_bar,
            wilting_point,
            min_rate: if van_genuchten {
                options.min_rate
            } else {
                STANDARD_MIN_RATE
            },
            floor: if farina2 {
                wilting_point
            } else {
                f64::NEG_INFINITY
            },
        })
    }

    /// The accumulated deficit (mm) after a month with water balance `water_balance`
    /// (precipitation - coefficient x evaporation, mm), starting from `tsmd` (mm): a covered
    /// soil dries to [`MoistureFunction::covered`] at most; a bare one to
    /// [`MoistureFunction::bare`], and one already drier does not dry further (but wets).
    #[inline]
    pub fn update_tsmd(&self, tsmd: f64, water_balance: f64, bare: bool) -> f64 {
        let wetted = (tsmd + water_balance).min(0.0);
        if bare {
            self.bare.min(tsmd).max(wetted)
        } else {
            self.covered.max(wetted)
        }
    }

    /// The moisture rate modifier `b` for the deficit `tsmd` (mm) after this month's water
    /// balance: 1 above [`MoistureFunction::one_bar`], then linear to `min_rate` at the
    /// wilting point, `min_rate` at or below [`MoistureFunction::floor`].
    #[inline]
    pub fn moisture_factor(&self, tsmd: f64) -> f64 {
        if tsmd > self.one_bar {
            1.0
        } else if tsmd <= self.floor {
            self.min_rate
        } else {
            self.min_rate
                + (1.0 - self.min_rate) * (self.wilting_point - tsmd)
                    / (self.wilting_point - self.one_bar)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The soil of the official example (Hoosfield): clay 23.4 %, silt 58.6 %, bulk density
    /// 1.27 g/cm3, organic carbon 0.94 %, 23 cm.
    const HOOSFIELD: SoilWater = SoilWater {
        clay: 23.4,
        silt: 58.6,
        bulk_density: 1.27,
        organic_carbon: 0.94,
    };

    fn options(model: &str, bare: &str, min_rate: f64) -> MoistureOptions {
        MoistureOptions::new(model.parse().unwrap(), bare.parse().unwrap(), min_rate).unwrap()
    }

    fn function(o: &MoistureOptions) -> MoistureFunction {
        MoistureFunction::new(o, 23.4, 23.0, Some(&HOOSFIELD), || "test".into()).unwrap()
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn wosten_parameters_by_hand() {
        // each term of ROTHC.md section 8 written out again, summed in another order
        let (c, s, r, om) = (23.4f64, 58.6f64, 1.27f64, 0.94 * 1.72);
        let alpha_terms = [
            -14.96,
            0.03135 * c,
            0.0351 * s,
            0.646 * om,
            15.29 * r,
            -0.192,
            -4.671 * r.powi(2),
            -0.000781 * c.powi(2),
            -0.00687 * om.powi(2),
            0.0449 / om,
            0.0663 * s.ln(),
            0.1482 * om.ln(),
            -0.04546 * r * s,
            -0.4852 * r * om,
            0.00673 * c,
        ];
        let theta_s_terms = [
            0.7919,
            0.001691 * c,
            -0.29619 * r,
            -0.000001491 * s.powi(2),
            0.0000821 * om.powi(2),
            0.02427 / c,
            0.01113 / s,
            0.01472 * s.ln(),
            -0.0000733 * om * c,
            -0.000619 * r * c,
            -0.001183 * r * om,
            -0.0001664 * s,
        ];
        let n_terms = [
            -25.23,
            -0.02195 * c,
            0.0074 * s,
            -0.194 * om,
            45.5 * r,
            -7.24 * r.powi(2),
            0.0003658 * c.powi(2),
            0.002885 * om.powi(2),
            -12.81 / r,
            -0.1524 / s,
            -0.01958 / om,
            -0.2876 * s.ln(),
            -0.0709 * om.ln(),
            -44.6 * r.ln(),
            -0.02264 * r * c,
            0.0896 * r * om,
            0.00718 * c,
        ];
        let sum = |t: &[f64]| t.iter().rev().sum::<f64>();
        let vg = VanGenuchten::wosten_topsoil(&HOOSFIELD);
        assert!(close(vg.alpha, sum(&alpha_terms).exp(), 1e-13 * vg.alpha));
        assert!(close(vg.theta_s, sum(&theta_s_terms), 1e-14));
        assert!(close(vg.n, 1.0 + sum(&n_terms).exp(), 1e-13));
        assert!(close(vg.m, 1.0 - 1.0 / vg.n, 0.0));
        assert_eq!(vg.theta_r, 0.01);
        // a plausible silty loam: alpha ~ 0.01-0.1 /cm, theta_s ~ 0.4-0.5, n ~ 1.1-1.5
        assert!(vg.alpha > 0.005 && vg.alpha < 0.1, "{vg:?}");
        assert!(vg.theta_s > 0.35 && vg.theta_s < 0.55, "{vg:?}");
        assert!(vg.n > 1.05 && vg.n < 1.6, "{vg:?}");
    }

    #[test]
    fn retention_curve_by_hand() {
        let vg = VanGenuchten::wosten_topsoil(&HOOSFIELD);
        assert_eq!(vg.water_content(0.0), vg.theta_s);
        let theta = |h: f64| {
            vg.theta_r + (vg.theta_s - vg.theta_r) * (1.0 + (vg.alpha * h).powf(vg.n)).powf(-vg.m)
        };
        for h in [1.0, 50.0, 330.0, 1000.0, 15000.0, 1e6] {
            assert!(close(vg.water_content(h), theta(h), 1e-15), "h {h}");
        }
        // drier with suction, never below residual
        let heads = [0.0, 10.0, 50.0, 1000.0, 15000.0, 1e6, 1e9];
        for w in heads.windows(2) {
            assert!(vg.water_content(w[1]) < vg.water_content(w[0]));
        }
        assert!(vg.water_content(1e12) > vg.theta_r);
        // deficits: zero at field capacity, linear in depth
        assert_eq!(vg.deficit(FIELD_CAPACITY_HEAD, 23.0), 0.0);
        let d = vg.deficit(WILTING_POINT_HEAD, 23.0);
        let by_hand = (theta(15000.0) - theta(50.0)) * 10.0 * 23.0;
        assert!(close(d, by_hand, 1e-12));
        assert!(close(vg.deficit(WILTING_POINT_HEAD, 46.0), 2.0 * d, 1e-12));
    }

    /// The limits the reference README lists for the official example's soil (mm, printed
    /// to 3 decimals).
    #[test]
    fn limits_of_the_official_example() {
        let standard = function(&MoistureOptions::default());
        assert!(close(standard.one_bar, -19.955, 5e-4));
        assert!(close(standard.wilting_point, -44.944, 5e-4));
        assert_eq!(standard.covered, standard.wilting_point);
        assert!(close(standard.bare, -24.989, 5e-4));
        assert_eq!(standard.floor, f64::NEG_INFINITY);

        let f2 = function(&options("farina-2", "standard", 0.2));
        assert!(close(f2.one_bar, -37.642, 5e-4), "{f2:?}");
        assert!(close(f2.wilting_point, -61.337, 5e-4), "{f2:?}");
        assert!(close(f2.covered, -80.049, 5e-4), "{f2:?}");
        assert!(close(f2.bare, -42.417, 5e-4), "{f2:?}");
        assert_eq!(f2.floor, f2.wilting_point);

        let f3 = function(&options("farina-3", "wilting-point", 0.1));
        assert_eq!(
            (f3.one_bar, f3.wilting_point),
            (f2.one_bar, f2.wilting_point)
        );
        assert_eq!(f3.covered, f3.wilting_point);
        assert_eq!(f3.bare, f3.wilting_point);
        assert_eq!(f3.min_rate, 0.1);
        assert_eq!(f3.floor, f64::NEG_INFINITY);
        let f2wp = function(&options("farina-2", "wilting-point", 0.15));
        assert_eq!((f2wp.bare, f2wp.covered), (f2.wilting_point, f2.covered));
        // the van Genuchten bare limit by its definition
        let by_hand = f2.wilting_point - 0.6388 / 0.8 * (f2.wilting_point - f2.one_bar);
        assert!(close(f3_standard_bare(), by_hand, 1e-12));
        // RothC-26.3 with the wilting-point bare limit
        let s_wp = function(&options("rothc-26.3", "wilting-point", 0.2));
        assert_eq!(s_wp.bare, standard.wilting_point);
        assert_eq!(s_wp.covered, standard.covered);
    }

    fn f3_standard_bare() -> f64 {
        function(&options("farina-3", "standard", 0.2)).bare
    }

    /// RothC-26.3 by formula, and the same bits as the function of the core before the
    /// options (`-(20 + 1.3 clay - 0.01 clay^2) d / 23`, 0.444 and 0.556 of it).
    #[test]
    fn standard_limits() {
        for (clay, depth) in [(0.0, 23.0), (23.4, 23.0), (60.0, 30.0), (100.0, 7.5)] {
            let f = MoistureFunction::standard(clay, depth);
            let max = -(20.0 + 1.3 * clay - 0.01 * (clay * clay)) * depth / 23.0;
            assert_eq!(f.wilting_point, max);
            assert_eq!(f.covered, max);
            assert_eq!(f.one_bar, 0.444 * max);
            assert_eq!(f.bare, 0.556 * max);
            assert_eq!(f.min_rate, 0.2);
            let via_options =
                MoistureFunction::new(&MoistureOptions::default(), clay, depth, None, String::new)
                    .unwrap();
            assert_eq!(via_options, f);
        }
    }

    #[test]
    fn moisture_factor_shapes() {
        let f3 = function(&options("farina-3", "standard", 0.1));
        let f2 = function(&options("farina-2", "standard", 0.1));
        for f in [f2, f3] {
            assert_eq!(f.moisture_factor(0.0), 1.0);
            assert_eq!(f.moisture_factor(f.one_bar + 1e-9), 1.0);
            assert!(close(f.moisture_factor(f.one_bar), 1.0, 1e-15));
            assert_eq!(f.moisture_factor(f.wilting_point), 0.1);
            let mid = 0.5 * (f.one_bar + f.wilting_point);
            assert!(close(f.moisture_factor(mid), 0.55, 1e-12));
        }
        // below wilting point: held at the minimum by farina-2 (which reaches it) ...
        let dry = 0.5 * (f2.wilting_point + f2.covered);
        assert_eq!(f2.moisture_factor(dry), 0.1);
        assert_eq!(f2.moisture_factor(f2.covered), 0.1);
        // ... while the others follow the official linear rule (they never get there from a
        // deficit at or above their limits)
        assert!(f3.moisture_factor(dry) < 0.1);
        // RothC-26.3: b_min 0.2
        let s = MoistureFunction::standard(30.0, 23.0);
        assert!(close(s.moisture_factor(s.wilting_point), 0.2, 1e-15));
        assert!(close(
            s.moisture_factor(0.5 * (s.one_bar + s.wilting_point)),
            0.6,
            1e-12
        ));
    }

    #[test]
    fn deficit_updates() {
        let f = function(&options("farina-2", "standard", 0.2));
        // covered: dries to the 10^6 cm deficit, wets to 0
        assert_eq!(f.update_tsmd(0.0, 50.0, false), 0.0);
        assert_eq!(f.update_tsmd(-10.0, -5.0, false), -15.0);
        assert_eq!(f.update_tsmd(-10.0, -500.0, false), f.covered);
        // bare: to the bare limit; drier stays; wets up
        assert_eq!(f.update_tsmd(0.0, -500.0, true), f.bare);
        assert_eq!(f.update_tsmd(f.covered, -10.0, true), f.covered);
        assert_eq!(f.update_tsmd(f.covered, 10.0, true), f.covered + 10.0);
    }

    #[test]
    fn options_by_name_and_checks() {
        assert_eq!(
            MoistureOptions::default(),
            options("rothc-26.3", "standard", 0.2)
        );
        assert!(MoistureOptions::default().is_standard());
        assert!(!options("rothc-26.3", "wilting-point", 0.2).is_standard());
        for m in [
            MoistureModel::Rothc263,
            MoistureModel::Farina2,
            MoistureModel::Farina3,
        ] {
            assert_eq!(m.name().parse::<MoistureModel>().unwrap(), m);
        }
        for b in [BareDeficit::Standard, BareDeficit::WiltingPoint] {
            assert_eq!(b.name().parse::<BareDeficit>().unwrap(), b);
        }
        let e = "farina".parse::<MoistureModel>().unwrap_err().to_string();
        assert!(e.contains("moisture") && e.contains("farina-2"), "{e}");
        let e = "bare".parse::<BareDeficit>().unwrap_err().to_string();
        assert!(
            e.contains("bare_deficit") && e.contains("wilting-point"),
            "{e}"
        );
        // min_moisture_rate: [0, 1], and only with the van Genuchten options
        let m = MoistureModel::Farina2;
        assert!(MoistureOptions::new(m, BareDeficit::Standard, 1.5).is_err());
        assert!(MoistureOptions::new(m, BareDeficit::Standard, f64::NAN).is_err());
        assert!(MoistureOptions::new(m, BareDeficit::Standard, 0.0).is_ok());
        let e = MoistureOptions::new(MoistureModel::Rothc263, BareDeficit::Standard, 0.1)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("min_moisture_rate") && e.contains("farina-2"),
            "{e}"
        );
    }

    #[test]
    fn soil_water_checks_name_the_value_and_the_unit() {
        let o = options("farina-3", "standard", 0.2);
        let at = || "pixel 7".to_string();
        let bad = |w: SoilWater| {
            MoistureFunction::new(&o, w.clay, 23.0, Some(&w), at)
                .unwrap_err()
                .to_string()
        };
        let e = bad(SoilWater {
            bulk_density: 127.0,
            ..HOOSFIELD
        });
        assert!(
            e.contains("bulk_density") && e.contains("127") && e.contains("g/cm3"),
            "{e}"
        );
        assert!(e.contains("pixel 7"), "{e}");
        let e = bad(SoilWater {
            silt: 0.0,
            ..HOOSFIELD
        });
        assert!(e.contains("silt") && e.contains('%'), "{e}");
        let e = bad(SoilWater {
            organic_carbon: 94.0,
            ..HOOSFIELD
        });
        assert!(e.contains("organic_carbon"), "{e}");
        let e = bad(SoilWater {
            clay: 0.0,
            ..HOOSFIELD
        });
        assert!(e.contains("clay"), "{e}");
        let e = MoistureFunction::new(&o, 23.4, 23.0, None, at)
            .unwrap_err()
            .to_string();
        assert!(e.contains("silt") && e.contains("farina"), "{e}");
        // NaN: not an error (the site's results are NaN)
        let nan = SoilWater {
            silt: f64::NAN,
            ..HOOSFIELD
        };
        let f = MoistureFunction::new(&o, 23.4, 23.0, Some(&nan), at).unwrap();
        assert!(f.wilting_point.is_nan());
    }

    /// Over the ranges of real topsoils, the curve gives ordered deficits (so the checks above
    /// do not refuse real soils), deeper for finer and drier for denser textures.
    #[test]
    fn ordered_deficits_over_real_soils() {
        let o = options("farina-2", "standard", 0.2);
        let mut checked = 0;
        for clay in [1.0, 5.0, 15.0, 30.0, 45.0, 60.0, 75.0] {
            for silt in [1.0, 10.0, 25.0, 40.0, 60.0, 80.0] {
                if clay + silt > 100.0 {
                    continue;
                }
                for bulk_density in [0.8, 1.0, 1.2, 1.4, 1.6, 1.8] {
                    for organic_carbon in [0.1, 0.5, 1.0, 2.0, 5.0, 10.0] {
                        let w = SoilWater {
                            clay,
                            silt,
                            bulk_density,
                            organic_carbon,
                        };
                        let f = MoistureFunction::new(&o, clay, 30.0, Some(&w), String::new)
                            .unwrap_or_else(|e| panic!("{w:?}: {e}"));
                        assert!(f.bare < f.one_bar && f.bare > f.wilting_point, "{w:?}");
                        checked += 1;
                    }
                }
            }
        }
        assert!(checked > 1000);
    }
}
