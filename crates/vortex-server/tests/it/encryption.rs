//! `{cipher}` values and the encryption endpoints, against cipher texts made by Spring.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use vortex_core::cipher::{DEFAULT_SALT, InvalidCipher, TextEncryptor};
use vortex_server::{App, AppState, Builder, V2_MEDIA_TYPE, app};
use vortex_settings::{Secret, Settings};

use crate::support::{Reply, TempRepo, get, get_with, native_backend, send};

/// `mysecret` encrypted by Spring with the key `foo` and the default salt (the Spring Cloud Config
/// documentation's example).
const SPRING_CIPHER: &str = "682bc583f4641835fa2db009355293665d2647dade3375c0ee201de2a49f7bda";
const KEY: &str = "foo";
const TOKEN: &str = "admin-token-0123456789";

fn vault() -> TempRepo {
    TempRepo::new(&[
        (
            "vault.yml",
            &format!(
                "db:\n  user: app\n  password: '{{cipher}}{SPRING_CIPHER}'\n  url: jdbc:pg://db?password=${{db.password}}\n\
                 broken: '{{cipher}}00ff'\n"
            ),
        ),
        ("application.properties", &format!("shared.secret={{cipher}}{{key:fleet}}{SPRING_CIPHER}\nshared.plain=x\n")),
        ("conn.txt", "password=${db.password}\n"),
    ])
}

fn encryptor() -> TextEncryptor {
    TextEncryptor::new(KEY, DEFAULT_SALT).unwrap()
}

fn state(repo: &TempRepo) -> Builder {
    AppState::builder(Arc::new(native_backend(repo.dir.path())), "native")
}

/// Settings serving `repo` natively with the key `foo`.
fn keyed_settings(repo: &TempRepo) -> Settings {
    let mut settings = Settings::default();
    settings.backends.native.search_locations = vec![repo.dir.path().display().to_string()];
    settings.encrypt.key = Some(Secret::new(KEY));
    settings
}

fn source_keys(json: &serde_json::Value, index: usize) -> Vec<String> {
    json["propertySources"][index]["source"].as_object().unwrap().keys().cloned().collect()
}

