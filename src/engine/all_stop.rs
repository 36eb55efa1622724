//! The all-threads stop: while one is on, every running thread parks at its next line.
//!
//! Callbacks ask `applies_to` without the state lock, on every LINE and PY_START. Every change
//! (`begin`, `end`) is made with the state lock held, so a thread that decided to park without the
//! lock re-checks under it (`Threads::park`): a continue may have ended the stop in between.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use dashmap::DashMap;

#[derive(Default)]
pub struct AllThreadsStop {
    active: AtomicBool,
    /// Bumped by each all-threads stop; a thread resumed alone is exempt from the stop it saw.
    epoch: AtomicU64,
    /// Threads resumed alone, by the stop (epoch) they are exempt from.
    exempt: DashMap<u64, u64>,
}

impl AllThreadsStop {
    /// Call with the state lock held.
    pub fn begin(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.active.store(true, Ordering::Release);
    }

    /// Call with the state lock held.
    pub fn end(&self) {
        self.active.store(false, Ordering::Release);
    }

    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    /// Whether thread `ident` must park for the stop in progress.
    pub fn applies_to(&self, ident: u64) -> bool {
        self.is_active() && self.exempt.get(&ident).map_or(0, |e| *e) < self.epoch.load(Ordering::Acquire)
    }

    /// `ident` was resumed alone: the stop in progress no longer applies to it.
    pub fn exempt(&self, ident: u64) {
        self.exempt.insert(ident, self.epoch.load(Ordering::Acquire));
    }

    pub fn forget(&self, ident: u64) {
        self.exempt.remove(&ident);
    }

    pub fn forget_all(&self) {
        self.exempt.clear();
    }
}
