//! Log events and the fields Logs Insights discovers in them.

use std::sync::Arc;

use crate::value::Value;

/// One log event, as CloudWatch Logs stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    pub message: String,
    pub log_stream: Arc<str>,
    /// `account-id:log-group-name` (Logs Insights' `@log`).
    pub log: Arc<str>,
    pub ingestion_time: Option<i64>,
}

/// The fields Insights discovers in a flow-log record of the default format,
/// in the record's order.
pub const FLOW_LOG_FIELDS: [&str; 14] = [
    "version",
    "accountId",
    "interfaceId",
    "srcAddr",
    "dstAddr",
    "srcPort",
    "dstPort",
    "protocol",
    "packets",
    "bytes",
    "startTime",
    "endTime",
    "action",
    "logStatus",
];

/// Fields every event has.
pub const SYSTEM_FIELDS: [&str; 6] = [
    "@timestamp",
    "@message",
    "@logStream",
    "@log",
    "@ingestionTime",
    "@ptr",
];

/// Where a field's value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    Timestamp,
    Message,
    LogStream,
    Log,
    IngestionTime,
    /// A discovered flow-log field, by position.
    Flow(usize),
    /// Only set by the query (`fields … as`, `parse`, `stats`).
    Computed,
}

pub(crate) fn source_of(name: &str) -> Source {
    match name {
        "@timestamp" => Source::Timestamp,
        "@message" => Source::Message,
        "@logStream" => Source::LogStream,
        "@log" => Source::Log,
        "@ingestionTime" => Source::IngestionTime,
        _ => FLOW_LOG_FIELDS
            .iter()
            .position(|f| *f == name)
            .map_or(Source::Computed, Source::Flow),
    }
}

/// The 14 tokens of a default-format flow-log record, if the message is one.
pub(crate) fn flow_tokens(message: &str) -> Option<[&str; 14]> {
    let mut out = [""; 14];
    let mut tokens = space_separated(message);
    for slot in &mut out {
        *slot = tokens.next()?;
    }
    if tokens.next().is_some() || out[0].is_empty() || !out[0].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(out)
}

/// The text between single spaces. A plain byte loop: tokens are short,
/// where a vectorized search costs more to start than it saves.
pub(crate) fn space_separated(line: &str) -> impl Iterator<Item = &str> {
    let bytes = line.as_bytes();
    let mut start = 0;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let rest = &bytes[start..];
        let token = match rest.iter().position(|&b| b == b' ') {
            Some(i) => {
                let token = &line[start..start + i];
                start += i + 1;
                token
            }
            None => {
                done = true;
                &line[start..]
            }
        };
        Some(token)
    })
}

impl Event {
    /// The value of a discovered or system field.
    pub(crate) fn field(&self, source: Source, flow: Option<&[&str; 14]>) -> Value {
        match source {
            Source::Timestamp => Value::Time(self.timestamp),
            Source::Message => Value::Str(self.message.clone()),
            Source::LogStream => Value::Str(self.log_stream.to_string()),
            Source::Log => Value::Str(self.log.to_string()),
            Source::IngestionTime => self.ingestion_time.map_or(Value::Missing, Value::Time),
            Source::Flow(i) => match flow.map(|t| t[i]) {
                Some("-") | None => Value::Missing,
                Some(v) => Value::Str(v.to_string()),
            },
            Source::Computed => Value::Missing,
        }
    }
}
