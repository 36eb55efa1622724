//! `pathMappings`: when the program runs on another machine or in a container, the client's
//! paths (`localRoot`) and the program's (`remoteRoot`) differ. Paths coming from the client are
//! mapped to the program's (setBreakpoints); paths going to it are mapped back (stackTrace).
//! The mappings are one client's (its attach arguments), and live in its session.

use crate::protocol::types::PathMappingArgument;

#[derive(Debug, Clone, PartialEq)]
struct PathMapping {
    client_root: String,
    program_root: String,
}

/// A client's mappings; without any, paths pass unchanged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PathMappings(Vec<PathMapping>);

impl PathMappings {
    /// A relative `remoteRoot` (such as ".") is taken from `program_cwd`.
    pub fn new(mappings: &[PathMappingArgument], program_cwd: &str) -> Self {
        PathMappings(
            mappings
                .iter()
                .map(|m| {
                    let program_root = if is_absolute(&m.remote_root) {
                        m.remote_root.clone()
                    } else {
                        join(program_cwd, &m.remote_root)
                    };
                    PathMapping { client_root: trim_root(&m.local_root), program_root: trim_root(&program_root) }
                })
                .collect(),
        )
    }

    /// A path the client sent, as the program sees it.
    pub fn to_program(&self, client_path: &str) -> String {
        self.map(client_path, |m| (&m.client_root, &m.program_root))
    }

    /// A path of the program's, as the client sees it.
    pub fn to_client(&self, program_path: &str) -> String {
        self.map(program_path, |m| (&m.program_root, &m.client_root))
    }

    /// Rewrites `path` by the mapping whose `from` root is its longest prefix (on a path-component
    /// boundary). The rest of the path takes the separator the `to` root uses.
    fn map(&self, path: &str, roots: impl Fn(&PathMapping) -> (&String, &String)) -> String {
        let best = self
            .0
            .iter()
            .map(&roots)
            .filter_map(|(from, to)| rest_under(path, from).map(|rest| (from.len(), to, rest)))
            .max_by_key(|(length, _, _)| *length);
        let Some((_, to, rest)) = best else { return path.to_owned() };
        if rest.is_empty() {
            return to.clone();
        }
        let separator = if to.contains('\\') && !to.contains('/') { '\\' } else { '/' };
        let rest: Vec<&str> = rest.split(['/', '\\']).filter(|part| !part.is_empty()).collect();
        let mut mapped = to.trim_end_matches(['/', '\\']).to_owned();
        for part in rest {
            mapped.push(separator);
            mapped.push_str(part);
        }
        mapped
    }
}

/// What follows `root` in `path`, if `path` is `root` or lies under it.
fn rest_under<'a>(path: &'a str, root: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(root)?;
    (rest.is_empty() || rest.starts_with(['/', '\\']) || root.ends_with(['/', '\\'])).then_some(rest)
}

fn trim_root(root: &str) -> String {
    let trimmed = root.trim_end_matches(['/', '\\']);
    if trimmed.is_empty() || trimmed.ends_with(':') {
        root.to_owned() // "/" or "C:\": keep the separator
    } else {
        trimmed.to_owned()
    }
}

fn is_absolute(path: &str) -> bool {
    path.starts_with(['/', '\\']) || path.as_bytes().get(1) == Some(&b':')
}

fn join(base: &str, relative: &str) -> String {
    let mut joined = base.trim_end_matches('/').to_owned();
    for part in relative.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => joined.truncate(joined.rfind('/').unwrap_or(0)),
            part => {
                joined.push('/');
                joined.push_str(part);
            }
        }
    }
    if joined.is_empty() {
        joined.push('/');
    }
    joined
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(local: &str, remote: &str) -> PathMappingArgument {
        PathMappingArgument { local_root: local.into(), remote_root: remote.into() }
    }

    #[test]
    fn maps_both_ways_by_the_longest_root() {
        let m = PathMappings::new(
            &[mapping("/home/me/app", "/srv/app"), mapping("/home/me/lib", "/srv/app/vendor/lib")],
            "/tmp",
        );
        assert_eq!(m.to_program("/home/me/app/main.py"), "/srv/app/main.py");
        assert_eq!(m.to_client("/srv/app/main.py"), "/home/me/app/main.py");
        assert_eq!(m.to_client("/srv/app/vendor/lib/x.py"), "/home/me/lib/x.py");
        assert_eq!(m.to_client("/srv/application/x.py"), "/srv/application/x.py", "only on a component boundary");
        assert_eq!(m.to_client("/usr/lib/python3.12/os.py"), "/usr/lib/python3.12/os.py");
    }

    #[test]
    fn takes_the_separator_of_the_root_it_maps_to() {
        let m = PathMappings::new(&[mapping("C:\\work\\app", ".")], "/srv/app/");
        assert_eq!(m.to_client("/srv/app/pkg/mod.py"), "C:\\work\\app\\pkg\\mod.py");
        assert_eq!(m.to_program("C:\\work\\app\\pkg\\mod.py"), "/srv/app/pkg/mod.py");
    }

    #[test]
    fn resolves_a_relative_remote_root_from_the_program_directory() {
        let m = PathMappings::new(&[mapping("/local/", "../up")], "/srv/app");
        assert_eq!(m.to_client("/srv/up/a.py"), "/local/a.py");
        assert_eq!(PathMappings::default().to_client("/srv/up/a.py"), "/srv/up/a.py");
    }
}
