//! Reading the live state of a whole stack: one paginated call per kind
//! (filtered by the stack's tag where AWS allows), all kinds concurrently.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use vpcform_diff::{Conflict, LiveObject, LiveState, TAG_ADDRESS, TAG_STACK};
use vpcform_topology::{Address, Attr, ResourceKind, Topology};

use crate::{Aws, AwsError};

/// What one kind's reader found.
#[derive(Debug, Default)]
pub(crate) struct Found {
    pub(crate) objects: Vec<LiveObject>,
    pub(crate) conflicts: Vec<Conflict>,
}

/// What readers need to know about the topology.
#[derive(Debug)]
pub(crate) struct ReadCx<'t> {
    pub(crate) stack: &'t str,
    pub(crate) topology: &'t Topology,
    /// The declarations that adopt an existing object, by its kind and id
    /// (a log group and a role may share a name).
    pub(crate) adopted: HashMap<(ResourceKind, String), Address>,
    /// Whether reads select the stack's objects by its tag (`vpcform import`
    /// reads only what it adopts).
    pub(crate) by_tag: bool,
}

/// How a describe call selects: by filter, or by ids.
pub(crate) enum Select {
    Filter(aws_sdk_ec2::types::Filter),
    Ids(Vec<String>),
}

/// An EC2 Describe* call by [`Select`], every page collected: `call` is the
/// client method, `filter` and `ids` its builder setters, `items` the
/// page's list, `name` the call as errors name it.
macro_rules! describe_ec2 {
    ($aws:expr, $select:expr, $call:ident, $filter:ident, $ids:ident, $items:ident, $name:literal) => {{
        let call = match $select {
            $crate::read::Select::Filter(f) => $aws.ec2.$call().$filter(f),
            $crate::read::Select::Ids(ids) => $aws.ec2.$call().$ids(Some(ids)),
        };
        let mut pages = call.into_paginator().send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| $aws.error($name, e))?;
            out.extend(page.$items.unwrap_or_default());
        }
        Ok(out)
    }};
}
pub(crate) use describe_ec2;

impl<'t> ReadCx<'t> {
    pub(crate) fn new(topology: &'t Topology) -> Self {
        ReadCx {
            stack: &topology.stack.value,
            topology,
            adopted: topology
                .imports()
                .into_iter()
                .map(|i| ((i.address.kind, i.id.value.clone()), i.address))
                .collect(),
            by_tag: true,
        }
    }

    /// Where a found object belongs: its address and whether it is not yet
    /// owned (adopted by `import-id`). `None`: not ours; an adopted object
    /// another stack owns is reported as a conflict.
    pub(crate) fn place(
        &self,
        kind: ResourceKind,
        tags: &BTreeMap<String, String>,
        id: &str,
        conflicts: &mut Vec<Conflict>,
    ) -> Option<(Address, bool)> {
        let owner = tags.get(TAG_STACK).map(String::as_str);
        match self.adopted.get(&(kind, id.to_string())) {
            Some(address) => match owner {
                Some(stack) if stack == self.stack => Some((address.clone(), false)),
                None => Some((address.clone(), true)),
                Some(other) => {
                    conflicts.push(Conflict {
                        address: address.clone(),
                        id: id.to_string(),
                        message: format!(
                            "`import-id: {id}` adopts {} that stack `{other}` owns; remove it from that stack first, or drop `import-id`",
                            kind.article_name()
                        ),
                    });
                    None
                }
            },
            None if owner == Some(self.stack) => Some((address_from_tags(kind, tags, id), false)),
            None => None,
        }
    }

    /// The ids this topology adopts of one kind.
    pub(crate) fn adopted_ids(&self, kind: ResourceKind) -> impl Iterator<Item = &str> {
        self.adopted
            .keys()
            .filter(move |(k, _)| *k == kind)
            .map(|(_, id)| id.as_str())
    }

