//! Links: what a client attaches, in the two directions.
//!
//! Place in the flow: the session dispatches each attach here by the client's role. A client
//! *sender* link carries messages to the broker (`incoming`: credit, assembly of transfers,
//! one `queues.send` per batch); a client *receiver* link carries messages from a queue to the
//! client (`outgoing`: a consumer, credit and drain, transfers cut to the peer's frame size).
//!
//! Addresses name their routing type the way Artemis reads them: a `queue://` or `topic://`
//! prefix, else a terminus capability (`queue`, `topic`, or qpid-jms's `temporary-queue`,
//! `temporary-topic`), else none and the host's default applies.

pub mod incoming;
pub mod outgoing;

use fe2o3_amqp_types::definitions::{ReceiverSettleMode, Role};
use fe2o3_amqp_types::performatives::Attach;
use serde_amqp::primitives::{Array, Symbol};
use sluice_sdk::codec::RoutingType;

pub use incoming::Incoming;
pub use outgoing::Outgoing;

/// One attached link, by the state it is in.
pub enum Link {
    /// A client sender link.
    Incoming(Incoming),
    /// A client receiver link.
    Outgoing(Outgoing),
    /// Detached by us (refused at attach, or for a protocol error); its frames are ignored
    /// until the client's detach frees the handle.
    Closing {
        /// The handle we gave it.
        local_handle: u32,
    },
}

impl Link {
    /// The handle we gave the link.
    pub fn local_handle(&self) -> u32 {
        match self {
            Link::Incoming(l) => l.local_handle,
            Link::Outgoing(l) => l.local_handle,
            Link::Closing { local_handle } => *local_handle,
        }
    }
}

/// An address with the routing type its prefix or capabilities ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The address (or `address::queue`), prefix removed.
    pub address: String,
    /// The routing type asked for, if any.
    pub routing: Option<RoutingType>,
}

/// Reads `address` and the terminus `capabilities`.
pub fn node(address: &str, capabilities: Option<&Array<Symbol>>) -> Node {
    if let Some(name) = address.strip_prefix("queue://") {
        return Node {
            address: name.to_owned(),
            routing: Some(RoutingType::Anycast),
        };
    }
    if let Some(name) = address.strip_prefix("topic://") {
        return Node {
            address: name.to_owned(),
            routing: Some(RoutingType::Multicast),
        };
    }
    let routing = capabilities.and_then(|caps| {
        caps.0.iter().find_map(|c| match c.as_str() {
            "queue" | "temporary-queue" => Some(RoutingType::Anycast),
            "topic" | "temporary-topic" => Some(RoutingType::Multicast),
            _ => None,
        })
    });
    Node {
        address: address.to_owned(),
        routing,
    }
}

/// The capability that names `routing` in a terminus we send back.
pub fn capability(routing: RoutingType) -> Array<Symbol> {
    Array::from(vec![Symbol::from(match routing {
        RoutingType::Anycast => "queue",
        RoutingType::Multicast => "topic",
    })])
}

/// Our attach answering the peer's `attach`: same name and termini, our handle, the other
/// role. The caller fills in what depends on the direction.
pub fn reply(attach: &Attach, local_handle: u32, role: Role) -> Attach {
    Attach {
        name: attach.name.clone(),
        handle: local_handle.into(),
        role,
        snd_settle_mode: attach.snd_settle_mode.clone(),
        rcv_settle_mode: ReceiverSettleMode::First,
        source: attach.source.clone(),
        target: attach.target.clone(),
        unsettled: None,
        incomplete_unsettled: false,
        initial_delivery_count: None,
        max_message_size: None,
        offered_capabilities: None,
        desired_capabilities: None,
        properties: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps(names: &[&str]) -> Array<Symbol> {
        Array::from(names.iter().map(|n| Symbol::from(*n)).collect::<Vec<_>>())
    }

    #[test]
    fn prefixes_win_over_capabilities() {
        let n = node("topic://prices", Some(&caps(&["queue"])));
        assert_eq!(n.address, "prices");
        assert_eq!(n.routing, Some(RoutingType::Multicast));
        let n = node("queue://orders", None);
        assert_eq!(
            (n.address.as_str(), n.routing),
            ("orders", Some(RoutingType::Anycast))
        );
    }

    #[test]
    fn capabilities_give_the_routing_of_a_plain_address() {
        assert_eq!(
            node("a", Some(&caps(&["shared", "topic"]))).routing,
            Some(RoutingType::Multicast)
        );
        assert_eq!(
            node("a", Some(&caps(&["temporary-queue"]))).routing,
            Some(RoutingType::Anycast)
        );
        assert_eq!(node("a", None).routing, None);
    }
}
