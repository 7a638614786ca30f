//! The one bridge from the core's errors to Python exceptions, and the exception classes the
//! binding raises. They form the top of `gsocseq.errors` (which adds the errors of the Python
//! floors, e.g. `OutputError`): defined here because the binding raises them and must not
//! import Python modules; named `gsocseq.errors.*` so that they pickle (Dask workers) and print
//! as users import them.
//!
//! ```text
//! GsocseqError(Exception)                  exit_code = 2: every error a user fixes
//! +-- ConfigError(GsocseqError, ValueError) a configuration or option that cannot be used
//! |   +-- OptionError                       CoreError::UnknownOption, CoreError::InvalidOption
//! +-- InputError(GsocseqError)              bad input data (file, band, pixel, value)
//!     +-- OutOfRangeError(.., ValueError)   CoreError::OutOfRange, CoreError::NoEquilibrium
//!     +-- ShapeError(.., ValueError)        CoreError::Shape
//! ```
//! The core errors stay `ValueError`s, as the array API has always raised them.

use gsocseq_core::CoreError;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The classes: name, the class it derives from (an index here; None: Exception), whether it
/// is a ValueError too; their docs in [`DOCS`].
const CLASSES: [(&str, Option<usize>, bool); 6] = [
    ("GsocseqError", None, false),
    ("ConfigError", Some(0), true),
    ("InputError", Some(0), false),
    ("OptionError", Some(1), false),
    ("OutOfRangeError", Some(2), true),
    ("ShapeError", Some(2), true),
];
/// The doc of each of [`CLASSES`].
const DOCS: [&str; 6] = [
    "Every error a user can fix (configuration, inputs, output folder): the message names the \
     key, file, band, pixel or folder and what was expected. The command line exits with \
     ``exit_code`` (2).",
    "A configuration or option that cannot be used: the message says which and why.",
    "Bad input data: the message names the file, band, pixel and what was expected.",
    "An option value the core does not know (``value``) or accept (``argument``).",
    "A finite value outside the range the model accepts (``argument``, ``location``, \
     ``value``, ``expected``).",
    "Arrays whose shapes, lengths or indices do not agree (``argument``).",
];
const OPTION: usize = 3;
const OUT_OF_RANGE: usize = 4;
const SHAPE: usize = 5;

static TYPES: [PyOnceLock<Py<PyType>>; 6] = [const { PyOnceLock::new() }; 6];

/// Class `k` of [`CLASSES`], created on first use: `type(name, bases, namespace)`.
fn class(py: Python<'_>, k: usize) -> PyResult<Bound<'_, PyType>> {
    let ty = TYPES[k].get_or_try_init(py, || -> PyResult<_> {
        let ((name, base, value_error), doc) = (CLASSES[k], DOCS[k]);
        let mut bases = vec![match base {
            Some(b) => class(py, b)?,
            None => py.get_type::<PyException>(),
        }];
        if value_error {
            bases.push(py.get_type::<PyValueError>());
        }
        let ns = PyDict::new(py);
        ns.set_item("__module__", "gsocseq.errors")?;
        ns.set_item("__doc__", doc)?;
        if base.is_none() {
            ns.set_item("exit_code", 2)?;
        }
        let made = (py.get_type::<PyType>()).call1((name, PyTuple::new(py, bases)?, ns))?;
        Ok(made.cast_into::<PyType>()?.unbind())
    })?;
    Ok(ty.bind(py).clone())
}

/// Adds every class to the module (as `GsocseqError`, ...).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for (k, (name, ..)) in CLASSES.iter().enumerate() {
        m.add(*name, class(m.py(), k)?)?;
    }
    Ok(())
}

/// The Python exception of a core error (the one place that maps them), with the error's
/// fields as attributes.
pub fn to_py(e: CoreError) -> PyErr {
    Python::attach(|py| exception(py, &e).unwrap_or_else(|failed| failed))
}

fn exception(py: Python<'_>, e: &CoreError) -> PyResult<PyErr> {
    use CoreError as E;
    let (k, argument) = match e {
        E::OutOfRange { argument, .. } => (OUT_OF_RANGE, argument.to_string()),
        E::NoEquilibrium { .. } => (OUT_OF_RANGE, "rate".to_string()),
        E::Shape { argument, .. } => (SHAPE, argument.clone()),
        E::UnknownOption { argument, .. } | E::InvalidOption { argument, .. } => {
            (OPTION, argument.to_string())
        }
    };
    let exc = class(py, k)?.call1((e.to_string(),))?;
    exc.setattr("argument", argument)?;
    match e {
        E::OutOfRange {
            location,
            value,
            expected,
            ..
        } => {
            exc.setattr("location", location)?;
            exc.setattr("value", value)?;
            exc.setattr("expected", expected)?;
        }
        E::NoEquilibrium { location, .. } => {
            // the rate of every month, and what an equilibrium needs
            exc.setattr("location", location)?;
            exc.setattr("value", 0.0)?;
            exc.setattr("expected", "a rate above 0 in at least one month")?;
        }
        E::UnknownOption { value, .. } => exc.setattr("value", value)?,
        E::InvalidOption { .. } => exc.setattr("value", py.None())?,
        E::Shape { .. } => {}
    }
    Ok(PyErr::from_value(exc))
}

/// `?` on core results in the binding: `result.py()?`.
pub trait IntoPyResult<T> {
    /// The result with its error mapped by [`to_py`].
    fn py(self) -> PyResult<T>;
}

impl<T> IntoPyResult<T> for Result<T, CoreError> {
    fn py(self) -> PyResult<T> {
        self.map_err(to_py)
    }
}
