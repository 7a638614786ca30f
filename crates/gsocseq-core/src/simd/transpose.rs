//! Rows of lanes laid out month-major: `dst[m * stride + offset + l] = rows[l][m]`.
//!
//! The fused kernel of [`crate::rothc::lanes::run_lanes_final`] advances `L` pixels in step, one
//! vector of lanes per month, while the forcing arrives pixel-major (one row of months per
//! pixel). Left to the compiler, this copy becomes scatters or one scalar store per value and
//! costs as much as the model itself; in registers (8 x 8 tiles with AVX-512, 4 x 4 with AVX2,
//! chosen at run time) it is a few shuffles per vector. Only data moves: every path gives the
//! same values.
// The `unsafe` here is the x86 SIMD intrinsics (unaligned loads and stores within bounds
// checked on entry) and calling them after the CPU was checked for the feature.
#![allow(unsafe_code)]

/// One month of `S` quantities of `L` lanes (`self.0[quantity][lane]`), aligned to a cache
/// line so that the vector stores of [`rows_to_lanes`] never straddle two.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
pub struct LaneMonth<const L: usize, const S: usize>(pub [[f64; L]; S]);

impl<const L: usize, const S: usize> Default for LaneMonth<L, S> {
    fn default() -> Self {
        Self([[0.0; L]; S])
    }
}

/// Copies `rows[l][..months]` to quantity `quantity` of `dst[..months]`:
/// `dst[m].0[quantity][l] = rows[l][m]`.
///
/// # Panics
/// When a row is shorter than `months`, `dst` shorter than `months` or `quantity >= S`.
#[inline]
pub fn rows_to_lanes<const L: usize, const S: usize>(
    rows: &[&[f64]; L],
    months: usize,
    dst: &mut [LaneMonth<L, S>],
    quantity: usize,
) {
    assert!(quantity < S, "no such quantity");
    assert!(rows.iter().all(|r| r.len() >= months), "a row is too short");
    let dst = &mut dst[..months];
    let done = simd(rows, dst, quantity);
    for (m, out) in dst.iter_mut().enumerate().skip(done) {
        for (l, row) in rows.iter().enumerate() {
            out.0[quantity][l] = row[m];
        }
    }
}

