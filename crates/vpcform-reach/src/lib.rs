//! vpcform's reachability engine. Pure: no AWS SDK, no async.
//!
//! A [`Network`] model (built from a topology by [`from_topology`], or by
//! callers from live state) and [`evaluate`], which answers whether one flow
//! gets from one endpoint to another and back, hop by hop, naming every
//! setting that blocks it. See ../shared/reference/flow-logs-insights-reachability.md.

mod build;
mod connectivity;
mod eval;
mod explain;
mod flow;
mod model;
mod segment;
mod transit_pairs;

pub use build::{from_topology, planned};
pub use connectivity::{
    Connectivity, ExpectationResult, FlowChange, Status, check_expectations, diff,
    expectation_diagnostics, flows_compared, service_of,
};
pub use eval::{Answer, Block, Hop, Undecided, Verdict, evaluate};
pub use explain::{Cause, Explanation, FlowRecord, Reading, as_request, covered_by, explain};
pub use flow::{
    ECHO_REPLY, ECHO_REQUEST, ECHO6_REPLY, ECHO6_REQUEST, EPHEMERAL, Endpoint, EndpointSpec,
    Service, resolve,
};
pub use model::{
    AclEntry, Component, EgressOnlyGateway, EndpointInterface, Instance, InternetGateway,
    Ipv6Block, NatGateway, Network, NetworkAcl, Peering, PrefixList, Route, RouteTable,
    RouteTarget, SecurityGroup, SgPeer, SgRule, Subnet, TgwAttachment, TgwDestination, TgwRoute,
    TgwRouteTable, TransitGateway, Vpc, VpcEndpoint, service_list_key,
};
pub use segment::is_group as is_group_expectation;
