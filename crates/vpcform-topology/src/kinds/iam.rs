//! IAM policies, roles, and a role's policy attachments (an implicit object
//! of the role). Both kinds are global by name; AWS reads them together.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde_json::Value;

use crate::address::{Address, ResourceKind};
use crate::attr::{ARN, DESCRIPTION, TAGS};
use crate::decode::{Cx, Fields, FromNode, common_fields};
use crate::derived;
use crate::diagnostic::Diagnostic;
use crate::emit::{Map, Yaml};
use crate::export::cx::{ExportCx, Observed};
use crate::graph::Builder;
use crate::kind::{
    Attr, AttrSpec, Compare, Declared, Desired, DesiredAttrs, DesiredCx, IdShape, Kind,
    ReplaceOrder,
};
use crate::model::{At, Named, Ref, Tags};
use crate::registry::Topology;
use crate::validate::{NameIndex, UniqueNames};
use crate::yaml::Node;

pub const POLICY_NAME: Attr = Attr::new("policy_name");
pub const PATH: Attr = Attr::new("path");
pub const POLICY_DOCUMENT: Attr = Attr::new("policy_document");
pub const ROLE_NAME: Attr = Attr::new("role_name");
pub const ASSUME_ROLE_POLICY_DOCUMENT: Attr = Attr::new("assume_role_policy_document");
pub const POLICY_ARN: Attr = Attr::new("policy_arn");

/// The path vpcform gives an IAM policy: `/vpcform/<stack>/<logical name>/`.
/// It marks ownership (and the address) where AWS's batched policy listing
/// carries no tags, and is set in the create call like a tag.
pub fn policy_path(stack: &str, logical_name: &str) -> String {
    format!("{}{logical_name}/", policy_path_prefix(stack))
}

/// The declared path; else an adopted policy keeps the path of its ARN (a
/// path cannot change); vpcform's own carry the stack's path.
fn desired_path(p: &IamPolicy, stack: &str, logical_name: &str) -> String {
    match (&p.path, &p.import_id) {
        (Some(path), _) => path.value.clone(),
        (None, Some(arn)) => arn_path(&arn.value),
        (None, None) => policy_path(stack, logical_name),
    }
}

/// The path in a policy ARN: `arn:aws:iam::1:policy/a/b/Name` → `/a/b/`.
fn arn_path(arn: &str) -> String {
    let after = arn.split_once(":policy").map_or("", |(_, rest)| rest);
    match after.rfind('/') {
        Some(end) if end > 0 => format!("{}/", &after[..end]),
        _ => "/".into(),
    }
}

/// The path prefix of all IAM policies of a stack.
pub fn policy_path_prefix(stack: &str) -> String {
    format!("/vpcform/{stack}/")
}

/// A customer-managed IAM policy.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IamPolicy {
    pub name: At<String>,
    pub description: Option<At<String>>,
    /// The policy's IAM path, e.g. `/`, for an adopted policy (a path
    /// cannot change); omit for vpcform's own, which carry the stack's path.
    #[schemars(with = "Option<String>")]
    pub path: Option<At<String>>,
    /// The policy document, written as YAML (`Version`, `Statement`).
    #[schemars(with = "serde_json::Value")]
    pub document: At<serde_json::Value>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

/// An IAM role. Exactly one of `trusted-services` and `assume-role-policy`.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IamRole {
    pub name: At<String>,
    pub description: Option<At<String>>,
    /// Service principals allowed to assume the role, e.g. `vpc-flow-logs.amazonaws.com`.
    #[schemars(default)]
    pub trusted_services: Vec<At<String>>,
    /// A full trust policy document, written as YAML.
    #[schemars(with = "Option<serde_json::Value>")]
    pub assume_role_policy: Option<At<serde_json::Value>>,
    /// Logical names of IAM policies to attach.
    #[schemars(default)]
    pub policies: Vec<Ref>,
    #[schemars(default)]
    pub tags: Tags,
    #[schemars(default)]
    pub depends_on: Vec<Ref>,
    /// The AWS id of an existing object this declaration adopts (`vpcform import` writes it).
    #[schemars(with = "Option<String>")]
    pub import_id: Option<At<String>>,
}

