//! Property values: the JMS selector types (strings, booleans, longs, doubles) and NULL.

use std::borrow::Cow;

use fe2o3_amqp_types::primitives::SimpleValue;

/// A property's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value<'a> {
    /// Present without a value JMS can compare (a header without one, a binary, a timestamp...).
    Null,
    /// A boolean.
    Bool(bool),
    /// Any integer (an unsigned long above `i64::MAX` is a [`Value::Double`]).
    Long(i64),
    /// A float, kept apart from a double so it renders as the sender wrote it.
    Float(f32),
    /// A double.
    Double(f64),
    /// A string (a char is a string of one).
    Str(&'a str),
}

impl Value<'_> {
    /// The value as text: strings as they are, numbers in decimal, `true` / `false`; `None`
    /// for NULL.
    pub fn render(&self) -> Option<Cow<'_, str>> {
        Some(match self {
            Value::Null => return None,
            Value::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
            Value::Long(n) => Cow::Owned(n.to_string()),
            Value::Float(x) => Cow::Owned(x.to_string()),
            Value::Double(x) => Cow::Owned(x.to_string()),
            Value::Str(s) => Cow::Borrowed(s),
        })
    }
}

/// A decoded application property, owned by the message's [`crate::Props`].
pub(crate) enum Owned {
    Null,
    Bool(bool),
    Long(i64),
    Float(f32),
    Double(f64),
    Str(String),
}

impl Owned {
    pub(crate) fn as_value(&self) -> Value<'_> {
        match self {
            Owned::Null => Value::Null,
            Owned::Bool(b) => Value::Bool(*b),
            Owned::Long(n) => Value::Long(*n),
            Owned::Float(x) => Value::Float(*x),
            Owned::Double(x) => Value::Double(*x),
            Owned::Str(s) => Value::Str(s),
        }
    }
}

impl From<SimpleValue> for Owned {
    fn from(value: SimpleValue) -> Self {
        match value {
            SimpleValue::Bool(b) => Owned::Bool(b),
            SimpleValue::Ubyte(n) => Owned::Long(n.into()),
            SimpleValue::Ushort(n) => Owned::Long(n.into()),
            SimpleValue::Uint(n) => Owned::Long(n.into()),
            // JMS has no unsigned long; above i64::MAX the nearest double is the closest there is.
            SimpleValue::Ulong(n) => i64::try_from(n).map_or(Owned::Double(n as f64), Owned::Long),
            SimpleValue::Byte(n) => Owned::Long(n.into()),
            SimpleValue::Short(n) => Owned::Long(n.into()),
            SimpleValue::Int(n) => Owned::Long(n.into()),
            SimpleValue::Long(n) => Owned::Long(n),
            SimpleValue::Float(x) => Owned::Float(x.into_inner()),
            SimpleValue::Double(x) => Owned::Double(x.into_inner()),
            SimpleValue::Char(c) => Owned::Str(c.to_string()),
            SimpleValue::String(s) => Owned::Str(s),
            _ => Owned::Null,
        }
    }
}
