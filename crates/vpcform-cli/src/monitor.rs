//! `vpcform monitor test`: a metric filter and an alarm evaluated over
//! flow-log records before anything is deployed: which records match,
//! the datapoints per period (charted, with the threshold), and when the
//! alarm would have changed state.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use vpcform_monitor::{
    Alarm, Comparison, Datapoint, FilterPattern, MetricFilter, MetricValue, MissingData, State,
    Statistic, Transition,
};
use vpcform_topology::escape::terminal;

use crate::plan::{AwsArgs, connect};
use crate::validate::{load, report};
use crate::{FileArg, Output, out};

#[derive(Debug, Subcommand)]
pub(crate) enum MonitorCommand {
    /// Evaluate a metric filter and an alarm over flow-log records: what matches, and when the alarm fires.
    #[command(
        after_help = "Filter patterns follow CloudWatch Logs: space-delimited `[a, b = v*, ..., c > 10 || c < 2]`, or terms (`ERROR`, `\"a phrase\"`, `?A ?B`, `-C`). The alarm is evaluated as CloudWatch does: the statistic of each period's values, at least --datapoints-to-alarm of the last --evaluation-periods breaching, missing data as --missing-data says.\n\nExamples:\n  vpcform monitor test --input flows.log --threshold 5 --period 1m \\\n    --pattern '[version, account, eni, source, destination, srcport, destport=\"3389\", protocol=\"6\", packets, bytes, windowstart, windowend, action=\"REJECT\", flowlogstatus]'\n  vpcform monitor test --since 1h --pattern '[..., action=\"REJECT\", status]' --threshold 10 --period 5m"
    )]
    Test(TestArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// The metric filter's pattern.
    #[arg(long, value_name = "PATTERN")]
    pattern: String,
    /// What a matching record adds: a number, or `$FIELD` of the pattern.
    #[arg(long, value_name = "VALUE", default_value = "1")]
    value: String,
    /// What a record that does not match adds (none by default).
    #[arg(long, value_name = "NUMBER")]
    default: Option<f64>,
    #[arg(long, value_enum, default_value_t = StatisticArg::Sum)]
    statistic: StatisticArg,
    /// The alarm's period, e.g. 1m, 5m.
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    period: String,
    #[arg(long, value_name = "NUMBER")]
    threshold: f64,
    /// How the statistic is compared with the threshold: >=, >, <, <=.
    #[arg(long, value_name = "OP", default_value = ">=")]
    comparison: String,
    #[arg(long, value_name = "N", default_value_t = 1)]
    evaluation_periods: usize,
    /// Breaching datapoints of the last N that put the alarm in ALARM (default: N).
    #[arg(long, value_name = "M")]
    datapoints_to_alarm: Option<usize>,
    #[arg(long, value_enum, default_value_t = MissingArg::Missing)]
    missing_data: MissingArg,
    /// Records from a file (flow-log lines, or `aws logs filter-log-events` JSON).
    #[arg(long, value_name = "FILE", conflicts_with = "since")]
    input: Option<std::path::PathBuf>,
    /// Or the topology's flow-log groups over this window (with vpcform's engine).
    #[arg(long, value_name = "DURATION")]
    since: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    #[command(flatten)]
    file: FileArg,
    #[command(flatten)]
    aws: AwsArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatisticArg {
    Sum,
    SampleCount,
    Average,
    Minimum,
    Maximum,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum MissingArg {
    Missing,
    NotBreaching,
    Breaching,
    Ignore,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

pub(crate) fn run_monitor(command: &MonitorCommand, output: Output) -> anyhow::Result<ExitCode> {
    match command {
        MonitorCommand::Test(args) => run_test(args, output),
    }
}

fn run_test(args: &TestArgs, output: Output) -> anyhow::Result<ExitCode> {
    let pattern = match FilterPattern::parse(&args.pattern) {
        Ok(p) => p,
        Err(e) => bail!(
            "the filter pattern is not valid: {}\n  {}\n  {}^",
            e.message,
            terminal(&args.pattern),
            " ".repeat(e.offset)
        ),
    };
    let value = MetricValue::parse(&args.value).map_err(anyhow::Error::msg)?;
    if let MetricValue::Field(f) = &value
        && !pattern.field_names().contains(&f.as_str())
    {
        bail!("--value ${f}: the pattern names no field `{f}`");
    }
    let filter = MetricFilter {
        pattern,
        value,
        default: args.default,
    };
    let alarm = alarm(args)?;
    let events = read_events(args, output)?;
    let (from, to) = match (events.first(), events.last()) {
        (Some(a), Some(b)) => (a.0, b.0),
        _ => bail!("no records to test the filter on"),
    };
    let matched = events
        .iter()
        .filter(|(_, m)| filter.pattern.matches(m).is_some())
        .count();
    let series = filter.series(
        events.iter().map(|(t, m)| (*t, m.as_str())),
        alarm.period_ms,
        alarm.statistic,
    );
    let transitions = alarm.evaluate(&series, from, to);
    match args.format {
        Format::Json => out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&serde_json::json!({
                "records": events.len(),
                "matched": matched,
                "datapoints": series,
                "transitions": transitions,
                "fires": transitions.iter().filter(|t| t.state == State::Alarm).count(),
            }))?
        )),
        Format::Text => out(&text(
            args,
            &alarm,
            (events.len(), matched),
            &series,
            &transitions,
            from,
        )),
    }
    Ok(ExitCode::SUCCESS)
}

