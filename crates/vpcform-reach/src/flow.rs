//! What is asked: the two endpoints and the traffic between them.

use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use vpcform_topology::Protocol;

use crate::model::{Component, Instance, Network, Subnet, VpcEndpoint, service_list_key};

/// An endpoint as a user names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointSpec {
    /// `instance.NAME` or `subnet.NAME`.
    Address {
        kind: String,
        name: String,
    },
    /// `i-…` or `subnet-…`.
    Id(String),
    Ip(IpAddr),
    Cidr(IpNet),
    Internet,
    /// An AWS service's public addresses (`service:s3`, or `s3`, `dynamodb`).
    Service(String),
}

impl std::str::FromStr for EndpointSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text == "internet" {
            return Ok(EndpointSpec::Internet);
        }
        if let Ok(ip) = text.parse::<IpAddr>() {
            return Ok(EndpointSpec::Ip(ip));
        }
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(EndpointSpec::Cidr(net.trunc()));
        }
        if ["i-", "subnet-", "vpce-", "eni-"]
            .iter()
            .any(|p| text.starts_with(p))
        {
            return Ok(EndpointSpec::Id(text.to_string()));
        }
        if let Some(service) = text.strip_prefix("service:").filter(|s| !s.is_empty()) {
            return Ok(EndpointSpec::Service(service.to_string()));
        }
        if vpcform_topology::kinds::vpc_endpoint::GATEWAY_SERVICES.contains(&text) {
            return Ok(EndpointSpec::Service(text.to_string()));
        }
        match text.split_once('.') {
            Some((kind @ ("instance" | "subnet" | "vpc-endpoint"), name)) if !name.is_empty() => {
                Ok(EndpointSpec::Address {
                    kind: kind.to_string(),
                    name: name.to_string(),
                })
            }
            _ => Err(format!(
                "`{text}` is not an endpoint: use `instance.NAME`, `subnet.NAME`, `vpc-endpoint.NAME`, an id (`i-…`, `subnet-…`, `vpce-…`, `eni-…`), an IPv4 or IPv6 address or CIDR, `internet`, or an AWS service (`s3`, `service:NAME`)"
            )),
        }
    }
}

/// An endpoint found in the network.
#[derive(Clone, Debug)]
pub struct Endpoint<'n> {
    /// How reports name it.
    pub label: String,
    /// Its addresses in the flow's family: one (/32, /128), or every
    /// address it may have (an instance not launched yet: its subnet; a
    /// subnet; the internet: 0.0.0.0/0 or ::/0).
    pub addr: IpNet,
    /// Its IPv6 addresses lie in a block AWS assigns on apply (a stand-in here).
    pub assigned_on_apply: bool,
    pub instance: Option<&'n Instance>,
    pub subnet: Option<&'n Subnet>,
    /// The security groups on its interface (an instance's, an interface endpoint's).
    pub guard: Option<Guard<'n>>,
    /// The key of the prefix list it belongs to by definition (an AWS service's).
    pub service_list: Option<String>,
}

/// Security groups on an interface, and what reports blame when none admits.
#[derive(Clone, Debug)]
pub struct Guard<'n> {
    pub groups: &'n [String],
    pub owner: Component,
}

impl Endpoint<'_> {
    pub fn is_internet(&self) -> bool {
        self.subnet.is_none()
    }

    /// Whether it sits behind a group of `key` (security-group references).
    pub fn in_group(&self, key: &str) -> bool {
        self.guard
            .as_ref()
            .is_some_and(|g| g.groups.iter().any(|x| x == key))
    }
}

impl EndpointSpec {
    /// Whether it names an IPv6 address or block (`None`: it names no address).
    pub fn is_ipv6(&self) -> Option<bool> {
        match self {
            EndpointSpec::Ip(ip) => Some(ip.is_ipv6()),
            EndpointSpec::Cidr(net) => Some(net.addr().is_ipv6()),
            EndpointSpec::Address { .. }
            | EndpointSpec::Id(_)
            | EndpointSpec::Internet
            | EndpointSpec::Service(_) => None,
        }
    }
}

