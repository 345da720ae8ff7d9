//! What a kind's `export` writes with: the observed object, the logical
//! names of the others, and where to report what it leaves out. Below the
//! kinds: it knows none of them.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::address::ResourceKind;
use crate::attr::Attr;
use crate::attr::TAGS;
use crate::emit::{Map, Yaml};

/// An object read from the account, with the implicit objects it contains.
#[derive(Clone, Debug, PartialEq)]
pub struct Observed {
    pub kind: ResourceKind,
    /// AWS's identifier: what `import-id` holds.
    pub id: String,
    /// Attributes under the kind's attribute names, as the reader reports them.
    pub attrs: BTreeMap<String, Value>,
    /// Routes, rules, associations, attachments and entries, with their kind.
    pub children: Vec<(ResourceKind, BTreeMap<String, Value>)>,
}

impl Observed {
    pub fn get(&self, attr: Attr) -> Option<&Value> {
        attr.get(&self.attrs)
    }

    pub fn str(&self, attr: Attr) -> Option<&str> {
        attr.str(&self.attrs)
    }

    /// The children of one kind.
    pub fn children_of(
        &self,
        kind: ResourceKind,
    ) -> impl Iterator<Item = &BTreeMap<String, Value>> {
        self.children
            .iter()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, attrs)| attrs)
    }

    /// The logical name its `vpcform:address` tag records, for its own kind.
    pub fn own_name(&self) -> Option<String> {
        let Some(Value::Object(tags)) = self.get(TAGS) else {
            return None;
        };
        let address = crate::Address::from_tag(tags.get(crate::TAG_ADDRESS)?.as_str()?)?;
        (address.kind == self.kind && crate::model::is_valid_declared_name(&address.name))
            .then_some(address.name)
    }

    /// The user's tags: AWS's own (`aws:…`) and vpcform's bookkeeping left out.
    pub fn user_tags(&self) -> BTreeMap<&str, &str> {
        let Some(Value::Object(tags)) = self.get(TAGS) else {
            return BTreeMap::new();
        };
        tags.iter()
            .filter(|(k, _)| !k.starts_with("aws:") && !k.starts_with("vpcform:"))
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
            .collect()
    }
}

/// Something in the account that the written topology does not express.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LeftOut {
    /// The id of the object that holds it (the object itself, or its container).
    pub id: String,
    /// What it is, e.g. "a NAT gateway" or "a route to 0.0.0.0/0 through nat-0abc".
    pub what: String,
    /// What happens to it, and what the user can do.
    pub why: String,
}

/// What a kind's `export` may consult: the logical names given to the
/// other observed objects, by id; and where to report what it leaves out.
#[derive(Debug)]
pub struct ExportCx {
    pub(super) names: HashMap<(ResourceKind, String), String>,
    /// Each observed VPC's primary CIDR block, by id.
    /// Each observed VPC's blocks, primary first.
    pub(super) vpc_cidrs: HashMap<String, Vec<ipnet::Ipv4Net>>,
    pub(super) left_out: Vec<LeftOut>,
    /// AWS's prefix lists, id → name.
    pub(super) aws_prefix_lists: std::collections::BTreeMap<String, String>,
}

impl ExportCx {
    /// The name of AWS's prefix list `id` (`com.amazonaws.us-east-1.s3`), if it is one.
    pub fn aws_prefix_list(&self, id: &str) -> Option<&str> {
        self.aws_prefix_lists.get(id).map(String::as_str)
    }

    /// The logical name of the object of `kind` with AWS id `id`, if it is written.
    pub fn name_of(&self, kind: ResourceKind, id: &str) -> Option<&str> {
        self.names.get(&(kind, id.to_string())).map(String::as_str)
    }

    /// The CIDR blocks of the observed VPC `id` (primary first; none if not observed).
    pub fn vpc_cidrs(&self, id: &str) -> Vec<ipnet::Ipv4Net> {
        self.vpc_cidrs.get(id).cloned().unwrap_or_default()
    }

    /// Records something the declaration of `id` cannot express.
    pub fn leave_out(&mut self, id: &str, what: impl Into<String>, why: impl Into<String>) {
        self.left_out.push(LeftOut {
            id: id.to_string(),
            what: what.into(),
            why: why.into(),
        });
    }

    /// `tags:` with the user's tags, when there are any.
    pub fn tags(&self, o: &Observed, m: &mut Map) {
        let tags = o.user_tags();
        if !tags.is_empty() {
            let mut t = Map::new();
            for (k, v) in tags {
                t.set(k, v);
            }
            m.set("tags", t);
        }
    }

    /// `key: <logical name>` of the object of `kind` that `attr` refers to
    /// by id; false when it is not written.
    pub fn reference(
        &self,
        o: &Observed,
        attr: Attr,
        kind: ResourceKind,
        key: &str,
        m: &mut Map,
    ) -> bool {
        match o.str(attr).and_then(|id| self.name_of(kind, id)) {
            Some(name) => {
                m.set(key, name);
                true
            }
            None => false,
        }
    }
}

impl ExportCx {
    /// `vpc:` and `subnets:` of a table or ACL: its VPC by name, and the
    /// subnets its `association` objects name; false when the VPC is not written.
    pub fn vpc_and_subnets(&self, o: &Observed, association: ResourceKind, m: &mut Map) -> bool {
        if !self.reference(o, crate::attr::VPC_ID, ResourceKind::Vpc, "vpc", m) {
            return false;
        }
        let subnets =
            self.names_in_children(o, association, crate::attr::SUBNET_ID, ResourceKind::Subnet);
        m.list("subnets", subnets);
        true
    }

    /// The logical names, sorted, of the objects of `kind` that `o`'s
    /// implicit objects of kind `child` name in `attr` (a table's subnets).
    pub fn names_in_children(
        &self,
        o: &Observed,
        child: ResourceKind,
        attr: Attr,
        kind: ResourceKind,
    ) -> Vec<Yaml> {
        let mut names: Vec<&str> = o
            .children_of(child)
            .filter_map(|c| self.name_of(kind, attr.str(c)?))
            .collect();
        names.sort_unstable();
        names.into_iter().map(Yaml::from).collect()
    }
}

/// A kind's declaration of one observed object, as the registry dispatches it.
pub(crate) type ExportFn = fn(&Observed, &mut ExportCx) -> Option<Map>;
