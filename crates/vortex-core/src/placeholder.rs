//! `${key}` placeholders: defaults (`${key:default}`), nesting, escapes (`\${key}`), resolved only
//! against the returned environment, never the process environment (contract §2.5 step C).

use crate::{CoreError, Environment};

/// Upper bound on nested resolution, so a deep (but acyclic) chain cannot exhaust the stack.
const MAX_DEPTH: usize = 64;

/// Resolves placeholders in `text` against `env`: the first property source that defines a key wins.
///
/// An unresolvable placeholder without a default is left as written. `\${x}` yields the literal `${x}`.
///
/// # Errors
/// [`CoreError::CircularPlaceholder`] when resolution loops (`a=${b}`, `b=${a}`) or nests too deep.
pub fn resolve_placeholders(text: &str, env: &Environment) -> Result<String, CoreError> {
    resolve_with(text, &|key| env.get(key).map(ToString::to_string))
}

/// Resolves placeholders in `text` with a custom lookup; see [`resolve_placeholders`].
///
/// # Errors
/// As [`resolve_placeholders`].
pub fn resolve_with(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, CoreError> {
    if !text.contains("${") {
        return Ok(text.to_owned());
    }
    let mut stack = Vec::new();
    Resolver { lookup }.resolve(text, &mut stack)
}

struct Resolver<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Resolver<'_> {
    fn resolve(&self, text: &str, stack: &mut Vec<String>) -> Result<String, CoreError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let escaped = rest[..start].ends_with('\\');
            let Some(end) = matching_brace(&rest[start + 2..]).map(|e| start + 2 + e) else {
                break;
            };
            if escaped {
                out.push_str(&rest[..start - 1]);
                out.push_str(&rest[start..=end]);
            } else {
                out.push_str(&rest[..start]);
                let content = &rest[start + 2..end];
                out.push_str(&self.placeholder(content, stack)?);
            }
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Resolves the inside of one `${...}`.
    fn placeholder(&self, content: &str, stack: &mut Vec<String>) -> Result<String, CoreError> {
        let (raw_key, default) = split_default(content);
        let key = self.resolve(raw_key, stack)?;
        if stack.contains(&key) || stack.len() >= MAX_DEPTH {
            return Err(CoreError::CircularPlaceholder { key });
        }
        if let Some(value) = (self.lookup)(&key) {
            stack.push(key);
            let resolved = self.resolve(&value, stack);
            stack.pop();
            return resolved;
        }
        match default {
            Some(default) => self.resolve(default, stack),
            None => Ok(format!("${{{content}}}")),
        }
    }
}

/// Returns the index of the `}` closing a placeholder whose content starts at `text[0]`.
fn matching_brace(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Splits `key:default` at the first `:` outside nested placeholders.
fn split_default(content: &str) -> (&str, Option<&str>) {
    let mut depth = 0usize;
    for (i, c) in content.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => return (&content[..i], Some(&content[i + 1..])),
            _ => {}
        }
    }
    (content, None)
}

#[cfg(test)]
mod tests;
