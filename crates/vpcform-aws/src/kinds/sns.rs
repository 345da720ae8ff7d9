//! SNS topics and their subscriptions. The stack's topics come from one
//! tagging-API listing; each owned topic costs GetTopicAttributes and
//! ListSubscriptionsByTopic. ListTopics finds a declared name someone
//! else already holds (CreateTopic would hand that topic back).

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::attr::TAGS;
use vpcform_topology::kinds::sns::{DISPLAY_NAME, ENDPOINT, PROTOCOL, TOPIC_ARN, TOPIC_NAME};
use vpcform_topology::{Address, ResourceKind};

use crate::apply::{attr, changed, create_tags, id, outcome, required, tag_changes, unless_gone};
use crate::kind::{AwsKind, Read, Scan};
use crate::read::{Found, ReadCx, concurrently, name_conflict, object, placed, tagged, tags_value};
use crate::{Aws, AwsError};

/// A topic's name: the last part of its ARN.
fn name_of(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let (mut owned, all) =
        tokio::try_join!(tagged(aws, Some(cx.stack), "sns:topic"), all_topics(aws))?;
    let mut found = Found::default();
    let adopted: Vec<String> = cx
        .adopted_ids(ResourceKind::SnsTopic)
        .map(str::to_string)
        .collect();
    for arn in &adopted {
        if !owned.contains_key(arn) && all.contains(arn) {
            owned.insert(arn.clone(), tags_of(aws, arn).await?);
        }
    }
    let topics = concurrently(owned.into_iter().map(|(arn, tags)| async move {
        let details = describe(aws, &arn).await?;
        Ok((arn, tags, details))
    }))
    .await?;
    let mut mine = HashSet::new();
    for (arn, tags, details) in topics {
        let Some((display, subscriptions)) = details else {
            continue; // Deleted since the tagging index saw it.
        };
        let Some(place) = cx.place(ResourceKind::SnsTopic, &tags, &arn, &mut found.conflicts)
        else {
            continue;
        };
        mine.insert(arn.clone());
        for s in subscriptions {
            found.objects.push(subscription(&place.0, &arn, s));
        }
        found.objects.push(placed(
            place,
            &arn,
            vec![
                (TOPIC_NAME, Value::from(name_of(&arn))),
                (DISPLAY_NAME, display.map_or(Value::Null, Value::from)),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
    for arn in all
        .iter()
        .filter(|a| !mine.contains(*a) && !cx.adopts(ResourceKind::SnsTopic, a))
    {
        let declared = cx
            .topology
            .sns_topics
            .iter()
            .map(|d| (d.name.value.as_str(), d.spec.name.value.as_str()));
        let why = "CreateTopic would hand it back as if vpcform had made it. Delete or rename it, or adopt it with `import-id: ARN`";
        let kind = ResourceKind::SnsTopic;
        found
            .conflicts
            .extend(name_conflict(cx, kind, declared, name_of(arn), arn, why));
    }
    Ok(found)
}

fn subscription(
    topic: &Address,
    arn: &str,
    s: aws_sdk_sns::types::Subscription,
) -> vpcform_diff::LiveObject {
    let protocol = s.protocol().unwrap_or_default();
    let endpoint = s.endpoint().unwrap_or_default();
    object(
        Address::keyed(
            ResourceKind::SnsSubscription,
            &topic.name,
            format!("{protocol}:{endpoint}"),
        ),
        s.subscription_arn().unwrap_or_default(),
        vec![
            (TOPIC_ARN, Value::from(arn)),
            (PROTOCOL, Value::from(protocol)),
            (ENDPOINT, Value::from(endpoint)),
        ],
    )
}

type Details = Option<(Option<String>, Vec<aws_sdk_sns::types::Subscription>)>;

/// A topic's display name and subscriptions; `None` when it is gone.
async fn describe(aws: &Aws, arn: &str) -> Result<Details, AwsError> {
    let attrs = match aws.sns.get_topic_attributes().topic_arn(arn).send().await {
        Ok(a) => a,
        Err(e) => {
            let e = aws.error("sns:GetTopicAttributes", e);
            return match is_not_found(&e) {
                true => Ok(None),
                false => Err(e),
            };
        }
    };
    let display = attrs
        .attributes()
        .and_then(|a| a.get("DisplayName"))
        .filter(|d| !d.is_empty())
        .cloned();
    let mut subscriptions = Vec::new();
    let mut pages = aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(arn)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("sns:ListSubscriptionsByTopic", e))?;
        subscriptions.extend(page.subscriptions.unwrap_or_default());
    }
    Ok(Some((display, subscriptions)))
}

fn is_not_found(e: &AwsError) -> bool {
    crate::apply::gone(e) || crate::apply::is_code(e, &["NotFound"])
}

async fn all_topics(aws: &Aws) -> Result<HashSet<String>, AwsError> {
    let mut pages = aws.sns.list_topics().into_paginator().send();
    let mut out = HashSet::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("sns:ListTopics", e))?;
        out.extend(
            page.topics()
                .iter()
                .filter_map(|t| t.topic_arn())
                .map(str::to_string),
        );
    }
    Ok(out)
}

