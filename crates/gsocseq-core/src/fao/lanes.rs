//! Forward Euler of several chains side by side (the fao-v1.2 chains of a batch): each lane
//! gives the bits of [`EulerModel::run_between`] (the same operations in the same order, no
//! fused multiply-add; the constants it recomputes every step computed once), while the
//! chains' sequential dependencies overlap and, where the CPU has them, run as vectors.

use super::{euler_steps, seq_point, EulerModel, MONTHS, THICKNESS};
use crate::rothc::pools::Pools;

/// Chains advanced side by side by the fao-v1.2 chain (two AVX-512 vectors, four AVX2 ones:
/// enough independent work to hide the latency of a step).
pub const LANES: usize = 16;

/// `L` chains of forward Euler: their model constants, annual inputs, monthly rates and
/// pools, lane by lane. Lanes never set hold zeros (and stay zero).
#[derive(Debug, Clone, Copy)]
pub struct EulerLanes<const L: usize> {
    /// o x input and (1 - o) x input: the DPM and RPM shares of the annual input, t C/ha/yr.
    dpm_input: [f64; L],
    rpm_input: [f64; L],
    /// soilassessment's a3 and a4 with -0.66 and -0.02 added to the diagonal (BIO, HUM).
    a3: [[f64; L]; 4],
    a4: [[f64; L]; 4],
    /// Rate modifier xi of each month of the year.
    xi: [[f64; L]; MONTHS],
    /// DPM, RPM, BIO, HUM, IOM, t C/ha (IOM does not change).
    pools: [[f64; L]; 5],
}

impl<const L: usize> Default for EulerLanes<L> {
    fn default() -> Self {
        Self {
            dpm_input: [0.0; L],
            rpm_input: [0.0; L],
            a3: [[0.0; L]; 4],
            a4: [[0.0; L]; 4],
            xi: [[0.0; L]; MONTHS],
            pools: [[0.0; L]; 5],
        }
    }
}

impl<const L: usize> EulerLanes<L> {
    /// Lane `l` runs `model` with the annual input `input` (t C/ha/yr) and the monthly rates
    /// `xi` from here on (its pools kept).
    pub fn set_forcing(&mut self, l: usize, model: &EulerModel, input: f64, xi: &[f64; MONTHS]) {
        self.dpm_input[l] = model.o * input;
        self.rpm_input[l] = (1.0 - model.o) * input;
        for i in 0..4 {
            self.a3[i][l] = model.a3[i];
            self.a4[i][l] = model.a4[i];
        }
        self.a3[2][l] = -0.66 + model.a3[2];
        self.a4[3][l] = -0.02 + model.a4[3];
        for (m, x) in xi.iter().enumerate() {
            self.xi[m][l] = *x;
        }
    }

    /// Sets the pools of lane `l` (t C/ha).
    pub fn set_pools(&mut self, l: usize, pools: &Pools) {
        for (k, v) in pools.iter().enumerate() {
            self.pools[k][l] = *v;
        }
    }

    /// The pools of lane `l` (t C/ha).
    pub fn pools(&self, l: usize) -> Pools {
        std::array::from_fn(|k| self.pools[k][l])
    }

    /// [`EulerModel::run_between`] of every lane: the steps of a run over `to` years after
    /// the run over `from` years. Returns each lane's DPM amplification over these steps.
    pub fn run_between(&mut self, to: f64, from: f64) -> [f64; L] {
        let first = if from > 0.0 { euler_steps(from) } else { 0 };
        euler_lanes(self, first, euler_steps(to), to)
    }
}

simd_dispatch! {
    /// Steps `first..steps` of R's time grid up to `to` years, every lane.
    fn euler_lanes<const L: usize>(
        lanes: &mut EulerLanes<L>,
        first: usize,
        steps: usize,
        to: f64,
    ) -> [f64; L] {
        let mut amplification = [1.0; L];
        let (dpm_input, rpm_input, a3, a4) = (lanes.dpm_input, lanes.rpm_input, lanes.a3, lanes.a4);
        let [mut c1, mut c2, mut c3, mut c4, _] = lanes.pools;
        let mut t0 = seq_point(first, to);
        for j in first..steps {
            let t1 = seq_point(j + 1, to);
            let dt = t1 - t0;
            t0 = t1;
            let xi = &lanes.xi[j % MONTHS];
            for l in 0..L {
                let rr = xi[l];
                let d1 = dpm_input[l] - (c1[l] * 10.0) * rr;
                let d2 = rpm_input[l] - (c2[l] * 0.3) * rr;
                let d3 = (a3[0][l] * c1[l] + a3[1][l] * c2[l] + a3[2][l] * c3[l] + a3[3][l] * c4[l])
                    * rr;
                let d4 = (a4[0][l] * c1[l] + a4[1][l] * c2[l] + a4[2][l] * c3[l] + a4[3][l] * c4[l])
                    * rr;
                c1[l] += dt * d1;
                c2[l] += dt * d2;
                c3[l] += dt * d3;
                c4[l] += dt * d4;
                amplification[l] *= (1.0 - 10.0 * rr * dt).abs();
            }
        }
        [lanes.pools[0], lanes.pools[1], lanes.pools[2], lanes.pools[3]] = [c1, c2, c3, c4];
        amplification
    }
}

