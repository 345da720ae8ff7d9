//! The network a topology declares, as it will be once applied: what AWS
//! adds by itself included (each VPC's main route table with only the local
//! route, and its default network ACL that allows everything).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use vpcform_topology::{Direction, Protocol, Topology};

use vpcform_topology::kinds::nat_gateway::Connectivity;

use crate::model::{
    AclEntry, EgressOnlyGateway, Instance, InternetGateway, Ipv6Block, NatGateway, Network,
    NetworkAcl, Peering, PrefixList, Route, RouteTable, RouteTarget, SecurityGroup, SgPeer, SgRule,
    Subnet, TgwAttachment, TgwDestination, TgwRoute, TgwRouteTable, TransitGateway, Vpc,
    VpcEndpoint, service_list_key,
};

fn address(kind: &str, name: &str) -> String {
    format!("{kind}.{name}")
}

/// The name of the main route table AWS gives a VPC.
pub(crate) fn main_table(vpc: &str) -> String {
    format!("{vpc} main route table")
}

/// The name of the default network ACL AWS gives a VPC.
pub(crate) fn default_acl(vpc: &str) -> String {
    format!("{vpc} default network ACL")
}

/// AWS's default ACL: rule 100 allows all IPv4 both ways, and in a VPC
/// with IPv6, rule 101 all IPv6.
pub(crate) fn allow_all_entries(ipv6: bool) -> Vec<AclEntry> {
    let mut blocks = vec![(100, IpNet::V4(Ipv4Net::default()))];
    if ipv6 {
        blocks.push((101, IpNet::V6(Ipv6Net::default())));
    }
    [Direction::Ingress, Direction::Egress]
        .into_iter()
        .flat_map(|direction| {
            blocks.iter().map(move |&(number, cidr)| AclEntry {
                direction,
                number,
                protocol: Protocol::All,
                from: -1,
                to: -1,
                cidr,
                allow: true,
            })
        })
        .collect()
}

pub fn from_topology(t: &Topology) -> Network {
    let mut n = Network::default();
    for (i, v) in t.vpcs.iter().enumerate() {
        let key = address("vpc", &v.name.value);
        let ipv6 = v.spec.has_ipv6().then(|| Ipv6Block::on_apply(i));
        n.route_tables.push(RouteTable {
            key: main_table(&key),
            id: None,
            vpc: key.clone(),
            main: true,
            routes: Vec::new(),
            prefix_list_routes: Vec::new(),
        });
        n.network_acls.push(NetworkAcl {
            key: default_acl(&key),
            id: None,
            vpc: key.clone(),
            default: true,
            entries: allow_all_entries(ipv6.is_some()),
        });
        n.vpcs.push(Vpc {
            key,
            id: None,
            cidr: v.spec.cidr.value,
            secondary_cidrs: v.spec.cidrs().skip(1).collect(),
            ipv6,
            tags: v.spec.tags.clone(),
        });
    }
    for s in &t.subnets {
        let name = &s.name.value;
        let listed = |subnets: &[vpcform_topology::Ref]| subnets.iter().any(|r| &r.value == name);
        n.subnets.push(Subnet {
            key: address("subnet", name),
            id: None,
            vpc: address("vpc", &s.spec.vpc.value),
            cidr: s.spec.cidr.value,
            az: s.spec.availability_zone.as_ref().map(|z| z.value.clone()),
            ipv6_cidr: None,
            assign_ipv6: s.spec.assigns_ipv6(),
            route_table: t
                .route_tables
                .iter()
                .find(|rt| listed(&rt.spec.subnets))
                .map(|rt| address("route-table", &rt.name.value)),
            network_acl: t
                .network_acls
                .iter()
                .find(|a| listed(&a.spec.subnets))
                .map(|a| address("network-acl", &a.name.value)),
            map_public_ip_on_launch: s
                .spec
                .map_public_ip_on_launch
                .as_ref()
                .is_some_and(|m| m.value),
        });
    }
    place_ipv6_subnets(&mut n, t);
    add_route_tables(&mut n, t);
    add_filters(&mut n, t);
    add_prefix_lists(&mut n, t);
    add_endpoints(&mut n, t);
    add_aws_lists_of_rules(&mut n, t);
    add_transit_gateways(&mut n, t);
    // No lookups on `n` while it is built: its index is made on first use.
    let public_subnets: std::collections::HashSet<String> = n
        .subnets
        .iter()
        .filter(|s| s.map_public_ip_on_launch)
        .map(|s| s.key.clone())
        .collect();
    let subnets: std::collections::HashMap<&str, _> = t
        .subnets
        .iter()
        .map(|s| (s.name.value.as_str(), s))
        .collect();
    for i in &t.instances {
        let subnet = address("subnet", &i.spec.subnet.value);
        let public = public_subnets.contains(&subnet);
        let has_ipv6 = subnets
            .get(i.spec.subnet.value.as_str())
            .is_some_and(|s| i.spec.has_ipv6(&s.spec));
        n.instances.push(Instance {
            key: address("instance", &i.name.value),
            id: None,
            subnet,
            private_ip: None,
            public_ip: public,
            has_ipv6,
            ipv6: None,
            security_groups: i
                .spec
                .security_groups
                .iter()
                .map(|g| address("security-group", &g.value))
                .collect(),
        });
    }
    for g in &t.internet_gateways {
        n.internet_gateways.push(InternetGateway {
            key: address("internet-gateway", &g.name.value),
            id: None,
            vpc: Some(address("vpc", &g.spec.vpc.value)),
        });
    }
    for g in &t.egress_only_gateways {
        n.egress_only_gateways.push(EgressOnlyGateway {
            key: address("egress-only-gateway", &g.name.value),
            id: None,
            vpc: address("vpc", &g.spec.vpc.value),
        });
    }
    for g in &t.nat_gateways {
        n.nat_gateways.push(NatGateway {
            key: address("nat-gateway", &g.name.value),
            id: None,
            subnet: address("subnet", &g.spec.subnet.value),
            public: g.spec.connectivity() == Connectivity::Public,
        });
    }
    for p in &t.peerings {
        n.peerings.push(Peering {
            key: address("vpc-peering", &p.name.value),
            id: None,
            requester: address("vpc", &p.spec.requester.value),
            accepter: address("vpc", &p.spec.accepter.value),
            status: "active".into(),
        });
    }
    n
}

