//! IAM roles, customer-managed policies and their attachments, all from one
//! paginated GetAccountAuthorizationDetails. Roles are owned through their
//! tags; policies, whose batched listing has no tags, through their path
//! `/vpcform/<stack>/<logical-name>/` (set at creation, as atomic as a tag).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_sdk_iam::types::EntityType;
use serde_json::Value;
use vpcform_diff::{Conflict, TAG_ADDRESS, TAG_STACK, policy_path_prefix};
use vpcform_exec::{Operation, Outcome};
use vpcform_topology::attr::{ARN, DESCRIPTION, TAGS};
use vpcform_topology::kinds::flow_log::DELIVER_LOGS_PERMISSION_ARN;
use vpcform_topology::kinds::iam::{
    ASSUME_ROLE_POLICY_DOCUMENT, PATH, POLICY_ARN, POLICY_DOCUMENT, POLICY_NAME, ROLE_NAME,
};
use vpcform_topology::{Address, ResourceKind};

use crate::apply::{
    attr, before_str, changed, create_tags, delete, desired_or_before, id, or_own, outcome,
    owned_by, required, retry, tag_changes, unless_gone,
};
use crate::kind::{AwsKind, Read, Scan};
use crate::read::{
    Found, ReadCx, concurrently, object, opt_str, placed, tags_value, unowned_conflict,
};
use crate::{Aws, AwsError};

async fn read(aws: &Aws, cx: &ReadCx<'_>) -> Result<Found, AwsError> {
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
    let mut found = Found::default();
    let tags = outside_policy_tags(aws, &policies, cx).await?;
    let policy_names_by_arn = read_policies(&policies, &tags, cx, &mut found);
    read_roles(&roles, &policy_names_by_arn, cx, &mut found);
    Ok(found)
}

/// The tags of policies outside the stack's path that hold a declared name:
/// adopted ones (owned by their tags once adopted) or conflicts.
async fn outside_policy_tags(
    aws: &Aws,
    policies: &[aws_sdk_iam::types::ManagedPolicyDetail],
    cx: &ReadCx<'_>,
) -> Result<HashMap<String, BTreeMap<String, String>>, AwsError> {
    let prefix = policy_path_prefix(cx.stack);
    let declared: Vec<&str> = cx
        .topology
        .iam_policies
        .iter()
        .map(|d| d.spec.name.value.as_str())
        .collect();
    let arns: Vec<&str> = policies
        .iter()
        .filter(|p| !p.path().unwrap_or("/").starts_with(&prefix))
        .filter_map(|p| p.arn())
        .filter(|arn| {
            declared.contains(&arn.rsplit('/').next().unwrap_or_default())
                || cx.adopts(ResourceKind::IamPolicy, arn)
        })
        .collect();
    // Collected first: a lazy map in the stream trips rustc's Send check (rust-lang/rust#64552).
    let reads: Vec<_> = arns
        .into_iter()
        .map(|arn| policy_tags(aws, arn.to_string()))
        .collect();
    Ok(concurrently(reads).await?.into_iter().collect())
}

async fn policy_tags(
    aws: &Aws,
    arn: String,
) -> Result<(String, BTreeMap<String, String>), AwsError> {
    let listed = aws
        .iam
        .list_policy_tags()
        .policy_arn(&arn)
        .send()
        .await
        .map_err(|e| aws.error("iam:ListPolicyTags", e))?;
    let tags = listed
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    Ok((arn, tags))
}

