//! The provider: performs the executor's operations against AWS. Each kind's
//! create/update/delete lives in that kind's module under `kinds/`, reached
//! through the registry; this file holds what they share (attributes, tags,
//! bounded retries, deletes that tolerate "gone").

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;
use vpcform_diff::{TAG_CONFIG, is_metadata_tag};
use vpcform_exec::{BoxFuture, Operation, Outcome, Provider, StepError, Verb};
use vpcform_topology::{Attr, attr};

use crate::{Aws, AwsError};

impl Provider for Aws {
    fn execute(&self, op: Operation) -> BoxFuture<'_, Result<Outcome, StepError>> {
        Box::pin(async move {
            tracing::info!(address = %op.address, verb = %op.verb, "applying");
            crate::registry::apply(self, &op)
                .await
                .map_err(|e| StepError::new(e.to_string()))
        })
    }
}

/// A desired string attribute.
pub(crate) fn attr(op: &Operation, name: Attr) -> Option<&str> {
    name.str(&op.attrs)
}

/// A string attribute the plan must give: never sent to AWS as `""`.
pub(crate) fn required(op: &Operation, name: Attr) -> Result<&str, AwsError> {
    attr(op, name).ok_or_else(|| AwsError::MissingAttr {
        address: op.address.to_string(),
        attr: name.to_string(),
    })
}

pub(crate) fn attr_i64(op: &Operation, name: Attr) -> Option<i64> {
    name.get(&op.attrs).and_then(Value::as_i64)
}

pub(crate) fn attr_bool(op: &Operation, name: Attr) -> Option<bool> {
    name.get(&op.attrs).and_then(Value::as_bool)
}

/// A live string attribute, as planned.
pub(crate) fn before_str(op: &Operation, name: Attr) -> Option<&str> {
    name.str(&op.before)
}

/// An implicit object's attribute: desired, or (for deletes) as it was read.
pub(crate) fn desired_or_before(op: &Operation, name: Attr) -> Result<String, AwsError> {
    let value = if op.verb == Verb::Delete {
        before_str(op, name)
    } else {
        attr(op, name)
    };
    value
        .map(str::to_string)
        .ok_or_else(|| AwsError::MissingAttr {
            address: op.address.to_string(),
            attr: name.to_string(),
        })
}

/// The live id an update, delete or retag acts on.
pub(crate) fn id(op: &Operation) -> Result<&str, AwsError> {
    op.id.as_deref().ok_or_else(|| AwsError::MissingId {
        operation: format!("{} {}", op.verb, op.address),
    })
}

pub(crate) fn changed(op: &Operation, name: Attr) -> bool {
    op.changed.iter().any(|c| *c == name)
}

/// The tags to set at creation: the declared ones, ownership, and the config hash.
pub(crate) fn create_tags(op: &Operation) -> BTreeMap<String, String> {
    let mut tags: BTreeMap<String, String> = attr::TAGS
        .get(&op.attrs)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    // Remember which keys came from the declaration (not ownership or bookkeeping).
    let declared: Vec<&str> = tags
        .keys()
        .map(String::as_str)
        .filter(|k| !k.starts_with("vpcform:"))
        .collect();
    if !declared.is_empty() || attr::TAGS.get(&op.attrs).is_some() {
        let lists = vpcform_diff::managed_list_tags(declared);
        tags.extend(lists);
    }
    if let Some(hash) = &op.config_hash {
        tags.insert(TAG_CONFIG.into(), hash.clone());
    }
    tags
}

