//! Executor ordering and failure handling, against an in-memory provider that
//! enforces referential integrity the way AWS does (a create needs the objects
//! it names; a delete is refused while others refer to the object). This is
//! not evidence that AWS works; the end-to-end tests against moto are.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use vpcform_diff::{LiveObject, LiveState, Plan, PlanInput, TAG_CONFIG};
use vpcform_exec::{
    BoxFuture, Event, Lookup, Operation, Options, Outcome, Provider, StepError, StepResult,
    StopSignal, Verb, execute,
};
use vpcform_topology::{Address, ResourceKind, generate};

const SSM: &str = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";
const AMI: &str = "ami-from-ssm";

#[derive(Default)]
struct Memory {
    objects: Mutex<BTreeMap<String, LiveObject>>, // id → object
    log: Mutex<Vec<(Address, Verb, bool)>>,       // (step, verb, started?) in order
    running: Mutex<usize>,
    max_running: Mutex<usize>,
    fail: HashSet<Address>,
    delay: Duration,
    next: Mutex<u64>,
}

/// Strings in `value` that name an object of `objects` (by id or ARN), as AWS would resolve them.
fn refs_in(value: &Value, objects: &BTreeMap<String, LiveObject>, out: &mut Vec<String>) {
    match value {
        Value::String(s) => {
            for (id, o) in objects {
                if id == s || o.attrs.get("arn").and_then(Value::as_str) == Some(s) {
                    out.push(id.clone());
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs_in(v, objects, out)),
        _ => {}
    }
}

/// Ids as AWS makes them: names for roles and log groups, ARNs for policies.
fn aws_like_id(op: &Operation, n: u64) -> String {
    let attr = |k: &str| {
        op.attrs
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    match op.kind {
        vpcform_topology::ResourceKind::IamRole => attr("role_name"),
        vpcform_topology::ResourceKind::LogGroup => attr("log_group_name"),
        vpcform_topology::ResourceKind::IamPolicy => format!(
            "arn:aws:iam::123456789012:policy{}{}",
            attr("path"),
            attr("policy_name")
        ),
        _ => format!("mem-{n}"),
    }
}

fn stand_in_address(of: &Address) -> Address {
    Address::new(of.kind, format!("{}-vpcform-stand-in", of.name))
}

/// References to `from` in an object's attributes, as AWS keeps them, now name `to`.
fn swap_refs(object: &mut LiveObject, from: &str, to: &str) {
    fn swap(value: &mut Value, from: &str, to: &str) {
        match value {
            Value::String(s) if s == from => *s = to.to_string(),
            Value::Array(items) => items.iter_mut().for_each(|v| swap(v, from, to)),
            _ => {}
        }
    }
    for (k, v) in object.attrs.iter_mut() {
        if k != "arn" && k != "tags" {
            swap(v, from, to);
        }
    }
}

fn collect(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
        _ => {}
    }
}

impl Memory {
    fn live(&self) -> LiveState {
        let mut live = LiveState::default();
        live.lookups.insert(SSM.into(), AMI.into());
        for o in self.objects.lock().unwrap().values() {
            live.insert(o.clone());
        }
        live
    }

    fn apply(&self, op: &Operation) -> Result<Outcome, StepError> {
        let mut objects = self.objects.lock().unwrap();
        match op.verb {
            Verb::Create => {
                // Every id-shaped reference must name an existing object.
                let mut pending = Vec::new();
                for (k, v) in &op.attrs {
                    if k.ends_with("_id") || k.ends_with("_ids") || k.ends_with("_arn") {
                        let mut names = Vec::new();
                        collect(v, &mut names);
                        pending.extend(names);
                    }
                }
                for r in pending {
                    let mut found = Vec::new();
                    refs_in(&Value::String(r.clone()), &objects, &mut found);
                    if found.is_empty() {
                        return Err(StepError::new(format!(
                            "{}: referenced {r} does not exist",
                            op.address
                        )));
                    }
                }
                let mut next = self.next.lock().unwrap();
                *next += 1;
                let id = aws_like_id(op, *next);
                let mut attrs = op.attrs.clone();
                for (name, lookup) in &op.lookups {
                    let Lookup::SsmParameter(parameter) = lookup;
                    assert_eq!(parameter, SSM, "unexpected lookup {lookup:?}");
                    attrs.insert(name.clone(), Value::String(AMI.into()));
                }
                let arn = if id.starts_with("arn:") {
                    id.clone()
                } else {
                    format!("arn:aws:mem:::{id}")
                };
                attrs.insert("arn".into(), Value::String(arn));
                if let (Some(hash), Some(Value::Object(tags))) =
                    (&op.config_hash, attrs.get_mut("tags"))
                {
                    tags.insert(TAG_CONFIG.into(), Value::String(hash.clone()));
                }
                objects.insert(
                    id.clone(),
                    LiveObject {
                        address: op.address.clone(),
                        id: id.clone(),
                        attrs: attrs.clone(),
                        unowned: false,
                    },
                );
                Ok(Outcome { id, attrs })
            }
            Verb::Update | Verb::Adopt | Verb::Retag => {
                let id = op
                    .id
                    .clone()
                    .ok_or_else(|| StepError::new("update without id"))?;
                let object = objects
                    .get_mut(&id)
                    .ok_or_else(|| StepError::new(format!("{id} not found")))?;
                if op.verb != Verb::Retag {
                    for (k, v) in &op.attrs {
                        object.attrs.insert(k.clone(), v.clone());
                    }
                }
                if let (Some(hash), Some(Value::Object(tags))) =
                    (&op.config_hash, object.attrs.get_mut("tags"))
                {
                    tags.insert(TAG_CONFIG.into(), Value::String(hash.clone()));
                }
                Ok(Outcome {
                    id,
                    attrs: object.attrs.clone(),
                })
            }
            Verb::StandIn => {
                let old = op
                    .id
                    .clone()
                    .ok_or_else(|| StepError::new("stand-in without id"))?;
                let mut copy = objects
                    .get(&old)
                    .cloned()
                    .ok_or_else(|| StepError::new(format!("{old} not found")))?;
                let mut next = self.next.lock().unwrap();
                *next += 1;
                copy.id = format!("mem-{}", *next);
                copy.address = stand_in_address(&op.address);
                let stand_in = copy.id.clone();
                objects.insert(stand_in.clone(), copy);
                // Its users, not its own implicit objects, move to the stand-in.
                for other in objects.values_mut() {
                    if ResourceKind::container_of(&other.address).as_ref() != Some(&op.address) {
                        swap_refs(other, &old, &stand_in);
                    }
                }
                Ok(Outcome {
                    id: stand_in,
                    attrs: BTreeMap::new(),
                })
            }
            Verb::StandOut => {
                let new = op
                    .id
                    .clone()
                    .ok_or_else(|| StepError::new("stand-out without id"))?;
                let stand_in = stand_in_address(&op.address);
                let Some(held) = objects
                    .values()
                    .find(|o| o.address == stand_in)
                    .map(|o| o.id.clone())
                else {
                    return Ok(Outcome {
                        id: new,
                        attrs: BTreeMap::new(),
                    });
                };
                for other in objects.values_mut() {
                    swap_refs(other, &held, &new);
                }
                objects.remove(&held);
                Ok(Outcome {
                    id: new,
                    attrs: BTreeMap::new(),
                })
            }
            Verb::Delete => {
                let id = op
                    .id
                    .clone()
                    .ok_or_else(|| StepError::new("delete without id"))?;
                for other in objects.values().filter(|o| o.id != id) {
                    let mut refs = Vec::new();
                    for (k, v) in &other.attrs {
                        if k != "arn" && k != "tags" {
                            refs_in(v, &objects, &mut refs);
                        }
                    }
                    if refs.contains(&id) {
                        return Err(StepError::new(format!(
                            "DependencyViolation: {} still refers to {id} ({})",
                            other.address, op.address
                        )));
                    }
                }
                objects
                    .remove(&id)
                    .ok_or_else(|| StepError::new(format!("{id} not found")))?;
                Ok(Outcome {
                    id,
                    attrs: BTreeMap::new(),
                })
            }
        }
    }
}

impl Provider for Memory {
    fn execute(&self, op: Operation) -> BoxFuture<'_, Result<Outcome, StepError>> {
        Box::pin(async move {
            {
                let mut running = self.running.lock().unwrap();
                *running += 1;
                let mut max = self.max_running.lock().unwrap();
                *max = (*max).max(*running);
                self.log
                    .lock()
                    .unwrap()
                    .push((op.address.clone(), op.verb, true));
            }
            tokio::time::sleep(self.delay).await;
            let result = if self.fail.contains(&op.address) {
                Err(StepError::new("InjectedFailure: no"))
            } else {
                self.apply(&op)
            };
            *self.running.lock().unwrap() -= 1;
            self.log
                .lock()
                .unwrap()
                .push((op.address.clone(), op.verb, false));
            result
        })
    }
}

fn plan_for(yaml: &str, live: &LiveState) -> Plan {
    let loaded = vpcform_topology::load("t.yaml", yaml.as_bytes());
    let (t, g) = loaded
        .valid()
        .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
    vpcform_diff::plan(PlanInput {
        topology: t,
        graph: g,
        live,
        topology_hash: "h",
    })
}

fn seed() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../topology.yaml"))
        .unwrap()
}

