//! What every resource kind provides, as traits, and the typed vocabulary
//! the crates share about attributes: [`Attr`] keys, [`AttrSpec`] tables and
//! [`Desired`] values. Each kind implements these in its own module under
//! `kinds/`; the registry (`registry.rs`) joins them.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::address::{Address, ResourceKind};
pub use crate::attr::{Attr, AttrSpec, Compare, IdShape};
use crate::decode::Cx;
use crate::emit::Map;
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::model::{At, Named, Ref, Tags};
use crate::registry::Topology;
use crate::registry::TopologyIndex;
use crate::route::{EffectiveRoute, RouteTarget};
use crate::validate::NameIndex;
use crate::yaml::Node;

/// Which comes first when an object is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplaceOrder {
    DeleteFirst,
    CreateFirst,
}

/// A desired attribute value: known now, or another object's attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum Desired {
    Known(Value),
    Ref(Address, Attr),
    /// A list of ids, compared as a set.
    RefList(Vec<Address>),
    /// An AMI id looked up from an SSM parameter at apply time.
    Ssm(String),
}

impl Desired {
    pub fn known(v: impl Into<Value>) -> Desired {
        Desired::Known(v.into())
    }

    /// The id of the object `name` of `kind`.
    pub fn id_of(kind: ResourceKind, name: &str) -> Desired {
        Desired::Ref(Address::new(kind, name), crate::attr::ID)
    }

    /// An optional declared string, null when absent.
    pub fn optional(v: Option<&crate::model::At<String>>) -> Desired {
        Desired::Known(v.map_or(Value::Null, |x| Value::String(x.value.clone())))
    }
}

pub type DesiredAttrs = BTreeMap<Attr, Desired>;

/// What a kind's `desired` may consult: the whole topology by name, and the
/// stack (for ownership tags).
#[derive(Debug)]
pub struct DesiredCx<'t> {
    pub stack: &'t str,
    pub index: TopologyIndex<'t>,
    /// Effective routes (explicit and `add-routes`) by table and destination.
    pub routes: HashMap<(String, String), RouteTarget>,
    /// Names the account resolved, as read from it: SSM parameters to AMI
    /// ids, AWS-managed prefix lists' names to their ids.
    pub lookups: &'t BTreeMap<String, String>,
}

impl<'t> DesiredCx<'t> {
    pub fn new(t: &'t Topology, lookups: &'t BTreeMap<String, String>) -> Self {
        DesiredCx {
            stack: &t.stack.value,
            index: TopologyIndex::new(t),
            routes: t
                .effective_routes()
                .into_iter()
                .map(|r| ((r.table, r.destination.to_string()), r.target))
                .collect(),
            lookups,
        }
    }

    /// The desired tags of `address`: the declared ones plus ownership.
    pub fn tags(&self, address: &Address, user: &Tags) -> Desired {
        let mut tags: serde_json::Map<String, Value> = user
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        tags.insert(
            crate::TAG_STACK.into(),
            Value::String(self.stack.to_string()),
        );
        tags.insert(
            crate::TAG_ADDRESS.into(),
            Value::String(address.tag_value()),
        );
        Desired::Known(Value::Object(tags))
    }
}

/// The planning rules of one kind, declared or implicit: its attribute
/// table, replacement order, and desired values.
pub trait Kind {
    const KIND: ResourceKind;
    /// Every attribute planned for this kind (see ../shared/reference/aws-resources.md).
    const ATTRS: &'static [AttrSpec];

    /// Which comes first when a change to `reasons` replaces the object.
    fn replace_order(reasons: &[Attr]) -> ReplaceOrder;

    /// Whether what uses an object of this kind can be held by a temporary
    /// copy (a stand-in) while the object is replaced under the same name,
    /// so nothing waits on its own replacement and nothing goes without it.
    const STAND_IN: bool = false;

    /// Whether AWS knows an object of this kind by its name in the account
    /// and region (creates find or overwrite it, deletes go by name): then
    /// no plan may create under a name an object it deletes holds.
    const NAME_IS_IDENTITY: bool = false;

    /// The desired attributes of `address`; `None` when the topology does not declare it.
    fn desired(address: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs>;
}

/// A kind with its own section in the topology file.
pub(crate) trait Declared: Kind + Sized {
    /// Decodes one declaration; `None` after reporting why it could not.
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self>;

    /// This kind's own validation rules (cross-kind rules live in `rules/`).
    fn validate(items: &[Named<Self>], t: &Topology, index: &NameIndex<'_>, cx: &mut Cx);

    /// Adds the section's nodes (and the implicit nodes they imply) and their edges.
    fn add_to_graph(items: &[Named<Self>], t: &Topology, b: &mut Builder);

    /// The declaration's explicit `depends-on` list.
    fn depends_on(&self) -> &[Ref];

    /// What an `import-id` of this kind looks like.
    const IMPORT_ID: IdShape;

    /// The existing object this declaration adopts, if any.
    fn import_id(&self) -> Option<&At<String>>;

    /// The attribute that holds an object's own name in AWS (a group's or
    /// role's name), from which `vpcform import` derives a logical name
    /// when there is no Name tag.
    const AWS_NAME: Option<Attr>;

    /// `vpcform import`: the declaration of an observed object (without
    /// `import-id`, which the writer adds), leaving out AWS's defaults;
    /// what it cannot express goes to [`ExportCx::leave_out`]. `None` when
    /// the object cannot be declared at all (also reported there).
    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map>;
}

/// A kind a route may point at (its registry line says `route_target`).
pub(crate) trait Routable: Declared {
    /// The prefix of its AWS ids, by which a live route's target is known:
    /// a route target's `import-id` must be an EC2 id (checked when compiled).
    const ID_PREFIX: &'static str = match Self::IMPORT_ID {
        IdShape::Prefix(prefix) => prefix,
        IdShape::Name | IdShape::PolicyArn | IdShape::TopicArn | IdShape::NotAdoptable => {
            panic!("a route target has EC2 ids")
        }
    };

    /// What a route through the object `name` from a table in `vpc` waits for.
    fn route_dependency(name: &str, _vpc: &str, _t: &crate::registry::Topology) -> Address {
        Address::new(Self::KIND, name)
    }

    /// This kind's rules for a route through it from a table in `vpc`.
    fn check_route(route: &EffectiveRoute, vpc: &str, t: &TopologyIndex<'_>, cx: &mut Cx);
}
