//! The effective configuration, built from its layers in precedence order: built-in defaults,
//! the TOML file, `SLUICE_*` variables, command-line flags. `sluice serve`, the offline
//! commands and `sluice config show` all go through [`resolve`], so what `config show` prints
//! is what a broker started the same way runs with.
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::layers::{self, Provenance, Source};
use super::{
    AMQP_ADDRESS_DEFAULT, AMQP_LISTENER, BUILTIN_PREFIX, Config, ConfigError,
    KAFKA_ADDRESS_DEFAULT, KAFKA_LISTENER, Overrides, env,
};

/// The effective configuration and where each of its values came from.
#[derive(Debug)]
pub struct Resolved {
    /// The configuration, checked.
    pub config: Config,
    /// The layer that set each value; the others are defaults.
    pub provenance: Provenance,
}

/// The listeners a broker is told of by name and not by codec get their protocol's codec.
const WELL_KNOWN_LISTENERS: &[(&str, &str)] = &[
    (KAFKA_LISTENER, "codec-kafka"),
    (AMQP_LISTENER, "codec-amqp"),
];

/// Builds the configuration from the defaults, `file`, the `SLUICE_*` variables among `vars`
/// (the process's environment, or a test's) and the flags in `overrides`, then checks it.
/// An error names the layer at fault: the file with line and column, the variable, or the
/// flag.
pub fn resolve(
    file: Option<&Path>,
    overrides: &Overrides,
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Resolved, ConfigError> {
    let schema = super::schema();
    let mut provenance = Provenance::default();
    let mut merged = match toml::Value::try_from(Config::default()) {
        Ok(toml::Value::Table(table)) => table,
        Ok(_) => toml::Table::new(),
        Err(e) => return Err(ConfigError::Invalid(format!("built-in defaults: {e}"))),
    };

    let mut file_text = None;
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        layers::merge(
            &mut merged,
            &table,
            &Source::File(path.to_path_buf()),
            &mut provenance,
        );
        file_text = Some((path.to_path_buf(), text));
    }

    let vars = setting_vars(vars)?;
    let settings = env::settings(&vars, &schema, &merged).map_err(ConfigError::Env)?;
    for setting in settings {
        let source = Source::Env(setting.var);
        layers::set(
            &mut merged,
            &setting.path,
            setting.value,
            &source,
            &mut provenance,
        );
    }

    for (flag, path, value) in flags(overrides) {
        let path: Vec<String> = path.iter().map(|k| (*k).to_owned()).collect();
        layers::set(
            &mut merged,
            &path,
            value,
            &Source::Flag(flag),
            &mut provenance,
        );
    }

    add_default_listeners(&mut merged);

    let config: Config = serde_path_to_error::deserialize(merged).map_err(|e| {
        let path = path_of(e.path());
        let message = format!("{}: {}", layers::display(&path), e.inner().message());
        blame(&provenance, &path, message, file_text.as_ref())
    })?;
    config.check().map_err(|e| match e {
        ConfigError::Invalid(message) => ConfigError::Invalid(provenance.annotate(message)),
        other => other,
    })?;
    Ok(Resolved { config, provenance })
}

/// The `SLUICE_*` variables, sorted by name; one with a name or value that is not UTF-8 is an
/// error, since it cannot be a setting nor be reported as one.
fn setting_vars(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> Result<Vec<(String, String)>, ConfigError> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (name, value) in vars {
        let name_text = name.to_string_lossy().into_owned();
        if !name_text.starts_with(env::PREFIX) {
            continue;
        }
        match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => out.push((name, value)),
            (Ok(name), Err(_)) if env::NOT_SETTINGS.contains(&name.as_str()) => {}
            _ => problems.push(format!("{name_text}: not UTF-8")),
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError::Env(problems));
    }
    out.sort();
    Ok(out)
}

