//! Addresses: how every node of the graph (and of a plan) is named.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! optional_kind {
    () => {
        None
    };
    ($container:ident) => {
        Some(ResourceKind::$container)
    };
}

macro_rules! optional_key {
    () => {
        None
    };
    ($key:literal) => {
        Some($key)
    };
}

/// The registry's kinds by name, before any kind's module: what names,
/// articles, containers, sections and route-target keys need, nothing more.
macro_rules! define_names {
    ($(
        $kind:ident => $module:ident :: $ty:ident, $name:literal, $article:literal,
        $( section($field:ident = $key:literal) )? $( part_of($container:ident) )?
        $( , route_target($target:ident = $target_key:literal) )? ;
    )*) => {
        /// The kinds a route may point at (registry lines with `route_target`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum TargetKind {
            $( $( $target, )? )*
        }

        impl TargetKind {
            pub const ALL: &'static [TargetKind] = &[$( $( TargetKind::$target, )? )*];

            /// The route's key in YAML (`nat-gateway: NAME`).
            pub fn key(self) -> &'static str {
                match self {
                    $( $( TargetKind::$target => $target_key, )? )*
                }
            }

            pub fn resource_kind(self) -> ResourceKind {
                match self {
                    $( $( TargetKind::$target => ResourceKind::$kind, )? )*
                }
            }

        }

        /// Every kind of object vpcform manages, including the implicit ones
        /// that have no section of their own in the topology file.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum ResourceKind {
            $( $kind, )*
        }

        impl ResourceKind {
            pub const ALL: &'static [ResourceKind] = &[$( ResourceKind::$kind, )*];

            /// The kind as addresses write it (`route-table`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $( ResourceKind::$kind => $name, )*
                }
            }

            /// Human name used in messages ("a VPC", "an internet gateway").
            pub fn article_name(self) -> &'static str {
                match self {
                    $( ResourceKind::$kind => $article, )*
                }
            }

            /// The kind whose declaration implies this one (a route's route table).
            pub fn container(self) -> Option<ResourceKind> {
                match self {
                    $( ResourceKind::$kind => optional_kind!($( $container )?), )*
                }
            }

            /// The topology section that declares this kind, if it has one.
            pub fn section(self) -> Option<&'static str> {
                match self {
                    $( ResourceKind::$kind => optional_key!($( $key )?), )*
                }
            }

        }
    };
}

crate::with_registry!(define_names);

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl ResourceKind {
    pub fn parse(text: &str) -> Option<ResourceKind> {
        ResourceKind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == text)
    }

    /// The object an implicit object belongs to (its ownership and config hash).
    pub fn container_of(address: &Address) -> Option<Address> {
        let kind = address.kind.container()?;
        Some(Address::new(kind, address.name.clone()))
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
