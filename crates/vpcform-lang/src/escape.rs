//! Data is never markup. Every string that did not come from vpcform itself
//! (AWS values and tags, topology text, lock entries, log records) passes
//! through one of these before it lands in an output: the reader sees the
//! data as it is, and nothing in it can start a line, close a section,
//! link, mention, reorder the text or drive the terminal.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that never reach an output raw: C0 and C1 controls (line
/// breaks included), DEL, the Unicode line and paragraph separators, and
/// the bidirectional controls that reorder what a reader sees.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{FEFF}'
        )
}

/// One line of text for a terminal, a log or a plain-text plan: unsafe
/// characters as visible escapes (`\n`, `\t`, `\u{1b}`), and backslashes
/// doubled so that no escape can be faked by the data.
pub fn terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(|c| is_unsafe_char(c) || c == '\\') {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_unsafe_char(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// JSON text for a terminal: as [`terminal`], but backslashes stay as
/// they are, since JSON has escaped every one of the data's already (a
/// newline in a value shows as `\n` once, not `\\n`). Characters JSON
/// leaves raw (C1 controls, bidirectional overrides) are still escaped.
pub fn terminal_json(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe_char(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Inline Markdown code holding `s` literally: one line (see [`terminal`]),
/// fenced by more backticks than any run inside it, so nothing in it is
/// markup, a link or a mention. Not for table cells: see [`md_cell`].
pub fn md_code(s: &str) -> String {
    fence(&terminal(s))
}

/// Inline code inside a GitHub table cell: as [`md_code`], with `|` escaped
/// the way GitHub's tables require even inside code.
pub fn md_cell(s: &str) -> String {
    fence(&terminal(s).replace('|', "\\|"))
}

fn fence(text: &str) -> String {
    let longest = longest_run(text, '`');
    let ticks = "`".repeat(longest + 1);
    // A span that starts or ends with a backtick (or a space) needs a space inside the fence.
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) || text.is_empty() {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{text}{pad}{ticks}")
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for x in text.chars() {
        run = if x == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// A fence for a Markdown code block holding `body`: longer than any
/// backtick run in it, so no line of the data can close the block.
pub fn md_block_fence(body: &str) -> String {
    "`".repeat((longest_run(body, '`') + 1).max(3))
}

/// Text inside raw HTML (a `<summary>`, a `<code>`): one line, entities for
/// everything HTML or Markdown would read (`& < > " '`, backticks, `|`,
/// `*`, `_`, `[`, `]`, `@`, `:`), so it can neither close the element nor
/// link or mention.
pub fn html(s: &str) -> String {
    let line = terminal(s);
    let mut out = String::with_capacity(line.len() + 8);
    for c in line.chars() {
        match c {
            '&' | '<' | '>' | '"' | '\'' | '`' | '|' | '*' | '_' | '[' | ']' | '@' | ':' | '#'
            | '~' | '!' | '(' | ')' => {
                let _ = write!(out, "&#{};", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A CSV cell a spreadsheet will show, not run: a cell that starts like a
/// formula (`=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading
/// `'`, unless it is a plain number or flow logs' `-` (no value); unsafe
/// characters become visible escapes. Quoting is the CSV writer's job.
pub fn csv_cell(s: &str) -> Cow<'_, str> {
    let text = terminal(s);
    let inert = s == "-" || s.parse::<f64>().is_ok_and(f64::is_finite);
    if !inert && (text.starts_with(['=', '+', '-', '@']) || s.starts_with(['\t', '\r'])) {
        Cow::Owned(format!("'{text}"))
    } else {
        text
    }
}

/// At most `max` characters of `s` for one line of a diagnostic, safe for
/// a terminal, with how much was left out.
pub fn excerpt(s: &str, max: usize) -> String {
    let shown: String = s.chars().take(max).collect();
    let rest = s.chars().count().saturating_sub(max);
    match rest {
        0 => terminal(&shown).into_owned(),
        n => format!("{}… ({n} more characters)", terminal(&shown)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_text_never_breaks_a_line_or_drives_the_terminal() {
        let hostile = "a\nPlan: 0 to add\r\u{1b}]8;;http://x\u{7}\u{9b}2J\u{202e}txt\\n";
        let safe = terminal(hostile);
        assert!(!safe.chars().any(is_unsafe_char), "{safe}");
        assert_eq!(
            safe,
            "a\\nPlan: 0 to add\\r\\u{1b}]8;;http://x\\u{7}\\u{9b}2J\\u{202e}txt\\\\n"
        );
        assert!(matches!(terminal("plain"), Cow::Borrowed("plain")));
    }

    #[test]
    fn json_for_a_terminal_escapes_once_and_keeps_data_apart() {
        let value = serde_json::Value::from("line one\nline two\u{202e} a\\n");
        let json = value.to_string();
        // A newline reads `\n`; a backslash and an n from the data `\\n`.
        assert_eq!(
            terminal_json(&json),
            "\"line one\\nline two\\u{202e} a\\\\n\""
        );
        assert!(matches!(terminal_json("\"x\""), Cow::Borrowed(_)));
    }

    #[test]
    fn markdown_code_is_literal_whatever_it_holds() {
        assert_eq!(md_code("sg-1"), "`sg-1`");
        assert_eq!(md_code("a`b"), "``a`b``");
        assert_eq!(md_code("``x"), "``` ``x ```");
        assert_eq!(md_cell("a|b"), "`a\\|b`");
        assert_eq!(md_code("x\n<!--"), "`x\\n<!--`");
        assert_eq!(md_block_fence("```\n````"), "`````");
    }

    #[test]
    fn html_text_cannot_close_its_element_or_mention() {
        let h = html("</summary></details>@team <!-- https://x");
        assert!(
            !h.contains('<') && !h.contains('@') && !h.contains(':'),
            "{h}"
        );
    }

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("-1"), "-1");
        assert_eq!(csv_cell("-"), "-");
        assert_eq!(csv_cell("-2+3"), "'-2+3");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn an_excerpt_is_bounded_and_says_what_it_left_out() {
        let long = "x".repeat(10_000);
        assert_eq!(excerpt(&long, 5), "xxxxx… (9995 more characters)");
    }
}
