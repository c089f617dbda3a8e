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
/// A key given twice in one mapping is refused too, naming the dotted key (the YAML parser's own
/// message names a Rust type).
pub(crate) fn check(text: &str) -> Result<(), String> {
    if text.len() > MAX_BYTES {
        return Err(format!("is larger than {} KiB", MAX_BYTES >> 10));
    }
    let mut parser = Parser::new_from_str(text);
    // Open collections: anchor id and nodes so far; anchored nodes and their sizes.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut sizes: HashMap<usize, usize> = HashMap::new();
    let mut aliased = 0usize;
    let mut keys = Keys::default();
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
                keys.node(None).map_err(|key| format!("the key {key} is given twice, at {}", at()))?;
                keys.open(matches!(event, Event::MappingStart(..)));
                open.push((anchor, 1));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                keys.close();
                if let Some((anchor, size)) = open.pop() {
                    closed(anchor, size, &mut open, &mut sizes);
                }
            }
            Event::Scalar(ref text, _, anchor, _) => {
                keys.node(Some(text)).map_err(|key| format!("the key {key} is given twice, at {}", at()))?;
                closed(anchor, 1, &mut open, &mut sizes);
            }
            Event::Alias(anchor) => {
                keys.node(None).map_err(|key| format!("the key {key} is given twice, at {}", at()))?;
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

/// The keys of the open mappings, to find one given twice.
#[derive(Default)]
struct Keys {
    /// For each open collection: `None` for a sequence; for a mapping, its keys so far, the
    /// current one, and whether the next node is a key.
    frames: Vec<Option<Mapping>>,
}

#[derive(Default)]
struct Mapping {
    seen: std::collections::HashSet<String>,
    current: String,
    key_next: bool,
}

impl Keys {
    /// A node starts (`text` for a scalar): in a mapping it is a key or a value, in turn. A scalar
    /// key already seen in the same mapping is refused with its dotted key.
    fn node(&mut self, text: Option<&str>) -> Result<(), String> {
        let path = self.path();
        let Some(Some(mapping)) = self.frames.last_mut() else { return Ok(()) };
        let is_key = mapping.key_next;
        mapping.key_next = !is_key;
        if let (true, Some(key)) = (is_key, text) {
            if !mapping.seen.insert(key.to_owned()) {
                return Err(if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") });
            }
            key.clone_into(&mut mapping.current);
        }
        Ok(())
    }

    fn open(&mut self, mapping: bool) {
        self.frames.push(mapping.then(|| Mapping { key_next: true, ..Mapping::default() }));
    }

    fn close(&mut self) {
        self.frames.pop();
    }

    /// The dotted key of the innermost mapping: its ancestors' current keys.
    fn path(&self) -> String {
        let frames = &self.frames[..self.frames.len().saturating_sub(1)];
        frames.iter().flatten().map(|mapping| mapping.current.as_str()).collect::<Vec<_>>().join(".")
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
    fn a_key_given_twice_is_named() {
        assert_eq!(
            check("server:\n  port: 1\nserver:\n  host: x\n"),
            Err("the key server is given twice, at line 3, column 1".to_owned())
        );
        assert_eq!(
            check("a:\n  b:\n    c: 1\n    c: 2\n"),
            Err("the key a.b.c is given twice, at line 4, column 5".to_owned())
        );
        assert_eq!(check("a: [{x: 1}, {x: 2}]\nb: {x: 1}\n"), Ok(()), "same keys in different mappings");
    }

    #[test]
    fn large_files_are_refused() {
        assert_eq!(check(&"#".repeat(MAX_BYTES + 1)), Err("is larger than 1024 KiB".to_owned()));
    }
}
