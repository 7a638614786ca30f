//! Practice scenarios (METHOD.md section 10): what a scenario changes in the forward runs (an
//! increase of the plant input, added plant input, farmyard manure, a decomposition rate
//! factor, the cover, the land use, and the years over which it is adopted), how each of these
//! settings is given (everywhere, per SSM group or class, per pixel), and the management of a
//! scenario in one chain ([`Management`]): its monthly inputs, cover and rate factor, with the
//! min/max and Monte Carlo share of its change.

use super::chain::{increase, Perturbation};
use super::classes::ClassTable;
use super::options::{Options, PixelInput};
use crate::rothc::pools::{split_fym, split_plant_input};

/// How one setting of a scenario is given. Per SSM group and per class, the class is the
/// pixel's forward class of BAU (the class of the last warm-up year); classes not listed (and
/// a NaN per-pixel value) keep BAU's value.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Setting<T> {
    /// Not set: the scenario keeps BAU's value.
    #[default]
    Unset,
    /// The same value for every pixel.
    Everywhere(T),
    /// A value per SSM group: crops, grass, paddy (classes of no group keep BAU's value).
    ByGroup([Option<T>; 3]),
    /// A value per class code.
    ByClass(Box<[Option<T>; 256]>),
    /// Each pixel's own value (zones with a table, or a raster, read by the caller): the
    /// pixel's scenario values from this column on ([`SettingValue::WIDTH`] of them).
    ByPixel(usize),
}

/// A value a [`Setting`] holds, and how it is read from a pixel's scenario values.
pub trait SettingValue: Copy {
    /// Columns of a pixel's scenario values it takes.
    const WIDTH: usize;
    /// The value of the columns `values` (WIDTH of them); None where a value is NaN (unset).
    fn from_columns(values: &[f64]) -> Option<Self>;
}

impl SettingValue for f64 {
    const WIDTH: usize = 1;
    fn from_columns(values: &[f64]) -> Option<Self> {
        Some(values[0]).filter(|v| !v.is_nan())
    }
}

impl SettingValue for [f64; 12] {
    const WIDTH: usize = 12;
    fn from_columns(values: &[f64]) -> Option<Self> {
        let v: [f64; 12] = values[..12].try_into().expect("12 columns");
        (!v.iter().any(|v| v.is_nan())).then_some(v)
    }
}

impl SettingValue for u8 {
    const WIDTH: usize = 1;
    fn from_columns(values: &[f64]) -> Option<Self> {
        // class codes 0..=255 (checked by the caller)
        Some(values[0]).filter(|v| !v.is_nan()).map(|v| v as u8)
    }
}

/// A setting by class code from (code, value) pairs ([`Setting::ByClass`]; codes not given
/// keep BAU's value).
impl<T: SettingValue> FromIterator<(u8, T)> for Setting<T> {
    fn from_iter<I: IntoIterator<Item = (u8, T)>>(pairs: I) -> Self {
        let mut by = Box::new([None; 256]);
        for (c, v) in pairs {
            by[c as usize] = Some(v);
        }
        Setting::ByClass(by)
    }
}

impl<T: SettingValue> Setting<T> {
    /// The value for a pixel of forward class `class` with scenario values `pixel`; None
    /// where the setting keeps BAU's value.
    #[inline]
    pub fn value(&self, table: &ClassTable, class: u8, pixel: &[f64]) -> Option<T> {
        match self {
            Setting::Unset => None,
            Setting::Everywhere(v) => Some(*v),
            Setting::ByGroup(groups) => match table.group[class as usize] {
                g @ 0..=2 => groups[g as usize],
                _ => None,
            },
            Setting::ByClass(classes) => classes[class as usize],
            Setting::ByPixel(k) => T::from_columns(&pixel[*k..*k + T::WIDTH]),
        }
    }

    /// Whether the setting is given.
    pub fn is_set(&self) -> bool {
        !matches!(self, Setting::Unset)
    }

