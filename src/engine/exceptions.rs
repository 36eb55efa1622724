//! Exception breakpoints: the `raised`, `uncaught` and `userUnhandled` filters, their conditions,
//! and `exceptionOptions`.
//!
//! A condition names exception types: `ValueError, KeyError` stops only on those (or their
//! subclasses); `not StopIteration, GeneratorExit` stops on everything else. Names match a type's
//! `__qualname__` or `module.qualname`, anywhere in its MRO.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::LocalKey;

use dashmap::DashMap;
use pyo3::prelude::*;
use rustc_hash::FxBuildHasher;

use super::files::Origin;
use super::threads::{ParkedIn, StopReason};
use super::Engine;
use crate::python_errors::exception_text;

/// Which exception types a filter applies to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TypeMatcher {
    names: Vec<String>,
    negated: bool,
}

impl TypeMatcher {
    pub fn parse(condition: &str) -> Result<Self, String> {
        let text = condition.trim();
        let (negated, list) = match text.strip_prefix("not ") {
            Some(rest) => (true, rest),
            None if text == "not" => (true, ""),
            None => (false, text),
        };
        let names: Vec<String> = list.split(',').map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect();
        if names.is_empty() && !text.is_empty() {
            return Err(format!("invalid exception condition {condition:?}: name exception types, e.g. \"ValueError, KeyError\" or \"not StopIteration\""));
        }
        if let Some(bad) = names.iter().find(|n| !n.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.')) {
            return Err(format!("invalid exception condition {condition:?}: {bad:?} is not a type name"));
        }
        Ok(TypeMatcher { names, negated })
    }

    /// True if the matcher names any of `type_names` (the exception's MRO, both plain and
    /// module-qualified names).
    pub fn matches(&self, type_names: &[String]) -> bool {
        if self.names.is_empty() {
            return true;
        }
        let named = self.names.iter().any(|n| type_names.iter().any(|t| t == n));
        named != self.negated
    }

    /// Whether the condition names this type explicitly (so internal plumbing exceptions count).
    pub fn names_any(&self, type_names: &[String]) -> bool {
        !self.negated && self.names.iter().any(|n| type_names.iter().any(|t| t == n))
    }
}

/// How a stop on an exception came about, as DAP's `breakMode` says it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BreakMode {
    Always,
    Unhandled,
    UserUnhandled,
}

impl BreakMode {
    pub fn dap_name(self) -> &'static str {
        match self {
            BreakMode::Always => "always",
            BreakMode::Unhandled => "unhandled",
            BreakMode::UserUnhandled => "userUnhandled",
        }
    }
}

/// One `exceptionOptions` entry: a break mode for the exception types it names.
#[derive(Debug, Clone, PartialEq)]
pub struct ExceptionOption {
    /// The last path segment's names; empty means every exception (the root).
    pub names: Vec<String>,
    pub negate: bool,
    /// None is `never`.
    pub mode: Option<BreakMode>,
}

#[derive(Debug, Clone, Default)]
pub struct ExceptionFilters {
    pub raised: Option<TypeMatcher>,
    pub uncaught: Option<TypeMatcher>,
    pub user_unhandled: Option<TypeMatcher>,
    pub options: Vec<ExceptionOption>,
}

/// Exceptions that are plumbing, not errors: never stopped on under `raised` unless named.
const PLUMBING: &[&str] =
    &["StopIteration", "StopAsyncIteration", "GeneratorExit", "asyncio.exceptions.CancelledError"];

impl ExceptionFilters {
    pub fn uncaught_only() -> Self {
        ExceptionFilters { uncaught: Some(TypeMatcher::default()), ..Default::default() }
    }

    /// The most specific `exceptionOptions` entry for these type names, if any applies.
    fn option_for(&self, type_names: &[String]) -> Option<&ExceptionOption> {
        let specific = self
            .options
            .iter()
            .find(|o| !o.names.is_empty() && o.names.iter().any(|n| type_names.contains(n)) != o.negate);
        specific.or_else(|| self.options.iter().find(|o| o.names.is_empty()))
    }

    pub fn wants_raise_events(&self) -> bool {
        self.raised.is_some() || self.options.iter().any(|o| o.mode == Some(BreakMode::Always))
    }

    pub fn wants_unwind_events(&self) -> bool {
        self.user_unhandled.is_some() || self.options.iter().any(|o| o.mode == Some(BreakMode::UserUnhandled))
    }

    /// Whether an exception of these types stops when raised.
    pub fn stops_when_raised(&self, type_names: &[String]) -> bool {
        if let Some(option) = self.option_for(type_names) {
            return option.mode == Some(BreakMode::Always);
        }
        let Some(matcher) = &self.raised else { return false };
        let plumbing = type_names.iter().any(|t| PLUMBING.contains(&t.as_str()));
        matcher.matches(type_names) && (!plumbing || matcher.names_any(type_names))
    }

