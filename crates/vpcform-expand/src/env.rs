//! `environments:`: named value sets, each its own stack, region and credentials.

use vpcform_lang::diagnostic::{Diagnostic, Span, did_you_mean};
use vpcform_lang::yaml::{Node, NodeKind};

use crate::value::scalar_text;

/// An environment as declared.
#[derive(Clone, Debug)]
pub(crate) struct EnvDecl {
    pub name: String,
    pub span: Span,
    pub stack: Option<Node>,
    pub region: Option<Node>,
    pub profile: Option<String>,
    pub role_arn: Option<(String, Span)>,
    /// `values:` (a map of parameter → value).
    pub values: Option<Node>,
    /// `values-file:`, beside the topology.
    pub values_file: Option<(String, Span)>,
}

/// The environment a run uses: what the CLI needs to reach its account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Environment {
    pub name: String,
    pub stack: String,
    pub region: Option<String>,
    pub profile: Option<String>,
    /// A role to assume (with the profile's or the ambient credentials).
    pub role_arn: Option<String>,
}

const FIELDS: &[&str] = &[
    "stack",
    "region",
    "profile",
    "role-arn",
    "values",
    "values-file",
];

pub(crate) fn decode(node: &Node, diags: &mut Vec<Diagnostic>) -> Vec<EnvDecl> {
    let NodeKind::Map(entries) = &node.kind else {
        diags.push(Diagnostic::error(
            "environment-declaration",
            node.span,
            "`environments:` must be a map of name → settings",
        ));
        return Vec::new();
    };
    let mut out: Vec<EnvDecl> = Vec::new();
    for (key, body) in entries {
        let Some(name) = scalar_text(key) else {
            continue;
        };
        if !vpcform_lang::model::is_valid_name(&name) {
            diags.push(vpcform_lang::model::invalid_name(&name, key.span));
            continue;
        }
        if let Some(first) = out.iter().find(|e| e.name == name) {
            diags.push(
                Diagnostic::error(
                    "duplicate-key",
                    key.span,
                    format!("environment `{name}` is declared twice"),
                )
                .with_related(first.span, "first declared here"),
            );
            continue;
        }
        out.push(decode_one(name, key.span, body, diags));
    }
    out
}

fn decode_one(name: String, span: Span, body: &Node, diags: &mut Vec<Diagnostic>) -> EnvDecl {
    let mut env = EnvDecl {
        name,
        span,
        stack: None,
        region: None,
        profile: None,
        role_arn: None,
        values: None,
        values_file: None,
    };
    let NodeKind::Map(fields) = &body.kind else {
        if !matches!(body.kind, NodeKind::Null) {
            diags.push(Diagnostic::error(
                "environment-declaration",
                body.span,
                format!("environment `{}` must be a map of settings", env.name),
            ));
        }
        return env;
    };
    for (k, v) in fields {
        let field = scalar_text(k).unwrap_or_default();
        match field.as_str() {
            "stack" => env.stack = Some(v.clone()),
            "region" => env.region = Some(v.clone()),
            "profile" => env.profile = text(v, "profile", diags),
            "role-arn" => {
                env.role_arn = text(v, "role-arn", diags).map(|t| (t, v.span));
                if let Some((arn, span)) = &env.role_arn
                    && !is_role_arn(arn)
                {
                    diags.push(
                        Diagnostic::error(
                            "environment-declaration",
                            *span,
                            format!("`{arn}` is not an IAM role ARN"),
                        )
                        .with_help("write arn:aws:iam::ACCOUNT:role/NAME"),
                    );
                }
            }
            "values" => env.values = Some(v.clone()),
            "values-file" => env.values_file = text(v, "values-file", diags).map(|t| (t, v.span)),
            other => diags.push(
                Diagnostic::error(
                    "environment-declaration",
                    k.span,
                    format!("unknown field `{other}` in environment `{}`", env.name),
                )
                .with_help(match did_you_mean(other, FIELDS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("an environment has {}", FIELDS.join(", ")),
                }),
            ),
        }
    }
    env
}

fn text(v: &Node, field: &str, diags: &mut Vec<Diagnostic>) -> Option<String> {
    let t = v.as_str().map(str::to_string);
    if t.is_none() {
        diags.push(Diagnostic::error(
            "wrong-type",
            v.span,
            format!("`{field}` must be a string, found {}", v.type_name()),
        ));
    }
    t
}

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(parts.as_slice(), ["arn", partition, "iam", "", account, resource]
        if partition.starts_with("aws") && account.len() == 12 && account.chars().all(|c| c.is_ascii_digit()) && resource.starts_with("role/"))
}
