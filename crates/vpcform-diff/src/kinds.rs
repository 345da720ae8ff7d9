//! Per-kind planning rules, in one table: each kind's attributes, which of
//! them force a replacement, how they compare, and how the desired values are
//! derived from the topology. (The AWS side of each kind lives in
//! `vpcform-aws/src/<kind>.rs`.)

use std::collections::{BTreeMap, HashMap};

use serde_json::json;
use vpcform_topology::{
    Address, Direction, FlowLog, IamPolicy, IamRole, Instance, InternetGateway, LogGroup, Named,
    Peer, Peering, ResourceKind, RouteTable, RouteTarget, SecurityGroup, Subnet, Topology, Vpc,
};

use crate::{TAG_ADDRESS, TAG_STACK, Value};

/// How two values of an attribute are compared (after normalisation, equal means no change).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    Exact,
    /// IPv4 CIDR in canonical form.
    Cidr,
    /// An IAM policy document: URL-decoded, statement and action order ignored.
    Policy,
    /// Tags, ignoring AWS's own `aws:` tags and vpcform's config hash.
    Tags,
    /// A list compared as a set.
    StringSet,
    /// A flow-log format, where absent means AWS's default format.
    FlowLogFormat,
    /// Not returned by AWS's batched read: set at creation, never compared.
    Unread,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttrSpec {
    pub name: &'static str,
    pub forces_replacement: bool,
    pub compare: Compare,
}

const fn replace(name: &'static str, compare: Compare) -> AttrSpec {
    AttrSpec {
        name,
        forces_replacement: true,
        compare,
    }
}

const fn update(name: &'static str, compare: Compare) -> AttrSpec {
    AttrSpec {
        name,
        forces_replacement: false,
        compare,
    }
}

const TAGS: AttrSpec = update("tags", Compare::Tags);

/// The attributes of each kind (see ../shared/reference/aws-resources.md).
pub fn attr_specs(kind: ResourceKind) -> &'static [AttrSpec] {
    use Compare::*;
    use ResourceKind as K;
    match kind {
        K::Vpc => {
            const T: &[AttrSpec] = &[
                replace("cidr_block", Cidr),
                update("enable_dns_support", Exact),
                update("enable_dns_hostnames", Exact),
                TAGS,
            ];
            T
        }
        K::Subnet => {
            const T: &[AttrSpec] = &[
                replace("vpc_id", Exact),
                replace("cidr_block", Cidr),
                replace("availability_zone", Exact),
                update("map_public_ip_on_launch", Exact),
                TAGS,
            ];
            T
        }
        K::InternetGateway => {
            const T: &[AttrSpec] = &[TAGS];
            T
        }
        K::InternetGatewayAttachment => {
            const T: &[AttrSpec] = &[
                replace("internet_gateway_id", Exact),
                replace("vpc_id", Exact),
            ];
            T
        }
        K::RouteTable => {
            const T: &[AttrSpec] = &[replace("vpc_id", Exact), TAGS];
            T
        }
        K::RouteTableAssociation => {
            const T: &[AttrSpec] = &[
                replace("route_table_id", Exact),
                replace("subnet_id", Exact),
            ];
            T
        }
        K::Route => {
            const T: &[AttrSpec] = &[
                replace("route_table_id", Exact),
                replace("destination_cidr_block", Cidr),
                update("gateway_id", Exact),
                update("vpc_peering_connection_id", Exact),
            ];
            T
        }
        K::SecurityGroup => {
            const T: &[AttrSpec] = &[
                replace("group_name", Exact),
                replace("description", Exact),
                replace("vpc_id", Exact),
                update("revoke_default_egress", Unread),
                TAGS,
            ];
            T
        }
        K::SecurityGroupRule => {
            const T: &[AttrSpec] = &[
                replace("group_id", Exact),
                replace("direction", Exact),
                replace("ip_protocol", Exact),
                replace("from_port", Exact),
                replace("to_port", Exact),
                replace("cidr_ipv4", Cidr),
                replace("referenced_group_id", Exact),
                update("description", Exact),
            ];
            T
        }
        K::Instance => {
            const T: &[AttrSpec] = &[
                replace("ami", Exact),
                update("instance_type", Exact),
                replace("subnet_id", Exact),
                update("security_group_ids", StringSet),
                replace("key_name", Exact),
                TAGS,
            ];
            T
        }
        K::LogGroup => {
            const T: &[AttrSpec] = &[
                replace("log_group_name", Exact),
                update("retention_in_days", Exact),
                TAGS,
            ];
            T
        }
        K::IamPolicy => {
            const T: &[AttrSpec] = &[
                replace("policy_name", Exact),
                replace("path", Exact),
                replace("description", Exact),
                update("policy_document", Policy),
            ];
            T
        }
        K::IamRole => {
            const T: &[AttrSpec] = &[
                replace("role_name", Exact),
                update("description", Unread),
                update("assume_role_policy_document", Policy),
                TAGS,
            ];
            T
        }
        K::IamRolePolicyAttachment => {
            const T: &[AttrSpec] = &[replace("role_name", Exact), replace("policy_arn", Exact)];
            T
        }
        K::FlowLog => {
            const T: &[AttrSpec] = &[
                replace("resource_id", Exact),
                replace("resource_type", Exact),
                replace("log_group_name", Exact),
                replace("deliver_logs_permission_arn", Exact),
                replace("traffic_type", Exact),
                replace("max_aggregation_interval", Exact),
                replace("log_format", FlowLogFormat),
                TAGS,
            ];
            T
        }
        K::VpcPeering => {
            const T: &[AttrSpec] = &[
                replace("requester_vpc_id", Exact),
                replace("accepter_vpc_id", Exact),
                update("status", Exact),
                TAGS,
            ];
            T
        }
    }
}

