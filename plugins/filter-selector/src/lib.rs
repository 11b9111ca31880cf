//! `filter-selector`: JMS 1.1 message selectors, the SQL-92 conditional subset Artemis and
//! every JMS broker speak. A message is kept when the selector is TRUE for it and dropped when
//! it is FALSE or unknown.
//!
//! Configuration: the selector's text, e.g.
//! `color = 'red' AND weight > 2.5 AND JMSPriority >= 5`. Empty (or blank) means no selector:
//! every message is kept.
//!
//! The language:
//! - literals: strings in single quotes (`'it''s'`), exact numbers (`42`, `42L`), approximate
//!   numbers (`2.5`, `.5`, `1e3`, `2.5F`), `TRUE` and `FALSE`;
//! - names: Java identifiers (letters, digits, `_`, `$`; no `.` or `-`), case-sensitive;
//!   `NULL TRUE FALSE NOT AND OR BETWEEN LIKE IN IS ESCAPE` are reserved in any case;
//! - `( )`, `+ - * /` and signs, `= <> < > <= >=`, `NOT`, `AND`, `OR`;
//! - `x [NOT] BETWEEN a AND b`, `x [NOT] IN ('a', 'b')` (strings only),
//!   `x [NOT] LIKE 'pat%_' [ESCAPE '\']`, `x IS [NOT] NULL`.
//!
//! Values follow JMS: a long meeting a double becomes a double; strings and booleans compare
//! only with their own kind and only by `=` and `<>`; a string meeting a number, a missing name
//! and anything involving NULL make the comparison unknown; `NOT` unknown is unknown, unknown
//! `OR` TRUE is TRUE, unknown `AND` FALSE is FALSE. Integer arithmetic wraps as Java's; an
//! integer division by zero is NULL.
//!
//! A name is, in order: a JMS header field mapped from the AMQP sections (`JMSPriority`,
//! `JMSDeliveryMode`, `JMSMessageID`, `JMSCorrelationID`, `JMSType`, `JMSTimestamp`,
//! `JMSExpiration`; see `fields`), an AMQP application property, or a record (Kafka) header's
//! text. Headers named `sluice-*` or `amqp.*` are the broker's and never names.
//!
//! **Extension:** a record header holds text, which JMS would never compare with a number;
//! here, when a record header's text meets a number (in a comparison, `BETWEEN` or
//! arithmetic) and reads as one (`2.5`, `-7`, `1e3`), it is that number, so `weight > 2.5`
//! works on Kafka headers. An application property's string is never converted.
//!
//! Bounds, refused by `check` with a message saying so: at most 4096 bytes of text, 64 levels
//! of nesting (parentheses, `NOT`s, signs), 1024 strings in an `IN` list. `LIKE` matches in
//! O(text × pattern), never by exponential backtracking. Errors give the byte offset and what
//! was expected: `at byte 14: expected `)`, found the end of the selector`.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]
#![warn(missing_docs)]

mod ast;
mod eval;
mod fields;
mod lexer;
mod like;
mod parser;

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use sluice_sdk::filter::{Filter, Message, PluginInfo, Verdict};

pub use crate::ast::ParseError;
pub use crate::parser::{DEPTH_MAX, IN_MAX, TEXT_MAX};

/// The most compiled selectors an instance keeps.
pub const CACHE_MAX: usize = 256;

/// A compiled selector.
#[derive(Debug)]
pub struct Selector {
    /// `None`: the empty selector, which keeps everything.
    expr: Option<ast::Expr>,
}

impl Selector {
    /// Compiles a selector's text.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        parser::parse(text).map(|expr| Selector { expr })
    }

    /// Whether the selector is TRUE for `message`.
    pub fn selects(&self, message: &Message) -> bool {
        match &self.expr {
            None => true,
            Some(expr) => eval::selects(expr, &fields::Fields::new(message)),
        }
    }
}

thread_local! {
    // A component instance is single-threaded; each native test thread gets its own.
    static CACHE: RefCell<HashMap<String, Rc<Selector>>> = RefCell::new(HashMap::new());
}

/// The compiled selector for `text`, from the cache when it was compiled before.
fn compiled(text: &str) -> Result<Rc<Selector>, String> {
    if let Some(hit) = CACHE.with_borrow(|cache| cache.get(text).cloned()) {
        return Ok(hit);
    }
    let selector = Rc::new(Selector::parse(text).map_err(|e| refusal(&e))?);
    CACHE.with_borrow_mut(|cache| {
        if cache.len() >= CACHE_MAX {
            // Any entry will do: a selector evicted while in use is recompiled next time.
            if let Some(victim) = cache.keys().next().cloned() {
                cache.remove(&victim);
            }
        }
        cache.insert(text.to_owned(), Rc::clone(&selector));
    });
    Ok(selector)
}

fn refusal(error: &ParseError) -> String {
    format!("invalid selector {error}")
}

/// The selector filter.
pub struct SelectorFilter;

impl Filter for SelectorFilter {
    fn info() -> PluginInfo {
        PluginInfo {
            name: "filter-selector".to_owned(),
            version: sluice_sdk::plugin_version(
                env!("CARGO_PKG_VERSION"),
                option_env!("SLUICE_BUILD_TAG"),
            ),
        }
    }

    fn check(config: &str) -> Result<(), String> {
        Selector::parse(config).map(drop).map_err(|e| refusal(&e))
    }

    fn apply(config: &str, messages: Vec<Message>) -> Result<Vec<Verdict>, String> {
        let selector = compiled(config)?;
        Ok(messages
            .iter()
            .map(|m| {
                if selector.selects(m) {
                    Verdict::Keep
                } else {
                    Verdict::Drop
                }
            })
            .collect())
    }
}

#[cfg(target_arch = "wasm32")]
sluice_sdk::export_filter!(SelectorFilter);

#[cfg(test)]
mod tests;
