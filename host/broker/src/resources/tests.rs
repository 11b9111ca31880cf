//! The engine against an in-memory broker: what an apply creates, alters, deletes, refuses
//! and records, and that applying the same file again changes nothing.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use sluice_queues::AddressSettingsRule;

use super::diff::{Action, Change, Kind};
use super::record::Record;
use super::spec::{AddressSpec, PluginKind, PluginSpec, QueueSpec, parse};
use super::target::{PluginState, ResourceTarget, TargetError, TopicState, UserState};
use super::{Input, Origin, ResourcesConfig, apply, open};
use crate::plugins::OnFailure;

/// Settings the fake's topics know; any other is refused, as storage refuses one.
const KNOWN_SETTINGS: [&str; 3] = ["retention.ms", "segment.bytes", "cleanup.policy"];

#[derive(Default)]
struct Fake {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    topics: BTreeMap<String, TopicState>,
    addresses: BTreeMap<String, AddressSpec>,
    queues: BTreeMap<String, QueueSpec>,
    settings: BTreeMap<String, AddressSettingsRule>,
    users: BTreeMap<String, String>,
    plugins: BTreeMap<String, PluginState>,
    /// Component hash of each source, as its file holds it now.
    sources: BTreeMap<String, String>,
    /// Kinds answering `Unsupported`.
    unsupported: BTreeSet<Kind>,
    /// Names every change of which is refused.
    refuse: BTreeSet<String>,
    /// Every change made (not validated), in order.
    calls: Vec<String>,
}

impl Fake {
    /// A broker holding nothing, where the file `/p/redact.wasm` exists.
    fn new() -> Fake {
        Fake::with(|_| {})
    }

    fn with(f: impl FnOnce(&mut State)) -> Fake {
        let fake = Fake::default();
        let mut state = fake.state.lock().unwrap();
        state
            .sources
            .insert("/p/redact.wasm".into(), "sha-redact".into());
        f(&mut state);
        drop(state);
        fake
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Checks `name` may be changed, records the call unless validating, then runs `f`.
    fn change<R>(
        &self,
        kind: Kind,
        call: String,
        name: &str,
        validate_only: bool,
        f: impl FnOnce(&mut State) -> Result<R, TargetError>,
    ) -> Result<(), TargetError> {
        let mut state = self.state();
        if state.unsupported.contains(&kind) {
            return Err(TargetError::Unsupported(kind.as_str().to_owned()));
        }
        if state.refuse.contains(name) {
            return Err(TargetError::Refused(format!("{name} is refused")));
        }
        if validate_only {
            return Ok(());
        }
        f(&mut state)?;
        state.calls.push(call);
        Ok(())
    }

    fn list<T: Clone>(
        &self,
        kind: Kind,
        of: impl FnOnce(&State) -> Vec<T>,
    ) -> Result<Vec<T>, TargetError> {
        let state = self.state();
        if state.unsupported.contains(&kind) {
            return Err(TargetError::Unsupported(kind.as_str().to_owned()));
        }
        Ok(of(&state))
    }
}

fn check_settings(set: &[(String, String)]) -> Result<(), TargetError> {
    match set
        .iter()
        .find(|(k, _)| !KNOWN_SETTINGS.contains(&k.as_str()))
    {
        Some((k, _)) => Err(TargetError::Refused(format!("unknown setting {k}"))),
        None => Ok(()),
    }
}

impl ResourceTarget for Fake {
    fn topics(&self) -> Result<Vec<TopicState>, TargetError> {
        self.list(Kind::Topic, |s| s.topics.values().cloned().collect())
    }