/// Which comes first when an object is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceOrder {
    DeleteFirst,
    CreateFirst,
}

/// Names and addresses are unique in AWS for most kinds, so the old object
/// goes first; instances and renamed security groups can coexist with their
/// replacement, which keeps dependents working during the swap.
pub fn replace_order(kind: ResourceKind, reasons: &[String]) -> ReplaceOrder {
    match kind {
        ResourceKind::Instance => ReplaceOrder::CreateFirst,
        ResourceKind::SecurityGroup
            if reasons
                .iter()
                .all(|r| r == "group_name" || r == "description") =>
        {
            // A new name can exist beside the old one; the same name cannot.
            if reasons.iter().any(|r| r == "group_name") {
                ReplaceOrder::CreateFirst
            } else {
                ReplaceOrder::DeleteFirst
            }
        }
        _ => ReplaceOrder::DeleteFirst,
    }
}

/// The object an implicit object belongs to (its ownership and config hash).
pub fn child_container(address: &Address) -> Option<Address> {
    let kind = match address.kind {
        ResourceKind::Route | ResourceKind::RouteTableAssociation => ResourceKind::RouteTable,
        ResourceKind::SecurityGroupRule => ResourceKind::SecurityGroup,
        ResourceKind::InternetGatewayAttachment => ResourceKind::InternetGateway,
        ResourceKind::IamRolePolicyAttachment => ResourceKind::IamRole,
        _ => return None,
    };
    Some(Address::new(kind, address.name.clone()))
}

/// A desired attribute value: known now, or another object's attribute.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Desired {
    Known(Value),
    Ref(Address, &'static str),
    /// A list of ids, compared as a set.
    RefList(Vec<Address>),
    /// An AMI id looked up from an SSM parameter at apply time.
    Ssm(String),
}

pub(crate) type DesiredAttrs = BTreeMap<&'static str, Desired>;

fn known(v: impl Into<Value>) -> Desired {
    Desired::Known(v.into())
}

fn id_of(kind: ResourceKind, name: &str) -> Desired {
    Desired::Ref(Address::new(kind, name), "id")
}

