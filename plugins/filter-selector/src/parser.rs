//! Recursive descent over the tokens, with JMS's precedence (loosest first): `OR`, `AND`,
//! `NOT`, comparisons (`=`, `BETWEEN`, `LIKE`, `IN`, `IS NULL`), `+ -`, `* /`, signs.
//!
//! Besides the grammar it checks what can be known before a message is seen (a string where
//! a condition must be, `NOT 3`) and enforces the bounds, so a selector that passes `check`
//! costs a bounded amount to evaluate: [`TEXT_MAX`] bytes, [`DEPTH_MAX`] levels of nesting
//! (which also bounds recursion here and in evaluation) and [`IN_MAX`] strings in an `IN`.

use crate::ast::{ArithOp, CmpOp, Expr, Kind, ParseError};
use crate::lexer::{Keyword, Tok, Token, tokenize};
use crate::like::Pattern;

/// The longest selector, in bytes.
pub const TEXT_MAX: usize = 4096;
/// The deepest nesting of parentheses, `NOT`s and signs.
pub const DEPTH_MAX: usize = 64;
/// The most strings in one `IN` list.
pub const IN_MAX: usize = 1024;

/// Parses a selector; `Ok(None)` for an empty one (JMS: no selector, every message).
pub fn parse(text: &str) -> Result<Option<Expr>, ParseError> {
    if text.len() > TEXT_MAX {
        return Err(ParseError::new(
            TEXT_MAX,
            format!(
                "the selector is {} bytes; the limit is {TEXT_MAX}",
                text.len()
            ),
        ));
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
        depth: 0,
    };
    if parser.peek() == &Tok::End {
        return Ok(None);
    }
    let at = parser.at();
    let expr = parser.or()?;
    if parser.peek() != &Tok::End {
        return Err(parser.expected("`AND`, `OR` or the end of the selector"));
    }
    require(&expr, Kind::Bool, at)?;
    Ok(Some(expr))
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::End, |t| &t.tok)
    }

    fn peek_second(&self) -> &Tok {
        self.tokens.get(self.pos + 1).map_or(&Tok::End, |t| &t.tok)
    }

    fn at(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or(0, |t| t.at)
    }

    fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if self.pos < self.tokens.len() {
            self.pos += 1;
        }
        tok
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        let found = self.peek() == tok;
        if found {
            self.advance();
        }
        found
    }

    fn eat_keyword(&mut self, keyword: Keyword) -> bool {
        self.eat(&Tok::Keyword(keyword))
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), ParseError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.expected(what))
        }
    }

    fn expected(&self, what: &str) -> ParseError {
        ParseError::new(
            self.at(),
            format!("expected {what}, found {}", self.peek().describe()),
        )
    }

    /// Runs `inner` one nesting level down.
    fn nested<T>(
        &mut self,
        inner: impl FnOnce(&mut Self) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        if self.depth >= DEPTH_MAX {
            return Err(ParseError::new(
                self.at(),
                format!("the selector nests deeper than {DEPTH_MAX} levels"),
            ));
        }
        self.depth += 1;
        let result = inner(self);
        self.depth -= 1;
        result
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        self.chain(Keyword::Or, Self::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        self.chain(Keyword::And, Self::not, Expr::And)
    }

    /// `operand (keyword operand)*`, every operand a condition.
    fn chain(
        &mut self,
        keyword: Keyword,
        operand: fn(&mut Self) -> Result<Expr, ParseError>,
        build: fn(Vec<Expr>) -> Expr,
    ) -> Result<Expr, ParseError> {
        let at = self.at();
        let first = operand(self)?;
        if self.peek() != &Tok::Keyword(keyword) {
            return Ok(first);
        }
        require(&first, Kind::Bool, at)?;
        let mut items = vec![first];
        while self.eat_keyword(keyword) {
            let at = self.at();
            let next = operand(self)?;
            require(&next, Kind::Bool, at)?;
            items.push(next);
        }
        Ok(build(items))
    }

    fn not(&mut self) -> Result<Expr, ParseError> {
        if !self.eat_keyword(Keyword::Not) {
            return self.comparison();
        }
        self.nested(|p| {
            let at = p.at();
            let operand = p.not()?;
            require(&operand, Kind::Bool, at)?;
            Ok(Expr::Not(Box::new(operand)))
        })
    }

    fn comparison(&mut self) -> Result<Expr, ParseError> {
        let at = self.at();
        let left = self.additive()?;
        let op = match self.peek() {
            Tok::Eq => CmpOp::Eq,
            Tok::Ne => CmpOp::Ne,
            Tok::Lt => CmpOp::Lt,
            Tok::Gt => CmpOp::Gt,
            Tok::Le => CmpOp::Le,
            Tok::Ge => CmpOp::Ge,
            Tok::Keyword(Keyword::Is) => return self.is_null(left),
            Tok::Keyword(Keyword::Not)
                if matches!(
                    self.peek_second(),
                    Tok::Keyword(Keyword::Between | Keyword::Like | Keyword::In)
                ) =>
            {
                self.advance();
                return self.predicate(left, at, true);
            }
            Tok::Keyword(Keyword::Between | Keyword::Like | Keyword::In) => {
                return self.predicate(left, at, false);
            }
            _ => return Ok(left),
        };
        self.advance();
        let right = self.additive()?;
        Ok(Expr::Compare(Box::new(left), op, Box::new(right)))
    }

    /// `BETWEEN`, `LIKE` or `IN` after `value` (and `NOT`, when `negated`).
    fn predicate(&mut self, value: Expr, at: usize, negated: bool) -> Result<Expr, ParseError> {
        let value = Box::new(value);
        match self.advance() {
            Tok::Keyword(Keyword::Between) => {
                require(&value, Kind::Num, at)?;
                let low_at = self.at();
                let low = self.additive()?;
                require(&low, Kind::Num, low_at)?;
                self.expect(&Tok::Keyword(Keyword::And), "`AND` between the two bounds")?;
                let high_at = self.at();
                let high = self.additive()?;
                require(&high, Kind::Num, high_at)?;
                Ok(Expr::Between {
                    value,
                    low: Box::new(low),
                    high: Box::new(high),
                    negated,
                })
            }
            Tok::Keyword(Keyword::Like) => {
                require(&value, Kind::Str, at)?;
                let pattern = self.like_pattern()?;
                Ok(Expr::Like {
                    value,
                    pattern,
                    negated,
                })
            }
            _ => {
                require(&value, Kind::Str, at)?;
                let list = self.in_list()?;
                Ok(Expr::In {
                    value,
                    list,
                    negated,
                })
            }
        }
    }

    fn like_pattern(&mut self) -> Result<Pattern, ParseError> {
        let at = self.at();
        let Tok::Str(pattern) = self.peek().clone() else {
            return Err(self.expected("a pattern in quotes after `LIKE`"));
        };
        self.advance();
        let escape = if self.eat_keyword(Keyword::Escape) {
            let escape_at = self.at();
            let Tok::Str(escape) = self.peek().clone() else {
                return Err(self.expected("a character in quotes after `ESCAPE`"));
            };
            self.advance();
            let mut chars = escape.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Some(c),
                _ => {
                    return Err(ParseError::new(
                        escape_at,
                        "`ESCAPE` takes exactly one character",
                    ));
                }
            }
        } else {
            None
        };
        Pattern::compile(&pattern, escape).map_err(|message| ParseError::new(at, message))
    }

    fn in_list(&mut self) -> Result<Vec<String>, ParseError> {
        self.expect(&Tok::LParen, "`(` after `IN`")?;
        let mut list = Vec::new();
        loop {
            let Tok::Str(item) = self.peek().clone() else {
                return Err(self.expected("a string in quotes (JMS `IN` lists hold strings)"));
            };
            if list.len() == IN_MAX {
                return Err(ParseError::new(
                    self.at(),
                    format!("the `IN` list has more than {IN_MAX} entries"),
                ));
            }
            self.advance();
            list.push(item);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        self.expect(&Tok::RParen, "`,` or `)` in the `IN` list")?;
        Ok(list)
    }

    fn is_null(&mut self, value: Expr) -> Result<Expr, ParseError> {
        self.advance();
        let negated = self.eat_keyword(Keyword::Not);
        self.expect(
            &Tok::Keyword(Keyword::Null),
            if negated {
                "`NULL` after `IS NOT`"
            } else {
                "`NULL` or `NOT NULL` after `IS`"
            },
        )?;
        Ok(Expr::IsNull {
            value: Box::new(value),
            negated,
        })
    }

    fn additive(&mut self) -> Result<Expr, ParseError> {
        self.arith(
            |t| match t {
                Tok::Plus => Some(ArithOp::Add),
                Tok::Minus => Some(ArithOp::Sub),
                _ => None,
            },
            Self::multiplicative,
        )
    }

    fn multiplicative(&mut self) -> Result<Expr, ParseError> {
        self.arith(
            |t| match t {
                Tok::Star => Some(ArithOp::Mul),
                Tok::Slash => Some(ArithOp::Div),
                _ => None,
            },
            Self::sign,
        )
    }

    /// `operand (op operand)*` at one precedence level, every operand a number.
    fn arith(
        &mut self,
        op_of: fn(&Tok) -> Option<ArithOp>,
        operand: fn(&mut Self) -> Result<Expr, ParseError>,
    ) -> Result<Expr, ParseError> {
        let at = self.at();
        let first = operand(self)?;
        if op_of(self.peek()).is_none() {
            return Ok(first);
        }
        require(&first, Kind::Num, at)?;
        let mut rest = Vec::new();
        while let Some(op) = op_of(self.peek()) {
            self.advance();
            let at = self.at();
            let next = operand(self)?;
            require(&next, Kind::Num, at)?;
            rest.push((op, next));
        }
        Ok(Expr::Arith(Box::new(first), rest))
    }

    fn sign(&mut self) -> Result<Expr, ParseError> {
        let negate = match self.peek() {
            Tok::Minus => true,
            Tok::Plus => false,
            _ => return self.primary(),
        };
        self.advance();
        // Long.MIN_VALUE is written as a sign and a literal one past Long.MAX_VALUE.
        if negate && self.peek() == &Tok::Int(1 << 63) {
            self.advance();
            return Ok(Expr::Long(i64::MIN));
        }
        self.nested(|p| {
            let at = p.at();
            let operand = p.sign()?;
            require(&operand, Kind::Num, at)?;
            Ok(Expr::Sign {
                negate,
                operand: Box::new(operand),
            })
        })
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        let at = self.at();
        let expr = match self.peek().clone() {
            Tok::LParen => {
                self.advance();
                return self.nested(|p| {
                    let inner = p.or()?;
                    p.expect(&Tok::RParen, "`)`")?;
                    Ok(inner)
                });
            }
            Tok::Int(n) => Expr::Long(i64::try_from(n).map_err(|_| {
                ParseError::new(at, "integer too large (the limit is a Java long)")
            })?),
            Tok::Float(x) => Expr::Double(x),
            Tok::Str(s) => Expr::Str(s),
            Tok::Ident(name) => Expr::Ident(name),
            Tok::Keyword(Keyword::True) => Expr::Bool(true),
            Tok::Keyword(Keyword::False) => Expr::Bool(false),
            Tok::Keyword(Keyword::Null) => Expr::Null,
            _ => return Err(self.expected("a name, a literal or `(`")),
        };
        self.advance();
        Ok(expr)
    }
}

/// Refuses an operand that cannot be `want` whatever the message: a name or `NULL` can be.
fn require(expr: &Expr, want: Kind, at: usize) -> Result<(), ParseError> {
    let kind = expr.kind();
    if kind == want || kind == Kind::Any {
        return Ok(());
    }
    Err(ParseError::new(
        at,
        format!("expected {}, found {}", want.describe(), kind.describe()),
    ))
}
