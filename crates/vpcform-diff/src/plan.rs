//! The planning algorithm: desired graph × live state → [`Plan`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use vpcform_topology::{Address, DependencyGraph, ResourceKind, Topology};

use crate::kinds::{Desired, Lookup, ReplaceOrder, attr_specs, child_container, replace_order};
use crate::normalize::normalize;
use crate::{
    Action, AttributeChange, Drift, Fingerprint, ListElement, LiveState, Plan, PlanError,
    ResourceChange, TAG_CONFIG, Unknown, Value, short_hash,
};

/// What `plan` needs. The graph must come from the same (valid) topology.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub topology: &'a Topology,
    pub graph: &'a DependencyGraph,
    pub live: &'a LiveState,
    /// Hash of the topology file's bytes, recorded in saved plans.
    pub topology_hash: &'a str,
}

/// Plans the changes that make the account match the topology.
pub fn plan(input: PlanInput<'_>) -> Plan {
    let PlanInput {
        topology,
        graph,
        live,
        topology_hash,
    } = input;
    let lookup = Lookup::new(topology);
    let order = graph
        .topological_order()
        .unwrap_or_else(|_| graph.nodes().map(|(i, _)| i).collect());

    // Desired attributes of every node, and the declaration hash of every container.
    let mut desired: BTreeMap<Address, crate::kinds::DesiredAttrs> = BTreeMap::new();
    for &i in &order {
        let address = &graph.node(i).address;
        if let Some(d) = lookup.desired(address, &live.ssm_parameters) {
            desired.insert(address.clone(), d);
        }
    }
    let config_hashes = config_hashes(&desired);

    let mut actions: HashMap<Address, Action> = HashMap::new();
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for &i in &order {
        let address = graph.node(i).address.clone();
        let Some(want) = desired.get(&address) else {
            continue;
        };
        let live_object = live.objects.get(&address);
        let specs = attr_specs(address.kind);
        let mut after = BTreeMap::new();
        let mut after_unknown = BTreeMap::new();
        for (name, value) in want {
            let compare = specs
                .iter()
                .find(|s| s.name == *name)
                .map_or(crate::Compare::Exact, |s| s.compare);
            match resolve(value, &address, live, &actions) {
                Ok(v) => {
                    after.insert(name.to_string(), normalize(compare, &v));
                }
                Err(unknown) => {
                    after_unknown.insert(name.to_string(), unknown);
                }
            }
        }
        let mut depends_on: Vec<Address> = graph
            .dependencies(i)
            .map(|d| graph.node(d).address.clone())
            .collect();
        depends_on.sort();
        let container = child_container(&address).unwrap_or_else(|| address.clone());
        let config_hash = config_hashes.get(&container).cloned();

        let mut change = ResourceChange {
            address: address.clone(),
            kind: address.kind,
            action: Action::NoOp,
            id: live_object.map(|o| o.id.clone()),
            before: BTreeMap::new(),
            after,
            after_unknown,
            changes: Vec::new(),
            replace_reasons: Vec::new(),
            drift: None,
            depends_on,
            delete_after: Vec::new(),
            config_hash: if child_container(&address).is_none() {
                config_hash.clone()
            } else {
                None
            },
        };

        match live_object {
            None => {
                change.action = Action::Create;
                for spec in specs {
                    if let Some(v) = change.after.get(spec.name) {
                        if !v.is_null() {
                            change.changes.push(AttributeChange {
                                name: spec.name.into(),
                                before: None,
                                after: Some(v.clone()),
                                forces_replacement: false,
                            });
                        }
                    } else if change.after_unknown.contains_key(spec.name) {
                        change.changes.push(AttributeChange {
                            name: spec.name.into(),
                            before: None,
                            after: None,
                            forces_replacement: false,
                        });
                    }
                }
                if let Some(conflict) = live.conflicts.iter().find(|c| c.address == address) {
                    errors.push(PlanError {
                        address: address.clone(),
                        message: conflict.message.clone(),
                    });
                }
                // A child created while its container is unchanged since its last apply was deleted outside vpcform.
                if child_container(&address).is_some()
                    && container_matches_config(live, &container, config_hash.as_deref())
                {
                    change.drift = Some(Drift {
                        summary: "deleted outside vpcform".into(),
                    });
                }
            }
            Some(object) => {
                for spec in specs.iter().filter(|s| s.compare != crate::Compare::Unread) {
                    let live_value = object.attrs.get(spec.name).unwrap_or(&Value::Null);
                    let before = if spec.compare == crate::Compare::Tags {
                        normalize(
                            spec.compare,
                            &managed_tags(live_value, change.after.get(spec.name)),
                        )
                    } else {
                        normalize(spec.compare, live_value)
                    };
                    if let Some(after) = change.after.get(spec.name) {
                        if &before != after {
                            change.changes.push(AttributeChange {
                                name: spec.name.into(),
                                before: Some(before.clone()),
                                after: Some(after.clone()),
                                forces_replacement: spec.forces_replacement,
                            });
                        }
                    } else if change.after_unknown.contains_key(spec.name) {
                        change.changes.push(AttributeChange {
                            name: spec.name.into(),
                            before: Some(before.clone()),
                            after: None,
                            forces_replacement: spec.forces_replacement,
                        });
                    } else {
                        continue;
                    }
                    change.before.insert(spec.name.into(), before);
                }
                change.replace_reasons = change
                    .changes
                    .iter()
                    .filter(|c| c.forces_replacement)
                    .map(|c| c.name.clone())
                    .collect();
                // A dependency replaced delete-first must be gone before its new
                // self exists, so what depends on it cannot be created first either.
                let after_a_delete_first = change.depends_on.iter().any(|d| {
                    actions.get(d)
                        == Some(&Action::Replace {
                            create_before_destroy: false,
                        })
                });
                change.action = if !change.replace_reasons.is_empty() {
                    Action::Replace {
                        create_before_destroy: !after_a_delete_first
                            && replace_order(address.kind, &change.replace_reasons)
                                == ReplaceOrder::CreateFirst,
                    }
                } else if !change.changes.is_empty() {
                    Action::Update
                } else {
                    Action::NoOp
                };
                // Drift is a known value that differs while the declaration did not change;
                // a value waiting on a replaced dependency is a consequence, not drift.
                if change.action.is_change()
                    && change.changes.iter().all(|c| c.after.is_some())
                    && container_matches_config(live, &container, config_hash.as_deref())
                {
                    change.drift = Some(Drift {
                        summary: drift_summary(&change.changes),
                    });
                }
            }
        }
        actions.insert(address, change.action);
        changes.push(change);
    }

    // Owned objects the topology no longer declares.
    let mut deletes: Vec<ResourceChange> = Vec::new();
    for (address, object) in &live.objects {
        if desired.contains_key(address) {
            continue;
        }
        if address.kind == ResourceKind::SecurityGroupRule
            && object.attrs.get("direction").and_then(Value::as_str) == Some("egress")
            && !lookup.manages_egress(&address.name)
        {
            continue; // egress left unmanaged: AWS's default rule is not ours to delete
        }
        // Routes and rules are deleted explicitly even when their container goes:
        // that orders them before what they point at (a peering, another group).
        let container = child_container(address);
        let drift = container.as_ref().and_then(|c| {
            container_matches_config(live, c, config_hashes.get(c).map(String::as_str)).then(|| {
                Drift {
                    summary: "added outside vpcform".into(),
                }
            })
        });
        deletes.push(ResourceChange {
            address: address.clone(),
            kind: address.kind,
            action: Action::Delete,
            id: Some(object.id.clone()),
            before: object.attrs.clone(),
            after: BTreeMap::new(),
            after_unknown: BTreeMap::new(),
            changes: Vec::new(),
            replace_reasons: Vec::new(),
            drift,
            depends_on: Vec::new(),
            delete_after: Vec::new(),
            config_hash: None,
        });
    }
    deletes.sort_by(|a, b| a.address.cmp(&b.address));
    changes.extend(deletes);
    order_deletes(&mut changes, live);

    let mut fingerprints: Vec<Fingerprint> = live
        .objects
        .values()
        .map(|o| Fingerprint {
            address: o.address.clone(),
            id: o.id.clone(),
            hash: short_hash(&o.attrs),
        })
        .collect();
    for address in desired.keys() {
        if !live.objects.contains_key(address) {
            fingerprints.push(Fingerprint {
                address: address.clone(),
                id: String::new(),
                hash: "absent".into(),
            });
        }
    }
    fingerprints.sort_by(|a, b| a.address.cmp(&b.address));

    Plan {
        stack: topology.stack.value.clone(),
        region: topology.region.as_ref().map(|r| r.value.clone()),
        changes,
        errors,
        fingerprints,
        topology_hash: topology_hash.to_string(),
        api_calls: live.api_calls,
    }
}

