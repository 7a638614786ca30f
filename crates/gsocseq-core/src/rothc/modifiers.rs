//! Rate-modifying factors of the official RothC-26.3: temperature (a), topsoil moisture (b) and
//! plant cover (c).

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

/// Soil constants of the moisture function (all in mm, <= 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MoistureParams {
    /// Maximum topsoil moisture deficit of the layer: -(20 + 1.3 clay - 0.01 clay^2) d / 23.
    pub max: f64,
    /// Deficit at -1 bar, 0.444 max: below it `b` drops from 1 towards 0.2.
    pub one_bar: f64,
    /// Deficit a bare soil can reach, 0.556 max.
    pub bare: f64,
}

impl MoistureParams {
    /// Constants for `clay` (%) and layer `depth` (cm).
    pub fn new(clay: f64, depth: f64) -> Self {
        let smd_max = -(20.0 + 1.3 * clay - 0.01 * (clay * clay));
        let max = smd_max * depth / 23.0;
        Self {
            max,
            one_bar: 0.444 * max,
            bare: 0.556 * max,
        }
    }

    /// The accumulated deficit after a month with water balance `water_balance`
    /// (precipitation - coefficient x evaporation, mm), starting from `tsmd` (mm).
    #[inline]
    pub fn update_tsmd(&self, tsmd: f64, water_balance: f64, bare: bool) -> f64 {
        let wetted = (tsmd + water_balance).min(0.0);
        if bare {
            // A bare soil dries at most to `bare`; a drier one does not dry further.
            self.bare.min(tsmd).max(wetted)
        } else {
            self.max.max(wetted)
        }
    }

    /// Moisture rate modifier `b` for the deficit `tsmd` after this month's water balance.
    #[inline]
    pub fn moisture_factor(&self, tsmd: f64) -> f64 {
        const RMF_MAX: f64 = 1.0;
        const RMF_MIN: f64 = 0.2;
        if tsmd > self.one_bar {
            1.0
        } else {
            RMF_MIN + (RMF_MAX - RMF_MIN) * (self.max - tsmd) / (self.max - self.one_bar)
        }
    }
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
    /// Moisture constants derived from clay and depth.
    pub moisture: MoistureParams,
    /// Partition of decomposed carbon derived from clay.
    pub partition: crate::rothc::pools::Partition,
}

impl Soil {
    /// A soil of `clay` %, `depth` cm, with evaporation multiplied by `evap_coefficient`.
    pub fn new(clay: f64, depth: f64, evap_coefficient: f64) -> Self {
        Self {
            clay,
            depth,
            evap_coefficient,
            moisture: MoistureParams::new(clay, depth),
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
        let m = MoistureParams::new(23.4, 23.0);
        let smd = -(20.0 + 1.3 * 23.4 - 0.01 * 23.4 * 23.4);
        assert!((m.max - smd).abs() < 1e-12);
        assert!((m.one_bar - 0.444 * smd).abs() < 1e-12);
        assert!((m.bare - 0.556 * smd).abs() < 1e-12);
        let deeper = MoistureParams::new(23.4, 46.0);
        assert!((deeper.max - 2.0 * m.max).abs() < 1e-12);
    }

    #[test]
    fn covered_soil_dries_to_max_and_wets_to_zero() {
        let m = MoistureParams::new(20.0, 23.0);
        assert_eq!(m.update_tsmd(0.0, 50.0, false), 0.0);
        assert_eq!(m.update_tsmd(-10.0, -5.0, false), -15.0);
        assert_eq!(m.update_tsmd(-10.0, -500.0, false), m.max);
    }

    #[test]
    fn bare_soil_stops_at_bare_limit_but_can_wet() {
        let m = MoistureParams::new(20.0, 23.0);
        assert_eq!(m.update_tsmd(0.0, -500.0, true), m.bare);
        // already drier than the bare limit: does not dry further
        let dry = m.max;
        assert_eq!(m.update_tsmd(dry, -10.0, true), dry);
        // but wets up
        assert_eq!(m.update_tsmd(dry, 10.0, true), dry + 10.0);
    }

    #[test]
    fn moisture_factor_range() {
        let m = MoistureParams::new(30.0, 23.0);
        assert_eq!(m.moisture_factor(0.0), 1.0);
        assert_eq!(m.moisture_factor(m.one_bar * 0.99), 1.0);
        assert!((m.moisture_factor(m.max) - 0.2).abs() < 1e-15);
        assert!((m.moisture_factor(m.one_bar) - 1.0).abs() < 1e-15);
        let mid = 0.5 * (m.max + m.one_bar);
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
