//! The policies the address model asks of plugins: a router places each message of a send, a
//! filter keeps, drops or rewrites messages (on publish, on delivery, or as a consumer's
//! selector). The broker implements [`Policies`] over Wasm plugins (`wit/router.wit`,
//! `wit/filter.wit`); this crate only calls it, so it never names a plugin runtime.
//!
//! A policy call is made with at most one queue locked and never with the catalog locked for
//! writing; it may take up to its plugin's call deadline.

use serde::{Deserialize, Serialize};

use crate::message::Message;

/// The built-in filter plugin that evaluates selectors (JMS / Artemis syntax).
pub const SELECTOR_PLUGIN: &str = "selector";
/// The router of an address whose settings name none.
pub const DEFAULT_ROUTER: &str = "round-robin";

/// A filter as attached: the plugin, by name, and its configuration (its own syntax: a
/// selector's text for `selector`). In TOML either a table `{ plugin = "match", config =
/// "..." }` or a plain string, which is a selector.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "FilterSetting")]
pub struct FilterRef {
    /// The filter plugin's name.
    pub plugin: String,
    /// What the plugin is configured with.
    pub config: String,
}

impl FilterRef {
    /// A selector, evaluated by [`SELECTOR_PLUGIN`].
    pub fn selector(text: &str) -> FilterRef {
        FilterRef {
            plugin: SELECTOR_PLUGIN.to_owned(),
            config: text.to_owned(),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum FilterSetting {
    Selector(String),
    #[serde(rename_all = "kebab-case")]
    Plugin {
        plugin: String,
        #[serde(default)]
        config: String,
    },
}

impl From<FilterSetting> for FilterRef {
    fn from(setting: FilterSetting) -> FilterRef {
        match setting {
            FilterSetting::Selector(text) => FilterRef::selector(&text),
            FilterSetting::Plugin { plugin, config } => FilterRef { plugin, config },
        }
    }
}

/// A consumer of a queue as a router sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerView {
    /// The consumer's id.
    pub id: u64,
    /// Deliveries it holds unsettled.
    pub unsettled: u32,
    /// Connected to this broker (always, until brokers cluster).
    pub local: bool,
}

/// An anycast queue a send may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueView {
    /// Its name.
    pub name: String,
    /// Messages in it, delivering ones included.
    pub messages: u64,
    /// Its consumers, oldest first.
    pub consumers: Vec<ConsumerView>,
}

/// The address as far as one send may reach it (see `wit/router.wit`'s `address-view`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressView {
    /// The address.
    pub name: String,
    /// Partitions of its log this send may append to; 0: not the log.
    pub partitions: u32,
    /// Anycast queues this send may reach.
    pub queues: Vec<QueueView>,
    /// Messages routed on the address before this batch, since the broker started.
    pub sequence: u64,
    /// The address settings' `router-config`.
    pub config: String,
}

/// An anycast queue one message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueTarget {
    /// Index into [`AddressView::queues`].
    pub queue: u32,
    /// Only this consumer may take it, while it is open.
    pub consumer: Option<u64>,
}

/// Where one message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The log partition, if any.
    pub partition: Option<u32>,
    /// The anycast queues, each getting a copy.
    pub queues: Vec<QueueTarget>,
}

/// What becomes of one message under a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// As it is.
    Keep,
    /// Not stored (publish), taken off the queue (delivery), not for this consumer (selector).
    Drop,
    /// Replaced with this message.
    Rewrite(Message),
}

/// Why a policy gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// The plugin is restarting after a failure and its failure policy holds messages:
    /// nothing may be done with them until it is healthy.
    #[error("{0}")]
    Unavailable(String),
    /// The plugin is restarting and its failure policy passes messages through: route them
    /// the host's default way (round robin), or keep them all.
    #[error("bypassed: the plugin is restarting and its failure policy is `pass`")]
    Bypass,
    /// No such plugin, or a configuration it refuses; the text says which and why.
    #[error("{0}")]
    Invalid(String),
}

/// The plugins the address model routes and filters with. `Send + Sync`: called from every
/// connection's thread at once.
pub trait Policies: Send + Sync + std::fmt::Debug {
    /// Places a send's messages on `address` with the router plugin named `router`: one
    /// placement per message, checked by the caller against the view.
    fn route(
        &self,
        router: &str,
        address: &AddressView,
        messages: &[&Message],
    ) -> Result<Vec<Placement>, PolicyError>;

    /// Checks a filter's configuration before it is attached.
    fn check_filter(&self, filter: &FilterRef) -> Result<(), PolicyError>;

    /// Judges messages under `filter`: one verdict per message, checked by the caller.
    fn filter(&self, filter: &FilterRef, messages: &[Message])
    -> Result<Vec<Verdict>, PolicyError>;
}

/// The policies of a model opened without plugins (tests, tools): routing is always the
/// host's default and filters are refused as unknown.
#[derive(Debug, Default)]
pub struct NoPlugins;

impl Policies for NoPlugins {
    fn route(
        &self,
        _router: &str,
        _address: &AddressView,
        _messages: &[&Message],
    ) -> Result<Vec<Placement>, PolicyError> {
        Err(PolicyError::Bypass)
    }

    fn check_filter(&self, filter: &FilterRef) -> Result<(), PolicyError> {
        Err(PolicyError::Invalid(format!(
            "no filter plugin `{}` is loaded",
            filter.plugin
        )))
    }

    fn filter(
        &self,
        filter: &FilterRef,
        _messages: &[Message],
    ) -> Result<Vec<Verdict>, PolicyError> {
        self.check_filter(filter).map(|()| Vec::new())
    }
}
