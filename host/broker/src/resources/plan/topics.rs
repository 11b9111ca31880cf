//! Topics: created with their partitions and settings; partitions only grow; a setting the
//! file sets is set, one the record has and the file dropped goes back to the default, one
//! set by someone else and never by the file is left alone.
use super::{Desired, KindSteps, Op, REMOVED, Seen, Step, per_kind};
use crate::resources::diff::{Action, Change, Kind};
use crate::resources::record::Record;
use crate::resources::spec::TopicSpec;
use crate::resources::target::TopicState;

const KIND: Kind = Kind::Topic;

/// Steps for every topic the file declares or the record holds.
pub fn plan(desired: &Desired<'_>, record: &Record, seen: &Seen<TopicState>) -> KindSteps {
    per_kind(
        KIND,
        &desired.topics,
        record.topics.keys(),
        seen,
        |name, d, live| {
            let mut steps = match live {
                None => vec![create(name, d)],
                Some(live) => alter(name, d, live, record.topics.get(name)),
            };
            if let Some(replicas) = d.replicas.filter(|r| *r > 1) {
                steps.push(Step::report(
                    KIND,
                    name,
                    Action::Warning,
                    format!(
                        "replicas {replicas}: this broker is a single node; each partition has 1 copy"
                    ),
                ));
            }
            steps
        },
        |name, _| {
            let op = Op::DeleteTopic(name.to_owned());
            vec![Step::of(KIND, name, Action::Delete, REMOVED, op)]
        },
    )
}

fn create(name: &str, d: &TopicSpec) -> Step {
    let mut detail = match d.partitions {
        Some(n) => vec![format!("partitions {n}")],
        None => vec!["partitions: the broker's default".to_owned()],
    };
    detail.extend(d.config.iter().map(|(k, v)| format!("{k}={v}")));
    let op = Op::CreateTopic {
        name: name.to_owned(),
        partitions: d.partitions,
        configs: d.config.clone().into_iter().collect(),
    };
    Step::of(KIND, name, Action::Create, detail.join(", "), op)
}

fn alter(name: &str, d: &TopicSpec, live: &TopicState, old: Option<&TopicSpec>) -> Vec<Step> {
    let mut steps = Vec::new();
    match d.partitions {
        Some(want) if want > live.partitions => {
            let op = Op::AddPartitions {
                name: name.to_owned(),
                count: want,
            };
            let detail = format!("partitions {} -> {want}", live.partitions);
            steps.push(Step::of(KIND, name, Action::Alter, detail, op));
        }
        Some(want) if want < live.partitions => {
            let detail = format!(
                "partitions {} -> {want}: partitions only grow (a partition's records cannot be \
                 moved); the topic keeps {}",
                live.partitions, live.partitions
            );
            steps.push(Step::report(KIND, name, Action::Refused, detail));
        }
        _ => {}
    }
    let mut changes = Vec::new();
    let mut set = Vec::new();
    for (key, value) in &d.config {
        let now = live.configs.get(key);
        if now != Some(value) {
            let from = now.map_or("default", String::as_str);
            changes.push(Change::new(
                Action::Alter,
                KIND,
                name,
                format!("{key} {from} -> {value}"),
            ));
            set.push((key.clone(), value.clone()));
        }
    }
    let mut reset = Vec::new();
    let dropped = old
        .into_iter()
        .flat_map(|o| o.config.keys())
        .filter(|k| !d.config.contains_key(*k));
    for key in dropped {
        if let Some(value) = live.configs.get(key) {
            changes.push(Change::new(
                Action::Alter,
                KIND,
                name,
                format!("{key} {value} -> default"),
            ));
            reset.push(key.clone());
        }
    }
    if !changes.is_empty() {
        steps.push(Step {
            changes,
            op: Some(Op::AlterTopicConfigs {
                name: name.to_owned(),
                set,
                reset,
            }),
            ..Step::report(KIND, name, Action::Alter, "")
        });
    }
    if steps.is_empty() {
        let detail = format!("partitions {}", live.partitions);
        steps.push(Step::report(KIND, name, Action::Unchanged, detail));
    }
    steps
}
