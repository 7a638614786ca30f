//! Range checks of model inputs, with errors that say where the offending value is.

use crate::error::{CoreError, Result};
use crate::rothc::water_retention;

/// An accepted range of an input quantity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Lowest accepted value.
    pub min: f64,
    /// Highest accepted value.
    pub max: f64,
    /// Whether `min` itself is excluded.
    pub exclusive_min: bool,
    /// The range in words, for messages.
    pub expected: &'static str,
}

impl Range {
    /// Values from `min` to `max`, both included.
    pub const fn closed(min: f64, max: f64, expected: &'static str) -> Self {
        Self {
            min,
            max,
            exclusive_min: false,
            expected,
        }
    }

    /// Values above `min` (excluded) up to `max`.
    pub const fn above(min: f64, max: f64, expected: &'static str) -> Self {
        Self {
            min,
            max,
            exclusive_min: true,
            expected,
        }
    }

    /// Whether a finite `value` is accepted. Non-finite values are not range errors: they
    /// make the pixel's outputs NaN.
    #[inline]
    pub fn accepts(&self, value: f64) -> bool {
        if !value.is_finite() {
            return true;
        }
        let low_ok = if self.exclusive_min {
            value > self.min
        } else {
            value >= self.min
        };
        low_ok && value <= self.max
    }

    /// Whether every value is finite and accepted, in one pass the compiler vectorises (no
    /// early exit); callers look for the culprit with [`Range::check`] only when it is not.
    pub fn all_finite_and_accepted(&self, values: &[f64]) -> bool {
        all_accepted_dispatch(self, values)
    }

    #[inline(always)]
    fn all_accepted(&self, values: &[f64]) -> bool {
        // Finite bounds also reject infinities; NaN fails every comparison.
        let low = self.min.max(f64::MIN);
        let high = self.max.min(f64::MAX);
        if self.exclusive_min {
            values
                .iter()
                .fold(true, |ok, &v| ok & (v > low) & (v <= high))
        } else {
            values
                .iter()
                .fold(true, |ok, &v| ok & (v >= low) & (v <= high))
        }
    }

    /// Checks `value`; `location` describes where it is (only called on error).
    #[inline]
    pub fn check(
        &self,
        argument: &'static str,
        value: f64,
        location: impl FnOnce() -> String,
    ) -> Result<()> {
        if self.accepts(value) {
            Ok(())
        } else {
            Err(CoreError::OutOfRange {
                argument,
                location: location(),
                value,
                expected: self.expected,
            })
        }
    }
}

#[inline(always)]
fn all_accepted(range: &Range, values: &[f64]) -> bool {
    range.all_accepted(values)
}

simd_dispatch! {
    fn all_accepted_dispatch[](range: &Range, values: &[f64]) -> bool => all_accepted[]
}

/// The plausible range of each kind of input of a run (the invalid-input rule of METHOD.md
/// section 2): kind, lowest and highest plausible value, unit. A finite value outside is an
/// input error; the run's `[checks]` may narrow the temperature and the upper bounds of
/// precipitation, PET and NPP (unit plausibility).
pub const PLAUSIBLE: [(&str, f64, f64, &str); 16] = [
    ("soc", 0.0, 800.0, "t C/ha"),
    ("clay", 0.0, 100.0, "%"),
    ("temperature", -60.0, 60.0, "degrees C"),
    ("precipitation", 0.0, f64::INFINITY, "mm/month"),
    ("pet", 0.0, f64::INFINITY, "mm/month"),
    // the cover factors of the FAO stacks are float32: 0.6 and 1.0 within their rounding
    (
        "cover",
        0.6 - 1e-6,
        1.0 + 1e-6,
        "(cover factor 0.6 covered .. 1.0 bare)",
    ),
    ("npp", 0.0, f64::INFINITY, "t C/ha/yr"),
    ("uncertainty", 0.0, 100.0, "%"),
    ("sand", 0.0, 100.0, "%"),
    ("ec", 0.0, f64::INFINITY, "dS/m"),
    ("dpm_rpm", 0.0, f64::INFINITY, "(DPM/RPM ratio)"),
    ("class", 0.0, 13.0, "(FAO land-use class 0-13)"),
    // the soil water of the dryland moisture options (0 is read, and not modelled: the
    // pedotransfer functions need > 0)
    ("silt", 0.0, water_retention::SILT.max, "%"),
    (
        "bulk_density",
        0.0,
        water_retention::BULK_DENSITY.max,
        "g/cm3",
    ),
    (
        "organic_carbon",
        0.0,
        water_retention::ORGANIC_CARBON.max,
        "%",
    ),
    (
        "zone",
        0.0,
        f64::INFINITY,
        "(zone code, a whole number >= 0)",
    ),
];

/// Clay content, %.
pub const CLAY: Range = Range::closed(0.0, 100.0, "[0, 100] %");
/// Layer depth, cm.
pub const DEPTH: Range = Range::above(0.0, f64::INFINITY, "> 0 cm");
/// Carbon inputs, t C/ha.
pub const INPUT: Range = Range::closed(0.0, f64::INFINITY, ">= 0 t C/ha");
/// Cover rate factor.
pub const COVER: Range = Range::closed(0.0, 1.0, "[0, 1] (0.6 covered .. 1.0 bare)");
/// Any finite value.
pub const ANY: Range = Range::closed(f64::NEG_INFINITY, f64::INFINITY, "any finite value");
/// Non-negative ratios and factors.
pub const NON_NEGATIVE: Range = Range::closed(0.0, f64::INFINITY, ">= 0");
/// Accumulated topsoil moisture deficit, mm.
pub const TSMD: Range = Range::closed(f64::NEG_INFINITY, 0.0, "<= 0 mm");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert!(CLAY.accepts(0.0) && CLAY.accepts(100.0) && !CLAY.accepts(100.5));
        assert!(!DEPTH.accepts(0.0) && DEPTH.accepts(1e-9));
        assert!(CLAY.accepts(f64::NAN) && CLAY.accepts(f64::INFINITY));
        let e = COVER
            .check("cover", 1.5, || "pixel 3, month 7".into())
            .unwrap_err();
        let msg = e.to_string();
        assert!(COVER.all_finite_and_accepted(&[0.0, 0.6, 1.0]));
        assert!(!COVER.all_finite_and_accepted(&[0.6, 1.5]));
        assert!(!COVER.all_finite_and_accepted(&[0.6, f64::NAN]));
        assert!(!ANY.all_finite_and_accepted(&[1.0, f64::INFINITY]));
        assert!(ANY.all_finite_and_accepted(&[-1e300, 1e300]));
        assert!(!DEPTH.all_finite_and_accepted(&[0.0]) && DEPTH.all_finite_and_accepted(&[1e-9]));
        assert!(msg.contains("cover") && msg.contains("pixel 3, month 7") && msg.contains("1.5"));
    }
}
