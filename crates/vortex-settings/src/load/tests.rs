use std::fs;

use super::*;
use crate::Secret;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn write(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
    fs::write(file.path(), text).unwrap();
    file
}

/// The sample repository's path, so that the native backend's directory check passes.
fn sample_repo() -> String {
    format!("{}/../../config/sample-repo", env!("CARGO_MANIFEST_DIR"))
}

fn problems(result: Result<Loaded, SettingsError>) -> Vec<String> {
    match result {
        Err(err) => err.lines(),
        Ok(_) => panic!("expected problems"),
    }
}

#[test]
fn default_yaml_documents_exactly_the_defaults() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/default.yaml");
    let locations = format!("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS={}", sample_repo());
    let (name, value) = locations.split_once('=').unwrap();
    let loaded = load(Some(&path), &env(&[(name, value)])).unwrap();
    let mut expected = Settings::default();
    expected.backends.native.search_locations = vec![sample_repo()];
    assert_eq!(loaded.settings, expected);
    // Every key of the tree appears in the file.
    let known = schema().unwrap();
    let mut all = HashSet::new();
    collect_keys("", &known, &mut all);
    // The keys of one pattern repository are documented in a comment, as an example.
    for key in all.into_iter().filter(|key| !key.contains(ANY_NAME)) {
        assert!(loaded.file_keys.contains(&key), "config/default.yaml does not document {key}");
    }
}

#[test]
fn environment_overrides_file_overrides_defaults() {
    let file = write(&format!(
        "server:\n  port: 9000\ncache:\n  ttl_seconds: 10\nbackends:\n  native:\n    search_locations: [{}]\n",
        sample_repo()
    ));
    let loaded = load(
        Some(file.path()),
        &env(&[
            ("VORTEX__SERVER__PORT", "9100"),
            ("VORTEX__LOGGING__FORMAT", "pretty"),
            ("VORTEX__CACHE__MAX_BYTES", "67108864"),
            ("OTHER", "x"),
        ]),
    )
    .unwrap();
    assert_eq!(loaded.settings.cache.max_bytes, Some(64 << 20));
    assert_eq!(loaded.settings.cache.time_to_idle_seconds, None);
    assert_eq!(loaded.settings.server.port, 9100);
    assert_eq!(loaded.settings.cache.ttl_seconds, 10);
    assert_eq!(loaded.settings.cache.max_capacity, 10_000);
    assert_eq!(loaded.settings.logging.format, crate::LogFormat::Pretty);
    assert_eq!(loaded.origin("server.port"), ValueOrigin::Environment("VORTEX__SERVER__PORT".to_owned()));
    assert_eq!(loaded.origin("cache.ttl_seconds"), ValueOrigin::File(file.path().to_owned()));
    assert_eq!(loaded.origin("cache.max_capacity"), ValueOrigin::Default);
}

#[test]
fn lists_come_comma_separated_from_the_environment() {
    let other = tempfile::tempdir().unwrap();
    let value = format!("{}, {}", sample_repo(), other.path().display());
    let loaded =
        load(Some(write("{}").path()), &env(&[("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", &value)])).unwrap();
    assert_eq!(
        loaded.settings.backends.native.search_locations,
        vec![sample_repo(), other.path().display().to_string()]
    );
}

#[test]
fn secrets_come_from_the_environment_and_are_redacted() {
    let file = write(&format!("backends:\n  native:\n    search_locations: [{}]\n", sample_repo()));
    let loaded = load(
        Some(file.path()),
        &env(&[
            ("VORTEX__SECURITY__ADMIN_TOKEN", "0123456789abcdef-token"),
            ("VORTEX__BACKENDS__NATIVE__VERSION", "42"),
        ]),
    )
    .unwrap();
    let token = loaded.settings.security.admin_token.as_ref().unwrap();
    assert_eq!(token.expose(), "0123456789abcdef-token");
    assert_eq!(
        format!("{:?}", loaded.settings.security),
        "SecuritySettings { admin_token: Some(<redacted>), admin_token_file: None, webhook_secret: None, \
         webhook_secret_file: None, basic_auth: BasicAuthSettings { username: None, password: None, password_file: None }, \
         clients: [], clients_file: None, protect_metrics: false, audit: AuditSettings { enabled: false, path: None } }"
    );
    assert_eq!(loaded.settings.backends.native.version.as_deref(), Some("42"));
}

