//! The planning algorithm: desired graph × live state → [`Plan`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use vpcform_topology::kinds::security_group;
use vpcform_topology::{
    Address, Attr, Compare, DependencyGraph, Desired, DesiredAttrs, DesiredCx, Direction,
    ReplaceOrder, ResourceKind, Topology, attr,
};

use crate::normalize::normalize;
use crate::{
    Action, AttributeChange, Awaited, Drift, Fingerprint, ListElement, LiveObject, LiveState,
    ObjectHash, Plan, PlanError, ResourceChange, TAG_CONFIG, Unknown, Value, short_hash,
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
    let cx = DesiredCx::new(topology, &live.lookups);
    let order = graph
        .topological_order()
        .unwrap_or_else(|_| graph.nodes().map(|(i, _)| i).collect());

    // Desired attributes of every node, and the declaration hash of every container.
    let desired: BTreeMap<Address, DesiredAttrs> = order
        .iter()
        .filter_map(|&i| {
            let address = &graph.node(i).address;
            Some((address.clone(), vpcform_topology::desired(address, &cx)?))
        })
        .collect();
    let planner = Planner {
        live,
        config_hashes: config_hashes(&desired),
    };
    let imports: HashMap<Address, &str> = topology
        .imports()
        .into_iter()
        .map(|i| (i.address, i.id.value.as_str()))
        .collect();
    let takeovers = Takeovers::new(topology, live);

    let mut actions: HashMap<Address, Action> = HashMap::new();
    let mut changes = Vec::new();
    let mut errors = Vec::new();
    for &i in &order {
        let address = &graph.node(i).address;
        let Some(want) = desired.get(address) else {
            continue;
        };
        let mut depends_on: Vec<Address> = graph
            .dependencies(i)
            .map(|d| graph.node(d).address.clone())
            .collect();
        depends_on.sort();
        let mut change = planner.change(address, want, depends_on, &actions);
        errors.extend(refusal(&change, imports.get(address).copied(), live));
        errors.extend(takeovers.check(&mut change));
        actions.insert(address.clone(), change.action);
        changes.push(change);
    }
    planner.finish_unfinished(&mut changes);

    changes.extend(planner.deletes(&desired, &cx));
    order_deletes(&mut changes, live);
    errors.extend(changes.iter().filter_map(|c| users_left_behind(c, live)));
    errors.extend(edited_addresses(&planner.config_hashes, live));
    errors.extend(kept_associations(&changes, live));
    errors.extend(moved_names(&changes));

    Plan {
        stack: topology.stack.value.clone(),
        region: topology.region.as_ref().map(|r| r.value.clone()),
        changes,
        errors,
        connectivity: None,
        fingerprints: fingerprints(live, &desired),
        topology_hash: topology_hash.to_string(),
        api_calls: live.api_calls,
        policy_findings: crate::policy::policy_findings(topology, graph, live),
    }
}

/// A declaration renamed while the object keeps its AWS name: the create
/// would find (or overwrite) the object the delete then removes. Only for
/// kinds AWS knows by name (`name_is_identity`); a replacement frees its old
/// name and takes its new one like a delete and a create.
fn moved_names(changes: &[ResourceChange]) -> Vec<PlanError> {
    let name_of = |c: &ResourceChange, attrs: &BTreeMap<String, Value>| {
        let attr = vpcform_topology::aws_name_attr(c.kind)?;
        attrs.get(attr.as_str())?.as_str().map(str::to_string)
    };
    let named = changes.iter().filter(|c| c.kind.name_is_identity());
    let freed: HashMap<(ResourceKind, String), &Address> = named
        .clone()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace { .. }))
        .filter_map(|c| Some(((c.kind, name_of(c, &c.before)?), &c.address)))
        .collect();
    named
        .filter(|c| matches!(c.action, Action::Create | Action::Replace { .. }))
        .filter_map(|c| {
            let name = name_of(c, &c.after)?;
            let old = freed.get(&(c.kind, name.clone())).filter(|a| ***a != c.address)?;
            Some(PlanError {
                address: c.address.clone(),
                message: format!(
                    "{} would take AWS name `{name}` from {old}, which this plan deletes or replaces: AWS knows {} by name, so the new one would be removed with the old. Keep the old logical name, or apply the rename in two steps (another AWS name first)",
                    c.address,
                    c.kind.article_name()
                ),
            })
        })
        .collect()
}

