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
        $( section($field:ident = $key:literal) )? $( part_of($container:ident $([$keyed:ident])?) )?
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

            /// Whether this kind's addresses carry a key (`route.rt[0.0.0.0/0]`):
            /// implicit objects of which a container holds many.
            pub fn is_keyed(self) -> bool {
                match self {
                    $( ResourceKind::$kind => false $( $( || stringify!($keyed) == "keyed" )? )?, )*
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

    /// Parses the `Display` form back. A name may hold instance keys of its
    /// own (`subnet.spoke[a].app`); a keyed kind's key is the last bracketed
    /// group, which may itself hold brackets (`…[ingress/tcp/22-22/sg:web[a]]`).
    pub fn parse(text: &str) -> Option<Address> {
        let (kind, rest) = text.split_once('.')?;
        let kind = ResourceKind::parse(kind)?;
        if !kind.is_keyed() {
            return Some(Address::new(kind, rest));
        }
        let inner = rest.strip_suffix(']')?;
        let mut depth = 1;
        for (at, c) in inner.char_indices().rev() {
            match c {
                ']' => depth += 1,
                '[' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(Address::keyed(kind, &inner[..at], &inner[at + 1..]));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The value of the `vpcform:address` tag. IAM and CloudWatch Logs allow
    /// no brackets in tag values, so an instance key `spoke[a]` is written
    /// `spoke/a` (names hold no `/`, keys no `.` or `/`).
    pub fn tag_value(&self) -> String {
        let mut name = String::with_capacity(self.name.len());
        for c in self.name.chars() {
            match c {
                '[' => name.push('/'),
                ']' => {}
                c => name.push(c),
            }
        }
        let mut out = format!("{}.{name}", self.kind);
        if let Some(key) = &self.key {
            out.push_str(&format!("[{key}]"));
        }
        out
    }

    /// Reads a `vpcform:address` tag back ([`Address::tag_value`]).
    pub fn from_tag(text: &str) -> Option<Address> {
        let (kind, rest) = text.split_once('.')?;
        let mut decoded = String::with_capacity(rest.len() + 2);
        let mut in_key = false;
        for c in rest.chars() {
            match c {
                '[' => break,
                '/' if !in_key => {
                    decoded.push('[');
                    in_key = true;
                }
                '.' if in_key => {
                    decoded.push_str("].");
                    in_key = false;
                }
                c => decoded.push(c),
            }
        }
        if in_key {
            decoded.push(']');
        }
        if let Some(at) = rest.find('[') {
            decoded.push_str(&rest[at..]);
        }
        Address::parse(&format!("{kind}.{decoded}"))
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
    fn instance_names_round_trip_through_text_and_tags() {
        for addr in [
            Address::new(ResourceKind::Vpc, "spoke[a]"),
            Address::new(ResourceKind::Subnet, "spoke[a].public[us-east-1a]"),
            Address::new(ResourceKind::Subnet, "spoke-b.app"),
            Address::new(ResourceKind::TransitGatewayAssociation, "att[x]"),
            Address::new(ResourceKind::InternetGatewayAttachment, "igw"),
            Address::keyed(ResourceKind::Route, "rt[a]", "0.0.0.0/0"),
            Address::keyed(ResourceKind::Route, "rt", "pl:lists[b]"),
            Address::keyed(
                ResourceKind::SecurityGroupRule,
                "web[a]",
                "ingress/tcp/22-22/sg:admin[b]",
            ),
        ] {
            let text = addr.to_string();
            assert_eq!(Address::parse(&text).as_ref(), Some(&addr), "{text}");
            let tag = addr.tag_value();
            assert_eq!(Address::from_tag(&tag).as_ref(), Some(&addr), "{tag}");
        }
        assert_eq!(
            Address::new(ResourceKind::Subnet, "spoke[a].public[b]").tag_value(),
            "subnet.spoke/a.public/b"
        );
    }

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