/// A desired value now, or what it waits for.
fn resolve(
    value: &Desired,
    me: &Address,
    live: &LiveState,
    actions: &HashMap<Address, Action>,
) -> Result<Value, Unknown> {
    let lookup = |dep: &Address, attribute: &str| -> Result<Value, Unknown> {
        let unknown = || Unknown {
            from: dep.clone(),
            attribute: attribute.to_string(),
            list: Vec::new(),
        };
        let stays = matches!(actions.get(dep), Some(Action::NoOp | Action::Update));
        let object = live
            .objects
            .get(dep)
            .filter(|_| stays)
            .ok_or_else(unknown)?;
        if attribute == "id" {
            Ok(Value::String(object.id.clone()))
        } else {
            object
                .attrs
                .get(attribute)
                .filter(|v| !v.is_null())
                .cloned()
                .ok_or_else(unknown)
        }
    };
    match value {
        Desired::Known(v) => Ok(v.clone()),
        Desired::Ref(dep, attribute) => lookup(dep, attribute),
        Desired::RefList(deps) => {
            let elements: Vec<ListElement> = deps
                .iter()
                .map(|dep| match lookup(dep, "id") {
                    Ok(Value::String(id)) => ListElement::Known(id),
                    _ => ListElement::Pending {
                        pending: dep.clone(),
                    },
                })
                .collect();
            let first_pending = elements.iter().find_map(|e| match e {
                ListElement::Pending { pending } => Some(pending.clone()),
                ListElement::Known(_) => None,
            });
            match first_pending {
                None => Ok(Value::Array(
                    elements
                        .into_iter()
                        .filter_map(|e| match e {
                            ListElement::Known(id) => Some(Value::String(id)),
                            ListElement::Pending { .. } => None,
                        })
                        .collect(),
                )),
                Some(from) => Err(Unknown {
                    from,
                    attribute: "id".into(),
                    list: elements,
                }),
            }
        }
        Desired::Ssm(parameter) => Err(Unknown {
            from: me.clone(),
            attribute: format!("ssm:{parameter}"),
            list: Vec::new(),
        }),
    }
}

