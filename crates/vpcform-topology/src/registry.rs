//! The registry: the one list of resource kinds. Everything that must know
//! every kind is generated from it: [`ResourceKind`], the topology's
//! sections, the dispatch to each kind's rules here, and (through
//! [`with_registry!`](crate::with_registry)) the AWS readers and apply dispatch in vpcform-aws.
//!
//! A line reads `Kind => module::Type, "address-name", "article name", place;`
//! where `module` names the kind's module in `vpcform-topology/src/kinds/` and
//! in `vpcform-aws/src/kinds/` alike, and `place` is `section(field = "yaml-key")`
//! for a kind declared in its own section, or `part_of(Container)` for an
//! implicit kind its container declares (routes, rules, attachments).
//! A kind a route may point at adds `route_target(Variant = "yaml-key")`:
//! that makes it a [`TargetKind`] (the route's key in YAML, its id prefix,
//! its validation and graph edge through [`Routable`](crate::kind::Routable)).
//! Order matters: it is `ResourceKind`'s order, hence the order of plans.

use std::collections::{BTreeMap, HashMap};

use schemars::JsonSchema;

use crate::address::{ResourceKind, TargetKind};
use crate::decode::{Cx, Fields};
use crate::diagnostic::{Diagnostic, Span};
use crate::graph::Builder;
use crate::kind::{Attr, AttrSpec, Declared, DesiredAttrs, DesiredCx, Kind, ReplaceOrder};
use crate::kinds;
use crate::model::is_valid_name;
use crate::model::{At, Named, Ref};
use crate::validate::NameIndex;
use crate::yaml::Node;

