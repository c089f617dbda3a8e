//! Which files make up an environment, and in what order (see `docs/compatibility.md`).
//!
//! Backends describe their search locations with [`SearchLocation`]; [`load_property_sources`]
//! applies Spring Boot's precedence rules to them, so the native and git backends order property
//! sources identically.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::document::{self, Document, Format};
use crate::{ConfigQuery, CoreError, DEFAULT_APPLICATION, PropertySource};

/// File extensions in precedence order, highest first (`.properties` beats `.yml` beats `.yaml`).
const EXTENSIONS: [&str; 3] = ["properties", "yml", "yaml"];
/// Keys that may not appear in a profile-specific file (Spring Boot rejects them).
const FORBIDDEN_IN_PROFILE_FILES: [&str; 3] =
    ["spring.profiles.active", "spring.profiles.include", "spring.profiles.default"];
/// How deep `spring.config.import` may nest.
const MAX_IMPORT_DEPTH: usize = 8;

/// One directory searched for configuration files, at one revision of the repository.
pub trait SearchLocation {
    /// Reads `file` (a `/`-separated path relative to the location); `Ok(None)` when it does not exist.
    ///
    /// # Errors
    /// Any failure other than absence.
    fn read(&self, file: &str) -> Result<Option<Vec<u8>>, CoreError>;

    /// Returns the property-source name of `file` in this location, as Spring names it.
    fn source_name(&self, file: &str) -> String;

    /// Returns the name of `file` for error messages: relative to the repository, never absolute.
    fn display_path(&self, file: &str) -> String;
}

/// Parsed files, kept per file with the bytes they were parsed from: a file whose content has not
/// changed is not parsed again, and every environment made from it shares its property maps. A
/// cache of 10,000 environments over 200 files holds 200 parsed files, not 10,000 copies.
///
/// One entry per file path (the latest content read), so it is bounded by the repository's files;
/// two labels with different content for one path take turns, which costs parsing, never
/// correctness: an entry is used only when the bytes are identical.
#[derive(Debug, Default)]
pub struct DocumentCache {
    files: Mutex<HashMap<String, Parsed>>,
}

/// The largest configuration file parsed. Parsing takes some 40 times a YAML file's size while it
/// runs, so this bounds what one load can ask of memory. SnakeYAML, which Spring Boot uses, refuses
/// YAML documents over 3 MB by default; 8 MiB leaves room for large `.properties` files too.
pub const MAX_FILE_BYTES: usize = 8 << 20;

/// A file's bytes and the documents parsed from them.
type Parsed = (Arc<[u8]>, Arc<[Document]>);

