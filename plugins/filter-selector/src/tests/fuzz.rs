//! Random selectors and random messages: `check` and evaluation must never panic.

use fe2o3_amqp_types::messaging::{ApplicationProperties, Header as AmqpHeader};
use sluice_filter_props::{APPLICATION_PROPERTIES, HEADER};

use super::*;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const PIECES: [&str; 48] = [
    "a",
    "b",
    "color",
    "weight",
    "JMSPriority",
    "JMSType",
    "JMSTimestamp",
    " ",
    "(",
    ")",
    ",",
    "=",
    "<>",
    "<",
    ">",
    "<=",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "NOT",
    "AND",
    "OR",
    "BETWEEN",
    "LIKE",
    "IN",
    "IS",
    "NULL",
    "ESCAPE",
    "TRUE",
    "false",
    "'red'",
    "'%e_'",
    "'!'",
    "''",
    "0",
    "1",
    "2.5",
    "1e3",
    "9223372036854775807",
    "7L",
    ".5",
    "'",
    "\"",
    "!",
    "é",
    "\u{0}",
];

fn random_selector(rng: &mut Rng) -> String {
    let mut text = String::new();
    for _ in 0..rng.below(24) {
        if rng.below(10) == 0 {
            text.push(char::from_u32(rng.next() as u32 % 0x3000).unwrap_or('?'));
        } else {
            text.push_str(rng.pick(&PIECES));
        }
        if rng.below(2) == 0 {
            text.push(' ');
        }
    }
    text
}

fn random_message(rng: &mut Rng) -> Message {
    let values = [
        "red",
        "2.5",
        "-3",
        "",
        "1e400",
        "NaN",
        "x",
        "9223372036854775808",
    ];
    let mut headers: Vec<Header> = (0..rng.below(4))
        .map(|_| header(rng.pick(&["a", "b", "color", "weight"]), rng.pick(&values)))
        .collect();
    if rng.below(2) == 0 {
        let props = ApplicationProperties::builder()
            .insert("a", rng.next() as i64)
            .insert("b", f64::from_bits(rng.next()))
            .insert("color", rng.pick(&values))
            .insert("weight", rng.below(2) == 0)
            .build();
        headers.push(section(APPLICATION_PROPERTIES, &props));
    }
    if rng.below(3) == 0 {
        let mut bytes = serde_amqp::to_vec(&AmqpHeader::default()).unwrap();
        let at = rng.below(bytes.len());
        bytes[at] = rng.next() as u8;
        headers.push(Header {
            key: HEADER.to_owned(),
            value: Some(bytes),
        });
    }
    let mut m = message(headers);
    m.timestamp_ms = rng.next() as i64;
    m
}

#[test]
fn random_input_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let messages: Vec<Message> = (0..32).map(|_| random_message(&mut rng)).collect();
    let mut parsed = 0;
    for _ in 0..50_000 {
        let text = random_selector(&mut rng);
        let Ok(selector) = Selector::parse(&text) else {
            continue;
        };
        parsed += 1;
        for m in &messages {
            let _ = selector.selects(m);
        }
    }
    // The alphabet makes enough valid selectors for evaluation to be exercised.
    assert!(parsed > 500, "only {parsed} parsed");
}

#[test]
fn random_bytes_never_panic_the_parser() {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    for _ in 0..20_000 {
        let bytes: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
        let _ = Selector::parse(&String::from_utf8_lossy(&bytes));
    }
}
