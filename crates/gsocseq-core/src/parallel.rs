//! How the drivers of many pixels spread their work: over rayon's threads (the `rayon`
//! feature, the current pool: the caller chooses its size), else on the calling thread; and the
//! scratch space each thread keeps from call to call. A driver cuts its outputs into disjoint
//! pieces first (one item a batch of pixels), so that every piece is written by one thread and
//! the numbers never depend on the threads.

use std::any::{Any, TypeId};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::CoreError;

/// Runs `work` on every item, on rayon's threads when the feature is on.
pub fn for_each<T: Send>(items: Vec<T>, work: impl Fn(T) + Sync + Send) {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        items.into_par_iter().for_each(work);
    }
    #[cfg(not(feature = "rayon"))]
    items.into_iter().for_each(work);
}

/// Threads [`for_each`] spreads its items over here (rayon's current pool; 1 without the
/// feature).
pub fn threads() -> usize {
    #[cfg(feature = "rayon")]
    return rayon::current_num_threads();
    #[cfg(not(feature = "rayon"))]
    1
}

/// Threads a call uses at most, per core of the machine: more only queue on the same cores,
/// and a mistyped count (`threads=10**6`) would spend minutes spawning them. Larger requests
/// are capped (the numbers do not depend on the thread count).
pub const MAX_THREADS_PER_CORE: usize = 4;

/// The most threads a call uses on this machine ([`MAX_THREADS_PER_CORE`] per core).
pub fn max_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()) * MAX_THREADS_PER_CORE
}

/// The rayon pool of `threads` threads (capped at [`max_threads`]), built once per size and
/// kept (a Dask worker asks for the same size block after block); None for None or 0 (the
/// global pool, all cores).
#[cfg(feature = "rayon")]
pub fn pool(
    threads: Option<usize>,
) -> Result<Option<std::sync::Arc<rayon::ThreadPool>>, CoreError> {
    use std::sync::{Arc, OnceLock};
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let n = match threads {
        None | Some(0) => return Ok(None),
        Some(n) => n.min(max_threads()),
    };
    let mut pools = POOLS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(pool) = pools.get(&n) {
        return Ok(Some(pool.clone()));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("gsocseq-{i}"))
        .build()
        .map_err(|e| CoreError::InvalidOption {
            argument: "threads",
            message: e.to_string(),
        })?;
    let pool = Arc::new(pool);
    pools.insert(n, pool.clone());
    Ok(Some(pool))
}

thread_local! {
    /// Scratch space of this thread, one value per type, kept from call to call.
    static SCRATCH: RefCell<HashMap<TypeId, Box<dyn Any>>> = RefCell::new(HashMap::new());
}

/// Runs `f` with this thread's scratch value of type `T`, kept from call to call (rayon's
/// threads outlive the calls): a fresh value for every piece of work would cost page faults as
/// large as the work itself on its first writes.
pub fn with_scratch<T: Default + 'static, R>(f: impl FnOnce(&mut T) -> R) -> R {
    let key = TypeId::of::<T>();
    let taken = SCRATCH.with_borrow_mut(|map| map.remove(&key));
    let mut value = taken.unwrap_or_else(|| Box::new(T::default()));
    let out = f(value.downcast_mut::<T>().expect("scratch of its own type"));
    SCRATCH.with_borrow_mut(|map| map.insert(key, value));
    out
}

/// The error of the lowest pixel index met in a parallel pass (the one a run on one thread
/// would meet first).
#[derive(Debug, Default)]
pub struct FirstError(Mutex<Option<(usize, CoreError)>>);

impl FirstError {
    /// Keeps `e`, the error of pixel `i`, when no pixel before it had one.
    pub fn record(&self, i: usize, e: CoreError) {
        let mut first = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if first.as_ref().is_none_or(|(j, _)| i < *j) {
            *first = Some((i, e));
        }
    }

    /// The error kept, if any.
    pub fn into_result(self) -> Result<(), CoreError> {
        match self.0.into_inner().unwrap_or_else(|p| p.into_inner()) {
            Some((_, e)) => Err(e),
            None => Ok(()),
        }
    }
}

#[cfg(all(test, feature = "rayon"))]
mod tests {
    use super::*;

    #[test]
    fn pools_are_kept_per_size_and_capped() {
        assert!(pool(None).unwrap().is_none() && pool(Some(0)).unwrap().is_none());
        let (a, b) = (
            pool(Some(2)).unwrap().unwrap(),
            pool(Some(2)).unwrap().unwrap(),
        );
        assert!(std::sync::Arc::ptr_eq(&a, &b));
        assert_eq!(a.current_num_threads(), 2);
        let most = pool(Some(usize::MAX)).unwrap().unwrap();
        assert_eq!(most.current_num_threads(), max_threads());
        assert!(max_threads() >= MAX_THREADS_PER_CORE);
    }
}
