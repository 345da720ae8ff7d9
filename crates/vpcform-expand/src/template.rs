//! `${…}` in a string: parsing the expressions and evaluating them.
//!
//! The language is small on purpose: references (`param.NAME`, `each.key`,
//! `each.value.FIELD`, `env.name`), literals and calls of the functions in
//! `func.rs`. No arithmetic, no operators, no recursion: a template always
//! ends, and a name may hold `-` (`param.vpc-cidr`).

use vpcform_lang::diagnostic::did_you_mean;

use crate::func;
use crate::scope::Scope;
use crate::value::Value;

/// One part of a string that holds templates.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Part {
    Text(String),
    /// An expression and the character offset of its `${` in the string.
    Expr(Expr, usize),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Expr {
    Literal(Value),
    /// `root.a.b[0]`, with the offset of each step for messages.
    Path(Vec<Step>, usize),
    Call(String, Vec<Expr>, usize),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Step {
    Field(String),
    Index(Value),
}

/// An error at a character offset in the string.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TemplateError {
    pub offset: usize,
    pub message: String,
    pub help: Option<String>,
}

impl TemplateError {
    pub(crate) fn new(offset: usize, message: impl Into<String>) -> Self {
        TemplateError {
            offset,
            message: message.into(),
            help: None,
        }
    }

    pub(crate) fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Whether `text` holds anything the expansion acts on.
pub(crate) fn has_template(text: &str) -> bool {
    text.contains("${")
}

/// Splits a string into text and expressions. `$${` is a literal `${`; an
/// IAM policy variable (`${aws:username}`, `${*}`, `${?}`, `${$}`) is text.
pub(crate) fn parse(text: &str) -> Result<Vec<Part>, TemplateError> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '$' && chars.get(i + 1) == Some(&'$') && chars.get(i + 2) == Some(&'{') {
            literal.push_str("${");
            i += 3;
            continue;
        }
        if chars[i] != '$' || chars.get(i + 1) != Some(&'{') {
            literal.push(chars[i]);
            i += 1;
            continue;
        }
        let Some(close) = (i + 2..chars.len()).find(|&j| chars[j] == '}') else {
            return Err(TemplateError::new(i, "`${` is not closed by `}`")
                .with_help("close the expression with `}`, or write `$${` for a literal `${`"));
        };
        let inner: String = chars[i + 2..close].iter().collect();
        if is_policy_variable(&inner) {
            literal.extend(&chars[i..=close]);
            i = close + 1;
            continue;
        }
        let expr = Parser::new(&inner, i + 2).expression_only()?;
        if is_placeholder(&expr) {
            literal.extend(&chars[i..=close]);
            i = close + 1;
            continue;
        }
        if !literal.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut literal)));
        }
        parts.push(Part::Expr(expr, i));
        i = close + 1;
    }
    if !literal.is_empty() || parts.is_empty() {
        parts.push(Part::Text(literal));
    }
    Ok(parts)
}

/// The roots the expansion evaluates.
pub(crate) const ROOTS: &[&str] = &["param", "each", "env"];

/// A reference to something filled later, not by the expansion (a query's
/// `${instance.NAME.private-ip}`), stays text; a near miss of a root the
/// expansion knows (`${parm.x}`) does not, and is reported.
fn is_placeholder(expr: &Expr) -> bool {
    match expr {
        Expr::Path(steps, _) => match steps.first() {
            Some(Step::Field(root)) => {
                !ROOTS.contains(&root.as_str())
                    && did_you_mean(root, ROOTS.iter().copied()).is_none()
            }
            _ => false,
        },
        Expr::Literal(_) | Expr::Call(..) => false,
    }
}

/// IAM's policy variables keep their `${…}`: `${aws:username}`, `${*}`.
fn is_policy_variable(inner: &str) -> bool {
    matches!(inner, "*" | "?" | "$")
        || inner.split_once(':').is_some_and(|(service, _)| {
            !service.is_empty() && service.chars().all(|c| c.is_ascii_alphanumeric())
        })
}

