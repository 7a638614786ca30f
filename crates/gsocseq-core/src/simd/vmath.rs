//! `exp` of slices with the same bits on every CPU, vectorised where the CPU allows, and e^x - 1
//! of small x ([`expm1_small`], from which the RothC decay factors of RPM, BIO and HUM are
//! formed: [`crate::rothc::step::decay_factor_lanes`]).
//!
//! Most of a RothC month's arithmetic is its exponentials (the temperature factor and the
//! decay of the four active pools). The hot loops compute them in batches, whose loops the
//! compiler vectorises; on x86-64 CPUs with AVX2 or AVX-512
//! (detected at run time, [`crate::simd`]; the build target stays the x86-64 baseline) the same
//! code runs 4 or 8 lanes wide.
//!
//! The algorithm (Tang's table method: `exp(x) = 2^(k/128) * exp(r)`, |r| <= ln 2 / 256,
//! 128-entry table of 2^(j/128), degree-5 polynomial) uses no fused multiply-add, so every path
//! rounds identically: results do not depend on the CPU or the batch size. Accuracy: within
//! 1 ulp of the exact value for x >= -708.39 (tests check against `f64::exp`); smaller
//! results (below about 2.2e-308, subnormal numbers) are flushed to zero.
use std::hint::select_unpredictable;

