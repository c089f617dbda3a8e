//! `overrides`: properties served first in every response (Spring's
//! `spring.cloud.config.server.overrides`), loaded from a real settings file.

use std::fs;

use vortex_server::{AppState, app};

use crate::support::{TempRepo, get};

/// `mysecret` encrypted by Spring with the key `foo` (the Spring Cloud Config documentation's example).
const SPRING_CIPHER: &str = "682bc583f4641835fa2db009355293665d2647dade3375c0ee201de2a49f7bda";

#[tokio::test]
async fn overrides_win_over_every_file_in_every_format() {
    let repo = TempRepo::new(&[
        ("orders.yml", "logging:\n  level:\n    root: DEBUG\nurl: http://${host}/orders\nhost: file-host\n"),
        ("application.yml", "shared: from-file\n"),
    ]);
    let settings = repo.dir.path().join("vortex.yaml");
    fs::write(
        &settings,
        format!(
            "backends:\n  native:\n    search_locations: [{}]\nencrypt:\n  key: foo\noverrides:\n  logging.level.root: WARN\n  \
             host: override-host\n  escaped: \\${{client.resolves.this}}\n  password: '{{cipher}}{SPRING_CIPHER}'\n",
            repo.dir.path().display()
        ),
    )
    .unwrap();
    let loaded = vortex_settings::load(Some(&settings), &Default::default()).unwrap();
    let app = app(AppState::from_settings(&loaded.settings).await.unwrap());

    for path in ["/orders/default", "/unknown-app/dev"] {
        let json = get(&app, path).await.json();
        let first = &json["propertySources"][0];
        assert_eq!(first["name"], "overrides", "{path}: {json}");
        assert_eq!(first["source"]["logging.level.root"], "WARN");
        assert_eq!(first["source"]["escaped"], "${client.resolves.this}", "Spring's \\${{ escape is undone");
        assert_eq!(first["source"]["password"], "mysecret", "a {{cipher}} override is decrypted, as in Spring");
    }
    let properties = get(&app, "/orders-default.properties").await.body;
    for line in ["logging.level.root: WARN", "host: override-host", "url: http://override-host/orders"] {
        assert!(properties.lines().any(|l| l == line), "{line:?} in {properties}");
    }
    let yaml = get(&app, "/orders-default.yml").await.body;
    assert!(yaml.contains("    root: WARN\n") && yaml.contains("shared: from-file\n"), "{yaml}");
}

#[tokio::test]
async fn without_overrides_there_is_no_overrides_source() {
    let repo = TempRepo::new(&[("orders.yml", "a: 1\n")]);
    let json = get(&repo.app(), "/orders/default").await.json();
    assert_eq!(json["propertySources"].as_array().unwrap().len(), 1);
    assert_ne!(json["propertySources"][0]["name"], "overrides");
}