/// A year of monthly values of `L` chains, `[month][lane]`.
pub type MonthLanes<const L: usize> = [[f64; L]; MONTHS];

/// [`super::xi_months`] of the first `lanes` of `L` chains (temperature degrees C,
/// precipitation and PET mm, cover factor; clay %, paddy factor of each lane): the same bits
/// lane by lane (the other lanes' values are meaningless). The exponentials are the C
/// library's, one at a time as in [`super::temperature_factor`]; the moisture function's branches
/// are selections across the lanes.
pub fn xi_lanes<const L: usize>(
    [temperature, precipitation, pet, cover]: [&MonthLanes<L>; 4],
    clay: &[f64; L],
    paddy: &[f64; L],
    lanes: usize,
) -> MonthLanes<L> {
    let mut xi = moisture_lanes(precipitation, pet, cover, clay);
    // 106 / (T + 18.3) as vectors, its exponential one at a time, then fT fW fC fPR
    let mut e = temperature_arguments(temperature);
    for e in e.iter_mut() {
        for e in e.iter_mut().take(lanes) {
            *e = e.exp();
        }
    }
    modifier_lanes(&mut xi, temperature, &e, cover, paddy);
    xi
}

simd_dispatch! {
    /// 106 / (T + 18.3) of each month of `L` chains (T degrees C).
    fn temperature_arguments<const L: usize>(temperature: &MonthLanes<L>) -> MonthLanes<L> {
        temperature.map(|t| t.map(|t| 106.0 / (t + 18.3)))
    }
}

simd_dispatch! {
    /// xi = fT fW fC fPR of each month of `L` chains into `xi` (holding fW), from `e` =
    /// exp(106 / (T + 18.3)) ([`temperature_factor`], NaN below -18.3 degrees C).
    fn modifier_lanes<const L: usize>(
        xi: &mut MonthLanes<L>,
        temperature: &MonthLanes<L>,
        e: &MonthLanes<L>,
        cover: &MonthLanes<L>,
        paddy: &[f64; L],
    ) -> () {
        for m in 0..MONTHS {
            for l in 0..L {
                let ft = if temperature[m][l] >= -18.3 {
                    47.9 / (1.0 + e[m][l])
                } else {
                    f64::NAN
                };
                xi[m][l] = ft * xi[m][l] * cover[m][l] * paddy[l];
            }
        }
    }
}

