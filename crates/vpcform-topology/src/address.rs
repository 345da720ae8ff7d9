//! Addresses: how every node of the graph (and of a plan) is named.

use std::fmt;

use serde::{Deserialize, Serialize};

pub use crate::registry::ResourceKind;

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
