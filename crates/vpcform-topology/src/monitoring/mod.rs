//! The `monitoring:` section: what to watch, written once, expanded into
//! ordinary declarations (an SNS topic, metric filters and alarms on
//! REJECT records, Contributor Insights rules, a dashboard) that plan,
//! apply and validate like hand-written ones, each at the line that asked
//! for it. Patterns and rule fields come from the flow logs' declared
//! record formats, so a custom format is read where it puts each field.

mod dashboard;
mod scope;

use schemars::JsonSchema;
use serde_json::json;

use crate::address::ResourceKind;
use crate::decode::{Cx, Fields, list_of};
use crate::diagnostic::{Diagnostic, Span};
use crate::kinds::alarm::Alarm;
use crate::kinds::contributor_rule::ContributorRule;
use crate::kinds::dashboard::Dashboard;
use crate::kinds::flow_log::{DEFAULT_FLOW_LOG_FORMAT, FlowLog, TrafficType};
use crate::kinds::metric_filter::{MetricFilter, Subject};
use crate::kinds::query_definition::QueryDefinition;
use crate::kinds::sns::{SnsTopic, Subscription, SubscriptionProtocol};
use crate::model::{At, Named, Ref};
use crate::registry::Topology;
use crate::yaml::Node;

/// The logical name of the topic `notify` declares.
pub const TOPIC: &str = "alerts";
/// The logical name of the stack's dashboard.
pub const DASHBOARD: &str = "network";

/// The section as written.
#[derive(Clone, Debug, PartialEq)]
pub struct Monitoring {
    pub notify: Option<Notify>,
    pub rejects: Vec<RejectAlarm>,
    pub contributors: Option<At<bool>>,
    pub dashboard: Option<At<bool>>,
    pub query_definitions: Option<At<bool>>,
}

/// The topic every alarm notifies, and who is subscribed.
#[derive(Clone, Debug, PartialEq)]
pub struct Notify {
    pub topic: Option<At<String>>,
    pub subscriptions: Vec<Subscription>,
    pub span: Span,
}

/// An alarm on the REJECT records of one VPC, subnet, instance or log group.
#[derive(Clone, Debug, PartialEq)]
pub struct RejectAlarm {
    pub scope: Watched,
    pub target: Ref,
    pub threshold: At<f64>,
    pub period: Option<At<i64>>,
    pub evaluation_periods: Option<At<i64>>,
    pub datapoints_to_alarm: Option<At<i64>>,
    pub span: Span,
}

/// What a `rejects` entry watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Watched {
    Vpc,
    Subnet,
    Instance,
    LogGroup,
}

impl Watched {
    pub const ALL: [Watched; 4] = [
        Watched::Vpc,
        Watched::Subnet,
        Watched::Instance,
        Watched::LogGroup,
    ];

    /// The entry's key, and the words of names made from it.
    pub fn key(self) -> &'static str {
        match self {
            Watched::Vpc => "vpc",
            Watched::Subnet => "subnet",
            Watched::Instance => "instance",
            Watched::LogGroup => "log-group",
        }
    }

    /// The kind of the object it names.
    pub fn resource_kind(self) -> ResourceKind {
        match self {
            Watched::Vpc => ResourceKind::Vpc,
            Watched::Subnet => ResourceKind::Subnet,
            Watched::Instance => ResourceKind::Instance,
            Watched::LogGroup => ResourceKind::LogGroup,
        }
    }
}

impl RejectAlarm {
    fn scope_word(&self) -> &'static str {
        self.scope.key()
    }

    /// The alarm's logical name: `rejects-vpc-network-1`. The watched
    /// name comes last, so an instance key (`web[a]`) ends it, as
    /// ownership tags need.
    pub fn name(&self) -> String {
        format!("rejects-{}-{}", self.scope_word(), self.target.value)
    }

    /// The metric filter's logical name: `rejected-vpc-network-1`.
    pub fn filter_name(&self) -> String {
        format!("rejected-{}-{}", self.scope_word(), self.target.value)
    }
}

