//! CloudWatch log groups. DescribeLogGroups carries no tags, so ownership comes
//! from one Resource Groups Tagging API listing of the stack's log groups.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_resourcegroupstagging::types::TagFilter;
use serde_json::Value;
use vpcform_diff::TAG_STACK;
use vpcform_topology::ResourceKind;

use crate::read::{Found, ReadCx, address_from_tags, object, tags_value, unowned_conflict};
use crate::{Aws, AwsError};

/// A log group's ARN without the `:*` that DescribeLogGroups appends.
fn bare_arn(arn: &str) -> &str {
    arn.strip_suffix(":*").unwrap_or(arn)
}

pub(crate) async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let (owned, groups) = tokio::try_join!(owned_tags(aws, cx.stack), all_groups(aws))?;
    let mut found = Found::default();
    for group in groups {
        let name = group.log_group_name().unwrap_or_default();
        let arn = bare_arn(group.arn().unwrap_or_default());
        match owned.get(arn) {
            Some(tags) => found.objects.push(object(
                address_from_tags(ResourceKind::LogGroup, tags, name),
                name,
                vec![
                    ("log_group_name", Value::from(name)),
                    (
                        "retention_in_days",
                        group.retention_in_days().map_or(Value::Null, Value::from),
                    ),
                    ("tags", tags_value(tags)),
                ],
            )),
            None => {
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
        }
    }
    Ok(found)
}

async fn owned_tags(
    aws: &Aws,
    stack: &str,
) -> Result<HashMap<String, BTreeMap<String, String>>, AwsError> {
    let mut pages = aws
        .tagging
        .get_resources()
        .tag_filters(TagFilter::builder().key(TAG_STACK).values(stack).build())
        .resource_type_filters("logs")
        .into_paginator()
        .send();
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
            out.insert(bare_arn(arn).to_string(), tags);
        }
    }
    Ok(out)
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

pub(crate) async fn apply(
    aws: &Aws,
    op: &vpcform_exec::Operation,
) -> Result<vpcform_exec::Outcome, AwsError> {
    use vpcform_exec::Verb;

    use crate::apply::{attr, attr_i64, changed, create_tags, id, outcome, tag_changes};
    let set_retention = |name: String, days: Option<i64>| async move {
        match days {
            Some(days) => aws
                .logs
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(days as i32)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws.error("logs:PutRetentionPolicy", e)),
            None => aws
                .logs
                .delete_retention_policy()
                .log_group_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws.error("logs:DeleteRetentionPolicy", e)),
        }
    };
    let arn_of = |name: String| async move {
        let r = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(&name)
            .send()
            .await
            .map_err(|e| aws.error("logs:DescribeLogGroups", e))?;
        Ok::<_, AwsError>(
            r.log_groups()
                .iter()
                .find(|g| g.log_group_name() == Some(name.as_str()))
                .and_then(|g| g.arn())
                .map(|a| bare_arn(a).to_string()),
        )
    };
    match op.verb {
        Verb::Create => {
            let name = attr(op, "log_group_name").unwrap_or_default().to_string();
            let created = aws
                .logs
                .create_log_group()
                .log_group_name(&name)
                .set_tags(Some(create_tags(op).into_iter().collect()))
                .send()
                .await
                .map_err(|e| aws.error("logs:CreateLogGroup", e));
            crate::apply::or_own(
                created.map(|_| name.clone()),
                &["ResourceAlreadyExistsException"],
                || async {
                    let Some(arn) = arn_of(name.clone()).await? else {
                        return Ok(None);
                    };
                    let tags = aws
                        .logs
                        .list_tags_for_resource()
                        .resource_arn(arn)
                        .send()
                        .await
                        .map_err(|e| aws.error("logs:ListTagsForResource", e))?;
                    let ours = crate::apply::owned_by(op, |k| {
                        tags.tags().and_then(|t| t.get(k)).map(String::as_str)
                    });
                    Ok(ours.then(|| name.clone()))
                },
            )
            .await?;
            if let Some(days) = attr_i64(op, "retention_in_days") {
                set_retention(name.clone(), Some(days)).await?;
            }
            Ok(outcome(name))
        }
        Verb::Update | Verb::Retag => {
            let name = id(op)?.to_string();
            if op.verb == Verb::Update && changed(op, "retention_in_days") {
                set_retention(name.clone(), attr_i64(op, "retention_in_days")).await?;
            }
            let (set, remove) = if op.verb == Verb::Retag {
                (
                    op.config_hash
                        .iter()
                        .map(|h| (vpcform_diff::TAG_CONFIG.to_string(), h.clone()))
                        .collect(),
                    Vec::new(),
                )
            } else {
                tag_changes(op)
            };
            if !set.is_empty() || !remove.is_empty() {
                let arn = arn_of(name.clone()).await?.unwrap_or_default();
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
            }
            Ok(outcome(name))
        }
        Verb::Delete => {
            let name = id(op)?;
            crate::apply::unless_gone(
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
}
