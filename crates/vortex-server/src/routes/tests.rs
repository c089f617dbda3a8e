use super::*;

#[test]
fn flat_names_split_at_the_last_hyphen() {
    assert_eq!(flat_parts("foo-bar-foo2-bar2-spam.yml").map(|p| (p.0, p.1)), Some(("foo-bar-foo2-bar2", "spam")));
    assert_eq!(flat_parts("foo-dev,mysql.properties").map(|p| (p.0, p.1)), Some(("foo", "dev,mysql")));
    assert_eq!(flat_parts("my.app-dev.json").map(|p| (p.0, p.1)), Some(("my.app", "dev")));
    assert!(flat_parts("dev.yml").is_none());
    assert!(flat_parts("foo-.yml").is_none());
    assert!(flat_parts("foo-dev.txt").is_none());
}

#[test]
fn booleans_parse_like_spring() {
    assert!(parse_bool("resolvePlaceholders", "").unwrap());
    assert!(!parse_bool("resolvePlaceholders", "FALSE").unwrap());
    assert!(parse_bool("resolvePlaceholders", "maybe").is_err());
}