impl JsonSchema for Monitoring {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Monitoring".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "What to watch; expands into an SNS topic, metric filters and alarms, Contributor Insights rules and a dashboard (docs/monitoring.md).",
            "type": "object",
            "properties": {
                "notify": {
                    "description": "The SNS topic (`sns-topic.alerts`) every alarm notifies.",
                    "type": "object",
                    "properties": {
                        "topic": { "description": "Its name; default `STACK-network-alerts`.", "type": "string" },
                        "email": { "type": "array", "items": { "type": "string" } },
                        "https": { "type": "array", "items": { "type": "string" } }
                    },
                    "additionalProperties": false
                },
                "rejects": {
                    "description": "An alarm on REJECT records per entry: `vpc`, `subnet`, `instance` or `log-group`, and a `threshold` of records per period.",
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "vpc": { "type": "string" },
                            "subnet": { "type": "string" },
                            "instance": { "type": "string" },
                            "log-group": { "type": "string" },
                            "threshold": { "description": "REJECT records per period at which it alarms.", "type": "number" },
                            "period": { "description": "Seconds (default 300).", "type": "integer" },
                            "evaluation-periods": { "type": "integer" },
                            "datapoints-to-alarm": { "type": "integer" }
                        },
                        "required": ["threshold"],
                        "additionalProperties": false
                    }
                },
                "contributors": { "description": "Contributor Insights rules for top talkers and top rejected sources of each flow-log group.", "type": "boolean" },
                "dashboard": { "description": "One dashboard for the stack (`dashboard.network`).", "type": "boolean" },
                "query-definitions": { "description": "The topology's `queries:` saved as Logs Insights query definitions (`query-definition.query-NAME`), those that name no instance address.", "type": "boolean" }
            },
            "additionalProperties": false
        })
    }
}

pub(crate) fn decode(node: &Node, cx: &mut Cx) -> Option<Monitoring> {
    let mut f = Fields::new(node, "`monitoring`", cx)?;
    let notify = f.take("notify").map(|n| decode_notify(n, cx));
    // One wrong entry does not hide what the others would report.
    let rejects = f
        .take("rejects")
        .map(|n| list_of(n, cx, |n, cx| Some(decode_reject(n, cx))));
    let contributors = f.maybe("contributors", cx);
    let dashboard = f.maybe("dashboard", cx);
    let query_definitions = f.maybe("query-definitions", cx);
    f.finish(cx);
    Some(Monitoring {
        notify: notify.unwrap_or(Some(None))?,
        rejects: rejects.flatten().into_iter().flatten().flatten().collect(),
        contributors: contributors.ok()?,
        dashboard: dashboard.ok()?,
        query_definitions: query_definitions.ok()?,
    })
}

fn decode_notify(node: &Node, cx: &mut Cx) -> Option<Option<Notify>> {
    let mut f = Fields::new(node, "`notify`", cx)?;
    let topic = f.maybe("topic", cx);
    let mut subscriptions = Vec::new();
    for protocol in SubscriptionProtocol::ALL {
        let endpoints: Option<Vec<At<String>>> = f.maybe(protocol.as_str(), cx).ok()?;
        subscriptions.extend(
            endpoints
                .into_iter()
                .flatten()
                .map(|endpoint| Subscription { protocol, endpoint }),
        );
    }
    let span = f.span();
    f.finish(cx);
    Some(Some(Notify {
        topic: topic.ok()?,
        subscriptions,
        span,
    }))
}

fn decode_reject(node: &Node, cx: &mut Cx) -> Option<RejectAlarm> {
    let mut f = Fields::new(node, "a `rejects` entry", cx)?;
    let mut scopes = Vec::new();
    for kind in Watched::ALL {
        if let Ok(Some(r)) = f.maybe::<Ref>(kind.key(), cx) {
            scopes.push((kind, r));
        }
    }
    let threshold = f.required("threshold", cx);
    let period = f.maybe("period", cx);
    let evaluation_periods = f.maybe("evaluation-periods", cx);
    let datapoints = f.maybe("datapoints-to-alarm", cx);
    let span = f.span();
    f.finish(cx);
    if scopes.len() != 1 {
        cx.push(
            Diagnostic::error(
                "invalid-monitoring",
                span,
                "a `rejects` entry watches one VPC, subnet, instance or log group",
            )
            .with_help("give exactly one of `vpc`, `subnet`, `instance` and `log-group`"),
        );
        return None;
    }
    let (scope, target) = scopes.pop()?;
    let threshold: At<f64> = threshold?;
    if threshold.value <= 0.0 {
        cx.push(
            Diagnostic::error(
                "invalid-monitoring",
                threshold.span,
                "a `rejects` threshold of 0 or less puts the alarm in ALARM every period",
            )
            .with_help("give the number of rejected records per period that should wake someone, e.g. `threshold: 10`"),
        );
        return None;
    }
    Some(RejectAlarm {
        scope,
        target,
        threshold,
        period: period.ok()?,
        evaluation_periods: evaluation_periods.ok()?,
        datapoints_to_alarm: datapoints.ok()?,
        span,
    })
}