    pub fn stops_when_uncaught(&self, type_names: &[String]) -> bool {
        if let Some(option) = self.option_for(type_names) {
            return option.mode.is_some();
        }
        let any = |m: &Option<TypeMatcher>| m.as_ref().is_some_and(|m| m.matches(type_names));
        any(&self.uncaught) || any(&self.user_unhandled)
    }

    pub fn stops_when_leaving_user_code(&self, type_names: &[String]) -> bool {
        if let Some(option) = self.option_for(type_names) {
            return option.mode == Some(BreakMode::UserUnhandled);
        }
        self.user_unhandled.as_ref().is_some_and(|m| m.matches(type_names))
    }
}

/// An exception type's names for matching: `qualname` and `module.qualname` of each class in
/// its MRO (builtins only by their plain name).
pub fn type_names(exception: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let mut names = Vec::new();
    for class in exception.get_type().getattr("__mro__")?.try_iter()? {
        let class = class?;
        let qualname: String = class.getattr("__qualname__")?.extract()?;
        let module: String = class.getattr("__module__")?.extract().unwrap_or_default();
        if module != "builtins" && !module.is_empty() {
            names.push(format!("{module}.{qualname}"));
        }
        names.push(qualname);
    }
    Ok(names)
}

/// Whether `raised` can stop on an exception type, remembered by type for the filters in force.
/// RAISE fires in every frame an exception crosses, and in most programs no raised type stops:
/// the answer comes from here without the state lock. A change of filters starts a new
/// generation; an answer from an older one is worked out again.
#[derive(Default)]
pub struct RaiseVerdicts {
    generation: AtomicU64,
    /// By type address: the type (held, so the address stays its own), the generation, and
    /// whether it stops.
    by_type: DashMap<usize, (Py<PyAny>, u64, bool), FxBuildHasher>,
    /// The latest answers, one word each (see `pack_verdict`), read with plain atomic loads: the
    /// table's shard lock was a tenth of the RAISE callback's cost.
    recent: RecentVerdicts,
}

const RECENT_SLOTS: usize = 64;
/// Type addresses fit in 48 bits on the 64-bit systems CPython runs on; the rest of the word holds
/// 15 bits of generation and the verdict.
const ADDRESS_BITS: u32 = 48;

struct RecentVerdicts([AtomicU64; RECENT_SLOTS]);

impl Default for RecentVerdicts {
    fn default() -> Self {
        RecentVerdicts(std::array::from_fn(|_| AtomicU64::new(0)))
    }
}

/// One word for (type address, generation, verdict), or None for an address too wide to pack.
fn pack_verdict(ty: usize, generation: u64, verdict: bool) -> Option<u64> {
    let ty = ty as u64;
    (ty >> ADDRESS_BITS == 0).then(|| ty << (64 - ADDRESS_BITS) | (generation & 0x7fff) << 1 | u64::from(verdict))
}

fn recent_slot(ty: usize) -> usize {
    (ty >> 4) % RECENT_SLOTS
}

impl RaiseVerdicts {
    /// The verdict for a type address, from the recent answers only: no lock, no Python.
    pub(crate) fn recent(&self, ty: usize) -> Option<bool> {
        let generation = self.generation.load(Ordering::Acquire);
        let word = self.recent.0[recent_slot(ty)].load(Ordering::Acquire);
        [false, true].into_iter().find(|&verdict| pack_verdict(ty, generation, verdict) == Some(word))
    }

    fn get(&self, ty: usize, generation: u64) -> Option<bool> {
        let verdict = self.by_type.get(&ty).filter(|entry| entry.1 == generation).map(|entry| entry.2)?;
        self.remember_recent(ty, generation, verdict);
        Some(verdict)
    }

    fn insert(&self, ty: Bound<'_, PyAny>, generation: u64, verdict: bool) {
        let key = ty.as_ptr() as usize;
        self.by_type.insert(key, (ty.unbind(), generation, verdict));
        self.remember_recent(key, generation, verdict);
    }

    fn remember_recent(&self, ty: usize, generation: u64, verdict: bool) {
        if let Some(word) = pack_verdict(ty, generation, verdict) {
            self.recent.0[recent_slot(ty)].store(word, Ordering::Release);
        }
    }

    /// Call with the state lock held, after changing the filters. The recent answers are
    /// cleared too, so that a generation number reused after 2^15 changes finds nothing stale.
    fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        for slot in &self.recent.0 {
            slot.store(0, Ordering::Release);
        }
    }
}

// ------------------------------------------------------------ the engine's exception state

impl Engine {
    pub fn set_exception_filters(&self, py: Python<'_>, filters: ExceptionFilters) {
        self.replace_exception_filters(filters);
        self.refresh_events(py);
    }

