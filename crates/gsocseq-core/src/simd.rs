//! The one CPU-feature dispatch of the core. The build stays x86-64 baseline; the hot loops are
//! compiled a second and third time for AVX2 and AVX-512 (`simd_dispatch!`) and the build the
//! CPU can run is chosen at run time ([`level`]). No fused multiply-add is ever formed (Rust
//! does not contract `a * b + c`), so every path gives the same bits; the tests compare them.
//! The explicit intrinsics of [`transpose`] (data moves only) choose their path by [`level`] too.
// The `unsafe` of this module is calling a function compiled for a CPU feature after the CPU was
// checked for it (in `level`).
#![allow(unsafe_code)]

/// The vector instructions a dispatched function uses on this CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// AVX-512 F, BW, DQ and VL (x86-64-v4: every AVX-512 CPU but the Xeon Phi).
    Avx512,
    /// AVX2 (x86-64-v3's vectors).
    Avx2,
    /// The build's baseline (SSE2 on x86-64; anything else elsewhere).
    Baseline,
}

/// The best [`Level`] of this CPU (the standard library caches the detection).
#[inline]
pub fn level() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512dq")
            && std::is_x86_feature_detected!("avx512vl")
        {
            return Level::Avx512;
        }
        if std::is_x86_feature_detected!("avx2") {
            return Level::Avx2;
        }
    }
    Level::Baseline
}

/// Defines `fn $name`, which runs `$body` (an `#[inline(always)]` function with the same
/// arguments) compiled for the [`Level`] of the CPU: `fn name[generics](args) -> ret =>
/// body[generic arguments]`, or, for one `const L: usize`, `fn name<const L: usize>(args) ->
/// ret => body` and the same with the body written in place (`{ ... }` instead of `=> body`).
macro_rules! simd_dispatch {
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident [$($gen:tt)*] ($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty
        => $body:ident [$($garg:tt)*]
    ) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        // the unsafe calls below are the dispatch (see the SAFETY notes)
        #[allow(unsafe_code)]
        $vis fn $name<$($gen)*>($($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl")]
                #[allow(clippy::too_many_arguments)]
                fn avx512<$($gen)*>($($arg: $ty),*) -> $ret {
                    $body::<$($garg)*>($($arg),*)
                }
                #[target_feature(enable = "avx2")]
                #[allow(clippy::too_many_arguments)]
                fn avx2<$($gen)*>($($arg: $ty),*) -> $ret {
                    $body::<$($garg)*>($($arg),*)
                }
                match $crate::simd::level() {
                    // SAFETY: the CPU has these features (`level` checked them).
                    $crate::simd::Level::Avx512 => return unsafe { avx512::<$($garg)*>($($arg),*) },
                    // SAFETY: as above.
                    $crate::simd::Level::Avx2 => return unsafe { avx2::<$($garg)*>($($arg),*) },
                    $crate::simd::Level::Baseline => {}
                }
            }
            $body::<$($garg)*>($($arg),*)
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis fn $name:ident<const $c:ident: usize>($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty
        => $body:ident
    ) => {
        simd_dispatch! {
            $(#[$meta])*
            $vis fn $name[const $c: usize]($($arg: $ty),*) -> $ret => $body[$c]
        }
    };
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
                fn dispatch[const $c: usize]($($arg: $ty),*) -> $ret => body[$c]
            }
            dispatch::<$c>($($arg),*)
        }
    };
}

pub mod transpose;
pub mod vmath;
