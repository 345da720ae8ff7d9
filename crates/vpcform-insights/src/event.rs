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

/// An event as a query reads it: numbered in input order and, when its
/// reader already scanned it, with its flow-log fields found.
pub(crate) struct Record {
    pub seq: u64,
    pub event: Event,
    /// `None`: not scanned yet; `Some(None)`: not a default-format record.
    pub spans: Option<Option<FlowSpans>>,
}

/// Where the 14 fields of a default-format flow-log record are in its
/// message: the offsets of the 13 spaces between them. Small, because every
/// row carries one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlowSpans {
    spaces: [u16; 13],
}

impl FlowSpans {
    /// Field `i`'s text in the message these spans were found in.
    pub(crate) fn field<'m>(&self, message: &'m str, i: usize) -> &'m str {
        let start = if i == 0 {
            0
        } else {
            usize::from(self.spaces[i - 1]) + 1
        };
        let end = self
            .spaces
            .get(i)
            .map_or(message.len(), |&e| usize::from(e));
        &message[start..end]
    }
}

/// The fields of a default-format flow-log record, if the message is one:
/// exactly 14 space-separated tokens, the first a version number. (A
/// record is a few hundred bytes at most: a line of 64 KiB or more is not
/// one.) Spaces are found eight bytes at a time: this runs once for every
/// record read.
pub(crate) fn flow_spans(message: &str) -> Option<FlowSpans> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let bytes = message.as_bytes();
    if bytes.len() > usize::from(u16::MAX) {
        return None;
    }
    let mut spaces = [0u16; 13];
    let mut found = 0usize;
    let mut words = bytes.chunks_exact(8);
    let mut at = 0;
    for word in words.by_ref() {
        let x = u64::from_le_bytes(word.try_into().expect("8 bytes")) ^ (ONES * u64::from(b' '));
        // The high bit of each byte that was a space (exact: no carries).
        let mut hits = !(((x & LOW7) + LOW7) | x | LOW7);
        while hits != 0 {
            *spaces.get_mut(found)? = (at + hits.trailing_zeros() as usize / 8) as u16;
            found += 1;
            hits &= hits - 1;
        }
        at += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == b' ' {
            *spaces.get_mut(found)? = (at + i) as u16;
            found += 1;
        }
    }
    let version = &bytes[..usize::from(spaces[0])];
    (found == 13 && !version.is_empty() && version.iter().all(u8::is_ascii_digit))
        .then_some(FlowSpans { spaces })
}

impl Event {
    /// The value of a discovered or system field.
    pub(crate) fn field(&self, source: Source) -> Value {
        match source {
            Source::Timestamp => Value::Time(self.timestamp),
            Source::Message => Value::Str(self.message.clone()),
            Source::LogStream => Value::Str(self.log_stream.to_string()),
            Source::Log => Value::Str(self.log.to_string()),
            Source::IngestionTime => self.ingestion_time.map_or(Value::Missing, Value::Time),
            Source::Flow(i) => match flow_spans(&self.message).map(|s| s.field(&self.message, i)) {
                Some("-") | None => Value::Missing,
                Some(v) => Value::Str(v.to_string()),
            },
            Source::Computed => Value::Missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same answer as splitting on spaces, for lines of every length
    /// and spaces at every position (word boundaries included).
    #[test]
    fn spans_are_the_tokens_a_split_finds() {
        fn expected(line: &str) -> Option<Vec<String>> {
            let tokens: Vec<String> = line.split(' ').map(String::from).collect();
            let version_ok = !tokens[0].is_empty() && tokens[0].bytes().all(|b| b.is_ascii_digit());
            (tokens.len() == 14 && version_ok).then_some(tokens)
        }
        fn scanned(line: &str) -> Option<Vec<String>> {
            flow_spans(line).map(|s| (0..14).map(|i| s.field(line, i).to_string()).collect())
        }
        let record = "2 123456789012 eni-0a1b2c3d 10.1.0.4 10.2.0.4 0 0 1 4 336 1790000000 1790000060 ACCEPT OK";
        assert_eq!(scanned(record), expected(record));
        assert!(scanned(record).is_some());
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % 48) as usize;
            let line: String = (0..len)
                .map(|i| match (x >> (i % 60)) % 5 {
                    0 => ' ',
                    1 => 'a',
                    2 => '-',
                    _ => char::from(b'0' + (i % 10) as u8),
                })
                .collect();
            assert_eq!(scanned(&line), expected(&line), "{line:?}");
        }
        for line in [
            "",
            " ",
            "2",
            "x 1 2 3 4 5 6 7 8 9 10 11 12 13",
            "2 1 2 3 4 5 6 7 8 9 10 11 12 13 14",
        ] {
            assert_eq!(scanned(line), expected(line), "{line:?}");
        }
        assert!(scanned("2 1 2 3 4 5 6 7 8 9 10 11 12 13").is_some());
        let huge = format!("2 {} 2 3 4 5 6 7 8 9 10 11 12 13", "x".repeat(70_000));
        assert!(scanned(&huge).is_none(), "no record is 64 KiB long");
        assert!(
            scanned("2 1 2 3 4 5 6 7 8 9 10 11 12 ").is_some(),
            "an empty last field is a field"
        );
    }
}
