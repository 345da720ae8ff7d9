//! vpcform's planner. A pure, synchronous function from the desired topology
//! and the observed live state to a [`Plan`], and the plan's renderings.
//! Knows no AWS SDK: the live state arrives as plain data ([`LiveState`]).

mod normalize;
mod plan;
mod policy;
mod render_connectivity;
mod render_json;
mod render_markdown;
mod render_text;
mod security;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use vpcform_topology::{Address, ResourceKind};

pub use normalize::canonical_policy;
pub use plan::{PlanInput, plan, plan_destroy, stale_objects, unmanaged_in_deleted_vpcs};
pub use policy::{FindingStatus, PolicyFinding};
pub use render_json::{PLAN_FORMAT_VERSION, to_json};
pub use render_markdown::{
    EnvPlan, MARKDOWN_LIMIT, failure_markdown, to_markdown, to_markdown_envs,
};
pub use render_text::to_text;
pub use security::{SecurityChange, Sign, broadens, security_changes};
pub use vpcform_topology::decode_policy_document;
pub use vpcform_topology::{
    AttrSpec, Compare, ReplaceOrder, TAG_ADDRESS, TAG_STACK, policy_path, policy_path_prefix,
};

pub type Value = serde_json::Value;

/// A hash of the declaration last applied, to tell drift from topology edits.
pub const TAG_CONFIG: &str = "vpcform:config";
/// Appended to the `vpcform:config` hash a container is created with while
/// its implicit objects are still to be created; the hash alone is recorded
/// once they all are. An apply that stopped in between leaves it, so the
/// next plan knows the missing ones were never created (not deleted by hand).
pub const CONFIG_UNFINISHED: &str = "+unfinished";
/// The keys of the tags vpcform set from the declaration (comma-separated):
/// only these and the declared ones are compared, so tags that others add
/// (tag policies, cost tools) are left alone, and a tag removed from the
/// topology is removed from AWS.
pub const TAG_MANAGED: &str = "vpcform:tags";

/// Whether a tag key is vpcform's bookkeeping rather than something compared.
pub fn is_metadata_tag(key: &str) -> bool {
    key == TAG_CONFIG || is_managed_list_tag(key)
}

/// `vpcform:tags` and its continuations `vpcform:tags:2`, `vpcform:tags:3`…
pub fn is_managed_list_tag(key: &str) -> bool {
    key == TAG_MANAGED
        || key
            .strip_prefix(TAG_MANAGED)
            .and_then(|rest| rest.strip_prefix(':'))
            .is_some_and(|n| n.parse::<u32>().is_ok())
}

/// AWS's limit on a tag value, in characters.
pub const TAG_VALUE_LIMIT: usize = 256;

/// The tags that list the declared keys vpcform set: comma-separated, in
/// `vpcform:tags`, continued in `vpcform:tags:2`… so that no key is lost to
/// AWS's 256-character limit on a value (a key has at most 128).
pub fn managed_list_tags<'k>(keys: impl IntoIterator<Item = &'k str>) -> Vec<(String, String)> {
    let mut values = vec![String::new()];
    for key in keys {
        let last = values.last_mut().expect("never empty");
        if !last.is_empty() && last.len() + 1 + key.len() > TAG_VALUE_LIMIT {
            values.push(key.to_string());
        } else {
            if !last.is_empty() {
                last.push(',');
            }
            last.push_str(key);
        }
    }
    values
        .into_iter()
        .enumerate()
        .map(|(i, v)| match i {
            0 => (TAG_MANAGED.to_string(), v),
            n => (format!("{TAG_MANAGED}:{}", n + 1), v),
        })
        .collect()
}

/// The declared keys listed by the `vpcform:tags` tags among `tags`.
pub fn managed_keys<'t>(tags: impl IntoIterator<Item = (&'t str, &'t str)>) -> Vec<&'t str> {
    let mut lists: Vec<(u32, &str)> = tags
        .into_iter()
        .filter(|(k, _)| is_managed_list_tag(k))
        .map(|(k, v)| {
            let n = k
                .strip_prefix(TAG_MANAGED)
                .and_then(|rest| rest.strip_prefix(':'))
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            (n, v)
        })
        .collect();
    lists.sort();
    lists
        .into_iter()
        .flat_map(|(_, v)| v.split(','))
        .filter(|k| !k.is_empty())
        .collect()
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
    /// Names the account resolved: SSM parameters to AMI ids, AWS-managed
    /// prefix lists' names to their ids.
    #[serde(alias = "ssm_parameters")]
    pub lookups: BTreeMap<String, String>,
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
    /// Replaced delete-first while a stand-in (a temporary copy of the old
    /// object) holds whatever uses it, so no user waits or goes without it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stand_in: bool,
    /// Left unfinished by an earlier apply that stopped: an implicit object
    /// it never created, or a container it created without finishing
    /// (its `vpcform:config` says so). Not drift.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unfinished: bool,
    /// A route that replaces one through a target vpcform does not manage
    /// (its id): shown as `-/+`, and a plan error unless the topology says
    /// `replaces:` with that id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub takes_over: Option<String>,
}

impl ResourceChange {
    /// The symbol plans show: `-/+` for a route that replaces one vpcform does not manage.
    pub fn symbol(&self) -> &'static str {
        match self.takes_over {
            Some(_) => "-/+",
            None => self.action.symbol(),
        }
    }

    /// What a route replaces, for the plan's readers.
    pub fn takes_over_note(&self) -> Option<String> {
        let id = self.takes_over.as_deref()?;
        let destination = self.address.key.as_deref().unwrap_or_default();
        Some(format!(
            "replaces {destination} → {id} ({}), which vpcform does not manage",
            vpcform_topology::target_description(id)
        ))
    }
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
    /// Policy-check findings the plan introduces, resolves or leaves.
    #[serde(default)]
    pub policy_findings: Vec<PolicyFinding>,
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

/// The full SHA-256 of a value's JSON, hex: the digest a saved plan carries
/// and `apply` prints, so a reviewer can match what runs with what was read.
pub fn digest(value: &impl Serialize) -> String {
    use sha2::Digest as _;
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Plan {
    /// What a plan promises: its stack, changes and errors (not the
    /// connectivity or call counts around them), for comparing two plans.
    pub fn promise(&self) -> serde_json::Value {
        serde_json::json!({
            "stack": self.stack,
            "changes": self.changes,
            "errors": self.errors,
            "fingerprints": self.fingerprints,
            "topology_hash": self.topology_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_managed_key_list_survives_the_tag_value_limit() {
        let keys: Vec<String> = (0..40)
            .map(|i| format!("team-{i:02}-{}", "k".repeat(40)))
            .collect();
        let tags = managed_list_tags(keys.iter().map(String::as_str));
        assert!(tags.len() > 1, "split across tags");
        assert!(tags.iter().all(|(_, v)| v.len() <= TAG_VALUE_LIMIT));
        assert_eq!(tags[0].0, "vpcform:tags");
        assert_eq!(tags[1].0, "vpcform:tags:2");
        assert!(tags.iter().all(|(k, _)| is_metadata_tag(k)));
        let read = managed_keys(tags.iter().rev().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(read, keys.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(
            managed_list_tags([]),
            vec![("vpcform:tags".to_string(), String::new())]
        );
        assert!(!is_managed_list_tag("vpcform:tags:x") && !is_managed_list_tag("vpcform:tagsx"));
    }
}
