//! Artemis's wildcard syntax for address-settings matches: words separated by `.`, `*` for
//! exactly one word, `#` for any number of words, none included.

use std::cmp::Ordering;

/// Words in an address: bounded by [`crate::names::ADDRESS_BYTES_MAX`], so matching (a table
/// of pattern words by address words) stays small.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    words: Vec<Word>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Word {
    Literal(String),
    /// `*`
    One,
    /// `#`
    Any,
}

impl Word {
    /// How narrowly the word matches; a pattern that has run out of words sits between `*`
    /// and `#`, so `a` is more specific than `a.#` and less than `a.*`.
    fn rank(word: Option<&Word>) -> u8 {
        match word {
            Some(Word::Literal(_)) => 3,
            Some(Word::One) => 2,
            None => 1,
            Some(Word::Any) => 0,
        }
    }
}

impl Pattern {
    /// Parses a pattern; every string is one.
    pub fn new(pattern: &str) -> Pattern {
        let words = pattern
            .split('.')
            .map(|w| match w {
                "*" => Word::One,
                "#" => Word::Any,
                literal => Word::Literal(literal.to_owned()),
            })
            .collect();
        Pattern { words }
    }

    /// Whether `address` matches.
    pub fn matches(&self, address: &str) -> bool {
        let words: Vec<&str> = address.split('.').collect();
        // fit[j]: the pattern words seen so far match the first j address words.
        let mut fit = vec![false; words.len() + 1];
        fit[0] = true;
        for word in &self.words {
            let mut next = vec![false; words.len() + 1];
            for j in 0..=words.len() {
                next[j] = match word {
                    Word::Any => fit[j] || (j > 0 && next[j - 1]),
                    Word::One => j > 0 && fit[j - 1],
                    Word::Literal(l) => j > 0 && fit[j - 1] && words[j - 1] == l,
                };
            }
            fit = next;
        }
        fit[words.len()]
    }

    /// Orders patterns from least to most specific: word by word, the first word that differs
    /// decides, a literal beating `*` beating `#`.
    pub fn specificity(&self, other: &Pattern) -> Ordering {
        let longest = self.words.len().max(other.words.len());
        for i in 0..longest {
            let (a, b) = (self.words.get(i), other.words.get(i));
            let order = Word::rank(a).cmp(&Word::rank(b));
            if order != Ordering::Equal {
                return order;
            }
        }
        Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_any_number_of_words_and_star_exactly_one() {
        let cases = [
            ("#", "a", true),
            ("#", "a.b.c", true),
            ("a.#", "a", true),
            ("a.#", "a.b.c", true),
            ("a.#", "b", false),
            ("#.c", "a.b.c", true),
            ("a.#.c", "a.c", true),
            ("a.#.c", "a.x.y.c", true),
            ("a.#.c", "a.x.y", false),
            ("a.*", "a.b", true),
            ("a.*", "a", false),
            ("a.*", "a.b.c", false),
            ("*.b", "a.b", true),
            ("a.b", "a.b", true),
            ("a.b", "a.bc", false),
            ("#.#", "a", true),
        ];
        for (pattern, address, want) in cases {
            assert_eq!(
                Pattern::new(pattern).matches(address),
                want,
                "{pattern} ~ {address}"
            );
        }
    }

    #[test]
    fn literal_beats_star_beats_hash_word_by_word() {
        let order = ["#", "a.#", "a", "a.*", "a.b.#", "a.b"];
        for pair in order.windows(2) {
            let (less, more) = (Pattern::new(pair[0]), Pattern::new(pair[1]));
            assert_eq!(less.specificity(&more), Ordering::Less, "{pair:?}");
            assert_eq!(more.specificity(&less), Ordering::Greater, "{pair:?}");
        }
        assert_eq!(
            Pattern::new("a.*").specificity(&Pattern::new("a.*")),
            Ordering::Equal
        );
    }
}