async fn run(
    plan: &Plan,
    memory: Arc<Memory>,
    parallelism: usize,
) -> (vpcform_exec::Report, Vec<Event>) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = Options {
        parallelism,
        heartbeat: Duration::from_secs(3600),
    };
    let report = execute(plan, memory, &options, tx, StopSignal::default()).await;
    let mut events = Vec::new();
    while let Ok(e) = rx.try_recv() {
        events.push(e);
    }
    (report, events)
}

/// Position in the log where `address`'s step of `verb` ended / started.
fn at(memory: &Memory, address: &str, verb: Verb, started: bool) -> usize {
    let a = Address::parse(address).unwrap();
    memory
        .log
        .lock()
        .unwrap()
        .iter()
        .position(|(x, v, s)| *x == a && *v == verb && *s == started)
        .unwrap_or_else(|| panic!("{address} {verb} not in log"))
}

#[tokio::test]
async fn seed_applies_in_dependency_order_and_replans_clean() {
    let memory = Arc::new(Memory {
        delay: Duration::from_millis(2),
        ..Memory::default()
    });
    let plan = plan_for(&seed(), &LiveState::default());
    let (report, events) = run(&plan, memory.clone(), 10).await;
    assert!(
        report.succeeded(),
        "{:#?}",
        report.failed().collect::<Vec<_>>()
    );
    assert_eq!(report.added(), 31);
    let before = |a: &str, b: &str| {
        assert!(
            at(&memory, a, Verb::Create, false) < at(&memory, b, Verb::Create, true),
            "{a} must finish before {b} starts"
        )
    };
    before("vpc.network-1", "subnet.network-1-public");
    before("vpc-peering.vpc1-vpc2", "route.network-1-rt[10.2.0.0/16]");
    before(
        "internet-gateway-attachment.network-2-igw",
        "route.network-2-rt[0.0.0.0/0]",
    );
    before(
        "iam-role-policy-attachment.flow-log-role[flow-log-policy]",
        "flow-log.network-1-flow-log",
    );
    before("security-group.instance-2-sg", "instance.instance-2");
    assert!(events.iter().any(|e| matches!(e, Event::Started { .. })));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Finished { .. }))
            .count(),
        31
    );

    // The provider's state, read back, matches the topology exactly: ids flowed to every reference.
    let replan = plan_for(&seed(), &memory.live());
    assert!(
        !replan.has_changes(),
        "{}",
        vpcform_diff::to_text(&replan, &Default::default())
    );
}