fn host(ip: IpAddr) -> IpNet {
    IpNet::from(ip)
}

/// A subnet's block in the flow's family.
fn subnet_block(s: &Subnet, ipv6: bool) -> Result<IpNet, String> {
    match (ipv6, s.ipv6_cidr) {
        (false, _) => Ok(IpNet::V4(s.cidr)),
        (true, Some(block)) => Ok(IpNet::V6(block)),
        (true, None) => Err(format!(
            "{} has no IPv6 block: give it an `ipv6-index` (its VPC needs `ipv6: true`) to ask about IPv6",
            s.component()
        )),
    }
}

/// The addresses an instance has in the flow's family.
fn instance_addr(i: &Instance, s: &Subnet, ipv6: bool) -> Result<IpNet, String> {
    if !ipv6 {
        return Ok(i
            .private_ip
            .map_or(IpNet::V4(s.cidr), |ip| host(IpAddr::V4(ip))));
    }
    if let Some(ip) = i.ipv6 {
        return Ok(host(IpAddr::V6(ip)));
    }
    if !i.has_ipv6 && s.assign_ipv6 {
        return Err(format!(
            "{} has no IPv6 address: {} assigns one only to interfaces launched after it was set; give the instance `ipv6-address-count` (which replaces it) or assign one to its interface",
            i.component(),
            s.key
        ));
    }
    if !i.has_ipv6 {
        return Err(format!(
            "{} has no IPv6 address: set `assign-ipv6-on-creation: true` on {} or `ipv6-address-count` on the instance",
            i.component(),
            s.key
        ));
    }
    subnet_block(s, true)
}

/// Whether the subnet's IPv6 block is a stand-in for one AWS assigns on apply.
fn on_apply(network: &Network, s: &Subnet, ipv6: bool) -> bool {
    ipv6 && network
        .vpc(&s.vpc)
        .and_then(|v| v.ipv6)
        .is_some_and(|b| b.assigned_on_apply)
}

