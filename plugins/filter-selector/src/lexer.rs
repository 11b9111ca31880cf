//! Cuts a selector's text into tokens, each with its byte offset for error messages.

use crate::ast::ParseError;

/// A reserved word (case-insensitive; none can be a name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keyword {
    Null,
    True,
    False,
    Not,
    And,
    Or,
    Between,
    Like,
    In,
    Is,
    Escape,
}

const KEYWORDS: [(&str, Keyword); 11] = [
    ("NULL", Keyword::Null),
    ("TRUE", Keyword::True),
    ("FALSE", Keyword::False),
    ("NOT", Keyword::Not),
    ("AND", Keyword::And),
    ("OR", Keyword::Or),
    ("BETWEEN", Keyword::Between),
    ("LIKE", Keyword::Like),
    ("IN", Keyword::In),
    ("IS", Keyword::Is),
    ("ESCAPE", Keyword::Escape),
];

/// One token.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok {
    Ident(String),
    Keyword(Keyword),
    Str(String),
    /// An exact numeric literal, unsigned: `-9223372036854775808` is a sign and 2^63.
    Int(u64),
    Float(f64),
    LParen,
    RParen,
    Comma,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Plus,
    Minus,
    Star,
    Slash,
    End,
}

impl Tok {
    /// The token in words, for "expected ..., found ..." errors.
    pub fn describe(&self) -> String {
        match self {
            Tok::Ident(name) => format!("name `{name}`"),
            Tok::Keyword(k) => {
                let word = KEYWORDS
                    .iter()
                    .find(|(_, kw)| kw == k)
                    .map_or("?", |(w, _)| w);
                format!("`{word}`")
            }
            Tok::Str(s) => format!("string '{s}'"),
            Tok::Int(n) => format!("number {n}"),
            Tok::Float(x) => format!("number {x}"),
            Tok::End => "the end of the selector".to_owned(),
            punct => format!("`{}`", punct.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::Comma => ",",
            Tok::Eq => "=",
            Tok::Ne => "<>",
            Tok::Lt => "<",
            Tok::Gt => ">",
            Tok::Le => "<=",
            Tok::Ge => ">=",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            _ => "?",
        }
    }
}

/// A token and the byte offset it starts at.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub at: usize,
}

/// The tokens of `text`, ending with [`Tok::End`].
pub fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let rest = text.get(at..).unwrap_or_default();
        let (tok, len) = if is_ident_start(c) {
            ident(rest)
        } else if c.is_ascii_digit() || (c == '.' && starts_with_digit(rest.get(1..))) {
            number(rest, at)?
        } else if c == '\'' {
            string(rest, at)?
        } else {
            punct(rest, at)?
        };
        tokens.push(Token { tok, at });
        while chars.peek().is_some_and(|&(i, _)| i < at + len) {
            chars.next();
        }
    }
    tokens.push(Token {
        tok: Tok::End,
        at: text.len(),
    });
    Ok(tokens)
}

fn starts_with_digit(text: Option<&str>) -> bool {
    text.is_some_and(|t| t.starts_with(|d: char| d.is_ascii_digit()))
}

/// Java's identifier characters, as JMS defines names (so no `.`, no `-`).
fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_' || c == '$'
}

fn is_ident_part(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '$'
}

fn ident(rest: &str) -> (Tok, usize) {
    let len = rest
        .char_indices()
        .find(|&(_, c)| !is_ident_part(c))
        .map_or(rest.len(), |(i, _)| i);
    let word = rest.get(..len).unwrap_or_default();
    let tok = KEYWORDS
        .iter()
        .find(|(kw, _)| kw.eq_ignore_ascii_case(word))
        .map_or_else(|| Tok::Ident(word.to_owned()), |&(_, k)| Tok::Keyword(k));
    (tok, len)
}

