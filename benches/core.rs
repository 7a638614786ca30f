//! Criterion benches of the RothC core, per pixel: a 20-year monthly run, the exact
//! equilibrium spin-up and the official iterative spin-up.
//! Run: `cargo bench -p gsocseq-core --bench core`.

use criterion::{criterion_group, criterion_main, Criterion};
use gsocseq_core::equilibrium::{equilibrium, equilibrium_inputs, iterative};
use gsocseq_core::modifiers::Soil;
use gsocseq_core::solver::{run, MonthForcing};
use std::hint::black_box;

const T: [f64; 12] = [
    3.7, 3.1, 5.5, 7.4, 10.9, 14.4, 16.3, 16.2, 13.8, 9.5, 6.2, 4.1,
];
const P: [f64; 12] = [
    52.2, 42.9, 35.2, 52.0, 64.9, 46.3, 63.5, 60.6, 58.8, 63.4, 72.5, 60.9,
];
const E: [f64; 12] = [
    6.6, 17.3, 40.7, 70.5, 103.5, 117.3, 130.1, 106.9, 61.9, 29.5, 8.8, 3.9,
];

fn month(m: usize) -> MonthForcing {
    let k = m % 12;
    MonthForcing {
        temperature: T[k] + 0.01 * (m / 12) as f64,
        precipitation: P[k],
        evaporation: E[k],
        cover: if k == 8 { 1.0 } else { 0.6 },
        plant_input: 0.25,
        fym_input: 0.0,
        dpm_rpm: 1.44,
        rate_factor: 1.0,
    }
}

fn benches(c: &mut Criterion) {
    let soil = Soil::new(23.4, 30.0, 1.0);
    c.bench_function("run_20_years_per_pixel", |b| {
        b.iter(|| {
            let mut pools = [0.5, 6.0, 0.8, 30.0, 3.0];
            let mut tsmd = 0.0;
            run(
                &mut pools,
                &mut tsmd,
                &soil,
                black_box(240),
                month,
                |_, _, _| {},
            );
            black_box(pools)
        })
    });
    c.bench_function("spinup_equilibrium_per_pixel", |b| {
        b.iter(|| black_box(equilibrium(&soil, &month, black_box(3.0))))
    });
    c.bench_function("equilibrium_inputs_per_pixel", |b| {
        b.iter(|| black_box(equilibrium_inputs(&soil, &month, black_box(50.0))))
    });
    let mut group = c.benchmark_group("slow");
    group.sample_size(10);
    group.bench_function("spinup_rothamsted_iterative_per_pixel", |b| {
        b.iter(|| black_box(iterative(&soil, &month, black_box(3.0))))
    });
    group.finish();
}

criterion_group!(core, benches);
criterion_main!(core);
