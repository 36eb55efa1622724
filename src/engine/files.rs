//! What a code object's `co_filename` is to the debugger: its canonical path (the key that
//! breakpoints use) and whether it is the user's code, a library's, or pydbg's own.

use rustc_hash::FxHashMap;
use std::sync::Arc;

use crate::embedded_python::INTERNAL_FILE_PREFIX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The user's own code: steps and justMyCode stops land here.
    User,
    /// The standard library and site-packages: skipped by steps while justMyCode is on.
    Library,
    /// pydbg itself and the bootstrap that runs the program: never stopped in, never shown.
    Internal,
}

#[derive(Debug)]
pub struct FileInfo {
    pub key: Arc<str>,
    pub origin: Origin,
}

/// A justMyCode rule: code under `prefix` is the user's (`include`) or a library's.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeRule {
    pub prefix: String,
    pub include: bool,
}

/// Where a justMyCode rule applies, as the client names it.
#[derive(Debug, Clone)]
pub enum RuleScope {
    /// Files under a path.
    Path(String),
    /// A module's or package's files, wherever it is installed.
    Module(String),
}

/// A justMyCode rule as attach gives it: `include` makes its files the user's code.
#[derive(Debug, Clone)]
pub struct RuleRequest {
    pub scope: RuleScope,
    pub include: bool,
}

/// Classifies file names, caching each answer because callbacks ask for the same names often.
#[derive(Default)]
pub struct FileClassifier {
    internal_prefixes: Vec<String>,
    library_prefixes: Vec<String>,
    rules: Vec<CodeRule>,
    cache: FxHashMap<String, Arc<FileInfo>>,
}

impl FileClassifier {
    pub fn new(internal_prefixes: Vec<String>, library_prefixes: Vec<String>) -> Self {
        let canonical = |v: Vec<String>| v.into_iter().map(|p| canonical_key(&p).to_string()).collect();
        FileClassifier {
            internal_prefixes: canonical(internal_prefixes),
            library_prefixes: canonical(library_prefixes),
            rules: Vec::new(),
            cache: FxHashMap::default(),
        }
    }

    /// Replaces the justMyCode rules. The longest matching prefix wins over the defaults.
    pub fn set_rules(&mut self, rules: Vec<CodeRule>) {
        self.rules = rules
            .into_iter()
            .map(|r| CodeRule { prefix: canonical_key(&r.prefix).to_string(), include: r.include })
            .collect();
        self.rules.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        self.cache.clear();
    }

    pub fn info(&mut self, co_filename: &str) -> Arc<FileInfo> {
        if let Some(info) = self.cache.get(co_filename) {
            return info.clone();
        }
        let key = canonical_key(co_filename);
        let under = |prefixes: &[String]| {
            prefixes.iter().any(|p| {
                key.starts_with(p.as_str()) && (key.len() == p.len() || key[p.len()..].starts_with(['/', '\\']))
            })
        };
        let rule = self.rules.iter().find(|r| under(std::slice::from_ref(&r.prefix)));
        let origin = if under(&self.internal_prefixes) || co_filename.starts_with(INTERNAL_FILE_PREFIX) {
            Origin::Internal
        } else if let Some(rule) = rule {
            if rule.include {
                Origin::User
            } else {
                Origin::Library
            }
        } else if co_filename.starts_with("<frozen") || under(&self.library_prefixes) {
            Origin::Library
        } else {
            Origin::User
        };
        let info = Arc::new(FileInfo { key, origin });
        self.cache.insert(co_filename.to_owned(), info.clone());
        info
    }
}

/// The canonical form of a path, so that a client's path and a `co_filename` compare equal.
/// Names that are not files (`<string>`) are kept as they are.
pub fn canonical_key(path: &str) -> Arc<str> {
    if path.starts_with('<') {
        return path.into();
    }
    match std::fs::canonicalize(path) {
        Ok(p) => p.to_string_lossy().into(),
        Err(_) => path.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_prefix_on_path_boundaries() {
        let mut c = FileClassifier::new(vec!["/opt/pydbg".into()], vec!["/usr/lib/python3.12".into()]);
        assert_eq!(c.info("/opt/pydbg/cli.py").origin, Origin::Internal);
        let mut c2 = FileClassifier::new(vec!["/lib/runpy.py".into()], vec![]);
        assert_eq!(c2.info("/lib/runpy.py").origin, Origin::Internal);
        assert_eq!(c2.info("/lib/runpy.pyc").origin, Origin::User);
        assert_eq!(c.info("/opt/pydbgx/app.py").origin, Origin::User);
        assert_eq!(c.info("/usr/lib/python3.12/threading.py").origin, Origin::Library);
        assert_eq!(c.info("<frozen runpy>").origin, Origin::Library);
        assert_eq!(c.info("<string>").origin, Origin::User);
        assert_eq!(&*c.info("<string>").key, "<string>");
        c.set_rules(vec![
            CodeRule { prefix: "/usr/lib/python3.12/json".into(), include: true },
            CodeRule { prefix: "/home/me/app/vendor".into(), include: false },
        ]);
        assert_eq!(c.info("/usr/lib/python3.12/json/decoder.py").origin, Origin::User);
        assert_eq!(c.info("/usr/lib/python3.12/threading.py").origin, Origin::Library);
        assert_eq!(c.info("/home/me/app/vendor/lib.py").origin, Origin::Library);
        assert_eq!(c.info("/home/me/app/main.py").origin, Origin::User);
    }
}
