//! Address settings rules as TOML tables, spelled as the configuration spells them: the form
//! in which rules are compared field by field, reported and recorded. Two rules that mean the
//! same render the same (a selector written as a string or as a `{ plugin, config }` table).
use sluice_queues::{AddressSettingsRule, FilterRef};
use toml::{Table, Value};

/// `rule` as a table, `match` included, unset fields left out.
pub fn table(rule: &AddressSettingsRule) -> Table {
    // Destructured whole, so that a field added to the rule fails to compile here until it is
    // rendered too.
    let AddressSettingsRule {
        pattern,
        dead_letter_address,
        max_delivery_attempts,
        redelivery_delay_ms,
        redelivery_multiplier,
        max_redelivery_delay_ms,
        expiry_address,
        expiry_delay_ms,
        default_routing_type,
        auto_create_addresses,
        auto_create_queues,
        router,
        router_config,
        publish_filter,
        delivery_filter,
        last_value_key,
        ring_size,
    } = rule;
    let mut t = Table::new();
    t.insert("match".to_owned(), Value::String(pattern.clone()));
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            t.insert(key.to_owned(), value);
        }
    };
    put("dead-letter-address", text(dead_letter_address));
    put(
        "max-delivery-attempts",
        max_delivery_attempts.map(|n| Value::Integer(n.into())),
    );
    put("redelivery-delay-ms", redelivery_delay_ms.map(unsigned));
    put(
        "redelivery-multiplier",
        redelivery_multiplier.map(Value::Float),
    );
    put(
        "max-redelivery-delay-ms",
        max_redelivery_delay_ms.map(unsigned),
    );
    put("expiry-address", text(expiry_address));
    put("expiry-delay-ms", expiry_delay_ms.map(Value::Integer));
    put(
        "default-routing-type",
        default_routing_type.map(|r| Value::String(r.as_str().to_owned())),
    );
    put(
        "auto-create-addresses",
        auto_create_addresses.map(Value::Boolean),
    );
    put("auto-create-queues", auto_create_queues.map(Value::Boolean));
    put("router", text(router));
    put("router-config", text(router_config));
    put("publish-filter", publish_filter.as_ref().map(filter));
    put("delivery-filter", delivery_filter.as_ref().map(filter));
    put("last-value-key", text(last_value_key));
    put("ring-size", ring_size.map(unsigned));
    t
}

/// A filter as a `{ plugin, config }` table.
pub fn filter(filter: &FilterRef) -> Value {
    let mut t = Table::new();
    t.insert("plugin".to_owned(), Value::String(filter.plugin.clone()));
    t.insert("config".to_owned(), Value::String(filter.config.clone()));
    Value::Table(t)
}

fn text(value: &Option<String>) -> Option<Value> {
    value.clone().map(Value::String)
}

/// TOML integers are signed: a value beyond `i64::MAX` (which no setting means) is kept as
/// text rather than wrapped.
fn unsigned(n: u64) -> Value {
    i64::try_from(n)
        .map(Value::Integer)
        .unwrap_or_else(|_| Value::String(n.to_string()))
}

/// A value as a report shows it: strings quoted, tables inline.
pub fn show(value: Option<&Value>) -> String {
    match value {
        None => "unset".to_owned(),
        Some(Value::Table(t)) => {
            let fields: Vec<String> = t.iter().map(|(k, v)| format!("{k} = {v}")).collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Some(v) => v.to_string(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(text: &str) -> AddressSettingsRule {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn a_selector_as_text_and_as_a_table_render_the_same() {
        let a = rule("match = \"a.#\"\npublish-filter = \"x = 1\"\n");
        let b = rule(
            "match = \"a.#\"\npublish-filter = { plugin = \"selector\", config = \"x = 1\" }\n",
        );
        assert_eq!(table(&a), table(&b));
    }

    #[test]
    fn a_rendered_rule_reads_back_as_the_same_rule() {
        let original = rule(
            "match = \"orders.#\"\ndead-letter-address = \"DLQ\"\nmax-delivery-attempts = 3\n\
             redelivery-delay-ms = 100\nredelivery-multiplier = 2.0\ndefault-routing-type = \"anycast\"\n\
             auto-create-queues = false\nrouter = \"key-hash\"\nring-size = 5\n\
             delivery-filter = { plugin = \"match\", config = \"region=eu\" }\n",
        );
        let back: AddressSettingsRule = Value::Table(table(&original)).try_into().unwrap();
        assert_eq!(back, original);
    }
}
