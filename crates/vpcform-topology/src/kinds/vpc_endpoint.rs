//! VPC endpoints. A **gateway** endpoint (S3, DynamoDB) adds a route to the
//! service's AWS-managed prefix list in each route table it names; the
//! endpoint owns that set of tables (route tables never declare those
//! routes), so the set has one owner. An **interface** endpoint puts a
//! network interface in each subnet it names (one per AZ), guarded by its
//! security groups. Both take a policy document. Changing the VPC, the
//! service or the type replaces the endpoint; the rest changes in place.

use std::collections::HashMap;

use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::{TAGS, VPC_ID};
use crate::decode::{Cx, Fields, FromNode, common_fields};
use crate::diagnostic::{Diagnostic, Span};
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::{Topology, TopologyIndex};
use crate::validate::NameIndex;
use crate::yaml::Node;

/// The service, short (`s3`, `ssm`) for AWS's services in the stack's
/// region, else the full name (`com.amazonaws.vpce.REGION.vpce-svc-…`).
pub const SERVICE: Attr = Attr::new("service");
pub const ENDPOINT_TYPE: Attr = Attr::new("endpoint_type");
pub const ROUTE_TABLE_IDS: Attr = Attr::new("route_table_ids");
pub const SUBNET_IDS: Attr = Attr::new("subnet_ids");
pub const SECURITY_GROUP_IDS: Attr = Attr::new("security_group_ids");
pub const PRIVATE_DNS_ENABLED: Attr = Attr::new("private_dns_enabled");
pub const POLICY_DOCUMENT: Attr = Attr::new("policy_document");
/// Read only: the endpoint's network interfaces (`eni-…`) and their addresses.
pub const NETWORK_INTERFACES: Attr = Attr::new("network_interfaces");

/// The services AWS offers gateway endpoints for.
pub const GATEWAY_SERVICES: &[&str] = &["s3", "dynamodb"];

/// AWS's services in `region` are named `com.amazonaws.REGION.SERVICE`.
pub fn service_name(service: &str, region: &str) -> String {
    if service.contains('.') {
        service.to_string()
    } else {
        format!("com.amazonaws.{region}.{service}")
    }
}

/// The short name of an AWS service in `region`; other names as they are.
pub fn short_service(full: &str, region: &str) -> String {
    full.strip_prefix(&format!("com.amazonaws.{region}."))
        .filter(|s| !s.contains('.'))
        .unwrap_or(full)
        .to_string()
}

/// How an endpoint reaches its service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndpointType {
    /// A prefix-list route in route tables (S3, DynamoDB).
    Gateway,
    /// Network interfaces in subnets (PrivateLink).
    Interface,
}

impl EndpointType {
    /// AWS's `VpcEndpointType`.
    pub fn as_aws(self) -> &'static str {
        match self {
            EndpointType::Gateway => "Gateway",
            EndpointType::Interface => "Interface",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            EndpointType::Gateway => "gateway",
            EndpointType::Interface => "interface",
        }
    }
}

impl FromNode for EndpointType {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::from_node(node, cx)?;
        match text.to_ascii_lowercase().as_str() {
            "gateway" => Some(EndpointType::Gateway),
            "interface" => Some(EndpointType::Interface),
            _ => {
                cx.push(
                    Diagnostic::error(
                        "invalid-value",
                        node.span,
                        format!("unknown endpoint type `{text}`"),
                    )
                    .with_help("use `gateway` (S3, DynamoDB) or `interface`"),
                );
                None
            }
        }
    }
}

