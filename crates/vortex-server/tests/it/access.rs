//! Access policies over real HTTP: three clients with different scopes and roles against every
//! route family, in scope, out of scope, for an application that does not exist, and with bad
//! credentials; rotation of the clients file under reads.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher;
use base64::Engine as _;

use crate::support::{Server, TempRepo, raw_request};

const ORDERS_SECRET: &str = "orders-db-password-7f3a";
const PAYMENTS_SECRET: &str = "payments-db-password-91bc";
const SHARED_VALUE: &str = "shared-by-every-application";
const ADMIN_TOKEN: &str = "legacy-admin-token-0123456789";
const CI_TOKEN: &str = "ci-token-5d1e9a0b7c";
const KEY: &str = "an-encryption-key-for-the-tests";

/// A cheap argon2id hash (the server reads the parameters from the hash): tests verify many.
fn hash(secret: &str) -> String {
    let params = argon2::Params::new(1024, 1, 1, None).unwrap();
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    argon.hash_password(secret.as_bytes()).unwrap().to_string()
}

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Authorization: Basic {encoded}\r\n")
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}\r\n")
}

fn repo() -> TempRepo {
    TempRepo::new(&[
        ("application.yml", &format!("shared: {SHARED_VALUE}\n")),
        ("orders.yml", "server:\n  port: 8081\n"),
        ("orders-prod.yml", &format!("db:\n  password: {ORDERS_SECRET}\n")),
        ("orders-worker-prod.yml", "worker:\n  threads: 4\n"),
        ("payments.yml", &format!("db:\n  password: {PAYMENTS_SECRET}\n")),
        ("notes.txt", "notes for every application\n"),
    ])
}

fn clients_yaml(indent: &str) -> String {
    let lines = [
        "- name: orders".to_owned(),
        "  username: orders".to_owned(),
        format!("  password_hash: \"{}\"", hash("orders-pw")),
        "  applications: [\"orders\", \"orders-*\"]".to_owned(),
        "  profiles: [\"prod\", \"default\"]".to_owned(),
        "  labels: [\"master\"]".to_owned(),
        "- name: ci".to_owned(),
        format!("  token_hash: \"{}\"", hash(CI_TOKEN)),
        "  applications: [\"*\"]".to_owned(),
        "  roles: [read, encrypt]".to_owned(),
        "- name: ops".to_owned(),
        "  username: ops".to_owned(),
        format!("  password_hash: \"{}\"", hash("ops-pw")),
        "  roles: [admin]".to_owned(),
    ];
    lines.iter().map(|line| format!("{indent}{line}\n")).collect()
}

/// A server over `repo` with `security` (YAML, indented under `security:`).
async fn server(repo: &Path, security: &str, dir: &Path) -> Server {
    let settings = format!(
        "backends:\n  native:\n    enabled: true\n    watch_interval_seconds: 0\n    search_locations: [\"{}\"]\n\
         encrypt:\n  key: \"{KEY}\"\nsecurity:\n  admin_token: \"{ADMIN_TOKEN}\"\n{security}",
        repo.display()
    );
    let file = dir.join("settings.yaml");
    std::fs::write(&file, settings).unwrap();
    let loaded = vortex_settings::load(Some(&file), &HashMap::new()).unwrap();
    Server::start(vortex_server::app_from_settings(&loaded.settings).await.unwrap()).await
}

/// One request over TCP: its status and body.
async fn call(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &str) -> (u16, String) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, _, body) = raw_request(addr, &request).await;
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The read routes of one application, each as (family, path).
fn reads(application: &str) -> Vec<(&'static str, String)> {
    vec![
        ("environment", format!("/{application}/prod")),
        ("environment with a label", format!("/{application}/prod/master")),
        ("flat without a label", format!("/{application}-prod.yml")),
        ("flat with a label", format!("/master/{application}-prod.properties")),
        ("resource", format!("/{application}/prod/master/notes.txt")),
        ("long-poll", format!("/{application}/prod?wait=1")),
    ]
}

