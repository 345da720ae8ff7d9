//! CloudWatch Logs filter patterns, as metric filters evaluate them
//! ("Filter pattern syntax for metric filters, subscription filters, filter
//! log events and Live Tail"): space-delimited patterns (`[a, b = 4*, ...,
//! c > 10 || c < 2]`, the form flow logs need) and term patterns (`ERROR`,
//! `"exact phrase"`, `?A ?B`, `-excluded`); the empty pattern matches every
//! event. JSON patterns and regular expressions are not evaluated here:
//! they are refused with a located error rather than guessed.

use std::fmt;

/// A parsed filter pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterPattern {
    /// Matches every event.
    All,
    Terms(Terms),
    Fields(Vec<Field>),
}

/// `A B` (all), `?A ?B` (any), `-C` (none of), `"a phrase"` as one term.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Terms {
    all: Vec<String>,
    any: Vec<String>,
    none: Vec<String>,
}

/// One position of a space-delimited pattern.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// `...`: any number of fields, none included.
    Ellipsis,
    /// A named field, with conditions joined by `&&` or `||` (left to right).
    Named {
        name: String,
        conditions: Option<Conditions>,
    },
}

/// Conditions on one field: `c1 || c2 && c3` is read as AWS documents it,
/// `&&` before `||`.
#[derive(Clone, Debug, PartialEq)]
pub struct Conditions(Vec<Vec<Condition>>);

#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    op: Op,
    value: Operand,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug, PartialEq)]
enum Operand {
    Number(f64),
    /// Text, `*` matching any run of characters.
    Text(String),
}

/// A pattern error at a character offset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "at character {}: {}", self.offset + 1, self.message)
    }
}

impl FilterPattern {
    pub fn parse(text: &str) -> Result<FilterPattern, PatternError> {
        let trimmed = text.trim();
        let lead = text.len() - text.trim_start().len();
        if trimmed.is_empty() {
            return Ok(FilterPattern::All);
        }
        if trimmed.starts_with('{') {
            return Err(PatternError {
                offset: lead,
                message: "JSON filter patterns are not evaluated by vpcform; flow-log records are space-delimited: use `[field, field = value, ...]`".into(),
            });
        }
        if trimmed.starts_with('%') {
            return Err(PatternError {
                offset: lead,
                message: "regular-expression patterns (`%…%`) are not evaluated by vpcform; use a space-delimited pattern with `*` wildcards".into(),
            });
        }
        if trimmed.starts_with('[') {
            return parse_fields(text, lead).map(FilterPattern::Fields);
        }
        parse_terms(trimmed)
            .map(FilterPattern::Terms)
            .map_err(|e| PatternError {
                offset: e.offset + lead,
                ..e
            })
    }

    /// The names of a space-delimited pattern's fields, in order.
    pub fn field_names(&self) -> Vec<&str> {
        match self {
            FilterPattern::Fields(fields) => fields
                .iter()
                .filter_map(|f| match f {
                    Field::Named { name, .. } => Some(name.as_str()),
                    Field::Ellipsis => None,
                })
                .collect(),
            FilterPattern::All | FilterPattern::Terms(_) => Vec::new(),
        }
    }

    /// Whether a space-delimited pattern can match records of `fields`
    /// fields: exactly that many named fields, or at most that many with `...`.
    pub fn fits(&self, fields: usize) -> bool {
        match self {
            FilterPattern::Fields(f) => {
                let named = f
                    .iter()
                    .filter(|x| matches!(x, Field::Named { .. }))
                    .count();
                match f.iter().any(|x| matches!(x, Field::Ellipsis)) {
                    true => named <= fields,
                    false => named == fields,
                }
            }
            FilterPattern::All | FilterPattern::Terms(_) => true,
        }
    }

    /// Whether the event matches, and its fields by name when it does.
    pub fn matches<'e>(&self, event: &'e str) -> Option<Vec<(&str, &'e str)>> {
        match self {
            FilterPattern::All => Some(Vec::new()),
            FilterPattern::Terms(t) => t.matches(event).then(Vec::new),
            FilterPattern::Fields(fields) => {
                let values = split_event(event);
                let mut bound = Vec::new();
                match_fields(fields, &values, &mut bound).then_some(bound)
            }
        }
    }
}