impl Kind for IamPolicy {
    const KIND: ResourceKind = ResourceKind::IamPolicy;
    const NAME_IS_IDENTITY: bool = true;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(POLICY_NAME, Compare::Exact),
        AttrSpec::replace(PATH, Compare::Exact),
        AttrSpec::replace(DESCRIPTION, Compare::Exact),
        AttrSpec::update(POLICY_DOCUMENT, Compare::Policy),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let p = cx.index.iam_policies.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (POLICY_NAME, Desired::known(p.name.value.clone())),
            (PATH, Desired::known(desired_path(p, cx.stack, &a.name))),
            (DESCRIPTION, Desired::optional(p.description.as_ref())),
            (POLICY_DOCUMENT, Desired::Known(p.document.value.clone())),
        ]))
    }
}

impl Declared for IamPolicy {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let name = f.required("name", cx);
        let description = f.maybe("description", cx);
        let path = f.maybe("path", cx);
        let document = f.required("document", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        f.finish(cx);
        Some(IamPolicy {
            name: name?,
            description: description.ok()?,
            path: path.ok()?,
            document: document?,
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, _: &NameIndex<'_>, cx: &mut Cx) {
        let mut seen = UniqueNames::new(
            "duplicate-iam-name",
            "IAM policy",
            "IAM policy names are unique in an account",
        );
        for p in items {
            check_iam_name(&p.spec.name, "policy", &mut seen, cx);
            crate::validate::check_import_name(p.spec.import_id.as_ref(), &p.spec.name, cx);
            if let Some(path) = p
                .spec
                .path
                .as_ref()
                .filter(|p| !(p.value.starts_with('/') && p.value.ends_with('/')))
            {
                cx.push(
                    Diagnostic::error(
                        "invalid-value",
                        path.span,
                        format!("`{}` is not an IAM path", path.value),
                    )
                    .with_help("an IAM path starts and ends with `/`, e.g. `/` or `/team/`"),
                );
            }
            check_document(&p.spec.document, false, cx);
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        for r in items {
            b.node(
                Address::new(ResourceKind::IamPolicy, &r.name.value),
                r.name.span,
            );
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::PolicyArn;

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = Some(POLICY_NAME);

    fn export(o: &Observed, _: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        m.set("name", o.str(POLICY_NAME)?);
        m.maybe("description", o.str(DESCRIPTION).filter(|d| !d.is_empty()));
        // Written even when it is `/`: without it, a policy no longer
        // adopted would be planned at the stack's path, a replacement.
        m.set("path", o.str(PATH).unwrap_or("/"));
        let document = crate::decode_policy_document(o.get(POLICY_DOCUMENT)?);
        m.set("document", Yaml::from(&document));
        Some(m)
    }
}

impl Kind for IamRole {
    const KIND: ResourceKind = ResourceKind::IamRole;
    const NAME_IS_IDENTITY: bool = true;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(ROLE_NAME, Compare::Exact),
        AttrSpec::update(DESCRIPTION, Compare::Unread),
        AttrSpec::update(ASSUME_ROLE_POLICY_DOCUMENT, Compare::Policy),
        crate::attr::TAGS_SPEC,
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let r = cx.index.iam_roles.get(a.name.as_str())?;
        Some(DesiredAttrs::from([
            (ROLE_NAME, Desired::known(r.name.value.clone())),
            (DESCRIPTION, Desired::optional(r.description.as_ref())),
            (
                ASSUME_ROLE_POLICY_DOCUMENT,
                Desired::Known(Topology::role_trust_document(r)),
            ),
            (TAGS, cx.tags(a, &r.tags)),
        ]))
    }
}

impl Declared for IamRole {
    fn decode(node: &Node, what: &str, cx: &mut Cx) -> Option<Self> {
        let mut f = Fields::new(node, what, cx)?;
        let name = f.required("name", cx);
        let description = f.maybe("description", cx);
        let services = f.take("trusted-services").map(|n| match &n.kind {
            // A single service may be written without a list.
            crate::yaml::NodeKind::Str(_) => At::<String>::from_node(n, cx).map(|s| vec![s]),
            _ => Vec::<At<String>>::from_node(n, cx),
        });
        let document = f.maybe("assume-role-policy", cx);
        let policies = f.maybe("policies", cx);
        let (tags, deps, import_id) = common_fields(&mut f, cx);
        let span = f.span();
        f.finish(cx);
        let services = services.unwrap_or(Some(Vec::new()))?;
        let document: Option<At<Value>> = document.ok()?;
        if services.is_empty() == document.is_none() {
            cx.push(
                Diagnostic::error(
                    "role-trust",
                    span,
                    format!(
                        "{what} needs exactly one of `trusted-services` and `assume-role-policy`"
                    ),
                )
                .with_help("e.g. `trusted-services: [vpc-flow-logs.amazonaws.com]`"),
            );
            return None;
        }
        Some(IamRole {
            name: name?,
            description: description.ok()?,
            trusted_services: services,
            assume_role_policy: document,
            policies: policies.ok()?.unwrap_or_default(),
            tags: tags?,
            depends_on: deps?,
            import_id: import_id?,
        })
    }

    fn validate(items: &[Named<Self>], _: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
        let mut seen = UniqueNames::new(
            "duplicate-iam-name",
            "IAM role",
            "IAM role names are unique in an account",
        );
        for r in items {
            check_iam_name(&r.spec.name, "role", &mut seen, cx);
            crate::validate::check_import_name(r.spec.import_id.as_ref(), &r.spec.name, cx);
            if let Some(doc) = &r.spec.assume_role_policy {
                check_document(doc, true, cx);
            }
            for s in &r.spec.trusted_services {
                if !s.value.contains('.') {
                    cx.push(
                        Diagnostic::error(
                            "invalid-service-principal",
                            s.span,
                            format!("`{}` is not a service principal", s.value),
                        )
                        .with_help("service principals look like `vpc-flow-logs.amazonaws.com`"),
                    );
                }
            }
            let mut attached = HashSet::new();
            for p in &r.spec.policies {
                if index.check(p, ResourceKind::IamPolicy, "policies", cx)
                    && !attached.insert(p.value.as_str())
                {
                    cx.push(
                        Diagnostic::error(
                            "duplicate-attachment",
                            p.span,
                            format!("policy `{}` is attached twice", p.value),
                        )
                        .with_help("remove the repeated entry"),
                    );
                }
            }
        }
    }

    fn add_to_graph(items: &[Named<Self>], _: &Topology, b: &mut Builder) {
        use ResourceKind as K;
        for r in items {
            b.node(Address::new(K::IamRole, &r.name.value), r.name.span);
            for p in &r.spec.policies {
                let att = b.node(
                    Address::keyed(K::IamRolePolicyAttachment, &r.name.value, &p.value),
                    p.span,
                );
                b.edge(att, Address::new(K::IamRole, &r.name.value));
                b.edge(att, Address::new(K::IamPolicy, &p.value));
            }
        }
    }

    fn depends_on(&self) -> &[Ref] {
        &self.depends_on
    }

    const IMPORT_ID: IdShape = IdShape::Name;

    fn import_id(&self) -> Option<&At<String>> {
        self.import_id.as_ref()
    }

    const AWS_NAME: Option<Attr> = Some(ROLE_NAME);

    fn export(o: &Observed, cx: &mut ExportCx) -> Option<Map> {
        let mut m = Map::new();
        m.set("name", o.str(ROLE_NAME)?);
        m.maybe("description", o.str(DESCRIPTION).filter(|d| !d.is_empty()));
        let trust = o
            .get(ASSUME_ROLE_POLICY_DOCUMENT)
            .map(crate::decode_policy_document)
            .unwrap_or(Value::Null);
        match trusted_services_only(&trust) {
            Some(services) => m.list(
                "trusted-services",
                services.into_iter().map(Yaml::from).collect(),
            ),
            None => m.set("assume-role-policy", Yaml::from(&trust)),
        };
        let mut policies = Vec::new();
        for a in o.children_of(ResourceKind::IamRolePolicyAttachment) {
            let Some(arn) = POLICY_ARN.str(a) else {
                continue;
            };
            match cx.name_of(ResourceKind::IamPolicy, arn) {
                Some(name) => policies.push(Yaml::from(name)),
                None => cx.leave_out(
                    &o.id,
                    format!("the attached policy {arn}"),
                    "AWS-managed policies are not declared; it stays attached",
                ),
            }
        }
        m.list("policies", policies);
        Some(m)
    }
}

/// A policy attached to a role (address key: the policy's logical name).
#[derive(Debug)]
pub struct PolicyAttachment;

impl Kind for PolicyAttachment {
    const KIND: ResourceKind = ResourceKind::IamRolePolicyAttachment;
    const ATTRS: &'static [AttrSpec] = &[
        AttrSpec::replace(ROLE_NAME, Compare::Exact),
        AttrSpec::replace(POLICY_ARN, Compare::Id),
    ];

    fn replace_order(_: &[Attr]) -> ReplaceOrder {
        ReplaceOrder::DeleteFirst
    }

    fn desired(a: &Address, cx: &DesiredCx<'_>) -> Option<DesiredAttrs> {
        let policy = a.key.as_deref()?;
        let r = cx.index.iam_roles.get(a.name.as_str())?;
        if !r.policies.iter().any(|p| p.value == policy) {
            return None;
        }
        Some(DesiredAttrs::from([
            (ROLE_NAME, Desired::known(r.name.value.clone())),
            (
                POLICY_ARN,
                Desired::Ref(Address::new(ResourceKind::IamPolicy, policy), ARN),
            ),
        ]))
    }
}

fn check_iam_name<'t>(
    name: &'t At<String>,
    what: &'static str,
    seen: &mut UniqueNames<'t>,
    cx: &mut Cx,
) {
    let valid = !name.value.is_empty()
        && name.value.len() <= if what == "role" { 64 } else { 128 }
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if !valid {
        cx.push(
            Diagnostic::error("invalid-iam-name", name.span, format!("`{}` is not a valid IAM {what} name", name.value))
                .with_help("use letters, digits and +=,.@_- (at most 64 characters for roles, 128 for policies)"),
        );
    }
    seen.check(name, cx);
}

fn check_document(doc: &At<Value>, trust: bool, cx: &mut Cx) {
    let what = if trust {
        "trust policy"
    } else {
        "policy document"
    };
    let problem = |cx: &mut Cx, message: String| {
        cx.push(
            Diagnostic::error("invalid-policy-document", doc.span, message)
                .with_help("a policy document has `Version: \"2012-10-17\"` and a `Statement` list whose entries have `Effect` (Allow or Deny) and `Action`"),
        );
    };
    if !doc.value.is_object() {
        problem(cx, format!("the {what} must be a mapping"));
        return;
    }
    if let Some(v) = doc.value.get("Version")
        && v != "2012-10-17"
        && v != "2008-10-17"
    {
        problem(cx, format!("the {what} has an unknown Version {v}"));
    }
    let statements = derived::statements(&doc.value);
    if statements.is_empty() {
        problem(cx, format!("the {what} has no Statement"));
    }
    for s in statements {
        match s.get("Effect").and_then(Value::as_str) {
            Some("Allow" | "Deny") => {}
            _ => problem(
                cx,
                format!("a statement of the {what} needs `Effect: Allow` or `Effect: Deny`"),
            ),
        }
        if derived::string_or_list(s.get("Action")).is_empty() && s.get("NotAction").is_none() {
            problem(cx, format!("a statement of the {what} has no `Action`"));
        }
        if trust && s.get("Principal").is_none() {
            problem(cx, format!("a statement of the {what} has no `Principal`"));
        }
    }
}

/// The services of a trust policy that only lets services assume the role
/// (what `trusted-services` writes), or `None` for anything richer.
fn trusted_services_only(document: &Value) -> Option<Vec<String>> {
    let statements = match document.get("Statement")? {
        Value::Array(items) => items.as_slice(),
        single => std::slice::from_ref(single),
    };
    let mut services = Vec::new();
    for s in statements {
        let fields = s.as_object()?;
        let plain = fields
            .keys()
            .all(|k| ["Effect", "Principal", "Action", "Sid"].contains(&k.as_str()));
        let assume = crate::string_or_list(fields.get("Action")) == ["sts:AssumeRole"];
        let principal = fields.get("Principal")?.as_object()?;
        if !plain
            || fields.get("Effect")? != "Allow"
            || !assume
            || principal.keys().any(|k| k != "Service")
        {
            return None;
        }
        services.extend(
            crate::string_or_list(principal.get("Service"))
                .into_iter()
                .map(str::to_string),
        );
    }
    (!services.is_empty()).then_some(services)
}

impl Topology {
    /// The trust document of a role as AWS stores it.
    pub fn role_trust_document(role: &IamRole) -> Value {
        if let Some(doc) = &role.assume_role_policy {
            return doc.value.clone();
        }
        let services: Vec<Value> = role
            .trusted_services
            .iter()
            .map(|s| Value::String(s.value.clone()))
            .collect();
        let service = if services.len() == 1 {
            services[0].clone()
        } else {
            Value::Array(services)
        };
        serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": { "Service": service },
                "Action": "sts:AssumeRole"
            }]
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_path_of_a_policy_arn() {
        assert_eq!(super::arn_path("arn:aws:iam::1:policy/Name"), "/");
        assert_eq!(super::arn_path("arn:aws:iam::1:policy/a/b/Name"), "/a/b/");
    }
}
