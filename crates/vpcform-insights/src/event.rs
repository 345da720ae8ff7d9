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
    let mut start = 0;
    let mut spaces = memchr::memchr_iter(b' ', message.as_bytes());
    for slot in &mut out[..13] {
        let end = spaces.next()?;
        *slot = &message[start..end];
        start = end + 1;
    }
    if spaces.next().is_some() {
        return None;
    }
    out[13] = &message[start..];
    if out[0].is_empty() || !out[0].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(out)
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
