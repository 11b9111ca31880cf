//! Judges a parsed selector against one message, with SQL's three-valued logic: a condition is
//! true, false or unknown (`None`), and only a true selector keeps the message.
//!
//! Type rules are JMS's: numbers compare with numbers (a long meeting a double becomes a
//! double), strings and booleans only with their own kind and only by `=` and `<>`; anything
//! else, and anything involving NULL, is unknown. The one extension: a record header's text
//! meeting a number is read as one when it is one (see the crate docs).
//!
//! Nothing here panics or loops: arithmetic wraps as Java's does, integer division by zero is
//! NULL, and recursion follows the tree, whose depth the parser bounds.

use std::borrow::Cow;
use std::cmp::Ordering;

use crate::ast::{ArithOp, CmpOp, Expr};
use crate::fields::Fields;

/// A value during evaluation.
#[derive(Clone, Debug, PartialEq)]
pub enum Val<'a> {
    Null,
    Bool(bool),
    Long(i64),
    Double(f64),
    Str {
        text: Cow<'a, str>,
        /// A record header's text: read as a number when it meets one.
        numeric: bool,
    },
}

impl<'a> Val<'a> {
    pub fn text(text: &'a str) -> Self {
        Val::Str {
            text: Cow::Borrowed(text),
            numeric: false,
        }
    }

    pub fn owned(text: String) -> Self {
        Val::Str {
            text: Cow::Owned(text),
            numeric: false,
        }
    }

    fn number(&self) -> Option<Num> {
        match self {
            Val::Long(n) => Some(Num::Long(*n)),
            Val::Double(x) => Some(Num::Double(*x)),
            Val::Str {
                text,
                numeric: true,
            } => parse_number(text),
            _ => None,
        }
    }

