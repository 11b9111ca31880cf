//! What the resources engine applies through: the broker seen as sets of named resources,
//! each of which it can list, create, alter and delete. `broker_target` is the broker's; the
//! engine's tests use an in-memory one.
//!
//! Every change takes `validate_only`: a dry run calls the same operations with it set, so a
//! diff shows what the broker would refuse. A validation checks what the resource can be
//! checked for alone: a resource created earlier in the same apply (a queue's address) may
//! not exist yet, and must not fail it.
//!
//! A target that cannot do something yet answers [`TargetError::Unsupported`]; the engine
//! reports it against every resource of that kind and applies the others. Nothing is ever
//! answered as done that was not done.
use std::collections::BTreeMap;
use std::future::Future;

use sluice_queues::AddressSettingsRule;

use super::spec::{AddressSpec, PluginKind, PluginSpec, QueueSpec};
use crate::plugins::OnFailure;

/// Why a target could not list or change something.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// This broker cannot do it yet; the message names what.
    #[error("{0}: not supported yet")]
    Unsupported(String),
    /// The broker refused; the message says why.
    #[error("{0}")]
    Refused(String),
}

/// A topic as the broker holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicState {
    /// Its name.
    pub name: String,
    /// Its partitions.
    pub partitions: u32,
    /// The settings set on the topic itself, as they were set (not the broker's defaults).
    pub configs: BTreeMap<String, String>,
}

/// A user as the broker holds it; the password only as its digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserState {
    /// The user name.
    pub name: String,
    /// SHA-256 of its password (`crate::security::password_sha256`).
    pub password_sha256: [u8; 32],
}

/// A plugin as the broker runs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginState {
    /// Its kind.
    pub kind: PluginKind,
    /// Its name (a codec's is its listener's).
    pub name: String,
    /// `builtin:NAME` or the file it was read from.
    pub source: String,
    /// SHA-256 of the component serving now.
    pub sha256: String,
    /// Routers and filters: what their messages do while it fails.
    pub on_failure: Option<OnFailure>,
    /// One of the broker's built-ins under its own name: it can be swapped, never unloaded.
    pub builtin: bool,
}

/// A broker the resources engine can apply to. Lists return every resource of the kind the
/// target can change (topics without the internal `__sluice.` ones; queues without temporary
/// ones; address settings: the rules it can change, which need not include the
/// configuration's).
pub trait ResourceTarget: Send + Sync {
    /// Every topic.
    fn topics(&self) -> Result<Vec<TopicState>, TargetError>;
    /// Creates a topic with `partitions` (`None`: the broker's default) and settings.
    fn create_topic(
        &self,
        name: &str,
        partitions: Option<u32>,
        configs: &[(String, String)],
        validate_only: bool,
    ) -> Result<(), TargetError>;
    /// Raises a topic's partitions to `count`.
    fn add_partitions(
        &self,
        name: &str,
        count: u32,
        validate_only: bool,
    ) -> Result<(), TargetError>;
    /// Sets the settings `set` on a topic and returns those in `reset` to the default, all at
    /// once or none.
    fn alter_topic_configs(
        &self,
        name: &str,
        set: &[(String, String)],
        reset: &[String],
        validate_only: bool,
    ) -> Result<(), TargetError>;
    /// Deletes a topic and its data.
    fn delete_topic(&self, name: &str, validate_only: bool) -> Result<(), TargetError>;

    /// Every address with its routing types, sorted.
    fn addresses(&self) -> Result<Vec<AddressSpec>, TargetError>;
    /// Creates an address.
    fn create_address(&self, address: &AddressSpec, validate_only: bool)
    -> Result<(), TargetError>;
    /// Gives an address exactly these routing types.
    fn alter_address(&self, address: &AddressSpec, validate_only: bool) -> Result<(), TargetError>;
    /// Deletes an address; refused while it has queues.
    fn delete_address(&self, name: &str, validate_only: bool) -> Result<(), TargetError>;

    /// Every queue that is not temporary, with `address` filled in.
    fn queues(&self) -> Result<Vec<QueueSpec>, TargetError>;
    /// Creates a queue on its address.
    fn create_queue(&self, queue: &QueueSpec, validate_only: bool) -> Result<(), TargetError>;
    /// Changes a queue's attributes (not its routing type nor durability, which the engine
    /// never asks to change).
    fn alter_queue(&self, queue: &QueueSpec, validate_only: bool) -> Result<(), TargetError>;
    /// Deletes the queue `name` of `address`, and its messages.
    fn delete_queue(
        &self,
        address: &str,
        name: &str,
        validate_only: bool,
    ) -> Result<(), TargetError>;

    /// Every address settings rule the target can change, by pattern.
    fn address_settings(&self) -> Result<Vec<AddressSettingsRule>, TargetError>;
    /// Adds the rule for its pattern, or replaces the one there.
    fn set_address_settings(
        &self,
        rule: &AddressSettingsRule,
        validate_only: bool,
    ) -> Result<(), TargetError>;
    /// Removes the rule for `pattern`.
    fn delete_address_settings(
        &self,
        pattern: &str,
        validate_only: bool,
    ) -> Result<(), TargetError>;

    /// Every user who may log in with a password.
    fn users(&self) -> Result<Vec<UserState>, TargetError>;
    /// Adds a user, or changes its password.
    fn set_user(&self, name: &str, password: &str, validate_only: bool) -> Result<(), TargetError>;
    /// Removes a user; connections it opened stay open.
    fn delete_user(&self, name: &str, validate_only: bool) -> Result<(), TargetError>;

    /// Every plugin: routers, filters and listeners' codecs.
    fn plugins(&self) -> Result<Vec<PluginState>, TargetError>;
    /// SHA-256 of the component at `source` now (read again from a file), to tell a rebuilt
    /// file from the version serving.
    fn source_sha256(&self, kind: PluginKind, source: &str) -> Result<String, TargetError>;
    /// Loads a plugin (a codec on a new listener).
    fn load_plugin(
        &self,
        plugin: &PluginSpec,
        validate_only: bool,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;
    /// Swaps the component serving a plugin for the one at `source`, keeping its settings.
    fn swap_plugin(
        &self,
        kind: PluginKind,
        name: &str,
        source: &str,
        validate_only: bool,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;
    /// Loads a router or filter again with new settings (`on-failure`, limits) and puts it in
    /// place of the one serving under its name.
    fn replace_plugin(
        &self,
        plugin: &PluginSpec,
        validate_only: bool,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;
    /// Unloads a plugin (a codec's listener stops). A file that replaced a built-in gives the
    /// name back to the built-in.
    fn unload_plugin(
        &self,
        kind: PluginKind,
        name: &str,
        validate_only: bool,
    ) -> impl Future<Output = Result<(), TargetError>> + Send;
}
