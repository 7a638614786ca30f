//! The official RothC v2.0.0 program on its example under five sets of the dryland moisture
//! options (tests/data/rothc_v2_farina, ROTHC.md section 8): spin-up month counts exactly,
//! every printed quantity of every month to 1e-9 relative (the deficit to 1e-9 mm).

use gsocseq_core::rothc::equilibrium::{equilibrium, iterative};
use gsocseq_core::rothc::forcing::{ForcingSeries, ForcingTable};
use gsocseq_core::rothc::lanes::{run, run_lanes_final, LaneForcing, RunBuffers};
use gsocseq_core::rothc::modifiers::Soil;
use gsocseq_core::rothc::pools::{total, Pools};
use gsocseq_core::rothc::step::{step_month, MonthForcing};
use gsocseq_core::rothc::water_retention::{MoistureFunction, MoistureOptions, SoilWater};
use std::path::PathBuf;

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/rothc_v2_farina")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn numbers(line: &str) -> Option<Vec<f64>> {
    line.split_whitespace().map(|w| w.parse().ok()).collect()
}

/// The example input: the soil line (clay, depth, IOM, months, silt, bulk density, OC,
/// minRM_Moist) and the monthly rows.
struct Example {
    soil: Vec<f64>,
    months: Vec<MonthForcing>,
}

fn example() -> Example {
    let input = data("RothC_input.dat");
    let lines: Vec<&str> = input.lines().collect();
    let soil_at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("clay"))
        .unwrap();
    let soil = numbers(lines[soil_at + 1]).unwrap();
    assert_eq!(soil.len(), 8);
    let table_at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("year"))
        .unwrap();
    let months: Vec<MonthForcing> = lines[table_at + 1..]
        .iter()
        .filter_map(|l| numbers(l))
        .filter(|r| r.len() == 10)
        .map(|r| MonthForcing {
            temperature: r[3],
            precipitation: r[4],
            evaporation: r[5],
            plant_input: r[6],
            fym_input: r[7],
            cover: if r[8] == 1.0 { 0.6 } else { 1.0 },
            dpm_rpm: r[9],
            rate_factor: 1.0,
        })
        .collect();
    assert_eq!(months.len(), soil[3] as usize);
    Example { soil, months }
}

/// A row of an output file: `None` for the blank fields.
fn fields(line: &str) -> Vec<Option<f64>> {
    line.split(',')
        .map(|w| {
            let w = w.trim();
            (!w.is_empty()).then(|| w.parse().unwrap())
        })
        .collect()
}

struct Worst(f64, String);

impl Worst {
    fn relative(&mut self, what: &str, at: usize, ours: f64, official: f64) {
        let d = if official == 0.0 {
            ours.abs()
        } else {
            (ours / official - 1.0).abs()
        };
        if d > self.0 || d.is_nan() {
            *self = Worst(d, format!("{what} at row {at}: {ours} vs {official}"));
        }
    }

    fn absolute(&mut self, what: &str, at: usize, ours: f64, official: f64) {
        // the deficit is often 0: checked in mm, 1e-9 mm counting as 1e-9 relative
        let d = (ours - official).abs();
        if d > self.0 || d.is_nan() {
            *self = Worst(d, format!("{what} at row {at}: {ours} vs {official}"));
        }
    }
}

/// The soil of the official example under each option set of `options.csv`: (run name, soil).
fn option_sets(ex: &Example) -> Vec<(String, Soil)> {
    let [clay, depth, _, _, silt, bulk_density, organic_carbon, _] = ex.soil[..] else {
        unreachable!()
    };
    let water = SoilWater {
        clay,
        silt,
        bulk_density,
        organic_carbon,
    };
    data("options.csv")
        .lines()
        .skip(1)
        .map(|line| {
            let cols: Vec<&str> = line.split(',').collect();
            let (name, model, bare, min_rate) = (cols[0], cols[1], cols[2], cols[3]);
            let model = ["rothc-26.3", "farina-2", "farina-3"][model.parse::<usize>().unwrap() - 1];
            let bare = ["standard", "wilting-point"][bare.parse::<usize>().unwrap() - 1];
            let options = MoistureOptions::new(
                model.parse().unwrap(),
                bare.parse().unwrap(),
                min_rate.parse().unwrap(),
            )
            .unwrap();
            let moisture =
                MoistureFunction::new(&options, clay, depth, Some(&water), || name.into()).unwrap();
            (
                name.to_string(),
                Soil::with_moisture(clay, depth, 0.75, moisture),
            )
        })
        .collect()
}

