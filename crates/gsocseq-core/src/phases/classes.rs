//! The land-use class table (METHOD.md sections 2 and 10), the one copy of its numbers: per
//! class code, the NPP-to-input coefficient, the DPM/RPM ratio, the rate factor (paddy fields),
//! the SSM group, the monthly pattern of the plant input and the default cover. The table of
//! section 2 is the default; a country may change or extend it (`[classes.N]`).

use ndarray::ArrayView2;

use crate::error::{CoreError, Result};

/// The 12 monthly values a class table may hold per class besides its columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassRows {
    /// The monthly shares of the annual plant input (`class_input_pattern`).
    InputPattern,
    /// The default cover factors (`class_cover`).
    Cover,
}

impl ClassRows {
    /// The argument's name: `class_input_pattern`, `class_cover`.
    pub fn name(self) -> &'static str {
        match self {
            ClassRows::InputPattern => "class_input_pattern",
            ClassRows::Cover => "class_cover",
        }
    }
}

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
    /// Monthly weights of the annual plant input I (t C/ha/yr): month m receives
    /// I / 12 x weight (12 x the month's share of I). 1 every month (I / 12 a month, METHOD.md
    /// section 1) unless a class has its own pattern ([`ClassTable::set_input_pattern`]).
    pub input_weights: [[f64; 12]; 256],
    /// Default cover factors c of the 12 months, for pixels without a cover value; NaN for
    /// classes without (such a pixel is not modelled).
    pub cover: [[f64; 12]; 256],
    /// Whether some class has an input pattern other than I / 12 a month (set by
    /// [`ClassTable::set_input_pattern`]; the phases skip the weights without).
    pub patterned: bool,
}

/// The monthly weights of a uniform input pattern (I / 12 every month).
pub const UNIFORM_WEIGHTS: [f64; 12] = [1.0; 12];

/// How far from 1 the 12 shares of an input pattern may sum.
pub const PATTERN_SUM_TOLERANCE: f64 = 1e-6;

impl ClassTable {
    /// A table without classes: no coefficients or ratios (NaN), rate factors 1, no SSM group
    /// (255), I / 12 a month, no default cover. The one list of the table's fields.
    fn blank() -> Self {
        ClassTable {
            coef: [f64::NAN; 256],
            paddy: [1.0; 256],
            group: [255; 256],
            dpm_rpm: [f64::NAN; 256],
            input_weights: [UNIFORM_WEIGHTS; 256],
            cover: [[f64::NAN; 12]; 256],
            patterned: false,
        }
    }

    /// Sets the monthly input pattern of `class`: `shares`, the share of the annual plant
    /// input entering at the end of each month (>= 0, summing to 1 within
    /// [`PATTERN_SUM_TOLERANCE`]; divided by their sum). The equilibria and closed forms take
    /// any pattern.
    pub fn set_input_pattern(&mut self, class: u8, shares: &[f64; 12]) -> Result<()> {
        let sum: f64 = shares.iter().sum();
        if shares.iter().any(|v| !(*v >= 0.0 && v.is_finite()))
            || (sum - 1.0).abs() > PATTERN_SUM_TOLERANCE
        {
            return Err(CoreError::InvalidOption {
                argument: "input_pattern",
                message: format!(
                    "class {class}: {shares:?}, expected 12 shares >= 0 that sum to 1 (sum {sum})"
                ),
            });
        }
        self.input_weights[class as usize] = shares.map(|v| 12.0 * v / sum);
        self.patterned |= !self.uniform_input(class);
        Ok(())
    }

    /// Sets the default cover factors of `class` (12 values in [0.6, 1], the range of a cover
    /// raster, METHOD.md section 2; all NaN: none).
    pub fn set_cover(&mut self, class: u8, cover: &[f64; 12]) -> Result<()> {
        let none = cover.iter().all(|v| v.is_nan());
        if !none && cover.iter().any(|v| !(0.6..=1.0).contains(v)) {
            return Err(CoreError::InvalidOption {
                argument: "cover",
                message: format!("class {class}: {cover:?}, expected 12 cover factors in [0.6, 1]"),
            });
        }
        self.cover[class as usize] = *cover;
        Ok(())
    }

    /// Sets the input patterns ([`ClassRows::InputPattern`]) or the default covers
    /// ([`ClassRows::Cover`]) of every class from `rows`, (256, 12) by class code; a row of
    /// NaN (no pattern: I / 12 a month; no default cover) leaves the class as it is.
    pub fn set_rows(&mut self, which: ClassRows, rows: ArrayView2<'_, f64>) -> Result<()> {
        if rows.shape() != [256, 12] {
            return Err(CoreError::shape(
                which.name(),
                format!(
                    "shape {:?}, expected (256, 12): 12 months of each class code (NaN rows: \
                     none)",
                    rows.shape()
                ),
            ));
        }
        for (c, row) in rows.rows().into_iter().enumerate() {
            let values: [f64; 12] = std::array::from_fn(|m| row[m]);
            if !values.iter().all(|v| v.is_nan()) {
                match which {
                    ClassRows::Cover => self.set_cover(c as u8, &values)?,
                    ClassRows::InputPattern => self.set_input_pattern(c as u8, &values)?,
                }
            }
        }
        Ok(())
    }

