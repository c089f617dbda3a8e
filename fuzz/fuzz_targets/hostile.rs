//! Structure-aware: the input picks a generator of hostile repository files — deep block and
//! flow YAML, nested placeholder defaults and keys, placeholder chains that double at every level,
//! anchors that hold each other, deep profile expressions, long properties escapes — and their
//! sizes; its remaining bytes are appended, so mutation explores around each shape. Every file is
//! parsed, and what parses is rendered in every flat format with placeholders resolved. Nothing
//! may overflow the stack, run past libFuzzer's per-input timeout or its memory limit: the depth
//! limits and the placeholder budget must hold for inputs no byte-level mutation would reach.
#![no_main]

mod common;

use std::fmt::Write as _;

use libfuzzer_sys::fuzz_target;
use vortex_core::document::{parse_properties, parse_yaml};
use vortex_core::placeholder::Budget;
use vortex_core::render::{FlatFormat, render_within};

fuzz_target!(|data: &[u8]| {
    let (head, tail) = data.split_at(data.len().min(4));
    let byte = |i: usize| head.get(i).copied().unwrap_or(0);
    let kind = byte(0) % 9;
    // Up to 16,383 levels, a hundred times every limit (block mappings are capped lower: their
    // indentation grows quadratically).
    let depth = usize::from(u16::from_le_bytes([byte(1), byte(2)]) & 0x3fff);
    let extra = String::from_utf8_lossy(tail);
    let (text, properties) = generate(kind, depth, byte(3), &extra);
    exercise(&text, properties);
});

/// A hostile file of shape `kind`, `depth` levels deep; `width` varies the shape.
fn generate(kind: u8, depth: usize, width: u8, extra: &str) -> (String, bool) {
    let mut text = String::new();
    let properties = match kind {
        0 => {
            let _ = write!(text, "x:\n{}{extra}\n", "- ".repeat(depth));
            false
        }
        1 => {
            for i in 0..depth.min(1_500) {
                let _ = writeln!(text, "{}k{}:", " ".repeat(i), i % 10);
            }
            let _ = writeln!(text, "{}{extra}", " ".repeat(depth.min(1_500)));
            false
        }
        2 => {
            // Flow collections, sequences and mappings mixed by the bits of `width`.
            let open: String = (0..depth).map(|i| if (usize::from(width) >> (i % 8)) & 1 == 1 { "{a: " } else { "[" }).collect();
            let close: String =
                (0..depth).rev().map(|i| if (usize::from(width) >> (i % 8)) & 1 == 1 { "}" } else { "]" }).collect();
            let _ = writeln!(text, "x: {open}{extra}{close}");
            false
        }
        3 | 4 => {
            let value = format!("{}{extra}{}", "${x:".repeat(depth), "}".repeat(depth));
            if kind == 3 {
                let _ = writeln!(text, "v: {value:?}");
            } else {
                let _ = writeln!(text, "v={value}");
            }
            kind == 4
        }
        5 => {
            // A chain that multiplies by `width` at every level.
            let (levels, fan) = (depth % 48, usize::from(width % 4) + 2);
            for i in 0..levels {
                let _ = writeln!(text, "p{i}={}", format!("${{p{}}}", i + 1).repeat(fan));
            }
            let _ = writeln!(text, "p{levels}={extra}");
            true
        }
        6 => {
            // Anchors that hold each other, each nested `width` levels.
            let nest = usize::from(width);
            for i in 0..depth % 64 {
                let inner = if i == 0 { "1".to_owned() } else { format!("*a{}", i - 1) };
                let _ = writeln!(text, "a{i}: &a{i} {}{inner}{}", "[".repeat(nest), "]".repeat(nest));
            }
            let _ = writeln!(text, "z: {extra}");
            false
        }
        7 => {
            let expression = if width % 2 == 0 {
                format!("{}dev{extra}", "!".repeat(depth))
            } else {
                format!("{}dev{extra}{}", "(".repeat(depth), ")".repeat(depth))
            };
            let _ = writeln!(text, "a: 1\n---\nspring.config.activate.on-profile: {expression:?}\nb: 2");
            false
        }
        _ => {
            let _ = writeln!(text, "u={}{extra}\nc={}end", "\\u0041".repeat(depth), "x\\\n".repeat(depth % 20_000));
            true
        }
    };
    (text, properties)
}

fn exercise(text: &str, properties: bool) {
    let parsed = if properties { parse_properties(text, "fuzz.properties") } else { parse_yaml(text, "fuzz.yml") };
    let Ok(documents) = parsed else { return };
    for document in &documents {
        let _ = document.activation("fuzz.yml");
    }
    let env = common::environment(&documents, "fuzz");
    // A budget of 1 MiB rather than the server's 16: the same bound, reached sixteen times sooner,
    // so that the fuzzer spends its time on shapes rather than on expanding each one.
    for format in [FlatFormat::Properties, FlatFormat::Yaml, FlatFormat::Json] {
        let _ = render_within(&env, format, true, &mut Budget::new(1 << 20, 0));
    }
}
