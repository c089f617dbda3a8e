use super::*;

fn parse(app: &str, profiles: &str, label: Option<&str>) -> Result<ConfigQuery, CoreError> {
    ConfigQuery::parse(app, profiles, label)
}

#[test]
fn underscore_parens_become_slashes() {
    let q = parse("foo(_)app", "dev", Some("feature(_)puff")).unwrap();
    assert_eq!(q.application, "foo/app");
    assert_eq!(q.label.as_deref(), Some("feature/puff"));
}

#[test]
fn profiles_keep_their_order() {
    let q = parse("foo", "dev,mysql,cloud", None).unwrap();
    assert_eq!(q.profiles, ["dev", "mysql", "cloud"]);
    assert_eq!(q.profiles_joined(), "dev,mysql,cloud");
}

#[test]
fn traversal_is_rejected_everywhere() {
    for (app, profiles, label) in [
        ("..", "dev", None),
        ("foo..bar", "dev", None),
        ("%2e%2e", "dev", None),
        ("%252e%252e", "dev", None),
        ("(_)foo", "dev", None),
        ("foo#bar", "dev", None),
        ("foo", "..", None),
        ("foo", "bar,..,foo", None),
        ("foo", "%2e%2e", None),
        ("foo", "bar%2Ffoo", None),
        ("foo", "bar/foo", None),
        ("foo", "dev", Some("..")),
        ("foo", "dev", Some("(_)main")),
        ("foo", "dev", Some("a(_)..(_)b")),
        ("foo", "dev", Some("%2e%2e")),
        ("foo", "dev", Some("a\\..\\b")),
        ("/etc", "dev", None),
        ("foo(_)", "dev", None),
        // Found by the `paths` fuzz target: `//./6` named the application `.`.
        (".", "6", None),
        ("%2e", "dev", None),
        ("a(_).", "dev", None),
        ("a,.", "dev", None),
        ("foo", "dev", Some(".")),
        ("foo", "dev", Some("(_).(_)b")),
    ] {
        let err = parse(app, profiles, label).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{app} {profiles} {label:?}");
    }
}

#[test]
fn overlong_names_are_refused_per_segment() {
    let long = "a".repeat(MAX_SEGMENT_BYTES + 1);
    let fits = "a".repeat(MAX_SEGMENT_BYTES);
    for (app, profiles, label) in [
        (long.as_str(), "dev", None),
        ("foo", long.as_str(), None),
        ("foo", "dev", Some(long.as_str())),
        (&format!("foo,{long}") as &str, "dev", None),
        (&format!("foo(_){long}") as &str, "dev", None),
    ] {
        let err = parse(app, profiles, label).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{app} {profiles} {label:?}");
        assert!(err.to_string().contains("longer than 100 bytes"), "{err}");
    }
    assert!(parse(&fits, &fits, Some(&format!("{fits}(_){fits}"))).is_ok());
    // The limit applies to the decoded name: encoding does not make a name too long.
    assert!(parse(&"%61".repeat(MAX_SEGMENT_BYTES), "dev", None).is_ok());
}

#[test]
fn nul_and_control_characters_are_refused_encoded_or_not() {
    for raw in ["foo\0", "foo%00", "foo%2500", "foo%0A", "foo\n"] {
        assert_eq!(parse(raw, "dev", None).unwrap_err().kind(), crate::ErrorKind::InvalidInput, "{raw:?}");
        assert_eq!(parse("foo", "dev", Some(raw)).unwrap_err().kind(), crate::ErrorKind::InvalidInput, "{raw:?}");
    }
}

#[test]
fn profile_syntax_is_checked() {
    assert!(parse("foo", "dev-yml", None).is_ok());
    assert!(parse("foo", "a.b+c@d_e", None).is_ok());
    assert!(parse("foo", "", None).is_err());
    assert!(parse("foo", "dev,", None).is_err());
    assert!(parse("foo", "-dev", None).is_err());
    assert!(parse("foo", "dev_", None).is_err());
    assert!(parse("foo", "dev prod", None).is_err());
}

#[test]
fn malformed_percent_encoding_is_refused() {
    assert!(parse("a%2Cb", "dev", None).is_ok());
    assert!(parse("a%zzb", "dev", None).is_err());
    assert!(parse("a%2", "dev", None).is_err());
    assert!(parse("a%ff", "dev", None).is_err());
}
