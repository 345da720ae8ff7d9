//! The plan as a pull-request comment: summary first, destroys loud, drift
//! apart, a collapsible section per resource, bounded in size.

use std::fmt::Write as _;

use vpcform_topology::escape::{excerpt, html, md_block_fence, md_cell, md_code, terminal_json};

use crate::render_text::{line_diff, show};
use crate::{Action, Plan, ResourceChange};

/// The first line: an HTML comment (invisible on GitHub) by which a
/// pipeline finds its own comment to update, and reads labels from.
fn marker(plan: &Plan) -> String {
    let s = plan.summary();
    let broadening = crate::security_changes(plan)
        .iter()
        .filter(|c| c.broadening())
        .count();
    format!(
        "<!-- vpcform-plan stack={} changes={} destroys={} broadening={broadening} errors={} -->\n",
        plan.stack,
        s.adopt + s.add + s.change + s.destroy,
        s.destroy,
        failures(plan)
    )
}

/// What keeps the plan from being applied: its errors and the
/// connectivity promises it breaks (either fails `plan`).
fn failures(plan: &Plan) -> usize {
    let broken = plan.connectivity.as_ref().map_or(0, |c| c.broken().count());
    plan.errors.len() + broken
}

/// The comment when no plan could be made: the marker (one error), and why.
pub fn failure_markdown(stack: &str, why: &str) -> String {
    // The marker holds vpcform's own values only: a stack name that is not
    // one (from a broken file) is left out.
    let stack = if vpcform_topology::is_valid_name(stack) {
        stack
    } else {
        ""
    };
    format!(
        "<!-- vpcform-plan stack={stack} changes=0 destroys=0 broadening=0 errors=1 -->\n### vpcform plan: failed\n\n> [!CAUTION]\n> No plan was made: {}\n",
        md_code(&excerpt(why, 2000))
    )
}

/// GitHub refuses comments over 65,536 characters; stay below with room for the notice.
pub const MARKDOWN_LIMIT: usize = 65_000;

pub fn to_markdown(plan: &Plan) -> String {
    markdown_within(plan, MARKDOWN_LIMIT)
}

/// One environment's outcome for [`to_markdown_envs`].
#[derive(Debug)]
pub struct EnvPlan<'p> {
    pub env: &'p str,
    /// Its stack (known even when no plan was made).
    pub stack: &'p str,
    pub outcome: Result<&'p Plan, String>,
}

