use super::*;

fn active(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn holds(expr: &str, profiles: &[&str]) -> bool {
    ProfileExpr::parse(expr).unwrap().matches(&active(profiles))
}

#[test]
fn single_names_and_negation() {
    assert!(holds("dev", &["dev"]));
    assert!(!holds("dev", &["prod"]));
    assert!(holds("!dev", &["prod"]));
    assert!(!holds("!dev", &["dev", "prod"]));
}

#[test]
fn and_or_and_parentheses() {
    assert!(holds("dev & cloud", &["cloud", "dev"]));
    assert!(!holds("dev & cloud", &["dev"]));
    assert!(holds("dev | prod", &["prod"]));
    assert!(holds("(dev | prod) & !local", &["dev"]));
    assert!(!holds("(dev | prod) & !local", &["dev", "local"]));
}

#[test]
fn comma_lists_mean_any() {
    assert!(holds("dev,prod", &["prod"]));
    assert!(holds("dev, !prod", &["other"]));
    assert!(!holds("dev,prod", &["test"]));
}

#[test]
fn malformed_expressions_are_rejected() {
    for bad in ["", "dev & prod | test", "(dev", "dev &", "dev,,prod", "!"] {
        assert!(ProfileExpr::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn deep_expressions_are_refused_not_recursed_into() {
    for text in ["!".repeat(100_000) + "dev", "(".repeat(100_000) + "dev" + &")".repeat(100_000)] {
        let err = ProfileExpr::parse(&text).unwrap_err();
        assert!(err.contains("nests deeper than 32 levels"), "{err}");
    }
    assert!(ProfileExpr::parse(&format!("{}dev", "!".repeat(32))).unwrap().matches(&["dev".to_owned()]));
}
