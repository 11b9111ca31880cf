//! The configuration's conditions: parsed, checked and judged against a message's properties.

use sluice_filter_props::{Props, is_hidden};

/// One condition of the configuration.
#[derive(Debug, PartialEq, Eq)]
pub enum Condition {
    /// `name=value`.
    Equals(String, String),
    /// `name!=value`.
    Differs(String, String),
    /// `name`.
    Present(String),
}

/// Parses a configuration; `Err` says what is wrong, for the operator.
pub fn parse(config: &str) -> Result<Vec<Condition>, String> {
    let mut conditions = Vec::new();
    for (index, text) in config.split([',', '\n']).map(str::trim).enumerate() {
        if text.is_empty() {
            continue;
        }
        let condition = match text.split_once('=') {
            Some((name, value)) => match name.strip_suffix('!') {
                Some(name) => Condition::Differs(name.trim().to_owned(), value.trim().to_owned()),
                None => Condition::Equals(name.trim().to_owned(), value.trim().to_owned()),
            },
            None => Condition::Present(text.to_owned()),
        };
        let name = condition.name();
        let number = index + 1;
        if name.is_empty() {
            return Err(format!("condition {number} (`{text}`) has no name"));
        }
        if is_hidden(name) {
            return Err(format!(
                "condition {number} (`{text}`): names starting with `sluice-` or `amqp.` are \
                 the broker's own headers, not properties"
            ));
        }
        conditions.push(condition);
    }
    if conditions.is_empty() {
        return Err(
            "no conditions: give `name=value`, `name!=value` or `name`, separated by \
                    commas or newlines"
                .to_owned(),
        );
    }
    Ok(conditions)
}

impl Condition {
    fn name(&self) -> &str {
        match self {
            Condition::Equals(name, _) | Condition::Differs(name, _) | Condition::Present(name) => {
                name
            }
        }
    }

    /// Whether the message whose properties are `props` meets it.
    pub fn holds(&self, props: &Props<'_>) -> bool {
        let equals = |name: &str, value: &str| {
            props
                .get(name)
                .and_then(|found| found.value.render().map(|text| text == value))
                .unwrap_or(false)
        };
        match self {
            Condition::Equals(name, value) => equals(name, value),
            Condition::Differs(name, value) => !equals(name, value),
            Condition::Present(name) => props.get(name).is_some(),
        }
    }
}
