//! `GET /{application}/{profiles}[/{label}]` (see `docs/compatibility.md`).

use axum::http::StatusCode;

use crate::support::{TempRepo, get, get_with, native_backend, redact_repo, sample_app};

#[tokio::test]
async fn environment_has_the_spring_shape() {
    let reply = get(&sample_app(), "/orders/dev").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    let json = reply.json();
    assert_eq!(json["name"], "orders");
    assert_eq!(json["profiles"], serde_json::json!(["dev"]));
    assert!(json["label"].is_null(), "no label in the URL gives null: {json}");
    assert!(json["version"].is_null());
    assert!(json["state"].is_null());
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["name", "profiles", "label", "version", "state", "propertySources"]);
    let pretty = serde_json::to_string_pretty(&json).unwrap();
    insta::assert_snapshot!(redact_repo(&pretty));
}

#[tokio::test]
async fn property_sources_follow_spring_precedence() {
    let reply = get(&sample_app(), "/orders/dev,prod").await;
    let json = reply.json();
    let names: Vec<String> = json["propertySources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ps| redact_repo(ps["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        names,
        [
            "file:<repo>/orders-prod.yml",
            "file:<repo>/application-prod.yml",
            "file:<repo>/orders.yml (document #2)",
            "file:<repo>/orders.yml (document #1)",
            "file:<repo>/orders.yml (document #0)",
            "file:<repo>/application.yml (document #2)",
            "file:<repo>/application.yml (document #1)",
            "file:<repo>/application.yml (document #0)",
        ]
    );
    assert_eq!(json["profiles"], serde_json::json!(["dev,prod"]));
}

#[tokio::test]
async fn profile_order_is_significant() {
    let repo = TempRepo::new(&[("foo-a.yml", "x: a"), ("foo-b.yml", "x: b")]);
    let app = repo.app();
    let winner = |json: serde_json::Value| json["propertySources"][0]["source"]["x"].as_str().unwrap().to_owned();
    assert_eq!(winner(get(&app, "/foo/a,b").await.json()), "b");
    assert_eq!(winner(get(&app, "/foo/b,a").await.json()), "a");
}

#[tokio::test]
async fn encoded_commas_split_profiles() {
    let json = get(&sample_app(), "/orders/dev%2Cprod").await.json();
    assert_eq!(json["profiles"], serde_json::json!(["dev,prod"]));
    assert_eq!(json["propertySources"].as_array().unwrap().len(), 8);
}

#[tokio::test]
async fn label_is_echoed_and_its_directory_wins() {
    let json = get(&sample_app(), "/orders/dev/v2").await.json();
    assert_eq!(json["label"], "v2");
    let first = json["propertySources"][0]["name"].as_str().unwrap();
    assert!(first.ends_with("/v2/orders.yml"), "{first}");
    assert_eq!(json["propertySources"][0]["source"]["orders.max-items"], 100);
}

#[tokio::test]
async fn underscore_parens_mean_slash_in_name_and_label() {
    let repo = TempRepo::new(&[("team/app.yml", "a: root"), ("feature/x/team/app.yml", "a: feature")]);
    let json = get(&repo.app(), "/team(_)app/default/feature(_)x").await.json();
    assert_eq!(json["name"], "team/app");
    assert_eq!(json["label"], "feature/x");
    assert_eq!(json["propertySources"][0]["source"]["a"], "feature");
}

