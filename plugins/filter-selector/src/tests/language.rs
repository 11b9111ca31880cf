use fe2o3_amqp_types::messaging::ApplicationProperties;

use super::*;

fn typed() -> Message {
    amqp(
        ApplicationProperties::builder()
            .insert("color", "red")
            .insert("weight", 2.75f64)
            .insert("count", 3i32)
            .insert("fresh", true)
            .insert("code", "3")
            .insert("path", "a_b%c")
            .build(),
    )
}

#[test]
fn the_classic_example() {
    let s = "color = 'red' AND weight > 2.5";
    assert!(selects(s, &typed()));
    assert!(selects(s, &kafka(&[("color", "red"), ("weight", "2.6")])));
    assert!(!selects(s, &kafka(&[("color", "red"), ("weight", "2.5")])));
    assert!(!selects(s, &kafka(&[("color", "blue"), ("weight", "9")])));
    assert!(!selects(s, &kafka(&[("color", "red")])));
}

#[test]
fn like() {
    let m = typed();
    assert!(selects("color LIKE 'r%'", &m));
    assert!(selects("color LIKE '_e_'", &m));
    assert!(!selects("color LIKE '_e'", &m));
    assert!(selects("color NOT LIKE 'b%'", &m));
    assert!(selects(r"path LIKE 'a\_b\%c' ESCAPE '\'", &m));
    assert!(selects("path LIKE 'a!_b%' ESCAPE '!'", &m));
    assert!(!selects("path LIKE 'a!_c%' ESCAPE '!'", &m));
    assert!(selects("path like 'A%' or path like 'a%'", &m));
    assert!(unknown("missing LIKE '%'", &m));
    assert!(unknown("missing NOT LIKE '%'", &m));
    assert!(unknown("count LIKE '3'", &m));
}

#[test]
fn in_lists() {
    let m = typed();
    assert!(selects("color IN ('blue', 'red')", &m));
    assert!(!selects("color IN ('blue', 'green')", &m));
    assert!(selects("color NOT IN ('blue', 'green')", &m));
    assert!(!selects("color NOT IN ('red')", &m));
    assert!(unknown("missing IN ('x')", &m));
    assert!(unknown("missing NOT IN ('x')", &m));
    assert!(selects("q IN ('it''s')", &kafka(&[("q", "it's")])));
}

#[test]
fn between() {
    let m = typed();
    assert!(selects("count BETWEEN 1 AND 3", &m));
    assert!(selects("weight BETWEEN 2 AND 3", &m));
    assert!(!selects("weight BETWEEN 3 AND 4", &m));
    assert!(selects("weight NOT BETWEEN 3 AND 4", &m));
    assert!(selects("count BETWEEN 2.5 AND 3.0", &m));
    assert!(unknown("missing BETWEEN 1 AND 2", &m));
    assert!(unknown("color BETWEEN 1 AND 2", &m));
    assert!(selects("n BETWEEN -1 AND 1e1", &kafka(&[("n", "7")])));
}

#[test]
fn is_null() {
    let m = typed();
    assert!(selects("missing IS NULL", &m));
    assert!(!selects("missing IS NOT NULL", &m));
    assert!(selects("color IS NOT NULL", &m));
    assert!(!selects("color IS NULL", &m));
    let no_value = message(vec![Header {
        key: "flag".into(),
        value: None,
    }]);
    assert!(selects("flag IS NULL", &no_value));
    let binary = message(vec![Header {
        key: "blob".into(),
        value: Some(vec![0xff]),
    }]);
    assert!(selects("blob IS NULL", &binary));
}

#[test]
fn three_valued_logic() {
    let m = typed();
    assert!(unknown("missing = 1", &m));
    assert!(unknown("NOT (missing = 1)", &m));
    assert!(selects("missing = 1 OR TRUE", &m));
    assert!(selects("TRUE OR missing = 1", &m));
    assert!(unknown("missing = 1 OR FALSE", &m));
    assert!(unknown("missing = 1 AND TRUE", &m));
    assert!(!selects("missing = 1 AND FALSE", &m));
    assert!(selects("NOT (missing = 1 AND FALSE)", &m));
    assert!(selects("missing <> 1 OR missing IS NULL", &m));
}

#[test]
fn arithmetic() {
    let m = typed();
    assert!(selects("count * 2 + 1 = 7", &m));
    assert!(selects("1 + 2 * 3 = 7", &m));
    assert!(selects("(1 + 2) * 3 = 9", &m));
    assert!(selects("10 / 4 = 2", &m));
    assert!(selects("10 / 4.0 = 2.5", &m));
    assert!(selects("-count = -3", &m));
    assert!(selects("- -count = +3", &m));
    assert!(selects("weight - 0.75 = 2", &m));
    assert!(selects("10 - 2 - 3 = 5", &m));
    assert!(selects(
        "9223372036854775807 + 1 = -9223372036854775808",
        &m
    ));
    assert!(selects("7L = 7 AND 1e3 = 1000 AND .5 = 0.5 AND 2f = 2", &m));
    assert!(unknown("1 / 0 = 1", &m));
    assert!(selects("1 / 0.0 > 1e308", &m));
    assert!(unknown("missing + 1 = 1", &m));
    assert!(unknown("color + 1 = 1", &m));
}

#[test]
fn type_rules() {
    let m = typed();
    assert!(unknown("color = 1", &m));
    // An application property's string is a string, even when it reads as a number.
    assert!(unknown("code = 3", &m));
    assert!(selects("code = '3'", &m));
    assert!(selects("fresh", &m));
    assert!(selects("fresh = TRUE", &m));
    assert!(selects("fresh <> false", &m));
    assert!(unknown("fresh > FALSE", &m));
    assert!(unknown("fresh = 1", &m));
    assert!(unknown("color > 'a'", &m));
    // A string is not a condition: neither it nor its negation selects.
    assert!(!selects("color", &m) && !selects("NOT color", &m));
    assert!(selects("count = 3.0", &m));
    assert!(selects("TrUe AnD NoT FaLsE", &m));
}

#[test]
fn kafka_headers_read_as_numbers_when_they_meet_one() {
    let m = kafka(&[
        ("weight", "2.75"),
        ("n", "-7"),
        ("word", "seven"),
        ("big", "1e3"),
    ]);
    assert!(selects("weight > 2.5 AND weight < 3", &m));
    assert!(selects("n = -7 AND n + 10 = 3 AND -n = 7", &m));
    assert!(selects("big = 1000", &m));
    assert!(unknown("word > 1", &m));
    assert!(selects("weight = '2.75'", &m));
    assert!(unknown("weight > '2'", &m));
    // Two headers meet as strings.
    assert!(!selects(
        "weight = n",
        &kafka(&[("weight", "1"), ("n", "1.0")])
    ));
    assert!(selects(
        "weight = n",
        &kafka(&[("weight", "1"), ("n", "1")])
    ));
}

#[test]
fn host_headers_are_invisible() {
    // `sluice-*` and `amqp.*` cannot even be written as names (this is a subtraction of
    // three missing names); the lookup hides them too.
    let m = kafka(&[("sluice-expiry-ms", "5")]);
    assert!(unknown("sluice-expiry-ms = 5", &m));
    assert!(Selector::parse("amqp.header IS NULL").is_err());
}

#[test]
fn empty_selects_everything() {
    assert!(selects("", &typed()));
    assert!(selects("  \n ", &kafka(&[])));
}