#[tokio::test]
async fn destroy_deletes_dependents_first_and_leaves_nothing() {
    let memory = Arc::new(Memory::default());
    let (report, _) = run(
        &plan_for(&seed(), &LiveState::default()),
        memory.clone(),
        10,
    )
    .await;
    assert!(report.succeeded());
    let empty = "stack: vpc-monitoring\n";
    let destroy = plan_for(empty, &memory.live());
    assert_eq!(destroy.summary().destroy, destroy.actions().count());
    let (report, _) = run(&destroy, memory.clone(), 10).await;
    assert!(
        report.succeeded(),
        "{:#?}",
        report.failed().collect::<Vec<_>>()
    );
    assert!(
        memory.objects.lock().unwrap().is_empty(),
        "left: {:?}",
        memory
            .objects
            .lock()
            .unwrap()
            .values()
            .map(|o| o.address.to_string())
            .collect::<Vec<_>>()
    );
    let after = |a: &str, b: &str| {
        assert!(
            at(&memory, a, Verb::Delete, true) > at(&memory, b, Verb::Delete, false),
            "{a} must be deleted after {b}"
        )
    };
    after("vpc.network-1", "subnet.network-1-public");
    after("subnet.network-1-public", "instance.instance-1");
    after("vpc-peering.vpc1-vpc2", "route.network-1-rt[10.2.0.0/16]");
    after(
        "iam-role.flow-log-role",
        "iam-role-policy-attachment.flow-log-role[flow-log-policy]",
    );
    after("iam-role.flow-log-role", "flow-log.network-1-flow-log");
}