/// Each subnet's /64 of its VPC's block (a stand-in until AWS assigns it).
fn place_ipv6_subnets(n: &mut Network, t: &Topology) {
    for (subnet, declared) in n.subnets.iter_mut().zip(&t.subnets) {
        let block = n
            .vpcs
            .iter()
            .find(|v| v.key == subnet.vpc)
            .and_then(|v| v.ipv6);
        subnet.ipv6_cidr = match (block, &declared.spec.ipv6_index) {
            (Some(b), Some(index)) => u8::try_from(index.value)
                .ok()
                .map(|i| vpcform_topology::kinds::subnet::ipv6_subnet(b.cidr, i)),
            (None, _) | (_, None) => None,
        };
    }
}

/// Declared tables: CIDR routes, and routes to declared prefix lists
/// (which compete by the list's entries, as a gateway endpoint's do).
fn add_route_tables(n: &mut Network, t: &Topology) {
    use vpcform_topology::Destination;
    let routes = t.effective_routes();
    for rt in &t.route_tables {
        let key = address("route-table", &rt.name.value);
        let mut table = RouteTable {
            key: key.clone(),
            id: None,
            vpc: address("vpc", &rt.spec.vpc.value),
            main: false,
            routes: Vec::new(),
            prefix_list_routes: Vec::new(),
        };
        for r in routes.iter().filter(|r| r.table == rt.name.value) {
            let target = RouteTarget::To(r.target.kind, r.target.address().to_string());
            match &r.destination {
                Destination::Cidr(destination) => table.routes.push(Route {
                    destination: *destination,
                    target,
                }),
                Destination::PrefixList(list) => table
                    .prefix_list_routes
                    .push((address("prefix-list", list), target)),
            }
        }
        n.route_tables.push(table);
    }
}