#[tokio::test]
async fn every_route_family_answers_each_client_as_its_scope_says() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let security = format!("  clients:\n{}", clients_yaml("    "));
    let server = server(repo.dir.path(), &security, dir.path()).await;
    let addr = server.addr;
    let orders = basic("orders", "orders-pw");
    let ci = bearer(CI_TOKEN);
    let ops = basic("ops", "ops-pw");
    let wrong = basic("orders", "orders-pw-");
    let held = "If-None-Match: \"not-the-tag\"\r\n";

    for (family, path) in reads("orders") {
        let extra = if family == "long-poll" { held } else { "" };
        for (who, credentials, expected) in [
            ("orders", orders.as_str(), 200),
            ("ci", ci.as_str(), 200),
            ("ops (no read role)", ops.as_str(), 403),
            ("wrong password", wrong.as_str(), 401),
            ("anonymous", "", 401),
        ] {
            let (status, body) = call(addr, "GET", &path, &format!("{credentials}{extra}"), "").await;
            assert_eq!(status, expected, "{who} on {family} {path}: {body}");
            assert!(!body.contains(PAYMENTS_SECRET), "{who} on {path} saw payments' secret");
            if status != 200 {
                assert!(!body.contains(ORDERS_SECRET) && !body.contains(SHARED_VALUE), "{who} on {path}: {body}");
            }
        }
    }
    // Out of scope: the same answer for an application that exists and one that does not.
    for ((family, payments), (_, nosuch)) in reads("payments").into_iter().zip(reads("nosuch")) {
        let extra = if family == "long-poll" { held } else { "" };
        let headers = format!("{orders}{extra}");
        let (status, body) = call(addr, "GET", &payments, &headers, "").await;
        let (other_status, other_body) = call(addr, "GET", &nosuch, &headers, "").await;
        assert_eq!(status, 403, "orders on {family} {payments}: {body}");
        assert_eq!((status, &body), (other_status, &other_body), "{family}: probing tells names apart");
        assert!(!body.contains(PAYMENTS_SECRET) && !body.contains(SHARED_VALUE), "{body}");
        let (status, body) = call(addr, "GET", &payments, &format!("{ci}{extra}"), "").await;
        assert_eq!(status, 200, "ci on {family} {payments}: {body}");
    }
    // Every application of a multi-application request, every profile, every label.
    for path in ["/orders,payments/prod", "/orders/prod,dev", "/orders/prod/main", "/orders/prod/master,main"] {
        let (status, body) = call(addr, "GET", path, &orders, "").await;
        assert_eq!(status, 403, "orders on {path}: {body}");
    }
    let (status, body) = call(addr, "GET", "/orders-worker/prod", &orders, "").await;
    assert_eq!(status, 200, "orders-* covers orders-worker: {body}");
    // Malformed credentials are wrong credentials: 401, nothing else.
    let long = format!("Authorization: Basic {}\r\n", "A".repeat(8000));
    for header in [
        "Authorization: Basic !!!not-base64!!!\r\n",
        "Authorization: Basic b3JkZXJz\r\n",
        "Authorization: Basic\r\n",
        "Authorization: Bearer\r\n",
        "Authorization: Negotiate abc\r\n",
        "Authorization: Basic w7xzZXI6cGFzcw==\r\n",
        long.as_str(),
    ] {
        let (status, body) = call(addr, "GET", "/orders/prod", header, "").await;
        assert_eq!(status, 401, "{header:.60}: {body}");
    }
    // A stream is a read too.
    let stream = "Accept: text/event-stream\r\n";
    let (status, _) = call(addr, "GET", "/payments/prod?wait=1", &format!("{orders}{stream}"), "").await;
    assert_eq!(status, 403, "a stream out of scope");

    // Encryption: the `encrypt` role (ci), scoped in its `/{name}/{profiles}` form.
    for (who, credentials, path, expected) in [
        ("ci", ci.as_str(), "/encrypt", 200),
        ("ci", ci.as_str(), "/encrypt/payments/prod", 200),
        ("orders", orders.as_str(), "/encrypt", 403),
        ("anonymous", "", "/encrypt", 401),
        ("ops", ops.as_str(), "/encrypt", 403),
    ] {
        let (status, body) = call(addr, "POST", path, credentials, "plain").await;
        assert_eq!(status, expected, "{who} POST {path}: {body}");
    }
    let (_, cipher) = call(addr, "POST", "/encrypt", &ci, "plain").await;
    // Decryption: the `decrypt` role, which only the admin token has here.
    for (who, credentials, expected) in [
        ("ci", ci.as_str(), 403),
        ("ops", ops.as_str(), 403),
        ("admin token", bearer(ADMIN_TOKEN).as_str(), 200),
        ("anonymous", "", 401),
    ] {
        let (status, body) = call(addr, "POST", "/decrypt", credentials, &cipher).await;
        assert_eq!(status, expected, "{who} POST /decrypt: {body}");
        if status == 200 {
            assert_eq!(body, "plain");
        }
    }
    // The admin API and `/monitor`: the `admin` role.
    for (who, credentials, expected) in
        [("ops", ops.as_str(), 200), ("orders", orders.as_str(), 403), ("ci", ci.as_str(), 403), ("anonymous", "", 401)]
    {
        let (status, body) = call(addr, "GET", "/cache", credentials, "").await;
        assert_eq!(status, expected, "{who} GET /cache: {body}");
        let (status, body) = call(addr, "POST", "/monitor", credentials, r#"{"path":["orders.yml"]}"#).await;
        assert_eq!(status, expected, "{who} POST /monitor: {body}");
    }
    // Health details only for an admin (or `health`) client; the bare status for others.
    let (status, body) = call(addr, "GET", "/health", "", "").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"UP"}"#));
    let (status, body) = call(addr, "GET", "/health", &orders, "").await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"UP"}"#));
    let (status, body) = call(addr, "GET", "/health", &ops, "").await;
    assert_eq!(status, 200);
    assert!(body.contains(&repo.dir.path().display().to_string()), "an admin sees the details: {body}");
    // Requests by client, refusals by reason.
    #[cfg(feature = "metrics")]
    assert_counted(addr).await;
    server.stop().await.unwrap();
}

