//! `SLUICE_*` environment variables as a layer of settings.
//!
//! The rule: `SLUICE_` then the setting's path, each key in upper case with `-` written `_`,
//! keys joined by `__`: `data-dir` is `SLUICE_DATA_DIR`, `topics.default-partitions` is
//! `SLUICE_TOPICS__DEFAULT_PARTITIONS`. In a table keyed by name (`listeners`) the name is one
//! key: `SLUICE_LISTENERS__KAFKA__ADDRESS`, matching a listener of the layers below whatever
//! its case or `-`, or else naming a new one in lower case with `-` for `_`. Two aliases:
//! `SLUICE_LOG` is `log.level` and `SLUICE_LOG_FORMAT` is `log.format`.
//!
//! A value is read as the setting's type: TOML's integer, float or boolean syntax where the
//! setting is one (`3`, `0.5`, `true`), a TOML array where it is an array of tables
//! (`[{ name = "app", password = "..." }]`), and the text as it is for a string.
//!
//! A variable that looks like a setting (see [`looks_like_setting`]) but names none stops the
//! broker with its name and the nearest setting: a typo never passes silently. Others (the
//! build and test tools' `SLUICE_BIN`, `SLUICE_GUEST_*` ...) are left alone.
use serde_json::Value as Json;

use super::layers::{Path, display};

/// Every setting variable starts with this.
pub const PREFIX: &str = "SLUICE_";
/// Variables Sluice reads that are not settings.
pub const NOT_SETTINGS: &[&str] = &[
    "SLUICE_CONFIG",
    "SLUICE_URL",
    "SLUICE_FAIL_POINTS",
    "SLUICE_WASM_PERFMAP",
];
/// Variables naming a setting other than by the rule, kept for their familiarity.
pub const ALIASES: &[(&str, &[&str])] = &[
    (crate::logging::LEVEL_ENV, &["log", "level"]),
    (crate::logging::FORMAT_ENV, &["log", "format"]),
];
/// The one table keyed by names the operator chooses; its entries' keys.
const NAMED_TABLES: &[&str] = &["listeners"];
/// The listeners a broker has when it is told of none, for suggestions.
const DEFAULT_NAMES: &[&str] = &[super::KAFKA_LISTENER, super::AMQP_LISTENER];
/// How far (in edits: a letter added, dropped, changed, or two swapped) a variable may be
/// from a setting's and still be taken for a misspelling of it.
const TYPO_EDITS_MAX: usize = 2;

/// What settings exist and of which type: the defaults, as JSON so that unset optional
/// settings are there too (as `null`), and the defaults of one entry of each named table.
pub struct Schema {
    /// `Config::default()`.
    pub root: Json,
    /// A listener's defaults, for `listeners.NAME.*`.
    pub named_entry: Json,
}

/// One variable, read.
#[derive(Debug)]
pub struct Setting {
    /// The variable.
    pub var: String,
    /// The setting it sets.
    pub path: Path,
    /// Its value, of the setting's type.
    pub value: toml::Value,
}

/// Reads the setting variables among `vars`, sorted by name. `below` is the configuration of
/// the layers below, whose listener names a variable's matches. Every problem is reported,
/// one per variable.
pub fn settings(
    vars: &[(String, String)],
    schema: &Schema,
    below: &toml::Table,
) -> Result<Vec<Setting>, Vec<String>> {
    let mut settings: Vec<Setting> = Vec::new();
    let mut problems = Vec::new();
    for (var, raw) in vars {
        let Some(rest) = var.strip_prefix(PREFIX) else {
            continue;
        };
        if NOT_SETTINGS.contains(&var.as_str()) {
            continue;
        }
        let found = match ALIASES.iter().find(|(alias, _)| alias == var) {
            Some((_, path)) => lookup(&path.join("__"), schema, below),
            None => lookup(rest, schema, below),
        };
        match found {
            Ok((path, leaf)) => match value_of(raw, leaf) {
                Ok(value) => {
                    if let Some(first) = settings.iter().find(|s| s.path == path) {
                        problems.push(format!(
                            "{var}: sets {} as {} does; set it once",
                            display(&path),
                            first.var
                        ));
                        continue;
                    }
                    settings.push(Setting {
                        var: var.clone(),
                        path,
                        value,
                    });
                }
                Err(why) => problems.push(format!("{var}: {} {why}", display(&path))),
            },
            Err(Lookup::Table(path)) => problems.push(format!(
                "{var}: {} is a table; set its keys ({PREFIX}{}__KEY)",
                display(&path),
                env_key(&path)
            )),
            Err(Lookup::Unknown { why, near }) if looks_like_setting(rest, schema) => {
                let hint = match (nearest(var, schema, below), near) {
                    (Some(name), _) => format!("; did you mean {name}?"),
                    (None, Some(near)) => format!("; did you mean {}__...?", var_for(&near)),
                    (None, None) => String::new(),
                };
                problems.push(format!("{var}: {why}{hint}"));
            }
            Err(Lookup::Unknown { .. }) => {}
        }
    }
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(problems)
    }
}

