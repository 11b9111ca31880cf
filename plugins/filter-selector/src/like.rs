//! `LIKE` patterns: `%` any run of characters, `_` any one character, an escape character
//! making the next one literal.
//!
//! A pattern is kept as its `%`-separated segments. Matching anchors the first segment at the
//! start and the last at the end, and finds each one between at its leftmost place: a `%`
//! absorbs anything, so the leftmost place never loses a match a later one would find. That
//! is O(text × pattern) at worst, with no backtracking over earlier segments, so no pattern a
//! client writes can make a match take exponential time.

/// One position of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    /// This character.
    Char(char),
    /// Any one character (`_`).
    One,
}

/// A compiled pattern.
#[derive(Debug, PartialEq, Eq)]
pub struct Pattern {
    /// At least one; `n` segments mean `n - 1` `%`s.
    segments: Vec<Vec<Unit>>,
}

impl Pattern {
    /// Compiles `pattern`, with `escape` (if any) quoting the character after it.
    pub fn compile(pattern: &str, escape: Option<char>) -> Result<Self, String> {
        let mut segments = vec![Vec::new()];
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let unit = if Some(c) == escape {
                match chars.next() {
                    Some(quoted) => Unit::Char(quoted),
                    None => return Err("the pattern ends with its escape character".to_owned()),
                }
            } else if c == '%' {
                segments.push(Vec::new());
                continue;
            } else if c == '_' {
                Unit::One
            } else {
                Unit::Char(c)
            };
            if let Some(last) = segments.last_mut() {
                last.push(unit);
            }
        }
        Ok(Pattern { segments })
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let (first, rest) = match self.segments.split_first() {
            Some(split) => split,
            None => return text.is_empty(),
        };
        let Some((last, middle)) = rest.split_last() else {
            return text.len() == first.len() && fits(first, &text);
        };
        let Some(end) = text.len().checked_sub(last.len()) else {
            return false;
        };
        if end < first.len()
            || !fits(first, &text)
            || !fits(last, text.get(end..).unwrap_or_default())
        {
            return false;
        }
        let mut between = text.get(first.len()..end).unwrap_or_default();
        for segment in middle {
            match find(segment, between) {
                Some(at) => between = between.get(at + segment.len()..).unwrap_or_default(),
                None => return false,
            }
        }
        true
    }
}

/// Whether `text` starts with `segment`.
fn fits(segment: &[Unit], text: &[char]) -> bool {
    segment.len() <= text.len()
        && segment.iter().zip(text).all(|(unit, c)| match unit {
            Unit::Char(want) => want == c,
            Unit::One => true,
        })
}

/// The leftmost offset at which `segment` fits in `text`.
fn find(segment: &[Unit], text: &[char]) -> Option<usize> {
    let last_start = text.len().checked_sub(segment.len())?;
    (0..=last_start).find(|&at| fits(segment, text.get(at..).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn like(pattern: &str, text: &str) -> bool {
        Pattern::compile(pattern, Some('\\')).unwrap().matches(text)
    }

    #[test]
    fn wildcards() {
        assert!(like("12%3", "123"));
        assert!(like("12%3", "12993"));
        assert!(!like("12%3", "1234"));
        assert!(like("l_se", "lose"));
        assert!(!like("l_se", "loose"));
        assert!(like("%", ""));
        assert!(like("", ""));
        assert!(!like("", "a"));
        assert!(like("%a%b%", "xxaxxbxx"));
        assert!(!like("%a%b%", "xxbxxaxx"));
        assert!(like("a%a", "aa"));
        assert!(!like("a%a", "a"));
        assert!(like("_%_", "ab"));
        assert!(like("ü_%é", "ünïcødé"));
        assert!(like("%ab%abc", "ababc"));
    }

    #[test]
    fn escapes() {
        assert!(like("\\_%", "_foo"));
        assert!(!like("\\_%", "bar"));
        assert!(like("100\\%", "100%"));
        assert!(!like("100\\%", "1000"));
        assert!(like("a\\\\b", "a\\b"));
        assert!(Pattern::compile("x!", Some('!')).is_err());
        assert!(Pattern::compile("x!", None).unwrap().matches("x!"));
    }

    #[test]
    fn adversarial_patterns_stay_fast() {
        let pattern = "%a".repeat(500) + "b";
        let text = "a".repeat(20_000);
        let compiled = Pattern::compile(&pattern, None).unwrap();
        let started = std::time::Instant::now();
        assert!(!compiled.matches(&text));
        assert!(started.elapsed().as_secs() < 5);
    }

    /// Against a plain recursive matcher on small inputs.
    #[test]
    fn agrees_with_a_reference_matcher() {
        fn reference(p: &[char], t: &[char]) -> bool {
            match p.split_first() {
                None => t.is_empty(),
                Some(('%', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
                Some(('_', rest)) => !t.is_empty() && reference(rest, &t[1..]),
                Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
            }
        }
        let alphabet = ['a', 'b', '%', '_'];
        let mut seed = 88_172_645_463_325_252_u64;
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let p: Vec<char> = (0..seed % 6)
                .map(|i| alphabet[((seed >> (8 * i + 3)) % 4) as usize])
                .collect();
            let t: Vec<char> = (0..(seed >> 50) % 7)
                .map(|i| alphabet[((seed >> (5 * i + 1)) % 2) as usize])
                .collect();
            let pattern: String = p.iter().collect();
            let text: String = t.iter().collect();
            assert_eq!(
                Pattern::compile(&pattern, None).unwrap().matches(&text),
                reference(&p, &t),
                "{pattern:?} {text:?}"
            );
        }
    }
}
