//! Choosing a group's protocol: Kafka's rule, so a mixed fleet of clients (say, one half
//! upgraded to the cooperative assignor) lands on the protocol Kafka would choose.

use crate::types::Protocol;

/// The protocols every one of `members` supports (each given as its preference-ordered
/// protocol list), in the order the first of them prefers.
pub(crate) fn common<'a>(members: &[&'a [Protocol]]) -> Vec<&'a str> {
    let Some((first, rest)) = members.split_first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|p| p.name.as_str())
        .filter(|name| rest.iter().all(|m| m.iter().any(|p| p.name == *name)))
        .collect()
}

/// The protocol for a new generation: among those every member supports, each member votes
/// for the one it prefers most, and the most votes win. Ties go to the one the first member
/// prefers (Kafka leaves ties to hash order; a fixed rule keeps tests and restarts stable).
/// `None` when the members share no protocol.
pub(crate) fn select<'a>(members: &[&'a [Protocol]]) -> Option<&'a str> {
    let candidates = common(members);
    let mut votes = vec![0usize; candidates.len()];
    for protocols in members {
        let choice = protocols
            .iter()
            .find_map(|p| candidates.iter().position(|c| *c == p.name));
        if let Some(i) = choice {
            votes[i] += 1;
        }
    }
    let mut best: Option<(usize, usize)> = None;
    for (i, &count) in votes.iter().enumerate() {
        if best.is_none_or(|(_, most)| count > most) {
            best = Some((i, count));
        }
    }
    best.and_then(|(i, _)| candidates.get(i).copied())
}

/// Whether `protocols` shares at least one with every member's.
pub(crate) fn compatible(members: &[&[Protocol]], protocols: &[Protocol]) -> bool {
    protocols
        .iter()
        .any(|p| members.iter().all(|m| m.iter().any(|q| q.name == p.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protocols(names: &[&str]) -> Vec<Protocol> {
        names
            .iter()
            .map(|n| Protocol {
                name: (*n).to_owned(),
                metadata: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn the_most_preferred_common_protocol_wins() {
        let a = protocols(&["range", "roundrobin"]);
        let b = protocols(&["roundrobin", "range"]);
        let c = protocols(&["roundrobin", "sticky", "range"]);
        assert_eq!(select(&[&a, &b, &c]), Some("roundrobin"));
    }

    #[test]
    fn a_protocol_not_everyone_supports_cannot_win() {
        let a = protocols(&["sticky", "range"]);
        let b = protocols(&["sticky", "range"]);
        let c = protocols(&["range"]);
        assert_eq!(select(&[&a, &b, &c]), Some("range"));
    }

    #[test]
    fn ties_go_to_the_first_members_preference() {
        let a = protocols(&["range", "roundrobin"]);
        let b = protocols(&["roundrobin", "range"]);
        assert_eq!(select(&[&a, &b]), Some("range"));
        assert_eq!(select(&[&b, &a]), Some("roundrobin"));
    }

    #[test]
    fn no_common_protocol_selects_none() {
        let a = protocols(&["range"]);
        let b = protocols(&["sticky"]);
        assert_eq!(select(&[&a, &b]), None);
        assert!(!compatible(&[&a], &b));
        assert!(compatible(&[], &b));
    }
}
