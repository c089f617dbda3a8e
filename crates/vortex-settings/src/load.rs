//! Loading: built-in defaults < YAML file < `VORTEX__…` environment variables.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat, Map, Source, Value, ValueKind};

use crate::{Problem, Settings, SettingsError, ValueOrigin};

/// Prefix of the environment variables that override settings: `VORTEX__SERVER__PORT=9000`.
pub const ENV_PREFIX: &str = "VORTEX";
/// The settings file read when none is named and it exists.
const DEFAULT_FILE: &str = "config/default.yaml";
/// Settings whose environment value is a comma-separated list.
const LIST_KEYS: [&str; 2] = ["backends.git.search_paths", "backends.native.search_locations"];
/// Settings of each `backends.git.repos.<name>` whose environment value is a comma-separated list.
const REPO_LIST_KEYS: [&str; 2] = ["pattern", "search_paths"];
/// Sections whose keys are the user's own, not settings: never reported as unknown.
const FREE_FORM_KEYS: [&str; 1] = ["overrides"];
/// In the schema, the key that stands for any name of a map section (`backends.git.repos.<name>`);
/// `config` keys hold only letters, digits, `_` and `-`, so this is written as one.
const ANY_NAME: &str = "_any-name_";

/// Settings that were loaded and validated, with what is needed to say where each value came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The effective settings.
    pub settings: Settings,
    /// The settings file that was read, if any.
    pub file: Option<PathBuf>,
    file_keys: HashSet<String>,
    env_vars: HashMap<String, String>,
}

impl Loaded {
    /// Returns where the value of the dotted `key` came from.
    pub fn origin(&self, key: &str) -> ValueOrigin {
        origin(key, self.file.as_deref(), &self.file_keys, &self.env_vars)
    }
}

/// Loads and validates settings.
///
/// `path` is the file named on the command line (it must exist); without it `config/default.yaml`
/// is read when present. `env` is the process environment, passed in so that tests need not
/// change it; only variables starting with `VORTEX_` are looked at.
///
/// # Errors
/// [`SettingsError::MissingFile`] when `path` does not exist, [`SettingsError::Load`] when the file
/// cannot be parsed, and [`SettingsError::Invalid`] listing every invalid or unknown setting.
pub fn load(path: Option<&Path>, env: &HashMap<String, String>) -> Result<Loaded, SettingsError> {
    let file = match path {
        Some(path) if !path.is_file() => return Err(SettingsError::MissingFile { path: path.to_owned() }),
        Some(path) => Some(path.to_owned()),
        None => Some(PathBuf::from(DEFAULT_FILE)).filter(|p| p.is_file()),
    };
    let mut problems = Vec::new();
    let mut env_vars = HashMap::new();
    let double = format!("{ENV_PREFIX}__");
    for name in env.keys() {
        if let Some(rest) = name.strip_prefix(&double) {
            env_vars.insert(rest.to_ascii_lowercase().replace("__", "."), name.clone());
        } else if name.starts_with(&format!("{ENV_PREFIX}_")) {
            problems.push(Problem {
                key: name.clone(),
                message: format!("unknown environment variable; settings use the prefix {double}"),
                origin: ValueOrigin::Environment(name.clone()),
            });
        }
    }
    let overrides: Map<String, String> =
        env.iter().filter(|(name, _)| name.starts_with(&double)).map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut environment = Environment::with_prefix(ENV_PREFIX)
        .separator("__")
        .try_parsing(true)
        .list_separator(",")
        .source(Some(overrides));
    for key in LIST_KEYS {
        environment = environment.with_list_parse_key(key);
    }
    // The lists of pattern repositories, whose names only the environment knows.
    for key in env_vars.keys().filter(|key| is_repo_list_key(key)) {
        environment = environment.with_list_parse_key(key);
    }

    let mut builder = Config::builder();
    let mut file_keys = HashSet::new();
    if let Some(file) = &file {
        check_shape(file)?;
        let source = File::from(file.as_path()).format(FileFormat::Yaml).required(true);
        let collected = source.collect().map_err(SettingsError::Load)?;
        collect_keys("", &collected, &mut file_keys);
        builder = builder.add_source(source);
    }
    let config = builder.add_source(environment).build().map_err(SettingsError::Load)?;

    let origin_of = |key: &str| origin(key, file.as_deref(), &file_keys, &env_vars);
    let known = schema().map_err(SettingsError::Load)?;
    let given = config.collect().map_err(SettingsError::Load)?;
    let mut unknown = Vec::new();
    unknown_keys("", &given, &known, &mut |key| unknown.push(key.to_owned()));
    // Reported once here, and left out of what is deserialized, so that they hide nothing else.
    let mut tree = given;
    for key in unknown {
        remove_key(&mut tree, &key);
        let origin = origin_of(&key);
        problems.push(Problem { key, message: "unknown setting".to_owned(), origin });
    }
    let config = Config::builder().add_source(Tree(tree)).build().map_err(SettingsError::Load)?;

    let deserialized = deserialize(config, &mut |key, message| {
        let origin = origin_of(key);
        problems.push(Problem { key: key.to_owned(), message, origin });
    })?;
    let Some(mut settings) = deserialized else { return Err(SettingsError::Invalid(problems)) };
    let mut checked = crate::secret::read_secret_files(&mut settings);
    checked.extend(settings.check());
    if let Some(path) = &settings.security.clients_file {
        match load_clients(path) {
            Ok(_) => {}
            Err(SettingsError::Invalid(found)) => {
                checked.extend(found.into_iter().map(|problem| (problem.key, problem.message)));
            }
            Err(other) => checked.push(("security.clients_file".to_owned(), other.to_string())),
        }
    }
    for (key, message) in checked {
        let origin = origin_of(&key);
        problems.push(Problem { key, message, origin });
    }
    if !problems.is_empty() {
        return Err(SettingsError::Invalid(problems));
    }
    Ok(Loaded { settings, file, file_keys, env_vars })
}

