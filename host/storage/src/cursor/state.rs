//! The cursor's state in memory, with no I/O: the acknowledged floor, the acknowledged ranges
//! above it and the delivery counts of unacknowledged offsets. Both the live path and journal
//! replay change it only through [`State::apply`], so a replayed journal rebuilds exactly what
//! the live calls built.

use std::collections::BTreeMap;
use std::ops::Range;

use super::CursorLimits;

/// One change to the state; also what a journal record holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// One offset acknowledged.
    Ack(i64),
    /// Every offset below this one acknowledged.
    AckBelow(i64),
    /// One more delivery of an unacknowledged offset.
    Deliver(i64),
}

/// Which limit a change would break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// `CursorLimits::ranges_max`.
    Ranges,
    /// `CursorLimits::counted_max`.
    Counts,
}

/// A queue cursor's durable state as plain data, for comparisons and inspection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CursorState {
    /// Every offset below this one is acknowledged.
    pub floor: i64,
    /// Acknowledged ranges above the floor: sorted, disjoint, non-adjacent, none touching the
    /// floor.
    pub acked: Vec<Range<i64>>,
    /// Deliveries of unacknowledged offsets delivered at least once.
    pub delivery_counts: BTreeMap<i64, u32>,
}

/// The live state.
///
/// Invariants (checked by [`State::check_invariants`], which a loaded snapshot must pass):
/// the floor is not negative; ranges are non-empty and never touch the floor or each other
/// (an ack that would make them touch merges them instead), so the offset at the floor and
/// the offset at each range's end are unacknowledged; every counted offset is unacknowledged
/// and counted at least once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// Every offset below this one is acknowledged.
    floor: i64,
    /// Acknowledged ranges above the floor, start → end (exclusive). A map rather than a
    /// sorted vector so an ack far from the floor costs O(log n), not a shift of n ranges.
    ranges: BTreeMap<i64, i64>,
    /// Delivery count per unacknowledged offset; ordered so acking below drops a prefix.
    counts: BTreeMap<i64, u32>,
}

impl State {
    /// Builds a state from its parts, checking the invariants (used for snapshots).
    pub fn from_parts(
        floor: i64,
        ranges: BTreeMap<i64, i64>,
        counts: BTreeMap<i64, u32>,
    ) -> Result<State, String> {
        let state = State {
            floor,
            ranges,
            counts,
        };
        state.check_invariants()?;
        Ok(state)
    }

    /// Every offset below this one is acknowledged.
    pub fn floor(&self) -> i64 {
        self.floor
    }

    /// The ranges, start → end.
    pub fn ranges(&self) -> &BTreeMap<i64, i64> {
        &self.ranges
    }

    /// The delivery counts.
    pub fn counts(&self) -> &BTreeMap<i64, u32> {
        &self.counts
    }

    /// Whether `offset` is acknowledged.
    pub fn is_acked(&self, offset: i64) -> bool {
        offset < self.floor || self.range_containing(offset).is_some()
    }

    /// Deliveries of `offset`; 0 when never delivered or acknowledged.
    pub fn delivery_count(&self, offset: i64) -> u32 {
        self.counts.get(&offset).copied().unwrap_or(0)
    }

    /// The first unacknowledged offset at or after `from`. Ranges never touch, so the end of
    /// the range holding `from` is unacknowledged.
    pub fn next_unacked(&self, from: i64) -> i64 {
        let from = from.max(self.floor);
        self.range_containing(from).map_or(from, |range| range.end)
    }

    /// Whether applying `change` would change anything: what [`State::apply`] will return.
    pub fn would_change(&self, change: Change) -> bool {
        match change {
            Change::Ack(offset) => !self.is_acked(offset),
            Change::AckBelow(offset) => offset > self.floor,
            Change::Deliver(offset) => {
                !self.is_acked(offset) && self.delivery_count(offset) < u32::MAX
            }
        }
    }

    /// Whether applying `change` would take the state above `limits`. Only growth is refused:
    /// a state already above limits lowered since it was written still shrinks and merges.
    pub fn check(&self, change: Change, limits: &CursorLimits) -> Result<(), Full> {
        match change {
            Change::Ack(offset) => {
                let isolated = !self.is_acked(offset)
                    && offset != self.floor
                    && !self.ranges.contains_key(&(offset + 1))
                    && self.range_ending_at(offset).is_none();
                if isolated && self.ranges.len() >= limits.ranges_max {
                    return Err(Full::Ranges);
                }
            }
            Change::AckBelow(_) => {}
            Change::Deliver(offset) => {
                let new = !self.is_acked(offset) && !self.counts.contains_key(&offset);
                if new && self.counts.len() >= limits.counted_max {
                    return Err(Full::Counts);
                }
            }
        }
        Ok(())
    }

