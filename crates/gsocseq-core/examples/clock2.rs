use std::time::Instant;
fn main() {
    let xs: Vec<f64> = (0..4096).map(|i| -6.0 + 0.003 * i as f64).collect();
    let mut buf = xs.clone();
    let reps = 10000;
    for variant in 0..3 {
        let t = Instant::now();
        for _ in 0..reps {
            if variant == 1 {
                buf.copy_from_slice(&xs);
            }
            if variant == 2 {
                for (b, x) in buf.iter_mut().zip(&xs) {
                    *b = std::hint::black_box(*x);
                }
            }
            for x in buf.iter_mut() {
                *x = *x * 1.0001 + (*x * *x) * 0.5;
            }
            if variant >= 2 {
                std::hint::black_box(&buf);
            }
        }
        println!(
            "variant {variant}: {:.3} ns {}",
            t.elapsed().as_secs_f64() / (reps * 4096) as f64 * 1e9,
            buf[5]
        );
    }
}