async fn post(app: &App, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut request = Request::post(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    send(app, request.body(Body::from(body.to_owned())).unwrap()).await
}

#[tokio::test]
async fn cipher_values_are_served_decrypted_in_every_format() {
    let repo = vault();
    let app = app(state(&repo).encryption(encryptor(), Some(InvalidCipher::Prefix)).build());

    let json = get(&app, "/vault/default").await.json();
    let vault = &json["propertySources"][0]["source"];
    assert_eq!(vault["db.password"], "mysecret");
    assert_eq!(vault["invalid.broken"], "<n/a>");
    assert!(vault.get("broken").is_none(), "{vault}");
    // Spring removes a decrypted entry and puts it back: it moves to the end of its source.
    assert_eq!(source_keys(&json, 0), ["db.user", "db.url", "db.password", "invalid.broken"]);
    assert_eq!(json["propertySources"][1]["source"]["shared.secret"], "mysecret", "{{key:...}} groups are skipped");
    assert_eq!(source_keys(&json, 1), ["shared.plain", "shared.secret"]);

    let v2 = get_with(&app, "/vault/default", &[("Accept", V2_MEDIA_TYPE)]).await.json();
    let password = &v2["propertySources"][0]["source"]["db.password"];
    assert_eq!((password["value"].as_str(), password["origin"].as_str()), (Some("mysecret"), Some("3:13")));

    let properties = get(&app, "/vault-default.properties").await.body;
    assert!(properties.contains("db.password: mysecret\n"), "{properties}");
    assert!(properties.contains("db.url: jdbc:pg://db?password=mysecret\n"), "placeholders see the decrypted value");
    let yaml = get(&app, "/vault-default.yml").await.body;
    assert!(yaml.contains("  password: mysecret\n"), "{yaml}");
    assert!(!yaml.contains(SPRING_CIPHER) && !properties.contains(SPRING_CIPHER));
    let text = get(&app, "/vault/default/master/conn.txt").await;
    assert_eq!((text.status.as_u16(), text.body.as_str()), (200, "password=mysecret\n"));
}

#[tokio::test]
async fn values_that_cannot_be_decrypted_keep_their_key_when_asked() {
    let repo = vault();
    let app = app(state(&repo).encryption(encryptor(), Some(InvalidCipher::Keep)).build());
    let json = get(&app, "/vault/default").await.json();
    assert_eq!(json["propertySources"][0]["source"]["broken"], "00ff");
    assert!(json["propertySources"][0]["source"].get("invalid.broken").is_none());
}

#[tokio::test]
async fn without_decryption_on_the_server_cipher_values_are_served_as_written() {
    let repo = vault();
    let written = format!("{{cipher}}{SPRING_CIPHER}");
    for app in [app(state(&repo).build()), app(state(&repo).encryption(encryptor(), None).build())] {
        let json = get(&app, "/vault/default").await.json();
        assert_eq!(json["propertySources"][0]["source"]["db.password"], written.as_str());
        assert_eq!(source_keys(&json, 0), ["db.user", "db.password", "db.url", "broken"], "order unchanged");
    }
}

#[tokio::test]
async fn encrypt_then_decrypt_over_the_endpoints() {
    let repo = vault();
    let app = app(state(&repo).encryption(encryptor(), Some(InvalidCipher::Prefix)).admin_token(TOKEN).build());
    let text = [("Content-Type", "text/plain")];
    let bearer = format!("Bearer {TOKEN}");
    let admin = [("Content-Type", "text/plain"), ("Authorization", bearer.as_str())];

    let encrypted = post(&app, "/encrypt", &text, "s3cret value").await;
    assert_eq!(encrypted.status, 200, "{encrypted:?}");
    assert_eq!(encrypted.content_type(), "text/plain;charset=UTF-8");
    assert_eq!(encryptor().decrypt(&encrypted.body).as_deref(), Ok("s3cret value"), "a Spring key decrypts it");
    let again = post(&app, "/encrypt", &text, "s3cret value").await.body;
    assert_ne!(again, encrypted.body, "a fresh IV each time");

    let decrypted = post(&app, "/decrypt", &admin, &encrypted.body).await;
    assert_eq!((decrypted.status.as_u16(), decrypted.body.as_str()), (200, "s3cret value"));
    let with_prefix = post(&app, "/decrypt", &admin, &format!("{{cipher}}{SPRING_CIPHER}")).await;
    assert_eq!(with_prefix.body, "mysecret", "what is in the repository can be pasted as it is");
    let wrong = post(&app, "/decrypt", &admin, "00ff00ff").await;
    assert_eq!((wrong.status.as_u16(), wrong.error_code()), (400, "invalid_cipher".to_owned()));

    // `curl -d secret` sends a form: `secret=` is decoded and loses its `=`.
    let form = [("Content-Type", "application/x-www-form-urlencoded")];
    let encrypted = post(&app, "/encrypt", &form, "a+b%21=").await.body;
    assert_eq!(encryptor().decrypt(&encrypted).as_deref(), Ok("a b!"));
    let form_admin = [form[0], ("Authorization", bearer.as_str())];
    assert_eq!(post(&app, "/decrypt", &form_admin, &format!("{encrypted}=")).await.body, "a b!");
    let raw = post(&app, "/encrypt", &text, "ends with=").await.body;
    assert_eq!(encryptor().decrypt(&raw).as_deref(), Ok("ends with="), "text/plain is taken as it is");

    // Prefix groups are echoed, except the locator's own `name` and `profiles`.
    let keyed = post(&app, "/encrypt/orders/dev", &text, "{key:fleet}{name:orders}plain").await.body;
    let hex = keyed.strip_prefix("{key:fleet}").unwrap_or_else(|| panic!("{keyed}"));
    assert_eq!(encryptor().decrypt(hex).as_deref(), Ok("plain"));
    assert_eq!(post(&app, "/decrypt/orders/dev", &admin, &keyed).await.body, "plain");
    let dotted = post(&app, "/encrypt/a..b/dev", &text, "x").await;
    assert_eq!((dotted.status.as_u16(), dotted.error_code()), (400, "invalid_request".to_owned()));

    let status = get(&app, "/encrypt/status").await;
    assert_eq!((status.status.as_u16(), status.json()), (200, serde_json::json!({"status": "OK"})));
    let key = get(&app, "/key").await;
    assert_eq!((key.status.as_u16(), key.error_code()), (404, "not_found".to_owned()), "no public key");
    assert_eq!(get(&app, "/key/orders/dev").await.status, 404);
}

#[tokio::test]
async fn decrypting_needs_the_admin_token() {
    let repo = vault();
    let text = [("Content-Type", "text/plain")];
    let with_token = app(state(&repo).encryption(encryptor(), None).admin_token(TOKEN).build());
    for path in ["/decrypt", "/decrypt/orders/dev"] {
        let anonymous = post(&with_token, path, &text, SPRING_CIPHER).await;
        assert_eq!((anonymous.status.as_u16(), anonymous.error_code()), (401, "unauthorized".to_owned()), "{path}");
        let wrong = post(&with_token, path, &[text[0], ("Authorization", "Bearer nope")], SPRING_CIPHER).await;
        assert_eq!(wrong.status, 401, "{path}");
        assert!(!anonymous.body.contains("mysecret") && !wrong.body.contains("mysecret"));
    }
    let without_admin = app(state(&repo).encryption(encryptor(), None).build());
    let refused = post(&without_admin, "/decrypt", &text, SPRING_CIPHER).await;
    assert_eq!((refused.status.as_u16(), refused.error_code()), (403, "admin_disabled".to_owned()));
    assert_eq!(post(&without_admin, "/encrypt", &text, "x").await.status, 200, "encrypting needs no token");
}

#[tokio::test]
async fn without_a_key_the_endpoints_say_so() {
    let repo = vault();
    let app = app(state(&repo).admin_token(TOKEN).build());
    let bearer = format!("Bearer {TOKEN}");
    for reply in [
        post(&app, "/encrypt", &[], "x").await,
        post(&app, "/decrypt", &[("Authorization", bearer.as_str())], SPRING_CIPHER).await,
        get(&app, "/encrypt/status").await,
        get(&app, "/key").await,
    ] {
        assert_eq!((reply.status.as_u16(), reply.error_code()), (404, "no_key".to_owned()), "{reply:?}");
    }
}

#[tokio::test]
async fn applications_named_like_the_endpoints_are_still_read() {
    let repo = TempRepo::new(&[("encrypt.yml", "who: encrypt\n"), ("decrypt.yml", "who: decrypt\n")]);
    let app = app(state(&repo).encryption(encryptor(), None).build());
    for name in ["encrypt", "decrypt"] {
        let reply = get(&app, &format!("/{name}/default/master")).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.json()["propertySources"][0]["source"]["who"], name);
    }
    let routed = vortex_server::router(state(&repo).encryption(encryptor(), None).build());
    let reply = {
        use tower::ServiceExt;
        let request = Request::get("/encrypt/default/master").body(Body::empty()).unwrap();
        routed.oneshot(request).await.unwrap()
    };
    assert_eq!(reply.status(), 200, "the router serves it as the edge does");
}

