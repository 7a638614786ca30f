//! The land-use class table (METHOD.md section 2), the one copy of its numbers: per FAO class
//! code, the NPP-to-input coefficient, the DPM/RPM ratio, the rate factor of paddy fields and
//! the SSM group.

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
    }
}