/// The flags given, each with the setting it sets.
fn flags(o: &Overrides) -> Vec<(&'static str, &'static [&'static str], toml::Value)> {
    let mut set = Vec::new();
    if let Some(dir) = &o.data_dir {
        set.push((
            "--data-dir",
            &["data-dir"][..],
            toml::Value::String(dir.to_string_lossy().into_owned()),
        ));
    }
    if let Some(address) = &o.admin {
        set.push((
            "--admin",
            &["admin", "address"][..],
            address.as_str().into(),
        ));
    }
    if let Some(address) = &o.kafka {
        set.push((
            "--kafka",
            &["listeners", KAFKA_LISTENER, "address"][..],
            address.as_str().into(),
        ));
    }
    if let Some(address) = &o.amqp {
        set.push((
            "--amqp",
            &["listeners", AMQP_LISTENER, "address"][..],
            address.as_str().into(),
        ));
    }
    if let Some(file) = &o.resources {
        set.push((
            "--resources",
            &["resources", "file"][..],
            toml::Value::String(file.to_string_lossy().into_owned()),
        ));
    }
    if let Some(format) = o.log_format {
        set.push((
            "--log-format",
            &["log", "format"][..],
            format.as_str().into(),
        ));
    }
    set
}

/// With no listener from any layer, Kafka and AMQP on their well-known ports; and the
/// protocol's codec for a `kafka` or `amqp` listener that names none.
fn add_default_listeners(merged: &mut toml::Table) {
    let listeners = merged
        .entry("listeners")
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    let Some(listeners) = listeners.as_table_mut() else {
        return;
    };
    if listeners.is_empty() {
        for (name, address) in [
            (KAFKA_LISTENER, KAFKA_ADDRESS_DEFAULT),
            (AMQP_LISTENER, AMQP_ADDRESS_DEFAULT),
        ] {
            let mut listener = toml::Table::new();
            listener.insert("address".into(), address.into());
            listeners.insert(name.into(), toml::Value::Table(listener));
        }
    }
    for (name, codec) in WELL_KNOWN_LISTENERS {
        if let Some(listener) = listeners.get_mut(*name).and_then(toml::Value::as_table_mut) {
            listener
                .entry("codec")
                .or_insert_with(|| format!("{BUILTIN_PREFIX}{codec}").into());
        }
    }
}

/// The keys of a deserialization error's path, down to the first array (whose elements have
/// no provenance of their own).
fn path_of(path: &serde_path_to_error::Path) -> Vec<String> {
    let mut keys = Vec::new();
    for segment in path {
        match segment {
            serde_path_to_error::Segment::Map { key } => keys.push(key.clone()),
            _ => break,
        }
    }
    keys
}

/// The error `message` about `path`, attributed to the layer that set it.
fn blame(
    provenance: &Provenance,
    path: &[String],
    message: String,
    file: Option<&(PathBuf, String)>,
) -> ConfigError {
    match provenance.blame(path) {
        Source::File(at) => {
            let position = file
                .and_then(|(_, text)| position(text, path))
                .map(|(line, column)| format!("line {line}, column {column}: "))
                .unwrap_or_default();
            ConfigError::Parse {
                path: at,
                message: format!("{position}{message}"),
            }
        }
        Source::Env(var) => ConfigError::Env(vec![format!("{var}: {message}")]),
        Source::Flag(flag) => ConfigError::Invalid(format!("{flag}: {message}")),
        Source::Default => ConfigError::Invalid(message),
    }
}

/// Line and column (from 1) in `text` of the deepest key of `path` the file has.
fn position(text: &str, path: &[String]) -> Option<(usize, usize)> {
    let root = toml::de::DeTable::parse(text).ok()?;
    let mut table = root.get_ref();
    let mut offset = None;
    for key in path {
        let Some((k, v)) = table.iter().find(|(k, _)| k.get_ref().as_ref() == key) else {
            break;
        };
        offset = Some(k.span().start);
        match v.get_ref() {
            toml::de::DeValue::Table(inner) => table = inner,
            _ => break,
        }
    }
    let before = text.get(..offset?)?;
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Some((line, column))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::logging::LogFormat;

    fn env(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn source(resolved: &Resolved, dotted: &str) -> String {
        let path: Vec<String> = dotted.split('.').map(str::to_owned).collect();
        resolved.provenance.source(&path).to_string()
    }

    #[test]
    fn flags_beat_variables_which_beat_the_file_which_beats_the_defaults() {
        let (_dir, path) = file(
            "data-dir = \"/from-file\"\n\
             [topics]\ndefault-partitions = 2\nretention-ms = 1000\n\
             [listeners.kafka]\naddress = \"127.0.0.1:1\"\n",
        );
        let vars = env(&[
            ("SLUICE_TOPICS__DEFAULT_PARTITIONS", "3"),
            ("SLUICE_LISTENERS__KAFKA__ADDRESS", "127.0.0.1:2"),
            ("SLUICE_LOG_FORMAT", "json"),
            ("PATH", "/bin"),
        ]);
        let overrides = Overrides {
            kafka: Some("127.0.0.1:3".into()),
            ..Overrides::default()
        };
        let resolved = resolve(Some(&path), &overrides, vars).unwrap();
        let config = &resolved.config;
        assert_eq!(config.data_dir, PathBuf::from("/from-file"));
        assert_eq!(config.topics.default_partitions, 3);
        assert_eq!(config.topics.retention_ms, 1000);
        assert_eq!(config.listeners["kafka"].address, "127.0.0.1:3");
        assert_eq!(config.log.format, LogFormat::Json);
        assert_eq!(config.listeners.len(), 1, "the file names its listeners");

        let file_source = format!("file {}", path.display());
        assert_eq!(source(&resolved, "data-dir"), file_source);
        assert_eq!(source(&resolved, "topics.retention-ms"), file_source);
        assert_eq!(
            source(&resolved, "topics.default-partitions"),
            "env SLUICE_TOPICS__DEFAULT_PARTITIONS"
        );
        assert_eq!(source(&resolved, "log.format"), "env SLUICE_LOG_FORMAT");
        assert_eq!(source(&resolved, "listeners.kafka.address"), "flag --kafka");
        assert_eq!(source(&resolved, "topics.partitions-max"), "default");
        assert_eq!(source(&resolved, "listeners.kafka.codec"), "default");
    }

    #[test]
    fn the_log_format_flag_beats_sluice_log_format_and_sluice_log_sets_the_level() {
        let overrides = Overrides {
            log_format: Some(LogFormat::Human),
            ..Overrides::default()
        };
        let vars = env(&[("SLUICE_LOG_FORMAT", "json"), ("SLUICE_LOG", "debug")]);
        let resolved = resolve(None, &overrides, vars).unwrap();
        assert_eq!(resolved.config.log.format, LogFormat::Human);
        assert_eq!(resolved.config.log.level, "debug");
        assert_eq!(source(&resolved, "log.level"), "env SLUICE_LOG");
        assert_eq!(source(&resolved, "log.format"), "flag --log-format");
    }

    #[test]
    fn a_listener_named_by_a_variable_alone_replaces_the_default_pair() {
        let vars = env(&[("SLUICE_LISTENERS__AMQP__ADDRESS", "127.0.0.1:5673")]);
        let config = resolve(None, &Overrides::default(), vars).unwrap().config;
        assert_eq!(config.listeners.len(), 1);
        assert_eq!(config.listeners["amqp"].codec, "builtin:codec-amqp");
    }

    #[test]
    fn a_misspelt_variable_stops_resolution_with_its_name() {
        let vars = env(&[("SLUICE_TOPICS__DEFAULT_PARTITONS", "3")]);
        let err = resolve(None, &Overrides::default(), vars).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("SLUICE_TOPICS__DEFAULT_PARTITONS"), "{text}");
        assert!(text.contains("SLUICE_TOPICS__DEFAULT_PARTITIONS"), "{text}");
    }

    #[test]
    fn a_value_the_checks_refuse_is_refused_whichever_layer_set_it() {
        let vars = env(&[("SLUICE_TOPICS__DEFAULT_PARTITIONS", "0")]);
        let err = resolve(None, &Overrides::default(), vars).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "invalid config: topics.default-partitions must be in 1..=1024 \
                 (topics.partitions-max), not 0 (set by env SLUICE_TOPICS__DEFAULT_PARTITIONS)"
            ),
            "{err}"
        );
        let vars = env(&[("SLUICE_LOG", "info,[")]);
        let err = resolve(None, &Overrides::default(), vars).unwrap_err();
        assert!(err.to_string().contains("log.level"), "{err}");
    }

    #[test]
    fn an_unknown_key_in_the_file_is_reported_with_its_line_and_column() {
        let (_dir, path) = file("[topics]\nauto-create = true\n  default-partiions = 3\n");
        let err = resolve(Some(&path), &Overrides::default(), env(&[])).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("line 3, column 3"), "{text}");
        assert!(text.contains("default-partiions"), "{text}");
        assert!(text.contains(&path.display().to_string()), "{text}");
    }

    #[test]
    fn a_bad_value_in_an_array_from_a_variable_names_the_variable() {
        let vars = env(&[("SLUICE_SECURITY__USERS", "[{ name = \"app\" }]")]);
        let err = resolve(None, &Overrides::default(), vars).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("SLUICE_SECURITY__USERS"), "{text}");
        assert!(text.contains("password"), "{text}");
    }

    #[test]
    fn a_variable_creates_a_listener_whose_missing_address_is_blamed_on_it() {
        let vars = env(&[("SLUICE_LISTENERS__EXTRA__CODEC", "builtin:codec-kafka")]);
        let err = resolve(None, &Overrides::default(), vars).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("SLUICE_LISTENERS__EXTRA__CODEC"), "{text}");
        assert!(text.contains("address"), "{text}");
    }
}
