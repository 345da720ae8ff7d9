//! The typed topology: what users write, with the position of every value.
//!
//! The structs mirror the YAML surface one to one (and give the JSON Schema);
//! `decode_topology` fills them from the node tree.

use std::borrow::Cow;
use std::collections::BTreeMap;

use ipnet::Ipv4Net;
use schemars::JsonSchema;

use crate::decode::{Cx, Fields, FromNode, map_entries};
use crate::diagnostic::{Diagnostic, Span};
use crate::yaml::Node;

/// A value and where it was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct At<T> {
    pub value: T,
    pub span: Span,
}

impl<T> At<T> {
    pub fn new(value: T, span: Span) -> Self {
        At { value, span }
    }
}

impl<T: JsonSchema> JsonSchema for At<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn inline_schema() -> bool {
        T::inline_schema()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

/// A reference to another resource by its logical name.
pub type Ref = At<String>;
pub type Tags = BTreeMap<String, String>;

/// A declared resource: its logical name, its own fields and explicit ordering.
#[derive(Clone, Debug, PartialEq)]
pub struct Named<T> {
    pub name: At<String>,
    pub spec: T,
}

/// CloudWatch Logs retention values AWS accepts.
pub const RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

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

/// A whole topology file.
#[derive(Clone, Debug, Default, PartialEq, JsonSchema)]
#[schemars(
    rename_all = "kebab-case",
    deny_unknown_fields,
    title = "vpcform topology"
)]
pub struct Topology {
    /// Stack name: the value of the `vpcform:stack` ownership tag on everything vpcform creates.
    #[schemars(with = "String")]
    pub stack: At<String>,
    /// AWS region, e.g. `us-east-1`; `--region` and the environment override it.
    pub region: Option<At<String>>,
    #[schemars(with = "BTreeMap<String, Vpc>", default)]
    pub vpcs: Vec<Named<Vpc>>,
    #[schemars(with = "BTreeMap<String, Subnet>", default)]
    pub subnets: Vec<Named<Subnet>>,
    #[schemars(with = "BTreeMap<String, InternetGateway>", default)]
    pub internet_gateways: Vec<Named<InternetGateway>>,
    #[schemars(with = "BTreeMap<String, RouteTable>", default)]
    pub route_tables: Vec<Named<RouteTable>>,
    #[schemars(with = "BTreeMap<String, SecurityGroup>", default)]
    pub security_groups: Vec<Named<SecurityGroup>>,
    #[schemars(with = "BTreeMap<String, Instance>", default)]
    pub instances: Vec<Named<Instance>>,
    #[schemars(with = "BTreeMap<String, LogGroup>", default)]
    pub log_groups: Vec<Named<LogGroup>>,
    #[schemars(with = "BTreeMap<String, IamPolicy>", default)]
    pub iam_policies: Vec<Named<IamPolicy>>,
    #[schemars(with = "BTreeMap<String, IamRole>", default)]
    pub iam_roles: Vec<Named<IamRole>>,
    #[schemars(with = "BTreeMap<String, FlowLog>", default)]
    pub flow_logs: Vec<Named<FlowLog>>,
    #[schemars(with = "BTreeMap<String, Peering>", default)]
    pub peerings: Vec<Named<Peering>>,
    /// Every logical name declared, with its kind, including resources that
    /// failed to decode (so references to them are not reported as undefined).
    #[schemars(skip)]
    pub declared: Vec<(At<String>, crate::address::ResourceKind)>,
}

/// A VPC with one IPv4 CIDR block.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Vpc {
    /// IPv4 CIDR block, e.g. `10.1.0.0/16` (changing it replaces the VPC).
    #[schemars(with = "String")]
    pub cidr: At<Ipv4Net>,
    /// Default true.
    pub enable_dns_support: Option<At<bool>>,
    /// Default false.
    pub enable_dns_hostnames: Option<At<bool>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
}

