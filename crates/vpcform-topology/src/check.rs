//! The validation driver, above every rule it runs: each kind's rules
//! (through the registry), those that span kinds, expectations, waivers
//! and queries.

use crate::decode::Cx;
use crate::registry::Topology;
use crate::validate::NameIndex;

/// Every rule: each kind's, then those that span kinds, expectations,
/// waivers and queries.
pub(crate) fn validate(t: &Topology, index: &NameIndex<'_>, cx: &mut Cx) {
    crate::registry::validate_sections(t, index, cx);
    crate::rules::validate(t, index, cx);
    crate::expect::validate(&t.expect, index, cx);
    crate::waivers::validate(t, crate::waivers::Date::today(), cx);
    crate::queries::validate(&t.queries, index, cx);
}
