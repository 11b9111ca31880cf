//! Reading the admin API's JSON for human output: a missing or mistyped field prints as `-`
//! rather than failing a command that already succeeded.
use serde_json::Value;

/// The array `value` holds, or nothing.
pub fn items(value: &Value) -> &[Value] {
    value.as_array().map(Vec::as_slice).unwrap_or_default()
}

/// The string field `key` of `value`, or `-`.
pub fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or("-")
}

/// The number field `key` of `value`, or `-` (also for `null`).
pub fn number(value: &Value, key: &str) -> String {
    value
        .get(key)
        .filter(|v| v.is_number())
        .map_or_else(|| "-".to_owned(), Value::to_string)
}
