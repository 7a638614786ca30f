//! The one bridge from the core's errors to Python exceptions, and the exception classes the
//! binding raises. They form the top of `gsocseq.errors` (which adds the errors of the Python
//! floors, e.g. `OutputError`): defined here because the binding raises them and must not
//! import Python modules; named `gsocseq.errors.*` so that they pickle (Dask workers) and print
//! as users import them.
//!
//! ```text
//! GsocseqError(Exception)                  exit_code = 2: every error a user fixes
//! +-- ConfigError(GsocseqError, ValueError) a configuration or option that cannot be used
//! |   +-- OptionError                       CoreError::UnknownOption, CoreError::Invalid
//! +-- InputError(GsocseqError)              bad input data (file, band, pixel, value)
//!     +-- OutOfRangeError(.., ValueError)   CoreError::OutOfRange
//!     +-- ShapeError(.., ValueError)        CoreError::Shape
//! ```
//! The core errors stay `ValueError`s, as the array API has always raised them.

use gsocseq_core::CoreError;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use pyo3::IntoPyObjectExt;

/// The exception classes of the binding, each created once per interpreter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Gsocseq,
    Config,
    Input,
    Option,
    OutOfRange,
    Shape,
}

const CLASSES: [Class; 6] = [
    Class::Gsocseq,
    Class::Config,
    Class::Input,
    Class::Option,
    Class::OutOfRange,
    Class::Shape,
];

static TYPES: [PyOnceLock<Py<PyType>>; 6] = [const { PyOnceLock::new() }; 6];

impl Class {
    fn name(self) -> &'static str {
        match self {
            Class::Gsocseq => "GsocseqError",
            Class::Config => "ConfigError",
            Class::Input => "InputError",
            Class::Option => "OptionError",
            Class::OutOfRange => "OutOfRangeError",
            Class::Shape => "ShapeError",
        }
    }

    fn doc(self) -> &'static str {
        match self {
            Class::Gsocseq => {
                "Every error a user can fix (configuration, inputs, output folder): the message \
                 names the key, file, band, pixel or folder and what was expected. The command \
                 line exits with ``exit_code`` (2)."
            }
            Class::Config => {
                "A configuration or an option that cannot be used; the message says which key \
                 and why. Also a ValueError."
            }
            Class::Input => {
                "Bad input data: the message names the file, band, pixel and what was expected."
            }
            Class::Option => "An option of the core with a value it does not know or accept.",
            Class::OutOfRange => {
                "A finite value outside the range the model accepts (``argument``, ``location``, \
                 ``value``, ``expected``). Also a ValueError."
            }
            Class::Shape => {
                "Arrays whose shapes or lengths do not agree (``argument``). Also a ValueError."
            }
        }
    }

    fn bases<'py>(self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let value_error = py.get_type::<PyValueError>();
        match self {
            Class::Gsocseq => PyTuple::new(py, [py.get_type::<PyException>()]),
            Class::Config => PyTuple::new(py, [Class::Gsocseq.get(py)?, value_error]),
            Class::Input => PyTuple::new(py, [Class::Gsocseq.get(py)?]),
            Class::Option => PyTuple::new(py, [Class::Config.get(py)?]),
            Class::OutOfRange | Class::Shape => {
                PyTuple::new(py, [Class::Input.get(py)?, value_error])
            }
        }
    }

    /// The class, created on first use: `type(name, bases, namespace)`.
    pub fn get(self, py: Python<'_>) -> PyResult<Bound<'_, PyType>> {
        let ty = TYPES[self as usize].get_or_try_init(py, || -> PyResult<_> {
            let ns = PyDict::new(py);
            ns.set_item("__module__", "gsocseq.errors")?;
            ns.set_item("__doc__", self.doc())?;
            if self == Class::Gsocseq {
                ns.set_item("exit_code", 2)?;
            }
            let made = py
                .get_type::<PyType>()
                .call1((self.name(), self.bases(py)?, ns))?;
            Ok(made.cast_into::<PyType>()?.unbind())
        })?;
        Ok(ty.bind(py).clone())
    }

    /// An exception of this class with `message` and the attributes `attrs`.
    pub fn err(self, py: Python<'_>, message: String, attrs: &[(&str, Py<PyAny>)]) -> PyErr {
        let made = self.get(py).and_then(|ty| {
            let value = ty.call1((message,))?;
            for (name, v) in attrs {
                value.setattr(*name, v)?;
            }
            Ok(PyErr::from_value(value))
        });
        made.unwrap_or_else(|e| e)
    }
}

/// Adds every class to the module (as `GsocseqError`, ...).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for class in CLASSES {
        m.add(class.name(), class.get(m.py())?)?;
    }
    Ok(())
}

/// The Python exception of a core error (the one place that maps them).
pub fn to_py(e: CoreError) -> PyErr {
    Python::attach(|py| exception(py, &e).unwrap_or_else(|failed| failed))
}

fn exception(py: Python<'_>, e: &CoreError) -> PyResult<PyErr> {
    let (class, attrs) = match e {
        CoreError::OutOfRange {
            argument,
            location,
            value,
            expected,
        } => (
            Class::OutOfRange,
            vec![
                ("argument", argument.into_py_any(py)?),
                ("location", location.into_py_any(py)?),
                ("value", value.into_py_any(py)?),
                ("expected", expected.into_py_any(py)?),
            ],
        ),
        CoreError::Shape { argument, .. } => {
            (Class::Shape, vec![("argument", argument.into_py_any(py)?)])
        }
        CoreError::UnknownOption {
            argument, value, ..
        } => (
            Class::Option,
            vec![
                ("argument", argument.into_py_any(py)?),
                ("value", value.into_py_any(py)?),
            ],
        ),
    };
    Ok(class.err(py, e.to_string(), &attrs))
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