    fn create_topic(
        &self,
        name: &str,
        partitions: Option<u32>,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<(), TargetError> {
        check_settings(configs)?;
        let call = format!("create topic {name}");
        self.change(Kind::Topic, call, name, validate_only, |s| {
            let topic = TopicState {
                name: name.to_owned(),
                partitions: partitions.unwrap_or(1),
                configs: configs.iter().cloned().collect(),
            };
            Ok(s.topics.insert(name.to_owned(), topic))
        })
    }

    fn add_partitions(&self, name: &str, count: u32, v: bool) -> Result<(), TargetError> {
        let call = format!("partitions {name} {count}");
        self.change(Kind::Topic, call, name, v, |s| {
            let topic = s.topics.get_mut(name).unwrap();
            assert!(count > topic.partitions, "partitions only grow");
            topic.partitions = count;
            Ok(())
        })
    }

    fn alter_topic_configs(
        &self,
        name: &str,
        set: &[(String, String)],
        reset: &[String],
        v: bool,
    ) -> Result<(), TargetError> {
        check_settings(set)?;
        let call = format!("configs {name} set {set:?} reset {reset:?}");
        self.change(Kind::Topic, call, name, v, |s| {
            let topic = s.topics.get_mut(name).unwrap();
            topic.configs.extend(set.iter().cloned());
            for key in reset {
                topic.configs.remove(key);
            }
            Ok(())
        })
    }

    fn delete_topic(&self, name: &str, v: bool) -> Result<(), TargetError> {
        self.change(Kind::Topic, format!("delete topic {name}"), name, v, |s| {
            Ok(s.topics.remove(name))
        })
    }

    fn addresses(&self) -> Result<Vec<AddressSpec>, TargetError> {
        self.list(Kind::Address, |s| s.addresses.values().cloned().collect())
    }

    fn create_address(&self, a: &AddressSpec, v: bool) -> Result<(), TargetError> {
        let call = format!("create address {}", a.name);
        self.change(Kind::Address, call, &a.name, v, |s| {
            Ok(s.addresses.insert(a.name.clone(), a.clone()))
        })
    }

    fn alter_address(&self, a: &AddressSpec, v: bool) -> Result<(), TargetError> {
        let call = format!("alter address {}", a.name);
        self.change(Kind::Address, call, &a.name, v, |s| {
            Ok(s.addresses.insert(a.name.clone(), a.clone()))
        })
    }

    fn delete_address(&self, name: &str, v: bool) -> Result<(), TargetError> {
        self.change(
            Kind::Address,
            format!("delete address {name}"),
            name,
            v,
            |s| {
                if s.queues.values().any(|q| q.address == name) {
                    return Err(TargetError::Refused(format!("address {name} has queues")));
                }
                Ok(s.addresses.remove(name))
            },
        )
    }

    fn queues(&self) -> Result<Vec<QueueSpec>, TargetError> {
        self.list(Kind::Queue, |s| s.queues.values().cloned().collect())
    }

    fn create_queue(&self, q: &QueueSpec, v: bool) -> Result<(), TargetError> {
        let call = format!("create queue {}", q.display_name());
        self.change(Kind::Queue, call, &q.name, v, |s| {
            if !s.addresses.contains_key(&q.address) {
                return Err(TargetError::Refused(format!("no address {}", q.address)));
            }
            Ok(s.queues.insert(q.display_name(), q.clone()))
        })
    }

    fn alter_queue(&self, q: &QueueSpec, v: bool) -> Result<(), TargetError> {
        let call = format!("alter queue {}", q.display_name());
        self.change(Kind::Queue, call, &q.name, v, |s| {
            let live = s.queues.get(&q.display_name()).unwrap();
            assert_eq!(
                (live.routing_type, live.durable),
                (q.routing_type, q.durable)
            );
            Ok(s.queues.insert(q.display_name(), q.clone()))
        })
    }

    fn delete_queue(&self, address: &str, name: &str, v: bool) -> Result<(), TargetError> {
        let display = super::spec::queue_name(address, name);
        self.change(
            Kind::Queue,
            format!("delete queue {display}"),
            name,
            v,
            |s| Ok(s.queues.remove(&display)),
        )
    }

    fn address_settings(&self) -> Result<Vec<AddressSettingsRule>, TargetError> {
        self.list(Kind::AddressSettings, |s| {
            s.settings.values().cloned().collect()
        })
    }

    fn set_address_settings(&self, r: &AddressSettingsRule, v: bool) -> Result<(), TargetError> {
        let call = format!("set address-settings {}", r.pattern);
        self.change(Kind::AddressSettings, call, &r.pattern, v, |s| {
            Ok(s.settings.insert(r.pattern.clone(), r.clone()))
        })
    }

    fn delete_address_settings(&self, pattern: &str, v: bool) -> Result<(), TargetError> {
        let call = format!("delete address-settings {pattern}");
        self.change(Kind::AddressSettings, call, pattern, v, |s| {
            Ok(s.settings.remove(pattern))
        })
    }

    fn users(&self) -> Result<Vec<UserState>, TargetError> {
        self.list(Kind::User, |s| {
            s.users
                .iter()
                .map(|(name, password)| UserState {
                    name: name.clone(),
                    password_sha256: crate::security::password_sha256(password),
                })
                .collect()
        })
    }

    fn set_user(&self, name: &str, password: &str, v: bool) -> Result<(), TargetError> {
        self.change(Kind::User, format!("set user {name}"), name, v, |s| {
            Ok(s.users.insert(name.to_owned(), password.to_owned()))
        })
    }

    fn delete_user(&self, name: &str, v: bool) -> Result<(), TargetError> {
        self.change(Kind::User, format!("delete user {name}"), name, v, |s| {
            Ok(s.users.remove(name))
        })
    }

    fn plugins(&self) -> Result<Vec<PluginState>, TargetError> {
        self.list(Kind::Plugin, |s| s.plugins.values().cloned().collect())
    }

    fn source_sha256(&self, _: PluginKind, source: &str) -> Result<String, TargetError> {
        self.state()
            .sources
            .get(source)
            .cloned()
            .ok_or_else(|| TargetError::Refused(format!("no such file {source}")))
    }

    async fn load_plugin(&self, p: &PluginSpec, v: bool) -> Result<(), TargetError> {
        let call = format!("load {}", p.display_name());
        self.change(Kind::Plugin, call, &p.name, v, |s| {
            let sha = s.sources.get(&p.source).cloned().unwrap_or_default();
            let state = PluginState {
                kind: p.kind,
                name: p.name.clone(),
                source: p.source.clone(),
                sha256: sha,
                on_failure: (p.kind != PluginKind::Codec)
                    .then(|| p.on_failure.unwrap_or(OnFailure::Hold)),
                builtin: false,
            };
            Ok(s.plugins.insert(p.display_name(), state))
        })
    }

    async fn swap_plugin(
        &self,
        kind: PluginKind,
        name: &str,
        source: &str,
        v: bool,
    ) -> Result<(), TargetError> {
        let display = super::spec::plugin_name(kind, name);
        self.change(Kind::Plugin, format!("swap {display}"), name, v, |s| {
            let sha = s.sources.get(source).cloned().unwrap_or_default();
            let plugin = s.plugins.get_mut(&display).unwrap();
            plugin.source = source.to_owned();
            plugin.sha256 = sha;
            Ok(())
        })
    }

    async fn replace_plugin(&self, p: &PluginSpec, v: bool) -> Result<(), TargetError> {
        let call = format!("replace {}", p.display_name());
        self.change(Kind::Plugin, call, &p.name, v, |s| {
            let sha = s.sources.get(&p.source).cloned().unwrap_or_default();
            let plugin = s.plugins.get_mut(&p.display_name()).unwrap();
            plugin.source = p.source.clone();
            plugin.sha256 = sha;
            plugin.on_failure = Some(p.on_failure.unwrap_or(OnFailure::Hold));
            Ok(())
        })
    }

    async fn unload_plugin(
        &self,
        kind: PluginKind,
        name: &str,
        v: bool,
    ) -> Result<(), TargetError> {
        let display = super::spec::plugin_name(kind, name);
        self.change(Kind::Plugin, format!("unload {display}"), name, v, |s| {
            Ok(s.plugins.remove(&display))
        })
    }
}

/// Applies `text` to `fake` over `record`, returning the changes and replacing the record.
async fn run(fake: &Fake, record: &mut Record, text: &str) -> (Vec<Change>, Vec<String>) {
    let file = parse(text).unwrap();
    let outcome = apply(fake, &file, record, false).await;
    *record = outcome.record;
    (outcome.changes, outcome.errors)
}

/// `action kind name: detail` per change, the unchanged ones left out.
fn lines(changes: &[Change]) -> Vec<String> {
    changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| {
            format!(
                "{} {} {}: {}",
                c.action.as_str(),
                c.kind.as_str(),
                c.name,
                c.detail
            )
        })
        .collect()
}

fn only_unchanged(changes: &[Change]) -> bool {
    changes.iter().all(|c| c.action == Action::Unchanged)
}

const LINES: &str = "[[topics]]\nname = \"lines\"\npartitions = 2\n\
    [topics.config]\n\"retention.ms\" = 7200000\n\"segment.bytes\" = 1073741824\n";

const LINES_10: &str = "[[topics]]\nname = \"lines\"\npartitions = 10\n\
    [topics.config]\n\"retention.ms\" = 14400000\n\"segment.bytes\" = 1073741824\n";

const EVERYTHING: &str = "\
[[topics]]\nname = \"lines\"\npartitions = 2\n\
[[addresses]]\nname = \"orders\"\nrouting-types = [\"anycast\"]\n\
[[queues]]\nname = \"orders\"\nrouting-type = \"anycast\"\n\
[[address-settings]]\nmatch = \"orders.#\"\nmax-delivery-attempts = 3\n\
[[users]]\nname = \"alice\"\npassword = \"wonderland\"\n\
[[plugins]]\nkind = \"filter\"\nname = \"redact\"\nsource = \"/p/redact.wasm\"\n";

#[tokio::test]
async fn a_file_creates_every_kind_in_dependency_order_and_records_it() {
    let fake = Fake::new();
    let mut record = Record::default();
    let (changes, errors) = run(&fake, &mut record, EVERYTHING).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        changes.iter().all(|c| c.action == Action::Create),
        "{changes:?}"
    );
    assert_eq!(
        fake.state().calls,
        [
            "load filter/redact",
            "set user alice",
            "create topic lines",
            "set address-settings orders.#",
            "create address orders",
            "create queue orders",
        ]
    );
    assert_eq!(fake.state().users["alice"], "wonderland");
    assert_eq!(record.topics.keys().collect::<Vec<_>>(), ["lines"]);
    assert_eq!(record.users.iter().collect::<Vec<_>>(), ["alice"]);
    assert_eq!(record.queues.keys().collect::<Vec<_>>(), ["orders"]);
    assert_eq!(record.plugins.keys().collect::<Vec<_>>(), ["filter/redact"]);
    assert_eq!(
        record.address_settings.keys().collect::<Vec<_>>(),
        ["orders.#"]
    );
}

