//! Behaviour tests of `sluice-storage` through its public API, one module per area.

mod append_read;
mod interop;
mod kit;
mod props;
mod recovery;
mod topics;
