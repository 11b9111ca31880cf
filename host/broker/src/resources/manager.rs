//! The broker's resources: the record, the last report, and applies one at a time, whether
//! they come from the start, the file watcher or the admin API.
//!
//! There is one set of declared resources per broker: an apply through the admin API with
//! `content` replaces it as the watched file does, deleting what the record has and the
//! content does not.
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::diff::Report;
use super::record::{RECORD_DIR, RECORD_FILE, Record};
use super::spec::{RESOURCES_FILE_BYTES_MAX, parse};
use super::target::ResourceTarget;
use super::{ResourcesConfig, apply};

/// A file whose apply failed is applied again this often, even unchanged: what failed may
/// have been fixed outside it (a plugin file that appeared, a port freed).
pub const RETRY_INTERVAL: Duration = Duration::from_secs(30);

/// What to apply.
#[derive(Clone, Debug)]
pub enum Input {
    /// The resources file, read now.
    File,
    /// Text sent to the admin API.
    Content(String),
}

/// What asked for an apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `sluice serve` starting.
    Start,
    /// The file changed.
    Watch,
    /// The admin API.
    Api,
}

impl Origin {
    fn as_str(self) -> &'static str {
        match self {
            Origin::Start => "start",
            Origin::Watch => "watch",
            Origin::Api => "api",
        }
    }
}

/// Why nothing was applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The file was asked for and none is configured.
    #[error("no resources file is configured (`--resources` or `resources.file`); send content")]
    NoFile,
    /// The file could not be read.
    #[error("cannot read resources file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The text is not a valid resources file; every problem found.
    #[error("invalid resources {source_name}: {}", problems.join("; "))]
    Invalid {
        /// The file, or `request`.
        source_name: String,
        /// What is wrong.
        problems: Vec<String>,
    },
}

/// What `GET /api/resources` answers.
#[derive(Clone, Debug, Serialize)]
pub struct Status {
    /// The watched file, if any.
    pub file: Option<PathBuf>,
    /// How often it is checked.
    pub poll_ms: u64,
    /// The last apply that was not a dry run (or a file that could not be applied).
    pub last_apply: Option<Report>,
    /// What the record says the file manages, by kind.
    pub managed: Managed,
}

/// Names of the resources the record holds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Managed {
    /// Topics.
    pub topics: Vec<String>,
    /// Addresses.
    pub addresses: Vec<String>,
    /// Queues.
    pub queues: Vec<String>,
    /// Address settings patterns.
    pub address_settings: Vec<String>,
    /// Users.
    pub users: Vec<String>,
    /// Plugins (`kind/name`).
    pub plugins: Vec<String>,
}

impl Managed {
    fn of(record: &Record) -> Managed {
        Managed {
            topics: record.topics.keys().cloned().collect(),
            addresses: record.addresses.keys().cloned().collect(),
            queues: record.queues.keys().cloned().collect(),
            address_settings: record.address_settings.keys().cloned().collect(),
            users: record.users.iter().cloned().collect(),
            plugins: record.plugins.keys().cloned().collect(),
        }
    }
}

/// The broker's declared resources.
pub struct Resources<T> {
    target: T,
    file: Option<PathBuf>,
    poll: Duration,
    record_path: PathBuf,
    /// The record; held across a whole apply, so applies run one at a time.
    record: tokio::sync::Mutex<Record>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    last: Option<Report>,
    managed: Managed,
    /// SHA-256 of the file's text last applied or refused, so an unchanged file is not
    /// applied again.
    file_sha256: Option<[u8; 32]>,
    /// When a failed apply of the file is due again.
    retry_at: Option<tokio::time::Instant>,
}

/// Opens the record under `data_dir` and applies the file, if one is configured. A file
/// that cannot be read or parsed, or whose apply fails, fails the start with the reasons.
pub async fn open<T: ResourceTarget>(
    config: &ResourcesConfig,
    data_dir: &Path,
    target: T,
) -> anyhow::Result<Arc<Resources<T>>> {
    if config.poll_ms == 0 {
        anyhow::bail!("resources.poll-ms must be above 0");
    }
    let record_path = data_dir.join(RECORD_DIR).join(RECORD_FILE);
    let record = Record::load(&record_path)?;
    let resources = Arc::new(Resources {
        target,
        file: config.file.clone(),
        poll: Duration::from_millis(config.poll_ms),
        record_path,
        state: Mutex::new(State {
            managed: Managed::of(&record),
            ..State::default()
        }),
        record: tokio::sync::Mutex::new(record),
    });
    if let Some(path) = &config.file {
        let report = resources.apply(Input::File, false, Origin::Start).await?;
        if !report.errors.is_empty() {
            anyhow::bail!(
                "applying resources file {}: {}",
                path.display(),
                report.errors.join("; ")
            );
        }
    }
    Ok(resources)
}

impl<T: ResourceTarget> Resources<T> {
    /// The watched file, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// How often the file is checked.
    pub fn poll(&self) -> Duration {
        self.poll
    }