impl DocumentCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The documents of `bytes`, the content of the file `display`: kept ones when the content
    /// is the one parsed last time, else freshly parsed (and kept).
    fn parse(&self, format: Format, bytes: Vec<u8>, display: &str) -> Result<Arc<[Document]>, CoreError> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(CoreError::InvalidFile {
                file: display.to_owned(),
                message: format!("the file is larger than {} MiB", MAX_FILE_BYTES >> 20),
            });
        }
        {
            let files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((kept, documents)) = files.get(display) {
                if **kept == *bytes {
                    return Ok(Arc::clone(documents));
                }
            }
        }
        // Parsed outside the lock: concurrent loads of other files do not wait.
        let text = String::from_utf8(bytes)
            .map_err(|_| CoreError::InvalidFile { file: display.to_owned(), message: "not valid UTF-8".to_owned() })?;
        let documents: Arc<[Document]> = document::parse(format, &text, display)?.into();
        let mut files = self.files.lock().unwrap_or_else(PoisonError::into_inner);
        files.insert(display.to_owned(), (Arc::from(text.into_bytes()), Arc::clone(&documents)));
        Ok(documents)
    }

    /// Files kept.
    pub fn len(&self) -> usize {
        self.files.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// Whether no file is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Loads the property sources for `query` from `locations`, highest precedence first.
///
/// `locations` are in search order: a later location wins over an earlier one. The order is:
/// profile-specific files grouped by profile (last profile first), then the other files; within a
/// group, later locations first, `{application}` before `application`, and `.properties` before
/// `.yml` before `.yaml`. In a multi-document file the active documents come in reverse order, and
/// imported files come right before the document that imports them, last import first.
///
/// # Errors
/// [`CoreError::Parse`] or [`CoreError::InvalidFile`] for a file that cannot be used, and any error
/// of [`SearchLocation::read`].
pub fn load_property_sources<L: SearchLocation>(
    locations: &[L],
    query: &ConfigQuery,
    documents: &DocumentCache,
) -> Result<Vec<PropertySource>, CoreError> {
    let names = config_names(query);
    let profiles = distinct_keep_last(&query.profiles);
    let mut sources = Vec::new();
    for profile in profiles.iter().rev() {
        for location in locations.iter().rev() {
            for name in &names {
                for ext in EXTENSIONS {
                    let file = format!("{name}-{profile}.{ext}");
                    load_file(location, &file, true, &profiles, 0, documents, &mut sources)?;
                }
            }
        }
    }
    for location in locations.iter().rev() {
        for name in &names {
            for ext in EXTENSIONS {
                let file = format!("{name}.{ext}");
                load_file(location, &file, false, &profiles, 0, documents, &mut sources)?;
            }
        }
    }
    Ok(sources)
}

/// Config names in precedence order, highest first: the applications (last first), then `application`.
fn config_names(query: &ConfigQuery) -> Vec<&str> {
    let mut names = vec![DEFAULT_APPLICATION];
    for app in query.applications() {
        if !names.contains(&app) {
            names.push(app);
        }
    }
    names.reverse();
    names
}

/// Removes repeated profiles, keeping each at its last position (the one that decides precedence).
fn distinct_keep_last(profiles: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(profiles.len());
    for profile in profiles.iter().rev() {
        if !out.contains(profile) {
            out.push(profile.clone());
        }
    }
    out.reverse();
    out
}

fn load_file<L: SearchLocation>(
    location: &L,
    file: &str,
    profile_specific: bool,
    profiles: &[String],
    depth: usize,
    cache: &DocumentCache,
    sources: &mut Vec<PropertySource>,
) -> Result<bool, CoreError> {
    let Some(format) = Format::of(file) else {
        return Err(CoreError::InvalidFile {
            file: location.display_path(file),
            message: "only .properties, .yml and .yaml files can be imported".to_owned(),
        });
    };
    let Some(bytes) = location.read(file)? else {
        return Ok(false);
    };
    let display = location.display_path(file);
    let documents = cache.parse(format, bytes, &display)?;
    let count = documents.len();
    let base_name = location.source_name(file);
    let mut active: Vec<(usize, &Document)> = Vec::new();
    for (index, doc) in documents.iter().enumerate() {
        if profile_specific {
            if let Some(key) = FORBIDDEN_IN_PROFILE_FILES.iter().find(|k| doc.properties.contains_key(**k)) {
                let origin = doc.properties[*key].origin;
                return Err(CoreError::Parse {
                    file: display,
                    line: origin.map_or(1, |o| o.line),
                    column: origin.map_or(1, |o| o.column),
                    message: format!("{key} is not allowed in a profile-specific file"),
                });
            }
        }
        let is_active = doc.activation(&display)?.is_none_or(|expr| expr.matches(profiles));
        if is_active {
            active.push((index, doc));
        }
    }
    for (index, doc) in active.into_iter().rev() {
        let imports = doc.imports();
        if !imports.is_empty() {
            load_imports(location, file, &imports, profiles, depth, cache, sources)?;
        }
        let name = if count == 1 { base_name.clone() } else { format!("{base_name} (document #{index})") };
        sources.push(PropertySource { name, source: Arc::clone(&doc.properties) });
    }
    Ok(true)
}

fn load_imports<L: SearchLocation>(
    location: &L,
    importer: &str,
    imports: &[String],
    profiles: &[String],
    depth: usize,
    cache: &DocumentCache,
    sources: &mut Vec<PropertySource>,
) -> Result<(), CoreError> {
    let display = location.display_path(importer);
    if depth >= MAX_IMPORT_DEPTH {
        return Err(CoreError::InvalidFile { file: display, message: "imports nest too deep".to_owned() });
    }
    let dir = importer.rsplit_once('/').map_or("", |(dir, _)| dir);
    for import in imports.iter().rev() {
        let (optional, target) = match import.strip_prefix("optional:") {
            Some(rest) => (true, rest.trim()),
            None => (false, import.as_str()),
        };
        let target = target.strip_prefix("./").unwrap_or(target);
        let unsafe_path = target.is_empty()
            || target.starts_with('/')
            || target.contains(':')
            || target.contains('\\')
            || target.split('/').any(|s| s == ".." || s.is_empty());
        if unsafe_path {
            return Err(CoreError::InvalidFile {
                file: display,
                message: format!("import {import:?} must be a relative path inside the repository"),
            });
        }
        let path = if dir.is_empty() { target.to_owned() } else { format!("{dir}/{target}") };
        let found = load_file(location, &path, false, profiles, depth + 1, cache, sources)?;
        if !found && !optional {
            return Err(CoreError::InvalidFile { file: display, message: format!("imported file {path} not found") });
        }
    }
    Ok(())
}