#[test]
fn secrets_come_from_files_without_their_trailing_newline() {
    let dir = tempfile::tempdir().unwrap();
    let write_secret = |name: &str, text: &str| {
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let password = write_secret("password", "s3cret with spaces\n");
    let token = write_secret("token", "0123456789abcdef-from-file\r\n");
    let webhook = write_secret("webhook", "webhook-secret-0123456789");
    let repo = sample_repo();
    let loaded = load(
        None,
        &env(&[
            ("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", &repo),
            ("VORTEX__SECURITY__BASIC_AUTH__USERNAME", "reader"),
            ("VORTEX__SECURITY__BASIC_AUTH__PASSWORD_FILE", &password),
            ("VORTEX__SECURITY__ADMIN_TOKEN_FILE", &token),
            ("VORTEX__SECURITY__WEBHOOK_SECRET_FILE", &webhook),
        ]),
    )
    .unwrap();
    let security = &loaded.settings.security;
    assert_eq!(security.basic_auth.password.as_ref().map(Secret::expose), Some("s3cret with spaces"));
    assert_eq!(security.admin_token.as_ref().map(Secret::expose), Some("0123456789abcdef-from-file"));
    assert_eq!(security.webhook_secret.as_ref().map(Secret::expose), Some("webhook-secret-0123456789"));
    // The report shows where the secret came from, never the secret.
    assert!(!format!("{security:?}").contains("s3cret"));
}

#[test]
fn the_encryption_key_comes_from_the_environment_or_a_file_and_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key");
    fs::write(&key_file, "from-a-file\n").unwrap();
    let repo = sample_repo();
    let native = ("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", repo.as_str());
    let loaded = load(None, &env(&[native, ("VORTEX__ENCRYPT__KEY_FILE", &key_file.display().to_string())])).unwrap();
    assert_eq!(loaded.settings.encrypt.key.as_ref().map(Secret::expose), Some("from-a-file"));
    assert_eq!(loaded.settings.encrypt.salt, "deadbeef");
    assert!(!format!("{:?}", loaded.settings.encrypt).contains("from-a-file"));

    let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----";
    let err = load(None, &env(&[native, ("VORTEX__ENCRYPT__KEY", pem), ("VORTEX__ENCRYPT__SALT", "nothex")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("encrypt.key") && err.contains("only symmetric keys"), "{err}");
    assert!(err.contains("encrypt.salt") && err.contains("\"nothex\" is not hexadecimal"), "{err}");
    assert!(!err.contains("MIIE"), "the key is never printed: {err}");
}

#[test]
fn a_secret_file_that_cannot_be_used_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    fs::write(&empty, "\n").unwrap();
    let missing = dir.path().join("missing");
    let (empty, missing) = (empty.display().to_string(), missing.display().to_string());
    let repo = sample_repo();
    let lines = problems(load(
        None,
        &env(&[
            ("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", &repo),
            ("VORTEX__SECURITY__BASIC_AUTH__USERNAME", "reader"),
            ("VORTEX__SECURITY__BASIC_AUTH__PASSWORD_FILE", &missing),
            ("VORTEX__SECURITY__ADMIN_TOKEN_FILE", &empty),
            ("VORTEX__SECURITY__WEBHOOK_SECRET", "inline-secret-0123456789"),
            ("VORTEX__SECURITY__WEBHOOK_SECRET_FILE", &empty),
        ]),
    ));
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with(&format!("security.admin_token_file: {empty} is empty")), "{lines:?}");
    assert!(
        lines[1].starts_with(
            "security.webhook_secret_file: set security.webhook_secret or security.webhook_secret_file, not both"
        ),
        "{lines:?}"
    );
    assert!(lines[2].starts_with(&format!("security.basic_auth.password_file: cannot read {missing}: ")), "{lines:?}");
    assert!(lines[2].ends_with("(from environment variable VORTEX__SECURITY__BASIC_AUTH__PASSWORD_FILE)"), "{lines:?}");
}

