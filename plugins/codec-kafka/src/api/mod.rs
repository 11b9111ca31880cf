//! One module per Kafka API: decode the request (with kafka-protocol, or by hand for the old
//! versions it no longer knows), call the broker, encode the response.
//!
//! Place in the flow: called by `dispatch` with a vetted request; returns a `Reply` for
//! `pending`. Errors about one topic or partition go into the response as Kafka error codes
//! (`errors`); only a request that cannot be understood fails the connection.

pub mod api_versions;
pub mod create_topics;
pub mod delete_topics;
pub mod fetch;
pub mod list_offsets;
pub mod metadata;
pub mod produce;