#[tokio::test]
async fn a_failure_skips_dependents_and_independent_work_continues() {
    let memory = Arc::new(Memory {
        fail: HashSet::from([Address::parse("vpc.network-2").unwrap()]),
        ..Memory::default()
    });
    let plan = plan_for(&seed(), &LiveState::default());
    let (report, _) = run(&plan, memory.clone(), 4).await;
    assert!(!report.succeeded());
    let failed: Vec<String> = report.failed().map(|(a, _, _)| a.to_string()).collect();
    assert_eq!(failed, ["vpc.network-2"]);
    let skipped: HashSet<String> = report.skipped().map(|(a, _, _)| a.to_string()).collect();
    for s in [
        "subnet.network-2-public",
        "instance.instance-2",
        "vpc-peering.vpc1-vpc2",
        "route.network-1-rt[10.2.0.0/16]",
        "flow-log.network-2-flow-log",
    ] {
        assert!(skipped.contains(s), "{s} should be skipped");
    }
    for applied in [
        "instance.instance-1",
        "flow-log.network-1-flow-log",
        "route.network-1-rt[0.0.0.0/0]",
    ] {
        assert!(
            report.steps.iter().any(|(a, _, r)| a.to_string() == applied
                && matches!(r, vpcform_exec::StepResult::Applied { .. })),
            "{applied}"
        );
    }
    // The next plan is exactly the remaining work.
    let remaining = plan_for(&seed(), &memory.live());
    let mut left: Vec<String> = remaining.actions().map(|c| c.address.to_string()).collect();
    let mut expected: Vec<String> = failed.into_iter().chain(skipped).collect();
    left.sort();
    expected.sort();
    assert_eq!(left, expected);
}

#[tokio::test]
async fn parallelism_is_bounded_and_used() {
    let wide = generate::wide_topology("wide", 20);
    for (limit, expect_parallel) in [(1, false), (10, true)] {
        let memory = Arc::new(Memory {
            delay: Duration::from_millis(5),
            ..Memory::default()
        });
        let (report, _) = run(
            &plan_for(&wide, &LiveState::default()),
            memory.clone(),
            limit,
        )
        .await;
        assert!(report.succeeded());
        let max = *memory.max_running.lock().unwrap();
        assert!(
            max <= limit,
            "{max} steps ran at once with --parallelism {limit}"
        );
        assert_eq!(max > 1, expect_parallel, "max {max} with limit {limit}");
    }
}

#[tokio::test]
async fn stopping_lets_running_steps_finish_and_starts_nothing_new() {
    let memory = Arc::new(Memory {
        delay: Duration::from_millis(20),
        ..Memory::default()
    });
    let plan = plan_for(&seed(), &LiveState::default());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stop = StopSignal::default();
    let stopper = stop.clone();
    let options = Options {
        parallelism: 2,
        heartbeat: Duration::from_secs(3600),
    };
    let handle = tokio::spawn({
        let memory = memory.clone();
        async move { execute(&plan, memory, &options, tx, stop).await }
    });
    // Stop as soon as the first step has started.
    while let Some(e) = rx.recv().await {
        if matches!(e, Event::Started { .. }) {
            stopper.stop();
            break;
        }
    }
    let report = handle.await.unwrap();
    assert!(report.interrupted);
    let log = memory.log.lock().unwrap();
    let steps = |started: bool| {
        log.iter()
            .filter(|(_, v, s)| *v != Verb::Retag && *s == started)
            .count()
    };
    assert_eq!(steps(true), steps(false), "every started step finished");
    assert!(
        steps(true) <= 2,
        "no step started after the stop ({})",
        steps(true)
    );
    assert!(report.skipped().count() >= 29);
    // What finished is recorded as finished: a retag for each object whose
    // steps all ran, none for one whose implicit objects never started.
    let applied: Vec<&Address> = report
        .steps
        .iter()
        .filter(|(_, v, r)| *v != Verb::Retag && matches!(r, StepResult::Applied { .. }))
        .map(|(a, _, _)| a)
        .collect();
    let retagged: Vec<&Address> = log
        .iter()
        .filter(|(_, v, s)| *v == Verb::Retag && *s)
        .map(|(a, _, _)| a)
        .collect();
    assert!(
        !retagged.is_empty(),
        "what finished before the stop is recorded"
    );
    for address in &retagged {
        assert!(
            applied.contains(address),
            "{address} retagged but never applied"
        );
        let pending = report
            .skipped()
            .any(|(a, _, _)| ResourceKind::container_of(a).as_ref() == Some(*address));
        assert!(!pending, "{address} retagged with implicit objects pending");
    }
}

