//! vpcform's planner. A pure, synchronous function from the desired topology
//! and the observed live state to a [`Plan`], and the plan's renderings.
//! Knows no AWS SDK: the live state arrives as plain data ([`LiveState`]).

mod normalize;
mod plan;
mod render_connectivity;
mod render_json;
mod render_markdown;
mod render_text;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vpcform_topology::{Address, ResourceKind};

pub use normalize::canonical_policy;
pub use plan::{PlanInput, plan, plan_destroy, stale_objects};
pub use render_json::{PLAN_FORMAT_VERSION, to_json};
pub use render_markdown::{MARKDOWN_LIMIT, to_markdown};
pub use render_text::to_text;
pub use vpcform_topology::decode_policy_document;
pub use vpcform_topology::{
    AttrSpec, Compare, ReplaceOrder, TAG_ADDRESS, TAG_STACK, policy_path, policy_path_prefix,
};

pub type Value = serde_json::Value;

/// A hash of the declaration last applied, to tell drift from topology edits.
pub const TAG_CONFIG: &str = "vpcform:config";
/// The keys of the tags vpcform set from the declaration (comma-separated):
/// only these and the declared ones are compared, so tags that others add
/// (tag policies, cost tools) are left alone, and a tag removed from the
/// topology is removed from AWS.
pub const TAG_MANAGED: &str = "vpcform:tags";

/// Whether a tag key is vpcform's bookkeeping rather than something compared.
pub fn is_metadata_tag(key: &str) -> bool {
    key == TAG_CONFIG || key == TAG_MANAGED
}

/// One object found in the account and owned by the stack. Implicit objects
/// (routes, rules, associations, attachments) are listed by their container's
/// reader with the container's ownership.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LiveObject {
    pub address: Address,
    /// AWS's identifier (vpc-…, a log group's name, a role's name, a composite for implicit objects).
    pub id: String,
    /// Attributes under the names of the kind's attribute table
    /// ([`ResourceKind::attr_specs`]), as AWS returned them.
    pub attrs: BTreeMap<String, Value>,
    /// Found by the `import-id` that adopts it (or its container), and not
    /// yet owned by the stack: planned as an adoption, never destroyed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unowned: bool,
}

impl LiveObject {
    /// The value of `attr`, if AWS returned one.
    pub fn get(&self, attr: vpcform_topology::Attr) -> Option<&Value> {
        attr.get(&self.attrs)
    }
}

/// Live objects as `vpcform import`'s writer takes them: each container
/// with its implicit objects, in kind and id order.
pub fn to_observed(
    objects: impl IntoIterator<Item = LiveObject>,
) -> Vec<vpcform_topology::export::Observed> {
    use vpcform_topology::export::Observed;
    let (containers, children): (Vec<LiveObject>, Vec<LiveObject>) = objects
        .into_iter()
        .partition(|o| o.address.kind.container().is_none());
    let mut by_address: BTreeMap<Address, Observed> = containers
        .into_iter()
        .map(|o| {
            let observed = Observed {
                kind: o.address.kind,
                id: o.id,
                attrs: o.attrs,
                children: Vec::new(),
            };
            (o.address, observed)
        })
        .collect();
    for child in children {
        if let Some(container) = ResourceKind::container_of(&child.address)
            && let Some(o) = by_address.get_mut(&container)
        {
            o.children.push((child.address.kind, child.attrs));
        }
    }
    let mut out: Vec<Observed> = by_address.into_values().collect();
    out.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    out
}

/// An object that occupies a name the topology declares but is not owned by
/// the stack; creating ours would collide with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub address: Address,
    pub id: String,
    pub message: String,
}

/// Everything the planner knows about the account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveState {
    pub objects: BTreeMap<Address, LiveObject>,
    pub conflicts: Vec<Conflict>,
    /// AMI ids that SSM parameters resolve to.
    pub ssm_parameters: BTreeMap<String, String>,
    /// API calls made to read this state.
    pub api_calls: u64,
}

impl LiveState {
    pub fn insert(&mut self, object: LiveObject) {
        self.objects.insert(object.address.clone(), object);
    }
}

/// What the plan does to one object. Closed: the executor matches on it exhaustively.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete then create, or (`create_before_destroy`) the other way round.
    Replace {
        create_before_destroy: bool,
    },
    Delete,
    /// Take over an existing object the topology adopts (`import-id`): add
    /// the ownership tags, and change any attributes that differ in place.
    Adopt,
}

impl Action {
    /// Terraform's action list, e.g. `["delete", "create"]` for a replace.
    pub fn terraform_actions(self) -> &'static [&'static str] {
        match self {
            Action::NoOp => &["no-op"],
            Action::Create => &["create"],
            Action::Update => &["update"],
            Action::Replace {
                create_before_destroy: false,
            } => &["delete", "create"],
            Action::Replace {
                create_before_destroy: true,
            } => &["create", "delete"],
            Action::Delete => &["delete"],
            Action::Adopt => &["adopt"],
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace {
                create_before_destroy: false,
            } => "-/+",
            Action::Replace {
                create_before_destroy: true,
            } => "+/-",
            Action::Delete => "-",
            Action::Adopt => "=",
        }
    }

    pub fn is_change(self) -> bool {
        self != Action::NoOp
    }
}

/// A value the executor fills in from another object once it exists.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unknown {
    /// The object whose attribute is awaited.
    pub from: Address,
    /// What of it is awaited.
    pub attribute: Awaited,
    /// For a list of ids (an instance's security groups): every element, known or awaited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list: Vec<ListElement>,
}

