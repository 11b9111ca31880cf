//! Process metrics, read at scrape time from `/proc/self` (Linux only; elsewhere the families
//! are written empty). The same figures as the `process_*` metrics of Prometheus's client
//! libraries, under the broker's prefix; and the broker's version.
use std::fmt;
use std::fs;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;

use super::family::{self, BYTES, SECONDS, gauge_value};

/// `sluice_process_*`.
#[derive(Debug, Default)]
pub struct ProcessCollector;

/// What `/proc/self` says of the process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessSample {
    /// User and system CPU time, in seconds.
    pub cpu_seconds: f64,
    /// Resident set size, in bytes.
    pub resident_bytes: u64,
    /// Virtual memory size, in bytes.
    pub virtual_bytes: u64,
    /// Threads.
    pub threads: u64,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: f64,
}

/// Fields of `/proc/self/stat` counted from the one after the command's closing parenthesis
/// (the command may hold spaces): `state` is 0, so field N of proc(5) is N - 3.
const STAT_UTIME: usize = 11;
const STAT_STIME: usize = 12;
const STAT_THREADS: usize = 17;
const STAT_STARTTIME: usize = 19;
const STAT_VSIZE: usize = 20;
const STAT_RSS: usize = 21;

/// Reads `/proc/self/stat` and the boot time; `None` off Linux or if the files say nothing
/// readable.
pub fn sample() -> Option<ProcessSample> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let boot_time = fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| boot_time_seconds(&s));
    parse_stat(&stat, ticks_per_second()?, page_bytes()?, boot_time)
}

/// `stat`'s figures in base units, given the clock tick rate, the page size and the boot time
/// (without which the start time reads 0).
pub fn parse_stat(
    stat: &str,
    ticks_per_second: u64,
    page_bytes: u64,
    boot_time_seconds: Option<u64>,
) -> Option<ProcessSample> {
    let (_, after) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    let ticks = ticks_per_second as f64;
    let start_ticks = field(STAT_STARTTIME)?;
    Some(ProcessSample {
        cpu_seconds: (field(STAT_UTIME)? + field(STAT_STIME)?) as f64 / ticks,
        resident_bytes: field(STAT_RSS)?.saturating_mul(page_bytes),
        virtual_bytes: field(STAT_VSIZE)?,
        threads: field(STAT_THREADS)?,
        start_time_seconds: boot_time_seconds
            .map_or(0.0, |boot| boot as f64 + start_ticks as f64 / ticks),
    })
}

/// The `btime` line of `/proc/stat`: when the machine booted, in seconds since the epoch.
pub fn boot_time_seconds(proc_stat: &str) -> Option<u64> {
    proc_stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|t| t.trim().parse().ok())
}

fn ticks_per_second() -> Option<u64> {
    // SAFETY: sysconf only reads a system constant.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).ok().filter(|&t| t > 0)
}

fn page_bytes() -> Option<u64> {
    // SAFETY: sysconf only reads a system constant.
    let bytes = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(bytes).ok().filter(|&b| b > 0)
}

/// Descriptors open now (each connection and each open segment file is one).
fn open_fds() -> Option<u64> {
    let entries = fs::read_dir("/proc/self/fd").ok()?;
    Some(entries.count() as u64)
}

/// The soft limit on open descriptors (`raise_open_files` lifts it to the hard limit).
fn max_fds() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    ok.then_some(limit.rlim_cur)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let e = &mut encoder;
        {
            let mut build = family::describe(
                e,
                "sluice_build_info",
                "The broker's version, as a label (value always 1).",
                None,
                MetricType::Gauge,
            )?;
            family::gauge(&mut build, &[("version", env!("CARGO_PKG_VERSION"))], 1i64)?;
        }
        let process = sample();
        {
            let mut cpu = family::describe(
                e,
                "sluice_process_cpu",
                "User and system CPU time the broker used.",
                Some(&SECONDS),
                MetricType::Counter,
            )?;
            if let Some(p) = process {
                cpu.encode_counter::<NoLabelSet, f64, f64>(&p.cpu_seconds, None)?;
            }
        }
        let gauges: [(&'static str, &'static str, bool, Option<u64>); 5] = [
            (
                "sluice_process_resident_memory",
                "Resident memory.",
                true,
                process.map(|p| p.resident_bytes),
            ),
            (
                "sluice_process_virtual_memory",
                "Virtual memory.",
                true,
                process.map(|p| p.virtual_bytes),
            ),
            (
                "sluice_process_threads",
                "Threads.",
                false,
                process.map(|p| p.threads),
            ),
            (
                "sluice_process_open_fds",
                "Open file descriptors.",
                false,
                open_fds(),
            ),
            (
                "sluice_process_max_fds",
                "The limit on open file descriptors.",
                false,
                max_fds(),
            ),
        ];
        for (name, help, bytes, value) in gauges {
            let unit = bytes.then_some(&BYTES);
            let mut family = family::describe(e, name, help, unit, MetricType::Gauge)?;
            if let Some(value) = value {
                family.encode_gauge(&gauge_value(value))?;
            }
        }
        let mut start = family::describe(
            e,
            "sluice_process_start_time",
            "When the broker's process started, in seconds since the Unix epoch.",
            Some(&SECONDS),
            MetricType::Gauge,
        )?;
        if let Some(p) = process {
            start.encode_gauge(&p.start_time_seconds)?;
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A real line from proc(5)'s layout, with a command holding a space and a parenthesis.
    const STAT: &str = "4242 (sluice (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 \
        250 50 0 0 20 0 7 0 12000 104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn stat_fields_become_base_units() {
        let p = parse_stat(STAT, 100, 4096, Some(1_700_000_000)).unwrap();
        assert_eq!(p.cpu_seconds, 3.0, "(250 + 50) ticks at 100 per second");
        assert_eq!(p.threads, 7);
        assert_eq!(p.virtual_bytes, 104_857_600);
        assert_eq!(p.resident_bytes, 2560 * 4096);
        assert_eq!(p.start_time_seconds, 1_700_000_120.0, "boot + 12000 ticks");
    }

    #[test]
    fn boot_time_is_read_from_the_btime_line() {
        assert_eq!(
            boot_time_seconds("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000)
        );
        assert_eq!(boot_time_seconds("cpu 1\n"), None);
    }

    #[test]
    fn this_process_can_be_sampled() {
        let p = sample().unwrap();
        assert!(p.resident_bytes > 0 && p.threads >= 1 && p.start_time_seconds > 0.0);
        assert!(open_fds().unwrap() >= 3);
    }
}
