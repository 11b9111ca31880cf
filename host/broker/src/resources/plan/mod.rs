//! From what the file declares, what the broker holds and what was applied before, the steps
//! that make the broker match the file: a three-way diff, as `kubectl apply` makes with its
//! last-applied record.
//!
//! - in the file, not in the broker: create;
//! - in both and different: alter (or refuse what the broker cannot do, such as fewer
//!   partitions);
//! - in the record, not in the file: delete (if still there);
//! - in the broker only, never in the record: left alone.
//!
//! Pure: no I/O; the engine (`super::apply`) observed the broker before and runs the steps
//! after.
mod plugins;
mod queues;
mod topics;

use std::collections::BTreeMap;

use sluice_queues::AddressSettingsRule;

use super::diff::{Action, Change, Kind};
use super::record::Record;
use super::spec::{AddressSpec, PluginKind, PluginSpec, QueueSpec, ResourceFile, UserSpec};
use super::target::{PluginState, TopicState, UserState};

/// One operation on the broker, and the changes it reports.
#[derive(Debug)]
pub struct Step {
    /// The resource it changes.
    pub kind: Kind,
    /// Its name, as changes show it.
    pub name: String,
    /// What it reports.
    pub changes: Vec<Change>,
    /// What it does; `None` for a change that only reports (unchanged, refused, warning).
    pub op: Option<Op>,
    /// Known to fail before it runs (the broker's resources of its kind could not be
    /// listed): nothing is tried.
    pub error: Option<String>,
    /// The record keeps what it had for this resource even if the step succeeds: a refused
    /// change of a setting only the record remembers (a plugin's limits) is reported again
    /// next time rather than forgotten.
    pub hold_record: bool,
}

impl Step {
    /// A step that only reports.
    pub fn report(kind: Kind, name: &str, action: Action, detail: impl Into<String>) -> Step {
        Step {
            kind,
            name: name.to_owned(),
            changes: vec![Change::new(action, kind, name, detail)],
            op: None,
            error: None,
            hold_record: false,
        }
    }

    /// A step doing `op`, reporting one change.
    pub fn of(kind: Kind, name: &str, action: Action, detail: impl Into<String>, op: Op) -> Step {
        Step {
            op: Some(op),
            ..Step::report(kind, name, action, detail)
        }
    }
}

/// An operation on the broker (see `super::target::ResourceTarget`).
#[derive(Debug)]
pub enum Op {
    /// Create a topic.
    CreateTopic {
        /// Its name.
        name: String,
        /// Its partitions; `None` for the broker's default.
        partitions: Option<u32>,
        /// Its settings.
        configs: Vec<(String, String)>,
    },
    /// Raise a topic's partitions.
    AddPartitions {
        /// The topic.
        name: String,
        /// The new count.
        count: u32,
    },
    /// Set and reset settings of a topic.
    AlterTopicConfigs {
        /// The topic.
        name: String,
        /// Settings to set.
        set: Vec<(String, String)>,
        /// Settings back to the default.
        reset: Vec<String>,
    },
    /// Delete a topic.
    DeleteTopic(String),
    /// Create an address.
    CreateAddress(AddressSpec),
    /// Change an address's routing types.
    AlterAddress(AddressSpec),
    /// Delete an address.
    DeleteAddress(String),
    /// Create a queue.
    CreateQueue(QueueSpec),
    /// Change a queue's attributes.
    AlterQueue(QueueSpec),
    /// Delete a queue.
    DeleteQueue {
        /// Its address.
        address: String,
        /// Its name.
        name: String,
    },
    /// Add or replace an address settings rule.
    SetAddressSettings(Box<AddressSettingsRule>),
    /// Remove an address settings rule.
    DeleteAddressSettings(String),
    /// Add a user or change its password.
    SetUser {
        /// The user.
        name: String,
        /// The password.
        password: String,
    },
    /// Remove a user.
    DeleteUser(String),
    /// Load a plugin.
    LoadPlugin(PluginSpec),
    /// Swap a plugin's component.
    SwapPlugin {
        /// Its kind.
        kind: PluginKind,
        /// Its name.
        name: String,
        /// The component to serve.
        source: String,
    },
    /// Load a router or filter again with new settings.
    ReplacePlugin(PluginSpec),
    /// Unload a plugin.
    UnloadPlugin {
        /// Its kind.
        kind: PluginKind,
        /// Its name.
        name: String,
    },
}