#[tokio::test]
async fn a_second_apply_of_the_same_file_changes_nothing() {
    let fake = Fake::new();
    let mut record = Record::default();
    run(&fake, &mut record, EVERYTHING).await;
    let recorded = record.clone();
    let calls = fake.state().calls.len();
    let (changes, errors) = run(&fake, &mut record, EVERYTHING).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(only_unchanged(&changes), "{:?}", lines(&changes));
    assert_eq!(changes.len(), 6, "one unchanged per resource");
    assert_eq!(fake.state().calls.len(), calls, "no call into the broker");
    assert_eq!(record, recorded);
}

#[tokio::test]
async fn partitions_grow_and_settings_change_each_reported_from_and_to() {
    let fake = Fake::new();
    let mut record = Record::default();
    run(&fake, &mut record, LINES).await;
    let (changes, _) = run(&fake, &mut record, LINES_10).await;
    assert_eq!(
        lines(&changes),
        [
            "alter topic lines: partitions 2 -> 10",
            "alter topic lines: retention.ms 7200000 -> 14400000",
        ]
    );
    let topic = fake.state().topics["lines"].clone();
    assert_eq!(topic.partitions, 10);
    assert_eq!(topic.configs["retention.ms"], "14400000");
    let (changes, _) = run(&fake, &mut record, LINES_10).await;
    assert!(only_unchanged(&changes), "{:?}", lines(&changes));
}

