//! Validation rules that span kinds. A kind's own rules live in its module
//! under `kinds/`; these need several kinds at once.

mod flow_log_role;
pub(crate) mod import_ids;
mod peering_cidrs;
mod peering_routes;

use crate::decode::Cx;
use crate::registry::Topology;
use crate::validate::NameIndex;

pub(crate) fn validate(t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
    for (_, _, deps) in t.explicit_dependencies() {
        for dep in deps {
            index.check_any(dep, cx);
        }
    }
    peering_cidrs::check(t, index, cx);
    flow_log_role::check(t, index, cx);
    peering_routes::check(t, index, cx);
    import_ids::check(t, cx);
}
