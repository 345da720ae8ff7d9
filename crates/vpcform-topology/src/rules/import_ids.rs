//! `import-id`: each has its kind's shape, and no object is adopted twice.

use std::collections::HashMap;

use crate::decode::Cx;
use crate::diagnostic::{Diagnostic, Span};
use crate::registry::Topology;

pub(crate) fn check(t: &Topology, cx: &mut Cx) {
    let mut seen: HashMap<&str, (Span, String)> = HashMap::new();
    for import in t.imports() {
        let id = import.id;
        if import.shape == crate::attr::IdShape::NotAdoptable {
            cx.push(
                Diagnostic::error(
                    "not-adoptable",
                    id.span,
                    format!(
                        "{} cannot be adopted: AWS keeps no tags on it, so vpcform could not tell it is the stack's",
                        import.address.kind.article_name()
                    ),
                )
                .with_help("drop `import-id`: vpcform creates its own (a metric filter or saved query under a name that records the stack, a dashboard under its declared name, which must not be in use); delete the old one by hand once the new one works"),
            );
            continue;
        }
        if !import.shape.admits(&id.value) {
            cx.push(
                Diagnostic::error(
                    "invalid-import-id",
                    id.span,
                    format!(
                        "`{}` is not the id of {}",
                        id.value,
                        import.address.kind.article_name()
                    ),
                )
                .with_help(format!("write it as `{}`", import.shape.example())),
            );
            continue;
        }
        let here = import.address.to_string();
        if let Some((first, by)) = seen.insert(&id.value, (id.span, here.clone())) {
            cx.push(
                Diagnostic::error(
                    "duplicate-import-id",
                    id.span,
                    format!("`{}` is adopted by both `{by}` and `{here}`", id.value),
                )
                .with_related(first, "first adopted here")
                .with_help("an object can be adopted by one declaration only"),
            );
        }
    }
}
