//! The cross-protocol mapping table (docs/message-mapping.md), rule by rule and both ways: a
//! Kafka record read by an AMQP receiver, an AMQP message read by a Kafka consumer, and the
//! two round trips (Kafka → AMQP → Kafka gives the record back field by field; AMQP → Kafka →
//! AMQP gives the sections back byte for byte).

use fe2o3_amqp_types::messaging::annotations::OwnedKey;
use fe2o3_amqp_types::messaging::message::DecodeIntoMessage;
use fe2o3_amqp_types::messaging::{
    AmqpSequence, AmqpValue, ApplicationProperties, Body, Data, DeliveryAnnotations, Footer,
    Header, MessageAnnotations, MessageId, Priority, Properties,
};
use fe2o3_amqp_types::primitives::SimpleValue;
use serde_amqp::Value;
use serde_amqp::primitives::{Binary, Symbol, Timestamp};
use sluice_codec_amqp::{
    APPLICATION_PROPERTIES, BODY, FOOTER, HEADER, KAFKA_HEADERS, MESSAGE_ANNOTATIONS, OFFSET,
    PARTITION, PARTITION_KEY, PROPERTIES,
};
use sluice_sdk::codec::{Header as RecordHeader, Message};

use crate::peer::*;

type AmqpMessage = fe2o3_amqp_types::messaging::Message<Body<Value>>;

/// The host's clock in the fake host: a message without a time is stamped with it.
const NOW_MS: i64 = 1_700_000_000_000;

fn enc<T: serde_amqp::serde::Serialize>(v: &T) -> Vec<u8> {
    serde_amqp::to_vec(v).unwrap()
}

fn decode(bytes: &[u8]) -> AmqpMessage {
    Body::<Value>::decode_message_from_reader(serde_amqp::read::SliceReader::new(bytes)).unwrap()
}

fn symbol_key(name: &str) -> OwnedKey {
    OwnedKey::Symbol(Symbol::from(name))
}

fn header(key: &str, value: Option<&[u8]>) -> RecordHeader {
    RecordHeader {
        key: key.to_owned(),
        value: value.map(<[u8]>::to_vec),
    }
}

/// A record's fields, to compare (the SDK's types do not implement `PartialEq`).
type Fields = (
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
    i64,
    bool,
    Option<i64>,
);

fn fields(m: &Message) -> Fields {
    (
        m.key.clone(),
        m.value.clone(),
        m.headers
            .iter()
            .map(|h| (h.key.clone(), h.value.clone()))
            .collect(),
        m.timestamp_ms,
        m.durable,
        m.expiry_ms,
    )
}

fn clone(m: &Message) -> Message {
    Message {
        key: m.key.clone(),
        value: m.value.clone(),
        headers: m.headers.clone(),
        timestamp_ms: m.timestamp_ms,
        durable: m.durable,
        expiry_ms: m.expiry_ms,
    }
}

/// What an AMQP receiver gets of `record`, as a Kafka producer would have stored it.
fn to_amqp(record: Message) -> Vec<u8> {
    let mut peer = Peer::opened();
    peer.host.enqueue("from-kafka", record);
    let items = peer.attach_receiver(0, "from-kafka", 1);
    deliveries(&items).remove(0).1
}

/// The record an AMQP client's message `payload` is stored as.
fn to_kafka(payload: &[u8]) -> Message {
    let mut peer = Peer::opened();
    peer.attach_sender(0, "from-amqp");
    peer.transfer(0, 0, true, payload);
    peer.host.sent_to("from-amqp").remove(0)
}

fn record(key: Option<&[u8]>, value: Option<&[u8]>, headers: Vec<RecordHeader>) -> Message {
    Message {
        key: key.map(<[u8]>::to_vec),
        value: value.map(<[u8]>::to_vec),
        headers,
        timestamp_ms: 1_767_225_600_123,
        durable: true,
        expiry_ms: None,
    }
}

fn annotation(m: &AmqpMessage, name: &str) -> Option<Value> {
    m.message_annotations
        .as_ref()?
        .get(&symbol_key(name))
        .cloned()
}

fn property(m: &AmqpMessage, name: &str) -> Option<SimpleValue> {
    m.application_properties.as_ref()?.get(name).cloned()
}