#[tokio::test]
async fn v2_media_type_carries_origins() {
    let reply = get_with(
        &sample_app(),
        "/inventory/dev",
        &[("accept", "application/vnd.spring-cloud.config-server.v2+json"), ("accept-charset", "UTF-8")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/vnd.spring-cloud.config-server.v2+json");
    let json = reply.json();
    assert_eq!(
        json["propertySources"][0]["source"]["inventory.low-stock-threshold"],
        serde_json::json!({"value": 1, "origin": "2:24"})
    );
    let payments = get_with(
        &sample_app(),
        "/payments/default",
        &[("accept", "application/vnd.spring-cloud.config-server.v2+json")],
    )
    .await
    .json();
    assert_eq!(
        payments["propertySources"][0]["source"]["server.port"],
        serde_json::json!({"value": "8082", "origin": "3:13"})
    );
}

#[tokio::test]
async fn values_keep_their_yaml_types() {
    let json = get(&sample_app(), "/orders/default").await.json();
    let source = &json["propertySources"][0]["source"];
    assert_eq!(source["server.port"], 8081);
    assert_eq!(source["orders.allow-backorder"], false);
    assert_eq!(source["orders.retry.backoff"], 1.5);
    assert_eq!(source["orders.currency"], "EUR");
    let payments = get(&sample_app(), "/payments/default").await.json();
    assert_eq!(payments["propertySources"][0]["source"]["server.port"], "8082", ".properties values are strings");
}

#[tokio::test]
async fn profile_with_a_hyphenated_extension_is_a_profile() {
    let reply = get(&sample_app(), "/orders/dev-yml").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["profiles"], serde_json::json!(["dev-yml"]));
}

#[tokio::test]
async fn unknown_application_gets_the_shared_sources() {
    let json = get(&sample_app(), "/nobody/dev").await.json();
    let names: Vec<&str> =
        json["propertySources"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert!(!names.is_empty());
    assert!(names.iter().all(|n| n.contains("/application")), "{names:?}");
}

/// Spring's `accept-empty=false`: an environment with no source at all is 404 (JSON and flat
/// formats), one that only the shared files answer is still served, and the default serves both.
#[tokio::test]
async fn without_accept_empty_an_environment_with_no_source_is_404() {
    let repo = TempRepo::new(&[("orders.yml", "a: 1\n")]);
    let state = || vortex_server::AppState::builder(std::sync::Arc::new(native_backend(repo.dir.path())), "native");
    let strict = vortex_server::app(state().accept_empty(false).build());
    let lenient = vortex_server::app(state().build());
    for uri in ["/nobody/dev", "/nobody-dev.yml", "/nobody-dev.properties", "/master/nobody-dev.json"] {
        let reply = get(&strict, uri).await;
        assert_eq!(
            (reply.status, reply.error_code().as_str()),
            (StatusCode::NOT_FOUND, "not_found"),
            "{uri}: {reply:?}"
        );
        assert!(reply.json()["message"].as_str().unwrap().contains("\"nobody\""), "{reply:?}");
        assert_eq!(get(&lenient, uri).await.status, StatusCode::OK, "{uri} with accept-empty");
    }
    assert_eq!(get(&lenient, "/nobody/dev").await.json()["propertySources"], serde_json::json!([]));
    assert_eq!(get(&strict, "/orders/dev").await.status, StatusCode::OK);

    let shared = TempRepo::new(&[("application.yml", "a: 1\n")]);
    let source = std::sync::Arc::new(native_backend(shared.dir.path()));
    let strict = vortex_server::app(vortex_server::AppState::builder(source, "native").accept_empty(false).build());
    assert_eq!(get(&strict, "/nobody/dev").await.status, StatusCode::OK, "the shared file is a source");
}

#[tokio::test]
async fn profile_with_an_extension_has_no_route() {
    let reply = get(&sample_app(), "/foo/dev.yml").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert_eq!(reply.error_code(), "not_found");
}

#[tokio::test]
async fn bad_names_profiles_and_labels_are_400() {
    let app = sample_app();
    for uri in [
        "/..%2F..%2Fetc/dev",
        "/%2e%2e/dev",
        "/%252e%252e/dev",
        "/foo..bar/dev",
        "/(_)foo/dev",
        "/foo%23bar/dev",
        "/foo/..",
        "/foo/%2e%2e",
        "/foo/bar,..,foo",
        "/foo/bar%2Ffoo",
        "/foo/-dev",
        "/foo/dev/..",
        "/foo/dev/%2e%2e",
        "/foo/dev/(_)main",
        "/foo/dev/a(_)..(_)b",
        "/foo/dev/a%5C..%5Cb",
        "/foo/dev/%ZZ",
        "/..-dev.yml",
        "/%2e%2e/foo-dev.yml",
        "/foo/dev/master/..%2F..%2Fsecret.txt",
    ] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri}: {}", reply.body);
        assert_eq!(reply.error_code(), "invalid_request", "{uri}");
    }
}