/// The stack's policies (owned by their path, or by their tags when
/// adopted), and each one's logical name by ARN.
fn read_policies(
    policies: &[aws_sdk_iam::types::ManagedPolicyDetail],
    outside: &HashMap<String, BTreeMap<String, String>>,
    cx: &ReadCx<'_>,
    found: &mut Found,
) -> HashMap<String, String> {
    let prefix = policy_path_prefix(cx.stack);
    let mut policy_names_by_arn = HashMap::new();
    for p in policies {
        let arn = p.arn().unwrap_or_default();
        // Some emulators leave PolicyName out; the ARN ends with it.
        let name = p
            .policy_name()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| arn.rsplit('/').next().unwrap_or_default());
        let path = p.path().unwrap_or("/");
        let by_path = path
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix('/'))
            .filter(|l| !l.is_empty() && !l.contains('/'))
            .map(|l| (Address::new(ResourceKind::IamPolicy, l), false));
        let by_tags = || {
            let tags = outside.get(arn)?;
            cx.place(ResourceKind::IamPolicy, tags, arn, &mut found.conflicts)
        };
        let Some((address, unowned)) = by_path.or_else(by_tags) else {
            let adopted = cx.adopts(ResourceKind::IamPolicy, arn);
            if let Some(declared) = cx
                .topology
                .iam_policies
                .iter()
                .find(|d| d.spec.name.value == name)
                .filter(|_| !adopted)
            {
                found.conflicts.push(Conflict {
                    address: Address::new(ResourceKind::IamPolicy, declared.name.value.clone()),
                    id: arn.to_string(),
                    message: format!("an IAM policy named `{name}` exists at path `{path}`, outside stack `{}`'s path `{prefix}`; creating it would fail. Delete or rename it", cx.stack),
                });
            }
            continue;
        };
        policy_names_by_arn.insert(arn.to_string(), address.name.clone());
        let document = p
            .policy_version_list()
            .iter()
            .find(|v| v.is_default_version())
            .and_then(|v| v.document())
            .map_or(Value::Null, |d| Value::String(d.to_string()));
        found.objects.push(placed(
            (address, unowned),
            arn,
            vec![
                (POLICY_NAME, Value::from(name)),
                (PATH, Value::from(path)),
                // No description reads as "" on some endpoints and as absent on others.
                (
                    DESCRIPTION,
                    opt_str(p.description().filter(|d| !d.is_empty())),
                ),
                (POLICY_DOCUMENT, document),
                (ARN, Value::from(arn)),
            ],
        ));
    }
    policy_names_by_arn
}

/// The stack's roles (owned by their tags) and their policy attachments.
fn read_roles(
    roles: &[aws_sdk_iam::types::RoleDetail],
    policy_names_by_arn: &HashMap<String, String>,
    cx: &ReadCx<'_>,
    found: &mut Found,
) {
    for r in roles {
        let name = r.role_name().unwrap_or_default();
        let tags: std::collections::BTreeMap<String, String> = r
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        let adopted = cx.adopts(ResourceKind::IamRole, name);
        let place = cx.place(ResourceKind::IamRole, &tags, name, &mut found.conflicts);
        let Some(place) = place else {
            if adopted {
                continue;
            }
            let declared = cx
                .topology
                .iam_roles
                .iter()
                .map(|d| (d.name.value.as_str(), d.spec.name.value.as_str()));
            found.conflicts.extend(unowned_conflict(
                cx,
                ResourceKind::IamRole,
                declared,
                name,
                name,
            ));
            continue;
        };
        let address = place.0.clone();
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
                    (ROLE_NAME, Value::from(name)),
                    (POLICY_ARN, Value::from(arn)),
                ],
            ));
        }
        found.objects.push(placed(
            place,
            name,
            vec![
                (ROLE_NAME, Value::from(name)),
                (
                    ASSUME_ROLE_POLICY_DOCUMENT,
                    opt_str(r.assume_role_policy_document()),
                ),
                (ARN, Value::from(r.arn().unwrap_or_default())),
                (TAGS, tags_value(&tags)),
            ],
        ));
    }
}

/// An adopted policy keeps its path, so its ownership is in its tags.
async fn tag_policy(aws: &Aws, op: &Operation) -> Result<(), AwsError> {
    let mut tags = BTreeMap::from([
        (TAG_STACK.to_string(), op.stack.clone()),
        (TAG_ADDRESS.to_string(), op.address.tag_value()),
    ]);
    if let Some(hash) = &op.config_hash {
        tags.insert(vpcform_diff::TAG_CONFIG.to_string(), hash.clone());
    }
    aws.iam
        .tag_policy()
        .policy_arn(id(op)?)
        .set_tags(Some(iam_tags(tags)))
        .send()
        .await
        .map_err(|e| aws.error("iam:TagPolicy", e))?;
    Ok(())
}

fn document_text(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => "{}".into(),
    }
}

