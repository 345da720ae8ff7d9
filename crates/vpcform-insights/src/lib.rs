//! vpcform's CloudWatch Logs Insights engine. Pure: no AWS SDK, no async.
//!
//! [`compile`] parses a query (errors point at a column, with "did you mean"
//! for commands, functions and discovered fields); [`Compiled::run`]
//! evaluates it over a stream of [`Event`]s with Logs Insights' semantics:
//! flow-log field discovery (default format, camelCase names), natural
//! sort, newest first without `sort`, at most 10,000 rows, `dedup` and
//! `display` rules, results as strings. See
//! ../shared/reference/flow-logs-insights-reachability.md.

mod ast;
mod error;
mod eval;
mod event;
mod func;
mod input;
mod lexer;
mod parser;
mod value;

pub use error::QueryError;
pub use eval::{Compiled, QueryResult, Statistics, compile};
pub use event::{Event, FLOW_LOG_FIELDS, SYSTEM_FIELDS};
pub use input::{read_input, run_file};
pub use parser::MAX_LIMIT;
pub use value::{Value, format_time};
