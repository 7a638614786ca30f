//! Criterion benches of the RothC core, per pixel: a 20-year monthly run, the exact
//! equilibrium spin-up and the official iterative spin-up.
//! Run: `cargo bench -p gsocseq-core --bench core`.

use criterion::{criterion_group, criterion_main, Criterion};
use gsocseq_core::phases::chain::{simulate_pixel, simulate_pixels, Workspace, BATCH};
use gsocseq_core::phases::classes::ClassTable;
use gsocseq_core::phases::forward::forward_closed_form;
use gsocseq_core::phases::options::{final_len, Mode, Options, PixelInput, PixelOutput};
use gsocseq_core::phases::practices::{Practice, Setting};
use gsocseq_core::rothc::equilibrium::{equilibrium, equilibrium_inputs, iterative};
use gsocseq_core::rothc::forcing::ForcingTable;
use gsocseq_core::rothc::lanes::{run, run_lanes_final, LaneForcing, RunBuffers};
use gsocseq_core::rothc::modifiers::Soil;
use std::hint::black_box;

mod case;
use case::{month, options, ChainCase};

/// The chain of a batch of 16 copies of `pixel`, as the pipeline runs them (their warm-ups in
/// the lanes of one kernel): `{name}_batch_of_16`, per 16 pixels.
fn bench_batch(
    c: &mut Criterion,
    name: &str,
    opts: &Options,
    table: &ClassTable,
    pixel: PixelInput,
) {
    let mut ws = Workspace::default();
    let mut outs = vec![PixelOutput::default(); BATCH];
    let mut finals = vec![0.0; BATCH * final_len(opts)];
    let pixels = [pixel; BATCH];
    let ids = [0u64; BATCH];
    c.bench_function(&format!("{name}_batch_of_16"), |b| {
        b.iter(|| {
            simulate_pixels(
                opts,
                table,
                black_box(&pixels),
                &mut ws,
                &mut outs,
                &mut finals,
                &mut [],
                &mut [],
                &ids,
            );
            black_box(finals[0])
        })
    });
}

