//! Commands: one line from the peer, parsed into what it asks for. Pure: no broker, no state.
//!
//! A line is a verb (any case) and its arguments, separated by spaces. The last argument of
//! `PUB` (the body), of `AUTH` (the password) and of `PING` (its text) is the rest of the
//! line after the single space that ends the argument before it, so it may hold spaces; a
//! body is escaped as `escape` says. Every other argument is one word.

use crate::escape;

/// What a line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// A blank line: ignored, as a person presses return.
    Blank,
    /// `AUTH <user> <password>`.
    Auth {
        /// The user name.
        user: String,
        /// The password: the rest of the line.
        password: String,
    },
    /// `PUB <address> <body>`.
    Pub {
        /// The address, with its `queue://` or `topic://` prefix if it has one.
        address: String,
        /// The body, unescaped.
        body: Vec<u8>,
    },
    /// `SUB <address> [<queue>]`.
    Sub {
        /// The address, with its prefix if it has one.
        address: String,
        /// The queue (anycast) or subscription (multicast) to read.
        queue: Option<String>,
    },
    /// `ACK <subscription> <tag>`.
    Ack {
        /// The subscription's number.
        sub: u32,
        /// The delivery's tag.
        tag: u64,
    },
    /// `NACK <subscription> <tag>`.
    Nack {
        /// The subscription's number.
        sub: u32,
        /// The delivery's tag.
        tag: u64,
    },
    /// `UNSUB <subscription>`.
    Unsub {
        /// The subscription's number.
        sub: u32,
    },
    /// `PING [<text>]`.
    Ping {
        /// Echoed after `PONG`, as sent.
        text: Vec<u8>,
    },
    /// `QUIT`.
    Quit,
    /// `HELP`.
    Help,
}

/// Verbs shown in an error about an unknown one are cut to this many bytes.
const VERB_SHOWN_MAX: usize = 16;

/// Parses one line (without its line end); `Err` is the reason given after `ERR`.
pub fn parse(line: &[u8]) -> Result<Command, String> {
    let (verb, rest) = word(line);
    if verb.is_empty() {
        return Ok(Command::Blank);
    }
    let upper = verb.to_ascii_uppercase();
    match upper.as_slice() {
        b"AUTH" => {
            let (user, password) = word(rest);
            let password = tail(password);
            if user.is_empty() || password.is_empty() {
                return Err("usage: AUTH <user> <password>".to_owned());
            }
            Ok(Command::Auth {
                user: text(user, "the user name")?,
                password: text(password, "the password")?,
            })
        }
        b"PUB" => {
            let (address, body) = word(rest);
            if address.is_empty() {
                return Err("usage: PUB <address> <body>".to_owned());
            }
            Ok(Command::Pub {
                address: text(address, "the address")?,
                body: escape::decode(tail(body))?,
            })
        }
        b"SUB" => {
            let [address, queue] = words::<2>(rest, 1, "usage: SUB <address> [<queue>]")?;
            Ok(Command::Sub {
                address: text(address, "the address")?,
                queue: (!queue.is_empty())
                    .then(|| text(queue, "the queue"))
                    .transpose()?,
            })
        }
        b"ACK" | b"NACK" => {
            let usage = if upper == b"ACK" {
                "usage: ACK <subscription> <tag>"
            } else {
                "usage: NACK <subscription> <tag>"
            };
            let [sub, tag] = words::<2>(rest, 2, usage)?;
            let (sub, tag) = (number(sub, "subscription")?, number(tag, "tag")?);
            Ok(if upper == b"ACK" {
                Command::Ack { sub, tag }
            } else {
                Command::Nack { sub, tag }
            })
        }
        b"UNSUB" => {
            let [sub] = words::<1>(rest, 1, "usage: UNSUB <subscription>")?;
            Ok(Command::Unsub {
                sub: number(sub, "subscription")?,
            })
        }
        b"PING" => Ok(Command::Ping {
            text: tail(rest).to_vec(),
        }),
        b"QUIT" => Ok(Command::Quit),
        b"HELP" => Ok(Command::Help),
        _ => {
            let mut shown = Vec::new();
            escape::encode(verb.get(..VERB_SHOWN_MAX).unwrap_or(verb), &mut shown);
            Err(format!(
                "unknown command `{}`; try HELP",
                String::from_utf8_lossy(&shown)
            ))
        }
    }
}

/// The next word (after any spaces) and what follows it, starting at the space after it.
fn word(line: &[u8]) -> (&[u8], &[u8]) {
    let start = line.iter().position(|&b| b != b' ').unwrap_or(line.len());
    let line = line.get(start..).unwrap_or_default();
    let end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    (
        line.get(..end).unwrap_or_default(),
        line.get(end..).unwrap_or_default(),
    )
}

/// The rest of a line after the one space that ends the argument before it.
fn tail(rest: &[u8]) -> &[u8] {
    rest.strip_prefix(b" ").unwrap_or(rest)
}