/// Loads the clients of `security.clients_file` (a YAML file with `clients:`, a list as in
/// `security.clients`), their hash files read, and checks them all.
///
/// # Errors
/// [`SettingsError::MissingFile`], [`SettingsError::UnsafeFile`] or [`SettingsError::Load`] when the
/// file cannot be had, and [`SettingsError::Invalid`] with every problem of its clients, each
/// named `clients[i].<key>` and attributed to the file.
pub fn load_clients(path: &Path) -> Result<Vec<crate::ClientSettings>, SettingsError> {
    if !path.is_file() {
        return Err(SettingsError::MissingFile { path: path.to_owned() });
    }
    check_shape(path)?;
    let config = Config::builder()
        .add_source(File::from(path).format(FileFormat::Yaml).required(true))
        .build()
        .map_err(SettingsError::Load)?;
    let origin = ValueOrigin::File(path.to_owned());
    let problem = |key: String, message: String| Problem { key, message, origin: origin.clone() };
    let mut file: crate::ClientsFile = match config.try_deserialize() {
        Ok(file) => file,
        Err(error) => {
            let text = error.to_string();
            let key = error_key(&text).unwrap_or_else(|| "clients".to_owned());
            return Err(SettingsError::Invalid(vec![problem(key, plain(&text))]));
        }
    };
    let mut found = Vec::new();
    for (i, client) in file.clients.iter_mut().enumerate() {
        found.extend(client.read_files(&format!("clients[{i}]")));
    }
    let mut checks = crate::validate::Problems::default();
    crate::section::check_clients(&file.clients, "clients", &mut checks);
    found.extend(checks.into_inner());
    if found.is_empty() {
        Ok(file.clients)
    } else {
        Err(SettingsError::Invalid(found.into_iter().map(|(key, message)| problem(key, message)).collect()))
    }
}

