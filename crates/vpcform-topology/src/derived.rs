//! Facts derived from the declarations that more than one consumer needs:
//! the effective route set (explicit routes plus `add-routes`), normalised
//! security-group rules, and policy-document helpers.

use ipnet::Ipv4Net;
use serde_json::Value;

use crate::diagnostic::Span;
use crate::kinds::iam::IamRole;
use crate::kinds::security_group::Rule;
use crate::model::{Protocol, Topology};
use crate::registry::TargetKind;

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
    pub destination: Ipv4Net,
    pub target: RouteTarget,
    pub span: Span,
    /// True when the route comes from a peering's `add-routes`.
    pub from_peering_option: bool,
    /// The id of the unmanaged target whose route this one may replace (`replaces:`).
    pub replaces: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    Ingress,
    Egress,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Ingress => "ingress",
            Direction::Egress => "egress",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Peer {
    Cidr(Ipv4Net),
    /// Logical name of a security group.
    SecurityGroup(String),
}

/// A security-group rule in AWS's terms: protocol and port range as
/// `IpPermission` holds them (ICMP type/code in from/to, -1 for "all").
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NormalRule {
    pub direction: Direction,
    pub protocol: Protocol,
    pub from_port: i64,
    pub to_port: i64,
    pub peer: Peer,
    pub description: Option<String>,
}

impl NormalRule {
    /// A stable key that does not move when rules are reordered.
    pub fn key(&self) -> String {
        let peer = match &self.peer {
            Peer::Cidr(c) => c.to_string(),
            Peer::SecurityGroup(g) => format!("sg:{g}"),
        };
        format!(
            "{}/{}/{}..{}/{}",
            self.direction.as_str(),
            self.protocol.aws_name(),
            self.from_port,
            self.to_port,
            peer
        )
    }
}

impl Rule {
    /// Normalises a validated rule; `None` if it lacks a peer.
    pub fn normalise(&self, direction: Direction) -> Option<NormalRule> {
        let peer = match (&self.cidr, &self.security_group) {
            (Some(c), None) => Peer::Cidr(c.value),
            (None, Some(g)) => Peer::SecurityGroup(g.value.clone()),
            _ => return None,
        };
        let (from_port, to_port) = self.ports().range();
        Some(NormalRule {
            direction,
            protocol: self.protocol.value,
            from_port,
            to_port,
            peer,
            description: self.description.as_ref().map(|d| d.value.clone()),
        })
    }
}

/// AWS's default egress rule of a new security group.
pub fn default_egress() -> NormalRule {
    NormalRule {
        direction: Direction::Egress,
        protocol: Protocol::All,
        from_port: -1,
        to_port: -1,
        peer: Peer::Cidr(Ipv4Net::default()),
        description: None,
    }
}

impl Topology {
    /// Explicit routes plus those added by peerings with `add-routes: true`.
    pub fn effective_routes(&self) -> Vec<EffectiveRoute> {
        let mut out = Vec::new();
        for table in &self.route_tables {
            for route in &table.spec.routes {
                out.push(EffectiveRoute {
                    table: table.name.value.clone(),
                    destination: route.destination.value,
                    target: route.target.value.clone(),
                    span: route.span,
                    from_peering_option: false,
                    replaces: route.replaces.as_ref().map(|r| r.value.clone()),
                });
            }
        }
        for peering in &self.peerings {
            if !peering.spec.add_routes.as_ref().is_some_and(|a| a.value) {
                continue;
            }
            let sides = [
                (&peering.spec.requester.value, &peering.spec.accepter.value),
                (&peering.spec.accepter.value, &peering.spec.requester.value),
            ];
            for (local, remote) in sides {
                let Some(remote_vpc) = self.vpcs.iter().find(|v| &v.name.value == remote) else {
                    continue;
                };
                for table in self
                    .route_tables
                    .iter()
                    .filter(|t| &t.spec.vpc.value == local)
                {
                    out.push(EffectiveRoute {
                        table: table.name.value.clone(),
                        destination: remote_vpc.spec.cidr.value,
                        target: RouteTarget::new(TargetKind::Peering, &peering.name.value),
                        span: peering
                            .spec
                            .add_routes
                            .as_ref()
                            .map_or(peering.name.span, |a| a.span),
                        from_peering_option: true,
                        replaces: None,
                    });
                }
            }
        }
        out
    }

    /// The trust document of a role as AWS stores it.
    pub fn role_trust_document(role: &IamRole) -> Value {
        if let Some(doc) = &role.assume_role_policy {
            return doc.value.clone();
        }
        let services: Vec<Value> = role
            .trusted_services
            .iter()
            .map(|s| Value::String(s.value.clone()))
            .collect();
        let service = if services.len() == 1 {
            services[0].clone()
        } else {
            Value::Array(services)
        };
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": service },
                "Action": "sts:AssumeRole"
            }]
        })
    }
}

/// The values of a policy field that may be a string or a list of strings.
pub fn string_or_list(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The statements of a policy document (`Statement` may be one object or a list).
pub fn statements(document: &Value) -> Vec<&Value> {
    match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(obj @ Value::Object(_)) => vec![obj],
        _ => Vec::new(),
    }
}

/// IAM's wildcard match (`*` any run, `?` one character), case-insensitive as IAM actions are.
pub fn iam_matches(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// Whether an `Allow` statement of `document` grants `action` (ignoring resources and conditions).
pub fn allows_action(document: &Value, action: &str) -> bool {
    statements(document).into_iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && string_or_list(s.get("Action"))
                .iter()
                .any(|p| iam_matches(p, action))
    })
}

/// Whether `document` lets `service` assume the role.
pub fn trusts_service(document: &Value, service: &str) -> bool {
    statements(document).into_iter().any(|s| {
        s.get("Effect").and_then(Value::as_str) == Some("Allow")
            && string_or_list(s.get("Action"))
                .iter()
                .any(|a| iam_matches(a, "sts:AssumeRole"))
            && string_or_list(s.get("Principal").and_then(|p| p.get("Service"))).contains(&service)
    })
}

/// A policy document as AWS may return it: JSON text, URL-encoded JSON text
/// (GetRole, GetPolicyVersion on AWS), or already a JSON value.
pub fn decode_policy_document(value: &Value) -> Value {
    let Value::String(text) = value else {
        return value.clone();
    };
    if let Ok(parsed) = serde_json::from_str::<Value>(text) {
        return parsed;
    }
    let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    serde_json::from_str::<Value>(&decoded).unwrap_or_else(|_| value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_wildcards_match_like_iam() {
        assert!(iam_matches("logs:*", "logs:PutLogEvents"));
        assert!(iam_matches("*", "logs:PutLogEvents"));
        assert!(iam_matches("logs:Describe*", "logs:DescribeLogStreams"));
        assert!(iam_matches("logs:putlogevents", "logs:PutLogEvents"));
        assert!(!iam_matches("logs:Describe*", "logs:PutLogEvents"));
        assert!(!iam_matches("s3:*", "logs:PutLogEvents"));
    }

    #[test]
    fn trust_accepts_string_or_list_principals() {
        let doc = serde_json::json!({"Statement": {"Effect": "Allow", "Action": ["sts:AssumeRole"],
            "Principal": {"Service": ["ec2.amazonaws.com", "vpc-flow-logs.amazonaws.com"]}}});
        assert!(trusts_service(&doc, "vpc-flow-logs.amazonaws.com"));
        assert!(!trusts_service(&doc, "lambda.amazonaws.com"));
    }
}
