//! Artemis's model: address settings rules (by pattern), addresses (their routing types) and
//! queues (their attributes). A queue's routing type and durability are fixed when it is
//! created, as in Artemis: a change to them is refused; the rest is altered in place.
use super::{Desired, KindSteps, Op, REMOVED, Seen, Step, per_kind};
use crate::resources::diff::{Action, Change, Kind};
use crate::resources::record::Record;
use crate::resources::settings::{filter, show, table};
use crate::resources::spec::{AddressSpec, QueueSpec};
use sluice_queues::{AddressSettingsRule, RoutingType};

/// Steps for every address settings rule the file declares or the record holds.
pub fn plan_settings(
    desired: &Desired<'_>,
    record: &Record,
    seen: &Seen<AddressSettingsRule>,
) -> KindSteps {
    let kind = Kind::AddressSettings;
    per_kind(
        kind,
        &desired.address_settings,
        record.address_settings.keys(),
        seen,
        |name, d, live| {
            let want = table(d);
            let op = || Op::SetAddressSettings(Box::new(d.clone()));
            let Some(live) = live else {
                let fields: Vec<String> = want
                    .iter()
                    .filter(|(k, _)| *k != "match")
                    .map(|(k, v)| format!("{k} = {}", show(Some(v))))
                    .collect();
                return vec![Step::of(
                    kind,
                    name,
                    Action::Create,
                    fields.join(", "),
                    op(),
                )];
            };
            let have = table(live);
            let mut keys: Vec<&String> = want.keys().chain(have.keys()).collect();
            keys.sort();
            keys.dedup();
            let changes: Vec<Change> = keys
                .into_iter()
                .filter(|k| want.get(*k) != have.get(*k))
                .map(|k| {
                    let detail = format!("{k} {} -> {}", show(have.get(k)), show(want.get(k)));
                    Change::new(Action::Alter, kind, name, detail)
                })
                .collect();
            if changes.is_empty() {
                return vec![Step::report(kind, name, Action::Unchanged, "")];
            }
            vec![Step {
                changes,
                op: Some(op()),
                ..Step::report(kind, name, Action::Alter, "")
            }]
        },
        |name, _| {
            let op = Op::DeleteAddressSettings(name.to_owned());
            vec![Step::of(kind, name, Action::Delete, REMOVED, op)]
        },
    )
}

/// Steps for every address the file declares or the record holds.
pub fn plan_addresses(
    desired: &Desired<'_>,
    record: &Record,
    seen: &Seen<AddressSpec>,
) -> KindSteps {
    let kind = Kind::Address;
    per_kind(
        kind,
        &desired.addresses,
        record.addresses.keys(),
        seen,
        |name, d, live| {
            let want = routing(&d.routing_types);
            let step = match live {
                None => Step::of(
                    kind,
                    name,
                    Action::Create,
                    format!("routing-types {want}"),
                    Op::CreateAddress(d.clone()),
                ),
                Some(l) if l.routing_types == d.routing_types => Step::report(
                    kind,
                    name,
                    Action::Unchanged,
                    format!("routing-types {want}"),
                ),
                Some(l) => Step::of(
                    kind,
                    name,
                    Action::Alter,
                    format!("routing-types {} -> {want}", routing(&l.routing_types)),
                    Op::AlterAddress(d.clone()),
                ),
            };
            vec![step]
        },
        |name, _| {
            let op = Op::DeleteAddress(name.to_owned());
            vec![Step::of(kind, name, Action::Delete, REMOVED, op)]
        },
    )
}

/// Steps for every queue the file declares or the record holds.
pub fn plan_queues(desired: &Desired<'_>, record: &Record, seen: &Seen<QueueSpec>) -> KindSteps {
    let kind = Kind::Queue;
    per_kind(
        kind,
        &desired.queues,
        record.queues.keys(),
        seen,
        |name, d, live| match live {
            None => {
                let detail = format!(
                    "{} on {}{}",
                    d.routing_type.as_str(),
                    d.address,
                    if d.durable { ", durable" } else { "" }
                );
                vec![Step::of(
                    kind,
                    name,
                    Action::Create,
                    detail,
                    Op::CreateQueue(d.clone()),
                )]
            }
            Some(live) => alter_queue(name, d, live),
        },
        |name, live| {
            let op = Op::DeleteQueue {
                address: live.address.clone(),
                name: live.name.clone(),
            };
            let detail = format!("{REMOVED}; its messages go with it");
            vec![Step::of(kind, name, Action::Delete, detail, op)]
        },
    )
}

fn alter_queue(name: &str, d: &QueueSpec, live: &QueueSpec) -> Vec<Step> {
    let kind = Kind::Queue;
    let mut steps = Vec::new();
    let fixed = [
        (
            "routing-type",
            live.routing_type.as_str().to_owned(),
            d.routing_type.as_str().to_owned(),
        ),
        ("durable", live.durable.to_string(), d.durable.to_string()),
    ];
    for (key, have, want) in fixed.into_iter().filter(|(_, h, w)| h != w) {
        let detail = format!(
            "{key} {have} -> {want}: fixed when the queue is created; remove it from the file \
             and apply (its messages go), then add it back"
        );
        steps.push(Step::report(kind, name, Action::Refused, detail));
    }
    let optional = |v: &Option<String>| v.clone().unwrap_or_else(|| "none".to_owned());
    let shown_filter = |f: &Option<sluice_queues::FilterRef>| {
        f.as_ref()
            .map_or("none".to_owned(), |f| show(Some(&filter(f))))
    };
    let shown_ring = |r: Option<u64>| r.map_or("none".to_owned(), |r| r.to_string());
    let fields = [
        (
            "purge-on-no-consumers",
            live.purge_on_no_consumers.to_string(),
            d.purge_on_no_consumers.to_string(),
        ),
        (
            "exclusive",
            live.exclusive.to_string(),
            d.exclusive.to_string(),
        ),
        (
            "max-consumers",
            live.max_consumers.to_string(),
            d.max_consumers.to_string(),
        ),
        (
            "filter",
            shown_filter(&live.filter),
            shown_filter(&d.filter),
        ),
        (
            "last-value-key",
            optional(&live.last_value_key),
            optional(&d.last_value_key),
        ),
        (
            "ring-size",
            shown_ring(live.ring_size),
            shown_ring(d.ring_size),
        ),
    ];
    let changes: Vec<Change> = fields
        .into_iter()
        .filter(|(_, have, want)| have != want)
        .map(|(key, have, want)| {
            Change::new(Action::Alter, kind, name, format!("{key} {have} -> {want}"))
        })
        .collect();
    if !changes.is_empty() {
        // Routing type and durability as they are: the alteration changes neither.
        let altered = QueueSpec {
            routing_type: live.routing_type,
            durable: live.durable,
            ..d.clone()
        };
        steps.push(Step {
            changes,
            op: Some(Op::AlterQueue(altered)),
            ..Step::report(kind, name, Action::Alter, "")
        });
    }
    if steps.is_empty() {
        let detail = format!("{} on {}", d.routing_type.as_str(), d.address);
        steps.push(Step::report(kind, name, Action::Unchanged, detail));
    }
    steps
}

fn routing(types: &[RoutingType]) -> String {
    let names: Vec<&str> = types.iter().map(|r| r.as_str()).collect();
    names.join(", ")
}
