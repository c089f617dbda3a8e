//! Published third-party Spring Cloud Config clients read from a running server over HTTP: PyPI's
//! `config-client` (installed with pip into a virtualenv) and npm's `cloud-config-client`
//! (installed with npm), both kept in the target dir between runs.

use std::path::Path;
use std::process::Command;

use vortex_server::App;

#[cfg(feature = "git")]
use crate::support::git_sample_app;
use crate::support::{Server, node_tools, python_tools, sample_app};

/// A third-party client, by the program that runs it.
#[derive(Clone)]
enum Client {
    /// The virtualenv's Python, with `config-client`.
    Python(std::path::PathBuf),
    /// The reader script next to npm's `cloud-config-client`.
    Node(std::path::PathBuf),
}

impl Client {
    async fn python() -> Self {
        Self::Python(tokio::task::spawn_blocking(python_tools).await.unwrap())
    }

    async fn node() -> Self {
        Self::Node(tokio::task::spawn_blocking(node_tools).await.unwrap())
    }

    /// Reads `keys` of `app`/`profile`/`label`, on a blocking thread.
    async fn read(&self, address: &str, app: &str, profile: &str, label: &str, keys: &[&str]) -> serde_json::Value {
        let (client, address, app, profile, label) =
            (self.clone(), address.to_owned(), app.to_owned(), profile.to_owned(), label.to_owned());
        let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
        tokio::task::spawn_blocking(move || {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            match &client {
                Client::Python(python) => read_with_client(python, &address, &app, &profile, &label, &keys),
                Client::Node(reader) => read_with_node(reader, &address, &app, &profile, &label, None, &keys),
            }
        })
        .await
        .unwrap()
    }
}