async fn tags_of(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>, AwsError> {
    let r = aws
        .sns
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .map_err(|e| aws.error("sns:ListTagsForResource", e))?;
    Ok(r.tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

fn sns_tags(tags: BTreeMap<String, String>) -> Vec<aws_sdk_sns::types::Tag> {
    tags.into_iter()
        .filter_map(|(k, v)| {
            aws_sdk_sns::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

/// An SNS topic (id: its ARN).
pub(crate) struct SnsTopic;

impl AwsKind for SnsTopic {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::Never;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let mut call = aws
            .sns
            .create_topic()
            .name(required(op, TOPIC_NAME)?)
            .set_tags(Some(sns_tags(create_tags(op))));
        if let Some(display) = attr(op, DISPLAY_NAME) {
            call = call.attributes("DisplayName", display);
        }
        let created = call
            .send()
            .await
            .map_err(|e| aws.error("sns:CreateTopic", e))?;
        Ok(outcome(created.topic_arn().unwrap_or_default()))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let arn = id(op)?;
        if changed(op, DISPLAY_NAME) {
            aws.sns
                .set_topic_attributes()
                .topic_arn(arn)
                .attribute_name("DisplayName")
                .attribute_value(attr(op, DISPLAY_NAME).unwrap_or_default())
                .send()
                .await
                .map_err(|e| aws.error("sns:SetTopicAttributes", e))?;
        }
        update_tags(aws, arn, op).await?;
        Ok(outcome(arn))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let arn = id(op)?;
        update_tags(aws, arn, op).await?;
        Ok(outcome(arn))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let arn = id(op)?;
        unless_gone(
            aws.sns
                .delete_topic()
                .topic_arn(arn)
                .send()
                .await
                .map_err(|e| aws.error("sns:DeleteTopic", e)),
            arn,
        )
    }
}

async fn update_tags(aws: &Aws, arn: &str, op: &Operation) -> Result<(), AwsError> {
    let (set, remove) = tag_changes(op);
    if !set.is_empty() {
        aws.sns
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sns_tags(set)))
            .send()
            .await
            .map_err(|e| aws.error("sns:TagResource", e))?;
    }
    if !remove.is_empty() {
        aws.sns
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| aws.error("sns:UntagResource", e))?;
    }
    Ok(())
}

/// A subscription (id: its ARN, or `PendingConfirmation` for an email
/// address that has not confirmed: AWS gives no ARN to unsubscribe with
/// and removes such a subscription itself after three days).
pub(crate) struct SubscriptionKind;

const PENDING: &str = "PendingConfirmation";

impl AwsKind for SubscriptionKind {
    const READ: Read = Read::With(ResourceKind::SnsTopic);
    const SCAN: Scan = Scan::WithContainer;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let made = aws
            .sns
            .subscribe()
            .topic_arn(required(op, TOPIC_ARN)?)
            .protocol(required(op, PROTOCOL)?)
            .endpoint(required(op, ENDPOINT)?)
            .return_subscription_arn(true)
            .send()
            .await
            .map_err(|e| aws.error("sns:Subscribe", e))?;
        Ok(outcome(made.subscription_arn().unwrap_or(PENDING)))
    }

    /// Every attribute replaces a subscription: nothing to update in place.
    async fn update(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let arn = id(op)?;
        if !arn.starts_with("arn:") {
            tracing::warn!(
                "{} has not confirmed, so AWS gives no ARN to unsubscribe it; AWS removes it within three days",
                op.address
            );
            return Ok(outcome(arn));
        }
        unless_gone(
            aws.sns
                .unsubscribe()
                .subscription_arn(arn)
                .send()
                .await
                .map_err(|e| aws.error("sns:Unsubscribe", e)),
            arn,
        )
    }
}
