//! CloudWatch metric alarms: a statistic of one metric over a period,
//! compared with a threshold over M of N periods, notifying SNS topics.
//! The metric is a metric filter's (`metric-filter: NAME`) or any other
//! (`namespace` and `metric-name`).

use schemars::JsonSchema;
use serde_json::{Value, json};
use vpcform_monitor::alarm::{Comparison, MissingData, Statistic};

use crate::address::{Address, ResourceKind};
use crate::attr::TAGS;
use crate::decode::{Cx, Fields, common_fields};
use crate::diagnostic::Diagnostic;
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::{Topology, TopologyIndex};
use crate::validate::{NameIndex, UniqueNames};
use crate::yaml::Node;

pub const ALARM_NAME: Attr = Attr::new("alarm_name");
pub const ALARM_DESCRIPTION: Attr = Attr::new("alarm_description");
pub const NAMESPACE: Attr = Attr::new("namespace");
pub const METRIC_NAME: Attr = Attr::new("metric_name");
pub const STATISTIC: Attr = Attr::new("statistic");
pub const PERIOD: Attr = Attr::new("period");
pub const EVALUATION_PERIODS: Attr = Attr::new("evaluation_periods");
pub const DATAPOINTS_TO_ALARM: Attr = Attr::new("datapoints_to_alarm");
pub const THRESHOLD: Attr = Attr::new("threshold");
pub const COMPARISON_OPERATOR: Attr = Attr::new("comparison_operator");
pub const TREAT_MISSING_DATA: Attr = Attr::new("treat_missing_data");
pub const ALARM_ACTIONS: Attr = Attr::new("alarm_actions");
/// The metric's dimensions, `{NAME: VALUE}`.
pub const DIMENSIONS: Attr = Attr::new("dimensions");
/// What vpcform declares none of, read so that a rewrite that drops them
/// shows in the plan (an adopted alarm may have them).
pub const OK_ACTIONS: Attr = Attr::new("ok_actions");
pub const INSUFFICIENT_DATA_ACTIONS: Attr = Attr::new("insufficient_data_actions");
pub const UNIT: Attr = Attr::new("unit");
pub const EXTENDED_STATISTIC: Attr = Attr::new("extended_statistic");
/// The ids of a metric-math alarm's metrics.
pub const METRICS: Attr = Attr::new("metrics");

/// Periods CloudWatch accepts for standard-resolution metrics: 10, 30, or a multiple of 60.
fn valid_period(p: i64) -> bool {
    p == 10 || p == 30 || (p >= 60 && p % 60 == 0)
}

/// A metric alarm.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Alarm {
    /// The alarm's name, unique in the account and region. Changing it replaces the alarm.
    #[schemars(with = "String")]
    pub name: At<String>,
    #[schemars(with = "Option<String>")]
    pub description: Option<At<String>>,
    /// Logical name of the metric filter whose metric it watches.
    #[schemars(with = "Option<String>")]
    pub metric_filter: Option<Ref>,
    /// Instead of `metric-filter`: the metric's namespace and name.
    #[schemars(with = "Option<String>")]
    pub namespace: Option<At<String>>,
    #[schemars(with = "Option<String>")]
    pub metric_name: Option<At<String>>,
    /// The metric's dimensions (with `namespace`), e.g. `{ NatGatewayId: nat-0abc… }`.
    #[schemars(default)]
    pub dimensions: Tags,
    /// `Sum` (default), `SampleCount`, `Average`, `Minimum` or `Maximum`.
    #[schemars(with = "Option<String>")]
    pub statistic: Option<At<String>>,
    /// Seconds per datapoint: 10, 30 or a multiple of 60 (default 300).
    #[schemars(with = "Option<i64>")]
    pub period: Option<At<i64>>,
    /// How many recent periods are evaluated (default 1).
    #[schemars(with = "Option<i64>")]
    pub evaluation_periods: Option<At<i64>>,
    /// How many of them must breach (default: all of them).
    #[schemars(with = "Option<i64>")]
    pub datapoints_to_alarm: Option<At<i64>>,
    #[schemars(with = "f64")]
    pub threshold: At<f64>,
    /// `>=` (default), `>`, `<`, `<=`, or CloudWatch's names.
    #[schemars(with = "Option<String>")]
    pub comparison: Option<At<String>>,
    /// `missing` (default), `notBreaching`, `breaching` or `ignore`.
    #[schemars(with = "Option<String>")]
    pub missing_data: Option<At<String>>,
    /// Logical names of SNS topics notified when the alarm fires.
    #[schemars(default)]
    pub notify: Vec<Ref>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The name of an existing alarm this declaration adopts.
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Alarm {
    pub fn statistic(&self) -> Statistic {
        self.statistic
            .as_ref()
            .and_then(|s| Statistic::from_aws_name(&s.value))
            .unwrap_or(Statistic::Sum)
    }

    pub fn comparison(&self) -> Comparison {
        self.comparison
            .as_ref()
            .and_then(|c| Comparison::parse(&c.value))
            .unwrap_or(Comparison::GreaterThanOrEqualToThreshold)
    }

    pub fn missing_data(&self) -> MissingData {
        self.missing_data
            .as_ref()
            .and_then(|m| MissingData::from_aws_name(&m.value))
            .unwrap_or(MissingData::Missing)
    }

    pub fn period(&self) -> i64 {
        self.period.as_ref().map_or(300, |p| p.value)
    }

    pub fn evaluation_periods(&self) -> i64 {
        self.evaluation_periods.as_ref().map_or(1, |p| p.value)
    }

    pub fn datapoints_to_alarm(&self) -> i64 {
        self.datapoints_to_alarm
            .as_ref()
            .map_or(self.evaluation_periods(), |p| p.value)
    }

    /// The metric's namespace and name (through its filter, if it names one).
    pub fn metric(&self, stack: &str, t: &TopologyIndex<'_>) -> Option<(String, String)> {
        match &self.metric_filter {
            Some(f) => {
                let filter = t.metric_filters.get(f.value.as_str())?;
                Some((filter.namespace(stack), filter.metric_name.value.clone()))
            }
            None => Some((
                self.namespace.as_ref()?.value.clone(),
                self.metric_name.as_ref()?.value.clone(),
            )),
        }
    }
}