/// 2^(j/128), j = 0..128, correctly rounded (bits of f64).
static TABLE: [u64; 128] = [
    0x3ff0000000000000,
    0x3ff0163da9fb3335,
    0x3ff02c9a3e778061,
    0x3ff04315e86e7f85,
    0x3ff059b0d3158574,
    0x3ff0706b29ddf6de,
    0x3ff0874518759bc8,
    0x3ff09e3ecac6f383,
    0x3ff0b5586cf9890f,
    0x3ff0cc922b7247f7,
    0x3ff0e3ec32d3d1a2,
    0x3ff0fb66affed31b,
    0x3ff11301d0125b51,
    0x3ff12abdc06c31cc,
    0x3ff1429aaea92de0,
    0x3ff15a98c8a58e51,
    0x3ff172b83c7d517b,
    0x3ff18af9388c8dea,
    0x3ff1a35beb6fcb75,
    0x3ff1bbe084045cd4,
    0x3ff1d4873168b9aa,
    0x3ff1ed5022fcd91d,
    0x3ff2063b88628cd6,
    0x3ff21f49917ddc96,
    0x3ff2387a6e756238,
    0x3ff251ce4fb2a63f,
    0x3ff26b4565e27cdd,
    0x3ff284dfe1f56381,
    0x3ff29e9df51fdee1,
    0x3ff2b87fd0dad990,
    0x3ff2d285a6e4030b,
    0x3ff2ecafa93e2f56,
    0x3ff306fe0a31b715,
    0x3ff32170fc4cd831,
    0x3ff33c08b26416ff,
    0x3ff356c55f929ff1,
    0x3ff371a7373aa9cb,
    0x3ff38cae6d05d866,
    0x3ff3a7db34e59ff7,
    0x3ff3c32dc313a8e5,
    0x3ff3dea64c123422,
    0x3ff3fa4504ac801c,
    0x3ff4160a21f72e2a,
    0x3ff431f5d950a897,
    0x3ff44e086061892d,
    0x3ff46a41ed1d0057,
    0x3ff486a2b5c13cd0,
    0x3ff4a32af0d7d3de,
    0x3ff4bfdad5362a27,
    0x3ff4dcb299fddd0d,
    0x3ff4f9b2769d2ca7,
    0x3ff516daa2cf6642,
    0x3ff5342b569d4f82,
    0x3ff551a4ca5d920f,
    0x3ff56f4736b527da,
    0x3ff58d12d497c7fd,
    0x3ff5ab07dd485429,
    0x3ff5c9268a5946b7,
    0x3ff5e76f15ad2148,
    0x3ff605e1b976dc09,
    0x3ff6247eb03a5585,
    0x3ff6434634ccc320,
    0x3ff6623882552225,
    0x3ff68155d44ca973,
    0x3ff6a09e667f3bcd,
    0x3ff6c012750bdabf,
    0x3ff6dfb23c651a2f,
    0x3ff6ff7df9519484,
    0x3ff71f75e8ec5f74,
    0x3ff73f9a48a58174,
    0x3ff75feb564267c9,
    0x3ff780694fde5d3f,
    0x3ff7a11473eb0187,
    0x3ff7c1ed0130c132,
    0x3ff7e2f336cf4e62,
    0x3ff80427543e1a12,
    0x3ff82589994cce13,
    0x3ff8471a4623c7ad,
    0x3ff868d99b4492ed,
    0x3ff88ac7d98a6699,
    0x3ff8ace5422aa0db,
    0x3ff8cf3216b5448c,
    0x3ff8f1ae99157736,
    0x3ff9145b0b91ffc6,
    0x3ff93737b0cdc5e5,
    0x3ff95a44cbc8520f,
    0x3ff97d829fde4e50,
    0x3ff9a0f170ca07ba,
    0x3ff9c49182a3f090,
    0x3ff9e86319e32323,
    0x3ffa0c667b5de565,
    0x3ffa309bec4a2d33,
    0x3ffa5503b23e255d,
    0x3ffa799e1330b358,
    0x3ffa9e6b5579fdbf,
    0x3ffac36bbfd3f37a,
    0x3ffae89f995ad3ad,
    0x3ffb0e07298db666,
    0x3ffb33a2b84f15fb,
    0x3ffb59728de5593a,
    0x3ffb7f76f2fb5e47,
    0x3ffba5b030a1064a,
    0x3ffbcc1e904bc1d2,
    0x3ffbf2c25bd71e09,
    0x3ffc199bdd85529c,
    0x3ffc40ab5fffd07a,
    0x3ffc67f12e57d14b,
    0x3ffc8f6d9406e7b5,
    0x3ffcb720dcef9069,
    0x3ffcdf0b555dc3fa,
    0x3ffd072d4a07897c,
    0x3ffd2f87080d89f2,
    0x3ffd5818dcfba487,
    0x3ffd80e316c98398,
    0x3ffda9e603db3285,
    0x3ffdd321f301b460,
    0x3ffdfc97337b9b5f,
    0x3ffe264614f5a129,
    0x3ffe502ee78b3ff6,
    0x3ffe7a51fbc74c83,
    0x3ffea4afa2a490da,
    0x3ffecf482d8e67f1,
    0x3ffefa1bee615a27,
    0x3fff252b376bba97,
    0x3fff50765b6e4540,
    0x3fff7bfdad9cbe14,
    0x3fffa7c1819e90d8,
    0x3fffd3c22b8f71f1,
];

const SHIFT: f64 = 6755399441055744.0; // 1.5 * 2^52: adding it rounds to an integer
const INV_LN2_N: f64 = 184.6649652337873; // 128 / ln 2
const LN2_N_HI: f64 = 0.00541521234481479; // ln 2 / 128, high 31 bits (k * hi exact)
const LN2_N_LO: f64 = 3.309782317038503e-12; // ln 2 / 128 - hi
const OVERFLOW: f64 = 709.782712893384; // ln(f64::MAX)
const LOWEST: f64 = -708.39; // just above ln(f64::MIN_POSITIVE): below, results flush to 0

/// e^x within 1 ulp for x >= -708.39; 0 below (results under about 2.2e-308, subnormal numbers,
/// are flushed to zero),
/// +inf above ln(f64::MAX), NaN for NaN.
#[inline(always)]
pub fn exp(x: f64) -> f64 {
    // Clamped so that the scale below stays a normal number; the ends are mended after.
    let xc = select_unpredictable(x > OVERFLOW, OVERFLOW, x);
    let xc = select_unpredictable(xc < LOWEST, LOWEST, xc);
    let y = exp_in_range(xc);
    // Selects, not branches: the loops over slices stay vectorised.
    let y = select_unpredictable(x < LOWEST, 0.0, y);
    let y = select_unpredictable(x > OVERFLOW, f64::INFINITY, y);
    // (x + x, not x: the loops would store only the non-NaN lanes, slowly on some CPUs)
    select_unpredictable(x.is_nan(), x + x, y)
}

