//! The GSOCseq methodology (METHOD.md), one module per concept: the options and what a pixel
//! takes and gives, the class table, a chain of the phases for a batch of pixels, the spin-up,
//! warm-up and forward phases, the practice scenarios of a country (land-use change included),
//! years to the new steady state, Monte Carlo draws, the fao-v1.2 chain, and a block of pixels
//! (the batches, threads and defaults of a run).

pub mod block;
pub mod chain;
pub mod classes;
pub mod fao;
pub mod forward;
pub mod montecarlo;
pub mod options;
pub mod practices;
pub mod spinup;
pub mod steady;
pub mod warmup;

#[cfg(test)]
mod testing;