#[tokio::test]
async fn fewer_partitions_are_refused_every_time_and_nothing_shrinks() {
    let fake = Fake::new();
    let mut record = Record::default();
    run(&fake, &mut record, LINES_10).await;
    for _ in 0..2 {
        let (changes, errors) = run(&fake, &mut record, LINES).await;
        assert!(errors.is_empty(), "a refusal is not a failure: {errors:?}");
        let refused: Vec<_> = changes
            .iter()
            .filter(|c| c.action == Action::Refused)
            .collect();
        assert_eq!(refused.len(), 1, "{:?}", lines(&changes));
        assert!(
            refused[0].detail.starts_with("partitions 10 -> 2"),
            "{}",
            refused[0].detail
        );
        assert_eq!(fake.state().topics["lines"].partitions, 10);
    }
}

#[tokio::test]
async fn a_setting_dropped_from_the_file_goes_back_to_default_and_one_set_elsewhere_stays() {
    let fake = Fake::new();
    let mut record = Record::default();
    run(&fake, &mut record, LINES).await;
    // Someone else sets cleanup.policy: the file never did, so it is not the file's to reset.
    fake.state()
        .topics
        .get_mut("lines")
        .unwrap()
        .configs
        .insert("cleanup.policy".into(), "compact".into());
    let without_retention = "[[topics]]\nname = \"lines\"\npartitions = 2\n\
        [topics.config]\n\"segment.bytes\" = 1073741824\n";
    let (changes, _) = run(&fake, &mut record, without_retention).await;
    assert_eq!(
        lines(&changes),
        ["alter topic lines: retention.ms 7200000 -> default"]
    );
    let configs = fake.state().topics["lines"].configs.clone();
    assert!(!configs.contains_key("retention.ms"));
    assert_eq!(configs["cleanup.policy"], "compact");
    let (changes, _) = run(&fake, &mut record, without_retention).await;
    assert!(only_unchanged(&changes), "{:?}", lines(&changes));
}

