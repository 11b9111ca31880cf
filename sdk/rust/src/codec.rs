//! The `codec` world as Rust traits: a [`Codec`] names its per-connection state, a
//! [`Connection`] turns bytes from the peer into bytes for the peer, and a [`Broker`] is the
//! host it calls for topics, appends and reads.
//!
//! The contracts (who calls what, how often, every error) are documented in `wit/codec.wit` and
//! `wit/broker.wit`; this module only adapts them to Rust.

pub use crate::bindings::exports::sluice::plugin::protocol::{
    CodecError, ConnectionInfo, LogPosition, Output, Wait, WakeOn,
};
pub use crate::bindings::sluice::plugin::broker::{
    AppendResult, ClusterInfo, PartitionOffsets, ReadResult, TimestampOffset, TopicInfo,
};
pub use crate::bindings::sluice::plugin::log::Level;
pub use crate::bindings::sluice::plugin::types::{BrokerError, ErrorCode, PluginInfo};

/// The broker operations a codec may call (the `broker` and `log` imports).
///
/// Inside a Wasm component this is [`WasmBroker`], which calls the host's imports; a host that
/// compiles a codec natively provides its own implementation.
pub trait Broker {
    /// See `broker.cluster`.
    fn cluster(&self) -> ClusterInfo;
    /// See `broker.list-topics`.
    fn list_topics(&self) -> Vec<TopicInfo>;
    /// See `broker.describe-topic`.
    fn describe_topic(&self, name: &str, auto_create: bool) -> Result<TopicInfo, BrokerError>;
    /// See `broker.create-topic`: `configs` are (setting, value) pairs, Kafka's names.
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        configs: &[(String, String)],
    ) -> Result<TopicInfo, BrokerError>;
    /// See `broker.delete-topic`.
    fn delete_topic(&self, name: &str) -> Result<(), BrokerError>;
    /// See `broker.append`.
    fn append(
        &self,
        topic: &str,
        partition: u32,
        batches: &[u8],
    ) -> Result<AppendResult, BrokerError>;
    /// See `broker.read`.
    fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_bytes: u32,
    ) -> Result<ReadResult, BrokerError>;
    /// See `broker.offsets`.
    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets, BrokerError>;
    /// See `broker.offset-for-timestamp`.
    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError>;
    /// See `log.log`.
    fn log(&self, level: Level, message: &str);
}

/// A protocol codec: one value per plugin, naming the per-connection state type.
pub trait Codec: 'static {
    /// The state of one connection.
    type Connection: Connection;
    /// Name and version, reported by the host with the plugin's content hash.
    fn info() -> PluginInfo;
}

/// One connection's protocol state. Calls on it never overlap.
pub trait Connection: Sized + 'static {
    /// A socket was accepted. No broker calls are allowed here.
    fn new(info: ConnectionInfo) -> Self;
    /// The peer sent `data` (a chunk cut anywhere). See `protocol.connection.on-data`.
    fn on_data<B: Broker>(&mut self, broker: &B, data: Vec<u8>) -> Result<Output, CodecError>;
    /// A wait armed earlier fired; `timed_out` when its timeout did. See
    /// `protocol.connection.on-wake`.
    fn on_wake<B: Broker>(
        &mut self,
        broker: &B,
        token: u64,
        timed_out: bool,
    ) -> Result<Output, CodecError>;
}

/// The [`Broker`] of a plugin running as a Wasm component: every call is a host import.
pub struct WasmBroker;

#[cfg(target_arch = "wasm32")]
impl Broker for WasmBroker {
    fn cluster(&self) -> ClusterInfo {
        crate::bindings::sluice::plugin::broker::cluster()
    }
    fn list_topics(&self) -> Vec<TopicInfo> {
        crate::bindings::sluice::plugin::broker::list_topics()
    }
    fn describe_topic(&self, name: &str, auto_create: bool) -> Result<TopicInfo, BrokerError> {
        crate::bindings::sluice::plugin::broker::describe_topic(name, auto_create)
    }
    fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        configs: &[(String, String)],
    ) -> Result<TopicInfo, BrokerError> {
        crate::bindings::sluice::plugin::broker::create_topic(name, partitions, configs)
    }
    fn delete_topic(&self, name: &str) -> Result<(), BrokerError> {
        crate::bindings::sluice::plugin::broker::delete_topic(name)
    }
    fn append(
        &self,
        topic: &str,
        partition: u32,
        batches: &[u8],
    ) -> Result<AppendResult, BrokerError> {
        crate::bindings::sluice::plugin::broker::append(topic, partition, batches)
    }
    fn read(
        &self,
        topic: &str,
        partition: u32,
        offset: i64,
        max_bytes: u32,
    ) -> Result<ReadResult, BrokerError> {
        crate::bindings::sluice::plugin::broker::read(topic, partition, offset, max_bytes)
    }
    fn offsets(&self, topic: &str, partition: u32) -> Result<PartitionOffsets, BrokerError> {
        crate::bindings::sluice::plugin::broker::offsets(topic, partition)
    }
    fn offset_for_timestamp(
        &self,
        topic: &str,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<TimestampOffset>, BrokerError> {
        crate::bindings::sluice::plugin::broker::offset_for_timestamp(topic, partition, timestamp)
    }
    fn log(&self, level: Level, message: &str) {
        crate::bindings::sluice::plugin::log::log(level, message)
    }
}

/// Exports a [`Codec`] as the component's `protocol` interface.
///
/// Use it once per plugin crate, guarded by `#[cfg(target_arch = "wasm32")]` so the same crate
/// still builds natively.
#[macro_export]
macro_rules! export_codec {
    ($codec:ty) => {
        #[doc(hidden)]
        pub struct __SluiceCodecExport;
        #[doc(hidden)]
        pub struct __SluiceConnectionExport(
            ::core::cell::RefCell<<$codec as $crate::codec::Codec>::Connection>,
        );

        impl $crate::bindings::exports::sluice::plugin::protocol::Guest for __SluiceCodecExport {
            type Connection = __SluiceConnectionExport;
            fn info() -> $crate::codec::PluginInfo {
                <$codec as $crate::codec::Codec>::info()
            }
        }

        impl $crate::bindings::exports::sluice::plugin::protocol::GuestConnection
            for __SluiceConnectionExport
        {
            fn new(info: $crate::codec::ConnectionInfo) -> Self {
                Self(::core::cell::RefCell::new(
                    <<$codec as $crate::codec::Codec>::Connection as $crate::codec::Connection>::new(info),
                ))
            }
            fn on_data(
                &self,
                data: ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<$crate::codec::Output, $crate::codec::CodecError> {
                $crate::codec::Connection::on_data(
                    &mut *self.0.borrow_mut(),
                    &$crate::codec::WasmBroker,
                    data,
                )
            }
            fn on_wake(
                &self,
                token: u64,
                timed_out: bool,
            ) -> ::core::result::Result<$crate::codec::Output, $crate::codec::CodecError> {
                $crate::codec::Connection::on_wake(
                    &mut *self.0.borrow_mut(),
                    &$crate::codec::WasmBroker,
                    token,
                    timed_out,
                )
            }
        }

        $crate::bindings::__export_codec_world!(__SluiceCodecExport with_types_in $crate::bindings);
    };
}