    /// Whether the topology adopts the object of `kind` with id `id`.
    pub(crate) fn adopts(&self, kind: ResourceKind, id: &str) -> bool {
        self.adopted.contains_key(&(kind, id.to_string()))
    }

    /// One kind's objects: the stack's by tag, then the adopted ones the tag
    /// did not find (until their adoption is applied) in one call by ids.
    /// AWS refuses the whole call when one id is unknown: then each id is
    /// asked alone, and an unknown one is absent (a plan error later).
    pub(crate) async fn select<T, F, Fut>(
        &self,
        kind: ResourceKind,
        id_of: impl Fn(&T) -> Option<&str>,
        describe: F,
    ) -> Result<Vec<T>, AwsError>
    where
        F: Fn(Select) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<T>, AwsError>>,
    {
        let mut items = if self.by_tag {
            describe(Select::Filter(stack_filter(self.stack))).await?
        } else {
            Vec::new()
        };
        let found: HashSet<&str> = items.iter().filter_map(&id_of).collect();
        let missing: Vec<String> = self
            .adopted_ids(kind)
            .filter(|id| !found.contains(id))
            .map(str::to_string)
            .collect();
        if missing.is_empty() {
            return Ok(items);
        }
        match describe(Select::Ids(missing.clone())).await {
            Ok(more) => items.extend(more),
            Err(e) if crate::apply::gone(&e) => {
                for id in missing {
                    match describe(Select::Ids(vec![id])).await {
                        Ok(more) => items.extend(more),
                        Err(e) if crate::apply::gone(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            Err(e) => return Err(e),
        }
        Ok(items)
    }
}

/// A live object as placed by [`ReadCx::place`].
pub(crate) fn placed(
    (address, unowned): (Address, bool),
    id: impl Into<String>,
    attrs: Vec<(Attr, Value)>,
) -> LiveObject {
    LiveObject {
        unowned,
        ..object(address, id, attrs)
    }
}

/// The EC2 filter that selects objects in `vpcs` by the filter `name`
/// (`vpc-id`, `attachment.vpc-id`, …), for `vpcform import`.
pub(crate) fn in_vpcs(name: &str, vpcs: &[String]) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .set_values(Some(vpcs.to_vec()))
        .build()
}

/// The EC2 filter that selects the stack's objects.
pub(crate) fn stack_filter(stack: &str) -> aws_sdk_ec2::types::Filter {
    tag_filter(TAG_STACK, stack)
}

/// The EC2 filter that selects objects tagged `key=value`.
pub(crate) fn tag_filter(key: &str, value: impl Into<String>) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(format!("tag:{key}"))
        .values(value)
        .build()
}

pub(crate) fn ec2_tags(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

pub(crate) fn tags_value(tags: &BTreeMap<String, String>) -> Value {
    Value::Object(
        tags.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The address an owned object records in its tag; one without (tag removed by
/// hand) gets an address that no declaration has, so it is planned for deletion.
pub(crate) fn address_from_tags(
    kind: ResourceKind,
    tags: &BTreeMap<String, String>,
    id: &str,
) -> Address {
    tags.get(TAG_ADDRESS)
        .and_then(|a| Address::from_tag(a))
        .filter(|a| a.kind == kind)
        .unwrap_or_else(|| Address::new(kind, format!("untracked-{id}")))
}

pub(crate) fn object(
    address: Address,
    id: impl Into<String>,
    attrs: Vec<(Attr, Value)>,
) -> LiveObject {
    LiveObject {
        address,
        id: id.into(),
        attrs: attrs.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        unowned: false,
    }
}

/// Runs per-object reads with bounded concurrency, failing on the first error.
pub(crate) async fn concurrently<T>(
    futures: impl IntoIterator<Item = impl std::future::Future<Output = Result<T, AwsError>>>,
) -> Result<Vec<T>, AwsError> {
    use futures::{StreamExt as _, TryStreamExt as _};
    futures::stream::iter(futures)
        .buffered(16)
        .try_collect()
        .await
}

/// The resources of one type (`logs`, `cloudwatch:alarm`) the Resource
/// Groups Tagging API lists with their tags: the stack's, or (no stack)
/// every tagged one. One paginated call for any number of objects.
pub(crate) async fn tagged(
    aws: &Aws,
    stack: Option<&str>,
    resource_type: &str,
) -> Result<HashMap<String, BTreeMap<String, String>>, AwsError> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let mut call = aws
        .tagging
        .get_resources()
        .resource_type_filters(resource_type);
    if let Some(stack) = stack {
        call = call.tag_filters(TagFilter::builder().key(TAG_STACK).values(stack).build());
    }
    let mut pages = call.into_paginator().send();
    let mut out = HashMap::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("tag:GetResources", e))?;
        for r in page.resource_tag_mapping_list() {
            let Some(arn) = r.resource_arn() else {
                continue;
            };
            let tags = r
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            out.insert(arn.to_string(), tags);
        }
    }
    Ok(out)
}

/// The ownership tags an object that cannot carry tags records another way
/// (a metric filter's name, a dashboard's first widget): only when the
/// recorded address is one of `kind`'s, so a query someone saved in the
/// stack's console folder (`vpcform/STACK/my-query`) is not taken for the
/// stack's (and deleted as undeclared).
pub(crate) fn owner_tags(
    kind: ResourceKind,
    stack: &str,
    address_tag: &str,
) -> Option<BTreeMap<String, String>> {
    Address::from_tag(address_tag).filter(|a| a.kind == kind)?;
    Some(BTreeMap::from([
        (TAG_STACK.to_string(), stack.to_string()),
        (TAG_ADDRESS.to_string(), address_tag.to_string()),
    ]))
}

pub(crate) fn opt_str(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::String(s.to_string()))
}

/// Prefix of placeholders in child keys that name another object by AWS id
/// (`id:subnet-0abc`), replaced by that object's logical name once all kinds are read.
pub(crate) const ID_REF: &str = "id:";

/// The conflict of an object not owned by the stack that holds a name the
/// topology declares (`declared`: logical name and AWS name of each declaration).
pub(crate) fn unowned_conflict<'d>(
    cx: &ReadCx<'_>,
    kind: ResourceKind,
    declared: impl Iterator<Item = (&'d str, &'d str)>,
    name: &str,
    id: &str,
) -> Option<Conflict> {
    let stack = cx.stack;
    let why = format!(
        "creating it would fail. Delete or rename it, or tag it `{TAG_STACK}={stack}` to adopt it"
    );
    name_conflict(cx, kind, declared, name, id, &why)
}

/// The same for a kind AWS creates by overwriting (alarms, Contributor
/// Insights rules, dashboards) or hands back (SNS topics): `why` says what
/// creating it would do and how out.
pub(crate) fn name_conflict<'d>(
    cx: &ReadCx<'_>,
    kind: ResourceKind,
    mut declared: impl Iterator<Item = (&'d str, &'d str)>,
    name: &str,
    id: &str,
    why: &str,
) -> Option<Conflict> {
    let (logical, _) = declared.find(|(_, aws_name)| *aws_name == name)?;
    let stack = cx.stack;
    Some(Conflict {
        address: Address::new(kind, logical),
        id: id.to_string(),
        message: format!(
            "{} named `{name}` exists but is not owned by stack `{stack}`; {why}",
            kind.article_name()
        ),
    })
}

