//! The mapping between AMQP messages and stored records: AMQP clients get back exactly what
//! AMQP clients sent; Kafka clients see the body and key; Kafka records reach AMQP clients as
//! data, annotation and application properties.

use fe2o3_amqp_types::messaging::annotations::OwnedKey;
use fe2o3_amqp_types::messaging::message::DecodeIntoMessage;
use fe2o3_amqp_types::messaging::{
    AmqpValue, ApplicationProperties, Body, Data, DeliveryAnnotations, Footer, Header,
    MessageAnnotations, MessageId, Priority, Properties,
};
use fe2o3_amqp_types::primitives::SimpleValue;
use serde_amqp::Value;
use serde_amqp::primitives::{Binary, Symbol, Timestamp};
use sluice_codec_amqp::{
    APPLICATION_PROPERTIES, BODY, FOOTER, HEADER, MESSAGE_ANNOTATIONS, PROPERTIES,
};
use sluice_sdk::codec::{Header as RecordHeader, Message};

use crate::peer::*;

fn enc<T: serde_amqp::serde::Serialize>(v: &T) -> Vec<u8> {
    serde_amqp::to_vec(v).unwrap()
}

fn annotations(entries: &[(&str, Value)]) -> fe2o3_amqp_types::messaging::Annotations {
    let mut map = fe2o3_amqp_types::messaging::Annotations::new();
    for (k, v) in entries {
        map.insert(OwnedKey::Symbol(Symbol::from(*k)), v.clone());
    }
    map
}

struct Full {
    header: Vec<u8>,
    delivery_annotations: Vec<u8>,
    message_annotations: Vec<u8>,
    properties: Vec<u8>,
    application_properties: Vec<u8>,
    body: Vec<u8>,
    footer: Vec<u8>,
}

impl Full {
    fn new(body: Vec<u8>) -> Full {
        let mut application = ApplicationProperties::default();
        application.insert("color".into(), SimpleValue::String("red".into()));
        application.insert("n".into(), SimpleValue::Int(3));
        Full {
            header: enc(&Header {
                durable: false,
                priority: Priority(7),
                ttl: Some(60_000),
                first_acquirer: true,
                delivery_count: 0,
            }),
            delivery_annotations: enc(&DeliveryAnnotations(annotations(&[(
                "x-opt-hop",
                Value::String("one".into()),
            )]))),
            message_annotations: enc(&MessageAnnotations(annotations(&[
                ("x-opt-partition-key", Value::String("user-42".into())),
                ("x-opt-jms-msg-type", Value::Byte(5)),
            ]))),
            properties: enc(&Properties {
                message_id: Some(MessageId::String("id-1".into())),
                subject: Some("greeting".into()),
                content_type: Some(Symbol::from("text/plain")),
                creation_time: Some(Timestamp::from_milliseconds(1_600_000_000_000)),
                ..Properties::default()
            }),
            application_properties: enc(&application),
            body,
            footer: enc(&Footer(annotations(&[(
                "x-sig",
                Value::Binary(Binary::from(vec![1, 2])),
            )]))),
        }
    }

    /// Every section, in order.
    fn sent(&self) -> Vec<u8> {
        self.sections(true)
    }

    /// What another AMQP client must receive: everything but the delivery annotations.
    fn kept(&self) -> Vec<u8> {
        self.sections(false)
    }

    fn sections(&self, delivery_annotations: bool) -> Vec<u8> {
        let delivery_annotations: &[u8] = if delivery_annotations {
            &self.delivery_annotations
        } else {
            &[]
        };
        [
            self.header.as_slice(),
            delivery_annotations,
            &self.message_annotations,
            &self.properties,
            &self.application_properties,
            &self.body,
            &self.footer,
        ]
        .concat()
    }
}

/// Sends `payload` to `address` and has a second link receive it; returns the stored record
/// and the payload received.
fn round_trip(payload: &[u8]) -> (Message, Vec<u8>) {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "rt");
    peer.transfer(0, 0, true, payload);
    let stored = peer.host.sent_to("rt").remove(0);
    let items = peer.attach_receiver(1, "rt", 1);
    let got = deliveries(&items).remove(0).1;
    (stored, got)
}

/// A message as an AMQP client decodes it.
type AmqpMessage = fe2o3_amqp_types::messaging::Message<Body<Value>>;

fn decode(bytes: &[u8]) -> AmqpMessage {
    Body::<Value>::decode_message_from_reader(serde_amqp::read::SliceReader::new(bytes)).unwrap()
}

