//! Where a send's messages go: the address's router plugin places each (a partition of the
//! address's log, anycast queues, a consumer pin), its answer checked against what it was
//! shown; or, when the plugin passes (`Bypass`), the host's own routing, as before there were
//! plugins: Kafka's partitioner for keyed messages and round robin for the rest over the log,
//! round robin over the anycast queues that take messages now.
//!
//! The router sees the address as the send may reach it, snapshot with no lock held across
//! the call: the catalog is read-locked only to find the queues, each queue locked only to
//! read its figures. An answer of the wrong length or naming a partition or queue it was not
//! shown is the plugin's error: the send is held (`Unavailable`) and nothing is stored.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::catalog::AddressEntry;
use crate::error::unavailable;
use crate::message::Message;
use crate::partitioner;
use crate::policy::{AddressView, ConsumerView, Placement, PolicyError, QueueView};
use crate::queue::Queue;
use crate::settings::AddressSettings;
use crate::{Queues, QueuesError};

/// The anycast queues a send may reach, as the router is shown them.
pub struct Eligible {
    /// The queues, in the order of `views`.
    pub queues: Vec<Arc<Queue>>,
    /// What the router sees of each.
    pub views: Vec<QueueView>,
}

/// Where a send's messages go, as the appends take it.
pub struct Routes {
    /// Each message's partition of the log, if any.
    pub partitions: Vec<Option<u32>>,
    /// Per eligible queue, the messages it gets (indexes into the send, in order) with the
    /// consumer each is pinned to.
    pub queues: Vec<Vec<(usize, Option<u64>)>>,
}

impl Routes {
    /// Checked placements as routes; a queue named twice for one message gets one copy.
    fn from_placements(placements: Vec<Placement>, queues: usize) -> Routes {
        let mut routes = Routes {
            partitions: Vec::with_capacity(placements.len()),
            queues: vec![Vec::new(); queues],
        };
        for (i, placement) in placements.into_iter().enumerate() {
            routes.partitions.push(placement.partition);
            for target in placement.queues {
                if let Some(to) = routes.queues.get_mut(target.queue as usize)
                    && to.last().is_none_or(|(last, _)| *last != i)
                {
                    to.push((i, target.consumer));
                }
            }
        }
        routes
    }
}

impl Queues {
    /// The anycast queues of `candidates` that take messages now: not deleted, and not
    /// purge-on-no-consumers without consumers. Their message counts are what is visible
    /// (below the high watermark), read from the cursors without asking storage.
    pub(crate) fn eligible(&self, candidates: &[Arc<Queue>]) -> Eligible {
        let mut eligible = Eligible {
            queues: Vec::new(),
            views: Vec::new(),
        };
        for queue in candidates {
            let locked = queue.lock(&self.storage);
            let idle = locked.st.attrs.purge_on_no_consumers && locked.st.consumers.is_empty();
            if locked.st.deleted || idle {
                continue;
            }
            let consumers = locked
                .st
                .consumers
                .iter()
                .map(|(id, slot)| ConsumerView {
                    id: *id,
                    unsettled: u32::try_from(slot.unsettled.len()).unwrap_or(u32::MAX),
                    local: true,
                })
                .collect();
            eligible.views.push(QueueView {
                name: queue.name.clone(),
                messages: locked.visible_count(),
                consumers,
            });
            drop(locked);
            eligible.queues.push(queue.clone());
        }
        eligible
    }