/// Asks the CPU to bring part `part` of `parts` equal parts of `values` into its L2 cache,
/// without waiting for it. A kernel that computes on data already in cache calls it for the
/// data of its next call, a part per step, so that reading memory overlaps the arithmetic.
#[inline(always)]
pub fn prefetch_part(values: &[f64], part: usize, parts: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        const LINE: usize = 8; // f64 a 64-byte cache line
        let lines = values.len().div_ceil(LINE);
        let (from, to) = (
            lines * part / parts.max(1),
            lines * (part + 1) / parts.max(1),
        );
        for line in from..to.min(lines) {
            let at = values[line * LINE..].as_ptr();
            // SAFETY: a prefetch is a hint: it reads nothing into the program and never faults.
            unsafe {
                std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(at.cast())
            };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (values, part, parts);
}

/// Asks for the cache line holding `value` to be brought into L2 (a hint; nothing happens
/// off x86-64).
#[inline(always)]
pub fn prefetch_value<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it reads nothing into the program and never faults.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T1 }>(
            (value as *const T).cast(),
        )
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// The months the SIMD paths copied (a multiple of the tile), 0 where there is none.
#[inline(always)]
fn simd<const L: usize, const S: usize>(
    rows: &[&[f64]; L],
    dst: &mut [LaneMonth<L, S>],
    quantity: usize,
) -> usize {
    // in f64: from one month to the next, and to the quantity within a month
    let stride = std::mem::size_of::<LaneMonth<L, S>>() / 8;
    let offset = quantity * L;
    let months = dst.len();
    let out = dst.as_mut_ptr().cast::<f64>();
    #[cfg(target_arch = "x86_64")]
    {
        use super::Level;
        let level = super::level();
        let mut done = 0;
        if L.is_multiple_of(8) && level == Level::Avx512 {
            // SAFETY: the CPU has AVX-512F (`level`); every row holds `months` values and
            // `out` points to `months` months of `stride` f64 holding the quantity's lanes.
            done = unsafe { x86::tiles8(rows, months, out, stride, offset) };
        }
        if L.is_multiple_of(4) && level != Level::Baseline {
            // (the months the 8 x 8 tiles left: a year's last 4)
            // SAFETY: as above, with AVX (part of AVX2 and AVX-512).
            unsafe { x86::tiles4(rows, done, months, out, stride, offset) }
        } else {
            done
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (rows, months, out, stride, offset);
        0
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    /// 8 x 8 tiles (lanes l0..l0+8, months m..m+8); returns the months copied.
    ///
    /// # Safety
    /// The CPU has AVX-512F; every row holds `months` values; `out` holds `months` months of
    /// `stride` f64 with lanes `offset..offset + L` in each.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn tiles8<const L: usize>(
        rows: &[&[f64]; L],
        months: usize,
        out: *mut f64,
        stride: usize,
        offset: usize,
    ) -> usize {
        let full = months - months % 8;
        let pair_lo = _mm512_set_epi64(13, 12, 5, 4, 9, 8, 1, 0);
        let pair_hi = _mm512_set_epi64(15, 14, 7, 6, 11, 10, 3, 2);
        let half_lo = _mm512_set_epi64(11, 10, 9, 8, 3, 2, 1, 0);
        let half_hi = _mm512_set_epi64(15, 14, 13, 12, 7, 6, 5, 4);
        for l0 in (0..L).step_by(8) {
            let mut m = 0;
            while m < full {
                let mut r = [_mm512_setzero_pd(); 8];
                for (i, r) in r.iter_mut().enumerate() {
                    // SAFETY: m + 8 <= months <= every row's length
                    *r = unsafe { _mm512_loadu_pd(rows[l0 + i].as_ptr().add(m)) };
                }
                // t[2k]: rows 2k, 2k + 1 side by side at months 0, 2, 4, 6; t[2k + 1] at 1, 3, 5, 7
                let mut t = [_mm512_setzero_pd(); 8];
                for k in 0..4 {
                    t[2 * k] = _mm512_unpacklo_pd(r[2 * k], r[2 * k + 1]);
                    t[2 * k + 1] = _mm512_unpackhi_pd(r[2 * k], r[2 * k + 1]);
                }
                // u[4h + p]: rows 4h..4h + 4 at month p (low half) and p + 4 (high half)
                let mut u = [_mm512_setzero_pd(); 8];
                for h in 0..2 {
                    for p in 0..4 {
                        let (a, b) = (t[4 * h + p % 2], t[4 * h + 2 + p % 2]);
                        let idx = if p < 2 { pair_lo } else { pair_hi };
                        u[4 * h + p] = _mm512_permutex2var_pd(a, idx, b);
                    }
                }
                // month j: rows 0..4 from u[j % 4], rows 4..8 from u[4 + j % 4]
                for j in 0..8 {
                    let idx = if j < 4 { half_lo } else { half_hi };
                    let v = _mm512_permutex2var_pd(u[j % 4], idx, u[4 + j % 4]);
                    // SAFETY: month m + j < months, lanes l0..l0 + 8 of the quantity
                    unsafe { _mm512_storeu_pd(out.add((m + j) * stride + offset + l0), v) };
                }
                m += 8;
            }
        }
        full
    }

    /// 4 x 4 tiles (lanes l0..l0+4, months m..m+4) of the months from `from` (a multiple of
    /// 4); returns the months copied (from 0).
    ///
    /// # Safety
    /// The CPU has AVX; the rest as for [`tiles8`].
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn tiles4<const L: usize>(
        rows: &[&[f64]; L],
        from: usize,
        months: usize,
        out: *mut f64,
        stride: usize,
        offset: usize,
    ) -> usize {
        let full = months - months % 4;
        debug_assert!(from.is_multiple_of(4));
        for l0 in (0..L).step_by(4) {
            let mut m = from;
            while m < full {
                let mut r = [_mm256_setzero_pd(); 4];
                for (i, r) in r.iter_mut().enumerate() {
                    // SAFETY: m + 4 <= months <= every row's length
                    *r = unsafe { _mm256_loadu_pd(rows[l0 + i].as_ptr().add(m)) };
                }
                let t0 = _mm256_unpacklo_pd(r[0], r[1]); // r0[0] r1[0] r0[2] r1[2]
                let t1 = _mm256_unpackhi_pd(r[0], r[1]); // r0[1] r1[1] r0[3] r1[3]
                let t2 = _mm256_unpacklo_pd(r[2], r[3]);
                let t3 = _mm256_unpackhi_pd(r[2], r[3]);
                let cols = [
                    _mm256_permute2f128_pd(t0, t2, 0x20),
                    _mm256_permute2f128_pd(t1, t3, 0x20),
                    _mm256_permute2f128_pd(t0, t2, 0x31),
                    _mm256_permute2f128_pd(t1, t3, 0x31),
                ];
                for (j, v) in cols.into_iter().enumerate() {
                    // SAFETY: month m + j < months, lanes l0..l0 + 4 of the quantity
                    unsafe { _mm256_storeu_pd(out.add((m + j) * stride + offset + l0), v) };
                }
                m += 4;
            }
        }
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check<const L: usize, const S: usize>(months: usize, quantity: usize) {
        let data: Vec<Vec<f64>> = (0..L)
            .map(|l| (0..months + 3).map(|m| (1000 * l + m) as f64).collect())
            .collect();
        let rows: [&[f64]; L] = std::array::from_fn(|l| &data[l][..]);
        let mut dst = vec![LaneMonth([[-1.0; L]; S]); months + 2];
        rows_to_lanes(&rows, months, &mut dst, quantity);
        for (m, month) in dst.iter().enumerate() {
            for (q, lanes) in month.0.iter().enumerate() {
                for (l, &v) in lanes.iter().enumerate() {
                    let want = if m < months && q == quantity {
                        (1000 * l + m) as f64
                    } else {
                        -1.0
                    };
                    assert_eq!(v, want, "month {m}, quantity {q}, lane {l}");
                }
            }
        }
    }

    #[test]
    fn every_path_and_tail() {
        for months in [0, 1, 3, 4, 7, 8, 12, 17, 240] {
            check::<8, 9>(months, 2);
            check::<8, 1>(months, 0);
            check::<16, 5>(months, 3);
            check::<4, 9>(months, 8);
            check::<3, 9>(months, 1);
            check::<1, 1>(months, 0);
        }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod x86_tests {
    use super::*;

    #[test]
    fn four_by_four_tiles_of_eight_lanes() {
        // what an AVX2-only CPU runs for 8 lanes (the dispatch prefers AVX-512 where present)
        if !std::is_x86_feature_detected!("avx") {
            return;
        }
        let months = 13;
        let data: Vec<Vec<f64>> = (0..8)
            .map(|l| (0..months).map(|m| (100 * l + m) as f64).collect())
            .collect();
        let rows: [&[f64]; 8] = std::array::from_fn(|l| &data[l][..]);
        let mut dst = vec![LaneMonth::<8, 3>::default(); months];
        let stride = std::mem::size_of::<LaneMonth<8, 3>>() / 8;
        // SAFETY: AVX checked above; 13 months of 3 x 8 values, lanes of quantity 1
        let done = unsafe { x86::tiles4(&rows, 0, months, dst.as_mut_ptr().cast(), stride, 8) };
        assert_eq!(done, 12);
        for (m, month) in dst.iter().enumerate().take(done) {
            for l in 0..8 {
                assert_eq!(month.0[1][l], (100 * l + m) as f64);
                assert_eq!((month.0[0][l], month.0[2][l]), (0.0, 0.0));
            }
        }
    }
}
