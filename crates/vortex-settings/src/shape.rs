//! A settings file's shape, checked before `config` loads it: `config` builds the YAML tree
//! recursively and expands aliases without a limit, so a deep or alias-heavy file could exhaust
//! the stack or the memory of `--check-config` and of every start.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser};

/// Largest settings file read, in bytes.
pub(crate) const MAX_BYTES: usize = 1 << 20;
/// Deepest nesting of mappings and sequences.
const MAX_DEPTH: usize = 32;
/// Most nodes that aliases may add, in all.
const MAX_ALIAS_NODES: usize = 10_000;

/// Checks `text` event by event, without building a tree; the message says what is wrong and where.
pub(crate) fn check(text: &str) -> Result<(), String> {
    if text.len() > MAX_BYTES {
        return Err(format!("is larger than {} KiB", MAX_BYTES >> 10));
    }
    let mut parser = Parser::new_from_str(text);
    // Open collections: anchor id and nodes so far; anchored nodes and their sizes.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    let mut aliased = 0usize;
    loop {
        // A syntax error is left for `config` to report, with its own wording.
        let Ok((event, mark)) = parser.next_token() else { return Ok(()) };
        let at = || format!("line {}, column {}", mark.line(), mark.col() + 1);
        match event {
            Event::StreamEnd => return Ok(()),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if open.len() >= MAX_DEPTH {
                    return Err(format!("nests deeper than {MAX_DEPTH} levels at {}", at()));
                }
                open.push((anchor, 1));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, size)) = open.pop() {
                    closed(anchor, size, &mut open, &mut sizes);
                }
            }
            Event::Scalar(_, _, anchor, _) => closed(anchor, 1, &mut open, &mut sizes),
            Event::Alias(anchor) => {
                let size = sizes.get(&anchor).copied().unwrap_or(1);
                aliased = aliased.saturating_add(size);
                if aliased > MAX_ALIAS_NODES {
                    return Err(format!("aliases expand to more than {MAX_ALIAS_NODES} nodes at {}", at()));
                }
                closed(0, size, &mut open, &mut sizes);
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
        }
    }
}

/// Records a complete node of `size` nodes in its parent, and under its anchor.
fn closed(anchor: usize, size: usize, open: &mut [(usize, usize)], sizes: &mut HashMap<usize, usize>) {
    if anchor > 0 {
        sizes.insert(anchor, size);
    }
    if let Some((_, parent)) = open.last_mut() {
        *parent = parent.saturating_add(size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_settings_pass() {
        let text = "server:\n  port: 8080\nanchors:\n  a: &a {x: 1}\n  b: *a\nlist: [1, 2, [3]]\n";
        assert_eq!(check(text), Ok(()));
    }

    #[test]
    fn alias_bombs_are_refused_before_expansion() {
        let mut text = String::from("l0: &l0 [lol, lol]\n");
        for i in 1..20 {
            text.push_str(&format!("l{i}: &l{i} [*l{p}, *l{p}, *l{p}]\n", p = i - 1));
        }
        let err = check(&text).unwrap_err();
        assert!(err.starts_with("aliases expand to more than 10000 nodes at line"), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        // Block sequences have no nesting limit in the scanner (flow collections do).
        let text = format!("a:\n{}1\n", "- ".repeat(100_000));
        let err = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || check(&text))
            .unwrap()
            .join()
            .unwrap()
            .unwrap_err();
        assert!(err.starts_with("nests deeper than 32 levels at line 2"), "{err}");
    }

    #[test]
    fn large_files_are_refused() {
        assert_eq!(check(&"#".repeat(MAX_BYTES + 1)), Err("is larger than 1024 KiB".to_owned()));
    }
}