#[test]
fn limits_must_be_positive_and_tls_complete() {
    let repo = sample_repo();
    let lines = problems(load(
        None,
        &env(&[
            ("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", &repo),
            ("VORTEX__SERVER__MAX_URI_BYTES", "0"),
            ("VORTEX__SERVER__MAX_CONCURRENT_REQUESTS", "0"),
            ("VORTEX__SERVER__HEADER_READ_TIMEOUT_SECONDS", "0"),
            ("VORTEX__SERVER__TLS__CERT_PATH", "/does/not/exist.pem"),
        ]),
    ));
    assert_eq!(
        lines,
        [
            "server.max_uri_bytes: must be greater than 0 (from environment variable VORTEX__SERVER__MAX_URI_BYTES)",
            "server.max_concurrent_requests: must be greater than 0 (from environment variable VORTEX__SERVER__MAX_CONCURRENT_REQUESTS)",
            "server.header_read_timeout_seconds: must be greater than 0 (from environment variable VORTEX__SERVER__HEADER_READ_TIMEOUT_SECONDS)",
            "server.tls: set both cert_path and key_path, or neither (from built-in default)",
        ]
    );
}

#[test]
fn a_prefix_is_a_clean_absolute_path() {
    let load_prefix = |prefix: &str| {
        let repo = sample_repo();
        load(None, &env(&[("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", &repo), ("VORTEX__SERVER__PREFIX", prefix)]))
    };
    assert_eq!(load_prefix("/config/v1").unwrap().settings.server.prefix.as_deref(), Some("/config/v1"));
    for (prefix, reason) in [
        ("config", "must start with '/'"),
        ("/", "must not end with '/'"),
        ("/config/", "must not end with '/'"),
        ("/a//b", "must not have empty, '.' or '..' segments"),
        ("/a/../b", "must not have empty, '.' or '..' segments"),
        ("/{app}", "may only hold letters"),
        ("/a b", "may only hold letters"),
    ] {
        let lines = problems(load_prefix(prefix));
        assert_eq!(lines.len(), 1, "{prefix}: {lines:?}");
        assert!(lines[0].starts_with(&format!("server.prefix: {prefix:?} {reason}")), "{prefix}: {lines:?}");
    }
}

#[test]
fn every_problem_is_reported_with_key_and_origin() {
    let file = write("server:\n  port: 0\ncache:\n  ttl_seconds: 0\n  max_capacity: 0\nlogging:\n  level: loud\n");
    let lines = problems(load(
        Some(file.path()),
        &env(&[
            ("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", "/does/not/exist"),
            ("VORTEX__SECURITY__ADMIN_TOKEN", "short"),
        ]),
    ));
    let path = file.path().display().to_string();
    let expected = [
        format!("server.port: must be between 1 and 65535 (got 0) (from file {path})"),
        format!("cache.ttl_seconds: must be greater than 0 (an infinite cache would never see changes) (from file {path})"),
        format!("cache.max_capacity: must be greater than 0 (from file {path})"),
        "backends.native.search_locations: \"/does/not/exist\" is not a directory (prefix it with optional: if it may be missing) (from environment variable VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS)".to_owned(),
        format!("logging.level: \"loud\" is not one of trace, debug, info, warn, error (from file {path})"),
        "security.admin_token: must be at least 16 characters long (from environment variable VORTEX__SECURITY__ADMIN_TOKEN)".to_owned(),
    ];
    assert_eq!(lines, expected);
}