/// Reads everything the stack owns, and the SSM parameters the topology names.
pub async fn read_live_state(aws: &Aws, topology: &Topology) -> Result<LiveState, AwsError> {
    let before = aws.calls.get();
    let cx = ReadCx::new(topology);
    let reads = crate::registry::own_readers()
        .into_iter()
        .map(|(_, read)| read(aws, &cx));
    let managed = aws_managed_lists_named(topology);
    let (found, ssm, mut lists) = tokio::try_join!(
        futures::future::try_join_all(reads),
        crate::kinds::instance::read_ssm_parameters(aws, &cx),
        crate::kinds::prefix_list::aws_managed(aws, Some(managed.keys().cloned().collect())),
    )?;
    let mut live = LiveState {
        lookups: ssm,
        ..LiveState::default()
    };
    let mut all = Vec::new();
    for found in found {
        all.extend(found.objects);
        live.conflicts.extend(found.conflicts);
    }
    // A rule naming one of AWS's lists the topology no longer names (one to
    // delete): all of AWS's lists, looked up once, so it is known as AWS's.
    if names_unread_list(&all, &lists) {
        lists.extend(crate::kinds::prefix_list::aws_managed(aws, None).await?);
    }
    // Child keys that name other objects by id get those objects' logical
    // names; AWS's lists go by AWS's names.
    let mut names: HashMap<String, String> = all
        .iter()
        .filter(|o| o.address.key.is_none())
        .map(|o| (o.id.clone(), o.address.name.clone()))
        .collect();
    names.extend(lists.iter().map(|(name, id)| (id.clone(), name.clone())));
    live.conflicts
        .extend(unpublished_lists(&managed, &lists, aws.region()));
    live.lookups.extend(lists);
    live.lookups.insert(
        vpcform_topology::kinds::dashboard::REGION_LOOKUP.into(),
        aws.region().to_string(),
    );
    for object in &mut all {
        if let Some(key) = &object.address.key
            && key.contains(ID_REF)
        {
            object.address.key = Some(resolve_id_refs(key, &names));
        }
    }
    mark_unowned_children(&mut all);
    for object in separate_duplicates(all) {
        live.insert(object);
    }
    live.api_calls = aws.calls.get() - before;
    Ok(live)
}

