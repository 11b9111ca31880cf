//! Topic name validation: Kafka's rule, so every name a Kafka client may use is accepted and
//! every accepted name is a safe single path component under `topics/`.

use crate::StorageError;

/// Kafka's limit: a partition directory is named `<topic>-<partition>` there and must stay
/// under the usual 255-byte file name limit.
pub const TOPIC_NAME_BYTES_MAX: usize = 249;

/// Checks `name` against Kafka's rule: 1..=249 characters of `[a-zA-Z0-9._-]`, not `.` or
/// `..`. Because `/` and NUL are excluded, a valid name is always one path component.
pub fn validate_topic_name(name: &str) -> Result<(), StorageError> {
    let invalid = |reason: &str| {
        Err(StorageError::InvalidTopic {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return invalid("empty");
    }
    if name.len() > TOPIC_NAME_BYTES_MAX {
        return invalid("longer than 249 characters");
    }
    if name == "." || name == ".." {
        return invalid("`.` and `..` are reserved");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return invalid("only ASCII letters, digits, `.`, `_` and `-` are allowed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_names_are_accepted() {
        for name in [
            "a",
            "orders",
            "my.topic_v2-x",
            "..a",
            "a..",
            &"x".repeat(249),
        ] {
            assert!(validate_topic_name(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn names_outside_the_rule_are_refused() {
        for name in [
            "",
            ".",
            "..",
            "a/b",
            "a b",
            "é",
            "a\0",
            "../x",
            &"x".repeat(250),
        ] {
            assert!(
                matches!(
                    validate_topic_name(name),
                    Err(StorageError::InvalidTopic { .. })
                ),
                "{name:?}"
            );
        }
    }
}
