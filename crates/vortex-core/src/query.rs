//! The normalised request: application, profiles and label, validated before any backend sees them.

use std::borrow::Cow;

use crate::CoreError;

/// Application used when a request names none (Spring's `default-application-name`).
pub const DEFAULT_APPLICATION: &str = "application";
/// Profile used when a request names none (Spring's `default-profile`).
pub const DEFAULT_PROFILE: &str = "default";

/// A validated configuration query.
///
/// Build it with [`ConfigQuery::parse`], which applies Spring's input checks (see `docs/compatibility.md`) and
/// turns `(_)` into `/`. Profile order is significant: the last profile wins.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConfigQuery {
    /// The application name; several applications are comma-separated (`foo,bar`).
    pub application: String,
    /// The active profiles, in request order.
    pub profiles: Vec<String>,
    /// The label (branch, tag, commit or label directory), `None` for the backend's default.
    pub label: Option<String>,
}

impl ConfigQuery {
    /// Validates raw, already percent-decoded path parameters and builds a query.
    ///
    /// # Errors
    /// [`CoreError::InvalidInput`] when a parameter contains `..` or `#`, starts with `(_)`, or a
    /// profile is empty or uses characters outside letters, digits and `-_.+@`.
    pub fn parse(application: &str, profiles: &str, label: Option<&str>) -> Result<Self, CoreError> {
        let application = normalise_name("application", application)?;
        let profiles = parse_profiles(profiles)?;
        let label = label.map(|l| normalise_name("label", l)).transpose()?;
        Ok(Self { application, profiles, label })
    }

    /// Returns the profiles joined by commas, as the client sent them.
    pub fn profiles_joined(&self) -> String {
        self.profiles.join(",")
    }

    /// Returns the applications of a comma-separated application name.
    pub fn applications(&self) -> impl Iterator<Item = &str> {
        self.application.split(',').map(str::trim).filter(|a| !a.is_empty())
    }

    /// Returns the labels of a comma-separated label, if any.
    pub fn labels(&self) -> Option<Vec<&str>> {
        self.label.as_deref().map(|l| l.split(',').map(str::trim).filter(|l| !l.is_empty()).collect())
    }
}

/// Validates an application name or a label and replaces `(_)` by `/`.
fn normalise_name(what: &'static str, raw: &str) -> Result<String, CoreError> {
    if raw.is_empty() {
        return Err(CoreError::invalid(what, "must not be empty"));
    }
    // Spring decodes once more when a `%` survives the first decoding; we keep decoding, so no
    // depth of encoding can smuggle a `..` past the checks. (A backslash is refused outright, so
    // no form with backslashes as slashes needs checking.)
    let mut candidate = Cow::Borrowed(raw);
    for _ in 0..4 {
        check_name(what, &candidate)?;
        if !candidate.contains('%') {
            break;
        }
        let decoded =
            percent_decode(&candidate).ok_or_else(|| CoreError::invalid(what, "malformed percent-encoding"))?;
        candidate = Cow::Owned(decoded);
    }
    // The segments the name makes on disk, without allocating (this runs on every request).
    let segments = || candidate.split("(_)").flat_map(|part| part.split(['/', ',']));
    if segments().any(|segment| segment.len() > MAX_SEGMENT_BYTES) {
        return Err(CoreError::invalid(what, format!("a name segment is longer than {MAX_SEGMENT_BYTES} bytes")));
    }
    // `.` names the directory it is in: as a path segment it is never an application or label
    // (found by the `paths` fuzz target).
    if segments().any(|segment| segment.trim() == ".") {
        return Err(CoreError::invalid(what, "must not have a '.' segment"));
    }
    let name = if raw.contains("(_)") { raw.replace("(_)", "/") } else { raw.to_owned() };
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Err(CoreError::invalid(what, "must not start or end with a path separator"));
    }
    Ok(name)
}

/// Longest application name, label or profile, per `/`-separated segment, in bytes: a file name
/// built from it must stay under the 255 bytes file systems allow.
pub(crate) const MAX_SEGMENT_BYTES: usize = 100;

fn check_name(what: &'static str, value: &str) -> Result<(), CoreError> {
    if value.contains("..") {
        return Err(CoreError::invalid(what, "must not contain '..'"));
    }
    if value.contains('#') {
        return Err(CoreError::invalid(what, "must not contain '#'"));
    }
    if value.starts_with("(_)") {
        return Err(CoreError::invalid(what, "must not start with '(_)'"));
    }
    if value.starts_with('/') || value.contains('\\') || value.contains("//") {
        return Err(CoreError::invalid(what, "must not contain a path separator"));
    }
    if value.chars().any(char::is_control) {
        return Err(CoreError::invalid(what, "must not contain control characters"));
    }
    Ok(())
}

/// Splits and validates a comma-separated profile list.
fn parse_profiles(raw: &str) -> Result<Vec<String>, CoreError> {
    let mut profiles = Vec::new();
    for profile in raw.split(',') {
        let valid_char = |c: char| c.is_ascii_alphanumeric() || "-_.+@".contains(c);
        let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if profile.is_empty() {
            return Err(CoreError::invalid("profiles", "a profile must not be empty"));
        }
        if profile.len() > MAX_SEGMENT_BYTES {
            return Err(CoreError::invalid("profiles", format!("a profile is longer than {MAX_SEGMENT_BYTES} bytes")));
        }
        if !profile.chars().all(valid_char) {
            return Err(CoreError::invalid("profiles", format!("{profile:?} may only use letters, digits and -_.+@")));
        }
        if !edge_ok(profile.chars().next()) || !edge_ok(profile.chars().last()) {
            return Err(CoreError::invalid(
                "profiles",
                format!("{profile:?} must start and end with a letter or digit"),
            ));
        }
        if profile.contains("..") {
            return Err(CoreError::invalid("profiles", "must not contain '..'"));
        }
        profiles.push(profile.to_owned());
    }
    Ok(profiles)
}

/// Decodes `%XX` sequences with the `percent-encoding` crate; `None` when a `%` is not followed by
/// two hex digits (which the crate would keep as it is) or the result is not UTF-8.
fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let malformed = bytes.iter().enumerate().any(|(i, &byte)| {
        byte == b'%' && !bytes.get(i + 1..i + 3).is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
    });
    if malformed {
        return None;
    }
    percent_encoding::percent_decode_str(raw).decode_utf8().ok().map(Cow::into_owned)
}

#[cfg(test)]
mod tests;