/// Calls `$callback!` with the registry's lines (see the module documentation).
#[macro_export]
macro_rules! with_registry {
    ($callback:ident) => {
        $callback! {
            DhcpOptions => dhcp_options::DhcpOptions, "dhcp-options", "a DHCP options set", section(dhcp_options = "dhcp-options");
            Vpc => vpc::Vpc, "vpc", "a VPC", section(vpcs = "vpcs");
            Subnet => subnet::Subnet, "subnet", "a subnet", section(subnets = "subnets");
            InternetGateway => internet_gateway::InternetGateway, "internet-gateway", "an internet gateway", section(internet_gateways = "internet-gateways"), route_target(InternetGateway = "internet-gateway");
            InternetGatewayAttachment => internet_gateway::Attachment, "internet-gateway-attachment", "an internet gateway attachment", part_of(InternetGateway);
            EgressOnlyGateway => egress_only_gateway::EgressOnlyGateway, "egress-only-gateway", "an egress-only internet gateway", section(egress_only_gateways = "egress-only-gateways"), route_target(EgressOnlyGateway = "egress-only-gateway");
            ElasticIp => nat_gateway::ElasticIp, "elastic-ip", "an Elastic IP", section(elastic_ips = "elastic-ips");
            NatGateway => nat_gateway::NatGateway, "nat-gateway", "a NAT gateway", section(nat_gateways = "nat-gateways"), route_target(NatGateway = "nat-gateway");
            RouteTable => route_table::RouteTable, "route-table", "a route table", section(route_tables = "route-tables");
            RouteTableAssociation => route_table::Association, "route-table-association", "a route table association", part_of(RouteTable [keyed]);
            Route => route_table::RouteKind, "route", "a route", part_of(RouteTable [keyed]);
            PrefixList => prefix_list::PrefixList, "prefix-list", "a prefix list", section(prefix_lists = "prefix-lists");
            SecurityGroup => security_group::SecurityGroup, "security-group", "a security group", section(security_groups = "security-groups");
            SecurityGroupRule => security_group::RuleKind, "security-group-rule", "a security group rule", part_of(SecurityGroup [keyed]);
            VpcEndpoint => vpc_endpoint::VpcEndpoint, "vpc-endpoint", "a VPC endpoint", section(vpc_endpoints = "vpc-endpoints");
            Instance => instance::Instance, "instance", "an instance", section(instances = "instances");
            LogGroup => log_group::LogGroup, "log-group", "a log group", section(log_groups = "log-groups");
            IamPolicy => iam::IamPolicy, "iam-policy", "an IAM policy", section(iam_policies = "iam-policies");
            IamRole => iam::IamRole, "iam-role", "an IAM role", section(iam_roles = "iam-roles");
            IamRolePolicyAttachment => iam::PolicyAttachment, "iam-role-policy-attachment", "an IAM role policy attachment", part_of(IamRole [keyed]);
            FlowLog => flow_log::FlowLog, "flow-log", "a flow log", section(flow_logs = "flow-logs");
            VpcPeering => peering::Peering, "vpc-peering", "a VPC peering", section(peerings = "peerings"), route_target(Peering = "peering");
            TransitGateway => transit_gateway::TransitGateway, "transit-gateway", "a transit gateway", section(transit_gateways = "transit-gateways"), route_target(TransitGateway = "transit-gateway");
            TransitGatewayAttachment => transit_gateway::VpcAttachment, "transit-gateway-attachment", "a transit gateway VPC attachment", section(transit_gateway_attachments = "transit-gateway-attachments");
            TransitGatewayRouteTable => transit_gateway_route_table::TgwRouteTable, "transit-gateway-route-table", "a transit gateway route table", section(transit_gateway_route_tables = "transit-gateway-route-tables");
            TransitGatewayAssociation => transit_gateway::Association, "transit-gateway-association", "a transit gateway association", part_of(TransitGatewayAttachment);
            TransitGatewayPropagation => transit_gateway_route_table::Propagation, "transit-gateway-propagation", "a transit gateway propagation", part_of(TransitGatewayRouteTable [keyed]);
            TransitGatewayRoute => transit_gateway_route_table::RouteKind, "transit-gateway-route", "a transit gateway route", part_of(TransitGatewayRouteTable [keyed]);
            NetworkAcl => network_acl::NetworkAcl, "network-acl", "a network ACL", section(network_acls = "network-acls");
            NetworkAclEntry => network_acl::EntryKind, "network-acl-entry", "a network ACL entry", part_of(NetworkAcl [keyed]);
            NetworkAclAssociation => network_acl::AssociationKind, "network-acl-association", "a network ACL association", part_of(NetworkAcl [keyed]);
            SnsTopic => sns::SnsTopic, "sns-topic", "an SNS topic", section(sns_topics = "sns-topics");
            SnsSubscription => sns::SubscriptionKind, "sns-subscription", "an SNS subscription", part_of(SnsTopic [keyed]);
            MetricFilter => metric_filter::MetricFilter, "metric-filter", "a metric filter", section(metric_filters = "metric-filters");
            Alarm => alarm::Alarm, "alarm", "a metric alarm", section(alarms = "alarms");
            ContributorInsightsRule => contributor_rule::ContributorRule, "contributor-insights-rule", "a Contributor Insights rule", section(contributor_insights_rules = "contributor-insights-rules");
            Dashboard => dashboard::Dashboard, "dashboard", "a dashboard", section(dashboards = "dashboards");
            QueryDefinition => query_definition::QueryDefinition, "query-definition", "a Logs Insights query definition", section(query_definitions = "query-definitions");
        }
    };
}

/// A declared kind's `vpcform import` writer; implicit kinds have none.
macro_rules! export_of {
    ($ty:ty, $field:ident) => {
        Some(<$ty as Declared>::export as crate::export::cx::ExportFn)
    };
    ($ty:ty) => {
        None
    };
}

/// Whether a declared kind can be adopted; implicit kinds never are.
macro_rules! adoptable_of {
    ($ty:ty, $field:ident) => {
        !matches!(
            <$ty as Declared>::IMPORT_ID,
            crate::kind::IdShape::NotAdoptable
        )
    };
    ($ty:ty) => {
        false
    };
}

/// A declared kind's AWS name attribute; implicit kinds have none.
macro_rules! aws_name_of {
    ($ty:ty, $field:ident) => {
        <$ty as Declared>::AWS_NAME
    };
    ($ty:ty) => {
        None
    };
}

