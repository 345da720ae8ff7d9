//! Alarms over a metric filter's datapoints, on records with known answers:
//! a burst of rejected RDP attempts, and AWS's missing-data treatments.

use vpcform_monitor::{
    Alarm, Comparison, FilterPattern, MetricFilter, MetricValue, MissingData, State, Statistic,
};

const RDP_REJECTED: &str = r#"[version, account, eni, source, destination, srcport, destport="3389", protocol="6", packets, bytes, windowstart, windowend, action="REJECT", flowlogstatus]"#;

fn record(port: u16, bytes: u32, action: &str) -> String {
    format!(
        "2 123456789012 eni-0a 203.0.113.99 10.2.0.4 61001 {port} 6 3 {bytes} 1764900000 1764900060 {action} OK"
    )
}

/// One accepted SSH record at 0 s, six rejected RDP records between 120 and
/// 170 s, one more at 300 s.
fn events() -> Vec<(i64, String)> {
    let mut out = vec![(0, record(22, 100, "ACCEPT"))];
    out.extend((0..6).map(|i| (120_000 + i * 10_000, record(3389, 180, "REJECT"))));
    out.push((300_000, record(3389, 40, "REJECT")));
    out
}

fn filter(value: &str, default: Option<f64>) -> MetricFilter {
    MetricFilter {
        pattern: FilterPattern::parse(RDP_REJECTED).unwrap(),
        value: MetricValue::parse(value).unwrap(),
        default,
    }
}

fn alarm(missing: MissingData, threshold: f64, m: usize, n: usize) -> Alarm {
    Alarm {
        statistic: Statistic::Sum,
        period_ms: 60_000,
        threshold,
        comparison: Comparison::GreaterThanOrEqualToThreshold,
        evaluation_periods: n,
        datapoints_to_alarm: m,
        missing,
    }
}

fn run(f: &MetricFilter, a: &Alarm) -> Vec<(i64, State)> {
    let events = events();
    let series = f.series(
        events.iter().map(|(t, m)| (*t, m.as_str())),
        a.period_ms,
        a.statistic,
    );
    a.evaluate(&series, 0, 360_000)
        .iter()
        .map(|t| (t.at_ms / 1000, t.state))
        .collect()
}

#[test]
fn a_burst_of_rejected_rdp_fires_the_alarm_when_its_period_ends() {
    let f = filter("1", None);
    let series = f.series(
        events().iter().map(|(t, m)| (*t, m.as_str())),
        60_000,
        Statistic::Sum,
    );
    assert_eq!(
        series
            .iter()
            .map(|d| (d.start_ms / 1000, d.value))
            .collect::<Vec<_>>(),
        [(120, 6.0), (300, 1.0)]
    );
    assert_eq!(
        run(&f, &alarm(MissingData::NotBreaching, 5.0, 1, 1)),
        [(60, State::Ok), (180, State::Alarm), (240, State::Ok)]
    );
}

#[test]
fn missing_data_is_treated_as_the_alarm_says() {
    let f = filter("1", None);
    // missing: no datapoint in the range is INSUFFICIENT_DATA.
    assert_eq!(
        run(&f, &alarm(MissingData::Missing, 5.0, 1, 1)),
        [
            (180, State::Alarm),
            (240, State::InsufficientData),
            (360, State::Ok),
            (420, State::InsufficientData)
        ]
    );
    // ignore: the state stays until a datapoint decides.
    assert_eq!(
        run(&f, &alarm(MissingData::Ignore, 5.0, 1, 1)),
        [(180, State::Alarm), (360, State::Ok)]
    );
    // breaching: every empty period breaches.
    assert_eq!(
        run(&f, &alarm(MissingData::Breaching, 5.0, 1, 1)),
        [(60, State::Alarm), (360, State::Ok), (420, State::Alarm)]
    );
}

#[test]
fn m_out_of_n_counts_breaching_datapoints_in_the_range() {
    let f = filter("1", Some(0.0));
    // With a default of 0, the accepted record makes a 0 at period 0.
    let series = f.series(
        events().iter().map(|(t, m)| (*t, m.as_str())),
        60_000,
        Statistic::Sum,
    );
    assert_eq!(series[0].value, 0.0);
    // Two of three periods at 1 or more: the burst and the single one are 3 periods apart.
    assert_eq!(
        run(&f, &alarm(MissingData::NotBreaching, 1.0, 2, 3)),
        [(60, State::Ok)]
    );
    // One of three: the burst keeps it in ALARM while it is in the range,
    // and the single record at 300 s takes over before it leaves.
    assert_eq!(
        run(&f, &alarm(MissingData::NotBreaching, 1.0, 1, 3)),
        [(60, State::Ok), (180, State::Alarm)]
    );
}

#[test]
fn a_field_value_sums_the_bytes_of_matching_records() {
    let f = filter("$bytes", None);
    let series = f.series(
        events().iter().map(|(t, m)| (*t, m.as_str())),
        300_000,
        Statistic::Sum,
    );
    assert_eq!(
        series.iter().map(|d| d.value).collect::<Vec<_>>(),
        [6.0 * 180.0, 40.0]
    );
    let max = f.series(
        events().iter().map(|(t, m)| (*t, m.as_str())),
        300_000,
        Statistic::Maximum,
    );
    assert_eq!(max[0].value, 180.0);
}