/// Problems with variables as one message, after a colon: on its line if one, else one per
/// line.
pub fn problems_text(problems: &[String]) -> String {
    match problems {
        [one] => format!(" {one}"),
        many => format!("\n  {}", many.join("\n  ")),
    }
}

enum Lookup {
    /// No such setting: why, and the path of the key nearest the unknown one.
    Unknown { why: String, near: Option<Path> },
    /// The path names a table, not a value.
    Table(Path),
}

/// The setting `rest` (a variable's name after the prefix) names, and its default.
fn lookup<'s>(
    rest: &str,
    schema: &'s Schema,
    below: &toml::Table,
) -> Result<(Path, &'s Json), Lookup> {
    let mut path: Path = Vec::new();
    let mut node = &schema.root;
    let mut below = Some(below);
    let mut segments = rest.split("__");
    while let Some(segment) = segments.next() {
        let Json::Object(fields) = node else {
            return Err(Lookup::Unknown {
                why: format!(
                    "{} is a value, with no key `{}`",
                    display(&path),
                    key_of(segment)
                ),
                near: None,
            });
        };
        let key = key_of(segment);
        let Some(child) = fields.get(&key) else {
            let why = if path.is_empty() {
                format!("no setting `{key}`")
            } else {
                format!("{} has no setting `{key}`", display(&path))
            };
            // The key nearest the misspelt one, to point at its table at least.
            let near = fields
                .keys()
                .map(|k| (distance(k, &key), k))
                .filter(|(d, _)| *d <= TYPO_EDITS_MAX)
                .min()
                .map(|(_, k)| {
                    let mut near = path.clone();
                    near.push(k.clone());
                    near
                });
            return Err(Lookup::Unknown { why, near });
        };
        below = below
            .and_then(|t| t.get(&key))
            .and_then(toml::Value::as_table);
        path.push(key);
        if path.len() == 1 && NAMED_TABLES.contains(&path[0].as_str()) {
            let Some(name) = segments.next() else {
                return Err(Lookup::Table(path));
            };
            let existing = below.and_then(|t| {
                t.keys()
                    .find(|k| env_segment(k) == name.to_ascii_uppercase())
            });
            let name = existing.cloned().unwrap_or_else(|| key_of(name));
            below = below
                .and_then(|t| t.get(&name))
                .and_then(toml::Value::as_table);
            path.push(name);
            node = &schema.named_entry;
        } else {
            node = child;
        }
    }
    match node {
        Json::Object(_) => Err(Lookup::Table(path)),
        leaf => Ok((path, leaf)),
    }
}

/// A key as a variable's segment writes it: `default-partitions` from `DEFAULT_PARTITIONS`.
fn key_of(segment: &str) -> String {
    segment.to_ascii_lowercase().replace('_', "-")
}

/// The reverse: the segment for `key`.
fn env_segment(key: &str) -> String {
    key.to_ascii_uppercase().replace(['-', '.'], "_")
}

/// The part after `SLUICE_` of the variable for `path`.
fn env_key(path: &[String]) -> String {
    path.iter()
        .map(|k| env_segment(k))
        .collect::<Vec<_>>()
        .join("__")
}

/// The variable that sets `path` by the rule.
pub fn var_for(path: &[String]) -> String {
    format!("{PREFIX}{}", env_key(path))
}