/// What the broker holds of one kind, by name: `Err` when it could not be listed.
pub type Seen<T> = Result<BTreeMap<String, T>, String>;

/// What the broker holds, for the kinds the file or the record names (`None`: not asked).
#[derive(Debug, Default)]
pub struct Observed {
    /// Topics.
    pub topics: Option<Seen<TopicState>>,
    /// Addresses.
    pub addresses: Option<Seen<AddressSpec>>,
    /// Queues, by `QueueSpec::display_name`.
    pub queues: Option<Seen<QueueSpec>>,
    /// Address settings rules, by pattern.
    pub address_settings: Option<Seen<AddressSettingsRule>>,
    /// Users.
    pub users: Option<Seen<UserState>>,
    /// Plugins, by `PluginSpec::display_name`.
    pub plugins: Option<Seen<PluginState>>,
    /// For each declared plugin found serving from the same source: the SHA-256 of that
    /// source now, or why it could not be read. By display name.
    pub plugin_sources: BTreeMap<String, Result<String, String>>,
}

/// The file's resources by each kind's name.
#[derive(Debug, Default)]
pub struct Desired<'a> {
    /// Topics.
    pub topics: BTreeMap<String, &'a super::spec::TopicSpec>,
    /// Addresses.
    pub addresses: BTreeMap<String, &'a AddressSpec>,
    /// Queues, by display name.
    pub queues: BTreeMap<String, &'a QueueSpec>,
    /// Address settings rules, by pattern.
    pub address_settings: BTreeMap<String, &'a AddressSettingsRule>,
    /// Users.
    pub users: BTreeMap<String, &'a UserSpec>,
    /// Plugins, by display name.
    pub plugins: BTreeMap<String, &'a PluginSpec>,
}