fn parse_terms(text: &str) -> Result<Terms, PatternError> {
    if text.matches('"').count() % 2 == 1 {
        return Err(PatternError {
            offset: text.rfind('"').unwrap_or_default(),
            message: "this quoted term is not closed".into(),
        });
    }
    let mut terms = Terms::default();
    let mut from = 0;
    for token in tokens(text) {
        let at = text[from..].find(token.as_str()).map_or(from, |i| from + i);
        from = at + token.len();
        let (kind, word) = match token.chars().next() {
            Some('?') => (1, &token[1..]),
            Some('-') => (2, &token[1..]),
            _ => (0, token.as_str()),
        };
        let word = word.trim_matches('"').to_string();
        if word.is_empty() {
            let message = match kind {
                1 => "`?` needs a term after it (`?ERROR ?WARN`)",
                2 => "`-` needs a term after it (`-DEBUG`)",
                _ => "an empty quoted term matches every event",
            };
            return Err(PatternError {
                offset: at,
                message: message.into(),
            });
        }
        match kind {
            1 => terms.any.push(word),
            2 => terms.none.push(word),
            _ => terms.all.push(word),
        }
    }
    Ok(terms)
}

impl Terms {
    fn matches(&self, event: &str) -> bool {
        self.all.iter().all(|t| event.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| event.contains(t.as_str())))
            && !self.none.iter().any(|t| event.contains(t.as_str()))
    }
}

/// Words split on spaces, a double-quoted run kept as one.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// An event's fields: split on spaces, a run in double quotes or square
/// brackets counting as one field (its delimiters removed).
pub fn split_event(event: &str) -> Vec<&str> {
    let bytes = event.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let close = match bytes[i] {
            b'"' => Some(b'"'),
            b'[' => Some(b']'),
            _ => None,
        };
        if let Some(close) = close
            && let Some(end) = event[i + 1..].find(close as char)
        {
            out.push(&event[i + 1..i + 1 + end]);
            i += end + 2;
            continue;
        }
        let end = event[i..]
            .find(|c: char| c.is_ascii_whitespace())
            .map_or(event.len(), |e| i + e);
        out.push(&event[i..end]);
        i = end;
    }
    out
}

fn match_fields<'p, 'e>(
    fields: &'p [Field],
    values: &[&'e str],
    bound: &mut Vec<(&'p str, &'e str)>,
) -> bool {
    let Some((first, rest)) = fields.split_first() else {
        return values.is_empty();
    };
    match first {
        Field::Ellipsis => (0..=values.len()).any(|skip| {
            let mark = bound.len();
            let ok = match_fields(rest, &values[skip..], bound);
            if !ok {
                bound.truncate(mark);
            }
            ok
        }),
        Field::Named { name, conditions } => {
            let Some((value, more)) = values.split_first() else {
                return false;
            };
            if conditions.as_ref().is_some_and(|c| !c.hold(value)) {
                return false;
            }
            bound.push((name, value));
            match_fields(rest, more, bound)
        }
    }
}

impl Conditions {
    fn hold(&self, value: &str) -> bool {
        self.0.iter().any(|all| all.iter().all(|c| c.holds(value)))
    }
}

impl Condition {
    fn holds(&self, value: &str) -> bool {
        match (&self.value, value.parse::<f64>()) {
            (Operand::Number(n), Ok(v)) => match self.op {
                Op::Eq => v == *n,
                Op::Ne => v != *n,
                Op::Lt => v < *n,
                Op::Le => v <= *n,
                Op::Gt => v > *n,
                Op::Ge => v >= *n,
            },
            // A number compared with text that is not one: only `!=` holds.
            (Operand::Number(_), Err(_)) => self.op == Op::Ne,
            (Operand::Text(t), _) => match self.op {
                Op::Eq => glob(t, value),
                Op::Ne => !glob(t, value),
                Op::Lt | Op::Le | Op::Gt | Op::Ge => false,
            },
        }
    }
}

/// `*` matches any run of characters; everything else itself.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first)
        || !text[first.len()..].ends_with(last)
        || text.len() < first.len() + last.len()
    {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// `[f1, f2 = v, ..., f3 > 1 && f3 < 9]`.
fn parse_fields(text: &str, lead: usize) -> Result<Vec<Field>, PatternError> {
    let chars: Vec<char> = text.chars().collect();
    let end = chars.iter().rposition(|c| !c.is_whitespace()).unwrap_or(0);
    if chars[end] != ']' {
        return Err(PatternError {
            offset: end,
            message: "a space-delimited pattern ends with `]`".into(),
        });
    }
    let mut out = Vec::new();
    let mut start = lead + 1;
    for part in split_top(&chars[lead + 1..end]) {
        let (offset, piece) = (start + part.0, part.1.trim());
        start = lead + 1;
        let at = offset + (part.1.len() - part.1.trim_start().len());
        if piece == "..." {
            out.push(Field::Ellipsis);
            continue;
        }
        out.push(parse_field(piece, at)?);
    }
    if out.is_empty() {
        return Err(PatternError {
            offset: lead,
            message: "name at least one field, e.g. `[..., action = REJECT, status]`".into(),
        });
    }
    Ok(out)
}

/// The comma-separated parts outside double quotes, with their offsets.
fn split_top(chars: &[char]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let (mut current, mut from, mut quoted) = (String::new(), 0, false);
    for (i, c) in chars.iter().enumerate() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(*c);
            }
            ',' if !quoted => {
                out.push((from, std::mem::take(&mut current)));
                from = i + 1;
            }
            c => current.push(*c),
        }
    }
    out.push((from, current));
    out
}

