//! Walking the apply graph with tokio.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use vpcform_diff::{Action, Awaited, ListElement, Plan, ResourceChange};
use vpcform_topology::{Address, ResourceKind, attr};

use crate::graph::{ApplyGraph, build_apply_graph};
use crate::{Event, Lookup, Operation, Outcome, Provider, StepError, Verb};

#[derive(Clone, Debug)]
pub struct Options {
    /// Steps running at once.
    pub parallelism: usize,
    /// How often a long step reports that it is still running.
    pub heartbeat: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            parallelism: 10,
            heartbeat: Duration::from_secs(10),
        }
    }
}

/// Set once to stop starting new steps; running ones finish.
#[derive(Clone, Debug, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum StepResult {
    Applied { id: String },
    Failed { message: String },
    Skipped { reason: String },
}

/// What happened, step by step, in the order steps ended.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    pub steps: Vec<(Address, Verb, StepResult)>,
    pub interrupted: bool,
    /// The plan could not be ordered (e.g. a replace that its own dependents block).
    pub refused: Option<String>,
}

impl Report {
    fn count(&self, verb: Verb) -> usize {
        self.steps
            .iter()
            .filter(|(_, v, r)| *v == verb && matches!(r, StepResult::Applied { .. }))
            .count()
    }

    pub fn added(&self) -> usize {
        self.count(Verb::Create)
    }

    pub fn changed(&self) -> usize {
        self.count(Verb::Update)
    }

    pub fn adopted(&self) -> usize {
        self.count(Verb::Adopt)
    }

    pub fn destroyed(&self) -> usize {
        self.count(Verb::Delete)
    }

    pub fn failed(&self) -> impl Iterator<Item = (&Address, Verb, &str)> {
        self.steps.iter().filter_map(|(a, v, r)| match r {
            StepResult::Failed { message } => Some((a, *v, message.as_str())),
            _ => None,
        })
    }

    pub fn skipped(&self) -> impl Iterator<Item = (&Address, Verb, &str)> {
        self.steps.iter().filter_map(|(a, v, r)| match r {
            StepResult::Skipped { reason } => Some((a, *v, reason.as_str())),
            _ => None,
        })
    }

    pub fn succeeded(&self) -> bool {
        self.refused.is_none()
            && !self.interrupted
            && self
                .steps
                .iter()
                .all(|(_, _, r)| matches!(r, StepResult::Applied { .. }))
    }
}

/// Applies `plan` through `provider`. Failed steps stop what waits on them;
/// independent work continues.
pub async fn execute(
    plan: &Plan,
    provider: Arc<dyn Provider>,
    options: &Options,
    events: UnboundedSender<Event>,
    stop: StopSignal,
) -> Report {
    let graph = build_apply_graph(plan);
    if let Some(error) = graph.refusal() {
        return Report {
            refused: Some(error.message),
            ..Report::default()
        };
    }
    let mut report = walk(plan, &graph, provider.clone(), options, &events, &stop).await;
    // What the walk could not start (an interrupt) is recorded as finished too.
    retag(plan, &mut report, provider, options.parallelism, &events).await;
    report
}

/// What a task of the walk did: a step of the graph, or the retag of a
/// container whose steps all succeeded.
enum Done {
    Step(usize, Result<Outcome, StepError>, Duration),
    Retag(Address, Result<Outcome, StepError>),
}

/// How many steps of each container are still to succeed: when none is,
/// its retag is due (and starts within the walk, not after it).
struct Containers(HashMap<Address, usize>);

impl Containers {
    fn of(graph: &ApplyGraph) -> Self {
        let mut remaining = HashMap::new();
        for step in &graph.steps {
            *remaining.entry(container_of(&step.address)).or_insert(0) += 1;
        }
        Containers(remaining)
    }

    /// One step of `address`'s container succeeded; the container if that was its last.
    fn succeeded(&mut self, address: &Address) -> Option<Address> {
        let container = container_of(address);
        let left = self.0.get_mut(&container)?;
        *left -= 1;
        (*left == 0).then_some(container)
    }
}