/// Implicit objects go with their container: not owned while it is not.
pub(crate) fn mark_unowned_children(objects: &mut [LiveObject]) {
    let unowned: HashSet<Address> = objects
        .iter()
        .filter(|o| o.unowned && o.address.key.is_none())
        .map(|o| o.address.clone())
        .collect();
    for o in objects.iter_mut() {
        if let Some(container) = ResourceKind::container_of(&o.address) {
            o.unowned |= unowned.contains(&container);
        }
    }
}

/// Two objects with one address can exist when AWS acted on a create whose
/// answer was lost and the call was retried. The one others refer to (else
/// the lowest id) keeps the address; the others get a `-duplicate-<id>` name
/// that nothing declares, so the plan deletes them.
fn separate_duplicates(objects: Vec<LiveObject>) -> Vec<LiveObject> {
    let mut referenced = HashSet::new();
    for o in &objects {
        for v in o.attrs.values() {
            collect_strings(v, &mut referenced);
        }
    }
    let mut by_address: BTreeMap<Address, Vec<LiveObject>> = BTreeMap::new();
    for o in objects {
        by_address.entry(o.address.clone()).or_default().push(o);
    }
    let mut out = Vec::new();
    for (_, mut group) in by_address {
        group.sort_by(|a, b| {
            let unreferenced = |o: &LiveObject| !referenced.contains(&o.id);
            (unreferenced(a), &a.id).cmp(&(unreferenced(b), &b.id))
        });
        let mut group = group.into_iter();
        out.extend(group.next());
        for mut extra in group {
            extra.address.name = format!("{}-duplicate-{}", extra.address.name, extra.id);
            out.push(extra);
        }
    }
    out
}

fn collect_strings(value: &Value, out: &mut HashSet<String>) {
    match value {
        Value::String(s) => {
            out.insert(s.clone());
        }
        Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        _ => {}
    }
}

