//! Customer-managed prefix lists. One DescribeManagedPrefixLists for the
//! stack's lists, then GetManagedPrefixListEntries per list (AWS has no
//! batched entries call), concurrently. AWS refuses entries and the maximum
//! in one ModifyManagedPrefixList: the maximum grows before entries are
//! added and shrinks after they are removed, each call at the list's
//! current version, waiting for the previous change to complete.

use std::collections::BTreeMap;
use std::time::Duration;
use vpcform_topology::kinds::route_table::DESTINATION_PREFIX_LIST_ID;

use aws_sdk_ec2::types::{
    AddPrefixListEntry, ManagedPrefixList, PrefixListState, RemovePrefixListEntry, ResourceType,
};
use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::TAGS;
use vpcform_topology::kinds::prefix_list::{
    ADDRESS_FAMILY, ENTRIES, MAX_ENTRIES, PREFIX_LIST_NAME, entries_value,
};
use vpcform_topology::kinds::security_group::PREFIX_LIST_ID;

use crate::apply::{
    attr_i64, changed, client_token, delete, ec2_tag_spec, id, outcome, required, update_ec2_tags,
    wait_for,
};
use crate::kind::{AwsKind, Read, Scan};
use crate::read::{Found, ReadCx, Select, describe_ec2, ec2_tags, placed, tags_value};
use crate::{Aws, AwsError};

/// How long a list may take to settle after a change.
const SETTLE: Duration = Duration::from_secs(120);

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let lists = cx
        .select(
            ResourceKind::PrefixList,
            |x: &ManagedPrefixList| x.prefix_list_id(),
            |s| describe(aws, s),
        )
        .await?;
    // AWS's own lists (S3's, DynamoDB's) are never the stack's; deleted
    // ones stay visible for a while and count as gone.
    let lists: Vec<ManagedPrefixList> = lists
        .into_iter()
        .filter(|l| !aws_owned(l) && !deleted(l))
        .collect();
    let entries = futures::future::try_join_all(
        lists
            .iter()
            .map(|l| entries_of(aws, l.prefix_list_id().unwrap_or_default())),
    )
    .await?;
    Ok(prefix_lists_found(&lists, &entries, cx))
}

/// Whether the list is deleted, or being deleted.
fn deleted(l: &ManagedPrefixList) -> bool {
    matches!(
        l.state(),
        Some(PrefixListState::DeleteComplete | PrefixListState::DeleteInProgress)
    )
}

/// Whether AWS owns the list (`com.amazonaws.…`): referenced, never managed.
pub(crate) fn aws_owned(l: &ManagedPrefixList) -> bool {
    l.owner_id() == Some("AWS")
        || l.prefix_list_name()
            .is_some_and(|n| n.starts_with("com.amazonaws."))
}