/// Hash of each container's declaration: its own attributes and its children's,
/// with references written as addresses so the hash does not depend on ids.
fn config_hashes(
    desired: &BTreeMap<Address, crate::kinds::DesiredAttrs>,
) -> HashMap<Address, String> {
    let mut parts: BTreeMap<Address, BTreeMap<String, BTreeMap<&str, Value>>> = BTreeMap::new();
    for (address, attrs) in desired {
        let container = child_container(address).unwrap_or_else(|| address.clone());
        let rendered: BTreeMap<&str, Value> = attrs
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Desired::Known(v) => v.clone(),
                    Desired::Ref(a, attr) => Value::String(format!("ref:{a}.{attr}")),
                    Desired::RefList(list) => {
                        let mut names: Vec<String> =
                            list.iter().map(|a| format!("ref:{a}.id")).collect();
                        names.sort();
                        Value::from(names)
                    }
                    Desired::Ssm(p) => Value::String(format!("ssm:{p}")),
                };
                (*k, v)
            })
            .collect();
        parts
            .entry(container)
            .or_default()
            .insert(address.to_string(), rendered);
    }
    parts
        .into_iter()
        .map(|(a, p)| (a, short_hash(&p)))
        .collect()
}

/// The live tags vpcform manages: the declared keys, the ownership keys, and
/// those it set before (listed in `vpcform:tags`). Others' tags are not compared.
fn managed_tags(live: &Value, desired: Option<&Value>) -> Value {
    let Value::Object(live) = live else {
        return live.clone();
    };
    let previously: Vec<&str> = live
        .get(crate::TAG_MANAGED)
        .and_then(Value::as_str)
        .map(|list| list.split(',').filter(|k| !k.is_empty()).collect())
        .unwrap_or_default();
    let declared = desired.and_then(Value::as_object);
    Value::Object(
        live.iter()
            .filter(|(k, _)| {
                k.starts_with("vpcform:")
                    || previously.contains(&k.as_str())
                    || declared.is_some_and(|d| d.contains_key(k.as_str()))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    )
}

/// Whether the container's `vpcform:config` tag says its declaration is unchanged since the last apply.
fn container_matches_config(live: &LiveState, container: &Address, hash: Option<&str>) -> bool {
    let Some(hash) = hash else { return false };
    live.objects
        .get(container)
        .and_then(|o| o.attrs.get("tags"))
        .and_then(|t| t.get(TAG_CONFIG))
        .and_then(Value::as_str)
        == Some(hash)
}

fn drift_summary(changes: &[AttributeChange]) -> String {
    let parts: Vec<String> = changes
        .iter()
        .map(|c| {
            let show = |v: &Option<Value>| {
                v.as_ref()
                    .map_or("(known after apply)".to_string(), short_value)
            };
            // Drift runs from the declaration (after) to what was found (before).
            format!("{} {} → {}", c.name, show(&c.after), show(&c.before))
        })
        .collect();
    format!("{}, changed outside vpcform", parts.join(", "))
}

fn short_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => {
            let text = v.to_string();
            if text.len() > 60 {
                format!(
                    "{}…",
                    &text[..text.char_indices().nth(57).map_or(text.len(), |(i, _)| i)]
                )
            } else {
                text
            }
        }
        other => other.to_string(),
    }
}

