use gsocseq_core::modifiers::Soil;
use gsocseq_core::solver::{run_lanes_final, ForcingTable, LaneForcing, MonthForcing};
use std::hint::black_box;
use std::time::Instant;
fn bench<const LN: usize>() {
    let soil = Soil::new(23.4, 30.0, 1.0);
    let tables: Vec<ForcingTable> = (0..LN)
        .map(|l| {
            (0..240)
                .map(|k| MonthForcing {
                    temperature: -3.0 + ((k * 7 + l) % 30) as f64,
                    precipitation: ((k * 13 + l) % 200) as f64,
                    evaporation: ((k * 11 + 3 * l) % 150) as f64,
                    cover: if k % 3 == 0 { 1.0 } else { 0.6 },
                    plant_input: 0.25,
                    fym_input: 0.0,
                    dpm_rpm: 1.44,
                    rate_factor: 1.0,
                })
                .collect()
        })
        .collect();
    let series: [_; LN] = std::array::from_fn(|l| tables[l].series());
    let soils = [soil; LN];
    let mut lanes = LaneForcing::<LN>::default();
    let n = 160000 / LN;
    let t = Instant::now();
    for _ in 0..n {
        let mut pools = [[0.5, 6.0, 0.8, 30.0, 3.0]; LN];
        let mut tsmd = [0.0; LN];
        run_lanes_final(
            &mut pools,
            &mut tsmd,
            &soils,
            black_box(&series),
            &mut lanes,
        );
        black_box(pools);
    }
    println!(
        "L={LN}: {:.2} ns per pixel-month",
        t.elapsed().as_secs_f64() * 1e9 / (n * LN * 240) as f64
    );
}
fn main() {
    bench::<3>();
    bench::<4>();
    bench::<8>();
    bench::<16>();
    bench::<24>();
    bench::<32>();
}
