//! The failure policy of a router or filter: restart with backoff.
//!
//! A call that fails (trap, memory, deadline) makes the plugin unhealthy: until its backoff has
//! passed every call is answered `Unavailable` without running, so a plugin that fails on every
//! batch costs the broker one failed call per backoff rather than one per batch. Then calls run
//! again (the first on a fresh instance); a failure doubles the backoff, a successful call makes
//! the plugin healthy and resets it. A call the plugin answered with an error changes nothing:
//! the plugin is working, it just refused that batch.
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The backoff after a first failure: long enough that a plugin failing on every batch is not
/// restarted in a tight loop, short enough that a one-off failure costs a blip.
pub const RESTART_BACKOFF_FIRST: Duration = Duration::from_millis(100);
/// The backoff doubles per consecutive failure up to this: a plugin that keeps failing is still
/// tried twice a minute, so it recovers by itself once what made it fail goes away.
pub const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Health {
    /// Whether the last call that ran succeeded (or none failed yet): the common case, read
    /// without the lock.
    healthy: AtomicBool,
    state: Mutex<Backoff>,
}

#[derive(Debug, Default)]
struct Backoff {
    consecutive_failures: u32,
    retry_at: Option<Instant>,
}

impl Health {
    pub(crate) fn new() -> Self {
        Health {
            healthy: AtomicBool::new(true),
            state: Mutex::new(Backoff::default()),
        }
    }

    pub(crate) fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Acquire)
    }

    /// Whether a call may run at `now`; if not, how long until one may.
    pub(crate) fn admit(&self, now: Instant) -> Result<(), Duration> {
        if self.healthy() {
            return Ok(());
        }
        match self.lock().retry_at {
            Some(at) if now < at => Err(at - now),
            _ => Ok(()),
        }
    }

    /// A call failed at `now`: returns the backoff that starts.
    pub(crate) fn failed(&self, now: Instant) -> Duration {
        let mut state = self.lock();
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        let backoff = backoff(state.consecutive_failures);
        state.retry_at = Some(now + backoff);
        self.healthy.store(false, Ordering::Release);
        backoff
    }

    /// A call succeeded.
    pub(crate) fn succeeded(&self) {
        if self.healthy() {
            return;
        }
        *self.lock() = Backoff::default();
        self.healthy.store(true, Ordering::Release);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Backoff> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The backoff after `failures` consecutive failures (at least 1).
fn backoff(failures: u32) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    RESTART_BACKOFF_FIRST
        .saturating_mul(1 << doublings)
        .min(RESTART_BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_first_up_to_the_max() {
        assert_eq!(backoff(1), RESTART_BACKOFF_FIRST);
        assert_eq!(backoff(2), RESTART_BACKOFF_FIRST * 2);
        assert_eq!(backoff(3), RESTART_BACKOFF_FIRST * 4);
        assert_eq!(backoff(9), RESTART_BACKOFF_FIRST * 256);
        assert_eq!(backoff(10), RESTART_BACKOFF_MAX);
        assert_eq!(backoff(u32::MAX), RESTART_BACKOFF_MAX);
    }

    #[test]
    fn a_failure_refuses_calls_until_its_backoff_passes_and_a_success_resets_it() {
        let health = Health::new();
        let t0 = Instant::now();
        assert!(health.admit(t0).is_ok());
        assert_eq!(health.failed(t0), RESTART_BACKOFF_FIRST);
        assert!(!health.healthy());
        assert_eq!(health.admit(t0), Err(RESTART_BACKOFF_FIRST));
        let later = t0 + RESTART_BACKOFF_FIRST;
        assert!(health.admit(later).is_ok());
        assert_eq!(health.failed(later), RESTART_BACKOFF_FIRST * 2);
        assert!(health.admit(later + RESTART_BACKOFF_FIRST).is_err());
        health.succeeded();
        assert!(health.healthy());
        assert_eq!(health.failed(later), RESTART_BACKOFF_FIRST);
    }
}
