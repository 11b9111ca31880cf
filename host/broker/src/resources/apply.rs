//! The engine: observe the broker, plan (`plan`), run each step, and work out the next
//! last-applied record from what succeeded.
//!
//! A step that fails does not stop the others (as `kubectl apply` goes on with the next
//! object); its changes carry the error and the report lists it. The record then keeps what
//! it had for that resource, so a failed delete is tried again at the next apply and a failed
//! create is not taken for applied. A dry run runs every step with `validate_only` and keeps
//! the record as it was.
use std::collections::{BTreeMap, BTreeSet};

use super::diff::{Action, Change, Kind};
use super::plan::{Desired, Observed, Op, Seen, plan};
use super::record::Record;
use super::settings;
use super::spec::{ResourceFile, TopicSpec};
use super::target::{ResourceTarget, TargetError};

/// What an apply did, and the record to keep.
#[derive(Debug)]
pub struct Outcome {
    /// Every change, in the order run.
    pub changes: Vec<Change>,
    /// One line per failed change: `kind name: why`.
    pub errors: Vec<String>,
    /// The record after this apply (unchanged by a dry run).
    pub record: Record,
}

/// Makes the broker behind `target` match `file`, given what was applied before.
pub async fn apply<T: ResourceTarget>(
    target: &T,
    file: &ResourceFile,
    record: &Record,
    dry_run: bool,
) -> Outcome {
    let desired = Desired::of(file);
    let observed = observe(target, &desired, record);
    let steps = plan(&desired, record, &observed);
    let mut failed = BTreeSet::new();
    let mut held = BTreeSet::new();
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for mut step in steps {
        let result = match (&step.error, &step.op) {
            (Some(e), _) => Err(e.clone()),
            (None, Some(op)) => run(target, op, dry_run).await.map_err(|e| e.to_string()),
            (None, None) => Ok(()),
        };
        let key = (step.kind, step.name.clone());
        if step.hold_record {
            held.insert(key.clone());
        }
        if let Err(e) = result {
            for change in &mut step.changes {
                change.error = Some(e.clone());
            }
            errors.push(format!("{} {}: {e}", step.kind.as_str(), step.name));
            failed.insert(key);
        }
        for change in &step.changes {
            log(change, dry_run);
        }
        changes.extend(step.changes);
    }
    let record = if dry_run {
        record.clone()
    } else {
        next_record(&desired, record, &failed, &held)
    };
    Outcome {
        changes,
        errors,
        record,
    }
}

fn log(change: &Change, dry_run: bool) {
    let (action, kind, name, detail) = (
        change.action.as_str(),
        change.kind.as_str(),
        &change.name,
        &change.detail,
    );
    match (&change.error, change.action) {
        (Some(error), _) if !dry_run => {
            tracing::warn!(action, kind, %name, %detail, %error, "resource change failed");
        }
        (_, Action::Unchanged) => {
            tracing::debug!(action, kind, %name, %detail, dry_run, "resource unchanged");
        }
        _ if dry_run => tracing::debug!(action, kind, %name, %detail, "resource change (dry run)"),
        (_, Action::Refused | Action::Warning) => {
            tracing::warn!(action, kind, %name, %detail, "resource change");
        }
        _ => tracing::info!(action, kind, %name, %detail, "resource change"),
    }
}

/// Lists, for each kind the file or the record names, what the broker holds.
fn observe<T: ResourceTarget>(target: &T, desired: &Desired<'_>, record: &Record) -> Observed {
    fn seen<L>(listed: Result<Vec<L>, TargetError>, key: impl Fn(&L) -> String) -> Option<Seen<L>> {
        Some(
            listed
                .map(|all| all.into_iter().map(|l| (key(&l), l)).collect())
                .map_err(|e| e.to_string()),
        )
    }
    let concerns = |kind| desired.concerns(record, kind);
    let mut observed = Observed::default();
    if concerns(Kind::Topic) {
        observed.topics = seen(target.topics(), |t| t.name.clone());
    }
    if concerns(Kind::Address) {
        observed.addresses = seen(target.addresses(), |a| a.name.clone());
    }
    if concerns(Kind::Queue) {
        observed.queues = seen(target.queues(), |q| q.display_name());
    }
    if concerns(Kind::AddressSettings) {
        observed.address_settings = seen(target.address_settings(), |r| r.pattern.clone());
    }
    if concerns(Kind::User) {
        observed.users = seen(target.users(), |u| u.name.clone());
    }
    if concerns(Kind::Plugin) {
        observed.plugins = seen(target.plugins(), |p| {
            super::spec::plugin_name(p.kind, &p.name)
        });
    }
    if let Some(Ok(live)) = &observed.plugins {
        for (name, d) in &desired.plugins {
            if live.get(name).is_some_and(|l| l.source == d.source) {
                let sha = target
                    .source_sha256(d.kind, &d.source)
                    .map_err(|e| format!("cannot read source {}: {e}", d.source));
                observed.plugin_sources.insert(name.clone(), sha);
            }
        }
    }
    observed
}