/// A flow log's record fields, in order.
fn fields_of(log: &FlowLog) -> Vec<String> {
    match &log.format {
        Some(fields) => fields.iter().map(|f| f.value.clone()).collect(),
        None => DEFAULT_FLOW_LOG_FORMAT
            .split(' ')
            .map(|f| f.trim_start_matches("${").trim_end_matches('}').to_string())
            .collect(),
    }
}

/// A space-delimited filter pattern over `fields` with `conditions` on some of them.
fn pattern(fields: &[String], conditions: &[(&str, String)]) -> String {
    let parts: Vec<String> = fields
        .iter()
        .map(|f| {
            let name = f.replace('-', "_");
            match conditions.iter().find(|(c, _)| c == f) {
                Some((_, value)) => format!("{name} = \"{value}\""),
                None => name,
            }
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Expands the section into declarations; problems go to `cx` at the line that asked.
pub(crate) fn expand(t: &mut Topology, cx: &mut Cx) {
    let Some(m) = t.monitoring.clone() else {
        return;
    };
    let stack = t.stack.value.clone();
    let mut out = Expanded::default();
    if let Some(n) = &m.notify {
        out.topic(&stack, n);
    }
    let notify: Vec<Ref> = m
        .notify
        .as_ref()
        .map(|n| vec![At::new(TOPIC.to_string(), n.span)])
        .unwrap_or_default();
    for r in &m.rejects {
        if let Some(filter) = reject_filter(t, r, cx) {
            let group = t
                .log_groups
                .iter()
                .find(|g| g.name.value == filter.log_group.value)
                .map_or(filter.log_group.value.clone(), |g| {
                    g.spec.name.value.clone()
                });
            out.reject_alarm(&stack, (r, &group), filter, &notify);
        }
    }
    if let Some(c) = m.contributors.as_ref().filter(|c| c.value) {
        for (group, fields) in flow_log_groups(t, c.span, cx) {
            out.contributor_rules(&stack, &group, &fields, c.span);
        }
    }
    if let Some(d) = m.dashboard.as_ref().filter(|d| d.value) {
        let body = dashboard::widgets(t, &out);
        out.dashboards.push(named(
            DASHBOARD,
            d.span,
            Dashboard {
                name: At::new(format!("{stack}-network"), d.span),
                widgets: At::new(body.clone(), d.span),
                depends_on: Vec::new(),
                import_id: None,
                widgets_node: dashboard::node_of(&body, d.span),
            },
        ));
    }
    if let Some(q) = m.query_definitions.as_ref().filter(|q| q.value) {
        out.query_definitions(t, q.span, cx);
    }
    out.add_to(t);
}

fn named<T>(name: &str, span: Span, spec: T) -> Named<T> {
    Named {
        name: At::new(name.to_string(), span),
        spec,
    }
}

/// What the section expands into, before it joins the topology.
#[derive(Default)]
pub(crate) struct Expanded {
    pub(crate) topics: Vec<Named<SnsTopic>>,
    pub(crate) filters: Vec<Named<MetricFilter>>,
    pub(crate) alarms: Vec<Named<Alarm>>,
    pub(crate) rules: Vec<Named<ContributorRule>>,
    pub(crate) dashboards: Vec<Named<Dashboard>>,
    pub(crate) queries: Vec<Named<QueryDefinition>>,
}

impl Expanded {
    fn topic(&mut self, stack: &str, n: &Notify) {
        let name = n
            .topic
            .clone()
            .unwrap_or_else(|| At::new(format!("{stack}-network-alerts"), n.span));
        self.topics.push(named(
            TOPIC,
            n.span,
            SnsTopic {
                name,
                display_name: None,
                subscriptions: n.subscriptions.clone(),
                tags: Default::default(),
                depends_on: Vec::new(),
                import_id: None,
            },
        ));
    }

    fn reject_alarm(
        &mut self,
        stack: &str,
        (r, group): (&RejectAlarm, &str),
        filter: MetricFilter,
        notify: &[Ref],
    ) {
        let name = r.name();
        let at = |v: String| At::new(v, r.span);
        let description = match r.scope {
            Watched::LogGroup => {
                format!("REJECT records in log group {group}; vpcform stack {stack}")
            }
            Watched::Vpc | Watched::Subnet | Watched::Instance => format!(
                "REJECT records of {} {} in log group {group}; vpcform stack {stack}",
                r.scope_word(),
                r.target.value
            ),
        };
        self.filters.push(named(&r.filter_name(), r.span, filter));
        self.alarms.push(named(
            &name,
            r.span,
            Alarm {
                name: at(format!("{stack}-{name}")),
                description: Some(at(description)),
                metric_filter: Some(at(r.filter_name())),
                namespace: None,
                metric_name: None,
                dimensions: Default::default(),
                statistic: None,
                period: r.period.clone(),
                evaluation_periods: r.evaluation_periods.clone(),
                datapoints_to_alarm: r.datapoints_to_alarm.clone(),
                threshold: r.threshold.clone(),
                comparison: None,
                missing_data: Some(at("notBreaching".into())),
                notify: notify.to_vec(),
                tags: Default::default(),
                depends_on: Vec::new(),
                import_id: None,
            },
        ));
    }

    /// Top talkers (bytes by source and destination) and top rejected
    /// sources (REJECT records by source), as AWS's flow-log examples.
    fn contributor_rules(&mut self, stack: &str, group: &str, fields: &[String], span: Span) {
        // CLF names fields by their 1-based position in the record.
        let mut field_map = serde_json::Map::new();
        for f in ["srcaddr", "dstaddr", "bytes", "action"] {
            if let Some(i) = fields.iter().position(|x| x == f) {
                field_map.insert((i + 1).to_string(), json!(f));
            }
        }
        let rules = [
            (
                "top-talkers",
                json!({
                    "LogFormat": "CLF", "Fields": field_map,
                    "Contribution": { "Keys": ["srcaddr", "dstaddr"], "ValueOf": "bytes", "Filters": [] },
                    "AggregateOn": "Sum"
                }),
            ),
            (
                "top-rejected",
                json!({
                    "LogFormat": "CLF", "Fields": field_map,
                    "Contribution": { "Keys": ["srcaddr"], "Filters": [{ "Match": "action", "In": ["REJECT"] }] },
                    "AggregateOn": "Count"
                }),
            ),
        ];
        for (what, definition) in rules {
            let name = format!("{what}-{group}");
            self.rules.push(named(
                &name,
                span,
                ContributorRule {
                    name: At::new(format!("{stack}-{name}"), span),
                    log_groups: vec![At::new(group.to_string(), span)],
                    definition: At::new(definition.clone(), span),
                    enabled: None,
                    tags: Default::default(),
                    depends_on: Vec::new(),
                    import_id: None,
                    definition_node: dashboard::node_of(&definition, span),
                },
            ));
        }
    }

    /// The saved queries that name no instance address (known only after
    /// apply); the others are named in a warning.
    fn query_definitions(&mut self, t: &Topology, span: Span, cx: &mut Cx) {
        for q in t.queries.iter() {
            if !crate::queries::placeholders(&q.spec.query.value).is_empty() {
                cx.push(
                    Diagnostic::warning(
                        "query-not-saved",
                        span,
                        format!(
                            "query `{}` is not saved in Logs Insights: it names an instance's address, known only after apply",
                            q.name.value
                        ),
                    )
                    .with_related(q.spec.query.span, "the query")
                    .with_help("run it with `vpcform query NAME`, which fills the address in; or write the address into the query"),
                );
                continue;
            }
            if vpcform_insights::compile(&q.spec.query.value).is_err() {
                continue; // Reported at the query itself.
            }
            self.queries.push(named(
                &format!("query-{}", q.name.value),
                span,
                QueryDefinition {
                    query: q.spec.query.clone(),
                    log_groups: q.spec.log_groups.clone(),
                    depends_on: Vec::new(),
                    import_id: None,
                },
            ));
        }
    }

    fn add_to(self, t: &mut Topology) {
        let mut declare = |name: &At<String>, kind| t.declared.push((name.clone(), kind));
        for x in &self.topics {
            declare(&x.name, ResourceKind::SnsTopic);
        }
        for x in &self.filters {
            declare(&x.name, ResourceKind::MetricFilter);
        }
        for x in &self.alarms {
            declare(&x.name, ResourceKind::Alarm);
        }
        for x in &self.rules {
            declare(&x.name, ResourceKind::ContributorInsightsRule);
        }
        for x in &self.dashboards {
            declare(&x.name, ResourceKind::Dashboard);
        }
        for x in &self.queries {
            declare(&x.name, ResourceKind::QueryDefinition);
        }
        t.sns_topics.extend(self.topics);
        t.metric_filters.extend(self.filters);
        t.alarms.extend(self.alarms);
        t.contributor_insights_rules.extend(self.rules);
        t.dashboards.extend(self.dashboards);
        t.query_definitions.extend(self.queries);
    }
}

/// Each log group flow logs write to, with the record fields they write;
/// a group written in two formats cannot be read by position (reported).
fn flow_log_groups(t: &Topology, span: Span, cx: &mut Cx) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for log in &t.flow_logs {
        let group = log.spec.log_group.value.clone();
        let fields = fields_of(&log.spec);
        match out.iter().find(|(g, _)| *g == group) {
            None => out.push((group, fields)),
            Some((_, first)) if *first == fields => {}
            Some(_) => cx.push(
                Diagnostic::error(
                    "invalid-monitoring",
                    span,
                    format!("flow logs write log group `{group}` in two record formats"),
                )
                .with_related(log.spec.log_group.span, "this flow log's format differs")
                .with_help("Contributor Insights reads fields by position: give the flow logs one format, or separate log groups"),
            ),
        }
    }
    out.retain(|(group, fields)| {
        let missing: Vec<&str> = ["srcaddr", "dstaddr", "bytes", "action"]
            .into_iter()
            .filter(|f| !fields.iter().any(|x| x == f))
            .collect();
        if !missing.is_empty() {
            cx.push(
                Diagnostic::error(
                    "invalid-monitoring",
                    span,
                    format!(
                        "the flow logs of log group `{group}` record no {}",
                        missing.join(", ")
                    ),
                )
                .with_help("add those fields to the flow logs' `format`"),
            );
        }
        missing.is_empty()
    });
    out
}

/// The metric filter behind a `rejects` entry, or a located reason there is
/// none. Of the flow logs that record the entry's traffic, the first whose
/// records can be told apart is used; else the first one's reason is shown.
fn reject_filter(t: &Topology, r: &RejectAlarm, cx: &mut Cx) -> Option<MetricFilter> {
    let covering = scope::covering(t, r, cx)?;
    let candidates: Vec<&Named<FlowLog>> = covering
        .into_iter()
        .filter(|l| {
            l.spec
                .traffic_type
                .as_ref()
                .is_none_or(|tt| tt.value != TrafficType::Accept)
        })
        .collect();
    if candidates.is_empty() {
        let what = r
            .scope
            .resource_kind()
            .article_name()
            .split_once(' ')
            .map_or("", |x| x.1);
        let message = format!(
            "no flow log records the rejected traffic of {what} `{}`",
            r.target.value
        );
        cx.push(
            Diagnostic::error("invalid-monitoring", r.target.span, message)
                .with_help("declare a flow log (traffic-type ALL or REJECT) on it or on its VPC"),
        );
        return None;
    }
    let mut first_reason: Option<Cx> = None;
    for log in candidates {
        let group = &log.spec.log_group.value;
        let mut attempt = Cx::default();
        let found = scope::group_fields(t, group, r, &mut attempt).and_then(|fields| {
            let (conditions, id_of) = scope::distinguish(t, r, group, &fields, &mut attempt)?;
            Some((fields, conditions, id_of))
        });
        let Some((fields, conditions, id_of)) = found else {
            first_reason.get_or_insert(attempt);
            continue;
        };
        let mut all = vec![("action", "REJECT".to_string())];
        all.extend(conditions);
        return Some(reject_metric_filter(r, group, &fields, &all, id_of));
    }
    cx.diags
        .extend(first_reason.map(|c| c.diags).unwrap_or_default());
    None
}

fn reject_metric_filter(
    r: &RejectAlarm,
    group: &str,
    fields: &[String],
    all: &[(&str, String)],
    id_of: Option<Subject>,
) -> MetricFilter {
    let name = r.name();
    MetricFilter {
        log_group: At::new(group.to_string(), r.target.span),
        pattern: At::new(pattern(fields, all), r.span),
        id_of: id_of.map(|s: Subject| At::new(s, r.target.span)),
        metric_namespace: None,
        metric_name: At::new(
            format!("RejectedRecords-{}", name.trim_start_matches("rejects-")),
            r.span,
        ),
        metric_value: None,
        default_value: Some(At::new(0.0, r.span)),
        depends_on: Vec::new(),
        import_id: None,
    }
}