fn add_filters(n: &mut Network, t: &Topology) {
    for a in &t.network_acls {
        n.network_acls.push(NetworkAcl {
            key: address("network-acl", &a.name.value),
            id: None,
            vpc: address("vpc", &a.spec.vpc.value),
            default: false,
            entries: a
                .spec
                .entries()
                .map(|(direction, e)| {
                    let e = e.normalise(direction);
                    AclEntry {
                        direction,
                        number: e.rule_number,
                        protocol: e.protocol,
                        from: e.from_port,
                        to: e.to_port,
                        cidr: e.cidr,
                        allow: e.action == vpcform_topology::kinds::network_acl::AclAction::Allow,
                    }
                })
                .collect(),
        });
    }
    for g in &t.security_groups {
        let mut rules: Vec<SgRule> = g
            .spec
            .rules()
            .filter_map(|(d, r)| r.normalise(d))
            .map(|r| SgRule {
                direction: r.direction,
                protocol: r.protocol,
                from: r.from_port,
                to: r.to_port,
                peer: match r.peer {
                    vpcform_topology::Peer::Cidr(c) => SgPeer::Cidr(c),
                    vpcform_topology::Peer::SecurityGroup(s) => {
                        SgPeer::Group(address("security-group", &s))
                    }
                    vpcform_topology::Peer::PrefixList(p) => SgPeer::PrefixList(list_key(t, &p)),
                },
            })
            .collect();
        if g.spec.egress.is_none() {
            // Unmanaged egress: AWS's default allow-all rules stay (IPv6's in a VPC with IPv6).
            let ipv6 = t
                .vpcs
                .iter()
                .any(|v| v.name.value == g.spec.vpc.value && v.spec.has_ipv6());
            let mut everything = vec![IpNet::V4(Ipv4Net::default())];
            if ipv6 {
                everything.push(IpNet::V6(Ipv6Net::default()));
            }
            rules.extend(everything.into_iter().map(|cidr| SgRule {
                direction: Direction::Egress,
                protocol: Protocol::All,
                from: -1,
                to: -1,
                peer: SgPeer::Cidr(cidr),
            }));
        }
        n.security_groups.push(SecurityGroup {
            key: address("security-group", &g.name.value),
            id: None,
            vpc: address("vpc", &g.spec.vpc.value),
            rules,
        });
    }
}

/// How reach keys the list a rule names: a declared one by address, AWS's
/// list of a service by `service:NAME` (as gateway endpoints do), another
/// of AWS's by its name.
fn list_key(t: &Topology, name: &str) -> String {
    use vpcform_topology::kinds::prefix_list::{aws_service_of, is_aws_managed};
    let region = t.region.as_ref().map_or("", |r| r.value.as_str());
    match aws_service_of(name, region) {
        Some(service) => service_list_key(service),
        None if is_aws_managed(name) => name.to_string(),
        None => address("prefix-list", name),
    }
}

/// AWS's lists that rules name, their entries unknown offline.
fn add_aws_lists_of_rules(n: &mut Network, t: &Topology) {
    let region = t.region.as_ref().map_or("", |r| r.value.as_str());
    for name in t.aws_prefix_lists_in_rules() {
        let key = list_key(t, &name.value);
        if n.prefix_lists.iter().any(|p| p.key == key) {
            continue;
        }
        n.prefix_lists.push(PrefixList {
            key,
            id: None,
            name: Some(name.value.clone()),
            service: vpcform_topology::kinds::prefix_list::aws_service_of(&name.value, region)
                .map(str::to_string),
            entries: None,
        });
    }
}

/// Customer-managed lists with their entries.
fn add_prefix_lists(n: &mut Network, t: &Topology) {
    for p in &t.prefix_lists {
        let entries = p.spec.entries.iter().map(|e| e.cidr.value).collect();
        n.prefix_lists.push(PrefixList {
            key: address("prefix-list", &p.name.value),
            id: None,
            name: Some(
                p.spec
                    .name
                    .as_ref()
                    .map_or(p.name.value.clone(), |x| x.value.clone()),
            ),
            service: None,
            entries: Some(entries),
        });
    }
}