/// Why a change cannot be applied as planned: a create that would collide
/// with an object the stack does not own, an `import-id` that finds nothing,
/// or an adoption that would replace what it adopts.
fn refusal(
    change: &ResourceChange,
    import_id: Option<&str>,
    live: &LiveState,
) -> Option<PlanError> {
    let address = &change.address;
    let error = |message: String| {
        Some(PlanError {
            address: address.clone(),
            message,
        })
    };
    match change.action {
        Action::Create => {
            if let Some(conflict) = live.conflicts.iter().find(|c| &c.address == address) {
                return error(conflict.message.clone());
            }
            let id = import_id?;
            error(format!(
                "`import-id: {id}` adopts {} that does not exist (deleted, or in another account or region); remove `import-id` to create a new one",
                address.kind.article_name()
            ))
        }
        Action::Adopt if !change.replace_reasons.is_empty() => error(format!(
            "adopting {} would replace it: {} cannot change in place; declare the value it has ({})",
            change.id.as_deref().unwrap_or_default(),
            change.replace_reasons.join(", "),
            change
                .changes
                .iter()
                .filter(|c| c.forces_replacement)
                .map(|c| format!("{} = {}", c.name, c.before.as_ref().unwrap_or(&Value::Null)))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => None,
    }
}

/// Routes whose destination already goes through a target the stack
/// neither owns nor adopts (a NAT gateway, a transit gateway): a declared
/// route there replaces it, which the plan shows and refuses unless the
/// route says `replaces:` with that target's id.
struct Takeovers {
    /// Ids of everything the stack owns or adopts.
    known: HashSet<String>,
    /// `replaces:` of each declared route, by (table, destination).
    allowed: HashMap<(String, String), Option<String>>,
}

impl Takeovers {
    fn new(topology: &Topology, live: &LiveState) -> Self {
        Takeovers {
            known: live.objects.values().map(|o| o.id.clone()).collect(),
            allowed: topology
                .effective_routes()
                .into_iter()
                .map(|r| ((r.table, r.destination.to_string()), r.replaces))
                .collect(),
        }
    }

    /// Marks a route that takes over an unmanaged one; the error unless allowed.
    fn check(&self, change: &mut ResourceChange) -> Option<PlanError> {
        let target = vpcform_topology::kinds::route_table::TARGET.as_str();
        if change.kind != ResourceKind::Route || change.action != Action::Update {
            return None;
        }
        let current = change.before.get(target).and_then(Value::as_str)?;
        if self.known.contains(current) {
            return None;
        }
        change.takes_over = Some(current.to_string());
        let key = (
            change.address.name.clone(),
            change.address.key.clone().unwrap_or_default(),
        );
        let allowed = self.allowed.get(&key).cloned().flatten();
        if allowed.as_deref() == Some(current) {
            return None;
        }
        let what = vpcform_topology::target_description(current);
        let message = match allowed {
            Some(other) => format!(
                "`replaces: {other}` does not match: the route to {} goes through {current} ({what}) now; review it and name that id, or remove the route",
                key.1
            ),
            None => format!(
                "this route replaces the route to {} through {current} ({what}), which vpcform does not manage: whatever uses it would be cut off. {}route another destination, or accept the replacement with `replaces: {current}` on the route",
                key.1,
                match vpcform_topology::TargetKind::from_id(current) {
                    Some(kind) => format!(
                        "Adopt that {what} in the topology (`{}` with `import-id: {current}`), ",
                        kind.resource_kind().section().unwrap_or_default()
                    ),
                    None => String::new(),
                }
            ),
        };
        Some(PlanError {
            address: change.address.clone(),
            message,
        })
    }
}

/// A security group deleted (or replaced without a stand-in) while an
/// interface vpcform does not manage uses it (an endpoint, a load balancer,
/// an instance of another stack): AWS refuses the delete, or the users lose
/// their rules. The plan names them and refuses.
fn users_left_behind(change: &ResourceChange, live: &LiveState) -> Option<PlanError> {
    let goes = match change.action {
        Action::Delete => true,
        Action::Replace { .. } => !change.stand_in,
        Action::NoOp | Action::Create | Action::Update | Action::Adopt => false,
    };
    if change.kind != ResourceKind::SecurityGroup || !goes {
        return None;
    }
    let object = live.objects.get(&change.address)?;
    let owned: HashSet<&str> = live.objects.values().map(|o| o.id.as_str()).collect();
    let users: Vec<&str> = object
        .get(security_group::USED_BY)
        .and_then(Value::as_array)?
        .iter()
        .filter_map(Value::as_str)
        .filter(|u| !owned.contains(u))
        .collect();
    if users.is_empty() {
        return None;
    }
    Some(PlanError {
        address: change.address.clone(),
        message: format!(
            "{} ({}) is used by {}, which vpcform does not manage: deleting it would fail or leave them without their rules. Move them to another group first, or keep declaring this one",
            change.address,
            object.id,
            users.join(", ")
        ),
    })
}

/// A table or ACL deleted while a subnet vpcform does not manage is still
/// associated with it (the association is not vpcform's to remove): AWS
/// would refuse the delete, so the plan does.
fn kept_associations(changes: &[ResourceChange], live: &LiveState) -> Vec<PlanError> {
    let deleted: HashSet<&Address> = changes
        .iter()
        .filter(|c| matches!(c.action, Action::Delete | Action::Replace { .. }))
        .map(|c| &c.address)
        .collect();
    let mut errors = Vec::new();
    for object in live.objects.values() {
        let blocks = matches!(
            object.address.kind,
            ResourceKind::RouteTableAssociation | ResourceKind::NetworkAclAssociation
        );
        let Some(container) = ResourceKind::container_of(&object.address) else {
            continue;
        };
        if !blocks || deleted.contains(&object.address) || !deleted.contains(&container) {
            continue;
        }
        let subnet = object
            .get(attr::SUBNET_ID)
            .and_then(Value::as_str)
            .unwrap_or("a subnet");
        errors.push(PlanError {
            address: container.clone(),
            message: format!(
                "{container} cannot be deleted while {subnet}, which vpcform does not manage, is associated with it; associate that subnet with another table or ACL first, or keep declaring this one"
            ),
        });
    }
    errors
}

/// An owned object whose `vpcform:address` tag someone edited: its
/// `vpcform:config` still holds the declaration hash of the address it was
/// created for, a declared address with no live object. Planned as is, that
/// object would be deleted and a new one created in its place (which AWS
/// may refuse as a conflict): a plan error naming the object and the tag.
fn edited_addresses(hashes: &HashMap<Address, String>, live: &LiveState) -> Vec<PlanError> {
    let by_hash: HashMap<&str, &Address> = hashes
        .iter()
        .filter(|(a, _)| !live.objects.contains_key(*a))
        .map(|(a, h)| (h.as_str(), a))
        .collect();
    let mut errors: Vec<PlanError> = live
        .objects
        .values()
        .filter(|o| !o.unowned && o.address.kind.container().is_none())
        .filter_map(|o| {
            let config = o.get(attr::TAGS)?.get(TAG_CONFIG)?.as_str()?;
            let hash = config.trim_end_matches(crate::CONFIG_UNFINISHED);
            let declared = *by_hash.get(hash)?;
            (declared != &o.address).then(|| PlanError {
                address: declared.clone(),
                message: format!(
                    "{} was created as {declared}, but its `{}` tag now says `{}`: the tag was edited. Set it back to `{declared}` (or remove the object's vpcform tags to let it go); the plan below, which would delete it and create another, is refused",
                    o.id,
                    crate::TAG_ADDRESS,
                    o.address
                ),
            })
        })
        .collect();
    errors.sort_by(|a, b| a.address.cmp(&b.address));
    errors
}

/// What planning one object needs besides the object itself.
struct Planner<'a> {
    live: &'a LiveState,
    config_hashes: HashMap<Address, String>,
}

impl Planner<'_> {
    /// The change for one declared object: a create, or a comparison with its live self.
    fn change(
        &self,
        address: &Address,
        want: &DesiredAttrs,
        depends_on: Vec<Address>,
        actions: &HashMap<Address, Action>,
    ) -> ResourceChange {
        let specs = address.kind.attr_specs();
        let mut after = BTreeMap::new();
        let mut after_unknown = BTreeMap::new();
        for (attr, value) in want {
            let compare = specs
                .iter()
                .find(|s| s.attr == *attr)
                .map_or(Compare::Exact, |s| s.compare);
            match resolve(value, address, self.live, actions) {
                Ok(v) => {
                    after.insert(attr.to_string(), normalize(compare, &v));
                }
                Err(unknown) => {
                    after_unknown.insert(attr.to_string(), unknown);
                }
            }
        }
        let container = ResourceKind::container_of(address);
        let live_object = self.live.objects.get(address);
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
            config_hash: match container {
                None => self.config_hashes.get(address).cloned(),
                Some(_) => None,
            },
            stand_in: false,
            unfinished: false,
            takes_over: None,
        };
        match live_object {
            None => self.plan_create(&mut change),
            Some(object) => self.plan_compare(&mut change, object, actions),
        }
        change
    }

    fn plan_create(&self, change: &mut ResourceChange) {
        change.action = Action::Create;
        for spec in change.kind.attr_specs() {
            let name = spec.attr.as_str();
            let after = match change.after.get(name) {
                Some(v) if v.is_null() => continue,
                Some(v) => Some(v.clone()),
                None if change.after_unknown.contains_key(name) => None,
                None => continue,
            };
            change.changes.push(AttributeChange {
                name: name.into(),
                before: None,
                after,
                forces_replacement: false,
            });
        }
        // A child missing while its container is unchanged since its last
        // apply was deleted outside vpcform; one whose container's apply never
        // finished was not created yet.
        if let Some(container) = ResourceKind::container_of(&change.address) {
            if self.unchanged_since_apply(&container) {
                change.drift = Some(Drift {
                    summary: "deleted outside vpcform".into(),
                });
            } else if self.unfinished(&container) {
                change.unfinished = true;
            }
        }
    }

    fn plan_compare(
        &self,
        change: &mut ResourceChange,
        object: &LiveObject,
        actions: &HashMap<Address, Action>,
    ) {
        let mut reasons = Vec::new();
        for spec in change.kind.attr_specs() {
            if spec.compare == Compare::Unread {
                continue;
            }
            let name = spec.attr.as_str();
            let live_value = object.get(spec.attr).unwrap_or(&Value::Null);
            let before = if spec.compare == Compare::Tags {
                normalize(
                    spec.compare,
                    &managed_tags(live_value, change.after.get(name)),
                )
            } else {
                normalize(spec.compare, live_value)
            };
            let after = match change.after.get(name) {
                Some(after) if *after == before => None,
                Some(after) => Some(Some(after.clone())),
                None if change.after_unknown.contains_key(name) => Some(None),
                None => continue,
            };
            if let Some(after) = after {
                change.changes.push(AttributeChange {
                    name: name.into(),
                    before: Some(before.clone()),
                    after,
                    forces_replacement: spec.forces_replacement,
                });
                if spec.forces_replacement {
                    reasons.push(spec.attr);
                }
            }
            change.before.insert(name.into(), before);
        }
        // A dependency replaced delete-first must be gone before its new
        // self exists, so what depends on it cannot be created first either.
        let deleted_first: Vec<Address> = change
            .depends_on
            .iter()
            .filter(|d| {
                actions.get(*d)
                    == Some(&Action::Replace {
                        create_before_destroy: false,
                    })
            })
            .cloned()
            .collect();
        let after_a_delete_first = !deleted_first.is_empty();
        reasons.extend(self.repointed_to_successor(change, &deleted_first));
        change.replace_reasons = reasons.iter().map(|a| a.to_string()).collect();
        // Implicit objects have no ownership of their own: they go with their container.
        change.action = if object.unowned && change.kind.container().is_none() {
            Action::Adopt
        } else if !reasons.is_empty() {
            let create_before_destroy = !after_a_delete_first
                && change.kind.replace_order(&reasons) == ReplaceOrder::CreateFirst;
            change.stand_in = !create_before_destroy && change.kind.stand_in();
            Action::Replace {
                create_before_destroy,
            }
        } else if !change.changes.is_empty() {
            Action::Update
        } else {
            Action::NoOp
        };
        change.unfinished = change.action.is_change() && self.unfinished(&change.address);
        // Drift is a known value that differs while the declaration did not change;
        // a value waiting on a replaced dependency is a consequence, not drift.
        let container =
            ResourceKind::container_of(&change.address).unwrap_or_else(|| change.address.clone());
        if change.action.is_change()
            && change.changes.iter().all(|c| c.after.is_some())
            && self.unchanged_since_apply(&container)
        {
            change.drift = Some(Drift {
                summary: drift_summary(&change.changes),
            });
        }
    }

    /// An in-place change away from a dependency that is replaced
    /// delete-first (a route to a NAT gateway that keeps its Elastic IP)
    /// would wait for the successor while the old object waits for it to
    /// let go: such an object is replaced too (removed before, made after).
    fn repointed_to_successor(
        &self,
        change: &mut ResourceChange,
        deleted_first: &[Address],
    ) -> Vec<Attr> {
        let old_ids: HashSet<&str> = deleted_first
            .iter()
            .filter_map(|d| self.live.objects.get(d))
            .map(|o| o.id.as_str())
            .collect();
        let mut reasons = Vec::new();
        for c in change.changes.iter_mut().filter(|c| !c.forces_replacement) {
            let Some(spec) = change.kind.attr_specs().iter().find(|s| s.attr == c.name) else {
                continue;
            };
            let before = c.before.as_ref().and_then(Value::as_str);
            if spec.compare == Compare::Id && before.is_some_and(|id| old_ids.contains(id)) {
                c.forces_replacement = true;
                reasons.push(spec.attr);
            }
        }
        reasons
    }

    /// Owned objects the topology no longer declares.
    fn deletes(
        &self,
        desired: &BTreeMap<Address, DesiredAttrs>,
        cx: &DesiredCx<'_>,
    ) -> Vec<ResourceChange> {
        let mut deletes: Vec<ResourceChange> = Vec::new();
        // What the stack reads, and AWS's prefix lists (a rule naming one is ours to delete).
        let known: HashSet<&str> = self
            .live
            .objects
            .values()
            .map(|o| o.id.as_str())
            .chain(
                self.live
                    .lookups
                    .values()
                    .map(String::as_str)
                    .filter(|id| id.starts_with("pl-")),
            )
            .collect();
        for (address, object) in &self.live.objects {
            if desired.contains_key(address)
                || leaves_default_egress(address, object, cx)
                || points_outside(address, object, &known)
            {
                continue;
            }
            // An object not yet adopted is never destroyed; its children only
            // when the topology adopts their container.
            let container = ResourceKind::container_of(address).unwrap_or_else(|| address.clone());
            if object.unowned && !desired.contains_key(&container) {
                continue;
            }
            // Routes and rules are deleted explicitly even when their container goes:
            // that orders them before what they point at (a peering, another group).
            let drift = ResourceKind::container_of(address)
                .filter(|c| self.unchanged_since_apply(c))
                .map(|_| Drift {
                    summary: "added outside vpcform".into(),
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
                stand_in: false,
                unfinished: false,
                takes_over: None,
            });
        }
        deletes.sort_by(|a, b| a.address.cmp(&b.address));
        deletes
    }

    /// The container's `vpcform:config` tag, as read.
    fn live_config(&self, container: &Address) -> Option<&str> {
        self.live
            .objects
            .get(container)
            .and_then(|o| o.get(attr::TAGS))
            .and_then(|t| t.get(TAG_CONFIG))
            .and_then(Value::as_str)
    }

    /// An object an earlier apply created and stopped before recording as
    /// finished (`+unfinished`), with nothing else left to do: an update
    /// that only records its declaration hash, so the marker does not
    /// outlive the apply that resumes it (it would label later drift as
    /// unfinished work). When its implicit objects still change, the retag
    /// after them records it.
    fn finish_unfinished(&self, changes: &mut [ResourceChange]) {
        let busy: HashSet<Address> = changes
            .iter()
            .filter(|c| c.action.is_change())
            .filter_map(|c| ResourceKind::container_of(&c.address))
            .collect();
        for change in changes.iter_mut() {
            if change.action == Action::NoOp
                && change.kind.container().is_none()
                && !busy.contains(&change.address)
                && self.unfinished(&change.address)
            {
                change.action = Action::Update;
                change.unfinished = true;
            }
        }
    }

    /// Whether the container was created by an apply that stopped before
    /// it and its implicit objects were all made.
    fn unfinished(&self, container: &Address) -> bool {
        self.live_config(container)
            .is_some_and(|hash| hash.ends_with(crate::CONFIG_UNFINISHED))
    }

    /// Whether the container's `vpcform:config` tag says its declaration is
    /// unchanged since the last apply.
    fn unchanged_since_apply(&self, container: &Address) -> bool {
        let Some(hash) = self.config_hashes.get(container) else {
            return false;
        };
        self.live_config(container) == Some(hash.as_str())
    }
}