impl<'a> Desired<'a> {
    /// `file` by names (`super::spec::parse` refused duplicates).
    pub fn of(file: &'a ResourceFile) -> Desired<'a> {
        Desired {
            topics: file.topics.iter().map(|t| (t.name.clone(), t)).collect(),
            addresses: file.addresses.iter().map(|a| (a.name.clone(), a)).collect(),
            queues: file.queues.iter().map(|q| (q.display_name(), q)).collect(),
            address_settings: file
                .address_settings
                .iter()
                .map(|r| (r.pattern.clone(), r))
                .collect(),
            users: file.users.iter().map(|u| (u.name.clone(), u)).collect(),
            plugins: file.plugins.iter().map(|p| (p.display_name(), p)).collect(),
        }
    }

    /// Whether the file or the record names any resource of `kind`: only then is the
    /// broker asked for its resources of that kind.
    pub fn concerns(&self, record: &Record, kind: Kind) -> bool {
        match kind {
            Kind::Topic => !self.topics.is_empty() || !record.topics.is_empty(),
            Kind::Address => !self.addresses.is_empty() || !record.addresses.is_empty(),
            Kind::Queue => !self.queues.is_empty() || !record.queues.is_empty(),
            Kind::AddressSettings => {
                !self.address_settings.is_empty() || !record.address_settings.is_empty()
            }
            Kind::User => !self.users.is_empty() || !record.users.is_empty(),
            Kind::Plugin => !self.plugins.is_empty() || !record.plugins.is_empty(),
        }
    }
}

/// Steps of one kind: creates and alters, and deletes, kept apart so that deletes run after
/// every create and alter, in the reverse order of kinds.
#[derive(Debug, Default)]
pub struct KindSteps {
    /// Creates, alters and reports, by name.
    pub upserts: Vec<Step>,
    /// Deletes, by name.
    pub deletes: Vec<Step>,
}

/// Every step, in the order to run them.
pub fn plan(desired: &Desired<'_>, record: &Record, observed: &Observed) -> Vec<Step> {
    let mut by_kind: Vec<KindSteps> = Vec::new();
    for kind in Kind::ALL {
        let steps = match kind {
            Kind::Plugin => observed
                .plugins
                .as_ref()
                .map(|seen| plugins::plan(desired, record, seen, &observed.plugin_sources)),
            Kind::User => observed
                .users
                .as_ref()
                .map(|seen| users(desired, record, seen)),
            Kind::Topic => observed
                .topics
                .as_ref()
                .map(|seen| topics::plan(desired, record, seen)),
            Kind::AddressSettings => observed
                .address_settings
                .as_ref()
                .map(|seen| queues::plan_settings(desired, record, seen)),
            Kind::Address => observed
                .addresses
                .as_ref()
                .map(|seen| queues::plan_addresses(desired, record, seen)),
            Kind::Queue => observed
                .queues
                .as_ref()
                .map(|seen| queues::plan_queues(desired, record, seen)),
        };
        by_kind.push(steps.unwrap_or_default());
    }
    let mut steps = Vec::new();
    let mut deletes = Vec::new();
    for kind in by_kind {
        steps.extend(kind.upserts);
        deletes.push(kind.deletes);
    }
    steps.extend(deletes.into_iter().rev().flatten());
    steps
}

/// The skeleton every kind shares: each declared resource is diffed against the broker's
/// (`upsert`), each recorded one no longer declared is deleted if the broker still has it
/// (`remove`). When the broker's resources could not be listed, every resource of the kind
/// gets a step failing with why.
pub fn per_kind<'d, D: 'd, L>(
    kind: Kind,
    desired: &BTreeMap<String, &'d D>,
    recorded: impl Iterator<Item = &'d String>,
    seen: &Seen<L>,
    mut upsert: impl FnMut(&str, &D, Option<&L>) -> Vec<Step>,
    mut remove: impl FnMut(&str, &L) -> Vec<Step>,
) -> KindSteps {
    let mut out = KindSteps::default();
    let removed: Vec<&String> = recorded.filter(|n| !desired.contains_key(*n)).collect();
    let live = match seen {
        Ok(live) => live,
        Err(e) => {
            let fail = |name: &str| Step {
                error: Some(e.clone()),
                ..Step::report(
                    kind,
                    name,
                    Action::Refused,
                    format!("cannot list the broker's {}", plural(kind)),
                )
            };
            out.upserts = desired.keys().map(|n| fail(n)).collect();
            out.deletes = removed.into_iter().map(|n| fail(n)).collect();
            return out;
        }
    };
    for (name, d) in desired {
        out.upserts.extend(upsert(name, d, live.get(name)));
    }
    for name in removed {
        if let Some(l) = live.get(name) {
            out.deletes.extend(remove(name, l));
        }
    }
    out
}

fn plural(kind: Kind) -> &'static str {
    match kind {
        Kind::Plugin => "plugins",
        Kind::User => "users",
        Kind::Topic => "topics",
        Kind::AddressSettings => "address settings",
        Kind::Address => "addresses",
        Kind::Queue => "queues",
    }
}

/// The detail of a resource removed from the file.
pub const REMOVED: &str = "no longer in the file";

fn users(desired: &Desired<'_>, record: &Record, seen: &Seen<UserState>) -> KindSteps {
    let kind = Kind::User;
    per_kind(
        kind,
        &desired.users,
        record.users.iter(),
        seen,
        |name, d, live| {
            let set = || Op::SetUser {
                name: name.to_owned(),
                password: d.password.clone(),
            };
            let step = match live {
                None => Step::of(
                    kind,
                    name,
                    Action::Create,
                    "may log in with a password",
                    set(),
                ),
                Some(l) if l.password_sha256 == crate::security::password_sha256(&d.password) => {
                    Step::report(kind, name, Action::Unchanged, "")
                }
                Some(_) => Step::of(kind, name, Action::Alter, "password changed", set()),
            };
            vec![step]
        },
        |name, _| {
            let op = Op::DeleteUser(name.to_owned());
            vec![Step::of(kind, name, Action::Delete, REMOVED, op)]
        },
    )
}