fn benches(c: &mut Criterion) {
    let soil = Soil::new(23.4, 30.0, 1.0);
    let mut buffers = RunBuffers::default();
    let twenty_years: ForcingTable = (0..240).map(month).collect();
    c.bench_function("run_20_years_per_pixel", |b| {
        b.iter(|| {
            let mut pools = [0.5, 6.0, 0.8, 30.0, 3.0];
            let mut tsmd = 0.0;
            run(
                &mut pools,
                &mut tsmd,
                &soil,
                &black_box(&twenty_years).series(),
                &mut buffers,
                |_, _, _| {},
            );
            black_box(pools)
        })
    });
    // sixteen pixels in step, as `gsocseq.rothc.run` runs them; per 16 pixels
    let mut lanes = LaneForcing::<16>::default();
    let soils = [soil; 16];
    c.bench_function("run_20_years_16_pixels_in_step", |b| {
        b.iter(|| {
            let mut pools = [[0.5, 6.0, 0.8, 30.0, 3.0]; 16];
            let mut tsmd = [0.0; 16];
            let series = black_box(&twenty_years).series();
            run_lanes_final(&mut pools, &mut tsmd, &soils, &[series; 16], &mut lanes);
            black_box(pools)
        })
    });
    c.bench_function("spinup_equilibrium_per_pixel", |b| {
        b.iter(|| black_box(equilibrium(&soil, &month, black_box(3.0))))
    });
    c.bench_function("equilibrium_inputs_per_pixel", |b| {
        b.iter(|| black_box(equilibrium_inputs(&soil, &month, black_box(50.0))))
    });
    c.bench_function("warmup_year_per_pixel", |b| {
        b.iter(|| {
            let mut pools = [0.5, 6.0, 0.8, 30.0, 3.0];
            let mut tsmd = 0.0;
            let year = twenty_years.series().first_months(12);
            run(
                &mut pools,
                &mut tsmd,
                &soil,
                &year,
                &mut buffers,
                |_, _, _| {},
            );
            black_box(pools)
        })
    });
    // the whole GSOCseq chain of one pixel: spin-up, 20 warm-up years, BAU + 3 SSMs over
    // 20 years, as central, min and max chains
    let case = ChainCase::new();
    let px = case.pixel();
    let table = ClassTable::default();
    // the forward phase alone: BAU + 3 SSMs over 20 years from t0, closed form
    let forward_opts = options(false, false, Mode::Rothamsted);
    let mut forward_finals = vec![0.0; final_len(&forward_opts)];
    let year = |m: usize| month(m % 12);
    let monthly_input = |s: usize| 0.25 * [1.0, 1.05, 1.1, 1.2][s];
    c.bench_function("forward_20_years_4_scenarios_per_pixel", |b| {
        b.iter(|| {
            forward_closed_form(
                &forward_opts,
                &soil,
                &year,
                black_box(-10.0),
                [0.5, 6.0, 0.8, 30.0, 3.0],
                &monthly_input,
                0,
                &mut forward_finals,
            );
            black_box(forward_finals[0])
        })
    });
    for (name, opts) in [
        (
            "chain_central_per_pixel",
            options(false, false, Mode::Rothamsted),
        ),
        (
            "chain_minmax_per_pixel",
            options(true, false, Mode::Rothamsted),
        ),
        (
            "chain_minmax_forward_stepped_per_pixel",
            options(true, true, Mode::Rothamsted),
        ),
        (
            "chain_minmax_fao_v1_2_per_pixel",
            options(true, false, Mode::Fao),
        ),
    ] {
        // a batch of 16 pixels (as the pipeline runs them), then one pixel alone
        bench_batch(c, name, &opts, &table, px);
        let mut ws = Workspace::default();
        let mut out = PixelOutput::default();
        let mut finals = vec![0.0; final_len(&opts)];
        c.bench_function(name, |b| {
            b.iter(|| {
                simulate_pixel(
                    &opts,
                    &table,
                    &px,
                    &mut ws,
                    &mut out,
                    &mut finals,
                    &mut [],
                    &mut [],
                    0,
                );
                black_box(finals[0])
            })
        });
    }
    // stepped scenarios (METHOD.md section 10), as central, min and max chains: manure in the
    // three SSMs adopted over 5 years (5 years stepped month by month, then the closed form),
    // and a 20-year forward climate series (every scenario stepped, 240 months); the periodic
    // chain above (chain_minmax_per_pixel_batch_of_16) is their reference
    let mut adopted = options(true, false, Mode::Rothamsted);
    let manure = Practice {
        fym: Setting::Everywhere(0.5),
        adoption_years: Setting::Everywhere(5.0),
        ..Practice::default()
    };
    adopted.practices = vec![Practice::default(), manure.clone(), manure.clone(), manure];
    let series = case.forward_series_pixel();
    for (name, opts, pixel) in [
        ("chain_minmax_adopted_5_years", adopted, px),
        (
            "chain_minmax_forward_series",
            options(true, false, Mode::Rothamsted),
            series,
        ),
    ] {
        bench_batch(c, name, &opts, &table, pixel);
    }
    // the exponential of 1,024 RothC-sized arguments: vectorised (AVX2 where the CPU has it),
    // the portable loop, and the C library's exp one value at a time
    let args: Vec<f64> = (0..1024).map(|i| -6.0 + 0.0123 * i as f64).collect();
    let mut values = args.clone();
    // (refilled by a loop: on some VMs memcpy costs more than the exponentials)
    let refill = |values: &mut [f64], args: &[f64]| {
        let one = black_box(1.0);
        values.iter_mut().zip(args).for_each(|(v, a)| *v = a * one);
    };
    let mut group = c.benchmark_group("exp_1024_values");
    group.bench_function("vmath_exp_in_place", |b| {
        b.iter(|| {
            refill(&mut values, &args);
            gsocseq_core::simd::vmath::exp_in_place(&mut values);
            black_box(values[0])
        })
    });
    group.bench_function("vmath_baseline", |b| {
        b.iter(|| {
            refill(&mut values, &args);
            gsocseq_core::simd::vmath::exp_in_place_baseline(&mut values);
            black_box(values[0])
        })
    });
    group.bench_function("libm_exp", |b| {
        b.iter(|| {
            refill(&mut values, &args);
            values.iter_mut().for_each(|v| *v = v.exp());
            black_box(values[0])
        })
    });
    group.finish();
    let mut group = c.benchmark_group("slow");
    group.sample_size(10);
    group.bench_function("spinup_rothamsted_iterative_per_pixel", |b| {
        b.iter(|| black_box(iterative(&soil, &month, black_box(3.0))))
    });
    group.finish();
}

criterion_group!(core, benches);
criterion_main!(core);