async fn walk(
    plan: &Plan,
    graph: &ApplyGraph,
    provider: Arc<dyn Provider>,
    options: &Options,
    events: &UnboundedSender<Event>,
    stop: &StopSignal,
) -> Report {
    let n = graph.steps.len();
    let dependents = graph.dependents();
    let mut pending: Vec<usize> = graph.steps.iter().map(|s| s.waits_for.len()).collect();
    let mut ready: VecDeque<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut due: VecDeque<Address> = VecDeque::new();
    let mut containers = Containers::of(graph);
    let mut finished = vec![false; n];
    let mut outcomes: HashMap<Address, Outcome> = HashMap::new();
    let mut report = Report::default();
    let mut running: JoinSet<Done> = JoinSet::new();
    let parallelism = options.parallelism.max(1);

    loop {
        while running.len() < parallelism && !stop.is_stopped() {
            // A due retag first: it unblocks nothing, but nothing waits on it either.
            if let Some(container) = due.pop_front() {
                if let Some(op) = retag_operation(plan, &report, &container) {
                    let provider = provider.clone();
                    running
                        .spawn(async move { Done::Retag(container, guarded(&provider, op).await) });
                }
                continue;
            }
            let Some(i) = ready.pop_front() else { break };
            let step = &graph.steps[i];
            match operation(plan, &plan.changes[step.change], step.verb, &outcomes) {
                Ok(op) => spawn_step(&mut running, i, step, op, &provider, events, options),
                Err(e) => {
                    let _ = events.send(Event::Failed {
                        address: step.address.clone(),
                        verb: step.verb,
                        message: e.message.clone(),
                        elapsed: Duration::ZERO,
                    });
                    fail(
                        i,
                        e.message,
                        graph,
                        &dependents,
                        &mut finished,
                        &mut report,
                        events,
                    );
                }
            }
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        // Tasks catch their own panics and are never cancelled.
        let Ok(done) = joined else { continue };
        let (i, result, elapsed) = match done {
            Done::Retag(container, result) => {
                record_retag(&mut report, container, result, events);
                continue;
            }
            Done::Step(i, result, elapsed) => (i, result, elapsed),
        };
        let step = &graph.steps[i];
        finished[i] = true;
        match result {
            Ok(outcome) => {
                let _ = events.send(Event::Finished {
                    address: step.address.clone(),
                    verb: step.verb,
                    id: outcome.id.clone(),
                    elapsed,
                });
                report.steps.push((
                    step.address.clone(),
                    step.verb,
                    StepResult::Applied {
                        id: outcome.id.clone(),
                    },
                ));
                if matches!(step.verb, Verb::Create | Verb::Update | Verb::Adopt) {
                    outcomes.insert(step.address.clone(), outcome);
                }
                due.extend(containers.succeeded(&step.address));
                for &d in &dependents[i] {
                    pending[d] -= 1;
                    if pending[d] == 0 && !finished[d] {
                        ready.push_back(d);
                    }
                }
            }
            Err(e) => {
                let _ = events.send(Event::Failed {
                    address: step.address.clone(),
                    verb: step.verb,
                    message: e.message.clone(),
                    elapsed,
                });
                fail(
                    i,
                    e.message,
                    graph,
                    &dependents,
                    &mut finished,
                    &mut report,
                    events,
                );
            }
        }
    }
    if stop.is_stopped() {
        skip_unstarted(graph, &finished, &mut report, events);
    }
    report
}

/// A provider call whose panic fails its own operation, nothing more.
async fn guarded(provider: &Arc<dyn Provider>, op: Operation) -> Result<Outcome, StepError> {
    let work = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(provider.execute(op)));
    work.await.unwrap_or_else(|_| {
        Err(StepError::new(
            "the provider panicked (a vpcform bug); please report it",
        ))
    })
}

/// Starts step `i`, reporting that it still runs every heartbeat.
fn spawn_step(
    running: &mut JoinSet<Done>,
    i: usize,
    step: &crate::graph::Step,
    operation: Operation,
    provider: &Arc<dyn Provider>,
    events: &UnboundedSender<Event>,
    options: &Options,
) {
    let _ = events.send(Event::Started {
        address: step.address.clone(),
        verb: step.verb,
    });
    let provider = provider.clone();
    let events = events.clone();
    let heartbeat = options.heartbeat;
    let (address, verb) = (step.address.clone(), step.verb);
    running.spawn(async move {
        let started = Instant::now();
        // A panicking provider fails its own step, nothing more.
        let work = futures::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(
            provider.execute(operation),
        ));
        tokio::pin!(work);
        let mut ticker =
            tokio::time::interval_at(tokio::time::Instant::now() + heartbeat, heartbeat);
        let result = loop {
            tokio::select! {
                result = &mut work => break result.unwrap_or_else(|_| Err(StepError::new("the provider panicked (a vpcform bug); please report it"))),
                _ = ticker.tick() => {
                    let _ = events.send(Event::StillRunning { address: address.clone(), verb, elapsed: started.elapsed() });
                }
            }
        };
        Done::Step(i, result, started.elapsed())
    });
}

