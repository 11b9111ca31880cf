//! One module per Kafka API: decode the request (with kafka-protocol, or by hand for the old
//! versions it no longer knows), call the broker, encode the response.
//!
//! Place in the flow: called by `dispatch` with a vetted request; returns a `Reply` for
//! `pending`. Errors about one topic or partition go into the response as Kafka error codes
//! (`errors`); only a request that cannot be understood fails the connection.

pub mod api_versions;
pub mod create_topics;
pub mod delete_groups;
pub mod delete_topics;
pub mod describe_groups;
pub mod fetch;
pub mod find_coordinator;
pub mod group_wait;
pub mod heartbeat;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod list_offsets;
pub mod metadata;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod produce;
pub mod sync_group;
// Admin and idempotent-producer APIs.
pub mod alter_configs;
pub mod config_alter;
pub mod config_resource;
pub mod create_partitions;
pub mod delete_records;
pub mod describe_cluster;
pub mod describe_configs;
pub mod incremental_alter_configs;
pub mod init_producer_id;
pub mod offset_for_leader_epoch;
pub mod record_errors;
