//! `vpcform import`: everything in some VPCs that the topology can declare,
//! read as the plan reads adopted objects, and what it cannot declare.
//!
//! Each kind says how it is found ([`Scan`]): by a describe call filtered
//! by the VPCs, or through another kind's objects (a flow log's log group
//! and role, a role's policies). The ids found are handed to the ordinary
//! readers as adoptions, so the attributes written are exactly those the
//! next plan compares.

use std::collections::{BTreeMap, HashMap, HashSet};

use vpcform_diff::{Conflict, LiveObject};
use vpcform_topology::export::{LeftOut, Observed};
use vpcform_topology::{Address, ResourceKind, Topology};

use crate::kind::{Read, Scan, Scanned};
use crate::read::ReadCx;
use crate::registry::{read_of, scan_of};
use crate::{Aws, AwsError};

/// What `vpcform import` read from the account.
#[derive(Debug, Default)]
pub struct Imported {
    /// Each object the topology can declare, with its implicit objects.
    pub observed: Vec<Observed>,
    pub left_out: Vec<LeftOut>,
    /// Objects another stack already owns.
    pub conflicts: Vec<Conflict>,
    /// AWS's prefix lists the rules found name, id → name.
    pub aws_prefix_lists: BTreeMap<String, String>,
    pub api_calls: u64,
}

/// Reads the VPCs `vpcs` and everything attached that vpcform can express.
pub async fn read_vpcs(aws: &Aws, stack: &str, vpcs: &[String]) -> Result<Imported, AwsError> {
    let before = aws.calls.get();
    let empty = Topology::default();
    let mut cx = ReadCx {
        stack,
        topology: &empty,
        adopted: HashMap::new(),
        by_tag: false,
    };
    let (scanned, others) =
        tokio::try_join!(scan_in_vpcs(aws, vpcs), crate::undeclared::scan(aws, vpcs))?;
    let mut left_out = others;
    let mut pending = Vec::new();
    for (kind, found) in scanned {
        left_out.extend(found.left_out);
        pending.extend(found.ids.into_iter().map(|id| (kind, id)));
    }
    let mut objects: BTreeMap<Address, LiveObject> = BTreeMap::new();
    let mut conflicts = Vec::new();
    while !pending.is_empty() {
        let kinds: HashSet<ResourceKind> = pending.iter().map(|(k, _)| *k).collect();
        for (kind, id) in pending.drain(..) {
            let placeholder = Address::new(kind, format!("x{}", cx.adopted.len()));
            cx.adopted.entry((kind, id)).or_insert(placeholder);
        }
        let readers = readers_of(&kinds);
        let (found, found_conflicts) = read_with(aws, &cx, &readers).await?;
        conflicts.extend(found_conflicts);
        // A reader run again (IAM, once policies are known) replaces what it read before.
        objects.retain(|a, _| {
            reader_of(a.kind).is_none_or(|(by, _)| !readers.iter().any(|(k, _)| *k == by))
        });
        for o in found {
            objects.insert(o.address.clone(), o);
        }
        pending = reached_through(&objects, &cx.adopted);
    }
    let aws_prefix_lists = aws_lists_named_by_rules(aws, &objects).await?;
    Ok(Imported {
        observed: vpcform_diff::to_observed(objects.into_values()),
        left_out,
        conflicts,
        aws_prefix_lists,
        api_calls: aws.calls.get() - before,
    })
}

/// AWS's lists (id → name), when a rule found names a list the import did
/// not read (one call for all of AWS's lists in the region).
async fn aws_lists_named_by_rules(
    aws: &Aws,
    objects: &BTreeMap<Address, LiveObject>,
) -> Result<BTreeMap<String, String>, AwsError> {
    use vpcform_topology::kinds::security_group::PREFIX_LIST_ID;
    let read: HashSet<&str> = objects
        .values()
        .filter(|o| o.address.kind == ResourceKind::PrefixList)
        .map(|o| o.id.as_str())
        .collect();
    let unread = objects
        .values()
        .filter(|o| o.address.kind == ResourceKind::SecurityGroupRule)
        .filter_map(|o| PREFIX_LIST_ID.str(&o.attrs))
        .any(|id| !read.contains(id));
    if !unread {
        return Ok(BTreeMap::new());
    }
    let lists = crate::kinds::prefix_list::aws_managed(aws, None).await?;
    Ok(lists.into_iter().map(|(name, id)| (id, name)).collect())
}

/// Every kind found by VPC, scanned concurrently.
async fn scan_in_vpcs(
    aws: &Aws,
    vpcs: &[String],
) -> Result<Vec<(ResourceKind, Scanned)>, AwsError> {
    let scans = ResourceKind::ALL
        .iter()
        .filter_map(|&kind| match scan_of(kind) {
            Scan::InVpcs(scan) => Some(async move { Ok((kind, scan(aws, vpcs).await?)) }),
            Scan::Through { .. } | Scan::WithContainer | Scan::Never => None,
        });
    futures::future::try_join_all(scans).await
}

/// The kind whose reader reads `kind`, and that reader.
fn reader_of(kind: ResourceKind) -> Option<(ResourceKind, crate::kind::ReadFn)> {
    match read_of(kind) {
        Read::Own(read) => Some((kind, read)),
        Read::With(by) => match read_of(by) {
            Read::Own(read) => Some((by, read)),
            Read::With(_) => None,
        },
    }
}

/// The readers of `kinds`, each once.
fn readers_of(kinds: &HashSet<ResourceKind>) -> Vec<(ResourceKind, crate::kind::ReadFn)> {
    let mut readers: Vec<(ResourceKind, crate::kind::ReadFn)> = Vec::new();
    for reader in kinds.iter().filter_map(|&k| reader_of(k)) {
        if !readers.iter().any(|(k, _)| *k == reader.0) {
            readers.push(reader);
        }
    }
    readers
}

/// Runs `readers` with the adoptions so far.
async fn read_with(
    aws: &Aws,
    cx: &ReadCx<'_>,
    readers: &[(ResourceKind, crate::kind::ReadFn)],
) -> Result<(Vec<LiveObject>, Vec<Conflict>), AwsError> {
    let found =
        futures::future::try_join_all(readers.iter().map(|(_, read)| read(aws, cx))).await?;
    let mut objects = Vec::new();
    let mut conflicts = Vec::new();
    for f in found {
        objects.extend(f.objects);
        conflicts.extend(f.conflicts);
    }
    Ok((objects, conflicts))
}

/// The ids that kinds found through others' objects name and that are not read yet.
fn reached_through(
    objects: &BTreeMap<Address, LiveObject>,
    adopted: &HashMap<(ResourceKind, String), Address>,
) -> Vec<(ResourceKind, String)> {
    let mut out = Vec::new();
    for &kind in ResourceKind::ALL {
        let Scan::Through { from, id } = scan_of(kind) else {
            continue;
        };
        for &(source, attr) in from {
            for o in objects.values().filter(|o| o.address.kind == source) {
                let Some(found) = o.get(attr).and_then(|v| v.as_str()).and_then(id) else {
                    continue;
                };
                let key = (kind, found);
                if !adopted.contains_key(&key) && !out.contains(&key) {
                    out.push(key);
                }
            }
        }
    }
    out
}