/// The matrix's requests, counted by client and its refusals by reason.
#[cfg(feature = "metrics")]
async fn assert_counted(addr: SocketAddr) {
    let (_, metrics) = call(addr, "GET", "/metrics", "", "").await;
    let value = |series: &str| -> f64 {
        let line = metrics.lines().find(|l| l.starts_with(series)).unwrap_or_else(|| panic!("no {series}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    assert!(value(r#"vortex_access_requests_total{client="orders"}"#) >= 20.0, "{metrics}");
    assert!(value(r#"vortex_access_requests_total{client="ci"}"#) >= 10.0);
    assert!(value(r#"vortex_access_requests_total{client="anonymous"}"#) >= 8.0);
    assert!(value(r#"vortex_access_denied_total{reason="out_of_scope"}"#) >= 10.0);
    assert!(value(r#"vortex_access_denied_total{reason="wrong_credentials"}"#) >= 6.0);
    assert!(value(r#"vortex_access_denied_total{reason="missing_credentials"}"#) >= 6.0);
    assert!(!metrics.contains("orders-pw") && !metrics.contains(CI_TOKEN));
}

#[cfg(feature = "metrics")]
#[tokio::test]
async fn protected_metrics_need_the_health_or_admin_role() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let security = format!(
        "  protect_metrics: true
  clients:
{}",
        clients_yaml("    ")
    );
    let server = server(repo.dir.path(), &security, dir.path()).await;
    let addr = server.addr;
    assert_eq!(call(addr, "GET", "/metrics", "", "").await.0, 401);
    assert_eq!(call(addr, "GET", "/metrics", &basic("orders", "orders-pw"), "").await.0, 403);
    assert_eq!(call(addr, "GET", "/actuator/prometheus", &basic("orders", "orders-pw"), "").await.0, 403);
    assert_eq!(call(addr, "GET", "/metrics", &basic("ops", "ops-pw"), "").await.0, 200);
    // Probes stay open.
    assert_eq!(call(addr, "GET", "/actuator/health/liveness", "", "").await.0, 200);
    assert_eq!(call(addr, "GET", "/actuator/health/readiness", "", "").await.0, 200);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn plain_text_secrets_and_broken_hashes_are_refused_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("settings.yaml");
    let settings = "security:\n  clients:\n\
        \x20   - name: a\n      username: a\n      password: hunter2\n      applications: [\"*\"]\n\
        \x20   - name: a\n      token_hash: \"not-a-hash\"\n\
        \x20   - username: c\n      password_hash: \"$argon2id$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$aGFzaA\"\n      applications: [\"*\"]\n";
    std::fs::write(&file, settings).unwrap();
    let err = vortex_settings::load(Some(&file), &HashMap::new()).unwrap_err();
    let lines = err.lines();
    let text = lines.join("\n");
    for expected in [
        "security.clients[0].password: a password is never stored as written",
        "hash-password",
        "security.clients[1].token_hash: is not an argon2id hash",
        "security.clients[1].name: \"a\" names another client too",
        "security.clients[1].applications: is required",
        "security.clients[2].name: is required",
    ] {
        assert!(text.contains(expected), "no {expected:?} in\n{text}");
    }
    assert!(!text.contains("hunter2"), "a secret in the problems: {text}");
}

#[tokio::test]
async fn a_new_clients_file_applies_under_reads_and_an_invalid_one_changes_nothing() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let clients = dir.path().join("clients.yaml");
    let first = format!(
        "clients:\n  - name: reader\n    username: reader\n    password_hash: \"{}\"\n    applications: [\"orders\"]\n",
        hash("first-pw")
    );
    std::fs::write(&clients, &first).unwrap();
    let security = format!("  clients_file: \"{}\"\n", clients.display());
    let server = server(repo.dir.path(), &security, dir.path()).await;
    let addr = server.addr;
    let old = basic("reader", "first-pw");
    let new = basic("reader", "second-pw");
    assert_eq!(call(addr, "GET", "/orders/prod", &old, "").await.0, 200);
    assert_eq!(call(addr, "GET", "/payments/prod", &old, "").await.0, 403);

    // Reads with the credentials in force run throughout: none fails.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let stop = std::sync::Arc::clone(&stop);
        tokio::spawn(async move {
            let (mut served, mut failed) = (0, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match call(addr, "GET", "/orders/prod", &basic("reader", "first-pw"), "").await.0 {
                    200 => served += 1,
                    // The old password stops once the new file is read; then the new one works.
                    401 => break,
                    other => failed.push(other),
                }
            }
            (served, failed)
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    // An invalid replacement is refused whole: the old credentials keep working.
    std::fs::write(&clients, "clients:\n  - name: reader\n    username: reader\n    password: plain\n").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(call(addr, "GET", "/orders/prod", &old, "").await.0, 200, "an invalid file changed the policy");
    // A valid one: new password, new scope.
    let second = format!(
        "clients:\n  - name: reader\n    username: reader\n    password_hash: \"{}\"\n    applications: [\"payments\"]\n",
        hash("second-pw")
    );
    std::fs::write(&clients, second).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while call(addr, "GET", "/payments/prod", &new, "").await.0 != 200 {
        assert!(Instant::now() < deadline, "the new clients file was not applied");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (served, failed) = reader.await.unwrap();
    assert!(served > 0 && failed.is_empty(), "served {served}, failed {failed:?}");
    assert_eq!(call(addr, "GET", "/orders/prod", &new, "").await.0, 403, "the new scope applies");
    assert_eq!(call(addr, "GET", "/orders/prod", &old, "").await.0, 401, "the old password stopped");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_audit_log_has_a_line_per_decision_and_no_log_holds_a_secret() {
    let repo = repo();
    let dir = tempfile::tempdir().unwrap();
    let clients = dir.path().join("clients.yaml");
    std::fs::write(&clients, format!("clients:\n{}", clients_yaml("  "))).unwrap();
    let audit = dir.path().join("audit.log");
    let server = crate::binary::Running::start(&[
        ("VORTEX__BACKENDS__NATIVE__ENABLED", "true"),
        ("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS", &repo.dir.path().display().to_string()),
        ("VORTEX__SECURITY__CLIENTS_FILE", &clients.display().to_string()),
        ("VORTEX__SECURITY__AUDIT__ENABLED", "true"),
        ("VORTEX__SECURITY__AUDIT__PATH", &audit.display().to_string()),
        ("VORTEX__ENCRYPT__KEY", KEY),
        ("VORTEX__LOGGING__LEVEL", "debug"),
    ]);
    let addr = server.addr;
    let requests = [
        ("GET", "/orders/prod", basic("orders", "orders-pw"), 200),
        ("GET", "/master/orders-prod.properties", basic("orders", "orders-pw"), 200),
        ("GET", "/payments/prod", basic("orders", "orders-pw"), 403),
        ("GET", "/orders/prod", basic("orders", "orders-pw-wrong"), 401),
        ("GET", "/orders/prod", String::new(), 401),
        ("POST", "/encrypt", bearer(CI_TOKEN), 200),
        ("POST", "/decrypt", bearer(CI_TOKEN), 403),
        ("GET", "/cache", basic("ops", "ops-pw"), 200),
        ("POST", "/monitor", basic("ops", "ops-pw"), 400),
    ];
    for (method, path, credentials, expected) in &requests {
        let (status, body) = call(addr, method, path, credentials, "plain").await;
        assert_eq!(status, *expected, "{method} {path}: {body}");
    }
    // A rotation to a file with a plain-text password: refused, and the password is not logged.
    std::fs::write(&clients, "clients:\n  - name: x\n    username: x\n    password: leaked-if-logged\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let lines = loop {
        let text = std::fs::read_to_string(&audit).unwrap_or_default();
        if text.lines().count() >= requests.len() {
            break text.lines().map(str::to_owned).collect::<Vec<_>>();
        }
        assert!(Instant::now() < deadline, "audit lines so far:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let log = server.terminate();
    assert_eq!(lines.len(), requests.len(), "{lines:#?}");
    for (line, (method, path, _, status)) in lines.iter().zip(&requests) {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(entry["method"], *method, "{line}");
        assert_eq!(entry["status"], *status, "{line}");
        assert!(entry["time"].as_str().unwrap().ends_with('Z'), "{line}");
        let client = entry["client"].as_str();
        match *status {
            401 => assert_eq!(client, None, "{line}"),
            _ if path.contains("cache") || path.contains("monitor") => assert_eq!(client, Some("ops"), "{line}"),
            _ if *method == "POST" => assert_eq!(client, Some("ci"), "{line}"),
            _ => assert_eq!(client, Some("orders"), "{line}"),
        }
        if *method == "GET" && !path.contains("cache") {
            let application = if path.contains("payments") { "payments" } else { "orders" };
            assert_eq!(entry["application"], application, "{line}");
            assert_eq!(entry["profiles"], "prod", "{line}");
        }
        if *status == 200 {
            assert!(entry["bytes"].as_u64().unwrap() > 0, "{line}");
        }
    }
    assert_eq!(serde_json::from_str::<serde_json::Value>(&lines[0]).unwrap()["route"], "/{a}/{b}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&lines[1]).unwrap()["label"], "master");
    assert!(log.iter().any(|l| l.contains("security.clients_file: refused")), "{log:#?}");
    let audit_text = lines.join("\n");
    let header = basic("orders", "orders-pw");
    let encoded = header.trim_end().rsplit(' ').next().unwrap();
    for secret in ["orders-pw", "ops-pw", CI_TOKEN, "leaked-if-logged", KEY, ORDERS_SECRET, "$argon2id$", encoded] {
        assert!(!audit_text.contains(secret), "{secret} in the audit log");
        for line in &log {
            assert!(!line.contains(secret), "{secret} in the log: {line}");
        }
    }
}

#[cfg(feature = "tls")]
mod mutual_tls {
    use std::path::PathBuf;
    use std::sync::Arc;

    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
    };
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio_rustls::TlsConnector;
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    use super::*;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls").join(name)
    }

    fn authority(name: &str) -> CertifiedIssuer<'static, KeyPair> {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
    }

    /// A client certificate for `name`, signed by `ca`, and its key.
    fn client(name: &str, ca: &CertifiedIssuer<'static, KeyPair>) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, ca).unwrap();
        (certificate.der().clone(), PrivatePkcs8KeyDer::from(key.serialize_der()).into())
    }

    fn connector(identity: Option<(CertificateDer<'static>, PrivateKeyDer<'static>)>) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(fixture("ca.pem")).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let config = match identity {
            Some((cert, key)) => builder.with_client_auth_cert(vec![cert], key).unwrap(),
            None => builder.with_no_client_auth(),
        };
        TlsConnector::from(Arc::new(config))
    }

    /// A GET over TLS: the status, or `None` when the connection failed (a refused handshake).
    async fn get(addr: SocketAddr, connector: &TlsConnector, path: &str) -> Option<u16> {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let mut tls = connector.connect(ServerName::try_from("localhost").unwrap(), tcp).await.ok()?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        tls.write_all(request.as_bytes()).await.ok()?;
        let mut raw = Vec::new();
        tls.read_to_end(&mut raw).await.ok()?;
        std::str::from_utf8(raw.get(9..12)?).ok()?.parse().ok()
    }

    #[tokio::test]
    async fn a_client_certificate_identifies_a_scoped_client_and_another_authority_is_refused() {
        let repo = repo();
        let dir = tempfile::tempdir().unwrap();
        let ca = authority("vortex test clients");
        let ca_file = dir.path().join("clients-ca.pem");
        std::fs::write(&ca_file, ca.pem()).unwrap();
        let settings = format!(
            "server:\n  host: 127.0.0.1\n  tls:\n    cert_path: \"{}\"\n    key_path: \"{}\"\n    client_ca: \"{}\"\n\
             backends:\n  native:\n    enabled: true\n    search_locations: [\"{}\"]\n\
             security:\n  clients:\n    - name: orders-service\n      certificate_subject: orders.internal\n\
             \x20     applications: [\"orders\"]\n",
            fixture("server.pem").display(),
            fixture("server.key").display(),
            ca_file.display(),
            repo.dir.path().display()
        );
        let file = dir.path().join("settings.yaml");
        std::fs::write(&file, settings).unwrap();
        let settings = vortex_settings::load(Some(&file), &HashMap::new()).unwrap().settings;
        let options = vortex_server::ServeOptions::from_settings(&settings.server).unwrap();
        let app = vortex_server::app_from_settings(&settings).await.unwrap();
        let server = Server::start_with(app, options).await;
        let addr = server.addr;

        let orders = connector(Some(client("orders.internal", &ca)));
        assert_eq!(get(addr, &orders, "/orders/prod").await, Some(200));
        assert_eq!(get(addr, &orders, "/payments/prod").await, Some(403));
        // Signed by the authority, but for a name no client has.
        let stranger = connector(Some(client("someone.internal", &ca)));
        assert_eq!(get(addr, &stranger, "/orders/prod").await, Some(401));
        // No certificate: served, but anonymous.
        assert_eq!(get(addr, &connector(None), "/orders/prod").await, Some(401));
        // The right name from another authority: refused at the handshake.
        let foreign = connector(Some(client("orders.internal", &authority("someone else"))));
        assert_eq!(get(addr, &foreign, "/orders/prod").await, None);
        server.stop().await.unwrap();
    }
}
