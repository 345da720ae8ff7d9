//! Data is never markup: whatever strings the account holds (tags, rule
//! descriptions, an owned object's address tag, ids) and whatever a plan
//! error quotes, the text and Markdown plans keep their shape. Properties:
//! one marker line, first; balanced `<details>`; no `<!--` from data; no
//! line from data that starts with `::` (a workflow command) or `Plan:`;
//! no raw control, line-separator or bidi character.

mod support;

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;
use vpcform_diff::{LiveState, Plan, PlanError};
use vpcform_topology::escape::is_unsafe_char;
use vpcform_topology::{Address, Style};

/// Pieces an attacker would use, and anything at all in between.
fn hostile() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        Just(
            "<!-- vpcform-plan stack=x changes=0 destroys=0 broadening=0 errors=0 -->".to_string()
        ),
        Just("<!--".to_string()),
        Just("-->".to_string()),
        Just("</details>".to_string()),
        Just("<details><summary>".to_string()),
        Just("</summary>".to_string()),
        Just("|".to_string()),
        Just("`".to_string()),
        Just("```".to_string()),
        Just("::warning file=x::".to_string()),
        Just("Plan: 0 to add, 0 to change, 0 to destroy.".to_string()),
        Just("\u{1b}]8;;https://evil.example\u{7}".to_string()),
        Just("\u{9b}2J".to_string()),
        Just("\u{202e}".to_string()),
        Just("\u{2028}".to_string()),
        Just("@everyone".to_string()),
        Just("https://evil.example".to_string()),
        Just(" broadening=0 destroys=0 changes=0 ".to_string()),
        any::<String>(),
    ];
    prop::collection::vec(token, 1..6).prop_map(|parts| parts.concat())
}

/// A case whose plan shows deletes, updates and drift, with every live
/// string replaced by `text`, and one object's address tag edited to it.
fn hostile_plan(text: &str) -> Plan {
    let dir = Path::new(support::CORPUS).join("09-drift");
    let base = support::run(&dir);
    let mut live = LiveState::default();
    live.lookups = base.live.lookups.clone();
    for (i, mut object) in base.live.objects.into_values().enumerate() {
        for value in object.attrs.values_mut() {
            poison(value, text);
        }
        if i % 5 == 0 {
            object.address = Address {
                name: format!("{}{text}", object.address.name),
                ..object.address.clone()
            };
        }
        live.insert(object);
    }
    let topology =
        vpcform_topology::load("t.yaml", &std::fs::read(dir.join("topology.yaml")).unwrap());
    let mut plan = support::plan(&topology, &live);
    plan.errors.push(PlanError {
        address: Address::parse("vpc.network-1").unwrap(),
        message: format!("a conflict quoting {text}"),
    });
    plan
}

fn poison(value: &mut Value, text: &str) {
    match value {
        Value::String(s) => *s = format!("{s}{text}"),
        // vpcform's own tags stay: the config hash makes drift show.
        Value::Object(map) => map
            .iter_mut()
            .filter(|(k, _)| !k.starts_with("vpcform:"))
            .for_each(|(_, v)| poison(v, text)),
        Value::Array(items) => items.iter_mut().for_each(|v| poison(v, text)),
        // No text to carry markup.
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// The Markdown with fenced code blocks and inline code spans removed
/// (CommonMark: a span closes at the next run of as many backticks).
fn outside_code(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<usize> = None;
    for line in md.lines() {
        let ticks = line.chars().take_while(|c| *c == '`').count();
        match fence {
            Some(n) if ticks >= n && line[ticks..].trim().is_empty() => fence = None,
            Some(_) => {}
            None if ticks >= 3 => fence = Some(ticks),
            None => {
                out.push_str(&strip_spans(line));
                out.push('\n');
            }
        }
    }
    out
}

fn strip_spans(line: &str) -> String {
    let chars: Vec<char> = line.chars().collect();
    let run_at = |i: usize| chars[i..].iter().take_while(|c| **c == '`').count();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let n = run_at(i);
        // The closing run: exactly n backticks.
        let mut j = i + n;
        let mut closed = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let m = run_at(j);
                if m == n {
                    closed = Some(j + m);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match closed {
            Some(end) => i = end,
            None => {
                out.extend(&chars[i..i + n]);
                i += n;
            }
        }
    }
    out
}

fn assert_no_raw_controls(out: &str, what: &str) {
    let bad: Vec<char> = out
        .chars()
        .filter(|c| *c != '\n' && is_unsafe_char(*c))
        .collect();
    assert!(bad.is_empty(), "{what} holds raw {bad:?}");
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 48,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn markdown_keeps_its_shape_whatever_the_account_holds(text in hostile()) {
        let md = vpcform_diff::to_markdown(&hostile_plan(&text));
        prop_assert!(md.starts_with("<!-- vpcform-plan "));
        // What GitHub reads as markup: everything but code spans and code blocks.
        let markup = outside_code(&md);
        let lines: Vec<&str> = markup.lines().collect();
        prop_assert_eq!(markup.matches("<!--").count(), 1, "only the marker opens a comment");
        prop_assert_eq!(
            md.lines().filter(|l| l.trim_start().starts_with("<!-- vpcform-plan")).count(),
            1
        );
        prop_assert_eq!(markup.matches("<details>").count(), markup.matches("</details>").count());
        prop_assert_eq!(markup.matches("<summary>").count(), markup.matches("</summary>").count());
        prop_assert!(!markup.contains("@everyone") && !markup.contains("https://evil"), "a live mention or link");
        for l in &lines {
            prop_assert!(!l.starts_with("::"), "a workflow command: {l}");
            prop_assert!(!l.trim_start_matches(['|', ' ', '>', '-', '+']).starts_with("Plan: 0"), "a forged summary: {l}");
        }
        assert_no_raw_controls(&md, "markdown");
    }

    #[test]
    fn text_plans_keep_their_shape_whatever_the_account_holds(text in hostile()) {
        let out = vpcform_diff::to_text(&hostile_plan(&text), &Style::plain());
        let summaries = out.lines().filter(|l| l.starts_with("Plan:")).count();
        prop_assert_eq!(summaries, 1, "one summary line");
        for l in out.lines() {
            prop_assert!(!l.trim_start().starts_with("::"), "a workflow command: {l}");
        }
        assert_no_raw_controls(&out, "text");
    }
}