/// [`exp`] of a decay factor's exponent, x <= 0: the same bits for every x <= ln(f64::MAX),
/// -inf included, and NaN for NaN, in fewer operations (no overflow to handle); larger x
/// give unspecified (but never undefined) results.
#[inline(always)]
pub fn exp_decay(x: f64) -> f64 {
    let low = x < LOWEST;
    let y = exp_in_range(select_unpredictable(low, LOWEST, x));
    let y = select_unpredictable(low, 0.0, y);
    select_unpredictable(x.is_nan(), x + x, y)
}

/// [`exp`] of -708.39 <= x <= ln(f64::MAX), the same bits, without the range handling; other
/// values give unspecified (but never undefined) results.
#[inline(always)]
pub fn exp_in_range(x: f64) -> f64 {
    let kd = x * INV_LN2_N + SHIFT;
    let k_bits = kd.to_bits(); // the low 19 bits hold k = round(x 128 / ln 2), two's complement
    let kf = kd - SHIFT;
    let r = (x - kf * LN2_N_HI) - kf * LN2_N_LO;
    // exp(r) - 1 to degree 5 (Taylor; the remainder is below 1e-18 for |r| <= ln 2 / 256)
    let q = r * (1.0 + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0)))));
    let t = f64::from_bits(TABLE[(k_bits & 127) as usize]);
    // times 2^(k >> 7): added to the exponent field
    f64::from_bits((t + t * q).to_bits().wrapping_add((k_bits & !127) << 45))
}

/// Largest |x| for which [`expm1_small`] is accurate: the first term left out, x^9 / 9!, is
/// below 1e-19 |x| there.
pub const EXPM1_SMALL_LIMIT: f64 = 0.02;

/// e^x - 1 for |x| <= [`EXPM1_SMALL_LIMIT`], within about 1 ulp of the exact value (Taylor to
/// degree 8, the last rounding on the sum x + x^2 q); larger |x| give inaccurate (but never
/// undefined) results. No table and no range reduction: a short polynomial of one vector.
#[inline(always)]
pub fn expm1_small(x: f64) -> f64 {
    let q = 1.0 / 2.0
        + x * (1.0 / 6.0
            + x * (1.0 / 24.0
                + x * (1.0 / 120.0
                    + x * (1.0 / 720.0 + x * (1.0 / 5040.0 + x * (1.0 / 40320.0))))));
    x + (x * x) * q
}

#[inline(always)]
fn exp_loop(xs: &mut [f64]) {
    for x in xs.iter_mut() {
        *x = exp(*x);
    }
}

simd_dispatch! {
    /// Replaces every value of `xs` by its exponential ([`exp`], same bits), 4 or 8 lanes at a
    /// time where the CPU has AVX2 or AVX-512 ([`crate::simd`]).
    pub fn exp_in_place[](xs: &mut [f64]) -> () => exp_loop[]
}