/// Spin-up by the official rule ([`iterative`]), then the forward run by [`run`] (the lanes
/// path the raster runs and `gsocseq.rothc.run` take), every month against the official
/// output; the scalar step ([`step_month`]) gives the same bits.
#[test]
fn reproduces_the_official_v2_program_under_every_option_set() {
    let ex = example();
    let iom = ex.soil[2];
    let sets = option_sets(&ex);
    assert_eq!(sets.len(), 5);
    let forward: ForcingTable = ex.months[12..].iter().copied().collect();
    for (name, soil) in &sets {
        let rows: Vec<Vec<Option<f64>>> = data(&format!("{name}/month_results.out"))
            .lines()
            .skip(1)
            .map(fields)
            .collect();
        assert_eq!(rows.len(), 2 + ex.months.len() - 12);
        let mut worst = Worst(0.0, String::new());

        // spin-up: the first 12 months from empty pools until the year-end active carbon
        // changes by at most 1e-6 t C/ha
        let spin = iterative(soil, &|m| ex.months[m], iom);
        assert!(spin.converged);
        assert_eq!(
            Some(spin.count as f64),
            rows[1][1],
            "{name}: spin-up months"
        );
        for (i, col) in (12..17).enumerate() {
            worst.relative("spin-up pool", 1, spin.pools[i], rows[1][col].unwrap());
        }
        worst.relative("spin-up SOC", 1, total(&spin.pools), rows[1][17].unwrap());

        // forward run, months 13..
        let (mut pools, mut tsmd) = (spin.pools, spin.tsmd);
        let (mut scalar_pools, mut scalar_tsmd) = (spin.pools, spin.tsmd);
        let mut co2 = 0.0;
        let total_co2 = run(
            &mut pools,
            &mut tsmd,
            soil,
            &forward.series(),
            &mut RunBuffers::default(),
            |k, p, out| {
                co2 += out.co2;
                let row = &rows[2 + k];
                let v = |col: usize| row[col].unwrap();
                worst.relative("RM_TMP", k, out.a, v(5));
                worst.absolute("SMD_mm", k, out.tsmd, v(8));
                worst.relative("RM_Moist", k, out.b, v(9));
                for (i, col) in (12..17).enumerate() {
                    worst.relative("pool", k, p[i], v(col));
                }
                worst.relative("SOC", k, total(p), v(17));
                worst.relative("CO2", k, co2, v(18));
                let step = step_month(
                    &mut scalar_pools,
                    &mut scalar_tsmd,
                    soil,
                    &ex.months[12 + k],
                );
                assert_eq!(
                    (*p, out.b, out.tsmd),
                    (scalar_pools, step.b, step.tsmd),
                    "{k}"
                );
            },
        );
        assert_eq!(total_co2, co2);

        // the yearly file: the same December state
        let years = data(&format!("{name}/year_results.out"));
        let last: Vec<Option<f64>> = fields(years.lines().last().unwrap());
        assert_eq!((last[0], last[1]), (Some(2007.0), Some(12.0)));
        worst.relative("Dec 2007 SOC", 0, total(&pools), last[7].unwrap());
        worst.relative("Dec 2007 CO2", 0, co2, last[8].unwrap());

        assert!(worst.0 <= 1e-9, "{name}: {}", worst.1);
        eprintln!(
            "{name}: {} spin-up months, worst difference {:e} ({})",
            spin.count, worst.0, worst.1
        );
    }
}

