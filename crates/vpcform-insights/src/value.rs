//! Values as Logs Insights treats them: strings that compare as numbers when
//! both sides are numbers, timestamps, and missing fields. Results are strings.

use std::cmp::Ordering;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// The field is not in the event (a flow log's `-` too).
    Missing,
    Str(String),
    Num(f64),
    Bool(bool),
    /// Milliseconds since the epoch (`@timestamp`, `bin()`, `fromMillis()`).
    Time(i64),
}

impl Value {
    pub fn is_missing(&self) -> bool {
        matches!(self, Value::Missing)
    }

    /// The number this value is, if it is one (a numeric string counts).
    pub fn num(&self) -> Option<f64> {
        match self {
            Value::Num(n) => Some(*n),
            Value::Str(s) => number(s),
            Value::Time(t) => Some(*t as f64),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            Value::Missing => None,
        }
    }

    pub fn truthy(&self) -> bool {
        match self {
            Value::Bool(b) => *b,
            Value::Missing => false,
            Value::Num(n) => *n != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Time(_) => true,
        }
    }

    /// As Logs Insights returns it: a string (`None` for a missing field).
    pub fn to_result(&self) -> Option<String> {
        match self {
            Value::Missing => None,
            Value::Str(s) => Some(s.clone()),
            Value::Num(n) => Some(format_number(*n)),
            Value::Bool(b) => Some(b.to_string()),
            Value::Time(ms) => Some(format_time(*ms)),
        }
    }

    /// The text of the value, borrowed when it is a string.
    pub(crate) fn text_ref(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Value::Str(s) => std::borrow::Cow::Borrowed(s),
            other => std::borrow::Cow::Owned(other.text()),
        }
    }

    /// The text of the value for string operations (missing: empty).
    pub fn text(&self) -> String {
        self.to_result().unwrap_or_default()
    }

    /// `=`: numbers numerically when both sides are numbers, else as text.
    pub fn equals(&self, other: &Value) -> bool {
        if self.is_missing() || other.is_missing() {
            return false;
        }
        match (self.num(), other.num()) {
            (Some(a), Some(b)) => a == b,
            _ => self.text_ref() == other.text_ref(),
        }
    }

    /// `<` and friends: numerically when both are numbers, else as text.
    pub fn compare(&self, other: &Value) -> Option<Ordering> {
        if self.is_missing() || other.is_missing() {
            return None;
        }
        match (self.num(), other.num()) {
            (Some(a), Some(b)) => a.partial_cmp(&b),
            _ => Some(self.text_ref().cmp(&other.text_ref())),
        }
    }
}

/// A string that is only a number.
pub(crate) fn number(s: &str) -> Option<f64> {
    // Counters (bytes, packets, ports) are short runs of digits: exact as
    // integers, and far cheaper than a float parse.
    if (1..=15).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        return Some(s.bytes().fold(0u64, |n, b| n * 10 + u64::from(b - b'0')) as f64);
    }
    let t = s.trim();
    if t.is_empty()
        || !t
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'))
    {
        return None;
    }
    t.parse().ok()
}

pub(crate) fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `2014-12-14 04:06:50.000`, as Logs Insights shows `@timestamp`.
pub fn format_time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.{millis:03}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) → days since 1970-01-01.
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `2014-12-14 04:06:50.000` (or with `T`/`Z`) back to milliseconds.
pub(crate) fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches('Z').replace('T', " ");
    let (date, time) = s.split_once(' ').unwrap_or((&s, "00:00:00"));
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, sec) = (
        t.next()??,
        t.next().flatten().unwrap_or(0),
        t.next().flatten().unwrap_or(0),
    );
    let millis: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    Some(((days_from_civil(y, m, day) * 24 + h) * 60 + mi) * 60_000 + sec * 1000 + millis)
}

/// Logs Insights' natural order (ascending): every non-number before every
/// number; numbers by value; other text in chunks, runs of digits compared by
/// length then value, the rest by Unicode. Missing values come last.
pub(crate) fn natural_cmp(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Time(x), Value::Time(y)) => return x.cmp(y),
        (Value::Num(x), Value::Num(y)) => return x.partial_cmp(y).unwrap_or(Ordering::Equal),
        _ => {}
    }
    match (a.is_missing(), b.is_missing()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let numeric = |v: &Value| match v {
        Value::Num(n) => Some(*n),
        Value::Time(t) => Some(*t as f64),
        Value::Str(s) if s.bytes().all(|c| c.is_ascii_digit() || c == b'.') && !s.is_empty() => {
            s.parse().ok()
        }
        _ => None,
    };
    match (numeric(a), numeric(b)) {
        // Equal numbers by their text: `01` before `1`, as the documentation lists them.
        (Some(x), Some(y)) => {
            x.partial_cmp(&y)
                .unwrap_or(Ordering::Equal)
                .then_with(|| match (a, b) {
                    (Value::Str(p), Value::Str(q)) => p.cmp(q),
                    _ => Ordering::Equal,
                })
        }
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => chunks_cmp(&a.text_ref(), &b.text_ref()),
    }
}

fn chunks_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (chunks(a), chunks(b));
    loop {
        match (x.next(), y.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(p), Some(q)) => {
                let digits = |s: &str| s.as_bytes()[0].is_ascii_digit();
                let o = if digits(p) && digits(q) {
                    p.len().cmp(&q.len()).then_with(|| p.cmp(q))
                } else {
                    p.cmp(q)
                };
                if o != Ordering::Equal {
                    return o;
                }
            }
        }
    }
}

/// Runs of digits and runs of other characters.
fn chunks(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let first = rest.chars().next()?;
        let digit = first.is_ascii_digit();
        let end = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() != digit)
            .map_or(rest.len(), |(i, _)| i);
        let (chunk, tail) = rest.split_at(end);
        rest = tail;
        Some(chunk)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_is_the_documented_example() {
        let sorted = [
            "!:",
            "#",
            "*%04",
            "0#",
            "5A",
            "111A",
            "2345_",
            "@",
            "@_",
            "A",
            "A9876fghj",
            "a12345hfh",
            "0",
            "01",
            "1",
            "2",
            "3",
        ];
        let mut values: Vec<Value> = sorted
            .iter()
            .rev()
            .map(|s| Value::Str(s.to_string()))
            .collect();
        values.sort_by(natural_cmp);
        let got: Vec<String> = values.iter().map(Value::text).collect();
        assert_eq!(got, sorted);
    }

    #[test]
    fn times_round_trip_and_format_like_insights() {
        assert_eq!(format_time(1_418_530_010_000), "2014-12-14 04:06:50.000");
        assert_eq!(
            parse_time("2014-12-14 04:06:50.000"),
            Some(1_418_530_010_000)
        );
        assert_eq!(days_from_civil(2024, 2, 29), 19_782);
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