/// Endpoints; a gateway endpoint's route to its service's list (whose
/// addresses AWS publishes: unknown offline) in each of its tables.
fn add_endpoints(n: &mut Network, t: &Topology) {
    use vpcform_topology::kinds::vpc_endpoint::EndpointType;
    for e in &t.vpc_endpoints {
        let key = address("vpc-endpoint", &e.name.value);
        let service = e.spec.service.value.clone();
        let gateway = e.spec.endpoint_type() == EndpointType::Gateway;
        if gateway {
            let list = service_list_key(&service);
            if !n.prefix_lists.iter().any(|p| p.key == list) {
                n.prefix_lists.push(PrefixList {
                    key: list.clone(),
                    id: None,
                    name: t
                        .region
                        .as_ref()
                        .map(|r| format!("com.amazonaws.{}.{service}", r.value)),
                    service: Some(service.clone()),
                    entries: None,
                });
            }
            for table in &e.spec.route_tables {
                let table = address("route-table", &table.value);
                if let Some(rt) = n.route_tables.iter_mut().find(|rt| rt.key == table) {
                    rt.prefix_list_routes
                        .push((list.clone(), RouteTarget::GatewayEndpoint(key.clone())));
                }
            }
        }
        n.vpc_endpoints.push(VpcEndpoint {
            key,
            id: None,
            vpc: address("vpc", &e.spec.vpc.value),
            service,
            gateway,
            interfaces: e
                .spec
                .subnets
                .iter()
                .map(|s| crate::model::EndpointInterface {
                    subnet: address("subnet", &s.value),
                    id: None,
                    ip: None,
                })
                .collect(),
            security_groups: e
                .spec
                .security_groups
                .iter()
                .map(|g| address("security-group", &g.value))
                .collect(),
        });
    }
}

/// Transit gateways, their attachments (with each one's association) and
/// route tables (static routes and propagations).
fn add_transit_gateways(n: &mut Network, t: &Topology) {
    use vpcform_topology::Destination;
    use vpcform_topology::kinds::transit_gateway_route_table::TgwTarget;
    for g in &t.transit_gateways {
        n.transit_gateways.push(TransitGateway {
            key: address("transit-gateway", &g.name.value),
            id: None,
        });
    }
    let attachment = |name: &str| address("transit-gateway-attachment", name);
    for a in &t.transit_gateway_attachments {
        n.tgw_attachments.push(TgwAttachment {
            key: attachment(&a.name.value),
            id: None,
            gateway: address("transit-gateway", &a.spec.transit_gateway.value),
            vpc: address("vpc", &a.spec.vpc.value),
            subnets: a
                .spec
                .subnets
                .iter()
                .map(|s| address("subnet", &s.value))
                .collect(),
            route_table: a
                .spec
                .route_table
                .as_ref()
                .map(|r| address("transit-gateway-route-table", &r.value)),
            ipv6: a.spec.ipv6_support.as_ref().is_some_and(|v| v.value),
        });
    }
    for rt in &t.transit_gateway_route_tables {
        let routes = rt
            .spec
            .routes
            .iter()
            .map(|r| TgwRoute {
                destination: match &r.destination.value {
                    Destination::Cidr(c) => TgwDestination::Cidr(*c),
                    Destination::PrefixList(l) => TgwDestination::PrefixList(list_key(t, l)),
                },
                attachment: match &r.target {
                    TgwTarget::Attachment(a) => Some(attachment(&a.value)),
                    TgwTarget::Blackhole(_) => None,
                },
            })
            .collect();
        n.tgw_route_tables.push(TgwRouteTable {
            key: address("transit-gateway-route-table", &rt.name.value),
            id: None,
            gateway: address("transit-gateway", &rt.spec.transit_gateway.value),
            routes,
            propagations: rt
                .spec
                .propagations
                .iter()
                .map(|p| attachment(&p.value))
                .collect(),
        });
    }
}

/// Routes in declared tables that go through what the stack does not manage
/// (a NAT gateway, a transit gateway, another team's peering): the plan
/// never deletes them, so the planned network keeps them.
fn keep_unmanaged_routes(n: &mut Network, live: &Network) {
    for table in &mut n.route_tables {
        let Some(live_table) = live.route_tables.iter().find(|t| t.key == table.key) else {
            continue;
        };
        for route in &live_table.routes {
            let unmanaged = match &route.target {
                RouteTarget::Unmodeled { .. } | RouteTarget::Blackhole(_) => true,
                RouteTarget::GatewayEndpoint(key) => key.starts_with("vpce-"),
                // Known by its id, not an address: the stack does not own it.
                RouteTarget::To(kind, key) => key.starts_with(kind.id_prefix()),
            };
            if unmanaged
                && !table
                    .routes
                    .iter()
                    .any(|r| r.destination == route.destination)
            {
                table.routes.push(route.clone());
            }
        }
    }
}

