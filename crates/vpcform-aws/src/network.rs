//! The live network of a stack's VPCs for reachability (`reach --live`):
//! every object in those VPCs, owned by the stack or not (each VPC's main
//! route table and default ACL, routes, rules and entries added by hand),
//! and the VPCs they peer with. One call per kind, filtered by VPC.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;
use ipnet::{IpNet, Ipv4Net};
use vpcform_reach::{
    AclEntry, EgressOnlyGateway, Instance, InternetGateway, Ipv6Block, NatGateway, Network,
    NetworkAcl, Peering, PrefixList, Route, RouteTable, RouteTarget, SecurityGroup, SgPeer, SgRule,
    Subnet, Vpc, VpcEndpoint, service_list_key,
};
use vpcform_topology::{Direction, Peer, Protocol, TargetKind, Topology, target_description};

use crate::kinds::{
    egress_only_gateway, instance, internet_gateway, nat_gateway, network_acl, peering,
    prefix_list, route_table, security_group, subnet, vpc, vpc_endpoint,
};
use crate::read::{Select, ec2_tags, stack_filter};

mod tgw;
use crate::{Aws, AwsError};

/// Names objects as plans do: the vpcform address of what the stack owns, else the AWS id.
#[derive(Default)]
struct Names(BTreeMap<String, String>);

impl Names {
    fn learn(&mut self, id: &str, tags: &[aws_sdk_ec2::types::Tag], stack: &str) {
        let tags = ec2_tags(tags);
        if tags.get(vpcform_diff::TAG_STACK).map(String::as_str) == Some(stack)
            && let Some(address) = tags.get(vpcform_diff::TAG_ADDRESS)
        {
            self.0.insert(
                id.to_string(),
                vpcform_topology::Address::from_tag(address)
                    .map_or_else(|| address.clone(), |a| a.to_string()),
            );
        }
    }

    fn of(&self, id: &str) -> String {
        self.0.get(id).cloned().unwrap_or_else(|| id.to_string())
    }
}

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

