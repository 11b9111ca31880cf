//! The plugins the broker runs: the built-in ones embedded in the binary, those loaded from
//! files, and their hot swap.
//!
//! - `codec`: the codec each listener gives new connections ([`CodecSlot`]);
//! - `policy`: routers and filters by name ([`PolicySlot`]), held in [`Policies`], which is
//!   what the address model routes and filters with;
//! - `status`: what the admin API reports of every plugin.
mod codec;
mod control;
mod policy;
mod policy_calls;
mod status;

use std::path::PathBuf;

pub use codec::CodecSlot;
pub use control::{ControlError, PluginUsers, SwapRequest, Swapped, check_name};
pub use policy::{Kind, OnFailure, Policies, PolicyConfig, PolicyKind, PolicySlot};
pub use status::PluginStatus;

use crate::config::BUILTIN_PREFIX;

macro_rules! builtin {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".wasm")),
        )
    };
}

/// Built-in codecs, compiled to components by `build.rs` and embedded so that a lone `sluice`
/// binary works.
pub const BUILTIN_CODECS: &[(&str, &[u8])] = &[builtin!("codec-kafka"), builtin!("codec-amqp")];

/// Built-in routers, each loaded under its name without the `router-` prefix
/// (`round-robin`, ...), which address settings' `router` names.
pub const BUILTIN_ROUTERS: &[(&str, &[u8])] = &[
    builtin!("router-round-robin"),
    builtin!("router-multicast"),
    builtin!("router-balanced"),
    builtin!("router-closest"),
    builtin!("router-key-hash"),
    builtin!("router-sharded"),
];

/// Built-in filters, loaded as `selector` (consumers' selectors use it) and `match`.
pub const BUILTIN_FILTERS: &[(&str, &[u8])] =
    &[builtin!("filter-selector"), builtin!("filter-match")];

/// Where a plugin comes from.
#[derive(Clone, Debug)]
pub enum Source {
    /// Embedded in the binary.
    Builtin(&'static str, &'static [u8]),
    /// A component file, re-read on reload.
    File(PathBuf),
}

impl Source {
    /// Parses a `builtin:NAME` or a path, `NAME` among `builtins` (one kind's table).
    pub fn parse(
        setting: &str,
        builtins: &[(&'static str, &'static [u8])],
    ) -> Result<Self, String> {
        match setting.strip_prefix(BUILTIN_PREFIX) {
            Some(name) => builtins
                .iter()
                .find(|(builtin, _)| *builtin == name)
                .map(|(name, bytes)| Source::Builtin(name, bytes))
                .ok_or_else(|| {
                    let known: Vec<_> = builtins.iter().map(|(n, _)| *n).collect();
                    format!(
                        "no built-in plugin `{name}` of this kind; there are: {}",
                        known.join(", ")
                    )
                }),
            None => Ok(Source::File(PathBuf::from(setting))),
        }
    }

    /// How logs and the admin API name it: `builtin:NAME` or the path.
    pub fn label(&self) -> String {
        match self {
            Source::Builtin(name, _) => format!("{BUILTIN_PREFIX}{name}"),
            Source::File(path) => path.display().to_string(),
        }
    }

    /// The component's bytes: embedded, or read from the file now.
    pub fn bytes(
        &self,
    ) -> Result<std::borrow::Cow<'static, [u8]>, sluice_plugin_runtime::LoadError> {
        match self {
            Source::Builtin(_, bytes) => Ok(std::borrow::Cow::Borrowed(bytes)),
            Source::File(path) => {
                std::fs::read(path)
                    .map(std::borrow::Cow::Owned)
                    .map_err(|source| sluice_plugin_runtime::LoadError::Read {
                        path: path.clone(),
                        source,
                    })
            }
        }
    }
}