/// What an unknown value waits for. Written as text in plans: the
/// attribute's name (`id`, `arn`), or `ssm:NAME` for a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Awaited {
    /// An attribute of the object `from` once it exists.
    Attribute(String),
    /// An AMI id the provider looks up from this SSM parameter at apply time.
    SsmParameter(String),
}

impl Awaited {
    const SSM_PREFIX: &'static str = "ssm:";

    pub fn attribute(attr: vpcform_topology::Attr) -> Self {
        Awaited::Attribute(attr.as_str().to_string())
    }
}

impl std::fmt::Display for Awaited {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Awaited::Attribute(name) => f.write_str(name),
            Awaited::SsmParameter(name) => write!(f, "{}{name}", Awaited::SSM_PREFIX),
        }
    }
}

impl Serialize for Awaited {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Awaited {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(match text.strip_prefix(Awaited::SSM_PREFIX) {
            Some(name) => Awaited::SsmParameter(name.to_string()),
            None => Awaited::Attribute(text),
        })
    }
}

/// One element of a list value that is partly unknown until apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ListElement {
    Known(String),
    Pending { pending: Address },
}

/// One attribute's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeChange {
    pub name: String,
    /// `None` for creates.
    pub before: Option<Value>,
    /// `None` when unknown until apply.
    pub after: Option<Value>,
    pub forces_replacement: bool,
}

/// Why an update or delete is needed when the topology did not change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    /// Human summary, e.g. "retention_in_days 7 → 14, changed outside vpcform".
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceChange {
    pub address: Address,
    pub kind: ResourceKind,
    pub action: Action,
    /// The live object's id, for everything but creates.
    pub id: Option<String>,
    /// Live attributes (normalised).
    pub before: BTreeMap<String, Value>,
    /// Desired attributes known now (normalised).
    pub after: BTreeMap<String, Value>,
    /// Desired attributes known only after apply.
    pub after_unknown: BTreeMap<String, Unknown>,
    /// The attributes that differ (updates and replaces) or are set (creates).
    pub changes: Vec<AttributeChange>,
    /// Attributes whose change forces the replacement.
    pub replace_reasons: Vec<String>,
    pub drift: Option<Drift>,
    /// Objects this one needs: their creates and updates run first.
    pub depends_on: Vec<Address>,
    /// For deletes and replaces: objects whose deletion, replacement or update
    /// (they refer to this one) must finish before this one is deleted.
    pub delete_after: Vec<Address>,
    /// The declaration hash to record in the `vpcform:config` tag.
    pub config_hash: Option<String>,
}

/// A problem that makes the plan impossible to apply as is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanError {
    pub address: Address,
    pub message: String,
}

/// The fingerprint of a live object read while planning; a saved plan is
/// stale when any of these moved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub address: Address,
    pub id: String,
    pub hash: ObjectHash,
}

/// What a fingerprint saw of an object: its attributes' hash, or that it
/// did not exist (written `absent` in saved plans).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ObjectHash {
    Absent,
    Hash(String),
}

impl ObjectHash {
    const ABSENT: &'static str = "absent";

    pub fn of(object: &LiveObject) -> Self {
        ObjectHash::Hash(short_hash(&object.attrs))
    }
}

impl Serialize for ObjectHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ObjectHash::Absent => s.serialize_str(ObjectHash::ABSENT),
            ObjectHash::Hash(h) => s.serialize_str(h),
        }
    }
}

impl<'de> Deserialize<'de> for ObjectHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(if text == ObjectHash::ABSENT {
            ObjectHash::Absent
        } else {
            ObjectHash::Hash(text)
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub stack: String,
    pub region: Option<String>,
    pub changes: Vec<ResourceChange>,
    pub errors: Vec<PlanError>,
    /// Expectations and flows the plan changes, when the caller checked them
    /// (needs the live network). Not part of saved plans.
    #[serde(skip)]
    pub connectivity: Option<vpcform_reach::Connectivity>,
    pub fingerprints: Vec<Fingerprint>,
    pub topology_hash: String,
    pub api_calls: u64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub adopt: usize,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub drifted: usize,
}

impl Summary {
    /// `N to adopt, A to add, C to change, D to destroy` (adoptions only when there are some).
    pub fn counts(&self) -> String {
        let adopt = match self.adopt {
            0 => String::new(),
            n => format!("{n} to adopt, "),
        };
        format!(
            "{adopt}{} to add, {} to change, {} to destroy",
            self.add, self.change, self.destroy
        )
    }
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::NoOp => {}
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Replace { .. } => {
                    s.add += 1;
                    s.destroy += 1;
                }
                Action::Delete => s.destroy += 1,
                Action::Adopt => s.adopt += 1,
            }
            if c.drift.is_some() {
                s.drifted += 1;
            }
        }
        s
    }

    pub fn has_changes(&self) -> bool {
        self.changes.iter().any(|c| c.action.is_change())
    }

    /// The changes that do something, in plan order.
    pub fn actions(&self) -> impl Iterator<Item = &ResourceChange> {
        self.changes.iter().filter(|c| c.action.is_change())
    }
}

/// A short, stable hash of any serialisable value (hex, 16 digits).
pub fn short_hash(value: &impl Serialize) -> String {
    use sha2::Digest as _;
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let digest = sha2::Sha256::digest(&bytes);
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
