//! The SASL exchange and the protocol headers around it.

use fe2o3_amqp_types::performatives::Performative;
use fe2o3_amqp_types::sasl::{SaslCode, SaslInit};
use serde_amqp::primitives::{Binary, Symbol};

use crate::host::FakeHost;
use crate::peer::*;

fn init(mechanism: &str, response: Option<&[u8]>) -> Vec<u8> {
    sasl(&SaslInit {
        mechanism: Symbol::from(mechanism),
        initial_response: response.map(|r| Binary::from(r.to_vec())),
        hostname: None,
    })
}

#[test]
fn sasl_plain_with_the_right_password_authenticates_and_opens() {
    let mut peer = Peer::new();
    let items = peer.input(&SASL_HEADER);
    assert!(matches!(items[0], Item::Header(SASL_HEADER)));
    assert_eq!(mechanisms(&items), ["PLAIN", "ANONYMOUS"]);

    let items = peer.input(&init("PLAIN", Some(b"\0alice\0secret")));
    assert_eq!(outcome(&items).code, SaslCode::Ok);

    let mut bytes = AMQP_HEADER.to_vec();
    bytes.extend(amqp(0, &open(65_536, None), &[]));
    let items = peer.input(&bytes);
    assert!(matches!(items[0], Item::Header(AMQP_HEADER)));
    let Some(Performative::Open(open)) = items[1].performative() else {
        panic!("{items:?}")
    };
    assert_eq!(open.max_frame_size.0, 1024 * 1024);
    assert_eq!(open.idle_time_out, None);
    assert!(peer.closed.is_none());
}

#[test]
fn sasl_plain_with_a_wrong_password_fails_and_closes() {
    let mut peer = Peer::new();
    peer.input(&SASL_HEADER);
    let items = peer.input(&init("PLAIN", Some(b"\0alice\0guess")));
    assert_eq!(outcome(&items).code, SaslCode::Auth);
    assert!(
        peer.closed
            .as_deref()
            .unwrap()
            .contains("authentication failed")
    );
    // Whatever the client pipelined after is ignored.
    assert!(peer.input(&AMQP_HEADER).is_empty());
}

#[test]
fn sasl_anonymous_is_offered_and_accepted_while_allowed() {
    let mut peer = Peer::new();
    let mut bytes = SASL_HEADER.to_vec();
    bytes.extend(init("ANONYMOUS", Some(b"trace")));
    let items = peer.input(&bytes);
    assert!(mechanisms(&items).contains(&"ANONYMOUS".to_owned()));
    assert_eq!(outcome(&items).code, SaslCode::Ok);
    assert!(peer.closed.is_none());
}

#[test]
fn sasl_anonymous_is_neither_offered_nor_accepted_when_not_allowed() {
    let host = FakeHost::default();
    host.anonymous.set(false);
    let mut peer = Peer::with(host);
    let items = peer.input(&SASL_HEADER);
    assert_eq!(mechanisms(&items), ["PLAIN"]);
    let items = peer.input(&init("ANONYMOUS", None));
    assert_eq!(outcome(&items).code, SaslCode::Auth);
    assert!(peer.closed.is_some());
}

#[test]
fn a_client_without_sasl_is_let_in_only_when_anonymous_is_allowed() {
    let mut peer = Peer::new();
    let mut bytes = AMQP_HEADER.to_vec();
    bytes.extend(amqp(0, &open(65_536, None), &[]));
    let items = peer.input(&bytes);
    assert!(matches!(items[0], Item::Header(AMQP_HEADER)));
    assert!(matches!(
        items[1].performative(),
        Some(Performative::Open(_))
    ));

    let host = FakeHost::default();
    host.anonymous.set(false);
    let mut peer = Peer::with(host);
    let items = peer.input(&AMQP_HEADER);
    // Told that SASL is required, then closed.
    assert!(matches!(items[..], [Item::Header(SASL_HEADER)]));
    assert!(peer.closed.is_some());
}

#[test]
fn a_wrong_protocol_header_is_answered_with_ours_and_closed() {
    let mut peer = Peer::new();
    let items = peer.input(b"GET / HTTP/1.1\r\n");
    assert!(matches!(items[..], [Item::Header(SASL_HEADER)]));
    assert!(peer.closed.is_some());

    // TLS (AMQP 2 1 0 0) is not served on this listener.
    let mut peer = Peer::new();
    let items = peer.input(b"AMQP\x02\x01\x00\x00");
    assert!(matches!(items[..], [Item::Header(SASL_HEADER)]));
    assert!(peer.closed.is_some());

    // After SASL, only the AMQP header may follow.
    let mut peer = Peer::new();
    peer.input(&SASL_HEADER);
    peer.input(&init("ANONYMOUS", None));
    let items = peer.input(&SASL_HEADER);
    assert!(matches!(items[..], [Item::Header(AMQP_HEADER)]));
    assert!(peer.closed.is_some());
}
