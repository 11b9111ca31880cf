//! The configuration's field names, and the walk that redacts them.

use crate::json::Json;

/// What a redacted member's value becomes.
pub const REDACTED: &str = "[REDACTED]";

/// The field names of a configuration: comma-separated, spaces around each ignored, blanks
/// skipped. `Err` when none is left.
pub fn fields(config: &str) -> Result<Vec<String>, String> {
    let names: Vec<String> = config
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Err("name at least one field".to_owned());
    }
    Ok(names)
}

/// Replaces the value of every member named in `names`, at any depth, by [`REDACTED`];
/// returns how many were replaced. A replaced value is not looked into (it is gone).
pub fn redact(value: &mut Json, names: &[String]) -> usize {
    match value {
        Json::Object(members) => members
            .iter_mut()
            .map(|(key, value)| {
                if names.iter().any(|name| name == key) {
                    *value = Json::String(REDACTED.to_owned());
                    1
                } else {
                    redact(value, names)
                }
            })
            .sum(),
        Json::Array(items) => items.iter_mut().map(|item| redact(item, names)).sum(),
        Json::Null | Json::Bool(_) | Json::Number(_) | Json::String(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn redacted(text: &str, list: &[&str]) -> (String, usize) {
        let mut tree: Json = serde_json::from_str(text).unwrap();
        let n = redact(&mut tree, &names(list));
        (serde_json::to_string(&tree).unwrap(), n)
    }

    #[test]
    fn names_are_trimmed_and_blanks_skipped() {
        assert_eq!(fields(" a ,b,, c").unwrap(), names(&["a", "b", "c"]));
    }

    #[test]
    fn members_inside_arrays_inside_objects_are_reached() {
        let (out, n) = redacted(r#"{"a":[[{"k":1}],{"b":{"k":[2]}}]}"#, &["k"]);
        assert_eq!(
            out,
            r#"{"a":[[{"k":"[REDACTED]"}],{"b":{"k":"[REDACTED]"}}]}"#
        );
        assert_eq!(n, 2);
    }

    #[test]
    fn a_whole_subtree_under_a_named_key_goes() {
        let (out, n) = redacted(r#"{"card":{"number":"4111","cvc":"1"}}"#, &["card"]);
        assert_eq!(out, r#"{"card":"[REDACTED]"}"#);
        assert_eq!(n, 1);
    }

    #[test]
    fn string_values_equal_to_a_name_are_not_keys() {
        let (out, n) = redacted(r#"{"field":"password","list":["password"]}"#, &["password"]);
        assert_eq!(out, r#"{"field":"password","list":["password"]}"#);
        assert_eq!(n, 0);
    }

    #[test]
    fn a_dotted_name_is_a_key_not_a_path() {
        let (out, _) = redacted(r#"{"card.number":1,"card":{"number":2}}"#, &["card.number"]);
        assert_eq!(out, r#"{"card.number":"[REDACTED]","card":{"number":2}}"#);
    }
}
