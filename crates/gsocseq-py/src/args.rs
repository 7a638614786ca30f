//! Marshalling shared by the binding's functions: numpy arrays as slices, the raster types of a
//! window's bands (one list, [`RawArray`]), and running
//! the core with the GIL released while Ctrl-C still stops it.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use gsocseq_core::input::series::{Stored, Values};
use gsocseq_core::{parallel, CoreError};
use numpy::ndarray::Dimension;
use numpy::{PyArray, PyArrayMethods, PyReadonlyArray, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyMapping;
use pyo3::PyTypeInfo;

use crate::error::to_py;

/// Named arguments from a mapping, listed once: a struct of them (`required` ones, `optional`
/// ones that may be left out) and its [`FromMapping::KEYS`] (any other key is an error).
macro_rules! from_mapping {
    ($(#[$doc:meta])* $vis:vis $name:ident { $($r:ident: $rt:ty),* $(,)? } optional { $($o:ident: $ot:ty),* $(,)? }) => {
        $(#[$doc])*
        #[derive(pyo3::FromPyObject)]
        #[pyo3(from_item_all)]
        $vis struct $name<'py> {
            $($r: $rt,)*
            $(#[pyo3(default)] $o: Option<$ot>,)*
        }

        impl<'py> $crate::args::FromMapping<'py> for $name<'py> {
            const KEYS: &'static [&'static str] = &[$(stringify!($r),)* $(stringify!($o),)*];
        }
    };
}
pub(crate) use from_mapping;

/// A struct of named arguments ([`from_mapping!`]; the block of `simulate.rs`).
pub trait FromMapping<'py>: for<'a> FromPyObject<'a, 'py, Error = PyErr> {
    /// The names it takes.
    const KEYS: &'static [&'static str];

    /// From `mapping`, whose keys must be among [`FromMapping::KEYS`] (else an exception `E`
    /// naming the key and `what` the keys are).
    fn checked<E: PyTypeInfo>(mapping: &Bound<'py, PyMapping>, what: &str) -> PyResult<Self> {
        for key in mapping.keys()? {
            let key: String = key.extract()?;
            if !Self::KEYS.contains(&key.as_str()) {
                let expected = Self::KEYS.join(", ");
                return Err(PyErr::new::<E, _>(format!(
                    "{key}: not {what} (expected {expected})"
                )));
            }
        }
        mapping.extract()
    }
}

/// The values of a numpy array as one slice in row-major order: the array's own when it is
/// C-contiguous, else a copy. (rust-numpy's `as_slice` also accepts a Fortran-ordered array,
/// whose values it would hand over column after column.)
pub fn slice<'a, T: numpy::Element + Clone, D: Dimension>(
    a: &'a PyReadonlyArray<'_, T, D>,
) -> Cow<'a, [T]> {
    match a.is_c_contiguous() {
        true => Cow::Borrowed(a.as_slice().expect("C-contiguous")),
        false => Cow::Owned(a.as_array().iter().cloned().collect()),
    }
}

/// `a` itself when it is C-contiguous, else a C-ordered copy (see [`slice`]).
pub fn c_order<'py, T: numpy::Element + Clone, D: Dimension>(
    a: PyReadonlyArray<'py, T, D>,
) -> PyReadonlyArray<'py, T, D> {
    if a.is_c_contiguous() {
        return a;
    }
    let copy = a.as_array().as_standard_layout().into_owned();
    PyArray::from_owned_array(a.py(), copy).readonly()
}

/// The raster types the core reads as stored: a window's bands as numpy holds them, one
/// variant a type (listed once, here).
macro_rules! raster_types {
    ($($variant:ident: $t:ty),* $(,)?) => {
        /// A 2-D array of a raster type, borrowed from Python for the call.
        pub enum RawArray<'py> {
            $(
                #[allow(missing_docs)]
                $variant(PyReadonlyArray2<'py, $t>),
            )*
        }

        impl<'py> RawArray<'py> {
            /// `obj` as the first raster type it is, C-contiguous (a copy when it is not); a
            /// TypeError naming `name` otherwise.
            pub fn extract(name: &str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
                $(
                    if let Ok(a) = obj.extract::<PyReadonlyArray2<'py, $t>>() {
                        return Ok(RawArray::$variant(c_order(a)));
                    }
                )*
                Err(PyTypeError::new_err(format!(
                    "{name}: expected a 2-D array of a raster data type (float64, float32, \
                     int32, uint32, int16, uint16, int8, uint8)"
                )))
            }

            /// (rows, columns).
            pub fn dim(&self) -> (usize, usize) {
                let shape = match self {
                    $(RawArray::$variant(a) => a.shape(),)*
                };
                (shape[0], shape[1])
            }

            /// The values in row-major order ([`RawArray::extract`] made them C-contiguous).
            pub fn values(&self) -> Values<'_> {
                match self {
                    $(RawArray::$variant(a) => <$t as Stored>::values(a.as_slice().expect("C-contiguous")),)*
                }
            }
        }
    };
}

raster_types!(F64: f64, F32: f32, I32: i32, U32: u32, I16: i16, U16: u16, I8: i8, U8: u8);

/// The most threads a call uses on this machine (the core's `parallel::max_threads`).
#[pyfunction]
pub fn max_threads() -> usize {
    parallel::max_threads()
}

/// How often a computation checks for Python signals (Ctrl-C, SIGTERM) while it runs.
const SIGNAL_POLL: Duration = Duration::from_millis(100);

/// Runs `work` with the GIL released on a pool of `threads` threads (None or 0: the global
/// pool, all cores) while the calling thread checks for Python signals every [`SIGNAL_POLL`].
/// When a signal handler raises (Ctrl-C's KeyboardInterrupt), `cancel` is set: the core's
/// drivers poll it between groups of pixels and skip the rest, and the call returns the
/// handler's exception within a group's time instead of when the whole work is done. An error
/// of the core goes through the bridge.
pub fn interruptible<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    work: impl FnOnce(&AtomicBool) -> Result<T, CoreError> + Send,
) -> PyResult<T> {
    let pool = parallel::pool(threads).map_err(to_py)?;
    let cancel = AtomicBool::new(false);
    let out = match &pool {
        Some(pool) => pool.in_place_scope(|scope| watch(py, scope, &cancel, work)),
        None => rayon::in_place_scope(|scope| watch(py, scope, &cancel, work)),
    }?;
    out.expect("the work returned a value or panicked")
        .map_err(to_py)
}

/// [`interruptible`] inside its rayon scope: `work` on the pool, signals checked here.
fn watch<'s, T: Send + 's>(
    py: Python<'_>,
    scope: &rayon::Scope<'s>,
    cancel: &'s AtomicBool,
    work: impl FnOnce(&AtomicBool) -> T + Send + 's,
) -> PyResult<Option<T>> {
    let (tx, mut rx) = mpsc::channel();
    scope.spawn(move |_| {
        // a receiver gone (the caller raised) only means nobody waits for the value
        let _ = tx.send(work(cancel));
    });
    let mut raised = None;
    loop {
        let (got, back) = py.detach(move || (rx.recv_timeout(SIGNAL_POLL), rx));
        rx = back;
        match got {
            Ok(value) => return raised.map_or(Ok(Some(value)), Err),
            // the work panicked: the scope re-raises the panic when it ends
            Err(RecvTimeoutError::Disconnected) => return raised.map_or(Ok(None), Err),
            Err(RecvTimeoutError::Timeout) => {
                if raised.is_none() {
                    if let Err(e) = py.check_signals() {
                        cancel.store(true, Ordering::Relaxed);
                        raised = Some(e);
                    }
                }
            }
        }
    }
}
