//! Recursive descent over the tokens: commands separated by `|`.

use regex::Regex;

use crate::ast::{
    AGGREGATES, AggFunc, Aggregate, BinOp, Command, Expr, FUNCTIONS, FieldRef, Named, Parse,
    ParsePattern, Query, Stats,
};
use crate::error::{QueryError, did_you_mean};
use crate::lexer::{Tok, Token, lex};

/// The commands this engine runs.
pub(crate) const COMMANDS: &[&str] = &[
    "fields", "display", "filter", "stats", "sort", "limit", "dedup", "parse",
];
/// Commands of Logs Insights this engine does not run (the AWS engine does).
const UNSUPPORTED: &[&str] = &[
    "pattern",
    "diff",
    "unmask",
    "anomaly",
    "filterIndex",
    "SOURCE",
    "lookup",
];

/// The most rows a query returns (AWS's limit).
pub const MAX_LIMIT: usize = 10_000;

/// Parses a query; `field_refs` are the fields it reads, with their columns.
pub(crate) fn parse(text: &str) -> Result<(Query, Vec<(String, usize)>), QueryError> {
    let tokens = lex(text)?;
    let mut p = Parser {
        text,
        toks: tokens,
        pos: 0,
        refs: Vec::new(),
        depth: 0,
    };
    let mut commands = Vec::new();
    loop {
        if p.at_end() {
            if commands.is_empty() {
                return Err(QueryError::at(0, "the query is empty"));
            }
            return Err(QueryError::at(p.column(), "a command is missing after `|`"));
        }
        commands.push(p.command()?);
        match p.peek() {
            None => break,
            Some(Tok::Pipe) => p.pos += 1,
            Some(_) => {
                return Err(QueryError::at(
                    p.column(),
                    format!("expected `|` before {}", p.describe()),
                ));
            }
        }
    }
    let stats = commands
        .iter()
        .filter(|c| matches!(c, Command::Stats(_)))
        .count();
    if stats > 2 {
        return Err(QueryError::at(
            0,
            "a query may have at most two stats commands",
        ));
    }
    if let Some(i) = commands.iter().position(|c| matches!(c, Command::Dedup(_)))
        && commands[i + 1..]
            .iter()
            .any(|c| !matches!(c, Command::Limit(_)))
    {
        return Err(QueryError::at(0, "only `limit` may follow `dedup`"));
    }
    Ok((Query { commands }, p.refs))
}

struct Parser<'q> {
    text: &'q str,
    toks: Vec<Token>,
    pos: usize,
    refs: Vec<(String, usize)>,
    /// How deep the expression being parsed is nested (parentheses, `not`,
    /// signs, powers, calls): bounded, so no query can exhaust the stack.
    depth: usize,
}

