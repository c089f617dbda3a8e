//! The output of `--check-config`.

/// Renders the output of `--check-config`: where the settings came from, then the effective
/// settings as YAML with every secret redacted: the secret settings, and a password written into
/// any URL (`https://alice:secret@host/x.git` is printed `https://***@host/x.git`).
pub(crate) fn cli_report(loaded: &vortex_settings::Loaded) -> String {
    fn redact(value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(text) if text.contains("://") => *text = vortex_core::redact_credentials(text),
            serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
            serde_json::Value::Object(map) => map.values_mut().for_each(redact),
            _ => {}
        }
    }
    let source = match &loaded.file {
        Some(path) => format!("# settings file: {}\n", path.display()),
        None => "# settings file: none (built-in defaults)\n".to_owned(),
    };
    let tree = serde_json::to_value(&loaded.settings)
        .map(|mut json| {
            redact(&mut json);
            vortex_core::render::to_yaml(&vortex_core::render::Node::from(&json))
        })
        .unwrap_or_default();
    format!("# settings are valid\n{source}{tree}")
}
