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
    /// Evaluate the topology's alarms (or one given by flags) over flow-log records: what matches, and when each alarm fires.
    #[command(
        after_help = "Without --pattern, every alarm of the topology whose metric is one of its metric filters is tested (--alarm NAME picks some), with the filter's pattern, value and default, and the alarm's statistic, period, threshold, M of N and missing-data treatment. A pattern naming an object's id (`{id}`, from `id-of`) needs that id: --id vpc.NAME=vpc-0abc (or subnet.NAME, instance.NAME, instance.NAME.interface); without it the alarm's answer is unknown.\n\nFilter patterns follow CloudWatch Logs: space-delimited `[a, b = v*, ..., c > 10 || c < 2]`, or terms (`ERROR`, `\"a phrase\"`, `?A ?B`, `-C`). The alarm is evaluated as CloudWatch does: the statistic of each period's values, at least --datapoints-to-alarm of the last --evaluation-periods breaching, missing data as --missing-data says.\n\nExamples:\n  vpcform monitor test --input flows.log --threshold 5 --period 1m \\\n    --pattern '[version, account, eni, source, destination, srcport, destport=\"3389\", protocol=\"6\", packets, bytes, windowstart, windowend, action=\"REJECT\", flowlogstatus]'\n  vpcform monitor test --since 1h --pattern '[..., action=\"REJECT\", status]' --threshold 10 --period 5m"
    )]
    Test(TestArgs),
}

#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    /// Test only these alarms of the topology (logical names).
    #[arg(long = "alarm", value_name = "NAME", conflicts_with = "pattern")]
    alarms: Vec<String>,
    /// The AWS id a filter's `{id}` stands for: `instance.web.interface=eni-0abc`.
    #[arg(long = "id", value_name = "OBJECT=ID")]
    ids: Vec<String>,
    /// A metric filter's pattern, instead of the topology's filters.
    #[arg(long, value_name = "PATTERN", requires = "threshold")]
    pattern: Option<String>,
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
    /// The alarm's threshold (with --pattern).
    #[arg(long, value_name = "NUMBER")]
    threshold: Option<f64>,
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

/// One alarm to test: its name, filter and evaluation (or why it cannot
/// be), and the log group its filter reads (AWS's name; none for flags).
struct Tested {
    name: String,
    filter: Result<MetricFilter, String>,
    alarm: Alarm,
    group: Option<String>,
}

/// One flow-log record: when, the line, and the log group it was read
/// from (none for a file, which does not say).
struct Record {
    at: i64,
    message: String,
    group: Option<String>,
}

/// What one alarm did over the records of its log group.
struct Outcome<'t> {
    tested: &'t Tested,
    records: usize,
    matched: usize,
    series: Vec<Datapoint>,
    transitions: Vec<Transition>,
}

/// An alarm over the records its filter would see: those of its log
/// group, or all of them when a record's group is not known.
fn evaluate<'t>(t: &'t Tested, records: &[Record], (from, to): (i64, i64)) -> Option<Outcome<'t>> {
    let filter = t.filter.as_ref().ok()?;
    let seen: Vec<&Record> = records
        .iter()
        .filter(|r| match (&r.group, &t.group) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        })
        .collect();
    let matched = seen
        .iter()
        .filter(|r| filter.pattern.matches(&r.message).is_some())
        .count();
    let series = filter.series(
        seen.iter().map(|r| (r.at, r.message.as_str())),
        t.alarm.period_ms,
        t.alarm.statistic,
    );
    let transitions = t.alarm.evaluate(&series, from, to);
    Some(Outcome {
        tested: t,
        records: seen.len(),
        matched,
        series,
        transitions,
    })
}