macro_rules! define_kinds {
    ($(
        $kind:ident => $module:ident :: $ty:ident, $name:literal, $article:literal,
        $( section($field:ident = $key:literal) )? $( part_of($container:ident $([$keyed:ident])?) )?
        $( , route_target($target:ident = $target_key:literal) )? ;
    )*) => {
        impl TargetKind {
            /// The prefix of this kind's AWS ids (`nat-`).
            pub fn id_prefix(self) -> &'static str {
                match self {
                    $( $( TargetKind::$target => <kinds::$module::$ty as crate::kind::Routable>::ID_PREFIX, )? )*
                }
            }

            /// What a route through `name` waits for (an internet gateway's attachment).
            pub(crate) fn route_dependency(self, name: &str, vpc: &str, t: &Topology) -> crate::Address {
                match self {
                    $( $( TargetKind::$target => <kinds::$module::$ty as crate::kind::Routable>::route_dependency(name, vpc, t), )? )*
                }
            }

            /// This kind's rules for a route through it.
            pub(crate) fn check_route(
                self,
                route: &crate::route::EffectiveRoute,
                vpc: &str,
                t: &TopologyIndex<'_>,
                cx: &mut Cx,
            ) {
                match self {
                    $( $( TargetKind::$target => <kinds::$module::$ty as crate::kind::Routable>::check_route(route, vpc, t, cx), )? )*
                }
            }
        }

        impl ResourceKind {
            /// The kind's attribute table.
            pub fn attr_specs(self) -> &'static [AttrSpec] {
                match self {
                    $( ResourceKind::$kind => <kinds::$module::$ty as Kind>::ATTRS, )*
                }
            }

            /// Whether `import-id` can adopt an existing object of this kind
            /// (declared kinds that carry their owner in tags).
            pub fn adoptable(self) -> bool {
                match self {
                    $( ResourceKind::$kind => adoptable_of!(kinds::$module::$ty $(, $field)?), )*
                }
            }

            /// Whether AWS knows this kind's objects by name (see [`Kind::NAME_IS_IDENTITY`]).
            pub fn name_is_identity(self) -> bool {
                match self {
                    $( ResourceKind::$kind => <kinds::$module::$ty as Kind>::NAME_IS_IDENTITY, )*
                }
            }

            /// Whether a temporary copy holds this kind's users while it is replaced delete-first.
            pub fn stand_in(self) -> bool {
                match self {
                    $( ResourceKind::$kind => <kinds::$module::$ty as Kind>::STAND_IN, )*
                }
            }

            /// Which comes first when a change to `reasons` replaces an object of this kind.
            pub fn replace_order(self, reasons: &[Attr]) -> ReplaceOrder {
                match self {
                    $( ResourceKind::$kind => <kinds::$module::$ty as Kind>::replace_order(reasons), )*
                }
            }
        }

        /// A whole topology file.
        #[derive(Clone, Debug, Default, PartialEq, JsonSchema)]
        #[schemars(rename_all = "kebab-case", deny_unknown_fields, title = "vpcform topology")]
        pub struct Topology {
            /// Stack name: the value of the `vpcform:stack` ownership tag on everything vpcform creates.
            #[schemars(with = "String")]
            pub stack: At<String>,
            /// AWS region, e.g. `us-east-1`; `--region` and the environment override it.
            pub region: Option<At<String>>,
            $( $(
                #[schemars(default)]
                pub $field: Section<kinds::$module::$ty>,
            )? )*
            /// Connectivity the topology promises (`validate` and `plan` check it).
            #[schemars(default)]
            pub expect: Vec<crate::expect::Expectation>,
            /// Named Logs Insights queries (`vpcform query NAME`).
            #[schemars(default)]
            pub queries: Section<crate::queries::SavedQuery>,
            /// Policy-check findings accepted knowingly (`validate` and `plan` report the rest).
            #[schemars(default)]
            pub waivers: Vec<crate::waiver::Waiver>,
            /// What to watch: expands into a topic, filters, alarms, rules, a dashboard and saved queries.
            pub monitoring: Option<crate::monitoring::Monitoring>,
            /// Every logical name declared, with its kind, including resources that
            /// failed to decode (so references to them are not reported as undefined).
            #[schemars(skip)]
            pub declared: Vec<(At<String>, ResourceKind)>,
            /// The environment chosen with `--env` (its credentials), when the
            /// topology declares environments.
            #[schemars(skip)]
            pub environment: Option<vpcform_expand::Environment>,
        }

        /// The topology's declarations by logical name, one map per section.
        #[derive(Debug, Default)]
        pub struct TopologyIndex<'t> {
            $( $( pub $field: HashMap<&'t str, &'t kinds::$module::$ty>, )? )*
        }

        impl<'t> TopologyIndex<'t> {
            pub fn new(t: &'t Topology) -> Self {
                TopologyIndex {
                    $( $( $field: t.$field.iter().map(|n| (n.name.value.as_str(), &n.spec)).collect(), )? )*
                }
            }
        }

        impl Topology {
            /// Each declared resource's kind, logical name and `depends-on` list.
            pub fn explicit_dependencies(&self) -> Vec<(ResourceKind, &str, &[Ref])> {
                let mut out = Vec::new();
                $( $(
                    out.extend(self.$field.iter().map(|r| {
                        (ResourceKind::$kind, r.name.value.as_str(), Declared::depends_on(&r.spec))
                    }));
                )? )*
                out
            }

            /// Each declaration's `import-id`: the address that adopts it, the id, and the shape ids of its kind take.
            pub fn imports(&self) -> Vec<Import<'_>> {
                let mut out = Vec::new();
                $( $(
                    out.extend(self.$field.iter().filter_map(|r| {
                        let id = Declared::import_id(&r.spec)?;
                        Some(Import {
                            address: crate::Address::new(ResourceKind::$kind, &r.name.value),
                            id,
                            shape: <kinds::$module::$ty as Declared>::IMPORT_ID,
                        })
                    }));
                )? )*
                out
            }
        }

        /// `vpcform import`'s declaration of an observed object (declared kinds only).
        pub(crate) fn export(
            o: &crate::export::cx::Observed,
            cx: &mut crate::export::cx::ExportCx,
        ) -> Option<crate::emit::Map> {
            let export: Option<crate::export::cx::ExportFn> = match o.kind {
                $( ResourceKind::$kind => export_of!(kinds::$module::$ty $(, $field)?), )*
            };
            export.and_then(|export| export(o, cx))
        }

        /// The attribute that holds an object's own name in AWS, if its kind has one.
        pub fn aws_name_attr(kind: ResourceKind) -> Option<Attr> {
            match kind {
                $( ResourceKind::$kind => aws_name_of!(kinds::$module::$ty $(, $field)?), )*
            }
        }

        /// The desired attributes of one graph node; `None` for an address the topology does not declare.
        pub fn desired(address: &crate::Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
            match address.kind {
                $( ResourceKind::$kind => <kinds::$module::$ty as Kind>::desired(address, cx), )*
            }
        }

        pub(crate) fn decode_sections(
            f: &mut Fields<'_>,
            stack: At<String>,
            region: Option<At<String>>,
            cx: &mut Cx,
        ) -> Topology {
            let mut declared = Vec::new();
            Topology {
                stack,
                region,
                $( $( $field: decode_section(f, $key, &mut declared, cx), )? )*
                expect: f
                    .take("expect")
                    .and_then(|n| crate::expect::decode(n, cx))
                    .unwrap_or_default(),
                queries: Section(
                    f.take("queries")
                        .map(|n| crate::queries::decode(n, cx))
                        .unwrap_or_default(),
                ),
                waivers: f
                    .take("waivers")
                    .and_then(|n| crate::waiver::decode(n, cx))
                    .unwrap_or_default(),
                monitoring: f.take("monitoring").and_then(|n| crate::monitoring::decode(n, cx)),
                declared,
                environment: None,
            }
        }

        pub(crate) fn validate_sections(t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
            $( $( <kinds::$module::$ty as Declared>::validate(&t.$field, t, index, cx); )? )*
        }

        pub(crate) fn graph_sections(t: &Topology, b: &mut Builder) {
            $( $( <kinds::$module::$ty as Declared>::add_to_graph(&t.$field, t, b); )? )*
        }
    };
}