/// A VPC endpoint.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct VpcEndpoint {
    pub vpc: Ref,
    /// `s3`, `dynamodb`, `ssm`, `ecr.api`, … (an AWS service in the stack's
    /// region), or a full service name. Changing it replaces the endpoint.
    #[schemars(with = "String")]
    pub service: At<String>,
    /// `gateway` (default for `s3` and `dynamodb`) or `interface` (default otherwise).
    #[schemars(with = "Option<EndpointType>")]
    pub r#type: Option<At<EndpointType>>,
    /// Gateway: the route tables that route the service through it (this
    /// endpoint owns that set).
    #[schemars(default)]
    pub route_tables: Vec<Ref>,
    /// Interface: one subnet per availability zone.
    #[schemars(default)]
    pub subnets: Vec<Ref>,
    /// Interface: the groups on its network interfaces (default: the VPC's default group).
    #[schemars(default)]
    pub security_groups: Vec<Ref>,
    /// Interface: resolve the service's public name to the endpoint. Default true.
    pub private_dns: Option<At<bool>>,
    /// The endpoint policy, written as YAML; omit to leave it as it is (AWS's default: full access).
    #[schemars(with = "Option<serde_json::Value>")]
    pub policy: Option<At<Value>>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The id of an existing endpoint this declaration adopts (`vpce-…`).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl VpcEndpoint {
    pub fn endpoint_type(&self) -> EndpointType {
        match &self.r#type {
            Some(t) => t.value,
            None if GATEWAY_SERVICES.contains(&self.service.value.as_str()) => {
                EndpointType::Gateway
            }
            None => EndpointType::Interface,
        }
    }

    pub fn private_dns(&self) -> bool {
        self.private_dns.as_ref().is_none_or(|p| p.value)
    }
}

fn ids_of(kind: ResourceKind, refs: &[Ref]) -> Desired {
    Desired::RefList(refs.iter().map(|r| Address::new(kind, &r.value)).collect())
}

impl Kind for VpcEndpoint {
    const KIND: ResourceKind = ResourceKind::VpcEndpoint;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(VPC_ID, Compare::Id),
        AttrSpec::replace(SERVICE, Compare::Exact),
        AttrSpec::replace(ENDPOINT_TYPE, Compare::Exact),
        AttrSpec::update(ROUTE_TABLE_IDS, Compare::StringSet),
        AttrSpec::update(SUBNET_IDS, Compare::StringSet),
        AttrSpec::update(SECURITY_GROUP_IDS, Compare::StringSet),
        AttrSpec::update(PRIVATE_DNS_ENABLED, Compare::Exact),
        AttrSpec::update(POLICY_DOCUMENT, Compare::Policy),
        crate::attr::TAGS_SPEC,
    ];

    /// The new endpoint's routes to the service list would clash with the
    /// old one's in the same tables: the old one goes first.
    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let e = cx.index.vpc_endpoints.get(a.name.as_str())?;
        let kind = e.endpoint_type();
        let mut d = DesiredAttrs::from([
            (VPC_ID, Desired::id_of(ResourceKind::Vpc, &e.vpc.value)),
            (SERVICE, Desired::known(e.service.value.clone())),
            (ENDPOINT_TYPE, Desired::known(kind.as_str())),
            (TAGS, cx.tags(a, &e.tags)),
        ]);
        match kind {
            EndpointType::Gateway => {
                d.insert(
                    ROUTE_TABLE_IDS,
                    ids_of(ResourceKind::RouteTable, &e.route_tables),
                );
            }
            EndpointType::Interface => {
                d.insert(SUBNET_IDS, ids_of(ResourceKind::Subnet, &e.subnets));
                if !e.security_groups.is_empty() {
                    d.insert(
                        SECURITY_GROUP_IDS,
                        ids_of(ResourceKind::SecurityGroup, &e.security_groups),
                    );
                }
                d.insert(PRIVATE_DNS_ENABLED, Desired::known(e.private_dns()));
            }
        }
        if let Some(p) = &e.policy {
            d.insert(POLICY_DOCUMENT, Desired::Known(p.value.clone()));
        }
        Some(d)
    }
}