fn stored_header<'a>(m: &'a Message, key: &str) -> Option<&'a [u8]> {
    m.headers
        .iter()
        .find(|h| h.key == key)
        .and_then(|h| h.value.as_deref())
}

// -- Kafka → AMQP --------------------------------------------------------------------------------

#[test]
fn a_key_is_a_string_annotation_when_utf8_else_binary_and_no_key_no_annotation() {
    let cases: [(Option<&[u8]>, Option<Value>); 4] = [
        (Some(b"user-42"), Some(Value::String("user-42".into()))),
        (Some(b""), Some(Value::String(String::new()))),
        (
            Some(&[0xff, 0x00]),
            Some(Value::Binary(Binary::from(vec![0xff, 0x00]))),
        ),
        (None, None),
    ];
    for (key, expected) in cases {
        let m = decode(&to_amqp(record(key, Some(b"v"), vec![])));
        assert_eq!(annotation(&m, PARTITION_KEY), expected, "{key:?}");
    }
}

#[test]
fn headers_are_application_properties_string_binary_or_null_in_order() {
    let m = decode(&to_amqp(record(
        None,
        Some(b"v"),
        vec![
            header("text", Some("héllo".as_bytes())),
            header("bytes", Some(&[0xc3, 0x28])),
            header("empty", Some(b"")),
            header("none", None),
        ],
    )));
    let ap = m.application_properties.clone().unwrap();
    let got: Vec<(&str, &SimpleValue)> = ap.iter().map(|(k, v)| (k.as_str(), v)).collect();
    assert_eq!(
        got,
        [
            ("text", &SimpleValue::String("héllo".into())),
            (
                "bytes",
                &SimpleValue::Binary(Binary::from(vec![0xc3, 0x28]))
            ),
            ("empty", &SimpleValue::String(String::new())),
            ("none", &SimpleValue::Null),
        ]
    );
    assert_eq!(
        annotation(&m, KAFKA_HEADERS),
        None,
        "properties tell them all"
    );
}

#[test]
fn repeated_header_names_take_their_last_value_and_the_list_keeps_them_all() {
    let headers = vec![
        header("a", Some(b"1")),
        header("b", None),
        header("a", Some(&[0xff])),
    ];
    let m = decode(&to_amqp(record(None, Some(b"v"), headers)));
    assert_eq!(
        property(&m, "a"),
        Some(SimpleValue::Binary(Binary::from(vec![0xff])))
    );
    assert_eq!(property(&m, "b"), Some(SimpleValue::Null));
    let pair = |k: &str, v: Value| Value::List(vec![Value::String(k.into()), v]);
    assert_eq!(
        annotation(&m, KAFKA_HEADERS),
        Some(Value::List(vec![
            pair("a", Value::Binary(Binary::from(b"1".to_vec()))),
            pair("b", Value::Null),
            pair("a", Value::Binary(Binary::from(vec![0xff]))),
        ]))
    );
}

#[test]
fn broker_headers_are_no_application_properties_but_are_listed() {
    let m = decode(&to_amqp(record(
        None,
        Some(b"v"),
        vec![
            header("sluice-group-id", Some(b"g")),
            header("x", Some(b"1")),
        ],
    )));
    assert_eq!(property(&m, "sluice-group-id"), None);
    assert_eq!(property(&m, "x"), Some(SimpleValue::String("1".into())));
    let Some(Value::List(list)) = annotation(&m, KAFKA_HEADERS) else {
        panic!("no header list: {:?}", m.message_annotations)
    };
    assert_eq!(list.len(), 2);
}

#[test]
fn timestamp_and_expiry_are_creation_and_absolute_expiry_time_and_the_value_one_data_section() {
    let mut r = record(Some(b"k"), Some(b"payload"), vec![]);
    r.expiry_ms = Some(1_800_000_000_000);
    let got = to_amqp(r);
    let m = decode(&got);
    let p = m.properties.clone().unwrap();
    assert_eq!(
        p,
        Properties {
            creation_time: Some(Timestamp::from_milliseconds(1_767_225_600_123)),
            absolute_expiry_time: Some(Timestamp::from_milliseconds(1_800_000_000_000)),
            ..Properties::default()
        },
        "nothing else is set"
    );
    let h = m.header.clone().unwrap();
    assert!(h.durable && h.ttl.is_none() && h.priority == Priority::default());
    assert!(got.ends_with(&enc(&Data(Binary::from(b"payload".to_vec())))));
    assert!(m.footer.is_none() && m.delivery_annotations.is_none());
}