/// An implicit object whose `Compare::Id` attributes name something the
/// stack neither owns nor adopts (a peering another team owns, a default
/// security group, an AWS-managed policy) is not vpcform's to delete.
fn points_outside(address: &Address, object: &LiveObject, known: &HashSet<&str>) -> bool {
    address.kind.container().is_some()
        && address
            .kind
            .attr_specs()
            .iter()
            .filter(|s| s.compare == Compare::Id)
            .filter_map(|s| object.get(s.attr).and_then(Value::as_str))
            .any(|id| !known.contains(id))
}

/// An egress rule of a group whose egress the topology leaves unmanaged:
/// AWS's default rule is not ours to delete.
fn leaves_default_egress(address: &Address, object: &LiveObject, cx: &DesiredCx<'_>) -> bool {
    address.kind == ResourceKind::SecurityGroupRule
        && object
            .get(security_group::DIRECTION)
            .and_then(Value::as_str)
            == Some(Direction::Egress.as_str())
        && cx
            .index
            .security_groups
            .get(address.name.as_str())
            .is_none_or(|g| g.egress.is_none())
}

/// The live objects read, and the declared objects found absent.
fn fingerprints(live: &LiveState, desired: &BTreeMap<Address, DesiredAttrs>) -> Vec<Fingerprint> {
    let mut fingerprints: Vec<Fingerprint> = live
        .objects
        .values()
        .map(|o| Fingerprint {
            address: o.address.clone(),
            id: o.id.clone(),
            hash: ObjectHash::of(o),
        })
        .collect();
    for address in desired.keys() {
        if !live.objects.contains_key(address) {
            fingerprints.push(Fingerprint {
                address: address.clone(),
                id: String::new(),
                hash: ObjectHash::Absent,
            });
        }
    }
    fingerprints.sort_by(|a, b| a.address.cmp(&b.address));
    fingerprints
}