    pub(super) fn replace_exception_filters(&self, filters: ExceptionFilters) {
        let mut state = self.state.lock();
        state.exception_filters = Arc::new(filters);
        self.raise_verdicts.invalidate();
    }

    /// What `raise_stops_on_type` last found for a type under the filters in force, if it is
    /// among the recent answers. Only atomics are read: this runs before anything else in RAISE.
    pub(crate) fn raise_verdict_known(&self, ty: *mut pyo3::ffi::PyTypeObject) -> Option<bool> {
        self.raise_verdicts.recent(ty as usize)
    }

    /// Whether the filters in force stop on `exception` where it is raised (before any
    /// justMyCode or location check).
    pub(crate) fn raise_stops_on_type(&self, exception: &Bound<'_, PyAny>) -> PyResult<bool> {
        let ty = exception.get_type();
        let key = ty.as_ptr() as usize;
        let generation = self.raise_verdicts.generation.load(Ordering::Acquire);
        if let Some(verdict) = self.raise_verdicts.get(key, generation) {
            return Ok(verdict);
        }
        let verdict = self.exception_filters().stops_when_raised(&self.exception_type_names(exception)?);
        self.raise_verdicts.insert(ty.into_any(), generation, verdict);
        Ok(verdict)
    }

    pub(crate) fn exception_filters(&self) -> Arc<ExceptionFilters> {
        self.state.lock().exception_filters.clone()
    }

    /// The names an exception's type matches by (see `exceptions::type_names`), computed once a type.
    pub(crate) fn exception_type_names(&self, exception: &Bound<'_, PyAny>) -> PyResult<Arc<Vec<String>>> {
        let ty = exception.get_type();
        let key = ty.as_ptr() as usize;
        if let Some((_, names)) = self.state.lock().exception_type_names.get(&key) {
            return Ok(names.clone());
        }
        let names = Arc::new(type_names(exception)?);
        self.state.lock().exception_type_names.insert(key, (ty.into_any().unbind(), names.clone()));
        Ok(names)
    }

