//! Filters on a receiver's source: a JMS selector reaches the host's consumer and is echoed;
//! filters of other types are left out of the reply (not applied); a selector the host cannot
//! parse, or two selectors, refuse the link with `amqp:invalid-field`.

use fe2o3_amqp_types::messaging::{FilterSet, Source};
use fe2o3_amqp_types::performatives::Performative;
use serde_amqp::Value;
use serde_amqp::described::Described;
use serde_amqp::descriptor::Descriptor;
use serde_amqp::primitives::Symbol;

use crate::peer::*;

const SELECTOR: &str = "apache.org:selector-filter:string";
const SELECTOR_CODE: u64 = 0x0000_468C_0000_0004;

fn described(descriptor: Descriptor, value: Value) -> Value {
    Value::Described(Box::new(Described { descriptor, value }))
}

fn selector(text: &str) -> Value {
    described(
        Descriptor::Name(Symbol::from(SELECTOR)),
        Value::String(text.into()),
    )
}

/// qpid-jms's no-local filter: a filter type the broker does not apply.
fn no_local() -> Value {
    described(
        Descriptor::Name(Symbol::from("apache.org:no-local-filter:list")),
        Value::List(Vec::new()),
    )
}

fn filtered(address: &str, entries: Vec<(&str, Value)>) -> Source {
    let mut filter = FilterSet::new();
    for (key, value) in entries {
        filter.insert(Symbol::from(key), value);
    }
    Source {
        filter: Some(filter),
        ..source(address)
    }
}

fn attach_filtered(peer: &mut Peer, handle: u32, source: Source) -> Vec<Item> {
    peer.input(&amqp(0, &receiver(handle, source), &[]))
}

fn selector_opened(peer: &Peer) -> Vec<Option<String>> {
    peer.host
        .state
        .borrow()
        .opened
        .iter()
        .map(|o| o.selector.clone())
        .collect()
}

#[test]
fn a_selector_reaches_open_consumer_and_is_echoed_as_sent() {
    let mut peer = Peer::opened();
    let sent = filtered("orders", vec![("jms-selector", selector("color = 'red'"))]);
    let items = attach_filtered(&mut peer, 0, sent.clone());
    assert_eq!(selector_opened(&peer), [Some("color = 'red'".to_owned())]);
    let reply = &attaches(&items)[0];
    let echoed = reply.source.as_ref().unwrap().filter.clone();
    assert_eq!(echoed, sent.filter);
    assert!(detaches(&items).is_empty());
    // Same key, same symbolic descriptor, same bytes on the wire.
    let encoded = serde_amqp::to_vec(sent.filter.as_ref().unwrap()).unwrap();
    assert!(
        peer.written
            .windows(encoded.len())
            .any(|w| w == encoded.as_slice()),
        "the filter set is in the reply byte for byte"
    );
}

#[test]
fn a_selector_with_a_numeric_descriptor_is_a_selector_too() {
    let mut peer = Peer::opened();
    let by_code = described(
        Descriptor::Code(SELECTOR_CODE),
        Value::String("weight > 2.5".into()),
    );
    let sent = filtered("orders", vec![("sel", by_code)]);
    let items = attach_filtered(&mut peer, 0, sent.clone());
    assert_eq!(selector_opened(&peer), [Some("weight > 2.5".to_owned())]);
    let echoed = attaches(&items)[0].source.clone().unwrap().filter.unwrap();
    let Some(Value::Described(d)) = echoed.get(&Symbol::from("sel")) else {
        panic!("{echoed:?}")
    };
    assert_eq!(d.descriptor, Descriptor::Code(SELECTOR_CODE));
}

