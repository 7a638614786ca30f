//! Rate-modifying factors of the official RothC-26.3: temperature (a), topsoil moisture (b) and
//! plant cover (c).

use super::water_retention::MoistureFunction;

/// Cover factor above which a month counts as bare for the moisture rule (c = 0.6 covered,
/// 1.0 bare; FAO's NDVI-based c is continuous between them).
pub const BARE_COVER_THRESHOLD: f64 = 0.8;

/// Temperature rate modifier `a` for a monthly mean air temperature (degrees C):
/// 47.91 / (1 + exp(106.06 / (T + 18.27))), and 0 below -5 degrees C.
#[inline]
pub fn temperature_factor(temperature: f64) -> f64 {
    // From -5 degrees C up (+inf included) the exponent is in (0, 8]: no range handling is
    // needed; below, the value is not used; NaN stays NaN.
    let x = 106.06 / (temperature + 18.27);
    let e = std::hint::select_unpredictable(x.is_nan(), x, crate::simd::vmath::exp_in_range(x));
    if temperature < -5.0 {
        0.0
    } else {
        47.91 / (e + 1.0)
    }
}

/// Whether a month with cover factor `cover` is bare for the moisture rule.
#[inline]
pub fn is_bare(cover: f64) -> bool {
    cover > BARE_COVER_THRESHOLD
}

/// Site constants of a RothC run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Soil {
    /// Clay content, %.
    pub clay: f64,
    /// Depth of the modelled layer, cm (23 in RothC, 30 in GSOCseq).
    pub depth: f64,
    /// Multiplier of evaporation in the water balance: 0.75 for open-pan evaporation,
    /// 1.0 for potential evapotranspiration.
    pub evap_coefficient: f64,
    /// The moisture function: deficit limits and the moisture factor (RothC-26.3 from clay and
    /// depth, or a dryland option of RothC v2.0.0).
    pub moisture: MoistureFunction,
    /// Partition of decomposed carbon derived from clay.
    pub partition: crate::rothc::pools::Partition,
}

impl Soil {
    /// A soil of `clay` %, `depth` cm, with evaporation multiplied by `evap_coefficient`, and
    /// the moisture function of RothC-26.3.
    pub fn new(clay: f64, depth: f64, evap_coefficient: f64) -> Self {
        Self::with_moisture(
            clay,
            depth,
            evap_coefficient,
            MoistureFunction::standard(clay, depth),
        )
    }

    /// [`Soil::new`] with the moisture function `moisture` (see
    /// [`MoistureFunction::new`] for the dryland options of RothC v2.0.0).
    pub fn with_moisture(
        clay: f64,
        depth: f64,
        evap_coefficient: f64,
        moisture: MoistureFunction,
    ) -> Self {
        Self {
            clay,
            depth,
            evap_coefficient,
            moisture,
            partition: crate::rothc::pools::Partition::new(clay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperature_cutoff_and_values() {
        assert_eq!(temperature_factor(-5.1), 0.0);
        assert!(temperature_factor(-5.0) > 0.0);
        let a10 = 47.91 / ((106.06f64 / 28.27).exp() + 1.0);
        assert!((temperature_factor(10.0) - a10).abs() <= 1e-15 * a10);
        // a rises with temperature and is about 1 near 9 degrees C
        assert!(temperature_factor(20.0) > temperature_factor(10.0));
        assert!((temperature_factor(9.0) - 1.0).abs() < 0.1);
    }

    #[test]
    fn moisture_constants() {
        let m = MoistureFunction::standard(23.4, 23.0);
        let smd = -(20.0 + 1.3 * 23.4 - 0.01 * 23.4 * 23.4);
        assert!((m.covered - smd).abs() < 1e-12);
        assert!((m.one_bar - 0.444 * smd).abs() < 1e-12);
        assert!((m.bare - 0.556 * smd).abs() < 1e-12);
        let deeper = MoistureFunction::standard(23.4, 46.0);
        assert!((deeper.covered - 2.0 * m.covered).abs() < 1e-12);
    }

    #[test]
    fn covered_soil_dries_to_max_and_wets_to_zero() {
        let m = MoistureFunction::standard(20.0, 23.0);
        assert_eq!(m.update_tsmd(0.0, 50.0, false), 0.0);
        assert_eq!(m.update_tsmd(-10.0, -5.0, false), -15.0);
        assert_eq!(m.update_tsmd(-10.0, -500.0, false), m.covered);
    }

    #[test]
    fn bare_soil_stops_at_bare_limit_but_can_wet() {
        let m = MoistureFunction::standard(20.0, 23.0);
        assert_eq!(m.update_tsmd(0.0, -500.0, true), m.bare);
        // already drier than the bare limit: does not dry further
        let dry = m.covered;
        assert_eq!(m.update_tsmd(dry, -10.0, true), dry);
        // but wets up
        assert_eq!(m.update_tsmd(dry, 10.0, true), dry + 10.0);
    }

    #[test]
    fn moisture_factor_range() {
        let m = MoistureFunction::standard(30.0, 23.0);
        assert_eq!(m.moisture_factor(0.0), 1.0);
        assert_eq!(m.moisture_factor(m.one_bar * 0.99), 1.0);
        assert!((m.moisture_factor(m.covered) - 0.2).abs() < 1e-15);
        assert!((m.moisture_factor(m.one_bar) - 1.0).abs() < 1e-15);
        let mid = 0.5 * (m.covered + m.one_bar);
        assert!((m.moisture_factor(mid) - 0.6).abs() < 1e-12);
    }

    #[test]
    fn bare_threshold() {
        assert!(!is_bare(0.6));
        assert!(!is_bare(0.8));
        assert!(is_bare(0.81));
        assert!(is_bare(1.0));
    }
}
