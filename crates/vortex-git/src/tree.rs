//! Reading configuration straight from the object database at a commit: no checkout, so any number
//! of labels are read concurrently without a lock.

use std::path::Path;

use vortex_core::config_data::{DocumentCache, SearchLocation, load_property_sources};
use vortex_core::{ConfigQuery, CoreError, ErrorKind, PropertySource, resource};

/// Upper bound on directories a wildcard search path may match, against a pathological repository.
const MAX_WILDCARD_MATCHES: usize = 1_000;

/// How a repository is laid out: its URI (for source names) and its search paths.
pub(crate) struct Layout<'a> {
    pub(crate) uri: &'a str,
    pub(crate) search_paths: &'a [String],
    /// Parsed files, shared between loads.
    pub(crate) documents: &'a DocumentCache,
}

/// Loads the property sources of `query` from the tree of `commit`, highest precedence first.
pub(crate) fn load_sources(
    repo: &gix::Repository,
    commit: gix::ObjectId,
    label: &str,
    query: &ConfigQuery,
    layout: &Layout<'_>,
) -> Result<Vec<PropertySource>, CoreError> {
    let tree = commit_tree(repo, commit)?;
    let locations: Vec<TreeLocation<'_, '_>> = search_dirs(&tree, label, query, layout)?
        .into_iter()
        .map(|prefix| TreeLocation { tree: &tree, uri: layout.uri, prefix })
        .collect();
    load_property_sources(&locations, query, layout.documents)
}

/// Finds the resource `path` in the tree of `commit` (see `docs/compatibility.md`): the first location, in search
/// order, that has `<stem>-<profile>.<ext>` for a profile, or `path` itself.
pub(crate) fn read_resource(
    repo: &gix::Repository,
    commit: gix::ObjectId,
    label: &str,
    query: &ConfigQuery,
    path: &str,
    layout: &Layout<'_>,
) -> Result<Option<Vec<u8>>, CoreError> {
    let path = resource::check_path(path)?;
    let tree = commit_tree(repo, commit)?;
    let candidates = resource::candidates(path, &query.profiles);
    for prefix in search_dirs(&tree, label, query, layout)? {
        let location = TreeLocation { tree: &tree, uri: layout.uri, prefix };
        for candidate in &candidates {
            if let Some(bytes) = location.read(candidate)? {
                return Ok(Some(bytes));
            }
        }
    }
    Ok(None)
}

fn commit_tree(repo: &gix::Repository, commit: gix::ObjectId) -> Result<gix::Tree<'_>, CoreError> {
    repo.find_commit(commit).and_then(|c| c.tree()).map_err(|e| internal("read commit", &e))
}

/// The directories searched at a commit: the root first (lowest precedence), then each search path
/// with `{application}`, `{profile}` and `{label}` expanded and wildcards matched against the tree.
fn search_dirs(
    tree: &gix::Tree<'_>,
    label: &str,
    query: &ConfigQuery,
    layout: &Layout<'_>,
) -> Result<Vec<String>, CoreError> {
    let mut dirs = vec![String::new()];
    for pattern in layout.search_paths {
        for app in query.applications() {
            for profile in &query.profiles {
                let expanded =
                    pattern.replace("{application}", app).replace("{profile}", profile).replace("{label}", label);
                let expanded = expanded.trim_matches('/');
                if expanded.is_empty() || expanded.split('/').any(|s| s == ".." || s == ".") {
                    continue;
                }
                let segments: Vec<&str> = expanded.split('/').filter(|s| !s.is_empty()).collect();
                let mut matches = Vec::new();
                walk(tree, String::new(), &segments, &mut matches)?;
                for dir in matches {
                    if !dirs.contains(&dir) {
                        dirs.push(dir);
                    }
                }
            }
        }
    }
    Ok(dirs)
}

/// Collects `prefix/...` directories matching `segments` (`*` within a segment, `**` for any depth).
fn walk(tree: &gix::Tree<'_>, prefix: String, segments: &[&str], out: &mut Vec<String>) -> Result<(), CoreError> {
    if out.len() >= MAX_WILDCARD_MATCHES {
        return Ok(());
    }
    let Some((segment, rest)) = segments.split_first() else {
        if !prefix.is_empty() && !out.contains(&prefix) {
            out.push(prefix);
        }
        return Ok(());
    };
    if *segment == "**" {
        walk(tree, prefix.clone(), rest, out)?;
    }
    let decoded = tree.decode().map_err(|e| internal("read tree", &e))?;
    for entry in &decoded.entries {
        if !entry.mode.is_tree() {
            continue;
        }
        let name = entry.filename.to_string();
        let next = match *segment {
            "**" => segments,
            s if s.contains('*') => {
                if !glob(s, &name) {
                    continue;
                }
                rest
            }
            s => {
                if s != name {
                    continue;
                }
                rest
            }
        };
        let child = tree.repo.find_tree(entry.oid.to_owned()).map_err(|e| internal("read tree", &e))?;
        walk(&child, format!("{prefix}{name}/"), next, out)?;
    }
    Ok(())
}

/// A glob where `*` stands for any run of characters and nothing else is special, as Spring's
/// `PatternMatchUtils.simpleMatch` (pattern repositories) and its search-path wildcards read one:
/// `wildmatch` with its single-character wildcard set to NUL, which no name, profile or directory
/// can contain (queries refuse control characters; git refuses NUL in tree entries).
pub(crate) type Glob = wildmatch::WildMatchPattern<'*', '\0'>;

/// Whether `name` matches `pattern` (see [`Glob`]).
pub(crate) fn glob(pattern: &str, name: &str) -> bool {
    Glob::new(pattern).matches(name)
}

/// One search directory inside the tree of a commit.
struct TreeLocation<'t, 'repo> {
    tree: &'t gix::Tree<'repo>,
    uri: &'t str,
    /// `dir/` or empty for the root.
    prefix: String,
}

impl SearchLocation for TreeLocation<'_, '_> {
    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, CoreError> {
        let path = format!("{}{file}", self.prefix);
        let entry = self.tree.lookup_entry_by_path(Path::new(&path)).map_err(|e| internal("read tree", &e))?;
        match entry {
            // Symlinks and submodules are not configuration files.
            Some(entry) if entry.mode().is_blob() => {
                let object = entry.object().map_err(|e| internal("read blob", &e))?;
                Ok(Some(object.detach().data))
            }
            _ => Ok(None),
        }
    }

    fn source_name(&self, file: &str) -> String {
        format!("{}/{}{file}", self.uri, self.prefix)
    }

    fn display_path(&self, file: &str) -> String {
        format!("{}{file}", self.prefix)
    }
}

fn internal(operation: &str, err: &dyn std::fmt::Display) -> CoreError {
    CoreError::Backend {
        kind: ErrorKind::Internal,
        message: format!("git {operation} failed: {}", crate::error::redact(&err.to_string())),
        source: None,
    }
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_within_a_segment() {
        assert!(glob("foo*", "foobar"));
        assert!(glob("*bar", "foobar"));
        assert!(glob("f*b*r", "foobar"));
        assert!(glob("*", "x"));
        assert!(!glob("foo*", "barfoo"));
        assert!(!glob("a*a", "a"));
        assert!(!glob("a?c", "abc"), "`?` is not a wildcard");
        assert!(glob("a?c", "a?c"));
    }
}
