//! `POST /monitor` payloads (see `docs/compatibility.md`): which files a push changed, and which
//! applications read them.

use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use serde_json::Value;
use vortex_core::CoreError;

/// The file every application reads: a change to it concerns all of them.
const BROADCAST: &str = "application.yml";

/// Finds the changed paths in a webhook request, trying the git hosts in Spring's order: GitHub,
/// the plain `path` form, GitLab, Bitbucket (Cloud and Server), Gitea, Gitee, Gogs. `None` when no
/// extractor recognises the request.
///
/// # Errors
/// A JSON request with an empty body, or a body that is not JSON.
pub(crate) fn changed_paths(headers: &HeaderMap, body: &[u8]) -> Result<Option<Vec<String>>, CoreError> {
    let content_type = header(headers, CONTENT_TYPE.as_str()).unwrap_or("");
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let paths = form_paths(body);
        return Ok((!paths.is_empty()).then_some(paths));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(CoreError::InvalidInput { what: "body", reason: "a JSON payload is required".to_owned() });
    }
    let payload: Value = serde_json::from_slice(body)
        .map_err(|e| CoreError::InvalidInput { what: "body", reason: format!("not JSON: {e}") })?;
    let event = |name: &str| header(headers, name);
    let extractors: [&dyn Fn() -> Option<Vec<String>>; 7] = [
        &|| (event("x-github-event") == Some("push")).then(|| commit_paths(&payload)).flatten(),
        &|| simple_paths(&payload),
        &|| (event("x-gitlab-event") == Some("Push Hook")).then(|| commit_paths(&payload)).flatten(),
        &|| bitbucket(headers, &payload),
        &|| {
            let push = event("x-gitea-event") == Some("push") && payload.get("commits").is_some_and(Value::is_array);
            push.then(broadcast)
        },
        &|| (event("x-git-oschina-event") == Some("Push Hook")).then(|| commit_paths(&payload)).flatten(),
        &|| (event("x-gogs-event") == Some("push")).then(|| commit_paths(&payload)).flatten(),
    ];
    Ok(extractors.iter().find_map(|extract| extract()))
}

/// The application names a set of changed paths concerns, in first-seen order; `*` for all.
///
/// For each path: the file name without its extension, then every prefix before a `-`, longest
/// first (`foo-local-dev.yml` gives `foo-local-dev`, `foo-local`, `foo`); `application` becomes `*`.
pub(crate) fn service_names(paths: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut push = |name: &str| {
        let name = if name == vortex_core::DEFAULT_APPLICATION { "*" } else { name };
        if !name.is_empty() && !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    };
    for path in paths {
        let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
        push(stem);
        let mut rest = stem;
        while let Some((prefix, _)) = rest.rsplit_once('-') {
            push(prefix);
            rest = prefix;
        }
    }
    names
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim)
}

fn broadcast() -> Vec<String> {
    vec![BROADCAST.to_owned()]
}

/// `commits[].added`, then `removed`, then `modified`, per commit, without repeats.
fn commit_paths(payload: &Value) -> Option<Vec<String>> {
    let mut paths: Vec<String> = Vec::new();
    for commit in payload.get("commits")?.as_array()? {
        for field in ["added", "removed", "modified"] {
            for path in commit.get(field).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                if !paths.iter().any(|p| p == path) {
                    paths.push(path.to_owned());
                }
            }
        }
    }
    (!paths.is_empty()).then_some(paths)
}

/// `{"path": "foo.yml"}` or `{"path": ["foo.yml", "bar.yml"]}`.
fn simple_paths(payload: &Value) -> Option<Vec<String>> {
    let paths: Vec<String> = match payload.get("path")? {
        Value::String(path) => vec![path.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => return None,
    };
    (!paths.is_empty()).then_some(paths)
}

/// Bitbucket lists no files: a recognised push concerns every application.
fn bitbucket(headers: &HeaderMap, payload: &Value) -> Option<Vec<String>> {
    let key = header(headers, "x-event-key")?;
    let cloud = matches!(key, "repo:push" | "pullrequest:fulfilled")
        && header(headers, "x-hook-uuid").is_some_and(|uuid| !uuid.is_empty())
        && payload.pointer("/push/changes").is_some_and(Value::is_array);
    let has_request_id = header(headers, "x-request-id").is_some();
    let server = (key == "repo:refs_changed" && has_request_id && payload.get("changes").is_some_and(Value::is_array))
        || (key == "pr:merged" && has_request_id);
    (cloud || server).then(broadcast)
}

/// The `path` fields of an `application/x-www-form-urlencoded` body.
fn form_paths(body: &[u8]) -> Vec<String> {
    body.split(|&b| b == b'&')
        .filter_map(|pair| {
            let mut parts = pair.splitn(2, |&b| b == b'=');
            let (name, value) = (parts.next()?, parts.next().unwrap_or(b""));
            (form_decode(name) == "path").then(|| form_decode(value))
        })
        .filter(|path| !path.is_empty())
        .collect()
}

fn form_decode(raw: &[u8]) -> String {
    let plus_as_space: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    percent_encoding::percent_decode(&plus_as_space).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests;