impl Kind for Alarm {
    const KIND: ResourceKind = ResourceKind::Alarm;
    const NAME_IS_IDENTITY: bool = true;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(ALARM_NAME, Compare::Exact),
        AttrSpec::update(ALARM_DESCRIPTION, Compare::Exact),
        AttrSpec::update(NAMESPACE, Compare::Exact),
        AttrSpec::update(METRIC_NAME, Compare::Exact),
        AttrSpec::update(STATISTIC, Compare::Exact),
        AttrSpec::update(PERIOD, Compare::Exact),
        AttrSpec::update(EVALUATION_PERIODS, Compare::Exact),
        AttrSpec::update(DATAPOINTS_TO_ALARM, Compare::Exact),
        AttrSpec::update(THRESHOLD, Compare::Json),
        AttrSpec::update(COMPARISON_OPERATOR, Compare::Exact),
        AttrSpec::update(TREAT_MISSING_DATA, Compare::Exact),
        AttrSpec::update(ALARM_ACTIONS, Compare::StringSet),
        AttrSpec::update(DIMENSIONS, Compare::Json),
        AttrSpec::update(OK_ACTIONS, Compare::StringSet),
        AttrSpec::update(INSUFFICIENT_DATA_ACTIONS, Compare::StringSet),
        AttrSpec::update(UNIT, Compare::Exact),
        AttrSpec::update(EXTENDED_STATISTIC, Compare::Exact),
        AttrSpec::update(METRICS, Compare::Json),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let al = cx.index.alarms.get(a.name.as_str())?;
        let (namespace, metric) = al.metric(cx.stack, &cx.index)?;
        let topics = al
            .notify
            .iter()
            .map(|t| Address::new(ResourceKind::SnsTopic, &t.value))
            .collect();
        Some(DesiredAttrs::from([
            (ALARM_NAME, Desired::known(al.name.value.clone())),
            (
                ALARM_DESCRIPTION,
                Desired::optional(al.description.as_ref()),
            ),
            (NAMESPACE, Desired::known(namespace)),
            (METRIC_NAME, Desired::known(metric)),
            (STATISTIC, Desired::known(al.statistic().aws_name())),
            (PERIOD, Desired::known(al.period())),
            (EVALUATION_PERIODS, Desired::known(al.evaluation_periods())),
            (
                DATAPOINTS_TO_ALARM,
                Desired::known(al.datapoints_to_alarm()),
            ),
            (THRESHOLD, Desired::known(al.threshold.value)),
            (
                COMPARISON_OPERATOR,
                Desired::known(al.comparison().aws_name()),
            ),
            (
                TREAT_MISSING_DATA,
                Desired::known(al.missing_data().aws_name()),
            ),
            (ALARM_ACTIONS, Desired::RefList(topics)),
            (DIMENSIONS, Desired::Known(json!(al.dimensions))),
            (OK_ACTIONS, Desired::Known(json!([]))),
            (INSUFFICIENT_DATA_ACTIONS, Desired::Known(json!([]))),
            (UNIT, Desired::Known(Value::Null)),
            (EXTENDED_STATISTIC, Desired::Known(Value::Null)),
            (METRICS, Desired::Known(json!([]))),
            (TAGS, cx.tags(a, &al.tags)),
        ]))
    }
}

