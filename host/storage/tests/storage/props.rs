//! Random sequences of appends, reads, segment rolls, restarts and crash truncations against a
//! simple model of the logs.

use proptest::prelude::*;
use sluice_storage::{Storage, StorageConfig, StorageError};

use crate::kit::{self, stored};

const PARTITIONS: u32 = 2;
/// Small enough that reads often hit the cap, so the "at least one batch" rule is exercised.
const READ_BYTES_MAX: u32 = 600;
/// The smallest segment storage accepts: with ~300-byte batches a segment rolls every dozen
/// batches, so sequences cross several segments.
const SEGMENT_BYTES: usize = 4096;

#[derive(Debug, Clone)]
enum Op {
    /// Batches with these record counts, as one append; `corrupt` flips a byte in the last.
    Append {
        partition: u32,
        records: Vec<usize>,
        corrupt: bool,
    },
    /// `offset_seed` is reduced modulo log end + 2, so the end and one past it are covered.
    Read {
        partition: u32,
        offset_seed: u64,
        max_bytes: u32,
    },
    Reopen,
    /// A crash that tore the active segment of `partition`: its file is cut at
    /// `cut_seed % (its length + 1)` bytes, then storage is opened again.
    Crash {
        partition: u32,
        cut_seed: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..PARTITIONS, prop::collection::vec(1usize..6, 1..4), prop::bool::weighted(0.15))
            .prop_map(|(partition, records, corrupt)| Op::Append { partition, records, corrupt }),
        4 => (0..PARTITIONS, any::<u64>(), 0u32..1000)
            .prop_map(|(partition, offset_seed, max_bytes)| Op::Read { partition, offset_seed, max_bytes }),
        1 => Just(Op::Reopen),
        1 => (0..PARTITIONS, any::<u64>())
            .prop_map(|(partition, cut_seed)| Op::Crash { partition, cut_seed }),
    ]
}

/// What one partition should hold: stored batches with their base offsets and the base offset
/// of the segment each landed in.
#[derive(Default)]
struct ModelLog {
    batches: Vec<(i64, Vec<u8>, i64)>,
    log_end: i64,
    /// Base offset and bytes of the active segment.
    active: (i64, usize),
}

impl ModelLog {
    /// Storage's roll rule: a non-empty segment rolls before an append that would overflow it.
    fn append(&mut self, batches: Vec<Vec<u8>>) {
        let bytes: usize = batches.iter().map(Vec::len).sum();
        if self.active.1 > 0 && self.active.1 + bytes > SEGMENT_BYTES {
            self.active = (self.log_end, 0);
        }
        for b in batches {
            let base = self.log_end;
            self.log_end += kit::offset_count(&b);
            self.active.1 += b.len();
            self.batches.push((base, stored(&b, base), self.active.0));
        }
    }

    /// A read returns whole batches of one segment.
    fn read(&self, offset: i64, max_bytes: u32) -> Vec<u8> {
        let limit = max_bytes.min(READ_BYTES_MAX) as usize;
        let first = self
            .batches
            .iter()
            .position(|(base, b, _)| offset < base + kit::offset_count(b))
            .expect("offset below log end");
        let (_, first_batch, segment) = &self.batches[first];
        let mut out = first_batch.clone();
        for (_, b, s) in &self.batches[first + 1..] {
            if s != segment || out.len() + b.len() > limit {
                break;
            }
            out.extend(b);
        }
        out
    }

    /// Cuts the active segment at `cut` bytes: the batches that no longer fit are gone.
    fn tear(&mut self, cut: usize) {
        let mut kept = 0;
        let segment = self.active.0;
        self.batches.retain(|(_, b, s)| {
            if *s != segment {
                return true;
            }
            kept += b.len();
            kept <= cut
        });
        self.active.1 = self
            .batches
            .iter()
            .filter(|(_, _, s)| *s == segment)
            .map(|(_, b, _)| b.len())
            .sum();
        self.log_end = self
            .batches
            .last()
            .map_or(segment, |(base, b, _)| base + kit::offset_count(b))
            .max(segment);
    }
}

/// The active segment's log file of a partition of topic `t`.
fn active_log(dir: &std::path::Path, partition: u32, base: i64) -> std::path::PathBuf {
    dir.join("topics/t")
        .join(partition.to_string())
        .join(format!("{base:020}.log"))
}

/// Records whose values are padded so batches are a few hundred bytes.
fn padded_batch(serial: usize, n: usize) -> Vec<u8> {
    let values: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("r{serial}-{i}-{}", "x".repeat(40)).into_bytes())
        .collect();
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    kit::batch(&refs)
}

fn open(dir: &std::path::Path) -> Storage {
    let mut config = StorageConfig {
        read_bytes_max: READ_BYTES_MAX,
        ..kit::config(dir)
    };
    config.topic_defaults.segment_bytes = SEGMENT_BYTES as u64;
    Storage::open(config).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn appends_reads_rolls_restarts_and_tears_agree_with_a_model(
        ops in prop::collection::vec(op(), 1..60)
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut storage = open(dir.path());
        storage.create_topic("t", PARTITIONS).unwrap();
        let mut model: Vec<ModelLog> = (0..PARTITIONS).map(|_| ModelLog::default()).collect();
        let mut serial = 0;

        for op in ops {
            match op {
                Op::Append { partition, records, corrupt } => {
                    let mut batches: Vec<Vec<u8>> = records
                        .iter()
                        .map(|&n| { serial += 1; padded_batch(serial, n) })
                        .collect();
                    if corrupt {
                        let last = batches.last_mut().unwrap();
                        let at = last.len() - 1;
                        last[at] ^= 0x40;
                    }
                    let result = storage.append("t", partition, &batches.concat());
                    let log = &mut model[partition as usize];
                    if corrupt {
                        prop_assert!(matches!(result, Err(StorageError::CorruptBatch(_))));
                        continue;
                    }
                    let result = result.unwrap();
                    prop_assert_eq!(result.base_offset, log.log_end);
                    log.append(batches);
                    prop_assert_eq!(result.last_offset, log.log_end - 1);
                }
                Op::Read { partition, offset_seed, max_bytes } => {
                    let log = &model[partition as usize];
                    let offset = (offset_seed % (log.log_end as u64 + 2)) as i64;
                    let result = storage.read("t", partition, offset, max_bytes);
                    if offset > log.log_end {
                        let out_of_range =
                            matches!(result, Err(StorageError::OffsetOutOfRange { .. }));
                        prop_assert!(out_of_range);
                        continue;
                    }
                    let result = result.unwrap();
                    prop_assert_eq!(result.offsets.log_end, log.log_end);
                    if offset == log.log_end {
                        prop_assert!(result.batches.is_empty());
                    } else {
                        prop_assert_eq!(&result.batches[..], &log.read(offset, max_bytes)[..]);
                    }
                }
                Op::Reopen => {
                    drop(storage);
                    storage = open(dir.path());
                }
                Op::Crash { partition, cut_seed } => {
                    drop(storage);
                    let log = &mut model[partition as usize];
                    let path = active_log(dir.path(), partition, log.active.0);
                    let cut = (cut_seed % (log.active.1 as u64 + 1)) as usize;
                    std::fs::OpenOptions::new().write(true).open(&path).unwrap()
                        .set_len(cut as u64).unwrap();
                    log.tear(cut);
                    storage = open(dir.path());
                }
            }
        }
        for (partition, log) in model.iter().enumerate() {
            prop_assert_eq!(storage.offsets("t", partition as u32).unwrap().log_end, log.log_end);
        }
    }
}
