//! The official Rothamsted RothC example (RothC_R folder of tests/data), from the core alone.

use gsocseq_core::rothc::equilibrium::iterative;
use gsocseq_core::rothc::forcing::ForcingTable;
use gsocseq_core::rothc::lanes::{run, RunBuffers};
use gsocseq_core::rothc::modifiers::Soil;
use gsocseq_core::rothc::pools::total;
use gsocseq_core::rothc::step::MonthForcing;
use std::path::PathBuf;

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/rothamsted_example/RothC_R")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn numbers(line: &str) -> Option<Vec<f64>> {
    line.split_whitespace().map(|w| w.parse().ok()).collect()
}

#[test]
fn reproduces_official_monthly_soc() {
    let input = data("RothC_input.dat");
    let lines: Vec<&str> = input.lines().collect();
    let soil_at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("clay"))
        .unwrap();
    let soil_row = numbers(lines[soil_at + 1]).unwrap();
    let table_at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("year"))
        .unwrap();
    let rows: Vec<Vec<f64>> = lines[table_at + 1..]
        .iter()
        .filter_map(|l| numbers(l))
        .filter(|r| r.len() == 10)
        .collect();
    assert_eq!(rows.len(), 840);
    let forcing = |r: &Vec<f64>| MonthForcing {
        temperature: r[3],
        precipitation: r[4],
        evaporation: r[5],
        plant_input: r[6],
        fym_input: r[7],
        cover: if r[8] == 1.0 { 0.6 } else { 1.0 },
        dpm_rpm: r[9],
        rate_factor: 1.0,
    };
    let soil = Soil::new(soil_row[0], soil_row[1], 0.75);
    let spin = iterative(&soil, &|m| forcing(&rows[m]), soil_row[2]);
    assert_eq!(spin.count, 20916);

    let official: Vec<Vec<f64>> = data("month_results.out")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(|w| w.parse().unwrap()).collect())
        .collect();
    let mut pools = spin.pools;
    let mut tsmd = spin.tsmd;
    let mut worst: f64 = 0.0;
    run(
        &mut pools,
        &mut tsmd,
        &soil,
        &rows[12..840]
            .iter()
            .map(forcing)
            .collect::<ForcingTable>()
            .series(),
        &mut RunBuffers::default(),
        |m, p, out| {
            let soc = official[m][17];
            worst = worst.max((total(p) / soc - 1.0).abs());
            worst = worst.max((out.b / official[m][9] - 1.0).abs());
        },
    );
    assert!(worst < 1e-9, "largest relative difference {worst:e}");
}