/// The network once a plan is applied: the declared objects, with the live
/// ids and addresses of those that already exist, plus what AWS holds that
/// vpcform does not manage (each existing VPC's main route table and
/// default network ACL, as they are now).
pub fn planned(declared: &Network, live: &Network) -> Network {
    let mut n = declared.clone();
    let live_vpcs: Vec<String> = n
        .vpcs
        .iter()
        .filter(|v| live.vpc(&v.key).is_some())
        .map(|v| v.key.clone())
        .collect();
    let live_vpcs: Vec<&str> = live_vpcs.iter().map(String::as_str).collect();
    n.route_tables
        .retain(|t| !(t.main && live_vpcs.contains(&t.vpc.as_str())));
    n.route_tables.extend(
        live.route_tables
            .iter()
            .filter(|t| t.main && live_vpcs.contains(&t.vpc.as_str()))
            .cloned(),
    );
    n.network_acls
        .retain(|a| !(a.default && live_vpcs.contains(&a.vpc.as_str())));
    n.network_acls.extend(
        live.network_acls
            .iter()
            .filter(|a| a.default && live_vpcs.contains(&a.vpc.as_str()))
            .cloned(),
    );
    keep_unmanaged_routes(&mut n, live);
    macro_rules! ids {
        ($($field:ident),*) => {$(
            for x in &mut n.$field {
                if let Some(l) = live.$field.iter().find(|l| l.key == x.key) {
                    x.id = l.id.clone();
                }
            }
        )*};
    }
    ids!(
        vpcs,
        subnets,
        route_tables,
        network_acls,
        security_groups,
        internet_gateways,
        peerings,
        nat_gateways
    );
    ids!(prefix_lists, vpc_endpoints, egress_only_gateways);
    ids!(transit_gateways, tgw_attachments, tgw_route_tables);
    for s in n.subnets.iter_mut().filter(|s| s.az.is_none()) {
        s.az = live.subnet(&s.key).and_then(|l| l.az.clone());
    }
    with_live_addresses(&mut n, live);
    with_live_ipv6_blocks(&mut n, live);
    for i in &mut n.instances {
        if let Some(l) = live
            .instances
            .iter()
            .find(|l| l.key == i.key && l.subnet == i.subnet)
        {
            i.id = l.id.clone();
            i.private_ip = l.private_ip;
            i.public_ip = l.public_ip;
            i.ipv6 = l.ipv6.filter(|_| i.has_ipv6);
        }
    }
    n
}

/// The IPv6 blocks AWS has assigned to VPCs that have one, and the
/// subnets' /64s in them (the same index: the address's eighth byte).
fn with_live_ipv6_blocks(n: &mut Network, live: &Network) {
    for v in &mut n.vpcs {
        let assigned = live.vpc(&v.key).and_then(|l| l.ipv6);
        if let (Some(block), Some(assigned)) = (&mut v.ipv6, assigned) {
            *block = assigned;
        }
    }
    for s in &mut n.subnets {
        let block = n.vpcs.iter().find(|v| v.key == s.vpc).and_then(|v| v.ipv6);
        if let (Some(cidr), Some(block)) = (&mut s.ipv6_cidr, block) {
            let index = cidr.network().octets()[7];
            *cidr = vpcform_topology::kinds::subnet::ipv6_subnet(block.cidr, index);
        }
    }
}

/// What only the account knows: AWS's lists' entries, endpoints' addresses.
fn with_live_addresses(n: &mut Network, live: &Network) {
    for p in n.prefix_lists.iter_mut().filter(|p| p.entries.is_none()) {
        if let Some(l) = live.prefix_lists.iter().find(|l| l.key == p.key) {
            p.entries = l.entries.clone();
            p.id = l.id.clone();
            p.name = l.name.clone();
        }
    }
    for e in &mut n.vpc_endpoints {
        if let Some(l) = live.vpc_endpoints.iter().find(|l| l.key == e.key) {
            for i in &mut e.interfaces {
                if let Some(live) = l.interfaces.iter().find(|x| x.subnet == i.subnet) {
                    i.id = live.id.clone();
                    i.ip = live.ip;
                }
            }
        }
    }
    // AWS's service lists the live network holds (an S3 list of a live
    // endpoint) count for the planned one too.
    for l in live.prefix_lists.iter().filter(|l| l.service.is_some()) {
        if !n.prefix_lists.iter().any(|p| p.key == l.key) {
            n.prefix_lists.push(l.clone());
        }
    }
}
