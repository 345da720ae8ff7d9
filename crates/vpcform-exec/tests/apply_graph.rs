//! The apply graph of every case of the planner corpus
//! (`vpcform-diff/tests/data/plans`): its steps in an order that respects
//! every wait, or the refusal of a plan whose steps wait on each other.

#[path = "../../vpcform-diff/tests/support/mod.rs"]
mod support;

use std::fmt::Write as _;

use vpcform_exec::{ApplyGraph, build_apply_graph};

/// Steps in waves: each wave waits only on earlier ones.
fn waves(graph: &ApplyGraph) -> Result<String, String> {
    if let Some(cycle) = graph.find_cycle() {
        let names: Vec<String> = cycle
            .iter()
            .map(|&i| format!("{} {}", graph.steps[i].verb, graph.steps[i].address))
            .collect();
        return Err(format!(
            "refused, these steps wait on each other:\n  {}\n",
            names.join("\n  ")
        ));
    }
    let mut wave_of = vec![usize::MAX; graph.steps.len()];
    let mut out = String::new();
    let mut wave = 0;
    while wave_of.contains(&usize::MAX) {
        let ready: Vec<usize> = (0..graph.steps.len())
            .filter(|&i| {
                wave_of[i] == usize::MAX
                    && graph.steps[i].waits_for.iter().all(|&w| wave_of[w] < wave)
            })
            .collect();
        let mut names: Vec<String> = ready
            .iter()
            .map(|&i| format!("{} {}", graph.steps[i].verb, graph.steps[i].address))
            .collect();
        names.sort();
        let _ = writeln!(out, "wave {wave}:\n  {}", names.join("\n  "));
        for i in ready {
            wave_of[i] = wave;
        }
        wave += 1;
    }
    Ok(out)
}

#[test]
fn every_case_has_the_apply_graph_its_snapshot_says() {
    for dir in support::cases() {
        let case = support::run(&dir);
        if !case.plan.has_changes() {
            continue;
        }
        let text = match waves(&build_apply_graph(&case.plan)) {
            Ok(waves) | Err(waves) => waves,
        };
        insta::with_settings!({ snapshot_suffix => case.name.clone(), omit_expression => true }, {
            insta::assert_snapshot!("apply_graph", text);
        });
    }
}

#[test]
fn a_plan_whose_steps_wait_on_each_other_is_a_plan_error() {
    let dir = support::cases()
        .into_iter()
        .find(|d| d.ends_with("06-sg-same-name-replace"))
        .unwrap();
    let mut plan = support::run(&dir).plan;
    assert!(
        build_apply_graph(&plan).refusal().is_none(),
        "held by a stand-in"
    );
    // Without the stand-in, the group's users and its replacement wait on each other.
    for change in &mut plan.changes {
        change.stand_in = false;
    }
    let error = build_apply_graph(&plan).refusal().expect("refused");
    assert!(
        error
            .message
            .starts_with("apply would refuse this plan: these steps wait on each other: ")
            && error.message.contains("update instance.instance-1"),
        "{}",
        error.message
    );
}