impl Declared for VpcEndpoint {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let vpc = f.required("vpc", cx);
        let service = f.required("service", cx);
        let kind = f.maybe("type", cx);
        let tables = f.maybe("route-tables", cx);
        let subnets = f.maybe("subnets", cx);
        let groups = f.maybe("security-groups", cx);
        let private_dns = f.maybe("private-dns", cx);
        let policy = f.maybe("policy", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(VpcEndpoint {
            vpc: vpc?,
            service: service?,
            r#type: kind.ok()?,
            route_tables: tables.ok()?.unwrap_or_default(),
            subnets: subnets.ok()?.unwrap_or_default(),
            security_groups: groups.ok()?.unwrap_or_default(),
            private_dns: private_dns.ok()?,
            policy: policy.ok()?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let ti = TopologyIndex::new(t);
        let mut service_in_table: HashMap<(&str, &str), Span> = HashMap::new();
        for endpoint in items {
            let e = &endpoint.spec;
            if !index.check(&e.vpc, ResourceKind::Vpc, "vpc", cx) {
                continue;
            }
            let vpc = e.vpc.value.as_str();
            check_fields_of_type(endpoint, cx);
            for table in &e.route_tables {
                if !in_vpc(index, &ti, table, Member::RouteTable, vpc, cx) {
                    continue;
                }
                let key = (table.value.as_str(), e.service.value.as_str());
                if let Some(first) = service_in_table.insert(key, table.span) {
                    cx.push(
                        Diagnostic::error(
                            "duplicate-endpoint-route",
                            table.span,
                            format!(
                                "route table `{}` already routes `{}` through another gateway endpoint",
                                table.value, e.service.value
                            ),
                        )
                        .with_related(first, "the first endpoint names it here")
                        .with_help("a table routes a service's prefix list through one endpoint only"),
                    );
                }
            }
            check_subnets(endpoint, index, &ti, cx);
            for g in &e.security_groups {
                in_vpc(index, &ti, g, Member::SecurityGroup, vpc, cx);
            }
            check_private_dns(endpoint, &ti, cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        use ResourceKind as K;
        for e in items {
            let a = b.node(Address::new(K::VpcEndpoint, &e.name.value), e.name.span);
            b.edge(a, Address::new(K::Vpc, &e.spec.vpc.value));
            let refs = [
                (K::RouteTable, &e.spec.route_tables),
                (K::Subnet, &e.spec.subnets),
                (K::SecurityGroup, &e.spec.security_groups),
            ];
            for (kind, names) in refs {
                for r in names {
                    b.edge(a, Address::new(kind, &r.value));
                }
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Prefix("vpce-");

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = None;

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        if !cx.reference(o, VPC_ID, ResourceKind::Vpc, "vpc", &mut m) {
            return None;
        }
        let service = o.str(SERVICE)?;
        m.set("service", service);
        let gateway = o.str(ENDPOINT_TYPE) == Some(EndpointType::Gateway.as_str());
        let default_gateway = GATEWAY_SERVICES.contains(&service);
        if gateway != default_gateway {
            let kind = if gateway {
                EndpointType::Gateway
            } else {
                EndpointType::Interface
            };
            m.set("type", kind.as_str());
        }
        let names = |attr: Attr, kind: ResourceKind, cx: &mut ExportCx| -> Vec<Yaml> {
            referenced_names(o, attr, kind, cx)
        };
        if gateway {
            m.list(
                "route-tables",
                names(ROUTE_TABLE_IDS, ResourceKind::RouteTable, cx),
            );
        } else {
            m.list("subnets", names(SUBNET_IDS, ResourceKind::Subnet, cx));
            m.list(
                "security-groups",
                names(SECURITY_GROUP_IDS, ResourceKind::SecurityGroup, cx),
            );
            if o.get(PRIVATE_DNS_ENABLED) == Some(&Value::Bool(false)) {
                m.set("private-dns", false);
            }
        }
        if let Some(policy) = o.get(POLICY_DOCUMENT).filter(|p| !p.is_null()) {
            let document = crate::decode_policy_document(policy);
            if !is_full_access(&document) {
                m.set("policy", Yaml::from(&document));
            }
        }
        Some(m)
    }
}

/// AWS's default endpoint policy: everything, for everyone.
pub fn is_full_access(document: &Value) -> bool {
    let statements = crate::statements(document);
    !statements.is_empty()
        && statements.iter().all(|s| {
            s.get("Effect").and_then(Value::as_str) == Some("Allow")
                && crate::string_or_list(s.get("Action")).contains(&"*")
                && crate::string_or_list(s.get("Resource")).contains(&"*")
                && s.get("Condition").is_none()
                && matches!(
                    s.get("Principal"),
                    Some(Value::String(p)) if p == "*"
                )
        })
}

/// The declared names of the objects whose ids `attr` lists, sorted; ids
/// not written are left out of the declaration (and said so).
fn referenced_names(o: &Observed, attr: Attr, kind: ResourceKind, cx: &mut ExportCx) -> Vec<Yaml> {
    let ids: Vec<String> = o
        .get(attr)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let mut names = Vec::new();
    for id in ids {
        match cx.name_of(kind, &id) {
            Some(name) => names.push(name.to_string()),
            None => cx.leave_out(
                &o.id,
                format!("its {} {id}", kind.as_str()),
                format!("{id} is not declared (outside the imported VPCs, or AWS's own); it stays as it is, and the next apply would remove it unless declared"),
            ),
        }
    }
    names.sort_unstable();
    names.into_iter().map(Yaml::from).collect()
}

/// Route tables for gateways only; subnets, groups and private DNS for interfaces only.
fn check_fields_of_type(endpoint: &Named<VpcEndpoint>, cx: &mut Cx) {
    let e = &endpoint.spec;
    let name = &endpoint.name.value;
    let service = e.service.value.as_str();
    let wrong = |field: &str, span: Span, kind: EndpointType| {
        Diagnostic::error(
            "endpoint-field",
            span,
            format!(
                "`{field}` does not apply to {} endpoint `{name}`",
                kind.as_str()
            ),
        )
    };
    match e.endpoint_type() {
        EndpointType::Gateway => {
            if !GATEWAY_SERVICES.contains(&service) {
                let span = e.r#type.as_ref().map_or(e.service.span, |t| t.span);
                cx.push(
                    Diagnostic::error(
                        "endpoint-type",
                        span,
                        format!(
                            "AWS offers gateway endpoints for S3 and DynamoDB only, not `{service}`"
                        ),
                    )
                    .with_help("use `type: interface`"),
                );
            }
            for (field, refs) in [
                ("subnets", &e.subnets),
                ("security-groups", &e.security_groups),
            ] {
                if let Some(first) = refs.first() {
                    cx.push(
                        wrong(field, first.span, EndpointType::Gateway)
                            .with_help("a gateway endpoint is reached through `route-tables`"),
                    );
                }
            }
            if let Some(p) = &e.private_dns {
                cx.push(wrong("private-dns", p.span, EndpointType::Gateway));
            }
        }
        EndpointType::Interface => {
            if let Some(first) = e.route_tables.first() {
                cx.push(
                    wrong("route-tables", first.span, EndpointType::Interface)
                        .with_help("an interface endpoint is reached through its `subnets`"),
                );
            }
            if e.subnets.is_empty() {
                cx.push(
                    Diagnostic::error(
                        "endpoint-subnets",
                        endpoint.name.span,
                        format!("interface endpoint `{name}` needs at least one subnet"),
                    )
                    .with_help("add `subnets:`, one per availability zone"),
                );
            }
        }
    }
}

/// What an endpoint names besides its VPC.
#[derive(Clone, Copy)]
enum Member {
    RouteTable,
    Subnet,
    SecurityGroup,
}

impl Member {
    fn kind(self) -> ResourceKind {
        match self {
            Member::RouteTable => ResourceKind::RouteTable,
            Member::Subnet => ResourceKind::Subnet,
            Member::SecurityGroup => ResourceKind::SecurityGroup,
        }
    }

    fn field(self) -> &'static str {
        match self {
            Member::RouteTable => "route-tables",
            Member::Subnet => "subnets",
            Member::SecurityGroup => "security-groups",
        }
    }

    /// The VPC the named object is declared in.
    fn vpc_of<'t>(self, t: &TopologyIndex<'t>, name: &str) -> Option<&'t Ref> {
        match self {
            Member::RouteTable => t.route_tables.get(name).map(|x| &x.vpc),
            Member::Subnet => t.subnets.get(name).map(|x| &x.vpc),
            Member::SecurityGroup => t.security_groups.get(name).map(|x| &x.vpc),
        }
    }
}

/// `r` names an object of the member's kind in `vpc`.
fn in_vpc(
    index: &NameIndex<'_>,
    t: &TopologyIndex<'_>,
    r: &Ref,
    member: Member,
    vpc: &str,
    cx: &mut Cx,
) -> bool {
    if !index.check(r, member.kind(), member.field(), cx) {
        return false;
    }
    match member.vpc_of(t, &r.value) {
        Some(v) if v.value != vpc => {
            cx.push(
                Diagnostic::error(
                    "endpoint-other-vpc",
                    r.span,
                    format!(
                        "`{}` is in VPC `{}`, not in the endpoint's VPC `{vpc}`",
                        r.value, v.value
                    ),
                )
                .with_help("an endpoint serves its own VPC only"),
            );
            false
        }
        Some(_) | None => true,
    }
}

/// Subnets in the endpoint's VPC, at most one per availability zone.
fn check_subnets(
    endpoint: &Named<VpcEndpoint>,
    index: &NameIndex<'_>,
    t: &TopologyIndex<'_>,
    cx: &mut Cx,
) {
    let e = &endpoint.spec;
    let mut zones: HashMap<&str, &Ref> = HashMap::new();
    for s in &e.subnets {
        if !in_vpc(index, t, s, Member::Subnet, &e.vpc.value, cx) {
            continue;
        }
        let Some(az) = t
            .subnets
            .get(s.value.as_str())
            .and_then(|x| x.availability_zone.as_ref())
        else {
            continue;
        };
        if let Some(first) = zones.insert(az.value.as_str(), s) {
            cx.push(
                Diagnostic::error(
                    "endpoint-subnet-zone",
                    s.span,
                    format!(
                        "`{}` and `{}` are both in {}: an interface endpoint takes one subnet per availability zone",
                        first.value, s.value, az.value
                    ),
                )
                .with_related(first.span, "the first subnet in that zone"),
            );
        }
    }
}

/// AWS refuses private DNS unless the VPC resolves and names hosts.
fn check_private_dns(endpoint: &Named<VpcEndpoint>, t: &TopologyIndex<'_>, cx: &mut Cx) {
    let e = &endpoint.spec;
    if e.endpoint_type() != EndpointType::Interface || !e.private_dns() {
        return;
    }
    let Some(vpc) = t.vpcs.get(e.vpc.value.as_str()) else {
        return;
    };
    let support = vpc.enable_dns_support.as_ref().is_none_or(|x| x.value);
    let hostnames = vpc.enable_dns_hostnames.as_ref().is_some_and(|x| x.value);
    if !(support && hostnames) {
        let span = e
            .private_dns
            .as_ref()
            .map_or(endpoint.name.span, |p| p.span);
        cx.push(
            Diagnostic::error(
                "endpoint-private-dns",
                span,
                format!(
                    "private DNS for endpoint `{}` needs `enable-dns-support` and `enable-dns-hostnames` on VPC `{}`",
                    endpoint.name.value, e.vpc.value
                ),
            )
            .with_help(format!("set `enable-dns-hostnames: true` on VPC `{}`, or `private-dns: false`", e.vpc.value)),
        );
    }
}