#[tokio::test]
async fn what_leaves_the_file_is_deleted_and_what_it_never_declared_is_left_alone() {
    let fake = Fake::with(|s| {
        s.topics.insert(
            "theirs".into(),
            TopicState {
                name: "theirs".into(),
                partitions: 1,
                configs: BTreeMap::new(),
            },
        );
        s.users.insert("admin".into(), "from-config".into());
    });
    let mut record = Record::default();
    run(&fake, &mut record, EVERYTHING).await;
    let (changes, errors) = run(&fake, &mut record, "").await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(
        changes.iter().all(|c| c.action == Action::Delete),
        "{changes:?}"
    );
    // Deletes run in the reverse order of creates: queues before their address, settings
    // before the plugins they may name.
    let calls = fake.state().calls.clone();
    assert_eq!(
        calls[calls.len() - 6..],
        [
            "delete queue orders",
            "delete address orders",
            "delete address-settings orders.#",
            "delete topic lines",
            "delete user alice",
            "unload filter/redact",
        ]
    );
    assert_eq!(record, Record::default());
    let state = fake.state();
    assert_eq!(state.topics.keys().collect::<Vec<_>>(), ["theirs"]);
    assert_eq!(state.users.keys().collect::<Vec<_>>(), ["admin"]);
}

#[tokio::test]
async fn a_resource_already_in_the_broker_is_adopted_and_then_managed() {
    let fake = Fake::with(|s| {
        s.topics.insert(
            "lines".into(),
            TopicState {
                name: "lines".into(),
                partitions: 2,
                configs: [("retention.ms".to_owned(), "7200000".to_owned())].into(),
            },
        );
    });
    let mut record = Record::default();
    let (changes, _) = run(&fake, &mut record, LINES).await;
    assert_eq!(
        lines(&changes),
        ["alter topic lines: segment.bytes default -> 1073741824"]
    );
    let (changes, _) = run(&fake, &mut record, "").await;
    assert_eq!(
        lines(&changes),
        ["delete topic lines: no longer in the file"]
    );
}

#[tokio::test]
async fn replicas_above_one_are_a_warning_and_the_topic_has_one_copy() {
    let fake = Fake::new();
    let mut record = Record::default();
    let text = "[[topics]]\nname = \"lines\"\npartitions = 2\nreplicas = 2\n";
    let (changes, errors) = run(&fake, &mut record, text).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        lines(&changes),
        [
            "create topic lines: partitions 2",
            "warning topic lines: replicas 2: this broker is a single node; each partition has 1 copy",
        ]
    );
    let (changes, _) = run(&fake, &mut record, text).await;
    let actions: Vec<_> = changes.iter().map(|c| c.action).collect();
    assert_eq!(actions, [Action::Unchanged, Action::Warning]);
}

#[tokio::test]
async fn a_dry_run_reports_and_validates_but_changes_nothing() {
    let fake = Fake::new();
    let record = Record::default();
    let file = parse(
        "[[topics]]\nname = \"ok\"\n[[topics]]\nname = \"bad\"\n\
         [topics.config]\n\"no.such.setting\" = 1\n",
    )
    .unwrap();
    let outcome = apply(&fake, &file, &record, true).await;
    assert_eq!(outcome.record, record);
    assert!(fake.state().topics.is_empty() && fake.state().calls.is_empty());
    let bad = outcome.changes.iter().find(|c| c.name == "bad").unwrap();
    assert_eq!(bad.action, Action::Create);
    assert_eq!(
        bad.error.as_deref(),
        Some("unknown setting no.such.setting")
    );
    assert_eq!(
        outcome.errors,
        ["topic bad: unknown setting no.such.setting"]
    );
}

