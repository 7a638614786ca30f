//! Test data of RothC: a month's forcing.

use super::step::MonthForcing;

/// A temperate month with a soil water deficit: 12 degrees C, 40 mm of rain, 80 mm of open-pan
/// evaporation, cover 0.6, 0.3 t C/ha of plant input and 0.1 of farmyard manure.
pub(crate) fn forcing() -> MonthForcing {
    MonthForcing {
        temperature: 12.0,
        precipitation: 40.0,
        evaporation: 80.0,
        cover: 0.6,
        plant_input: 0.3,
        fym_input: 0.1,
        dpm_rpm: 1.44,
        rate_factor: 1.0,
    }
}
