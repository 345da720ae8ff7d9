//! The network model: what decides whether a packet gets through, in AWS's
//! terms. Built from a topology, from live state, or from both (the planned
//! state). Every object has a `key` (its vpcform address when vpcform knows
//! one, else its AWS id) and, when known, its AWS `id`.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use serde::Serialize;
use vpcform_topology::{Direction, Protocol};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Network {
    pub vpcs: Vec<Vpc>,
    pub subnets: Vec<Subnet>,
    pub route_tables: Vec<RouteTable>,
    pub network_acls: Vec<NetworkAcl>,
    pub security_groups: Vec<SecurityGroup>,
    pub instances: Vec<Instance>,
    pub internet_gateways: Vec<InternetGateway>,
    pub peerings: Vec<Peering>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Vpc {
    pub key: String,
    pub id: Option<String>,
    pub cidr: Ipv4Net,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Subnet {
    pub key: String,
    pub id: Option<String>,
    pub vpc: String,
    pub cidr: Ipv4Net,
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
}

#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    pub destination: Ipv4Net,
    pub target: RouteTarget,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RouteTarget {
    InternetGateway(String),
    Peering(String),
    /// A target AWS no longer has (a deleted gateway or peering): a blackhole.
    Missing(String),
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
    pub cidr: Ipv4Net,
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
    Cidr(Ipv4Net),
    /// Traffic from (or to) interfaces in this group.
    Group(String),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    pub key: String,
    pub id: Option<String>,
    pub subnet: String,
    /// Unknown before the instance exists: then any address of its subnet.
    pub private_ip: Option<Ipv4Addr>,
    pub public_ip: bool,
    pub security_groups: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct InternetGateway {
    pub key: String,
    pub id: Option<String>,
    /// The attached VPC.
    pub vpc: Option<String>,
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
    Peering => "vpc-peering",
}

impl Network {
    pub fn vpc(&self, key: &str) -> Option<&Vpc> {
        self.vpcs.iter().find(|v| v.key == key)
    }

    pub fn subnet(&self, key: &str) -> Option<&Subnet> {
        self.subnets.iter().find(|s| s.key == key)
    }

    pub fn group(&self, key: &str) -> Option<&SecurityGroup> {
        self.security_groups.iter().find(|g| g.key == key)
    }

    pub fn peering(&self, key: &str) -> Option<&Peering> {
        self.peerings.iter().find(|p| p.key == key)
    }

    /// The route table a subnet uses: its own, else its VPC's main table.
    pub fn route_table_of(&self, subnet: &Subnet) -> Option<&RouteTable> {
        match &subnet.route_table {
            Some(key) => self.route_tables.iter().find(|t| &t.key == key),
            None => self
                .route_tables
                .iter()
                .find(|t| t.main && t.vpc == subnet.vpc),
        }
    }

    /// The ACL a subnet uses: its own, else its VPC's default ACL.
    pub fn acl_of(&self, subnet: &Subnet) -> Option<&NetworkAcl> {
        match &subnet.network_acl {
            Some(key) => self.network_acls.iter().find(|a| &a.key == key),
            None => self
                .network_acls
                .iter()
                .find(|a| a.default && a.vpc == subnet.vpc),
        }
    }

    pub fn igw_of(&self, vpc: &str) -> Option<&InternetGateway> {
        self.internet_gateways
            .iter()
            .find(|g| g.vpc.as_deref() == Some(vpc))
    }
}
