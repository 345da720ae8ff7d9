//! `expect:`: connectivity the topology promises, checked by `validate`
//! against the topology and by `plan` against the planned state.

use schemars::JsonSchema;

use crate::address::ResourceKind;
use crate::decode::{Cx, Fields, FromNode, list_of};
use crate::diagnostic::{Diagnostic, Span};
use crate::model::At;
use crate::validate::NameIndex;
use crate::yaml::Node;

/// One promise: traffic from one endpoint reaches another (and back), or does not.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Expectation {
    /// `instance.NAME`, `subnet.NAME`, `vpc-endpoint.NAME`, an IP, a CIDR,
    /// `internet`, an AWS service (`s3`, `dynamodb`, `service:NAME`), or a
    /// group: `vpc.NAME` (its subnets) or `tag:KEY=VALUE` (the subnets of
    /// every VPC tagged so).
    pub from: At<String>,
    /// Named the same ways.
    pub to: At<String>,
    /// `icmp` (echo request and reply), `tcp`, `udp`, or `any` (every
    /// protocol and port: only with `reachable: false`).
    #[schemars(with = "ExpectProtocol")]
    pub protocol: At<ExpectProtocol>,
    /// The destination port (tcp and udp).
    pub port: Option<At<i64>>,
    /// Whether the traffic must get through (true) or must be blocked (false).
    pub reachable: At<bool>,
    /// Over IPv6 (icmp is then ICMPv6 echo); implied when `from` or `to` is
    /// an IPv6 address or block. Default false.
    pub ipv6: Option<At<bool>>,
    #[schemars(skip)]
    pub span: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExpectProtocol {
    Icmp,
    Tcp,
    Udp,
    /// Every protocol and port (only a promise that nothing gets through).
    Any,
}

impl ExpectProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            ExpectProtocol::Icmp => "icmp",
            ExpectProtocol::Tcp => "tcp",
            ExpectProtocol::Udp => "udp",
            ExpectProtocol::Any => "any",
        }
    }
}

impl FromNode for ExpectProtocol {
    fn from_node(node: &Node, cx: &mut Cx) -> Option<Self> {
        let text = String::from_node(node, cx)?;
        let parsed = match text.to_ascii_lowercase().as_str() {
            "icmp" => Some(ExpectProtocol::Icmp),
            "tcp" => Some(ExpectProtocol::Tcp),
            "udp" => Some(ExpectProtocol::Udp),
            "any" => Some(ExpectProtocol::Any),
            _ => None,
        };
        if parsed.is_none() {
            cx.push(
                Diagnostic::error(
                    "invalid-protocol",
                    node.span,
                    format!("unknown protocol `{text}`"),
                )
                .with_help(
                    "expectations check icmp, tcp, udp or any (ICMPv6: `icmp` with `ipv6: true`)",
                ),
            );
        }
        parsed
    }
}

impl Expectation {
    /// `instance.a → instance.b icmp` / `… tcp/22`, for messages.
    pub fn label(&self) -> String {
        let service = match (&self.protocol.value, &self.port) {
            (p, Some(port)) => format!("{}/{}", p.as_str(), port.value),
            (p, None) => p.as_str().to_string(),
        };
        let over = if self.over_ipv6() { " over IPv6" } else { "" };
        format!("{} → {} {service}{over}", self.from.value, self.to.value)
    }

    /// Whether it asks about IPv6.
    pub fn over_ipv6(&self) -> bool {
        self.ipv6.as_ref().is_some_and(|x| x.value)
    }
}

pub(crate) fn decode(node: &Node, cx: &mut Cx) -> Option<Vec<Expectation>> {
    list_of(node, cx, |n, cx| {
        let mut f = Fields::new(n, "an expectation", cx)?;
        let from = f.required("from", cx);
        let to = f.required("to", cx);
        let protocol = f.required("protocol", cx);
        let port = f.maybe("port", cx);
        let reachable = f.required("reachable", cx);
        let ipv6 = f.maybe("ipv6", cx);
        let span = f.span();
        f.finish(cx);
        Some(Expectation {
            from: from?,
            to: to?,
            protocol: protocol?,
            port: port.ok()?,
            reachable: reachable?,
            ipv6: ipv6.ok()?,
            span,
        })
    })
}