// -- AMQP → Kafka --------------------------------------------------------------------------------

/// A message an AMQP client sends with every section and every properties field.
struct Full {
    /// All of it, as sent.
    sent: Vec<u8>,
    /// What an AMQP receiver must get: all but the delivery annotations.
    kept: Vec<u8>,
    /// Each stored section: its record header and bytes.
    sections: Vec<(&'static str, Vec<u8>)>,
}

fn full_message(body: Vec<u8>) -> Full {
    let header = enc(&Header {
        durable: true,
        priority: Priority(9),
        ttl: Some(30_000),
        first_acquirer: false,
        delivery_count: 0,
    });
    let mut da = fe2o3_amqp_types::messaging::Annotations::new();
    da.insert(symbol_key("x-opt-hop"), Value::Int(1));
    let delivery_annotations = enc(&DeliveryAnnotations(da));
    let mut ma = fe2o3_amqp_types::messaging::Annotations::new();
    ma.insert(symbol_key(PARTITION_KEY), Value::String("k-1".into()));
    ma.insert(symbol_key("x-opt-app"), Value::Symbol(Symbol::from("s")));
    let message_annotations = enc(&MessageAnnotations(ma));
    let properties = enc(&Properties {
        message_id: Some(MessageId::Ulong(7)),
        user_id: Some(Binary::from(b"alice".to_vec())),
        to: Some("orders".into()),
        subject: Some("subject".into()),
        reply_to: Some("replies".into()),
        correlation_id: Some(MessageId::String("corr".into())),
        content_type: Some(Symbol::from("application/json")),
        content_encoding: Some(Symbol::from("gzip")),
        absolute_expiry_time: Some(Timestamp::from_milliseconds(1_900_000_000_000)),
        creation_time: Some(Timestamp::from_milliseconds(1_767_225_600_456)),
        group_id: Some("group-a".into()),
        group_sequence: Some(3),
        reply_to_group_id: Some("group-r".into()),
    });
    let mut ap = ApplicationProperties::default();
    ap.insert("s".into(), SimpleValue::String("text".into()));
    ap.insert("i".into(), SimpleValue::Int(-5));
    ap.insert("b".into(), SimpleValue::Bool(false));
    ap.insert("d".into(), SimpleValue::Double(2.5f64.into()));
    ap.insert("bin".into(), SimpleValue::Binary(Binary::from(vec![0, 1])));
    ap.insert("nil".into(), SimpleValue::Null);
    ap.insert(
        "sluice-x".into(),
        SimpleValue::String("not a header".into()),
    );
    let application_properties = enc(&ap);
    let mut f = fe2o3_amqp_types::messaging::Annotations::new();
    f.insert(symbol_key("x-sig"), Value::Binary(Binary::from(vec![9])));
    let footer = enc(&Footer(f));
    let sent = [
        header.as_slice(),
        &delivery_annotations,
        &message_annotations,
        &properties,
        &application_properties,
        &body,
        &footer,
    ]
    .concat();
    let kept = [
        header.as_slice(),
        &message_annotations,
        &properties,
        &application_properties,
        &body,
        &footer,
    ]
    .concat();
    Full {
        sent,
        kept,
        sections: vec![
            (HEADER, header),
            (MESSAGE_ANNOTATIONS, message_annotations),
            (PROPERTIES, properties),
            (APPLICATION_PROPERTIES, application_properties),
            (FOOTER, footer),
        ],
    }
}

#[test]
fn every_section_but_delivery_annotations_is_a_header_and_properties_are_copied_as_text() {
    let full = full_message(enc(&Data(Binary::from(b"data".to_vec()))));
    let stored = to_kafka(&full.sent);
    assert_eq!(stored.key.as_deref(), Some(&b"k-1"[..]));
    assert_eq!(stored.value.as_deref(), Some(&b"data"[..]));
    assert_eq!(stored.timestamp_ms, 1_767_225_600_456, "creation-time");
    assert_eq!(
        stored.expiry_ms,
        Some(1_900_000_000_000),
        "absolute-expiry-time wins over ttl"
    );
    assert!(stored.durable);
    for (name, bytes) in &full.sections {
        assert_eq!(
            stored_header(&stored, name),
            Some(bytes.as_slice()),
            "{name}"
        );
    }
    assert_eq!(stored_header(&stored, BODY), None, "the value rebuilds it");
    let plain: Vec<(&str, Option<&[u8]>)> = stored
        .headers
        .iter()
        .filter(|h| !h.key.starts_with("amqp."))
        .map(|h| (h.key.as_str(), h.value.as_deref()))
        .collect();
    assert_eq!(
        plain,
        [
            ("s", Some(&b"text"[..])),
            ("i", Some(&b"-5"[..])),
            ("b", Some(&b"false"[..])),
            ("d", Some(&b"2.5"[..])),
            ("bin", Some(&[0, 1][..])),
            ("nil", None),
            ("sluice-group-id", Some(&b"group-a"[..])),
        ],
        "a sluice-* property is not copied; group-id is the broker's group header"
    );
}

#[test]
fn a_ttl_without_absolute_expiry_expires_that_long_after_arrival() {
    let mut payload = enc(&Header {
        ttl: Some(5_000),
        ..Header::default()
    });
    payload.extend(enc(&Data(Binary::from(b"v".to_vec()))));
    let stored = to_kafka(&payload);
    assert_eq!(stored.expiry_ms, Some(NOW_MS + 5_000));
    assert_eq!(stored.timestamp_ms, NOW_MS, "no creation-time: arrival");
    assert!(!stored.durable);
}

/// A body kind: its name, its sections, the record value Kafka consumers read, and whether
/// `amqp.body` is kept.
type BodyCase = (&'static str, Vec<u8>, Option<Vec<u8>>, bool);

fn bodies() -> Vec<BodyCase> {
    let data = |b: &[u8]| enc(&Data(Binary::from(b.to_vec())));
    let value = |v: Value| enc(&AmqpValue(v));
    let two_data = [data(b"one"), data(b"two")].concat();
    let sequences = [
        enc(&AmqpSequence(vec![
            Value::Int(1),
            Value::String("a".into()),
        ])),
        enc(&AmqpSequence(vec![Value::Bool(true)])),
    ]
    .concat();
    let list = value(Value::List(vec![Value::Int(1), Value::Null]));
    let map = value(Value::Map(
        [(Value::String("k".into()), Value::Long(2))]
            .into_iter()
            .collect(),
    ));
    vec![
        ("one data", data(b"bytes"), Some(b"bytes".to_vec()), false),
        ("two data", two_data.clone(), Some(two_data), true),
        (
            "string",
            value(Value::String("héllo".into())),
            Some("héllo".as_bytes().to_vec()),
            true,
        ),
        (
            "binary",
            value(Value::Binary(Binary::from(vec![0, 0xff]))),
            Some(vec![0, 0xff]),
            true,
        ),
        ("null", value(Value::Null), None, true),
        (
            "int",
            value(Value::Int(7)),
            Some(value(Value::Int(7))),
            true,
        ),
        (
            "double",
            value(Value::Double(1.25f64.into())),
            Some(value(Value::Double(1.25f64.into()))),
            true,
        ),
        (
            "boolean",
            value(Value::Bool(true)),
            Some(value(Value::Bool(true))),
            true,
        ),
        (
            "symbol",
            value(Value::Symbol(Symbol::from("sym"))),
            Some(value(Value::Symbol(Symbol::from("sym")))),
            true,
        ),
        ("list", list.clone(), Some(list), true),
        ("map", map.clone(), Some(map), true),
        ("two sequences", sequences.clone(), Some(sequences), true),
        ("no body", Vec::new(), None, true),
    ]
}

#[test]
fn each_body_kind_has_a_defined_value_and_round_trips_to_amqp_receivers() {
    for (kind, body, value, kept) in bodies() {
        let full = full_message(body.clone());
        let stored = to_kafka(&full.sent);
        assert_eq!(stored.value, value, "{kind}: value");
        assert_eq!(
            stored_header(&stored, BODY),
            kept.then_some(body.as_slice()),
            "{kind}: amqp.body"
        );
        // A Kafka consumer re-produces the record unchanged to another topic.
        let got = to_amqp(clone(&stored));
        assert_eq!(got, full.kept, "{kind}: sections byte for byte");
    }
}

// -- Round trips ---------------------------------------------------------------------------------

/// Records a Kafka producer may write: keys, values and headers of every kind.
fn kafka_records() -> Vec<Message> {
    let mut with_expiry = record(Some(b"k"), Some(b"v"), vec![header("a", Some(b"1"))]);
    with_expiry.expiry_ms = Some(1_800_000_000_000);
    vec![
        record(Some(b"key"), Some(b"value"), vec![]),
        record(None, Some(b""), vec![]),
        record(Some(&[0xff, 0xfe]), Some(&[0, 1, 2, 0xff]), vec![]),
        record(Some(b"tombstone"), None, vec![]),
        record(
            Some(b""),
            Some(b"v"),
            vec![
                header("text", Some(b"t")),
                header("bin", Some(&[0xff])),
                header("none", None),
                header("empty", Some(b"")),
            ],
        ),
        record(
            None,
            Some(b"v"),
            vec![
                header("dup", Some(b"1")),
                header("other", None),
                header("dup", Some(b"2")),
                header("dup", None),
            ],
        ),
        record(
            None,
            Some(b"v"),
            vec![
                header("sluice-group-id", Some(b"g")),
                header("sluice-original-address", Some(b"orders")),
                header("x", Some(b"1")),
            ],
        ),
        // A Kafka producer's malformed `amqp.*` headers are its own headers.
        record(
            None,
            Some(b"v"),
            vec![
                header(HEADER, Some(&[0xff, 1])),
                header(BODY, None),
                header("amqp.other", Some(b"x")),
            ],
        ),
        with_expiry,
    ]
}

#[test]
fn kafka_to_amqp_to_kafka_gives_every_field_of_the_record_back() {
    for r in kafka_records() {
        let payload = to_amqp(clone(&r));
        let back = to_kafka(&payload);
        assert_eq!(fields(&back), fields(&r), "{:?}", decode(&payload));
    }
}

/// `payload` with the annotations of a record's position, as a broker that knows the
/// position sends it.
fn with_position(payload: &[u8], partition: Value, offset: Value) -> Vec<u8> {
    let mut m = decode(payload);
    let annotations = m.message_annotations.get_or_insert_with(Default::default);
    annotations.insert(symbol_key(PARTITION), partition);
    annotations.insert(symbol_key(OFFSET), offset);
    split_message(&m).concat()
}

/// The sections of `m`, encoded, in order.
fn split_message(m: &AmqpMessage) -> Vec<Vec<u8>> {
    let mut out = vec![enc(m.header.as_ref().unwrap())];
    out.push(enc(m.message_annotations.as_ref().unwrap()));
    out.push(enc(m.properties.as_ref().unwrap()));
    if let Some(ap) = &m.application_properties {
        out.push(enc(ap));
    }
    match &m.body {
        Body::Data(d) => out.extend(d.iter().map(enc)),
        Body::Value(v) => out.push(enc(v)),
        other => panic!("{other:?}"),
    }
    out
}

#[test]
fn the_position_annotations_of_a_record_sent_on_are_not_data() {
    let r = record(Some(b"k"), Some(b"v"), vec![header("h", Some(b"1"))]);
    let payload = with_position(&to_amqp(clone(&r)), Value::Int(3), Value::Long(42));
    assert_eq!(fields(&to_kafka(&payload)), fields(&r));
    // Of another type they are the client's own annotations: the message is kept whole.
    let payload = with_position(&to_amqp(clone(&r)), Value::Long(3), Value::Long(42));
    let stored = to_kafka(&payload);
    assert!(stored_header(&stored, MESSAGE_ANNOTATIONS).is_some());
}

#[test]
fn amqp_to_kafka_to_amqp_gives_every_section_back_byte_for_byte() {
    let full = full_message(enc(&Data(Binary::from(b"data".to_vec()))));
    let stored = to_kafka(&full.sent);
    assert_eq!(to_amqp(clone(&stored)), full.kept);
}

/// A plain record's AMQP form with one thing changed that a record cannot say.
fn not_plain() -> Vec<(&'static str, Vec<u8>)> {
    let r = record(Some(b"k"), Some(b"v"), vec![header("h", Some(b"1"))]);
    let base = decode(&to_amqp(r));
    let mut cases = Vec::new();
    let mut add = |what: &'static str, change: &dyn Fn(&mut AmqpMessage)| {
        let mut m = base.clone();
        change(&mut m);
        cases.push((what, split_message(&m).concat()));
    };
    add("a message-id", &|m| {
        m.properties.as_mut().unwrap().message_id = Some(MessageId::String("id".into()));
    });
    add("a ttl", &|m| m.header.as_mut().unwrap().ttl = Some(1_000));
    add("a priority", &|m| {
        m.header.as_mut().unwrap().priority = Priority(9);
    });
    add("not durable", &|m| {
        m.header.as_mut().unwrap().durable = false
    });
    add("a symbol key", &|m| {
        m.message_annotations
            .as_mut()
            .unwrap()
            .insert(symbol_key(PARTITION_KEY), Value::Symbol(Symbol::from("k")));
    });
    add("a UTF-8 binary key", &|m| {
        m.message_annotations.as_mut().unwrap().insert(
            symbol_key(PARTITION_KEY),
            Value::Binary(Binary::from(b"k".to_vec())),
        );
    });
    add("another annotation", &|m| {
        m.message_annotations
            .as_mut()
            .unwrap()
            .insert(symbol_key("x-opt-jms-dest"), Value::Byte(0));
    });
    add("an int property", &|m| {
        m.application_properties
            .as_mut()
            .unwrap()
            .insert("n".into(), SimpleValue::Int(1));
    });
    add("a UTF-8 binary property", &|m| {
        m.application_properties
            .as_mut()
            .unwrap()
            .insert("h".into(), SimpleValue::Binary(Binary::from(b"1".to_vec())));
    });
    add("a broker property", &|m| {
        m.application_properties
            .as_mut()
            .unwrap()
            .insert("sluice-group-id".into(), SimpleValue::String("g".into()));
    });
    add("a header list that disagrees", &|m| {
        let pair = Value::List(vec![Value::String("h".into()), Value::Null]);
        m.message_annotations.as_mut().unwrap().insert(
            symbol_key(KAFKA_HEADERS),
            Value::List(vec![pair.clone(), pair]),
        );
    });
    add("a header list not needed", &|m| {
        let pair = Value::List(vec![
            Value::String("h".into()),
            Value::Binary(Binary::from(b"1".to_vec())),
        ]);
        m.message_annotations
            .as_mut()
            .unwrap()
            .insert(symbol_key(KAFKA_HEADERS), Value::List(vec![pair]));
    });
    add("an amqp-value string body", &|m| {
        m.body = Body::Value(AmqpValue(Value::String("v".into())));
    });
    add("a property named like a section", &|m| {
        let section = enc(&Properties::default());
        m.application_properties.as_mut().unwrap().insert(
            PROPERTIES.into(),
            SimpleValue::Binary(Binary::from(section)),
        );
    });
    cases
}

#[test]
fn a_message_with_anything_a_record_cannot_say_keeps_its_sections() {
    for (what, payload) in not_plain() {
        let stored = to_kafka(&payload);
        assert!(
            stored_header(&stored, HEADER).is_some(),
            "{what}: stored as an AMQP message"
        );
        assert_eq!(to_amqp(stored), payload, "{what}: byte for byte back");
    }
}

#[test]
fn a_last_value_property_on_a_plain_message_adds_the_brokers_header() {
    let r = record(
        None,
        Some(b"v"),
        vec![header("_AMQ_LVQ_NAME", Some(b"EURUSD"))],
    );
    let back = to_kafka(&to_amqp(clone(&r)));
    let names: Vec<&str> = back.headers.iter().map(|h| h.key.as_str()).collect();
    assert_eq!(names, ["_AMQ_LVQ_NAME", "sluice-last-value"]);
}