#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Subnet {
    /// Logical name of the VPC.
    pub vpc: Ref,
    /// IPv4 CIDR block inside the VPC's.
    #[schemars(with = "String")]
    pub cidr: At<Ipv4Net>,
    /// e.g. `us-east-1a`; AWS picks one when omitted.
    pub availability_zone: Option<At<String>>,
    /// Give instances launched here a public IPv4 address. Default false.
    pub map_public_ip_on_launch: Option<At<bool>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
}

/// An internet gateway attached to one VPC.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct InternetGateway {
    pub vpc: Ref,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
}

#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct RouteTable {
    pub vpc: Ref,
    /// Subnets associated with this table.
    #[schemars(default)]
    pub subnets: Vec<Ref>,
    #[schemars(default)]
    pub routes: Vec<Route>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
}

/// A route: a destination and exactly one target.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Route {
    #[schemars(with = "String")]
    pub destination: At<Ipv4Net>,
    /// Logical name of an internet gateway attached to this table's VPC.
    pub internet_gateway: Option<Ref>,
    /// Logical name of a peering that connects this table's VPC.
    pub peering: Option<Ref>,
    #[schemars(skip)]
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct SecurityGroup {
    pub vpc: Ref,
    /// Group name in AWS; defaults to the logical name. Changing it replaces the group.
    pub name: Option<At<String>>,
    /// Defaults to "Managed by vpcform". Changing it replaces the group.
    pub description: Option<At<String>>,
    #[schemars(default)]
    pub ingress: Vec<Rule>,
    /// Omit to leave egress unmanaged (new groups get AWS's allow-all rule); declare it (even `[]`) to manage it.
    pub egress: Option<Vec<Rule>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
}

/// One security-group rule. The peer is `cidr` or `security-group`.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Rule {
    /// `tcp`, `udp`, `icmp`, `all`, or an IP protocol number.
    #[schemars(with = "ProtocolSchema")]
    pub protocol: At<Protocol>,
    /// A single port (tcp/udp).
    pub port: Option<At<i64>>,
    /// First port of a range (tcp/udp).
    pub from_port: Option<At<i64>>,
    /// Last port of a range (tcp/udp).
    pub to_port: Option<At<i64>>,
    /// ICMP type (8 = echo request); omit for all types.
    pub icmp_type: Option<At<i64>>,
    /// ICMP code; omit for all codes.
    pub icmp_code: Option<At<i64>>,
    #[schemars(with = "Option<String>")]
    pub cidr: Option<At<Ipv4Net>>,
    /// Logical name of a security group.
    pub security_group: Option<Ref>,
    pub description: Option<At<String>>,
    #[schemars(skip)]
    pub span: Span,
}

/// IP protocol of a rule, normalised: `icmp` is 1, `all` is -1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    Tcp,
    Udp,
    Icmp,
    All,
    Number(u8),
}

impl Protocol {
    /// The protocol as AWS stores it in `IpProtocol`.
    pub fn aws_name(self) -> String {
        match self {
            Protocol::Tcp => "tcp".into(),
            Protocol::Udp => "udp".into(),
            Protocol::Icmp => "icmp".into(),
            Protocol::All => "-1".into(),
            Protocol::Number(n) => n.to_string(),
        }
    }

    /// Parses `IpProtocol` as AWS returns it (`tcp`, `6`, `icmp`, `-1`, …).
    pub fn from_aws(text: &str) -> Option<Protocol> {
        Some(match text.to_ascii_lowercase().as_str() {
            "tcp" | "6" => Protocol::Tcp,
            "udp" | "17" => Protocol::Udp,
            "icmp" | "1" => Protocol::Icmp,
            "-1" | "all" => Protocol::All,
            other => Protocol::Number(other.parse().ok()?),
        })
    }

    pub fn has_ports(self) -> bool {
        matches!(self, Protocol::Tcp | Protocol::Udp)
    }
}

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ProtocolSchema {
    Name(ProtocolName),
    Number(u8),
}

