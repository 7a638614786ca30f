//! Carbon pools of RothC and how decomposed carbon is partitioned.

/// Decomposition rate constants (1/yr) of the active pools DPM, RPM, BIO, HUM.
pub const K: [f64; 4] = [10.0, 0.3, 0.66, 0.02];

/// Index of each pool in a [`Pools`] array.
pub const DPM: usize = 0;
/// Resistant plant material.
pub const RPM: usize = 1;
/// Microbial biomass.
pub const BIO: usize = 2;
/// Humified organic matter.
pub const HUM: usize = 3;
/// Inert organic matter.
pub const IOM: usize = 4;

/// The five pools DPM, RPM, BIO, HUM, IOM in t C/ha.
pub type Pools = [f64; 5];

/// Sum of the four active pools (t C/ha).
#[inline]
pub fn active(p: &Pools) -> f64 {
    p[DPM] + p[RPM] + p[BIO] + p[HUM]
}

/// Total soil organic carbon, the five pools (t C/ha).
#[inline]
pub fn total(p: &Pools) -> f64 {
    p[DPM] + p[RPM] + p[BIO] + p[HUM] + p[IOM]
}

/// Inert organic matter from total SOC (Falloon et al. 1998): IOM = 0.049 SOC^1.139, t C/ha.
#[inline]
pub fn falloon_iom(soc: f64) -> f64 {
    0.049 * soc.powf(1.139)
}

/// Where decomposed carbon goes, a function of clay (%) only.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Partition {
    /// CO2 / (BIO + HUM) ratio x = 1.67 (1.85 + 1.60 exp(-0.0786 clay)).
    pub x: f64,
    /// Share of decomposed C released as CO2: x / (x + 1).
    pub co2: f64,
    /// Share of decomposed C going to BIO: 0.46 / (x + 1).
    pub bio: f64,
    /// Share of decomposed C going to HUM: 0.54 / (x + 1).
    pub hum: f64,
}

/// The ratio x = CO2 / (BIO + HUM) of decomposed carbon in a soil of `clay` %:
/// 1.67 (1.85 + 1.60 exp(-0.0786 clay)) (ROTHC.md section 3); every mode computes it here.
pub fn co2_ratio(clay: f64) -> f64 {
    1.67 * (1.85 + 1.60 * (-0.0786 * clay).exp())
}

impl Partition {
    /// Partition for a soil of `clay` %.
    pub fn new(clay: f64) -> Self {
        let x = co2_ratio(clay);
        Self {
            x,
            co2: x / (x + 1.0),
            bio: 0.46 / (x + 1.0),
            hum: 0.54 / (x + 1.0),
        }
    }
}

/// Split of a plant input (t C/ha) into DPM and RPM by the DPM/RPM ratio `dpm_rpm_ratio`.
#[inline]
pub fn split_plant_input(plant_input: f64, dpm_rpm_ratio: f64) -> (f64, f64) {
    (
        dpm_rpm_ratio / (dpm_rpm_ratio + 1.0) * plant_input,
        1.0 / (dpm_rpm_ratio + 1.0) * plant_input,
    )
}

/// Split of farmyard manure (t C/ha): 0.49 to DPM, 0.49 to RPM, 0.02 to HUM.
#[inline]
pub fn split_fym(fym_input: f64) -> (f64, f64, f64) {
    (0.49 * fym_input, 0.49 * fym_input, 0.02 * fym_input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_sums_to_one() {
        for clay in [0.0, 13.0, 23.4, 60.0, 100.0] {
            let p = Partition::new(clay);
            assert!((p.co2 + p.bio + p.hum - 1.0).abs() < 1e-15);
        }
        let p = Partition::new(0.0);
        assert!((p.x - 1.67 * 3.45).abs() < 1e-12);
    }

    #[test]
    fn falloon() {
        assert!((falloon_iom(1.0) - 0.049).abs() < 1e-15);
        assert!((falloon_iom(50.0) - 0.049 * 50f64.powf(1.139)).abs() < 1e-15);
        assert_eq!(falloon_iom(0.0), 0.0);
    }

    #[test]
    fn splits() {
        let (d, r) = split_plant_input(2.44, 1.44);
        assert!((d - 1.44).abs() < 1e-15 && (r - 1.0).abs() < 1e-15);
        let (d, r, h) = split_fym(1.0);
        assert_eq!((d, r, h), (0.49, 0.49, 0.02));
    }
}
