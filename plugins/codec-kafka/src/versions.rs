//! The API versions this codec advertises: one table, read by ApiVersions (what clients are
//! told) and by `dispatch` (what is accepted).
//!
//! Every range starts at 0 although kafka-protocol 0.18 (Kafka 4 schemas) dropped the oldest
//! versions of several APIs: librdkafka enables a feature only when the broker's range covers
//! the versions the feature is keyed on (ApiVersions v0, Produce v0–v3 and v7, Fetch v4 and
//! v10), and it turns features off against a broker that looks like Kafka 4. The versions
//! below kafka-protocol's floor are read and answered by hand in each `api/*` module.

use kafka_protocol::messages::ApiKey;

/// One API and the inclusive range of its versions this codec serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advertised {
    /// The API.
    pub api: ApiKey,
    /// Oldest version served.
    pub min: i16,
    /// Newest version served.
    pub max: i16,
}

/// Exactly the implemented APIs, in api-key order (the order Kafka lists them in).
pub const ADVERTISED: &[Advertised] = &[
    Advertised {
        api: ApiKey::Produce,
        min: 0,
        max: 9,
    },
    Advertised {
        api: ApiKey::Fetch,
        min: 0,
        max: 12,
    },
    Advertised {
        api: ApiKey::ListOffsets,
        min: 0,
        max: 7,
    },
    Advertised {
        api: ApiKey::Metadata,
        min: 0,
        max: 12,
    },
    // Groups (`api/*` per API): v0–v1 of OffsetCommit and v0 of OffsetFetch by hand.
    Advertised {
        api: ApiKey::OffsetCommit,
        min: 0,
        max: 9,
    },
    Advertised {
        api: ApiKey::OffsetFetch,
        min: 0,
        max: 9,
    },
    // v6 only adds share-group keys (KIP-932); Sluice has no share groups.
    Advertised {
        api: ApiKey::FindCoordinator,
        min: 0,
        max: 5,
    },
    Advertised {
        api: ApiKey::JoinGroup,
        min: 0,
        max: 9,
    },
    Advertised {
        api: ApiKey::Heartbeat,
        min: 0,
        max: 4,
    },
    Advertised {
        api: ApiKey::LeaveGroup,
        min: 0,
        max: 5,
    },
    Advertised {
        api: ApiKey::SyncGroup,
        min: 0,
        max: 5,
    },
    Advertised {
        api: ApiKey::DescribeGroups,
        min: 0,
        max: 6,
    },
    Advertised {
        api: ApiKey::ListGroups,
        min: 0,
        max: 5,
    },
    Advertised {
        api: ApiKey::ApiVersions,
        min: 0,
        max: 3,
    },
    Advertised {
        api: ApiKey::CreateTopics,
        min: 0,
        max: 7,
    },
    Advertised {
        api: ApiKey::DeleteTopics,
        min: 0,
        max: 6,
    },
    // Admin and idempotent-producer APIs (`api/*` per API).
    Advertised {
        api: ApiKey::DeleteRecords,
        min: 0,
        max: 2,
    },
    // v6 (two-phase commit, KIP-939) is beyond kafka-protocol 0.18; transactional ids are refused.
    Advertised {
        api: ApiKey::InitProducerId,
        min: 0,
        max: 5,
    },
    // v0–v1 by hand.
    Advertised {
        api: ApiKey::OffsetForLeaderEpoch,
        min: 0,
        max: 4,
    },
    // v0 by hand.
    Advertised {
        api: ApiKey::DescribeConfigs,
        min: 0,
        max: 4,
    },
    Advertised {
        api: ApiKey::AlterConfigs,
        min: 0,
        max: 2,
    },
    Advertised {
        api: ApiKey::CreatePartitions,
        min: 0,
        max: 3,
    },
    Advertised {
        api: ApiKey::DeleteGroups,
        min: 0,
        max: 2,
    },
    Advertised {
        api: ApiKey::IncrementalAlterConfigs,
        min: 0,
        max: 1,
    },
    Advertised {
        api: ApiKey::OffsetDelete,
        min: 0,
        max: 0,
    },
    Advertised {
        api: ApiKey::DescribeCluster,
        min: 0,
        max: 2,
    },
];

/// The advertised range of `api`, or `None` when this codec does not implement it.
pub fn advertised(api: ApiKey) -> Option<Advertised> {
    ADVERTISED.iter().copied().find(|a| a.api == api)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_in_api_key_order_and_within_what_kafka_protocol_encodes() {
        let keys: Vec<i16> = ADVERTISED.iter().map(|a| a.api as i16).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(keys, sorted);
        for a in ADVERTISED {
            assert_eq!(a.min, 0, "{:?}", a.api);
            assert!(a.max <= a.api.valid_versions().max, "{:?}", a.api);
        }
    }

    #[test]
    fn docs_table_matches_what_api_versions_advertises() {
        let doc = include_str!("../../../docs/kafka-compatibility.md");
        let table = doc
            .split("<!-- api-versions:begin -->")
            .nth(1)
            .and_then(|rest| rest.split("<!-- api-versions:end -->").next())
            .expect("docs/kafka-compatibility.md has the api-versions markers");
        let rows: Vec<String> = table
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| API"))
            .map(str::to_owned)
            .collect();
        let expected: Vec<String> = ADVERTISED
            .iter()
            .map(|a| {
                let versions = if a.min == a.max {
                    a.min.to_string()
                } else {
                    format!("{}–{}", a.min, a.max)
                };
                format!("| {:?} | {} | {versions} |", a.api, a.api as i16)
            })
            .collect();
        assert_eq!(rows, expected, "update docs/kafka-compatibility.md");
    }
}
