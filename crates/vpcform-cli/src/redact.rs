//! Secrets never reach the logs, at any verbosity or `RUST_LOG` level:
//! every line tracing writes passes through [`Redactor`], which removes the
//! credentials this process can see (the standard environment variables'
//! values) and whatever follows the headers and fields that carry them
//! (`x-amz-security-token`, `Authorization`, `Signature=`, `Credential=`,
//! `X-Amz-Credential`), whichever crate logged them.

use std::io::{self, Write};

/// Environment variables whose values are secrets or identify them.
const SECRET_VARS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AWS_WEB_IDENTITY_TOKEN",
];

/// Markers after which a value is a secret, up to the next separator.
const SECRET_MARKERS: &[&str] = &[
    "x-amz-security-token",
    "authorization",
    "signature=",
    "credential=",
    "x-amz-credential",
    "x-amz-signature",
    "secret_access_key",
    "session_token",
    "access_key_id",
];

const REDACTED: &str = "[redacted]";

/// What to remove from every line.
#[derive(Clone, Debug)]
pub(crate) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub(crate) fn from_env() -> Self {
        let mut secrets: Vec<String> = SECRET_VARS
            .iter()
            .filter_map(|v| std::env::var(v).ok())
            .filter(|s| s.len() >= 4)
            .collect();
        // Longest first, so a secret that contains another goes whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Redactor { secrets }
    }

    /// The line with every secret removed.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            out = out.replace(s.as_str(), REDACTED);
        }
        redact_markers(&out)
    }
}

/// Replaces what follows each marker (after `:`, `=`, `"` or spaces) up to
/// the next separator.
fn redact_markers(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut cuts: Vec<(usize, usize)> = Vec::new();
    for marker in SECRET_MARKERS {
        let mut from = 0;
        while let Some(i) = lower[from..].find(marker) {
            let start = from + i + marker.len();
            from = start;
            // A marker inside a longer word (`GetAccountAuthorizationDetails`)
            // names no value.
            let names_value =
                marker.ends_with('=') || lower[start..].starts_with([':', '=', '"', ' ', '\'']);
            if !names_value {
                continue;
            }
            let value_start = start
                + lower[start..]
                    .find(|c: char| !matches!(c, ':' | '=' | '"' | ' ' | '\''))
                    .unwrap_or(lower.len() - start);
            let value_end = value_start
                + lower[value_start..]
                    .find(['"', '\'', ',', '&', ';', '\n', '}', ')'])
                    .unwrap_or(lower.len() - value_start);
            if value_end > value_start {
                cuts.push((value_start, value_end));
            }
        }
    }
    if cuts.is_empty() {
        return text.to_string();
    }
    cuts.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in cuts {
        if start < at {
            at = at.max(end);
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(REDACTED);
        at = end;
    }
    out.push_str(&text[at..]);
    out
}

/// Standard error with every write redacted (tracing writes one event a call).
#[derive(Clone, Debug)]
pub(crate) struct RedactingStderr(pub(crate) Redactor);

impl Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        io::stderr().write_all(self.0.redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stderr().flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for RedactingStderr {
    type Writer = RedactingStderr;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_signatures_never_pass() {
        let r = Redactor {
            secrets: vec!["TOKEN-123456".into(), "AKIAEXAMPLE".into()],
        };
        let line = r#"headers: {"x-amz-security-token": "FwoGZXIvYXdz", "authorization": "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261205/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=abcdef0123"} token TOKEN-123456"#;
        let out = r.redact(line);
        for secret in ["FwoGZXIvYXdz", "AKIAEXAMPLE", "abcdef0123", "TOKEN-123456"] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(out.contains("x-amz-security-token"), "{out}");
    }

    #[test]
    fn lines_without_secrets_pass_unchanged() {
        let r = Redactor { secrets: vec![] };
        let call = "DEBUG AWS call IAM:GetAccountAuthorizationDetails";
        assert_eq!(r.redact(call), call);
        let line = "ec2:DescribeVpcs took 12 ms";
        assert_eq!(r.redact(line), line);
    }
}
