use fe2o3_amqp_types::messaging::{ApplicationProperties, Header as AmqpHeader, Properties};
use fe2o3_amqp_types::primitives::SimpleValue;
use serde_amqp::primitives::Timestamp;

use super::*;
use crate::sections::is_flat_section;

fn header(key: &str, value: Option<&[u8]>) -> Header {
    Header {
        key: key.to_owned(),
        value: value.map(<[u8]>::to_vec),
    }
}

fn application(properties: ApplicationProperties) -> Header {
    let bytes = serde_amqp::to_vec(&properties).unwrap();
    header(APPLICATION_PROPERTIES, Some(&bytes))
}

fn typed() -> ApplicationProperties {
    ApplicationProperties::builder()
        .insert("color", "red")
        .insert("weight", 2.75f64)
        .insert("ratio", 1.1f32)
        .insert("count", 7i32)
        .insert("tiny", 200u8)
        .insert("huge", u64::MAX)
        .insert("fresh", true)
        .insert("initial", 'x')
        .insert(
            "when",
            SimpleValue::Timestamp(Timestamp::from_milliseconds(5)),
        )
        .build()
}

#[test]
fn application_properties_decode_to_jms_types() {
    let headers = [application(typed())];
    let props = Props::new(&headers);
    let value = |name| props.get(name).unwrap().value;
    assert_eq!(value("color"), Value::Str("red"));
    assert_eq!(value("weight"), Value::Double(2.75));
    assert_eq!(value("ratio"), Value::Float(1.1));
    assert_eq!(value("count"), Value::Long(7));
    assert_eq!(value("tiny"), Value::Long(200));
    assert_eq!(value("huge"), Value::Double(u64::MAX as f64));
    assert_eq!(value("fresh"), Value::Bool(true));
    assert_eq!(value("initial"), Value::Str("x"));
    assert_eq!(value("when"), Value::Null);
    assert_eq!(props.get("color").unwrap().origin, Origin::Application);
    assert_eq!(props.get("absent"), None);
}

#[test]
fn values_render_as_text() {
    let headers = [application(typed())];
    let props = Props::new(&headers);
    let text = |name| {
        props
            .get(name)
            .unwrap()
            .value
            .render()
            .map(|t| t.into_owned())
    };
    assert_eq!(text("color").as_deref(), Some("red"));
    assert_eq!(text("weight").as_deref(), Some("2.75"));
    assert_eq!(text("ratio").as_deref(), Some("1.1"));
    assert_eq!(text("count").as_deref(), Some("7"));
    assert_eq!(text("fresh").as_deref(), Some("true"));
    assert_eq!(text("when"), None);
}

#[test]
fn record_headers_are_text_or_null() {
    let headers = [
        header("region", Some(b"eu-west")),
        header("blob", Some(&[0xff, 0xfe])),
        header("flag", None),
        header("region", Some(b"second")),
    ];
    let props = Props::new(&headers);
    let region = props.get("region").unwrap();
    assert_eq!(region.value, Value::Str("eu-west"));
    assert_eq!(region.origin, Origin::Record);
    assert_eq!(props.get("blob").unwrap().value, Value::Null);
    assert_eq!(props.get("flag").unwrap().value, Value::Null);
}

#[test]
fn application_properties_come_before_headers() {
    let headers = [
        header("color", Some(b"blue")),
        application(
            ApplicationProperties::builder()
                .insert("color", "red")
                .build(),
        ),
    ];
    let props = Props::new(&headers);
    let found = props.get("color").unwrap();
    assert_eq!(found.value, Value::Str("red"));
    assert_eq!(found.origin, Origin::Application);
}

#[test]
fn host_headers_are_hidden() {
    let headers = [
        header("sluice-expiry-ms", Some(b"5")),
        header("amqp.body", Some(b"x")),
        application(
            ApplicationProperties::builder()
                .insert("sluice-group-id", "g")
                .build(),
        ),
    ];
    let props = Props::new(&headers);
    assert_eq!(props.get("sluice-expiry-ms"), None);
    assert_eq!(props.get("amqp.body"), None);
    assert_eq!(props.get(APPLICATION_PROPERTIES), None);
    assert_eq!(props.get("sluice-group-id"), None);
}

#[test]
fn sections_decode() {
    let amqp = AmqpHeader {
        durable: true,
        priority: 7.into(),
        ..AmqpHeader::default()
    };
    let properties = Properties {
        subject: Some("invoice".into()),
        message_id: Some(MessageId::String("ID:1".into())),
        ..Properties::default()
    };
    let headers = [
        header(HEADER, Some(&serde_amqp::to_vec(&amqp).unwrap())),
        header(PROPERTIES, Some(&serde_amqp::to_vec(&properties).unwrap())),
    ];
    assert!(is_amqp(&headers));
    let decoded = amqp_header(&headers).unwrap();
    assert!(decoded.durable);
    assert_eq!(decoded.priority.0, 7);
    assert_eq!(
        amqp_properties(&headers).unwrap().subject.as_deref(),
        Some("invoice")
    );
    assert!(!is_amqp(&[header("color", Some(b"red"))]));
}

#[test]
fn nested_or_broken_sections_are_absent() {
    // application-properties whose value is a list holding a list: not flat.
    let nested = [
        0x00, 0x53, 0x74, 0xc1, 0x08, 0x02, 0xa1, 0x01, b'a', 0xc0, 0x02, 0x01, 0x40,
    ];
    assert!(!is_flat_section(&nested));
    let headers = [header(APPLICATION_PROPERTIES, Some(&nested))];
    assert_eq!(Props::new(&headers).get("a").map(|f| f.origin), None);
    // A count the bytes cannot hold.
    assert!(!is_flat_section(&[
        0x00, 0x53, 0x74, 0xd1, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff
    ]));
    // A deep chain of described values.
    let mut deep = vec![0x00; 100_000];
    deep.push(0x40);
    let headers = [header(HEADER, Some(&deep)), header(PROPERTIES, Some(&deep))];
    assert!(amqp_header(&headers).is_none());
    assert!(amqp_properties(&headers).is_none());
}

/// Random and mutated section bytes never panic the decoders.
#[test]
fn hostile_sections_never_panic() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let valid = [
        serde_amqp::to_vec(&typed()).unwrap(),
        serde_amqp::to_vec(&AmqpHeader::default()).unwrap(),
        serde_amqp::to_vec(&Properties {
            subject: Some("s".into()),
            ..Properties::default()
        })
        .unwrap(),
    ];
    for round in 0..20_000 {
        let mut bytes = valid[round % valid.len()].clone();
        if round % 4 == 0 {
            bytes = (0..next() % 40).map(|_| next() as u8).collect();
        } else {
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % bytes.len().max(1);
                if let Some(b) = bytes.get_mut(at) {
                    *b = next() as u8;
                }
            }
            bytes.truncate(bytes.len() - (next() as usize % 3).min(bytes.len()));
        }
        let headers = [
            header(HEADER, Some(&bytes)),
            header(PROPERTIES, Some(&bytes)),
            header(APPLICATION_PROPERTIES, Some(&bytes)),
        ];
        let _ = amqp_header(&headers);
        let _ = amqp_properties(&headers);
        let _ = Props::new(&headers).get("color");
    }
}