    /// The router's placements of `messages` on `address`, checked; `None` when the router
    /// passes and the host routes natively. `partitions`: of the log the send may reach (0:
    /// not the log); `views`: the anycast queues it may reach. Advances the address's
    /// sequence by the batch, reserving it before the call so concurrent sends see distinct
    /// sequences; a send the router then holds leaves a gap, which only skips a step of a
    /// rotation.
    pub(crate) fn place(
        &self,
        address: &str,
        settings: &AddressSettings,
        sequence: &std::sync::atomic::AtomicU64,
        partitions: u32,
        views: Vec<QueueView>,
        messages: &[Message],
    ) -> Result<Option<Routes>, QueuesError> {
        let count = messages.len() as u64;
        let queues = views.len();
        let view = AddressView {
            name: address.to_owned(),
            partitions,
            queues: views,
            sequence: sequence.fetch_add(count, Ordering::Relaxed),
            config: settings.router_config.clone(),
        };
        let what = || format!("router `{}`", settings.router);
        let refs: Vec<&Message> = messages.iter().collect();
        match self.policies.route(&settings.router, &view, &refs) {
            Ok(placements) => match check(&placements, &view, messages.len()) {
                Ok(()) => Ok(Some(Routes::from_placements(placements, queues))),
                Err(why) => Err(QueuesError::Unavailable(format!("{}: {why}", what()))),
            },
            Err(PolicyError::Bypass) => Ok(None),
            Err(e) => Err(unavailable(&what(), e)),
        }
    }
}

/// Why `placements` is no answer to `view` for `count` messages, if it is not.
fn check(placements: &[Placement], view: &AddressView, count: usize) -> Result<(), String> {
    if placements.len() != count {
        return Err(format!("placed {} messages of {count}", placements.len()));
    }
    for placement in placements {
        if let Some(p) = placement.partition
            && p >= view.partitions
        {
            return Err(format!("partition {p} of {} partitions", view.partitions));
        }
        if let Some(target) = placement
            .queues
            .iter()
            .find(|t| t.queue as usize >= view.queues.len())
        {
            return Err(format!(
                "queue {} of {} queues",
                target.queue,
                view.queues.len()
            ));
        }
    }
    Ok(())
}

/// The host's own routes: each message to one partition of the log (Kafka's partitioner for
/// a key, else round robin) when `partitions` is not 0, and to one of `queues` anycast
/// queues, round robin.
pub(crate) fn native(
    entry: &AddressEntry,
    partitions: u32,
    queues: usize,
    messages: &[Message],
) -> Routes {
    let partitions = messages
        .iter()
        .map(|message| {
            (partitions > 0).then(|| match &message.key {
                Some(key) => partitioner::for_key(key, partitions),
                None => entry.keyless_next.fetch_add(1, Ordering::Relaxed) % partitions,
            })
        })
        .collect();
    let mut routes = Routes {
        partitions,
        queues: vec![Vec::new(); queues],
    };
    if queues > 0 {
        for i in 0..messages.len() {
            let to = entry.anycast_next.fetch_add(1, Ordering::Relaxed) % queues;
            if let Some(to) = routes.queues.get_mut(to) {
                to.push((i, None));
            }
        }
    }
    routes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::QueueTarget;

    fn view(partitions: u32, queues: usize) -> AddressView {
        AddressView {
            name: "a".into(),
            partitions,
            queues: (0..queues)
                .map(|i| QueueView {
                    name: format!("q{i}"),
                    messages: 0,
                    consumers: Vec::new(),
                })
                .collect(),
            sequence: 0,
            config: String::new(),
        }
    }

    fn to(partition: Option<u32>, queues: &[u32]) -> Placement {
        Placement {
            partition,
            queues: queues
                .iter()
                .map(|&queue| QueueTarget {
                    queue,
                    consumer: None,
                })
                .collect(),
        }
    }

    #[test]
    fn a_queue_named_twice_for_a_message_gets_one_copy() {
        let routes = Routes::from_placements(vec![to(Some(0), &[1, 1, 0]), to(None, &[1])], 2);
        assert_eq!(routes.partitions, [Some(0), None]);
        assert_eq!(routes.queues, [vec![(0, None)], vec![(0, None), (1, None)]]);
    }

    #[test]
    fn an_answer_must_fit_what_the_router_was_shown() {
        let v = view(2, 1);
        assert!(check(&[to(Some(1), &[0]), to(None, &[])], &v, 2).is_ok());
        assert!(check(&[to(Some(1), &[0])], &v, 2).is_err(), "too short");
        assert!(check(&[to(Some(2), &[])], &v, 1).is_err(), "partition");
        assert!(check(&[to(None, &[1])], &v, 1).is_err(), "queue");
        assert!(
            check(&[to(Some(0), &[])], &view(0, 0), 1).is_err(),
            "no log"
        );
    }
}