    /// Applies `change` regardless of limits (replay must rebuild what was accepted) and says
    /// whether anything changed. Offsets must be below `i64::MAX`, so `offset + 1` exists.
    pub fn apply(&mut self, change: Change) -> bool {
        match change {
            Change::Ack(offset) => self.ack(offset),
            Change::AckBelow(offset) => self.ack_below(offset),
            Change::Deliver(offset) => self.deliver(offset),
        }
    }

    fn ack(&mut self, offset: i64) -> bool {
        if self.is_acked(offset) {
            return false;
        }
        self.counts.remove(&offset);
        if offset == self.floor {
            self.floor = offset + 1;
            self.absorb_range_at_floor();
            return true;
        }
        let start = match self.range_ending_at(offset) {
            Some(start) => {
                self.ranges.remove(&start);
                start
            }
            None => offset,
        };
        let end = self.ranges.remove(&(offset + 1)).unwrap_or(offset + 1);
        self.ranges.insert(start, end);
        true
    }

    fn ack_below(&mut self, offset: i64) -> bool {
        if offset <= self.floor {
            return false;
        }
        self.floor = offset;
        let above = self.ranges.split_off(&offset);
        // Of the ranges starting below `offset`, only the last can reach past it.
        if let Some((_, &end)) = self.ranges.last_key_value() {
            self.floor = self.floor.max(end);
        }
        self.ranges = above;
        self.absorb_range_at_floor();
        self.counts = self.counts.split_off(&self.floor);
        true
    }

    fn deliver(&mut self, offset: i64) -> bool {
        if self.is_acked(offset) {
            return false;
        }
        let count = self.counts.entry(offset).or_insert(0);
        let before = *count;
        *count = count.saturating_add(1);
        *count != before
    }

    /// Ranges never touch each other, so at most one can start at the new floor.
    fn absorb_range_at_floor(&mut self) {
        if let Some(end) = self.ranges.remove(&self.floor) {
            self.floor = end;
        }
    }

    fn range_containing(&self, offset: i64) -> Option<Range<i64>> {
        let (&start, &end) = self.ranges.range(..=offset).next_back()?;
        (offset < end).then_some(start..end)
    }

    /// The start of the range whose end is `offset`, if any.
    fn range_ending_at(&self, offset: i64) -> Option<i64> {
        let (&start, &end) = self.ranges.range(..offset).next_back()?;
        (end == offset).then_some(start)
    }