/// What an AMQP client receives of `record`, stored as a Kafka client would have stored it:
/// the bytes, and the message they decode to.
fn received_by_amqp(record: Message) -> (Vec<u8>, AmqpMessage) {
    let mut peer = Peer::opened();
    peer.host.enqueue("events", record);
    let items = peer.attach_receiver(0, "events", 1);
    let got = deliveries(&items).remove(0).1;
    let message = decode(&got);
    (got, message)
}

/// The `x-opt-partition-key` message annotation.
fn partition_key(annotations: Option<MessageAnnotations>) -> Option<Value> {
    annotations?
        .get(&OwnedKey::Symbol(Symbol::from("x-opt-partition-key")))
        .cloned()
}

fn header<'a>(m: &'a Message, key: &str) -> Option<&'a [u8]> {
    m.headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value.as_deref())
}

#[test]
fn every_section_round_trips_byte_identical_between_amqp_clients() {
    let list = enc(&AmqpValue(Value::List(vec![
        Value::Int(1),
        Value::String("two".into()),
    ])));
    let full = Full::new(list.clone());
    let (stored, got) = round_trip(&full.sent());
    assert_eq!(got, full.kept());

    assert_eq!(stored.key.as_deref(), Some(&b"user-42"[..]));
    assert_eq!(
        stored.value.as_deref(),
        Some(&list[..]),
        "any other body: its sections"
    );
    assert_eq!(header(&stored, HEADER), Some(&full.header[..]));
    assert_eq!(
        header(&stored, MESSAGE_ANNOTATIONS),
        Some(&full.message_annotations[..])
    );
    assert_eq!(header(&stored, BODY), Some(&list[..]));
    let names: Vec<&str> = stored.headers.iter().map(|h| h.key.as_str()).collect();
    assert_eq!(
        names,
        [
            HEADER,
            MESSAGE_ANNOTATIONS,
            PROPERTIES,
            APPLICATION_PROPERTIES,
            BODY,
            FOOTER,
            "color",
            "n"
        ],
        "no delivery annotations; the application properties copied last"
    );
    assert_eq!(header(&stored, "color"), Some(&b"red"[..]));
    assert_eq!(header(&stored, "n"), Some(&b"3"[..]));
    assert_eq!(stored.timestamp_ms, 1_600_000_000_000);
    assert_eq!(stored.expiry_ms, Some(1_700_000_000_000 + 60_000));
    assert!(!stored.durable);
}

#[test]
fn a_single_data_section_is_the_value_and_is_not_kept_twice() {
    let data = enc(&Data(Binary::from(b"plain bytes".to_vec())));
    let full = Full::new(data);
    let (stored, got) = round_trip(&full.sent());
    assert_eq!(got, full.kept());
    assert_eq!(stored.value.as_deref(), Some(&b"plain bytes"[..]));
    assert_eq!(header(&stored, BODY), None);
}

#[test]
fn a_data_section_encoded_unusually_round_trips_byte_identical() {
    // vbin32 for three bytes, where vbin8 would do.
    let data = vec![0x00, 0x53, 0x75, 0xb0, 0, 0, 0, 3, 1, 2, 3];
    let (stored, got) = round_trip(&data);
    assert_eq!(got, data);
    assert_eq!(stored.value.as_deref(), Some(&[1, 2, 3][..]));
    assert_eq!(header(&stored, BODY), Some(&data[..]));
}

#[test]
fn several_data_sections_round_trip_and_are_the_value_as_sections() {
    let mut body = enc(&Data(Binary::from(b"one".to_vec())));
    body.extend(enc(&Data(Binary::from(b"two".to_vec()))));
    let (stored, got) = round_trip(&body);
    assert_eq!(got, body);
    assert_eq!(stored.value.as_deref(), Some(&body[..]));
}

#[test]
fn an_amqp_value_string_or_binary_is_the_value_as_bytes() {
    let text = enc(&AmqpValue(Value::String("héllo".into())));
    let (stored, got) = round_trip(&text);
    assert_eq!(stored.value.as_deref(), Some("héllo".as_bytes()));
    assert_eq!(got, text);

    let bin = enc(&AmqpValue(Value::Binary(Binary::from(vec![0, 255]))));
    let (stored, got) = round_trip(&bin);
    assert_eq!(stored.value.as_deref(), Some(&[0, 255][..]));
    assert_eq!(got, bin);
}

#[test]
fn a_binary_partition_key_is_the_key_as_is() {
    let mut payload = enc(&MessageAnnotations(annotations(&[(
        "x-opt-partition-key",
        Value::Binary(Binary::from(vec![0xde, 0xad])),
    )])));
    payload.extend(enc(&Data(Binary::from(b"v".to_vec()))));
    let (stored, _) = round_trip(&payload);
    assert_eq!(stored.key.as_deref(), Some(&[0xde, 0xad][..]));
}