fn run_test(args: &TestArgs, output: Output) -> anyhow::Result<ExitCode> {
    let tested = match &args.pattern {
        Some(pattern) => vec![from_flags(args, pattern)?],
        None => from_topology(args, output)?,
    };
    let groups: Vec<String> = tested.iter().filter_map(|t| t.group.clone()).collect();
    let events = read_events(args, &groups, output)?;
    let window = match (events.first(), events.last()) {
        (Some(a), Some(b)) => (a.at, b.at),
        _ => bail!("no records to test the filter on"),
    };
    let outcomes: Vec<Option<Outcome>> = tested
        .iter()
        .map(|t| evaluate(t, &events, window))
        .collect();
    let from = window.0;
    match (args.format, &args.pattern) {
        (Format::Json, Some(_)) => {
            let o = outcomes[0].as_ref().expect("a flag filter always parses");
            out(&format!("{}\n", serde_json::to_string_pretty(&json_of(o))?));
        }
        (Format::Json, None) => {
            let alarms: Vec<serde_json::Value> = tested
                .iter()
                .zip(&outcomes)
                .map(|(t, o)| match (o, &t.filter) {
                    (Some(o), _) => json_of(o),
                    (None, Err(why)) => serde_json::json!({ "alarm": t.name, "unknown": why }),
                    (None, Ok(_)) => serde_json::Value::Null,
                })
                .collect();
            let doc = serde_json::json!({ "records": events.len(), "alarms": alarms });
            out(&format!("{}\n", serde_json::to_string_pretty(&doc)?));
        }
        (Format::Text, _) => {
            let mut s = String::new();
            if args.pattern.is_none() && args.input.is_some() {
                s.push_str("Records from a file carry no log group: every alarm is tested on all of them.\n");
            }
            for (t, o) in tested.iter().zip(&outcomes) {
                if args.pattern.is_none() {
                    s.push_str(&format!("\n== {} ==\n", terminal(&t.name)));
                }
                match (o, &t.filter) {
                    (Some(o), _) => s.push_str(&text(o, from)),
                    (None, Err(why)) => s.push_str(&format!("  unknown: {}\n", terminal(why))),
                    (None, Ok(_)) => {}
                }
            }
            out(&s);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn json_of(o: &Outcome) -> serde_json::Value {
    serde_json::json!({
        "alarm": o.tested.name,
        "log_group": o.tested.group,
        "records": o.records,
        "matched": o.matched,
        "datapoints": o.series,
        "transitions": o.transitions,
        "fires": o.transitions.iter().filter(|t| t.state == State::Alarm).count(),
    })
}

/// A filter's pattern parsed, or the pattern error shown at its place.
fn parse_pattern(text: &str) -> anyhow::Result<FilterPattern> {
    FilterPattern::parse(text).map_err(|e| {
        anyhow::anyhow!(
            "the filter pattern is not valid: {}\n  {}\n  {}^",
            e.message,
            terminal(text),
            " ".repeat(e.offset)
        )
    })
}

fn from_flags(args: &TestArgs, pattern: &str) -> anyhow::Result<Tested> {
    let pattern = parse_pattern(pattern)?;
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
    Ok(Tested {
        name: "--pattern".into(),
        filter: Ok(filter),
        alarm: alarm(args)?,
        group: None,
    })
}

/// The topology's alarms on its metric filters, as AWS would evaluate them.
fn from_topology(args: &TestArgs, output: Output) -> anyhow::Result<Vec<Tested>> {
    let loaded = load(&args.file)?;
    let Some((topology, _)) = loaded.valid() else {
        report(&loaded, output, false);
        bail!("{}: the topology has errors", loaded.source.name);
    };
    let mut ids: Vec<(String, String)> = args
        .ids
        .iter()
        .map(|s| {
            let (k, v) = s
                .split_once('=')
                .with_context(|| format!("--id {s}: write OBJECT=ID"))?;
            Ok((k.to_string(), v.to_string()))
        })
        .collect::<anyhow::Result<_>>()?;
    check_ids(&ids, topology)?;
    if args.since.is_some() {
        ids.extend(live_ids(args, topology)?);
    }
    let mut out = Vec::new();
    for a in topology.alarms.iter() {
        if !args.alarms.is_empty() && !args.alarms.contains(&a.name.value) {
            continue;
        }
        let Some(f) = a.spec.metric_filter.as_ref() else {
            continue; // An AWS metric: no records make it.
        };
        let Some(filter) = topology
            .metric_filters
            .iter()
            .find(|x| x.name.value == f.value)
        else {
            continue;
        };
        let group = topology
            .log_groups
            .iter()
            .find(|g| g.name.value == filter.spec.log_group.value)
            .map(|g| g.spec.name.value.clone());
        out.push(Tested {
            name: format!("alarm.{}", a.name.value),
            filter: topology_filter(&filter.spec, &ids, args.since.is_some()),
            alarm: topology_alarm(&a.spec),
            group,
        });
    }
    for wanted in &args.alarms {
        if !topology.alarms.iter().any(|a| &a.name.value == wanted) {
            bail!("--alarm {wanted}: the topology declares no such alarm");
        }
    }
    if out.is_empty() {
        bail!(
            "the topology has no alarm on a metric filter; declare one, or give --pattern and --threshold"
        );
    }
    Ok(out)
}

/// Each `--id` names an object some filter's pattern names, with an id of its shape.
fn check_ids(
    ids: &[(String, String)],
    topology: &vpcform_topology::Topology,
) -> anyhow::Result<()> {
    let subjects: Vec<&vpcform_topology::kinds::metric_filter::Subject> = topology
        .metric_filters
        .iter()
        .filter_map(|f| f.spec.id_of.as_ref().map(|s| &s.value))
        .collect();
    for (object, id) in ids {
        let Some(subject) = subjects.iter().find(|s| s.to_string() == *object) else {
            let named: Vec<String> = subjects.iter().map(|s| s.to_string()).collect();
            bail!(
                "--id {object}: no metric filter of the topology names its id{}",
                match named.is_empty() {
                    true => String::new(),
                    false => format!(" (those named: {})", named.join(", ")),
                }
            );
        };
        let prefix = subject.kind.id_prefix();
        if !id.starts_with(prefix) {
            bail!("--id {object}={id}: {object}'s id starts with `{prefix}`");
        }
    }
    Ok(())
}

/// With `--since` the account is read anyway: the ids filters name, from it.
fn live_ids(
    args: &TestArgs,
    topology: &vpcform_topology::Topology,
) -> anyhow::Result<Vec<(String, String)>> {
    let live = crate::runtime()?.block_on(async {
        let aws = connect(&args.aws, topology).await?;
        anyhow::Ok(vpcform_aws::read_live_state(&aws, topology).await?)
    })?;
    let mut out = Vec::new();
    for f in topology.metric_filters.iter() {
        let Some(subject) = &f.spec.id_of else {
            continue;
        };
        let Some(object) = live.objects.get(&subject.value.address()) else {
            continue;
        };
        let attr = subject.value.kind.attr();
        let id = match attr == vpcform_topology::attr::ID {
            true => Some(object.id.clone()),
            false => attr.str(&object.attrs).map(str::to_string),
        };
        out.extend(id.map(|id| (subject.value.to_string(), id)));
    }
    Ok(out)
}

fn topology_filter(
    f: &vpcform_topology::kinds::metric_filter::MetricFilter,
    ids: &[(String, String)],
    read_account: bool,
) -> Result<MetricFilter, String> {
    use vpcform_topology::kinds::metric_filter::ID_PLACEHOLDER;
    let mut text = f.pattern.value.clone();
    if let Some(subject) = &f.id_of {
        let wanted = subject.value.to_string();
        let Some((_, id)) = ids.iter().find(|(k, _)| *k == wanted) else {
            let source = match read_account {
                true => "and the account does not have it yet",
                false => "and a file run does not read the account (--since does)",
            };
            return Err(format!(
                "its filter matches records of {wanted} by AWS id, which the records alone cannot tell {source}; give --id {wanted}=ID"
            ));
        };
        text = text.replace(ID_PLACEHOLDER, id);
    }
    let pattern = FilterPattern::parse(&text).map_err(|e| e.to_string())?;
    let value = MetricValue::parse(f.value_text())?;
    Ok(MetricFilter {
        pattern,
        value,
        default: f.default_value.as_ref().map(|d| d.value),
    })
}

fn topology_alarm(a: &vpcform_topology::kinds::alarm::Alarm) -> Alarm {
    Alarm {
        statistic: a.statistic(),
        period_ms: a.period() * 1000,
        threshold: a.threshold.value,
        comparison: a.comparison(),
        evaluation_periods: a.evaluation_periods().max(1) as usize,
        datapoints_to_alarm: a.datapoints_to_alarm().max(1) as usize,
        missing: a.missing_data(),
    }
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
    let Some(comparison) = Comparison::parse(&args.comparison) else {
        bail!("--comparison {}: use >=, >, < or <=", args.comparison);
    };
    let n = args.evaluation_periods.max(1);
    let m = args.datapoints_to_alarm.unwrap_or(n);
    if m == 0 || m > n {
        bail!("--datapoints-to-alarm {m}: between 1 and --evaluation-periods ({n})");
    }
    let Some(threshold) = args.threshold else {
        bail!("--threshold: the alarm's threshold is needed with --pattern");
    };
    Ok(Alarm {
        statistic: match args.statistic {
            StatisticArg::Sum => Statistic::Sum,
            StatisticArg::SampleCount => Statistic::SampleCount,
            StatisticArg::Average => Statistic::Average,
            StatisticArg::Minimum => Statistic::Minimum,
            StatisticArg::Maximum => Statistic::Maximum,
        },
        period_ms,
        threshold,
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

/// The records, oldest first: a file's, or those of the topology's
/// flow-log groups and `groups` (the tested filters') over `--since`.
fn read_events(args: &TestArgs, groups: &[String], output: Output) -> anyhow::Result<Vec<Record>> {
    let now = crate::query::now_ms();
    let mut events: Vec<Record> = match (&args.input, &args.since) {
        (Some(path), _) => {
            let file = std::fs::File::open(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let reader = std::io::BufReader::new(file);
            vpcform_insights::read_input(reader, "local", now)
                .map_err(anyhow::Error::msg)?
                .map(|e| {
                    e.map(|e| Record {
                        at: e.timestamp,
                        message: e.message,
                        group: None,
                    })
                })
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
            let mut read = crate::query::default_groups(topology);
            read.extend(groups.iter().cloned());
            read.sort();
            read.dedup();
            crate::runtime()?.block_on(async {
                let aws = connect(&args.aws, topology).await?;
                let (tx, rx) = std::sync::mpsc::sync_channel(4096);
                let collect = tokio::task::spawn_blocking(move || {
                    rx.into_iter()
                        .map(|e: vpcform_insights::Event| Record {
                            at: e.timestamp,
                            group: e.log.split_once(':').map(|(_, g)| g.to_string()),
                            message: e.message,
                        })
                        .collect::<Vec<_>>()
                });
                vpcform_aws::send_events(&aws, &read, window, tx).await?;
                anyhow::Ok(collect.await?)
            })?
        }
        (None, None) => bail!(
            "give the records: --input FILE, or --since DURATION for the topology's flow logs"
        ),
    };
    events.sort_by_key(|r| r.at);
    Ok(events)
}

fn text(o: &Outcome, from: i64) -> String {
    let records = o.records;
    use std::fmt::Write as _;
    let alarm = &o.tested.alarm;
    let (series, transitions) = (&o.series, &o.transitions);
    let mut s = String::new();
    let period =
        humantime::format_duration(std::time::Duration::from_millis(alarm.period_ms as u64));
    let _ = writeln!(
        s,
        "{} of {records} records match the filter; {} datapoint(s) of {:?} per {period}",
        o.matched,
        series.len(),
        alarm.statistic
    );
    s.push_str(&chart(series, alarm, from));
    let _ = writeln!(
        s,
        "\nAlarm: {:?} {} {} for {} of {} period(s) of {period}, missing data: {:?}",
        alarm.statistic,
        alarm.comparison.symbol(),
        alarm.threshold,
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