fn iam_tags(tags: BTreeMap<String, String>) -> Vec<aws_sdk_iam::types::Tag> {
    tags.into_iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

/// IAM is eventually consistent: a principal or role just made may not be usable for seconds.
fn propagating(e: &AwsError) -> bool {
    crate::apply::is_code(e, &["MalformedPolicyDocument", "NoSuchEntity"])
        && e.message().contains("principal")
}

/// The result of an IAM create or update: the id, and the ARN others refer to.
fn with_arn(id: &str, arn: &str) -> Outcome {
    let mut out = outcome(id);
    out.attrs.insert(ARN.into(), Value::from(arn));
    out
}

/// A customer-managed policy (id: its ARN).
pub(crate) struct IamPolicy;

impl AwsKind for IamPolicy {
    /// Policies, roles and attachments come from one GetAccountAuthorizationDetails.
    const READ: Read = Read::Own(|aws, cx| Box::pin(read(aws, cx)));
    /// The customer-managed policies attached to the imported roles
    /// (AWS-managed ones cannot be declared).
    const SCAN: Scan = Scan::Through {
        from: &[(ResourceKind::IamRolePolicyAttachment, POLICY_ARN)],
        id: |arn| (!arn.contains(":aws:policy/")).then(|| arn.to_string()),
    };

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (name, path) = (required(op, POLICY_NAME)?, attr(op, PATH).unwrap_or("/"));
        let created = aws
            .iam
            .create_policy()
            .policy_name(name)
            .path(path)
            .set_description(attr(op, DESCRIPTION).map(str::to_string))
            .policy_document(document_text(POLICY_DOCUMENT.get(&op.attrs)))
            .set_tags(Some(iam_tags(create_tags(op))))
            .send()
            .await
            .map_err(|e| aws.error("iam:CreatePolicy", e));
        let created = created.map(|c| {
            c.policy()
                .and_then(|p| p.arn())
                .unwrap_or_default()
                .to_string()
        });
        // The stack's path makes a policy of that name ours.
        let arn = or_own(created, &["EntityAlreadyExists"], || async {
            let listed = aws
                .iam
                .list_policies()
                .scope(aws_sdk_iam::types::PolicyScopeType::Local)
                .path_prefix(path)
                .send()
                .await
                .map_err(|e| aws.error("iam:ListPolicies", e))?;
            let found = listed.policies().iter().find(|p| {
                p.path() == Some(path) && p.arn().is_some_and(|a| a.ends_with(&format!("/{name}")))
            });
            Ok(found.and_then(|p| p.arn()).map(str::to_string))
        })
        .await?;
        Ok(with_arn(&arn, &arn))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let arn = id(op)?;
        drop_oldest_version(aws, arn).await?;
        aws.iam
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(document_text(POLICY_DOCUMENT.get(&op.attrs)))
            .set_as_default(true)
            .send()
            .await
            .map_err(|e| aws.error("iam:CreatePolicyVersion", e))?;
        Ok(with_arn(arn, arn))
    }

    /// A policy's ownership is its path, set at creation; there is nothing to retag.
    async fn adopt(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        tag_policy(aws, op).await?;
        match op.changed.is_empty() {
            true => Self::retag(aws, op).await,
            false => Self::update(aws, op).await,
        }
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        Ok(outcome(id(op)?))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let arn = id(op)?;
        if let Ok(versions) = aws.iam.list_policy_versions().policy_arn(arn).send().await {
            for v in versions
                .versions()
                .iter()
                .filter(|v| !v.is_default_version())
            {
                if let Some(version) = v.version_id() {
                    aws.iam
                        .delete_policy_version()
                        .policy_arn(arn)
                        .version_id(version)
                        .send()
                        .await
                        .map_err(|e| aws.error("iam:DeletePolicyVersion", e))?;
                }
            }
        }
        unless_gone(
            aws.iam
                .delete_policy()
                .policy_arn(arn)
                .send()
                .await
                .map_err(|e| aws.error("iam:DeletePolicy", e)),
            arn,
        )
    }
}

/// IAM keeps at most five versions: drop the oldest non-default one first.
async fn drop_oldest_version(aws: &Aws, arn: &str) -> Result<(), AwsError> {
    let versions = aws
        .iam
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| aws.error("iam:ListPolicyVersions", e))?;
    if versions.versions().len() < 5 {
        return Ok(());
    }
    let mut old: Vec<_> = versions
        .versions()
        .iter()
        .filter(|v| !v.is_default_version())
        .collect();
    old.sort_by_key(|v| v.create_date().map(|d| d.secs()));
    if let Some(oldest) = old.first().and_then(|v| v.version_id()) {
        aws.iam
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(oldest)
            .send()
            .await
            .map_err(|e| aws.error("iam:DeletePolicyVersion", e))?;
    }
    Ok(())
}

/// An IAM role (id: its name).
pub(crate) struct IamRole;

