//! What the admin API reports of a plugin: where it came from, what it says it is, whether it
//! is healthy, and the host's figures for it (calls, messages, latency, failures, memory, and
//! since when this version has served).
use serde::Serialize;
use sluice_plugin_runtime::StatsSnapshot;

use super::OnFailure;

/// One loaded plugin, as `GET /api/plugins` lists it.
#[derive(Clone, Debug, Serialize)]
pub struct PluginStatus {
    /// `codec`, `router` or `filter`.
    pub kind: &'static str,
    /// The name configuration uses: a listener's for a codec, the plugin's for the others.
    pub name: String,
    /// `builtin:NAME` or the file it was read from.
    pub source: String,
    /// Codecs: the address their listener is bound to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The name the plugin reports.
    pub plugin: String,
    /// The version the plugin reports.
    pub version: String,
    /// The component's SHA-256.
    pub sha256: String,
    /// Serving (not backing off after a failure).
    pub healthy: bool,
    /// Routers and filters: what their messages do while they fail.
    pub on_failure: Option<OnFailure>,
    /// The host's figures.
    pub stats: StatsSnapshot,
}
