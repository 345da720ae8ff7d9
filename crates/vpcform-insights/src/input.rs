//! Events from files: plain flow-log records one per line (`@timestamp` is
//! the record's `start`), or the JSON `aws logs filter-log-events` prints.

use std::io::BufRead;
use std::sync::Arc;

use crate::event::{Event, flow_tokens};

/// An event for one flow-log record line, as CloudWatch Logs would store it:
/// `@timestamp` from `start` (else `now`), the stream named after the interface.
pub fn record_event(line: &str, log: &Arc<str>, now_ms: i64) -> Event {
    let (timestamp, stream) = match flow_tokens(line) {
        Some(t) => (
            t[10].parse::<i64>().map_or(now_ms, |s| s * 1000),
            format!("{}-all", t[2]),
        ),
        None => (now_ms, "unknown".to_string()),
    };
    Event {
        timestamp,
        message: line.to_string(),
        log_stream: Arc::from(stream.as_str()),
        log: log.clone(),
        ingestion_time: None,
    }
}

/// Reads events from a file's text: JSON of `filter-log-events` when it
/// starts with `{`, else one flow-log record per line.
pub fn read_input<R: BufRead + 'static>(
    mut reader: R,
    log: &str,
    now_ms: i64,
) -> Result<Box<dyn Iterator<Item = Result<Event, String>>>, String> {
    let log: Arc<str> = Arc::from(log);
    let first = reader.fill_buf().map_err(|e| e.to_string())?;
    let json = first.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if json {
        let doc: serde_json::Value = serde_json::from_reader(reader)
            .map_err(|e| format!("not the JSON of `aws logs filter-log-events`: {e}"))?;
        let events = doc
            .get("events")
            .and_then(|e| e.as_array())
            .ok_or("the JSON has no `events` list (expected the output of `aws logs filter-log-events`)")?
            .iter()
            .map(move |e| {
                Ok(Event {
                    timestamp: e.get("timestamp").and_then(serde_json::Value::as_i64).unwrap_or(now_ms),
                    message: e.get("message").and_then(|m| m.as_str()).unwrap_or_default().trim_end().to_string(),
                    log_stream: Arc::from(e.get("logStreamName").and_then(|s| s.as_str()).unwrap_or("unknown")),
                    log: log.clone(),
                    ingestion_time: e.get("ingestionTime").and_then(serde_json::Value::as_i64),
                })
            })
            .collect::<Vec<_>>();
        return Ok(Box::new(events.into_iter()));
    }
    Ok(Box::new(reader.lines().filter_map(
        move |line| match line {
            Ok(l) if l.trim().is_empty() => None,
            Ok(l) => Some(Ok(record_event(l.trim_end(), &log, now_ms))),
            Err(e) => Some(Err(e.to_string())),
        },
    )))
}
