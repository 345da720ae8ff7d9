//! Events from files: plain flow-log records one per line (`@timestamp` is
//! the record's `start`), or the JSON `aws logs filter-log-events` prints.

use std::fs::File;
use std::io::{BufRead, BufReader, Read as _, Seek as _, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::eval::{Compiled, QueryResult};
use crate::event::{Event, Record, Source, flow_spans};

/// Events for flow-log record lines, as CloudWatch Logs would store them:
/// `@timestamp` from `start` (else `now`), the stream named after the
/// interface (`eni-…-all`, each name made once). A query that never reads
/// `@logStream` skips the naming: its events share one unnamed stream.
#[derive(Default)]
struct Streams {
    names: std::collections::HashMap<String, Arc<str>, foldhash::fast::RandomState>,
    unnamed: Option<Arc<str>>,
}

impl Streams {
    fn unnamed() -> Self {
        Streams {
            unnamed: Some(Arc::from("")),
            ..Streams::default()
        }
    }

    /// A record line as an event, its flow-log fields found once.
    fn record(&mut self, line: String, seq: u64, log: &Arc<str>, now_ms: i64) -> Record {
        let spans = flow_spans(&line);
        let (eni, start) = match &spans {
            Some(s) => (s.field(&line, 2), s.field(&line, 10).parse::<i64>().ok()),
            None => interface_and_start(&line),
        };
        let flow = start.is_some() && line.starts_with(|c: char| c.is_ascii_digit());
        let stream = self.stream(if flow { eni } else { "" });
        Record {
            seq,
            event: Event {
                timestamp: start.filter(|_| flow).map_or(now_ms, |s| s * 1000),
                message: line,
                log_stream: stream,
                log: log.clone(),
                ingestion_time: None,
            },
            spans: Some(spans),
        }
    }

    /// The stream of an interface's records (`""`: not a flow-log record).
    fn stream(&mut self, eni: &str) -> Arc<str> {
        if let Some(s) = &self.unnamed {
            return s.clone();
        }
        if let Some(s) = self.names.get(eni) {
            return s.clone();
        }
        let s: Arc<str> = Arc::from(if eni.is_empty() {
            "unknown".to_string()
        } else {
            format!("{eni}-all")
        });
        self.names.insert(eni.to_string(), s.clone());
        s
    }
}

/// Fields 3 (interface) and 11 (start) of a line that is not a
/// default-format record (a custom format's, say).
fn interface_and_start(line: &str) -> (&str, Option<i64>) {
    let mut spaces = memchr::memchr_iter(b' ', line.as_bytes());
    let mut field = |skip: usize, from: usize| {
        let end = spaces.nth(skip)?;
        Some((&line[from..end], end + 1))
    };
    let eni_at = field(1, 0).map(|(_, next)| next);
    let eni = eni_at.and_then(|at| field(0, at));
    let start = eni
        .and_then(|(_, next)| field(6, next).map(|(_, at)| at))
        .and_then(|at| {
            let end = line[at..].find(' ').map_or(line.len(), |e| at + e);
            line[at..end].parse::<i64>().ok()
        });
    (eni.map_or("unknown", |(e, _)| e), start)
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
        // Bounded: a JSON export larger than this is read as truncated, and refused.
        let doc: serde_json::Value = serde_json::from_reader(reader.take(MAX_JSON_BYTES))
            .map_err(|e| format!("not the JSON of `aws logs filter-log-events` (or larger than {MAX_JSON_BYTES} bytes): {e}"))?;
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
    let mut streams = Streams::default();
    Ok(Box::new(reader.lines().filter_map(move |line| {
        match line {
            Ok(l) if l.trim().is_empty() => None,
            Ok(l) => Some(Ok(streams
                .record(l.trim_end().to_string(), 0, &log, now_ms)
                .event)),
            Err(e) => Some(Err(e.to_string())),
        }
    })))
}

/// Runs a query over a file: the JSON of `filter-log-events` in one pass;
/// plain records split into `threads` byte ranges at line starts, read and
/// evaluated in parallel (each record numbered by its byte offset, so the
/// result is the same as one pass).
pub fn run_file(
    compiled: &Compiled,
    path: &Path,
    log: &str,
    now_ms: i64,
    threads: usize,
) -> Result<QueryResult, String> {
    let mut file = File::open(path).map_err(|e| e.to_string())?;
    // Split by size only what has one: a pipe or a device is read by no one.
    if !file.metadata().map_err(|e| e.to_string())?.is_file() {
        return Err(format!(
            "{} is not a regular file: export the records to a file first",
            path.display()
        ));
    }
    let mut head = [0u8; 4096];
    let read = file.read(&mut head).map_err(|e| e.to_string())?;
    if head[..read].iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        file.rewind().map_err(|e| e.to_string())?;
        let events = read_input(BufReader::new(file), log, now_ms)?;
        let failure = Mutex::new(None);
        let result = compiled.run(events.map_while(|e| e.map_err(|e| stash(&failure, e)).ok()));
        return match failure.into_inner().expect("not poisoned") {
            Some(e) => Err(e),
            None => Ok(result),
        };
    }
    let size = file.metadata().map_err(|e| e.to_string())?.len();
    let mut starts = vec![0];
    for i in 1..threads.max(1) as u64 {
        starts
            .push(line_start_at(&mut file, size * i / threads as u64).map_err(|e| e.to_string())?);
    }
    starts.push(size);
    starts.dedup();
    let failure = Mutex::new(None);
    let partitions = starts
        .windows(2)
        .map(|range| {
            let mut reader = BufReader::with_capacity(1 << 20, File::open(path)?);
            reader.seek(SeekFrom::Start(range[0]))?;
            Ok(RangeRecords {
                reader,
                at: range[0],
                end: range[1],
                line: Vec::new(),
                streams: if compiled.reads(Source::LogStream) {
                    Streams::default()
                } else {
                    Streams::unnamed()
                },
                // Its own copy: a shared count would bounce between cores.
                log: Arc::from(log),
                now_ms,
                failure: &failure,
            })
        })
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(|e| e.to_string())?;
    let result = compiled.run_partitioned(partitions, Some(size));
    match failure.into_inner().expect("not poisoned") {
        Some(e) => Err(e),
        None => Ok(result),
    }
}