#[test]
fn unknown_keys_are_errors_wherever_they_come_from() {
    let file = write(&format!(
        "cache:\n  ttl: 5\nbackends:\n  native:\n    search_locations: [{}]\nextra: 1\n",
        sample_repo()
    ));
    let lines =
        problems(load(Some(file.path()), &env(&[("VORTEX__SERVER__PROT", "1"), ("VORTEX_CACHE__TTL_SECONDS", "5")])));
    let path = file.path().display().to_string();
    assert!(lines.contains(&format!("cache.ttl: unknown setting (from file {path})")), "{lines:#?}");
    assert!(lines.contains(&format!("extra: unknown setting (from file {path})")), "{lines:#?}");
    assert!(
        lines.contains(&"server.prot: unknown setting (from environment variable VORTEX__SERVER__PROT)".to_owned()),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("VORTEX_CACHE__TTL_SECONDS: unknown environment variable")),
        "{lines:#?}"
    );
}

#[test]
fn type_errors_name_the_key() {
    let file = write(&format!("backends:\n  native:\n    search_locations: [{}]\n", sample_repo()));
    let lines = problems(load(Some(file.path()), &env(&[("VORTEX__SERVER__PORT", "eighty")])));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("server.port: "), "{lines:?}");
    assert!(lines[0].ends_with("(from environment variable VORTEX__SERVER__PORT)"), "{lines:?}");
}

#[test]
fn backends_must_be_exactly_one_and_complete() {
    let file = write("backends:\n  git:\n    enabled: true\n    uri: ftp://example.com/repo\n");
    let lines = problems(load(Some(file.path()), &env(&[])));
    assert!(lines.iter().any(|l| l.starts_with("backends: enable only one")), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.starts_with("backends.git.uri: \"ftp://example.com/repo\" has an unsupported scheme")),
        "{lines:#?}"
    );
    let file = write("backends:\n  native:\n    enabled: false\n");
    let lines = problems(load(Some(file.path()), &env(&[])));
    assert!(lines.iter().any(|l| l.starts_with("backends: no backend is enabled")), "{lines:#?}");
}

#[test]
fn a_named_file_must_exist() {
    let err = load(Some(Path::new("/no/such/settings.yaml")), &env(&[])).unwrap_err();
    assert_eq!(err.to_string(), "settings file /no/such/settings.yaml does not exist");
}

#[test]
fn broken_yaml_in_the_settings_file_is_reported() {
    let file = write("server: [\n");
    let err = load(Some(file.path()), &env(&[])).unwrap_err();
    assert!(matches!(err, SettingsError::Load(_)), "{err:?}");
}

#[test]
fn overrides_are_yaml_flattened_to_dotted_keys() {
    let file = write(&format!(
        "backends:\n  native:\n    search_locations: [{}]\noverrides:\n  logging.level.com.Example: WARN\n  \
         feature:\n    payments: {{ enabled: false, ratio: 0.5 }}\n  hosts: [a, b]\n  port: 8080\n  empty: null\n",
        sample_repo()
    ));
    let loaded = load(Some(file.path()), &env(&[("VORTEX__OVERRIDES__FROM_ENV", "yes")])).unwrap();
    let flat = crate::flatten_overrides(&loaded.settings.overrides);
    let flat: Vec<_> = flat.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        flat,
        [
            ("empty", ""),
            ("feature.payments.enabled", "false"),
            ("feature.payments.ratio", "0.5"),
            ("from_env", "yes"),
            ("hosts[0]", "a"),
            ("hosts[1]", "b"),
            ("logging.level.com.Example", "WARN"),
            ("port", "8080"),
        ],
        "keys from the file keep their case; variables are lower-cased"
    );
}

