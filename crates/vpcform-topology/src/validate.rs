//! Semantic checks over the decoded topology: references, CIDR arithmetic,
//! AWS's value rules, and warnings about setups that work but do not do what
//! their author probably wants.

use std::collections::{BTreeMap, HashMap, HashSet};

use ipnet::Ipv4Net;
use serde_json::Value;

use crate::address::ResourceKind;
use crate::decode::Cx;
use crate::derived::{self, Direction, RouteTarget};
use crate::diagnostic::{Diagnostic, Span, did_you_mean};
use crate::model::{
    FLOW_LOG_ACTIONS, FLOW_LOG_FIELDS, FLOW_LOGS_SERVICE, Named, Protocol, RETENTION_DAYS, Ref,
    Rule, Topology,
};

/// Every declared logical name and what it names.
pub(crate) struct NameIndex<'t> {
    names: HashMap<&'t str, (ResourceKind, Span)>,
}

impl<'t> NameIndex<'t> {
    pub(crate) fn build(t: &'t Topology, cx: &mut Cx) -> Self {
        let mut names: HashMap<&'t str, (ResourceKind, Span)> = HashMap::new();
        for (name, kind) in &t.declared {
            if let Some((first_kind, first_span)) = names.get(name.value.as_str()) {
                cx.push(
                    Diagnostic::error(
                        "duplicate-name",
                        name.span,
                        format!(
                            "the logical name `{}` is already used by {}",
                            name.value,
                            first_kind.article_name()
                        ),
                    )
                    .with_related(*first_span, "first used here")
                    .with_help(
                        "logical names are unique across the whole topology; rename one of them",
                    ),
                );
            } else {
                names.insert(&name.value, (*kind, name.span));
            }
        }
        NameIndex { names }
    }

    pub(crate) fn kind_of(&self, name: &str) -> Option<ResourceKind> {
        self.names.get(name).map(|(k, _)| *k)
    }

    /// Checks that `r` names a resource of kind `want`; reports and returns false otherwise.
    fn check(&self, r: &Ref, want: ResourceKind, field: &str, cx: &mut Cx) -> bool {
        match self.names.get(r.value.as_str()) {
            Some((kind, _)) if *kind == want => true,
            Some((kind, span)) => {
                cx.push(
                    Diagnostic::error(
                        "wrong-reference-kind",
                        r.span,
                        format!(
                            "`{}` is {}, but `{field}` must name {}",
                            r.value,
                            kind.article_name(),
                            want.article_name()
                        ),
                    )
                    .with_related(*span, format!("`{}` is declared here", r.value))
                    .with_help(self.candidates_help(want)),
                );
                false
            }
            None => {
                let candidates = self.names_of(want);
                let mut d = Diagnostic::error(
                    "undefined-reference",
                    r.span,
                    format!(
                        "`{field}` refers to `{}`, but no {} has that name",
                        r.value,
                        &want.article_name()[2..].trim_start_matches("n ")
                    ),
                );
                if let Some(s) = did_you_mean(&r.value, candidates.iter().copied()) {
                    d = d
                        .with_label(format!("did you mean `{s}`?"))
                        .with_help(format!("replace it with `{s}`"));
                } else {
                    d = d.with_help(self.candidates_help(want));
                }
                cx.push(d);
                false
            }
        }
    }

    fn check_any(&self, r: &Ref, cx: &mut Cx) -> bool {
        if self.names.contains_key(r.value.as_str()) {
            return true;
        }
        let mut d = Diagnostic::error(
            "undefined-reference",
            r.span,
            format!(
                "`depends-on` refers to `{}`, which is not declared",
                r.value
            ),
        );
        if let Some(s) = did_you_mean(&r.value, self.names.keys().copied()) {
            d = d
                .with_label(format!("did you mean `{s}`?"))
                .with_help(format!("replace it with `{s}`"));
        }
        cx.push(d);
        false
    }

    fn names_of(&self, kind: ResourceKind) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .names
            .iter()
            .filter(|(_, (k, _))| *k == kind)
            .map(|(n, _)| *n)
            .collect();
        names.sort_unstable();
        names
    }

    fn candidates_help(&self, kind: ResourceKind) -> String {
        let names = self.names_of(kind);
        if names.is_empty() {
            format!("declare {} first", kind.article_name())
        } else {
            let shown: Vec<String> = names.iter().take(8).map(|n| format!("`{n}`")).collect();
            let more = if names.len() > 8 { ", ..." } else { "" };
            format!("declared names of this kind: {}{more}", shown.join(", "))
        }
    }
}

