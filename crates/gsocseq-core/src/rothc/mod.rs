//! The Rothamsted Carbon Model (RothC-26.3), pixel-agnostic: the pools and how decomposed carbon
//! is partitioned, the rate modifiers, the monthly step, forcing series, runs over many months
//! (one pixel, or lanes of pixels in step), affine maps of months and years, equilibria, the
//! dryland moisture options of RothC v2.0.0, and runs of many pixels.

pub mod batch;
pub mod equilibrium;
pub mod forcing;
pub mod lanes;
pub mod modifiers;
pub mod pools;
pub mod step;
pub mod water_retention;
pub mod year_map;

#[cfg(test)]
mod testing;
