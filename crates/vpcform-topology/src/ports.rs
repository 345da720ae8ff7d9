//! Protocol and port fields, as security-group rules and network-ACL entries
//! write them: one port, a range, or an ICMP type and code.

use crate::decode::Cx;
use crate::diagnostic::{Diagnostic, Span};
use crate::model::{At, Protocol};

/// The protocol and port fields of one rule or entry.
#[derive(Debug)]
pub(crate) struct PortFields<'a> {
    pub(crate) protocol: Protocol,
    pub(crate) port: &'a Option<At<i64>>,
    pub(crate) from_port: &'a Option<At<i64>>,
    pub(crate) to_port: &'a Option<At<i64>>,
    pub(crate) icmp_type: &'a Option<At<i64>>,
    pub(crate) icmp_code: &'a Option<At<i64>>,
    /// The rule or entry, for problems of the whole.
    pub(crate) span: Span,
}

impl PortFields<'_> {
    /// The range as AWS stores it: ports for tcp/udp (all when none given),
    /// ICMP type and code (-1 for all), -1..-1 for other protocols.
    pub(crate) fn range(&self) -> (i64, i64) {
        match self.protocol {
            Protocol::Tcp | Protocol::Udp => match (self.port, self.from_port, self.to_port) {
                (Some(p), _, _) => (p.value, p.value),
                (None, Some(f), Some(t)) => (f.value, t.value),
                (None, Some(f), None) => (f.value, f.value),
                (None, None, Some(t)) => (t.value, t.value),
                (None, None, None) => (0, 65535),
            },
            Protocol::Icmp | Protocol::Icmpv6 => (
                self.icmp_type.as_ref().map_or(-1, |t| t.value),
                self.icmp_code.as_ref().map_or(-1, |c| c.value),
            ),
            Protocol::All | Protocol::Number(_) => (-1, -1),
        }
    }
}

/// ICMP belongs to its family: `icmp` with IPv4 blocks, `icmpv6` with IPv6
/// ones (AWS accepts both, and the rule or entry then matches nothing).
pub(crate) fn check_family(protocol: Protocol, cidr: &At<ipnet::IpNet>, cx: &mut Cx) {
    let ipv6 = cidr.value.addr().is_ipv6();
    let wrong = match protocol {
        Protocol::Icmp => ipv6,
        Protocol::Icmpv6 => !ipv6,
        Protocol::Tcp | Protocol::Udp | Protocol::All | Protocol::Number(_) => false,
    };
    if wrong {
        let (named, other) = if ipv6 {
            ("icmp", "icmpv6")
        } else {
            ("icmpv6", "icmp")
        };
        cx.push(
            Diagnostic::error(
                "rule-family",
                cidr.span,
                format!(
                    "`{named}` never matches traffic of {}: it is ICMP of the other IP version",
                    cidr.value
                ),
            )
            .with_help(format!(
                "use `protocol: {other}` for this block (ping over IPv6 is ICMPv6)"
            )),
        );
    }
}

/// Ports only for tcp/udp and in range; ICMP type and code only for icmp.
/// Reports every problem; false if any.
pub(crate) fn check(fields: &PortFields<'_>, cx: &mut Cx) -> bool {
    let ports = check_ports(fields, cx);
    let icmp = check_icmp(fields, cx);
    ports && icmp
}

fn check_ports(rule: &PortFields<'_>, cx: &mut Cx) -> bool {
    let mut ok = true;
    let protocol = rule.protocol;
    let port_fields = [rule.port, rule.from_port, rule.to_port];
    if !protocol.has_ports() {
        for f in port_fields.into_iter().flatten() {
            cx.push(
                Diagnostic::error(
                    "invalid-port",
                    f.span,
                    format!("protocol `{}` has no ports", protocol_label(protocol)),
                )
                .with_help("ports apply to tcp and udp only; remove this field"),
            );
            ok = false;
        }
        return ok;
    }
    if rule.port.is_some() && (rule.from_port.is_some() || rule.to_port.is_some()) {
        cx.push(
            Diagnostic::error(
                "invalid-port",
                rule.span,
                "a rule has both `port` and `from-port`/`to-port`",
            )
            .with_help("use `port` for one port, or `from-port` and `to-port` for a range"),
        );
        ok = false;
    }
    for f in port_fields.into_iter().flatten() {
        if !(0..=65535).contains(&f.value) {
            cx.push(
                Diagnostic::error(
                    "invalid-port",
                    f.span,
                    format!("port {} is out of range", f.value),
                )
                .with_help("ports are 0 to 65535"),
            );
            ok = false;
        }
    }
    if let (Some(from), Some(to)) = (&rule.from_port, &rule.to_port)
        && from.value > to.value
    {
        cx.push(
            Diagnostic::error(
                "invalid-port",
                to.span,
                format!("the port range {}-{} is reversed", from.value, to.value),
            )
            .with_related(from.span, "the range starts here")
            .with_help(format!(
                "write `from-port: {}` and `to-port: {}`",
                to.value, from.value
            )),
        );
        ok = false;
    }
    ok
}

fn check_icmp(rule: &PortFields<'_>, cx: &mut Cx) -> bool {
    let mut ok = true;
    let protocol = rule.protocol;
    for (field, name) in [(rule.icmp_type, "icmp-type"), (rule.icmp_code, "icmp-code")] {
        let Some(f) = field else { continue };
        if !protocol.is_icmp() {
            cx.push(
                Diagnostic::error(
                    "invalid-icmp",
                    f.span,
                    format!("`{name}` applies to protocol icmp only"),
                )
                .with_help("remove it, or set `protocol: icmp` (`icmpv6` for IPv6)"),
            );
            ok = false;
        } else if !(-1..=255).contains(&f.value) {
            cx.push(
                Diagnostic::error(
                    "invalid-icmp",
                    f.span,
                    format!("{name} {} is out of range", f.value),
                )
                .with_help("ICMP types and codes are 0 to 255, or -1 for all"),
            );
            ok = false;
        }
    }
    if protocol.is_icmp() && rule.icmp_code.is_some() && rule.icmp_type.is_none() {
        cx.push(
            Diagnostic::error(
                "invalid-icmp",
                rule.span,
                "`icmp-code` needs an `icmp-type`",
            )
            .with_help("set `icmp-type`, e.g. 8 for echo request"),
        );
        ok = false;
    }
    ok
}

pub(crate) fn protocol_label(p: Protocol) -> String {
    match p {
        Protocol::All => "all".into(),
        Protocol::Icmpv6 => "icmpv6".into(),
        other => other.aws_name(),
    }
}

/// `protocol:` and the port or ICMP fields of a rule or entry as AWS stores
/// them (`vpcform import`), leaving out what means "all".
pub(crate) fn export(m: &mut crate::emit::Map, protocol: Protocol, from: i64, to: i64) {
    match protocol {
        Protocol::Number(n) => m.set("protocol", i64::from(n)),
        other => m.set("protocol", protocol_label(other)),
    };
    match protocol {
        Protocol::Tcp | Protocol::Udp if (from, to) == (0, 65535) => {}
        Protocol::Tcp | Protocol::Udp if from == to => {
            m.set("port", from);
        }
        Protocol::Tcp | Protocol::Udp => {
            m.set("from-port", from).set("to-port", to);
        }
        Protocol::Icmp | Protocol::Icmpv6 if from >= 0 => {
            m.set("icmp-type", from);
            if to >= 0 {
                m.set("icmp-code", to);
            }
        }
        _ => {}
    }
}