/// One comment for every environment (`plan --all-envs`): a marker summing
/// them, a line per environment at the top, then a section each, every
/// section bounded so that the comment stays under [`MARKDOWN_LIMIT`].
pub fn to_markdown_envs(envs: &[EnvPlan<'_>]) -> String {
    let (mut changes, mut destroys, mut broadening, mut errors) = (0, 0, 0, 0);
    for e in envs {
        match &e.outcome {
            Ok(plan) => {
                let s = plan.summary();
                changes += s.adopt + s.add + s.change + s.destroy;
                destroys += s.destroy;
                broadening += crate::security_changes(plan)
                    .iter()
                    .filter(|c| c.broadening())
                    .count();
                errors += failures(plan);
            }
            Err(_) => errors += 1,
        }
    }
    // Names in the marker are vpcform's own: environment names are logical names.
    let names: Vec<&str> = envs
        .iter()
        .map(|e| e.env)
        .filter(|n| vpcform_topology::is_valid_name(n))
        .collect();
    let mut out = format!(
        "<!-- vpcform-plan envs={} changes={changes} destroys={destroys} broadening={broadening} errors={errors} -->\n### vpcform plan: {} environment(s)\n\n",
        names.join(","),
        envs.len()
    );
    for e in envs {
        let line = match &e.outcome {
            Ok(plan) if !plan.errors.is_empty() || failures(plan) > 0 => {
                format!("{} error(s): cannot be applied as it is", failures(plan))
            }
            Ok(plan) if plan.has_changes() => plan.summary().counts().to_string(),
            Ok(_) => "no changes".to_string(),
            Err(_) => "failed: no plan was made".to_string(),
        };
        let stack = e.stack;
        let _ = writeln!(
            out,
            "- {} (stack {}): {line}",
            md_code(e.env),
            md_code(stack)
        );
    }
    out.push('\n');
    let budget = MARKDOWN_LIMIT.saturating_sub(out.len()) / envs.len().max(1);
    for e in envs {
        let _ = writeln!(out, "---\n\n## Environment {}\n", md_code(e.env));
        let body = match &e.outcome {
            Ok(plan) => markdown_within(plan, budget.saturating_sub(64)),
            Err(why) => failure_markdown("", why),
        };
        // Each section's own marker would be read as the comment's.
        let body = body.split_once('\n').map_or("", |(_, rest)| rest);
        out.push_str(&body.replacen("### vpcform plan: ", "#### vpcform plan: ", 1));
        out.push('\n');
    }
    out
}

fn markdown_within(plan: &Plan, limit: usize) -> String {
    let s = plan.summary();
    let mut head = marker(plan);
    let _ = writeln!(head, "### vpcform plan: stack {}\n", md_code(&plan.stack));
    for e in &plan.errors {
        let _ = writeln!(
            head,
            "> [!CAUTION]\n> {}: {}\n",
            md_code(&e.address.to_string()),
            md_code(&e.message)
        );
    }
    let connectivity = plan
        .connectivity
        .as_ref()
        .map(crate::render_connectivity::markdown)
        .unwrap_or_default();
    if !plan.has_changes() {
        let _ = writeln!(head, "**No changes.** The account matches the topology.\n");
        head.push_str(&crate::policy::markdown(plan));
        head.push_str(&connectivity);
        return head;
    }
    let _ = writeln!(head, "**Plan: {}.**\n", s.counts());
    let destructive: Vec<&ResourceChange> = plan
        .actions()
        .filter(|c| {
            matches!(c.action, Action::Delete | Action::Replace { .. }) || c.takes_over.is_some()
        })
        .collect();
    if !destructive.is_empty() {
        let _ = writeln!(
            head,
            "> [!WARNING]\n> This plan destroys or replaces {} object(s):",
            destructive.len()
        );
        for c in &destructive {
            let what = if c.action == Action::Delete {
                "destroy"
            } else {
                "replace"
            };
            let note = c
                .takes_over_note()
                .map(|n| format!(": {}", md_code(&n)))
                .unwrap_or_default();
            let _ = writeln!(head, "> - {what} {}{note}", md_code(&c.address.to_string()));
        }
        head.push('\n');
    }
    let adopted: Vec<&ResourceChange> = plan
        .actions()
        .filter(|c| c.action == Action::Adopt)
        .collect();
    if !adopted.is_empty() {
        let _ = writeln!(
            head,
            "> [!NOTE]\n> This plan adopts {} existing object(s) (`import-id`): it adds the stack's ownership tags; nothing is recreated.\n",
            adopted.len()
        );
    }
    head.push_str(&crate::security::markdown(plan));
    head.push_str(&crate::policy::markdown(plan));
    head.push_str(&connectivity);
    let drifted: Vec<&ResourceChange> = plan.actions().filter(|c| c.drift.is_some()).collect();
    if !drifted.is_empty() {
        let _ = writeln!(head, "#### Changed outside vpcform ({})\n", drifted.len());
        for c in &drifted {
            let _ = writeln!(
                head,
                "- {}: {}",
                md_code(&c.address.to_string()),
                md_code(c.drift.as_ref().map_or("", |d| d.summary.as_str()))
            );
        }
        head.push('\n');
    }
    let _ = writeln!(head, "| action | resource |\n|---|---|");
    let footer = if !plan.errors.is_empty() {
        "\nThis plan has errors: it cannot be applied as it is.\n"
    } else if failures(plan) > 0 {
        "\nThis plan breaks a connectivity promise of the topology: fix the change or the expectation before merging.\n"
    } else {
        "\nApply with `vpcform apply` after merge.\n"
    };
    let mut table = String::new();
    let mut details = String::new();
    let referents = crate::render_text::Referents::of(plan);
    // Destroys first so that they survive truncation.
    let ordered = destructive
        .iter()
        .copied()
        .chain(plan.actions().filter(|c| {
            !matches!(c.action, Action::Delete | Action::Replace { .. }) && c.takes_over.is_none()
        }));
    for c in ordered {
        let _ = writeln!(
            table,
            "| {} | {} |",
            md_cell(c.symbol()),
            md_cell(&c.address.to_string())
        );
        details.push_str(&section(c, &referents));
    }
    // Everything above the table always fits; rows and details are added
    // while they do, destroys first.
    let footer_len = footer.len();
    let notice = "\n> [!NOTE]\n> The plan is too long for one comment and is truncated here. Run `vpcform plan` (or keep `vpcform plan --format json` as an artifact) for the full plan.\n";
    let mut out = head;
    let rows: Vec<&str> = table.split_inclusive('\n').collect();
    let parts: Vec<&str> = details.split_inclusive("</details>\n").collect();
    let total = out.len() + table.len() + 1 + details.len() + footer_len;
    if total <= limit {
        out.push_str(&table);
        out.push('\n');
        out.push_str(&details);
    } else {
        // Room for the "… N more" row, too.
        let budget = limit.saturating_sub(notice.len() + footer_len + 40);
        let mut shown = 0;
        for row in &rows {
            if out.len() + row.len() > budget {
                break;
            }
            out.push_str(row);
            shown += 1;
        }
        if shown < rows.len() {
            out.push_str(&format!("| … | {} more |\n", rows.len() - shown));
        }
        out.push('\n');
        for part in &parts {
            if out.len() + part.len() > budget {
                break;
            }
            out.push_str(part);
        }
        out.push_str(notice);
    }
    out.push_str(footer);
    out
}

/// A multi-line value whose every line carries the sign, so a `diff` block
/// shows all of it as added (or removed), none as unchanged context.
fn signed(value: &str, sign: char) -> String {
    value.replace('\n', &format!("\n{sign} "))
}

fn section(c: &ResourceChange, referents: &crate::render_text::Referents<'_>) -> String {
    let mut body = String::new();
    match c.action {
        Action::Create => {
            for a in &c.changes {
                let value = a
                    .after
                    .as_ref()
                    .map_or_else(|| referents.unknown(c, &a.name), |v| referents.value(c, v));
                let _ = writeln!(body, "+ {} = {}", a.name, signed(&value, '+'));
            }
        }
        Action::Delete => {
            for (name, value) in &c.before {
                let _ = writeln!(body, "- {name} = {}", signed(&show(value), '-'));
            }
        }
        _ => {
            for a in &c.changes {
                let before = a
                    .before
                    .as_ref()
                    .map_or("null".into(), |v| referents.value(c, v));
                let after = a
                    .after
                    .as_ref()
                    .map_or_else(|| referents.unknown(c, &a.name), |v| referents.value(c, v));
                let forces = if a.forces_replacement {
                    " # forces replacement"
                } else {
                    ""
                };
                if before.contains('\n') || after.contains('\n') {
                    let _ = writeln!(
                        body,
                        "~ {}{forces}\n{}",
                        a.name,
                        line_diff(&before, &after)
                            .trim_start_matches("<<-DIFF\n")
                            .trim_end_matches("DIFF")
                    );
                } else {
                    let _ = writeln!(
                        body,
                        "- {} = {before}\n+ {} = {after}{forces}",
                        a.name, a.name
                    );
                }
            }
        }
    }
    let mut drift = c
        .drift
        .as_ref()
        .map(|d| format!(" (drift: {})", d.summary))
        .unwrap_or_default();
    if c.stand_in {
        drift.push_str(&format!(" ({})", crate::render_text::STAND_IN_NOTE));
    }
    if c.unfinished {
        drift.push_str(&format!(" ({})", crate::render_text::unfinished_note(c)));
    }
    if let Some(note) = c.takes_over_note() {
        drift.push_str(&format!(" ({note})"));
    }
    // Every line of the body as one safe line (values are JSON text: their
    // backslashes are escapes already); the fence longer than any backtick run in it.
    let body: String = body
        .lines()
        .map(|l| format!("{}\n", terminal_json(l)))
        .collect();
    let fence = md_block_fence(&body);
    format!(
        "<details><summary><code>{}</code> {}{}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n",
        html(&c.address.to_string()),
        c.action.terraform_actions().join(", "),
        html(&drift)
    )
}