/// Deletes wait for everything that refers to the object being deleted: a
/// live object X is deleted after every object that is deleted, replaced or
/// updated and whose live attributes mention X's id (subnets before their VPC,
/// an instance's new security-group list before the old group goes).
fn order_deletes(changes: &mut [ResourceChange], live: &LiveState) {
    let mut by_id: HashMap<&str, &Address> = HashMap::new();
    for object in live.objects.values() {
        by_id.insert(object.id.as_str(), &object.address);
        // Some references are by ARN (a flow log's role, an attachment's policy).
        if let Some(arn) = object.attrs.get("arn").and_then(Value::as_str) {
            by_id.insert(arn, &object.address);
        }
    }
    let referrers: BTreeSet<Address> = changes
        .iter()
        .filter(|c| {
            matches!(
                c.action,
                Action::Delete | Action::Replace { .. } | Action::Update
            )
        })
        .map(|c| c.address.clone())
        .collect();
    let mut waits: BTreeMap<Address, BTreeSet<Address>> = BTreeMap::new();
    for address in &referrers {
        let Some(object) = live.objects.get(address) else {
            continue;
        };
        let mut mentioned = Vec::new();
        for value in object.attrs.values() {
            collect_strings(value, &mut mentioned);
        }
        for id in mentioned {
            if let Some(target) = by_id.get(id.as_str())
                && *target != address
            {
                waits
                    .entry((*target).clone())
                    .or_default()
                    .insert(address.clone());
            }
        }
    }
    for change in changes.iter_mut() {
        if matches!(change.action, Action::Delete | Action::Replace { .. }) {
            change.delete_after = waits
                .remove(&change.address)
                .map(|s| s.into_iter().collect())
                .unwrap_or_default();
        }
    }
}

fn collect_strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// Plans the deletion of everything the stack owns.
pub fn plan_destroy(topology: &Topology, live: &LiveState, topology_hash: &str) -> Plan {
    let empty = Topology {
        stack: topology.stack.clone(),
        region: topology.region.clone(),
        ..Topology::default()
    };
    let graph = DependencyGraph::build(&empty);
    plan(PlanInput {
        topology: &empty,
        graph: &graph,
        live,
        topology_hash,
    })
}

/// Objects whose live state moved since `fingerprints` were taken.
pub fn stale_objects(fingerprints: &[crate::Fingerprint], live: &LiveState) -> Vec<String> {
    let mut moved = Vec::new();
    for f in fingerprints {
        match live.objects.get(&f.address) {
            None if f.hash != "absent" => {
                moved.push(format!("{} ({}) was deleted", f.address, f.id))
            }
            Some(o) if f.hash == "absent" => {
                moved.push(format!("{} ({}) was created", f.address, o.id))
            }
            Some(o) if f.hash != "absent" && (o.id != f.id || short_hash(&o.attrs) != f.hash) => {
                moved.push(format!("{} ({}) was changed", f.address, o.id));
            }
            _ => {}
        }
    }
    let known: BTreeSet<&Address> = fingerprints.iter().map(|f| &f.address).collect();
    for o in live.objects.values() {
        if !known.contains(&o.address) {
            moved.push(format!("{} ({}) appeared", o.address, o.id));
        }
    }
    moved
}
