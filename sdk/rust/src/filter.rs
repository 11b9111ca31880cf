//! The `filter` world as a Rust trait: a [`Filter`] checks a configuration once and then judges
//! batches of messages under it. The contract is in `wit/filter.wit`.
//!
//! ```ignore
//! struct DropEmpty;
//! impl sluice_sdk::filter::Filter for DropEmpty {
//!     fn info() -> PluginInfo { /* ... */ }
//!     fn check(_config: &str) -> Result<(), String> { Ok(()) }
//!     fn apply(_config: &str, messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
//!         Ok(messages.iter().map(|m| if m.value.as_deref().unwrap_or_default().is_empty() {
//!             Verdict::Drop } else { Verdict::Keep }).collect())
//!     }
//! }
//! sluice_sdk::export_filter!(DropEmpty);
//! ```

pub use crate::bindings::sluice::plugin::types::{Header, Message, PluginInfo};
pub use crate::filter_bindings::exports::sluice::plugin::filtering::Verdict;

/// A message filter. The host may run several instances and swap them; a filter that compiles
/// its configuration may cache the result per instance, keyed by the configuration's text.
pub trait Filter {
    /// The plugin's name and version.
    fn info() -> PluginInfo;
    /// Whether `config` is valid; `Err` says what is wrong.
    fn check(config: &str) -> Result<(), String>;
    /// One verdict per message, in order; `Err` holds the batch (see `wit/filter.wit`).
    fn apply(config: &str, messages: Vec<Message>) -> Result<Vec<Verdict>, String>;
}

/// Exports `$filter` (a type implementing [`Filter`]) as the component's `filter` interface.
#[macro_export]
macro_rules! export_filter {
    ($filter:ty) => {
        #[doc(hidden)]
        pub struct __SluiceFilterExport;

        impl $crate::filter_bindings::exports::sluice::plugin::filtering::Guest for __SluiceFilterExport {
            fn info() -> $crate::filter::PluginInfo {
                <$filter as $crate::filter::Filter>::info()
            }
            fn check(config: ::std::string::String) -> ::core::result::Result<(), ::std::string::String> {
                <$filter as $crate::filter::Filter>::check(&config)
            }
            fn apply(
                config: ::std::string::String,
                messages: ::std::vec::Vec<$crate::filter::Message>,
            ) -> ::core::result::Result<::std::vec::Vec<$crate::filter::Verdict>, ::std::string::String>
            {
                <$filter as $crate::filter::Filter>::apply(&config, messages)
            }
        }

        $crate::filter_bindings::__export_filter_world!(__SluiceFilterExport with_types_in $crate::filter_bindings);
    };
}