/// Tags to add or change, and keys to remove: for a retag only the
/// declaration hash, for an update the difference with the live tags.
pub(crate) fn tag_changes(op: &Operation) -> (BTreeMap<String, String>, Vec<String>) {
    if op.verb == Verb::Retag {
        let config = op
            .config_hash
            .iter()
            .map(|h| (TAG_CONFIG.to_string(), h.clone()))
            .collect();
        return (config, Vec::new());
    }
    let desired = create_tags(op);
    let live: BTreeMap<String, String> = attr::TAGS
        .get(&op.before)
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let set = desired
        .iter()
        .filter(|(k, v)| live.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // A continuation of `vpcform:tags` no longer needed goes too.
    let remove = live
        .keys()
        .filter(|k| !desired.contains_key(*k) && !k.starts_with("aws:"))
        .filter(|k| !is_metadata_tag(k) || vpcform_diff::is_managed_list_tag(k))
        .cloned()
        .collect();
    (set, remove)
}

/// EC2's TagSpecification for a create call: ownership is set atomically with the object.
pub(crate) fn ec2_tag_spec(
    resource: aws_sdk_ec2::types::ResourceType,
    op: &Operation,
) -> aws_sdk_ec2::types::TagSpecification {
    let mut spec = aws_sdk_ec2::types::TagSpecification::builder().resource_type(resource);
    for (k, v) in create_tags(op) {
        spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
    }
    spec.build()
}

/// Applies tag changes to an EC2 object (updates and retags).
pub(crate) async fn update_ec2_tags(aws: &Aws, id: &str, op: &Operation) -> Result<(), AwsError> {
    let (set, remove) = tag_changes(op);
    if !set.is_empty() {
        let mut call = aws.ec2.create_tags().resources(id);
        for (k, v) in set {
            call = call.tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
        }
        call.send()
            .await
            .map_err(|e| aws.error("ec2:CreateTags", e))?;
    }
    if !remove.is_empty() {
        let mut call = aws.ec2.delete_tags().resources(id);
        for k in remove {
            call = call.tags(aws_sdk_ec2::types::Tag::builder().key(k).build());
        }
        call.send()
            .await
            .map_err(|e| aws.error("ec2:DeleteTags", e))?;
    }
    Ok(())
}

/// An update or retag of an EC2 object whose only in-place attribute is its tags.
pub(crate) async fn update_tags_only(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
    let object = id(op)?;
    update_ec2_tags(aws, object, op).await?;
    Ok(outcome(object))
}

/// Retries `call` while `retryable` says so, with exponential backoff, for at most `limit`.
/// `what` says what is being waited for, in the log.
pub(crate) async fn retry<T, F, Fut>(
    what: &str,
    limit: Duration,
    retryable: impl Fn(&AwsError) -> bool,
    mut call: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        match call().await {
            Err(e) if retryable(&e) && started.elapsed() + delay < limit => {
                tracing::info!(
                    "{what}: {} (retrying in {:.1}s)",
                    e.message(),
                    delay.as_secs_f64()
                );
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(10));
            }
            other => return other,
        }
    }
}