/// Evaluates the parts: one expression alone keeps its value's type (a
/// list stays a list); otherwise every value is put into the text.
pub(crate) fn evaluate(parts: &[Part], scope: &Scope<'_>) -> Result<Value, TemplateError> {
    if let [Part::Expr(expr, _)] = parts {
        return eval(expr, scope);
    }
    let mut out = String::new();
    for part in parts {
        match part {
            Part::Text(t) => out.push_str(t),
            Part::Expr(expr, at) => {
                let value = eval(expr, scope)?;
                let Some(text) = value.text() else {
                    return Err(TemplateError::new(
                        *at,
                        format!("{} cannot be put into text", value.type_name()),
                    )
                    .with_help("make the expression the whole value, or turn it into text with join(\", \", …)"));
                };
                out.push_str(&text);
            }
        }
    }
    Ok(Value::Str(out))
}

pub(crate) fn eval(expr: &Expr, scope: &Scope<'_>) -> Result<Value, TemplateError> {
    match expr {
        Expr::Literal(v) => Ok(v.clone()),
        Expr::Path(steps, at) => scope.lookup(steps, *at),
        Expr::Call(name, args, at) => {
            let values = args
                .iter()
                .map(|a| eval(a, scope))
                .collect::<Result<Vec<_>, _>>()?;
            func::call(name, &values).map_err(|e| TemplateError { offset: *at, ..e })
        }
    }
}

