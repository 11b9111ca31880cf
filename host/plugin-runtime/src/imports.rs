//! The imports every kind of plugin is offered, whatever its world: `log` (to the broker's log,
//! tagged with the plugin's name, within a budget of lines) and `clock` (the host's wall clock,
//! since a plugin's own WASI clocks are frozen). Each store's state forwards to these.
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::bindings::LogLevel;

/// Log lines one instance may write per second; the rest are dropped (and counted in the next
/// line that gets through), so a chatty plugin cannot drown the broker's log.
const LOG_LINES_PER_SECOND_MAX: u32 = 100;

/// Longer log lines are cut: a plugin must not be able to flood the log with one call.
const LOG_LINE_BYTES_MAX: usize = 4096;

/// One instance's `log` import: where its lines go and how many it may still write.
pub(crate) struct PluginLog {
    plugin_name: Arc<str>,
    budget: LogBudget,
}

impl PluginLog {
    pub(crate) fn new(plugin_name: Arc<str>) -> Self {
        PluginLog {
            plugin_name,
            budget: LogBudget::new(),
        }
    }

    /// `log.log`: writes the line to the broker's log, cut and rate-limited.
    pub(crate) fn write(&mut self, level: LogLevel, mut message: String) {
        if !self.budget.take() {
            return;
        }
        if message.len() > LOG_LINE_BYTES_MAX {
            let mut cut = LOG_LINE_BYTES_MAX;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
        }
        let plugin = &*self.plugin_name;
        match level {
            LogLevel::Trace => tracing::trace!(target: "sluice::plugin", plugin, "{message}"),
            LogLevel::Debug => tracing::debug!(target: "sluice::plugin", plugin, "{message}"),
            LogLevel::Info => tracing::info!(target: "sluice::plugin", plugin, "{message}"),
            LogLevel::Warn => tracing::warn!(target: "sluice::plugin", plugin, "{message}"),
            LogLevel::Error => tracing::error!(target: "sluice::plugin", plugin, "{message}"),
        }
    }
}

/// `clock.now-ms`: milliseconds since the Unix epoch, from the host's wall clock.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A per-second budget of log lines.
struct LogBudget {
    window_start: Instant,
    used: u32,
}

impl LogBudget {
    fn new() -> Self {
        LogBudget {
            window_start: Instant::now(),
            used: 0,
        }
    }

    /// True when one more line may be written now.
    fn take(&mut self) -> bool {
        let now = Instant::now();
        if now.duration_since(self.window_start) >= Duration::from_secs(1) {
            if self.used > LOG_LINES_PER_SECOND_MAX {
                tracing::warn!(
                    dropped = self.used - LOG_LINES_PER_SECOND_MAX,
                    "plugin log lines dropped (rate limit)"
                );
            }
            self.window_start = now;
            self.used = 0;
        }
        self.used = self.used.saturating_add(1);
        self.used <= LOG_LINES_PER_SECOND_MAX
    }
}
