//! `vpcform import`'s writer against the planner: for every topology of the
//! planner corpus, the examples and the seed, the account it builds, disowned (built by hand), written
//! back as a topology by `export::write`, must validate and plan as
//! adoptions only: nothing to add, replace or destroy, and no attribute
//! changed but the ownership tags.

mod support;

use vpcform_diff::{Action, LiveState};
use vpcform_topology::export::{Origin, write};

fn disowned(file: &std::path::Path) -> Option<LiveState> {
    let text = std::fs::read(file).ok()?;
    let loaded = vpcform_topology::load("topology.yaml", &text);
    loaded.valid()?;
    let mut live = support::applied(&loaded);
    support::disown(&mut live);
    aws_shaped(&mut live);
    Some(live)
}

/// The live objects at the addresses the written topology adopts them
/// under (as the reader places them), children and their keys renamed alike.
fn placed(live: LiveState, topology: &vpcform_topology::Topology) -> LiveState {
    use std::collections::HashMap;
    use vpcform_topology::Address;
    let by_id: HashMap<(vpcform_topology::ResourceKind, &str), Address> = topology
        .imports()
        .into_iter()
        .map(|i| ((i.address.kind, i.id.value.as_str()), i.address))
        .collect();
    let renames: HashMap<String, String> = live
        .objects
        .values()
        .filter_map(|o| {
            let new = by_id.get(&(o.address.kind, o.id.as_str()))?;
            Some((o.address.name.clone(), new.name.clone()))
        })
        .collect();
    let rename_key = |key: &str| -> String {
        if let Some(new) = renames.get(key) {
            return new.clone();
        }
        match key.rsplit_once("sg:") {
            Some((head, group)) => format!("{head}sg:{}", renames.get(group).map_or(group, |n| n)),
            None => key.to_string(),
        }
    };
    let mut out = LiveState {
        lookups: live.lookups.clone(),
        ..LiveState::default()
    };
    for mut o in live.objects.into_values() {
        let name = renames
            .get(&o.address.name)
            .cloned()
            .unwrap_or(o.address.name.clone());
        o.address = Address {
            kind: o.address.kind,
            name,
            key: o.address.key.as_deref().map(rename_key),
        };
        out.insert(o);
    }
    out
}

/// The corpus's readable ids (`vpc-network-1`) as AWS makes them
/// (`vpc-0000000000000001`), roles by their name, and every reference to
/// them changed alike: `import-id` takes only AWS's shapes.
fn aws_shaped(live: &mut LiveState) {
    use std::collections::HashMap;
    use vpcform_topology::ResourceKind as K;
    let mut new_ids: HashMap<String, (String, String)> = HashMap::new();
    for (n, o) in live.objects.values().enumerate() {
        let (id, referred_as) = match o.address.kind {
            K::IamRole => {
                let name = o.attrs["role_name"].as_str().unwrap().to_string();
                (
                    name.clone(),
                    format!("arn:aws:iam::123456789012:role/{name}"),
                )
            }
            K::LogGroup => {
                let name = o.attrs["log_group_name"].as_str().unwrap().to_string();
                (name.clone(), name)
            }
            K::IamPolicy => continue,
            // Kinds named in AWS keep their names (and a topic its ARN).
            K::SnsTopic
            | K::Alarm
            | K::ContributorInsightsRule
            | K::MetricFilter
            | K::Dashboard => {
                continue;
            }
            kind if kind.container().is_none() => {
                // The corpus's id is the prefix and the name (`tgw-attach-spoke-a`).
                let prefix =
                    o.id.strip_suffix(o.address.name.as_str())
                        .and_then(|p| p.strip_suffix('-'))
                        .unwrap_or_else(|| o.id.split('-').next().unwrap());
                let id = format!("{prefix}-{n:017x}");
                (id.clone(), id)
            }
            _ => continue,
        };
        new_ids.insert(o.id.clone(), (id, referred_as));
    }
    fn rewrite(v: &mut serde_json::Value, new_ids: &HashMap<String, (String, String)>) {
        match v {
            serde_json::Value::String(s) => {
                if let Some((_, referred_as)) = new_ids.get(s.as_str()) {
                    *s = referred_as.clone();
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(|i| rewrite(i, new_ids)),
            _ => {}
        }
    }
    for o in live.objects.values_mut() {
        if let Some((id, _)) = new_ids.get(&o.id) {
            o.id = id.clone();
        }
        for v in o.attrs.values_mut() {
            rewrite(v, &new_ids);
        }
    }
}

#[test]
fn every_written_topology_plans_as_adoptions_only() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<std::path::PathBuf> = support::cases()
        .into_iter()
        .map(|case| case.join("topology.yaml"))
        .chain([root.join("topology.yaml")])
        .collect();
    for example in std::fs::read_dir(root.join("examples")).unwrap() {
        files.push(example.unwrap().path());
    }
    let mut checked = 0;
    for file in files {
        let Some(live) = disowned(&file) else {
            continue;
        };
        let name = file.display().to_string();
        let origin = Origin {
            stack: "imported".into(),
            region: "us-east-1".into(),
            vpcs: vec!["vpc-…".into()],
            aws_prefix_lists: live
                .lookups
                .iter()
                .filter(|(_, id)| id.starts_with("pl-"))
                .map(|(name, id)| (id.clone(), name.clone()))
                .collect(),
        };
        let observed = vpcform_diff::to_observed(live.objects.values().cloned());
        let written = write(&origin, &observed, Vec::new());
        let loaded = vpcform_topology::load(&name, written.text.as_bytes());
        assert!(
            loaded.valid().is_some(),
            "{name}: the written topology does not validate: {:#?}\n{}",
            loaded.diagnostics,
            written.text
        );
        let live = placed(live, loaded.topology.as_ref().unwrap());
        let plan = support::plan(&loaded, &live);
        assert!(plan.errors.is_empty(), "{name}: {:#?}", plan.errors);
        for change in &plan.changes {
            let only_tags = change
                .changes
                .iter()
                .all(|c| c.name == vpcform_topology::attr::TAGS.as_str());
            assert!(
                matches!(change.action, Action::Adopt | Action::NoOp) && only_tags,
                "{name}: {} is {:?} with {:?}\n{}",
                change.address,
                change.action,
                change.changes,
                written.text
            );
        }
        let adopted = plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Adopt)
            .count();
        assert_eq!(adopted, written.declarations, "{name}\n{}", written.text);
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} topologies checked");
}
