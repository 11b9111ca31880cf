//! SASL (spec part 5.3): the mechanisms offered and the one exchange run on them.
//!
//! Place in the flow: after the SASL protocol header the connection writes [`offer`], reads one
//! `sasl-init` through [`init`], writes [`outcome`], and only on success expects the AMQP
//! protocol header. PLAIN is checked with the host's `auth.authenticate`; ANONYMOUS is offered
//! and accepted only while `auth.anonymous-allowed` says so. Neither needs a challenge, so a
//! `sasl-response` never follows.

use fe2o3_amqp_types::sasl::{SaslCode, SaslInit, SaslMechanisms, SaslOutcome};
use serde_amqp::primitives::{Array, Symbol};
use sluice_sdk::codec::{CodecError, Principal, Queues};

use crate::errors::Malformed;
use crate::performative::{decode_as, send_sasl};

/// SASL PLAIN (RFC 4616): `authzid NUL authcid NUL passwd` in the initial response.
const PLAIN: &str = "PLAIN";
/// SASL ANONYMOUS (RFC 4505).
const ANONYMOUS: &str = "ANONYMOUS";

/// Writes the `sasl-mechanisms` frame: PLAIN, and ANONYMOUS when `anonymous` is allowed.
pub fn offer(out: &mut Vec<u8>, anonymous: bool) -> Result<(), CodecError> {
    let mut mechanisms = vec![Symbol::from(PLAIN)];
    if anonymous {
        mechanisms.push(Symbol::from(ANONYMOUS));
    }
    send_sasl(
        out,
        "sasl-mechanisms",
        &SaslMechanisms {
            sasl_server_mechanisms: Array::from(mechanisms),
        },
    )
}

/// What a `sasl-init` came to.
pub enum Verdict {
    /// The peer is who it says.
    Authenticated(Principal),
    /// It is not, or used a mechanism not offered; the reason is for the log only (the peer
    /// is not told whether the user or the password was wrong).
    Refused(String),
}

/// Runs the `sasl-init` in a SASL frame `body`.
pub fn init<B: Queues>(broker: &B, body: &[u8]) -> Result<Verdict, Malformed> {
    let (init, rest) = decode_as::<SaslInit>(body)?;
    if !rest.is_empty() {
        return Err(Malformed::new("bytes after sasl-init"));
    }
    Ok(match init.mechanism.as_str() {
        ANONYMOUS if broker.anonymous_allowed() => Verdict::Authenticated(Principal {
            name: "anonymous".to_owned(),
            mechanism: "anonymous".to_owned(),
        }),
        ANONYMOUS => Verdict::Refused("anonymous access is not allowed".to_owned()),
        PLAIN => {
            let response = init.initial_response.unwrap_or_default();
            let Some((user, password)) = plain(&response) else {
                return Ok(Verdict::Refused(
                    "a PLAIN response that is not authzid NUL authcid NUL passwd".to_owned(),
                ));
            };
            match broker.authenticate(user, password) {
                Some(principal) => Verdict::Authenticated(principal),
                None => Verdict::Refused(format!("user {user:?} failed PLAIN authentication")),
            }
        }
        other => Verdict::Refused(format!("mechanism {other:?} is not offered")),
    })
}

/// The user and password of a PLAIN response; the authorization identity is not used.
fn plain(response: &[u8]) -> Option<(&str, &str)> {
    let mut parts = response.split(|b| *b == 0);
    let (_authzid, user, password) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || user.is_empty() {
        return None;
    }
    Some((
        std::str::from_utf8(user).ok()?,
        std::str::from_utf8(password).ok()?,
    ))
}

/// Writes the `sasl-outcome` frame.
pub fn outcome(out: &mut Vec<u8>, authenticated: bool) -> Result<(), CodecError> {
    let code = if authenticated {
        SaslCode::Ok
    } else {
        SaslCode::Auth
    };
    send_sasl(
        out,
        "sasl-outcome",
        &SaslOutcome {
            code,
            additional_data: None,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_responses_have_exactly_three_parts() {
        assert_eq!(plain(b"\0alice\0secret"), Some(("alice", "secret")));
        assert_eq!(plain(b"admin\0alice\0"), Some(("alice", "")));
        assert_eq!(plain(b"alice\0secret"), None);
        assert_eq!(plain(b"\0\0secret"), None);
        assert_eq!(plain(b"\0a\0b\0c"), None);
    }
}
