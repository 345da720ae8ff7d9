//! CloudWatch Logs metric filters: a pattern over a log group's events and
//! the metric each match adds to. AWS keeps no tags on a filter, so its
//! name records its owner: `vpcform/STACK/ADDRESS` (filter names may not
//! hold `:` or `*`). A pattern may name one object's id (`{id}`, filled
//! from `id-of` once the object exists): AWS stores the pattern with the
//! id written in, and the reader splits it back out (see [`split_subject`]).

use std::collections::HashMap;

use schemars::JsonSchema;
use serde_json::Value;
use vpcform_monitor::alarm::MetricValue;
use vpcform_monitor::filter_pattern::FilterPattern;

use crate::address::{Address, ResourceKind};
use crate::decode::{Cx, Fields, FromNode};
use crate::diagnostic::{Diagnostic, Span};
use crate::emit::Map;
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::kinds::instance::NETWORK_INTERFACE_ID;
use crate::kinds::log_group::LOG_GROUP_NAME;
use crate::model::{At, Named, Ref};
use crate::registry::Topology;
use crate::validate::NameIndex;
use crate::yaml::{Node, NodeKind};

pub const FILTER_NAME: Attr = Attr::new("filter_name");
pub const FILTER_PATTERN: Attr = Attr::new("filter_pattern");
/// The id written where the pattern says `{id}`.
pub const PATTERN_SUBJECT: Attr = Attr::new("pattern_subject");
pub const METRIC_NAMESPACE: Attr = Attr::new("metric_namespace");
pub const METRIC_NAME: Attr = Attr::new("metric_name");
pub const METRIC_VALUE: Attr = Attr::new("metric_value");
pub const DEFAULT_VALUE: Attr = Attr::new("default_value");

/// Where a pattern takes the id of its `id-of` object.
pub const ID_PLACEHOLDER: &str = "{id}";

/// A metric filter on a log group.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct MetricFilter {
    /// Logical name of the log group whose events it reads.
    pub log_group: Ref,
    /// A CloudWatch filter pattern; flow-log records are space-delimited:
    /// `[version, account, eni, source, destination, srcport, destport, protocol, packets, bytes, start, end, action = "REJECT", status]`.
    #[schemars(with = "String")]
    pub pattern: At<String>,
    /// `vpc.NAME`, `subnet.NAME`, `instance.NAME` or `instance.NAME.interface`
    /// (its primary network interface): `{id}` in the pattern stands for its AWS id.
    #[schemars(with = "Option<String>")]
    pub id_of: Option<At<Subject>>,
    /// Default `vpcform/STACK`.
    #[schemars(with = "Option<String>")]
    pub metric_namespace: Option<At<String>>,
    #[schemars(with = "String")]
    pub metric_name: At<String>,
    /// What each match adds: a number (default `1`) or `$FIELD` of the pattern.
    #[schemars(with = "Option<String>")]
    pub metric_value: Option<At<String>>,
    /// What an event that does not match adds (none when omitted).
    #[schemars(with = "Option<f64>")]
    pub default_value: Option<At<f64>>,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// Refused: AWS keeps no tags on a filter, so vpcform cannot adopt one.
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

/// What a pattern's `{id}` stands for: the id of a VPC, a subnet, an
/// instance, or an instance's primary network interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubjectKind {
    Vpc,
    Subnet,
    Instance,
    InstanceInterface,
}

impl SubjectKind {
    pub const ALL: [SubjectKind; 4] = [
        SubjectKind::Vpc,
        SubjectKind::Subnet,
        SubjectKind::Instance,
        SubjectKind::InstanceInterface,
    ];

    /// The kind of the object named.
    pub fn resource_kind(self) -> ResourceKind {
        match self {
            SubjectKind::Vpc => ResourceKind::Vpc,
            SubjectKind::Subnet => ResourceKind::Subnet,
            SubjectKind::Instance | SubjectKind::InstanceInterface => ResourceKind::Instance,
        }
    }

    /// The attribute of that object holding the id.
    pub fn attr(self) -> Attr {
        match self {
            SubjectKind::Vpc | SubjectKind::Subnet | SubjectKind::Instance => crate::attr::ID,
            SubjectKind::InstanceInterface => NETWORK_INTERFACE_ID,
        }
    }

    /// How AWS's ids of it begin.
    pub fn id_prefix(self) -> &'static str {
        match self {
            SubjectKind::Vpc => "vpc-",
            SubjectKind::Subnet => "subnet-",
            SubjectKind::Instance => "i-",
            SubjectKind::InstanceInterface => "eni-",
        }
    }

    /// As written: `vpc.NAME`, …, `instance.NAME.interface`.
    fn words(self) -> (&'static str, &'static str) {
        match self {
            SubjectKind::Vpc => ("vpc", ""),
            SubjectKind::Subnet => ("subnet", ""),
            SubjectKind::Instance => ("instance", ""),
            SubjectKind::InstanceInterface => ("instance", ".interface"),
        }
    }
}

