//! Named failure points: places in the write path where a test can make storage fail on
//! purpose, to prove what a real fault there would do. Compiled into every build (the end-to-end
//! tests drive the shipped binary) and per `Storage` (so parallel tests do not interfere); when
//! none is armed a check costs one relaxed atomic load.
//!
//! Points: `append` (before the log write), `roll` (before a new segment is created), `truncate`
//! (before recovery cuts a torn tail), `fsync` (before a log fsync). Actions: `error` (the
//! operation fails with an I/O error), `abort` (the process dies on the spot, like a power cut
//! for everything not yet fsynced), `sleep(ms)` (the operation stalls). `count` limits how
//! many times a point fires before disarming itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use crate::StorageError;

/// The points storage checks.
pub const FAIL_POINT_NAMES: [&str; 4] = ["append", "roll", "truncate", "fsync"];

/// What an armed point does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailAction {
    /// The operation returns an I/O error.
    Error,
    /// The process aborts at once.
    Abort,
    /// The operation sleeps this long, then proceeds.
    Sleep(Duration),
}

#[derive(Debug, Clone, Copy)]
struct Armed {
    action: FailAction,
    /// Fires this many more times; `None` for ever.
    remaining: Option<u32>,
}

/// A shared set of armed points. Cloning shares it.
#[derive(Debug, Clone, Default)]
pub struct FailPoints {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    any: AtomicBool,
    armed: Mutex<HashMap<String, Armed>>,
}

impl FailPoints {
    /// Arms `name` to do `action`, `count` times (or for ever).
    pub fn arm(&self, name: &str, action: FailAction, count: Option<u32>) {
        let mut armed = self.lock();
        armed.insert(
            name.to_owned(),
            Armed {
                action,
                remaining: count,
            },
        );
        self.inner.any.store(true, Ordering::Release);
    }

    /// Disarms `name`.
    pub fn disarm(&self, name: &str) {
        let mut armed = self.lock();
        armed.remove(name);
        self.inner.any.store(!armed.is_empty(), Ordering::Release);
    }

    /// Parses `point=action[*count]` items separated by `;`, e.g.
    /// `fsync=error*1;roll=abort;append=sleep(200)`, and arms each.
    pub fn arm_from_spec(&self, spec: &str) -> Result<(), String> {
        self.arm_from_spec_among(spec, &FAIL_POINT_NAMES)
    }

    /// [`FailPoints::arm_from_spec`] for a caller with points of its own besides storage's:
    /// the broker shares one set with storage and checks its own names with
    /// [`FailPoints::check`].
    pub fn arm_from_spec_among(&self, spec: &str, known: &[&str]) -> Result<(), String> {
        for item in spec.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let (name, rest) = item
                .split_once('=')
                .ok_or_else(|| format!("`{item}`: expected point=action"))?;
            let name = name.trim();
            if !known.contains(&name) {
                return Err(format!(
                    "unknown failure point `{name}`; known: {}",
                    known.join(", ")
                ));
            }
            let (action, count) = match rest.split_once('*') {
                Some((a, c)) => (
                    a.trim(),
                    Some(
                        c.trim()
                            .parse::<u32>()
                            .map_err(|_| format!("bad count in `{item}`"))?,
                    ),
                ),
                None => (rest.trim(), None),
            };
            let action = match action {
                "error" => FailAction::Error,
                "abort" => FailAction::Abort,
                a if a.starts_with("sleep(") && a.ends_with(')') => {
                    let ms: u64 = a["sleep(".len()..a.len() - 1]
                        .parse()
                        .map_err(|_| format!("bad sleep in `{item}`"))?;
                    FailAction::Sleep(Duration::from_millis(ms))
                }
                _ => return Err(format!("`{item}`: action is error, abort or sleep(ms)")),
            };
            self.arm(name, action, count);
        }
        Ok(())
    }

    /// Called at the point `name`: does what it is armed to do, if anything.
    pub fn check(&self, name: &str) -> Result<(), StorageError> {
        if !self.inner.any.load(Ordering::Acquire) {
            return Ok(());
        }
        let action = {
            let mut armed = self.lock();
            let Some(point) = armed.get_mut(name) else {
                return Ok(());
            };
            let action = point.action;
            if let Some(remaining) = &mut point.remaining {
                *remaining = remaining.saturating_sub(1);
                if *remaining == 0 {
                    armed.remove(name);
                    self.inner.any.store(!armed.is_empty(), Ordering::Release);
                }
            }
            action
        };
        tracing::warn!(point = name, ?action, "failure point fired");
        match action {
            FailAction::Error => Err(StorageError::Io {
                context: format!("failure point `{name}`"),
                source: std::io::Error::other("injected failure"),
            }),
            FailAction::Abort => std::process::abort(),
            FailAction::Sleep(d) => {
                std::thread::sleep(d);
                Ok(())
            }
        }
    }

    /// The map holds plain values, consistent even if a holder panicked.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Armed>> {
        self.inner
            .armed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_armed_point_fires_its_count_then_disarms() {
        let points = FailPoints::default();
        assert!(points.check("fsync").is_ok());
        points.arm_from_spec("fsync=error*2").unwrap();
        assert!(points.check("fsync").is_err());
        assert!(points.check("append").is_ok());
        assert!(points.check("fsync").is_err());
        assert!(points.check("fsync").is_ok());
        assert!(points.arm_from_spec("nowhere=error").is_err());
        assert!(points.arm_from_spec("roll=explode").is_err());
        points.arm_from_spec("roll=sleep(1)").unwrap();
        assert!(points.check("roll").is_ok());
    }
}