#[tokio::test]
async fn empty_profile_is_400() {
    let reply = get(&sample_app(), "/foo//master").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
}

#[tokio::test]
async fn broken_yaml_is_500_naming_the_file_and_others_still_serve() {
    let repo = TempRepo::new(&[("broken.yml", "a: 1\na: 2\n"), ("fine.yml", "b: 2\n")]);
    let app = repo.app();
    let reply = get(&app, "/broken/default").await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(reply.error_code(), "invalid_config");
    let message = reply.json()["message"].as_str().unwrap().to_owned();
    assert!(message.contains("broken.yml") && message.contains("line 2"), "{message}");
    assert!(!message.contains(&repo.dir.path().display().to_string()), "leaks the server path: {message}");
    insta::assert_snapshot!(reply.body);
    let fine = get(&app, "/fine/default").await;
    assert_eq!(fine.status, StatusCode::OK);
    assert_eq!(fine.json()["propertySources"][0]["source"]["b"], 2);
}

#[tokio::test]
async fn only_get_is_allowed() {
    let request = axum::http::Request::post("/orders/dev").body(axum::body::Body::empty()).unwrap();
    let reply = crate::support::send(&sample_app(), request).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.error_code(), "method_not_allowed");
}

#[tokio::test]
async fn health_reports_the_backend() {
    for path in ["/health", "/actuator/health"] {
        let reply = get(&sample_app(), path).await;
        assert_eq!(reply.status, StatusCode::OK);
        let json = reply.json();
        assert_eq!(json["status"], "UP");
        assert_eq!(json["backends"]["native"]["status"], "UP");
    }
    let gone = TempRepo::new(&[]);
    let app = gone.app();
    drop(gone);
    let reply = get(&app, "/health").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.json()["status"], "DOWN");
}

#[cfg(feature = "git")]
#[tokio::test]
async fn git_backend_without_a_clone_answers_503_with_retry_after() {
    let basedir = tempfile::tempdir().unwrap();
    let missing = tempfile::tempdir().unwrap();
    let uri = format!("file://{}/nowhere", missing.path().display());
    let settings = crate::support::git_settings(&uri, basedir.path());
    let app = vortex_server::app(vortex_server::AppState::from_settings(&settings).await.unwrap());
    let reply = get(&app, "/orders/dev").await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.headers.get("retry-after").unwrap(), "5");
    assert_eq!(reply.error_code(), "unavailable");
    assert!(!reply.body.contains(&missing.path().display().to_string()), "{}", reply.body);
    let health = get(&app, "/health").await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json()["backends"]["git"]["ready"], false);
}

#[cfg(feature = "git")]
#[tokio::test]
async fn git_backend_serves_labels_and_versions() {
    let (app, remote, _basedir) = crate::support::git_sample_app().await;
    let json = get(&app, "/orders/dev/v2").await.json();
    let version = json["version"].as_str().unwrap();
    assert_eq!(version.len(), 40, "{json}");
    assert_eq!(json["state"], "");
    assert_eq!(json["label"], "v2");
    let first = json["propertySources"][0]["name"].as_str().unwrap();
    assert_eq!(first, format!("file://{}/v2/orders.yml", remote.path().display()));
    let default = get(&app, "/orders/dev").await.json();
    assert!(default["label"].is_null());
    assert_eq!(default["version"], version, "main falls back to master, which the tag v2 shares");
    assert_eq!(get(&app, "/orders/dev/nope").await.status, StatusCode::NOT_FOUND);
    let yml = get(&app, "/v2/orders-dev.yml").await;
    assert!(yml.body.contains("currency: USD"), "{}", yml.body);
}
