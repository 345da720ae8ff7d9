//! A `waivers:` entry as written: below the policy checks that judge it.

use schemars::JsonSchema;

use crate::decode::{Cx, Fields, list_of};
use crate::diagnostic::Span;
use crate::model::At;
use crate::yaml::Node;

/// A finding accepted knowingly.
#[derive(Clone, Debug, PartialEq, JsonSchema)]
#[schemars(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Waiver {
    /// The rule's id: checkov's (`CKV_AWS_24`) or trivy's (`AVD-AWS-0107`).
    #[schemars(with = "String")]
    pub rule: At<String>,
    /// The declaration it covers, e.g. `security-group.instance-1-sg` (its rules too).
    #[schemars(with = "String")]
    pub resource: At<String>,
    /// Why the finding is accepted; every plan shows it.
    #[schemars(with = "String")]
    pub reason: At<String>,
    /// `YYYY-MM-DD`: from this day on the waiver is an error.
    #[schemars(with = "Option<String>")]
    pub expires: Option<At<String>>,
    #[schemars(skip)]
    pub span: Span,
}

pub(crate) fn decode(node: &Node, cx: &mut Cx) -> Option<Vec<Waiver>> {
    list_of(node, cx, |n, cx| {
        let mut f = Fields::new(n, "a waiver", cx)?;
        let rule = f.required("rule", cx);
        let resource = f.required("resource", cx);
        let reason = f.required("reason", cx);
        let expires = f.maybe("expires", cx);
        let span = f.span();
        f.finish(cx);
        Some(Waiver {
            rule: rule?,
            resource: resource?,
            reason: reason?,
            expires: expires.ok()?,
            span,
        })
    })
}
