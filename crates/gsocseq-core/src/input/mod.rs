//! The inputs of the core as they arrive: monthly series read where they lie (a pixel's own
//! float64 values, or raster windows in their own type), the gathering of a window's pixels
//! with the invalid-input checks, and the accepted range of every quantity.

pub mod check;
pub mod distribution;
pub mod gather;
pub mod series;
pub mod table;