/// The AWS-managed lists the topology's rules name, each with the rules
/// that name it.
fn aws_managed_lists_named(topology: &Topology) -> BTreeMap<String, Vec<Address>> {
    use vpcform_topology::kinds::prefix_list::is_aws_managed;
    let mut out: BTreeMap<String, Vec<Address>> = BTreeMap::new();
    for g in &topology.security_groups {
        for rule in g.spec.rules().filter_map(|(d, r)| r.normalise(d)) {
            if let vpcform_topology::Peer::PrefixList(list) = &rule.peer
                && is_aws_managed(list)
            {
                let address =
                    Address::keyed(ResourceKind::SecurityGroupRule, &g.name.value, rule.key());
                out.entry(list.clone()).or_default().push(address);
            }
        }
    }
    out
}

/// Whether a rule read names a list neither read nor looked up.
fn names_unread_list(all: &[LiveObject], lists: &BTreeMap<String, String>) -> bool {
    use vpcform_topology::kinds::security_group::PREFIX_LIST_ID;
    let read: HashSet<&str> = all
        .iter()
        .filter(|o| o.address.kind == ResourceKind::PrefixList)
        .map(|o| o.id.as_str())
        .chain(lists.values().map(String::as_str))
        .collect();
    all.iter()
        .filter(|o| o.address.kind == ResourceKind::SecurityGroupRule)
        .filter_map(|o| PREFIX_LIST_ID.str(&o.attrs))
        .any(|id| !read.contains(id))
}

/// A rule naming a list AWS does not publish here cannot be made: its
/// create is refused, naming the region.
fn unpublished_lists(
    named: &BTreeMap<String, Vec<Address>>,
    found: &BTreeMap<String, String>,
    region: &str,
) -> Vec<Conflict> {
    named
        .iter()
        .filter(|(name, _)| !found.contains_key(*name))
        .flat_map(|(name, rules)| {
            rules.iter().map(move |address| Conflict {
                address: address.clone(),
                id: String::new(),
                message: format!(
                    "AWS publishes no prefix list named `{name}` in {region} (AWS's lists are named like com.amazonaws.{region}.s3)"
                ),
            })
        })
        .collect()
}

fn resolve_id_refs(key: &str, names: &HashMap<String, String>) -> String {
    let mut out = String::with_capacity(key.len());
    let mut rest = key;
    while let Some(at) = rest.find(ID_REF) {
        out.push_str(&rest[..at]);
        let after = &rest[at + ID_REF.len()..];
        let end = after.find(['/', ']']).unwrap_or(after.len());
        let id = &after[..end];
        match names.get(id) {
            Some(name) => out.push_str(name),
            None => out.push_str(id),
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Whether an IPv6 block association counts as the object's block: any
/// state but those of a block going or gone. (moto 5.2.5 reports a
/// subnet's state as the text of a nested structure, not `associated`.)
pub(crate) fn ipv6_block_in_use(state: Option<&str>) -> bool {
    !matches!(
        state,
        Some("disassociating" | "disassociated" | "failing" | "failed")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_keep_the_referenced_object_and_rename_the_rest() {
        let vpc = |id: &str| object(Address::new(ResourceKind::Vpc, "main"), id, vec![]);
        let subnet = object(
            Address::new(ResourceKind::Subnet, "a"),
            "subnet-1",
            vec![(vpcform_topology::attr::VPC_ID, Value::from("vpc-b"))],
        );
        let out = separate_duplicates(vec![vpc("vpc-a"), vpc("vpc-b"), subnet]);
        let names: Vec<(String, String)> = out
            .iter()
            .map(|o| (o.address.to_string(), o.id.clone()))
            .collect();
        assert!(
            names.contains(&("vpc.main".into(), "vpc-b".into())),
            "{names:?}"
        );
        assert!(
            names.contains(&("vpc.main-duplicate-vpc-a".into(), "vpc-a".into())),
            "{names:?}"
        );
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn id_placeholders_become_logical_names() {
        let names = HashMap::from([("sg-1".to_string(), "web".to_string())]);
        assert_eq!(
            resolve_id_refs("ingress/tcp/22..22/sg:id:sg-1", &names),
            "ingress/tcp/22..22/sg:web"
        );
        assert_eq!(resolve_id_refs("id:subnet-9", &names), "subnet-9");
    }
}
