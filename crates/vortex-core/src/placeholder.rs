//! `${key}` placeholders: defaults (`${key:default}`), nesting, escapes (`\${key}`), resolved only
//! against the returned environment, never the process environment (see `docs/compatibility.md`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::{CoreError, Environment};

/// Upper bound on nesting of every kind: a placeholder in a key, in a default or in a looked-up
/// value each count one level. Resolution recurses once per level, so this bounds the stack too.
pub const MAX_DEPTH: usize = 64;

/// How much work one resolution may do, and whether it was asked to stop.
///
/// Work is counted in bytes written, at every level of nesting, plus a fixed cost per placeholder
/// looked up: `p0=${p1}${p1}`, `p1=${p2}${p2}`, ... doubles at every level, so a 500-byte file
/// could otherwise ask for gigabytes and minutes of CPU. Every buffer that resolution holds was
/// written under the budget, so the budget also bounds the memory it takes. A [`Budget`] is meant
/// to be shared by every value of one response, so that it bounds the response, not each value.
#[derive(Debug, Clone)]
pub struct Budget {
    left: usize,
    allowance: usize,
    cancel: Option<Arc<AtomicBool>>,
}

/// What one looked-up placeholder costs, in bytes of budget, besides what it writes.
const PER_PLACEHOLDER: usize = 32;

impl Budget {
    /// The default allowance beyond the input, in bytes: 16 MiB.
    pub const DEFAULT_ALLOWANCE: usize = 16 << 20;

    /// A budget of `allowance` bytes plus four times `input_bytes`, the size of the text about to
    /// be resolved: text without placeholders costs about its size once, and that is never refused.
    pub fn new(allowance: usize, input_bytes: usize) -> Self {
        Self { left: allowance.saturating_add(input_bytes.saturating_mul(4)), allowance, cancel: None }
    }

    /// The same budget, stopped early once `flag` is set: a request that timed out sets it, so that
    /// resolution abandoned by its client does not keep a CPU busy.
    #[must_use]
    pub fn cancelled_by(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancel = Some(flag);
        self
    }

    /// Widens the budget for `input_bytes` more of text to resolve, by four times their size.
    pub fn allow_input(&mut self, input_bytes: usize) {
        self.left = self.left.saturating_add(input_bytes.saturating_mul(4));
    }

    /// Takes `bytes` from the budget. The error's key is left empty: [`resolve_with`] names the
    /// outermost placeholder, which is the one a reader finds in the file.
    fn spend(&mut self, bytes: usize) -> Result<(), CoreError> {
        if self.cancel.as_ref().is_some_and(|flag| flag.load(Ordering::Relaxed)) {
            return Err(CoreError::Cancelled);
        }
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => Err(CoreError::PlaceholderLimit {
                key: String::new(),
                file: None,
                reason: format!(
                    "expanding it takes more than the placeholder budget ({} bytes beyond four times the text)",
                    self.allowance
                ),
            }),
        }
    }
}

impl Default for Budget {
    /// [`Budget::DEFAULT_ALLOWANCE`] for an empty input.
    fn default() -> Self {
        Self::new(Self::DEFAULT_ALLOWANCE, 0)
    }
}

/// Resolves placeholders in `text` against `env`: the first property source that defines a key wins.
///
/// An unresolvable placeholder without a default is left as written. `\${x}` yields the literal `${x}`.
///
/// # Errors
/// [`CoreError::CircularPlaceholder`] when resolution loops (`a=${b}`, `b=${a}`), and
/// [`CoreError::PlaceholderLimit`] when it nests deeper than [`MAX_DEPTH`] or exceeds `budget`,
/// naming the outermost placeholder and the property source that defines it.
pub fn resolve_placeholders(text: &str, env: &Environment, budget: &mut Budget) -> Result<String, CoreError> {
    resolve_with(text, &|key| env.get(key).map(ToString::to_string), budget).map_err(|err| name_source(err, env))
}

/// Names the property source of `env` that defines the key of a [`CoreError::PlaceholderLimit`].
pub(crate) fn name_source(err: CoreError, env: &Environment) -> CoreError {
    match err {
        CoreError::PlaceholderLimit { key, file: None, reason } => {
            let file = env.property_sources.iter().find(|ps| ps.source.contains_key(&key)).map(|ps| ps.name.clone());
            CoreError::PlaceholderLimit { key, file, reason }
        }
        other => other,
    }
}

/// Resolves placeholders in `text` with a custom lookup; see [`resolve_placeholders`].
///
/// # Errors
/// As [`resolve_placeholders`], without the property source in [`CoreError::PlaceholderLimit`].
pub fn resolve_with(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    budget: &mut Budget,
) -> Result<String, CoreError> {
    if !text.contains("${") {
        return Ok(text.to_owned());
    }
    let mut resolver = Resolver { lookup, budget, stack: Vec::new(), outermost: None };
    resolver.resolve(text, 0).map_err(|err| match err {
        // Named after the outermost placeholder: the one a reader finds in the file.
        CoreError::PlaceholderLimit { file, reason, .. } => {
            CoreError::PlaceholderLimit { key: resolver.outermost.take().unwrap_or_default(), file, reason }
        }
        other => other,
    })
}

struct Resolver<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
    budget: &'a mut Budget,
    /// The keys being resolved, outermost first: a key met again is a cycle.
    stack: Vec<String>,
    /// The outermost key being resolved, for error messages.
    outermost: Option<String>,
}

impl Resolver<'_> {
    fn resolve(&mut self, text: &str, depth: usize) -> Result<String, CoreError> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let escaped = rest[..start].ends_with('\\');
            let Some(end) = matching_brace(&rest[start + 2..]).map(|e| start + 2 + e) else {
                break;
            };
            let before = out.len();
            if escaped {
                out.push_str(&rest[..start - 1]);
                out.push_str(&rest[start..=end]);
            } else {
                out.push_str(&rest[..start]);
                let content = &rest[start + 2..end];
                let resolved = self.placeholder(content, depth)?;
                out.push_str(&resolved);
            }
            self.budget.spend(out.len() - before)?;
            rest = &rest[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Resolves the inside of one `${...}`.
    fn placeholder(&mut self, content: &str, depth: usize) -> Result<String, CoreError> {
        if depth >= MAX_DEPTH {
            return Err(CoreError::PlaceholderLimit {
                key: String::new(),
                file: None,
                reason: format!("placeholders nest deeper than {MAX_DEPTH} levels"),
            });
        }
        let (raw_key, default) = split_default(content);
        if depth == 0 {
            self.outermost = Some(raw_key.chars().take(128).collect());
        }
        let key = self.resolve(raw_key, depth + 1)?;
        if self.stack.contains(&key) {
            return Err(CoreError::CircularPlaceholder { key });
        }
        self.budget.spend(PER_PLACEHOLDER)?;
        let found = (self.lookup)(&key);
        match found {
            Some(value) => {
                self.stack.push(key);
                let resolved = self.resolve(&value, depth + 1);
                self.stack.pop();
                resolved
            }
            None => match default {
                Some(default) => self.resolve(default, depth + 1),
                None => Ok(format!("${{{content}}}")),
            },
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
