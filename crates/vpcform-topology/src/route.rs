//! What a route is, below the kinds: its target (a declared object of a
//! route-target kind) and the routes a table ends up with.

use ipnet::IpNet;

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

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EffectiveRoute {
    pub table: String,
    pub destination: IpNet,
    pub target: RouteTarget,
    pub span: Span,
    /// True when the route comes from a peering's `add-routes`.
    pub from_peering_option: bool,
    /// The id of the unmanaged target whose route this one may replace (`replaces:`).
    pub replaces: Option<String>,
}
