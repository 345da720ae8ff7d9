//! The Connectivity section of a plan: expectations held or broken, and the
//! flows whose reachability the plan changes.

use std::fmt::Write as _;

use vpcform_reach::{Block, Connectivity, Status};
use vpcform_topology::Style;
use vpcform_topology::escape::{md_cell, md_code};

use crate::render_text::safe;

/// What a broken isolation promise found: a connection, or requests that
/// arrive although their replies are blocked.
fn unblocked(e: &vpcform_reach::ExpectationResult) -> &'static str {
    if e.arrives_only {
        "requests arrive (their replies are blocked)"
    } else {
        "reachable"
    }
}

/// `, 111 subnet pairs` for a group expectation.
fn pairs(n: Option<usize>) -> String {
    match n {
        Some(1) => ", 1 subnet pair".into(),
        Some(n) => format!(", {n} subnet pairs"),
        None => String::new(),
    }
}

fn blocks(blocked: &[Block]) -> String {
    blocked
        .iter()
        .map(|b| format!("[{}] {}", b.code, b.component))
        .collect::<Vec<_>>()
        .join(", ")
}

/// For terminals and logs.
pub(crate) fn text(c: &Connectivity, style: &Style) -> String {
    let mut out = String::new();
    if c.expectations.is_empty() && c.changes.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\n{}", style.bold("Connectivity:"));
    if !c.expectations.is_empty() {
        let broken = c.broken().count();
        let unverifiable = c.unverifiable().count();
        let undecided = match unverifiable {
            0 => String::new(),
            n => format!(", {n} unverifiable"),
        };
        let _ = writeln!(
            out,
            "  expectations: {} held, {broken} broken{undecided}",
            c.expectations.len() - broken - unverifiable
        );
        for e in &c.expectations {
            if e.status == Status::Unverifiable {
                let _ = writeln!(
                    out,
                    "    ? {}: unverifiable, the path crosses {}",
                    safe(&e.expectation),
                    safe(&unknowns(&e.unknown))
                );
            } else if e.held {
                let what = if e.reachable { "reachable" } else { "blocked" };
                let _ = writeln!(
                    out,
                    "    {} {} ({what}{})",
                    style.green("✓"),
                    safe(&e.expectation),
                    pairs(e.pairs)
                );
            } else if e.reachable {
                let _ = writeln!(
                    out,
                    "    {} {}: expected reachable, blocked by {}",
                    style.error("✗"),
                    safe(&e.expectation),
                    safe(&blocks(&e.blocked))
                );
                for b in &e.blocked {
                    let _ = writeln!(out, "        {}; fix: {}", safe(&b.reason), safe(&b.fix));
                }
            } else {
                let _ = writeln!(
                    out,
                    "    {} {}: expected blocked, but {}",
                    style.error("✗"),
                    safe(&e.expectation),
                    unblocked(e)
                );
            }
            if let Some(w) = e.witness.as_ref().filter(|_| !e.held) {
                let _ = writeln!(out, "        for one: {}", safe(w));
            }
        }
    }
    if !c.changes.is_empty() {
        let _ = writeln!(out, "  flows this plan changes:");
        for f in &c.changes {
            if f.after {
                let _ = writeln!(
                    out,
                    "    + {} → {} ({}): becomes reachable",
                    safe(&f.from),
                    safe(&f.to),
                    safe(&f.service)
                );
            } else {
                let _ = writeln!(
                    out,
                    "    - {} → {} ({}): becomes blocked by {}",
                    safe(&f.from),
                    safe(&f.to),
                    safe(&f.service),
                    safe(&blocks(&f.blocked))
                );
            }
        }
    }
    out
}

/// For a pull-request comment (above the fold).
pub(crate) fn markdown(c: &Connectivity) -> String {
    let mut out = String::new();
    if c.expectations.is_empty() && c.changes.is_empty() {
        return out;
    }
    let broken = c.broken().count();
    let _ = writeln!(out, "#### Connectivity\n");
    if broken > 0 {
        let _ = writeln!(
            out,
            "> [!CAUTION]\n> This plan breaks {broken} connectivity expectation(s).\n"
        );
    }
    if !c.expectations.is_empty() {
        let _ = writeln!(out, "| | expectation | result |\n|---|---|---|");
        for e in &c.expectations {
            let (mark, result) = match (e.held, e.actual) {
                _ if e.status == Status::Unverifiable => (
                    "❔",
                    format!(
                        "unverifiable: the path crosses {}",
                        md_cell(&unknowns(&e.unknown))
                    ),
                ),
                (true, true) => ("✅", format!("reachable{}", pairs(e.pairs))),
                (true, false) => ("✅", format!("blocked{}", pairs(e.pairs))),
                (false, false) => ("❌", format!("blocked by {}", md_cell(&blocks(&e.blocked)))),
                (false, true) => ("❌", format!("{}, expected blocked", unblocked(e))),
            };
            let result = match &e.witness {
                Some(w) if !e.held => format!("{result}; for one: {}", md_cell(w)),
                Some(_) | None => result,
            };
            let _ = writeln!(out, "| {mark} | {} | {result} |", md_cell(&e.expectation));
        }
        out.push('\n');
    }
    if !c.changes.is_empty() {
        let _ = writeln!(out, "Flows this plan changes:\n");
        for f in &c.changes {
            if f.after {
                let _ = writeln!(
                    out,
                    "- 🔓 {} → {} {}: becomes reachable",
                    md_code(&f.from),
                    md_code(&f.to),
                    md_code(&f.service)
                );
            } else {
                let _ = writeln!(
                    out,
                    "- 🔒 {} → {} {}: becomes blocked by {}",
                    md_code(&f.from),
                    md_code(&f.to),
                    md_code(&f.service),
                    md_code(&blocks(&f.blocked))
                );
            }
        }
        out.push('\n');
    }
    out
}

/// What the model could not see through, for one line.
fn unknowns(unknown: &[vpcform_reach::Undecided]) -> String {
    unknown
        .iter()
        .map(|u| format!("{} ({})", u.component, u.reason))
        .collect::<Vec<_>>()
        .join(", ")
}