simd_dispatch! {
    /// [`super::moisture_factors`] of `L` chains (bare where the cover factor > 0.8).
    fn moisture_lanes<const L: usize>(
        precipitation: &MonthLanes<L>,
        pet: &MonthLanes<L>,
        cover: &MonthLanes<L>,
        clay: &[f64; L],
    ) -> MonthLanes<L> {
        let mut acc = [[0.0; L]; MONTHS];
        for l in 0..L {
            let m0 = precipitation[0][l] - pet[0][l];
            acc[0][l] = if m0 > 0.0 { 0.0 } else { m0 };
        }
        let mut max_tsmd = [0.0; L];
        let limit: [f64; L] =
            std::array::from_fn(|l| -(20.0 + 1.3 * clay[l] - 0.01 * (clay[l] * clay[l])));
        for i in 1..MONTHS {
            for l in 0..L {
                let b = if cover[i][l] > 0.8 { 1.8 } else { 1.0 };
                max_tsmd[l] = limit[l] * (THICKNESS / 23.0) * (1.0 / b);
                let s = acc[i - 1][l] + (precipitation[i][l] - pet[i][l]);
                let a = if s < 0.0 { s } else { 0.0 };
                acc[i][l] = if a <= max_tsmd[l] { max_tsmd[l] } else { a };
            }
        }
        let mut out = [[0.0; L]; MONTHS];
        for (o, a) in out.iter_mut().zip(acc.iter()) {
            for l in 0..L {
                let max = max_tsmd[l];
                let b = if a[l] > 0.444 * max {
                    1.0
                } else {
                    0.2 + 0.8 * ((max - a[l]) / (max - 0.444 * max))
                };
                o[l] = if b < 0.2 { 0.2 } else { b };
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chains of different soils, inputs, rates and pools (some rates large enough to make
    /// DPM oscillate).
    fn chain(i: usize) -> (EulerModel, f64, [f64; MONTHS], Pools) {
        let model = EulerModel::new(3.0 + 4.7 * i as f64, 0.25 + 0.31 * i as f64);
        let xi = std::array::from_fn(|m| 0.05 + 0.37 * ((i * 7 + m * 3) % 11) as f64);
        let pools = [
            0.3 * i as f64,
            5.0 + i as f64,
            0.7,
            20.0 + 2.5 * i as f64,
            2.0,
        ];
        (model, 0.4 + 0.55 * i as f64, xi, pools)
    }

    #[allow(clippy::needless_range_loop)]
    fn lanes_equal_chains<const L: usize>(n: usize) {
        // a run and its continuations to longer horizons (on R's grid of each), and a new run
        let mut again = EulerLanes::<L>::default();
        for l in 0..n {
            let (model, input, xi, pools) = chain(l);
            again.set_forcing(l, &model, input, &xi);
            again.set_pools(l, &pools);
        }
        let mut amplifications = Vec::new();
        for (to, from) in [(1.0, 0.0), (20.0, 1.0), (50.0, 20.0), (500.0, 0.0)] {
            amplifications.push(again.run_between(to, from));
        }
        for l in 0..n {
            let (model, input, xi, mut pools) = chain(l);
            for (q, (to, from)) in [(1.0, 0.0), (20.0, 1.0), (50.0, 20.0), (500.0, 0.0)]
                .into_iter()
                .enumerate()
            {
                let a = model.run_between(&mut pools, input, &xi, to, from);
                assert_eq!(a.to_bits(), amplifications[q][l].to_bits(), "lane {l}");
            }
            assert_eq!(pools.map(f64::to_bits), again.pools(l).map(f64::to_bits));
            assert!(pools.iter().all(|v| v.is_finite()));
        }
        // unset lanes stay zero
        for l in n..L {
            assert_eq!(again.pools(l), [0.0; 5]);
        }
    }

    #[test]
    fn xi_of_each_lane_is_the_bits_of_its_chain_alone() {
        const L: usize = 16;
        // wet and dry years, bare months, a clay past the limit's maximum, a missing month
        let month = |l: usize, m: usize| -> [f64; 4] {
            let dry = (l % 4) as f64;
            [
                -20.0 + 2.9 * l as f64 + 1.7 * m as f64,
                (80.0 - 19.0 * dry) * (1.0 + ((l * 5 + m) % 7) as f64 / 7.0),
                30.0 + 12.0 * dry + 9.0 * ((m + l) % 5) as f64,
                [0.6, 1.0, 0.9, 0.81, 0.8][(l + m) % 5],
            ]
        };
        let mut lanes = [[[0.0; L]; MONTHS]; 4];
        for (l, m) in (0..L).flat_map(|l| (0..MONTHS).map(move |m| (l, m))) {
            for (q, v) in month(l, m).into_iter().enumerate() {
                lanes[q][m][l] = if (l, m, q) == (7, 4, 1) { f64::NAN } else { v };
            }
        }
        let clay: [f64; L] = std::array::from_fn(|l| 2.0 + 6.1 * l as f64);
        let paddy: [f64; L] = std::array::from_fn(|l| [1.0, 0.4][l % 2]);
        let xi = xi_lanes(
            [&lanes[0], &lanes[1], &lanes[2], &lanes[3]],
            &clay,
            &paddy,
            L,
        );
        let mut clamped = 0;
        for l in 0..L {
            let [t, p, e, c] = lanes.map(|q| std::array::from_fn(|m| q[m][l]));
            let alone = super::super::xi_months(&t, &p, &e, &c, clay[l], paddy[l]);
            let bare = c.map(|c| c > 0.8);
            clamped += super::super::moisture_factors(&p, &e, clay[l], &bare)
                .iter()
                .filter(|v| **v == 0.2)
                .count();
            for m in 0..MONTHS {
                assert_eq!(
                    xi[m][l].to_bits(),
                    alone[m].to_bits(),
                    "lane {l}, month {m}"
                );
            }
        }
        assert!(clamped > 0 && xi.iter().flatten().any(|v| v.is_nan()));
    }

    #[test]
    fn each_lane_gives_the_bits_of_its_chain_alone() {
        lanes_equal_chains::<16>(16);
        lanes_equal_chains::<16>(5);
        lanes_equal_chains::<8>(8);
        lanes_equal_chains::<1>(1);
        lanes_equal_chains::<3>(2);
    }
}
