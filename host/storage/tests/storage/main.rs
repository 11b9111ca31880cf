//! Behaviour tests of `sluice-storage` through its public API, one module per area.

mod append_read;
mod compaction;
mod cursor;
mod delete_records;
mod durability;
mod interop;
mod kit;
mod producers;
mod props;
mod recovery;
mod segments;
mod topics;
