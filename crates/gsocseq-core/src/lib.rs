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

pub mod check;
pub mod equilibrium;
pub mod error;
pub mod fao;
pub mod modifiers;
pub mod pools;
pub mod scenario;
pub mod solver;
pub mod transpose;
pub mod vmath;

pub use error::{CoreError, Result};
pub use modifiers::{MoistureParams, Soil};
pub use pools::{Partition, Pools};
pub use solver::{MonthForcing, MonthOutcome, YearMap};
