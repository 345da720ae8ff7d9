//! One module per resource kind (or family of kinds declared together):
//! its YAML model and decoding, validation rules, graph edges, attribute
//! table, and desired values. Cross-kind validation lives in `rules/`.
//! Each module's name is the one the registry line gives, and matches the
//! kind's module in `vpcform-aws/src/kinds/`.

pub mod alarm;
pub mod contributor_rule;
pub mod dashboard;
pub mod dhcp_options;
pub mod egress_only_gateway;
pub mod flow_log;
pub mod iam;
pub mod instance;
pub mod internet_gateway;
pub mod log_group;
pub mod metric_filter;
pub mod nat_gateway;
pub mod network_acl;
pub mod peering;
pub mod prefix_list;
pub mod query_definition;
pub mod route_table;
pub mod security_group;
pub mod sns;
pub mod subnet;
pub mod transit_gateway;
pub mod transit_gateway_route_table;
pub mod vpc;
pub mod vpc_endpoint;