fn by_name<T>(items: &[Named<T>]) -> HashMap<&str, &Named<T>> {
    items.iter().map(|n| (n.name.value.as_str(), n)).collect()
}

pub(crate) fn validate(t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
    let vpcs = by_name(&t.vpcs);
    let subnets = by_name(&t.subnets);
    let igws = by_name(&t.internet_gateways);
    let sgs = by_name(&t.security_groups);
    let roles = by_name(&t.iam_roles);
    let policies = by_name(&t.iam_policies);
    let peerings = by_name(&t.peerings);

    // Explicit ordering.
    for (_, _, deps) in t.explicit_dependencies() {
        for dep in deps {
            index.check_any(dep, cx);
        }
    }

    // VPCs.
    for vpc in &t.vpcs {
        let cidr = &vpc.spec.cidr;
        if !(16..=28).contains(&cidr.value.prefix_len()) {
            cx.push(
                Diagnostic::error(
                    "cidr-size",
                    cidr.span,
                    format!(
                        "a VPC's CIDR block must be between /16 and /28, not /{}",
                        cidr.value.prefix_len()
                    ),
                )
                .with_help("choose a prefix length from 16 to 28"),
            );
        }
    }

    // Subnets: inside their VPC, not overlapping each other.
    let mut subnets_by_vpc: BTreeMap<&str, Vec<&Named<crate::model::Subnet>>> = BTreeMap::new();
    for subnet in &t.subnets {
        let s = &subnet.spec;
        if !(16..=28).contains(&s.cidr.value.prefix_len()) {
            cx.push(
                Diagnostic::error(
                    "cidr-size",
                    s.cidr.span,
                    format!(
                        "a subnet's CIDR block must be between /16 and /28, not /{}",
                        s.cidr.value.prefix_len()
                    ),
                )
                .with_help("choose a prefix length from 16 to 28"),
            );
        }
        if !index.check(&s.vpc, ResourceKind::Vpc, "vpc", cx) {
            continue;
        }
        let Some(vpc) = vpcs.get(s.vpc.value.as_str()) else {
            continue;
        };
        if !vpc.spec.cidr.value.contains(&s.cidr.value) {
            cx.push(
                Diagnostic::error(
                    "subnet-outside-vpc",
                    s.cidr.span,
                    format!(
                        "subnet `{}` ({}) is not inside its VPC `{}` ({})",
                        subnet.name.value, s.cidr.value, vpc.name.value, vpc.spec.cidr.value
                    ),
                )
                .with_related(
                    vpc.spec.cidr.span,
                    format!(
                        "VPC `{}` is declared with {}",
                        vpc.name.value, vpc.spec.cidr.value
                    ),
                )
                .with_help(format!(
                    "choose a CIDR block inside {}",
                    vpc.spec.cidr.value
                )),
            );
        }
        subnets_by_vpc
            .entry(s.vpc.value.as_str())
            .or_default()
            .push(subnet);
    }
    for list in subnets_by_vpc.values_mut() {
        list.sort_by_key(|s| (s.spec.cidr.value.network(), s.spec.cidr.value.prefix_len()));
        let mut widest: Option<&Named<crate::model::Subnet>> = None;
        for subnet in list.iter() {
            if let Some(prev) = widest {
                if prev
                    .spec
                    .cidr
                    .value
                    .contains(&subnet.spec.cidr.value.network())
                {
                    cx.push(
                        Diagnostic::error(
                            "overlapping-subnets",
                            subnet.spec.cidr.span,
                            format!(
                                "subnet `{}` ({}) overlaps subnet `{}` ({})",
                                subnet.name.value,
                                subnet.spec.cidr.value,
                                prev.name.value,
                                prev.spec.cidr.value
                            ),
                        )
                        .with_related(
                            prev.spec.cidr.span,
                            format!("`{}` is declared here", prev.name.value),
                        )
                        .with_help(
                            "subnets of one VPC must not share addresses; choose a free range",
                        ),
                    );
                }
                if subnet.spec.cidr.value.broadcast() > prev.spec.cidr.value.broadcast() {
                    widest = Some(subnet);
                }
            } else {
                widest = Some(subnet);
            }
        }
    }

    // Internet gateways: one per VPC.
    let mut igw_of_vpc: HashMap<&str, &Named<crate::model::InternetGateway>> = HashMap::new();
    for igw in &t.internet_gateways {
        if !index.check(&igw.spec.vpc, ResourceKind::Vpc, "vpc", cx) {
            continue;
        }
        if let Some(first) = igw_of_vpc.insert(igw.spec.vpc.value.as_str(), igw) {
            cx.push(
                Diagnostic::error(
                    "duplicate-internet-gateway",
                    igw.spec.vpc.span,
                    format!(
                        "VPC `{}` already has internet gateway `{}`",
                        igw.spec.vpc.value, first.name.value
                    ),
                )
                .with_related(first.name.span, "the first gateway")
                .with_help("AWS attaches at most one internet gateway to a VPC; remove one"),
            );
        }
    }

    // Peerings.
    let mut pairs: HashMap<(&str, &str), &str> = HashMap::new();
    for peering in &t.peerings {
        let p = &peering.spec;
        let ok_r = index.check(&p.requester, ResourceKind::Vpc, "requester", cx);
        let ok_a = index.check(&p.accepter, ResourceKind::Vpc, "accepter", cx);
        if !(ok_r && ok_a) {
            continue;
        }
        if p.requester.value == p.accepter.value {
            cx.push(
                Diagnostic::error(
                    "peering-self",
                    p.accepter.span,
                    "a VPC cannot peer with itself",
                )
                .with_help("name two different VPCs as requester and accepter"),
            );
            continue;
        }
        let (Some(r), Some(a)) = (
            vpcs.get(p.requester.value.as_str()),
            vpcs.get(p.accepter.value.as_str()),
        ) else {
            continue;
        };
        if overlaps(r.spec.cidr.value, a.spec.cidr.value) {
            cx.push(
                Diagnostic::error(
                    "overlapping-peered-vpcs",
                    p.accepter.span,
                    format!("peered VPCs `{}` ({}) and `{}` ({}) have overlapping CIDR blocks", r.name.value, r.spec.cidr.value, a.name.value, a.spec.cidr.value),
                )
                .with_related(a.spec.cidr.span, format!("`{}` is declared here", a.name.value))
                .with_help("AWS refuses to peer VPCs whose CIDR blocks overlap; give one of them a different range"),
            );
        }
        let key = if p.requester.value < p.accepter.value {
            (p.requester.value.as_str(), p.accepter.value.as_str())
        } else {
            (p.accepter.value.as_str(), p.requester.value.as_str())
        };
        if let Some(first) = pairs.insert(key, peering.name.value.as_str()) {
            cx.push(
                Diagnostic::error(
                    "duplicate-peering",
                    peering.name.span,
                    format!(
                        "VPCs `{}` and `{}` are already peered by `{first}`",
                        key.0, key.1
                    ),
                )
                .with_help("AWS allows one active peering between two VPCs; remove one"),
            );
        }
    }
    let peered = |x: &str, y: &str| pairs.contains_key(&if x < y { (x, y) } else { (y, x) });

    // Route tables: associations and routes.
    let mut table_of_subnet: HashMap<&str, &str> = HashMap::new();
    let mut tables_ok: HashSet<&str> = HashSet::new();
    for table in &t.route_tables {
        let rt = &table.spec;
        if !index.check(&rt.vpc, ResourceKind::Vpc, "vpc", cx) {
            continue;
        }
        tables_ok.insert(table.name.value.as_str());
        for subnet_ref in &rt.subnets {
            if !index.check(subnet_ref, ResourceKind::Subnet, "subnets", cx) {
                continue;
            }
            let Some(subnet) = subnets.get(subnet_ref.value.as_str()) else {
                continue;
            };
            if subnet.spec.vpc.value != rt.vpc.value {
                cx.push(
                    Diagnostic::error(
                        "association-other-vpc",
                        subnet_ref.span,
                        format!(
                            "subnet `{}` is in VPC `{}`, but route table `{}` is in VPC `{}`",
                            subnet_ref.value, subnet.spec.vpc.value, table.name.value, rt.vpc.value
                        ),
                    )
                    .with_help("associate subnets only with a route table of their own VPC"),
                );
            }
            if let Some(first) =
                table_of_subnet.insert(subnet_ref.value.as_str(), table.name.value.as_str())
            {
                cx.push(
                    Diagnostic::error(
                        "duplicate-association",
                        subnet_ref.span,
                        format!(
                            "subnet `{}` is already associated with route table `{first}`",
                            subnet_ref.value
                        ),
                    )
                    .with_help("a subnet has exactly one route table; remove one association"),
                );
            }
        }
        for route in &rt.routes {
            if let Some(g) = &route.internet_gateway {
                index.check(g, ResourceKind::InternetGateway, "internet-gateway", cx);
            }
            if let Some(p) = &route.peering {
                index.check(p, ResourceKind::VpcPeering, "peering", cx);
            }
        }
    }
    let tables = by_name(&t.route_tables);
    let mut seen_routes: HashMap<(&str, Ipv4Net), Span> = HashMap::new();
    let routes = t.effective_routes();
    for route in &routes {
        if !tables_ok.contains(route.table.as_str()) {
            continue;
        }
        let table = tables[route.table.as_str()];
        let vpc_name = table.spec.vpc.value.as_str();
        if let Some(first) =
            seen_routes.insert((table.name.value.as_str(), route.destination), route.span)
        {
            let mut d = Diagnostic::error(
                "duplicate-route",
                route.span,
                format!(
                    "route table `{}` already has a route to {}",
                    route.table, route.destination
                ),
            )
            .with_related(first, "the first route");
            d = if route.from_peering_option {
                d.with_help("`add-routes: true` adds this route already; remove the explicit route or the option")
            } else {
                d.with_help("a route table holds one route per destination; remove one")
            };
            cx.push(d);
        }
        match &route.target {
            RouteTarget::InternetGateway(g) => {
                if let Some(igw) = igws.get(g.as_str())
                    && igw.spec.vpc.value != vpc_name
                    && index.kind_of(&igw.spec.vpc.value) == Some(ResourceKind::Vpc)
                {
                    cx.push(
                        Diagnostic::error(
                            "route-gateway-other-vpc",
                            route.span,
                            format!("internet gateway `{g}` is attached to VPC `{}`, but route table `{}` is in VPC `{vpc_name}`", igw.spec.vpc.value, route.table),
                        )
                        .with_help("route to the internet gateway of the table's own VPC"),
                    );
                }
            }
            RouteTarget::Peering(p) => {
                let Some(peering) = peerings.get(p.as_str()) else {
                    continue;
                };
                let (req, acc) = (
                    peering.spec.requester.value.as_str(),
                    peering.spec.accepter.value.as_str(),
                );
                let peer = if req == vpc_name {
                    acc
                } else if acc == vpc_name {
                    req
                } else {
                    cx.push(
                        Diagnostic::error(
                            "route-peering-other-vpc",
                            route.span,
                            format!("peering `{p}` connects `{req}` and `{acc}`, not route table `{}`'s VPC `{vpc_name}`", route.table),
                        )
                        .with_help("route only through a peering of the table's own VPC"),
                    );
                    continue;
                };
                if let Some(peer_vpc) = vpcs.get(peer)
                    && !peer_vpc.spec.cidr.value.contains(&route.destination)
                {
                    cx.push(
                        Diagnostic::error(
                            "route-outside-peer",
                            route.span,
                            format!("route to {} through peering `{p}` lies outside the peer VPC `{peer}` ({})", route.destination, peer_vpc.spec.cidr.value),
                        )
                        .with_help(format!("use a destination inside {}, usually exactly that", peer_vpc.spec.cidr.value)),
                    );
                }
            }
        }
    }

    // Security groups.
    let mut group_names: HashMap<(&str, &str), Span> = HashMap::new();
    for sg in &t.security_groups {
        let g = &sg.spec;
        let vpc_ok = index.check(&g.vpc, ResourceKind::Vpc, "vpc", cx);
        let name = g
            .name
            .as_ref()
            .map_or(sg.name.value.as_str(), |n| n.value.as_str());
        let name_span = g.name.as_ref().map_or(sg.name.span, |n| n.span);
        if name.to_ascii_lowercase().starts_with("sg-") || name == "default" {
            cx.push(
                Diagnostic::error(
                    "invalid-group-name",
                    name_span,
                    format!("AWS does not allow the security group name `{name}`"),
                )
                .with_help("names must not start with `sg-` and must not be `default`"),
            );
        }
        if vpc_ok && let Some(first) = group_names.insert((g.vpc.value.as_str(), name), name_span) {
            cx.push(
                Diagnostic::error(
                    "duplicate-group-name",
                    name_span,
                    format!(
                        "VPC `{}` already has a security group named `{name}`",
                        g.vpc.value
                    ),
                )
                .with_related(first, "the first group")
                .with_help(
                    "security group names are unique per VPC; set `name:` to tell them apart",
                ),
            );
        }
        let mut keys: HashMap<String, Span> = HashMap::new();
        let rules = g
            .ingress
            .iter()
            .map(|r| (Direction::Ingress, r))
            .chain(g.egress.iter().flatten().map(|r| (Direction::Egress, r)));
        for (direction, rule) in rules {
            if !check_rule(rule, index, cx) {
                continue;
            }
            if let Some(other) = &rule.security_group
                && vpc_ok
                && let Some(other_sg) = sgs.get(other.value.as_str())
                && other_sg.spec.vpc.value != g.vpc.value
                && !peered(&other_sg.spec.vpc.value, &g.vpc.value)
            {
                cx.push(
                    Diagnostic::error(
                        "rule-group-other-vpc",
                        other.span,
                        format!("security group `{}` is in VPC `{}`, which is neither `{}` nor peered with it", other.value, other_sg.spec.vpc.value, g.vpc.value),
                    )
                    .with_help("reference groups of the same VPC or of a peered VPC, or use a CIDR"),
                );
            }
            let Some(normal) = rule.normalise(direction) else {
                continue;
            };
            let key = normal.key();
            if let Some(first) = keys.insert(key, rule.span) {
                cx.push(
                    Diagnostic::error(
                        "duplicate-rule",
                        rule.span,
                        format!(
                            "security group `{}` already has this {} rule",
                            sg.name.value,
                            direction.as_str()
                        ),
                    )
                    .with_related(first, "the first rule")
                    .with_help("AWS rejects duplicate rules; remove one"),
                );
            }
        }
    }

    // Instances.
    for inst in &t.instances {
        let i = &inst.spec;
        if let Some(ami) = &i.ami
            && !ami.value.starts_with("ami-")
        {
            cx.push(
                Diagnostic::error(
                    "invalid-ami",
                    ami.span,
                    format!("`{}` is not an AMI id", ami.value),
                )
                .with_help("AMI ids look like `ami-0123456789abcdef0`; or use `ami-ssm-parameter`"),
            );
        }
        if let Some(p) = &i.ami_ssm_parameter
            && !p.value.starts_with('/')
        {
            cx.push(
                Diagnostic::error("invalid-ssm-parameter", p.span, format!("`{}` is not an SSM parameter path", p.value))
                    .with_help("SSM parameter names start with `/`, e.g. /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"),
            );
        }
        if !i.instance_type.value.contains('.') {
            cx.push(
                Diagnostic::error(
                    "invalid-instance-type",
                    i.instance_type.span,
                    format!("`{}` is not an instance type", i.instance_type.value),
                )
                .with_help("instance types look like `t3.micro`"),
            );
        }
        if !index.check(&i.subnet, ResourceKind::Subnet, "subnet", cx) {
            continue;
        }
        let vpc = subnets
            .get(i.subnet.value.as_str())
            .map(|s| &s.spec.vpc.value);
        for sg_ref in &i.security_groups {
            if !index.check(sg_ref, ResourceKind::SecurityGroup, "security-groups", cx) {
                continue;
            }
            let (Some(vpc), Some(sg)) = (vpc, sgs.get(sg_ref.value.as_str())) else {
                continue;
            };
            if &sg.spec.vpc.value != vpc {
                cx.push(
                    Diagnostic::error(
                        "instance-group-other-vpc",
                        sg_ref.span,
                        format!("security group `{}` is in VPC `{}`, but instance `{}` is launched into VPC `{vpc}`", sg_ref.value, sg.spec.vpc.value, inst.name.value),
                    )
                    .with_help("use security groups of the instance's own VPC"),
                );
            }
        }
    }

    // Log groups.
    let mut log_names: HashMap<&str, Span> = HashMap::new();
    for lg in &t.log_groups {
        let name = &lg.spec.name;
        let valid = !name.value.is_empty()
            && name.value.len() <= 512
            && name
                .value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
        if !valid {
            cx.push(
                Diagnostic::error(
                    "invalid-log-group-name",
                    name.span,
                    format!("`{}` is not a valid log group name", name.value),
                )
                .with_help("use 1-512 characters from a-z, A-Z, 0-9, `.`, `_`, `-`, `/` and `#`"),
            );
        }
        if let Some(first) = log_names.insert(&name.value, name.span) {
            cx.push(
                Diagnostic::error(
                    "duplicate-log-group-name",
                    name.span,
                    format!("log group name `{}` is declared twice", name.value),
                )
                .with_related(first, "first declared here")
                .with_help("log group names are unique in a region"),
            );
        }
        if let Some(days) = &lg.spec.retention_days
            && !RETENTION_DAYS.contains(&days.value)
        {
            let nearest = RETENTION_DAYS
                .iter()
                .min_by_key(|d| (*d - days.value).abs())
                .copied()
                .unwrap_or(7);
            cx.push(
                Diagnostic::error(
                    "invalid-retention",
                    days.span,
                    format!(
                        "CloudWatch Logs does not accept a retention of {} days",
                        days.value
                    ),
                )
                .with_help(format!(
                    "use one of {} (nearest: {nearest})",
                    RETENTION_DAYS
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            );
        }
    }

    // IAM.
    let mut iam_names: HashMap<(&str, &str), Span> = HashMap::new();
    for p in &t.iam_policies {
        check_iam_name(&p.spec.name, "policy", &mut iam_names, cx);
        check_document(&p.spec.document, false, cx);
    }
    for r in &t.iam_roles {
        check_iam_name(&r.spec.name, "role", &mut iam_names, cx);
        if let Some(doc) = &r.spec.assume_role_policy {
            check_document(doc, true, cx);
        }
        for s in &r.spec.trusted_services {
            if !s.value.contains('.') {
                cx.push(
                    Diagnostic::error(
                        "invalid-service-principal",
                        s.span,
                        format!("`{}` is not a service principal", s.value),
                    )
                    .with_help("service principals look like `vpc-flow-logs.amazonaws.com`"),
                );
            }
        }
        let mut attached = HashSet::new();
        for p in &r.spec.policies {
            if index.check(p, ResourceKind::IamPolicy, "policies", cx)
                && !attached.insert(p.value.as_str())
            {
                cx.push(
                    Diagnostic::error(
                        "duplicate-attachment",
                        p.span,
                        format!("policy `{}` is attached twice", p.value),
                    )
                    .with_help("remove the repeated entry"),
                );
            }
        }
    }

    // Flow logs.
    for fl in &t.flow_logs {
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
                    let mut d = Diagnostic::error(
                        "invalid-flow-log-field",
                        field.span,
                        format!("`{}` is not a flow-log field", field.value),
                    );
                    d = match did_you_mean(&field.value, FLOW_LOG_FIELDS.iter().copied()) {
                        Some(s) => d
                            .with_label(format!("did you mean `{s}`?"))
                            .with_help(format!("replace it with `{s}`")),
                        None => d.with_help("see docs/topology.md for the list of flow-log fields"),
                    };
                    cx.push(d);
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
        if !index.check(&f.role, ResourceKind::IamRole, "role", cx) {
            continue;
        }
        let Some(role) = roles.get(f.role.value.as_str()) else {
            continue;
        };
        let trust = Topology::role_trust_document(&role.spec);
        if !derived::trusts_service(&trust, FLOW_LOGS_SERVICE) {
            cx.push(
                Diagnostic::warning(
                    "flow-log-role-untrusted",
                    f.role.span,
                    format!("role `{}` does not trust {FLOW_LOGS_SERVICE}, so the flow log cannot deliver records", role.name.value),
                )
                .with_help(format!("add `{FLOW_LOGS_SERVICE}` to the role's `trusted-services`")),
            );
        }
        let docs: Vec<&Value> = role
            .spec
            .policies
            .iter()
            .filter_map(|p| policies.get(p.value.as_str()))
            .map(|p| &p.spec.document.value)
            .collect();
        let missing: Vec<&str> = FLOW_LOG_ACTIONS
            .iter()
            .copied()
            .filter(|a| !docs.iter().any(|d| derived::allows_action(d, a)))
            .collect();
        if !missing.is_empty() {
            cx.push(
                Diagnostic::warning(
                    "flow-log-role-permissions",
                    f.role.span,
                    format!("the policies of role `{}` do not allow {}", role.name.value, missing.join(", ")),
                )
                .with_help("attach a policy that allows logs:CreateLogGroup, logs:CreateLogStream, logs:PutLogEvents, logs:DescribeLogGroups and logs:DescribeLogStreams"),
            );
        }
    }

    // Peerings that carry no traffic.
    for peering in &t.peerings {
        let p = &peering.spec;
        if index.kind_of(&p.requester.value) != Some(ResourceKind::Vpc)
            || index.kind_of(&p.accepter.value) != Some(ResourceKind::Vpc)
            || p.requester.value == p.accepter.value
        {
            continue;
        }
        let side_has_route = |vpc: &str| {
            routes.iter().any(|r| {
                r.target == RouteTarget::Peering(peering.name.value.clone())
                    && tables
                        .get(r.table.as_str())
                        .is_some_and(|t| t.spec.vpc.value == vpc)
            })
        };
        let (req_routes, acc_routes) = (
            side_has_route(&p.requester.value),
            side_has_route(&p.accepter.value),
        );
        if req_routes && acc_routes {
            continue;
        }
        let instances_in = |vpc: &str| -> Vec<&str> {
            t.instances
                .iter()
                .filter(|i| {
                    subnets
                        .get(i.spec.subnet.value.as_str())
                        .is_some_and(|s| s.spec.vpc.value == vpc)
                })
                .map(|i| i.name.value.as_str())
                .collect()
        };
        let (a, b) = (
            instances_in(&p.requester.value),
            instances_in(&p.accepter.value),
        );
        let consequence = if !a.is_empty() && !b.is_empty() {
            format!(
                "instances {} and {} cannot reach each other",
                list(&a),
                list(&b)
            )
        } else {
            format!(
                "no traffic can flow between `{}` and `{}`",
                p.requester.value, p.accepter.value
            )
        };
        let (message, help) = if !req_routes && !acc_routes {
            (
                format!(
                    "peering `{}` has no routes: {consequence}",
                    peering.name.value
                ),
                "set `add-routes: true` on the peering, or add a route to the peer's CIDR through it in both VPCs' route tables",
            )
        } else {
            let missing = if req_routes {
                &p.accepter.value
            } else {
                &p.requester.value
            };
            (
                format!(
                    "peering `{}` has routes on one side only (none in `{missing}`): {consequence}",
                    peering.name.value
                ),
                "replies need a route back: add a route to the peer's CIDR in the other VPC's route tables",
            )
        };
        cx.push(
            Diagnostic::warning("peering-without-routes", peering.name.span, message)
                .with_help(help),
        );
    }
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn overlaps(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

fn check_rule(rule: &Rule, index: &NameIndex<'_>, cx: &mut Cx) -> bool {
    let mut ok = true;
    match (&rule.cidr, &rule.security_group) {
        (Some(_), Some(_)) | (None, None) => {
            cx.push(
                Diagnostic::error(
                    "rule-peer",
                    rule.span,
                    "a rule needs exactly one of `cidr` and `security-group`",
                )
                .with_help("e.g. `cidr: 0.0.0.0/0` or `security-group: <logical name>`"),
            );
            ok = false;
        }
        (None, Some(g)) => ok &= index.check(g, ResourceKind::SecurityGroup, "security-group", cx),
        (Some(_), None) => {}
    }
    let protocol = rule.protocol.value;
    let port_fields = [&rule.port, &rule.from_port, &rule.to_port];
    if !protocol.has_ports() {
        for f in port_fields.into_iter().flatten() {
            cx.push(
                Diagnostic::error(
                    "invalid-port",
                    f.span,
                    format!("protocol `{}` has no ports", protocol_label(protocol)),
                )
                .with_help("ports apply to tcp and udp only; remove this field"),
            );
            ok = false;
        }
    } else {
        if rule.port.is_some() && (rule.from_port.is_some() || rule.to_port.is_some()) {
            cx.push(
                Diagnostic::error(
                    "invalid-port",
                    rule.span,
                    "a rule has both `port` and `from-port`/`to-port`",
                )
                .with_help("use `port` for one port, or `from-port` and `to-port` for a range"),
            );
            ok = false;
        }
        for f in port_fields.into_iter().flatten() {
            if !(0..=65535).contains(&f.value) {
                cx.push(
                    Diagnostic::error(
                        "invalid-port",
                        f.span,
                        format!("port {} is out of range", f.value),
                    )
                    .with_help("ports are 0 to 65535"),
                );
                ok = false;
            }
        }
        if let (Some(from), Some(to)) = (&rule.from_port, &rule.to_port)
            && from.value > to.value
        {
            cx.push(
                Diagnostic::error(
                    "invalid-port",
                    to.span,
                    format!("the port range {}-{} is reversed", from.value, to.value),
                )
                .with_related(from.span, "the range starts here")
                .with_help(format!(
                    "write `from-port: {}` and `to-port: {}`",
                    to.value, from.value
                )),
            );
            ok = false;
        }
    }
    for (field, name) in [
        (&rule.icmp_type, "icmp-type"),
        (&rule.icmp_code, "icmp-code"),
    ] {
        let Some(f) = field else { continue };
        if protocol != Protocol::Icmp {
            cx.push(
                Diagnostic::error(
                    "invalid-icmp",
                    f.span,
                    format!("`{name}` applies to protocol icmp only"),
                )
                .with_help("remove it, or set `protocol: icmp`"),
            );
            ok = false;
        } else if !(-1..=255).contains(&f.value) {
            cx.push(
                Diagnostic::error(
                    "invalid-icmp",
                    f.span,
                    format!("{name} {} is out of range", f.value),
                )
                .with_help("ICMP types and codes are 0 to 255, or -1 for all"),
            );
            ok = false;
        }
    }
    if protocol == Protocol::Icmp && rule.icmp_code.is_some() && rule.icmp_type.is_none() {
        cx.push(
            Diagnostic::error(
                "invalid-icmp",
                rule.span,
                "`icmp-code` needs an `icmp-type`",
            )
            .with_help("set `icmp-type`, e.g. 8 for echo request"),
        );
        ok = false;
    }
    ok
}

fn protocol_label(p: Protocol) -> String {
    match p {
        Protocol::All => "all".into(),
        other => other.aws_name(),
    }
}

fn check_iam_name<'t>(
    name: &'t crate::model::At<String>,
    what: &'static str,
    seen: &mut HashMap<(&'static str, &'t str), Span>,
    cx: &mut Cx,
) {
    let valid = !name.value.is_empty()
        && name.value.len() <= if what == "role" { 64 } else { 128 }
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if !valid {
        cx.push(
            Diagnostic::error("invalid-iam-name", name.span, format!("`{}` is not a valid IAM {what} name", name.value))
                .with_help("use letters, digits and +=,.@_- (at most 64 characters for roles, 128 for policies)"),
        );
    }
    if let Some(first) = seen.insert((what, name.value.as_str()), name.span) {
        cx.push(
            Diagnostic::error(
                "duplicate-iam-name",
                name.span,
                format!("IAM {what} name `{}` is declared twice", name.value),
            )
            .with_related(first, "first declared here")
            .with_help(format!("IAM {what} names are unique in an account")),
        );
    }
}

fn check_document(doc: &crate::model::At<Value>, trust: bool, cx: &mut Cx) {
    let what = if trust {
        "trust policy"
    } else {
        "policy document"
    };
    let problem = |cx: &mut Cx, message: String| {
        cx.push(
            Diagnostic::error("invalid-policy-document", doc.span, message)
                .with_help("a policy document has `Version: \"2012-10-17\"` and a `Statement` list whose entries have `Effect` (Allow or Deny) and `Action`"),
        );
    };
    if !doc.value.is_object() {
        problem(cx, format!("the {what} must be a mapping"));
        return;
    }
    if let Some(v) = doc.value.get("Version")
        && v != "2012-10-17"
        && v != "2008-10-17"
    {
        problem(cx, format!("the {what} has an unknown Version {v}"));
    }
    let statements = derived::statements(&doc.value);
    if statements.is_empty() {
        problem(cx, format!("the {what} has no Statement"));
    }
    for s in statements {
        match s.get("Effect").and_then(Value::as_str) {
            Some("Allow" | "Deny") => {}
            _ => problem(
                cx,
                format!("a statement of the {what} needs `Effect: Allow` or `Effect: Deny`"),
            ),
        }
        if derived::string_or_list(s.get("Action")).is_empty() && s.get("NotAction").is_none() {
            problem(cx, format!("a statement of the {what} has no `Action`"));
        }
        if trust && s.get("Principal").is_none() {
            problem(cx, format!("a statement of the {what} has no `Principal`"));
        }
    }
}