/// The object whose id a pattern names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subject {
    pub kind: SubjectKind,
    pub name: String,
}

impl Subject {
    pub fn address(&self) -> Address {
        Address::new(self.kind.resource_kind(), &self.name)
    }

    pub fn desired(&self) -> Desired {
        Desired::Ref(self.address(), self.kind.attr())
    }

    /// An id of the right shape, to check a pattern before the object exists.
    fn sample_id(&self) -> String {
        format!("{}0123456789abcdef0", self.kind.id_prefix())
    }
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, suffix) = self.kind.words();
        write!(f, "{kind}.{}{suffix}", self.name)
    }
}

impl FromNode for Subject {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        let NodeKind::Str(text) = &node.kind else {
            cx.wrong_type(node, "`vpc.NAME`, `subnet.NAME` or `instance.NAME`");
            return None;
        };
        // The longest reading first: `instance.web.interface` is the interface.
        let found = [
            SubjectKind::InstanceInterface,
            SubjectKind::Vpc,
            SubjectKind::Subnet,
            SubjectKind::Instance,
        ]
        .into_iter()
        .find_map(|kind| {
            let (word, suffix) = kind.words();
            let name = text
                .strip_prefix(word)?
                .strip_prefix('.')?
                .strip_suffix(suffix)?;
            (!name.is_empty()).then(|| Subject {
                kind,
                name: name.to_string(),
            })
        });
        if found.is_none() {
            cx.push(
                Diagnostic::error(
                    "invalid-id-of",
                    node.span,
                    format!("`{text}` does not name a VPC, subnet or instance"),
                )
                .with_help(
                    "write `vpc.NAME`, `subnet.NAME`, `instance.NAME` or `instance.NAME.interface`",
                ),
            );
        }
        found
    }
}

impl MetricFilter {
    /// The filter's name in AWS, which records its owner.
    pub fn aws_name(stack: &str, address: &Address) -> String {
        format!("vpcform/{stack}/{}", address.tag_value())
    }

    /// The metric's namespace: declared, or `vpcform/STACK`.
    pub fn namespace(&self, stack: &str) -> String {
        self.metric_namespace
            .as_ref()
            .map_or_else(|| format!("vpcform/{stack}"), |n| n.value.clone())
    }

    pub fn value_text(&self) -> &str {
        self.metric_value.as_ref().map_or("1", |v| v.value.as_str())
    }
}

/// The owner a filter's name records: stack and address tag value.
pub fn owner_of_name(name: &str) -> Option<(&str, &str)> {
    name.strip_prefix("vpcform/")?.split_once('/')
}

/// A pattern as AWS stores it, split into the pattern with `{id}` and the
/// one AWS id it names (the first VPC, subnet, interface or instance id).
pub fn split_subject(pattern: &str) -> (String, Option<String>) {
    const PREFIXES: [&str; 4] = ["vpc-", "subnet-", "eni-", "i-"];
    let bytes = pattern.as_bytes();
    for (at, _) in pattern.char_indices() {
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'-') {
            continue;
        }
        let Some(prefix) = PREFIXES.iter().find(|p| pattern[at..].starts_with(*p)) else {
            continue;
        };
        let hex_start = at + prefix.len();
        let hex_len = pattern[hex_start..]
            .bytes()
            .take_while(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            .count();
        let end = hex_start + hex_len;
        let bounded = bytes.get(end).is_none_or(|b| !b.is_ascii_alphanumeric());
        if (8..=17).contains(&hex_len) && bounded {
            let template = format!("{}{ID_PLACEHOLDER}{}", &pattern[..at], &pattern[end..]);
            return (template, Some(pattern[at..end].to_string()));
        }
    }
    (pattern.to_string(), None)
}

