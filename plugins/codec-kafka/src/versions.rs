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
pub const ADVERTISED: [Advertised; 7] = [
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
}