fn alarm(args: &TestArgs) -> anyhow::Result<Alarm> {
    let period = humantime::parse_duration(&args.period)
        .with_context(|| format!("`{}` is not a duration like 1m or 5m", args.period))?;
    let period_ms = period.as_millis() as i64;
    if period_ms < 10_000 || period_ms % 10_000 != 0 {
        bail!(
            "--period {}: CloudWatch periods are 10 s, 30 s or a multiple of 60 s",
            args.period
        );
    }
    let comparison = match args.comparison.as_str() {
        ">=" => Comparison::GreaterThanOrEqualToThreshold,
        ">" => Comparison::GreaterThanThreshold,
        "<" => Comparison::LessThanThreshold,
        "<=" => Comparison::LessThanOrEqualToThreshold,
        other => bail!("--comparison {other}: use >=, >, < or <="),
    };
    let n = args.evaluation_periods.max(1);
    let m = args.datapoints_to_alarm.unwrap_or(n);
    if m == 0 || m > n {
        bail!("--datapoints-to-alarm {m}: between 1 and --evaluation-periods ({n})");
    }
    Ok(Alarm {
        statistic: match args.statistic {
            StatisticArg::Sum => Statistic::Sum,
            StatisticArg::SampleCount => Statistic::SampleCount,
            StatisticArg::Average => Statistic::Average,
            StatisticArg::Minimum => Statistic::Minimum,
            StatisticArg::Maximum => Statistic::Maximum,
        },
        period_ms,
        threshold: args.threshold,
        comparison,
        evaluation_periods: n,
        datapoints_to_alarm: m,
        missing: match args.missing_data {
            MissingArg::Missing => MissingData::Missing,
            MissingArg::NotBreaching => MissingData::NotBreaching,
            MissingArg::Breaching => MissingData::Breaching,
            MissingArg::Ignore => MissingData::Ignore,
        },
    })
}

