//! One module per resource kind (or family read together): its batched read
//! and its create, update, retag and delete, behind [`crate::kind::AwsKind`].
//! Module names match the registry and `vpcform-topology/src/kinds/`.

pub(crate) mod alarm;
pub(crate) mod contributor_rule;
pub(crate) mod dashboard;
pub(crate) mod dhcp_options;
pub(crate) mod egress_only_gateway;
pub(crate) mod flow_log;
pub(crate) mod iam;
pub(crate) mod instance;
pub(crate) mod internet_gateway;
pub(crate) mod log_group;
pub(crate) mod metric_filter;
pub(crate) mod nat_gateway;
pub(crate) mod network_acl;
pub(crate) mod peering;
pub(crate) mod prefix_list;
pub(crate) mod query_definition;
pub(crate) mod route_table;
pub(crate) mod security_group;
pub(crate) mod sns;
pub(crate) mod subnet;
pub(crate) mod transit_gateway;
pub(crate) mod transit_gateway_route_table;
pub(crate) mod vpc;
pub(crate) mod vpc_endpoint;
