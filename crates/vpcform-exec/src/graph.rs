//! The apply graph: steps derived from a plan's changes and the order between them.

use std::collections::{BTreeMap, HashMap};

use vpcform_diff::{Action, Plan, PlanError};
use vpcform_topology::Address;

use crate::Verb;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub address: Address,
    pub verb: Verb,
    /// Index of the change in `Plan::changes`.
    pub change: usize,
    /// Steps that must finish first.
    pub waits_for: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
pub struct ApplyGraph {
    pub steps: Vec<Step>,
}

impl ApplyGraph {
    /// For each step, the steps that wait for it (the reverse edges, for the walk).
    pub fn dependents(&self) -> Vec<Vec<usize>> {
        let mut out = vec![Vec::new(); self.steps.len()];
        for (i, step) in self.steps.iter().enumerate() {
            for &w in &step.waits_for {
                out[w].push(i);
            }
        }
        out
    }

    /// Why this graph cannot be applied, if it cannot: a plan error, so a
    /// plan that apply would refuse never passes review.
    pub fn refusal(&self) -> Option<PlanError> {
        let cycle = self.find_cycle()?;
        let names: Vec<String> = cycle
            .iter()
            .map(|&i| format!("{} {}", self.steps[i].verb, self.steps[i].address))
            .collect();
        Some(PlanError {
            address: self.steps[cycle[0]].address.clone(),
            message: format!(
                "apply would refuse this plan: these steps wait on each other: {}. This happens when an object must be replaced while others still use it under the same name; give it a new name (vpcform then creates the new one first) or apply in two steps",
                names.join(", ")
            ),
        })
    }

    /// A cycle among the steps, if the plan is inconsistent.
    pub fn find_cycle(&self) -> Option<Vec<usize>> {
        let n = self.steps.len();
        let mut pending: Vec<usize> = self.steps.iter().map(|s| s.waits_for.len()).collect();
        let dependents = self.dependents();
        let mut ready: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
        let mut done = 0;
        while let Some(i) = ready.pop() {
            done += 1;
            for &d in &dependents[i] {
                pending[d] -= 1;
                if pending[d] == 0 {
                    ready.push(d);
                }
            }
        }
        (done < n).then(|| (0..n).filter(|&i| pending[i] > 0).collect())
    }
}

/// Builds the apply graph from the plan alone.
///
/// - creates and updates wait for the creates/updates of what they depend on;
/// - a delete waits for the deletes and updates of what refers to the object
///   (`delete_after`), so subnets go before their VPC and routes before their peering;
/// - a replace is a delete and a create, ordered by `create_before_destroy`; an
///   old object replaced create-first goes only after its dependents moved to the new one;
/// - a replace with a stand-in (see [`stand_in_waits`]) frees the old object first.
pub fn build_apply_graph(plan: &Plan) -> ApplyGraph {
    let mut steps: Vec<Step> = Vec::new();
    let mut work: HashMap<&Address, usize> = HashMap::new(); // create or update step
    let mut delete: HashMap<&Address, usize> = HashMap::new();
    let mut update: HashMap<&Address, usize> = HashMap::new();
    let mut stand_in: HashMap<&Address, (usize, usize)> = HashMap::new(); // (in, out)
    for (index, change) in plan.changes.iter().enumerate() {
        let mut add = |verb: Verb| {
            steps.push(Step {
                address: change.address.clone(),
                verb,
                change: index,
                waits_for: Vec::new(),
            });
            steps.len() - 1
        };
        match change.action {
            Action::NoOp => {}
            Action::Create => {
                work.insert(&change.address, add(Verb::Create));
            }
            // Nothing but the record that an earlier apply finished it.
            Action::Update if change.unfinished && change.changes.is_empty() => {
                work.insert(&change.address, add(Verb::Retag));
            }
            Action::Update => {
                let s = add(Verb::Update);
                work.insert(&change.address, s);
                update.insert(&change.address, s);
            }
            Action::Adopt => {
                let s = add(Verb::Adopt);
                work.insert(&change.address, s);
                update.insert(&change.address, s);
            }
            Action::Delete => {
                delete.insert(&change.address, add(Verb::Delete));
            }
            Action::Replace { .. } => {
                if change.stand_in {
                    stand_in.insert(&change.address, (add(Verb::StandIn), add(Verb::StandOut)));
                }
                delete.insert(&change.address, add(Verb::Delete));
                work.insert(&change.address, add(Verb::Create));
            }
        }
    }
    let mut waits: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    let mut wait = |step: usize, on: usize| {
        if step != on {
            waits.entry(step).or_default().push(on);
        }
    };
    for change in &plan.changes {
        let me = &change.address;
        if let Some(&w) = work.get(me) {
            for dep in &change.depends_on {
                if let Some(&d) = work.get(dep) {
                    wait(w, d);
                }
            }
        }
        if let Some(&d) = delete.get(me) {
            for referrer in &change.delete_after {
                if let Some(&rd) = delete.get(referrer) {
                    wait(d, rd);
                }
                // Users updated in place are held by the stand-in, if there is one.
                if let Some(&ru) = update.get(referrer)
                    && !stand_in.contains_key(me)
                {
                    wait(d, ru);
                }
            }
        }
        if let (
            Action::Replace {
                create_before_destroy,
            },
            Some(&d),
            Some(&c),
        ) = (change.action, delete.get(me), work.get(me))
        {
            if create_before_destroy {
                wait(d, c);
                // Dependents switch to the new object before the old one goes.
                for other in &plan.changes {
                    if other.depends_on.contains(me)
                        && let Some(&ow) = work.get(&other.address)
                    {
                        wait(d, ow);
                    }
                }
            } else {
                wait(c, d);
            }
        }
    }
    for (me, &(held, released)) in &stand_in {
        for (step, on) in stand_in_waits(plan, me, held, released, &work, &delete) {
            wait(step, on);
        }
    }
    for (step, mut on) in waits {
        on.sort_unstable();
        on.dedup();
        steps[step].waits_for = on;
    }
    ApplyGraph { steps }
}

/// The order around an object replaced delete-first with a stand-in:
/// the stand-in copies it before anything of it goes (its own implicit
/// objects, the rules, included), the old object goes only then; its
/// users move to the new object only once its implicit objects exist; the
/// stand-in goes after the new object, its implicit objects and every user.
fn stand_in_waits(
    plan: &Plan,
    me: &Address,
    held: usize,
    released: usize,
    work: &HashMap<&Address, usize>,
    delete: &HashMap<&Address, usize>,
) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let children: Vec<&Address> = plan
        .changes
        .iter()
        .map(|c| &c.address)
        .filter(|a| vpcform_topology::ResourceKind::container_of(a).as_ref() == Some(me))
        .collect();
    let created: Vec<usize> = children
        .iter()
        .filter_map(|c| work.get(c).copied())
        .chain(work.get(me).copied())
        .collect();
    out.extend(delete.get(me).map(|&d| (d, held)));
    out.extend(
        children
            .iter()
            .filter_map(|c| delete.get(c))
            .map(|&d| (d, held)),
    );
    out.extend(created.iter().map(|&c| (released, c)));
    let users = plan
        .changes
        .iter()
        .filter(|c| c.depends_on.contains(me) && !children.contains(&&c.address));
    for user in users {
        if let Some(&u) = work.get(&user.address) {
            out.extend(created.iter().map(|&c| (u, c)));
            out.push((released, u));
        }
    }
    out
}
