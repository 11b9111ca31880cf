//! Behaviour tests of `sluice-storage` through its public API, one module per area.

mod append_read;
mod cursor;
mod durability;
mod interop;
mod kit;
mod props;
mod recovery;
mod segments;
mod topics;
