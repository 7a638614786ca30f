//! The land-use class table (METHOD.md section 2), the one copy of its numbers: per FAO class
//! code, the NPP-to-input coefficient, the DPM/RPM ratio, the rate factor of paddy fields and
//! the SSM group.

use crate::error::{CoreError, Result};

/// The FAO GLC-SHARE classes of METHOD.md section 2 that have coefficients: (code, DPM/RPM
/// ratio, NPP-to-input coefficient, SSM group: 0 crops, 1 grass, 2 paddy, 255 none). Every other
/// code (1 artificial, 7 mangroves, 9 bare soil, 10 snow and glaciers, 11 water, 0 no data) has
/// none.
pub const FAO_CLASSES: [(u8, f64, f64, u8); 8] = [
    (2, 1.44, 0.53, 0),
    (3, 0.67, 0.72, 1),
    (4, 0.25, 0.88, 255),
    (5, 0.67, 0.72, 1),
    (6, 0.67, 0.72, 1),
    (8, 0.67, 0.72, 1),
    (12, 1.44, 0.53, 0),
    (13, 1.44, 0.53, 2),
];

/// The FAO class of paddy fields, whose decomposition rate is x [`PADDY_RATE_FACTOR`].
pub const PADDY_CLASS: u8 = 13;

/// Rate factor of paddy fields (METHOD.md section 2).
pub const PADDY_RATE_FACTOR: f64 = 0.4;

/// Per-class properties, indexed by FAO land-use code (0..=255).
#[derive(Debug, Clone)]
pub struct ClassTable {
    /// NPP-to-input coefficient; NaN for classes without coefficients.
    pub coef: [f64; 256],
    /// Rate factor (0.4 paddy, else 1).
    pub paddy: [f64; 256],
    /// SSM group: 0 crops, 1 grass, 2 paddy, 255 none.
    pub group: [u8; 256],
    /// DPM/RPM ratio of the plant input; NaN for classes without coefficients. The phases take
    /// each pixel's ratios as given (rasters of the FAO layout hold their own); this is the
    /// table they come from otherwise.
    pub dpm_rpm: [f64; 256],
}

impl ClassTable {
    /// A table of its 256 columns (NPP-to-input coefficient, DPM/RPM ratio, rate factor, SSM
    /// group), checked: 256 entries each; coefficients and ratios >= 0 or NaN (no coefficient),
    /// rate factors >= 0, groups 0, 1, 2 or 255.
    pub fn new(coef: &[f64], dpm_rpm: &[f64], paddy: &[f64], group: &[u8]) -> Result<Self> {
        for (name, len) in [
            ("coefficient", coef.len()),
            ("dpm_rpm", dpm_rpm.len()),
            ("paddy_factor", paddy.len()),
            ("ssm_group", group.len()),
        ] {
            if len != 256 {
                return Err(CoreError::shape(
                    name,
                    format!("{len} classes, expected 256 (codes 0 to 255)"),
                ));
            }
        }
        let bad = |argument, class: usize, what: &str| {
            Err(CoreError::InvalidOption {
                argument,
                message: format!("class {class}: {what}"),
            })
        };
        for c in 0..256 {
            if coef[c] < 0.0 || coef[c].is_infinite() {
                return bad(
                    "coefficient",
                    c,
                    "expected a finite value >= 0, or NaN (none)",
                );
            }
            if dpm_rpm[c] < 0.0 || dpm_rpm[c].is_infinite() {
                return bad("dpm_rpm", c, "expected a finite value >= 0, or NaN (none)");
            }
            if !(paddy[c] >= 0.0 && paddy[c].is_finite()) {
                return bad("paddy_factor", c, "expected a finite value >= 0");
            }
            if !matches!(group[c], 0 | 1 | 2 | 255) {
                return bad(
                    "ssm_group",
                    c,
                    "expected 0 (crops), 1 (grass), 2 (paddy) or 255",
                );
            }
        }
        let array = |v: &[f64]| -> [f64; 256] { v.try_into().expect("256 entries") };
        Ok(ClassTable {
            coef: array(coef),
            dpm_rpm: array(dpm_rpm),
            paddy: array(paddy),
            group: group.try_into().expect("256 entries"),
        })
    }
}

impl Default for ClassTable {
    /// The FAO GLC-SHARE table of METHOD.md section 2 ([`FAO_CLASSES`]).
    fn default() -> Self {
        let mut t = ClassTable {
            coef: [f64::NAN; 256],
            paddy: [1.0; 256],
            group: [255; 256],
            dpm_rpm: [f64::NAN; 256],
        };
        for (class, dpm_rpm, coef, group) in FAO_CLASSES {
            t.coef[class as usize] = coef;
            t.group[class as usize] = group;
            t.dpm_rpm[class as usize] = dpm_rpm;
        }
        t.paddy[PADDY_CLASS as usize] = PADDY_RATE_FACTOR;
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_table_is_the_method_table() {
        let t = ClassTable::default();
        // METHOD.md section 2, row by row: code, DPM/RPM, coefficient, SSM group
        for (code, dr, coef, group) in [
            (2, 1.44, 0.53, 0),
            (3, 0.67, 0.72, 1),
            (4, 0.25, 0.88, 255),
            (5, 0.67, 0.72, 1),
            (6, 0.67, 0.72, 1),
            (8, 0.67, 0.72, 1),
            (12, 1.44, 0.53, 0),
            (13, 1.44, 0.53, 2),
        ] {
            assert_eq!(
                (t.dpm_rpm[code], t.coef[code], t.group[code]),
                (dr, coef, group)
            );
        }
        for code in [0, 1, 7, 9, 10, 11, 14, 255] {
            assert!(t.coef[code].is_nan() && t.dpm_rpm[code].is_nan() && t.group[code] == 255);
        }
        let paddy: Vec<usize> = (0..256).filter(|&c| t.paddy[c] != 1.0).collect();
        assert_eq!((paddy, t.paddy[13]), (vec![13], 0.4));
        // a table of its columns is checked
        let again = ClassTable::new(&t.coef, &t.dpm_rpm, &t.paddy, &t.group).unwrap();
        assert_eq!(again.group, t.group);
        let mut group = t.group;
        group[40] = 3;
        let e = ClassTable::new(&t.coef, &t.dpm_rpm, &t.paddy, &group).unwrap_err();
        assert!(e.to_string().starts_with("ssm_group: class 40"), "{e}");
        let e = ClassTable::new(&t.coef[..255], &t.dpm_rpm, &t.paddy, &t.group).unwrap_err();
        assert_eq!(
            e.to_string(),
            "coefficient: 255 classes, expected 256 (codes 0 to 255)"
        );
    }
}