/// `raw` read as the type of `default`, the setting's default value (`null`: an optional
/// setting, unset by default, whose value is read as TOML if it parses and as text if not).
fn value_of(raw: &str, default: &Json) -> Result<toml::Value, String> {
    let parsed = raw.trim().parse::<toml::Value>();
    match default {
        Json::Bool(_) => match raw.trim() {
            "true" => Ok(toml::Value::Boolean(true)),
            "false" => Ok(toml::Value::Boolean(false)),
            _ => Err(format!("takes true or false, not {raw:?}")),
        },
        Json::Number(n) if n.is_f64() => match parsed {
            Ok(toml::Value::Float(f)) => Ok(toml::Value::Float(f)),
            Ok(toml::Value::Integer(i)) => Ok(toml::Value::Float(i as f64)),
            _ => Err(format!("takes a number, not {raw:?}")),
        },
        Json::Number(_) => match parsed {
            Ok(toml::Value::Integer(i)) => Ok(toml::Value::Integer(i)),
            _ => Err(format!("takes an integer, not {raw:?}")),
        },
        Json::String(_) => Ok(toml::Value::String(raw.to_owned())),
        // Arrays hold tables with secrets (users' passwords): never echoed.
        Json::Array(_) => match parsed {
            Ok(value @ toml::Value::Array(_)) => Ok(value),
            _ => Err("takes a TOML array, e.g. [{ name = \"a\" }]".to_owned()),
        },
        Json::Null | Json::Object(_) => match parsed {
            Ok(toml::Value::Table(_)) | Err(_) => Ok(toml::Value::String(raw.to_owned())),
            Ok(value) => Ok(value),
        },
    }
}

/// Whether a variable `SLUICE_{rest}` that names no setting was meant to: it has `__` (a
/// table path), or its first word is (or is one letter off) the first word of a top-level
/// setting (`DATA` of `DATA_DIR`, `TOPIC` for `TOPICS`), or the whole is within two edits of
/// a setting's variable of six letters or more (`DATADIR`). Short words must match exactly
/// (`LOG`), so that `SLUICE_BIN` or `SLUICE_SDK` are not taken for settings.
pub fn looks_like_setting(rest: &str, schema: &Schema) -> bool {
    if rest.contains("__") {
        return true;
    }
    let first = rest.split('_').next().unwrap_or(rest);
    let Json::Object(top) = &schema.root else {
        return false;
    };
    let first_words = top
        .keys()
        .map(|key| env_segment(key.split('-').next().unwrap_or(key)));
    for word in first_words {
        if word == first || (word.len() >= 4 && distance(&word, first) <= 1) {
            return true;
        }
    }
    let candidates = known_vars(schema, &toml::Table::new());
    candidates
        .iter()
        .filter_map(|known| known.strip_prefix(PREFIX))
        .any(|known| known.len() >= 6 && distance(known, rest) <= TYPO_EDITS_MAX)
}

/// The known variable nearest to `var`, if any is close enough to be what was meant.
fn nearest(var: &str, schema: &Schema, below: &toml::Table) -> Option<String> {
    let allowed = TYPO_EDITS_MAX.max(var.len() / 4);
    known_vars(schema, below)
        .into_iter()
        .map(|known| (distance(&known, var), known))
        .filter(|(d, _)| *d <= allowed)
        .min()
        .map(|(_, known)| known)
}

/// Every setting's variable (listeners through the names `below` has and the default ones),
/// and the aliases.
pub fn known_vars(schema: &Schema, below: &toml::Table) -> Vec<String> {
    let mut vars = Vec::new();
    let mut path = Vec::new();
    collect(&schema.root, &mut path, &mut |p: &[String], node: &Json| {
        if p.len() == 1 && NAMED_TABLES.contains(&p[0].as_str()) {
            let mut names: Vec<String> = below
                .get(&p[0])
                .and_then(toml::Value::as_table)
                .map(|t| t.keys().cloned().collect())
                .unwrap_or_default();
            for name in DEFAULT_NAMES {
                if !names.iter().any(|n| n == name) {
                    names.push((*name).to_owned());
                }
            }
            for name in names {
                let mut at = p.to_vec();
                at.push(name);
                collect(
                    &schema.named_entry,
                    &mut at,
                    &mut |leaf: &[String], _: &Json| {
                        vars.push(var_for(leaf));
                        true
                    },
                );
            }
            return false;
        }
        if !node.is_object() {
            vars.push(var_for(p));
        }
        true
    });
    vars.extend(ALIASES.iter().map(|(alias, _)| (*alias).to_owned()));
    vars
}

