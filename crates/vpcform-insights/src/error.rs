//! Query errors, located by column.

/// A problem with a query, at a column of it (1-based; 0: the query as a whole).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

impl QueryError {
    pub(crate) fn at(column: usize, message: impl Into<String>) -> Self {
        QueryError {
            column,
            message: message.into(),
        }
    }

    /// The query with a caret under the column, and the message.
    pub fn render(&self, query: &str) -> String {
        let mut out = format!("error: {}\n  {}\n", self.message, query.replace('\n', " "));
        if self.column > 0 {
            out.push_str(&format!(
                "  {}^\n",
                " ".repeat(self.column.saturating_sub(1))
            ));
        }
        out
    }
}

/// "did you mean `x`?" when a known name is close.
pub(crate) fn did_you_mean<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    let lower = word.to_ascii_lowercase();
    let best = known
        .into_iter()
        .map(|k| {
            (
                strsim::damerau_levenshtein(&lower, &k.to_ascii_lowercase()),
                k,
            )
        })
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d);
    best.map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}