    /// The invariants in the type's documentation, as a reason when broken.
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.floor < 0 {
            return Err(format!("negative floor {}", self.floor));
        }
        // A range must start after this: not touching the floor or the previous range.
        let mut start_min = self.floor.saturating_add(1);
        for (&start, &end) in &self.ranges {
            if start < start_min || start >= end {
                return Err(format!(
                    "range {start}..{end} is empty, out of order or touches its neighbour"
                ));
            }
            start_min = end.saturating_add(1);
        }
        for (&offset, &count) in &self.counts {
            if count == 0 || self.is_acked(offset) {
                return Err(format!(
                    "delivery count {count} of offset {offset} is zero or of an acknowledged offset"
                ));
            }
        }
        Ok(())
    }

    /// The state as plain data.
    pub fn to_public(&self) -> CursorState {
        CursorState {
            floor: self.floor,
            acked: self
                .ranges
                .iter()
                .map(|(&start, &end)| start..end)
                .collect(),
            delivery_counts: self.counts.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ranges as pairs: clippy reads a one-range array as a mistake.
    fn acked(state: &State) -> Vec<(i64, i64)> {
        state.ranges().iter().map(|(&s, &e)| (s, e)).collect()
    }

    fn applied(changes: &[Change]) -> State {
        let mut state = State::default();
        for &change in changes {
            state.apply(change);
            state.check_invariants().unwrap();
        }
        state
    }

    #[test]
    fn an_ack_merges_with_the_ranges_on_both_sides() {
        use Change::Ack;
        let state = applied(&[Ack(2), Ack(6), Ack(4)]);
        assert_eq!(acked(&state), [(2, 3), (4, 5), (6, 7)]);
        let state = applied(&[Ack(2), Ack(6), Ack(4), Ack(3), Ack(5)]);
        assert_eq!(acked(&state), [(2, 7)]);
        assert_eq!(state.floor(), 0);
    }

    #[test]
    fn acking_the_floor_absorbs_the_range_above_it() {
        use Change::Ack;
        let state = applied(&[Ack(1), Ack(2), Ack(4), Ack(0)]);
        assert_eq!(state.floor(), 3);
        assert_eq!(acked(&state), [(4, 5)]);
    }

    #[test]
    fn ack_below_lands_inside_a_range_or_on_its_start() {
        use Change::{Ack, AckBelow};
        let inside = applied(&[Ack(3), Ack(4), Ack(5), Ack(9), AckBelow(4)]);
        assert_eq!((inside.floor(), acked(&inside)), (6, vec![(9, 10)]));
        let on_start = applied(&[Ack(3), Ack(9), AckBelow(3)]);
        assert_eq!((on_start.floor(), acked(&on_start)), (4, vec![(9, 10)]));
        let below_floor = applied(&[Ack(0), Ack(1), AckBelow(1)]);
        assert_eq!(below_floor.floor(), 2);
    }

    #[test]
    fn counts_stop_at_acks_and_at_ack_below() {
        use Change::{Ack, AckBelow, Deliver};
        let state = applied(&[Deliver(1), Deliver(1), Deliver(5), Deliver(8), Ack(5)]);
        assert_eq!((state.delivery_count(1), state.delivery_count(5)), (2, 0));
        let mut state = state;
        assert!(!state.apply(Deliver(5)), "an acked offset is not counted");
        state.apply(AckBelow(3));
        assert_eq!(
            state.counts().iter().collect::<Vec<_>>(),
            [(&8, &1)],
            "offsets below the floor lose their counts"
        );
    }

    #[test]
    fn next_unacked_skips_the_floor_and_ranges() {
        use Change::Ack;
        let state = applied(&[Ack(0), Ack(2), Ack(3)]);
        assert_eq!(state.next_unacked(0), 1);
        assert_eq!(state.next_unacked(2), 4);
        assert_eq!(state.next_unacked(3), 4);
        assert_eq!(state.next_unacked(7), 7);
    }

    #[test]
    fn would_change_predicts_what_apply_returns() {
        use Change::{Ack, AckBelow, Deliver};
        let mut saturated = applied(&[Ack(1), Ack(3), Deliver(5), AckBelow(1)]);
        saturated.counts.insert(6, u32::MAX);
        for change in (0..9).flat_map(|o| [Ack(o), AckBelow(o), Deliver(o)]) {
            let mut after = saturated.clone();
            assert_eq!(
                saturated.would_change(change),
                after.apply(change),
                "{change:?}"
            );
        }
    }

    #[test]
    fn only_growth_is_checked_against_limits() {
        use Change::{Ack, Deliver};
        let limits = CursorLimits {
            ranges_max: 1,
            counted_max: 1,
            ..CursorLimits::default()
        };
        let state = applied(&[Ack(2), Deliver(5)]);
        assert_eq!(state.check(Ack(7), &limits), Err(Full::Ranges));
        assert_eq!(state.check(Ack(3), &limits), Ok(()));
        assert_eq!(state.check(Ack(0), &limits), Ok(()));
        assert_eq!(state.check(Deliver(6), &limits), Err(Full::Counts));
        assert_eq!(state.check(Deliver(5), &limits), Ok(()));
        assert_eq!(state.check(Deliver(2), &limits), Ok(()));
    }

    #[test]
    fn broken_invariants_are_named() {
        let ranges = |pairs: &[(i64, i64)]| pairs.iter().copied().collect();
        assert!(State::from_parts(0, ranges(&[(1, 2), (3, 4)]), BTreeMap::new()).is_ok());
        assert!(State::from_parts(0, ranges(&[(0, 2)]), BTreeMap::new()).is_err());
        assert!(State::from_parts(0, ranges(&[(1, 2), (2, 4)]), BTreeMap::new()).is_err());
        assert!(State::from_parts(0, ranges(&[(3, 3)]), BTreeMap::new()).is_err());
        assert!(State::from_parts(-1, BTreeMap::new(), BTreeMap::new()).is_err());
        let counts = |pairs: &[(i64, u32)]| pairs.iter().copied().collect();
        assert!(State::from_parts(2, ranges(&[(4, 5)]), counts(&[(2, 1)])).is_ok());
        assert!(State::from_parts(2, ranges(&[(4, 5)]), counts(&[(4, 1)])).is_err());
        assert!(State::from_parts(2, BTreeMap::new(), counts(&[(1, 1)])).is_err());
        assert!(State::from_parts(2, BTreeMap::new(), counts(&[(3, 0)])).is_err());
    }
}
