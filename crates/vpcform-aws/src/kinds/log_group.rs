//! CloudWatch log groups. DescribeLogGroups carries no tags, so ownership comes
//! from one Resource Groups Tagging API listing of the stack's log groups.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::TAGS;
use vpcform_topology::kinds::log_group::{KMS_KEY_ID, LOG_GROUP_NAME, RETENTION_IN_DAYS};

use crate::apply::{
    attr, attr_i64, changed, create_tags, id, or_own, outcome, owned_by, required, tag_changes,
    unless_gone,
};
use crate::kind::{AwsKind, Read, Scan};
use crate::read::{Found, ReadCx, opt_str, placed, tagged, tags_value, unowned_conflict};
use crate::{Aws, AwsError};

/// A log group's ARN without the `:*` that DescribeLogGroups appends.
fn bare_arn(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let (owned, groups) = tokio::try_join!(tagged(aws, Some(cx.stack), "logs"), all_groups(aws))?;
    let owned: HashMap<String, BTreeMap<String, String>> = owned
        .into_iter()
        .map(|(arn, tags)| (bare_arn(&arn).to_string(), tags))
        .collect();
    let mut found = Found::default();
    for group in groups {
        let name = group.log_group_name().unwrap_or_default();
        let arn = bare_arn(group.arn().unwrap_or_default());
        let adopted = cx.adopts(ResourceKind::LogGroup, name);
        let tags = match owned.get(arn) {
            Some(tags) => tags.clone(),
            // One call per adopted group not yet owned: its tags are not in the stack's listing.
            None if adopted => tags_of(aws, arn).await?,
            None => BTreeMap::new(),
        };
        match cx.place(ResourceKind::LogGroup, &tags, name, &mut found.conflicts) {
            Some(place) => found.objects.push(placed(
                place,
                name,
                vec![
                    (LOG_GROUP_NAME, Value::from(name)),
                    (
                        RETENTION_IN_DAYS,
                        group.retention_in_days().map_or(Value::Null, Value::from),
                    ),
                    (KMS_KEY_ID, opt_str(group.kms_key_id())),
                    (TAGS, tags_value(&tags)),
                ],
            )),
            None if !adopted => {
                let declared = cx
                    .topology
                    .log_groups
                    .iter()
                    .map(|d| (d.name.value.as_str(), d.spec.name.value.as_str()));
                found.conflicts.extend(unowned_conflict(
                    cx,
                    ResourceKind::LogGroup,
                    declared,
                    name,
                    name,
                ));
            }
            None => {}
        }
    }
    Ok(found)
}

async fn tags_of(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let tags = aws
        .logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws.error("logs:ListTagsForResource", e))?;
    Ok(tags
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

async fn all_groups(aws: &Aws) -> Result<Vec<aws_sdk_cloudwatchlogs::types::LogGroup>, AwsError> {
    let mut pages = aws.logs.describe_log_groups().into_paginator().send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("logs:DescribeLogGroups", e))?;
        out.extend(page.log_groups.unwrap_or_default());
    }
    Ok(out)
}

/// A CloudWatch Logs log group (id: its name).
pub(crate) struct LogGroup;

impl AwsKind for LogGroup {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    /// The log groups the imported flow logs write to.
    const SCAN: Scan = Scan::Through {
        from: &[(ResourceKind::FlowLog, LOG_GROUP_NAME)],
        id: |name| Some(name.to_string()),
    };

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = required(op, LOG_GROUP_NAME)?.to_string();
        let created = aws
            .logs
            .create_log_group()
            .log_group_name(&name)
            .set_kms_key_id(attr(op, KMS_KEY_ID).map(str::to_string))
            .set_tags(Some(create_tags(op).into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws.error("logs:CreateLogGroup", e));
        or_own(
            created.map(|_| name.clone()),
            &["ResourceAlreadyExistsException"],
            || async {
                let Some(arn) = arn_of(aws, &name).await? else {
                    return Ok(None);
                };
                let tags = tags_of(aws, &arn).await?;
                let ours = owned_by(op, |k| tags.get(k).map(String::as_str));
                Ok(ours.then(|| name.clone()))
            },
        )
        .await?;
        if let Some(days) = attr_i64(op, RETENTION_IN_DAYS) {
            set_retention(aws, &name, Some(days)).await?;
        }
        Ok(outcome(name))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        if changed(op, RETENTION_IN_DAYS) {
            set_retention(aws, name, attr_i64(op, RETENTION_IN_DAYS)).await?;
        }
        if changed(op, KMS_KEY_ID) {
            set_kms_key(aws, name, attr(op, KMS_KEY_ID)).await?;
        }
        update_tags(aws, name, op).await?;
        Ok(outcome(name))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        update_tags(aws, name, op).await?;
        Ok(outcome(name))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        unless_gone(
            aws.logs
                .delete_log_group()
                .log_group_name(name)
                .send()
                .await
                .map_err(|e| aws.error("logs:DeleteLogGroup", e)),
            name,
        )
    }
}

/// Encrypts new log events with `key`, or (none) with CloudWatch's own key again.
async fn set_kms_key(aws: &Aws, name: &str, key: Option<&str>) -> Result<(), AwsError> {
    match key {
        Some(key) => aws
            .logs
            .associate_kms_key()
            .log_group_name(name)
            .kms_key_id(key)
            .send()
            .await
            .map(drop)
            .map_err(|e| aws.error("logs:AssociateKmsKey", e)),
        None => aws
            .logs
            .disassociate_kms_key()
            .log_group_name(name)
            .send()
            .await
            .map(drop)
            .map_err(|e| aws.error("logs:DisassociateKmsKey", e)),
    }
}

async fn set_retention(aws: &Aws, name: &str, days: Option<i64>) -> Result<(), AwsError> {
    match days {
        Some(days) => aws
            .logs
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days as i32)
            .send()
            .await
            .map(drop)
            .map_err(|e| aws.error("logs:PutRetentionPolicy", e)),
        None => aws
            .logs
            .delete_retention_policy()
            .log_group_name(name)
            .send()
            .await
            .map(drop)
            .map_err(|e| aws.error("logs:DeleteRetentionPolicy", e)),
    }
}

/// The group's ARN (tags are set by ARN), if it exists.
async fn arn_of(aws: &Aws, name: &str) -> Result<Option<String>, AwsError> {
    let r = aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| aws.error("logs:DescribeLogGroups", e))?;
    Ok(r.log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .and_then(|g| g.arn())
        .map(|a| bare_arn(a).to_string()))
}

async fn update_tags(aws: &Aws, name: &str, op: &Operation) -> Result<(), AwsError> {
    let (set, remove) = tag_changes(op);
    if set.is_empty() && remove.is_empty() {
        return Ok(());
    }
    let arn = arn_of(aws, name).await?.unwrap_or_default();
    if !set.is_empty() {
        aws.logs
            .tag_resource()
            .resource_arn(&arn)
            .set_tags(Some(set.into_iter().collect()))
            .send()
            .await
            .map_err(|e| aws.error("logs:TagResource", e))?;
    }
    if !remove.is_empty() {
        aws.logs
            .untag_resource()
            .resource_arn(&arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| aws.error("logs:UntagResource", e))?;
    }
    Ok(())
}