with_registry!(define_kinds);

/// Route targets AWS has that no kind declares: an id's prefix and what
/// it is, so that plans, `reach` and `import` name them instead of guessing.
pub const UNDECLARED_TARGETS: &[(&str, &str)] = &[
    ("eni-", "network interface"),
    ("i-", "instance"),
    ("vgw-", "virtual private gateway"),
    ("vpce-", "VPC endpoint"),
    ("lgw-", "local gateway"),
    ("cagw-", "carrier gateway"),
    ("arn:", "core network"),
];

/// What a route target is, in words (`transit gateway`), from its id.
pub fn target_description(id: &str) -> &'static str {
    if let Some(kind) = TargetKind::from_id(id) {
        return kind
            .resource_kind()
            .article_name()
            .split_once(' ')
            .map_or("target", |(_, n)| n);
    }
    UNDECLARED_TARGETS
        .iter()
        .find(|(prefix, _)| id.starts_with(prefix))
        .map_or("target", |(_, what)| what)
}

impl TargetKind {
    /// The kind of a live route target, by its id's prefix; `None` for a
    /// target no kind declares (a transit gateway, an interface, …).
    pub fn from_id(id: &str) -> Option<TargetKind> {
        TargetKind::ALL
            .iter()
            .copied()
            .find(|k| id.starts_with(k.id_prefix()))
    }
}

