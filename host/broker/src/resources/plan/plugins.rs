//! Plugins: loaded when new; swapped when their source, or the content of their source file,
//! changed; loaded again in place when a router's or filter's settings (`on-failure`,
//! limits) changed; unloaded when removed. A built-in under its own name is never unloaded.
//!
//! The broker reports a plugin's source, component hash and `on-failure`, but not the limits
//! it was loaded with nor a codec listener's settings: those are compared with the record. A
//! codec's listener settings change only by removing it and adding it again (its connections
//! would drop), so a change to them is refused.
use std::collections::BTreeMap;

use super::{Desired, KindSteps, Op, REMOVED, Seen, Step, per_kind};
use crate::resources::diff::{Action, Change, Kind};
use crate::resources::record::Record;
use crate::resources::spec::{PluginKind, PluginSpec};
use crate::resources::target::PluginState;

const KIND: Kind = Kind::Plugin;

/// Steps for every plugin the file declares or the record holds.
pub fn plan(
    desired: &Desired<'_>,
    record: &Record,
    seen: &Seen<PluginState>,
    sources: &BTreeMap<String, Result<String, String>>,
) -> KindSteps {
    per_kind(
        KIND,
        &desired.plugins,
        record.plugins.keys(),
        seen,
        |name, d, live| match live {
            None => {
                let mut detail = format!("{} from {}", d.kind.as_str(), d.source);
                if let Some(address) = &d.address {
                    detail.push_str(&format!(" on {address}"));
                }
                vec![Step::of(
                    KIND,
                    name,
                    Action::Create,
                    detail,
                    Op::LoadPlugin(d.clone()),
                )]
            }
            Some(live) => alter(name, d, live, record.plugins.get(name), sources.get(name)),
        },
        |name, live| {
            let step = if live.builtin {
                Step::report(
                    KIND,
                    name,
                    Action::Refused,
                    "no longer in the file, but built in: it stays",
                )
            } else {
                let op = Op::UnloadPlugin {
                    kind: live.kind,
                    name: live.name.clone(),
                };
                Step::of(KIND, name, Action::Delete, REMOVED, op)
            };
            vec![step]
        },
    )
}

fn alter(
    name: &str,
    d: &PluginSpec,
    live: &PluginState,
    old: Option<&PluginSpec>,
    source_sha256: Option<&Result<String, String>>,
) -> Vec<Step> {
    let change = |detail: String| Change::new(Action::Alter, KIND, name, detail);
    let mut steps = Vec::new();
    let mut changes = Vec::new();
    let mut source_error = None;
    if d.source != live.source {
        changes.push(change(format!("source {} -> {}", live.source, d.source)));
    } else {
        match source_sha256 {
            Some(Ok(sha)) if *sha != live.sha256 => changes.push(change(format!(
                "source {}: content changed (sha256 {} -> {})",
                d.source,
                short(&live.sha256),
                short(sha)
            ))),
            Some(Err(e)) => source_error = Some(e.clone()),
            _ => {}
        }
    }
    let settings = if d.kind == PluginKind::Codec {
        steps.extend(refused_listener_changes(name, d, old));
        Vec::new()
    } else {
        settings_changes(d, live, old)
    };
    let reload = !settings.is_empty();
    changes.extend(settings.into_iter().map(change));
    if let Some(error) = source_error {
        steps.push(Step {
            error: Some(error),
            ..Step::report(KIND, name, Action::Alter, format!("source {}", d.source))
        });
    } else if !changes.is_empty() {
        let op = if reload {
            Op::ReplacePlugin(d.clone())
        } else {
            Op::SwapPlugin {
                kind: d.kind,
                name: d.name.clone(),
                source: d.source.clone(),
            }
        };
        steps.push(Step {
            changes,
            op: Some(op),
            ..Step::report(KIND, name, Action::Alter, "")
        });
    }
    if steps.is_empty() {
        let detail = format!("{} from {}", d.kind.as_str(), d.source);
        steps.push(Step::report(KIND, name, Action::Unchanged, detail));
    }
    steps
}

/// A router's or filter's settings that differ: `on-failure` from what the broker reports
/// when the file sets it (back to the default when the file drops what it set), limits from
/// the record (or, for a plugin the file did not load, whenever the file sets them, since
/// the broker cannot say what they are).
fn settings_changes(d: &PluginSpec, live: &PluginState, old: Option<&PluginSpec>) -> Vec<String> {
    let mut out = Vec::new();
    let shown = |v: Option<String>| v.unwrap_or_else(|| "default".to_owned());
    let on_failure = |o: Option<crate::plugins::OnFailure>| {
        o.map(|o| {
            serde_json::to_value(o)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_else(|| format!("{o:?}"))
        })
    };
    let dropped = old.is_some_and(|o| o.on_failure.is_some()) && d.on_failure.is_none();
    if (d.on_failure.is_some() && d.on_failure != live.on_failure) || dropped {
        out.push(format!(
            "on-failure {} -> {}",
            shown(on_failure(live.on_failure)),
            shown(on_failure(d.on_failure))
        ));
    }
    let limits = [
        (
            "call-deadline-ms",
            old.map(|o| o.call_deadline_ms.map(|v| v.to_string())),
            d.call_deadline_ms.map(|v| v.to_string()),
        ),
        (
            "memory-bytes-max",
            old.map(|o| o.memory_bytes_max.map(|v| v.to_string())),
            d.memory_bytes_max.map(|v| v.to_string()),
        ),
    ];
    for (key, before, want) in limits {
        match before {
            Some(before) if before != want => {
                out.push(format!("{key} {} -> {}", shown(before), shown(want)));
            }
            None if want.is_some() => {
                out.push(format!("{key} unknown -> {}", shown(want)));
            }
            _ => {}
        }
    }
    out
}

fn refused_listener_changes(name: &str, d: &PluginSpec, old: Option<&PluginSpec>) -> Vec<Step> {
    let Some(old) = old else {
        return Vec::new();
    };
    let fields = [
        ("address", old.address.clone(), d.address.clone()),
        ("advertised", old.advertised.clone(), d.advertised.clone()),
        (
            "frame-bytes-max",
            old.frame_bytes_max.map(|v| v.to_string()),
            d.frame_bytes_max.map(|v| v.to_string()),
        ),
        (
            "connections-max",
            old.connections_max.map(|v| v.to_string()),
            d.connections_max.map(|v| v.to_string()),
        ),
    ];
    fields
        .into_iter()
        .filter(|(_, before, want)| before != want)
        .map(|(key, before, want)| {
            let shown = |v: Option<String>| v.unwrap_or_else(|| "default".to_owned());
            let detail = format!(
                "{key} {} -> {}: set when the listener starts (changing it would drop its \
                 connections); remove the codec from the file and apply, then add it back",
                shown(before),
                shown(want)
            );
            Step {
                hold_record: true,
                ..Step::report(KIND, name, Action::Refused, detail)
            }
        })
        .collect()
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}