/// Polls `check` until it returns `Some`, for at most `limit`.
pub(crate) async fn wait_for<T, F, Fut>(
    what: &str,
    limit: Duration,
    mut check: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Option<T>, AwsError>>,
{
    let started = Instant::now();
    let mut delay = Duration::from_millis(250);
    loop {
        if let Some(v) = check().await? {
            return Ok(v);
        }
        if started.elapsed() > limit {
            return Err(AwsError::WaitTimeout {
                what: what.to_string(),
                seconds: limit.as_secs(),
            });
        }
        tracing::info!("waiting: {what}");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

pub(crate) fn is_code(e: &AwsError, codes: &[&str]) -> bool {
    e.code().is_some_and(|c| codes.contains(&c))
}

/// `DependencyViolation` while ENIs drain after instance termination, for a few minutes.
pub(crate) fn dependency_violation(e: &AwsError) -> bool {
    is_code(
        e,
        &[
            "DependencyViolation",
            "DeleteConflict",
            "InvalidGroup.InUse",
        ],
    )
}

pub(crate) const DELETE_RETRY: Duration = Duration::from_secs(180);

pub(crate) fn outcome(id: impl Into<String>) -> Outcome {
    Outcome {
        id: id.into(),
        attrs: BTreeMap::new(),
    }
}

/// Deletes `what` with `call`, retrying while AWS still sees dependents
/// (ENIs draining after termination) and accepting an object already gone
/// (an earlier interrupted run).
pub(crate) async fn delete<T, F, Fut>(what: &str, id: &str, call: F) -> Result<Outcome, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, AwsError>>,
{
    unless_gone(
        retry(
            &format!("deleting {what} {id}"),
            DELETE_RETRY,
            dependency_violation,
            call,
        )
        .await,
        id,
    )
}

/// A delete's result, counting "not found" as done (an earlier run deleted it).
pub(crate) fn unless_gone<T>(
    result: Result<T, AwsError>,
    id: impl Into<String>,
) -> Result<Outcome, AwsError> {
    match result {
        Err(e) if !gone(&e) => Err(e),
        _ => Ok(outcome(id)),
    }
}

/// Deletes tolerate objects that are already gone (an earlier interrupted run).
pub(crate) fn gone(e: &AwsError) -> bool {
    e.code().is_some_and(|c| {
        c.ends_with(".NotFound") || c == "NoSuchEntity" || c == "ResourceNotFoundException"
    })
}

/// An idempotency token for one create operation: unique per run and object,
/// reused by the SDK's own retries of the same call.
pub(crate) fn client_token(op: &Operation) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    vpcform_diff::short_hash(&(op.address.to_string(), nanos, std::process::id()))
}

/// Whether an object found under a name we tried to create carries this
/// operation's ownership tags (so it is ours, from an earlier attempt).
pub(crate) fn owned_by<'t>(op: &Operation, tag: impl Fn(&str) -> Option<&'t str>) -> bool {
    tag(vpcform_diff::TAG_STACK) == Some(op.stack.as_str())
        && tag(vpcform_diff::TAG_ADDRESS) == Some(op.address.tag_value().as_str())
}

/// EC2 filters that find this operation's own object by its ownership tags.
pub(crate) fn own_filters(op: &Operation) -> Vec<aws_sdk_ec2::types::Filter> {
    use crate::read::tag_filter;
    vec![
        tag_filter(vpcform_diff::TAG_STACK, op.stack.clone()),
        tag_filter(vpcform_diff::TAG_ADDRESS, op.address.tag_value()),
    ]
}

/// A create AWS takes no idempotency token for (CreateVpc, CreateSubnet,
/// CreateInternetGateway, CreateVpcPeeringConnection, AllocateAddress):
/// `send` must make the call with the SDK's retries off. After an answer
/// that leaves open whether AWS acted (a timeout, a lost connection, a 5xx),
/// the object is looked up by the ownership tags its create carried before
/// anything is sent again; throttling (AWS did not act) waits and resends.
pub(crate) async fn create_once<S, SFut, F, FFut>(
    what: &str,
    send: S,
    find_own: F,
) -> Result<String, AwsError>
where
    S: Fn() -> SFut,
    SFut: Future<Output = Result<String, AwsError>>,
    F: Fn() -> FFut,
    FFut: Future<Output = Result<Option<String>, AwsError>>,
{
    let mut delay = Duration::from_millis(500);
    let mut last = None;
    for _ in 0..CREATE_ATTEMPTS {
        match send().await {
            Ok(id) => return Ok(id),
            Err(e) if e.is_ambiguous() => {
                tracing::warn!(
                    "{what}: {e}; looking it up by its ownership tags before sending again"
                );
                if let Some(id) = find_own().await? {
                    tracing::warn!("{what}: the earlier attempt had made {id}; it is used");
                    return Ok(id);
                }
                last = Some(e);
            }
            Err(e) if e.is_throttling() => last = Some(e),
            Err(e) => return Err(e),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(8));
    }
    Err(last.unwrap_or_else(|| AwsError::WaitTimeout {
        what: what.to_string(),
        seconds: 0,
    }))
}

/// How often a create without a token is sent at most.
const CREATE_ATTEMPTS: usize = 5;

/// Per-call configuration for a create without a token: the SDK never resends it.
pub(crate) fn no_retries() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default()
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
}

/// The filters that find what this operation's own create made: its stack,
/// address and declaration hash, as the create call tagged it (an object
/// being replaced under the same address has another hash).
pub(crate) fn created_filters(op: &Operation) -> Vec<aws_sdk_ec2::types::Filter> {
    let mut filters = own_filters(op);
    if let Some(hash) = create_tags(op).get(TAG_CONFIG) {
        filters.push(crate::read::tag_filter(TAG_CONFIG, hash.clone()));
    }
    filters
}

/// A create's result, unless AWS refused it as a duplicate (`codes`) of an
/// object our own earlier attempt made (its answer lost, the call retried):
/// then that object's id, as `find_own` finds it by its ownership tags.
pub(crate) async fn or_own<Fut>(
    result: Result<String, AwsError>,
    codes: &[&str],
    find_own: impl FnOnce() -> Fut,
) -> Result<String, AwsError>
where
    Fut: Future<Output = Result<Option<String>, AwsError>>,
{
    match result {
        Err(e) if is_code(&e, codes) => find_own().await?.ok_or(e),
        other => other,
    }
}
