//! Resource kinds and addresses: how every node of the graph (and of a plan) is named.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every kind of object vpcform manages, including the implicit ones that
/// have no block of their own in the topology file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceKind {
    Vpc,
    Subnet,
    InternetGateway,
    InternetGatewayAttachment,
    RouteTable,
    RouteTableAssociation,
    Route,
    SecurityGroup,
    SecurityGroupRule,
    Instance,
    LogGroup,
    IamPolicy,
    IamRole,
    IamRolePolicyAttachment,
    FlowLog,
    VpcPeering,
}

impl ResourceKind {
    pub const ALL: [ResourceKind; 16] = [
        ResourceKind::Vpc,
        ResourceKind::Subnet,
        ResourceKind::InternetGateway,
        ResourceKind::InternetGatewayAttachment,
        ResourceKind::RouteTable,
        ResourceKind::RouteTableAssociation,
        ResourceKind::Route,
        ResourceKind::SecurityGroup,
        ResourceKind::SecurityGroupRule,
        ResourceKind::Instance,
        ResourceKind::LogGroup,
        ResourceKind::IamPolicy,
        ResourceKind::IamRole,
        ResourceKind::IamRolePolicyAttachment,
        ResourceKind::FlowLog,
        ResourceKind::VpcPeering,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ResourceKind::Vpc => "vpc",
            ResourceKind::Subnet => "subnet",
            ResourceKind::InternetGateway => "internet-gateway",
            ResourceKind::InternetGatewayAttachment => "internet-gateway-attachment",
            ResourceKind::RouteTable => "route-table",
            ResourceKind::RouteTableAssociation => "route-table-association",
            ResourceKind::Route => "route",
            ResourceKind::SecurityGroup => "security-group",
            ResourceKind::SecurityGroupRule => "security-group-rule",
            ResourceKind::Instance => "instance",
            ResourceKind::LogGroup => "log-group",
            ResourceKind::IamPolicy => "iam-policy",
            ResourceKind::IamRole => "iam-role",
            ResourceKind::IamRolePolicyAttachment => "iam-role-policy-attachment",
            ResourceKind::FlowLog => "flow-log",
            ResourceKind::VpcPeering => "vpc-peering",
        }
    }

    /// Human name used in messages ("a VPC", "an internet gateway").
    pub fn article_name(self) -> &'static str {
        match self {
            ResourceKind::Vpc => "a VPC",
            ResourceKind::Subnet => "a subnet",
            ResourceKind::InternetGateway => "an internet gateway",
            ResourceKind::InternetGatewayAttachment => "an internet gateway attachment",
            ResourceKind::RouteTable => "a route table",
            ResourceKind::RouteTableAssociation => "a route table association",
            ResourceKind::Route => "a route",
            ResourceKind::SecurityGroup => "a security group",
            ResourceKind::SecurityGroupRule => "a security group rule",
            ResourceKind::Instance => "an instance",
            ResourceKind::LogGroup => "a log group",
            ResourceKind::IamPolicy => "an IAM policy",
            ResourceKind::IamRole => "an IAM role",
            ResourceKind::IamRolePolicyAttachment => "an IAM role policy attachment",
            ResourceKind::FlowLog => "a flow log",
            ResourceKind::VpcPeering => "a VPC peering",
        }
    }

    pub fn parse(text: &str) -> Option<ResourceKind> {
        ResourceKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `kind.name` or `kind.name[key]`, e.g. `route.public-rt[10.2.0.0/16]`.
/// This string is also the value of the `vpcform:address` ownership tag.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address {
    pub kind: ResourceKind,
    pub name: String,
    pub key: Option<String>,
}

impl Address {
    pub fn new(kind: ResourceKind, name: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
            key: None,
        }
    }

    pub fn keyed(kind: ResourceKind, name: impl Into<String>, key: impl Into<String>) -> Self {
        Address {
            kind,
            name: name.into(),
            key: Some(key.into()),
        }
    }

    /// Parses the `Display` form back.
    pub fn parse(text: &str) -> Option<Address> {
        let (kind, rest) = text.split_once('.')?;
        let kind = ResourceKind::parse(kind)?;
        match rest.split_once('[') {
            Some((name, key)) => Some(Address::keyed(kind, name, key.strip_suffix(']')?)),
            None => Some(Address::new(kind, rest)),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)?;
        if let Some(key) = &self.key {
            write!(f, "[{key}]")?;
        }
        Ok(())
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Address::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not a vpcform address: {text}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trips_through_its_text_form() {
        for addr in [
            Address::new(ResourceKind::Vpc, "network-1"),
            Address::keyed(ResourceKind::Route, "rt", "10.2.0.0/16"),
            Address::keyed(
                ResourceKind::SecurityGroupRule,
                "sg",
                "ingress/tcp/22-22/0.0.0.0/0",
            ),
        ] {
            assert_eq!(Address::parse(&addr.to_string()), Some(addr));
        }
    }
}