/// The records, oldest first, as (time in ms, message).
fn read_events(args: &TestArgs, output: Output) -> anyhow::Result<Vec<(i64, String)>> {
    let now = crate::query::now_ms();
    let mut events: Vec<(i64, String)> = match (&args.input, &args.since) {
        (Some(path), _) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let reader = std::io::BufReader::new(file);
            vpcform_insights::read_input(reader, "local", now)
                .map_err(anyhow::Error::msg)?
                .map(|e| e.map(|e| (e.timestamp, e.message)))
                .collect::<Result<_, _>>()
                .map_err(anyhow::Error::msg)?
        }
        (None, Some(since)) => {
            let loaded = load(&args.file)?;
            let Some((topology, _)) = loaded.valid() else {
                report(&loaded, output, false);
                bail!("{}: the topology has errors", loaded.source.name);
            };
            let since = humantime::parse_duration(since)?;
            let window = vpcform_aws::Window {
                start_ms: now - since.as_millis() as i64,
                end_ms: now,
            };
            let groups = crate::query::default_groups(topology);
            crate::runtime()?.block_on(async {
                let aws = connect(&args.aws, topology).await?;
                let (tx, rx) = std::sync::mpsc::sync_channel(4096);
                let collect = tokio::task::spawn_blocking(move || {
                    rx.into_iter()
                        .map(|e: vpcform_insights::Event| (e.timestamp, e.message))
                        .collect::<Vec<_>>()
                });
                vpcform_aws::send_events(&aws, &groups, window, tx).await?;
                anyhow::Ok(collect.await?)
            })?
        }
        (None, None) => bail!(
            "give the records: --input FILE, or --since DURATION for the topology's flow logs"
        ),
    };
    events.sort_by_key(|(t, _)| *t);
    Ok(events)
}

fn text(
    args: &TestArgs,
    alarm: &Alarm,
    (records, matched): (usize, usize),
    series: &[Datapoint],
    transitions: &[Transition],
    from: i64,
) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let period =
        humantime::format_duration(std::time::Duration::from_millis(alarm.period_ms as u64));
    let _ = writeln!(
        s,
        "{matched} of {records} records match the filter; {} datapoint(s) of {:?} per {period}",
        series.len(),
        alarm.statistic
    );
    s.push_str(&chart(series, alarm, from));
    let _ = writeln!(
        s,
        "\nAlarm: {:?} {} {} for {} of {} period(s) of {period}, missing data: {:?}",
        alarm.statistic,
        alarm.comparison.symbol(),
        args.threshold,
        alarm.datapoints_to_alarm,
        alarm.evaluation_periods,
        alarm.missing
    );
    if transitions.is_empty() {
        s.push_str("  stays INSUFFICIENT_DATA: no period was decided\n");
    }
    for t in transitions {
        let when = humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(t.at_ms.max(0) as u64),
        );
        let state = match t.state {
            State::Ok => "OK",
            State::Alarm => "ALARM",
            State::InsufficientData => "INSUFFICIENT_DATA",
        };
        let _ = writeln!(
            s,
            "  {when}  {state:<17} ({} of {} datapoint(s) breaching)",
            t.breaching, t.of
        );
    }
    let fires = transitions
        .iter()
        .filter(|t| t.state == State::Alarm)
        .count();
    let _ = writeln!(s, "\nThe alarm would have fired {fires} time(s).");
    s
}

/// The datapoints as steps over minutes since the first record, with the threshold.
fn chart(series: &[Datapoint], alarm: &Alarm, from: i64) -> String {
    use textplots::{Chart, Plot, Shape};
    let minutes = |t: i64| (t - from) as f32 / 60_000.0;
    let points: Vec<(f32, f32)> = series
        .iter()
        .map(|d| (minutes(d.start_ms), d.value as f32))
        .collect();
    let end = series
        .last()
        .map_or(1.0, |d| minutes(d.start_ms + alarm.period_ms))
        .max(1.0);
    let top = series
        .iter()
        .map(|d| d.value)
        .fold(alarm.threshold, f64::max) as f32
        * 1.1
        + 1.0;
    let threshold = [(0.0, alarm.threshold as f32), (end, alarm.threshold as f32)];
    let mut chart = Chart::new_with_y_range(120, 32, 0.0, end, 0.0, top);
    let (steps, line) = (Shape::Bars(&points), Shape::Lines(&threshold));
    let chart = chart.lineplot(&steps).lineplot(&line);
    chart.axis();
    chart.figures();
    format!("{chart}(x: minutes since the first record; bars: datapoints; line: the threshold)\n")
}
