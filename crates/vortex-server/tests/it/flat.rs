//! `/{name}-{profiles}.{yml,yaml,properties,json}`, with and without `/{label}/` (see `docs/compatibility.md`).

use axum::http::StatusCode;

use crate::support::{TempRepo, get, sample_app};

#[tokio::test]
async fn every_format_with_its_content_type() {
    let app = sample_app();
    for (uri, content_type) in [
        ("/orders-dev.yml", "text/plain"),
        ("/orders-dev.yaml", "text/plain"),
        ("/orders-dev.properties", "text/plain"),
        ("/orders-dev.json", "application/json"),
    ] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert_eq!(reply.content_type(), content_type, "{uri}");
    }
    assert_eq!(get(&app, "/orders-dev.yml").await.body, get(&app, "/orders-dev.yaml").await.body);
}

#[tokio::test]
async fn snapshots_of_the_sample_repository() {
    let app = sample_app();
    insta::assert_snapshot!("orders-dev,prod.yml", get(&app, "/orders-dev,prod.yml").await.body);
    insta::assert_snapshot!("orders-dev,prod.properties", get(&app, "/orders-dev,prod.properties").await.body);
    insta::assert_snapshot!("orders-dev,prod.json", get(&app, "/orders-dev,prod.json").await.body);
    insta::assert_snapshot!("v2_payments-dev.yaml", get(&app, "/v2/payments-dev.yaml").await.body);
}

#[tokio::test]
async fn label_prefix_selects_the_label() {
    let app = sample_app();
    let labelled = get(&app, "/v2/orders-dev.json").await.json();
    assert_eq!(labelled["orders"]["currency"], "USD");
    let default = get(&app, "/orders-dev.json").await.json();
    assert_eq!(default["orders"]["currency"], "EUR");
}

#[tokio::test]
async fn names_split_at_the_last_hyphen() {
    // Name `foo-bar-foo2-bar2`, profile `spam`, label `other`: both files load.
    let repo = TempRepo::new(&[("other/foo-bar-foo2-bar2-spam.yml", "a: b"), ("other/foo-bar-foo2-bar2.yml", "x: y")]);
    let reply = get(&repo.app(), "/other/foo-bar-foo2-bar2-spam.json").await;
    assert_eq!(reply.body, r#"{"x":"y","a":"b"}"#);
}

#[tokio::test]
async fn label_with_underscore_parens() {
    let repo = TempRepo::new(&[("label/spam/foo.properties", "a=spam"), ("foo.properties", "a=root")]);
    let reply = get(&repo.app(), "/label(_)spam/foo-default.properties").await;
    assert_eq!(reply.body, "a: spam");
}

#[tokio::test]
async fn placeholders_can_be_left_unresolved() {
    let app = sample_app();
    let resolved = get(&app, "/orders-default.properties").await.body;
    assert!(resolved.contains("spring.datasource.url: jdbc:postgresql://localhost:5432/orders"), "{resolved}");
    let raw = get(&app, "/orders-default.properties?resolvePlaceholders=false").await.body;
    assert!(raw.contains("spring.datasource.url: jdbc:postgresql://${db.host:localhost}:5432/orders"), "{raw}");
    let bad = get(&app, "/orders-default.yml?resolvePlaceholders=perhaps").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn placeholders_never_come_from_the_process_environment() {
    let repo = TempRepo::new(&[("foo.yml", "home: ${HOME}\npath: ${PATH:none}\n")]);
    let reply = get(&repo.app(), "/foo-default.yml").await;
    assert_eq!(reply.body, "home: ${HOME}\npath: none\n");
}

#[tokio::test]
async fn empty_environments() {
    let repo = TempRepo::new(&[("other.yml", "a: 1")]);
    let app = repo.app();
    assert_eq!(get(&app, "/nobody-dev.yml").await.body, "{}\n");
    assert_eq!(get(&app, "/nobody-dev.json").await.body, "{}");
    let properties = get(&app, "/nobody-dev.properties").await;
    assert_eq!((properties.status, properties.body.as_str()), (StatusCode::OK, ""));
}

#[tokio::test]
async fn keys_that_make_no_tree_are_400() {
    let repo = TempRepo::new(&[("foo.properties", "a..b=1\n")]);
    let app = repo.app();
    let reply = get(&app, "/foo-default.yml").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(reply.error_code(), "invalid_request");
    assert_eq!(get(&app, "/foo-default.properties").await.body, "a..b: 1");
}

#[tokio::test]
async fn unknown_extension_or_missing_hyphen_has_no_route() {
    let app = sample_app();
    for uri in ["/orders.yml", "/orders-dev.txt", "/v2/orders.yml", "/orders"] {
        let reply = get(&app, uri).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(reply.error_code(), "not_found");
    }
}

#[tokio::test]
async fn document_files_are_stripped_to_their_value() {
    let repo = TempRepo::new(&[("list.yml", "- c\n- d\n")]);
    assert_eq!(get(&repo.app(), "/list-default.yml").await.body, "- c\n- d\n");
}