fn parse_field(piece: &str, at: usize) -> Result<Field, PatternError> {
    let name_end = piece
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .unwrap_or(piece.len());
    let name = &piece[..name_end];
    if name.is_empty() {
        return Err(PatternError {
            offset: at,
            message: format!("`{piece}` does not start with a field name"),
        });
    }
    let rest = piece[name_end..].trim();
    if rest.is_empty() {
        return Ok(Field::Named {
            name: name.to_string(),
            conditions: None,
        });
    }
    let mut alternatives = vec![Vec::new()];
    let mut text = format!("{name} {rest}");
    loop {
        let (condition, remainder) = parse_condition(&text, name, at)?;
        if let Some(last) = alternatives.last_mut() {
            last.push(condition);
        }
        let remainder = remainder.trim_start();
        if remainder.is_empty() {
            break;
        }
        let (joiner, after) = remainder.split_at(2.min(remainder.len()));
        match joiner {
            "&&" => {}
            "||" => alternatives.push(Vec::new()),
            _ => {
                return Err(PatternError {
                    offset: at,
                    message: format!("expected `&&` or `||` before `{remainder}`"),
                });
            }
        }
        text = after.trim_start().to_string();
    }
    Ok(Field::Named {
        name: name.to_string(),
        conditions: Some(Conditions(alternatives)),
    })
}

/// `NAME OP VALUE`, returning the text after it.
fn parse_condition<'t>(
    text: &'t str,
    name: &str,
    at: usize,
) -> Result<(Condition, &'t str), PatternError> {
    let Some(rest) = text.strip_prefix(name) else {
        return Err(PatternError {
            offset: at,
            message: format!("a condition of field `{name}` names another field: `{text}`"),
        });
    };
    let rest = rest.trim_start();
    let (op, after) = [
        ("!=", Op::Ne),
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("=", Op::Eq),
        ("<", Op::Lt),
        (">", Op::Gt),
    ]
    .iter()
    .find_map(|(s, op)| rest.strip_prefix(s).map(|after| (*op, after)))
    .ok_or_else(|| PatternError {
        offset: at,
        message: format!("expected one of = != < <= > >= after `{name}`"),
    })?;
    let after = after.trim_start();
    let (raw, remainder) = if let Some(quoted) = after.strip_prefix('"') {
        let end = quoted.find('"').ok_or_else(|| PatternError {
            offset: at,
            message: "a quoted value is not closed".into(),
        })?;
        (Operand::Text(quoted[..end].to_string()), &quoted[end + 1..])
    } else {
        let end = after
            .find(|c: char| c.is_whitespace() || c == '&' || c == '|')
            .unwrap_or(after.len());
        let token = &after[..end];
        if token.is_empty() {
            return Err(PatternError {
                offset: at,
                message: format!("`{name}` is compared with nothing"),
            });
        }
        let value = token
            .parse::<f64>()
            .map_or(Operand::Text(token.to_string()), Operand::Number);
        (value, &after[end..])
    };
    if matches!(raw, Operand::Text(_)) && matches!(op, Op::Lt | Op::Le | Op::Gt | Op::Ge) {
        return Err(PatternError {
            offset: at,
            message: format!(
                "`{name}` is compared with text by an order: `<`, `<=`, `>`, `>=` take numbers"
            ),
        });
    }
    Ok((Condition { op, value: raw }, remainder))
}