#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)]
enum ProtocolName {
    Tcp,
    Udp,
    Icmp,
    All,
}

impl FromNode for Protocol {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        use crate::yaml::NodeKind;
        let parsed = match &node.kind {
            NodeKind::Str(s) => match s.to_ascii_lowercase().as_str() {
                "tcp" | "6" => Some(Protocol::Tcp),
                "udp" | "17" => Some(Protocol::Udp),
                "icmp" | "1" => Some(Protocol::Icmp),
                "all" | "-1" => Some(Protocol::All),
                _ => None,
            },
            NodeKind::Int(6) => Some(Protocol::Tcp),
            NodeKind::Int(17) => Some(Protocol::Udp),
            NodeKind::Int(1) => Some(Protocol::Icmp),
            NodeKind::Int(-1) => Some(Protocol::All),
            NodeKind::Int(n) if (0..=255).contains(n) => Some(Protocol::Number(*n as u8)),
            _ => None,
        };
        if parsed.is_none() {
            cx.push(
                Diagnostic::error("invalid-protocol", node.span, "unknown protocol")
                    .with_help("use tcp, udp, icmp, all, or an IP protocol number 0-255"),
            );
        }
        parsed
    }
}

/// An EC2 instance. Exactly one of `ami` and `ami-ssm-parameter`.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Instance {
    /// An AMI id, e.g. `ami-0123456789abcdef0`.
    pub ami: Option<At<String>>,
    /// A public SSM parameter that names the AMI, e.g.
    /// `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`.
    pub ami_ssm_parameter: Option<At<String>>,
    pub instance_type: At<String>,
    pub subnet: Ref,
    #[schemars(default)]
    pub security_groups: Vec<Ref>,
    /// Name of an existing EC2 key pair.
    pub key_name: Option<At<String>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
}

#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LogGroup {
    /// The log group name in CloudWatch Logs.
    pub name: At<String>,
    /// One of AWS's values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    /// 1096, 1827, 2192, 2557, 2922, 3288, 3653. Omit to keep logs forever.
    pub retention_days: Option<At<i64>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
}

/// A customer-managed IAM policy.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IamPolicy {
    pub name: At<String>,
    pub description: Option<At<String>>,
    /// The policy document, written as YAML (`Version`, `Statement`).
    #[schemars(with = "serde_json::Value")]
    pub document: At<serde_json::Value>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
}

/// An IAM role. Exactly one of `trusted-services` and `assume-role-policy`.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IamRole {
    pub name: At<String>,
    pub description: Option<At<String>>,
    /// Service principals allowed to assume the role, e.g. `vpc-flow-logs.amazonaws.com`.
    #[schemars(default)]
    pub trusted_services: Vec<At<String>>,
    /// A full trust policy document, written as YAML.
    #[schemars(with = "Option<serde_json::Value>")]
    pub assume_role_policy: Option<At<serde_json::Value>>,
    /// Logical names of IAM policies to attach.
    #[schemars(default)]
    pub policies: Vec<Ref>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
}

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

/// A VPC peering connection in one account and region; vpcform accepts it itself.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Peering {
    /// Logical name of the requester VPC.
    pub requester: Ref,
    /// Logical name of the accepter VPC.
    pub accepter: Ref,
    /// Add a route to the peer's CIDR through this peering in every route table of both VPCs.
    pub add_routes: Option<At<bool>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
}

// ---------------------------------------------------------------------------
// Decoding