/// Visits `node` and what is under it; `visit` returns false to skip what is under a table.
fn collect(node: &Json, path: &mut Path, visit: &mut dyn FnMut(&[String], &Json) -> bool) {
    if !path.is_empty() && !visit(path, node) {
        return;
    }
    if let Json::Object(fields) = node {
        for (key, child) in fields {
            path.push(key.clone());
            collect(child, path, visit);
            path.pop();
        }
    }
}

/// Edits between `a` and `b`: letters added, dropped, changed, or two neighbours swapped
/// (the optimal string alignment distance).
fn distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::config::schema;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn read(pairs: &[(&str, &str)]) -> Result<Vec<Setting>, Vec<String>> {
        let below: toml::Table =
            toml::from_str("[listeners.kafka-tls]\naddress = \"127.0.0.1:1\"\n").unwrap();
        settings(&vars(pairs), &schema(), &below)
    }

    fn one(name: &str, value: &str) -> (String, toml::Value) {
        let settings = read(&[(name, value)]).unwrap();
        assert_eq!(settings.len(), 1, "{settings:?}");
        (display(&settings[0].path), settings[0].value.clone())
    }

    #[test]
    fn double_underscores_separate_tables_and_single_ones_stand_for_dashes() {
        assert_eq!(
            one("SLUICE_DATA_DIR", "/srv/sluice"),
            ("data-dir".into(), "/srv/sluice".into())
        );
        assert_eq!(
            one("SLUICE_TOPICS__DEFAULT_PARTITIONS", "3"),
            ("topics.default-partitions".into(), toml::Value::Integer(3))
        );
        assert_eq!(
            one("SLUICE_GROUPS__INITIAL_REBALANCE_DELAY_MS", "0"),
            (
                "groups.initial-rebalance-delay-ms".into(),
                toml::Value::Integer(0)
            )
        );
    }

    #[test]
    fn values_take_the_type_of_their_setting() {
        assert_eq!(
            one("SLUICE_TOPICS__AUTO_CREATE", "false").1,
            toml::Value::Boolean(false)
        );
        assert_eq!(
            one("SLUICE_TOPICS__MIN_CLEANABLE_DIRTY_RATIO", "1").1,
            toml::Value::Float(1.0)
        );
        // A string setting keeps digits as text.
        assert_eq!(one("SLUICE_ADMIN__ADDRESS", "8161").1, "8161".into());
        // An optional setting: TOML if it parses, else text.
        assert_eq!(
            one("SLUICE_PLUGINS__CACHE_DIR", "/var/cache/sluice").1,
            "/var/cache/sluice".into()
        );
        let users = one(
            "SLUICE_SECURITY__USERS",
            "[{ name = \"app\", password = \"pw\" }]",
        )
        .1;
        assert_eq!(users.as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_value_of_the_wrong_type_names_the_variable_and_the_setting() {
        let problems = read(&[("SLUICE_TOPICS__DEFAULT_PARTITIONS", "three")]).unwrap_err();
        assert_eq!(
            problems,
            [
                "SLUICE_TOPICS__DEFAULT_PARTITIONS: topics.default-partitions takes an integer, not \"three\""
            ]
        );
        let problems = read(&[("SLUICE_SECURITY__USERS", "secret")]).unwrap_err();
        assert!(!problems[0].contains("secret"), "{problems:?}");
    }

    #[test]
    fn listeners_are_reached_by_name_matching_existing_ones_case_and_dash_blind() {
        assert_eq!(
            one("SLUICE_LISTENERS__KAFKA_TLS__ADVERTISED", "broker:9093").0,
            "listeners.kafka-tls.advertised"
        );
        assert_eq!(
            one("SLUICE_LISTENERS__AMQP__ADDRESS", "127.0.0.1:5673").0,
            "listeners.amqp.address"
        );
        assert_eq!(
            one("SLUICE_LISTENERS__KAFKA__FRAME_BYTES_MAX", "2048").1,
            toml::Value::Integer(2048)
        );
    }

    #[test]
    fn the_log_aliases_name_log_settings() {
        assert_eq!(one("SLUICE_LOG", "debug").0, "log.level");
        assert_eq!(one("SLUICE_LOG_FORMAT", "json").0, "log.format");
        assert_eq!(one("SLUICE_LOG__FORMAT", "json").0, "log.format");
        let problems = read(&[("SLUICE_LOG", "debug"), ("SLUICE_LOG__LEVEL", "info")]).unwrap_err();
        assert!(problems[0].contains("set it once"), "{problems:?}");
    }

    #[test]
    fn a_misspelt_setting_is_refused_with_the_nearest_one() {
        let problems = read(&[
            ("SLUICE_TOPCIS__DEFAULT_PARTITIONS", "3"),
            ("SLUICE_DATADIR", "/x"),
            ("SLUICE_TOPICS_DEFAULT_PARTITIONS", "3"),
            ("SLUICE_TOPICS__DEFAULT_PARTITONS", "3"),
            ("SLUICE_LISTENERS__KAFKA__ADRESS", "x"),
        ])
        .unwrap_err();
        assert_eq!(
            problems,
            [
                "SLUICE_TOPCIS__DEFAULT_PARTITIONS: no setting `topcis`; did you mean SLUICE_TOPICS__DEFAULT_PARTITIONS?",
                "SLUICE_DATADIR: no setting `datadir`; did you mean SLUICE_DATA_DIR?",
                "SLUICE_TOPICS_DEFAULT_PARTITIONS: no setting `topics-default-partitions`; did you mean SLUICE_TOPICS__DEFAULT_PARTITIONS?",
                "SLUICE_TOPICS__DEFAULT_PARTITONS: topics has no setting `default-partitons`; did you mean SLUICE_TOPICS__DEFAULT_PARTITIONS?",
                "SLUICE_LISTENERS__KAFKA__ADRESS: listeners.kafka has no setting `adress`; did you mean SLUICE_LISTENERS__KAFKA__ADDRESS?",
            ]
        );
    }

    #[test]
    fn a_misspelt_table_is_pointed_at() {
        let problems = read(&[("SLUICE_TOPCIS__X", "1")]).unwrap_err();
        assert_eq!(
            problems,
            ["SLUICE_TOPCIS__X: no setting `topcis`; did you mean SLUICE_TOPICS__...?"]
        );
    }

    #[test]
    fn a_table_is_not_a_value() {
        let problems = read(&[("SLUICE_TOPICS", "x")]).unwrap_err();
        assert_eq!(
            problems,
            ["SLUICE_TOPICS: topics is a table; set its keys (SLUICE_TOPICS__KEY)"]
        );
    }

    #[test]
    fn the_projects_other_variables_are_not_taken_for_settings() {
        let others = [
            "SLUICE_CONFIG",
            "SLUICE_URL",
            "SLUICE_FAIL_POINTS",
            "SLUICE_WASM_PERFMAP",
            "SLUICE_BIN",
            "SLUICE_SDK",
            "SLUICE_E2E_LOG",
            "SLUICE_E2E_PLUGIN_CACHE",
            "SLUICE_BUILD_TAG",
            "SLUICE_BUILD_JOBS",
            "SLUICE_SKIP_CARGO_TEST",
            "SLUICE_EXAMPLES_DIR",
            "SLUICE_EXAMPLES_OUT",
            "SLUICE_GUEST_LOOP",
            "SLUICE_GUEST_ALLOC",
            "SLUICE_GUEST_TRAP",
            "SLUICE_GUEST_FILTER_LOOP",
            "SLUICE_GUEST_FILTER_TRAP",
            "SLUICE_GUEST_FILTER_OLD_WIT",
            "SLUICE_GUEST_FILTER_ECHO",
            "SLUICE_GUESTS_TARGET_DIR",
            "SLUICE_CODEC_SWAP_A",
            "SLUICE_CODEC_SWAP_B",
            "SLUICE_ROUTER_SWAP_A",
            "SLUICE_FILTER_SWAP_B",
            "SLUICE_BENCH_MESSAGES",
            "SLUICE_BENCH_WINDOW",
            "SLUICE_BENCH_RABBITMQ",
            "SLUICE_BENCH_BODY",
            "SLUICE_BENCH_BATCH",
        ];
        let pairs: Vec<(&str, &str)> = others.iter().map(|v| (*v, "x")).collect();
        assert_eq!(read(&pairs).unwrap().len(), 0);
    }

    #[test]
    fn every_setting_has_exactly_one_variable() {
        let known = known_vars(&schema(), &toml::Table::new());
        let mut sorted = known.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), known.len(), "two settings share a variable");
        assert!(known.contains(&"SLUICE_QUEUES__SYNC_INTERVAL_MS".to_owned()));
        assert!(known.contains(&"SLUICE_NODE_ID".to_owned()));
    }
}
