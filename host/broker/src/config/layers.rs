//! Layers of settings and where each value came from.
//!
//! Each layer (the file, the environment, the flags) is a TOML table; layers are merged in
//! precedence order, table by table, a later layer's value (a scalar or a whole array)
//! replacing an earlier one's. The merge records, for every leaf it writes, the layer that
//! wrote it: a leaf no layer wrote is a built-in default.
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The path of a setting: its keys from the top, e.g. `["listeners", "kafka", "address"]`.
pub type Path = Vec<String>;

/// Where one value of the effective configuration came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// Built in.
    Default,
    /// The TOML file (`--config` or `SLUICE_CONFIG`).
    File(PathBuf),
    /// A `SLUICE_*` environment variable.
    Env(String),
    /// A command-line flag, e.g. `--kafka`.
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(path) => write!(f, "file {}", path.display()),
            Source::Env(var) => write!(f, "env {var}"),
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

/// For every leaf a layer set, that layer. Leaves absent here are defaults.
#[derive(Clone, Debug, Default)]
pub struct Provenance {
    leaves: BTreeMap<Path, Source>,
}

impl Provenance {
    /// Where the value at `path` came from.
    pub fn source(&self, path: &[String]) -> Source {
        self.leaves.get(path).cloned().unwrap_or(Source::Default)
    }

    /// Where the value at `path`, or the first value set under it, came from: the layer to
    /// blame for an error about `path`, which may be a table (an unknown key in the file).
    pub fn blame(&self, path: &[String]) -> Source {
        if let Some(source) = (0..=path.len())
            .rev()
            .find_map(|n| self.leaves.get(&path[..n]))
        {
            return source.clone();
        }
        self.leaves
            .iter()
            .find(|(leaf, _)| leaf.starts_with(path))
            .map(|(_, source)| source.clone())
            .unwrap_or(Source::Default)
    }

    /// `message`, about the setting its text starts with, followed by the layer that set
    /// that setting if it was not a default: `... (set by env SLUICE_NODE_ID)`.
    pub fn annotate(&self, message: String) -> String {
        let setter = self
            .leaves
            .iter()
            .filter(|(path, _)| {
                let dotted = display(path);
                message.starts_with(&dotted)
                    && !message[dotted.len()..]
                        .starts_with(|c: char| c.is_alphanumeric() || c == '-')
            })
            .max_by_key(|(path, _)| path.len());
        match setter {
            Some((_, source)) => format!("{message} (set by {source})"),
            None => message,
        }
    }

    /// The layers that set anything, lowest precedence first, e.g. `file sluice.toml, env
    /// SLUICE_NODE_ID, flag --kafka`; `defaults only` when none did.
    pub fn summary(&self) -> String {
        let rank = |s: &Source| match s {
            Source::Default => 0,
            Source::File(_) => 1,
            Source::Env(_) => 2,
            Source::Flag(_) => 3,
        };
        let mut sources: Vec<&Source> = self.leaves.values().collect();
        sources.sort_by_key(|s| (rank(s), s.to_string()));
        sources.dedup();
        if sources.is_empty() {
            return "defaults only".to_owned();
        }
        sources
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn forget_under(&mut self, path: &[String]) {
        self.leaves.retain(|leaf, _| !leaf.starts_with(path));
    }
}

/// Merges `layer` into `into`, recording `source` for every leaf it writes.
pub fn merge(
    into: &mut toml::Table,
    layer: &toml::Table,
    source: &Source,
    provenance: &mut Provenance,
) {
    merge_at(&mut Vec::new(), into, layer, source, provenance);
}

fn merge_at(
    at: &mut Path,
    into: &mut toml::Table,
    layer: &toml::Table,
    source: &Source,
    provenance: &mut Provenance,
) {
    for (key, value) in layer {
        at.push(key.clone());
        match (into.get_mut(key), value) {
            (Some(toml::Value::Table(below)), toml::Value::Table(above)) => {
                merge_at(at, below, above, source, provenance);
            }
            _ => {
                provenance.forget_under(at);
                record(at, value, source, provenance);
                into.insert(key.clone(), value.clone());
            }
        }
        at.pop();
    }
}

fn record(at: &mut Path, value: &toml::Value, source: &Source, provenance: &mut Provenance) {
    match value {
        toml::Value::Table(table) => {
            for (key, value) in table {
                at.push(key.clone());
                record(at, value, source, provenance);
                at.pop();
            }
        }
        _ => {
            provenance.leaves.insert(at.clone(), source.clone());
        }
    }
}

/// Sets one leaf, creating the tables on its way (a table in the way of a scalar is
/// replaced), as a layer of one value would.
pub fn set(
    into: &mut toml::Table,
    path: &[String],
    value: toml::Value,
    source: &Source,
    provenance: &mut Provenance,
) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut table = into;
    for key in parents {
        let entry = table
            .entry(key.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(inner) = entry else {
            return;
        };
        table = inner;
    }
    provenance.forget_under(path);
    record(&mut path.to_vec(), &value, source, provenance);
    table.insert(last.clone(), value);
}

/// `path` as a TOML dotted key: `listeners.kafka.address`, `listeners."a.b".address`.
pub fn display(path: &[String]) -> String {
    path.iter()
        .map(|key| {
            let bare = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if bare {
                key.clone()
            } else {
                toml::Value::String(key.clone()).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    fn path(dotted: &str) -> Path {
        dotted.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn a_later_layer_replaces_leaves_and_keeps_the_rest_of_a_table() {
        let mut merged = table("a = 1\n[t]\nx = 1\ny = [1, 2]\n");
        let mut provenance = Provenance::default();
        let file = Source::File("f.toml".into());
        merge(
            &mut merged,
            &table("[t]\ny = [3]\nz = \"new\"\n"),
            &file,
            &mut provenance,
        );
        assert_eq!(merged, table("a = 1\n[t]\nx = 1\ny = [3]\nz = \"new\"\n"));
        assert_eq!(provenance.source(&path("a")), Source::Default);
        assert_eq!(provenance.source(&path("t.x")), Source::Default);
        assert_eq!(provenance.source(&path("t.y")), file);
        assert_eq!(provenance.source(&path("t.z")), file);
    }

    #[test]
    fn set_records_its_source_and_overrides_the_layers_below() {
        let file_layer = table("[l.kafka]\naddress = \"a\"\n");
        let mut merged = toml::Table::new();
        let mut provenance = Provenance::default();
        let file = Source::File("f.toml".into());
        merge(&mut merged, &file_layer, &file, &mut provenance);
        let env = Source::Env("SLUICE_L__KAFKA__ADDRESS".into());
        set(
            &mut merged,
            &path("l.kafka.address"),
            "b".into(),
            &env,
            &mut provenance,
        );
        set(
            &mut merged,
            &path("l.amqp.address"),
            "c".into(),
            &env,
            &mut provenance,
        );
        assert_eq!(merged["l"]["kafka"]["address"].as_str(), Some("b"));
        assert_eq!(merged["l"]["amqp"]["address"].as_str(), Some("c"));
        assert_eq!(provenance.source(&path("l.kafka.address")), env);
        assert_eq!(provenance.blame(&path("l.amqp")), env);
        assert_eq!(provenance.blame(&path("l.kafka.address.x")), env);
    }

    #[test]
    fn keys_that_are_not_bare_are_quoted() {
        assert_eq!(
            display(&["listeners".into(), "a.b".into(), "address".into()]),
            "listeners.\"a.b\".address"
        );
    }
}
