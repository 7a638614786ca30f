//! The forcing of a series of months, one slice a quantity ([`ForcingSeries`]), and its owned
//! form ([`ForcingTable`]).

use super::step::MonthForcing;

/// What the rates of a series of months depend on: one value per month in each slice (all
/// of the same length).
#[derive(Debug, Clone, Copy)]
pub struct RateForcing<'a> {
    /// Mean air temperature, degrees C.
    pub temperature: &'a [f64],
    /// Precipitation, mm.
    pub precipitation: &'a [f64],
    /// Evaporation, mm.
    pub evaporation: &'a [f64],
    /// Cover rate factor c.
    pub cover: &'a [f64],
    /// Extra multiplier of the decomposition rate.
    pub rate_factor: &'a [f64],
}

/// The forcing of a series of months, one value per month in each slice (see
/// [`MonthForcing`] for the meaning and units).
#[derive(Debug, Clone, Copy)]
pub struct ForcingSeries<'a> {
    /// Climate, cover and rate factor.
    pub climate: RateForcing<'a>,
    /// Plant carbon input entering at the end of each month, t C/ha.
    pub plant_input: &'a [f64],
    /// Farmyard manure carbon entering at the end of each month, t C/ha.
    pub fym_input: &'a [f64],
    /// DPM/RPM ratio of the plant input.
    pub dpm_rpm: &'a [f64],
}

impl<'a> ForcingSeries<'a> {
    /// The series of columns temperature, precipitation, evaporation, cover, rate factor,
    /// plant input, FYM input and DPM/RPM ratio.
    pub fn from_columns(c: &'a [Vec<f64>; 8]) -> Self {
        ForcingSeries {
            climate: RateForcing {
                temperature: &c[0],
                precipitation: &c[1],
                evaporation: &c[2],
                cover: &c[3],
                rate_factor: &c[4],
            },
            plant_input: &c[5],
            fym_input: &c[6],
            dpm_rpm: &c[7],
        }
    }

    /// No months.
    pub const EMPTY: ForcingSeries<'static> = ForcingSeries {
        climate: RateForcing {
            temperature: &[],
            precipitation: &[],
            evaporation: &[],
            cover: &[],
            rate_factor: &[],
        },
        plant_input: &[],
        fym_input: &[],
        dpm_rpm: &[],
    };

    /// The first `months` months.
    pub fn first_months(&self, months: usize) -> ForcingSeries<'a> {
        let c = &self.climate;
        ForcingSeries {
            climate: RateForcing {
                temperature: &c.temperature[..months],
                precipitation: &c.precipitation[..months],
                evaporation: &c.evaporation[..months],
                cover: &c.cover[..months],
                rate_factor: &c.rate_factor[..months],
            },
            plant_input: &self.plant_input[..months],
            fym_input: &self.fym_input[..months],
            dpm_rpm: &self.dpm_rpm[..months],
        }
    }

    /// Number of months.
    pub fn months(&self) -> usize {
        self.climate.temperature.len()
    }

    /// The forcing of month `m`.
    #[inline]
    pub fn month(&self, m: usize) -> MonthForcing {
        let c = &self.climate;
        MonthForcing {
            temperature: c.temperature[m],
            precipitation: c.precipitation[m],
            evaporation: c.evaporation[m],
            cover: c.cover[m],
            plant_input: self.plant_input[m],
            fym_input: self.fym_input[m],
            dpm_rpm: self.dpm_rpm[m],
            rate_factor: c.rate_factor[m],
        }
    }
}

/// An owned [`ForcingSeries`], built from month values (tests, examples, small runs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ForcingTable {
    columns: [Vec<f64>; 8],
}

impl FromIterator<MonthForcing> for ForcingTable {
    fn from_iter<I: IntoIterator<Item = MonthForcing>>(months: I) -> Self {
        let mut t = Self::default();
        for f in months {
            let values = [
                f.temperature,
                f.precipitation,
                f.evaporation,
                f.cover,
                f.rate_factor,
                f.plant_input,
                f.fym_input,
                f.dpm_rpm,
            ];
            for (column, v) in t.columns.iter_mut().zip(values) {
                column.push(v);
            }
        }
        t
    }
}

impl ForcingTable {
    /// The months as slices.
    pub fn series(&self) -> ForcingSeries<'_> {
        ForcingSeries::from_columns(&self.columns)
    }
}