impl Declared for Alarm {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let name = f.required("name", cx);
        let description = f.maybe("description", cx);
        let metric_filter = f.maybe("metric-filter", cx);
        let namespace = f.maybe("namespace", cx);
        let metric_name = f.maybe("metric-name", cx);
        let dimensions = f.maybe("dimensions", cx);
        let statistic = f.maybe("statistic", cx);
        let period = f.maybe("period", cx);
        let evaluation_periods = f.maybe("evaluation-periods", cx);
        let datapoints = f.maybe("datapoints-to-alarm", cx);
        let threshold = f.required("threshold", cx);
        let comparison = f.maybe("comparison", cx);
        let missing_data = f.maybe("missing-data", cx);
        let notify = f.maybe("notify", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(Alarm {
            name: name?,
            description: description.ok()?,
            metric_filter: metric_filter.ok()?,
            namespace: namespace.ok()?,
            metric_name: metric_name.ok()?,
            dimensions: dimensions.ok()?.unwrap_or_default(),
            statistic: statistic.ok()?,
            period: period.ok()?,
            evaluation_periods: evaluation_periods.ok()?,
            datapoints_to_alarm: datapoints.ok()?,
            threshold: threshold?,
            comparison: comparison.ok()?,
            missing_data: missing_data.ok()?,
            notify: notify.ok()?.unwrap_or_default(),
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let mut names = UniqueNames::new(
            "duplicate-alarm-name",
            "alarm",
            "alarm names are unique in an account and region",
        );
        for item in items {
            let a = &item.spec;
            check_name(&a.name, cx);
            if let Some(d) = a
                .description
                .as_ref()
                .filter(|d| d.value.chars().count() > 1024)
            {
                cx.push(
                    Diagnostic::error(
                        "invalid-alarm",
                        d.span,
                        "an alarm description has at most 1024 characters",
                    )
                    .with_help("shorten it"),
                );
            }
            crate::validate::check_import_name(a.import_id.as_ref(), &a.name, cx);
            names.check(&a.name, cx);
            check_metric(item, index, cx);
            check_evaluation(a, cx);
            for t in &a.notify {
                index.check(t, ResourceKind::SnsTopic, "notify", cx);
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            let at = b.node(
                Address::new(ResourceKind::Alarm, &r.name.value),
                r.name.span,
            );
            if let Some(f) = &r.spec.metric_filter {
                b.edge(at, Address::new(ResourceKind::MetricFilter, &f.value));
            }
            for t in &r.spec.notify {
                b.edge(at, Address::new(ResourceKind::SnsTopic, &t.value));
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Name;

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = Some(ALARM_NAME);

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        m.set("name", o.str(ALARM_NAME)?);
        m.maybe("description", o.str(ALARM_DESCRIPTION));
        m.set("namespace", o.str(NAMESPACE)?);
        m.set("metric-name", o.str(METRIC_NAME)?);
        if let Some(Value::Object(d)) = o
            .get(DIMENSIONS)
            .filter(|d| d.as_object().is_some_and(|m| !m.is_empty()))
        {
            let mut dims = Map::new();
            for (k, v) in d {
                dims.set(k.clone(), v.as_str().unwrap_or_default());
            }
            m.set("dimensions", dims);
        }
        m.set("statistic", o.str(STATISTIC)?);
        m.maybe("period", o.get(PERIOD).and_then(Value::as_i64));
        m.maybe(
            "evaluation-periods",
            o.get(EVALUATION_PERIODS).and_then(Value::as_i64),
        );
        m.maybe(
            "datapoints-to-alarm",
            o.get(DATAPOINTS_TO_ALARM).and_then(Value::as_i64),
        );
        m.set("threshold", Yaml::from(o.get(THRESHOLD)?));
        m.maybe("comparison", o.str(COMPARISON_OPERATOR));
        m.maybe("missing-data", o.str(TREAT_MISSING_DATA));
        let topics: Vec<Yaml> = o
            .get(ALARM_ACTIONS)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .filter_map(|arn| cx.name_of(ResourceKind::SnsTopic, arn).map(Yaml::from))
            .collect();
        m.list("notify", topics);
        Some(m)
    }
}

fn check_name(name: &At<String>, cx: &mut Cx) {
    let ok = !name.value.trim().is_empty()
        && name.value.len() <= 255
        && !name.value.chars().any(char::is_control);
    if !ok {
        cx.push(
            Diagnostic::error(
                "invalid-alarm",
                name.span,
                format!("`{}` is not a valid alarm name", name.value),
            )
            .with_help("use 1-255 printable characters"),
        );
    }
}

/// Exactly one way to name the metric; statistic and comparison are CloudWatch's.
fn check_metric(item: &Named<Alarm>, index: &NameIndex<'_>, cx: &mut Cx) {
    let a = &item.spec;
    match (&a.metric_filter, &a.namespace, &a.metric_name) {
        (Some(f), None, None) => {
            index.check(f, ResourceKind::MetricFilter, "metric-filter", cx);
            if !a.dimensions.is_empty() {
                cx.push(
                    Diagnostic::error(
                        "invalid-alarm",
                        item.name.span,
                        "a metric filter's metric has no dimensions: with them the alarm would watch a metric nothing publishes",
                    )
                    .with_help("drop `dimensions`, or name an AWS metric with `namespace` and `metric-name`"),
                );
            }
        }
        (None, Some(_), Some(_)) => {}
        _ => cx.push(
            Diagnostic::error(
                "invalid-alarm",
                item.name.span,
                format!("alarm `{}` needs one metric", item.name.value),
            )
            .with_help(
                "give `metric-filter: NAME`, or both `namespace` and `metric-name` (not both ways)",
            ),
        ),
    }
    if let Some(s) = &a.statistic
        && Statistic::from_aws_name(&s.value).is_none()
    {
        let names: Vec<&str> = Statistic::ALL.iter().map(|s| s.aws_name()).collect();
        cx.push(
            Diagnostic::error(
                "invalid-alarm",
                s.span,
                format!("`{}` is not a statistic", s.value),
            )
            .with_help(format!("use one of {}", names.join(", "))),
        );
    }
    if let Some(c) = &a.comparison
        && Comparison::parse(&c.value).is_none()
    {
        cx.push(
            Diagnostic::error(
                "invalid-alarm",
                c.span,
                format!("`{}` is not a comparison", c.value),
            )
            .with_help("use `>=`, `>`, `<` or `<=`"),
        );
    }
    if let Some(m) = &a.missing_data
        && MissingData::from_aws_name(&m.value).is_none()
    {
        cx.push(
            Diagnostic::error(
                "invalid-alarm",
                m.span,
                format!("`{}` is not a way to treat missing data", m.value),
            )
            .with_help("use `missing`, `notBreaching`, `breaching` or `ignore`"),
        );
    }
}

/// Period, M of N: what CloudWatch accepts.
fn check_evaluation(a: &Alarm, cx: &mut Cx) {
    if let Some(p) = &a.period
        && !valid_period(p.value)
    {
        cx.push(
            Diagnostic::error(
                "invalid-alarm",
                p.span,
                format!("CloudWatch does not accept a period of {} seconds", p.value),
            )
            .with_help("use 10, 30, or a multiple of 60"),
        );
    }
    let n = a.evaluation_periods();
    if let Some(e) = &a.evaluation_periods
        && !(1..=100).contains(&e.value)
    {
        cx.push(
            Diagnostic::error(
                "invalid-alarm",
                e.span,
                "evaluation periods go from 1 to 100",
            )
            .with_help("evaluate 1 to 100 periods"),
        );
    }
    if let Some(d) = &a.datapoints_to_alarm
        && !(1..=n).contains(&d.value)
    {
        cx.push(
            Diagnostic::error(
                "invalid-alarm",
                d.span,
                format!(
                    "{} datapoints cannot alarm out of {n} evaluation periods",
                    d.value
                ),
            )
            .with_help(format!("use 1 to {n}, or evaluate more periods")),
        );
    }
    if a.period() * n > 7 * 24 * 3600 {
        let at = a.period.as_ref().map_or(a.name.span, |p| p.span);
        cx.push(
            Diagnostic::error(
                "invalid-alarm",
                at,
                "the evaluation range (period × evaluation periods) exceeds one week",
            )
            .with_help(
                "CloudWatch evaluates at most 7 days: shorten the period or evaluate fewer periods",
            ),
        );
    }
}