/// After an interrupt: every step not started is recorded as skipped.
fn skip_unstarted(
    graph: &ApplyGraph,
    finished: &[bool],
    report: &mut Report,
    events: &UnboundedSender<Event>,
) {
    report.interrupted = true;
    for (i, step) in graph.steps.iter().enumerate() {
        if !finished[i] {
            let reason = "not started: apply was interrupted".to_string();
            let _ = events.send(Event::Skipped {
                address: step.address.clone(),
                verb: step.verb,
                reason: reason.clone(),
            });
            report.steps.push((
                step.address.clone(),
                step.verb,
                StepResult::Skipped { reason },
            ));
        }
    }
}

/// A retag's result in the report (a failure reported as it happens).
fn record_retag(
    report: &mut Report,
    container: Address,
    result: Result<Outcome, StepError>,
    events: &UnboundedSender<Event>,
) {
    let step_result = match result {
        Ok(o) => StepResult::Applied { id: o.id },
        Err(e) => {
            let _ = events.send(Event::Failed {
                address: container.clone(),
                verb: Verb::Retag,
                message: e.message.clone(),
                elapsed: Duration::ZERO,
            });
            StepResult::Failed { message: e.message }
        }
    };
    report.steps.push((container, Verb::Retag, step_result));
}

/// Records a failure and skips everything that (transitively) waits on it.
fn fail(
    i: usize,
    message: String,
    graph: &ApplyGraph,
    dependents: &[Vec<usize>],
    finished: &mut [bool],
    report: &mut Report,
    events: &UnboundedSender<Event>,
) {
    finished[i] = true;
    let failed = &graph.steps[i];
    report.steps.push((
        failed.address.clone(),
        failed.verb,
        StepResult::Failed { message },
    ));
    let mut queue: VecDeque<usize> = dependents[i].iter().copied().collect();
    while let Some(d) = queue.pop_front() {
        if finished[d] {
            continue;
        }
        finished[d] = true;
        let step = &graph.steps[d];
        let reason = format!("{} {} failed", failed.verb, failed.address);
        let _ = events.send(Event::Skipped {
            address: step.address.clone(),
            verb: step.verb,
            reason: reason.clone(),
        });
        report.steps.push((
            step.address.clone(),
            step.verb,
            StepResult::Skipped { reason },
        ));
        queue.extend(dependents[d].iter().copied());
    }
}

/// The operation of one step, with the values that only exist now filled in.
fn operation(
    plan: &Plan,
    change: &ResourceChange,
    verb: Verb,
    outcomes: &HashMap<Address, Outcome>,
) -> Result<Operation, StepError> {
    let mut op = Operation {
        stack: plan.stack.clone(),
        address: change.address.clone(),
        kind: change.kind,
        verb,
        id: change.id.clone(),
        attrs: BTreeMap::new(),
        before: change.before.clone(),
        changed: change.changes.iter().map(|c| c.name.clone()).collect(),
        lookups: BTreeMap::new(),
        config_hash: change.config_hash.clone(),
    };
    match verb {
        // The old object, as read.
        Verb::Delete | Verb::StandIn => return Ok(op),
        // The new object takes over from the stand-in.
        Verb::StandOut => {
            let new = outcomes
                .get(&change.address)
                .ok_or_else(|| StepError::new(format!("{} was not created", change.address)))?;
            op.id = Some(new.id.clone());
            op.attrs = change.after.clone();
            return Ok(op);
        }
        Verb::Create | Verb::Update | Verb::Adopt | Verb::Retag => {}
    }
    if matches!(change.action, Action::Replace { .. }) {
        op.id = None; // the create half makes a new object
    }
    // Created with its hash marked unfinished: some kinds take more than one
    // call (attributes, implicit objects); the hash alone is recorded last.
    if verb == Verb::Create && change.kind.container().is_none() {
        op.config_hash = op
            .config_hash
            .map(|h| format!("{h}{}", vpcform_diff::CONFIG_UNFINISHED));
    }
    op.attrs = change.after.clone();
    let value_of = |from: &Address, attribute: &str| -> Result<Value, StepError> {
        let outcome = outcomes.get(from).ok_or_else(|| {
            StepError::new(format!(
                "{from} has no result yet, but {} needs its {attribute}",
                change.address
            ))
        })?;
        if attribute == attr::ID.as_str() {
            return Ok(Value::String(outcome.id.clone()));
        }
        outcome.attrs.get(attribute).cloned().ok_or_else(|| {
            StepError::new(format!(
                "{from} did not report `{attribute}`, which {} needs",
                change.address
            ))
        })
    };
    for (name, unknown) in &change.after_unknown {
        if let Awaited::SsmParameter(parameter) = &unknown.attribute
            && unknown.from == change.address
        {
            op.lookups
                .insert(name.clone(), Lookup::SsmParameter(parameter.clone()));
            continue;
        }
        let value = if unknown.list.is_empty() {
            value_of(&unknown.from, &unknown.attribute.to_string())?
        } else {
            let mut items = Vec::with_capacity(unknown.list.len());
            for element in &unknown.list {
                items.push(match element {
                    ListElement::Known(id) => Value::String(id.clone()),
                    ListElement::Pending { pending } => value_of(pending, attr::ID.as_str())?,
                });
            }
            Value::Array(items)
        };
        op.attrs.insert(name.clone(), value);
    }
    Ok(op)
}