/// Finds an endpoint in the network, with its addresses in one family.
pub fn resolve<'n>(
    network: &'n Network,
    spec: &EndpointSpec,
    ipv6: bool,
) -> Result<Endpoint<'n>, String> {
    let of_instance = |i: &'n Instance| -> Result<Endpoint<'n>, String> {
        let subnet = network
            .subnet(&i.subnet)
            .ok_or_else(|| format!("{}'s subnet {} is not in the network", i.key, i.subnet))?;
        Ok(Endpoint {
            label: i.component().to_string(),
            addr: instance_addr(i, subnet, ipv6)?,
            assigned_on_apply: i.ipv6.is_none() && on_apply(network, subnet, ipv6),
            instance: Some(i),
            subnet: Some(subnet),
            guard: Some(Guard {
                groups: &i.security_groups,
                owner: i.component(),
            }),
            service_list: None,
        })
    };
    let of_subnet = |s: &'n Subnet, addr: IpNet| Endpoint {
        label: if addr == IpNet::V4(s.cidr) || Some(addr) == s.ipv6_cidr.map(IpNet::V6) {
            s.component().to_string()
        } else {
            format!("{addr} in {}", s.component())
        },
        addr,
        assigned_on_apply: on_apply(network, s, ipv6),
        instance: None,
        subnet: Some(s),
        guard: None,
        service_list: None,
    };
    // A stand-in block holds no address a user names.
    let in_subnet = |net: &IpNet| {
        network.subnets.iter().find(|s| match net {
            IpNet::V4(n) => s.cidr.contains(n),
            IpNet::V6(n) => {
                !on_apply(network, s, true) && s.ipv6_cidr.is_some_and(|b| b.contains(n))
            }
        })
    };
    match spec {
        EndpointSpec::Internet => Ok(external(if ipv6 {
            IpNet::V6(Ipv6Net::default())
        } else {
            IpNet::V4(Ipv4Net::default())
        })),
        EndpointSpec::Service(_) if ipv6 => Err(
            "AWS services are asked about over IPv4: vpcform models their IPv4 prefix lists only"
                .into(),
        ),
        EndpointSpec::Service(name) => Ok(service(network, name)),
        EndpointSpec::Address { kind, name } => {
            let key = format!("{kind}.{name}");
            if kind == "vpc-endpoint" {
                let e = network
                    .vpc_endpoint(&key)
                    .ok_or_else(|| format!("no VPC endpoint `{name}` in the network"))?;
                return interface_endpoint(network, e, None, ipv6);
            }
            if kind == "instance" {
                let i = network
                    .instance(&key)
                    .ok_or_else(|| format!("no instance `{name}` in the network"))?;
                of_instance(i)
            } else {
                let s = network
                    .subnet(&key)
                    .ok_or_else(|| format!("no subnet `{name}` in the network"))?;
                Ok(of_subnet(s, subnet_block(s, ipv6)?))
            }
        }
        EndpointSpec::Id(id) if id.starts_with("vpce-") => {
            let e = network
                .vpc_endpoints
                .iter()
                .find(|e| e.id.as_ref() == Some(id))
                .ok_or_else(|| format!("no VPC endpoint with id {id} in the network"))?;
            interface_endpoint(network, e, None, ipv6)
        }
        EndpointSpec::Id(id) if id.starts_with("eni-") => {
            let (e, i) = network
                .vpc_endpoints
                .iter()
                .find_map(|e| {
                    let i = e.interfaces.iter().position(|i| i.id.as_ref() == Some(id))?;
                    Some((e, i))
                })
                .ok_or_else(|| format!(
                    "no interface endpoint's network interface has id {id} in the network (vpcform reads the interfaces of interface endpoints only)"
                ))?;
            interface_endpoint(network, e, Some(i), ipv6)
        }
        EndpointSpec::Id(id) => {
            if let Some(i) = network.instances.iter().find(|i| i.id.as_ref() == Some(id)) {
                return of_instance(i);
            }
            let s = network
                .subnets
                .iter()
                .find(|s| s.id.as_ref() == Some(id))
                .ok_or_else(|| format!("no instance or subnet with id {id} in the network"))?;
            Ok(of_subnet(s, subnet_block(s, ipv6)?))
        }
        EndpointSpec::Ip(ip) => {
            let owner = network.instances.iter().find(|i| match ip {
                IpAddr::V4(v4) => i.private_ip == Some(*v4),
                IpAddr::V6(v6) => i.ipv6 == Some(*v6),
            });
            if let Some(i) = owner {
                return of_instance(i);
            }
            Ok(match in_subnet(&host(*ip)) {
                Some(s) => of_subnet(s, host(*ip)),
                None => external(host(*ip)),
            })
        }
        EndpointSpec::Cidr(net) => Ok(match in_subnet(net) {
            Some(s) => of_subnet(s, *net),
            None => external(*net),
        }),
    }
}

/// Addresses outside every VPC: the internet, or a private range beyond it.
fn external<'n>(addr: IpNet) -> Endpoint<'n> {
    Endpoint {
        label: if addr.prefix_len() == 0 {
            "internet".to_string()
        } else if is_private(addr) {
            format!("{addr} (outside the VPCs)")
        } else {
            format!("{addr} (internet)")
        },
        addr,
        assigned_on_apply: false,
        instance: None,
        subnet: None,
        guard: None,
        service_list: None,
    }
}

/// An AWS service: its addresses are its prefix list's (the first entry
/// stands for them all); unknown, they are any public address.
fn service<'n>(network: &'n Network, name: &str) -> Endpoint<'n> {
    let key = service_list_key(name);
    let list = network.prefix_list(&key);
    let first = list
        .and_then(|l| l.entries.as_ref())
        .and_then(|e| e.first().copied());
    let label = match (list, first) {
        (Some(l), Some(addr)) => format!(
            "{name} ({}, {addr})",
            l.id.as_deref().or(l.name.as_deref()).unwrap_or(&key)
        ),
        _ => format!("{name} (AWS service)"),
    };
    Endpoint {
        label,
        addr: first.unwrap_or(IpNet::V4(Ipv4Net::default())),
        assigned_on_apply: false,
        instance: None,
        subnet: None,
        guard: None,
        service_list: list.map(|_| key),
    }
}

