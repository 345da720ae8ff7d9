//! The network model: what decides whether a packet gets through, in AWS's
//! terms. Built from a topology, from live state, or from both (the planned
//! state). Every object has a `key` (its vpcform address when vpcform knows
//! one, else its AWS id) and, when known, its AWS `id`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::Serialize;
use vpcform_topology::{Direction, Protocol, TargetKind};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Network {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub route_tables: Vec<RouteTable>,
    pub network_acls: Vec<NetworkAcl>,
    pub security_groups: Vec<SecurityGroup>,
    pub instances: Vec<Instance>,
    pub internet_gateways: Vec<InternetGateway>,
    pub egress_only_gateways: Vec<EgressOnlyGateway>,
    pub peerings: Vec<Peering>,
    pub nat_gateways: Vec<NatGateway>,
    pub prefix_lists: Vec<PrefixList>,
    pub vpc_endpoints: Vec<VpcEndpoint>,
    pub transit_gateways: Vec<TransitGateway>,
    pub tgw_attachments: Vec<TgwAttachment>,
    pub tgw_route_tables: Vec<TgwRouteTable>,
    /// Lookups by key, built on first use (so change the network before asking it anything).
    index: Lazy,
}

/// Positions by key, and each VPC's main table, default ACL and gateway.
#[derive(Debug, Default)]
struct Index {
    vpcs: HashMap<String, usize>,
    subnets: HashMap<String, usize>,
    route_tables: HashMap<String, usize>,
    network_acls: HashMap<String, usize>,
    security_groups: HashMap<String, usize>,
    instances: HashMap<String, usize>,
    internet_gateways: HashMap<String, usize>,
    egress_only_gateways: HashMap<String, usize>,
    peerings: HashMap<String, usize>,
    nat_gateways: HashMap<String, usize>,
    prefix_lists: HashMap<String, usize>,
    vpc_endpoints: HashMap<String, usize>,
    transit_gateways: HashMap<String, usize>,
    tgw_attachments: HashMap<String, usize>,
    tgw_route_tables: HashMap<String, usize>,
    /// A VPC's attachment to a gateway, by (gateway, VPC).
    attachment_of_vpc: HashMap<(String, String), usize>,
    main_table: HashMap<String, usize>,
    default_acl: HashMap<String, usize>,
    igw_of_vpc: HashMap<String, usize>,
}

/// The index: cloned empty, equal always, so it never changes what a network is.
#[derive(Debug, Default)]
struct Lazy(OnceLock<Index>);

impl Clone for Lazy {
    fn clone(&self) -> Self {
        Lazy::default()
    }
}

impl PartialEq for Lazy {
    fn eq(&self, _: &Lazy) -> bool {
        true
    }
}

fn positions<T>(items: &[T], key: impl Fn(&T) -> &str) -> HashMap<String, usize> {
    items
        .iter()
        .enumerate()
        .map(|(i, x)| (key(x).to_string(), i))
        .collect()
}