#[test]
fn a_redelivered_message_carries_its_delivery_count() {
    let full = Full::new(enc(&Data(Binary::from(b"again".to_vec()))));
    let mut peer = Peer::opened();
    peer.attach_sender(0, "rt");
    peer.transfer(0, 0, true, &full.sent());
    peer.attach_receiver(1, "rt", 1);
    // Detached unsettled: back to the queue as a failed delivery.
    peer.input(&amqp(0, &detach(1), &[]));
    let items = peer.attach_receiver(2, "rt", 1);
    let got = deliveries(&items).remove(0).1;
    let h = decode(&got).header.unwrap();
    assert_eq!(
        (h.delivery_count, h.first_acquirer, h.priority),
        (1, false, Priority(7))
    );
    // Everything after the header is as sent.
    assert_eq!(
        &got[got.len() - (full.kept().len() - full.header.len())..],
        &full.kept()[full.header.len()..]
    );
}

#[test]
fn a_kafka_record_maps_to_data_annotation_and_application_properties() {
    let (_, m) = received_by_amqp(Message {
        key: Some(b"k1".to_vec()),
        value: Some(b"payload".to_vec()),
        headers: vec![
            RecordHeader {
                key: "trace".into(),
                value: Some(b"abc".to_vec()),
            },
            RecordHeader {
                key: "raw".into(),
                value: Some(vec![0xff, 0xfe]),
            },
            RecordHeader {
                key: "flag".into(),
                value: None,
            },
            RecordHeader {
                key: "sluice-expiry-ms".into(),
                value: Some(b"99".to_vec()),
            },
        ],
        timestamp_ms: 1234,
        durable: true,
        expiry_ms: None,
    });
    assert!(m.header.unwrap().durable);
    let key = partition_key(m.message_annotations);
    assert_eq!(key, Some(Value::String("k1".into())));
    let p = m.properties.unwrap();
    assert_eq!(p.creation_time, Some(Timestamp::from_milliseconds(1234)));
    let ap = m.application_properties.unwrap();
    assert_eq!(ap.get("trace"), Some(&SimpleValue::String("abc".into())));
    assert_eq!(
        ap.get("raw"),
        Some(&SimpleValue::Binary(Binary::from(vec![0xff, 0xfe])))
    );
    assert_eq!(ap.get("flag"), Some(&SimpleValue::Null));
    assert_eq!(ap.get("sluice-expiry-ms"), None);
    let Body::Data(data) = m.body else {
        panic!("{:?}", m.body)
    };
    let sections: Vec<Vec<u8>> = data.into_iter().map(|d| d.0.into_vec()).collect();
    assert_eq!(sections, [b"payload".to_vec()]);
}

#[test]
fn a_tombstone_reaches_amqp_clients_as_a_null_amqp_value() {
    let (got, m) = received_by_amqp(Message {
        key: Some(vec![0xff]),
        value: None,
        headers: Vec::new(),
        timestamp_ms: 1,
        durable: true,
        expiry_ms: None,
    });
    assert!(got.ends_with(&enc(&AmqpValue(Value::Null))));
    assert!(
        matches!(m.body, Body::Value(AmqpValue(Value::Null))),
        "{:?}",
        m.body
    );
    let key = partition_key(m.message_annotations);
    assert_eq!(key, Some(Value::Binary(Binary::from(vec![0xff]))));
}

#[test]
fn a_record_with_a_malformed_section_header_is_plain_and_keeps_every_header() {
    let annotations_section = enc(&MessageAnnotations(annotations(&[("a", Value::Int(1))])));
    let (_, m) = received_by_amqp(Message {
        key: None,
        value: Some(b"v".to_vec()),
        headers: vec![
            RecordHeader {
                key: HEADER.into(),
                value: Some(vec![0xff, 1]),
            },
            RecordHeader {
                key: MESSAGE_ANNOTATIONS.into(),
                value: Some(annotations_section.clone()),
            },
        ],
        timestamp_ms: 1,
        durable: true,
        expiry_ms: None,
    });
    // Dressed as a Kafka record: the header is ours, the annotations section is not used.
    assert!(m.header.unwrap().durable);
    assert!(m.message_annotations.is_none());
    let ap = m.application_properties.unwrap();
    assert_eq!(
        ap.get(HEADER),
        Some(&SimpleValue::Binary(Binary::from(vec![0xff, 1])))
    );
    assert_eq!(
        ap.get(MESSAGE_ANNOTATIONS),
        Some(&SimpleValue::Binary(Binary::from(annotations_section)))
    );
}