impl AwsKind for IamRole {
    const READ: Read = Read::With(ResourceKind::IamPolicy);
    /// The delivery roles of the imported flow logs.
    const SCAN: Scan = Scan::Through {
        from: &[(ResourceKind::FlowLog, DELIVER_LOGS_PERMISSION_ARN)],
        id: |arn| {
            arn.rsplit_once(":role/").map(|(_, path_and_name)| {
                path_and_name
                    .rsplit('/')
                    .next()
                    .unwrap_or(path_and_name)
                    .to_string()
            })
        },
    };

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = required(op, ROLE_NAME)?;
        let trust = document_text(ASSUME_ROLE_POLICY_DOCUMENT.get(&op.attrs));
        let created = retry(
            &format!("creating role {name}"),
            Duration::from_secs(60),
            propagating,
            || async {
                aws.iam
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(&trust)
                    .set_description(attr(op, DESCRIPTION).map(str::to_string))
                    .set_tags(Some(iam_tags(create_tags(op))))
                    .send()
                    .await
                    .map_err(|e| aws.error("iam:CreateRole", e))
            },
        )
        .await;
        let created = created.map(|c| c.role().map(|r| r.arn()).unwrap_or_default().to_string());
        let arn = or_own(created, &["EntityAlreadyExists"], || async {
            let existing = aws
                .iam
                .get_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| aws.error("iam:GetRole", e))?;
            let role = existing.role();
            let tag = |k: &str| {
                role.and_then(|r| r.tags().iter().find(|t| t.key() == k))
                    .map(|t| t.value())
            };
            Ok(owned_by(op, tag).then(|| role.map(|r| r.arn()).unwrap_or_default().to_string()))
        })
        .await?;
        Ok(with_arn(name, &arn))
    }

    async fn update(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        if changed(op, ASSUME_ROLE_POLICY_DOCUMENT) {
            let trust = document_text(ASSUME_ROLE_POLICY_DOCUMENT.get(&op.attrs));
            retry(
                &format!("updating the trust of role {name}"),
                Duration::from_secs(60),
                propagating,
                || async {
                    aws.iam
                        .update_assume_role_policy()
                        .role_name(name)
                        .policy_document(&trust)
                        .send()
                        .await
                        .map_err(|e| aws.error("iam:UpdateAssumeRolePolicy", e))
                },
            )
            .await?;
        }
        IamRole::retag(aws, op).await
    }

    async fn retag(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        let (set, remove) = tag_changes(op);
        if !set.is_empty() {
            aws.iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(iam_tags(set)))
                .send()
                .await
                .map_err(|e| aws.error("iam:TagRole", e))?;
        }
        if !remove.is_empty() {
            aws.iam
                .untag_role()
                .role_name(name)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .map_err(|e| aws.error("iam:UntagRole", e))?;
        }
        let arn = before_str(op, ARN)
            .or_else(|| attr(op, ARN))
            .unwrap_or_default();
        Ok(with_arn(name, arn))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let name = id(op)?;
        delete("role", name, || async {
            aws.iam
                .delete_role()
                .role_name(name)
                .send()
                .await
                .map_err(|e| aws.error("iam:DeleteRole", e))
        })
        .await
    }
}

/// A policy attached to a role (id `role|policy-arn`); nothing changes in place.
pub(crate) struct PolicyAttachment;

impl PolicyAttachment {
    fn target(op: &Operation) -> Result<(String, String), AwsError> {
        Ok((
            desired_or_before(op, ROLE_NAME)?,
            desired_or_before(op, POLICY_ARN)?,
        ))
    }
}

impl AwsKind for PolicyAttachment {
    const READ: Read = Read::With(ResourceKind::IamPolicy);
    const SCAN: Scan = Scan::WithContainer;

    async fn create(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (role, arn) = PolicyAttachment::target(op)?;
        aws.iam
            .attach_role_policy()
            .role_name(&role)
            .policy_arn(&arn)
            .send()
            .await
            .map_err(|e| aws.error("iam:AttachRolePolicy", e))?;
        Ok(outcome(format!("{role}|{arn}")))
    }

    async fn update(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (role, arn) = PolicyAttachment::target(op)?;
        Ok(outcome(format!("{role}|{arn}")))
    }

    async fn retag(_: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (role, arn) = PolicyAttachment::target(op)?;
        Ok(outcome(format!("{role}|{arn}")))
    }

    async fn delete(aws: &Aws, op: &Operation) -> Result<Outcome, AwsError> {
        let (role, arn) = PolicyAttachment::target(op)?;
        unless_gone(
            aws.iam
                .detach_role_policy()
                .role_name(&role)
                .policy_arn(&arn)
                .send()
                .await
                .map_err(|e| aws.error("iam:DetachRolePolicy", e)),
            format!("{role}|{arn}"),
        )
    }
}
