use gsocseq_core::vmath;
use std::time::Instant;
fn time(f: &mut dyn FnMut()) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..20 {
        let t = Instant::now();
        f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}
fn fill(buf: &mut [f64], xs: &[f64]) {
    let c = std::hint::black_box(0.0);
    for (b, x) in buf.iter_mut().zip(xs) {
        *b = *x + c;
    }
}
fn main() {
    let xs: Vec<f64> = (0..4096).map(|i| -6.0 + 0.003 * i as f64).collect();
    let reps = 500;
    let mut buf = xs.clone();
    let n = (reps * xs.len()) as f64;
    for _ in 0..3 {
        let a = time(&mut || {
            for _ in 0..reps {
                fill(&mut buf, &xs);
                vmath::exp_in_place(&mut buf);
                std::hint::black_box(&buf);
            }
        });
        let b = time(&mut || {
            for _ in 0..reps {
                fill(&mut buf, &xs);
                vmath::exp_in_place_baseline(&mut buf);
                std::hint::black_box(&buf);
            }
        });
        let c = time(&mut || {
            for _ in 0..reps {
                fill(&mut buf, &xs);
                for x in buf.iter_mut() {
                    *x = x.exp();
                }
                std::hint::black_box(&buf);
            }
        });
        let d = time(&mut || {
            for _ in 0..reps {
                fill(&mut buf, &xs);
                std::hint::black_box(&buf);
            }
        });
        let e = time(&mut || for _ in 0..reps { fill(&mut buf, &xs); run_poly(&mut buf); std::hint::black_box(&buf); });
        println!("poly5 only {:.2}", e/n*1e9);
        println!(
            "avx2 {:.2} ns, baseline {:.2} ns, libm {:.2} ns, fill only {:.2}",
            a / n * 1e9,
            b / n * 1e9,
            c / n * 1e9,
            d / n * 1e9
        );
    }
}

#[inline(always)]
fn poly(x: f64) -> f64 {
    let r = x * 0.001;
    let q = r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0)))));
    1.0 + q
}
#[target_feature(enable = "avx2")]
fn poly_loop(xs: &mut [f64]) { for x in xs.iter_mut() { *x = poly(*x); } }
pub fn run_poly(xs: &mut [f64]) { unsafe { poly_loop(xs) } }