#[tokio::test]
async fn a_group_replaced_under_its_own_name_is_held_by_a_stand_in() {
    let memory = Arc::new(Memory {
        delay: Duration::from_millis(1),
        ..Memory::default()
    });
    let (report, _) = run(
        &plan_for(&seed(), &LiveState::default()),
        memory.clone(),
        10,
    )
    .await;
    assert!(report.succeeded(), "{report:?}");
    let edited = seed().replacen(
        "description: SSH and ICMP for connectivity tests",
        "description: SSH and ICMP only",
        1,
    );
    let plan = plan_for(&edited, &memory.live());
    let group = plan
        .changes
        .iter()
        .find(|c| c.address.to_string() == "security-group.instance-1-sg")
        .unwrap();
    assert!(group.stand_in, "{:?}", group.action);
    let (report, _) = run(&plan, memory.clone(), 10).await;
    assert!(report.succeeded(), "{report:?}");

    // The stand-in held the instance before the old group went, and went last.
    let held = at(
        &memory,
        "security-group.instance-1-sg",
        Verb::StandIn,
        false,
    );
    let deleted = at(&memory, "security-group.instance-1-sg", Verb::Delete, true);
    let moved = at(&memory, "instance.instance-1", Verb::Update, true);
    let rules = at(
        &memory,
        "security-group-rule.instance-1-sg[ingress/tcp/22..22/0.0.0.0/0]",
        Verb::Create,
        false,
    );
    let released = at(
        &memory,
        "security-group.instance-1-sg",
        Verb::StandOut,
        true,
    );
    assert!(held < deleted && rules < moved && moved < released);

    // Every instance holds a group with its declared rules; no stand-in is left.
    let live = memory.live();
    let new_group = &live.objects[&Address::parse("security-group.instance-1-sg").unwrap()];
    let instance = &live.objects[&Address::parse("instance.instance-1").unwrap()];
    assert_eq!(
        instance.attrs["security_group_ids"],
        serde_json::json!([new_group.id])
    );
    let rules_of_group = live
        .objects
        .values()
        .filter(|o| o.attrs.get("group_id") == Some(&Value::String(new_group.id.clone())))
        .count();
    assert_eq!(rules_of_group, 2);
    assert!(
        live.objects.keys().all(|a| !a.name.contains("stand-in")),
        "{:?}",
        live.objects.keys()
    );
    let again = plan_for(&edited, &live);
    assert!(
        again
            .changes
            .iter()
            .all(|c| c.action == vpcform_diff::Action::NoOp),
        "clean after"
    );
}

#[tokio::test]
async fn what_a_stopped_apply_never_created_is_unfinished_not_deleted() {
    let rule = "security-group-rule.instance-1-sg[ingress/tcp/22..22/0.0.0.0/0]";
    let memory = Arc::new(Memory {
        fail: HashSet::from([Address::parse(rule).unwrap()]),
        ..Memory::default()
    });
    let (report, _) = run(&plan_for(&seed(), &LiveState::default()), memory.clone(), 4).await;
    assert!(!report.succeeded());
    let next = plan_for(&seed(), &memory.live());
    let missing = next
        .changes
        .iter()
        .find(|c| c.address.to_string() == rule)
        .unwrap();
    assert!(missing.unfinished && missing.drift.is_none(), "{missing:?}");

    // Once an apply finished, a rule that goes missing was deleted outside vpcform.
    let healthy = Arc::new(Memory::default());
    let (report, _) = run(
        &plan_for(&seed(), &LiveState::default()),
        healthy.clone(),
        4,
    )
    .await;
    assert!(report.succeeded());
    let mut live = healthy.live();
    live.objects.remove(&Address::parse(rule).unwrap());
    let next = plan_for(&seed(), &live);
    let missing = next
        .changes
        .iter()
        .find(|c| c.address.to_string() == rule)
        .unwrap();
    assert!(!missing.unfinished, "{missing:?}");
    assert_eq!(
        missing.drift.as_ref().map(|d| d.summary.as_str()),
        Some("deleted outside vpcform")
    );
}
