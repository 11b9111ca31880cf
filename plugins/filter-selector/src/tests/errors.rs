use crate::{CACHE_MAX, DEPTH_MAX, IN_MAX, ParseError, SelectorFilter, TEXT_MAX};
use sluice_sdk::filter::{Filter, Verdict};

use super::*;

fn error(selector: &str) -> ParseError {
    match Selector::parse(selector) {
        Ok(_) => panic!("{selector:?} parsed"),
        Err(e) => e,
    }
}

fn refused(selector: &str, at: usize, says: &str) {
    let e = error(selector);
    assert_eq!(e.at, at, "{selector:?}: {e}");
    assert!(e.message.contains(says), "{selector:?}: {e}");
}

#[test]
fn parse_errors_say_where_and_what() {
    refused(
        "color = ",
        8,
        "expected a name, a literal or `(`, found the end",
    );
    refused("(a = 1", 6, "expected `)`, found the end of the selector");
    refused(
        "a = 1 b = 2",
        6,
        "expected `AND`, `OR` or the end of the selector, found name `b`",
    );
    refused("a = 'open", 4, "string not closed");
    refused("a != 1", 2, "`!=` is not JMS: write `<>`");
    refused("a = \"x\"", 4, "single quotes");
    refused("a # 1", 2, "unexpected character `#`");
    refused("a BETWEEN 1 2", 12, "expected `AND` between the two bounds");
    refused("a IN ()", 6, "expected a string in quotes");
    refused("a IN (1, 2)", 6, "expected a string in quotes");
    refused("a IN ('x' 'y')", 10, "expected `,` or `)`");
    refused("a LIKE b", 7, "expected a pattern in quotes");
    refused("a LIKE 'x' ESCAPE 'ab'", 18, "exactly one character");
    refused(
        "a LIKE 'x!' ESCAPE '!'",
        7,
        "ends with its escape character",
    );
    refused("a IS 1", 5, "expected `NULL` or `NOT NULL` after `IS`");
    refused("a = 1e", 5, "digits after the exponent");
    refused("a = 12abc", 6, "after a number");
    refused("a = 010", 4, "leading zero");
    refused("a = 99999999999999999999", 4, "integer too large");
    refused("a = 9223372036854775808", 4, "integer too large");
    refused(
        "and = 1",
        0,
        "expected a name, a literal or `(`, found `AND`",
    );
    refused("1 + 2", 0, "expected a condition, found a number");
    refused("'red'", 0, "expected a condition, found a string");
    refused("NOT 3", 4, "expected a condition, found a number");
    refused("a = 1 OR 'x'", 9, "expected a condition, found a string");
    refused("'a' + 1 = 2", 0, "expected a number, found a string");
    refused("-'a' = 2", 1, "expected a number, found a string");
    refused("3 LIKE 'x'", 0, "expected a string, found a number");
    refused(
        "'x' BETWEEN 1 AND 2",
        0,
        "expected a number, found a string",
    );
    refused("a.b = 1", 1, "`.` cannot be part of a name");
}

#[test]
fn bounds() {
    let long = format!("a = '{}'", "x".repeat(TEXT_MAX));
    assert!(error(&long).message.contains("limit is 4096"));
    let at_limit = format!("a = '{}'", "x".repeat(TEXT_MAX - 6));
    assert!(Selector::parse(&at_limit).is_ok());

    let nested = |depth: usize| format!("{}a = 1{}", "(".repeat(depth), ")".repeat(depth));
    assert!(Selector::parse(&nested(DEPTH_MAX)).is_ok());
    assert!(
        error(&nested(DEPTH_MAX + 1))
            .message
            .contains("deeper than 64")
    );
    assert!(
        error(&format!("{}TRUE", "NOT ".repeat(DEPTH_MAX + 1)))
            .message
            .contains("deeper")
    );
    assert!(
        error(&format!("{}1 = 1", "-".repeat(DEPTH_MAX + 1)))
            .message
            .contains("deeper")
    );

    let list = |n: usize| {
        // Empty strings, so that the longest list fits in the longest text.
        let items = vec!["''"; n];
        format!("a IN ({})", items.join(","))
    };
    assert!(Selector::parse(&list(IN_MAX)).is_ok());
    assert!(
        error(&list(IN_MAX + 1))
            .message
            .contains("more than 1024 entries")
    );

    // The deepest selectors allowed evaluate (recursion follows the nesting).
    let nots = format!(
        "{}a = 1{}",
        "NOT (".repeat(DEPTH_MAX / 2),
        ")".repeat(DEPTH_MAX / 2)
    );
    assert!(selects(&nots, &kafka(&[("a", "1")])));
    let signs = format!(
        "{}a{} = 1",
        "-(".repeat(DEPTH_MAX / 2),
        ")".repeat(DEPTH_MAX / 2)
    );
    assert!(selects(&signs, &kafka(&[("a", "1")])));

    // A long flat chain is not nesting: it stays within the text limit and evaluates.
    let chain = vec!["a = 1"; 400].join(" OR ");
    assert!(selects(&chain, &kafka(&[("a", "1")])));
    let sum = format!("{} = 1000", vec!["a"; 1000].join("+"));
    assert!(selects(&sum, &kafka(&[("a", "1")])));
}

#[test]
fn check_and_apply() {
    assert_eq!(SelectorFilter::check("color = 'red'"), Ok(()));
    let refusal = SelectorFilter::check("color = ").unwrap_err();
    assert!(
        refusal.starts_with("invalid selector at byte 8: expected"),
        "{refusal}"
    );
    assert!(SelectorFilter::apply("color = ", vec![]).is_err());

    let verdicts = SelectorFilter::apply(
        "color = 'red'",
        vec![
            kafka(&[("color", "red")]),
            kafka(&[("color", "blue")]),
            kafka(&[]),
        ],
    )
    .unwrap();
    let kept: Vec<bool> = verdicts
        .iter()
        .map(|v| matches!(v, Verdict::Keep))
        .collect();
    assert_eq!(kept, [true, false, false]);

    // More selectors than the cache holds: each still judged by its own text.
    for round in 0..2 {
        for i in 0..CACHE_MAX + 20 {
            let verdicts =
                SelectorFilter::apply(&format!("n = {i}"), vec![kafka(&[("n", &i.to_string())])])
                    .unwrap();
            assert!(
                matches!(verdicts[..], [Verdict::Keep]),
                "round {round}, {i}"
            );
        }
    }
    assert!(crate::CACHE.with_borrow(|c| c.len()) <= CACHE_MAX);
    assert_eq!(SelectorFilter::info().name, "filter-selector");
}