#[test]
fn pattern_repositories_come_from_the_file_and_the_environment() {
    let file = write(
        "backends:\n  native:\n    enabled: false\n  git:\n    enabled: true\n    uri: https://git.example/default\n    \
         username: top\n    password: top-secret\n    repos:\n      team-a:\n        pattern: [orders*, 'payments/dev*']\n        \
         uri: https://git.example/team-a\n        search_paths: ['{application}']\n",
    );
    let loaded = load(
        Some(file.path()),
        &env(&[
            ("VORTEX__BACKENDS__GIT__REPOS__PROD__URI", "file:///srv/prod"),
            ("VORTEX__BACKENDS__GIT__REPOS__PROD__PATTERN", "*/prod, */production"),
            ("VORTEX__BACKENDS__GIT__REPOS__PROD__USERNAME", "deploy"),
            ("VORTEX__BACKENDS__GIT__REPOS__PROD__PASSWORD", "prod-secret"),
        ]),
    )
    .unwrap();
    let repos = &loaded.settings.backends.git.repos;
    assert_eq!(repos.keys().collect::<Vec<_>>(), ["prod", "team-a"], "in name order");
    let team = &repos["team-a"];
    assert_eq!(team.pattern, ["orders*", "payments/dev*"]);
    assert_eq!(team.uri.as_deref(), Some("https://git.example/team-a"));
    assert_eq!(team.search_paths, ["{application}"]);
    let prod = &repos["prod"];
    assert_eq!(prod.pattern, ["*/prod", "*/production"], "comma-separated, trimmed");
    assert_eq!(prod.password.as_ref().map(Secret::expose), Some("prod-secret"));
    assert_eq!(
        loaded.origin("backends.git.repos.prod.uri"),
        ValueOrigin::Environment("VORTEX__BACKENDS__GIT__REPOS__PROD__URI".to_owned())
    );
}

#[test]
fn a_pattern_repository_is_checked_like_the_default_one() {
    let file = write(
        "backends:\n  native:\n    enabled: false\n  git:\n    enabled: true\n    uri: file:///srv/default\n    repos:\n      \
         nouri:\n        pattern: [a*]\n      nopattern:\n        uri: file:///srv/x\n      typo:\n        uri: file:///srv/y\n        \
         patern: [b*]\n      default:\n        uri: file:///srv/d\n        pattern: [d*]\n      bad:\n        uri: ftp://host/z\n        pattern: ['a/b/c', '']\n        password: p\n",
    );
    let lines = problems(load(Some(file.path()), &env(&[])));
    let path = file.path().display().to_string();
    // The typo and every other problem, at once.
    assert!(lines.contains(&format!("backends.git.repos.typo.patern: unknown setting (from file {path})")));
    for expected in [
        "backends.git.repos.nouri.uri: is required for every repository",
        "backends.git.repos.nopattern.pattern: needs at least one pattern",
        "backends.git.repos.bad.uri: \"ftp://host/z\" has an unsupported scheme",
        "backends.git.repos.bad.pattern: \"a/b/c\" is not application or application/profile",
        "backends.git.repos.bad.username: is required when backends.git.repos.bad.password is set",
        "backends.git.repos.default: the name default is the repository of backends.git.uri",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(expected)), "{expected}: {lines:#?}");
    }
    // The six, the typo, and the pattern the typo left unset; empty items are dropped, as in every list.
    assert_eq!(lines.len(), 8, "{lines:#?}");
}

#[test]
fn a_git_uri_may_hold_only_the_application_placeholder() {
    let git = |uri: &str, extra: &str| {
        write(&format!(
            "backends:\n  native:\n    enabled: false\n  git:\n    enabled: true\n    uri: '{uri}'\n{extra}"
        ))
    };
    let file = git("https://git.example/config/{application}-config", "");
    assert!(load(Some(file.path()), &env(&[])).is_ok());
    for (uri, reason) in [
        ("https://git.example/{profile}/{application}", "may hold only the placeholder {application}"),
        ("https://{application}.git.example/config", "must not use placeholders in the host"),
    ] {
        let file = git(uri, "");
        let lines = problems(load(Some(file.path()), &env(&[])));
        assert!(lines.iter().any(|l| l.starts_with("backends.git.uri: ") && l.contains(reason)), "{uri}: {lines:#?}");
    }
    let file = git("https://git.example/{application}", "    max_repositories: 0\n");
    let lines = problems(load(Some(file.path()), &env(&[])));
    assert!(lines.iter().any(|l| l.starts_with("backends.git.max_repositories: must be greater than 0")), "{lines:#?}");
}

