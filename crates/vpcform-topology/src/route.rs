//! What a route is, below the kinds: its target (a declared object of a
//! route-target kind) and the routes a table ends up with.

use ipnet::IpNet;

use crate::registry::TopologyIndex;

use crate::address::TargetKind;
use crate::diagnostic::Span;

/// What a route points at: a declared object of a [`TargetKind`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteTarget {
    pub kind: TargetKind,
    /// The target's logical name.
    pub name: String,
}

impl RouteTarget {
    pub fn new(kind: TargetKind, name: impl Into<String>) -> Self {
        RouteTarget {
            kind,
            name: name.into(),
        }
    }

    /// The target's address (`nat-gateway.a`).
    pub fn address(&self) -> crate::Address {
        crate::Address::new(self.kind.resource_kind(), &self.name)
    }
}

impl std::fmt::Display for RouteTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.key(), self.name)
    }
}

/// Where a route sends traffic: a CIDR block, or every CIDR of a declared
/// prefix list (AWS's `DestinationPrefixListId`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Destination {
    Cidr(IpNet),
    /// A declared list's logical name.
    PrefixList(String),
}

impl Destination {
    const LIST_PREFIX: &'static str = "pl:";

    /// The block, for a CIDR destination.
    pub fn cidr(&self) -> Option<IpNet> {
        match self {
            Destination::Cidr(c) => Some(*c),
            Destination::PrefixList(_) => None,
        }
    }

    /// Whether it is IPv6 (a list: by its address family); `None` when the
    /// list is not declared.
    pub fn is_ipv6(&self, t: &TopologyIndex<'_>) -> Option<bool> {
        match self {
            Destination::Cidr(c) => Some(c.addr().is_ipv6()),
            Destination::PrefixList(name) => t
                .prefix_lists
                .get(name.as_str())
                .map(|l| l.address_family() == crate::kinds::prefix_list::AddressFamily::IPv6),
        }
    }

    /// How messages name it: the CIDR, or `prefix list `NAME``.
    pub fn label(&self) -> String {
        match self {
            Destination::Cidr(c) => c.to_string(),
            Destination::PrefixList(name) => format!("prefix list `{name}`"),
        }
    }

    /// Parses an address key (`10.0.0.0/16`, `::/0`, `pl:office`).
    pub fn parse_key(key: &str) -> Option<Destination> {
        match key.strip_prefix(Self::LIST_PREFIX) {
            Some(name) => Some(Destination::PrefixList(name.to_string())),
            None => key.parse().ok().map(Destination::Cidr),
        }
    }
}

/// The address key: the CIDR, or `pl:NAME`.
impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Destination::Cidr(c) => write!(f, "{c}"),
            Destination::PrefixList(name) => write!(f, "{}{name}", Self::LIST_PREFIX),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveRoute {
    pub table: String,
    pub destination: Destination,
    pub target: RouteTarget,
    pub span: Span,
    /// True when the route comes from a peering's `add-routes`.
    pub from_peering_option: bool,
    /// The id of the unmanaged target whose route this one may replace (`replaces:`).
    pub replaces: Option<String>,
}