/// Exactly `N` words, of which the first `required` must be there (the others come back
/// empty when absent); `Err(usage)` otherwise.
fn words<'a, const N: usize>(
    mut rest: &'a [u8],
    required: usize,
    usage: &str,
) -> Result<[&'a [u8]; N], String> {
    let mut found: [&'a [u8]; N] = [&[]; N];
    for (i, slot) in found.iter_mut().enumerate() {
        let (w, after) = word(rest);
        if w.is_empty() && i < required {
            return Err(usage.to_owned());
        }
        *slot = w;
        rest = after;
    }
    if !word(rest).0.is_empty() {
        return Err(usage.to_owned());
    }
    Ok(found)
}

/// A word as UTF-8 text.
fn text(word: &[u8], what: &str) -> Result<String, String> {
    String::from_utf8(word.to_vec()).map_err(|_| format!("{what} is not UTF-8"))
}

/// A word as a decimal number.
fn number<T: std::str::FromStr>(word: &[u8], what: &str) -> Result<T, String> {
    std::str::from_utf8(word)
        .ok()
        .filter(|w| w.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|w| w.parse().ok())
        .ok_or_else(|| format!("the {what} must be a number"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(line: &str) -> Command {
        parse(line.as_bytes()).unwrap()
    }

    fn err(line: &[u8]) -> String {
        parse(line).unwrap_err()
    }

    #[test]
    fn pub_takes_the_rest_of_the_line_as_the_body_spaces_and_all() {
        assert_eq!(
            ok("pub orders  two  spaces "),
            Command::Pub {
                address: "orders".into(),
                body: b" two  spaces ".to_vec()
            }
        );
        assert_eq!(
            ok("PUB orders"),
            Command::Pub {
                address: "orders".into(),
                body: Vec::new()
            }
        );
        assert_eq!(
            ok(r"PUB a line\none"),
            Command::Pub {
                address: "a".into(),
                body: b"line\none".to_vec()
            }
        );
    }

    #[test]
    fn verbs_are_read_in_any_case_and_words_past_extra_spaces() {
        assert_eq!(ok("  Ack   3  17"), Command::Ack { sub: 3, tag: 17 });
        assert_eq!(ok("nack 1 2"), Command::Nack { sub: 1, tag: 2 });
        assert_eq!(ok("unsub 9"), Command::Unsub { sub: 9 });
        assert_eq!(ok("quit"), Command::Quit);
        assert_eq!(ok("Help"), Command::Help);
        assert_eq!(ok(""), Command::Blank);
        assert_eq!(ok("   "), Command::Blank);
    }

    #[test]
    fn sub_takes_an_optional_queue() {
        assert_eq!(
            ok("SUB orders"),
            Command::Sub {
                address: "orders".into(),
                queue: None
            }
        );
        assert_eq!(
            ok("SUB topic://prices audit"),
            Command::Sub {
                address: "topic://prices".into(),
                queue: Some("audit".into())
            }
        );
        assert!(err(b"SUB").starts_with("usage"));
        assert!(err(b"SUB a b c").starts_with("usage"));
    }

    #[test]
    fn auth_keeps_spaces_in_the_password() {
        assert_eq!(
            ok("AUTH ann open sesame"),
            Command::Auth {
                user: "ann".into(),
                password: "open sesame".into()
            }
        );
        assert!(err(b"AUTH ann").starts_with("usage"));
    }

    #[test]
    fn ping_echoes_its_text() {
        assert_eq!(ok("PING"), Command::Ping { text: Vec::new() });
        assert_eq!(
            ok("PING are you there"),
            Command::Ping {
                text: b"are you there".to_vec()
            }
        );
    }

    #[test]
    fn numbers_must_be_plain_decimals_in_range() {
        assert!(err(b"ACK x 1").contains("subscription must be a number"));
        assert!(err(b"ACK 1 -1").contains("tag must be a number"));
        assert!(err(b"ACK 1 +1").contains("tag must be a number"));
        assert!(err(b"ACK 4294967296 1").contains("subscription"));
        assert!(err(b"ACK 1").starts_with("usage"));
        assert!(err(b"ACK 1 2 3").starts_with("usage"));
    }

    #[test]
    fn unknown_verbs_are_named_safely_and_briefly() {
        assert_eq!(err(b"FROB x"), "unknown command `FROB`; try HELP");
        let long = err(b"\x1bAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
        assert!(long.contains(r"\x1BAAAAAAAAAAAAAAA`"), "{long}");
    }

    #[test]
    fn non_utf8_names_are_refused() {
        assert!(err(b"PUB \xff body").contains("address is not UTF-8"));
        assert!(err(b"SUB a \xfe").contains("queue is not UTF-8"));
    }

    #[test]
    fn a_bad_escape_in_a_body_is_refused() {
        assert!(err(br"PUB a \q").contains("bad escape"));
    }
}