impl crate::graph::DependencyGraph {
    /// The topology's graph: each section's nodes and edges, and `depends-on`.
    pub fn build(t: &Topology) -> Self {
        let mut b = Builder::default();
        graph_sections(t, &mut b);
        Self::assemble(b, t.explicit_dependencies())
    }
}

/// The whole file: stack, region, and every section.
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
    let stack = stack.unwrap_or_else(|| At::new(String::new(), Span::UNKNOWN));
    let region = f.optional("region", cx);
    let mut topology = decode_sections(&mut f, stack, region, cx);
    f.finish(cx);
    crate::monitoring::expand(&mut topology, cx);
    Some(topology)
}

/// An existing object a declaration adopts (`import-id`).
#[derive(Clone, Debug)]
pub struct Import<'t> {
    pub address: crate::Address,
    pub id: &'t At<String>,
    pub shape: crate::kind::IdShape,
}

/// One section of the topology: its declarations in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Section<T>(pub Vec<Named<T>>);

impl<T> Default for Section<T> {
    fn default() -> Self {
        Section(Vec::new())
    }
}

impl<T> std::ops::Deref for Section<T> {
    type Target = Vec<Named<T>>;
    fn deref(&self) -> &Vec<Named<T>> {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Section<T> {
    fn deref_mut(&mut self) -> &mut Vec<Named<T>> {
        &mut self.0
    }
}

impl<'a, T> IntoIterator for &'a Section<T> {
    type Item = &'a Named<T>;
    type IntoIter = std::slice::Iter<'a, Named<T>>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl<T> From<Vec<Named<T>>> for Section<T> {
    fn from(items: Vec<Named<T>>) -> Self {
        Section(items)
    }
}

/// In YAML a section is a mapping from logical names to declarations.
impl<T: JsonSchema> JsonSchema for Section<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        <BTreeMap<String, T>>::schema_name()
    }

    fn inline_schema() -> bool {
        <BTreeMap<String, T>>::inline_schema()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        <BTreeMap<String, T>>::json_schema(generator)
    }
}

/// Decodes one section: a mapping from logical names to declarations.
fn decode_section<T: Declared>(
    fields: &mut Fields<'_>,
    key: &'static str,
    declared: &mut Vec<(At<String>, ResourceKind)>,
    cx: &mut Cx,
) -> Section<T> {
    let Some(node) = fields.take(key) else {
        return Section::default();
    };
    let Some(entries) = crate::decode::map_entries(node, cx) else {
        return Section::default();
    };
    let mut out = Vec::with_capacity(entries.len());
    let mut seen = std::collections::HashSet::with_capacity(entries.len());
    for (key, value) in entries {
        let Some(name) = key.as_str() else { continue };
        if !seen.insert(name) {
            continue; // reported as a duplicate key
        }
        if !crate::model::is_valid_declared_name(name) {
            cx.push(crate::model::invalid_name(name, key.span));
            continue;
        }
        declared.push((At::new(name.to_string(), key.span), T::KIND));
        let label = T::KIND
            .article_name()
            .split_once(' ')
            .map_or("", |(_, l)| l);
        if let Some(spec) = T::decode(value, &format!("{label} `{name}`"), cx) {
            out.push(Named {
                name: At::new(name.to_string(), key.span),
                spec,
            });
        }
    }
    Section(out)
}