fn named<T>(
    fields: &mut Fields<'_>,
    key: &'static str,
    kind: crate::address::ResourceKind,
    declared: &mut Vec<(At<String>, crate::address::ResourceKind)>,
    cx: &mut Cx,
    decode: impl Fn(&Node, &str, &mut Cx) -> Option<T>,
) -> Vec<Named<T>> {
    let Some(node) = fields.take(key) else {
        return Vec::new();
    };
    let Some(entries) = map_entries(node, cx) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(entries.len());
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        if !seen.insert(name) {
            continue; // reported as a duplicate key
        }
        if !is_valid_name(name) {
            cx.push(
                Diagnostic::error(
                    "invalid-name",
                    key.span,
                    format!("`{name}` is not a valid logical name"),
                )
                .with_help("use letters, digits, `-` and `_`, starting with a letter, at most 64 characters; put display names in `tags: {Name: ...}`"),
            );
            continue;
        }
        declared.push((At::new(name.to_string(), key.span), kind));
        let label = kind.article_name().split_once(' ').map_or("", |(_, l)| l);
        if let Some(spec) = decode(value, &format!("{label} `{name}`"), cx) {
            out.push(Named {
                name: At::new(name.to_string(), key.span),
                spec,
            });
        }
    }
    out
}

pub(crate) fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && name.len() <= 64
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub(crate) fn decode_topology(root: &Node, cx: &mut Cx) -> Option<Topology> {
    let mut f = Fields::new(root, "the topology", cx)?;
    let stack: Option<At<String>> = f.required("stack", cx);
    if let Some(stack) = &stack
        && !is_valid_name(&stack.value)
    {
        cx.push(
            Diagnostic::error(
                "invalid-name",
                stack.span,
                format!("`{}` is not a valid stack name", stack.value),
            )
            .with_help(
                "use letters, digits, `-` and `_`, starting with a letter, at most 64 characters",
            ),
        );
    }
    use crate::address::ResourceKind as K;
    let mut d = Vec::new();
    let topology = Topology {
        stack: stack.unwrap_or_else(|| At::new(String::new(), Span::UNKNOWN)),
        region: f.optional("region", cx),
        vpcs: named(&mut f, "vpcs", K::Vpc, &mut d, cx, decode_vpc),
        subnets: named(&mut f, "subnets", K::Subnet, &mut d, cx, decode_subnet),
        internet_gateways: named(
            &mut f,
            "internet-gateways",
            K::InternetGateway,
            &mut d,
            cx,
            decode_igw,
        ),
        route_tables: named(
            &mut f,
            "route-tables",
            K::RouteTable,
            &mut d,
            cx,
            decode_route_table,
        ),
        security_groups: named(
            &mut f,
            "security-groups",
            K::SecurityGroup,
            &mut d,
            cx,
            decode_sg,
        ),
        instances: named(
            &mut f,
            "instances",
            K::Instance,
            &mut d,
            cx,
            decode_instance,
        ),
        log_groups: named(
            &mut f,
            "log-groups",
            K::LogGroup,
            &mut d,
            cx,
            decode_log_group,
        ),
        iam_policies: named(
            &mut f,
            "iam-policies",
            K::IamPolicy,
            &mut d,
            cx,
            decode_policy,
        ),
        iam_roles: named(&mut f, "iam-roles", K::IamRole, &mut d, cx, decode_role),
        flow_logs: named(&mut f, "flow-logs", K::FlowLog, &mut d, cx, decode_flow_log),
        peerings: named(
            &mut f,
            "peerings",
            K::VpcPeering,
            &mut d,
            cx,
            decode_peering,
        ),
        declared: Vec::new(),
    };
    let topology = Topology {
        declared: d,
        ..topology
    };
    f.finish(cx);
    Some(topology)
}

fn tags_and_deps(f: &mut Fields<'_>, cx: &mut Cx) -> (Option<Tags>, Option<Vec<Ref>>) {
    let tags = f
        .maybe::<Tags>("tags", cx)
        .ok()
        .map(Option::unwrap_or_default);
    let deps = f
        .maybe::<Vec<Ref>>("depends-on", cx)
        .ok()
        .map(Option::unwrap_or_default);
    (tags, deps)
}

