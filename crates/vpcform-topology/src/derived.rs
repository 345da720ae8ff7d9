//! Facts derived from the declarations that more than one consumer needs:
//! the effective route set (explicit routes plus `add-routes`), normalised
//! security-group rules, and policy-document helpers.

use ipnet::IpNet;
use serde_json::Value;

use crate::model::Protocol;

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
    /// IPv4 or IPv6.
    Cidr(IpNet),
    /// Logical name of a security group.
    SecurityGroup(String),
    /// Logical name of a prefix list: every CIDR it holds.
    PrefixList(String),
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
            Peer::PrefixList(p) => format!("pl:{p}"),
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

/// AWS's default egress rule of a new security group.
pub fn default_egress() -> NormalRule {
    NormalRule {
        direction: Direction::Egress,
        protocol: Protocol::All,
        from_port: -1,
        to_port: -1,
        peer: Peer::Cidr(IpNet::V4(ipnet::Ipv4Net::default())),
        description: None,
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
