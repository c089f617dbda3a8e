//! The public builder stacks its layers in one order whatever order they are configured in: every
//! order serves the same answers, with `{cipher}` values decrypted (overrides included), the
//! overrides first, the cache holding finished environments and the backend's loads measured.

use std::sync::Arc;

use vortex_cache::CacheOptions;
use vortex_core::cipher::{DEFAULT_SALT, InvalidCipher, TextEncryptor};
use vortex_metrics::Prometheus;
use vortex_server::{AppState, Builder, app};

use crate::support::{TempRepo, get, native_backend};

/// `mysecret` encrypted by Spring with the key `foo` and the default salt.
const SPRING_CIPHER: &str = "682bc583f4641835fa2db009355293665d2647dade3375c0ee201de2a49f7bda";

#[derive(Debug, Clone, Copy)]
enum Step {
    Metrics,
    Cache,
    Overrides,
    Encryption,
}

fn apply(builder: Builder, step: Step) -> Builder {
    match step {
        Step::Metrics => builder.metrics(Prometheus::new().unwrap()),
        Step::Cache => builder.cache(CacheOptions::default()),
        Step::Overrides => builder.overrides(vec![
            ("db.user".to_owned(), "forced".to_owned()),
            ("api.token".to_owned(), format!("{{cipher}}{SPRING_CIPHER}")),
        ]),
        Step::Encryption => {
            builder.encryption(TextEncryptor::new("foo", DEFAULT_SALT).unwrap(), Some(InvalidCipher::Prefix))
        }
    }
}

/// Every order of `items`.
fn permutations<T: Copy>(items: &[T]) -> Vec<Vec<T>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut out = Vec::new();
    for (i, &first) in items.iter().enumerate() {
        let mut rest = items.to_vec();
        rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            out.push(tail);
        }
    }
    out
}

#[tokio::test]
async fn every_order_of_the_layers_serves_the_same_answers() {
    let repo = TempRepo::new(&[
        ("vault.yml", &format!("db:\n  user: app\n  password: '{{cipher}}{SPRING_CIPHER}'\n")),
        ("conn.txt", "user=${db.user} password=${db.password} token=${api.token}\n"),
    ]);
    let orders = permutations(&[Step::Metrics, Step::Cache, Step::Overrides, Step::Encryption]);
    assert_eq!(orders.len(), 24);
    let mut first: Option<(Vec<String>, Vec<Step>)> = None;
    for order in orders {
        let builder = AppState::builder(Arc::new(native_backend(repo.dir.path())), "native");
        let app = app(order.iter().fold(builder, |builder, &step| apply(builder, step)).build());
        let mut answers = Vec::new();
        for uri in ["/vault/default", "/vault-default.properties", "/vault/default/master/conn.txt"] {
            // Twice: the second answer comes from the cache.
            let (miss, hit) = (get(&app, uri).await, get(&app, uri).await);
            assert_eq!(miss.status, 200, "{order:?} {uri}: {}", miss.body);
            assert_eq!(miss.body, hit.body, "{order:?} {uri}");
            assert!(!miss.body.contains(SPRING_CIPHER), "{order:?} {uri}: a cipher text was served: {}", miss.body);
            answers.push(miss.body);
        }
        let json: serde_json::Value = serde_json::from_str(&answers[0]).unwrap();
        assert_eq!(json["propertySources"][0]["name"], "overrides", "{order:?}");
        assert_eq!(json["propertySources"][0]["source"]["api.token"], "mysecret", "{order:?}");
        assert_eq!(json["propertySources"][1]["source"]["db.password"], "mysecret", "{order:?}");
        assert_eq!(answers[2], "user=forced password=mysecret token=mysecret\n", "{order:?}");

        let metrics = get(&app, "/metrics").await.body;
        let loads = metrics
            .lines()
            .find(|line| line.starts_with("vortex_backend_load_duration_seconds_count{backend=\"native\"}"))
            .unwrap_or_else(|| panic!("{order:?}: no backend load metric in\n{metrics}"));
        assert_eq!(loads.rsplit(' ').next(), Some("1"), "{order:?}: one load, the rest from the cache");
        assert!(metrics.contains("vortex_cache_lookups_total{outcome=\"hit\"}"), "{order:?}");

        match &first {
            None => first = Some((answers, order)),
            Some((expected, first_order)) => {
                assert_eq!(&answers, expected, "{order:?} answers differently from {first_order:?}");
            }
        }
    }
}
