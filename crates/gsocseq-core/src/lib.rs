//! Pure-Rust core of gsocseq: the Rothamsted Carbon Model (RothC-26.3) on a monthly step and
//! every rule of the FAO GSOCseq methodology, one module per concept:
//!
//! - [`rothc`]: the model, pixel-agnostic: pools, rate modifiers, the monthly step, forcing
//!   series, runs of many months (one pixel or lanes of pixels in step), affine year maps,
//!   equilibria and the dryland moisture options;
//! - [`phases`]: the GSOCseq methodology (METHOD.md): options, the class table, a chain of
//!   spin-up, warm-up and forward phases, years to steady state, Monte Carlo, the fao-v1.2
//!   chain;
//! - [`input`]: monthly series read where they lie (raster windows in their own type), the
//!   gathering of a window's pixels with the invalid-input checks, and the accepted ranges;
//! - [`fao`]: the numerics of the FAO GSOCseq v1.2 R scripts;
//! - [`simd`]: the one CPU-feature dispatch (same bits on every CPU);
//! - [`error`]: the typed errors of every function of the core.
//!
//! Units throughout: carbon pools and inputs in t C/ha (inputs per month unless said otherwise),
//! temperature in degrees C, precipitation and evaporation in mm/month, clay in %, depth in cm,
//! topsoil moisture deficit (`tsmd`) in mm (<= 0).
//!
//! The crate has no Python in it; `gsocseq-py` binds it to numpy.
#![deny(unsafe_code)]
#![warn(missing_docs)]

#[macro_use]
pub mod simd;
#[macro_use]
pub mod error;
pub mod fao;
pub mod input;
pub mod parallel;
pub mod phases;
pub mod rothc;

pub use error::{CoreError, Result};
pub use rothc::modifiers::Soil;
pub use rothc::pools::{Partition, Pools};
pub use rothc::step::{MonthForcing, MonthOutcome};
pub use rothc::water_retention::MoistureFunction;
pub use rothc::year_map::YearMap;
