use super::*;

#[test]
fn the_most_specific_template_wins() {
    let cases = [
        ("/orders", Some(Route::One)),
        ("/orders/dev", Some(Route::Two)),
        ("/orders/dev/main", Some(Route::Three)),
        ("/orders/dev/main/a/b.txt", Some(Route::Resource)),
        ("/cache", Some(Route::Cache)),
        ("/cache/x/y", Some(Route::CacheKey)),
        ("/cache/", None),
        ("/encrypt/status", Some(Route::EncryptStatus)),
        ("/encrypt/status/x", Some(Route::EncryptFor)),
        ("/key/a/b", Some(Route::KeyFor)),
        ("/a//c", Some(Route::Three)),
        ("/a/", None),
        ("/", None),
        ("", None),
    ];
    for (path, route) in cases {
        assert_eq!(Route::classify(path), route, "{path}");
    }
}

#[test]
fn every_template_is_unique_and_in_table_order() {
    for (i, route) in Route::ALL.iter().enumerate() {
        assert_eq!(route.index(), i);
        assert_eq!(Route::ALL.iter().filter(|r| r.template() == route.template()).count(), 1);
    }
}