/// Reads an optional field; `Err` means it was present but invalid (already reported).
macro_rules! opt {
    ($f:expr, $key:literal, $cx:expr) => {
        $f.maybe($key, $cx)
    };
}

fn decode_vpc(node: &Node, what: &str, cx: &mut Cx) -> Option<Vpc> {
    let mut f = Fields::new(node, what, cx)?;
    let cidr = f.required("cidr", cx);
    let dns_support = opt!(f, "enable-dns-support", cx);
    let dns_hostnames = opt!(f, "enable-dns-hostnames", cx);
    let (tags, deps) = tags_and_deps(&mut f, cx);
    f.finish(cx);
    Some(Vpc {
        cidr: cidr?,
        enable_dns_support: dns_support.ok()?,
        enable_dns_hostnames: dns_hostnames.ok()?,
        tags: tags?,
        depends_on: deps?,
    })
}

fn decode_subnet(node: &Node, what: &str, cx: &mut Cx) -> Option<Subnet> {
    let mut f = Fields::new(node, what, cx)?;
    let vpc = f.required("vpc", cx);
    let cidr = f.required("cidr", cx);
    let az = opt!(f, "availability-zone", cx);
    let public = opt!(f, "map-public-ip-on-launch", cx);
    let (tags, deps) = tags_and_deps(&mut f, cx);
    f.finish(cx);
    Some(Subnet {
        vpc: vpc?,
        cidr: cidr?,
        availability_zone: az.ok()?,
        map_public_ip_on_launch: public.ok()?,
        tags: tags?,
        depends_on: deps?,
    })
}

fn decode_igw(node: &Node, what: &str, cx: &mut Cx) -> Option<InternetGateway> {
    let mut f = Fields::new(node, what, cx)?;
    let vpc = f.required("vpc", cx);
    let (tags, deps) = tags_and_deps(&mut f, cx);
    f.finish(cx);
    Some(InternetGateway {
        vpc: vpc?,
        tags: tags?,
        depends_on: deps?,
    })
}

fn decode_route_table(node: &Node, what: &str, cx: &mut Cx) -> Option<RouteTable> {
    let mut f = Fields::new(node, what, cx)?;
    let vpc = f.required("vpc", cx);
    let subnets = opt!(f, "subnets", cx);
    let routes = f
        .take("routes")
        .map(|n| list_of(n, cx, |n, cx| decode_route(n, what, cx)));
    let (tags, deps) = tags_and_deps(&mut f, cx);
    f.finish(cx);
    Some(RouteTable {
        vpc: vpc?,
        subnets: subnets.ok()?.unwrap_or_default(),
        routes: routes.unwrap_or(Some(Vec::new()))?,
        tags: tags?,
        depends_on: deps?,
    })
}

/// Decodes every item of a list, reporting all failures; `None` if any failed.
fn list_of<T>(
    node: &Node,
    cx: &mut Cx,
    decode: impl Fn(&Node, &mut Cx) -> Option<T>,
) -> Option<Vec<T>> {
    match &node.kind {
        crate::yaml::NodeKind::Seq(items) => {
            let items: Vec<Option<T>> = items.iter().map(|n| decode(n, cx)).collect();
            items.into_iter().collect()
        }
        crate::yaml::NodeKind::Null => Some(Vec::new()),
        _ => {
            cx.push(Diagnostic::error(
                "wrong-type",
                node.span,
                format!("expected a list, found {}", node.type_name()),
            ));
            None
        }
    }
}

fn decode_route(node: &Node, table: &str, cx: &mut Cx) -> Option<Route> {
    let mut f = Fields::new(node, format!("a route of {table}"), cx)?;
    let destination = f.required("destination", cx);
    let igw: Result<Option<Ref>, ()> = opt!(f, "internet-gateway", cx);
    let peering: Result<Option<Ref>, ()> = opt!(f, "peering", cx);
    let span = f.span();
    f.finish(cx);
    let (igw, peering) = (igw.ok()?, peering.ok()?);
    if igw.is_some() == peering.is_some() {
        cx.push(
            Diagnostic::error(
                "route-target",
                span,
                if igw.is_some() {
                    "a route has both `internet-gateway` and `peering`"
                } else {
                    "a route needs a target"
                },
            )
            .with_help("give exactly one of `internet-gateway: <name>` and `peering: <name>`"),
        );
        return None;
    }
    Some(Route {
        destination: destination?,
        internet_gateway: igw,
        peering,
        span,
    })
}

