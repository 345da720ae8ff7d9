//! Events from files: plain flow-log records one per line (`@timestamp` is
//! the record's `start`), or the JSON `aws logs filter-log-events` prints.

use std::io::BufRead;
use std::sync::Arc;

use crate::event::Event;

/// An event for one flow-log record line, as CloudWatch Logs would store it:
/// `@timestamp` from `start` (else `now`), the stream named after the interface.
pub fn record_event(line: &str, log: &Arc<str>, now_ms: i64) -> Event {
    let mut streams = Streams::default();
    streams.event(line.to_string(), log, now_ms)
}

/// Stream names (`eni-…-all`) made once per interface.
#[derive(Default)]
struct Streams(std::collections::HashMap<String, Arc<str>>);

impl Streams {
    fn event(&mut self, line: String, log: &Arc<str>, now_ms: i64) -> Event {
        let mut tokens = line.split(' ');
        let eni = tokens.nth(2).unwrap_or("unknown");
        let start = tokens.nth(7).and_then(|s| s.parse::<i64>().ok());
        let flow = start.is_some() && line.starts_with(|c: char| c.is_ascii_digit());
        let stream = match self.0.get(eni) {
            Some(s) => s.clone(),
            None => {
                let s: Arc<str> = Arc::from(if flow {
                    format!("{eni}-all")
                } else {
                    "unknown".into()
                });
                self.0.insert(eni.to_string(), s.clone());
                s
            }
        };
        Event {
            timestamp: start.filter(|_| flow).map_or(now_ms, |s| s * 1000),
            message: line,
            log_stream: stream,
            log: log.clone(),
            ingestion_time: None,
        }
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