struct Parser<'t> {
    chars: Vec<char>,
    at: usize,
    /// Offset of the expression's first character in the whole string.
    base: usize,
    _text: &'t str,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str, base: usize) -> Self {
        Parser {
            chars: text.chars().collect(),
            at: 0,
            base,
            _text: text,
        }
    }

    fn offset(&self) -> usize {
        self.base + self.at
    }

    fn error(&self, message: impl Into<String>) -> TemplateError {
        TemplateError::new(self.offset(), message)
    }

    fn skip_space(&mut self) {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
    }

    fn expression_only(mut self) -> Result<Expr, TemplateError> {
        let expr = self.expression()?;
        self.skip_space();
        if self.at < self.chars.len() {
            return Err(self.error(format!(
                "unexpected `{}` after the expression",
                self.chars[self.at]
            ))
            .with_help("an expression is a reference (param.NAME, each.key, each.value, env.name), a literal or a function call; there are no operators"));
        }
        Ok(expr)
    }

    fn expression(&mut self) -> Result<Expr, TemplateError> {
        self.skip_space();
        let start = self.offset();
        match self.chars.get(self.at) {
            None => Err(self
                .error("empty expression")
                .with_help("write a reference such as `${param.NAME}`")),
            Some('"') => self.string().map(|s| Expr::Literal(Value::Str(s))),
            Some(c) if c.is_ascii_digit() || *c == '-' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
                let word = self.word();
                self.skip_space();
                match (word.as_str(), self.chars.get(self.at)) {
                    (_, Some('(')) => self.call(word, start),
                    ("true", _) => Ok(Expr::Literal(Value::Bool(true))),
                    ("false", _) => Ok(Expr::Literal(Value::Bool(false))),
                    _ => self.path(word, start),
                }
            }
            Some(c) => Err(self.error(format!("unexpected `{c}`"))),
        }
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(&c) = self.chars.get(self.at) {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                word.push(c);
                self.at += 1;
            } else {
                break;
            }
        }
        word
    }

    fn string(&mut self) -> Result<String, TemplateError> {
        let start = self.offset();
        self.at += 1;
        let mut out = String::new();
        loop {
            match self.chars.get(self.at) {
                None => {
                    return Err(TemplateError::new(
                        start,
                        "the string is not closed by `\"`",
                    ));
                }
                Some('"') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some('\\') => {
                    match self.chars.get(self.at + 1) {
                        Some(&c @ ('"' | '\\')) => out.push(c),
                        Some('n') => out.push('\n'),
                        _ => return Err(self.error("unknown escape; write \\\" or \\\\")),
                    }
                    self.at += 2;
                }
                Some(&c) => {
                    out.push(c);
                    self.at += 1;
                }
            }
        }
    }

    fn number(&mut self) -> Result<Expr, TemplateError> {
        let start = self.at;
        if self.chars[self.at] == '-' {
            self.at += 1;
        }
        while self.chars.get(self.at).is_some_and(char::is_ascii_digit) {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        text.parse::<i64>()
            .map(|n| Expr::Literal(Value::Int(n)))
            .map_err(|_| {
                TemplateError::new(self.base + start, format!("`{text}` is not a whole number"))
            })
    }

    fn call(&mut self, name: String, start: usize) -> Result<Expr, TemplateError> {
        self.at += 1;
        let mut args = Vec::new();
        self.skip_space();
        if self.chars.get(self.at) == Some(&')') {
            self.at += 1;
            return Ok(Expr::Call(name, args, start));
        }
        loop {
            args.push(self.expression()?);
            self.skip_space();
            match self.chars.get(self.at) {
                Some(',') => self.at += 1,
                Some(')') => {
                    self.at += 1;
                    return Ok(Expr::Call(name, args, start));
                }
                Some(c) if "+-*/".contains(*c) => {
                    return Err(self.error(format!("templates have no arithmetic (`{c}`)")).with_help(
                        "compute with the functions instead: cidrsubnet's NETNUM, range(START, END), or a parameter holding the number",
                    ));
                }
                _ => return Err(self.error(format!("expected `,` or `)` in the call of {name}"))),
            }
        }
    }

    fn path(&mut self, root: String, start: usize) -> Result<Expr, TemplateError> {
        let mut steps = vec![Step::Field(root)];
        loop {
            match self.chars.get(self.at) {
                Some('.') => {
                    self.at += 1;
                    let word = self.word();
                    if word.is_empty() {
                        return Err(self.error("expected a name after `.`"));
                    }
                    steps.push(Step::Field(word));
                }
                Some('[') => {
                    self.at += 1;
                    self.skip_space();
                    let index = match self.expression()? {
                        Expr::Literal(v) => v,
                        _ => return Err(self.error("an index is a number or a quoted key")),
                    };
                    self.skip_space();
                    if self.chars.get(self.at) != Some(&']') {
                        return Err(self.error("expected `]`"));
                    }
                    self.at += 1;
                    steps.push(Step::Index(index));
                }
                _ => return Ok(Expr::Path(steps, start)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_variables_and_escapes_stay_text() {
        assert_eq!(
            parse("arn:aws:s3:::b/${aws:username}/*").unwrap(),
            vec![Part::Text("arn:aws:s3:::b/${aws:username}/*".into())]
        );
        assert_eq!(
            parse("$${param.x}").unwrap(),
            vec![Part::Text("${param.x}".into())]
        );
        assert_eq!(
            parse("addr = '${instance.web.private-ip}'").unwrap(),
            vec![Part::Text("addr = '${instance.web.private-ip}'".into())]
        );
        assert!(matches!(&parse("${parm.x}").unwrap()[0], Part::Expr(..)));
    }

    #[test]
    fn expressions_are_located() {
        let err = parse("a-${param.x +}").unwrap_err();
        assert_eq!(err.offset, 12);
        let err = parse("a-${param.x").unwrap_err();
        assert_eq!(err.offset, 2);
        let parts = parse("x-${cidrsubnet(param.cidr, 8, 1)}").unwrap();
        assert!(
            matches!(&parts[1], Part::Expr(Expr::Call(name, args, 4), 2) if name == "cidrsubnet" && args.len() == 3)
        );
    }
}
