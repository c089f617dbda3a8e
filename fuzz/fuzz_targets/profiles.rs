//! Profile expressions: any text parses or is refused, and a parsed expression can be evaluated
//! against any set of active profiles.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(expr) = vortex_core::profiles::ProfileExpr::parse(text) {
        let active: Vec<String> = text.split([' ', '&', '|', '!', '(', ')']).map(str::to_owned).collect();
        let _ = expr.matches(&active);
        let _ = expr.matches(&[]);
    }
});