/// An interface endpoint: the interface an `eni-…` id named (`which`),
/// else its first, at its address when known, behind its groups.
fn interface_endpoint<'n>(
    network: &'n Network,
    e: &'n VpcEndpoint,
    which: Option<usize>,
    ipv6: bool,
) -> Result<Endpoint<'n>, String> {
    if ipv6 {
        return Err(format!(
            "{} is asked about over IPv4: vpcform models interface endpoints' IPv4 addresses only",
            e.key
        ));
    }
    if e.gateway {
        return Err(format!(
            "{} is a gateway endpoint: it has no address of its own; ask about its service (`service:{}`) instead",
            e.key, e.service
        ));
    }
    let interface = e
        .interfaces
        .get(which.unwrap_or(0))
        .ok_or_else(|| format!("{} has no subnet", e.key))?;
    let subnet = network.subnet(&interface.subnet).ok_or_else(|| {
        format!(
            "{}'s subnet {} is not in the network",
            e.key, interface.subnet
        )
    })?;
    let ip = interface.ip;
    // AWS may place an interface outside its subnet's range in moto; the subnet decides.
    let addr = ip
        .filter(|ip| subnet.cidr.contains(ip))
        .map_or(IpNet::V4(subnet.cidr), |ip| host(IpAddr::V4(ip)));
    let label = match &interface.id {
        Some(eni) if which.is_some() => format!("{} ({eni})", e.component()),
        Some(_) | None => e.component().to_string(),
    };
    Ok(Endpoint {
        label,
        addr,
        assigned_on_apply: false,
        instance: None,
        subnet: Some(subnet),
        guard: Some(Guard {
            groups: &e.security_groups,
            owner: e.component(),
        }),
        service_list: None,
    })
}

/// The traffic: a protocol and its port or ICMP type and code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Service {
    pub protocol: Protocol,
    /// The destination port (tcp/udp).
    pub port: u16,
    /// ICMP type and code of the request (echo request: 8, 0).
    pub icmp: (i64, i64),
    /// Over IPv6 (ICMP is then ICMPv6).
    pub ipv6: bool,
}

/// ICMP echo reply.
pub const ECHO_REPLY: (i64, i64) = (0, 0);
/// ICMP echo request.
pub const ECHO_REQUEST: (i64, i64) = (8, 0);
/// ICMPv6 echo request and reply.
pub const ECHO6_REQUEST: (i64, i64) = (128, 0);
pub const ECHO6_REPLY: (i64, i64) = (129, 0);

/// The client ports a reply goes back to: Linux's ephemeral range, which
/// Amazon Linux uses (NACLs must admit every port of it for replies to pass).
pub const EPHEMERAL: (i64, i64) = (32768, 60999);

impl Service {
    pub fn icmp() -> Self {
        Service {
            protocol: Protocol::Icmp,
            port: 0,
            icmp: ECHO_REQUEST,
            ipv6: false,
        }
    }

    /// The same traffic over IPv6: ping becomes ICMPv6 echo.
    pub fn over_ipv6(self) -> Self {
        match self.protocol {
            Protocol::Icmp | Protocol::Icmpv6 => Service {
                protocol: Protocol::Icmpv6,
                icmp: ECHO6_REQUEST,
                ipv6: true,
                ..self
            },
            Protocol::Tcp | Protocol::Udp | Protocol::All | Protocol::Number(_) => {
                Service { ipv6: true, ..self }
            }
        }
    }

    pub fn tcp(port: u16) -> Self {
        Service {
            protocol: Protocol::Tcp,
            port,
            icmp: (-1, -1),
            ipv6: false,
        }
    }

