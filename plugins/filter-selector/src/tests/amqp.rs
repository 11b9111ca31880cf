use fe2o3_amqp_types::messaging::{Header as AmqpHeader, MessageId, Properties};
use serde_amqp::primitives::Timestamp;
use sluice_filter_props::{HEADER, PROPERTIES};

use super::*;

fn with_sections(header: Option<AmqpHeader>, properties: Option<Properties>) -> Message {
    let mut headers = Vec::new();
    if let Some(h) = header {
        headers.push(section(HEADER, &h));
    }
    if let Some(p) = properties {
        headers.push(section(PROPERTIES, &p));
    }
    let mut m = message(headers);
    m.expiry_ms = Some(99);
    m
}

#[test]
fn jms_priority_and_delivery_mode_from_the_header_section() {
    let urgent = with_sections(
        Some(AmqpHeader {
            durable: false,
            priority: 7.into(),
            ..AmqpHeader::default()
        }),
        None,
    );
    assert!(selects("JMSPriority > 5", &urgent));
    assert!(selects("JMSPriority = 7", &urgent));
    assert!(selects("JMSDeliveryMode = 'NON_PERSISTENT'", &urgent));

    let durable = with_sections(
        Some(AmqpHeader {
            durable: true,
            ..AmqpHeader::default()
        }),
        None,
    );
    assert!(selects("JMSPriority = 4", &durable));
    assert!(selects("JMSDeliveryMode = 'PERSISTENT'", &durable));

    // An AMQP message without a header section: the AMQP defaults.
    let bare = with_sections(None, Some(Properties::default()));
    assert!(selects(
        "JMSPriority = 4 AND JMSDeliveryMode = 'NON_PERSISTENT'",
        &bare
    ));

    // From Kafka: stored, so persistent.
    let record = kafka(&[]);
    assert!(selects(
        "JMSPriority = 4 AND JMSDeliveryMode = 'PERSISTENT'",
        &record
    ));
}

#[test]
fn jms_fields_from_the_properties_section() {
    let m = with_sections(
        None,
        Some(Properties {
            message_id: Some(MessageId::String("ID:abc-1".into())),
            correlation_id: Some(MessageId::Ulong(42)),
            subject: Some("invoice".into()),
            creation_time: Some(Timestamp::from_milliseconds(1_000)),
            absolute_expiry_time: Some(Timestamp::from_milliseconds(5_000)),
            ..Properties::default()
        }),
    );
    assert!(selects("JMSMessageID = 'ID:abc-1'", &m));
    assert!(selects("JMSCorrelationID = 'ID:AMQP_ULONG:42'", &m));
    assert!(selects("JMSType = 'invoice'", &m));
    assert!(selects("JMSTimestamp = 1000", &m));
    assert!(selects("JMSExpiration = 5000", &m));

    let binary_id = with_sections(
        None,
        Some(Properties {
            message_id: Some(MessageId::Binary(vec![0x0a, 0x1b].into())),
            ..Properties::default()
        }),
    );
    assert!(selects("JMSMessageID = 'ID:AMQP_BINARY:0A1B'", &binary_id));
    assert!(selects(
        "JMSType IS NULL AND JMSCorrelationID IS NULL",
        &binary_id
    ));
    assert!(selects(
        "JMSTimestamp = 1700000000000 AND JMSExpiration = 99",
        &binary_id
    ));
}

#[test]
fn jms_fields_of_a_kafka_record() {
    let mut m = kafka(&[("JMSType", "not-a-field")]);
    assert!(selects("JMSTimestamp = 1700000000000", &m));
    assert!(selects("JMSExpiration = 0", &m));
    m.expiry_ms = Some(7);
    assert!(selects("JMSExpiration = 7", &m));
    // A JMS name is the field, never a header of that name.
    assert!(selects("JMSType IS NULL AND JMSMessageID IS NULL", &m));
}

#[test]
fn application_properties_from_a_real_encoding() {
    let m = amqp(
        ApplicationProperties::builder()
            .insert("region", "eu")
            .insert("tiny", 250u8)
            .insert("small", -3i16)
            .insert("wide", 5_000_000_000u64)
            .insert("ratio", 0.5f32)
            .insert("grade", 'A')
            .insert("ok", false)
            .build(),
    );
    assert!(selects(
        "region = 'eu' AND tiny = 250 AND small < 0 AND wide > 4e9 AND ratio = 0.5 \
         AND grade = 'A' AND ok = FALSE AND NOT ok",
        &m
    ));
    // Application properties come before a record header of the same name.
    let mut both = m.clone();
    both.headers.push(header("region", "us"));
    assert!(selects("region = 'eu'", &both));
}

#[test]
fn a_broken_section_is_as_if_absent() {
    let mut m = with_sections(
        Some(AmqpHeader {
            priority: 9.into(),
            ..AmqpHeader::default()
        }),
        None,
    );
    m.headers[0].value = Some(vec![0x00, 0x53, 0x70, 0xc0, 0x09]);
    assert!(selects("JMSPriority = 4", &m));
}
