//! The planner corpus: each case is a folder under `tests/data/plans/` with
//! - `topology.yaml`: what the user declares now;
//! - `before.yaml` (optional): what was applied last; the live state is what
//!   AWS would hold after applying it (no file: an empty account);
//! - `edits.json` (optional): changes made outside vpcform to that state:
//!   `{"set": {ADDRESS: {ATTR: VALUE}}, "delete": [ADDRESS], "add": [OBJECT],
//!   "conflicts": [CONFLICT], "disown": true}`; `disown` makes the account
//!   one built by hand: no vpcform tags, nothing owned (run last).
//!
//! Shared by vpcform-diff's planner test and vpcform-exec's apply-graph test.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use vpcform_diff::{Awaited, Conflict, ListElement, LiveObject, LiveState, Plan, PlanInput};
use vpcform_topology::{Address, ResourceKind, Topology, attr};

pub const CORPUS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../vpcform-diff/tests/data/plans"
);

/// Every case folder, sorted.
pub fn cases() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .expect("the planner corpus exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// A case: its name, the plan it produces, and the live state it was planned against.
pub struct Case {
    pub name: String,
    pub plan: Plan,
    pub live: LiveState,
}

pub fn run(dir: &Path) -> Case {
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let mut live = match std::fs::read(dir.join("before.yaml")) {
        Ok(bytes) => applied(&load(&name, &bytes)),
        Err(_) => LiveState::default(),
    };
    if let Ok(text) = std::fs::read_to_string(dir.join("edits.json")) {
        edit(
            &mut live,
            &serde_json::from_str(&text).expect("edits.json is JSON"),
        );
    }
    let topology = load(
        &name,
        &std::fs::read(dir.join("topology.yaml")).expect("a case has topology.yaml"),
    );
    // AWS answers SSM lookups whatever the account holds.
    live.lookups = ssm_parameters(topology.topology.as_ref().unwrap());
    let plan = plan(&topology, &live);
    Case { name, plan, live }
}

fn load(name: &str, bytes: &[u8]) -> vpcform_topology::Loaded {
    let loaded = vpcform_topology::load(name, bytes);
    assert!(
        loaded.valid().is_some(),
        "{name}: {:?}",
        loaded
            .diagnostics
            .iter()
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
    loaded
}

pub fn plan(loaded: &vpcform_topology::Loaded, live: &LiveState) -> Plan {
    let (topology, graph) = loaded.valid().unwrap();
    vpcform_diff::plan(PlanInput {
        topology,
        graph,
        live,
        topology_hash: "0000000000000000",
    })
}

/// What AWS holds after `loaded` was applied to an empty account: every
/// object with a made-up id, its desired attributes, and vpcform's tags.
pub fn applied(loaded: &vpcform_topology::Loaded) -> LiveState {
    let topology: &Topology = loaded.topology.as_ref().unwrap();
    let mut live = LiveState {
        lookups: ssm_parameters(topology),
        ..LiveState::default()
    };
    let creates = plan(loaded, &live);
    for change in &creates.changes {
        let id = fake_id(&change.address, &change.after, &topology.stack.value);
        let mut attrs = change.after.clone();
        for (name, unknown) in &change.after_unknown {
            attrs.insert(name.clone(), resolve(&live, unknown));
        }
        if let Some(Value::Object(tags)) = attrs.get_mut(attr::TAGS.as_str()) {
            let declared: Vec<&str> = tags
                .keys()
                .filter(|k| !k.starts_with("vpcform:"))
                .map(String::as_str)
                .collect();
            let declared = declared.join(",");
            tags.insert(vpcform_diff::TAG_MANAGED.into(), declared.into());
            if let Some(hash) = &change.config_hash {
                tags.insert(vpcform_diff::TAG_CONFIG.into(), hash.clone().into());
            }
        }
        if change.kind == ResourceKind::Instance {
            let eni = format!("eni-{}", change.address.name);
            attrs.insert(
                vpcform_topology::kinds::instance::NETWORK_INTERFACE_ID
                    .as_str()
                    .into(),
                eni.into(),
            );
        }
        if matches!(change.kind, ResourceKind::IamRole | ResourceKind::IamPolicy) {
            attrs.insert(attr::ARN.as_str().into(), Value::String(id.clone()));
        }
        let default_egress = change.kind == ResourceKind::SecurityGroup
            && !attrs.contains_key("revoke_default_egress");
        if default_egress {
            live.insert(aws_egress_rule(&change.address, &id));
        }
        live.insert(LiveObject {
            address: change.address.clone(),
            id,
            attrs,
            unowned: false,
        });
    }
    live
}

/// The allow-all egress rule AWS gives a new group, as the reader reports it.
fn aws_egress_rule(group: &Address, group_id: &str) -> LiveObject {
    let key = vpcform_topology::default_egress().key();
    LiveObject {
        address: Address::keyed(
            ResourceKind::SecurityGroupRule,
            group.name.clone(),
            key.clone(),
        ),
        id: format!("{group_id}|{key}"),
        attrs: serde_json::json!({
            "group_id": group_id, "direction": "egress", "ip_protocol": "-1",
            "from_port": -1, "to_port": -1, "cidr_ipv4": "0.0.0.0/0", "referenced_group_id": null,
            "description": null
        })
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .collect(),
        unowned: false,
    }
}

/// What the account resolves names to: the AMI every SSM parameter the
/// topology names, and an id for each AWS-managed list its rules name.
fn ssm_parameters(topology: &Topology) -> BTreeMap<String, String> {
    let amis = topology
        .instances
        .iter()
        .filter_map(|i| i.spec.ami_ssm_parameter.as_ref())
        .map(|p| (p.value.clone(), FAKE_AMI.to_string()));
    let lists = topology
        .aws_prefix_lists_in_rules()
        .map(|l| (l.value.clone(), aws_list_id(&l.value)));
    amis.chain(lists).collect()
}

/// The id an AWS-managed list has in the corpus' account.
pub fn aws_list_id(name: &str) -> String {
    format!("pl-aws-{}", name.rsplit('.').next().unwrap_or(name))
}

const FAKE_AMI: &str = "ami-0fromssm0000000";

fn resolve(live: &LiveState, unknown: &vpcform_diff::Unknown) -> Value {
    let id_of = |a: &Address| live.objects[a].id.clone();
    if !unknown.list.is_empty() {
        return unknown
            .list
            .iter()
            .map(|e| match e {
                ListElement::Known(id) => Value::String(id.clone()),
                ListElement::Pending { pending } => Value::String(id_of(pending)),
            })
            .collect();
    }
    match &unknown.attribute {
        Awaited::SsmParameter(_) => Value::String(FAKE_AMI.into()),
        Awaited::Attribute(a) if a == attr::ID.as_str() => Value::String(id_of(&unknown.from)),
        Awaited::Attribute(a) => live.objects[&unknown.from].attrs[a].clone(),
    }
}

/// AWS-shaped ids: `vpc-<name>`, ARNs for IAM, names for log groups, and
/// `container|key` for implicit objects.
fn fake_id(address: &Address, after: &BTreeMap<String, Value>, stack: &str) -> String {
    use ResourceKind as K;
    let name = &address.name;
    // Kinds AWS knows by name: the name declared.
    let aws_name = |attr: &str| {
        after
            .get(attr)
            .and_then(Value::as_str)
            .unwrap_or(name)
            .to_string()
    };
    let key = address.key.clone().unwrap_or_default();
    match address.kind {
        K::DhcpOptions => format!("dopt-{name}"),
        K::Vpc => format!("vpc-{name}"),
        K::Subnet => format!("subnet-{name}"),
        K::InternetGateway => format!("igw-{name}"),
        K::EgressOnlyGateway => format!("eigw-{name}"),
        K::ElasticIp => format!("eipalloc-{name}"),
        K::NatGateway => format!("nat-{name}"),
        K::PrefixList => format!("pl-{name}"),
        K::VpcEndpoint => format!("vpce-{name}"),
        K::RouteTable => format!("rtb-{name}"),
        K::SecurityGroup => format!("sg-{name}"),
        K::Instance => format!("i-{name}"),
        K::VpcPeering => format!("pcx-{name}"),
        K::TransitGateway => format!("tgw-{name}"),
        K::TransitGatewayAttachment => format!("tgw-attach-{name}"),
        K::TransitGatewayRouteTable => format!("tgw-rtb-{name}"),
        // The reader gives an association its attachment's id.
        K::TransitGatewayAssociation => format!("tgw-attach-{name}|association"),
        K::FlowLog => format!("fl-{name}"),
        K::LogGroup => name.clone(),
        K::IamRole => format!("arn:aws:iam::123456789012:role/{name}"),
        K::IamPolicy => format!("arn:aws:iam::123456789012:policy/vpcform/{stack}/{name}/{name}"),
        K::NetworkAcl => format!("acl-{name}"),
        K::SnsTopic => format!(
            "arn:aws:sns:us-east-1:123456789012:{}",
            aws_name("topic_name")
        ),
        K::MetricFilter => format!("{}:{}", aws_name("log_group_name"), aws_name("filter_name")),
        K::Alarm => aws_name("alarm_name"),
        K::ContributorInsightsRule => aws_name("rule_name"),
        K::Dashboard => aws_name("dashboard_name"),
        K::QueryDefinition => format!("qd-{name}"),
        K::RouteTableAssociation => format!("rtbassoc-{name}-{key}"),
        K::NetworkAclAssociation => format!("aclassoc-{name}-{key}"),
        K::InternetGatewayAttachment
        | K::Route
        | K::SecurityGroupRule
        | K::IamRolePolicyAttachment
        | K::NetworkAclEntry
        | K::TransitGatewayPropagation
        | K::TransitGatewayRoute
        | K::SnsSubscription => format!("{name}|{key}"),
    }
}

/// Applies `edits.json` (see the module documentation).
fn edit(live: &mut LiveState, edits: &Value) {
    let address = |text: &str| Address::parse(text).unwrap_or_else(|| panic!("bad address {text}"));
    if let Some(Value::Object(set)) = edits.get("set") {
        for (a, values) in set {
            let object = live
                .objects
                .get_mut(&address(a))
                .unwrap_or_else(|| panic!("edits.json sets {a}, which is not live"));
            for (k, v) in values.as_object().unwrap() {
                set_path(&mut object.attrs, k, v.clone());
            }
        }
    }
    for a in edits
        .get("delete")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let a = a.as_str().unwrap();
        assert!(
            live.objects.remove(&address(a)).is_some(),
            "{a} is not live"
        );
    }
    for o in edits
        .get("add")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        live.insert(serde_json::from_value(o.clone()).expect("an added object"));
    }
    for c in edits
        .get("conflicts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        live.conflicts
            .push(serde_json::from_value::<Conflict>(c.clone()).expect("a conflict"));
    }
    if edits.get("disown") == Some(&Value::Bool(true)) {
        disown(live);
    }
}

