//! Simple test guest: a router that sends every message to partition 0 (when the address has
//! partitions) and to queue 0 (when it has queues). With the configuration `out-of-range` it
//! answers a partition and a queue the address does not have, which the host must refuse.
use sluice_sdk::router::{AddressView, MessageView, Placement, PluginInfo, QueueTarget, Router};

/// The router.
pub struct First;

impl Router for First {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "guest-router-first".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
    fn route(address: AddressView, messages: Vec<MessageView>) -> Result<Vec<Placement>, String> {
        if address.config == "out-of-range" {
            let placement = Placement {
                partition: Some(address.partitions),
                queues: vec![QueueTarget {
                    queue: address.queues.len() as u32,
                    consumer: None,
                }],
            };
            return Ok(vec![placement; messages.len()]);
        }
        if address.config == "short" {
            return Ok(Vec::new());
        }
        let placement = Placement {
            partition: (address.partitions > 0).then_some(0),
            queues: if address.queues.is_empty() {
                Vec::new()
            } else {
                vec![QueueTarget {
                    queue: 0,
                    consumer: None,
                }]
            },
        };
        Ok(vec![placement; messages.len()])
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_router!(First);