    pub fn udp(port: u16) -> Self {
        Service {
            protocol: Protocol::Udp,
            port,
            icmp: (-1, -1),
            ipv6: false,
        }
    }

    /// How reports name it: `icmp`, `tcp/22`, `tcp/22 over IPv6`.
    pub fn label(&self) -> String {
        let what = match self.protocol {
            Protocol::Tcp | Protocol::Udp => format!("{}/{}", self.protocol.aws_name(), self.port),
            Protocol::Icmp => "icmp echo".into(),
            Protocol::Icmpv6 => "icmpv6 echo".into(),
            other => other.aws_name(),
        };
        if self.ipv6 && self.protocol != Protocol::Icmpv6 {
            format!("{what} over IPv6")
        } else {
            what
        }
    }
}

/// One direction of the traffic, as filters see it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Packet {
    pub(crate) protocol: Protocol,
    /// Destination ports it may carry (one for requests, the ephemeral range for replies).
    pub(crate) ports: (i64, i64),
    pub(crate) icmp: (i64, i64),
}

impl Packet {
    pub(crate) fn request(s: &Service) -> Self {
        Packet {
            protocol: s.protocol,
            ports: (i64::from(s.port), i64::from(s.port)),
            icmp: s.icmp,
        }
    }

    pub(crate) fn reply(s: &Service) -> Self {
        Packet {
            protocol: s.protocol,
            ports: EPHEMERAL,
            icmp: match s.icmp {
                ECHO_REQUEST => ECHO_REPLY,
                ECHO6_REQUEST => ECHO6_REPLY,
                other => other,
            },
        }
    }

    /// Whether a rule of `protocol` with range `from..to` matches every packet
    /// of this kind (for ports: every port in `ports`).
    pub(crate) fn matched_by(&self, protocol: Protocol, from: i64, to: i64) -> bool {
        if protocol == Protocol::All {
            return true;
        }
        if protocol != self.protocol {
            return false;
        }
        match protocol {
            Protocol::Tcp | Protocol::Udp => from <= self.ports.0 && self.ports.1 <= to,
            Protocol::Icmp | Protocol::Icmpv6 => {
                (from == -1 || from == self.icmp.0) && (to == -1 || to == self.icmp.1)
            }
            Protocol::All | Protocol::Number(_) => true,
        }
    }
}

/// What an IPv6 range no route carries is (`link-local`), if it is one.
pub(crate) fn unroutable_v6(addr: IpNet) -> Option<&'static str> {
    let IpNet::V6(v6) = addr else { return None };
    [
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
        ("::/127", "loopback or unspecified"),
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("2001:db8::/32", "documentation"),
    ]
    .into_iter()
    .find(|(range, _)| range.parse::<Ipv6Net>().is_ok_and(|r| r.contains(&v6)))
    .map(|(_, what)| what)
}

/// Ranges the internet does not route: IPv4's RFC 1918 and shared address
/// space; IPv6's unique local (fc00::/7), link-local (fe80::/10),
/// multicast (ff00::/8), loopback and unspecified, IPv4-mapped
/// (::ffff:0:0/96) and documentation (2001:db8::/32) addresses.
pub(crate) fn is_private(addr: IpNet) -> bool {
    match addr {
        IpNet::V4(v4) => is_private_v4(v4),
        IpNet::V6(v6) if v6.prefix_len() == 0 => false,
        IpNet::V6(v6) => [
            "fc00::/7",
            "fe80::/10",
            "ff00::/8",
            "::/127",
            "::ffff:0:0/96",
            "2001:db8::/32",
        ]
        .iter()
        .filter_map(|r| r.parse::<Ipv6Net>().ok())
        .any(|r| r.contains(&v6)),
    }
}

fn is_private_v4(addr: Ipv4Net) -> bool {
    [
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    ]
    .iter()
    .filter_map(|r| r.parse::<Ipv4Net>().ok())
    .any(|r| r.contains(&addr))
}