/// A message with the sections Artemis's clients put delivery policies in.
fn with_policies(annotations_: &[(&str, Value)], group: Option<&str>, lvq: Option<Value>) -> Full {
    let mut full = Full::new(enc(&Data(Binary::from(b"policy".to_vec()))));
    let mut entries = vec![("x-opt-partition-key", Value::String("user-42".into()))];
    entries.extend(annotations_.iter().cloned());
    full.message_annotations = enc(&MessageAnnotations(annotations(&entries)));
    full.properties = enc(&Properties {
        message_id: Some(MessageId::String("id-1".into())),
        group_id: group.map(str::to_owned),
        ..Properties::default()
    });
    let mut application = ApplicationProperties::default();
    application.insert("color".into(), SimpleValue::String("red".into()));
    if let Some(key) = lvq {
        application.insert(
            "_AMQ_LVQ_NAME".into(),
            match key {
                Value::String(s) => SimpleValue::String(s),
                Value::Int(n) => SimpleValue::Int(n),
                other => panic!("{other:?}"),
            },
        );
    }
    application.insert("size".into(), SimpleValue::Long(9));
    full.application_properties = enc(&application);
    full
}

/// The `sluice-*` headers of a stored record.
fn reserved(m: &Message) -> Vec<(String, String)> {
    m.headers
        .iter()
        .filter(|h| h.key.starts_with("sluice-"))
        .map(|h| {
            (
                h.key.clone(),
                String::from_utf8(h.value.clone().unwrap()).unwrap(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn scheduled_delivery_groups_and_last_value_map_onto_reserved_headers() {
    let full = with_policies(
        &[(
            "x-opt-delivery-time",
            Value::Timestamp(Timestamp::from_milliseconds(1_800_000_000_123)),
        )],
        Some("orders-eu"),
        Some(Value::String("EURUSD".into())),
    );
    let (stored, got) = round_trip(&full.sent());
    assert_eq!(
        reserved(&stored),
        pairs(&[
            ("sluice-delivery-time", "1800000000123"),
            ("sluice-group-id", "orders-eu"),
            ("sluice-last-value", "EURUSD"),
        ])
    );
    // The sections are stored and delivered as sent; the headers are extra.
    assert_eq!(
        header(&stored, MESSAGE_ANNOTATIONS),
        Some(&full.message_annotations[..])
    );
    assert_eq!(got, full.kept(), "byte for byte to an AMQP receiver");
    let ap = decode(&got).application_properties.unwrap();
    assert!(ap.keys().all(|k| !k.starts_with("sluice-")));
}

/// Annotations sent, and the reserved headers they must give.
type Case<'a> = (&'a [(&'a str, Value)], &'a [(&'a str, &'a str)]);

#[test]
fn a_delivery_time_or_delay_as_a_long_maps_and_the_time_wins_over_the_delay() {
    let cases: [Case<'_>; 4] = [
        (
            &[("x-opt-delivery-time", Value::Long(1_800_000_000_000))],
            &[("sluice-delivery-time", "1800000000000")],
        ),
        (
            &[("x-opt-delivery-delay", Value::Long(5_000))],
            &[("sluice-delivery-delay", "5000")],
        ),
        (
            &[
                ("x-opt-delivery-delay", Value::Long(5_000)),
                ("x-opt-delivery-time", Value::Long(1_800_000_000_000)),
            ],
            &[("sluice-delivery-time", "1800000000000")],
        ),
        (
            &[
                ("x-opt-delivery-time", Value::String("soon".into())),
                ("x-opt-delivery-delay", Value::Int(-1)),
            ],
            &[("sluice-delivery-delay", "-1")],
        ),
    ];
    for (entries, expected) in cases {
        let full = with_policies(entries, None, None);
        let (stored, got) = round_trip(&full.sent());
        assert_eq!(reserved(&stored), pairs(expected), "{entries:?}");
        assert_eq!(got, full.kept());
    }
}

#[test]
fn values_of_the_wrong_type_map_to_no_header() {
    let full = with_policies(
        &[("x-opt-delivery-delay", Value::String("5000".into()))],
        None,
        Some(Value::Int(7)),
    );
    let (stored, got) = round_trip(&full.sent());
    assert!(reserved(&stored).is_empty(), "{:?}", reserved(&stored));
    assert_eq!(got, full.kept());
}

#[test]
fn a_message_without_policies_gets_no_reserved_header() {
    let full = Full::new(enc(&Data(Binary::from(b"plain".to_vec()))));
    let (stored, _) = round_trip(&full.sent());
    assert!(reserved(&stored).is_empty());
}
