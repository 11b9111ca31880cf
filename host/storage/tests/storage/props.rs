//! Random sequences of appends, reads and restarts against a simple model of the logs.

use proptest::prelude::*;
use sluice_storage::{Storage, StorageConfig, StorageError};

use crate::kit::{self, stored};

const PARTITIONS: u32 = 2;
/// Small enough that reads often hit the cap, so the "at least one batch" rule is exercised.
const READ_BYTES_MAX: u32 = 600;

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
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..PARTITIONS, prop::collection::vec(1usize..6, 1..4), prop::bool::weighted(0.15))
            .prop_map(|(partition, records, corrupt)| Op::Append { partition, records, corrupt }),
        4 => (0..PARTITIONS, any::<u64>(), 0u32..1000)
            .prop_map(|(partition, offset_seed, max_bytes)| Op::Read { partition, offset_seed, max_bytes }),
        1 => Just(Op::Reopen),
    ]
}

/// What one partition should hold: stored batches with their base offsets.
#[derive(Default)]
struct ModelLog {
    batches: Vec<(i64, Vec<u8>)>,
    log_end: i64,
}

impl ModelLog {
    fn read(&self, offset: i64, max_bytes: u32) -> Vec<u8> {
        let limit = max_bytes.min(READ_BYTES_MAX) as usize;
        let first = self
            .batches
            .iter()
            .position(|(base, b)| offset < base + kit::offset_count(b))
            .expect("offset below log end");
        let mut out = self.batches[first].1.clone();
        for (_, b) in &self.batches[first + 1..] {
            if out.len() + b.len() > limit {
                break;
            }
            out.extend(b);
        }
        out
    }
}

fn open(dir: &std::path::Path) -> Storage {
    Storage::open(StorageConfig {
        read_bytes_max: READ_BYTES_MAX,
        ..kit::config(dir)
    })
    .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn appends_reads_and_restarts_agree_with_a_model(ops in prop::collection::vec(op(), 1..40)) {
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
                        .map(|&n| { serial += 1; kit::batch_n(&format!("r{serial}"), n) })
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
                    for b in batches {
                        let base = log.log_end;
                        log.log_end += kit::offset_count(&b);
                        log.batches.push((base, stored(&b, base)));
                    }
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
            }
        }
        for (partition, log) in model.iter().enumerate() {
            prop_assert_eq!(storage.offsets("t", partition as u32).unwrap().log_end, log.log_end);
        }
    }
}
