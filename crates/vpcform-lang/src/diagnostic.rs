//! Located diagnostics: what is wrong, where, and what to do about it.

use std::fmt::Write as _;

use crate::escape::excerpt;

use serde::Serialize;

/// A position in the topology file. Lines and columns are 1-based and count
/// characters; `line == 0` means the position is unknown.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub line: u32,
    pub column: u32,
    /// Width in characters of the thing pointed at (at least 1 when rendered).
    pub len: u32,
    /// Where the text came from when it was expanded (a blueprint's file, an
    /// instance of a `for-each`): an index into [`SourceFile::origins`], 0
    /// for the topology file as written.
    pub origin: u32,
}

impl Span {
    pub const UNKNOWN: Span = Span {
        line: 0,
        column: 0,
        len: 0,
        origin: 0,
    };

    pub fn new(line: u32, column: u32, len: u32) -> Self {
        Span {
            line,
            column,
            len,
            origin: 0,
        }
    }

    /// The same place, reached through `origin`.
    pub fn from_origin(self, origin: u32) -> Self {
        Span { origin, ..self }
    }

    pub fn is_known(&self) -> bool {
        self.line > 0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem found in a topology. `code` is stable and meant for tooling.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub span: Span,
    /// A short label printed under the pointed-at text.
    pub label: Option<String>,
    /// What to do about it.
    pub help: Option<String>,
    /// Other places that explain this one (e.g. the first definition of a duplicate).
    pub related: Vec<(Span, String)>,
}

impl Diagnostic {
    pub fn error(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            span,
            label: None,
            help: None,
            related: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, span, message)
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_related(mut self, span: Span, note: impl Into<String>) -> Self {
        self.related.push((span, note.into()));
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The machine-readable form of a diagnostic (`--format json`).
#[derive(Debug, Serialize)]
pub struct DiagnosticRecord<'a> {
    pub file: &'a str,
    pub line: u32,
    pub column: u32,
    pub severity: Severity,
    pub code: &'a str,
    pub message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'a str>,
}

/// Where expanded text came from: the file it was written in (0 the
/// topology, `n` the `n`th of [`SourceFile::others`]) and, for text
/// repeated by an expansion, which use it is (`instance spoke[a] of the
/// for-each at topology.yaml:12:5`) and the use around that one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: u16,
    pub note: Option<String>,
    pub parent: u32,
}

/// The text of the topology file, kept to render snippets, with the files
/// its blueprints came from and the origins of expanded text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    /// Other files the topology read (blueprints), indexed from 1 by `Origin::file`.
    pub others: Vec<(String, String)>,
    /// Indexed by `Span::origin`; entry 0 is the topology file itself.
    pub origins: Vec<Origin>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: name.into(),
            text: text.into(),
            others: Vec::new(),
            origins: Vec::new(),
        }
    }

    /// The name and text of the file a span points into.
    fn file_of(&self, span: Span) -> (&str, &str) {
        let file = self
            .origins
            .get(span.origin as usize)
            .map_or(0, |o| o.file as usize);
        match file.checked_sub(1).and_then(|i| self.others.get(i)) {
            Some((name, text)) => (name, text),
            None => (&self.name, &self.text),
        }
    }

    /// The name of the file a span points into.
    pub fn file_name(&self, span: Span) -> &str {
        self.file_of(span).0
    }

    /// What the expansion says about a span's text, innermost use first.
    pub fn origin_notes(&self, span: Span) -> Vec<&str> {
        let mut notes = Vec::new();
        let mut at = span.origin as usize;
        // Parents come before their children, so this ends.
        while at != 0 {
            let Some(origin) = self.origins.get(at) else {
                break;
            };
            if let Some(note) = &origin.note {
                notes.push(note.as_str());
            }
            if origin.parent as usize >= at {
                break;
            }
            at = origin.parent as usize;
        }
        notes
    }

    fn line_text(&self, span: Span) -> Option<&str> {
        if span.line == 0 {
            return None;
        }
        self.file_of(span).1.lines().nth(span.line as usize - 1)
    }

    pub fn record<'a>(&'a self, d: &'a Diagnostic) -> DiagnosticRecord<'a> {
        DiagnosticRecord {
            file: self.file_name(d.span),
            line: d.span.line,
            column: d.span.column,
            severity: d.severity,
            code: d.code,
            message: &d.message,
            help: d.help.as_deref(),
        }
    }

    /// Renders a diagnostic the way rustc does: header, location, snippet, help.
    /// What it quotes of the file is bounded and shown safely.
    pub fn render(&self, d: &Diagnostic, style: &Style) -> String {
        let mut out = String::new();
        let widest = std::iter::once(d.span.line)
            .chain(d.related.iter().map(|(s, _)| s.line))
            .max()
            .unwrap_or(0);
        let pad = " ".repeat(widest.to_string().len());
        let sev = match d.severity {
            Severity::Error => style.error(d.severity.as_str()),
            Severity::Warning => style.warning(d.severity.as_str()),
        };
        // Messages quote the file: bounded, and safe for a terminal.
        let _ = writeln!(
            out,
            "{sev}{}: {}",
            style.bold(&format!("[{}]", d.code)),
            style.bold(&excerpt(&d.message, MESSAGE_CHARS))
        );
        self.render_location(
            &mut out,
            &pad,
            d.span,
            d.label.as_deref(),
            d.severity,
            style,
        );
        for note in self.origin_notes(d.span) {
            let note = excerpt(note, MESSAGE_CHARS);
            let _ = writeln!(out, "{pad} {} note: {note}", style.blue("="));
        }
        for (span, note) in &d.related {
            let note = excerpt(note, MESSAGE_CHARS);
            let _ = writeln!(out, "{pad} {} note: {note}", style.blue("="));
            if span.is_known() {
                self.render_location(&mut out, &pad, *span, None, Severity::Warning, style);
            }
        }
        if let Some(help) = &d.help {
            let help = excerpt(help, MESSAGE_CHARS);
            let _ = writeln!(
                out,
                "{pad} {} {}: {help}",
                style.blue("="),
                style.bold("help")
            );
        }
        out
    }

    fn render_location(
        &self,
        out: &mut String,
        pad: &str,
        span: Span,
        label: Option<&str>,
        severity: Severity,
        style: &Style,
    ) {
        let name = excerpt(self.file_name(span), MESSAGE_CHARS);
        if !span.is_known() {
            let _ = writeln!(out, "{pad}{} {name}", style.blue("-->"));
            return;
        }
        let _ = writeln!(
            out,
            "{pad}{} {name}:{}:{}",
            style.blue("-->"),
            span.line,
            span.column
        );
        let Some(text) = self.line_text(span) else {
            return;
        };
        let number = format!("{:>width$}", span.line, width = pad.len());
        let (text, span) = window(text, span);
        let _ = writeln!(out, "{pad} {}", style.blue("|"));
        let _ = writeln!(
            out,
            "{} {} {}",
            style.blue(&number),
            style.blue("|"),
            text.trim_end()
        );
        let width = text.chars().count() as u32;
        let start = span.column.saturating_sub(1).min(width);
        let len = span.len.max(1).min(width.saturating_sub(start).max(1));
        let marks = "^".repeat(len as usize);
        let marks = match severity {
            Severity::Error => style.error(&marks),
            Severity::Warning => style.warning(&marks),
        };
        let label = label
            .map(|l| format!(" {}", excerpt(l, MESSAGE_CHARS)))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{pad} {} {}{marks}{label}",
            style.blue("|"),
            " ".repeat(start as usize)
        );
    }
}