    /// The columns of a pixel's scenario values the setting reads (an empty range when none).
    pub fn columns(&self) -> std::ops::Range<usize> {
        match self {
            Setting::ByPixel(k) => *k..*k + T::WIDTH,
            _ => 0..0,
        }
    }
}

/// What a scenario does (METHOD.md section 10); every setting unset is BAU with the input
/// increase of [`Options::scenarios`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Practice {
    /// Increase of the plant input, a fraction of Cin_mean (0.1 = +10 %); unset: the
    /// scenario's increase per SSM group in [`Options::scenarios`] (today's rule).
    pub increase: Setting<f64>,
    /// Plant input added, t C/ha/yr, split by the DPM/RPM ratio of the class.
    pub added_input: Setting<f64>,
    /// Farmyard manure or compost, t C/ha/yr (DPM 0.49, RPM 0.49, HUM 0.02), 1/12 a month.
    pub fym: Setting<f64>,
    /// Multiplier of the decomposition rate of every active pool (0.95 for no-till, say);
    /// multiplies the class's rate factor (paddy fields).
    pub rate_factor: Setting<f64>,
    /// Cover factors c of the 12 months (cover crops).
    pub cover: Setting<[f64; 12]>,
    /// The forward class (land-use change): pools and deficit carried over; DPM/RPM ratio,
    /// rate factor, input pattern and default cover of the new class; plant input Cin_mean x
    /// coefficient of the new class / coefficient of the old one.
    pub land_use: Setting<u8>,
    /// Years over which the inputs and factors move linearly from BAU to the scenario (0 or
    /// 1: at once); the forward run is stepped month by month for those years.
    pub adoption_years: Setting<f64>,
}

impl Practice {
    /// Whether the scenario only changes the amount of plant input (`increase`,
    /// `added_input`): it then shares BAU's rates and the shape of its inputs, and its forward
    /// runs BAU's closed form scaled.
    pub fn is_plain(&self) -> bool {
        !(self.fym.is_set()
            || self.rate_factor.is_set()
            || self.cover.is_set()
            || self.land_use.is_set()
            || self.adoption_years.is_set())
    }

    /// The first column after the scenario values this practice reads.
    pub fn columns_end(&self) -> usize {
        [
            self.increase.columns(),
            self.added_input.columns(),
            self.fym.columns(),
            self.rate_factor.columns(),
            self.cover.columns(),
            self.land_use.columns(),
            self.adoption_years.columns(),
        ]
        .iter()
        .map(|r| r.end)
        .max()
        .unwrap_or(0)
    }
}

/// How the forward runs of a forward climate series get their plant input (METHOD.md
/// section 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ForwardInputs {
    /// Cin_mean (x the scenario) every year.
    #[default]
    Constant,
    /// Cin_mean x NPP_y / the mean NPP of the warm-up years (MIAMI NPP of each year of the
    /// series and of the warm-up climate, with the chain's perturbation).
    NppScaled,
}

spelled!(
    ForwardInputs,
    "forward_inputs",
    "'constant', 'npp-scaled'",
    [Constant = "constant", NppScaled = "npp-scaled"]
);

/// The management of one scenario in one chain: what its forward runs take every month
/// (plant input of the year and its split, manure, cover, rate factor), the change from BAU
/// already scaled by the chain's share of it (min/max and Monte Carlo: [`Perturbation`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Management {
    /// Plant input before the increase, t C/ha/yr: Cin_mean, x the coefficient ratio of a
    /// land-use change.
    pub base_input: f64,
    /// Increase of the plant input, a fraction of `base_input`.
    pub increase: f64,
    /// Plant input added, t C/ha/yr.
    pub added_input: f64,
    /// Farmyard manure, t C/ha/yr.
    pub fym: f64,
    /// Rate factor of every month (the class's, x the pixel's calibrated multiplier, x the
    /// practice's).
    pub rate_factor: f64,
    /// Cover factor of each month.
    pub cover: [f64; 12],
    /// DPM/RPM ratio of the plant input.
    pub dpm_rpm: f64,
    /// Monthly weights of the plant input ([`ClassTable::input_weights`]).
    pub weights: [f64; 12],
    /// Years of linear adoption (0: none).
    pub adoption_years: usize,
    /// Whether only the amount of plant input differs from BAU ([`Practice::is_plain`]).
    pub plain: bool,
}

