//! The PyO3 binding of `gsocseq-core` (the `gsocseq._core` extension module): it converts
//! arguments (numpy arrays in and out, no copies where the layout allows), releases the GIL
//! while the core runs, and maps the core's errors to Python exceptions in one place. Every
//! rule of the methodology is in the core; one file per Python face:
//!
//! - `rothc.rs`: the array API of RothC (`gsocseq.rothc`);
//! - `fao.rs`: the numerics of the FAO v1.2 scripts (`gsocseq.fao`);
//! - `simulate.rs`: the GSOCseq chain (`Simulator`, `SimulateResult`, `ClassTable`, the
//!   constants of the phases), used by `gsocseq.chain`;
//! - `gather.rs`: the inputs as read: gathering and checks (`gsocseq.rasters`, `gsocseq.inputs`),
//!   plausibility counts (`gsocseq.plausibility`), plain site tables (`gsocseq.site`);
//! - `args.rs`: arrays, the raster types, the GIL released on the core's thread pools, Ctrl-C;
//! - `error.rs`: the exceptions and the bridge from the core's errors.

use pyo3::prelude::*;

mod args;
mod error;
mod fao;
mod gather;
mod rothc;
mod simulate;

/// The compiled core of gsocseq.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(args::max_threads, m)?)?;
    m.add_function(wrap_pyfunction!(rothc::run, m)?)?;
    m.add_function(wrap_pyfunction!(rothc::rate_modifiers, m)?)?;
    m.add_function(wrap_pyfunction!(rothc::spinup, m)?)?;
    m.add_function(wrap_pyfunction!(rothc::equilibrium_inputs, m)?)?;
    m.add_function(wrap_pyfunction!(rothc::analytical_equilibrium, m)?)?;
    m.add_function(wrap_pyfunction!(fao::fao_xi, m)?)?;
    m.add_function(wrap_pyfunction!(fao::fao_moisture, m)?)?;
    m.add_function(wrap_pyfunction!(fao::fao_analytical_spinup, m)?)?;
    m.add_function(wrap_pyfunction!(fao::fao_euler, m)?)?;
    m.add_function(wrap_pyfunction!(fao::miami_npp, m)?)?;
    m.add_function(wrap_pyfunction!(gather::gather_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(gather::check_pixels, m)?)?;
    m.add_function(wrap_pyfunction!(gather::count_values, m)?)?;
    m.add_function(wrap_pyfunction!(gather::plain_table, m)?)?;
    m.add_function(wrap_pyfunction!(simulate::monte_carlo_draws, m)?)?;
    gather::constants(m)?;
    simulate::constants(m)?;
    error::register(m)
}
