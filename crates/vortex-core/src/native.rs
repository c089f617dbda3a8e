//! The native backend: configuration files in local directories (see `docs/compatibility.md`).

use std::io::ErrorKind as IoErrorKind;
use std::path::{Path, PathBuf};

use crate::config_data::{DocumentCache, SearchLocation, load_property_sources};
use crate::resource;
use crate::{ConfigQuery, CoreError, Environment, HealthStatus, Resource, SourceHealth};

/// The label used when a request names none.
pub const DEFAULT_NATIVE_LABEL: &str = "master";

/// How a [`NativeSource`] finds its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NativeOptions {
    /// Directories to search, as plain paths or `file:` URIs, optionally prefixed `optional:`.
    /// `{application}`, `{profile}` and `{label}` are expanded per request.
    pub search_locations: Vec<String>,
    /// The label used when a request names none.
    pub default_label: String,
    /// Whether `<location>/<label>/` is searched too (after the plain locations, so it wins).
    pub add_label_locations: bool,
    /// The `version` reported in every environment.
    pub version: Option<String>,
}

impl Default for NativeOptions {
    fn default() -> Self {
        Self {
            search_locations: vec!["config/sample-repo".to_owned()],
            default_label: DEFAULT_NATIVE_LABEL.to_owned(),
            add_label_locations: true,
            version: None,
        }
    }
}

/// Serves configuration from local directories.
///
/// Its methods do blocking file I/O: call them from a blocking thread pool.
#[derive(Debug, Clone)]
pub struct NativeSource {
    locations: Vec<ConfiguredLocation>,
    options: NativeOptions,
    /// Parsed files, shared by clones of this source.
    documents: std::sync::Arc<DocumentCache>,
}

/// A search location as configured: the text used in source names, and the path it points at.
#[derive(Debug, Clone)]
struct ConfiguredLocation {
    /// The location with `optional:` and `file:` removed and a trailing `/`, e.g. `config/repo/`.
    text: String,
}

