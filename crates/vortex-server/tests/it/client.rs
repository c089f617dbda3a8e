//! A published third-party Spring Cloud Config client (PyPI `config-client`) reads from a running
//! server over HTTP. The test creates a virtualenv (kept in the target dir between runs) and
//! installs the client into it with pip.

use std::path::Path;
use std::process::Command;

use vortex_server::App;

#[cfg(feature = "git")]
use crate::support::git_sample_app;
use crate::support::{Server, python_tools, sample_app};

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
    client_reads_merged_configuration(sample_app()).await;
}

#[cfg(feature = "git")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_config_client_reads_from_the_git_backend() {
    let (app, _remote, _basedir) = git_sample_app().await;
    client_reads_merged_configuration(app).await;
}

/// The same assertions for every backend: the client must not be able to tell them apart.
async fn client_reads_merged_configuration(app: App) {
    let python = tokio::task::spawn_blocking(python_tools).await.unwrap();
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
    let read = |profile: &'static str, label: &'static str| {
        let (python, address) = (python.clone(), address.clone());
        tokio::task::spawn_blocking(move || read_with_client(&python, &address, "orders", profile, label, &keys))
    };

    let dev = read("dev", "master").await.unwrap();
    assert_eq!(dev["server.port"], 8081);
    assert_eq!(dev["db.host"], "orders-db.dev.internal", "the dev document beats the base document");
    assert_eq!(dev["orders.max-items"], 500);
    assert_eq!(dev["logging.level.com.example"], "DEBUG", "application.yml's dev document applies");
    assert_eq!(dev["logging.level.root"], "INFO");
    assert_eq!(dev["info.environment"], serde_json::Value::Null);
    let file = dev["@file"].as_str().unwrap();
    assert!(file.contains("server orders-db.dev.internal:8081;"), "{file}");

    let prod = read("prod", "master").await.unwrap();
    assert_eq!(prod["server.port"], 8443, "orders-prod.yml beats orders.yml");
    assert_eq!(prod["orders.retry.attempts"], 5);
    assert_eq!(prod["orders.allow-backorder"], true);
    assert_eq!(prod["logging.level.root"], "WARN");
    assert_eq!(prod["info.environment"], "production");
    assert_eq!(prod["spring.datasource.hikari.maximum-pool-size"], 50);
    assert!(prod["@file"].as_str().unwrap().contains("keepalive 64;"));

    let both = read("dev,prod", "master").await.unwrap();
    assert_eq!(both["db.host"], "orders-db.prod.internal", "the last profile wins");
    assert_eq!(both["orders.max-items"], 500);

    let labelled = read("dev", "v2").await.unwrap();
    assert_eq!(labelled["orders.max-items"], 100, "the v2 label directory wins");
    assert_eq!(labelled["orders.currency"], "USD");
    assert_eq!(labelled["db.host"], "orders-db.dev.internal");

    let python2 = python.clone();
    let address2 = address.clone();
    let payments = tokio::task::spawn_blocking(move || {
        read_with_client(
            &python2,
            &address2,
            "payments",
            "dev",
            "master",
            &["payments.provider", "payments.timeout-ms", "server.port"],
        )
    })
    .await
    .unwrap();
    assert_eq!(payments["payments.provider"], "sandbox");
    assert_eq!(payments["payments.timeout-ms"], "10000", ".properties values are strings");
    assert_eq!(payments["server.port"], "8082");
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
    let state =
        vortex_server::AppState::new(std::sync::Arc::new(crate::support::native_backend(repo.dir.path())), "native")
            .with_encryption(encryptor, Some(InvalidCipher::Prefix));
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