/// Reads `keys` with npm's client, with basic auth when `auth` is set.
fn read_with_node(
    reader: &Path,
    address: &str,
    app: &str,
    profiles: &str,
    label: &str,
    auth: Option<(&str, &str)>,
    keys: &[&str],
) -> serde_json::Value {
    let (user, pass) = auth.unwrap_or(("", ""));
    let output = Command::new("node").arg(reader).args([address, app, profiles, label, user, pass]).args(keys).output();
    let output = output.expect("node (Node.js) is needed for the third-party client tests");
    assert!(output.status.success(), "client failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}

/// Reads `keys` with the client for `app`/`profile`/`label` and returns them as JSON.
fn read_with_client(
    python: &Path,
    address: &str,
    app: &str,
    profile: &str,
    label: &str,
    keys: &[&str],
) -> serde_json::Value {
    let script = r#"
import json, sys
from config import spring
address, app, profile, label = sys.argv[1:5]
client = spring.ConfigClient(address=address, app_name=app, profile=profile, label=label, fail_fast=False)
client.get_config(timeout=10)
out = {key: client.get(key, default=None) for key in sys.argv[5:]}
if app == "orders":
    out["@file"] = client.get_file("nginx.conf")
print(json.dumps(out))
"#;
    let output =
        Command::new(python).arg("-c").arg(script).args([address, app, profile, label]).args(keys).output().unwrap();
    assert!(output.status.success(), "client failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_config_client_reads_from_the_native_backend() {
    client_reads_merged_configuration(sample_app(), Client::python().await).await;
}

#[cfg(feature = "git")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_config_client_reads_from_the_git_backend() {
    let (app, _remote, _basedir) = git_sample_app().await;
    client_reads_merged_configuration(app, Client::python().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_config_client_reads_from_the_native_backend() {
    client_reads_merged_configuration(sample_app(), Client::node().await).await;
}

#[cfg(feature = "git")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_config_client_reads_from_the_git_backend() {
    let (app, _remote, _basedir) = git_sample_app().await;
    client_reads_merged_configuration(app, Client::node().await).await;
}

/// The same assertions for every backend and client: neither may tell the backends apart.
async fn client_reads_merged_configuration(app: App, client: Client) {
    let server = Server::start(app).await;
    let address = server.url();
    let keys = [
        "server.port",
        "db.host",
        "orders.max-items",
        "orders.currency",
        "orders.retry.attempts",
        "orders.allow-backorder",
        "logging.level.root",
        "logging.level.com.example",
        "info.environment",
        "spring.datasource.hikari.maximum-pool-size",
    ];
    let read = |profile: &'static str, label: &'static str| client.read(&address, "orders", profile, label, &keys);
    let python = matches!(client, Client::Python(_));

    let dev = read("dev", "master").await;
    assert_eq!(dev["server.port"], 8081);
    assert_eq!(dev["db.host"], "orders-db.dev.internal", "the dev document beats the base document");
    assert_eq!(dev["orders.max-items"], 500);
    assert_eq!(dev["logging.level.com.example"], "DEBUG", "application.yml's dev document applies");
    assert_eq!(dev["logging.level.root"], "INFO");
    assert_eq!(dev["info.environment"], serde_json::Value::Null);
    if python {
        let file = dev["@file"].as_str().unwrap();
        assert!(file.contains("server orders-db.dev.internal:8081;"), "{file}");
    } else {
        // The Node client nests the keys itself: the same values, as a tree.
        let object = &dev["@object"];
        assert_eq!(object["server"]["port"], 8081, "{object}");
        assert_eq!(object["db"]["host"], "orders-db.dev.internal", "{object}");
    }

    let prod = read("prod", "master").await;
    assert_eq!(prod["server.port"], 8443, "orders-prod.yml beats orders.yml");
    assert_eq!(prod["orders.retry.attempts"], 5);
    assert_eq!(prod["orders.allow-backorder"], true);
    assert_eq!(prod["logging.level.root"], "WARN");
    assert_eq!(prod["info.environment"], "production");
    assert_eq!(prod["spring.datasource.hikari.maximum-pool-size"], 50);
    if python {
        assert!(prod["@file"].as_str().unwrap().contains("keepalive 64;"));
    }

    // The Node client sends the list percent-encoded (`dev%2Cprod`), the Python one as is.
    let both = read("dev,prod", "master").await;
    assert_eq!(both["db.host"], "orders-db.prod.internal", "the last profile wins");
    assert_eq!(both["orders.max-items"], 500);

    let labelled = read("dev", "v2").await;
    assert_eq!(labelled["orders.max-items"], 100, "the v2 label directory wins");
    assert_eq!(labelled["orders.currency"], "USD");
    assert_eq!(labelled["db.host"], "orders-db.dev.internal");

    let payments = client.read(
        &address,
        "payments",
        "dev",
        "master",
        &["payments.provider", "payments.timeout-ms", "server.port"],
    );
    let payments = payments.await;
    assert_eq!(payments["payments.provider"], "sandbox");
    assert_eq!(payments["payments.timeout-ms"], "10000", ".properties values are strings");
    assert_eq!(payments["server.port"], "8082");
    server.stop().await.unwrap();
}

/// The Node client's basic auth (`auth: {user, pass}`) against `security.basic_auth`: the right
/// password reads, a wrong one is refused with 401, and so is none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_config_client_authenticates_with_basic_auth() {
    let reader = tokio::task::spawn_blocking(node_tools).await.unwrap();
    let mut settings = vortex_settings::Settings::default();
    settings.backends.native.search_locations = vec![crate::support::sample_repo().display().to_string()];
    settings.security.basic_auth.username = Some("fleet".to_owned());
    settings.security.basic_auth.password = Some(vortex_settings::Secret::new("s3cret-fleet-password"));
    let server =
        Server::start(vortex_server::app(vortex_server::AppState::from_settings(&settings).await.unwrap())).await;
    let address = server.url();
    let read = |auth: Option<(&'static str, &'static str)>| {
        let (reader, address) = (reader.clone(), address.clone());
        tokio::task::spawn_blocking(move || {
            read_with_node(&reader, &address, "orders", "dev", "", auth, &["server.port"])
        })
    };
    assert_eq!(read(Some(("fleet", "s3cret-fleet-password"))).await.unwrap()["server.port"], 8081);
    assert_eq!(read(Some(("fleet", "wrong"))).await.unwrap()["@error"], "Invalid response: 401");
    assert_eq!(read(None).await.unwrap()["@error"], "Invalid response: 401");
    server.stop().await.unwrap();
}

/// With `encrypt.key`, the client gets `{cipher}` values decrypted, as from a Spring server: a
/// value Spring encrypted (the documentation's `mysecret` under the key `foo`) and one that
/// `POST /encrypt` made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_config_client_receives_decrypted_values() {
    use vortex_core::cipher::{DEFAULT_SALT, InvalidCipher, TextEncryptor};

    let python = tokio::task::spawn_blocking(python_tools).await.unwrap();
    let encryptor = TextEncryptor::new("foo", DEFAULT_SALT).unwrap();
    let made_here = encryptor.encrypt("token-42").unwrap();
    let spring = "682bc583f4641835fa2db009355293665d2647dade3375c0ee201de2a49f7bda";
    let yaml = format!("db:\n  password: '{{cipher}}{spring}'\napi:\n  token: '{{cipher}}{made_here}'\n");
    let repo = crate::support::TempRepo::new(&[("vault.yml", &yaml)]);
    let state = vortex_server::AppState::builder(
        std::sync::Arc::new(crate::support::native_backend(repo.dir.path())),
        "native",
    )
    .encryption(encryptor, Some(InvalidCipher::Prefix))
    .build();
    let server = Server::start(vortex_server::app(state)).await;
    let address = server.url();
    let read = tokio::task::spawn_blocking(move || {
        read_with_client(&python, &address, "vault", "default", "master", &["db.password", "api.token"])
    });
    let values = read.await.unwrap();
    assert_eq!(values["db.password"], "mysecret");
    assert_eq!(values["api.token"], "token-42");
    server.stop().await.unwrap();
}
