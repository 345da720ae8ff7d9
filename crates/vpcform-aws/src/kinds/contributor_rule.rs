//! Contributor Insights rules. DescribeInsightRules lists every rule of the
//! region (no tags); the tagging API names the stack's. PutInsightRule
//! creates and overwrites alike, so a declared name someone else holds is
//! a conflict, never a silent takeover.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::ResourceKind;
use vpcform_topology::attr::{ARN, TAGS};
use vpcform_topology::kinds::contributor_rule::{RULE_DEFINITION, RULE_NAME, RULE_STATE};

use crate::apply::{attr, create_tags, id, outcome, required, tag_changes, unless_gone};
use crate::kind::{AwsKind, Read, Scan};
use crate::kinds::alarm::cloudwatch_tags;
use crate::read::{Found, ReadCx, name_conflict, placed, tagged, tags_value};
use crate::{Aws, AwsError};

const RESOURCE_TYPE: &str = "cloudwatch:insight-rule";

fn name_of(arn: &str) -> &str {
    arn.split_once(":insight-rule/").map_or(arn, |(_, n)| n)
}

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let adopting = cx
        .adopted_ids(ResourceKind::ContributorInsightsRule)
        .next()
        .is_some();
    // Adopted rules are not in the stack's listing: then every tagged rule is listed.
    let stack = (!adopting).then_some(cx.stack);
    let (tags_by_arn, rules) = tokio::try_join!(tagged(aws, stack, RESOURCE_TYPE), all_rules(aws))?;
    let by_name: HashMap<&str, (&String, &BTreeMap<String, String>)> = tags_by_arn
        .iter()
        .map(|(arn, tags)| (name_of(arn), (arn, tags)))
        .collect();
    let mut found = Found::default();
    let none = BTreeMap::new();
    for rule in rules {
        let name = rule.name().unwrap_or_default();
        let (arn, tags) = by_name
            .get(name)
            .map_or((None, &none), |(arn, tags)| (Some(arn.as_str()), *tags));
        let Some(place) = cx.place(
            ResourceKind::ContributorInsightsRule,
            tags,
            name,
            &mut found.conflicts,
        ) else {
            if !cx.adopts(ResourceKind::ContributorInsightsRule, name) {
                let declared = cx
                    .topology
                    .contributor_insights_rules
                    .iter()
                    .map(|d| (d.name.value.as_str(), d.spec.name.value.as_str()));
                let kind = ResourceKind::ContributorInsightsRule;
                found
                    .conflicts
                    .extend(name_conflict(cx, kind, declared, name, name, "creating it would overwrite it (PutInsightRule replaces a rule of the same name). Delete or rename it, or adopt it with `import-id`"));
            }
            continue;
        };
        found.objects.push(placed(
            place,
            name,
            vec![
                (RULE_NAME, Value::from(name)),
                (
                    RULE_DEFINITION,
                    Value::from(rule.definition().unwrap_or_default()),
                ),
                (RULE_STATE, Value::from(rule.state().unwrap_or_default())),
                (ARN, arn.map_or(Value::Null, Value::from)),
                (TAGS, tags_value(tags)),
            ],
        ));
    }
    Ok(found)
}

async fn all_rules(aws: &Aws) -> Result<Vec<aws_sdk_cloudwatch::types::InsightRule>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = aws
            .cloudwatch
            .describe_insight_rules()
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| aws.error("cloudwatch:DescribeInsightRules", e))?;
        out.extend(page.insight_rules().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// The rule body as text, as PutInsightRule takes it.
fn definition(op: &Operation) -> Result<String, AwsError> {
    match RULE_DEFINITION.get(&op.attrs) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ Value::Object(_)) => Ok(v.to_string()),
        _ => Err(AwsError::MissingAttr {
            address: op.address.to_string(),
            attr: RULE_DEFINITION.to_string(),
        }),
    }
}

async fn put(aws: &Aws, op: &Operation, tags: bool) -> Result<(), AwsError> {
    let mut call = aws
        .cloudwatch
        .put_insight_rule()
        .rule_name(required(op, RULE_NAME)?)
        .rule_state(attr(op, RULE_STATE).unwrap_or("ENABLED"))
        .rule_definition(definition(op)?);
    if tags {
        call = call.set_tags(Some(cloudwatch_tags(create_tags(op))));
    }
    call.send()
        .await
        .map_err(|e| aws.error("cloudwatch:PutInsightRule", e))?;
    Ok(())
}

/// A Contributor Insights rule (id: its name).
pub(crate) struct ContributorRule;

impl AwsKind for ContributorRule {
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    const SCAN: Scan = Scan::Never;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        put(aws, op, true).await?;
        Ok(outcome(required(op, RULE_NAME)?))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        if op.changed.iter().any(|c| c != TAGS.as_str()) {
            put(aws, op, false).await?;
        }
        update_tags(aws, op).await?;
        Ok(outcome(name))
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        update_tags(aws, op).await?;
        Ok(outcome(id(op)?))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        unless_gone(
            aws.cloudwatch
                .delete_insight_rules()
                .rule_names(name)
                .send()
                .await
                .map_err(|e| aws.error("cloudwatch:DeleteInsightRules", e)),
            name,
        )
    }
}

async fn update_tags(aws: &Aws, op: &Operation) -> Result<(), AwsError> {
    let (set, remove) = tag_changes(op);
    if set.is_empty() && remove.is_empty() {
        return Ok(());
    }
    let arn = match ARN.str(&op.before) {
        Some(arn) => arn.to_string(),
        None => built_arn(aws, op).await?,
    };
    tag_arn(aws, &arn, set, remove).await
}

/// An untagged rule's ARN (the tagging API does not list it): the account
/// comes from the ARN of a log group the rule reads.
async fn built_arn(aws: &Aws, op: &Operation) -> Result<String, AwsError> {
    let body: Value = serde_json::from_str(&definition(op)?).unwrap_or_default();
    let group = body["LogGroupNames"][0].as_str().unwrap_or_default();
    let groups = aws
        .logs
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .map_err(|e| aws.error("logs:DescribeLogGroups", e))?;
    let group_arn = groups
        .log_groups()
        .iter()
        .find_map(|g| g.arn())
        .unwrap_or_default();
    let parts: Vec<&str> = group_arn.split(':').collect();
    let (partition, account) = (parts.get(1).unwrap_or(&"aws"), parts.get(4).unwrap_or(&""));
    Ok(format!(
        "arn:{partition}:cloudwatch:{}:{account}:insight-rule/{}",
        aws.region(),
        id(op)?
    ))
}

/// Tags and untags a CloudWatch resource (an alarm, a rule) by ARN.
pub(crate) async fn tag_arn(
    aws: &Aws,
    arn: &str,
    set: BTreeMap<String, String>,
    remove: Vec<String>,
) -> Result<(), AwsError> {
    if !set.is_empty() {
        aws.cloudwatch
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(cloudwatch_tags(set)))
            .send()
            .await
            .map_err(|e| aws.error("cloudwatch:TagResource", e))?;
    }
    if !remove.is_empty() {
        aws.cloudwatch
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(remove))
            .send()
            .await
            .map_err(|e| aws.error("cloudwatch:UntagResource", e))?;
    }
    Ok(())
}
