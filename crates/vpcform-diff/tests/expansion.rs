//! Parameters, environments, for-each and blueprints are only a way of
//! writing: an expanded topology plans exactly as the plain one written by
//! hand, and as its own `vpcform render` output read back.

use std::path::{Path, PathBuf};

use vpcform_diff::{LiveState, PlanInput};
use vpcform_topology::{ExpandOptions, Loaded, load_file_with};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

fn loaded(path: &Path, env: Option<&str>) -> Loaded {
    let options = ExpandOptions {
        env: env.map(str::to_string),
        ..Default::default()
    };
    let loaded = load_file_with(path, &options).unwrap();
    assert!(
        !loaded.has_errors(),
        "{}: {:?}",
        path.display(),
        loaded.diagnostics
    );
    loaded
}

/// The plan against an empty account, as JSON, without what names the file.
fn plan_json(loaded: &Loaded) -> serde_json::Value {
    let (topology, graph) = loaded.valid().unwrap();
    let plan = vpcform_diff::plan(PlanInput {
        topology,
        graph,
        live: &LiveState::default(),
        topology_hash: "0000",
    });
    let mut json = vpcform_diff::to_json(&plan, "test");
    // Where a finding was written differs between the files, not what it is.
    for f in json["policy_findings"].as_array_mut().into_iter().flatten() {
        f.as_object_mut()
            .map(|o| (o.remove("line"), o.remove("column")));
    }
    json
}

fn rendered(loaded: &Loaded, name: &str) -> Loaded {
    let text = loaded.render_plain().unwrap();
    let path =
        std::env::temp_dir().join(format!("vpcform-expansion-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    let back = self::loaded(&path, None);
    std::fs::remove_file(&path).ok();
    back
}

#[test]
fn a_blueprint_used_with_for_each_plans_as_the_network_written_by_hand() {
    let expanded = loaded(
        &repo("crates/vpcform-diff/tests/data/expansion/blueprint.yaml"),
        None,
    );
    let by_hand = loaded(
        &repo("crates/vpcform-diff/tests/data/expansion/blueprint.plain.yaml"),
        None,
    );
    let (a, b) = (plan_json(&expanded), plan_json(&by_hand));
    assert_eq!(a["resource_changes"].as_array().map(Vec::len), Some(18));
    assert_eq!(a, b);
}

#[test]
fn every_example_plans_as_its_rendered_topology() {
    for (file, env) in [
        ("examples/spokes.yaml", None),
        ("examples/tiers.yaml", None),
        ("examples/environments.yaml", Some("dev")),
        ("examples/environments.yaml", Some("prod")),
        ("topology.yaml", None),
    ] {
        let expanded = loaded(&repo(file), env);
        let name = format!("{}-{}", file.replace('/', "-"), env.unwrap_or("none"));
        let back = rendered(&expanded, &name);
        assert_eq!(plan_json(&expanded), plan_json(&back), "{file} {env:?}");
    }
}

#[test]
fn environments_differ_only_where_their_values_do() {
    let dev = plan_json(&loaded(&repo("examples/environments.yaml"), Some("dev")));
    let prod = plan_json(&loaded(&repo("examples/environments.yaml"), Some("prod")));
    let text = |v: &serde_json::Value| serde_json::to_string(v).unwrap();
    assert!(text(&dev).contains("10.1.0.0/24") && !text(&dev).contains("10.101."));
    assert!(text(&prod).contains("10.101.0.0/24") && text(&prod).contains("t3.small"));
    assert_eq!(dev["stack"], "vpc-monitoring-dev");
    assert_eq!(prod["stack"], "vpc-monitoring-prod");
    // The same objects; only routes are keyed by a value (their destination).
    let kinds = |v: &serde_json::Value| -> Vec<String> {
        v["resource_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["kind"].to_string())
            .collect()
    };
    assert_eq!(kinds(&dev), kinds(&prod));
}