/// The stack's VPCs: those tagged for it, and those the topology adopts
/// (before they carry the tags; one that does not exist is the plan's
/// error to report, not ours).
async fn stack_vpcs(aws: &Aws, topology: &Topology) -> Result<Vec<String>, AwsError> {
    let own = vpc::describe(aws, Select::Filter(stack_filter(&topology.stack.value))).await?;
    let mut vpc_ids: Vec<String> = own
        .iter()
        .filter_map(|v| v.vpc_id())
        .map(str::to_string)
        .collect();
    for i in topology.imports() {
        let id = &i.id.value;
        if i.address.kind != vpcform_topology::ResourceKind::Vpc || vpc_ids.contains(id) {
            continue;
        }
        match vpc::describe(aws, Select::Ids(vec![id.clone()])).await {
            Ok(found) if !found.is_empty() => vpc_ids.push(id.clone()),
            Ok(_) => {}
            Err(e) if crate::apply::gone(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(vpc_ids)
}

/// Reads the stack's VPCs, the VPCs they peer with, and everything in them.
pub async fn read_network(aws: &Aws, topology: &Topology) -> Result<Network, AwsError> {
    let stack = topology.stack.value.as_str();
    let mut vpc_ids = stack_vpcs(aws, topology).await?;
    // Objects the topology adopts go by their addresses before they carry the tags.
    let mut names = Names(
        topology
            .imports()
            .into_iter()
            .map(|i| (i.id.value.clone(), i.address.to_string()))
            .collect(),
    );
    let mut net = Network::default();
    if vpc_ids.is_empty() {
        return Ok(net);
    }
    // Peerings first: their other ends belong to the network too.
    let (as_requester, as_accepter) = tokio::try_join!(
        peering::describe(
            aws,
            Select::Filter(filter("requester-vpc-info.vpc-id", &vpc_ids))
        ),
        peering::describe(
            aws,
            Select::Filter(filter("accepter-vpc-info.vpc-id", &vpc_ids))
        ),
    )?;
    let mut peerings = BTreeMap::new();
    for p in as_requester.iter().chain(&as_accepter) {
        let status = p
            .status()
            .and_then(|s| s.code())
            .map_or("unknown", |c| c.as_str());
        if matches!(status, "deleted" | "rejected" | "failed" | "expired") {
            continue;
        }
        if let Some(id) = p.vpc_peering_connection_id() {
            names.learn(id, p.tags(), stack);
            peerings.insert(id.to_string(), p.clone());
            for side in [
                p.requester_vpc_info().and_then(|v| v.vpc_id()),
                p.accepter_vpc_info().and_then(|v| v.vpc_id()),
            ]
            .into_iter()
            .flatten()
            {
                if !vpc_ids.iter().any(|v| v == side) {
                    vpc_ids.push(side.to_string());
                }
            }
        }
    }
    // Transit gateways too: the VPCs of their other attachments belong to the network.
    let gateways = tgw::read(aws, &vpc_ids).await?;
    tgw::learn(&gateways, &mut names, stack);
    for v in tgw::vpcs_of(&gateways) {
        if !vpc_ids.iter().any(|x| x == v) {
            vpc_ids.push(v.to_string());
        }
    }
    let all_vpcs = vpc::describe(aws, Select::Ids(vpc_ids.clone())).await?;
    for v in &all_vpcs {
        let id = v.vpc_id().unwrap_or_default();
        names.learn(id, v.tags(), stack);
    }
    let by_vpc = || Select::Filter(filter("vpc-id", &vpc_ids));
    let (subnets, tables, acls, groups, instances, igws, nats, endpoints) = tokio::try_join!(
        subnet::describe(aws, by_vpc()),
        route_table::describe(aws, by_vpc()),
        network_acl::describe(aws, by_vpc()),
        security_group::describe(aws, by_vpc()),
        instance::describe(aws, by_vpc()),
        internet_gateway::describe(aws, Select::Filter(filter("attachment.vpc-id", &vpc_ids))),
        nat_gateway::describe(aws, by_vpc()),
        vpc_endpoint::describe(aws, by_vpc()),
    )?;
    let egress_only: Vec<_> = egress_only_gateway::all(aws)
        .await?
        .into_iter()
        .filter(|g| egress_only_gateway::vpc_of(g).is_some_and(|v| vpc_ids.iter().any(|x| x == v)))
        .collect();
    for g in &egress_only {
        let id = g.egress_only_internet_gateway_id().unwrap_or_default();
        names.learn(id, g.tags(), stack);
    }
    // Learn every name before building, so references use them.
    for s in &subnets {
        names.learn(s.subnet_id().unwrap_or_default(), s.tags(), stack);
    }
    for t in &tables {
        names.learn(t.route_table_id().unwrap_or_default(), t.tags(), stack);
    }
    for a in &acls {
        names.learn(a.network_acl_id().unwrap_or_default(), a.tags(), stack);
    }
    for g in &groups {
        names.learn(g.group_id().unwrap_or_default(), g.tags(), stack);
    }
    for g in &igws {
        names.learn(g.internet_gateway_id().unwrap_or_default(), g.tags(), stack);
    }
    for i in &instances {
        names.learn(i.instance_id().unwrap_or_default(), i.tags(), stack);
    }
    for n in &nats {
        names.learn(n.nat_gateway_id().unwrap_or_default(), n.tags(), stack);
    }
    for e in &endpoints {
        names.learn(e.vpc_endpoint_id().unwrap_or_default(), e.tags(), stack);
    }
    let lists = read_prefix_lists(aws, topology, &tables, &groups, &mut names).await?;

    add_vpcs(&mut net, &names, &all_vpcs);
    add_subnets(&mut net, &names, &subnets, &tables, &acls);
    add_tables(&mut net, &names, &tables);
    add_acls(&mut net, &names, &acls);
    add_groups(&mut net, &names, &groups);
    add_instances(&mut net, &names, &instances);
    add_internet_gateways(&mut net, &names, &igws);
    add_egress_only_gateways(&mut net, &names, &egress_only);
    add_nat_gateways(&mut net, &names, &nats);
    net.prefix_lists = lists;
    tgw::add(&mut net, &names, &gateways);
    add_endpoints(aws, &mut net, &names, &endpoints).await?;
    for (id, p) in &peerings {
        net.peerings.push(Peering {
            key: names.of(id),
            id: Some(id.clone()),
            requester: names.of(p
                .requester_vpc_info()
                .and_then(|v| v.vpc_id())
                .unwrap_or_default()),
            accepter: names.of(p
                .accepter_vpc_info()
                .and_then(|v| v.vpc_id())
                .unwrap_or_default()),
            status: p
                .status()
                .and_then(|s| s.code())
                .map_or("unknown", |c| c.as_str())
                .to_string(),
        });
    }
    Ok(net)
}

/// Each VPC with its associated blocks: IPv4 (primary, secondary) and IPv6.
fn add_vpcs(net: &mut Network, names: &Names, vpcs: &[aws_sdk_ec2::types::Vpc]) {
    for v in vpcs {
        let id = v.vpc_id().unwrap_or_default();
        if let Some(cidr) = v.cidr_block().and_then(|c| c.parse::<Ipv4Net>().ok()) {
            let secondary_cidrs = v
                .cidr_block_association_set()
                .iter()
                .filter(|b| {
                    b.cidr_block_state()
                        .and_then(|s| s.state())
                        .is_some_and(|s| s.as_str() == "associated")
                })
                .filter_map(|b| b.cidr_block()?.parse::<Ipv4Net>().ok())
                .filter(|c| *c != cidr)
                .collect();
            // Any pool's block is the VPC's to route, declared or not.
            let ipv6 = v
                .ipv6_cidr_block_association_set()
                .iter()
                .filter(|b| vpc::ipv6_in_use(b))
                .find_map(|b| b.ipv6_cidr_block()?.parse().ok())
                .map(|cidr| Ipv6Block {
                    cidr,
                    assigned_on_apply: false,
                });
            net.vpcs.push(Vpc {
                key: names.of(id),
                id: Some(id.into()),
                cidr,
                secondary_cidrs,
                ipv6,
                tags: ec2_tags(v.tags())
                    .into_iter()
                    .filter(|(k, _)| !k.starts_with("vpcform:") && !k.starts_with("aws:"))
                    .collect(),
            });
        }
    }
}

fn add_egress_only_gateways(
    net: &mut Network,
    names: &Names,
    gateways: &[aws_sdk_ec2::types::EgressOnlyInternetGateway],
) {
    for g in gateways {
        let id = g.egress_only_internet_gateway_id().unwrap_or_default();
        net.egress_only_gateways.push(EgressOnlyGateway {
            key: names.of(id),
            id: Some(id.into()),
            vpc: names.of(egress_only_gateway::vpc_of(g).unwrap_or_default()),
        });
    }
}

fn add_instances(net: &mut Network, names: &Names, instances: &[aws_sdk_ec2::types::Instance]) {
    for i in instances {
        let id = i.instance_id().unwrap_or_default();
        let ipv6 = i
            .network_interfaces()
            .iter()
            .flat_map(|n| n.ipv6_addresses())
            .find_map(|a| a.ipv6_address()?.parse().ok());
        net.instances.push(Instance {
            key: names.of(id),
            id: Some(id.into()),
            subnet: names.of(i.subnet_id().unwrap_or_default()),
            private_ip: i.private_ip_address().and_then(|a| a.parse().ok()),
            public_ip: i.public_ip_address().is_some(),
            has_ipv6: ipv6.is_some(),
            ipv6,
            security_groups: i
                .security_groups()
                .iter()
                .filter_map(|g| g.group_id())
                .map(|g| names.of(g))
                .collect(),
        });
    }
}

fn add_internet_gateways(
    net: &mut Network,
    names: &Names,
    igws: &[aws_sdk_ec2::types::InternetGateway],
) {
    for g in igws {
        let id = g.internet_gateway_id().unwrap_or_default();
        let vpc = g
            .attachments()
            .iter()
            .find(|a| a.state().is_none_or(|s| s.as_str() != "detached"))
            .and_then(|a| a.vpc_id());
        net.internet_gateways.push(InternetGateway {
            key: names.of(id),
            id: Some(id.into()),
            vpc: vpc.map(|v| names.of(v)),
        });
    }
}

fn add_subnets(
    net: &mut Network,
    names: &Names,
    subnets: &[aws_sdk_ec2::types::Subnet],
    tables: &[aws_sdk_ec2::types::RouteTable],
    acls: &[aws_sdk_ec2::types::NetworkAcl],
) {
    for s in subnets {
        let id = s.subnet_id().unwrap_or_default();
        let Some(cidr) = s.cidr_block().and_then(|c| c.parse::<Ipv4Net>().ok()) else {
            continue;
        };
        let table = tables.iter().find(|t| {
            t.associations()
                .iter()
                .any(|a| a.subnet_id() == Some(id) && a.main() != Some(true))
        });
        let acl = acls
            .iter()
            .find(|a| a.associations().iter().any(|x| x.subnet_id() == Some(id)));
        net.subnets.push(Subnet {
            key: names.of(id),
            id: Some(id.into()),
            vpc: names.of(s.vpc_id().unwrap_or_default()),
            cidr,
            az: s.availability_zone().map(str::to_string),
            ipv6_cidr: subnet::ipv6_block(s).map(|(_, cidr)| cidr),
            assign_ipv6: s.assign_ipv6_address_on_creation().unwrap_or(false),
            route_table: table.and_then(|t| t.route_table_id()).map(|t| names.of(t)),
            network_acl: acl.and_then(|a| a.network_acl_id()).map(|a| names.of(a)),
            map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
        });
    }
}

fn add_tables(net: &mut Network, names: &Names, tables: &[aws_sdk_ec2::types::RouteTable]) {
    for t in tables {
        let id = t.route_table_id().unwrap_or_default();
        let mut routes = Vec::new();
        let mut prefix_list_routes = Vec::new();
        for r in t.routes() {
            if let Some(list) = r.destination_prefix_list_id() {
                prefix_list_routes.push((names.of(list), route_target(r, names)));
                continue;
            }
            let Some(destination) = r
                .destination_cidr_block()
                .or(r.destination_ipv6_cidr_block())
                .and_then(|d| d.parse::<IpNet>().ok())
            else {
                continue;
            };
            if r.gateway_id() == Some("local") {
                continue; // the VPC's local route is implicit in the model
            }
            let target = route_target(r, names);
            routes.push(Route {
                destination,
                target,
            });
        }
        net.route_tables.push(RouteTable {
            key: names.of(id),
            id: Some(id.into()),
            vpc: names.of(t.vpc_id().unwrap_or_default()),
            main: t.associations().iter().any(|a| a.main() == Some(true)),
            routes,
            prefix_list_routes,
        });
    }
}

/// A live route's target in the model: a blackhole when AWS says so, a
/// declared kind by key, else a target the model does not know.
fn route_target(r: &aws_sdk_ec2::types::Route, names: &Names) -> RouteTarget {
    let id = route_table::target_id(r).unwrap_or("an unknown target");
    if r.state() == Some(&aws_sdk_ec2::types::RouteState::Blackhole) {
        return RouteTarget::Blackhole(id.to_string());
    }
    match TargetKind::from_id(id) {
        Some(kind) => RouteTarget::To(kind, names.of(id)),
        None if id.starts_with("vpce-") && r.destination_prefix_list_id().is_some() => {
            RouteTarget::GatewayEndpoint(names.of(id))
        }
        None => RouteTarget::Unmodeled {
            what: target_description(id).to_string(),
            id: id.to_string(),
        },
    }
}

/// The prefix lists the routes and rules name, and AWS's lists of the
/// services the topology's gateway endpoints use, with their entries (one
/// describe by id, one by name, then the entries of each list). AWS's
/// lists go by `service:NAME`, so a planned endpoint finds them.
async fn read_prefix_lists(
    aws: &Aws,
    topology: &Topology,
    tables: &[aws_sdk_ec2::types::RouteTable],
    groups: &[aws_sdk_ec2::types::SecurityGroup],
    names: &mut Names,
) -> Result<Vec<PrefixList>, AwsError> {
    let mut ids: Vec<String> = tables
        .iter()
        .flat_map(|t| t.routes())
        .filter_map(|r| r.destination_prefix_list_id())
        .chain(groups.iter().flat_map(|g| {
            security_group::permissions(g)
                .flat_map(|(_, p)| p.prefix_list_ids())
                .filter_map(|l| l.prefix_list_id())
        }))
        .map(str::to_string)
        .collect();
    ids.sort();
    ids.dedup();
    // AWS's lists the topology names: its gateway endpoints' services'
    // (AWS has lists for those only) and those its rules name.
    let mut wanted: Vec<String> = topology
        .vpc_endpoints
        .iter()
        .filter(|e| {
            e.spec.endpoint_type() == vpcform_topology::kinds::vpc_endpoint::EndpointType::Gateway
        })
        .map(|e| {
            vpcform_topology::kinds::vpc_endpoint::service_name(&e.spec.service.value, aws.region())
        })
        .chain(
            topology
                .aws_prefix_lists_in_rules()
                .map(|l| l.value.clone()),
        )
        .collect();
    wanted.sort();
    wanted.dedup();
    let mut found = Vec::new();
    if !ids.is_empty() {
        found.extend(lists_by_id(aws, ids).await?);
    }
    if !wanted.is_empty() {
        let by_name =
            prefix_list::describe(aws, Select::Filter(filter("prefix-list-name", &wanted)));
        found.extend(by_name.await?);
    }
    found.sort_by(|a, b| a.prefix_list_id().cmp(&b.prefix_list_id()));
    found.dedup_by(|a, b| a.prefix_list_id() == b.prefix_list_id());
    let entries = futures::future::try_join_all(
        found
            .iter()
            .map(|l| prefix_list::entries_of(aws, l.prefix_list_id().unwrap_or_default())),
    )
    .await?;
    let mut out = Vec::new();
    for (l, entries) in found.iter().zip(entries) {
        let id = l.prefix_list_id().unwrap_or_default();
        let name = l.prefix_list_name().unwrap_or_default();
        let service = name
            .strip_prefix(&format!("com.amazonaws.{}.", aws.region()))
            .filter(|_| prefix_list::aws_owned(l))
            .map(str::to_string);
        match &service {
            Some(service) => {
                names.0.insert(id.to_string(), service_list_key(service));
            }
            // AWS's other lists (global ones) go by AWS's name, as rules name them.
            None if prefix_list::aws_owned(l) => {
                names.0.insert(id.to_string(), name.to_string());
            }
            None => names.learn(id, l.tags(), &topology.stack.value),
        }
        out.push(PrefixList {
            key: names.of(id),
            id: Some(id.to_string()),
            name: Some(name.to_string()),
            service,
            entries: Some(entries.iter().filter_map(|(c, _)| c.parse().ok()).collect()),
        });
    }
    Ok(out)
}

/// Lists by id. AWS refuses the whole call for one unknown id (a list
/// deleted under a route): then each is asked alone, and an unknown one
/// stays without addresses (reach says so).
async fn lists_by_id(
    aws: &Aws,
    ids: Vec<String>,
) -> Result<Vec<aws_sdk_ec2::types::ManagedPrefixList>, AwsError> {
    match prefix_list::describe(aws, Select::Ids(ids.clone())).await {
        Err(e) if crate::apply::gone(&e) => {}
        other => return other,
    }
    let mut found = Vec::new();
    for id in ids {
        match prefix_list::describe(aws, Select::Ids(vec![id])).await {
            Ok(lists) => found.extend(lists),
            Err(e) if crate::apply::gone(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

/// Endpoints, an interface endpoint with the address of its interface in
/// each subnet (placed by the interface's subnet: moto's addresses may lie outside it).
async fn add_endpoints(
    aws: &Aws,
    net: &mut Network,
    names: &Names,
    endpoints: &[aws_sdk_ec2::types::VpcEndpoint],
) -> Result<(), AwsError> {
    use aws_sdk_ec2::types::VpcEndpointType;
    let live: Vec<_> = endpoints
        .iter()
        .filter(|e| vpc_endpoint::state_is(e, "available") || vpc_endpoint::state_is(e, "pending"))
        .collect();
    let enis: Vec<String> = live
        .iter()
        .flat_map(|e| e.network_interface_ids())
        .cloned()
        .collect();
    let interfaces = if enis.is_empty() {
        Vec::new()
    } else {
        aws.ec2
            .describe_network_interfaces()
            .set_network_interface_ids(Some(enis))
            .send()
            .await
            .map_err(|e| aws.error("ec2:DescribeNetworkInterfaces", e))?
            .network_interfaces
            .unwrap_or_default()
    };
    for e in live {
        let id = e.vpc_endpoint_id().unwrap_or_default();
        let mine = |i: &&aws_sdk_ec2::types::NetworkInterface| {
            i.network_interface_id()
                .is_some_and(|n| e.network_interface_ids().iter().any(|x| x == n))
        };
        net.vpc_endpoints.push(VpcEndpoint {
            key: names.of(id),
            id: Some(id.to_string()),
            vpc: names.of(e.vpc_id().unwrap_or_default()),
            service: vpcform_topology::kinds::vpc_endpoint::short_service(
                e.service_name().unwrap_or_default(),
                aws.region(),
            ),
            gateway: e.vpc_endpoint_type() == Some(&VpcEndpointType::Gateway),
            interfaces: e
                .subnet_ids()
                .iter()
                .map(|s| {
                    let eni = interfaces
                        .iter()
                        .filter(mine)
                        .find(|i| i.subnet_id() == Some(s.as_str()));
                    vpcform_reach::EndpointInterface {
                        subnet: names.of(s),
                        id: eni
                            .and_then(|i| i.network_interface_id())
                            .map(str::to_string),
                        ip: eni
                            .and_then(|i| i.private_ip_address())
                            .and_then(|ip| ip.parse().ok()),
                    }
                })
                .collect(),
            security_groups: e
                .groups()
                .iter()
                .filter_map(|g| g.group_id())
                .map(|g| names.of(g))
                .collect(),
        });
    }
    Ok(())
}

/// NAT gateways placed by their subnet (moto gives their interfaces
/// addresses outside it); deleted and failed ones carry nothing.
fn add_nat_gateways(net: &mut Network, names: &Names, nats: &[aws_sdk_ec2::types::NatGateway]) {
    use aws_sdk_ec2::types::{ConnectivityType, NatGatewayState};
    for n in nats {
        if !matches!(
            n.state(),
            Some(NatGatewayState::Available | NatGatewayState::Pending)
        ) {
            continue;
        }
        let id = n.nat_gateway_id().unwrap_or_default();
        net.nat_gateways.push(NatGateway {
            key: names.of(id),
            id: Some(id.into()),
            subnet: names.of(n.subnet_id().unwrap_or_default()),
            public: n.connectivity_type() != Some(&ConnectivityType::Private),
        });
    }
}

fn add_acls(net: &mut Network, names: &Names, acls: &[aws_sdk_ec2::types::NetworkAcl]) {
    for a in acls {
        let id = a.network_acl_id().unwrap_or_default();
        let entries = a
            .entries()
            .iter()
            .filter(|e| e.rule_number() != Some(32767))
            .filter_map(|e| {
                let protocol = Protocol::from_aws(e.protocol()?)?;
                let (from, to) = match protocol {
                    Protocol::Icmp | Protocol::Icmpv6 => e.icmp_type_code().map_or((-1, -1), |c| {
                        (
                            i64::from(c.r#type().unwrap_or(-1)),
                            i64::from(c.code().unwrap_or(-1)),
                        )
                    }),
                    Protocol::Tcp | Protocol::Udp => e.port_range().map_or((0, 65535), |r| {
                        (
                            i64::from(r.from().unwrap_or(0)),
                            i64::from(r.to().unwrap_or(65535)),
                        )
                    }),
                    Protocol::All | Protocol::Number(_) => (-1, -1),
                };
                Some(AclEntry {
                    direction: if e.egress() == Some(true) {
                        Direction::Egress
                    } else {
                        Direction::Ingress
                    },
                    number: i64::from(e.rule_number()?),
                    protocol,
                    from,
                    to,
                    cidr: e.cidr_block().or(e.ipv6_cidr_block())?.parse().ok()?,
                    allow: e.rule_action().is_some_and(|r| r.as_str() == "allow"),
                })
            })
            .collect();
        net.network_acls.push(NetworkAcl {
            key: names.of(id),
            id: Some(id.into()),
            vpc: names.of(a.vpc_id().unwrap_or_default()),
            default: a.is_default() == Some(true),
            entries,
        });
    }
}

fn add_groups(net: &mut Network, names: &Names, groups: &[aws_sdk_ec2::types::SecurityGroup]) {
    for g in groups {
        let id = g.group_id().unwrap_or_default();
        let mut rules = Vec::new();
        for (direction, p) in crate::kinds::security_group::permissions(g) {
            for (rule, _) in crate::kinds::security_group::rules_of(direction, p) {
                rules.push(SgRule {
                    direction,
                    protocol: rule.protocol,
                    from: rule.from_port,
                    to: rule.to_port,
                    peer: match rule.peer {
                        Peer::Cidr(c) => SgPeer::Cidr(c),
                        Peer::SecurityGroup(g) => SgPeer::Group(names.of(&g)),
                        Peer::PrefixList(p) => SgPeer::PrefixList(names.of(&p)),
                    },
                });
            }
        }
        net.security_groups.push(SecurityGroup {
            key: names.of(id),
            id: Some(id.into()),
            vpc: names.of(g.vpc_id().unwrap_or_default()),
            rules,
        });
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::types::{Route, RouteState};

    use super::*;

    #[test]
    fn live_route_targets_are_modelled_unknown_or_blackholes_as_aws_says() {
        let mut names = Names::default();
        names.0.insert("nat-0a".into(), "nat-gateway.nat-a".into());
        let route = |f: fn(
            aws_sdk_ec2::types::builders::RouteBuilder,
        ) -> aws_sdk_ec2::types::builders::RouteBuilder| {
            f(Route::builder()
                .destination_cidr_block("0.0.0.0/0")
                .state(RouteState::Active))
            .build()
        };
        assert_eq!(
            route_target(&route(|r| r.nat_gateway_id("nat-0a")), &names),
            RouteTarget::To(TargetKind::NatGateway, "nat-gateway.nat-a".into())
        );
        // A transit gateway is a kind now: by id until the read names it.
        assert_eq!(
            route_target(&route(|r| r.transit_gateway_id("tgw-0a")), &names),
            RouteTarget::To(TargetKind::TransitGateway, "tgw-0a".into())
        );
        assert_eq!(
            route_target(&route(|r| r.network_interface_id("eni-0a")), &names),
            RouteTarget::Unmodeled {
                what: "network interface".into(),
                id: "eni-0a".into()
            }
        );
        assert_eq!(
            route_target(
                &route(|r| r.gateway_id("igw-0gone").state(RouteState::Blackhole)),
                &names
            ),
            RouteTarget::Blackhole("igw-0gone".into())
        );
        assert_eq!(
            route_target(&route(|r| r.gateway_id("vpce-0a")), &names),
            RouteTarget::Unmodeled {
                what: "VPC endpoint".into(),
                id: "vpce-0a".into()
            }
        );
    }
}
