use fe2o3_amqp_types::messaging::ApplicationProperties;
use sluice_sdk::filter::Header;

use super::*;

fn message(headers: Vec<Header>) -> Message {
    Message {
        key: None,
        value: Some(b"body".to_vec()),
        headers,
        timestamp_ms: 0,
        durable: true,
        expiry_ms: None,
    }
}

fn header(key: &str, value: Option<&str>) -> Header {
    Header {
        key: key.to_owned(),
        value: value.map(|v| v.as_bytes().to_vec()),
    }
}

fn application(properties: ApplicationProperties) -> Header {
    Header {
        key: sluice_filter_props::APPLICATION_PROPERTIES.to_owned(),
        value: Some(serde_amqp::to_vec(&properties).unwrap()),
    }
}

fn kept(config: &str, messages: Vec<Message>) -> Vec<bool> {
    Match::apply(config, messages)
        .unwrap()
        .iter()
        .map(|v| matches!(v, Verdict::Keep))
        .collect()
}

#[test]
fn parses_the_three_forms() {
    assert_eq!(
        parse(" region = eu-west ,\n tier!=gold\r\n trace ,").unwrap(),
        [
            Condition::Equals("region".into(), "eu-west".into()),
            Condition::Differs("tier".into(), "gold".into()),
            Condition::Present("trace".into()),
        ]
    );
    assert_eq!(
        parse("empty=").unwrap(),
        [Condition::Equals("empty".into(), String::new())]
    );
    assert_eq!(
        parse("a=b=c").unwrap(),
        [Condition::Equals("a".into(), "b=c".into())]
    );
}

#[test]
fn refuses_what_cannot_match() {
    let err = |config| Match::check(config).unwrap_err();
    assert!(err("").contains("no conditions"));
    assert!(err(" ,\n ").contains("no conditions"));
    assert!(err("a=1, =2").contains("condition 2 (`=2`) has no name"));
    assert!(err("!=x").contains("has no name"));
    assert!(err("sluice-expiry-ms=5").contains("broker's own"));
    assert!(err("amqp.header").contains("broker's own"));
    assert_eq!(Match::check("a"), Ok(()));
}

#[test]
fn matches_record_headers_as_text() {
    let messages = vec![
        message(vec![
            header("region", Some("eu-west")),
            header("trace", None),
        ]),
        message(vec![header("region", Some("us-east"))]),
        message(vec![]),
    ];
    assert_eq!(
        kept("region=eu-west", messages.clone()),
        [true, false, false]
    );
    assert_eq!(
        kept("region!=eu-west", messages.clone()),
        [false, true, true]
    );
    assert_eq!(kept("trace", messages.clone()), [true, false, false]);
    assert_eq!(kept("trace=", messages.clone()), [false, false, false]);
    assert_eq!(kept("region, trace!=x", messages), [true, true, false]);
}

#[test]
fn matches_application_properties_rendered_as_text() {
    let props = ApplicationProperties::builder()
        .insert("color", "red")
        .insert("weight", 2.5f64)
        .insert("count", 7u16)
        .insert("fresh", false)
        .build();
    let m = || vec![message(vec![application(props.clone())])];
    assert_eq!(
        kept("color=red, weight=2.5, count=7, fresh=false", m()),
        [true]
    );
    assert_eq!(kept("count=7.0", m()), [false]);
    assert_eq!(kept("color!=red", m()), [false]);
    assert_eq!(kept("missing!=red, color", m()), [true]);
}

#[test]
fn host_headers_are_not_properties() {
    let m = vec![message(vec![header("sluice-expiry-ms", Some("5"))])];
    // Refused by check; and were it applied anyway, never present.
    assert!(Match::check("sluice-expiry-ms").is_err());
    assert!(Match::apply("sluice-expiry-ms", m).is_err());
}

#[test]
fn reports_its_name() {
    assert_eq!(Match::info().name, "filter-match");
}