impl Kind for MetricFilter {
    const KIND: ResourceKind = ResourceKind::MetricFilter;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(LOG_GROUP_NAME, Compare::Id),
        AttrSpec::replace(FILTER_NAME, Compare::Exact),
        AttrSpec::update(FILTER_PATTERN, Compare::Exact),
        AttrSpec::update(PATTERN_SUBJECT, Compare::Id),
        AttrSpec::update(METRIC_NAMESPACE, Compare::Exact),
        AttrSpec::update(METRIC_NAME, Compare::Exact),
        AttrSpec::update(METRIC_VALUE, Compare::Exact),
        AttrSpec::update(DEFAULT_VALUE, Compare::Exact),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::CreateFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let f = cx.index.metric_filters.get(a.name.as_str())?;
        let (pattern, subject) = match &f.id_of {
            Some(s) => (f.pattern.value.clone(), s.value.desired()),
            None => {
                let (template, id) = split_subject(&f.pattern.value);
                (
                    template,
                    Desired::Known(id.map_or(Value::Null, Value::from)),
                )
            }
        };
        Some(DesiredAttrs::from([
            (
                LOG_GROUP_NAME,
                Desired::id_of(ResourceKind::LogGroup, &f.log_group.value),
            ),
            (
                FILTER_NAME,
                Desired::known(MetricFilter::aws_name(cx.stack, a)),
            ),
            (FILTER_PATTERN, Desired::known(pattern)),
            (PATTERN_SUBJECT, subject),
            (METRIC_NAMESPACE, Desired::known(f.namespace(cx.stack))),
            (METRIC_NAME, Desired::known(f.metric_name.value.clone())),
            (METRIC_VALUE, Desired::known(f.value_text())),
            (
                DEFAULT_VALUE,
                Desired::Known(
                    f.default_value
                        .as_ref()
                        .map_or(Value::Null, |d| Value::from(d.value)),
                ),
            ),
        ]))
    }
}

