//! A metric filter's datapoints and a CloudWatch alarm evaluated over them
//! ("Using Amazon CloudWatch alarms", "Evaluating an alarm", "Configuring
//! how CloudWatch alarms treat missing data"). Each matching event emits
//! the filter's value (1, or a field's number); with a default value, an
//! event that does not match emits it instead. A period's datapoint is the
//! statistic of what its events emitted; a period with nothing emitted has
//! none (missing). The alarm looks at the last `evaluation_periods`
//! periods and is in ALARM when at least `datapoints_to_alarm` of them
//! breach. Missing datapoints: `notBreaching` and `breaching` count as
//! such; `ignore` keeps the state when all are missing; `missing` goes to
//! INSUFFICIENT_DATA when all are missing. Where some are missing, AWS may
//! look back further for datapoints: vpcform counts the ones present.

use serde::Serialize;

use crate::filter_pattern::FilterPattern;

/// What a matching event adds to the metric.
#[derive(Clone, Debug, PartialEq)]
pub enum MetricValue {
    Constant(f64),
    /// `$field`: the number in that field of the space-delimited pattern.
    Field(String),
}

impl MetricValue {
    /// `1`, `0.5`, or `$bytes`.
    pub fn parse(text: &str) -> Result<MetricValue, String> {
        match text.strip_prefix('$') {
            Some(field) if !field.is_empty() => Ok(MetricValue::Field(field.to_string())),
            _ => text
                .parse()
                .map(MetricValue::Constant)
                .map_err(|_| format!("`{text}` is neither a number nor `$FIELD`")),
        }
    }
}

/// Names as CloudWatch's API writes them, both ways.
macro_rules! aws_names {
    ($ty:ident { $($variant:ident = $name:literal),* $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),*];

            /// The name CloudWatch's API uses (`Sum`, `notBreaching`).
            pub fn aws_name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)*
                }
            }

            pub fn from_aws_name(name: &str) -> Option<$ty> {
                match name {
                    $($name => Some($ty::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

aws_names!(Statistic { Sum = "Sum", SampleCount = "SampleCount", Average = "Average", Minimum = "Minimum", Maximum = "Maximum" });
aws_names!(Comparison {
    GreaterThanOrEqualToThreshold = "GreaterThanOrEqualToThreshold",
    GreaterThanThreshold = "GreaterThanThreshold",
    LessThanThreshold = "LessThanThreshold",
    LessThanOrEqualToThreshold = "LessThanOrEqualToThreshold",
});
aws_names!(MissingData { Missing = "missing", NotBreaching = "notBreaching", Breaching = "breaching", Ignore = "ignore" });

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Statistic {
    Sum,
    SampleCount,
    Average,
    Minimum,
    Maximum,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => ">=",
            Comparison::GreaterThanThreshold => ">",
            Comparison::LessThanThreshold => "<",
            Comparison::LessThanOrEqualToThreshold => "<=",
        }
    }

    /// `>=` or `GreaterThanOrEqualToThreshold`.
    pub fn parse(text: &str) -> Option<Comparison> {
        Comparison::from_aws_name(text)
            .or_else(|| Comparison::ALL.iter().copied().find(|c| c.symbol() == text))
    }

    fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MissingData {
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

/// A metric filter: pattern, value, optional default.
#[derive(Clone, Debug)]
pub struct MetricFilter {
    pub pattern: FilterPattern,
    pub value: MetricValue,
    pub default: Option<f64>,
}

#[derive(Clone, Debug)]
pub struct Alarm {
    pub statistic: Statistic,
    pub period_ms: i64,
    pub threshold: f64,
    pub comparison: Comparison,
    pub evaluation_periods: usize,
    pub datapoints_to_alarm: usize,
    pub missing: MissingData,
}

/// One period's datapoint.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Datapoint {
    /// Start of the period, milliseconds since the epoch.
    pub start_ms: i64,
    pub value: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Ok,
    Alarm,
    InsufficientData,
}

/// A change of state, at the end of the period that caused it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Transition {
    pub at_ms: i64,
    pub state: State,
    /// Breaching datapoints in the evaluation range, and the range's length.
    pub breaching: usize,
    pub of: usize,
}

impl MetricFilter {
    /// What one event emits, if anything.
    fn emitted(&self, message: &str) -> Option<f64> {
        match self.pattern.matches(message) {
            Some(fields) => match &self.value {
                MetricValue::Constant(v) => Some(*v),
                MetricValue::Field(name) => fields
                    .iter()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, v)| v.parse().ok()),
            },
            None => self.default,
        }
    }

    /// The datapoints of `events` (time in ms, message), one per period with anything emitted.
    pub fn series<'e>(
        &self,
        events: impl IntoIterator<Item = (i64, &'e str)>,
        period_ms: i64,
        statistic: Statistic,
    ) -> Vec<Datapoint> {
        let mut by_period: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
        for (t, message) in events {
            if let Some(v) = self.emitted(message) {
                by_period
                    .entry(t.div_euclid(period_ms) * period_ms)
                    .or_default()
                    .push(v);
            }
        }
        by_period
            .into_iter()
            .map(|(start_ms, values)| Datapoint {
                start_ms,
                value: aggregate(&values, statistic),
            })
            .collect()
    }
}

fn aggregate(values: &[f64], statistic: Statistic) -> f64 {
    let sum: f64 = values.iter().sum();
    match statistic {
        Statistic::Sum => sum,
        Statistic::SampleCount => values.len() as f64,
        Statistic::Average => sum / values.len().max(1) as f64,
        Statistic::Minimum => values.iter().copied().fold(f64::INFINITY, f64::min),
        Statistic::Maximum => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

impl Alarm {
    /// The alarm's state changes over the periods from `from_ms` to `to_ms`,
    /// starting in INSUFFICIENT_DATA as a new alarm does.
    pub fn evaluate(&self, series: &[Datapoint], from_ms: i64, to_ms: i64) -> Vec<Transition> {
        let first = from_ms.div_euclid(self.period_ms) * self.period_ms;
        let mut state = State::InsufficientData;
        let mut out = Vec::new();
        let mut period = first;
        while period <= to_ms {
            let range: Vec<Option<f64>> = (0..self.evaluation_periods as i64)
                .rev()
                .map(|back| period - back * self.period_ms)
                .map(|start| series.iter().find(|d| d.start_ms == start).map(|d| d.value))
                .collect();
            let (next, breaching) = self.judge(&range, state);
            if next != state {
                out.push(Transition {
                    at_ms: period + self.period_ms,
                    state: next,
                    breaching,
                    of: range.len(),
                });
                state = next;
            }
            period += self.period_ms;
        }
        out
    }

    fn judge(&self, range: &[Option<f64>], current: State) -> (State, usize) {
        let present = range.iter().filter(|d| d.is_some()).count();
        let breaching = range
            .iter()
            .filter(|d| match d {
                Some(v) => self.comparison.breaches(*v, self.threshold),
                None => self.missing == MissingData::Breaching,
            })
            .count();
        if present == 0 {
            match self.missing {
                MissingData::Missing => return (State::InsufficientData, 0),
                MissingData::Ignore => return (current, 0),
                MissingData::NotBreaching | MissingData::Breaching => {}
            }
        }
        let state = if breaching >= self.datapoints_to_alarm {
            State::Alarm
        } else {
            State::Ok
        };
        (state, breaching)
    }
}