/// Refuses a settings file that `config` could not load safely (see [`crate::shape`]).
fn check_shape(path: &Path) -> Result<(), SettingsError> {
    use std::io::Read as _;
    let unsafe_file = |message: String| SettingsError::UnsafeFile { path: path.to_owned(), message };
    let mut text = String::new();
    let read = std::fs::File::open(path)
        .and_then(|file| file.take(crate::shape::MAX_BYTES as u64 + 1).read_to_string(&mut text));
    match read {
        Ok(_) => crate::shape::check(&text).map_err(unsafe_file),
        // Unreadable or not UTF-8: `config` says so in its own words.
        Err(_) => Ok(()),
    }
}

/// Every key of the settings tree, as a nested map.
fn schema() -> Result<Map<String, Value>, config::ConfigError> {
    let mut shape = Settings::default();
    // Empty lists serialise to nothing; give them an item so that their keys exist.
    shape.backends.git.search_paths = vec![String::new()];
    shape.backends.git.private_key_path = Some(PathBuf::new());
    // Each client's keys are checked when the list is deserialized (`deny_unknown_fields`).
    shape.security.clients = vec![crate::ClientSettings::default()];
    shape.security.clients_file = Some(PathBuf::new());
    shape.security.audit.path = Some(PathBuf::new());
    let repo = crate::GitRepoSettings {
        pattern: vec![String::new()],
        search_paths: vec![String::new()],
        private_key_path: Some(PathBuf::new()),
        ..crate::GitRepoSettings::default()
    };
    shape.backends.git.repos.insert(ANY_NAME.to_owned(), repo);
    Config::try_from(&shape)?.collect()
}

/// Whether `key` is a list of a pattern repository: `backends.git.repos.<name>.pattern`.
fn is_repo_list_key(key: &str) -> bool {
    key.strip_prefix("backends.git.repos.")
        .and_then(|rest| rest.split_once('.'))
        .is_some_and(|(name, setting)| !name.is_empty() && REPO_LIST_KEYS.contains(&setting))
}

fn origin(
    key: &str,
    file: Option<&Path>,
    file_keys: &HashSet<String>,
    env_vars: &HashMap<String, String>,
) -> ValueOrigin {
    if let Some(name) = env_vars.get(key) {
        return ValueOrigin::Environment(name.clone());
    }
    match file {
        Some(path) if file_keys.contains(key) => ValueOrigin::File(path.to_owned()),
        _ => ValueOrigin::Default,
    }
}

/// Records every dotted key (tables included) present in a collected source.
fn collect_keys(prefix: &str, map: &Map<String, Value>, out: &mut HashSet<String>) {
    for (key, value) in map {
        let dotted = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if let ValueKind::Table(inner) = &value.kind {
            collect_keys(&dotted, inner, out);
        }
        out.insert(dotted);
    }
}

/// Calls `report` for every key of `given` that the settings tree does not have.
fn unknown_keys(prefix: &str, given: &Map<String, Value>, known: &Map<String, Value>, report: &mut dyn FnMut(&str)) {
    let mut keys: Vec<&String> = given.keys().collect();
    keys.sort();
    for key in keys {
        let dotted = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        if FREE_FORM_KEYS.contains(&dotted.as_str()) {
            continue;
        }
        let known_value = known.get(key).or_else(|| known.get(ANY_NAME));
        match (known_value.map(|v| &v.kind), &given[key].kind) {
            (None, _) => report(&dotted),
            (Some(ValueKind::Table(known_inner)), ValueKind::Table(given_inner)) => {
                unknown_keys(&dotted, given_inner, known_inner, report);
            }
            _ => {}
        }
    }
}