/// The topology indexed by logical name, to derive desired attributes.
pub(crate) struct Lookup<'t> {
    stack: &'t str,
    vpcs: HashMap<&'t str, &'t Vpc>,
    subnets: HashMap<&'t str, &'t Subnet>,
    igws: HashMap<&'t str, &'t InternetGateway>,
    tables: HashMap<&'t str, &'t RouteTable>,
    groups: HashMap<&'t str, &'t SecurityGroup>,
    instances: HashMap<&'t str, &'t Instance>,
    log_groups: HashMap<&'t str, &'t LogGroup>,
    policies: HashMap<&'t str, &'t IamPolicy>,
    roles: HashMap<&'t str, &'t IamRole>,
    flow_logs: HashMap<&'t str, &'t FlowLog>,
    peerings: HashMap<&'t str, &'t Peering>,
    routes: HashMap<(String, String), RouteTarget>,
}

fn index<T>(items: &[Named<T>]) -> HashMap<&str, &T> {
    items
        .iter()
        .map(|n| (n.name.value.as_str(), &n.spec))
        .collect()
}

/// The path vpcform gives an IAM policy: `/vpcform/<stack>/<logical name>/`.
/// It marks ownership (and the address) where AWS's batched policy listing
/// carries no tags, and is set in the create call like a tag.
pub fn policy_path(stack: &str, logical_name: &str) -> String {
    format!("{}{logical_name}/", policy_path_prefix(stack))
}

/// The path prefix of all IAM policies of a stack.
pub fn policy_path_prefix(stack: &str) -> String {
    format!("/vpcform/{stack}/")
}

impl<'t> Lookup<'t> {
    pub(crate) fn new(t: &'t Topology) -> Self {
        Lookup {
            stack: &t.stack.value,
            vpcs: index(&t.vpcs),
            subnets: index(&t.subnets),
            igws: index(&t.internet_gateways),
            tables: index(&t.route_tables),
            groups: index(&t.security_groups),
            instances: index(&t.instances),
            log_groups: index(&t.log_groups),
            policies: index(&t.iam_policies),
            roles: index(&t.iam_roles),
            flow_logs: index(&t.flow_logs),
            peerings: index(&t.peerings),
            routes: t
                .effective_routes()
                .into_iter()
                .map(|r| ((r.table, r.destination.to_string()), r.target))
                .collect(),
        }
    }

    /// Whether the security group's egress rules are managed (declared).
    pub(crate) fn manages_egress(&self, group: &str) -> bool {
        self.groups.get(group).is_some_and(|g| g.egress.is_some())
    }

    fn tags(&self, address: &Address, user: &BTreeMap<String, String>) -> Desired {
        let mut tags: serde_json::Map<String, Value> = user
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        tags.insert(TAG_STACK.into(), Value::String(self.stack.to_string()));
        tags.insert(TAG_ADDRESS.into(), Value::String(address.to_string()));
        Desired::Known(Value::Object(tags))
    }

