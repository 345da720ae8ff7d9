//! The live network of a stack's VPCs for reachability (`reach --live`):
//! every object in those VPCs, owned by the stack or not (each VPC's main
//! route table and default ACL, routes, rules and entries added by hand),
//! and the VPCs they peer with. One call per kind, filtered by VPC.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;
use ipnet::Ipv4Net;
use vpcform_reach::{
    AclEntry, Instance, InternetGateway, NatGateway, Network, NetworkAcl, Peering, Route,
    RouteTable, RouteTarget, SecurityGroup, SgPeer, SgRule, Subnet, Vpc,
};
use vpcform_topology::{Direction, Peer, Protocol, TargetKind, Topology, target_description};

use crate::kinds::{
    instance, internet_gateway, nat_gateway, network_acl, peering, route_table, security_group,
    subnet, vpc,
};
use crate::read::{Select, ec2_tags, stack_filter};
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
            self.0.insert(id.to_string(), address.clone());
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
    let all_vpcs = vpc::describe(aws, Select::Ids(vpc_ids.clone())).await?;
    for v in &all_vpcs {
        let id = v.vpc_id().unwrap_or_default();
        names.learn(id, v.tags(), stack);
    }
    let by_vpc = || Select::Filter(filter("vpc-id", &vpc_ids));
    let (subnets, tables, acls, groups, instances, igws, nats) = tokio::try_join!(
        subnet::describe(aws, by_vpc()),
        route_table::describe(aws, by_vpc()),
        network_acl::describe(aws, by_vpc()),
        security_group::describe(aws, by_vpc()),
        instance::describe(aws, by_vpc()),
        internet_gateway::describe(aws, Select::Filter(filter("attachment.vpc-id", &vpc_ids))),
        nat_gateway::describe(aws, by_vpc()),
    )?;
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

    for v in &all_vpcs {
        let id = v.vpc_id().unwrap_or_default();
        if let Some(cidr) = v.cidr_block().and_then(|c| c.parse::<Ipv4Net>().ok()) {
            net.vpcs.push(Vpc {
                key: names.of(id),
                id: Some(id.into()),
                cidr,
            });
        }
    }
    add_subnets(&mut net, &names, &subnets, &tables, &acls);
    add_tables(&mut net, &names, &tables);
    add_acls(&mut net, &names, &acls);
    add_groups(&mut net, &names, &groups);
    add_instances(&mut net, &names, &instances);
    add_internet_gateways(&mut net, &names, &igws);
    add_nat_gateways(&mut net, &names, &nats);
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

fn add_instances(net: &mut Network, names: &Names, instances: &[aws_sdk_ec2::types::Instance]) {
    for i in instances {
        let id = i.instance_id().unwrap_or_default();
        net.instances.push(Instance {
            key: names.of(id),
            id: Some(id.into()),
            subnet: names.of(i.subnet_id().unwrap_or_default()),
            private_ip: i.private_ip_address().and_then(|a| a.parse().ok()),
            public_ip: i.public_ip_address().is_some(),
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
                prefix_list_routes.push((list.to_string(), route_target(r, names)));
                continue;
            }
            let Some(destination) = r
                .destination_cidr_block()
                .and_then(|d| d.parse::<Ipv4Net>().ok())
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
        None => RouteTarget::Unmodeled {
            what: target_description(id).to_string(),
            id: id.to_string(),
        },
    }
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
                    Protocol::Icmp => e.icmp_type_code().map_or((-1, -1), |c| {
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
                    _ => (-1, -1),
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
                    cidr: e.cidr_block()?.parse().ok()?,
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
        assert_eq!(
            route_target(&route(|r| r.transit_gateway_id("tgw-0a")), &names),
            RouteTarget::Unmodeled {
                what: "transit gateway".into(),
                id: "tgw-0a".into()
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
