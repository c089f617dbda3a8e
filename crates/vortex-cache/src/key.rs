//! [`CacheKey`]: which queries share a cache entry, and its text form; [`KeyPattern`]: globs over it.

use std::fmt;
use std::hash::{Hash, Hasher};

use vortex_core::ConfigQuery;

/// The identity of a cache entry: application, profiles in request order, and label with the
/// backend's default filled in.
///
/// Two queries share a key exactly when they mean the same thing: `dev,db` and `db,dev` differ
/// (the last profile wins), while a missing label and the explicit default label are equal.
///
/// The text form, used by the admin API, is `application:profiles:label`, e.g. `orders:prod:main`,
/// or `application:profiles` for a backend without labels. `%` and `:` inside the application or
/// the label are written `%25` and `%3A`, so the form can always be read back.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CacheKey {
    application: String,
    profiles: String,
    label: Option<String>,
}

impl CacheKey {
    /// The key of `query`, with `default_label` standing in for a missing label.
    pub fn new(query: &ConfigQuery, default_label: Option<&str>) -> Self {
        Self {
            application: query.application.clone(),
            profiles: query.profiles_joined(),
            label: query.label.as_deref().or(default_label).map(str::to_owned),
        }
    }

    /// Reads the text form back, filling in `default_label` when the text names no label.
    ///
    /// # Errors
    /// When the text does not have two or three parts, or a part is empty or badly escaped.
    pub fn parse(text: &str, default_label: Option<&str>) -> Result<Self, KeyError> {
        let mut parts = text.split(':');
        let (Some(application), Some(profiles), label, None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError(format!("{text:?} is not application:profiles[:label]")));
        };
        let application = unescape(application).filter(|a| !a.is_empty());
        let label = label.map(|label| unescape(label).filter(|l| !l.is_empty()));
        match (application, label) {
            (Some(application), Some(Some(label))) if !profiles.is_empty() => {
                Ok(Self { application, profiles: profiles.to_owned(), label: Some(label) })
            }
            (Some(application), None) if !profiles.is_empty() => {
                Ok(Self { application, profiles: profiles.to_owned(), label: default_label.map(str::to_owned) })
            }
            _ => Err(KeyError(format!("{text:?} has an empty or badly escaped part"))),
        }
    }

    /// The application part (several applications are comma-separated).
    pub fn application(&self) -> &str {
        &self.application
    }

    /// The profiles, comma-separated in request order.
    pub fn profiles(&self) -> &str {
        &self.profiles
    }

    /// The label, with the default filled in; `None` for a backend without labels.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The query this key is loaded with: the default label is named explicitly.
    pub(crate) fn query(&self) -> ConfigQuery {
        ConfigQuery {
            application: self.application.clone(),
            profiles: self.profiles.split(',').map(str::to_owned).collect(),
            label: self.label.clone(),
        }
    }

    /// Whether one of the key's applications is `name`.
    pub(crate) fn names_application(&self, name: &str) -> bool {
        self.applications().any(|a| a == name)
    }

    /// The applications the key names (one, or each of a comma-separated list).
    pub(crate) fn applications(&self) -> impl Iterator<Item = &str> {
        self.application.split(',').map(str::trim)
    }

    /// Whether one of the key's labels is among `labels`.
    pub(crate) fn names_any_label(&self, labels: &[String]) -> bool {
        self.label.as_deref().is_some_and(|own| own.split(',').any(|l| labels.iter().any(|m| m == l.trim())))
    }
}

impl Hash for CacheKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(state, &self.application, self.profiles.split(','), self.label.as_deref());
    }
}

/// The key of a query, borrowed: a cache hit is looked up with it and builds no [`CacheKey`]
/// (three strings). It hashes exactly as the key it stands for, and is equivalent to it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct QueryKey<'a> {
    query: &'a ConfigQuery,
    label: Option<&'a str>,
}

impl<'a> QueryKey<'a> {
    /// The key of `query`, with `default_label` standing in for a missing label, as
    /// [`CacheKey::new`] makes it.
    pub(crate) fn new(query: &'a ConfigQuery, default_label: Option<&'a str>) -> Self {
        Self { query, label: query.label.as_deref().or(default_label) }
    }

    fn profiles(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.query.profiles.iter().map(String::as_str)
    }
}

impl Hash for QueryKey<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_parts(state, &self.query.application, self.profiles(), self.label);
    }
}

impl moka::Equivalent<CacheKey> for QueryKey<'_> {
    fn equivalent(&self, key: &CacheKey) -> bool {
        self.query.application == key.application
            && self.label == key.label.as_deref()
            && self.profiles().eq(key.profiles.split(','))
    }
}

/// The one hash of a key's parts, whether they are stored joined or borrowed from a query.
fn hash_parts<'p, H: Hasher>(
    state: &mut H,
    application: &str,
    profiles: impl Iterator<Item = &'p str>,
    label: Option<&str>,
) {
    application.hash(state);
    for profile in profiles {
        profile.hash(state);
    }
    state.write_u8(0);
    label.hash(state);
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_escaped(f, &self.application)?;
        write!(f, ":{}", self.profiles)?;
        if let Some(label) = &self.label {
            f.write_str(":")?;
            write_escaped(f, label)?;
        }
        Ok(())
    }
}

fn write_escaped(f: &mut fmt::Formatter<'_>, part: &str) -> fmt::Result {
    for c in part.chars() {
        match c {
            '%' => f.write_str("%25")?,
            ':' => f.write_str("%3A")?,
            c => fmt::Write::write_char(f, c)?,
        }
    }
    Ok(())
}

fn unescape(part: &str) -> Option<String> {
    let mut out = String::with_capacity(part.len());
    let mut rest = part;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let code = rest.get(i + 1..i + 3)?;
        match code {
            "25" => out.push('%'),
            "3A" | "3a" => out.push(':'),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

/// A key that cannot be read, or a pattern that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cache key or pattern: {0}")]
pub struct KeyError(String);

/// A glob over the text form of [`CacheKey`]s: `*` matches any run of characters (`:` and `/`
/// included), `?` exactly one; everything else matches itself.
///
/// `orders:*` matches every entry of the application `orders`, `*:prod:*` every entry with exactly
/// the profile `prod`, `*` everything.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyPattern {
    glob: wildmatch::WildMatch,
}

impl KeyPattern {
    /// Longest pattern accepted, in characters.
    pub const MAX_LEN: usize = 512;

    /// Checks and keeps `glob`.
    ///
    /// # Errors
    /// When the pattern is empty or longer than [`KeyPattern::MAX_LEN`].
    pub fn new(glob: &str) -> Result<Self, KeyError> {
        if glob.is_empty() {
            return Err(KeyError("the pattern is empty".to_owned()));
        }
        if glob.chars().count() > Self::MAX_LEN {
            return Err(KeyError(format!("the pattern is longer than {} characters", Self::MAX_LEN)));
        }
        Ok(Self { glob: wildmatch::WildMatch::new(glob) })
    }

    /// Whether the pattern matches everything.
    pub fn is_everything(&self) -> bool {
        self.glob.pattern_chars().iter().all(|&c| c == '*')
    }

    /// Whether `key`'s text form matches.
    pub fn matches(&self, key: &CacheKey) -> bool {
        self.matches_text(&key.to_string())
    }

    /// Whether `text` matches: `wildmatch`'s walk remembers the last `*` and retries from one
    /// character further on a mismatch, at worst pattern length times text length steps.
    pub fn matches_text(&self, text: &str) -> bool {
        self.glob.matches(text)
    }
}

impl fmt::Display for KeyPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.glob, f)
    }
}

#[cfg(test)]
mod tests;
