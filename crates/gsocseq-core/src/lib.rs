//! Pure-Rust core of gsocseq: the Rothamsted Carbon Model (RothC-26.3) on a monthly step,
//! its rate modifiers, spin-up to equilibrium, and the phases of the FAO GSOCseq methodology.
//!
//! Units throughout: carbon pools and inputs in t C/ha (inputs per month unless said otherwise),
//! temperature in degrees C, precipitation and evaporation in mm/month, clay in %, depth in cm,
//! topsoil moisture deficit (`tsmd`) in mm (<= 0).
//!
//! The crate has no Python in it; `gsocseq-py` binds it to numpy.
#![deny(unsafe_code)]
#![warn(missing_docs)]

/// Defines `fn $name`, which runs `$body` (an `#[inline(always)]` function with the same
/// arguments) compiled for AVX-512 or AVX2 when the CPU has them (checked at run time; the
/// build stays x86-64 baseline), else as built. No fused multiply-add is ever formed (Rust
/// does not contract), so every path gives the same bits.
macro_rules! simd_dispatch {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<const $c:ident: usize>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty
        => $body:ident
    ) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<const $c: usize>($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                #[allow(clippy::too_many_arguments)]
                fn avx512<const $c: usize>($($arg: $ty),*) -> $ret {
                    $body::<$c>($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                fn avx2<const $c: usize>($($arg: $ty),*) -> $ret {
                    $body::<$c>($($arg),*)
                }
                if std::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU supports AVX-512F, checked on the line above.
                    #[allow(unsafe_code)]
                    return unsafe { avx512::<$c>($($arg),*) };
                }
                if std::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU supports AVX2, checked on the line above.
                    #[allow(unsafe_code)]
                    return unsafe { avx2::<$c>($($arg),*) };
                }
            }
            $body::<$c>($($arg),*)
        }
    };
    // The same with the body written in place (an `#[inline(always)]` function of its own).
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<const $c:ident: usize>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty
        $body:block
    ) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<const $c: usize>($($arg: $ty),*) -> $ret {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body<const $c: usize>($($arg: $ty),*) -> $ret $body
            simd_dispatch! {
                fn dispatch<const $c: usize>($($arg: $ty),*) -> $ret => body
            }
            dispatch::<$c>($($arg),*)
        }
    };
}

#[path = "input/check.rs"]
pub mod check;
#[path = "rothc/equilibrium.rs"]
pub mod equilibrium;
pub mod error;
pub mod fao;
#[path = "rothc/modifiers.rs"]
pub mod modifiers;
#[path = "rothc/pools.rs"]
pub mod pools;
#[path = "phases/chain.rs"]
pub mod scenario;
#[path = "input/series.rs"]
pub mod series;
#[path = "rothc/lanes.rs"]
pub mod solver;
#[path = "simd/transpose.rs"]
pub mod transpose;
#[path = "simd/vmath.rs"]
pub mod vmath;
#[path = "rothc/water_retention.rs"]
pub mod water_retention;

pub use error::{CoreError, Result};
pub use modifiers::{MoistureParams, Soil};
pub use pools::{Partition, Pools};
pub use solver::{MonthForcing, MonthOutcome, YearMap};