impl NativeSource {
    /// Builds a native source.
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] for a location that is empty, a `classpath:` location, or a URI
    /// scheme other than `file:`.
    pub fn new(options: NativeOptions) -> Result<Self, CoreError> {
        let locations = options.search_locations.iter().map(|l| parse_location(l)).collect::<Result<_, _>>()?;
        Ok(Self { locations, options, documents: std::sync::Arc::default() })
    }

    /// Loads the environment for `query`.
    ///
    /// # Errors
    /// [`CoreError::Parse`] and [`CoreError::InvalidFile`] for unusable files, [`CoreError::Io`]
    /// when a directory or file cannot be read.
    pub fn load_blocking(&self, query: &ConfigQuery) -> Result<Environment, CoreError> {
        let locations = self.search_dirs(query);
        let property_sources = load_property_sources(&locations, query, &self.documents)?;
        Ok(Environment {
            name: query.application.clone(),
            profiles: vec![query.profiles_joined()],
            label: query.label.clone(),
            version: self.options.version.clone(),
            state: None,
            property_sources,
        })
    }

    /// Finds the resource `path` for `query`: in each location in order, `<stem>-<profile>.<ext>`
    /// for each profile, then `path` itself (see `docs/compatibility.md`).
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] for a path with `..`, [`CoreError::NoSuchResource`] when no file
    /// matches or the path is not allowed, [`CoreError::Io`] when a file cannot be read.
    pub fn resource_blocking(&self, query: &ConfigQuery, path: &str) -> Result<Resource, CoreError> {
        let path = resource::check_path(path)?;
        let candidates = resource::candidates(path, &query.profiles);
        for location in self.search_dirs(query) {
            for candidate in &candidates {
                if let Some(bytes) = location.read_contained(candidate)? {
                    return Ok(Resource { bytes, version: self.options.version.clone() });
                }
            }
        }
        Err(CoreError::NoSuchResource { path: path.to_owned() })
    }

    /// The label used when a query names none.
    pub fn default_label(&self) -> &str {
        &self.options.default_label
    }

    /// Reports health: up when every fixed, non-optional search location is a directory.
    pub fn health(&self) -> SourceHealth {
        let missing: Vec<&str> = self
            .options
            .search_locations
            .iter()
            .zip(&self.locations)
            .filter(|(raw, parsed)| {
                !raw.trim().starts_with("optional:") && !parsed.text.contains('{') && !Path::new(&parsed.text).is_dir()
            })
            .map(|(raw, _)| raw.as_str())
            .collect();
        let status = if missing.is_empty() { HealthStatus::Up } else { HealthStatus::Down };
        SourceHealth {
            status,
            ready: true,
            details: serde_json::json!({
                "searchLocations": self.options.search_locations,
                "missingLocations": missing,
                "version": self.options.version,
            }),
        }
    }

    /// A fingerprint of every file under the search locations: relative paths, sizes and
    /// modification times. Equal fingerprints mean that no file a load could read has changed, so
    /// a poller can tell when cached environments went stale (what Spring's file monitor does
    /// for native locations). A location with placeholders is walked from its part before the
    /// first one. Hidden entries (`.git`) are skipped, links to directories are not followed, and
    /// at most [`MAX_WATCHED_ENTRIES`] entries are looked at. Blocking I/O.
    pub fn fingerprint_blocking(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        let mut budget = MAX_WATCHED_ENTRIES;
        for location in &self.locations {
            let root = match location.text.find('{') {
                Some(at) => location.text[..at].rfind('/').map_or("./", |slash| &location.text[..=slash]),
                None => location.text.as_str(),
            };
            root.hash(&mut hasher);
            fingerprint_dir(Path::new(root), 0, &mut budget, &mut hasher);
        }
        hasher.finish()
    }

    /// The directories to search for `query`, in search order (later ones win), as Spring's native
    /// backend orders them: every location with its placeholders expanded (`{label}` gets the
    /// whole label, unsplit), then a directory per label under each, in reverse label order, so
    /// that the first label wins (unlike git, where the last does; see `docs/compatibility.md`).
    fn search_dirs(&self, query: &ConfigQuery) -> Vec<DirLocation> {
        let default_label = [self.options.default_label.as_str()];
        let labels = query.labels().unwrap_or_else(|| default_label.to_vec());
        let whole_label = query.label.as_deref().unwrap_or(&self.options.default_label);
        let apps: Vec<&str> = query.applications().collect();
        let mut dirs: Vec<DirLocation> = Vec::new();
        let mut push = |dir: DirLocation| {
            if !dirs.iter().any(|d| d.name_prefix == dir.name_prefix) && dir.path.is_dir() {
                dirs.push(dir);
            }
        };
        // Each expanded location with its root: the part before the first placeholder, which
        // nothing read may leave (a placeholder must not lead through a link out of it).
        let mut expanded: Vec<(String, String)> = Vec::new();
        for location in &self.locations {
            let root = match location.text.find('{') {
                Some(at) => location.text[..at].rfind('/').map_or("", |slash| &location.text[..=slash]),
                None => location.text.as_str(),
            };
            for app in &apps {
                for profile in &query.profiles {
                    let text = location
                        .text
                        .replace("{application}", app)
                        .replace("{profile}", profile)
                        .replace("{label}", whole_label);
                    if !expanded.iter().any(|(t, _)| *t == text) {
                        expanded.push((text, root.to_owned()));
                    }
                }
            }
        }
        for (text, root) in &expanded {
            push(DirLocation::new(text, root, ""));
        }
        if self.options.add_label_locations {
            // Label directories come after every plain location, so they win; with several labels
            // they come in reverse order, so the first one wins.
            for (text, root) in &expanded {
                for label in labels.iter().rev() {
                    push(DirLocation::new(text, root, label));
                }
            }
        }
        dirs
    }
}

fn parse_location(raw: &str) -> Result<ConfiguredLocation, CoreError> {
    let trimmed = raw.trim();
    let without_optional = trimmed.strip_prefix("optional:").unwrap_or(trimmed);
    let path = if let Some(rest) = without_optional.strip_prefix("file:") {
        // `file:///abs` and `file:/abs` both mean `/abs`.
        match rest.strip_prefix("//") {
            Some(absolute) => format!("/{}", absolute.trim_start_matches('/')),
            None => rest.to_owned(),
        }
    } else if without_optional.contains("://") || without_optional.starts_with("classpath:") {
        return Err(CoreError::invalid(
            "search location",
            format!("{raw:?}: only directories and file: URIs are supported"),
        ));
    } else {
        without_optional.to_owned()
    };
    if path.is_empty() {
        return Err(CoreError::invalid("search location", "must not be empty"));
    }
    let text = if path.ends_with('/') { path } else { format!("{path}/") };
    Ok(ConfiguredLocation { text })
}