/// The same objects built by hand: vpcform's tags gone, IAM policies at the
/// root path, nothing owned by the stack.
pub fn disown(live: &mut LiveState) {
    let mut arns = BTreeMap::new();
    for object in live.objects.values_mut() {
        object.unowned = true;
        if let Some(Value::Object(tags)) = object.attrs.get_mut(attr::TAGS.as_str()) {
            tags.retain(|k, _| !k.starts_with("vpcform:"));
        }
        if object.address.kind == ResourceKind::IamPolicy {
            let name = object.attrs["policy_name"].as_str().unwrap_or_default();
            let arn = format!("arn:aws:iam::123456789012:policy/{name}");
            arns.insert(std::mem::replace(&mut object.id, arn), object.id.clone());
            object.attrs.insert("path".into(), "/".into());
            object.attrs.insert("arn".into(), object.id.clone().into());
        }
    }
    for object in live.objects.values_mut() {
        if let Some(Value::String(arn)) = object.attrs.get_mut("policy_arn")
            && let Some(new) = arns.get(arn.as_str())
        {
            *arn = new.clone();
        }
    }
}

/// `tags.Name` sets one key of an object attribute; null removes it.
fn set_path(attrs: &mut BTreeMap<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        Some((outer, key)) => {
            let map = attrs
                .get_mut(outer)
                .and_then(Value::as_object_mut)
                .unwrap_or_else(|| panic!("{outer} is not an object"));
            if value.is_null() {
                map.remove(key);
            } else {
                map.insert(key.into(), value);
            }
        }
        None => {
            attrs.insert(path.into(), value);
        }
    }
}