impl Index {
    fn build(n: &Network) -> Self {
        let by_vpc = |pairs: Vec<(String, usize)>| pairs.into_iter().collect::<HashMap<_, _>>();
        Index {
            vpcs: positions(&n.vpcs, |x| &x.key),
            subnets: positions(&n.subnets, |x| &x.key),
            route_tables: positions(&n.route_tables, |x| &x.key),
            network_acls: positions(&n.network_acls, |x| &x.key),
            security_groups: positions(&n.security_groups, |x| &x.key),
            instances: positions(&n.instances, |x| &x.key),
            internet_gateways: positions(&n.internet_gateways, |x| &x.key),
            egress_only_gateways: positions(&n.egress_only_gateways, |x| &x.key),
            peerings: positions(&n.peerings, |x| &x.key),
            nat_gateways: positions(&n.nat_gateways, |x| &x.key),
            prefix_lists: positions(&n.prefix_lists, |x| &x.key),
            vpc_endpoints: positions(&n.vpc_endpoints, |x| &x.key),
            transit_gateways: positions(&n.transit_gateways, |x| &x.key),
            tgw_attachments: positions(&n.tgw_attachments, |x| &x.key),
            tgw_route_tables: positions(&n.tgw_route_tables, |x| &x.key),
            attachment_of_vpc: n
                .tgw_attachments
                .iter()
                .enumerate()
                .map(|(i, a)| ((a.gateway.clone(), a.vpc.clone()), i))
                .collect(),
            main_table: by_vpc(
                n.route_tables
                    .iter()
                    .enumerate()
                    .filter(|(_, t)| t.main)
                    .map(|(i, t)| (t.vpc.clone(), i))
                    .collect(),
            ),
            default_acl: by_vpc(
                n.network_acls
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.default)
                    .map(|(i, a)| (a.vpc.clone(), i))
                    .collect(),
            ),
            igw_of_vpc: by_vpc(
                n.internet_gateways
                    .iter()
                    .enumerate()
                    .filter_map(|(i, g)| Some((g.vpc.clone()?, i)))
                    .collect(),
            ),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Vpc {
    pub key: String,
    pub id: Option<String>,
    pub cidr: Ipv4Net,
    /// Secondary blocks: the local route covers them too.
    pub secondary_cidrs: Vec<Ipv4Net>,
    /// Its IPv6 block, if it has one.
    pub ipv6: Option<Ipv6Block>,
    /// Its tags (the user's): expectations select groups of VPCs by them.
    pub tags: std::collections::BTreeMap<String, String>,
}

/// A VPC's IPv6 block: AWS's, or one AWS assigns on apply (then a
/// stand-in from the documentation range 2001:db8::/32, which no real
/// route or rule holds: where one could, the answer is unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6Block {
    pub cidr: Ipv6Net,
    pub assigned_on_apply: bool,
}

impl Ipv6Block {
    /// The stand-in block of the `n`th VPC whose block AWS has yet to assign.
    pub fn on_apply(n: usize) -> Self {
        let n = n as u16;
        let network = Ipv6Addr::new(0x2001, 0x0db8, n >> 8, (n & 0xff) << 8, 0, 0, 0, 0);
        Ipv6Block {
            cidr: Ipv6Net::new(network, 56).expect("a /56"),
            assigned_on_apply: true,
        }
    }
}

impl Vpc {
    /// Every block of the VPC, primary first, IPv6 last: the local route's destinations.
    pub fn cidrs(&self) -> impl Iterator<Item = IpNet> + '_ {
        std::iter::once(self.cidr)
            .chain(self.secondary_cidrs.iter().copied())
            .map(IpNet::V4)
            .chain(self.ipv6.map(|b| IpNet::V6(b.cidr)))
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subnet {
    pub key: String,
    pub id: Option<String>,
    pub vpc: String,
    pub cidr: Ipv4Net,
    /// Its availability zone, when known (a transit gateway is reached
    /// only from zones its attachment has a subnet in).
    pub az: Option<String>,
    /// Its IPv6 /64, if it has one.
    pub ipv6_cidr: Option<Ipv6Net>,
    /// Interfaces launched here get an IPv6 address.
    pub assign_ipv6: bool,
    /// The explicitly associated route table; `None` means the VPC's main table.
    pub route_table: Option<String>,
    /// The associated network ACL; `None` means the VPC's default ACL.
    pub network_acl: Option<String>,
    pub map_public_ip_on_launch: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RouteTable {
    pub key: String,
    pub id: Option<String>,
    pub vpc: String,
    /// The VPC's main table (subnets without an association use it).
    pub main: bool,
    /// Routes besides the implicit local route of the VPC's CIDR.
    pub routes: Vec<Route>,
    /// Routes to prefix lists (a gateway endpoint's), by the list's key:
    /// where the list's addresses are not known and one could apply, the
    /// answer is unknown.
    pub prefix_list_routes: Vec<(String, RouteTarget)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// IPv4 or IPv6: a packet only ever matches routes of its own family.
    pub destination: IpNet,
    pub target: RouteTarget,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    /// An object of a kind the model knows, by key.
    To(TargetKind, String),
    /// A target the model does not know (a transit gateway, a network
    /// interface, …): whatever lies beyond it is `unknown`, never a blackhole.
    Unmodeled {
        /// What it is, in words (`transit gateway`).
        what: String,
        id: String,
    },
    /// A route AWS itself reports as a blackhole (its target was deleted).
    Blackhole(String),
    /// A gateway endpoint (by key): the route AWS adds to its service's prefix list.
    GatewayEndpoint(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct NetworkAcl {
    pub key: String,
    pub id: Option<String>,
    pub vpc: String,
    /// The VPC's default ACL (subnets without an association use it).
    pub default: bool,
    pub entries: Vec<AclEntry>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AclEntry {
    pub direction: Direction,
    pub number: i64,
    pub protocol: Protocol,
    /// Ports for tcp/udp, ICMP type and code (-1 for all) for icmp.
    pub from: i64,
    pub to: i64,
    pub cidr: IpNet,
    pub allow: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SecurityGroup {
    pub key: String,
    pub id: Option<String>,
    pub vpc: String,
    pub rules: Vec<SgRule>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SgRule {
    pub direction: Direction,
    pub protocol: Protocol,
    pub from: i64,
    pub to: i64,
    pub peer: SgPeer,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SgPeer {
    Cidr(IpNet),
    /// Traffic from (or to) interfaces in this group.
    Group(String),
    /// Every CIDR of a prefix list (by key).
    PrefixList(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub key: String,
    pub id: Option<String>,
    pub subnet: String,
    /// Unknown before the instance exists: then any address of its subnet.
    pub private_ip: Option<Ipv4Addr>,
    pub public_ip: bool,
    /// Whether it has an IPv6 address (its subnet assigns one, or it asks
    /// for some), and the address once known.
    pub has_ipv6: bool,
    pub ipv6: Option<Ipv6Addr>,
    pub security_groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InternetGateway {
    pub key: String,
    pub id: Option<String>,
    /// The attached VPC.
    pub vpc: Option<String>,
}

/// An egress-only internet gateway: IPv6 out of its VPC, replies back in, nothing opened from outside.
#[derive(Clone, Debug, PartialEq)]
pub struct EgressOnlyGateway {
    pub key: String,
    pub id: Option<String>,
    pub vpc: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Peering {
    pub key: String,
    pub id: Option<String>,
    pub requester: String,
    pub accepter: String,
    /// AWS's status code: only `active` carries traffic.
    pub status: String,
}

/// A NAT gateway: connections opened from its VPC leave with its address.
#[derive(Clone, Debug, PartialEq)]
pub struct NatGateway {
    pub key: String,
    pub id: Option<String>,
    /// The subnet it lives in (its route table and ACL apply to what it forwards).
    pub subnet: String,
    /// Public (an Elastic IP, towards an internet gateway) or private.
    pub public: bool,
}

/// A managed prefix list: a customer's (its entries) or AWS's list of a
/// service's addresses (`com.amazonaws.REGION.s3`, keyed `service:s3`).
#[derive(Clone, Debug, PartialEq)]
pub struct PrefixList {
    pub key: String,
    pub id: Option<String>,
    /// Its name in AWS, when known.
    pub name: Option<String>,
    /// For AWS's list of a service's addresses: the service (`s3`).
    pub service: Option<String>,
    /// Its entries; `None` when not known (AWS's lists, offline).
    pub entries: Option<Vec<IpNet>>,
}

/// The key of AWS's prefix list of `service`'s addresses.
pub fn service_list_key(service: &str) -> String {
    format!("service:{service}")
}

/// A VPC endpoint: a gateway (routes to its service's prefix list) or an
/// interface (addresses in subnets, behind security groups).
#[derive(Clone, Debug, PartialEq)]
pub struct VpcEndpoint {
    pub key: String,
    pub id: Option<String>,
    pub vpc: String,
    /// The service, short for AWS's (`s3`).
    pub service: String,
    pub gateway: bool,
    /// Interface: one network interface per subnet.
    pub interfaces: Vec<EndpointInterface>,
    pub security_groups: Vec<String>,
}

/// An interface endpoint's network interface in one subnet.
#[derive(Clone, Debug, PartialEq)]
pub struct EndpointInterface {
    /// The subnet's key.
    pub subnet: String,
    /// Its `eni-…` id and address, when the account was read.
    pub id: Option<String>,
    pub ip: Option<Ipv4Addr>,
}

/// A transit gateway: a regional router between its attachments.
#[derive(Clone, Debug, PartialEq)]
pub struct TransitGateway {
    pub key: String,
    pub id: Option<String>,
}

/// A VPC's attachment to a transit gateway.
#[derive(Clone, Debug, PartialEq)]
pub struct TgwAttachment {
    pub key: String,
    pub id: Option<String>,
    /// The gateway's key.
    pub gateway: String,
    pub vpc: String,
    /// Subnet keys, one per availability zone.
    pub subnets: Vec<String>,
    /// The route table it is associated with (its traffic is routed by it).
    pub route_table: Option<String>,
    /// Whether it carries IPv6.
    pub ipv6: bool,
}

/// A transit gateway's route table: static routes, and the routes its
/// propagating attachments give it (their VPCs' blocks).
#[derive(Clone, Debug, PartialEq)]
pub struct TgwRouteTable {
    pub key: String,
    pub id: Option<String>,
    pub gateway: String,
    pub routes: Vec<TgwRoute>,
    /// Attachments (keys, or ids of attachments not in the model) that propagate into it.
    pub propagations: Vec<String>,
}

/// A static route of a transit-gateway route table.
#[derive(Clone, Debug, PartialEq)]
pub struct TgwRoute {
    pub destination: TgwDestination,
    /// The attachment (key or id); `None`: a blackhole route.
    pub attachment: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TgwDestination {
    Cidr(IpNet),
    /// A prefix list, by key.
    PrefixList(String),
}

/// A component as reports name it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Component {
    /// `security-group`, `network-acl`, `route-table`, …
    pub kind: &'static str,
    /// vpcform address, or the AWS id of an object vpcform does not manage.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl std::fmt::Display for Component {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) if *id != self.name => write!(f, "{} ({id})", self.name),
            _ => f.write_str(&self.name),
        }
    }
}

macro_rules! component_of {
    ($($ty:ident => $kind:literal),* $(,)?) => {
        $(impl $ty {
            pub fn component(&self) -> Component {
                Component { kind: $kind, name: self.key.clone(), id: self.id.clone() }
            }
        })*
    };
}

component_of! {
    Vpc => "vpc",
    Subnet => "subnet",
    RouteTable => "route-table",
    NetworkAcl => "network-acl",
    SecurityGroup => "security-group",
    Instance => "instance",
    InternetGateway => "internet-gateway",
    EgressOnlyGateway => "egress-only-gateway",
    Peering => "vpc-peering",
    NatGateway => "nat-gateway",
    PrefixList => "prefix-list",
    VpcEndpoint => "vpc-endpoint",
    TransitGateway => "transit-gateway",
    TgwAttachment => "transit-gateway-attachment",
    TgwRouteTable => "transit-gateway-route-table",
}

impl Network {
    fn index(&self) -> &Index {
        self.index.0.get_or_init(|| Index::build(self))
    }

    pub fn vpc(&self, key: &str) -> Option<&Vpc> {
        self.index().vpcs.get(key).map(|&i| &self.vpcs[i])
    }

    pub fn subnet(&self, key: &str) -> Option<&Subnet> {
        self.index().subnets.get(key).map(|&i| &self.subnets[i])
    }

    pub fn group(&self, key: &str) -> Option<&SecurityGroup> {
        self.index()
            .security_groups
            .get(key)
            .map(|&i| &self.security_groups[i])
    }

    pub fn egress_only_gateway(&self, key: &str) -> Option<&EgressOnlyGateway> {
        self.index()
            .egress_only_gateways
            .get(key)
            .map(|&i| &self.egress_only_gateways[i])
    }

    pub fn peering(&self, key: &str) -> Option<&Peering> {
        self.index().peerings.get(key).map(|&i| &self.peerings[i])
    }

    pub fn nat_gateway(&self, key: &str) -> Option<&NatGateway> {
        self.index()
            .nat_gateways
            .get(key)
            .map(|&i| &self.nat_gateways[i])
    }

    pub fn prefix_list(&self, key: &str) -> Option<&PrefixList> {
        self.index()
            .prefix_lists
            .get(key)
            .map(|&i| &self.prefix_lists[i])
    }

    pub fn vpc_endpoint(&self, key: &str) -> Option<&VpcEndpoint> {
        self.index()
            .vpc_endpoints
            .get(key)
            .map(|&i| &self.vpc_endpoints[i])
    }

    pub fn instance(&self, key: &str) -> Option<&Instance> {
        self.index().instances.get(key).map(|&i| &self.instances[i])
    }

    pub fn internet_gateway(&self, key: &str) -> Option<&InternetGateway> {
        self.index()
            .internet_gateways
            .get(key)
            .map(|&i| &self.internet_gateways[i])
    }

    pub fn transit_gateway(&self, key: &str) -> Option<&TransitGateway> {
        self.index()
            .transit_gateways
            .get(key)
            .map(|&i| &self.transit_gateways[i])
    }

    pub fn tgw_attachment(&self, key: &str) -> Option<&TgwAttachment> {
        self.index()
            .tgw_attachments
            .get(key)
            .map(|&i| &self.tgw_attachments[i])
    }

    pub fn tgw_route_table(&self, key: &str) -> Option<&TgwRouteTable> {
        self.index()
            .tgw_route_tables
            .get(key)
            .map(|&i| &self.tgw_route_tables[i])
    }

    /// The attachment of `vpc` to the gateway `gateway`.
    pub fn attachment_of(&self, gateway: &str, vpc: &str) -> Option<&TgwAttachment> {
        self.index()
            .attachment_of_vpc
            .get(&(gateway.to_string(), vpc.to_string()))
            .map(|&i| &self.tgw_attachments[i])
    }

    /// The route table a subnet uses: its own, else its VPC's main table.
    pub fn route_table_of(&self, subnet: &Subnet) -> Option<&RouteTable> {
        let index = self.index();
        let i = match &subnet.route_table {
            Some(key) => index.route_tables.get(key),
            None => index.main_table.get(&subnet.vpc),
        };
        i.map(|&i| &self.route_tables[i])
    }

    /// The ACL a subnet uses: its own, else its VPC's default ACL.
    pub fn acl_of(&self, subnet: &Subnet) -> Option<&NetworkAcl> {
        let index = self.index();
        let i = match &subnet.network_acl {
            Some(key) => index.network_acls.get(key),
            None => index.default_acl.get(&subnet.vpc),
        };
        i.map(|&i| &self.network_acls[i])
    }

    pub fn igw_of(&self, vpc: &str) -> Option<&InternetGateway> {
        self.index()
            .igw_of_vpc
            .get(vpc)
            .map(|&i| &self.internet_gateways[i])
    }
}
