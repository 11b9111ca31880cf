//! The effective configuration as a list of settings, each with its value and the layer it
//! came from: what `sluice config show` prints. Secrets are masked.
use serde_json::Value as Json;

use super::layers::{Path, Source};
use super::{ConfigError, Resolved};

/// What a secret is printed as.
pub const SECRET_MASK: &str = "****";
/// Keys whose values are secrets, wherever they are (`security.users[].password`).
const SECRET_KEYS: &[&str] = &["password"];

/// One setting of the effective configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Its keys from the top.
    pub path: Path,
    /// Its value, secrets masked; `None` for an optional setting left unset.
    pub value: Option<toml::Value>,
    /// Where the value came from.
    pub source: Source,
}

impl Resolved {
    /// Every setting, in the order a TOML file would list them: within each table its values
    /// first, then its tables, keys in alphabetical order. Arrays (of addresses, users ...)
    /// are single settings.
    pub fn entries(&self) -> Result<Vec<Entry>, ConfigError> {
        let invalid = |e: &dyn std::fmt::Display| ConfigError::Invalid(e.to_string());
        let values = toml::Value::try_from(&self.config).map_err(|e| invalid(&e))?;
        let shape = serde_json::to_value(&self.config).map_err(|e| invalid(&e))?;
        let mut entries = Vec::new();
        self.walk(&shape, &values, &mut Vec::new(), &mut entries);
        Ok(entries)
    }

    fn walk(&self, shape: &Json, values: &toml::Value, path: &mut Path, out: &mut Vec<Entry>) {
        let Json::Object(fields) = shape else {
            return;
        };
        let (tables, leaves): (Vec<_>, Vec<_>) = fields.iter().partition(|(_, v)| v.is_object());
        for (key, leaf) in leaves {
            path.push(key.clone());
            let value = match leaf {
                Json::Null => None,
                _ => values.get(key).cloned().map(|v| masked(key, v)),
            };
            out.push(Entry {
                path: path.clone(),
                value,
                source: self.provenance.source(path),
            });
            path.pop();
        }
        for (key, table) in tables {
            if let Some(inner) = values.get(key) {
                path.push(key.clone());
                self.walk(table, inner, path, out);
                path.pop();
            }
        }
    }
}

/// `value` with every secret in it replaced by [`SECRET_MASK`].
fn masked(key: &str, value: toml::Value) -> toml::Value {
    if SECRET_KEYS.contains(&key) {
        return SECRET_MASK.into();
    }
    match value {
        toml::Value::Array(items) => {
            toml::Value::Array(items.into_iter().map(|v| masked("", v)).collect())
        }
        toml::Value::Table(table) => toml::Value::Table(
            table
                .into_iter()
                .map(|(k, v)| {
                    let v = masked(&k, v);
                    (k, v)
                })
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::ffi::OsString;

    use super::*;
    use crate::config::{Overrides, resolve};

    fn entry<'e>(entries: &'e [Entry], dotted: &str) -> &'e Entry {
        entries
            .iter()
            .find(|e| e.path.join(".") == dotted)
            .unwrap_or_else(|| panic!("no {dotted}"))
    }

    #[test]
    fn every_setting_is_listed_with_its_source_and_passwords_are_masked() {
        let vars = [
            (
                OsString::from("SLUICE_SECURITY__USERS"),
                OsString::from("[{ name = \"app\", password = \"s3cret\" }]"),
            ),
            (OsString::from("SLUICE_NODE_ID"), OsString::from("7")),
        ];
        let overrides = Overrides {
            admin: Some("127.0.0.1:9999".into()),
            ..Overrides::default()
        };
        let resolved = resolve(None, &overrides, vars).unwrap();
        let entries = resolved.entries().unwrap();

        let users = entry(&entries, "security.users");
        assert_eq!(users.source, Source::Env("SLUICE_SECURITY__USERS".into()));
        let text = users.value.as_ref().unwrap().to_string();
        assert!(
            !text.contains("s3cret") && text.contains(SECRET_MASK),
            "{text}"
        );

        let node = entry(&entries, "node-id");
        assert_eq!(node.value, Some(toml::Value::Integer(7)));
        assert_eq!(
            entry(&entries, "admin.address").source,
            Source::Flag("--admin")
        );
        let cache_dir = entry(&entries, "plugins.cache-dir");
        assert_eq!(
            (cache_dir.value.clone(), cache_dir.source.clone()),
            (None, Source::Default)
        );
        assert_eq!(
            entry(&entries, "listeners.amqp.codec").value,
            Some("builtin:codec-amqp".into())
        );
    }

    #[test]
    fn values_come_before_tables_as_in_a_toml_file() {
        let resolved = resolve(None, &Overrides::default(), []).unwrap();
        let entries = resolved.entries().unwrap();
        let first_table = entries.iter().position(|e| e.path.len() > 1).unwrap();
        assert!(entries[first_table..].iter().all(|e| e.path.len() > 1));
    }
}
