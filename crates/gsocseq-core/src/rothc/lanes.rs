//! Runs over many months, one pixel or `L` pixels in step (lanes): the per-month scratch
//! ([`RunBuffers`]), the observed runs ([`run`], [`run_lanes`]) and the fused kernel on
//! month-major forcing ([`run_lanes_final`], [`LaneForcing`]).

use super::forcing::{ForcingSeries, RateForcing};
use super::modifiers::{is_bare, temperature_factor, Soil};
use super::pools::{split_fym, split_plant_input, Pools, BIO, DPM, HUM, RPM};
use super::step::{decay_and_add, decay_factor_lanes_into, MonthOutcome};
use super::water_retention::MoistureFunction;
use crate::simd::transpose::{prefetch_part, rows_to_lanes, LaneMonth};
use crate::simd::vmath;

/// Per-month scratch of [`run`] and [`run_lanes`] for `L` series advanced in step (lanes):
/// every per-month quantity is stored month-major, lane-minor (`[m][l]`), so that the
/// exponentials of all lanes go in one vectorised batch and the decomposition advances the
/// lanes as one vector. Reused from call to call: nothing is allocated once it has grown to
/// the longest run.
#[derive(Debug, Clone, Default)]
pub struct RunBuffers<const L: usize = 1> {
    /// Temperature factor a.
    a: Vec<[f64; L]>,
    /// Moisture factor b.
    b: Vec<[f64; L]>,
    /// Deficit after the month, mm.
    tsmd: Vec<[f64; L]>,
    /// Combined rate.
    rate: Vec<[f64; L]>,
    /// exp(-rate k_i / 12) of the four active pools.
    decay: Vec<[[f64; L]; 4]>,
    /// Carbon added at the end of the month, t C/ha: plant to DPM, plant to RPM, FYM to DPM,
    /// FYM to RPM, FYM to HUM.
    inputs: Vec<[[f64; L]; 5]>,
}

impl<const L: usize> RunBuffers<L> {
    fn resize(&mut self, months: usize) {
        if self.a.len() < months {
            self.a.resize(months, [0.0; L]);
            self.b.resize(months, [0.0; L]);
            self.tsmd.resize(months, [0.0; L]);
            self.rate.resize(months, [0.0; L]);
            self.decay.resize(months, [[0.0; L]; 4]);
            self.inputs.resize(months, [[0.0; L]; 5]);
        }
    }

