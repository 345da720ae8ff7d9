//! `waivers:`: findings of policy checks accepted knowingly, each with the
//! rule, the declaration it covers (its implicit objects included), a
//! reason every plan repeats, and optionally a day it expires on (from
//! then on it is an error, so someone looks again).

use crate::address::{Address, ResourceKind};
use crate::decode::Cx;
use crate::diagnostic::{Diagnostic, Span, did_you_mean};
use crate::graph::DependencyGraph;
use crate::model::At;
use crate::policy::{POLICY_RULES, RawFinding};
use crate::registry::Topology;
pub use crate::waiver::Waiver;

impl Waiver {
    /// Whether this waiver accepts `finding`.
    pub fn covers(&self, finding: &RawFinding) -> bool {
        // An alias may name several rules (trivy's AVD-AWS-0107: any port open to the world).
        let same_rule = crate::policy::rule(finding.rule).is_some_and(|r| {
            r.id == self.rule.value || r.aliases.contains(&self.rule.value.as_str())
        });
        let resource = Address::parse(&self.resource.value);
        let container = ResourceKind::container_of(&finding.address);
        same_rule
            && resource.is_some_and(|r| r == finding.address || Some(&r) == container.as_ref())
    }
}

/// A finding of a topology, waived or not, with where to point at it.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub finding: RawFinding,
    pub span: Span,
    /// The waiver that accepts it.
    pub waiver: Option<Waiver>,
}

/// Known rule, declared resource, a reason, an expiry in the future.
pub(crate) fn validate(t: &Topology, today: Date, cx: &mut Cx) {
    for w in &t.waivers {
        check_rule(&w.rule, cx);
        check_resource(t, &w.resource, cx);
        if w.reason.value.trim().is_empty() {
            cx.push(
                Diagnostic::error(
                    "waiver-without-reason",
                    w.reason.span,
                    "a waiver needs a reason",
                )
                .with_help("say why the finding is accepted; every plan shows it"),
            );
        }
        if let Some(expires) = &w.expires {
            check_expiry(expires, today, cx);
        }
    }
}

fn check_rule(rule: &At<String>, cx: &mut Cx) {
    if crate::policy::rule(&rule.value).is_some() {
        return;
    }
    let ids = POLICY_RULES
        .iter()
        .flat_map(|r| std::iter::once(r.id).chain(r.aliases.iter().copied()));
    let help = match did_you_mean(&rule.value, ids) {
        Some(near) => format!("did you mean `{near}`?"),
        None => format!(
            "the rules are {}",
            POLICY_RULES
                .iter()
                .map(|r| r.id)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    cx.push(
        Diagnostic::error(
            "unknown-rule",
            rule.span,
            format!("`{}` is not a policy rule vpcform checks", rule.value),
        )
        .with_help(help),
    );
}

fn check_resource(t: &Topology, resource: &At<String>, cx: &mut Cx) {
    let declared = Address::parse(&resource.value).is_some_and(|a| {
        a.key.is_none()
            && t.declared
                .iter()
                .any(|(name, kind)| *kind == a.kind && name.value == a.name)
    });
    if !declared {
        let names = t
            .declared
            .iter()
            .map(|(name, kind)| format!("{kind}.{}", name.value))
            .collect::<Vec<_>>();
        let mut d = Diagnostic::error(
            "unknown-waiver-resource",
            resource.span,
            format!("`{}` is not a declaration of this topology", resource.value),
        );
        d = match did_you_mean(&resource.value, names.iter().map(String::as_str)) {
            Some(near) => d.with_help(format!("did you mean `{near}`?")),
            None => d.with_help("name a declaration as `kind.name`, e.g. `security-group.web`"),
        };
        cx.push(d);
    }
}

fn check_expiry(expires: &At<String>, today: Date, cx: &mut Cx) {
    match Date::parse(&expires.value) {
        None => cx.push(
            Diagnostic::error(
                "invalid-date",
                expires.span,
                format!("`{}` is not a date", expires.value),
            )
            .with_help("write it as YYYY-MM-DD, e.g. 2027-06-30"),
        ),
        Some(day) if day <= today => cx.push(
            Diagnostic::error(
                "waiver-expired",
                expires.span,
                format!("this waiver expired on {}", expires.value),
            )
            .with_help("fix the finding, or look at it again and move `expires` to a new date"),
        ),
        Some(_) => {}
    }
}

/// Each finding of `raw` with its location and the waiver that accepts it,
/// and a warning for every waiver that accepts nothing.
pub(crate) fn assess(
    t: &Topology,
    graph: &DependencyGraph,
    raw: Vec<RawFinding>,
    cx: &mut Cx,
) -> Vec<Finding> {
    let findings: Vec<Finding> = raw
        .into_iter()
        .map(|finding| Finding {
            span: graph.span_of(&finding.address),
            waiver: t.waivers.iter().find(|w| w.covers(&finding)).cloned(),
            finding,
        })
        .collect();
    for w in &t.waivers {
        if !findings.iter().any(|f| f.waiver.as_ref() == Some(w)) {
            cx.push(
                Diagnostic::warning(
                    "unused-waiver",
                    w.span,
                    format!(
                        "nothing of `{}` breaks `{}`: this waiver accepts nothing",
                        w.resource.value, w.rule.value
                    ),
                )
                .with_help("remove it"),
            );
        }
    }
    findings
}

/// A day of the Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Date> {
        let mut parts = text.splitn(3, '-');
        let year: i32 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        let valid = text.len() == 10 && (1..=12).contains(&month) && (1..=31).contains(&day);
        valid.then_some(Date { year, month, day })
    }

    /// Today in UTC, from the system clock.
    pub fn today() -> Date {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Date::from_days((secs / 86_400) as i64)
    }

    /// The date `days` after 1970-01-01 (Howard Hinnant's civil_from_days).
    fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_since_the_epoch_are_calendar_dates() {
        assert_eq!(Date::from_days(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days(20_788).to_string(), "2026-12-01");
        assert_eq!(Date::from_days(11_016).to_string(), "2000-02-29");
        assert_eq!(Date::parse("2026-12-01"), Some(Date::from_days(20_788)));
        assert_eq!(Date::parse("2026-13-01"), None);
        assert_eq!(Date::parse("26-1-1"), None);
        assert!(Date::parse("2026-11-30") < Date::parse("2026-12-01"));
    }
}
