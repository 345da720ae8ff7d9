//! Tokens of the Logs Insights language, each with its column (1-based).

use crate::error::QueryError;

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A name: a field (`srcAddr`, `@timestamp`, `a.b`), a command, a function or a keyword.
    Ident(String),
    /// A backquoted name.
    Quoted(String),
    Str(String),
    Num(f64),
    Regex(String),
    Op(&'static str),
    Pipe,
    Comma,
    LParen,
    RParen,
    LBracket,
    RBracket,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    /// Byte offsets of its first character and after its last, and its column.
    pub(crate) offset: usize,
    pub(crate) end: usize,
    pub(crate) column: usize,
}

const OPS: &[&str] = &[
    "=~", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "^",
];

/// Splits a query into tokens; `#` starts a comment to the end of the line.
pub(crate) fn lex(text: &str) -> Result<Vec<Token>, QueryError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // Columns counted forward from the last one asked for (tokens come in
    // order), so lexing stays linear in the query's length.
    let seen = std::cell::Cell::new((0usize, 1usize));
    let column = |i: usize| {
        let (from, col) = seen.get();
        let (from, col) = if i < from { (0, 1) } else { (from, col) };
        let mut col = col;
        for c in text[from..i].chars() {
            col = if c == '\n' { 1 } else { col + 1 };
        }
        seen.set((i, col));
        col
    };
    while i < bytes.len() {
        let c = bytes[i] as char;
        let start = i;
        let tok = match c {
            ' ' | '\t' | '\r' | '\n' => {
                i += 1;
                continue;
            }
            '#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            '|' => {
                i += 1;
                Tok::Pipe
            }
            ',' => {
                i += 1;
                Tok::Comma
            }
            '(' => {
                i += 1;
                Tok::LParen
            }
            ')' => {
                i += 1;
                Tok::RParen
            }
            '[' => {
                i += 1;
                Tok::LBracket
            }
            ']' => {
                i += 1;
                Tok::RBracket
            }
            '\'' | '"' => {
                let (s, next) = quoted(text, i, c)
                    .ok_or_else(|| QueryError::at(column(start), "this string is not closed"))?;
                i = next;
                Tok::Str(s)
            }
            '`' => {
                let (s, next) = quoted(text, i, '`').ok_or_else(|| {
                    QueryError::at(column(start), "this quoted name is not closed")
                })?;
                i = next;
                Tok::Quoted(s)
            }
            '/' if regex_allowed(&out) => {
                let (s, next) = quoted(text, i, '/').ok_or_else(|| {
                    QueryError::at(column(start), "this regular expression is not closed (/…/)")
                })?;
                i = next;
                Tok::Regex(s)
            }
            c if c.is_ascii_digit()
                || (c == '.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)) =>
            {
                while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
                    i += 1;
                }
                // A duration like 5m belongs to bin(); the number and unit stay one name.
                if i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                    while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                        i += 1;
                    }
                    Tok::Ident(text[start..i].to_string())
                } else {
                    let n = text[start..i].parse().map_err(|_| {
                        QueryError::at(
                            column(start),
                            format!("`{}` is not a number", &text[start..i]),
                        )
                    })?;
                    Tok::Num(n)
                }
            }
            _ if text[i..].starts_with(|c: char| c.is_alphabetic() || c == '@' || c == '_') => {
                let name_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '@' | '.');
                i += text[i..]
                    .char_indices()
                    .find(|(_, c)| !name_char(*c))
                    .map_or(text.len() - i, |(k, _)| k);
                // A trailing dot is not part of a name.
                while i > start + 1 && bytes[i - 1] == b'.' {
                    i -= 1;
                }
                Tok::Ident(text[start..i].to_string())
            }
            _ => match OPS.iter().find(|op| text[i..].starts_with(**op)) {
                Some(op) => {
                    i += op.len();
                    Tok::Op(op)
                }
                None => {
                    let c = text[i..].chars().next().unwrap_or(c);
                    return Err(QueryError::at(column(start), format!("unexpected `{c}`")));
                }
            },
        };
        out.push(Token {
            tok,
            offset: start,
            end: i,
            column: column(start),
        });
    }
    Ok(out)
}

/// Words after which an operand (so a `/regex/`) may follow.
const BEFORE_OPERAND: &[&str] = &[
    "like", "not", "and", "or", "in", "filter", "fields", "display",
];

/// A `/` starts a regex where an operand may start (not after a value), and
/// after `parse FIELD`.
fn regex_allowed(out: &[Token]) -> bool {
    let word = |t: &Token| match &t.tok {
        Tok::Ident(w) => Some(w.to_ascii_lowercase()),
        _ => None,
    };
    match out.last() {
        None => true,
        Some(last) => match &last.tok {
            Tok::Ident(w) => {
                BEFORE_OPERAND.contains(&w.to_ascii_lowercase().as_str())
                    || out.len() >= 2 && word(&out[out.len() - 2]).as_deref() == Some("parse")
            }
            Tok::Op(_) | Tok::Comma | Tok::LParen | Tok::LBracket | Tok::Pipe => true,
            _ => false,
        },
    }
}

/// The text between `quote`s starting at `start`, with `\\` escapes; and the index after it.
fn quoted(text: &str, start: usize, quote: char) -> Option<(String, usize)> {
    let mut out = String::new();
    let mut chars = text[start + 1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == '\\' {
            let (_, next) = chars.next()?;
            if quote == '/' && next != '/' {
                out.push('\\');
            }
            out.push(next);
        } else if c == quote {
            return Some((out, start + 1 + i + c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    None
}