#[test]
fn filters_of_other_types_are_left_out_of_the_reply() {
    let mut peer = Peer::opened();
    let sent = filtered(
        "orders",
        vec![
            ("no-local", no_local()),
            ("jms-selector", selector("a = 1")),
            ("plain", Value::String("not described".into())),
            (
                "not-a-string",
                described(Descriptor::Name(Symbol::from(SELECTOR)), Value::Int(3)),
            ),
        ],
    );
    let items = attach_filtered(&mut peer, 0, sent);
    assert_eq!(selector_opened(&peer), [Some("a = 1".to_owned())]);
    let echoed = attaches(&items)[0].source.clone().unwrap().filter.unwrap();
    let keys: Vec<&str> = echoed.keys().map(Symbol::as_str).collect();
    assert_eq!(keys, ["jms-selector"]);
}

#[test]
fn a_link_with_only_unknown_filters_has_none_in_the_reply_and_still_works() {
    let mut peer = Peer::opened();
    peer.host.enqueue("orders", record(b"one".to_vec()));
    let items = attach_filtered(&mut peer, 0, filtered("orders", vec![("nl", no_local())]));
    assert_eq!(selector_opened(&peer), [None]);
    let reply = &attaches(&items)[0];
    assert_eq!(reply.source.as_ref().unwrap().filter, None);
    assert!(detaches(&items).is_empty());
    let items = peer.input(&amqp(0, &flow(0, 0, 10, false, false), &[]));
    let got = deliveries(&items);
    assert_eq!(got.len(), 1);
    assert!(got[0].1.ends_with(b"one"));
}

#[test]
fn two_selectors_refuse_the_link_with_invalid_field_before_any_consumer_opens() {
    let mut peer = Peer::opened();
    let sent = filtered(
        "orders",
        vec![("a", selector("x = 1")), ("b", selector("y = 2"))],
    );
    let items = attach_filtered(&mut peer, 0, sent);
    assert!(selector_opened(&peer).is_empty(), "no consumer opened");
    assert!(attaches(&items)[0].source.is_none());
    assert_eq!(
        detach_condition(&items).as_deref(),
        Some("amqp:invalid-field")
    );
}

#[test]
fn a_selector_that_does_not_parse_refuses_the_link_with_a_null_source_then_invalid_field() {
    let mut peer = Peer::opened();
    let items = attach_filtered(
        &mut peer,
        0,
        filtered("orders", vec![("jms-selector", selector("color = 'red"))]),
    );
    // Exactly an attach with no source, then a closing detach with the host's reason.
    let frames = performatives(&items);
    assert_eq!(frames.len(), 2, "{frames:?}");
    let Performative::Attach(attach) = &frames[0] else {
        panic!("{frames:?}")
    };
    assert!(attach.source.is_none());
    assert_eq!(attach.name, "receiver-0");
    assert_eq!(attach.initial_delivery_count, Some(0));
    let Performative::Detach(detached) = &frames[1] else {
        panic!("{frames:?}")
    };
    assert!(detached.closed);
    assert_eq!(detached.handle, attach.handle);
    let error = detached.error.as_ref().unwrap();
    assert_eq!(condition(error), "amqp:invalid-field");
    assert_eq!(
        error.description.as_deref(),
        Some("unterminated string literal in selector \"color = 'red\"")
    );
    // The client's detach completes it; the handle is free again.
    assert!(peer.input(&amqp(0, &detach(0), &[])).is_empty());
    let items = attach_filtered(
        &mut peer,
        0,
        filtered("orders", vec![("jms-selector", selector("color = 'red'"))]),
    );
    assert!(attaches(&items)[0].source.is_some());
    assert!(detaches(&items).is_empty());
}

#[test]
fn a_selector_filter_that_is_restarting_refuses_the_link_with_internal_error() {
    let mut peer = Peer::opened();
    peer.host.unavailable.set(true);
    let items = attach_filtered(
        &mut peer,
        0,
        filtered("orders", vec![("jms-selector", selector("a = 1"))]),
    );
    assert!(attaches(&items)[0].source.is_none());
    let detached = &detaches(&items)[0];
    assert!(detached.closed);
    let error = detached.error.as_ref().unwrap();
    assert_eq!(condition(error), "amqp:internal-error");
    assert_eq!(
        error.description.as_deref(),
        Some("filter plugin selector is restarting")
    );
    assert!(peer.closed.is_none(), "only the link");
}