/// The settings, every value of the wrong type reported through `report` and replaced by its
/// default, so that one bad value does not hide the others (or the checks of the valid ones):
/// `config` stops at the first, so each is taken out in turn, at most once per setting. `None`
/// when an error names no setting that can be taken out.
fn deserialize(mut config: Config, report: &mut dyn FnMut(&str, String)) -> Result<Option<Settings>, SettingsError> {
    let defaults = Config::try_from(&Settings::default()).map_err(SettingsError::Load)?;
    let mut replaced: HashSet<String> = HashSet::new();
    loop {
        let error = match config.clone().try_deserialize::<Settings>() {
            Ok(mut settings) => {
                trim_lists(&mut settings);
                return Ok(Some(settings));
            }
            Err(error) => error,
        };
        let text = error.to_string();
        let key = error_key(&text).filter(|key| !replaced.contains(key));
        let Some(key) = key else {
            report(error_key(&text).as_deref().unwrap_or("settings"), plain(&text));
            return Ok(None);
        };
        report(&key, plain(&text));
        let default = defaults.get::<Value>(&key).unwrap_or_else(|_| Value::new(None, ValueKind::Nil));
        config = Config::builder()
            .add_source(config)
            .set_override(key.as_str(), default)
            .and_then(|builder| builder.build())
            .map_err(SettingsError::Load)?;
        replaced.insert(key);
    }
}

/// A `config` type error in plain words, without serde's type names or `config`'s idea of the
/// origin (the caller says where the value came from): "invalid value: integer `70000`, expected
/// u16 for key `server.port` in config.yaml" becomes "70000 is not a whole number from 0 to 65535".
fn plain(message: &str) -> String {
    let message = message.split(" for key `").next().unwrap_or(message);
    let Some((found, expected)) = message.split_once(", expected ") else { return message.to_owned() };
    let found = found.trim_start_matches("invalid type: ").trim_start_matches("invalid value: ");
    let value = match found.split_once(" `") {
        Some((kind, value)) => {
            let value = value.trim_end_matches('`');
            if kind == "string" { format!("{value:?}") } else { value.to_owned() }
        }
        None => match found {
            "sequence" => "a list".to_owned(),
            "map" => "a section".to_owned(),
            other => other.to_owned(),
        },
    };
    let wanted = match expected.trim() {
        "u8" | "an unsigned 8 bit integer" => "a whole number from 0 to 255",
        "u16" | "an unsigned 16 bit integer" => "a whole number from 0 to 65535",
        "u32" | "an unsigned 32 bit integer" => "a whole number from 0 to 4294967295",
        "u64" | "usize" | "an unsigned 64 bit integer" | "an unsigned 64 bit or less integer" => {
            "a whole number of 0 or more"
        }
        "i32" | "i64" | "isize" | "an integer" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a string" | "a character" => "text",
        "a sequence" => "a list",
        other if other.starts_with("struct ") || other.starts_with("a map") => "a section of settings (a map)",
        other if other.starts_with("one of ") => return format!("{value} is not {other}"),
        other => other,
    };
    format!("{value} is not {wanted}")
}

/// A settings tree already collected from every layer, as a source of its own.
#[derive(Debug, Clone)]
struct Tree(Map<String, Value>);

impl Source for Tree {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<Map<String, Value>, config::ConfigError> {
        Ok(self.0.clone())
    }
}

/// Removes the dotted `key` from `tree`.
fn remove_key(tree: &mut Map<String, Value>, key: &str) {
    match key.split_once('.') {
        None => {
            tree.remove(key);
        }
        Some((first, rest)) => {
            if let Some(ValueKind::Table(inner)) = tree.get_mut(first).map(|value| &mut value.kind) {
                remove_key(inner, rest);
            }
        }
    }
}

/// Extracts the dotted key from a `config` error message ("... for key `server.port` ...").
fn error_key(message: &str) -> Option<String> {
    let start = message.find("for key `")? + "for key `".len();
    let end = message[start..].find('`')? + start;
    Some(message[start..end].to_owned())
}

/// Environment lists are split on commas without trimming; trim them here.
fn trim_lists(settings: &mut Settings) {
    let git = &mut settings.backends.git;
    let repos = git.repos.values_mut().flat_map(|repo| [&mut repo.pattern, &mut repo.search_paths]);
    let lists = [&mut git.search_paths, &mut settings.backends.native.search_locations].into_iter().chain(repos);
    for list in lists {
        for item in list.iter_mut() {
            *item = item.trim().to_owned();
        }
        list.retain(|item| !item.is_empty());
    }
}

#[cfg(test)]
mod tests;