    /// An exception is about to end the program or a thread (called at pydbg's own boundary:
    /// the runner and `threading.excepthook`). Stops there if a filter asks for it, showing the
    /// frames of the exception's traceback.
    pub fn on_uncaught(&self, py: Python<'_>, exception: &Bound<'_, PyAny>) -> PyResult<()> {
        if !self.client_attached.load(Ordering::Acquire) || self.is_terminating() {
            return Ok(());
        }
        if exception.is_instance_of::<pyo3::exceptions::PySystemExit>() {
            let code = exception.getattr("code")?;
            if code.is_none() || code.extract::<i64>().is_ok_and(|c| c == 0) {
                return Ok(());
            }
        }
        if !self.exception_filters().stops_when_uncaught(&self.exception_type_names(exception)?) {
            return Ok(());
        }
        let mut frames = Vec::new();
        let mut tb = exception.getattr("__traceback__")?;
        while !tb.is_none() {
            let frame = tb.getattr("tb_frame")?;
            if self.origin_of_frame(&frame) != Some(Origin::Internal) {
                frames.push(frame.unbind());
            }
            tb = tb.getattr("tb_next")?;
        }
        frames.reverse();
        // With justMyCode, an exception that never passed through the user's code is a library's
        // business: a SystemExit that pytest raises at its end is the program ending.
        if self.just_my_code() && !frames.iter().any(|f| self.origin_of_frame(f.bind(py)) == Some(Origin::User)) {
            return Ok(());
        }
        let Some(top) = frames.first().map(|f| f.bind(py).clone()) else { return Ok(()) };
        let text = exception_text(py, exception);
        // The program is ending already: an interrupt from terminate changes nothing here.
        let _interrupt = self.park_with(
            py,
            &top,
            StopReason::Exception { mode: BreakMode::Unhandled, text },
            ParkedIn::OtherEvent,
            Some(exception),
            Some(frames),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn conditions_parse_and_match_through_the_mro() {
        let m = TypeMatcher::parse("ValueError, KeyError").unwrap();
        assert!(m.matches(&names(&["UnicodeDecodeError", "UnicodeError", "ValueError", "Exception"])));
        assert!(!m.matches(&names(&["TypeError", "Exception"])));
        let not = TypeMatcher::parse("not StopIteration").unwrap();
        assert!(!not.matches(&names(&["StopIteration", "Exception"])));
        assert!(not.matches(&names(&["ValueError", "Exception"])));
        assert!(TypeMatcher::parse("").unwrap().matches(&names(&["X"])));
        assert!(TypeMatcher::parse("Value Error").is_err());
        assert!(TypeMatcher::parse("not ").is_err());
    }

    #[test]
    fn raised_skips_plumbing_unless_named() {
        let filters = ExceptionFilters { raised: Some(TypeMatcher::default()), ..Default::default() };
        assert!(!filters.stops_when_raised(&names(&["StopIteration", "Exception"])));
        assert!(filters.stops_when_raised(&names(&["ValueError", "Exception"])));
        let named =
            ExceptionFilters { raised: Some(TypeMatcher::parse("StopIteration").unwrap()), ..Default::default() };
        assert!(named.stops_when_raised(&names(&["StopIteration", "Exception"])));
    }

    #[test]
    fn exception_options_override_filters() {
        let filters = ExceptionFilters {
            raised: Some(TypeMatcher::default()),
            options: vec![
                ExceptionOption { names: vec![], negate: false, mode: Some(BreakMode::Unhandled) },
                ExceptionOption { names: names(&["KeyError"]), negate: false, mode: Some(BreakMode::Always) },
                ExceptionOption { names: names(&["OSError"]), negate: false, mode: None },
            ],
            ..Default::default()
        };
        assert!(filters.stops_when_raised(&names(&["KeyError", "LookupError"])));
        assert!(!filters.stops_when_raised(&names(&["ValueError"])));
        assert!(filters.stops_when_uncaught(&names(&["ValueError"])));
        assert!(!filters.stops_when_uncaught(&names(&["FileNotFoundError", "OSError"])));
    }

    #[test]
    fn recent_verdicts_answer_only_for_their_type_and_generation() {
        let verdicts = RaiseVerdicts::default();
        let (a, b) = (0x7f00_1234_5670_usize, 0x7f00_1234_5670_usize + RECENT_SLOTS * 16);
        assert_eq!(verdicts.recent(a), None);
        verdicts.remember_recent(a, 0, false);
        assert_eq!(verdicts.recent(a), Some(false));
        // b shares a's slot: it takes the slot, and a is no longer known.
        verdicts.remember_recent(b, 0, true);
        assert_eq!((verdicts.recent(a), verdicts.recent(b)), (None, Some(true)));
        verdicts.invalidate();
        assert_eq!(verdicts.recent(b), None);
        // An answer worked out under the old generation, stored late, is not believed.
        verdicts.remember_recent(b, 0, true);
        assert_eq!(verdicts.recent(b), None);
        assert_eq!(pack_verdict(1 << ADDRESS_BITS, 0, false), None);
    }
}

thread_local! {
    static RAISED_SLOT: RefCell<Option<HeldException>> = const { RefCell::new(None) };
    static LEFT_USER_CODE_SLOT: RefCell<Option<HeldException>> = const { RefCell::new(None) };
}

/// The exception this thread last judged under `raised`, and under `userUnhandled`. RAISE fires
/// again in every frame an exception passes through; one exception stops once.
pub(super) static LAST_RAISED: LastSeen = LastSeen { slot: &RAISED_SLOT, held: AtomicUsize::new(0) };
pub(super) static LAST_LEFT_USER_CODE: LastSeen = LastSeen { slot: &LEFT_USER_CODE_SLOT, held: AtomicUsize::new(0) };

/// One kind of "last exception judged", per thread, with a count of the threads that hold one:
/// while none does, RAISE's fast path touches no thread-local storage (which a shared library
/// reaches through `__tls_get_addr`, a tenth of that path's cost).
pub(super) struct LastSeen {
    slot: &'static LocalKey<RefCell<Option<HeldException>>>,
    held: AtomicUsize,
}

struct HeldException {
    exception: Py<PyAny>,
    held: &'static AtomicUsize,
}

impl Drop for HeldException {
    fn drop(&mut self) {
        self.held.fetch_sub(1, Ordering::Relaxed);
    }
}

impl LastSeen {
    /// Records `exception` as this thread's; false if it was already.
    pub(super) fn first_sight(&'static self, exception: &Bound<'_, PyAny>) -> bool {
        let replaced = self.slot.try_with(|slot| {
            let mut slot = slot.try_borrow_mut().ok()?;
            if slot.as_ref().is_some_and(|last| last.exception.as_ptr() == exception.as_ptr()) {
                return None;
            }
            self.held.fetch_add(1, Ordering::Relaxed);
            let held = HeldException { exception: exception.clone().unbind(), held: &self.held };
            Some(slot.replace(held))
        });
        // The exception replaced is released outside the borrow: its release can run Python.
        matches!(replaced, Ok(Some(_)))
    }

    pub(super) fn forget(&'static self) {
        if self.held.load(Ordering::Relaxed) == 0 {
            return;
        }
        // Attached as pyo3 counts it, so that the exception is released now, not deferred. (Not
        // while the interpreter finalizes: it is then kept.)
        let _ = Python::try_attach(|_| {
            let forgotten = self.slot.try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut slot| slot.take()));
            drop(forgotten);
        });
    }
}