/// Endpoints name declared instances or subnets; ports go with tcp and udp.
pub(crate) fn validate(expectations: &[Expectation], index: &NameIndex<'_>, cx: &mut Cx) {
    for e in expectations {
        for endpoint in [&e.from, &e.to] {
            check_endpoint(endpoint, index, cx);
        }
        if e.protocol.value == ExpectProtocol::Any && e.reachable.value {
            cx.push(
                Diagnostic::error(
                    "invalid-expectation",
                    e.reachable.span,
                    "`protocol: any` promises that nothing gets through: it needs `reachable: false`",
                )
                .with_help("to promise a path, name its protocol and port (`protocol: tcp`, `port: 443`)"),
            );
        }
        match (e.protocol.value, &e.port) {
            (ExpectProtocol::Any, Some(port)) => cx.push(
                Diagnostic::error(
                    "invalid-port",
                    port.span,
                    "`protocol: any` covers every port",
                )
                .with_help("remove `port`"),
            ),
            (ExpectProtocol::Icmp, Some(port)) => cx.push(
                Diagnostic::error("invalid-port", port.span, "icmp has no ports")
                    .with_help("remove `port`; icmp expectations check echo request and reply"),
            ),
            (ExpectProtocol::Tcp | ExpectProtocol::Udp, None) => cx.push(
                Diagnostic::error(
                    "invalid-port",
                    e.protocol.span,
                    format!("a {} expectation needs a `port`", e.protocol.value.as_str()),
                )
                .with_help("e.g. `port: 22`"),
            ),
            (_, Some(port)) if !(1..=65535).contains(&port.value) => cx.push(
                Diagnostic::error(
                    "invalid-port",
                    port.span,
                    format!("port {} is out of range", port.value),
                )
                .with_help("ports are 1 to 65535"),
            ),
            _ => {}
        }
    }
}

fn check_endpoint(endpoint: &At<String>, index: &NameIndex<'_>, cx: &mut Cx) {
    let text = endpoint.value.trim();
    let service = text.strip_prefix("service:").is_some_and(|s| !s.is_empty())
        || crate::kinds::vpc_endpoint::GATEWAY_SERVICES.contains(&text);
    if text == "internet"
        || service
        || text.parse::<std::net::IpAddr>().is_ok()
        || text.parse::<ipnet::IpNet>().is_ok()
    {
        return;
    }
    if let Some(selector) = text.strip_prefix("tag:") {
        if selector.split_once('=').is_none_or(|(k, _)| k.is_empty()) {
            cx.push(
                Diagnostic::error(
                    "invalid-endpoint",
                    endpoint.span,
                    format!("`{text}` selects no tag"),
                )
                .with_help("select VPCs by a tag as `tag:KEY=VALUE`, e.g. `tag:env=prod`"),
            );
        }
        return;
    }
    let kind = match text.split_once('.') {
        Some(("vpc", name)) => Some((ResourceKind::Vpc, name)),
        Some(("instance", name)) => Some((ResourceKind::Instance, name)),
        Some(("subnet", name)) => Some((ResourceKind::Subnet, name)),
        Some(("vpc-endpoint", name)) => Some((ResourceKind::VpcEndpoint, name)),
        _ => None,
    };
    let Some((kind, name)) = kind else {
        cx.push(
            Diagnostic::error(
                "invalid-endpoint",
                endpoint.span,
                format!("`{text}` is not an endpoint"),
            )
            .with_help("use `instance.NAME`, `subnet.NAME`, `vpc-endpoint.NAME`, an IP, a CIDR, `internet`, an AWS service (`s3`, `service:NAME`), or a group (`vpc.NAME`, `tag:KEY=VALUE`)"),
        );
        return;
    };
    let reference = At::new(name.to_string(), endpoint.span);
    index.check(&reference, kind, "expect", cx);
}