fn decode_sg(node: &Node, what: &str, cx: &mut Cx) -> Option<SecurityGroup> {
    let mut f = Fields::new(node, what, cx)?;
    let vpc = f.required("vpc", cx);
    let name = opt!(f, "name", cx);
    let description = opt!(f, "description", cx);
    let ingress = f
        .take("ingress")
        .map(|n| list_of(n, cx, |n, cx| decode_rule(n, what, "ingress", cx)));
    let egress = f
        .take("egress")
        .map(|n| list_of(n, cx, |n, cx| decode_rule(n, what, "egress", cx)));
    let egress = match (egress, f.has("egress")) {
        (Some(rules), _) => Some(rules?),
        // `egress: []` is an explicit empty list; a bare `egress:` means the same.
        (None, true) => Some(Vec::new()),
        (None, false) => None,
    };
    let (tags, deps) = tags_and_deps(&mut f, cx);
    f.finish(cx);
    Some(SecurityGroup {
        vpc: vpc?,
        name: name.ok()?,
        description: description.ok()?,
        ingress: ingress.unwrap_or(Some(Vec::new()))?,
        egress,
        tags: tags?,
        depends_on: deps?,
    })
}

fn decode_rule(node: &Node, group: &str, direction: &str, cx: &mut Cx) -> Option<Rule> {
    let mut f = Fields::new(node, format!("an {direction} rule of {group}"), cx)?;
    let protocol = f.required("protocol", cx);
    let port = opt!(f, "port", cx);
    let from_port = opt!(f, "from-port", cx);
    let to_port = opt!(f, "to-port", cx);
    let icmp_type = opt!(f, "icmp-type", cx);
    let icmp_code = opt!(f, "icmp-code", cx);
    let cidr = opt!(f, "cidr", cx);
    let security_group = opt!(f, "security-group", cx);
    let description = opt!(f, "description", cx);
    let span = f.span();
    f.finish(cx);
    Some(Rule {
        protocol: protocol?,
        port: port.ok()?,
        from_port: from_port.ok()?,
        to_port: to_port.ok()?,
        icmp_type: icmp_type.ok()?,
        icmp_code: icmp_code.ok()?,
        cidr: cidr.ok()?,
        security_group: security_group.ok()?,
        description: description.ok()?,
        span,
    })
}

fn decode_instance(node: &Node, what: &str, cx: &mut Cx) -> Option<Instance> {
    let mut f = Fields::new(node, what, cx)?;
    let ami = opt!(f, "ami", cx);
    let ami_ssm = opt!(f, "ami-ssm-parameter", cx);
    let instance_type = f.required("instance-type", cx);
    let subnet = f.required("subnet", cx);
    let sgs = opt!(f, "security-groups", cx);
    let key_name = opt!(f, "key-name", cx);
    let (tags, deps) = tags_and_deps(&mut f, cx);
    let span = f.span();
    f.finish(cx);
    let (ami, ami_ssm): (Option<At<String>>, Option<At<String>>) = (ami.ok()?, ami_ssm.ok()?);
    if ami.is_some() == ami_ssm.is_some() {
        cx.push(
            Diagnostic::error("instance-ami", span, format!("{what} needs exactly one of `ami` and `ami-ssm-parameter`"))
                .with_help("e.g. `ami-ssm-parameter: /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64`"),
        );
        return None;
    }
    Some(Instance {
        ami,
        ami_ssm_parameter: ami_ssm,
        instance_type: instance_type?,
        subnet: subnet?,
        security_groups: sgs.ok()?.unwrap_or_default(),
        key_name: key_name.ok()?,
        tags: tags?,
        depends_on: deps?,
    })
}