/// The carbon a management adds at the end of a month, t C/ha: plant to DPM, plant to RPM, FYM
/// to DPM, FYM to RPM, FYM to HUM.
pub type MonthInputs = [f64; 5];

impl Management {
    /// The monthly plant input (t C/ha a month before the month's weight) in a year whose NPP
    /// is `npp_scale` x the warm-up's mean (1 unless the inputs follow the NPP of a forward
    /// climate series): (base x scale x (1 + increase) + added) / 12. Without a change
    /// (scale 1, no coefficient ratio, nothing added) the bits of today's
    /// Cin_mean x (1 + increase) / 12.
    #[inline]
    pub fn monthly_plant(&self, npp_scale: f64) -> f64 {
        (self.base_input * npp_scale * (1.0 + self.increase) + self.added_input) / 12.0
    }

    /// The inputs of month `m` with the monthly plant input `plant` ([`Self::monthly_plant`]).
    #[inline]
    pub fn month_inputs(&self, m: usize, plant: f64) -> MonthInputs {
        let (to_dpm, to_rpm) = split_plant_input(plant * self.weights[m], self.dpm_rpm);
        let (fym_dpm, fym_rpm, fym_hum) = split_fym(self.fym / 12.0);
        [to_dpm, to_rpm, fym_dpm, fym_rpm, fym_hum]
    }

    /// Month `m` of year `year` (1-based) of the adoption from `bau` to `self`: cover, rate
    /// factor and inputs (with the monthly plant inputs `plant` of BAU and of the scenario)
    /// moved linearly, year / adoption_years of the way (all of it from the last adoption
    /// year on).
    #[inline]
    pub fn adopted_month(
        &self,
        bau: &Management,
        year: usize,
        m: usize,
        plant: [f64; 2],
    ) -> (f64, f64, MonthInputs) {
        let own = self.month_inputs(m, plant[1]);
        if year >= self.adoption_years {
            return (self.cover[m], self.rate_factor, own);
        }
        let f = year as f64 / self.adoption_years as f64;
        let lerp = |a: f64, b: f64| a + f * (b - a);
        let from = bau.month_inputs(m, plant[0]);
        (
            lerp(bau.cover[m], self.cover[m]),
            lerp(bau.rate_factor, self.rate_factor),
            std::array::from_fn(|k| lerp(from[k], own[k])),
        )
    }

    /// Whether this management differs from `bau` (the same chain's BAU) at most in the
    /// amount of plant input, given at once: no manure, and BAU's rate factor, cover, DPM/RPM
    /// ratio and input pattern. Such a scenario runs on BAU's maps scaled, so where its
    /// practices change nothing at a pixel (a zone, group or class not in their table, or a
    /// neutral value) its stocks are BAU's, bit for bit.
    #[inline]
    pub fn scales(&self, bau: &Management) -> bool {
        self.fym == 0.0
            && self.rate_factor == bau.rate_factor
            && self.cover == bau.cover
            && self.dpm_rpm == bau.dpm_rpm
            && self.weights == bau.weights
            && (self.adoption_years <= 1 || self.monthly_plant(1.0) == bau.monthly_plant(1.0))
    }

    /// The inputs of month `m` for the affine year maps: to DPM, RPM, BIO and HUM.
    #[inline]
    pub fn map_inputs(inputs: MonthInputs) -> [f64; 4] {
        let [d, r, fd, fr, fh] = inputs;
        [d + fd, r + fr, 0.0, fh]
    }
}

