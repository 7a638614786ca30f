use gsocseq_core::scenario::*;
fn main() {
    let month = |k: usize| -> (f64, f64, f64) {
        let t = [
            3.7, 3.1, 5.5, 7.4, 10.9, 14.4, 16.3, 16.2, 13.8, 9.5, 6.2, 4.1,
        ][k % 12]
            + (k / 12) as f64 * 0.05;
        let p = [
            52.0, 43.0, 35.0, 52.0, 65.0, 46.0, 64.0, 61.0, 59.0, 63.0, 73.0, 61.0,
        ][k % 12];
        let e = [
            7.0, 17.0, 41.0, 71.0, 104.0, 117.0, 130.0, 107.0, 62.0, 30.0, 9.0, 4.0,
        ][k % 12];
        (t, p, e)
    };
    let n = 64;
    let t: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..240).map(|k| month(k).0 + i as f64 * 0.3).collect())
        .collect();
    let p: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            (0..240)
                .map(|k| month(k).1 * (0.5 + i as f64 * 0.02))
                .collect()
        })
        .collect();
    let e: Vec<Vec<f64>> = (0..n)
        .map(|_| (0..240).map(|k| month(k).2 * 1.2).collect())
        .collect();
    let cover = [0.6; 12];
    let t12: Vec<[f64; 12]> = t.iter().map(|t| std::array::from_fn(|m| t[m])).collect();
    let p12: Vec<[f64; 12]> = p.iter().map(|p| std::array::from_fn(|m| p[m])).collect();
    let e12: Vec<[f64; 12]> = e.iter().map(|e| std::array::from_fn(|m| e[m])).collect();
    let classes = [2u8; 20];
    let dr = [1.44; 20];
    let pixels: Vec<PixelInput> = (0..n)
        .map(|i| PixelInput {
            soc: 30.0 + i as f64,
            clay: 10.0 + i as f64 * 0.7,
            soc_uncertainty: 0.2,
            clay_uncertainty: 0.1,
            spinup_cover: &cover,
            warmup_cover: &cover,
            forward_cover: &cover,
            spinup_temperature: &t12[i],
            spinup_precipitation: &p12[i],
            spinup_pet: &e12[i],
            spinup_class: 2,
            spinup_dpm_rpm: 1.44,
            warmup_temperature: &t[i],
            warmup_precipitation: &p[i],
            warmup_pet: &e[i],
            warmup_class: &classes,
            warmup_dpm_rpm: &dr,
            forward_temperature: &t12[i],
            forward_precipitation: &p12[i],
            forward_pet: &e12[i],
            forward_class: 2,
            forward_dpm_rpm: 1.44,
            npp_reference: [5.0, 4.8, 5.2],
        })
        .collect();
    let opts = Options {
        mode: Mode::Rothamsted,
        spinup: SpinupMethod::Equilibrium,
        numerical_pools: NumericalPools::SecondRun,
        horizons: vec![20],
        scenarios: vec![[0.0; 3], [0.05; 3], [0.1; 3], [0.2; 3]],
        uncertainty: true,
        fao_uncertain_scenario: 2,
        depth: 30.0,
        evap_coefficient: 1.0,
        forward_stepping: false,
        steady_state: false,
        main_horizon: 0,
        mc_samples: 0,
        mc_seed: 0,
    };
    let table = ClassTable::default();
    let mut ws = Workspace::default();
    let flen = final_len(&opts);
    let reps: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().unwrap())
        .unwrap_or(1);
    let t0 = std::time::Instant::now();
    let mut check = 0.0;
    for _ in 0..reps {
        for chunk in (0..n).step_by(BATCH) {
            let m = BATCH.min(n - chunk);
            let mut outs = vec![PixelOutput::default(); m];
            let mut finals = vec![0.0; m * flen];
            simulate_pixels(
                &opts,
                &table,
                &pixels[chunk..chunk + m],
                &mut ws,
                &mut outs,
                &mut finals,
                &mut [],
                &mut [],
                &vec![0; m],
            );
            check += finals.iter().sum::<f64>();
        }
    }
    println!(
        "{:.2} us/pixel, check {check}",
        t0.elapsed().as_secs_f64() * 1e6 / (reps * n) as f64
    );
}
