//! `vpcform explain`: why a flow-log record says REJECT. Flow logs never
//! say which setting dropped a packet; the network model does. A record is
//! read both ways it can be: a request (its source opened the flow), or the
//! reply of a flow its destination opened (a reply dropped by a network
//! ACL is recorded as REJECT from the server's port to the client's). The
//! reading whose packets in the record's own direction are blocked is the
//! answer, with Reachability Analyzer's codes and the fix. When neither is
//! blocked, the answer is `unknown`, never a guess.

use std::net::IpAddr;

use serde::Serialize;
use vpcform_topology::{ExpectProtocol, Expectation};

use crate::eval::{Answer, Block, Undecided, Verdict, evaluate};
use crate::flow::{EndpointSpec, Service};
use crate::model::Network;

/// The fields of a flow-log record an explanation needs.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct FlowRecord {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    /// IANA protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
    pub protocol: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interface: Option<String>,
}

/// How a record was read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reading {
    /// The record's source opened the flow; the request was dropped.
    Request,
    /// The record's destination opened the flow; this is its reply, dropped.
    Reply,
}

/// Why a record says REJECT.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "answer", rename_all = "kebab-case")]
pub enum Cause {
    /// The settings that drop the record's packets (several at once when
    /// several do), read as a request or as a reply.
    Blocked {
        reading: Reading,
        /// The flow as the client opened it: `10.1.0.5 → 10.2.0.7 tcp/22`.
        flow: String,
        blocks: Vec<Block>,
    },
    /// The model cannot decide: the path crosses what it does not see.
    Unknown {
        flow: String,
        undecided: Vec<Undecided>,
    },
    /// The configuration read now allows the flow both ways.
    Allowed { flow: String, why: String },
    /// The record is of a kind the model does not evaluate.
    NotModelled { why: String },
}

/// One record's explanation.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    pub record: FlowRecord,
    #[serde(flatten)]
    pub cause: Cause,
}

/// The service a packet of `protocol` to `port` belongs to.
fn service(protocol: u8, port: u16) -> Option<Service> {
    match protocol {
        6 => Some(Service::tcp(port)),
        17 => Some(Service::udp(port)),
        1 => Some(Service::icmp()),
        58 => Some(Service::icmp().over_ipv6()),
        _ => None,
    }
}

/// Explains one REJECT record against `network`.
pub fn explain(network: &Network, record: &FlowRecord) -> Explanation {
    let cause = cause(network, record);
    Explanation {
        record: record.clone(),
        cause,
    }
}

fn cause(network: &Network, r: &FlowRecord) -> Cause {
    let Some(request) = service(r.protocol, r.dst_port) else {
        return Cause::NotModelled {
            why: format!(
                "protocol {}: vpcform evaluates TCP, UDP and ICMP",
                r.protocol
            ),
        };
    };
    let (src, dst) = (EndpointSpec::Ip(r.src), EndpointSpec::Ip(r.dst));
    let forward = match evaluate(network, &src, &dst, request) {
        Ok(v) => v,
        Err(why) => return Cause::NotModelled { why },
    };
    // The reply reading: the destination opened a flow to the source's port
    // (an ICMP record is an echo request or reply: then the reverse echo).
    let reply = match service(r.protocol, r.src_port).filter(|_| matches!(r.protocol, 6 | 17)) {
        Some(opened) => evaluate(network, &dst, &src, opened).ok(),
        None => evaluate(network, &dst, &src, request).ok(),
    };
    let as_request = blocked(&forward, "forward", Reading::Request);
    let as_reply = reply
        .as_ref()
        .filter(|v| !v.blocked.iter().any(|b| b.leg == "forward"))
        .and_then(|v| blocked(v, "return", Reading::Reply));
    // A record from a lower port to a client's port is most likely a reply.
    let looks_like_reply =
        matches!(r.protocol, 6 | 17) && r.src_port < r.dst_port && r.dst_port >= 1024;
    // Such a record read as a request would blame the client's own port:
    // when its reply reading is not blocked, the answer is not a guess.
    let found = match looks_like_reply {
        true => as_reply,
        false => as_request.or(as_reply),
    };
    if let Some(cause) = found {
        return cause;
    }
    if forward.answer == Answer::Unknown {
        return Cause::Unknown {
            flow: flow_label(&forward),
            undecided: forward.unknown,
        };
    }
    Cause::Allowed {
        flow: flow_label(&forward),
        why: "the configuration read now lets these packets through both ways: the record may predate a change (compare its time with the last apply), or belong to a connection whose tracking ended".into(),
    }
}

fn flow_label(v: &Verdict) -> String {
    format!("{} → {} {}", v.from, v.to, v.service)
}

/// The verdict's blocks on `leg`, as a cause, if any.
fn blocked(v: &Verdict, leg: &str, reading: Reading) -> Option<Cause> {
    let blocks: Vec<Block> = v.blocked.iter().filter(|b| b.leg == leg).cloned().collect();
    (!blocks.is_empty()).then(|| Cause::Blocked {
        reading,
        flow: flow_label(v),
        blocks,
    })
}

/// Whether an expectation covers a flow (either way: a promise about a
/// request covers its reply).
pub fn covered_by(network: &Network, e: &Expectation, record: &FlowRecord) -> bool {
    let ends = |spec: &str| -> Option<ipnet::IpNet> {
        let spec: EndpointSpec = spec.parse().ok()?;
        let ipv6 = record.src.is_ipv6();
        crate::flow::resolve(network, &spec, ipv6)
            .ok()
            .map(|e| e.addr)
    };
    let (Some(from), Some(to)) = (ends(&e.from.value), ends(&e.to.value)) else {
        return false;
    };
    let protocol_matches = match e.protocol.value {
        ExpectProtocol::Any => true,
        ExpectProtocol::Icmp => matches!(record.protocol, 1 | 58),
        ExpectProtocol::Tcp => record.protocol == 6,
        ExpectProtocol::Udp => record.protocol == 17,
    };
    let port = e.port.as_ref().map(|p| p.value);
    let request = from.contains(&record.src)
        && to.contains(&record.dst)
        && port.is_none_or(|p| p == i64::from(record.dst_port));
    let reply = to.contains(&record.src)
        && from.contains(&record.dst)
        && port.is_none_or(|p| p == i64::from(record.src_port));
    protocol_matches && (request || reply)
}

/// The request a record belongs to, as `expect:` would name it: a reply
/// (from a lower port than it goes to) is turned around.
pub fn as_request(record: &FlowRecord) -> FlowRecord {
    let is_reply = matches!(record.protocol, 6 | 17) && record.src_port < record.dst_port;
    if !is_reply {
        return record.clone();
    }
    FlowRecord {
        src: record.dst,
        dst: record.src,
        src_port: record.dst_port,
        dst_port: record.src_port,
        protocol: record.protocol,
        interface: record.interface.clone(),
    }
}
