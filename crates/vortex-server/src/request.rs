//! A read request parsed once, by one pure function ([`ReadRequest::parse`]): which environment it
//! names and what it asks for (Environment JSON, a flat format, a resource). The handlers and the
//! `paths` fuzz target both call it.
//!
//! Spring's URL shapes do not fit a router's one-parameter-per-segment rule
//! (`/{name}-{profiles}.yml`), so the shapes are told apart here from the raw, percent-encoded
//! path: by the number of segments, then within one count by Spring's precedence (see
//! `docs/compatibility.md`).

use std::borrow::Cow;

use axum::http::Uri;
use vortex_core::render::FlatFormat;
use vortex_core::{ConfigQuery, CoreError};

use crate::error::ApiError;

/// What a read request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// The Environment JSON (v1 or v2 by `Accept`).
    Environment,
    /// The merged properties in a flat format.
    Flat(FlatFormat),
    /// A plain-text resource at this path.
    Resource(Cow<'a, str>),
}

/// Query parameters shared by the read endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Options {
    /// `resolvePlaceholders` (flat formats and resources); true unless said otherwise.
    pub(crate) resolve_placeholders: bool,
    /// `useDefaultLabel`: `/{name}/{profile}/{path}` is a resource with the default label.
    pub(crate) use_default_label: bool,
    /// `wait`: seconds to hold the request until its representation changes (with `If-None-Match`).
    pub(crate) wait: Option<u64>,
}

/// A parsed read request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReadRequest<'a> {
    pub(crate) query: ConfigQuery,
    pub(crate) target: Target<'a>,
    pub(crate) options: Options,
}

impl<'a> ReadRequest<'a> {
    /// Parses the target of a `GET` on a read route (the path without the server's prefix).
    ///
    /// # Errors
    /// 404 `not_found` for a path that is no read shape (`/foo/dev.yml`); 400 `invalid_request`
    /// for a malformed name, profile, label or parameter.
    pub(crate) fn parse(path: &'a str, query: Option<&str>) -> Result<Self, ApiError> {
        let options = parse_options(query)?;
        let mut parts: [Cow<'a, str>; 4] = Default::default();
        let mut len = 0;
        for (slot, raw) in parts.iter_mut().zip(path.trim_start_matches('/').splitn(4, '/')) {
            *slot = decode(raw)?;
            len += 1;
        }
        let no_route = || ApiError::no_route(path);
        let parse = |name: &str, profiles: &str, label: Option<&str>| ConfigQuery::parse(name, profiles, label);
        let (query, target) = match &parts[..len] {
            // `/{name}-{profiles}.{ext}` with the default label.
            [single] => {
                let (name, profiles, format) = flat_parts(single).ok_or_else(no_route)?;
                (parse(name, profiles, None)?, Target::Flat(format))
            }
            // `/{label}/{name}-{profiles}.{ext}`; `/foo/dev.yml` has no hyphen to split: no route
            // matches, as in Spring.
            [label, file] if flat_extension(file).is_some() => {
                let (name, profiles, format) = flat_parts(file).ok_or_else(no_route)?;
                (parse(name, profiles, Some(label))?, Target::Flat(format))
            }
            [name, profiles] => (parse(name, profiles, None)?, Target::Environment),
            // With `?useDefaultLabel`: the resource `/{name}/{profile}/{path}`.
            [name, profile, path] if options.use_default_label => {
                (parse(name, profile, None)?, Target::Resource(path.clone()))
            }
            [name, profiles, label] => (parse(name, profiles, Some(label))?, Target::Environment),
            [name, profile, label, path] => (parse(name, profile, Some(label))?, Target::Resource(path.clone())),
            _ => return Err(no_route()),
        };
        Ok(Self { query, target, options })
    }

    /// Parses a request's URI (see [`parse`](Self::parse)).
    pub(crate) fn from_uri(uri: &'a Uri) -> Result<Self, ApiError> {
        Self::parse(uri.path(), uri.query())
    }
}

/// A path segment percent-decoded (with the `percent-encoding` crate), borrowed when it has no
/// `%`. Decoding the rest of a path in one piece equals decoding its segments and joining them.
/// A malformed `%` is kept as it is, for the name checks to refuse; bytes that are not UTF-8 are
/// refused here.
fn decode(raw: &str) -> Result<Cow<'_, str>, ApiError> {
    if !raw.contains('%') {
        return Ok(Cow::Borrowed(raw));
    }
    percent_encoding::percent_decode_str(raw).decode_utf8().map_err(|_| {
        CoreError::InvalidInput { what: "path", reason: "percent-encoding that is not UTF-8".to_owned() }.into()
    })
}

fn parse_options(query: Option<&str>) -> Result<Options, ApiError> {
    let mut options = Options { resolve_placeholders: true, use_default_label: false, wait: None };
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match key {
            "resolvePlaceholders" => options.resolve_placeholders = parse_bool("resolvePlaceholders", value)?,
            "useDefaultLabel" => options.use_default_label = true,
            "wait" => {
                let seconds = value.parse::<u64>().map_err(|_| CoreError::InvalidInput {
                    what: "wait",
                    reason: format!("{value:?} is not a number of seconds"),
                })?;
                options.wait = Some(seconds);
            }
            _ => {}
        }
    }
    Ok(options)
}

/// Parses a boolean query parameter as Spring converts one; an empty value means true.
fn parse_bool(key: &'static str, value: &str) -> Result<bool, ApiError> {
    match value.to_ascii_lowercase().as_str() {
        "" | "true" | "on" | "yes" | "1" => Ok(true),
        "false" | "off" | "no" | "0" => Ok(false),
        _ => Err(CoreError::InvalidInput { what: key, reason: format!("{value:?} is not a boolean") }.into()),
    }
}

fn flat_extension(segment: &str) -> Option<(&str, FlatFormat)> {
    let (stem, ext) = segment.rsplit_once('.')?;
    FlatFormat::from_extension(ext).map(|format| (stem, format))
}

/// Splits `name-profiles.ext` at the last hyphen, as Spring's greedy `{name}` does.
fn flat_parts(segment: &str) -> Option<(&str, &str, FlatFormat)> {
    let (stem, format) = flat_extension(segment)?;
    let (name, profiles) = stem.rsplit_once('-')?;
    (!name.is_empty() && !profiles.is_empty()).then_some((name, profiles, format))
}

#[cfg(test)]
mod tests;
