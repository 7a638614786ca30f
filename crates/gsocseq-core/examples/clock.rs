use std::time::Instant;
fn main() {
    let xs: Vec<f64> = (0..4096).map(|i| i as f64 * 1e-3).collect();
    let mut ys = xs.clone();
    let reps = 100_000;
    let t = Instant::now();
    for r in 0..reps {
        let c = std::hint::black_box(r as f64 * 1e-9);
        for (y, x) in ys.iter_mut().zip(&xs) {
            *y = *x * 1.0001 + (*x * *x) * 0.5 + c;
        }
        std::hint::black_box(&ys);
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "{:.3} ns per element (2 mul, 2 add) {}",
        s / (reps * 4096) as f64 * 1e9,
        ys[7]
    );
}