#[tokio::test]
async fn settings_install_the_key_under_the_cache_and_basic_auth_guards_encrypt() {
    let repo = vault();
    let mut settings = keyed_settings(&repo);
    settings.security.basic_auth.username = Some("reader".to_owned());
    settings.security.basic_auth.password = Some(Secret::new("s3cret"));
    let app = app(AppState::from_settings(&settings).await.unwrap());
    let auth = [("Authorization", "Basic cmVhZGVyOnMzY3JldA=="), ("Content-Type", "text/plain")];
    for _ in 0..2 {
        // The second answer comes from the cache: it holds the decrypted environment.
        let json = get_with(&app, "/vault/default", &auth).await.json();
        assert_eq!(json["propertySources"][0]["source"]["db.password"], "mysecret");
    }
    assert_eq!(post(&app, "/encrypt", &auth[1..], "x").await.status, 401);
    assert_eq!(get(&app, "/encrypt/status").await.status, 401);
    let encrypted = post(&app, "/encrypt", &auth, "x").await;
    assert_eq!(encryptor().decrypt(&encrypted.body).as_deref(), Ok("x"));

    settings.encrypt.decrypt_on_server = false;
    let app = vortex_server::app(AppState::from_settings(&settings).await.unwrap());
    let json = get_with(&app, "/vault/default", &auth).await.json();
    assert_eq!(json["propertySources"][0]["source"]["db.password"], format!("{{cipher}}{SPRING_CIPHER}"));
}

/// `server.body_limit_bytes` is the one limit of every route that reads a body: a setting above
/// axum's own default (2 MiB) is honoured, not silently capped.
#[tokio::test]
async fn the_body_limit_setting_governs_encrypt_above_two_mib() {
    let repo = vault();
    let mut settings = keyed_settings(&repo);
    settings.server.body_limit_bytes = 3_145_728;
    let app = vortex_server::app_from_settings(&settings).await.unwrap();
    let text = [("Content-Type", "text/plain")];
    let accepted = post(&app, "/encrypt", &text, &"a".repeat(2_621_440)).await;
    assert_eq!(accepted.status, 200, "2.5 MiB under a 3 MiB limit: {}", &accepted.body[..accepted.body.len().min(200)]);
    assert_eq!(encryptor().decrypt(&accepted.body).map(|plain| plain.len()), Ok(2_621_440));
    let refused = post(&app, "/encrypt", &text, &"a".repeat(3_670_016)).await;
    assert_eq!((refused.status.as_u16(), refused.error_code()), (413, "payload_too_large".to_owned()));
    assert_eq!(refused.headers["content-type"], "application/json");
}
