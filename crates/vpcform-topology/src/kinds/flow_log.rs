//! VPC flow logs into a CloudWatch Logs group through a delivery role.
//! Every argument forces a replacement: AWS changes nothing but tags.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::{ARN, TAGS};
use crate::decode::{Cx, Fields, FromNode, common_fields};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::kinds::log_group::LOG_GROUP_NAME;
use crate::model::{At, Named, Ref, Tags};
use crate::registry::Topology;
use crate::validate::NameIndex;
use crate::yaml::Node;

pub const RESOURCE_ID: Attr = Attr::new("resource_id");
pub const RESOURCE_TYPE: Attr = Attr::new("resource_type");
pub const DELIVER_LOGS_PERMISSION_ARN: Attr = Attr::new("deliver_logs_permission_arn");
pub const TRAFFIC_TYPE: Attr = Attr::new("traffic_type");
pub const MAX_AGGREGATION_INTERVAL: Attr = Attr::new("max_aggregation_interval");
pub const LOG_FORMAT: Attr = Attr::new("log_format");

/// Flow-log record fields, in AWS's default order first (version 2), then later versions.
pub const FLOW_LOG_FIELDS: &[&str] = &[
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
];

/// The five actions a flow-log delivery role needs.
pub const FLOW_LOG_ACTIONS: &[&str] = &[
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "logs:DescribeLogGroups",
    "logs:DescribeLogStreams",
];

pub const FLOW_LOGS_SERVICE: &str = "vpc-flow-logs.amazonaws.com";

/// A VPC flow log. Exactly one of `vpc` and `subnet`.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FlowLog {
    pub vpc: Option<Ref>,
    pub subnet: Option<Ref>,
    /// Logical name of the destination log group.
    pub log_group: Ref,
    /// Logical name of the delivery role.
    pub role: Ref,
    /// `ALL` (default), `ACCEPT` or `REJECT`.
    #[schemars(with = "Option<TrafficType>")]
    pub traffic_type: Option<At<TrafficType>>,
    /// 60 or 600 (default) seconds.
    pub max_aggregation_interval: Option<At<i64>>,
    /// Custom record format as a list of field names; omit for AWS's default format.
    pub format: Option<Vec<At<String>>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TrafficType {
    All,
    Accept,
    Reject,
}

impl TrafficType {
    pub fn as_str(self) -> &'static str {
        match self {
            TrafficType::All => "ALL",
            TrafficType::Accept => "ACCEPT",
            TrafficType::Reject => "REJECT",
        }
    }
}

impl FromNode for TrafficType {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::from_node(node, cx)?;
        let parsed = match text.to_ascii_uppercase().as_str() {
            "ALL" => Some(TrafficType::All),
            "ACCEPT" => Some(TrafficType::Accept),
            "REJECT" => Some(TrafficType::Reject),
            _ => None,
        };
        if parsed.is_none() {
            cx.push(
                Diagnostic::error(
                    "invalid-value",
                    node.span,
                    format!("unknown traffic type `{text}`"),
                )
                .with_help("use ALL, ACCEPT or REJECT"),
            );
        }
        parsed
    }
}

impl Kind for FlowLog {
    const KIND: ResourceKind = ResourceKind::FlowLog;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(RESOURCE_ID, Compare::Exact),
        AttrSpec::replace(RESOURCE_TYPE, Compare::Exact),
        AttrSpec::replace(LOG_GROUP_NAME, Compare::Exact),
        AttrSpec::replace(DELIVER_LOGS_PERMISSION_ARN, Compare::Exact),
        AttrSpec::replace(TRAFFIC_TYPE, Compare::Exact),
        AttrSpec::replace(MAX_AGGREGATION_INTERVAL, Compare::Exact),
        AttrSpec::replace(LOG_FORMAT, Compare::FlowLogFormat),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let f = cx.index.flow_logs.get(a.name.as_str())?;
        let (resource, resource_type) = match (&f.vpc, &f.subnet) {
            (Some(v), _) => (Desired::id_of(ResourceKind::Vpc, &v.value), "VPC"),
            (None, Some(s)) => (Desired::id_of(ResourceKind::Subnet, &s.value), "Subnet"),
            (None, None) => return None,
        };
        let group = cx.index.log_groups.get(f.log_group.value.as_str())?;
        let format = f.format.as_ref().map_or(Value::Null, |fields| {
            Value::String(
                fields
                    .iter()
                    .map(|x| format!("${{{}}}", x.value))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        });
        Some(DesiredAttrs::from([
            (RESOURCE_ID, resource),
            (RESOURCE_TYPE, Desired::known(resource_type)),
            (LOG_GROUP_NAME, Desired::known(group.name.value.clone())),
            (
                DELIVER_LOGS_PERMISSION_ARN,
                Desired::Ref(Address::new(ResourceKind::IamRole, &f.role.value), ARN),
            ),
            (
                TRAFFIC_TYPE,
                Desired::known(f.traffic_type.as_ref().map_or("ALL", |t| t.value.as_str())),
            ),
            (
                MAX_AGGREGATION_INTERVAL,
                Desired::known(f.max_aggregation_interval.as_ref().map_or(600, |i| i.value)),
            ),
            (LOG_FORMAT, Desired::Known(format)),
            (TAGS, cx.tags(a, &f.tags)),
        ]))
    }
}