impl Declared for MetricFilter {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let log_group = f.required("log-group", cx);
        let pattern = f.required("pattern", cx);
        let id_of = f.maybe("id-of", cx);
        let namespace = f.maybe("metric-namespace", cx);
        let metric_name = f.required("metric-name", cx);
        let metric_value = f.maybe("metric-value", cx);
        let default_value = f.maybe("default-value", cx);
        let deps = f.maybe("depends-on", cx);
        let import_id = f.maybe("import-id", cx);
        f.finish(cx);
        Some(MetricFilter {
            log_group: log_group?,
            pattern: pattern?,
            id_of: id_of.ok()?,
            metric_namespace: namespace.ok()?,
            metric_name: metric_name?,
            metric_value: metric_value.ok()?,
            default_value: default_value.ok()?,
            depends_on: deps.ok()?.unwrap_or_default(),
            import_id: import_id.ok()?,
        })
    }

    fn validate(items: &[Named<Self>], t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let mut per_group: HashMap<&str, usize> = HashMap::new();
        for item in items {
            let f = &item.spec;
            if index.check(&f.log_group, ResourceKind::LogGroup, "log-group", cx) {
                *per_group.entry(f.log_group.value.as_str()).or_default() += 1;
            }
            if let Some(subject) = &f.id_of {
                let r = At::new(subject.value.name.clone(), subject.span);
                index.check(&r, subject.value.kind.resource_kind(), "id-of", cx);
            }
            check_pattern(f, cx);
            check_fits_records(f, t, cx);
            check_metric(f, cx);
        }
        for (group, count) in per_group {
            if count > 100 {
                let first = items
                    .iter()
                    .find(|i| i.spec.log_group.value == group)
                    .map_or(Span::UNKNOWN, |i| i.spec.log_group.span);
                cx.push(
                    Diagnostic::error(
                        "too-many-metric-filters",
                        first,
                        format!("log group `{group}` has {count} metric filters; CloudWatch Logs allows 100"),
                    )
                    .with_help("combine filters with `||` conditions, or split the records across log groups"),
                );
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            let at = b.node(
                Address::new(ResourceKind::MetricFilter, &r.name.value),
                r.name.span,
            );
            b.edge(
                at,
                Address::new(ResourceKind::LogGroup, &r.spec.log_group.value),
            );
            if let Some(s) = &r.spec.id_of {
                b.edge(at, s.value.address());
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::NotAdoptable;

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    /// Never called: `vpcform import` does not scan metric filters (see the AWS side).
    fn export(_: &Observed, _: &mut ExportCx) -> Option<Map> {
        None
    }
}

/// The pattern parses as CloudWatch's grammar, `{id}` and `id-of` go together.
fn check_pattern(f: &MetricFilter, cx: &mut Cx) {
    let text = &f.pattern.value;
    let holds_placeholder = text.contains(ID_PLACEHOLDER);
    let concrete = match &f.id_of {
        Some(_) if text.matches(ID_PLACEHOLDER).count() > 1 || split_subject(text).1.is_some() => {
            // AWS stores the pattern with the id written in, and reading it
            // back takes the first id in it for `{id}`: one id, one place.
            cx.push(
                Diagnostic::error(
                    "invalid-filter-pattern",
                    f.pattern.span,
                    "with `id-of`, the pattern holds `{id}` once and no other AWS id",
                )
                .with_help("drop the other ids (or the second `{id}`), or write the ids out and drop `id-of`"),
            );
            return;
        }
        Some(s) if holds_placeholder => text.replace(ID_PLACEHOLDER, &s.value.sample_id()),
        Some(s) => {
            cx.push(
                Diagnostic::error(
                    "invalid-filter-pattern",
                    s.span,
                    "`id-of` is given but the pattern has no `{id}` to hold the id",
                )
                .with_help("write `{id}` where the id goes, e.g. `vpc_id = \"{id}\"`"),
            );
            return;
        }
        None if holds_placeholder => {
            cx.push(
                Diagnostic::error(
                    "invalid-filter-pattern",
                    f.pattern.span,
                    "the pattern has `{id}` but no `id-of` says whose id it is",
                )
                .with_help("add `id-of: vpc.NAME` (or subnet, instance)"),
            );
            return;
        }
        None => text.clone(),
    };
    if let Err(e) = FilterPattern::parse(&concrete) {
        cx.push(
            Diagnostic::error(
                "invalid-filter-pattern",
                f.pattern.span,
                format!("this filter pattern does not parse {e}"),
            )
            .with_help("see docs/monitoring.md for the space-delimited pattern grammar"),
        );
    }
}

/// A space-delimited pattern on a flow-log group has as many fields as its
/// records (or fewer with `...`): otherwise it can never match.
fn check_fits_records(f: &MetricFilter, t: &Topology, cx: &mut Cx) {
    let text = f.pattern.value.replace(ID_PLACEHOLDER, "x");
    let Ok(pattern) = FilterPattern::parse(&text) else {
        return;
    };
    for log in t
        .flow_logs
        .iter()
        .filter(|l| l.spec.log_group.value == f.log_group.value)
    {
        let fields = log.spec.format.as_ref().map_or(14, Vec::len);
        if !pattern.fits(fields) {
            cx.push(
                Diagnostic::error(
                    "invalid-filter-pattern",
                    f.pattern.span,
                    format!(
                        "this pattern has {} fields, but flow log `{}` writes records of {fields}: it can never match them",
                        pattern.field_names().len(),
                        log.name.value
                    ),
                )
                .with_help("name every field of the record in order, or end the pattern with `...`"),
            );
            return;
        }
    }
}

fn check_metric(f: &MetricFilter, cx: &mut Cx) {
    if let Some(ns) = &f.metric_namespace
        && (ns.value.is_empty() || ns.value.len() > 255 || ns.value.starts_with("AWS/"))
    {
        cx.push(
            Diagnostic::error(
                "invalid-metric",
                ns.span,
                format!("`{}` cannot be a custom metric namespace", ns.value),
            )
            .with_help("use 1-255 characters not starting with `AWS/`"),
        );
    }
    let name = &f.metric_name;
    if name.value.is_empty() || name.value.len() > 255 {
        cx.push(
            Diagnostic::error(
                "invalid-metric",
                name.span,
                "a metric name has 1-255 characters",
            )
            .with_help("name the metric, e.g. `RejectedRecords`"),
        );
    }
    let Some(value) = &f.metric_value else { return };
    match MetricValue::parse(&value.value) {
        Err(message) => cx.push(
            Diagnostic::error("invalid-metric", value.span, message)
                .with_help("write a number such as `1`, or `$bytes` for a field of the pattern"),
        ),
        Ok(MetricValue::Field(field)) => {
            let fields = FilterPattern::parse(&f.pattern.value.replace(ID_PLACEHOLDER, "x"))
                .map(|p| {
                    p.field_names()
                        .iter()
                        .map(|s| s.to_string())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            if !fields.contains(&field) {
                cx.push(
                    Diagnostic::error(
                        "invalid-metric",
                        value.span,
                        format!("`${field}` is not a field of the pattern"),
                    )
                    .with_help(format!("use one of {}", fields.join(", "))),
                );
            }
        }
        Ok(MetricValue::Constant(_)) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_gives_back_the_id_it_names() {
        let (t, id) = split_subject(r#"[version, vpc_id = "vpc-0a1b2c3d", action = "REJECT"]"#);
        assert_eq!(t, r#"[version, vpc_id = "{id}", action = "REJECT"]"#);
        assert_eq!(id.as_deref(), Some("vpc-0a1b2c3d"));
        let (t, id) = split_subject(r#"[v, eni = "eni-0123456789abcdef0"]"#);
        assert_eq!(t, r#"[v, eni = "{id}"]"#);
        assert_eq!(id.as_deref(), Some("eni-0123456789abcdef0"));
        // Words that only look like ids are left alone.
        assert_eq!(
            split_subject("my-vpc-abc REJECT"),
            ("my-vpc-abc REJECT".into(), None)
        );
        assert_eq!(
            split_subject("vpc-12345678x"),
            ("vpc-12345678x".into(), None)
        );
    }

    #[test]
    fn owner_comes_from_the_name() {
        assert_eq!(
            owner_of_name("vpcform/seed/metric-filter.rejects"),
            Some(("seed", "metric-filter.rejects"))
        );
        assert_eq!(owner_of_name("hand-made"), None);
    }
}
