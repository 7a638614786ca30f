//! The numbers of a plain site table (`gsocseq site`, docs/sites.md), read in one pass on the
//! pool's threads: lines of fields separated by one byte, every field a plain decimal number or
//! empty (nodata). Anything else (quotes, words, spaces, `NA`, a row of another length) is
//! not read here: the caller reads such a table its own, slower way, which names what is
//! wrong. A number reads as Python's `float()` reads it (both round correctly to nearest).

use std::sync::atomic::{AtomicBool, Ordering};

use ndarray::{Array2, Axis};

use crate::parallel;

/// Lines of a piece of work of [`plain_numbers`].
const PIECE_LINES: usize = 64;

/// The value of one field: a plain decimal number (digits, sign, point, exponent: `-12.5`,
/// `1e-3`), NaN when empty (nodata); None for anything else.
fn field(text: &str) -> Option<f64> {
    let plain = |b: u8| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E');
    match text {
        "" => Some(f64::NAN),
        _ if text.bytes().all(plain) => text.parse().ok(),
        _ => None,
    }
}

/// The (rows, fields - 1 when `skip`) values of the table `text`: its header line (not read),
/// then rows of `fields` fields separated by `delimiter`, each line ended by `\n` or `\r\n` (the
/// last one's end may be missing), the field `skip` (a column of names) left out. None when a
/// row has another number of fields, every field of a row is empty (a blank row) or a field is
/// not plain ([`field`]).
pub fn plain_numbers(
    text: &str,
    delimiter: u8,
    fields: usize,
    skip: Option<usize>,
) -> Option<Array2<f64>> {
    let body = text.split_once('\n').map_or("", |(_, rows)| rows);
    let body = body.strip_suffix('\n').unwrap_or(body);
    let lines: Vec<&str> = match body {
        "" => Vec::new(),
        _ => body
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect(),
    };
    let width = fields - usize::from(skip.is_some_and(|s| s < fields));
    let mut out = Array2::from_elem((lines.len(), width), f64::NAN);
    let ok = AtomicBool::new(true);
    let pieces: Vec<_> = out
        .axis_chunks_iter_mut(Axis(0), PIECE_LINES)
        .zip(lines.chunks(PIECE_LINES))
        .collect();
    parallel::for_each(pieces, |(mut rows, lines)| {
        for (mut row, line) in rows.outer_iter_mut().zip(lines) {
            let mut cells = row.iter_mut();
            let (mut count, mut blank) = (0, true);
            for (k, text) in line.split(delimiter as char).enumerate() {
                count += 1;
                blank &= text.is_empty();
                if Some(k) == skip {
                    continue;
                }
                match (cells.next(), field(text)) {
                    (Some(cell), Some(v)) => *cell = v,
                    _ => return ok.store(false, Ordering::Relaxed),
                }
            }
            if count != fields || blank {
                return ok.store(false, Ordering::Relaxed);
            }
        }
    });
    ok.into_inner().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_read_as_float_reads_them() {
        let text = "site,a,b\r\ns1,0.1,-12.5e-3\r\nx,,\r\ns3,.5,1E5\r\n";
        let v = plain_numbers(text, b',', 3, Some(0)).unwrap();
        assert_eq!(v.dim(), (3, 2));
        assert_eq!((v[[0, 0]], v[[0, 1]]), (0.1, -0.0125));
        assert!(v[[1, 0]].is_nan() && v[[1, 1]].is_nan());
        assert_eq!((v[[2, 0]], v[[2, 1]]), (0.5, 100_000.0));
        // without the site column and the last line's end; correctly rounded
        let v = plain_numbers("a;b\n1;2.2250738585072011e-308", b';', 2, None).unwrap();
        assert_eq!(v[[0, 1]], f64::from_bits(0x000F_FFFF_FFFF_FFFF)); // the largest subnormal
        let many = (0..1000)
            .map(|i| format!("{i},{}.25\n", i * 3))
            .collect::<String>();
        let v = plain_numbers(&format!("a,b\n{many}"), b',', 2, None).unwrap();
        assert_eq!((v.dim(), v[[999, 1]]), ((1000, 2), 2997.25));
        assert_eq!(plain_numbers("a,b\n", b',', 2, None).unwrap().dim(), (0, 2));
    }

    #[test]
    fn anything_not_plain_is_left_to_the_caller() {
        for row in [
            "1, 2", "1,inf", "1,NA", "1,nan", "1,1_0", "1", "1,2,3", ",", "1,\"2\"", "1,e5", "1,-",
        ] {
            let text = format!("a,b\n1,2\n{row}\n");
            assert!(plain_numbers(&text, b',', 2, None).is_none(), "{row}");
        }
    }
}
