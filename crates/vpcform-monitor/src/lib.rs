//! vpcform's monitoring semantics, pure (no AWS SDK, no async): CloudWatch
//! Logs filter patterns (`filter_pattern`), the datapoints a metric filter
//! makes of log events and a CloudWatch alarm evaluated over them
//! (`alarm`), so that `vpcform monitor test` says which alarm would have
//! fired, and when, before anything is deployed.

pub mod alarm;
pub mod filter_pattern;

pub use alarm::{
    Alarm, Comparison, Datapoint, MetricFilter, MetricValue, MissingData, State, Statistic,
    Transition,
};
pub use filter_pattern::{FilterPattern, PatternError};
