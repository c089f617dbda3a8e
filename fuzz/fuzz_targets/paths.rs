//! Path and label decoding: any request target is refused or decoded into a query whose names
//! and resource path cannot leave the repository.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn contained(name: &str) -> bool {
    let decoded = vortex_core::percent_decode(name).unwrap_or_else(|| name.to_owned());
    [name, decoded.as_str()].iter().all(|text| {
        !text.starts_with('/') && !text.contains('\0') && !text.split(['/', '\\']).any(|s| s == ".." || s == ".")
    })
}

fuzz_target!(|target: &str| {
    for (query, path) in vortex_server::fuzzing::decode_target(target) {
        assert!(contained(&query.application), "{query:?}");
        assert!(query.label.as_deref().is_none_or(contained), "{query:?}");
        assert!(query.profiles.iter().all(|p| contained(p)), "{query:?}");
        if let Some(path) = path {
            assert!(contained(&path), "{path:?}");
        }
    }
});