/// ANSI styling; [`Style::plain`] for files, pipes and `NO_COLOR`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    pub fn plain() -> Self {
        Style { color: false }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn error(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub fn warning(&self, text: &str) -> String {
        self.paint("1;33", text)
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn blue(&self, text: &str) -> String {
        self.paint("1;34", text)
    }

    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
}

/// The closest candidate to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_ascii_lowercase().replace('_', "-");
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lower, &c.to_ascii_lowercase()), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// How much of a message, note or help a diagnostic prints.
const MESSAGE_CHARS: usize = 400;
/// How much of a source line a snippet shows around the span.
const SNIPPET_CHARS: usize = 160;

/// The part of a source line a snippet shows: at most [`SNIPPET_CHARS`]
/// around the span (`…` where cut), tabs as spaces, and every character a
/// terminal would act on as `\u{fffd}`, one column each so the carets still
/// point at the span. Returns the text and the span within it.
fn window(line: &str, span: Span) -> (String, Span) {
    let chars: Vec<char> = line.chars().collect();
    let column = span.column.saturating_sub(1) as usize;
    let start = match chars.len() > SNIPPET_CHARS {
        true => column.saturating_sub(SNIPPET_CHARS / 3).min(chars.len()),
        false => 0,
    };
    let end = (start + SNIPPET_CHARS).min(chars.len());
    let mut text = String::new();
    if start > 0 {
        text.push('…');
    }
    for &c in &chars[start..end] {
        text.push(match c {
            '\t' => ' ',
            c if crate::escape::is_unsafe_char(c) => '\u{fffd}',
            c => c,
        });
    }
    if end < chars.len() {
        text.push('…');
    }
    let shift = start as u32 - u32::from(start > 0);
    let moved = Span {
        column: span.column.saturating_sub(shift),
        ..span
    };
    (text, moved)
}
