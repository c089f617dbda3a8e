//! Property values: the scalar types a YAML or `.properties` source can carry.

use std::fmt;

/// One property value, keeping the YAML scalar type it was written with.
///
/// `.properties` sources carry only strings. YAML null values become the empty string, as in Spring.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string.
    String(String),
    /// A boolean (`true`, `yes`, `on`, ... in YAML 1.1).
    Bool(bool),
    /// An integer (decimal, octal `010`, hex `0x1F`, binary `0b101` or sexagesimal `1:30`).
    Int(i64),
    /// A floating-point number.
    Float(f64),
}

impl Value {
    /// Returns the string value, if this is a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    /// An estimate of the value's size as text, for memory accounting.
    pub(crate) fn text_len(&self) -> usize {
        match self {
            Self::String(s) => s.len(),
            Self::Bool(_) => 5,
            Self::Int(_) | Self::Float(_) => 12,
        }
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Self::String(value.to_owned())
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

/// Formats the value as Java's `toString()` would, which is what Spring writes in flat outputs.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) => f.write_str(s),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Int(i) => write!(f, "{i}"),
            Self::Float(x) => f.write_str(&java_double(*x)),
        }
    }
}

impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::String(s) => serializer.serialize_str(s),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Int(i) => serializer.serialize_i64(*i),
            // Jackson writes non-finite numbers as strings by default.
            Self::Float(x) if !x.is_finite() => serializer.serialize_str(&java_double(*x)),
            Self::Float(x) => serializer.serialize_f64(*x),
        }
    }
}

/// Formats a double the way `java.lang.Double.toString` does.
///
/// Plain notation with at least one fractional digit for magnitudes in `[1e-3, 1e7)`, computerised
/// scientific notation (`1.0E20`) otherwise; `NaN`, `Infinity` and `-Infinity` for non-finite values.
pub fn java_double(x: f64) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "Infinity" } else { "-Infinity" }.to_owned();
    }
    let magnitude = x.abs();
    if x == 0.0 || (1e-3..1e7).contains(&magnitude) {
        let plain = format!("{x}");
        if plain.contains('.') { plain } else { format!("{plain}.0") }
    } else {
        // Rust's `{:e}` gives the shortest round-trip digits, e.g. `1.5e20` or `1e-5`.
        let sci = format!("{x:e}");
        let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
        let mantissa = if mantissa.contains('.') { mantissa.to_owned() } else { format!("{mantissa}.0") };
        format!("{mantissa}E{exponent}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_format_like_java() {
        assert_eq!(java_double(1.0), "1.0");
        assert_eq!(java_double(0.5), "0.5");
        assert_eq!(java_double(-2.25), "-2.25");
        assert_eq!(java_double(0.0), "0.0");
        assert_eq!(java_double(1e7), "1.0E7");
        assert_eq!(java_double(1.5e20), "1.5E20");
        assert_eq!(java_double(1e-4), "1.0E-4");
        assert_eq!(java_double(0.001), "0.001");
        assert_eq!(java_double(f64::INFINITY), "Infinity");
        assert_eq!(java_double(f64::NAN), "NaN");
    }

    #[test]
    fn display_is_java_to_string() {
        assert_eq!(Value::Bool(true).to_string(), "true");
        assert_eq!(Value::Int(-8).to_string(), "-8");
        assert_eq!(Value::from("x y").to_string(), "x y");
    }
}