/// The five option sets as lanes of one 16-lane kernel call (with RothC-26.3 soils of other
/// clays beside them) give the bits of each run alone; the exact periodic equilibrium is the
/// iterative spin-up's limit.
#[test]
fn option_sets_side_by_side_in_the_lanes_kernel() {
    let ex = example();
    let iom = ex.soil[2];
    let sets = option_sets(&ex);
    let forward: ForcingTable = ex.months[12..].iter().copied().collect();
    let soils: [Soil; 16] = std::array::from_fn(|l| match sets.get(l) {
        Some((_, soil)) => *soil,
        None => Soil::new(5.0 + 6.0 * l as f64, 23.0, 0.75),
    });
    let spins: Vec<_> = soils
        .iter()
        .map(|soil| iterative(soil, &|m| ex.months[m], iom))
        .collect();
    let mut pools: [Pools; 16] = std::array::from_fn(|l| spins[l].pools);
    let mut tsmd: [f64; 16] = std::array::from_fn(|l| spins[l].tsmd);
    let series: [ForcingSeries<'_>; 16] = [forward.series(); 16];
    let co2 = run_lanes_final(
        &mut pools,
        &mut tsmd,
        &soils,
        &series,
        &mut LaneForcing::default(),
    );
    for l in 0..16 {
        let (mut p, mut t) = (spins[l].pools, spins[l].tsmd);
        let c = run(
            &mut p,
            &mut t,
            &soils[l],
            &forward.series(),
            &mut RunBuffers::default(),
            |_, _, _| {},
        );
        assert_eq!((pools[l], tsmd[l], co2[l]), (p, t, c), "lane {l}");
        // the exact equilibrium of the spin-up year: within the official rule's tolerance
        let exact = equilibrium(&soils[l], &|m| ex.months[m], iom);
        assert!(exact.converged);
        assert!(
            (total(&exact.pools) - total(&spins[l].pools)).abs() < 2e-4,
            "lane {l}"
        );
        assert_eq!(exact.tsmd, spins[l].tsmd, "lane {l}");
    }
}

/// A climate of `years` years, wetter or drier (`dryness` multiplies the evaporation), bare in
/// some months, with manure in March and plant input in August.
fn climate(years: usize, dryness: f64, seed: u64) -> Vec<MonthForcing> {
    let mut state = seed;
    let mut next = move || {
        // a small linear congruential generator: enough to vary the months
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..12 * years)
        .map(|m| MonthForcing {
            temperature: -8.0 + 34.0 * next(),
            precipitation: 120.0 * next(),
            evaporation: dryness * 150.0 * next(),
            cover: if next() < 0.25 { 1.0 } else { 0.6 },
            plant_input: if m % 12 == 7 { 2.0 } else { 0.05 },
            fym_input: if m % 12 == 2 { 0.5 } else { 0.0 },
            dpm_rpm: 1.44,
            rate_factor: 1.0,
        })
        .collect()
}

/// `soil` with the moisture function `m`.
fn with(soil: &Soil, m: &MoistureFunction) -> Soil {
    Soil::with_moisture(soil.clay, soil.depth, soil.evap_coefficient, *m)
}

fn moisture_of(
    model: &str,
    bare: &str,
    min_rate: f64,
    water: &SoilWater,
    depth: f64,
) -> MoistureFunction {
    let o = MoistureOptions::new(model.parse().unwrap(), bare.parse().unwrap(), min_rate).unwrap();
    MoistureFunction::new(&o, water.clay, depth, Some(water), String::new).unwrap()
}

/// Runs `months` from `pools` with deficit 0; returns the pools, the deficit of every month
/// and the CO2 released.
fn trajectory(
    soil: &Soil,
    m: &MoistureFunction,
    months: &[MonthForcing],
) -> (Pools, Vec<f64>, f64) {
    let mut pools = [0.3, 6.0, 0.9, 35.0, 3.0];
    let (mut tsmd, mut co2) = (0.0, 0.0);
    let deficits = months
        .iter()
        .map(|f| {
            let out = step_month(&mut pools, &mut tsmd, &with(soil, m), f);
            co2 += out.co2;
            out.tsmd
        })
        .collect();
    (pools, deficits, co2)
}

/// Options 2 and 3 (any bare limit, any minimum rate) give the bits of option 1 exactly when
/// the deficit stays above the 1-bar deficit of both (then `b` = 1 in every month, and no
/// limit is reached: the limits all lie below 1 bar), e.g. a soil that never dries below
/// field capacity; as soon as it passes either 1-bar deficit they differ.
#[test]
fn van_genuchten_options_equal_rothc_26_3_while_the_soil_stays_moist() {
    let water = SoilWater {
        clay: 23.4,
        silt: 58.6,
        bulk_density: 1.27,
        organic_carbon: 0.94,
    };
    let soil = Soil::new(water.clay, 23.0, 0.75);
    let standard = moisture_of("rothc-26.3", "standard", 0.2, &water, 23.0);
    let others = [
        moisture_of("farina-2", "standard", 0.2, &water, 23.0),
        moisture_of("farina-2", "wilting-point", 0.15, &water, 23.0),
        moisture_of("farina-3", "standard", 0.1, &water, 23.0),
        moisture_of("farina-3", "wilting-point", 0.0, &water, 23.0),
    ];
    let wettest_one_bar = others
        .iter()
        .map(|m| m.one_bar)
        .fold(standard.one_bar, f64::max);
    let (mut equal, mut different) = (0, 0);
    for seed in 0..40 {
        // from always at field capacity (no evaporation) to dry
        let dryness = [0.0, 0.2, 0.4, 0.6, 1.0, 2.0][seed as usize % 6];
        let months = climate(30, dryness, seed);
        let (pools, deficits, co2) = trajectory(&soil, &standard, &months);
        let moist = deficits.iter().all(|&d| d > wettest_one_bar);
        if dryness == 0.0 {
            assert!(deficits.iter().all(|&d| d == 0.0) && moist);
        }
        for m in &others {
            let (p, d, c) = trajectory(&soil, m, &months);
            if moist {
                assert_eq!((p, &d, c), (pools, &deficits, co2), "seed {seed}");
                equal += 1;
            } else if d != deficits || p != pools {
                different += 1;
            }
        }
    }
    assert!(
        equal >= 28 && different >= 40,
        "{equal} equal, {different} different"
    );
}

/// Options 2 and 3 agree while the option-2 deficit never passes the wilting point (their
/// only difference is below it); and every month conserves carbon.
#[test]
fn farina_2_equals_farina_3_above_wilting_point_and_carbon_is_conserved() {
    let water = SoilWater {
        clay: 35.0,
        silt: 30.0,
        bulk_density: 1.4,
        organic_carbon: 1.5,
    };
    let soil = Soil::new(water.clay, 30.0, 0.75);
    let (mut equal, mut different) = (0, 0);
    for seed in 0..30 {
        let dryness = [0.3, 0.8, 1.5][seed as usize % 3];
        let months = climate(20, dryness, 100 + seed);
        let two = moisture_of("farina-2", "standard", 0.15, &water, 30.0);
        let three = moisture_of("farina-3", "standard", 0.15, &water, 30.0);
        let (p2, d2, c2) = trajectory(&soil, &two, &months);
        let (p3, d3, c3) = trajectory(&soil, &three, &months);
        if d2.iter().all(|&d| d >= two.wilting_point) {
            assert_eq!((p2, &d2, c2), (p3, &d3, c3), "seed {seed}");
            equal += 1;
        } else {
            assert!(d2.iter().any(|&d| d < two.wilting_point));
            assert!(d3.iter().all(|&d| d >= three.wilting_point));
            assert_ne!(d2, d3);
            // b is at its minimum at and below wilting point for both: the pools differ only
            // when the deeper option-2 deficit slows a later month
            different += usize::from(p2 != p3);
        }
        // mass balance month by month, for both
        for m in [&two, &three] {
            let mut pools = [0.3, 6.0, 0.9, 35.0, 3.0];
            let mut tsmd = 0.0;
            for f in &months {
                let before = total(&pools);
                let out = step_month(&mut pools, &mut tsmd, &with(&soil, m), f);
                let expected = before + f.plant_input + f.fym_input - out.co2;
                assert!((total(&pools) - expected).abs() <= 1e-12 * expected);
                assert!(out.b >= m.min_rate && out.b <= 1.0);
                assert!(out.tsmd <= 0.0 && out.tsmd >= m.covered);
            }
        }
    }
    assert!(
        equal >= 5 && different >= 5,
        "{equal} equal, {different} different"
    );
}