/// Records the declaration hash on objects this run created or changed
/// (their own attributes or their implicit objects), once every step of
/// theirs succeeded: a step skipped (a failure's dependent, or one an
/// interrupt kept from starting: the walk records those too) leaves the
/// object unfinished. The walk starts each retag as soon as its container's
/// last step succeeded; this finishes what it could not start (an
/// interrupt stops new work, but what finished is still recorded), still
/// `parallelism` at a time.
async fn retag(
    plan: &Plan,
    report: &mut Report,
    provider: Arc<dyn Provider>,
    parallelism: usize,
    events: &UnboundedSender<Event>,
) {
    use futures::stream::StreamExt as _;
    let ops = retag_operations(plan, report);
    let results: Vec<(Address, Result<Outcome, StepError>)> = futures::stream::iter(ops)
        .map(|(container, op)| {
            let provider = provider.clone();
            async move { (container, guarded(&provider, op).await) }
        })
        .buffered(parallelism.max(1))
        .collect()
        .await;
    for (container, result) in results {
        record_retag(report, container, result, events);
    }
}

/// The retag of each container whose steps all succeeded, in container order.
fn retag_operations(plan: &Plan, report: &Report) -> Vec<(Address, Operation)> {
    let mut touched: BTreeMap<Address, bool> = BTreeMap::new(); // container → all succeeded
    for (address, _, result) in &report.steps {
        let ok = matches!(result, StepResult::Applied { .. });
        *touched.entry(container_of(address)).or_insert(true) &= ok;
    }
    touched
        .into_iter()
        .filter(|(_, all_ok)| *all_ok)
        .filter_map(|(container, _)| {
            let op = retag_operation(plan, report, &container)?;
            Some((container, op))
        })
        .collect()
}

/// The object an address belongs to: itself, or its container.
fn container_of(address: &Address) -> Address {
    ResourceKind::container_of(address).unwrap_or_else(|| address.clone())
}

/// The retag of `container`, whose steps all succeeded; `None` when it
/// needs none (no hash, no id, or retagged already).
fn retag_operation(plan: &Plan, report: &Report, container: &Address) -> Option<Operation> {
    let change = plan.changes.iter().find(|c| c.address == *container)?;
    let retagged = report
        .steps
        .iter()
        .any(|(a, v, _)| a == container && *v == Verb::Retag);
    if retagged {
        return None; // a step of the plan already did (finishing an earlier apply)
    }
    // A container created in this run (its hash recorded unfinished): its new id.
    let created = report
        .steps
        .iter()
        .filter(|(a, v, _)| a == container && *v == Verb::Create)
        .find_map(|(_, _, r)| match r {
            StepResult::Applied { id } => Some(id),
            StepResult::Failed { .. } | StepResult::Skipped { .. } => None,
        });
    let id = match (&change.action, created) {
        (Action::NoOp | Action::Update | Action::Adopt, _) => change.id.as_ref(),
        (Action::Create | Action::Replace { .. }, created) => created,
        (Action::Delete, _) => None,
    }?;
    let hash = change.config_hash.as_ref()?;
    Some(Operation {
        stack: plan.stack.clone(),
        address: container.clone(),
        kind: change.kind,
        verb: Verb::Retag,
        id: Some(id.clone()),
        attrs: change.after.clone(),
        before: change.before.clone(),
        changed: Vec::new(),
        lookups: BTreeMap::new(),
        config_hash: Some(hash.clone()),
    })
}
