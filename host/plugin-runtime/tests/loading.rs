//! Loading refuses what is not a codec, and says what it expected; a loaded codec counts what
//! it does.
mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{block_on, guest};

use sluice_plugin_runtime::{
    AppendResult, BrokerError, ClusterInfo, CommitAuthor, CommittedOffset, ConfigChange,
    ConfigEntry, GroupDescription, GroupError, GroupErrorCode, GroupOverview, GroupResults,
    HostAuth, HostBroker, HostGroups, HostQueues, JoinOutcome, JoinRequest, Limits, LoadError,
    MemberIdentity, PartitionOffsets, ProducerIdentity, ReadResult, Runtime, SyncOutcome,
    SyncRequest, TimestampOffset, TopicInfo, TopicPartition,
};

/// A host that refuses everything: these tests never get as far as a broker call.
struct NoBroker;

fn refused() -> BrokerError {
    BrokerError {
        code: sluice_plugin_runtime::ErrorCode::Storage,
        message: "test host".into(),
    }
}

impl HostBroker for NoBroker {
    fn cluster(&self) -> ClusterInfo {
        ClusterInfo {
            cluster_id: "test".into(),
            node_id: 0,
            default_partitions: 1,
        }
    }
    fn list_topics(&self) -> Vec<TopicInfo> {
        Vec::new()
    }
    fn describe_topic(&self, _: &str, _: bool) -> Result<TopicInfo, BrokerError> {
        Err(refused())
    }
    fn create_topic(
        &self,
        _: &str,
        _: u32,
        _: &[(String, String)],
        _: bool,
    ) -> Result<TopicInfo, BrokerError> {
        Err(refused())
    }
    fn delete_topic(&self, _: &str) -> Result<(), BrokerError> {
        Err(refused())
    }
    fn append(&self, _: &str, _: u32, _: &[u8]) -> Result<AppendResult, BrokerError> {
        Err(refused())
    }
    fn read(&self, _: &str, _: u32, _: i64, _: u32) -> Result<ReadResult, BrokerError> {
        Err(refused())
    }
    fn offsets(&self, _: &str, _: u32) -> Result<PartitionOffsets, BrokerError> {
        Err(refused())
    }
    fn offset_for_timestamp(
        &self,
        _: &str,
        _: u32,
        _: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError> {
        Err(refused())
    }
    fn create_partitions(&self, _: &str, _: u32, _: bool) -> Result<TopicInfo, BrokerError> {
        Err(refused())
    }
    fn describe_topic_configs(&self, _: &str) -> Result<Vec<ConfigEntry>, BrokerError> {
        Err(refused())
    }
    fn describe_broker_configs(&self) -> Vec<ConfigEntry> {
        Vec::new()
    }
    fn alter_topic_configs(
        &self,
        _: &str,
        _: &[ConfigChange],
        _: bool,
        _: bool,
    ) -> Result<(), BrokerError> {
        Err(refused())
    }
    fn delete_records(&self, _: &str, _: u32, _: i64) -> Result<i64, BrokerError> {
        Err(refused())
    }
    fn init_producer_id(
        &self,
        _: Option<ProducerIdentity>,
    ) -> Result<ProducerIdentity, BrokerError> {
        Err(refused())
    }
}

fn no_group() -> GroupError {
    GroupError {
        code: GroupErrorCode::Storage,
        message: "test host".into(),
    }
}

impl HostQueues for NoBroker {
    fn send(
        &self,
        _: u64,
        _: &str,
        _: Option<sluice_plugin_runtime::RoutingType>,
        _: Vec<sluice_plugin_runtime::Message>,
    ) -> Result<sluice_plugin_runtime::Sent, BrokerError> {
        Err(refused())
    }
    fn open_consumer(
        &self,
        _: u64,
        _: sluice_plugin_runtime::ConsumerOptions,
    ) -> Result<sluice_plugin_runtime::Consumer, BrokerError> {
        Err(refused())
    }
    fn receive(
        &self,
        _: u64,
        _: u64,
        _: u32,
        _: u32,
        _: bool,
    ) -> Result<sluice_plugin_runtime::Received, BrokerError> {
        Err(refused())
    }
    fn settle(
        &self,
        _: u64,
        _: u64,
        _: &[u64],
        _: sluice_plugin_runtime::Outcome,
    ) -> Result<(), BrokerError> {
        Err(refused())
    }
    fn close_consumer(&self, _: u64, _: u64) {}
}

impl HostAuth for NoBroker {
    fn anonymous_allowed(&self) -> bool {
        false
    }
    fn authenticate(&self, _: &str, _: &str) -> Option<sluice_plugin_runtime::Principal> {
        None
    }
}

impl HostGroups for NoBroker {
    fn join(&self, _: JoinRequest) -> Result<JoinOutcome, GroupError> {
        Err(no_group())
    }
    fn join_poll(&self, _: &str, _: &str) -> Result<JoinOutcome, GroupError> {
        Err(no_group())
    }
    fn sync(&self, _: SyncRequest) -> Result<SyncOutcome, GroupError> {
        Err(no_group())
    }
    fn sync_poll(&self, _: &str, _: &str, _: i32) -> Result<SyncOutcome, GroupError> {
        Err(no_group())
    }
    fn heartbeat(&self, _: &str, _: MemberIdentity, _: i32) -> Result<(), GroupError> {
        Err(no_group())
    }
    fn leave(&self, _: &str, _: Vec<MemberIdentity>) -> GroupResults {
        Err(no_group())
    }
    fn list_groups(&self) -> Vec<GroupOverview> {
        Vec::new()
    }
    fn describe_group(&self, _: &str) -> Result<GroupDescription, GroupError> {
        Err(no_group())
    }
    fn delete_group(&self, _: &str) -> Result<(), GroupError> {
        Err(no_group())
    }
    fn commit_offsets(&self, _: &str, _: CommitAuthor, _: Vec<CommittedOffset>) -> GroupResults {
        Err(no_group())
    }
    fn fetch_offsets(
        &self,
        _: &str,
        _: Option<Vec<TopicPartition>>,
    ) -> Result<Vec<CommittedOffset>, GroupError> {
        Err(no_group())
    }
    fn delete_offsets(&self, _: &str, _: Vec<TopicPartition>) -> GroupResults {
        Err(no_group())
    }
}

fn load(bytes: &[u8]) -> Result<(), LoadError> {
    let runtime = Runtime::new(None).unwrap();
    block_on(runtime.load_codec("test", bytes, Arc::new(NoBroker), Limits::default())).map(|_| ())
}

#[test]
fn bytes_that_are_not_wasm_are_refused_as_invalid() {
    let err = load(b"definitely not a component").unwrap_err();
    assert!(matches!(err, LoadError::Invalid { .. }), "{err}");
}

#[test]
fn a_component_without_the_protocol_export_is_refused_naming_the_codec_world() {
    let empty = wat::parse_str("(component)").unwrap();
    let err = load(&empty).unwrap_err();
    assert!(matches!(err, LoadError::WorldMismatch { .. }), "{err}");
    assert!(
        err.to_string().contains("sluice:plugin/codec@0.5.0"),
        "{err}"
    );
}

#[test]
fn a_component_importing_what_the_host_does_not_offer_is_refused() {
    let wants_more =
        wat::parse_str(r#"(component (import "sluice:plugin/secrets@0.5.0" (instance)))"#).unwrap();
    let err = load(&wants_more).unwrap_err();
    assert!(matches!(err, LoadError::WorldMismatch { .. }), "{err}");
}

#[test]
fn a_missing_file_is_a_read_error_naming_the_path() {
    let runtime = Runtime::new(None).unwrap();
    let err = block_on(runtime.load_codec_file(
        std::path::Path::new("/nonexistent/codec.wasm"),
        Arc::new(NoBroker),
        Limits::default(),
    ))
    .err()
    .unwrap();
    assert!(err.to_string().contains("/nonexistent/codec.wasm"), "{err}");
}

#[test]
fn a_codec_counts_its_calls_bytes_memory_and_failures() {
    let runtime = Runtime::new(None).unwrap();
    let limits = Limits {
        call_deadline: Duration::from_millis(50),
        ..Limits::default()
    };
    let bytes = guest("sluice-guest-codec-loop");
    block_on(async {
        let codec = runtime
            .load_codec("codec-loop", &bytes, Arc::new(NoBroker), limits)
            .await
            .unwrap();
        let stats = codec.stats();
        assert_eq!((stats.name.as_str(), stats.calls), ("guest-codec-loop", 1));
        assert_eq!(stats.instances_started, 1);
        assert!(stats.memory_bytes > 0, "{stats:?}");

        let info = sluice_plugin_runtime::ConnectionInfo {
            id: 1,
            listener: "test".into(),
            peer: "127.0.0.1:1".into(),
            advertised_host: "localhost".into(),
            advertised_port: 9092,
            frame_bytes_max: 1 << 20,
        };
        let mut session = codec.open_session(&info).await.unwrap();
        let err = session.on_data(b"hello").await.unwrap_err();
        assert!(
            matches!(
                err,
                sluice_plugin_runtime::CallError::Failed {
                    cause: sluice_plugin_runtime::FailureCause::Deadline,
                    ..
                }
            ),
            "{err}"
        );
        let stats = codec.stats();
        assert_eq!((stats.calls, stats.bytes_in, stats.bytes_out), (3, 5, 0));
        assert_eq!((stats.deadline_misses, stats.traps), (1, 0));
        assert_eq!(
            stats.memory_bytes, 0,
            "the discarded instance's memory is released"
        );
        assert_eq!(stats.latency.count, stats.calls);
    });
}