/// The stack's lists, as the plan compares them (entries beside each list).
pub(crate) fn prefix_lists_found(
    lists: &[ManagedPrefixList],
    entries: &[Vec<(String, Option<String>)>],
    cx: &ReadCx<'_>,
) -> Found {
    let mut found = Found::default();
    for (l, entries) in lists.iter().zip(entries) {
        let Some(id) = l.prefix_list_id() else {
            continue;
        };
        let tags = ec2_tags(l.tags());
        let Some(place) = cx.place(ResourceKind::PrefixList, &tags, id, &mut found.conflicts)
        else {
            continue;
        };
        let parsed = entries
            .iter()
            .filter_map(|(cidr, d)| Some((cidr.parse().ok()?, d.as_deref())));
        found.objects.push(placed(
            place,
            id,
            vec![
                (
                    PREFIX_LIST_NAME,
                    Value::from(l.prefix_list_name().unwrap_or_default()),
                ),
                (
                    ADDRESS_FAMILY,
                    Value::from(l.address_family().unwrap_or("IPv4")),
                ),
                (MAX_ENTRIES, Value::from(l.max_entries().unwrap_or(0))),
                (ENTRIES, entries_value(parsed)),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    found
}

pub(crate) async fn describe(
    aws: &Aws,
    select: Select,
) -> Result<Vec<ManagedPrefixList>, AwsError> {
    describe_ec2!(
        aws,
        select,
        describe_managed_prefix_lists,
        filters,
        set_prefix_list_ids,
        prefix_lists,
        "ec2:DescribeManagedPrefixLists"
    )
}

/// AWS-managed lists, name → id: those named (one call filtered by name),
/// or every one of AWS's in the region (`None`: by owner).
pub(crate) async fn aws_managed(
    aws: &Aws,
    names: Option<Vec<String>>,
) -> Result<BTreeMap<String, String>, AwsError> {
    let filter = match names {
        Some(names) if names.is_empty() => return Ok(BTreeMap::new()),
        Some(names) => aws_sdk_ec2::types::Filter::builder()
            .name("prefix-list-name")
            .set_values(Some(names)),
        None => aws_sdk_ec2::types::Filter::builder()
            .name("owner-id")
            .values("AWS"),
    };
    let lists = describe(aws, Select::Filter(filter.build())).await?;
    Ok(lists
        .iter()
        .filter(|l| aws_owned(l))
        .filter_map(|l| {
            Some((
                l.prefix_list_name()?.to_string(),
                l.prefix_list_id()?.to_string(),
            ))
        })
        .collect())
}

/// A list's entries: CIDR and description.
pub(crate) async fn entries_of(
    aws: &Aws,
    list: &str,
) -> Result<Vec<(String, Option<String>)>, AwsError> {
    let mut pages = aws
        .ec2
        .get_managed_prefix_list_entries()
        .prefix_list_id(list)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("ec2:GetManagedPrefixListEntries", e))?;
        out.extend(
            page.entries()
                .iter()
                .filter_map(|e| Some((e.cidr()?.to_string(), e.description().map(str::to_string)))),
        );
    }
    Ok(out)
}

/// The desired entries: CIDR → description.
fn desired_entries(value: Option<&Value>) -> BTreeMap<String, String> {
    value
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Waits until the list has settled after a change, and returns its version.
async fn settled(aws: &Aws, list: &str) -> Result<i64, AwsError> {
    wait_for(&format!("prefix list {list} to settle"), SETTLE, || async {
        let found = describe(aws, Select::Ids(vec![list.to_string()])).await?;
        let Some(l) = found.first() else {
            return Err(AwsError::PlanMoved {
                operation: format!("changing prefix list {list}"),
                detail: "the list is gone".into(),
            });
        };
        Ok(match l.state() {
            Some(
                PrefixListState::CreateFailed
                | PrefixListState::ModifyFailed
                | PrefixListState::RestoreFailed,
            ) => {
                return Err(AwsError::PlanMoved {
                    operation: format!("changing prefix list {list}"),
                    detail: format!(
                        "AWS reports it failed: {}",
                        l.state_message().unwrap_or("no reason given")
                    ),
                });
            }
            Some(
                PrefixListState::CreateInProgress
                | PrefixListState::ModifyInProgress
                | PrefixListState::DeleteInProgress
                | PrefixListState::RestoreInProgress,
            ) => None,
            _ => Some(l.version().unwrap_or(1)),
        })
    })
    .await
}

/// A customer-managed prefix list.
pub(crate) struct PrefixList;

impl AwsKind for PrefixList {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    /// Found through the security-group rules and the routes that name them.
    const SCAN: Scan = Scan::Through {
        from: &[
            (ResourceKind::SecurityGroupRule, PREFIX_LIST_ID),
            (ResourceKind::Route, DESTINATION_PREFIX_LIST_ID),
        ],
        id: |id| Some(id.to_string()),
    };

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let entries: Vec<AddPrefixListEntry> = desired_entries(ENTRIES.get(&op.attrs))
            .into_iter()
            .map(|(cidr, d)| add_entry(cidr, d))
            .collect();
        let created = aws
            .ec2
            .create_managed_prefix_list()
            .prefix_list_name(required(op, PREFIX_LIST_NAME)?)
            .address_family(required(op, ADDRESS_FAMILY)?)
            .max_entries(attr_i64(op, MAX_ENTRIES).unwrap_or(1) as i32)
            .set_entries(Some(entries))
            .tag_specifications(ec2_tag_spec(ResourceType::PrefixList, op))
            .client_token(client_token(op))
            .send()
            .await
            .map_err(|e| aws.error("ec2:CreateManagedPrefixList", e))?;
        let list = created
            .prefix_list()
            .and_then(|l| l.prefix_list_id())
            .ok_or_else(|| AwsError::MissingId {
                operation: format!("{} {}", op.verb, op.address),
            })?;
        settled(aws, list).await?;
        Ok(outcome(list))
    }

    /// Name, maximum and entries, in the calls [`changes`] orders.
    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let list = id(op)?;
        // Every call restates the name: moto forgets it otherwise, and AWS
        // takes the name it has as no change.
        let name = PREFIX_LIST_NAME.str(&op.attrs).map(str::to_string);
        for change in changes(op) {
            modify(aws, list, |c| {
                let c = c.set_prefix_list_name(name.clone());
                match &change {
                    Change::Resize(max) => c.max_entries(*max),
                    Change::Entries { add, remove } => c
                        .set_add_entries((!add.is_empty()).then(|| add.clone()))
                        .set_remove_entries((!remove.is_empty()).then(|| remove.clone())),
                }
            })
            .await?;
        }
        update_ec2_tags(aws, list, op).await?;
        Ok(outcome(list))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        crate::apply::update_tags_only(aws, op).await
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let list = id(op)?;
        delete("prefix list", list, || async {
            aws.ec2
                .delete_managed_prefix_list()
                .prefix_list_id(list)
                .send()
                .await
                .map_err(|e| aws.error("ec2:DeleteManagedPrefixList", e))
        })
        .await
    }
}

type Modify =
    aws_sdk_ec2::operation::modify_managed_prefix_list::builders::ModifyManagedPrefixListFluentBuilder;

/// One ModifyManagedPrefixList at the list's current version, then waits for it to settle.
async fn modify(aws: &Aws, list: &str, change: impl Fn(Modify) -> Modify) -> Result<(), AwsError> {
    let version = settled(aws, list).await?;
    let call = aws
        .ec2
        .modify_managed_prefix_list()
        .prefix_list_id(list)
        .current_version(version);
    change(call)
        .send()
        .await
        .map_err(|e| aws.error("ec2:ModifyManagedPrefixList", e))?;
    settled(aws, list).await?;
    Ok(())
}

/// One ModifyManagedPrefixList.
#[derive(Debug, PartialEq)]
enum Change {
    Resize(i32),
    Entries {
        add: Vec<AddPrefixListEntry>,
        remove: Vec<RemovePrefixListEntry>,
    },
}

/// The calls an update makes, in order. AWS refuses entries and the maximum
/// in one call: the maximum grows first, so the new entries fit, and
/// shrinks last, once the old ones are gone. A new description is its CIDR
/// removed, then added in a call of its own: AWS takes no CIDR twice in one.
fn changes(op: &Operation) -> Vec<Change> {
    let max = changed(op, MAX_ENTRIES)
        .then(|| attr_i64(op, MAX_ENTRIES))
        .flatten()
        .map(|m| m as i32);
    let before_max = MAX_ENTRIES.get(&op.before).and_then(Value::as_i64);
    let grows = max.zip(before_max).is_some_and(|(m, b)| i64::from(m) > b);
    let mut out = Vec::new();
    if let Some(max) = max.filter(|_| grows) {
        out.push(Change::Resize(max));
    }
    if changed(op, ENTRIES) {
        let (add, remove) = entry_changes(op);
        let (readd, add): (Vec<_>, Vec<_>) = add
            .into_iter()
            .partition(|e| remove.iter().any(|r| r.cidr() == e.cidr()));
        out.push(Change::Entries { add, remove });
        if !readd.is_empty() {
            out.push(Change::Entries {
                add: readd,
                remove: Vec::new(),
            });
        }
    }
    if let Some(max) = max.filter(|_| !grows) {
        out.push(Change::Resize(max));
    }
    if out.is_empty() && changed(op, PREFIX_LIST_NAME) {
        // A new name alone: one call with nothing else in it.
        out.push(Change::Entries {
            add: Vec::new(),
            remove: Vec::new(),
        });
    }
    out
}

fn add_entry(cidr: String, description: String) -> AddPrefixListEntry {
    AddPrefixListEntry::builder()
        .cidr(cidr)
        .set_description((!description.is_empty()).then_some(description))
        .build()
}

/// Entries to add (new, or with a new description) and to remove.
fn entry_changes(op: &Operation) -> (Vec<AddPrefixListEntry>, Vec<RemovePrefixListEntry>) {
    let want = desired_entries(ENTRIES.get(&op.attrs));
    let have = desired_entries(ENTRIES.get(&op.before));
    let add = want
        .iter()
        .filter(|(cidr, d)| have.get(*cidr) != Some(d))
        .map(|(cidr, d)| add_entry(cidr.clone(), d.clone()))
        .collect();
    // A changed description: the entry goes, and comes back with it.
    let remove = have
        .iter()
        .filter(|(cidr, d)| want.get(*cidr) != Some(d))
        .map(|(cidr, _)| RemovePrefixListEntry::builder().cidr(cidr).build())
        .collect();
    (add, remove)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use vpcform_exec::Verb;
    use vpcform_topology::Address;

    fn op(before: Value, after: Value, changed: &[&str]) -> Operation {
        let map = |v: Value| v.as_object().unwrap().clone().into_iter().collect();
        Operation {
            stack: "s".into(),
            address: Address::new(ResourceKind::PrefixList, "office"),
            kind: ResourceKind::PrefixList,
            verb: Verb::Update,
            id: Some("pl-1".into()),
            attrs: map(after),
            before: map(before),
            changed: changed.iter().map(|c| c.to_string()).collect(),
            lookups: Default::default(),
            config_hash: None,
        }
    }

    fn shape(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| match c {
                Change::Resize(m) => format!("resize {m}"),
                Change::Entries { add, remove } => {
                    let add: Vec<&str> = add.iter().filter_map(|a| a.cidr()).collect();
                    let remove: Vec<&str> = remove.iter().filter_map(|r| r.cidr()).collect();
                    format!("add {add:?} remove {remove:?}")
                }
            })
            .collect()
    }

    #[test]
    fn a_growing_list_is_resized_before_its_entries_are_added() {
        let o = op(
            json!({"max_entries": 1, "entries": {"10.0.0.0/8": ""}}),
            json!({"max_entries": 2, "entries": {"10.0.0.0/8": "", "192.0.2.0/24": "b"}}),
            &["max_entries", "entries"],
        );
        assert_eq!(
            shape(&changes(&o)),
            ["resize 2", "add [\"192.0.2.0/24\"] remove []"]
        );
    }

    #[test]
    fn a_shrinking_list_loses_its_entries_before_it_is_resized() {
        let o = op(
            json!({"max_entries": 3, "entries": {"10.0.0.0/8": "", "192.0.2.0/24": ""}}),
            json!({"max_entries": 1, "entries": {"10.0.0.0/8": ""}}),
            &["max_entries", "entries"],
        );
        assert_eq!(
            shape(&changes(&o)),
            ["add [] remove [\"192.0.2.0/24\"]", "resize 1"]
        );
    }

    #[test]
    fn a_new_description_removes_the_entry_then_adds_it_in_another_call() {
        let o = op(
            json!({"max_entries": 2, "entries": {"10.0.0.0/8": "old", "192.0.2.0/24": ""}}),
            json!({"max_entries": 2, "entries": {"10.0.0.0/8": "new", "198.51.100.0/24": ""}}),
            &["entries"],
        );
        assert_eq!(
            shape(&changes(&o)),
            [
                "add [\"198.51.100.0/24\"] remove [\"10.0.0.0/8\", \"192.0.2.0/24\"]",
                "add [\"10.0.0.0/8\"] remove []"
            ]
        );
    }
}
