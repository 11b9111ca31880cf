//! A parsed selector, and the error a selector that does not parse gets.

use std::fmt;

use crate::like::Pattern;

/// An expression of the selector language.
#[derive(Debug)]
pub enum Expr {
    /// The literal `NULL`.
    Null,
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// An exact numeric literal.
    Long(i64),
    /// An approximate numeric literal.
    Double(f64),
    /// A string literal.
    Str(String),
    /// A header field or property name.
    Ident(String),
    /// `a OR b OR ...`: a chain kept flat, so a long one does not make a deep tree.
    Or(Vec<Expr>),
    /// `a AND b AND ...`.
    And(Vec<Expr>),
    /// `NOT a`.
    Not(Box<Expr>),
    /// `a = b`, `a < b`, ...
    Compare(Box<Expr>, CmpOp, Box<Expr>),
    /// `a + b - c ...` or `a * b / c ...`: the first operand and the rest, left to right.
    Arith(Box<Expr>, Vec<(ArithOp, Expr)>),
    /// Unary `-a` (`negate`) or `+a`.
    Sign { negate: bool, operand: Box<Expr> },
    /// `a [NOT] BETWEEN low AND high`.
    Between {
        value: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    /// `a [NOT] LIKE 'pattern' [ESCAPE 'c']`.
    Like {
        value: Box<Expr>,
        pattern: Pattern,
        negated: bool,
    },
    /// `a [NOT] IN ('x', 'y', ...)`.
    In {
        value: Box<Expr>,
        list: Vec<String>,
        negated: bool,
    },
    /// `a IS [NOT] NULL`.
    IsNull { value: Box<Expr>, negated: bool },
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
}

/// An arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArithOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
}

/// What an expression yields, as far as the parser can tell: a name's type is known only
/// when a message is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A condition (true, false or unknown).
    Bool,
    /// A number.
    Num,
    /// A string.
    Str,
    /// A name or `NULL`: any of them.
    Any,
}

impl Kind {
    /// The kind in words, for errors.
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Bool => "a condition",
            Kind::Num => "a number",
            Kind::Str => "a string",
            Kind::Any => "a value",
        }
    }
}

impl Expr {
    /// What it yields.
    pub fn kind(&self) -> Kind {
        match self {
            Expr::Null | Expr::Ident(_) => Kind::Any,
            Expr::Long(_) | Expr::Double(_) | Expr::Arith(..) | Expr::Sign { .. } => Kind::Num,
            Expr::Str(_) => Kind::Str,
            Expr::Bool(_)
            | Expr::Or(_)
            | Expr::And(_)
            | Expr::Not(_)
            | Expr::Compare(..)
            | Expr::Between { .. }
            | Expr::Like { .. }
            | Expr::In { .. }
            | Expr::IsNull { .. } => Kind::Bool,
        }
    }
}

/// Why a selector does not parse, and where (a byte offset into its text).
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset of the offending token.
    pub at: usize,
    /// What was wrong or expected.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(at: usize, message: impl Into<String>) -> Self {
        ParseError {
            at,
            message: message.into(),
        }
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at byte {}: {}", self.at, self.message)
    }
}
