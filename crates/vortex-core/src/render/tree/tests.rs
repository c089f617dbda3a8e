use super::*;

fn seg(key: &str) -> Result<Vec<Segment>, CoreError> {
    segments(key)
}

#[test]
fn keys_split_into_segments() {
    use Segment::{Index, Key};
    assert_eq!(seg("a.b[0].c").unwrap(), vec![Key("a".into()), Key("b".into()), Index(0), Key("c".into())]);
    assert_eq!(seg("a[0][1]").unwrap(), vec![Key("a".into()), Index(0), Index(1)]);
    assert_eq!(seg("a.b[hello]").unwrap(), vec![Key("a".into()), Key("b[hello]".into())]);
    assert_eq!(seg("m[a.b]").unwrap(), vec![Key("m[a.b]".into())]);
}

#[test]
fn malformed_keys_are_rejected() {
    for bad in ["a..b", ".a", "a.", "a[]", "a[0]x", "a[0][x]", "[0]", "a[1"] {
        assert!(seg(bad).is_err(), "{bad}");
    }
}