/// The portable loop of [`exp_in_place`] (no AVX2), for tests and benchmarks.
pub fn exp_in_place_baseline(xs: &mut [f64]) {
    exp_loop(xs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ulps(a: f64, b: f64) -> u64 {
        (a.to_bits() as i64 - b.to_bits() as i64).unsigned_abs()
    }

    #[test]
    fn table_is_two_to_the_j_over_128() {
        for (j, &bits) in TABLE.iter().enumerate() {
            let want = (j as f64 / 128.0).exp2();
            assert!(ulps(f64::from_bits(bits), want) <= 1, "entry {j}");
        }
    }

    #[test]
    fn within_one_ulp_of_libm() {
        // a deterministic sweep over the RothC range and the whole double range
        let mut worst = 0;
        let mut x = LOWEST;
        while x < 709.78 {
            worst = worst.max(ulps(exp(x), x.exp()));
            x += 0.0123456789;
        }
        let mut x = -12.0;
        while x < 12.0 {
            worst = worst.max(ulps(exp(x), x.exp()));
            x += 1.0e-5 * std::f64::consts::PI;
        }
        assert!(worst <= 1, "worst {worst} ulp");
    }

    #[test]
    fn special_values() {
        assert_eq!(exp(0.0), 1.0);
        assert_eq!(exp(-0.0), 1.0);
        assert!(exp(f64::NAN).is_nan());
        assert_eq!(exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp(710.0), f64::INFINITY);
        assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        assert_eq!(exp(-746.0), 0.0);
        assert_eq!(exp(-708.5), 0.0);
        assert_eq!(exp(-708.3901), 0.0);
        assert!(exp(LOWEST) >= f64::MIN_POSITIVE);
        assert_eq!(ulps(exp(LOWEST), LOWEST.exp()), 0);
        assert!(exp(OVERFLOW) < f64::INFINITY);
        assert!(ulps(exp(OVERFLOW), OVERFLOW.exp()) <= 1);
        assert_eq!(exp(f64::from_bits(OVERFLOW.to_bits() + 1)), f64::INFINITY);
        let payload = f64::from_bits(0x7ff8_0000_0007_ffff);
        assert!(exp(payload).is_nan() && exp(-payload).is_nan());
        assert_eq!(exp(1.0), std::f64::consts::E);
    }

    #[test]
    fn restricted_forms_equal_exp() {
        let mut x = -800.0;
        while x <= 0.0 {
            assert_eq!(exp_decay(x).to_bits(), exp(x).to_bits(), "{x}");
            if x >= LOWEST {
                assert_eq!(exp_in_range(x).to_bits(), exp(x).to_bits(), "{x}");
            }
            x += 0.0173;
        }
        let mut x = 0.0;
        while x <= OVERFLOW {
            assert_eq!(exp_in_range(x).to_bits(), exp(x).to_bits(), "{x}");
            x += 0.0173;
        }
        for x in [
            0.0,
            -0.0,
            LOWEST,
            f64::NEG_INFINITY,
            -1e300,
            f64::MIN,
            -745.2,
            -708.5,
        ] {
            assert_eq!(exp_decay(x).to_bits(), exp(x).to_bits(), "{x}");
        }
        assert!(exp_decay(f64::NAN).is_nan());
    }

    #[test]
    fn expm1_small_within_an_ulp() {
        // against libm's expm1 (within an ulp itself) over the whole range
        let mut worst = 0;
        let mut x = -EXPM1_SMALL_LIMIT;
        while x <= EXPM1_SMALL_LIMIT {
            worst = worst.max(ulps(expm1_small(x), x.exp_m1()));
            x += 1.0e-6 * std::f64::consts::E;
        }
        assert!(worst <= 1, "worst {worst} ulp");
        assert_eq!(expm1_small(0.0).to_bits(), 0.0f64.to_bits());
        assert!(expm1_small(f64::NAN).is_nan());
    }

    #[test]
    fn every_path_gives_the_same_bits() {
        let mut xs: Vec<f64> = (0..10_007).map(|i| -30.0 + 0.00573 * i as f64).collect();
        xs.extend([
            0.0,
            -0.0,
            f64::NAN,
            -f64::NAN,
            f64::from_bits(0x7ff0_0000_0000_0001), // signalling NaN
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            OVERFLOW,
            f64::from_bits(OVERFLOW.to_bits() + 1),
            LOWEST,
            f64::from_bits(LOWEST.to_bits() + 1),
            -745.2,
            700.0,
            -700.0,
        ]);
        let mut a = xs.clone();
        let mut b = xs.clone();
        exp_in_place(&mut a);
        exp_in_place_baseline(&mut b);
        for (i, &x) in xs.iter().enumerate() {
            assert_eq!(a[i].to_bits(), exp(x).to_bits());
            assert_eq!(b[i].to_bits(), exp(x).to_bits());
        }
    }
}
