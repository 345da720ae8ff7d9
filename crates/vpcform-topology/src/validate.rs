//! Semantic checks over the decoded topology: the name index that checks
//! references, and the driver that runs each kind's rules (in `kinds/`) and
//! the cross-kind rules (in `rules/`).

use std::collections::HashMap;

use crate::address::ResourceKind;
use crate::decode::Cx;
use crate::diagnostic::{Diagnostic, Span, did_you_mean};
use crate::model::{At, Named, Ref};

/// Every declared logical name and what it names.
pub(crate) struct NameIndex<'t> {
    names: HashMap<&'t str, (ResourceKind, Span)>,
}

impl<'t> NameIndex<'t> {
    /// From every declared name (`Topology::declared`), reporting duplicates.
    pub(crate) fn build(declared: &'t [(At<String>, ResourceKind)], cx: &mut Cx) -> Self {
        let mut names: HashMap<&'t str, (ResourceKind, Span)> = HashMap::new();
        for (name, kind) in declared {
            if let Some((first_kind, first_span)) = names.get(name.value.as_str()) {
                cx.push(
                    Diagnostic::error(
                        "duplicate-name",
                        name.span,
                        format!(
                            "the logical name `{}` is already used by {}",
                            name.value,
                            first_kind.article_name()
                        ),
                    )
                    .with_related(*first_span, "first used here")
                    .with_help(
                        "logical names are unique across the whole topology; rename one of them",
                    ),
                );
            } else {
                names.insert(&name.value, (*kind, name.span));
            }
        }
        NameIndex { names }
    }

    pub(crate) fn kind_of(&self, name: &str) -> Option<ResourceKind> {
        self.names.get(name).map(|(k, _)| *k)
    }

    /// Checks that `r` names a resource of kind `want`; reports and returns false otherwise.
    pub(crate) fn check(&self, r: &Ref, want: ResourceKind, field: &str, cx: &mut Cx) -> bool {
        match self.names.get(r.value.as_str()) {
            Some((kind, _)) if *kind == want => true,
            Some((kind, span)) => {
                cx.push(
                    Diagnostic::error(
                        "wrong-reference-kind",
                        r.span,
                        format!(
                            "`{}` is {}, but `{field}` must name {}",
                            r.value,
                            kind.article_name(),
                            want.article_name()
                        ),
                    )
                    .with_related(*span, format!("`{}` is declared here", r.value))
                    .with_help(self.candidates_help(want)),
                );
                false
            }
            None => {
                let candidates = self.names_of(want);
                let mut d = Diagnostic::error(
                    "undefined-reference",
                    r.span,
                    format!(
                        "`{field}` refers to `{}`, but no {} has that name",
                        r.value,
                        want.article_name()
                            .split_once(' ')
                            .map_or(want.as_str(), |(_, noun)| noun)
                    ),
                );
                let siblings = same_shape(&r.value, &candidates);
                if !siblings.is_empty() {
                    // An instance key that does not exist: name the ones that do.
                    d = d.with_help(format!("the instances declared: {}", siblings.join(", ")));
                } else if let Some(s) = did_you_mean(&r.value, candidates.iter().copied()) {
                    d = d
                        .with_label(format!("did you mean `{s}`?"))
                        .with_help(format!("replace it with `{s}`"));
                } else {
                    d = d.with_help(self.candidates_help(want));
                }
                cx.push(d);
                false
            }
        }
    }

    pub(crate) fn check_any(&self, r: &Ref, cx: &mut Cx) -> bool {
        if self.names.contains_key(r.value.as_str()) {
            return true;
        }
        let mut d = Diagnostic::error(
            "undefined-reference",
            r.span,
            format!(
                "`depends-on` refers to `{}`, which is not declared",
                r.value
            ),
        );
        if let Some(s) = did_you_mean(&r.value, self.names.keys().copied()) {
            d = d
                .with_label(format!("did you mean `{s}`?"))
                .with_help(format!("replace it with `{s}`"));
        }
        cx.push(d);
        false
    }

    fn names_of(&self, kind: ResourceKind) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .names
            .iter()
            .filter(|(_, (k, _))| *k == kind)
            .map(|(n, _)| *n)
            .collect();
        names.sort_unstable();
        names
    }

    fn candidates_help(&self, kind: ResourceKind) -> String {
        let names = self.names_of(kind);
        if names.is_empty() {
            format!("declare {} first", kind.article_name())
        } else {
            let shown: Vec<String> = names.iter().take(8).map(|n| format!("`{n}`")).collect();
            let more = if names.len() > 8 { ", ..." } else { "" };
            format!("declared names of this kind: {}{more}", shown.join(", "))
        }
    }
}

pub(crate) fn by_name<T>(items: &[Named<T>]) -> HashMap<&str, &Named<T>> {
    items.iter().map(|n| (n.name.value.as_str(), n)).collect()
}

/// Declared AWS names of a kind AWS knows by name: a second declaration of
/// one is `code`, pointing at the first.
pub(crate) struct UniqueNames<'t> {
    seen: HashMap<&'t str, Span>,
    code: &'static str,
    /// `alarm`, `SNS topic`: the message's words before "name".
    what: String,
    /// Where the names are unique, for the help.
    help: String,
}

impl<'t> UniqueNames<'t> {
    pub(crate) fn new(
        code: &'static str,
        what: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        UniqueNames {
            seen: HashMap::new(),
            code,
            what: what.into(),
            help: help.into(),
        }
    }

    pub(crate) fn check(&mut self, name: &'t At<String>, cx: &mut Cx) {
        let Some(first) = self.seen.insert(&name.value, name.span) else {
            return;
        };
        cx.push(
            Diagnostic::error(
                self.code,
                name.span,
                format!("{} name `{}` is declared twice", self.what, name.value),
            )
            .with_related(first, "first declared here")
            .with_help(self.help.clone()),
        );
    }
}

/// For kinds identified by name (log groups, roles) or by ARN (policies):
/// the adopted object's name must be the declared one.
pub(crate) fn check_import_name(import_id: Option<&At<String>>, name: &At<String>, cx: &mut Cx) {
    let Some(id) = import_id else { return };
    use crate::attr::IdShape;
    let adopted = if IdShape::PolicyArn.admits(&id.value) {
        id.value.rsplit('/').next().unwrap_or_default()
    } else if IdShape::TopicArn.admits(&id.value) {
        id.value.rsplit(':').next().unwrap_or_default()
    } else {
        id.value.as_str()
    };
    if adopted != name.value {
        cx.push(
            Diagnostic::error(
                "import-name-mismatch",
                id.span,
                format!(
                    "this adopts `{adopted}`, but the declaration names `{}`",
                    name.value
                ),
            )
            .with_related(name.span, "declared name")
            .with_help("an adopted object keeps its name: declare the name it has"),
        );
    }
}

/// The names that differ from `name` only in their instance keys
/// (`spoke[z].app` → `spoke[a].app`, `spoke[b].app`), at most ten.
fn same_shape<'n>(name: &str, candidates: &[&'n str]) -> Vec<&'n str> {
    if !name.contains('[') {
        return Vec::new();
    }
    let shape = |text: &str| -> String {
        let mut out = String::with_capacity(text.len());
        let mut in_key = false;
        for c in text.chars() {
            match c {
                '[' => {
                    in_key = true;
                    out.push_str("[*");
                }
                ']' => {
                    in_key = false;
                    out.push(']');
                }
                c if !in_key => out.push(c),
                _ => {}
            }
        }
        out
    };
    let wanted = shape(name);
    candidates
        .iter()
        .copied()
        .filter(|c| shape(c) == wanted)
        .take(10)
        .collect()
}