fn stash(failure: &Mutex<Option<String>>, e: String) {
    failure.lock().expect("not poisoned").get_or_insert(e);
}

/// The offset of the first line that starts at or after `at`.
fn line_start_at(file: &mut File, at: u64) -> std::io::Result<u64> {
    if at == 0 {
        return Ok(0);
    }
    file.seek(SeekFrom::Start(at - 1))?;
    let mut rest = Vec::new();
    let skipped = BufReader::new(&mut *file).read_until(b'\n', &mut rest)?;
    Ok(at - 1 + skipped as u64)
}

/// The flow-log records whose lines start in one byte range of a file.
struct RangeRecords<'a> {
    reader: BufReader<File>,
    at: u64,
    end: u64,
    line: Vec<u8>,
    streams: Streams,
    log: Arc<str>,
    now_ms: i64,
    failure: &'a Mutex<Option<String>>,
}

impl RangeRecords<'_> {
    /// The next record at or after `at`: lines found with memchr in the
    /// reader's buffer and copied once, into the event.
    fn next_record(&mut self) -> std::io::Result<Option<Record>> {
        while self.at < self.end {
            let seq = self.at;
            let available = self.reader.fill_buf()?;
            let Some(i) = memchr::memchr(b'\n', available) else {
                // A line across the buffer's end, or the file's last.
                self.line.clear();
                let read = (&mut self.reader)
                    .take(MAX_LINE_BYTES as u64 + 1)
                    .read_until(b'\n', &mut self.line)?;
                if read == 0 {
                    return Ok(None);
                }
                if read > MAX_LINE_BYTES {
                    return Err(std::io::Error::other(format!(
                        "the record at byte {seq} is longer than {MAX_LINE_BYTES} bytes; no log event is (CloudWatch Logs keeps at most 256 KiB)"
                    )));
                }
                self.at += read as u64;
                let text = record_text(&self.line).map(std::borrow::Cow::into_owned);
                match text {
                    Some(text) => return Ok(Some(self.record(text, seq))),
                    None => continue,
                }
            };
            let text = record_text(&available[..i]).map(std::borrow::Cow::into_owned);
            self.reader.consume(i + 1);
            self.at += i as u64 + 1;
            if let Some(text) = text {
                return Ok(Some(self.record(text, seq)));
            }
        }
        Ok(None)
    }

    fn record(&mut self, text: String, seq: u64) -> Record {
        self.streams.record(text, seq, &self.log, self.now_ms)
    }
}

/// The largest `filter-log-events` JSON read whole.
const MAX_JSON_BYTES: u64 = 2 << 30;

/// The longest record a file may hold: beyond any log event.
const MAX_LINE_BYTES: usize = 1 << 20;

/// A line's text without its line end; `None` when blank.
fn record_text(line: &[u8]) -> Option<std::borrow::Cow<'_, str>> {
    let text = match std::str::from_utf8(line) {
        Ok(t) => std::borrow::Cow::Borrowed(t.trim_end()),
        Err(_) => std::borrow::Cow::Owned(String::from_utf8_lossy(line).trim_end().to_string()),
    };
    (!text.trim_start().is_empty()).then_some(text)
}

impl Iterator for RangeRecords<'_> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        self.next_record().unwrap_or_else(|e| {
            stash(self.failure, e.to_string());
            None
        })
    }
}
