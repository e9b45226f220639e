//! DynamoDB's expression strings — `ConditionExpression` and `UpdateExpression` with
//! `ExpressionAttributeNames` and `ExpressionAttributeValues` — read into [`Condition`] and
//! [`Update`], for callers that speak DynamoDB's API (Step Functions' DynamoDB integrations
//! run locally). The subset is what [`Condition`] and [`Update`] can do: top-level attributes,
//! comparisons, `attribute_exists`, `attribute_not_exists`, `begins_with`, `AND`/`OR`/`NOT`,
//! parentheses; `SET a = :v`, `REMOVE a`, `ADD a :v`. Anything else is a validation error that
//! names it.

use std::collections::HashMap;

use serde_dynamo::AttributeValue;

use super::expr::Action;
use super::{Comparison, Condition, Error, Result, Update};

/// The names and values an expression's placeholders (`#name`, `:value`) stand for.
#[derive(Debug, Clone, Copy)]
pub struct Placeholders<'a> {
    /// `ExpressionAttributeNames`.
    pub names: &'a HashMap<String, String>,
    /// `ExpressionAttributeValues`.
    pub values: &'a HashMap<String, AttributeValue>,
}

fn invalid<T>(message: impl Into<String>) -> Result<T> {
    Err(Error::Validation {
        message: message.into(),
    })
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Name(String),
    Value(String),
    Symbol(&'static str),
}

fn tokens(expression: &str) -> Result<Vec<Token>> {
    let chars: Vec<char> = expression.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let word = |start: usize| {
            let mut end = start;
            while end < chars.len() && (chars[end].is_alphanumeric() || chars[end] == '_') {
                end += 1;
            }
            (chars[start..end].iter().collect::<String>(), end)
        };
        match c {
            '#' | ':' => {
                let (name, end) = word(i + 1);
                if name.is_empty() {
                    return invalid(format!(
                        "Invalid expression: a lone `{c}` in `{expression}`"
                    ));
                }
                out.push(if c == '#' {
                    Token::Name(format!("#{name}"))
                } else {
                    Token::Value(format!(":{name}"))
                });
                i = end;
            }
            '(' | ')' | ',' | '=' | '+' | '-' | '.' | '[' | ']' => {
                out.push(Token::Symbol(match c {
                    '(' => "(",
                    ')' => ")",
                    ',' => ",",
                    '=' => "=",
                    '+' => "+",
                    '-' => "-",
                    '.' => ".",
                    '[' => "[",
                    _ => "]",
                }));
                i += 1;
            }
            '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let symbol = match (c, next) {
                    ('<', Some('>')) => "<>",
                    ('<', Some('=')) => "<=",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    _ => ">",
                };
                i += symbol.len();
                out.push(Token::Symbol(symbol));
            }
            c if c.is_alphanumeric() || c == '_' => {
                let (text, end) = word(i);
                out.push(Token::Word(text));
                i = end;
            }
            other => {
                return invalid(format!(
                    "Invalid expression: unexpected `{other}` in `{expression}`"
                ));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    placeholders: Placeholders<'a>,
    expression: &'a str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn symbol(&mut self, symbol: &str) -> bool {
        if matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, symbol: &str) -> Result<()> {
        if self.symbol(symbol) {
            Ok(())
        } else {
            invalid(format!(
                "Invalid expression: `{symbol}` expected in `{}`",
                self.expression
            ))
        }
    }

    /// A top-level attribute: a name or a `#placeholder`.
    fn attribute(&mut self) -> Result<String> {
        let name = match self.tokens.get(self.at).cloned() {
            Some(Token::Word(word)) => word,
            Some(Token::Name(placeholder)) => match self.placeholders.names.get(&placeholder) {
                Some(name) => name.clone(),
                None => {
                    return invalid(format!(
                        "Value provided in ExpressionAttributeNames unused in expressions: An expression attribute name used in the document path is not defined; attribute name: {placeholder}"
                    ));
                }
            },
            _ => {
                return invalid(format!(
                    "Invalid expression: an attribute name expected in `{}`",
                    self.expression
                ));
            }
        };
        self.at += 1;
        if matches!(self.peek(), Some(Token::Symbol("." | "["))) {
            return invalid(format!(
                "nested document paths (`{name}.…`, `{name}[…]`) are not supported locally"
            ));
        }
        Ok(name)
    }

    fn value(&mut self) -> Result<AttributeValue> {
        match self.tokens.get(self.at).cloned() {
            Some(Token::Value(placeholder)) => {
                self.at += 1;
                self.placeholders.values.get(&placeholder).cloned().map_or_else(
                    || {
                        invalid(format!(
                            "An expression attribute value used in expression is not defined; attribute value: {placeholder}"
                        ))
                    },
                    Ok,
                )
            }
            _ => invalid(format!(
                "Invalid expression: a `:value` expected in `{}`",
                self.expression
            )),
        }
    }

    fn done(&self) -> Result<()> {
        if self.at == self.tokens.len() {
            Ok(())
        } else {
            invalid(format!(
                "Invalid expression: unexpected `{:?}` in `{}`",
                self.tokens[self.at], self.expression
            ))
        }
    }

    fn or(&mut self) -> Result<Condition> {
        let mut left = self.and()?;
        while self.keyword("OR") {
            self.at += 1;
            left = left.or(self.and()?);
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition> {
        let mut left = self.not()?;
        while self.keyword("AND") {
            self.at += 1;
            left = left.and(self.not()?);
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition> {
        if self.keyword("NOT") {
            self.at += 1;
            return Ok(self.not()?.not());
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Condition> {
        if self.symbol("(") {
            let inner = self.or()?;
            self.expect(")")?;
            return Ok(inner);
        }
        if let Some(Token::Word(word)) = self.peek().cloned()
            && matches!(self.tokens.get(self.at + 1), Some(Token::Symbol("(")))
        {
            self.at += 2;
            let condition = match word.as_str() {
                "attribute_exists" => Condition::Exists(self.attribute()?),
                "attribute_not_exists" => Condition::NotExists(self.attribute()?),
                "begins_with" => {
                    let attribute = self.attribute()?;
                    self.expect(",")?;
                    match self.value()? {
                        AttributeValue::S(prefix) => Condition::BeginsWith(attribute, prefix),
                        _ => return invalid("begins_with takes a string prefix"),
                    }
                }
                other => {
                    return invalid(format!(
                        "the function `{other}` is not supported locally (attribute_exists, attribute_not_exists, begins_with are)"
                    ));
                }
            };
            self.expect(")")?;
            return Ok(condition);
        }
        // `attribute op :value`, or `:value op attribute`.
        let flipped = matches!(self.peek(), Some(Token::Value(_)));
        let (attribute, value, op) = if flipped {
            let value = self.value()?;
            let op = self.comparison()?;
            (self.attribute()?, value, flip(op))
        } else {
            let attribute = self.attribute()?;
            if self.keyword("BETWEEN") || self.keyword("IN") {
                return invalid("BETWEEN and IN are not supported locally");
            }
            let op = self.comparison()?;
            (attribute, self.value()?, op)
        };
        Ok(Condition::Compare(attribute, op, value))
    }

    fn comparison(&mut self) -> Result<Comparison> {
        let op = match self.peek() {
            Some(Token::Symbol("=")) => Comparison::Eq,
            Some(Token::Symbol("<>")) => Comparison::Ne,
            Some(Token::Symbol("<")) => Comparison::Lt,
            Some(Token::Symbol("<=")) => Comparison::Le,
            Some(Token::Symbol(">")) => Comparison::Gt,
            Some(Token::Symbol(">=")) => Comparison::Ge,
            _ => {
                return invalid(format!(
                    "Invalid expression: a comparison expected in `{}`",
                    self.expression
                ));
            }
        };
        self.at += 1;
        Ok(op)
    }
}

fn flip(op: Comparison) -> Comparison {
    match op {
        Comparison::Lt => Comparison::Gt,
        Comparison::Le => Comparison::Ge,
        Comparison::Gt => Comparison::Lt,
        Comparison::Ge => Comparison::Le,
        other => other,
    }
}

impl Condition {
    /// Reads a DynamoDB `ConditionExpression`.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use svless_store::dynamo::{Condition, Placeholders};
    /// let names = HashMap::from([("#s".to_owned(), "status".to_owned())]);
    /// let values = HashMap::from([(":open".to_owned(), serde_dynamo::AttributeValue::S("open".into()))]);
    /// let condition = Condition::parse(
    ///     "attribute_exists(pk) AND #s = :open",
    ///     Placeholders { names: &names, values: &values },
    /// ).expect("a condition");
    /// # let _ = condition;
    /// ```
    pub fn parse(expression: &str, placeholders: Placeholders<'_>) -> Result<Condition> {
        let mut parser = Parser {
            tokens: tokens(expression)?,
            at: 0,
            placeholders,
            expression,
        };
        let condition = parser.or()?;
        parser.done()?;
        Ok(condition)
    }
}

impl Update {
    /// Reads a DynamoDB `UpdateExpression`: `SET a = :v, …`, `REMOVE a, …`, `ADD a :v, …`, in
    /// any order.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use svless_store::dynamo::{Placeholders, Update};
    /// let values = HashMap::from([(":one".to_owned(), serde_dynamo::AttributeValue::N("1".into()))]);
    /// let update = Update::parse(
    ///     "SET done = :one ADD views :one REMOVE draft",
    ///     Placeholders { names: &HashMap::new(), values: &values },
    /// ).expect("an update");
    /// assert!(!update.is_empty());
    /// ```
    pub fn parse(expression: &str, placeholders: Placeholders<'_>) -> Result<Update> {
        let mut parser = Parser {
            tokens: tokens(expression)?,
            at: 0,
            placeholders,
            expression,
        };
        let mut actions = Vec::new();
        while parser.at < parser.tokens.len() {
            let clause = match parser.peek() {
                Some(Token::Word(w)) => w.to_ascii_uppercase(),
                _ => {
                    return invalid(format!(
                        "Invalid UpdateExpression: a clause (SET, REMOVE, ADD) expected in `{expression}`"
                    ));
                }
            };
            parser.at += 1;
            loop {
                match clause.as_str() {
                    "SET" => {
                        let attribute = parser.attribute()?;
                        parser.expect("=")?;
                        let value = parser.value()?;
                        if matches!(parser.peek(), Some(Token::Symbol("+" | "-"))) {
                            return invalid(
                                "arithmetic in SET (`a = a + :v`) is not supported locally: use ADD",
                            );
                        }
                        actions.push(Action::Set(attribute, value));
                    }
                    "REMOVE" => actions.push(Action::Remove(parser.attribute()?)),
                    "ADD" => {
                        let attribute = parser.attribute()?;
                        actions.push(Action::Add(attribute, parser.value()?));
                    }
                    other => {
                        return invalid(format!(
                            "the UpdateExpression clause `{other}` is not supported locally (SET, REMOVE and ADD are)"
                        ));
                    }
                }
                if !parser.symbol(",") {
                    break;
                }
            }
        }
        if actions.is_empty() {
            return invalid("Invalid UpdateExpression: the expression is empty");
        }
        let update = Update::from_actions(actions);
        update.check_paths()?;
        Ok(update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders<'a>(
        names: &'a HashMap<String, String>,
        values: &'a HashMap<String, AttributeValue>,
    ) -> Placeholders<'a> {
        Placeholders { names, values }
    }

    #[test]
    fn conditions_read_as_dynamodb_writes_them() {
        let names = HashMap::from([("#s".to_owned(), "status".to_owned())]);
        let values = HashMap::from([
            (":o".to_owned(), AttributeValue::S("open".into())),
            (":n".to_owned(), AttributeValue::N("3".into())),
        ]);
        let p = placeholders(&names, &values);
        let parsed = Condition::parse(
            "attribute_not_exists(pk) OR (#s = :o AND NOT :n < views)",
            p,
        )
        .expect("a condition");
        let expected = Condition::not_exists("pk").or(Condition::eq(
            "status",
            AttributeValue::S("open".into()),
        )
        .and(Condition::compare("views", Comparison::Gt, AttributeValue::N("3".into())).not()));
        assert_eq!(parsed, expected);
        for bad in [
            "a = :missing",
            "#missing = :o",
            "a.b = :o",
            "a BETWEEN :n AND :n",
            "size(a) > :n",
            "a = :o)",
            "= :o",
        ] {
            assert!(Condition::parse(bad, p).is_err(), "{bad}");
        }
    }

    #[test]
    fn updates_read_as_dynamodb_writes_them() {
        let values = HashMap::from([(":v".to_owned(), AttributeValue::N("1".into()))]);
        let names = HashMap::new();
        let p = placeholders(&names, &values);
        assert!(Update::parse("SET a = :v, b = :v REMOVE c ADD d :v", p).is_ok());
        for bad in [
            "SET a = a + :v",
            "DELETE s :v",
            "SET a = :v REMOVE a",
            "",
            "SET",
        ] {
            assert!(Update::parse(bad, p).is_err(), "{bad}");
        }
    }
}