    /// The desired attributes of one graph node; `None` for an address the topology does not declare.
    pub(crate) fn desired(
        &self,
        a: &Address,
        ssm: &BTreeMap<String, String>,
    ) -> Option<DesiredAttrs> {
        use ResourceKind as K;
        let name = a.name.as_str();
        let mut d = DesiredAttrs::new();
        match a.kind {
            K::Vpc => {
                let v = self.vpcs.get(name)?;
                d.insert("cidr_block", known(v.cidr.value.to_string()));
                d.insert(
                    "enable_dns_support",
                    known(v.enable_dns_support.as_ref().is_none_or(|x| x.value)),
                );
                d.insert(
                    "enable_dns_hostnames",
                    known(v.enable_dns_hostnames.as_ref().is_some_and(|x| x.value)),
                );
                d.insert("tags", self.tags(a, &v.tags));
            }
            K::Subnet => {
                let s = self.subnets.get(name)?;
                d.insert("vpc_id", id_of(K::Vpc, &s.vpc.value));
                d.insert("cidr_block", known(s.cidr.value.to_string()));
                if let Some(az) = &s.availability_zone {
                    d.insert("availability_zone", known(az.value.clone()));
                }
                d.insert(
                    "map_public_ip_on_launch",
                    known(s.map_public_ip_on_launch.as_ref().is_some_and(|x| x.value)),
                );
                d.insert("tags", self.tags(a, &s.tags));
            }
            K::InternetGateway => {
                let g = self.igws.get(name)?;
                d.insert("tags", self.tags(a, &g.tags));
            }
            K::InternetGatewayAttachment => {
                let g = self.igws.get(name)?;
                d.insert("internet_gateway_id", id_of(K::InternetGateway, name));
                d.insert("vpc_id", id_of(K::Vpc, &g.vpc.value));
            }
            K::RouteTable => {
                let t = self.tables.get(name)?;
                d.insert("vpc_id", id_of(K::Vpc, &t.vpc.value));
                d.insert("tags", self.tags(a, &t.tags));
            }
            K::RouteTableAssociation => {
                let subnet = a.key.as_deref()?;
                let t = self.tables.get(name)?;
                if !t.subnets.iter().any(|s| s.value == subnet) {
                    return None;
                }
                d.insert("route_table_id", id_of(K::RouteTable, name));
                d.insert("subnet_id", id_of(K::Subnet, subnet));
            }
            K::Route => {
                let destination = a.key.as_deref()?;
                let target = self
                    .routes
                    .get(&(name.to_string(), destination.to_string()))?;
                d.insert("route_table_id", id_of(K::RouteTable, name));
                d.insert("destination_cidr_block", known(destination));
                match target {
                    RouteTarget::InternetGateway(g) => {
                        d.insert("gateway_id", id_of(K::InternetGateway, g));
                        d.insert("vpc_peering_connection_id", known(Value::Null));
                    }
                    RouteTarget::Peering(p) => {
                        d.insert("gateway_id", known(Value::Null));
                        d.insert("vpc_peering_connection_id", id_of(K::VpcPeering, p));
                    }
                }
            }
            K::SecurityGroup => {
                let g = self.groups.get(name)?;
                let group_name = g.name.as_ref().map_or(name, |n| n.value.as_str());
                let description = g
                    .description
                    .as_ref()
                    .map_or("Managed by vpcform", |d| d.value.as_str());
                d.insert("group_name", known(group_name));
                d.insert("description", known(description));
                d.insert("vpc_id", id_of(K::Vpc, &g.vpc.value));
                if g.egress.is_some() {
                    // Declared egress replaces AWS's default allow-all rule.
                    d.insert("revoke_default_egress", known(true));
                }
                d.insert("tags", self.tags(a, &g.tags));
            }
            K::SecurityGroupRule => {
                let key = a.key.as_deref()?;
                let g = self.groups.get(name)?;
                let rules = g
                    .ingress
                    .iter()
                    .map(|r| (Direction::Ingress, r))
                    .chain(g.egress.iter().flatten().map(|r| (Direction::Egress, r)));
                let rule = rules
                    .filter_map(|(dir, r)| r.normalise(dir))
                    .find(|r| r.key() == key)?;
                d.insert("group_id", id_of(K::SecurityGroup, name));
                d.insert("direction", known(rule.direction.as_str()));
                d.insert("ip_protocol", known(rule.protocol.aws_name()));
                d.insert("from_port", known(rule.from_port));
                d.insert("to_port", known(rule.to_port));
                match &rule.peer {
                    Peer::Cidr(c) => {
                        d.insert("cidr_ipv4", known(c.to_string()));
                        d.insert("referenced_group_id", known(Value::Null));
                    }
                    Peer::SecurityGroup(other) => {
                        d.insert("cidr_ipv4", known(Value::Null));
                        d.insert("referenced_group_id", id_of(K::SecurityGroup, other));
                    }
                }
                d.insert(
                    "description",
                    known(rule.description.clone().map_or(Value::Null, Value::String)),
                );
            }
            K::Instance => {
                let i = self.instances.get(name)?;
                match (&i.ami, &i.ami_ssm_parameter) {
                    (Some(ami), _) => {
                        d.insert("ami", known(ami.value.clone()));
                    }
                    (None, Some(p)) => {
                        if let Some(ami) = ssm.get(&p.value) {
                            d.insert("ami", known(ami.clone()));
                        } else {
                            d.insert("ami", Desired::Ssm(p.value.clone()));
                        }
                    }
                    (None, None) => {}
                }
                d.insert("instance_type", known(i.instance_type.value.clone()));
                d.insert("subnet_id", id_of(K::Subnet, &i.subnet.value));
                d.insert(
                    "security_group_ids",
                    Desired::RefList(
                        i.security_groups
                            .iter()
                            .map(|g| Address::new(K::SecurityGroup, &g.value))
                            .collect(),
                    ),
                );
                d.insert(
                    "key_name",
                    known(
                        i.key_name
                            .as_ref()
                            .map_or(Value::Null, |k| Value::String(k.value.clone())),
                    ),
                );
                d.insert("tags", self.tags(a, &i.tags));
            }
            K::LogGroup => {
                let l = self.log_groups.get(name)?;
                d.insert("log_group_name", known(l.name.value.clone()));
                d.insert(
                    "retention_in_days",
                    known(
                        l.retention_days
                            .as_ref()
                            .map_or(Value::Null, |r| json!(r.value)),
                    ),
                );
                d.insert("tags", self.tags(a, &l.tags));
            }
            K::IamPolicy => {
                let p = self.policies.get(name)?;
                d.insert("policy_name", known(p.name.value.clone()));
                d.insert("path", known(policy_path(self.stack, name)));
                d.insert(
                    "description",
                    known(
                        p.description
                            .as_ref()
                            .map_or(Value::Null, |x| Value::String(x.value.clone())),
                    ),
                );
                d.insert("policy_document", known(p.document.value.clone()));
            }
            K::IamRole => {
                let r = self.roles.get(name)?;
                d.insert("role_name", known(r.name.value.clone()));
                d.insert(
                    "description",
                    known(
                        r.description
                            .as_ref()
                            .map_or(Value::Null, |x| Value::String(x.value.clone())),
                    ),
                );
                d.insert(
                    "assume_role_policy_document",
                    known(Topology::role_trust_document(r)),
                );
                d.insert("tags", self.tags(a, &r.tags));
            }
            K::IamRolePolicyAttachment => {
                let policy = a.key.as_deref()?;
                let r = self.roles.get(name)?;
                if !r.policies.iter().any(|p| p.value == policy) {
                    return None;
                }
                d.insert("role_name", known(r.name.value.clone()));
                d.insert(
                    "policy_arn",
                    Desired::Ref(Address::new(K::IamPolicy, policy), "arn"),
                );
            }
            K::FlowLog => {
                let f = self.flow_logs.get(name)?;
                match (&f.vpc, &f.subnet) {
                    (Some(v), _) => {
                        d.insert("resource_id", id_of(K::Vpc, &v.value));
                        d.insert("resource_type", known("VPC"));
                    }
                    (None, Some(s)) => {
                        d.insert("resource_id", id_of(K::Subnet, &s.value));
                        d.insert("resource_type", known("Subnet"));
                    }
                    (None, None) => return None,
                }
                let group = self.log_groups.get(f.log_group.value.as_str())?;
                d.insert("log_group_name", known(group.name.value.clone()));
                d.insert(
                    "deliver_logs_permission_arn",
                    Desired::Ref(Address::new(K::IamRole, &f.role.value), "arn"),
                );
                d.insert(
                    "traffic_type",
                    known(f.traffic_type.as_ref().map_or("ALL", |t| t.value.as_str())),
                );
                d.insert(
                    "max_aggregation_interval",
                    known(f.max_aggregation_interval.as_ref().map_or(600, |i| i.value)),
                );
                let format = f.format.as_ref().map_or(Value::Null, |fields| {
                    Value::String(
                        fields
                            .iter()
                            .map(|x| format!("${{{}}}", x.value))
                            .collect::<Vec<_>>()
                            .join(" "),
                    )
                });
                d.insert("log_format", known(format));
                d.insert("tags", self.tags(a, &f.tags));
            }
            K::VpcPeering => {
                let p = self.peerings.get(name)?;
                d.insert("requester_vpc_id", id_of(K::Vpc, &p.requester.value));
                d.insert("accepter_vpc_id", id_of(K::Vpc, &p.accepter.value));
                d.insert("status", known("active"));
                d.insert("tags", self.tags(a, &p.tags));
            }
        }
        Some(d)
    }
}