#[tokio::test]
async fn a_failed_create_is_not_recorded_and_a_failed_delete_is_tried_again() {
    let fake = Fake::new();
    let mut record = Record::default();
    run(&fake, &mut record, LINES).await;
    let with_bad = format!("{LINES}[[topics]]\nname = \"bad\"\n[topics.config]\n\"x\" = 1\n");
    let (_, errors) = run(&fake, &mut record, &with_bad).await;
    assert_eq!(errors, ["topic bad: unknown setting x"]);
    assert!(!record.topics.contains_key("bad"));

    fake.state().refuse.insert("lines".into());
    let (changes, errors) = run(&fake, &mut record, "").await;
    assert_eq!(errors, ["topic lines: lines is refused"]);
    assert_eq!(changes[0].error.as_deref(), Some("lines is refused"));
    assert!(record.topics.contains_key("lines"), "kept, to delete later");

    fake.state().refuse.clear();
    let (changes, errors) = run(&fake, &mut record, "").await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(
        lines(&changes),
        ["delete topic lines: no longer in the file"]
    );
    assert!(record.topics.is_empty());
}

#[tokio::test]
async fn a_failed_alter_keeps_a_dropped_setting_in_the_record_to_reset_it_later() {
    let fake = Fake::new();
    let mut record = Record::default();
    run(&fake, &mut record, LINES).await;
    fake.state().refuse.insert("lines".into());
    let without_retention = "[[topics]]\nname = \"lines\"\npartitions = 2\n";
    let (_, errors) = run(&fake, &mut record, without_retention).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(record.topics["lines"].config.contains_key("retention.ms"));
    fake.state().refuse.clear();
    let (changes, _) = run(&fake, &mut record, without_retention).await;
    assert_eq!(
        lines(&changes),
        [
            "alter topic lines: retention.ms 7200000 -> default",
            "alter topic lines: segment.bytes 1073741824 -> default",
        ]
    );
}

#[tokio::test]
async fn a_kind_the_broker_cannot_handle_yet_fails_each_of_its_resources_and_the_rest_apply() {
    let fake = Fake::with(|s| {
        s.unsupported.insert(Kind::Address);
    });
    let mut record = Record::default();
    let (changes, errors) = run(&fake, &mut record, EVERYTHING).await;
    let address = changes.iter().find(|c| c.kind == Kind::Address).unwrap();
    assert_eq!(address.action, Action::Refused);
    assert_eq!(address.error.as_deref(), Some("address: not supported yet"));
    assert!(errors.contains(&"address orders: address: not supported yet".to_owned()));
    // The queue on it fails on its own (no such address); everything else is applied.
    assert!(fake.state().topics.contains_key("lines"));
    assert!(fake.state().users.contains_key("alice"));
    assert!(!record.addresses.contains_key("orders"));
}

#[tokio::test]
async fn a_plugin_swaps_on_a_new_source_or_new_content_and_reloads_on_new_settings() {
    let fake = Fake::with(|s| {
        s.sources.insert("/p/a.wasm".into(), "sha-a1".into());
        s.sources.insert("/p/b.wasm".into(), "sha-b1".into());
    });
    let mut record = Record::default();
    let filter = |source: &str, extra: &str| {
        format!("[[plugins]]\nkind = \"filter\"\nname = \"f\"\nsource = \"{source}\"\n{extra}")
    };
    run(&fake, &mut record, &filter("/p/a.wasm", "")).await;

    let (changes, _) = run(&fake, &mut record, &filter("/p/b.wasm", "")).await;
    assert_eq!(
        lines(&changes),
        ["alter plugin filter/f: source /p/a.wasm -> /p/b.wasm"]
    );

    fake.state()
        .sources
        .insert("/p/b.wasm".into(), "sha-b2-rebuilt".into());
    let (changes, _) = run(&fake, &mut record, &filter("/p/b.wasm", "")).await;
    assert_eq!(
        lines(&changes),
        [
            "alter plugin filter/f: source /p/b.wasm: content changed (sha256 sha-b1 -> sha-b2-rebui)"
        ]
    );

    let (changes, _) = run(
        &fake,
        &mut record,
        &filter(
            "/p/b.wasm",
            "on-failure = \"pass\"\ncall-deadline-ms = 50\n",
        ),
    )
    .await;
    assert_eq!(
        lines(&changes),
        [
            "alter plugin filter/f: on-failure hold -> pass",
            "alter plugin filter/f: call-deadline-ms default -> 50",
        ]
    );
    let calls = fake.state().calls.clone();
    assert_eq!(
        calls,
        [
            "load filter/f",
            "swap filter/f",
            "swap filter/f",
            "replace filter/f"
        ]
    );
    let (changes, _) = run(
        &fake,
        &mut record,
        &filter(
            "/p/b.wasm",
            "on-failure = \"pass\"\ncall-deadline-ms = 50\n",
        ),
    )
    .await;
    assert!(only_unchanged(&changes), "{:?}", lines(&changes));
}

