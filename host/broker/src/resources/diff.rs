//! What an apply reports: one change per difference between the file and the broker, as
//! `kubectl apply` prints one line per object, and the totals.
use serde::Serialize;

/// What a change does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The resource is new.
    Create,
    /// The resource exists and differs.
    Alter,
    /// The resource was applied from the file before and is no longer in it.
    Delete,
    /// The resource is as the file says.
    Unchanged,
    /// The file asks for what the broker will not do (fewer partitions, a queue's routing
    /// type): nothing changes, and the change is reported again on every apply.
    Refused,
    /// Applied, differently from what the file says (replicas on a single node).
    Warning,
}

impl Action {
    /// As reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Alter => "alter",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
            Action::Refused => "refused",
            Action::Warning => "warning",
        }
    }
}

/// The kinds of resource, in the order they are created: what a later kind names (a
/// router, an address) exists by the time it is applied. Deletions run in the reverse order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Routers, filters, codecs.
    Plugin,
    /// Users.
    User,
    /// Kafka topics.
    Topic,
    /// Address settings rules.
    AddressSettings,
    /// Addresses.
    Address,
    /// Queues.
    Queue,
}

impl Kind {
    /// As reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Plugin => "plugin",
            Kind::User => "user",
            Kind::Topic => "topic",
            Kind::AddressSettings => "address-settings",
            Kind::Address => "address",
            Kind::Queue => "queue",
        }
    }

    /// Every kind, in creation order.
    pub const ALL: [Kind; 6] = [
        Kind::Plugin,
        Kind::User,
        Kind::Topic,
        Kind::AddressSettings,
        Kind::Address,
        Kind::Queue,
    ];
}

/// One difference, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// What it does.
    pub action: Action,
    /// Which kind of resource.
    pub kind: Kind,
    /// Which resource (`address::queue` for a queue on another address, `kind/name` for a
    /// plugin).
    pub name: String,
    /// What differs: `partitions 2 -> 10`, `retention.ms 7200000 -> 14400000`.
    pub detail: String,
    /// Why it failed, when it did (or, in a dry run, why it would).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Change {
    /// A change that has not been tried.
    pub fn new(action: Action, kind: Kind, name: &str, detail: impl Into<String>) -> Change {
        Change {
            action,
            kind,
            name: name.to_owned(),
            detail: detail.into(),
            error: None,
        }
    }
}

/// How many changes of each action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Resources created (or to create, in a dry run).
    pub create: usize,
    /// Changes to existing resources.
    pub alter: usize,
    /// Resources deleted.
    pub delete: usize,
    /// Resources as the file says.
    pub unchanged: usize,
    /// Changes the broker will not make.
    pub refused: usize,
    /// Changes applied differently from the file.
    pub warning: usize,
    /// Changes that failed.
    pub failed: usize,
}

impl Summary {
    /// Counts `changes`.
    pub fn of(changes: &[Change]) -> Summary {
        let mut s = Summary::default();
        for change in changes {
            let count = match change.action {
                Action::Create => &mut s.create,
                Action::Alter => &mut s.alter,
                Action::Delete => &mut s.delete,
                Action::Unchanged => &mut s.unchanged,
                Action::Refused => &mut s.refused,
                Action::Warning => &mut s.warning,
            };
            *count += 1;
            if change.error.is_some() {
                s.failed += 1;
            }
        }
        s
    }
}

/// What one apply (or dry run) found and did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Computed and checked, nothing applied.
    pub dry_run: bool,
    /// What asked for it: `start`, `watch` or `api`.
    pub origin: &'static str,
    /// The file applied, or `request` for content sent to the admin API.
    pub source: String,
    /// When it ran (ms since the Unix epoch).
    pub at_ms: i64,
    /// Whether anything was (or, in a dry run, would be) created, altered or deleted.
    pub changed: bool,
    /// The changes by action.
    pub summary: Summary,
    /// Every change, in the order applied.
    pub changes: Vec<Change>,
    /// What went wrong: the file (nothing applied), or each failed change.
    pub errors: Vec<String>,
}

impl Report {
    /// A report of `changes` and `errors`.
    pub fn new(
        dry_run: bool,
        origin: &'static str,
        source: String,
        at_ms: i64,
        changes: Vec<Change>,
        errors: Vec<String>,
    ) -> Report {
        let summary = Summary::of(&changes);
        Report {
            dry_run,
            origin,
            source,
            at_ms,
            changed: summary.create + summary.alter + summary.delete > 0,
            summary,
            changes,
            errors,
        }
    }
}