    /// What `GET /api/resources` shows.
    pub fn status(&self) -> Status {
        let state = self.state();
        Status {
            file: self.file.clone(),
            poll_ms: u64::try_from(self.poll.as_millis()).unwrap_or(u64::MAX),
            last_apply: state.last.clone(),
            managed: state.managed.clone(),
        }
    }

    /// Applies `input` (or, with `dry_run`, reports what applying it would do). `Err` when
    /// nothing could be applied at all; otherwise the report, whose `errors` list what failed.
    pub async fn apply(
        &self,
        input: Input,
        dry_run: bool,
        origin: Origin,
    ) -> Result<Report, ApplyError> {
        let (text, source_name, file_sha256) = match input {
            Input::Content(text) => (text, "request".to_owned(), None),
            Input::File => {
                let path = self.file.as_deref().ok_or(ApplyError::NoFile)?;
                let text = read_file(path)?;
                let sha: [u8; 32] = Sha256::digest(&text).into();
                (text, path.display().to_string(), Some(sha))
            }
        };
        let mut record = self.record.lock().await;
        let file = match parse(&text) {
            Ok(file) => file,
            Err(problems) => {
                let error = ApplyError::Invalid {
                    source_name: source_name.clone(),
                    problems,
                };
                tracing::warn!(source = %source_name, error = %error, dry_run, "resources not applied");
                if !dry_run {
                    let report = Report::new(
                        false,
                        origin.as_str(),
                        source_name,
                        crate::retention::now_ms(),
                        Vec::new(),
                        vec![error.to_string()],
                    );
                    let mut state = self.state();
                    state.last = Some(report);
                    state.file_sha256 = file_sha256.or(state.file_sha256);
                    state.retry_at = None;
                }
                return Err(error);
            }
        };
        let outcome = apply(&self.target, &file, &record, dry_run).await;
        let mut errors = outcome.errors;
        if !dry_run && outcome.record != *record {
            match outcome.record.save(&self.record_path) {
                Ok(()) => *record = outcome.record,
                Err(e) => errors.push(format!("recording what was applied: {e}")),
            }
        }
        let report = Report::new(
            dry_run,
            origin.as_str(),
            source_name,
            crate::retention::now_ms(),
            outcome.changes,
            errors,
        );
        let s = &report.summary;
        tracing::info!(
            source = %report.source, origin = report.origin, dry_run, create = s.create,
            alter = s.alter, delete = s.delete, unchanged = s.unchanged, refused = s.refused,
            warning = s.warning, failed = s.failed, "resources applied"
        );
        if !dry_run {
            let mut state = self.state();
            state.last = Some(report.clone());
            state.managed = Managed::of(&record);
            if file_sha256.is_some() {
                state.file_sha256 = file_sha256;
                state.retry_at = (!report.errors.is_empty())
                    .then(|| tokio::time::Instant::now() + RETRY_INTERVAL);
            }
        }
        Ok(report)
    }

    /// Applies the file if its text changed since it was last applied, or if its last apply
    /// failed and is due again. Problems are logged and kept for `status`.
    pub async fn apply_file_if_changed(&self) {
        let Some(path) = self.file.as_deref() else {
            return;
        };
        let text = match read_file(path) {
            Ok(text) => text,
            Err(e) => {
                let mut state = self.state();
                let message = e.to_string();
                let known = state
                    .last
                    .as_ref()
                    .is_some_and(|r| r.errors == [message.clone()]);
                if !known {
                    tracing::warn!(error = %message, "resources file unreadable; nothing applied");
                    state.last = Some(Report::new(
                        false,
                        Origin::Watch.as_str(),
                        path.display().to_string(),
                        crate::retention::now_ms(),
                        Vec::new(),
                        vec![message],
                    ));
                    // Read again, even unchanged, once it is back.
                    state.file_sha256 = None;
                }
                return;
            }
        };
        let sha: [u8; 32] = Sha256::digest(&text).into();
        let unchanged = self.state().file_sha256 == Some(sha);
        if unchanged && !self.retry_due() {
            return;
        }
        tracing::info!(file = %path.display(), "resources file changed; applying");
        // A parse failure is logged and kept by `apply`.
        let _ = self.apply(Input::File, false, Origin::Watch).await;
    }

    /// Whether a failed apply of the file is due again.
    pub fn retry_due(&self) -> bool {
        self.state()
            .retry_at
            .is_some_and(|at| tokio::time::Instant::now() >= at)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The file's text, refused above [`RESOURCES_FILE_BYTES_MAX`] before it is read.
fn read_file(path: &Path) -> Result<String, ApplyError> {
    let read_error = |reason: String| ApplyError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| read_error(e.to_string()))?
        .len();
    if size > RESOURCES_FILE_BYTES_MAX as u64 {
        return Err(read_error(format!(
            "{size} bytes; at most {RESOURCES_FILE_BYTES_MAX}"
        )));
    }
    std::fs::read_to_string(path).map_err(|e| read_error(e.to_string()))
}