fn decode_log_group(node: &Node, what: &str, cx: &mut Cx) -> Option<LogGroup> {
    let mut f = Fields::new(node, what, cx)?;
    let name = f.required("name", cx);
    let retention = opt!(f, "retention-days", cx);
    let (tags, deps) = tags_and_deps(&mut f, cx);
    f.finish(cx);
    Some(LogGroup {
        name: name?,
        retention_days: retention.ok()?,
        tags: tags?,
        depends_on: deps?,
    })
}

fn decode_policy(node: &Node, what: &str, cx: &mut Cx) -> Option<IamPolicy> {
    let mut f = Fields::new(node, what, cx)?;
    let name = f.required("name", cx);
    let description = opt!(f, "description", cx);
    let document = f.required("document", cx);
    let (tags, deps) = tags_and_deps(&mut f, cx);
    f.finish(cx);
    Some(IamPolicy {
        name: name?,
        description: description.ok()?,
        document: document?,
        tags: tags?,
        depends_on: deps?,
    })
}

fn decode_role(node: &Node, what: &str, cx: &mut Cx) -> Option<IamRole> {
    let mut f = Fields::new(node, what, cx)?;
    let name = f.required("name", cx);
    let description = opt!(f, "description", cx);
    let services = f.take("trusted-services").map(|n| match &n.kind {
        // A single service may be written without a list.
        crate::yaml::NodeKind::Str(_) => At::<String>::from_node(n, cx).map(|s| vec![s]),
        _ => Vec::<At<String>>::from_node(n, cx),
    });
    let document = opt!(f, "assume-role-policy", cx);
    let policies = opt!(f, "policies", cx);
    let (tags, deps) = tags_and_deps(&mut f, cx);
    let span = f.span();
    f.finish(cx);
    let services = services.unwrap_or(Some(Vec::new()))?;
    let document: Option<At<serde_json::Value>> = document.ok()?;
    if services.is_empty() == document.is_none() {
        cx.push(
            Diagnostic::error(
                "role-trust",
                span,
                format!("{what} needs exactly one of `trusted-services` and `assume-role-policy`"),
            )
            .with_help("e.g. `trusted-services: [vpc-flow-logs.amazonaws.com]`"),
        );
        return None;
    }
    Some(IamRole {
        name: name?,
        description: description.ok()?,
        trusted_services: services,
        assume_role_policy: document,
        policies: policies.ok()?.unwrap_or_default(),
        tags: tags?,
        depends_on: deps?,
    })
}

fn decode_flow_log(node: &Node, what: &str, cx: &mut Cx) -> Option<FlowLog> {
    let mut f = Fields::new(node, what, cx)?;
    let vpc = opt!(f, "vpc", cx);
    let subnet = opt!(f, "subnet", cx);
    let log_group = f.required("log-group", cx);
    let role = f.required("role", cx);
    let traffic_type = opt!(f, "traffic-type", cx);
    let interval = opt!(f, "max-aggregation-interval", cx);
    let format = opt!(f, "format", cx);
    let (tags, deps) = tags_and_deps(&mut f, cx);
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
    })
}

fn decode_peering(node: &Node, what: &str, cx: &mut Cx) -> Option<Peering> {
    let mut f = Fields::new(node, what, cx)?;
    let requester = f.required("requester", cx);
    let accepter = f.required("accepter", cx);
    let add_routes = opt!(f, "add-routes", cx);
    let (tags, deps) = tags_and_deps(&mut f, cx);
    f.finish(cx);
    Some(Peering {
        requester: requester?,
        accepter: accepter?,
        add_routes: add_routes.ok()?,
        tags: tags?,
        depends_on: deps?,
    })
}