/// A desired value now, or what it waits for.
fn resolve(
    value: &Desired,
    me: &Address,
    live: &LiveState,
    actions: &HashMap<Address, Action>,
) -> Result<Value, Unknown> {
    let lookup = |dep: &Address, attribute: vpcform_topology::Attr| -> Result<Value, Unknown> {
        let unknown = || Unknown {
            from: dep.clone(),
            attribute: Awaited::attribute(attribute),
            list: Vec::new(),
        };
        let stays = matches!(
            actions.get(dep),
            Some(Action::NoOp | Action::Update | Action::Adopt)
        );
        let object = live
            .objects
            .get(dep)
            .filter(|_| stays)
            .ok_or_else(unknown)?;
        if attribute == attr::ID {
            Ok(Value::String(object.id.clone()))
        } else {
            object
                .get(attribute)
                .filter(|v| !v.is_null())
                .cloned()
                .ok_or_else(unknown)
        }
    };
    match value {
        Desired::Known(v) => Ok(v.clone()),
        Desired::Ref(dep, attribute) => lookup(dep, *attribute),
        Desired::RefList(deps) => {
            let elements: Vec<ListElement> = deps
                .iter()
                .map(|dep| match lookup(dep, attr::ID) {
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
                    attribute: Awaited::attribute(attr::ID),
                    list: elements,
                }),
            }
        }
        Desired::Ssm(parameter) => Err(Unknown {
            from: me.clone(),
            attribute: Awaited::SsmParameter(parameter.clone()),
            list: Vec::new(),
        }),
    }
}

