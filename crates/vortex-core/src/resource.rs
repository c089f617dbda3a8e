//! Plain-text resources (see `docs/compatibility.md`): which paths are allowed and which file names are tried.

use crate::CoreError;

/// Validates a resource path (see `docs/compatibility.md`): `..` is a bad request; URLs, absolute paths and
/// `WEB-INF`/`META-INF` are simply not found.
///
/// # Errors
/// [`CoreError::InvalidInput`] for `..`, [`CoreError::NoSuchResource`] for a path that is not allowed.
pub fn check_path(path: &str) -> Result<&str, CoreError> {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    for p in [path, &*decoded] {
        let normalised = p.replace('\\', "/");
        if normalised.split('/').any(|s| s == "..") || normalised.contains("../") {
            return Err(CoreError::invalid("path", "must not contain '..'"));
        }
    }
    let not_found = || CoreError::NoSuchResource { path: path.to_owned() };
    for p in [path, &*decoded] {
        let upper = p.to_ascii_uppercase();
        let is_url = p.contains(":/") || p.starts_with("url:");
        if upper.contains("WEB-INF") || upper.contains("META-INF") || is_url || p.starts_with('/') || p.contains('\\') {
            return Err(not_found());
        }
        // `.` segments too (found by the `paths` fuzz target): they name no file.
        if p.is_empty() || p.chars().any(char::is_control) || p.split('/').any(|s| s.is_empty() || s == ".") {
            return Err(not_found());
        }
    }
    Ok(path)
}

/// The file names tried for a resource, in order: one per profile, then the path itself.
pub fn candidates(path: &str, profiles: &[String]) -> Vec<String> {
    let (dir, file) = path.rsplit_once('/').map_or(("", path), |(d, f)| (d, f));
    let (stem, ext) = match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, Some(ext)),
        _ => (file, None),
    };
    let mut candidates = Vec::new();
    for profile in profiles {
        let candidate = if profile == crate::DEFAULT_PROFILE {
            path.to_owned()
        } else {
            let name = match ext {
                Some(ext) => format!("{stem}-{profile}.{ext}"),
                None => format!("{stem}-{profile}"),
            };
            if dir.is_empty() { name } else { format!("{dir}/{name}") }
        };
        if !candidates.contains(&candidate) {
            candidates.push(candidate);
        }
    }
    if !candidates.iter().any(|c| c == path) {
        candidates.push(path.to_owned());
    }
    candidates
}