/// `neutral + share x (value - neutral)`: a change from `neutral` scaled by the chain's share
/// of it (the value itself for the central chain's share 1).
#[inline]
fn scaled_change(value: f64, neutral: f64, share: f64) -> f64 {
    if share == 1.0 {
        value
    } else {
        neutral + share * (value - neutral)
    }
}

/// The management of scenario `s` (0: BAU) in a chain of pixel `px` with perturbation `p` and
/// mean warm-up input `cin_mean` (t C/ha/yr). The changes of `increase`, `added_input`, `fym`
/// and the departure of `rate_factor` from 1 are scaled by the chain's `p.increase` (min/max:
/// +-15 %, METHOD.md 10; Monte Carlo: the draw's factor); cover, land use and adoption years
/// are not perturbed.
pub(crate) fn management(
    opts: &Options,
    table: &ClassTable,
    px: &PixelInput<'_>,
    p: &Perturbation,
    cin_mean: f64,
    s: usize,
) -> Management {
    let old = px.forward_class;
    let bau_cover = table.cover_or_default(px.forward_cover, old);
    let mut out = Management {
        base_input: cin_mean,
        increase: increase(opts, table, s, old) * p.increase,
        added_input: 0.0,
        fym: 0.0,
        rate_factor: table.paddy[old as usize] * px.calibration.rate,
        cover: bau_cover,
        dpm_rpm: px.forward_dpm_rpm,
        weights: table.input_weights[old as usize],
        adoption_years: 0,
        plain: true,
    };
    let Some(practice) = opts.practices.get(s) else {
        return out;
    };
    let values = px.refinements.scenario_values;
    let k = p.increase;
    if let Some(v) = practice.increase.value(table, old, values) {
        out.increase = v * k;
    }
    if let Some(v) = practice.added_input.value(table, old, values) {
        out.added_input = v * k;
    }
    out.plain = practice.is_plain();
    if out.plain {
        return out;
    }
    if let Some(new) = practice.land_use.value(table, old, values) {
        if new != old {
            out.base_input = cin_mean * (table.coef[new as usize] / table.coef[old as usize]);
            out.rate_factor = table.paddy[new as usize] * px.calibration.rate;
            out.dpm_rpm = table.dpm_rpm[new as usize];
            out.weights = table.input_weights[new as usize];
            if !table.cover[new as usize][0].is_nan() {
                out.cover = table.cover[new as usize];
            }
        }
    }
    if let Some(v) = practice.fym.value(table, old, values) {
        out.fym = v * k;
    }
    if let Some(v) = practice.rate_factor.value(table, old, values) {
        out.rate_factor *= scaled_change(v, 1.0, k);
    }
    if let Some(v) = practice.cover.value(table, old, values) {
        out.cover = v;
    }
    if let Some(v) = practice.adoption_years.value(table, old, values) {
        out.adoption_years = v as usize;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fao;
    use crate::input::series::Series;
    use crate::phases::chain::{simulate_pixel, Workspace, MINMAX_CLIMATE, MINMAX_INCREASE};
    use crate::phases::options::{final_len, Calibration, PixelOutput, WarmupInputs};
    use crate::phases::testing::{options, TestArea};
    use crate::rothc::modifiers::Soil;
    use crate::rothc::pools::{total, Pools};
    use crate::rothc::step::{step_month, MonthForcing};

    /// What a scenario does to one chain of one pixel, written out by hand for the
    /// independent month-by-month run: monthly plant input (t C/ha, before the month's weight)
    /// of BAU and of the scenario, annual FYM (t C/ha/yr), rate factors, covers, DPM/RPM,
    /// monthly weights and adoption years.
    #[derive(Clone, Copy)]
    struct ByHand {
        plant: [f64; 2],
        fym: f64,
        rate_factor: [f64; 2],
        cover: [[f64; 12]; 2],
        dpm_rpm: f64,
        weights: [[f64; 12]; 2],
        adoption_years: usize,
    }

    /// Total SOC (t C/ha) at the end of each year 1..=years, stepped month by month with
    /// `step_month` from the chain's state at t0; during the adoption years every quantity
    /// moves from BAU's value to the scenario's, year / adoption_years of the way.
    fn month_by_month(
        soil: &Soil,
        climate: [[f64; 12]; 3],
        pools_t0: Pools,
        tsmd_t0: f64,
        h: &ByHand,
        years: usize,
    ) -> Vec<f64> {
        let (mut pools, mut tsmd) = (pools_t0, tsmd_t0);
        let mut out = Vec::new();
        for y in 1..=years {
            let f = if y < h.adoption_years {
                y as f64 / h.adoption_years as f64
            } else {
                1.0
            };
            let lerp = |a: f64, b: f64| a + f * (b - a);
            #[allow(clippy::needless_range_loop)] // m indexes three arrays
            for m in 0..12 {
                let forcing = MonthForcing {
                    temperature: climate[0][m],
                    precipitation: climate[1][m],
                    evaporation: climate[2][m],
                    cover: lerp(h.cover[0][m], h.cover[1][m]),
                    plant_input: lerp(h.plant[0] * h.weights[0][m], h.plant[1] * h.weights[1][m]),
                    fym_input: f * h.fym / 12.0,
                    dpm_rpm: h.dpm_rpm,
                    rate_factor: lerp(h.rate_factor[0], h.rate_factor[1]),
                };
                step_month(&mut pools, &mut tsmd, soil, &forcing);
            }
            out.push(total(&pools));
        }
        out
    }

    #[test]
    fn scenarios_equal_an_independent_month_by_month_run() {
        let area = TestArea::new(6);
        let mut pixels = area.pixels();
        // per-pixel values: column 0 an added input (NaN: BAU's), 1 a land use
        let values: Vec<[f64; 2]> = (0..pixels.len())
            .map(|i| {
                [
                    if i % 2 == 0 {
                        0.3 + 0.1 * i as f64
                    } else {
                        f64::NAN
                    },
                    3.0,
                ]
            })
            .collect();
        for (px, v) in pixels.iter_mut().zip(&values) {
            px.refinements.scenario_values = v;
        }
        // a calibrated pixel: the practices' rate factors multiply its rate multiplier
        pixels[4].calibration = Calibration {
            input: 1.1,
            rate: 0.9,
        };
        let mut table = ClassTable::default();
        let pattern: [f64; 12] =
            std::array::from_fn(|m| if (3..9).contains(&m) { 0.15 } else { 0.1 / 6.0 });
        table.set_input_pattern(3, &pattern).unwrap();
        table.set_input_pattern(5, &pattern).unwrap();
        let cover_crops = [0.6; 12];
        let practices = vec![
            Practice::default(), // BAU
            Practice {
                increase: Setting::ByGroup([Some(0.1), Some(0.05), None]),
                added_input: Setting::ByPixel(0),
                ..Default::default()
            },
            Practice {
                fym: Setting::Everywhere(1.0),
                rate_factor: Setting::ByGroup([Some(0.95), None, Some(0.9)]),
                ..Default::default()
            },
            Practice {
                cover: Setting::Everywhere(cover_crops),
                added_input: Setting::Everywhere(0.2),
                ..Default::default()
            },
            Practice {
                land_use: Setting::ByPixel(1),
                ..Default::default()
            },
            Practice {
                fym: Setting::Everywhere(0.5),
                rate_factor: Setting::Everywhere(0.9),
                cover: Setting::Everywhere(cover_crops),
                adoption_years: Setting::Everywhere(5.0),
                ..Default::default()
            },
        ];
        for stepping in [false, true] {
            let mut opts = options(stepping);
            opts.scenarios = vec![[0.0; 3]; practices.len()];
            opts.practices = practices.clone();
            let flen = final_len(&opts);
            for (i, px) in pixels.iter().enumerate() {
                let mut out = PixelOutput::default();
                let mut finals = vec![f64::NAN; flen];
                let mut ws = Workspace::default();
                simulate_pixel(
                    &opts,
                    &table,
                    px,
                    &mut ws,
                    &mut out,
                    &mut finals,
                    &mut [],
                    &mut [],
                    0,
                );
                let class = px.forward_class as usize;
                let group = table.group[class];
                for r in 0..3 {
                    let chain = out.chains[r];
                    let k = MINMAX_INCREASE[r];
                    let [ft, fp] = MINMAX_CLIMATE[r];
                    let clay = [1.0, 0.9, 1.1][r];
                    let soil = Soil::new(px.clay * clay, 30.0, 1.0);
                    let climate = [
                        px.forward_temperature.map(|t| t * ft),
                        px.forward_precipitation.map(|p| p * fp),
                        *px.forward_pet,
                    ];
                    let paddy = table.paddy[class] * px.calibration.rate;
                    let w = table.input_weights[class];
                    let bau = ByHand {
                        plant: [chain.cin_mean / 12.0; 2],
                        fym: 0.0,
                        rate_factor: [paddy; 2],
                        cover: [*px.forward_cover; 2],
                        dpm_rpm: 1.44,
                        weights: [w; 2],
                        adoption_years: 0,
                    };
                    let scaled = |inc: f64, added: f64| {
                        (chain.cin_mean * (1.0 + inc * k) + added * k) / 12.0
                    };
                    // the pixel's own added input; NaN: BAU's (none)
                    let added = if values[i][0].is_nan() {
                        0.0
                    } else {
                        values[i][0]
                    };
                    let by_hand: Vec<ByHand> = vec![
                        bau,
                        ByHand {
                            plant: [
                                bau.plant[0],
                                scaled([0.1, 0.05, 0.0][group as usize], added),
                            ],
                            ..bau
                        },
                        ByHand {
                            fym: k,
                            rate_factor: [
                                paddy,
                                paddy * [1.0 - 0.05 * k, 1.0, 1.0 - 0.1 * k][group as usize],
                            ],
                            ..bau
                        },
                        ByHand {
                            plant: [bau.plant[0], scaled(0.0, 0.2)],
                            cover: [*px.forward_cover, cover_crops],
                            ..bau
                        },
                        if class == 3 {
                            bau
                        } else {
                            ByHand {
                                plant: [
                                    bau.plant[0],
                                    chain.cin_mean * (table.coef[3] / table.coef[class]) / 12.0,
                                ],
                                rate_factor: [paddy, px.calibration.rate],
                                dpm_rpm: table.dpm_rpm[3],
                                weights: [w, table.input_weights[3]],
                                ..bau
                            }
                        },
                        ByHand {
                            fym: 0.5 * k,
                            rate_factor: [paddy, paddy * (1.0 - 0.1 * k)],
                            cover: [*px.forward_cover, cover_crops],
                            adoption_years: 5,
                            ..bau
                        },
                    ];
                    for (s, h) in by_hand.iter().enumerate() {
                        let years =
                            month_by_month(&soil, climate, chain.pools_t0, chain.tsmd_t0, h, 100);
                        for (hz, y) in opts.horizons.iter().enumerate() {
                            let got = finals[crate::phases::chain::index(&opts, hz, s, r)];
                            let want = years[y - 1];
                            assert!(
                                ((got - want) / want).abs() < 1e-9,
                                "pixel {i} class {class} chain {r} scenario {s} horizon {y} \
                                 stepping {stepping}: {got} vs {want}"
                            );
                        }
                    }
                }
            }
        }
    }

    /// Total SOC after `months` months stepped from `pools`, `tsmd` with `forcing(k)`.
    fn run(
        pools: &mut Pools,
        tsmd: &mut f64,
        soil: &Soil,
        months: usize,
        forcing: &dyn Fn(usize) -> MonthForcing,
    ) {
        for k in 0..months {
            step_month(pools, tsmd, soil, &forcing(k));
        }
    }

    #[test]
    fn input_patterns_warmup_inputs_and_forward_series_equal_month_by_month_runs() {
        let area = TestArea::new(6);
        let base = area.pixels();
        let mut table = ClassTable::default();
        let pattern: [f64; 12] = std::array::from_fn(|m| (m + 1) as f64 / 78.0);
        table.set_input_pattern(2, &pattern).unwrap();
        table
            .set_input_pattern(13, &pattern.map(|v| v * 0.5 + 0.5 / 12.0))
            .unwrap();
        // warm-up inputs given per year, a forward climate series of 100 years
        let carbon: Vec<f64> = (0..20).map(|y| 2.0 + 0.1 * y as f64).collect();
        let npp: Vec<f64> = (0..20).map(|y| 4.0 + 0.3 * ((y * 7) % 5) as f64).collect();
        let (ft, fp, fe): (Vec<f64>, Vec<f64>, Vec<f64>) = (0..1200)
            .map(|k| {
                let m = (k % 12) as f64;
                let y = (k / 12) as f64;
                (
                    9.0 + 0.03 * y + 9.0 * (m * 0.52).sin(),
                    70.0 * (1.0 + 0.6 * (m * 0.7 + y).cos()),
                    50.0 + 30.0 * (m * 0.52).sin(),
                )
            })
            .fold(
                (vec![], vec![], vec![]),
                |(mut a, mut b, mut c), (x, y, z)| {
                    a.push(x);
                    b.push(y);
                    c.push(z);
                    (a, b, c)
                },
            );
        for case in 0..4 {
            let mut opts = options(false);
            if case == 3 {
                opts.forward_inputs = ForwardInputs::NppScaled;
            }
            for (i, px0) in base.iter().enumerate() {
                let mut px = *px0;
                match case {
                    0 => px.refinements.warmup_inputs = WarmupInputs::Carbon(&carbon),
                    1 => px.refinements.warmup_inputs = WarmupInputs::Npp(&npp),
                    _ => {
                        px.refinements.forward_climate =
                            Some([Series::from(&ft), Series::from(&fp), Series::from(&fe)])
                    }
                }
                let mut out = PixelOutput::default();
                let mut finals = vec![f64::NAN; final_len(&opts)];
                simulate_pixel(
                    &opts,
                    &table,
                    &px,
                    &mut Workspace::default(),
                    &mut out,
                    &mut finals,
                    &mut [],
                    &mut [],
                    0,
                );
                for r in 0..3 {
                    let chain = out.chains[r];
                    let [kt, kp] = MINMAX_CLIMATE[r];
                    let soil = Soil::new(px.clay * [1.0, 0.9, 1.1][r], 30.0, 1.0);
                    let close = |got: f64, want: f64, what: &str| {
                        assert!(
                            ((got - want) / want).abs() < 1e-9,
                            "case {case} pixel {i} chain {r} {what}: {got} vs {want}"
                        );
                    };
                    // spin-up: the equilibrium of the class's pattern repeats itself
                    let sc = px.spinup_class as usize;
                    let spin = |k: usize| MonthForcing {
                        temperature: px.spinup_temperature[k % 12] * kt,
                        precipitation: px.spinup_precipitation[k % 12] * kp,
                        evaporation: px.spinup_pet[k % 12],
                        cover: px.spinup_cover[k % 12],
                        plant_input: chain.ceq / 12.0 * table.input_weights[sc][k % 12],
                        fym_input: 0.0,
                        dpm_rpm: px.spinup_dpm_rpm,
                        rate_factor: table.paddy[sc],
                    };
                    let (mut pools, mut tsmd) = (chain.pools_spinup, chain.tsmd_spinup);
                    run(&mut pools, &mut tsmd, &soil, 12, &spin);
                    for (a, b) in pools.iter().zip(&chain.pools_spinup) {
                        close(*a, *b, "spin-up pool after a year");
                    }
                    // warm-up: each year's input by the rule of the case
                    let coef = |y: usize| table.coef[px.warmup_class[y] as usize];
                    // a given NPP's reference is the spin-up NPP of its source in every chain
                    let reference =
                        px.npp_reference[if case == 1 { 0 } else { r }] * table.coef[sc];
                    let mut inputs = Vec::new();
                    for y in 0..20 {
                        let (t, p) = (
                            px.warmup_temperature.year(y),
                            px.warmup_precipitation.year(y),
                        );
                        let miami = |y: usize| {
                            let (t, p) = (
                                px.warmup_temperature.year(y),
                                px.warmup_precipitation.year(y),
                            );
                            let t_mean = t.iter().map(|v| v * kt).sum::<f64>() / 12.0;
                            fao::miami_npp(t_mean, p.iter().map(|v| v * kp).sum())
                        };
                        let _ = (t, p);
                        let npp_of = |y: usize| if case == 1 { npp[y] } else { miami(y) } * coef(y);
                        inputs.push(match (case, y) {
                            (0, _) => carbon[y],
                            (_, 0) => chain.ceq * npp_of(0) / reference,
                            _ => inputs[y - 1] * npp_of(y) / npp_of(y - 1),
                        });
                    }
                    let warm = |k: usize| {
                        let (y, m) = (k / 12, k % 12);
                        let class = px.warmup_class[y] as usize;
                        MonthForcing {
                            temperature: px.warmup_temperature.month(k) * kt,
                            precipitation: px.warmup_precipitation.month(k) * kp,
                            evaporation: px.warmup_pet.month(k),
                            cover: px.warmup_cover[m],
                            plant_input: inputs[y] / 12.0 * table.input_weights[class][m],
                            fym_input: 0.0,
                            dpm_rpm: px.warmup_dpm_rpm[y],
                            rate_factor: table.paddy[class],
                        }
                    };
                    run(&mut pools, &mut tsmd, &soil, 240, &warm);
                    close(total(&pools), chain.soc_t0, "SOC at t0");
                    close(
                        inputs.iter().sum::<f64>() / 20.0,
                        chain.cin_mean,
                        "Cin_mean",
                    );
                    if case < 2 {
                        continue;
                    }
                    // forward: the series month by month, inputs constant or NPP-scaled
                    let warm_npp = (0..20)
                        .map(|y| {
                            let t = px.warmup_temperature.year(y);
                            let p = px.warmup_precipitation.year(y);
                            fao::miami_npp(
                                t.iter().map(|v| v * kt).sum::<f64>() / 12.0,
                                p.iter().map(|v| v * kp).sum(),
                            )
                        })
                        .sum::<f64>()
                        / 20.0;
                    let fc = px.forward_class as usize;
                    for s in 0..opts.scenarios.len() {
                        let inc = opts.scenarios[s][table.group[fc] as usize] * MINMAX_INCREASE[r];
                        let (mut fpools, mut ftsmd) = (chain.pools_t0, chain.tsmd_t0);
                        for y in 0..100 {
                            let scale = if case == 3 {
                                let t_mean =
                                    (0..12).map(|m| ft[12 * y + m] * kt).sum::<f64>() / 12.0;
                                let p_sum = (0..12).map(|m| fp[12 * y + m] * kp).sum::<f64>();
                                fao::miami_npp(t_mean, p_sum) / warm_npp
                            } else {
                                1.0
                            };
                            let fwd = |m: usize| MonthForcing {
                                temperature: ft[12 * y + m] * kt,
                                precipitation: fp[12 * y + m] * kp,
                                evaporation: fe[12 * y + m],
                                cover: px.forward_cover[m],
                                plant_input: chain.cin_mean * scale * (1.0 + inc) / 12.0
                                    * table.input_weights[fc][m],
                                fym_input: 0.0,
                                dpm_rpm: px.forward_dpm_rpm,
                                rate_factor: table.paddy[fc],
                            };
                            run(&mut fpools, &mut ftsmd, &soil, 12, &fwd);
                            for (h, years) in opts.horizons.iter().enumerate() {
                                if *years == y + 1 {
                                    let got = finals[crate::phases::chain::index(&opts, h, s, r)];
                                    close(got, total(&fpools), "final SOC");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