    /// Whether the plant input of `class` enters as I / 12 every month.
    #[inline]
    pub fn uniform_input(&self, class: u8) -> bool {
        self.input_weights[class as usize] == UNIFORM_WEIGHTS
    }

    /// The cover of a phase of a pixel: the pixel's own factors, or, where it has none (NaN),
    /// the default cover of its class `class` (METHOD.md section 10).
    #[inline]
    pub fn cover_or_default(&self, own: &[f64; 12], class: u8) -> [f64; 12] {
        if own[0].is_nan() {
            self.cover[class as usize]
        } else {
            *own
        }
    }

    /// A table of its 256 columns (NPP-to-input coefficient, DPM/RPM ratio, rate factor, SSM
    /// group), checked: 256 entries each; coefficients and ratios >= 0 or NaN (no coefficient),
    /// rate factors >= 0, groups 0, 1, 2 or 255. Input patterns I / 12 a month and no default
    /// covers until set ([`ClassTable::set_input_pattern`], [`ClassTable::set_cover`]).
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
            ..ClassTable::blank()
        })
    }
}

impl Default for ClassTable {
    /// The FAO GLC-SHARE table of METHOD.md section 2 ([`FAO_CLASSES`]).
    fn default() -> Self {
        let mut t = ClassTable::blank();
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

    #[test]
    fn input_patterns_and_default_covers_are_checked() {
        let mut t = ClassTable::default();
        // uniform by default: I / 12 a month, and no default cover
        assert!((0..=255).all(|c| t.uniform_input(c) && t.cover[c as usize][0].is_nan()));
        let summer: [f64; 12] = std::array::from_fn(|m| if m < 6 { 0.05 } else { 0.7 / 6.0 });
        t.set_input_pattern(2, &summer).unwrap();
        assert!(!t.uniform_input(2) && t.uniform_input(3));
        let weights = t.input_weights[2];
        assert!((weights.iter().sum::<f64>() - 12.0).abs() < 1e-12);
        assert!((weights[0] - 0.6).abs() < 1e-12 && (weights[11] - 1.4).abs() < 1e-12);
        for bad in [[0.1; 12], {
            let mut v = summer;
            v[0] = -0.05;
            v[1] += 0.1;
            v
        }] {
            let e = t.set_input_pattern(3, &bad).unwrap_err();
            assert!(e.to_string().starts_with("input_pattern: class 3"), "{e}");
        }
        assert!(t.uniform_input(3));
        let own = [0.7; 12];
        assert_eq!(t.cover_or_default(&own, 3), own);
        assert!(t.cover_or_default(&[f64::NAN; 12], 3)[0].is_nan());
        t.set_cover(3, &[0.6; 12]).unwrap();
        assert_eq!(t.cover_or_default(&[f64::NAN; 12], 3), [0.6; 12]);
        assert_eq!(t.cover_or_default(&own, 3), own);
        assert!(t.set_cover(3, &[1.2; 12]).is_err());
    }

    #[test]
    fn class_rows_set_every_class_but_rows_of_nan() {
        let mut t = ClassTable::default();
        let before = ClassTable::default();
        let mut rows = ndarray::Array2::from_elem((256, 12), f64::NAN);
        rows.row_mut(2).fill(0.7);
        t.set_rows(ClassRows::Cover, rows.view()).unwrap();
        assert_eq!(t.cover[2], [0.7; 12]);
        assert!(t.cover[3]
            .iter()
            .zip(before.cover[3])
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        let mut shares = ndarray::Array2::from_elem((256, 12), f64::NAN);
        shares.row_mut(3).fill(0.5 / 11.0);
        shares[[3, 0]] = 0.5;
        t.set_rows(ClassRows::InputPattern, shares.view()).unwrap();
        assert!(!t.uniform_input(3) && t.uniform_input(2));
        let e = t
            .set_rows(ClassRows::Cover, rows.slice(ndarray::s![..3, ..]))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "class_cover: shape [3, 12], expected (256, 12): 12 months of each class code (NaN \
             rows: none)"
        );
        assert!(matches!(e, CoreError::Shape { .. }));
        rows.row_mut(5).fill(0.3);
        let e = t.set_rows(ClassRows::Cover, rows.view()).unwrap_err();
        assert!(e.to_string().starts_with("cover: class 5"), "{e}");
    }
}