    /// The rates of the months of `climate` of every lane from deficits `tsmd` (updated), the
    /// same bits as [`month_rate`] and [`decompose`] month by month; the exponentials go in
    /// vectorised batches and the deficits, the one sequential part, advance the lanes in
    /// step so that their dependency chains overlap.
    #[inline(always)]
    fn rates(&mut self, soils: &[Soil; L], tsmd: &mut [f64; L], climate: &[RateForcing<'_>; L]) {
        let months = climate[0].temperature.len();
        self.resize(months);
        let a = &mut self.a[..months];
        for (l, c) in climate.iter().enumerate() {
            assert_eq!(c.temperature.len(), months, "lanes of different lengths");
            for (a, &t) in a.iter_mut().zip(c.temperature) {
                a[l] = 106.06 / (t + 18.27);
            }
        }
        vmath::exp_in_place(a.as_flattened_mut());
        // `temperature_factor`, with the exponential computed above
        for (l, c) in climate.iter().enumerate() {
            for (a, &t) in a.iter_mut().zip(c.temperature) {
                a[l] = if t < -5.0 { 0.0 } else { 47.91 / (a[l] + 1.0) };
            }
        }
        let tsmd_out = &mut self.tsmd[..months];
        for (m, tsmd_out) in tsmd_out.iter_mut().enumerate() {
            for l in 0..L {
                let (soil, c) = (&soils[l], &climate[l]);
                let water_balance = c.precipitation[m] - soil.evap_coefficient * c.evaporation[m];
                tsmd[l] = soil
                    .moisture
                    .update_tsmd(tsmd[l], water_balance, is_bare(c.cover[m]));
                tsmd_out[l] = tsmd[l];
            }
        }
        let (b, rates) = (&mut self.b[..months], &mut self.rate[..months]);
        for (l, c) in climate.iter().enumerate() {
            let (cover, rate_factor) = (&c.cover[..months], &c.rate_factor[..months]);
            let moisture = &soils[l].moisture;
            for m in 0..months {
                b[m][l] = moisture.moisture_factor(tsmd_out[m][l]);
                rates[m][l] = a[m][l] * b[m][l] * cover[m] * rate_factor[m];
            }
        }
        decay_factor_rows(rates, &mut self.decay[..months]);
    }

    /// The split inputs of every month of `forcing` of every lane.
    #[inline(always)]
    fn inputs(&mut self, forcing: &[ForcingSeries<'_>; L]) {
        let months = forcing[0].months();
        self.resize(months);
        for (l, f) in forcing.iter().enumerate() {
            let (plant, fym) = (&f.plant_input[..months], &f.fym_input[..months]);
            let dpm_rpm = &f.dpm_rpm[..months];
            // The ratio rarely changes from month to month: its two divisions are reused.
            let mut ratio = f64::NAN;
            let (mut to_dpm, mut to_rpm) = (f64::NAN, f64::NAN);
            for (m, out) in self.inputs[..months].iter_mut().enumerate() {
                if dpm_rpm[m].to_bits() != ratio.to_bits() {
                    ratio = dpm_rpm[m];
                    (to_dpm, to_rpm) = split_plant_input(1.0, ratio);
                }
                // the same bits as `split_plant_input(plant[m], dpm_rpm[m])`, `split_fym`
                let (fym_dpm, fym_rpm, fym_hum) = split_fym(fym[m]);
                let split = [
                    to_dpm * plant[m],
                    to_rpm * plant[m],
                    fym_dpm,
                    fym_rpm,
                    fym_hum,
                ];
                for (k, v) in split.into_iter().enumerate() {
                    out[k][l] = v;
                }
            }
        }
    }

    /// Decomposition of lane `l` in month `m` with the inputs at its end ([`decompose`]).
    #[inline]
    fn decompose_lane(&self, m: usize, l: usize, pools: &mut Pools, soil: &Soil) -> f64 {
        let decay = self.decay[m].map(|v| v[l]);
        decay_and_add(pools, soil, decay, self.inputs[m].map(|v| v[l]))
    }

    /// What month `m` of lane `l` computed, with `co2` released.
    #[inline]
    fn outcome(&self, m: usize, l: usize, cover: f64, co2: f64) -> MonthOutcome {
        MonthOutcome {
            a: self.a[m][l],
            b: self.b[m][l],
            c: cover,
            rate: self.rate[m][l],
            tsmd: self.tsmd[m][l],
            co2,
        }
    }
}

simd_dispatch! {
    /// The decay factors of every month of `rates` (`[month][lane]`) into `decay`
    /// (`[month][pool][lane]`): [`decay_factor_lanes`](super::step::decay_factor_lanes) month by month.
    fn decay_factor_rows<const L: usize>(rates: &[[f64; L]], decay: &mut [[[f64; L]; 4]]) -> () {
        for (rate, decay) in rates.iter().zip(decay.iter_mut()) {
            decay_factor_lanes_into(rate, decay);
        }
    }
}

/// Runs the months of `forcing` from `pools` and `tsmd`; `observe(m, pools, outcome)` sees
/// the state at the end of every month. Returns the cumulative CO2-C released (t C/ha). The
/// same bits as [`super::step::step_month`] month by month; `buffers` holds the per-month rates (computed
/// in vectorised batches).
#[inline]
pub fn run<O>(
    pools: &mut Pools,
    tsmd: &mut f64,
    soil: &Soil,
    forcing: &ForcingSeries<'_>,
    buffers: &mut RunBuffers,
    mut observe: O,
) -> f64
where
    O: FnMut(usize, &Pools, &MonthOutcome),
{
    let [co2] = run_lanes(
        std::array::from_mut(pools),
        std::array::from_mut(tsmd),
        std::array::from_ref(soil),
        std::array::from_ref(forcing),
        buffers,
        |_, m, pools, out| observe(m, pools, out),
    );
    co2
}

/// [`run`] of `L` independent series of the same number of months at once, advanced in step
/// (their sequential dependency chains overlap); `observe(lane, m, pools, outcome)`. Each
/// lane gives the same bits as [`run`].
#[inline]
pub fn run_lanes<const L: usize, O>(
    pools: &mut [Pools; L],
    tsmd: &mut [f64; L],
    soils: &[Soil; L],
    forcing: &[ForcingSeries<'_>; L],
    buffers: &mut RunBuffers<L>,
    mut observe: O,
) -> [f64; L]
where
    O: FnMut(usize, usize, &Pools, &MonthOutcome),
{
    let months = forcing[0].months();
    buffers.rates(soils, tsmd, &forcing.map(|f| f.climate));
    buffers.inputs(forcing);
    let mut co2 = [0.0; L];
    for m in 0..months {
        for l in 0..L {
            let c = buffers.decompose_lane(m, l, &mut pools[l], &soils[l]);
            co2[l] += c;
            let cover = forcing[l].climate.cover[m];
            observe(l, m, &pools[l], &buffers.outcome(m, l, cover, c));
        }
    }
    co2
}

/// Index of each quantity in a month of [`LaneForcing`]: temperature (degrees C), water
/// balance (precipitation - coefficient x evaporation, mm), cover factor, rate factor, then
/// the carbon added at the end of the month (t C/ha): plant to DPM, plant to RPM, FYM to
/// DPM, FYM to RPM, FYM to HUM.
const TEMPERATURE: usize = 0;
const WATER_BALANCE: usize = 1;
const COVER: usize = 2;
const RATE_FACTOR: usize = 3;
const INPUTS: usize = 4;
/// Quantities of a month of [`LaneForcing`].
const STREAMS: usize = 9;
/// Of which computed from the forcing (the water balance and the five inputs).
const DERIVED: usize = 6;

/// Month-major forcing of `L` lanes for [`run_lanes_final`] (every quantity of a month one
/// vector of lanes), reused from call to call.
#[derive(Debug, Clone, Default)]
pub struct LaneForcing<const L: usize> {
    months: Vec<LaneMonth<L, STREAMS>>,
    /// The derived quantities of one lane, month by month (`DERIVED` rows).
    derived: Vec<f64>,
}

/// One year of `L` lanes filled directly and run by [`LaneState::year`]: the values
/// [`LaneForcing`] would derive from a [`ForcingSeries`], with the same bits. Month-major
/// (`temperature[m][l]`: month `m` of lane `l`), every quantity of a month one vector of
/// lanes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneYear<const L: usize> {
    /// Temperature of each month of the lanes, degrees C.
    pub temperature: [[f64; L]; 12],
    /// Precipitation - evaporation coefficient x evaporation, mm.
    pub water_balance: [[f64; L]; 12],
    /// Cover factor.
    pub cover: [[f64; L]; 12],
    /// Rate factor of the year.
    pub rate_factor: [f64; L],
    /// Carbon added at the end of every month of the year, t C/ha: plant to DPM, plant to
    /// RPM, FYM to DPM, FYM to RPM, FYM to HUM (as `split_plant_input` and `split_fym` give
    /// them).
    pub inputs: [[f64; L]; 5],
}

impl<const L: usize> Default for LaneYear<L> {
    fn default() -> Self {
        LaneYear {
            temperature: [[0.0; L]; 12],
            water_balance: [[0.0; L]; 12],
            cover: [[0.0; L]; 12],
            rate_factor: [0.0; L],
            inputs: [[0.0; L]; 5],
        }
    }
}

impl<const L: usize> LaneForcing<L> {
    /// Lays the series of the lanes out month by month (the one pass over the inputs); the
    /// water balance and the input split are computed here with the bits of [`super::step::step_month`].
    #[inline(always)]
    fn load(&mut self, soils: &[Soil; L], forcing: &[ForcingSeries<'_>; L]) {
        let months = forcing[0].months();
        if self.months.len() < months {
            self.months.resize(months, LaneMonth::default());
        }
        self.derived.resize(DERIVED * L * months, 0.0);
        for (l, f) in forcing.iter().enumerate() {
            assert_eq!(f.months(), months, "lanes of different lengths");
            let rows = &mut self.derived[DERIVED * months * l..DERIVED * months * (l + 1)];
            let (wb, rows) = rows.split_at_mut(months);
            let c = &f.climate;
            let evap = soils[l].evap_coefficient;
            let (p, e) = (&c.precipitation[..months], &c.evaporation[..months]);
            for ((wb, p), e) in wb.iter_mut().zip(p).zip(e) {
                *wb = p - evap * e;
            }
            let (plant, fym) = (&f.plant_input[..months], &f.fym_input[..months]);
            let ratio = &f.dpm_rpm[..months];
            let (to_dpm_row, rows) = rows.split_at_mut(months);
            let (to_rpm_row, rows) = rows.split_at_mut(months);
            // the same bits as `split_plant_input(plant, ratio)`; a ratio that does not change
            // (the usual case) is divided once
            if let Some(first) = ratio
                .first()
                .filter(|first| ratio.iter().all(|r| r.to_bits() == first.to_bits()))
            {
                let (to_dpm, to_rpm) = split_plant_input(1.0, *first);
                for ((d, r), plant) in to_dpm_row.iter_mut().zip(to_rpm_row.iter_mut()).zip(plant) {
                    (*d, *r) = (to_dpm * plant, to_rpm * plant);
                }
            } else {
                for (((d, r), plant), ratio) in to_dpm_row
                    .iter_mut()
                    .zip(to_rpm_row.iter_mut())
                    .zip(plant)
                    .zip(ratio)
                {
                    let (to_dpm, to_rpm) = split_plant_input(1.0, *ratio);
                    (*d, *r) = (to_dpm * plant, to_rpm * plant);
                }
            }
            let (fym_dpm, rows) = rows.split_at_mut(months);
            let (fym_rpm, fym_hum) = rows.split_at_mut(months);
            for (m, fym) in fym.iter().enumerate() {
                (fym_dpm[m], fym_rpm[m], fym_hum[m]) = split_fym(*fym);
            }
        }
        let dst = &mut self.months[..months];
        let derived = &self.derived;
        let climate = forcing.map(|f| f.climate);
        for stream in [TEMPERATURE, COVER, RATE_FACTOR] {
            let rows: [&[f64]; L] = climate.map(|c| match stream {
                TEMPERATURE => c.temperature,
                COVER => c.cover,
                _ => c.rate_factor,
            });
            rows_to_lanes(&rows, months, dst, stream);
        }
        for (k, stream) in [
            WATER_BALANCE,
            INPUTS,
            INPUTS + 1,
            INPUTS + 2,
            INPUTS + 3,
            INPUTS + 4,
        ]
        .into_iter()
        .enumerate()
        {
            let rows: [&[f64]; L] = std::array::from_fn(|l| {
                let at = (DERIVED * l + k) * months;
                &derived[at..at + months]
            });
            rows_to_lanes(&rows, months, dst, stream);
        }
    }
}

/// [`run_lanes`] without observing the months, as a fused kernel: the forcing is laid out
/// month-major once ([`LaneForcing`]), then the months of all lanes are straight lines of
/// vector operations (temperature factors in a first pass; then, a year at a time, deficits
/// and rates, the four decay factors ([`decay_factor_lanes`](super::step::decay_factor_lanes)) and the decompositions). Each lane gives the same bits as [`run`]. On x86-64
/// the kernel is compiled for AVX-512 and AVX2 too and chosen at run time (no fused
/// multiply-add anywhere: the same bits on every CPU). 16 lanes keep two AVX-512 (or four
/// AVX2) vectors of independent work in flight.
pub fn run_lanes_final<const L: usize>(
    pools: &mut [Pools; L],
    tsmd: &mut [f64; L],
    soils: &[Soil; L],
    forcing: &[ForcingSeries<'_>; L],
    buffers: &mut LaneForcing<L>,
) -> [f64; L] {
    run_lanes_final_prefetching(pools, tsmd, soils, forcing, buffers, &[])
}

simd_dispatch! {
    /// [`run_lanes_final`] that also brings `upcoming` (the forcing of the next call, in main
    /// memory) into the cache while it computes, a little every month: reading memory then
    /// overlaps the arithmetic instead of stalling the next call.
    pub fn run_lanes_final_prefetching<const L: usize>(
        pools: &mut [Pools; L],
        tsmd: &mut [f64; L],
        soils: &[Soil; L],
        forcing: &[ForcingSeries<'_>; L],
        buffers: &mut LaneForcing<L>,
        upcoming: &[&[f64]],
    ) -> [f64; L] => run_lanes_final_body
}

#[inline(always)]
fn run_lanes_final_body<const L: usize>(
    pools: &mut [Pools; L],
    tsmd: &mut [f64; L],
    soils: &[Soil; L],
    forcing: &[ForcingSeries<'_>; L],
    buffers: &mut LaneForcing<L>,
    upcoming: &[&[f64]],
) -> [f64; L] {
    buffers.load(soils, forcing);
    let months = &mut buffers.months[..forcing[0].months()];
    lanes_kernel(pools, tsmd, soils, months, upcoming)
}

/// The soil constants of `L` lanes, each a vector across the lanes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LaneSoils<const L: usize> {
    covered: [f64; L],
    bare: [f64; L],
    one_bar: [f64; L],
    wilting_point: [f64; L],
    min_rate: [f64; L],
    floor: [f64; L],
    to_co2: [f64; L],
    to_bio: [f64; L],
    to_hum: [f64; L],
}

impl<const L: usize> LaneSoils<L> {
    /// The constants of `soils`.
    #[inline(always)]
    pub(crate) fn new(soils: &[Soil; L]) -> Self {
        let lanes = |f: fn(&Soil) -> f64| -> [f64; L] { std::array::from_fn(|l| f(&soils[l])) };
        Self {
            covered: lanes(|s| s.moisture.covered),
            bare: lanes(|s| s.moisture.bare),
            one_bar: lanes(|s| s.moisture.one_bar),
            wilting_point: lanes(|s| s.moisture.wilting_point),
            min_rate: lanes(|s| s.moisture.min_rate),
            floor: lanes(|s| s.moisture.floor),
            to_co2: lanes(|s| s.partition.co2),
            to_bio: lanes(|s| s.partition.bio),
            to_hum: lanes(|s| s.partition.hum),
        }
    }
}

/// The state of `L` lanes from month to month: active pools (t C/ha), deficit (mm) and the
/// CO2-C released (t C/ha, when counted); with the scratch of a chunk of months (its rates and
/// decay factors), kept here so that it is not cleared for every chunk (a year's scratch of 16
/// lanes is 7.7 kB: clearing it cost more than the moisture of the year).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LaneState<const L: usize> {
    c: [[f64; L]; 4],
    acc: [f64; L],
    co2: [f64; L],
    /// Combined rate of each month of the chunk.
    rate: [[f64; L]; CHUNK],
    /// exp(-rate k_i / 12) of the four active pools, each month of the chunk (`[m][pool][lane]`).
    decay: [[[f64; L]; 4]; CHUNK],
}

impl<const L: usize> LaneState<L> {
    /// Lanes starting from `pools` and `tsmd`.
    #[inline(always)]
    pub(crate) fn new(pools: &[Pools; L], tsmd: &[f64; L]) -> Self {
        Self {
            c: std::array::from_fn(|i| std::array::from_fn(|l| pools[l][i])),
            acc: *tsmd,
            co2: [0.0; L],
            rate: [[0.0; L]; CHUNK],
            decay: [[[0.0; L]; 4]; CHUNK],
        }
    }

    /// The active pools and deficits into `pools` and `tsmd` (IOM unchanged); the CO2-C
    /// released since [`LaneState::new`].
    #[inline(always)]
    pub(crate) fn store(&self, pools: &mut [Pools; L], tsmd: &mut [f64; L]) -> [f64; L] {
        *tsmd = self.acc;
        for (l, p) in pools.iter_mut().enumerate() {
            for i in [DPM, RPM, BIO, HUM] {
                p[i] = self.c[i][l];
            }
        }
        self.co2
    }

    /// The combined rates (into `self.rate`) of `months` consecutive months of every lane (`a`, `water_balance`,
    /// `cover`, `rate_factor` give month `m`'s temperature factor, water balance (mm), cover
    /// and rate factor), the deficits carried from month to month: [`super::step::month_rate`]
    /// lane by lane. The short chain of the deficits alone; the rest of each month waits for
    /// [`LaneState::decompose`].
    #[inline(always)]
    fn rates<'a>(
        &mut self,
        soils: &LaneSoils<L>,
        months: usize,
        month: impl Fn(usize) -> [&'a [f64; L]; 4],
    ) {
        for (m, rate) in self.rate.iter_mut().enumerate().take(months) {
            let [a, water_balance, cover, rate_factor] = month(m);
            for l in 0..L {
                let moisture = MoistureFunction {
                    covered: soils.covered[l],
                    bare: soils.bare[l],
                    one_bar: soils.one_bar[l],
                    wilting_point: soils.wilting_point[l],
                    min_rate: soils.min_rate[l],
                    floor: soils.floor[l],
                };
                self.acc[l] =
                    moisture.update_tsmd(self.acc[l], water_balance[l], is_bare(cover[l]));
                let b = moisture.moisture_factor(self.acc[l]);
                rate[l] = a[l] * b * cover[l] * rate_factor[l];
            }
        }
    }

    /// Month `m` of the chunk of every lane from its decay factors (`self.decay[m]`), with the
    /// carbon added at its end (t C/ha: plant to DPM, plant to RPM, FYM to DPM, FYM to RPM, FYM
    /// to HUM); the CO2-C released is counted when `CO2`. The bits of [`decay_and_add`] lane
    /// by lane.
    #[inline(always)]
    fn decompose<const CO2: bool>(
        &mut self,
        soils: &LaneSoils<L>,
        m: usize,
        inputs: [&[f64; L]; 5],
    ) {
        let decay = &self.decay[m];
        let (c, co2) = (&mut self.c, &mut self.co2);
        let (to_co2, to_bio, to_hum) = (&soils.to_co2, &soils.to_bio, &soils.to_hum);
        // One loop over the lanes with every pool of a lane in it (the compiler makes it whole
        // vectors of lanes; a loop per pool through an array of the decomposed carbon was
        // split at odd lanes, whose partial vectors stalled the reads of what was just
        // written).
        for l in 0..L {
            let [dpm, rpm, bio, hum] = [c[DPM][l], c[RPM][l], c[BIO][l], c[HUM][l]];
            let remaining = [
                dpm * decay[DPM][l],
                rpm * decay[RPM][l],
                bio * decay[BIO][l],
                hum * decay[HUM][l],
            ];
            let dd = dpm - remaining[DPM];
            let dr = rpm - remaining[RPM];
            let db = bio - remaining[BIO];
            let dh = hum - remaining[HUM];
            // the rest of `decay_and_add`
            if CO2 {
                co2[l] += dd * to_co2[l] + dr * to_co2[l] + db * to_co2[l] + dh * to_co2[l];
            }
            c[BIO][l] =
                remaining[BIO] + dd * to_bio[l] + dr * to_bio[l] + db * to_bio[l] + dh * to_bio[l];
            let hum =
                remaining[HUM] + dd * to_hum[l] + dr * to_hum[l] + db * to_hum[l] + dh * to_hum[l];
            c[DPM][l] = remaining[DPM] + inputs[0][l] + inputs[2][l];
            c[RPM][l] = remaining[RPM] + inputs[1][l] + inputs[3][l];
            c[HUM][l] = hum + inputs[4][l];
        }
    }

    /// Up to [`CHUNK`] months of every lane (see [`LaneState::rates`] for `month`; `inputs(m)`
    /// the carbon added at the end of month `m`): the deficits and rates first, then the decay
    /// factors of every month, then the pools month by month - three passes, so that the
    /// decay factors (the bulk of the arithmetic) have no dependency from month to month and
    /// overlap freely, leaving only the pools' additions to the chain.
    #[inline(always)]
    fn chunk<'a, const CO2: bool>(
        &mut self,
        soils: &LaneSoils<L>,
        months: usize,
        month: impl Fn(usize) -> [&'a [f64; L]; 4],
        inputs: impl Fn(usize) -> [&'a [f64; L]; 5],
    ) {
        self.rates(soils, months, month);
        for (d, rate) in self.decay.iter_mut().zip(&self.rate).take(months) {
            decay_factor_lanes_into(rate, d);
        }
        for m in 0..months.min(CHUNK) {
            self.decompose::<CO2>(soils, m, inputs(m));
        }
    }

    /// The 12 months of `year` (its temperatures replaced by the temperature factors), the
    /// CO2-C not counted: the bits of [`run_lanes_final`] on the same forcing, lane by lane.
    /// For callers compiled under their own [`simd_dispatch!`].
    #[inline(always)]
    pub(crate) fn year(&mut self, soils: &LaneSoils<L>, year: &mut LaneYear<L>) {
        // the temperature factors first: no dependency from month to month
        for t in year.temperature.iter_mut() {
            for t in t.iter_mut() {
                *t = temperature_factor(*t);
            }
        }
        let year = &*year;
        let inputs = [0, 1, 2, 3, 4].map(|k| &year.inputs[k]);
        self.chunk::<false>(
            soils,
            12,
            |m| {
                [
                    &year.temperature[m],
                    &year.water_balance[m],
                    &year.cover[m],
                    &year.rate_factor,
                ]
            },
            |_| inputs,
        );
    }
}

impl<const L: usize> LaneState<L> {
    /// [`LaneState::year`] with the plant inputs (to DPM and RPM) of month m times
    /// `weights[m][lane]` (the monthly weights of a class's input pattern, 12 x the month's
    /// share of the annual input).
    #[inline(always)]
    pub(crate) fn year_weighted(
        &mut self,
        soils: &LaneSoils<L>,
        year: &mut LaneYear<L>,
        weights: &[[f64; L]; 12],
    ) {
        for t in year.temperature.iter_mut() {
            for t in t.iter_mut() {
                *t = temperature_factor(*t);
            }
        }
        let year = &*year;
        let plant: [[[f64; L]; 2]; 12] = std::array::from_fn(|m| {
            std::array::from_fn(|k| std::array::from_fn(|l| year.inputs[k][l] * weights[m][l]))
        });
        self.chunk::<false>(
            soils,
            12,
            |m| {
                [
                    &year.temperature[m],
                    &year.water_balance[m],
                    &year.cover[m],
                    &year.rate_factor,
                ]
            },
            |m| {
                [
                    &plant[m][0],
                    &plant[m][1],
                    &year.inputs[2],
                    &year.inputs[3],
                    &year.inputs[4],
                ]
            },
        );
    }
}

/// Months run as one chunk by [`LaneState`]'s passes: a year (its scratch stays in the first
/// level cache).
const CHUNK: usize = 12;

/// The kernel of [`run_lanes_final`] on month-major forcing (the temperature row is replaced by
/// the temperature factor).
#[inline(always)]
fn lanes_kernel<const L: usize>(
    pools: &mut [Pools; L],
    tsmd: &mut [f64; L],
    soils: &[Soil; L],
    months: &mut [LaneMonth<L, STREAMS>],
    upcoming: &[&[f64]],
) -> [f64; L] {
    let soils = LaneSoils::new(soils);
    // The temperature factor a first, in place of the temperature: a pass without any
    // dependency from month to month (its divisions and exponential overlap freely), so that
    // the pass below carries fewer long chains.
    for LaneMonth(f) in months.iter_mut() {
        let (t, mut a) = (f[TEMPERATURE], [0.0; L]);
        for l in 0..L {
            a[l] = temperature_factor(t[l]);
        }
        f[TEMPERATURE] = a;
    }
    let mut state = LaneState::new(pools, tsmd);
    let n_months = months.len();
    for (k, chunk) in months.chunks(CHUNK).enumerate() {
        for values in upcoming {
            for m in 0..chunk.len() {
                prefetch_part(values, CHUNK * k + m, n_months);
            }
        }
        state.chunk::<true>(
            &soils,
            chunk.len(),
            |m| {
                let f = &chunk[m].0;
                [
                    &f[TEMPERATURE],
                    &f[WATER_BALANCE],
                    &f[COVER],
                    &f[RATE_FACTOR],
                ]
            },
            |m| [0, 1, 2, 3, 4].map(|i| &chunk[m].0[INPUTS + i]),
        );
    }
    state.store(pools, tsmd)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rothc::forcing::ForcingTable;
    use crate::rothc::step::{step_month, MonthForcing};

    #[test]
    fn batched_run_equals_stepping_bit_for_bit() {
        let soil = Soil::new(31.0, 23.0, 0.75);
        let forcing = |m: usize| MonthForcing {
            temperature: -8.0 + 3.1 * (m % 13) as f64,
            precipitation: 10.0 + 17.0 * (m % 7) as f64,
            evaporation: 5.0 + 23.0 * (m % 5) as f64,
            cover: if m.is_multiple_of(3) { 1.0 } else { 0.6 },
            plant_input: 0.01 * (m % 11) as f64,
            fym_input: 0.02 * (m % 4) as f64,
            dpm_rpm: 1.44,
            rate_factor: if m.is_multiple_of(17) { 0.4 } else { 1.0 },
        };
        let (mut p1, mut t1) = ([1.0, 5.0, 0.8, 30.0, 3.0], -3.0);
        let (mut p2, mut t2) = (p1, t1);
        let mut outs = Vec::new();
        let mut bufs = RunBuffers::default();
        let table: ForcingTable = (0..100).map(forcing).collect();
        let co2 = run(
            &mut p1,
            &mut t1,
            &soil,
            &table.series(),
            &mut bufs,
            |_, p, o| outs.push((*p, *o)),
        );
        let mut co2_step = 0.0;
        for (m, (p, o)) in outs.iter().enumerate() {
            let o2 = step_month(&mut p2, &mut t2, &soil, &forcing(m));
            co2_step += o2.co2;
            assert_eq!(*o, o2, "month {m}");
            assert_eq!(*p, p2, "month {m}");
        }
        assert_eq!((co2, t1), (co2_step, t2));
    }

    #[test]
    fn lanes_equal_single_runs_bit_for_bit() {
        // four different pixels: soils, forcing (with manure and a changing ratio), pools
        let tables: Vec<ForcingTable> = (0..4)
            .map(|l| {
                (0..60)
                    .map(|m| MonthForcing {
                        temperature: -7.0 + 2.9 * ((m + 3 * l) % 13) as f64,
                        precipitation: 5.0 + 19.0 * ((m + l) % 7) as f64,
                        evaporation: 3.0 + 21.0 * ((m * (l + 1)) % 5) as f64,
                        cover: if (m + l) % 4 == 0 { 1.0 } else { 0.6 },
                        plant_input: 0.02 * ((m + l) % 9) as f64,
                        fym_input: if l == 2 { 0.05 } else { 0.0 },
                        dpm_rpm: if m < 30 { 1.44 } else { 0.25 + 0.1 * l as f64 },
                        rate_factor: if l == 3 { 0.4 } else { 1.0 },
                    })
                    .collect()
            })
            .collect();
        let series: [ForcingSeries<'_>; 4] = std::array::from_fn(|l| tables[l].series());
        let soils: [Soil; 4] =
            std::array::from_fn(|l| Soil::new(10.0 + 15.0 * l as f64, 23.0, 0.75));
        let pools0: [Pools; 4] = std::array::from_fn(|l| [0.5 + l as f64, 6.0, 0.8, 30.0, 3.0]);
        let tsmd0 = [0.0, -5.0, -20.0, 0.0];
        let (mut p_final, mut t_final) = (pools0, tsmd0);
        let co2_final = run_lanes_final(
            &mut p_final,
            &mut t_final,
            &soils,
            &series,
            &mut LaneForcing::default(),
        );
        // the baseline build of the same code (no AVX2) gives the same bits
        let (mut p_base, mut t_base) = (pools0, tsmd0);
        let co2_base = run_lanes_final_body(
            &mut p_base,
            &mut t_base,
            &soils,
            &series,
            &mut LaneForcing::default(),
            &[],
        );
        assert_eq!((p_base, t_base, co2_base), (p_final, t_final, co2_final));
        let (mut p_obs, mut t_obs) = (pools0, tsmd0);
        let mut seen = vec![Vec::new(); 4];
        let co2_obs = run_lanes(
            &mut p_obs,
            &mut t_obs,
            &soils,
            &series,
            &mut RunBuffers::<4>::default(),
            |l, _, p, o| seen[l].push((*p, *o)),
        );
        for l in 0..4 {
            let (mut p, mut t) = (pools0[l], tsmd0[l]);
            let mut single = Vec::new();
            let co2 = run(
                &mut p,
                &mut t,
                &soils[l],
                &series[l],
                &mut RunBuffers::default(),
                |_, p, o| single.push((*p, *o)),
            );
            assert_eq!(
                (p_final[l], t_final[l], co2_final[l]),
                (p, t, co2),
                "lane {l}"
            );
            assert_eq!((p_obs[l], t_obs[l], co2_obs[l]), (p, t, co2), "lane {l}");
            assert_eq!(seen[l], single, "lane {l}");
        }
    }

    #[test]
    fn lanes_of_no_months_change_nothing() {
        let empty = ForcingTable::default();
        let soils = [Soil::new(20.0, 23.0, 0.75); 16];
        let (mut pools, mut tsmd) = ([[1.0, 2.0, 0.5, 30.0, 3.0]; 16], [-4.0; 16]);
        let co2 = run_lanes_final(
            &mut pools,
            &mut tsmd,
            &soils,
            &[empty.series(); 16],
            &mut LaneForcing::default(),
        );
        assert_eq!(
            (pools[3], tsmd[3], co2[3]),
            ([1.0, 2.0, 0.5, 30.0, 3.0], -4.0, 0.0)
        );
    }
}
