//! IAM roles, customer-managed policies and their attachments, all from one
//! paginated GetAccountAuthorizationDetails. Roles are owned through their
//! tags; policies, whose batched listing has no tags, through their path
//! `/vpcform/<stack>/<logical-name>/` (set at creation, as atomic as a tag).

use aws_sdk_iam::types::EntityType;
use serde_json::Value;
use vpcform_diff::{Conflict, TAG_STACK, policy_path};
use vpcform_topology::{Address, ResourceKind};

use crate::read::{Found, ReadCx, address_from_tags, object, opt_str, tags_value};
use crate::{Aws, AwsError};

pub(crate) async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
    let mut pages = aws
        .iam
        .get_account_authorization_details()
        .filter(EntityType::Role)
        .filter(EntityType::LocalManagedPolicy)
        .into_paginator()
        .send();
    let mut roles = Vec::new();
    let mut policies = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws.error("iam:GetAccountAuthorizationDetails", e))?;
        roles.extend(page.role_detail_list.unwrap_or_default());
        policies.extend(page.policies.unwrap_or_default());
    }
    let prefix = policy_path(cx.stack);
    let mut found = Found::default();
    let mut policy_names_by_arn = std::collections::HashMap::new();
    for p in &policies {
        let name = p.policy_name().unwrap_or_default();
        let arn = p.arn().unwrap_or_default();
        let path = p.path().unwrap_or("/");
        let Some(logical) = path
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix('/'))
            .filter(|l| !l.is_empty() && !l.contains('/'))
        else {
            if let Some(declared) = cx
                .topology
                .iam_policies
                .iter()
                .find(|d| d.spec.name.value == name)
            {
                found.conflicts.push(Conflict {
                    address: Address::new(ResourceKind::IamPolicy, declared.name.value.clone()),
                    id: arn.to_string(),
                    message: format!("an IAM policy named `{name}` exists at path `{path}`, outside stack `{}`'s path `{prefix}`; creating it would fail. Delete or rename it", cx.stack),
                });
            }
            continue;
        };
        policy_names_by_arn.insert(arn.to_string(), logical.to_string());
        let document = p
            .policy_version_list()
            .iter()
            .find(|v| v.is_default_version())
            .and_then(|v| v.document())
            .map_or(Value::Null, |d| Value::String(d.to_string()));
        found.objects.push(object(
            Address::new(ResourceKind::IamPolicy, logical),
            arn,
            vec![
                ("policy_name", Value::from(name)),
                ("path", Value::from(path)),
                ("description", opt_str(p.description())),
                ("policy_document", document),
                ("arn", Value::from(arn)),
            ],
        ));
    }
    for r in &roles {
        let name = r.role_name().unwrap_or_default();
        let tags: std::collections::BTreeMap<String, String> = r
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        if tags.get(TAG_STACK).map(String::as_str) != Some(cx.stack) {
            if let Some(declared) = cx
                .topology
                .iam_roles
                .iter()
                .find(|d| d.spec.name.value == name)
            {
                found.conflicts.push(Conflict {
                    address: Address::new(ResourceKind::IamRole, declared.name.value.clone()),
                    id: name.to_string(),
                    message: format!(
                        "an IAM role named `{name}` exists but is not owned by stack `{}` (no `{TAG_STACK}={}` tag); creating it would fail. Delete or rename it, or tag it to adopt it",
                        cx.stack, cx.stack
                    ),
                });
            }
            continue;
        }
        let address = address_from_tags(ResourceKind::IamRole, &tags, name);
        for attached in r.attached_managed_policies() {
            let Some(arn) = attached.policy_arn() else {
                continue;
            };
            let key = policy_names_by_arn
                .get(arn)
                .cloned()
                .unwrap_or_else(|| arn.to_string());
            found.objects.push(object(
                Address::keyed(
                    ResourceKind::IamRolePolicyAttachment,
                    address.name.clone(),
                    key,
                ),
                format!("{name}|{arn}"),
                vec![
                    ("role_name", Value::from(name)),
                    ("policy_arn", Value::from(arn)),
                ],
            ));
        }
        found.objects.push(object(
            address,
            name,
            vec![
                ("role_name", Value::from(name)),
                (
                    "assume_role_policy_document",
                    opt_str(r.assume_role_policy_document()),
                ),
                ("arn", Value::from(r.arn().unwrap_or_default())),
                ("tags", tags_value(&tags)),
            ],
        ));
    }
    Ok(found)
}
