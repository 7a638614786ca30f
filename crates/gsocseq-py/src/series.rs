//! Monthly series arguments of `simulate`: an (n, months) float64 array, or the bands of a
//! window as read (`gsocseq.inputs.WindowBands`: `raw` (months, window pixels) in the raster's
//! own type, `pixels` the flat window index of each of the n pixels, and how stored values
//! become model values). The second is read by the core where it lies.

use crate::gather::stored_nodata;
use gsocseq_core::input::series::{Conversion, Series, Values, Window};
use numpy::{PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

/// The borrowed numpy array of the stored values, in its own type.
enum Raw<'py> {
    F64(PyReadonlyArray2<'py, f64>),
    F32(PyReadonlyArray2<'py, f32>),
    I32(PyReadonlyArray2<'py, i32>),
    U32(PyReadonlyArray2<'py, u32>),
    I16(PyReadonlyArray2<'py, i16>),
    U16(PyReadonlyArray2<'py, u16>),
    I8(PyReadonlyArray2<'py, i8>),
    U8(PyReadonlyArray2<'py, u8>),
}

/// A series argument, borrowed from Python for the call.
pub struct SeriesArg<'py> {
    name: &'static str,
    raw: Raw<'py>,
    /// Window layout: the flat window index of every pixel (else pixel i is row i).
    pixels: Option<Vec<usize>>,
    conversion: Conversion,
}

/// Plain slices of a [`SeriesArg`], shared by the threads of the call.
#[derive(Clone, Copy)]
pub enum SeriesView<'a> {
    /// (n, months) float64, pixel i in row i.
    Rows { values: &'a [f64], months: usize },
    /// Bands of a window, pixel i at window pixel `pixels[i]`.
    Window {
        window: Window<'a>,
        pixels: &'a [usize],
    },
}

impl<'py> SeriesArg<'py> {
    pub fn extract(name: &'static str, obj: &Bound<'py, PyAny>) -> PyResult<Self> {
        if let Ok(a) = obj.extract::<PyReadonlyArray2<'py, f64>>() {
            return Ok(SeriesArg {
                name,
                raw: Raw::F64(a),
                pixels: None,
                conversion: Conversion::IDENTITY,
            });
        }
        let attr = |key: &str| {
            obj.getattr(key).map_err(|_| {
                PyTypeError::new_err(format!(
                    "{name}: expected an (n, months) float64 array or WindowBands, got {}",
                    obj.get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })
        };
        let raw_obj = attr("raw")?;
        let pixels: PyReadonlyArray1<'py, i64> = attr("pixels")?
            .extract()
            .map_err(|e| PyTypeError::new_err(format!("{name}.pixels: {e}")))?;
        let nodata: Option<f64> = attr("nodata")?.extract()?;
        let scale: f64 = attr("scale")?.extract()?;
        let offset: f64 = attr("offset")?.extract()?;
        let round_f32: bool = attr("round_f32")?.extract()?;
        macro_rules! raw_of {
            ($($variant:ident: $t:ty, $float:expr);*) => {{
                $(
                    if let Ok(a) = raw_obj.extract::<PyReadonlyArray2<'py, $t>>() {
                        (Raw::$variant(a), stored_nodata(nodata, |x| x as $t, $float))
                    } else
                )*
                {
                    return Err(PyTypeError::new_err(format!(
                        "{name}.raw: expected a 2-D array of a raster data type"
                    )));
                }
            }};
        }
        let (raw, nodata) = raw_of!(
            F64: f64, true; F32: f32, true; I32: i32, false; U32: u32, false;
            I16: i16, false; U16: u16, false; I8: i8, false; U8: u8, false
        );
        let arg = SeriesArg {
            name,
            raw,
            pixels: None,
            conversion: Conversion {
                scale,
                offset,
                nodata,
                round_f32,
            },
        };
        let width = arg.dims().1;
        let pix = pixels.as_array();
        let mut idx = Vec::with_capacity(pix.len());
        for &p in pix.iter() {
            if p < 0 || p as usize >= width {
                return Err(PyValueError::new_err(format!(
                    "{name}.pixels: index {p} outside the window's {width} pixels"
                )));
            }
            idx.push(p as usize);
        }
        Ok(SeriesArg {
            pixels: Some(idx),
            ..arg
        })
    }

    fn dims(&self) -> (usize, usize) {
        let d = |s: &[usize]| (s[0], s[1]);
        match &self.raw {
            Raw::F64(a) => d(a.shape()),
            Raw::F32(a) => d(a.shape()),
            Raw::I32(a) => d(a.shape()),
            Raw::U32(a) => d(a.shape()),
            Raw::I16(a) => d(a.shape()),
            Raw::U16(a) => d(a.shape()),
            Raw::I8(a) => d(a.shape()),
            Raw::U8(a) => d(a.shape()),
        }
    }

    /// Number of pixels.
    pub fn pixels(&self) -> usize {
        match &self.pixels {
            Some(p) => p.len(),
            None => self.dims().0,
        }
    }

    /// Months of every pixel.
    pub fn months(&self) -> usize {
        match &self.pixels {
            Some(_) => self.dims().0,
            None => self.dims().1,
        }
    }

    /// Checks the shape: `n` pixels of `months` months.
    pub fn expect(&self, n: usize, months: usize) -> PyResult<()> {
        if self.pixels() != n || self.months() != months {
            return Err(PyValueError::new_err(format!(
                "{}: {} pixels of {} months, expected {n} of {months}",
                self.name,
                self.pixels(),
                self.months()
            )));
        }
        Ok(())
    }

    pub fn view(&self) -> PyResult<SeriesView<'_>> {
        let name = self.name;
        let err = |_| PyValueError::new_err(format!("{name}: expected a C-contiguous array"));
        let values = match &self.raw {
            Raw::F64(a) => Values::F64(a.as_slice().map_err(err)?),
            Raw::F32(a) => Values::F32(a.as_slice().map_err(err)?),
            Raw::I32(a) => Values::I32(a.as_slice().map_err(err)?),
            Raw::U32(a) => Values::U32(a.as_slice().map_err(err)?),
            Raw::I16(a) => Values::I16(a.as_slice().map_err(err)?),
            Raw::U16(a) => Values::U16(a.as_slice().map_err(err)?),
            Raw::I8(a) => Values::I8(a.as_slice().map_err(err)?),
            Raw::U8(a) => Values::U8(a.as_slice().map_err(err)?),
        };
        let (rows, width) = self.dims();
        Ok(match (&self.pixels, values) {
            (None, Values::F64(values)) => SeriesView::Rows {
                values,
                months: width,
            },
            (Some(pixels), _) => SeriesView::Window {
                window: Window::new(values, width, rows, self.conversion)
                    .map_err(|e| PyValueError::new_err(format!("{name}: {e}")))?,
                pixels,
            },
            (None, _) => unreachable!("an (n, months) series is float64"),
        })
    }
}

impl SeriesView<'_> {
    /// Makes pixels `first..first + m` ready for [`SeriesView::pixel`]: a window's are read
    /// into `scratch` (m x months, month by month), rows are used where they are.
    pub fn load(&self, first: usize, m: usize, scratch: &mut Vec<f64>) {
        if let SeriesView::Window { window, pixels } = self {
            scratch.resize(m * window.months(), 0.0);
            window.gather(&pixels[first..first + m], scratch);
        }
    }

    /// Asks for pixels `first..first + m` (those that exist) to be brought into cache, for a
    /// later [`SeriesView::load`].
    pub fn prefetch(&self, first: usize, m: usize) {
        if let SeriesView::Window { window, pixels } = self {
            let to = (first + m).min(pixels.len());
            if first < to {
                window.prefetch(&pixels[first..to]);
            }
        }
    }

    /// The series of pixel `first + k` after [`SeriesView::load`] of `first..` into `scratch`.
    pub fn pixel<'s>(&'s self, first: usize, k: usize, scratch: &'s [f64]) -> Series<'s> {
        match self {
            SeriesView::Rows { values, months } => {
                let i = first + k;
                Series::from(&values[i * months..(i + 1) * months])
            }
            SeriesView::Window { window, .. } => {
                let months = window.months();
                Series::from(&scratch[k * months..(k + 1) * months])
            }
        }
    }
}