async fn run<T: ResourceTarget>(target: &T, op: &Op, v: bool) -> Result<(), TargetError> {
    match op {
        Op::CreateTopic {
            name,
            partitions,
            configs,
        } => target.create_topic(name, *partitions, configs, v),
        Op::AddPartitions { name, count } => target.add_partitions(name, *count, v),
        Op::AlterTopicConfigs { name, set, reset } => {
            target.alter_topic_configs(name, set, reset, v)
        }
        Op::DeleteTopic(name) => target.delete_topic(name, v),
        Op::CreateAddress(a) => target.create_address(a, v),
        Op::AlterAddress(a) => target.alter_address(a, v),
        Op::DeleteAddress(name) => target.delete_address(name, v),
        Op::CreateQueue(q) => target.create_queue(q, v),
        Op::AlterQueue(q) => target.alter_queue(q, v),
        Op::DeleteQueue { address, name } => target.delete_queue(address, name, v),
        Op::SetAddressSettings(rule) => target.set_address_settings(rule, v),
        Op::DeleteAddressSettings(pattern) => target.delete_address_settings(pattern, v),
        Op::SetUser { name, password } => target.set_user(name, password, v),
        Op::DeleteUser(name) => target.delete_user(name, v),
        Op::LoadPlugin(p) => target.load_plugin(p, v).await,
        Op::SwapPlugin { kind, name, source } => target.swap_plugin(*kind, name, source, v).await,
        Op::ReplacePlugin(p) => target.replace_plugin(p, v).await,
        Op::UnloadPlugin { kind, name } => target.unload_plugin(*kind, name, v).await,
    }
}

type Keys = BTreeSet<(Kind, String)>;

/// The record after an apply: each declared resource as declared, unless one of its steps
/// failed (then what the record had, a topic's settings merged with the file's so that a
/// setting dropped and not yet reset is still reset later) or it holds its record; each
/// recorded resource no longer declared is dropped, unless its delete failed.
fn next_record(desired: &Desired<'_>, old: &Record, failed: &Keys, held: &Keys) -> Record {
    let users_old: BTreeMap<String, ()> = old.users.iter().map(|u| (u.clone(), ())).collect();
    Record {
        topics: carry(
            Kind::Topic,
            &desired.topics,
            &old.topics,
            failed,
            held,
            |d| (*d).clone(),
            merge_topic,
        ),
        addresses: carry(
            Kind::Address,
            &desired.addresses,
            &old.addresses,
            failed,
            held,
            |d| (*d).clone(),
            |o, _| o.clone(),
        ),
        queues: carry(
            Kind::Queue,
            &desired.queues,
            &old.queues,
            failed,
            held,
            |d| (*d).clone(),
            |o, _| o.clone(),
        ),
        address_settings: carry(
            Kind::AddressSettings,
            &desired.address_settings,
            &old.address_settings,
            failed,
            held,
            |d| settings::table(d),
            |o, _| o.clone(),
        ),
        users: carry(
            Kind::User,
            &desired.users,
            &users_old,
            failed,
            held,
            |_| (),
            |_, _| (),
        )
        .into_keys()
        .collect(),
        plugins: carry(
            Kind::Plugin,
            &desired.plugins,
            &old.plugins,
            failed,
            held,
            |d| (*d).clone(),
            |o, _| o.clone(),
        ),
    }
}

fn carry<D, R: Clone>(
    kind: Kind,
    desired: &BTreeMap<String, &D>,
    old: &BTreeMap<String, R>,
    failed: &Keys,
    held: &Keys,
    entry: impl Fn(&&D) -> R,
    merge: impl Fn(&R, &D) -> R,
) -> BTreeMap<String, R> {
    let mut next = BTreeMap::new();
    for (name, d) in desired {
        let key = (kind, name.clone());
        let before = old.get(name);
        if held.contains(&key) {
            if let Some(o) = before {
                next.insert(name.clone(), o.clone());
            }
        } else if failed.contains(&key) {
            if let Some(o) = before {
                next.insert(name.clone(), merge(o, d));
            }
        } else {
            next.insert(name.clone(), entry(d));
        }
    }
    for (name, o) in old {
        if !desired.contains_key(name) && failed.contains(&(kind, name.clone())) {
            next.insert(name.clone(), o.clone());
        }
    }
    next
}

fn merge_topic(old: &TopicSpec, desired: &TopicSpec) -> TopicSpec {
    let mut merged = desired.clone();
    for (key, value) in &old.config {
        merged
            .config
            .entry(key.clone())
            .or_insert_with(|| value.clone());
    }
    merged
}