/// `12`, `12L`, `2.5`, `.5`, `7.`, `1e3`, `1.5E-2`, `2f`, `2.0D`.
fn number(rest: &str, at: usize) -> Result<(Tok, usize), ParseError> {
    let bytes = rest.as_bytes();
    let digits_from = |from: usize| {
        bytes
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
            + from
    };
    let mut end = digits_from(0);
    let mut exact = true;
    if bytes.get(end) == Some(&b'.') {
        exact = false;
        end = digits_from(end + 1);
    }
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        exact = false;
        let sign = usize::from(matches!(bytes.get(end + 1), Some(b'+' | b'-')));
        let exponent_end = digits_from(end + 1 + sign);
        if exponent_end == end + 1 + sign {
            return Err(ParseError::new(
                at + end,
                "expected digits after the exponent `e`",
            ));
        }
        end = exponent_end;
    }
    let literal = rest.get(..end).unwrap_or_default();
    if exact && literal.len() > 1 && literal.starts_with('0') {
        return Err(ParseError::new(
            at,
            "integers with a leading zero (octal or hexadecimal in JMS) are not supported",
        ));
    }
    let (tok, suffix) = match bytes.get(end) {
        Some(b'l' | b'L') if exact => (int(literal, at)?, 1),
        Some(b'f' | b'F' | b'd' | b'D') => (float(literal, at)?, 1),
        _ if exact => (int(literal, at)?, 0),
        _ => (float(literal, at)?, 0),
    };
    let len = end + suffix;
    if rest
        .get(len..)
        .is_some_and(|r| r.starts_with(is_ident_part))
    {
        return Err(ParseError::new(
            at + len,
            "expected a space or an operator after a number",
        ));
    }
    Ok((tok, len))
}

fn int(literal: &str, at: usize) -> Result<Tok, ParseError> {
    literal
        .parse()
        .map(Tok::Int)
        .map_err(|_| ParseError::new(at, "integer too large (the limit is a Java long)"))
}

fn float(literal: &str, at: usize) -> Result<Tok, ParseError> {
    literal
        .parse()
        .map(Tok::Float)
        .map_err(|_| ParseError::new(at, format!("`{literal}` is not a number")))
}

/// `'it''s'`: quotes doubled inside.
fn string(rest: &str, at: usize) -> Result<(Tok, usize), ParseError> {
    let mut value = String::new();
    let mut chars = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\'' {
            value.push(c);
        } else if chars.peek().is_some_and(|&(_, next)| next == '\'') {
            value.push('\'');
            chars.next();
        } else {
            return Ok((Tok::Str(value), i + 1));
        }
    }
    Err(ParseError::new(
        at,
        "string not closed: expected `'` (write `''` for a quote inside)",
    ))
}

fn punct(rest: &str, at: usize) -> Result<(Tok, usize), ParseError> {
    let two = [("<>", Tok::Ne), ("<=", Tok::Le), (">=", Tok::Ge)];
    if let Some((_, tok)) = two.into_iter().find(|(s, _)| rest.starts_with(s)) {
        return Ok((tok, 2));
    }
    let tok = match rest.chars().next() {
        Some('(') => Tok::LParen,
        Some(')') => Tok::RParen,
        Some(',') => Tok::Comma,
        Some('=') => Tok::Eq,
        Some('<') => Tok::Lt,
        Some('>') => Tok::Gt,
        Some('+') => Tok::Plus,
        Some('-') => Tok::Minus,
        Some('*') => Tok::Star,
        Some('/') => Tok::Slash,
        Some('!') if rest.starts_with("!=") => {
            return Err(ParseError::new(at, "`!=` is not JMS: write `<>`"));
        }
        Some('.') => {
            return Err(ParseError::new(
                at,
                "`.` cannot be part of a name (JMS names are Java identifiers)",
            ));
        }
        Some('"') => {
            return Err(ParseError::new(
                at,
                "strings are in single quotes ('text'), and names are not quoted",
            ));
        }
        Some(c) => return Err(ParseError::new(at, format!("unexpected character `{c}`"))),
        None => Tok::End,
    };
    Ok((tok, 1))
}
