use super::*;

fn query(app: &str, profiles: &str, label: Option<&str>) -> ConfigQuery {
    ConfigQuery::parse(app, profiles, label).unwrap()
}

#[test]
fn default_label_is_filled_in_and_profile_order_kept() {
    let none = CacheKey::new(&query("orders", "dev,db", None), Some("main"));
    let explicit = CacheKey::new(&query("orders", "dev,db", Some("main")), Some("main"));
    let swapped = CacheKey::new(&query("orders", "db,dev", None), Some("main"));
    assert_eq!(none, explicit);
    assert_ne!(none, swapped);
    assert_eq!(none.to_string(), "orders:dev,db:main");
    assert_eq!(CacheKey::new(&query("orders", "dev", None), None).to_string(), "orders:dev");
}

#[test]
fn text_form_round_trips_with_escapes() {
    // Names as the query keeps them (a `%` survives only where it decodes to something valid).
    let q = ConfigQuery { application: "a:b%c".to_owned(), ..query("x", "dev", Some("feature(_)x:y")) };
    let key = CacheKey::new(&q, Some("main"));
    assert_eq!(key.to_string(), "a%3Ab%25c:dev:feature/x%3Ay");
    assert_eq!(CacheKey::parse(&key.to_string(), Some("main")).unwrap(), key);
    assert_eq!(key.query().label.as_deref(), Some("feature/x:y"));
}

#[test]
fn parse_fills_the_default_label_and_rejects_junk() {
    let key = CacheKey::parse("orders:prod", Some("main")).unwrap();
    assert_eq!(key.label(), Some("main"));
    for bad in ["", "orders", ":prod:main", "orders::main", "orders:prod:", "a:b:c:d", "orders%zz:prod", "x%3:p"] {
        assert!(CacheKey::parse(bad, Some("main")).is_err(), "{bad:?} must be rejected");
    }
}

#[test]
fn application_and_label_membership() {
    let key = CacheKey::new(&query("orders,shared", "dev", Some("main,v2")), None);
    assert!(key.names_application("shared"));
    assert!(!key.names_application("order"));
    assert!(key.names_any_label(&["v2".to_owned()]));
    assert!(!key.names_any_label(&["v1".to_owned()]));
}

#[test]
fn globs() {
    let matches = |glob: &str, text: &str| KeyPattern::new(glob).unwrap().matches_text(text);
    assert!(matches("*", "orders:dev:main"));
    assert!(matches("orders:*", "orders:dev:main"));
    assert!(!matches("orders:*", "orders-v2:dev:main"));
    assert!(matches("*:prod:*", "a:prod:main"));
    assert!(!matches("*:prod:*", "a:prod,db:main"));
    assert!(matches("or?ers:*:ma*n", "orders:dev:main"));
    assert!(matches("*a*b*c*", "xxaxxbxxcxx"));
    assert!(!matches("*a*b*c", "xxaxxbxxcxx"));
    assert!(matches("a**", "a"));
    assert!(!matches("a", "ab"));
    assert!(matches("caf?:*", "café:dev:main"), "? is one character, not one byte");
    assert!(!matches("caf?:*", "cafés:dev:main"));
    assert!(KeyPattern::new("").is_err());
    assert!(KeyPattern::new(&"*".repeat(513)).is_err());
    assert!(KeyPattern::new("**").unwrap().is_everything());
    // Pathological globs stay cheap: the walk is bounded by pattern length times text length.
    let long = "a".repeat(400);
    assert!(!matches(&format!("{}b", "*a".repeat(200)), &long));
}

#[test]
fn a_borrowed_query_key_hashes_and_compares_as_the_key_it_stands_for() {
    use std::hash::BuildHasher;

    use moka::Equivalent;

    let hasher = std::collections::hash_map::RandomState::new();
    let cases = [
        (query("orders", "dev", None), Some("main")),
        (query("orders", "dev,db", Some("v1")), Some("main")),
        (query("a,b", "x", None), None),
        (query("orders", "db,dev", None), Some("main")),
    ];
    for (q, default) in &cases {
        let borrowed = QueryKey::new(q, *default);
        for (other, other_default) in &cases {
            let key = CacheKey::new(other, *other_default);
            let same = std::ptr::eq(q, other);
            assert_eq!(borrowed.equivalent(&key), same, "{q:?} vs {key}");
            if same {
                assert_eq!(hasher.hash_one(borrowed), hasher.hash_one(&key), "{key}");
            }
        }
    }
    // The explicit default label and a missing one are the same entry.
    let explicit = query("orders", "dev", Some("main"));
    assert!(
        QueryKey::new(&explicit, Some("main")).equivalent(&CacheKey::new(&query("orders", "dev", None), Some("main")))
    );
}