    fn is_number(&self) -> bool {
        matches!(self, Val::Long(_) | Val::Double(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Num {
    Long(i64),
    Double(f64),
}

impl Num {
    fn double(self) -> f64 {
        match self {
            // Java's widening of a long to a double, rounding alike.
            Num::Long(n) => n as f64,
            Num::Double(x) => x,
        }
    }

    fn val(self) -> Val<'static> {
        match self {
            Num::Long(n) => Val::Long(n),
            Num::Double(x) => Val::Double(x),
        }
    }
}

/// Whether the selector `expr` is true for the message behind `fields`.
pub fn selects(expr: &Expr, fields: &Fields<'_>) -> bool {
    truth(expr, fields) == Some(true)
}

fn truth(expr: &Expr, fields: &Fields<'_>) -> Option<bool> {
    match expr {
        Expr::Or(items) => {
            let mut unknown = false;
            for item in items {
                match truth(item, fields) {
                    Some(true) => return Some(true),
                    None => unknown = true,
                    Some(false) => {}
                }
            }
            if unknown { None } else { Some(false) }
        }
        Expr::And(items) => {
            let mut unknown = false;
            for item in items {
                match truth(item, fields) {
                    Some(false) => return Some(false),
                    None => unknown = true,
                    Some(true) => {}
                }
            }
            if unknown { None } else { Some(true) }
        }
        Expr::Not(inner) => truth(inner, fields).map(|b| !b),
        Expr::Compare(left, op, right) => compare(&eval(left, fields), *op, &eval(right, fields)),
        Expr::Between {
            value,
            low,
            high,
            negated,
        } => {
            let value = eval(value, fields);
            let above = compare(&value, CmpOp::Ge, &eval(low, fields));
            let below = compare(&value, CmpOp::Le, &eval(high, fields));
            let within = match (above, below) {
                (Some(false), _) | (_, Some(false)) => Some(false),
                (Some(true), Some(true)) => Some(true),
                _ => None,
            };
            within.map(|b| b != *negated)
        }
        Expr::Like {
            value,
            pattern,
            negated,
        } => match eval(value, fields) {
            Val::Str { text, .. } => Some(pattern.matches(&text) != *negated),
            _ => None,
        },
        Expr::In {
            value,
            list,
            negated,
        } => match eval(value, fields) {
            Val::Str { text, .. } => Some(list.iter().any(|item| *item == text) != *negated),
            _ => None,
        },
        Expr::IsNull { value, negated } => {
            Some(matches!(eval(value, fields), Val::Null) != *negated)
        }
        _ => match eval(expr, fields) {
            Val::Bool(b) => Some(b),
            _ => None,
        },
    }
}

fn eval<'a>(expr: &'a Expr, fields: &'a Fields<'_>) -> Val<'a> {
    match expr {
        Expr::Null => Val::Null,
        Expr::Bool(b) => Val::Bool(*b),
        Expr::Long(n) => Val::Long(*n),
        Expr::Double(x) => Val::Double(*x),
        Expr::Str(s) => Val::text(s),
        Expr::Ident(name) => fields.get(name),
        Expr::Arith(first, rest) => {
            let mut acc = eval(first, fields).number();
            for (op, operand) in rest {
                let rhs = eval(operand, fields).number();
                acc = match (acc, rhs) {
                    (Some(a), Some(b)) => arith(a, *op, b),
                    _ => None,
                };
            }
            acc.map_or(Val::Null, Num::val)
        }
        Expr::Sign { negate, operand } => match eval(operand, fields).number() {
            Some(Num::Long(n)) if *negate => Val::Long(n.wrapping_neg()),
            Some(Num::Double(x)) if *negate => Val::Double(-x),
            Some(n) => n.val(),
            None => Val::Null,
        },
        _ => truth(expr, fields).map_or(Val::Null, Val::Bool),
    }
}

fn arith(a: Num, op: ArithOp, b: Num) -> Option<Num> {
    if let (Num::Long(a), Num::Long(b)) = (a, b) {
        return Some(Num::Long(match op {
            ArithOp::Add => a.wrapping_add(b),
            ArithOp::Sub => a.wrapping_sub(b),
            ArithOp::Mul => a.wrapping_mul(b),
            // Java throws on a long division by zero; the selector cannot, so it is unknown.
            ArithOp::Div if b == 0 => return None,
            ArithOp::Div => a.wrapping_div(b),
        }));
    }
    let (a, b) = (a.double(), b.double());
    Some(Num::Double(match op {
        ArithOp::Add => a + b,
        ArithOp::Sub => a - b,
        ArithOp::Mul => a * b,
        ArithOp::Div => a / b,
    }))
}

fn compare(left: &Val<'_>, op: CmpOp, right: &Val<'_>) -> Option<bool> {
    let equality = |equal: bool| match op {
        CmpOp::Eq => Some(equal),
        CmpOp::Ne => Some(!equal),
        _ => None,
    };
    match (left, right) {
        (Val::Null, _) | (_, Val::Null) => None,
        (Val::Bool(a), Val::Bool(b)) => equality(a == b),
        (Val::Str { text: a, .. }, Val::Str { text: b, .. }) => equality(a == b),
        _ if left.is_number() || right.is_number() => {
            let ordering = match (left.number()?, right.number()?) {
                (Num::Long(a), Num::Long(b)) => Some(a.cmp(&b)),
                (a, b) => a.double().partial_cmp(&b.double()),
            };
            Some(match (op, ordering) {
                (CmpOp::Ne, None) => true,
                (_, None) => false,
                (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
                (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
                (CmpOp::Lt, Some(o)) => o == Ordering::Less,
                (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
                (CmpOp::Le, Some(o)) => o != Ordering::Greater,
                (CmpOp::Ge, Some(o)) => o != Ordering::Less,
            })
        }
        _ => None,
    }
}

/// A record header's text as a number: an optional sign, digits with an optional fraction,
/// an optional exponent (what Java's `Long.parseLong` / `Double.parseDouble` read, without
/// their `NaN`, `Infinity` or hexadecimal forms).
fn parse_number(text: &str) -> Option<Num> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (unsigned.get(..at)?, unsigned.get(at + 1..)),
        None => (unsigned, None),
    };
    let (whole, fraction) = match mantissa.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    let mantissa_ok = digits(whole)
        && fraction.is_none_or(digits)
        && !(whole.is_empty() && fraction.is_none_or(str::is_empty));
    if !mantissa_ok || !exponent_ok {
        return None;
    }
    if fraction.is_none()
        && exponent.is_none()
        && let Ok(n) = text.parse::<i64>()
    {
        return Some(Num::Long(n));
    }
    text.parse::<f64>().ok().map(Num::Double)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_numbers() {
        assert_eq!(parse_number("42"), Some(Num::Long(42)));
        assert_eq!(parse_number("-7"), Some(Num::Long(-7)));
        assert_eq!(parse_number("2.5"), Some(Num::Double(2.5)));
        assert_eq!(parse_number(".5"), Some(Num::Double(0.5)));
        assert_eq!(parse_number("5."), Some(Num::Double(5.0)));
        assert_eq!(parse_number("1e3"), Some(Num::Double(1000.0)));
        assert_eq!(parse_number("+1.5E-1"), Some(Num::Double(0.15)));
        assert_eq!(
            parse_number("99999999999999999999"),
            Some(Num::Double(1e20))
        );
        for not in [
            "", "-", ".", "e3", "1e", "1e+", "NaN", "inf", "0x10", " 1", "1 ", "1.2.3", "--1",
        ] {
            assert_eq!(parse_number(not), None, "{not:?}");
        }
    }
}
