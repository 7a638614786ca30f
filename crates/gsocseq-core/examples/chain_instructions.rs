//! The bench's whole chain with min/max (`chain_minmax_per_pixel_batch_of_16` of
//! benches/core.rs) run `N` times on its batch of 16 pixels, for an instruction count that does
//! not depend on the machine's load: `valgrind --tool=callgrind` of `N` = 1 and `N` = 11,
//! the difference / 160 = instructions per pixel. Prints the first final stock (the bits).
//! Run: `cargo build --release -p gsocseq-core --example chain_instructions`, then
//! `valgrind --tool=callgrind target/release/examples/chain_instructions 11`.

use gsocseq_core::phases::chain::{simulate_pixels, Workspace, BATCH};
use gsocseq_core::phases::classes::ClassTable;
use gsocseq_core::phases::options::{final_len, Mode, PixelOutput};
use std::hint::black_box;

#[path = "../benches/case/mod.rs"]
mod case;
use case::{options, ChainCase};

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(1, |a| a.parse().expect("a count"));
    let mode = match args.next().as_deref() {
        Some("fao") => Mode::Fao,
        _ => Mode::Rothamsted,
    };
    let case = ChainCase::new();
    let px = case.pixel();
    let opts = options(true, false, mode);
    let table = ClassTable::default();
    let mut ws = Workspace::default();
    let mut outs = vec![PixelOutput::default(); BATCH];
    let mut finals = vec![0.0; BATCH * final_len(&opts)];
    let pixels = [px; BATCH];
    let ids = [0u64; BATCH];
    for _ in 0..n {
        simulate_pixels(
            &opts,
            &table,
            black_box(&pixels),
            &mut ws,
            &mut outs,
            &mut finals,
            &mut [],
            &mut [],
            &ids,
        );
    }
    let bits: u64 = finals
        .iter()
        .copied()
        .chain(
            outs.iter()
                .flat_map(|o| o.chains.iter().flat_map(|c| c.pools_t0)),
        )
        .fold(0xcbf2_9ce4_8422_2325u64, |h, v| {
            (h ^ v.to_bits()).wrapping_mul(0x0100_0000_01b3)
        });
    println!("{:?} {:016x}", finals[0], bits);
}