/// The most directory entries [`NativeSource::fingerprint_blocking`] looks at: a search location
/// pointed at a huge tree by mistake costs a bounded walk per poll.
pub const MAX_WATCHED_ENTRIES: usize = 100_000;

/// Deepest directory level [`NativeSource::fingerprint_blocking`] descends to.
const MAX_WATCH_DEPTH: usize = 16;

/// Hashes the entries of `dir`, recursively, in name order.
fn fingerprint_dir(dir: &Path, depth: usize, budget: &mut usize, hasher: &mut impl std::hash::Hasher) {
    use std::hash::Hash;
    let Ok(entries) = std::fs::read_dir(dir) else {
        // Missing or unreadable: that is part of the state too.
        0xdead_u16.hash(hasher);
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(std::fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        if *budget == 0 || name.as_encoded_bytes().starts_with(b".") {
            continue;
        }
        *budget -= 1;
        let Ok(file_type) = entry.file_type() else { continue };
        name.hash(hasher);
        if file_type.is_dir() {
            if depth < MAX_WATCH_DEPTH {
                fingerprint_dir(&entry.path(), depth + 1, budget, hasher);
            }
            continue;
        }
        // A link is hashed by its target's metadata: editing the target is a change. Anything else
        // by its own, read relative to the open directory (no path to build).
        let meta = if file_type.is_symlink() { std::fs::metadata(entry.path()) } else { entry.metadata() };
        if let Ok(meta) = meta {
            meta.len().hash(hasher);
            meta.modified().ok().hash(hasher);
            meta.is_dir().hash(hasher);
        }
    }
}

/// One directory to search: a location, or a label directory inside it.
#[derive(Debug, Clone)]
struct DirLocation {
    path: PathBuf,
    /// The directory that nothing read may leave, even through a link: the configured location,
    /// or with placeholders its part before the first one.
    root: PathBuf,
    /// `file:<location>[<label>/]`, the prefix of every source name.
    name_prefix: String,
    /// `<label>/` or empty: what error messages put in front of a file name.
    display_prefix: String,
}

impl DirLocation {
    fn new(location: &str, root: &str, label: &str) -> Self {
        let sub = if label.is_empty() { String::new() } else { format!("{label}/") };
        Self {
            path: PathBuf::from(format!("{location}{sub}")),
            root: PathBuf::from(root),
            name_prefix: format!("file:{location}{sub}"),
            display_prefix: sub,
        }
    }

    /// Reads `file` only if it resolves to a file inside the location: a link (the file itself,
    /// a directory on its way, or the label directory) that leads out of it is not followed, and
    /// reads as no file. Links that stay inside are followed.
    fn read_contained(&self, file: &str) -> Result<Option<Vec<u8>>, CoreError> {
        let candidate = self.path.join(file);
        // Fast path, the common case: a plain file directly in a location that is no link.
        if !file.contains('/') && self.path == self.root {
            match std::fs::symlink_metadata(&candidate) {
                Ok(meta) if !meta.file_type().is_symlink() => return read_optional(&candidate),
                Ok(_) => {}
                Err(e) if is_absent(&e) => return Ok(None),
                Err(source) => return Err(CoreError::Io { path: candidate, source }),
            }
        }
        let (Ok(root), Ok(resolved)) = (self.root.canonicalize(), candidate.canonicalize()) else {
            return Ok(None);
        };
        if !resolved.starts_with(&root) {
            tracing::warn!(
                file = %candidate.display(),
                "not served: a link leads out of the search location"
            );
            return Ok(None);
        }
        read_optional(&resolved)
    }
}

impl SearchLocation for DirLocation {
    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, CoreError> {
        self.read_contained(file)
    }

    fn source_name(&self, file: &str) -> String {
        format!("{}{file}", self.name_prefix)
    }

    fn display_path(&self, file: &str) -> String {
        format!("{}{file}", self.display_prefix)
    }
}

/// Errors that mean "no such file here": missing, a directory, a file where a directory was
/// expected, or a name too long to exist.
fn is_absent(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        IoErrorKind::NotFound | IoErrorKind::IsADirectory | IoErrorKind::NotADirectory | IoErrorKind::InvalidFilename
    )
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, CoreError> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if is_absent(&e) => Ok(None),
        Err(source) => Err(CoreError::Io { path: path.to_owned(), source }),
    }
}

#[cfg(test)]
mod tests;