/// Hash of each container's declaration: its own attributes and its children's,
/// with references written as addresses so the hash does not depend on ids.
fn config_hashes(desired: &BTreeMap<Address, DesiredAttrs>) -> HashMap<Address, String> {
    let mut parts: BTreeMap<Address, BTreeMap<String, BTreeMap<&str, Value>>> = BTreeMap::new();
    for (address, attrs) in desired {
        let container = ResourceKind::container_of(address).unwrap_or_else(|| address.clone());
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
                (k.as_str(), v)
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
    let previously: Vec<&str> = crate::managed_keys(
        live.iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?))),
    );
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
        if let Some(arn) = object.get(attr::ARN).and_then(Value::as_str) {
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
        // A group's users refer to it, not it to them.
        let refers = |name: &String| *name != security_group::USED_BY;
        for value in object
            .attrs
            .iter()
            .filter(|(k, _)| refers(k))
            .map(|(_, v)| v)
        {
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
        match (live.objects.get(&f.address), &f.hash) {
            (None, ObjectHash::Hash(_)) => {
                moved.push(format!("{} ({}) was deleted", f.address, f.id))
            }
            (Some(o), ObjectHash::Absent) => {
                moved.push(format!("{} ({}) was created", f.address, o.id))
            }
            (Some(o), hash @ ObjectHash::Hash(_)) if o.id != f.id || ObjectHash::of(o) != *hash => {
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

/// VPCs the plan deletes that still hold what vpcform does not manage
/// (subnets, instances, NAT gateways found in the live network): AWS
/// refuses to delete a VPC that is not empty, so the plan does.
pub fn unmanaged_in_deleted_vpcs(plan: &Plan, network: &vpcform_reach::Network) -> Vec<PlanError> {
    let managed: HashSet<&str> = plan.fingerprints.iter().map(|f| f.id.as_str()).collect();
    let mut errors = Vec::new();
    for change in plan.changes.iter().filter(|c| {
        c.kind == ResourceKind::Vpc && matches!(c.action, Action::Delete | Action::Replace { .. })
    }) {
        let Some(vpc) = network
            .vpcs
            .iter()
            .find(|v| v.id.is_some() && v.id == change.id)
        else {
            continue;
        };
        let subnets: Vec<&vpcform_reach::Subnet> = network
            .subnets
            .iter()
            .filter(|s| s.vpc == vpc.key)
            .collect();
        let in_vpc = |subnet: &str| subnets.iter().any(|s| s.key == subnet);
        let ids = subnets
            .iter()
            .map(|s| &s.id)
            .chain(
                network
                    .instances
                    .iter()
                    .filter(|i| in_vpc(&i.subnet))
                    .map(|i| &i.id),
            )
            .chain(
                network
                    .nat_gateways
                    .iter()
                    .filter(|n| in_vpc(&n.subnet))
                    .map(|n| &n.id),
            );
        let held: Vec<&str> = ids
            .filter_map(|id| id.as_deref())
            .filter(|id| !managed.contains(id))
            .collect();
        if held.is_empty() {
            continue;
        }
        errors.push(PlanError {
            address: change.address.clone(),
            message: format!(
                "{} ({}) still holds {}, which vpcform does not manage: AWS refuses to delete a VPC that is not empty. Delete or move them first, or keep declaring the VPC",
                change.address,
                change.id.as_deref().unwrap_or_default(),
                held.join(", ")
            ),
        });
    }
    errors
}