/// An unknown key, a type error and three invalid values: five lines, each naming its dotted key
/// and where its value came from, in plain words.
#[test]
fn every_problem_of_a_file_is_said_at_once() {
    let file = write(&format!(
        "server:\n  port: 70000\n  colour: blue\n  max_uri_bytes: 0\n  prefix: 'no-slash'\n\
         backends:\n  native:\n    search_locations: [{}]\ncache:\n  ttl_seconds: -5\nlogging:\n  level: loud\n",
        sample_repo()
    ));
    let lines = problems(load(Some(file.path()), &env(&[("VORTEX__SERVER__HOST", "two words")])));
    let origin = format!("(from file {})", file.path().display());
    for line in &lines {
        assert!(!line.contains("expected") && !line.contains("Settings") && !line.contains("String("), "{line}");
    }
    let expected = [
        ("server.colour: unknown setting", origin.as_str()),
        ("server.port: 70000 is not a whole number from 0 to 65535", origin.as_str()),
        ("cache.ttl_seconds: -5 is not a whole number of 0 or more", origin.as_str()),
        ("server.host: \"two words\" is not a host name", "(from environment variable VORTEX__SERVER__HOST)"),
        ("server.max_uri_bytes: must be greater than 0", origin.as_str()),
        ("server.prefix:", origin.as_str()),
        ("logging.level:", origin.as_str()),
    ];
    for (start, end) in expected {
        assert!(lines.iter().any(|l| l.starts_with(start) && l.ends_with(end)), "{start} … {end} in {lines:#?}");
    }
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
}

#[test]
fn a_client_with_an_unknown_key_is_named_and_its_hash_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let hash_file = dir.path().join("hash");
    std::fs::write(&hash_file, "$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo\n").unwrap();
    let file = dir.path().join("settings.yaml");
    let text = format!(
        "backends:\n  native:\n    search_locations: [\"{}\"]\nsecurity:\n  clients:\n    - name: a\n      username: a\n      password_file: \"{}\"\n      applications: [\"*\"]\n",
        dir.path().display(),
        hash_file.display()
    );
    std::fs::write(&file, &text).unwrap();
    let loaded = load(Some(&file), &HashMap::new()).unwrap();
    let client = &loaded.settings.security.clients[0];
    assert!(client.password_hash.as_ref().unwrap().expose().starts_with("$argon2id$"));
    assert!(!format!("{client:?}").contains("argon2id"), "a hash in Debug: {client:?}");
    std::fs::write(&file, text.replace("applications", "aplications")).unwrap();
    let err = load(Some(&file), &HashMap::new()).unwrap_err();
    let lines = err.lines().join("\n");
    assert!(lines.contains("security.clients") && lines.contains("aplications"), "{lines}");
}

#[test]
fn a_client_ca_needs_tls_and_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "backends:\n  native:\n    search_locations: [\"{}\"]\nserver:\n  tls:\n    client_ca: /nonexistent/ca.pem\n",
        dir.path().display()
    );
    let file = write(&text);
    let err = load(Some(file.path()), &HashMap::new()).unwrap_err();
    let lines = err.lines().join("\n");
    assert!(lines.contains("server.tls.client_ca: needs TLS on"), "{lines}");
    let cert = dir.path().join("cert.pem");
    fs::write(&cert, "x").unwrap();
    let with_tls = text.replace(
        "    client_ca:",
        &format!("    cert_path: \"{}\"\n    key_path: \"{}\"\n    client_ca:", cert.display(), cert.display()),
    );
    let file = write(&with_tls);
    let err = load(Some(file.path()), &HashMap::new()).unwrap_err();
    let lines = err.lines().join("\n");
    assert!(lines.contains("server.tls.client_ca: /nonexistent/ca.pem is not a file"), "{lines}");
}