impl Declared for FlowLog {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let vpc = f.maybe("vpc", cx);
        let subnet = f.maybe("subnet", cx);
        let log_group = f.required("log-group", cx);
        let role = f.required("role", cx);
        let traffic_type = f.maybe("traffic-type", cx);
        let interval = f.maybe("max-aggregation-interval", cx);
        let format = f.maybe("format", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        let span = f.span();
        f.finish(cx);
        let (vpc, subnet): (Option<Ref>, Option<Ref>) = (vpc.ok()?, subnet.ok()?);
        if vpc.is_some() == subnet.is_some() {
            cx.push(
                Diagnostic::error(
                    "flow-log-target",
                    span,
                    format!("{what} needs exactly one of `vpc` and `subnet`"),
                )
                .with_help("name the VPC (or subnet) whose traffic to record"),
            );
            return None;
        }
        Some(FlowLog {
            vpc,
            subnet,
            log_group: log_group?,
            role: role?,
            traffic_type: traffic_type.ok()?,
            max_aggregation_interval: interval.ok()?,
            format: format.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        for fl in items {
            let f = &fl.spec;
            if let Some(v) = &f.vpc {
                index.check(v, ResourceKind::Vpc, "vpc", cx);
            }
            if let Some(s) = &f.subnet {
                index.check(s, ResourceKind::Subnet, "subnet", cx);
            }
            index.check(&f.log_group, ResourceKind::LogGroup, "log-group", cx);
            if let Some(i) = &f.max_aggregation_interval
                && i.value != 60
                && i.value != 600
            {
                cx.push(
                    Diagnostic::error(
                        "invalid-aggregation-interval",
                        i.span,
                        format!(
                            "the maximum aggregation interval must be 60 or 600 seconds, not {}",
                            i.value
                        ),
                    )
                    .with_help("use 60 or 600"),
                );
            }
            if let Some(format) = &f.format {
                check_format(fl, format, cx);
            }
            index.check(&f.role, ResourceKind::IamRole, "role", cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], t: &Topology, b: &mut Builder) {
        use ResourceKind as K;
        for r in items {
            let a = b.node(Address::new(K::FlowLog, &r.name.value), r.name.span);
            if let Some(v) = &r.spec.vpc {
                b.edge(a, Address::new(K::Vpc, &v.value));
            }
            if let Some(s) = &r.spec.subnet {
                b.edge(a, Address::new(K::Subnet, &s.value));
            }
            b.edge(a, Address::new(K::LogGroup, &r.spec.log_group.value));
            b.edge(a, Address::new(K::IamRole, &r.spec.role.value));
            // The role must hold its permissions before the flow log starts delivering.
            if let Some(role) = t
                .iam_roles
                .iter()
                .find(|x| x.name.value == r.spec.role.value)
            {
                for p in &role.spec.policies {
                    b.edge(
                        a,
                        Address::keyed(K::IamRolePolicyAttachment, &role.name.value, &p.value),
                    );
                }
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("fl-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        let resource = if o.str(RESOURCE_TYPE) == Some("Subnet") {
            (ResourceKind::Subnet, "subnet")
        } else {
            (ResourceKind::Vpc, "vpc")
        };
        if !cx.reference(o, RESOURCE_ID, resource.0, resource.1, &mut m)
            || !cx.reference(
                o,
                LOG_GROUP_NAME,
                ResourceKind::LogGroup,
                "log-group",
                &mut m,
            )
        {
            return None;
        }
        let role = o
            .str(DELIVER_LOGS_PERMISSION_ARN)
            .and_then(|arn| arn.rsplit('/').next())
            .and_then(|name| cx.name_of(ResourceKind::IamRole, name));
        let Some(role) = role else {
            cx.leave_out(
                &o.id,
                "the flow log",
                "its delivery role was not found in this account",
            );
            return None;
        };
        m.set("role", role);
        if let Some(t) = o.str(TRAFFIC_TYPE).filter(|t| *t != "ALL") {
            m.set("traffic-type", t);
        }
        if let Some(i) = o
            .get(MAX_AGGREGATION_INTERVAL)
            .and_then(Value::as_i64)
            .filter(|i| *i != 600)
        {
            m.set("max-aggregation-interval", i);
        }
        if let Some(format) = o.str(LOG_FORMAT).filter(|f| !is_default_format(f)) {
            let fields: Vec<Yaml> = format
                .split_whitespace()
                .map(|f| Yaml::from(f.trim_start_matches("${").trim_end_matches('}')))
                .collect();
            m.set("format", Yaml::List(fields));
        }
        Some(m)
    }
}

fn check_format(fl: &Named<FlowLog>, format: &[At<String>], cx: &mut Cx) {
    let mut seen = HashSet::new();
    if format.is_empty() {
        cx.push(
            Diagnostic::error(
                "invalid-flow-log-format",
                fl.name.span,
                "the custom flow-log format is empty",
            )
            .with_help("list at least one field, or omit `format` for AWS's default"),
        );
    }
    for field in format {
        if !FLOW_LOG_FIELDS.contains(&field.value.as_str()) {
            let d = Diagnostic::error(
                "invalid-flow-log-field",
                field.span,
                format!("`{}` is not a flow-log field", field.value),
            );
            cx.push(
                match did_you_mean(&field.value, FLOW_LOG_FIELDS.iter().copied()) {
                    Some(s) => d
                        .with_label(format!("did you mean `{s}`?"))
                        .with_help(format!("replace it with `{s}`")),
                    None => d.with_help("see docs/topology.md for the list of flow-log fields"),
                },
            );
        } else if !seen.insert(field.value.as_str()) {
            cx.push(
                Diagnostic::error(
                    "invalid-flow-log-field",
                    field.span,
                    format!("`{}` appears twice in the format", field.value),
                )
                .with_help("list each field once"),
            );
        }
    }
}

/// AWS's default record format (version 2 fields), as DescribeFlowLogs reports it.
pub const DEFAULT_FLOW_LOG_FORMAT: &str = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}";

fn is_default_format(format: &str) -> bool {
    format.trim().is_empty() || format == DEFAULT_FLOW_LOG_FORMAT
}
