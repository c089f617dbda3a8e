//! Destinations: which Spring services an event is for.
//!
//! A Spring client matches an event's `destinationService` against its own bus id
//! (`application:profiles:port:random`) with an Ant matcher whose separator is `:`. Spring Cloud
//! Bus turns a service name into a destination by appending `:**` to any value with at most one
//! `:` that does not already end in it (`orders` → `orders:**`, `*` → `*:**`, `orders:dev` →
//! `orders:dev:**`); a value with more stays as it is (`orders:dev:8080`). No value means `**`,
//! everyone.

/// The destination of every service.
pub const EVERYONE: &str = "**";

/// The longest destination accepted (AMQP short strings, and more than any service name needs).
const MAX_LEN: usize = 255;

/// The destination for `name` (a service name, or a destination given by hand), as Spring makes it.
///
/// # Errors
/// An empty value, one over 255 bytes, or one with whitespace or control characters: no
/// service's bus id can match it, so it is a mistake worth naming.
pub fn destination(name: Option<&str>) -> Result<String, String> {
    let Some(name) = name else { return Ok(EVERYONE.to_owned()) };
    if name.is_empty() || name.len() > MAX_LEN {
        return Err(format!("a destination has 1 to {MAX_LEN} characters"));
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a destination has no spaces or control characters".to_owned());
    }
    if name == EVERYONE || name.ends_with(":**") || name.matches(':').count() > 1 {
        return Ok(name.to_owned());
    }
    Ok(format!("{name}:**"))
}

#[cfg(test)]
mod tests {
    use super::destination;

    #[test]
    fn names_become_springs_destinations() {
        for (name, expected) in [
            (Some("orders"), "orders:**"),
            (Some("*"), "*:**"),
            (Some("orders:dev"), "orders:dev:**"),
            (Some("orders:**"), "orders:**"),
            (Some("orders:dev:8080"), "orders:dev:8080"),
            (Some("**"), "**"),
            (None, "**"),
        ] {
            assert_eq!(destination(name).as_deref(), Ok(expected), "{name:?}");
        }
    }

    #[test]
    fn unusable_destinations_are_refused() {
        for bad in ["", "a b", "a\nb", &"x".repeat(256)] {
            assert!(destination(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