/// How deep expressions may nest, and how many operands one chain of the
/// same operator (`a or b or …`) may have: far beyond what a query needs.
const MAX_NESTING: usize = 64;
const MAX_OPERANDS: usize = 256;

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn column(&self) -> usize {
        self.toks
            .get(self.pos)
            .map_or_else(|| self.text.chars().count() + 1, |t| t.column)
    }

    fn describe(&self) -> String {
        match self.toks.get(self.pos) {
            Some(t) => format!("`{}`", &self.text[t.offset..t.end]),
            None => "the end of the query".into(),
        }
    }

    fn error(&self, message: impl Into<String>) -> QueryError {
        QueryError::at(self.column(), message)
    }

    /// The next token if it is the keyword `word` (any case).
    fn eat_word(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(word) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn eat(&mut self, tok: &Tok) -> bool {
        if self.peek() == Some(tok) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// One level deeper, opened at `column`; an error there past [`MAX_NESTING`].
    fn nest<T>(
        &mut self,
        column: usize,
        parse: impl FnOnce(&mut Self) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        if self.depth >= MAX_NESTING {
            return Err(QueryError::at(
                column,
                format!(
                    "the expression nests deeper than {MAX_NESTING} levels here; write it flatter"
                ),
            ));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    /// Counts the operands of one chain; an error past [`MAX_OPERANDS`].
    fn operand(&self, count: &mut usize, op: &str) -> Result<(), QueryError> {
        *count += 1;
        if *count > MAX_OPERANDS {
            return Err(self.error(format!(
                "more than {MAX_OPERANDS} operands joined by `{op}`; use `in [...]` or several commands"
            )));
        }
        Ok(())
    }

    fn expect(&mut self, tok: &Tok, what: &str) -> Result<(), QueryError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.error(format!("expected {what}, found {}", self.describe())))
        }
    }

    fn command(&mut self) -> Result<Command, QueryError> {
        let column = self.column();
        let Some(Tok::Ident(word)) = self.peek().cloned() else {
            return Err(self.error(format!("expected a command, found {}", self.describe())));
        };
        self.pos += 1;
        let lower = word.to_ascii_lowercase();
        Ok(match lower.as_str() {
            "fields" => Command::Fields(self.named_list()?),
            "display" => Command::Display(self.named_list()?),
            "filter" => Command::Filter(self.expr()?),
            "stats" => Command::Stats(self.stats()?),
            "sort" => Command::Sort(self.sort()?),
            "limit" => Command::Limit(self.limit()?),
            "dedup" => Command::Dedup(self.field_list()?),
            "parse" => Command::Parse(self.parse_command()?),
            _ if UNSUPPORTED.iter().any(|u| u.eq_ignore_ascii_case(&word)) => {
                return Err(QueryError::at(
                    column,
                    format!("`{word}` is not supported by the local engine; use --engine aws"),
                ));
            }
            _ => {
                return Err(QueryError::at(
                    column,
                    format!(
                        "unknown command `{word}`{}",
                        did_you_mean(&word, COMMANDS.iter().copied())
                    ),
                ));
            }
        })
    }

    /// `expr [as name], …`
    fn named_list(&mut self) -> Result<Vec<Named>, QueryError> {
        let mut out = Vec::new();
        loop {
            out.push(self.named()?);
            if !self.eat(&Tok::Comma) {
                return Ok(out);
            }
        }
    }

    fn named(&mut self) -> Result<Named, QueryError> {
        let start = self.pos;
        let expr = self.expr()?;
        let text = self.source(start);
        let name = if self.eat_word("as") {
            self.name()?
        } else {
            text
        };
        Ok(Named { expr, name })
    }

    /// The query text of tokens `start..pos`.
    fn source(&self, start: usize) -> String {
        let from = self.toks[start].offset;
        let to = self.toks[self.pos - 1].end;
        self.text[from..to].to_string()
    }

    fn name(&mut self) -> Result<String, QueryError> {
        match self.peek().cloned() {
            Some(Tok::Ident(n) | Tok::Quoted(n)) => {
                self.pos += 1;
                Ok(n)
            }
            _ => Err(self.error(format!("expected a name, found {}", self.describe()))),
        }
    }

    fn field_list(&mut self) -> Result<Vec<String>, QueryError> {
        let mut out = Vec::new();
        loop {
            let column = self.column();
            let name = self.name()?;
            self.refs.push((name.clone(), column));
            out.push(name);
            if !self.eat(&Tok::Comma) {
                return Ok(out);
            }
        }
    }

    fn stats(&mut self) -> Result<Stats, QueryError> {
        let mut aggregates = Vec::new();
        loop {
            aggregates.push(self.aggregate()?);
            if !self.eat(&Tok::Comma) {
                break;
            }
        }
        let by = if self.eat_word("by") {
            self.named_list()?
        } else {
            Vec::new()
        };
        Ok(Stats { aggregates, by })
    }

    fn aggregate(&mut self) -> Result<Aggregate, QueryError> {
        let start = self.pos;
        let column = self.column();
        let Some(Tok::Ident(word)) = self.peek().cloned() else {
            return Err(self.error(format!(
                "expected an aggregate function such as count(), found {}",
                self.describe()
            )));
        };
        let Some(&(_, func)) = AGGREGATES
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&word))
        else {
            let names = AGGREGATES.iter().map(|(n, _)| *n);
            return Err(QueryError::at(
                column,
                format!(
                    "`{word}` is not an aggregate function{}",
                    did_you_mean(&word, names)
                ),
            ));
        };
        self.pos += 1;
        self.expect(&Tok::LParen, "`(`")?;
        let arg = if self.eat(&Tok::Op("*")) || self.peek() == Some(&Tok::RParen) {
            None
        } else {
            Some(self.expr()?)
        };
        let mut percent = 0.0;
        if func == AggFunc::Pct {
            self.expect(&Tok::Comma, "`,` and a percentile, as in pct(bytes, 90)")?;
            match self.peek().cloned() {
                Some(Tok::Num(n)) if (0.0..=100.0).contains(&n) => {
                    self.pos += 1;
                    percent = n;
                }
                _ => return Err(self.error("expected a percentile from 0 to 100")),
            }
        }
        self.expect(&Tok::RParen, "`)`")?;
        if arg.is_none() && func != AggFunc::Count {
            return Err(QueryError::at(column, format!("`{word}` needs a field")));
        }
        let text = self.source(start);
        let name = if self.eat_word("as") {
            self.name()?
        } else {
            text
        };
        Ok(Aggregate {
            func,
            arg,
            percent,
            name,
        })
    }

    fn sort(&mut self) -> Result<Vec<(Expr, bool)>, QueryError> {
        let mut out = Vec::new();
        loop {
            let e = self.expr()?;
            let desc = if self.eat_word("desc") {
                true
            } else {
                self.eat_word("asc");
                false
            };
            out.push((e, desc));
            if !self.eat(&Tok::Comma) {
                return Ok(out);
            }
        }
    }

    fn limit(&mut self) -> Result<usize, QueryError> {
        match self.peek().cloned() {
            Some(Tok::Num(n)) if n >= 1.0 && n.fract() == 0.0 && n <= MAX_LIMIT as f64 => {
                self.pos += 1;
                Ok(n as usize)
            }
            Some(Tok::Num(_)) => {
                Err(self.error(format!("limit takes a whole number from 1 to {MAX_LIMIT}")))
            }
            _ => Err(self.error(format!(
                "expected a number after `limit`, found {}",
                self.describe()
            ))),
        }
    }

    fn parse_command(&mut self) -> Result<Parse, QueryError> {
        let column = self.column();
        let field = self.name()?;
        self.refs.push((field.clone(), column));
        let column = self.column();
        let pattern = match self.peek().cloned() {
            Some(Tok::Str(glob)) => {
                self.pos += 1;
                if !self.eat_word("as") {
                    return Err(self.error("a glob pattern needs `as` and a name per `*`"));
                }
                let mut names = vec![self.name()?];
                while self.eat(&Tok::Comma) {
                    names.push(self.name()?);
                }
                let stars = glob.matches('*').count();
                if stars != names.len() {
                    return Err(QueryError::at(
                        column,
                        format!(
                            "the pattern has {stars} `*` but {} names follow `as`",
                            names.len()
                        ),
                    ));
                }
                let pieces: Vec<String> = glob.split('*').map(regex::escape).collect();
                let regex = Regex::new(&format!("(?s){}", pieces.join("(.*?)")))
                    .map_err(|e| QueryError::at(column, e.to_string()))?;
                ParsePattern::Glob { regex, names }
            }
            Some(Tok::Regex(re)) => {
                self.pos += 1;
                let regex = compile(&re, column)?;
                if regex.capture_names().flatten().next().is_none() {
                    return Err(QueryError::at(
                        column,
                        "the regular expression names no group: use (?<name>…)",
                    ));
                }
                ParsePattern::Regex(regex)
            }
            _ => {
                return Err(self.error(format!(
                    "expected a \"glob * pattern\" or a /regex/, found {}",
                    self.describe()
                )));
            }
        };
        Ok(Parse { field, pattern })
    }

    // Expressions, lowest precedence first.

    fn expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and_expr()?;
        let mut n = 0;
        while self.eat_word("or") {
            self.operand(&mut n, "or")?;
            left = Expr::Binary(Box::new(left), BinOp::Or, Box::new(self.and_expr()?));
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.not_expr()?;
        let mut n = 0;
        while self.eat_word("and") {
            self.operand(&mut n, "and")?;
            left = Expr::Binary(Box::new(left), BinOp::And, Box::new(self.not_expr()?));
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, QueryError> {
        let column = self.column();
        if self.eat_word("not") {
            return self.nest(column, |p| Ok(Expr::Not(Box::new(p.not_expr()?))));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, QueryError> {
        let left = self.additive()?;
        let op = match self.peek() {
            Some(Tok::Op("=")) => Some(BinOp::Eq),
            Some(Tok::Op("!=")) => Some(BinOp::Ne),
            Some(Tok::Op("<")) => Some(BinOp::Lt),
            Some(Tok::Op("<=")) => Some(BinOp::Le),
            Some(Tok::Op(">")) => Some(BinOp::Gt),
            Some(Tok::Op(">=")) => Some(BinOp::Ge),
            Some(Tok::Op("=~")) => Some(BinOp::Match),
            _ => None,
        };
        if let Some(op) = op {
            self.pos += 1;
            let right = self.additive()?;
            return Ok(Expr::Binary(Box::new(left), op, Box::new(right)));
        }
        let negated = matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("not"))
            && matches!(self.toks.get(self.pos + 1).map(|t| &t.tok), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("in") || w.eq_ignore_ascii_case("like"));
        if negated {
            self.pos += 1;
        }
        if self.eat_word("in") {
            self.expect(&Tok::LBracket, "`[` and a list, as in `in [\"a\", \"b\"]`")?;
            let mut list = Vec::new();
            if !self.eat(&Tok::RBracket) {
                loop {
                    list.push(self.additive()?);
                    if self.eat(&Tok::RBracket) {
                        break;
                    }
                    self.expect(&Tok::Comma, "`,` or `]`")?;
                }
            }
            return Ok(Expr::In {
                expr: Box::new(left),
                list,
                negated,
            });
        }
        if self.eat_word("like") {
            let pattern = self.primary()?;
            if !matches!(pattern, Expr::Str(_) | Expr::Regex(_)) {
                return Err(self.error("`like` takes a \"string\" or a /regex/"));
            }
            return Ok(Expr::Like {
                expr: Box::new(left),
                pattern: Box::new(pattern),
                negated,
            });
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.multiplicative()?;
        let mut n = 0;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("+")) => BinOp::Add,
                Some(Tok::Op("-")) => BinOp::Sub,
                _ => return Ok(left),
            };
            self.pos += 1;
            self.operand(&mut n, "+ or -")?;
            left = Expr::Binary(Box::new(left), op, Box::new(self.multiplicative()?));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.power()?;
        let mut n = 0;
        loop {
            let op = match self.peek() {
                Some(Tok::Op("*")) => BinOp::Mul,
                Some(Tok::Op("/")) => BinOp::Div,
                Some(Tok::Op("%")) => BinOp::Mod,
                _ => return Ok(left),
            };
            self.pos += 1;
            self.operand(&mut n, "*, / or %")?;
            left = Expr::Binary(Box::new(left), op, Box::new(self.power()?));
        }
    }

    fn power(&mut self) -> Result<Expr, QueryError> {
        let base = self.unary()?;
        let column = self.column();
        if self.eat(&Tok::Op("^")) {
            let exponent = self.nest(column, Self::power)?;
            return Ok(Expr::Binary(Box::new(base), BinOp::Pow, Box::new(exponent)));
        }
        Ok(base)
    }

    fn unary(&mut self) -> Result<Expr, QueryError> {
        let column = self.column();
        if self.eat(&Tok::Op("-")) {
            return self.nest(column, |p| Ok(Expr::Neg(Box::new(p.unary()?))));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        let column = self.column();
        let Some(tok) = self.peek().cloned() else {
            return Err(self.error("expected a value, found the end of the query"));
        };
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(Expr::Num(n)),
            Tok::Str(s) => Ok(Expr::Str(s)),
            Tok::Regex(r) => Ok(Expr::Regex(compile(&r, column)?)),
            Tok::Quoted(name) => {
                self.refs.push((name.clone(), column));
                Ok(Expr::Field(FieldRef { name, id: usize::MAX }))
            }
            Tok::LParen => {
                let e = self.nest(column, Self::expr)?;
                self.expect(&Tok::RParen, "`)`")?;
                Ok(e)
            }
            Tok::Ident(word) if self.peek() == Some(&Tok::LParen) => {
                self.nest(column, |p| p.call(&word, column))
            }
            Tok::Ident(word) if word.starts_with(|c: char| c.is_ascii_digit()) => duration(&word)
                .map(Expr::Duration)
                .ok_or_else(|| QueryError::at(column, format!("`{word}` is not a duration: use a number and one of ms, s, m, h, d, w, mo, q, y"))),
            Tok::Ident(word) => {
                self.refs.push((word.clone(), column));
                Ok(Expr::Field(FieldRef { name: word, id: usize::MAX }))
            }
            _ => {
                self.pos -= 1;
                Err(self.error(format!("expected a value, found {}", self.describe())))
            }
        }
    }

    fn call(&mut self, word: &str, column: usize) -> Result<Expr, QueryError> {
        let Some(&(name, func, min, max)) = FUNCTIONS
            .iter()
            .find(|(n, ..)| n.eq_ignore_ascii_case(word))
        else {
            if AGGREGATES.iter().any(|(n, _)| n.eq_ignore_ascii_case(word)) {
                return Err(QueryError::at(
                    column,
                    format!("`{word}` is an aggregate function: use it in `stats`"),
                ));
            }
            let names = FUNCTIONS
                .iter()
                .map(|(n, ..)| *n)
                .chain(AGGREGATES.iter().map(|(n, _)| *n));
            return Err(QueryError::at(
                column,
                format!("unknown function `{word}`{}", did_you_mean(word, names)),
            ));
        };
        self.expect(&Tok::LParen, "`(`")?;
        let mut args = Vec::new();
        if !self.eat(&Tok::RParen) {
            loop {
                args.push(self.expr()?);
                if self.eat(&Tok::RParen) {
                    break;
                }
                self.expect(&Tok::Comma, "`,` or `)`")?;
            }
        }
        if args.len() < min || args.len() > max {
            let takes = if min == max {
                format!("{min}")
            } else {
                format!("{min} to {max}")
            };
            return Err(QueryError::at(
                column,
                format!("{name}() takes {takes} argument(s), not {}", args.len()),
            ));
        }
        Ok(Expr::Call(func, args))
    }
}

fn compile(re: &str, column: usize) -> Result<Regex, QueryError> {
    Regex::new(re).map_err(|e| {
        QueryError::at(
            column,
            format!(
                "bad regular expression: {}",
                e.to_string().lines().last().unwrap_or_default()
            ),
        )
    })
}

/// `5m` → milliseconds; months, quarters and years as 30, 91 and 365 days
/// (bin() floors them by the calendar).
pub(crate) fn duration(word: &str) -> Option<i64> {
    let digits = word.find(|c: char| !c.is_ascii_digit())?;
    let n: i64 = word[..digits].parse().ok()?;
    let unit = match &word[digits..] {
        "ms" => 1,
        "s" | "sec" => 1_000,
        "m" | "min" => 60_000,
        "h" | "hr" => 3_600_000,
        "d" => 86_400_000,
        "w" => 7 * 86_400_000,
        "mo" => 30 * 86_400_000,
        "q" => 91 * 86_400_000,
        "y" => 365 * 86_400_000,
        _ => return None,
    };
    Some(n * unit)
}