#[tokio::test]
async fn an_unreadable_plugin_source_fails_that_plugin_only() {
    let fake = Fake::with(|s| {
        s.sources.insert("/p/a.wasm".into(), "sha-a".into());
    });
    let mut record = Record::default();
    let text = "[[plugins]]\nkind = \"router\"\nname = \"r\"\nsource = \"/p/a.wasm\"\n";
    run(&fake, &mut record, text).await;
    fake.state().sources.clear();
    let (_, errors) = run(&fake, &mut record, &format!("{text}{LINES}")).await;
    assert_eq!(
        errors,
        ["plugin router/r: cannot read source /p/a.wasm: no such file /p/a.wasm"]
    );
    assert!(fake.state().topics.contains_key("lines"));
}

#[tokio::test]
async fn a_built_in_removed_from_the_file_stays_and_is_forgotten() {
    let fake = Fake::with(|s| {
        s.sources
            .insert("builtin:filter-match".into(), "sha-m".into());
        s.plugins.insert(
            "filter/match".into(),
            PluginState {
                kind: PluginKind::Filter,
                name: "match".into(),
                source: "builtin:filter-match".into(),
                sha256: "sha-m".into(),
                on_failure: Some(OnFailure::Hold),
                builtin: true,
            },
        );
    });
    let mut record = Record::default();
    let text =
        "[[plugins]]\nkind = \"filter\"\nname = \"match\"\nsource = \"builtin:filter-match\"\n";
    let (changes, _) = run(&fake, &mut record, text).await;
    assert!(only_unchanged(&changes), "{:?}", lines(&changes));
    let (changes, errors) = run(&fake, &mut record, "").await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(changes[0].action, Action::Refused);
    assert!(fake.state().plugins.contains_key("filter/match"));
    assert!(record.plugins.is_empty());
}

#[tokio::test]
async fn a_codecs_listener_address_change_is_refused_until_the_file_matches_again() {
    let fake = Fake::with(|s| {
        s.sources
            .insert("builtin:codec-kafka".into(), "sha-k".into());
    });
    let mut record = Record::default();
    let codec = |address: &str| {
        format!(
            "[[plugins]]\nkind = \"codec\"\nname = \"k2\"\nsource = \"builtin:codec-kafka\"\n\
             address = \"{address}\"\n"
        )
    };
    run(&fake, &mut record, &codec("127.0.0.1:9100")).await;
    for _ in 0..2 {
        let (changes, errors) = run(&fake, &mut record, &codec("127.0.0.1:9200")).await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].action, Action::Refused);
        assert!(
            changes[0]
                .detail
                .starts_with("address 127.0.0.1:9100 -> 127.0.0.1:9200"),
            "{}",
            changes[0].detail
        );
    }
    let (changes, _) = run(&fake, &mut record, &codec("127.0.0.1:9100")).await;
    assert!(only_unchanged(&changes), "{:?}", lines(&changes));
}

#[tokio::test]
async fn a_users_password_change_is_an_alter_that_never_shows_the_password() {
    let fake = Fake::new();
    let mut record = Record::default();
    let user = |password: &str| format!("[[users]]\nname = \"alice\"\npassword = \"{password}\"\n");
    run(&fake, &mut record, &user("wonderland")).await;
    let (changes, _) = run(&fake, &mut record, &user("looking-glass")).await;
    assert_eq!(lines(&changes), ["alter user alice: password changed"]);
    assert!(!format!("{changes:?}").contains("looking-glass"));
    assert_eq!(fake.state().users["alice"], "looking-glass");
}

#[tokio::test]
async fn a_queues_routing_type_is_refused_and_its_other_attributes_altered() {
    let fake = Fake::new();
    let mut record = Record::default();
    let queue = |routing: &str, max: i32| {
        format!(
            "[[addresses]]\nname = \"orders\"\nrouting-types = [\"anycast\", \"multicast\"]\n\
             [[queues]]\nname = \"q\"\naddress = \"orders\"\nrouting-type = \"{routing}\"\n\
             max-consumers = {max}\n"
        )
    };
    run(&fake, &mut record, &queue("anycast", -1)).await;
    let (changes, _) = run(&fake, &mut record, &queue("multicast", 5)).await;
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(changes[1].action, Action::Refused);
    assert!(
        changes[1]
            .detail
            .starts_with("routing-type anycast -> multicast")
    );
    assert_eq!(
        lines(&changes[2..]),
        ["alter queue orders::q: max-consumers -1 -> 5"]
    );
    let live = fake.state().queues["orders::q"].clone();
    assert_eq!(
        (live.max_consumers, live.routing_type.as_str()),
        (5, "anycast")
    );
}

#[tokio::test]
async fn address_settings_are_compared_field_by_field() {
    let fake = Fake::new();
    let mut record = Record::default();
    run(
        &fake,
        &mut record,
        "[[address-settings]]\nmatch = \"orders.#\"\nmax-delivery-attempts = 3\n",
    )
    .await;
    let (changes, _) = run(
        &fake,
        &mut record,
        "[[address-settings]]\nmatch = \"orders.#\"\nmax-delivery-attempts = 5\n\
         publish-filter = \"a = 1\"\n",
    )
    .await;
    assert_eq!(
        lines(&changes),
        [
            "alter address-settings orders.#: max-delivery-attempts 3 -> 5",
            "alter address-settings orders.#: publish-filter unset -> { config = \"a = 1\", plugin = \"selector\" }",
        ]
    );
}

#[tokio::test]
async fn open_applies_the_file_at_start_and_fails_the_start_when_it_fails() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("resources.toml");
    let config = ResourcesConfig {
        file: Some(file.clone()),
        ..ResourcesConfig::default()
    };
    std::fs::write(&file, LINES).unwrap();
    let resources = open(&config, dir.path(), Fake::new()).await.unwrap();
    let status = resources.status();
    assert_eq!(status.managed.topics, ["lines"]);
    let last = status.last_apply.unwrap();
    assert_eq!((last.origin, last.summary.create), ("start", 1));
    let recorded = Record::load(&dir.path().join("resources/applied.toml")).unwrap();
    assert_eq!(recorded.topics.keys().collect::<Vec<_>>(), ["lines"]);

    std::fs::write(
        &file,
        "[[topics]]\nname = \"t\"\n[topics.config]\nnope = 1\n",
    )
    .unwrap();
    let err = open(&config, dir.path(), Fake::new()).await.err().unwrap();
    assert!(err.to_string().contains("unknown setting nope"), "{err}");

    std::fs::write(&file, "[[topics]]\nnme = \"t\"\n").unwrap();
    let err = open(&config, dir.path(), Fake::new()).await.err().unwrap();
    assert!(err.to_string().contains("nme"), "{err}");
}

#[tokio::test]
async fn text_that_does_not_parse_applies_nothing_and_is_kept_as_the_last_report() {
    let dir = tempfile::tempdir().unwrap();
    let resources = open(&ResourcesConfig::default(), dir.path(), Fake::new())
        .await
        .unwrap();
    let applied = resources
        .apply(Input::Content(LINES.to_owned()), false, Origin::Api)
        .await
        .unwrap();
    assert!(applied.changed);
    let refused = resources
        .apply(
            Input::Content("[[topics]]\n".to_owned()),
            false,
            Origin::Api,
        )
        .await;
    assert!(refused.is_err());
    let status = resources.status();
    assert_eq!(status.managed.topics, ["lines"], "nothing deleted");
    assert!(status.last_apply.unwrap().errors[0].contains("invalid resources request"));
    let none = resources.apply(Input::File, true, Origin::Api).await;
    assert!(matches!(none, Err(super::ApplyError::NoFile)));
}
