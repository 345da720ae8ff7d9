//! Blueprints and values in other files of the repository: read beside the
//! topology, never outside its directory, and a mistake in one is shown in
//! that file, with the use that brought it in.

use vpcform_topology::{ExpandOptions, Style, load_file_with};

fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    dir
}

const TOPOLOGY: &str = "stack: s\nregion: us-east-1\nblueprints:\n  net: { file: lib/net.yaml }\nuse:\n  left: { blueprint: net, cidr: 10.1.0.0/16 }\n  right: { blueprint: net, cidr: 10.2.0.0/16 }\n";

#[test]
fn a_mistake_in_a_blueprint_file_is_shown_in_that_file_with_its_use() {
    let blueprint = "parameters:\n  cidr: { type: cidr }\nvpcs:\n  vpc: { cidr: \"${param.cidr}\" }\nsubnets:\n  app: { vpc: vpc, cidr: 10.9.0.0/24, availability-zone: us-east-1a }\n";
    let d = dir(&[("topology.yaml", TOPOLOGY), ("lib/net.yaml", blueprint)]);
    let loaded =
        load_file_with(&d.path().join("topology.yaml"), &ExpandOptions::default()).unwrap();
    let rendered: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| loaded.source.render(d, &Style::plain()))
        .collect();
    // The subnet lies outside both VPCs: one error per use, in lib/net.yaml.
    assert_eq!(rendered.len(), 2, "{rendered:#?}");
    assert!(rendered[0].contains("/lib/net.yaml:6:"), "{}", rendered[0]);
    assert!(
        rendered[0].contains("app: { vpc: vpc, cidr: 10.9.0.0/24"),
        "{}",
        rendered[0]
    );
    assert!(
        rendered
            .iter()
            .any(|r| r.contains("in `left`, a use of blueprint `net` at"))
    );
    assert!(
        rendered
            .iter()
            .any(|r| r.contains("in `right`, a use of blueprint `net` at"))
    );
    let record = loaded.source.record(&loaded.diagnostics[0]);
    assert!(record.file.ends_with("/lib/net.yaml"), "{}", record.file);
}

#[test]
fn files_outside_the_topology_directory_are_refused() {
    for path in ["../net.yaml", "/etc/hostname", "lib/../../net.yaml"] {
        let topology = TOPOLOGY.replace("lib/net.yaml", path);
        let d = dir(&[("topology.yaml", &topology)]);
        let loaded =
            load_file_with(&d.path().join("topology.yaml"), &ExpandOptions::default()).unwrap();
        let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            ["expansion-file"],
            "{path}: {:?}",
            loaded.diagnostics
        );
        assert!(
            loaded.diagnostics[0]
                .message
                .contains("outside the topology's directory")
        );
    }
}

#[test]
fn values_files_and_command_line_values_are_checked_like_any_other() {
    let topology = "stack: s\nregion: us-east-1\nparameters:\n  cidr: { type: cidr }\n  size: { type: number, default: 1, max: 4 }\nenvironments:\n  dev: { values-file: envs/dev.yaml }\nvpcs:\n  v: { cidr: \"${param.cidr}\" }\n";
    let d = dir(&[
        ("topology.yaml", topology),
        ("envs/dev.yaml", "cidr: 10.1.0.0/16\nsize: 9\n"),
    ]);
    let options = ExpandOptions {
        env: Some("dev".into()),
        ..Default::default()
    };
    let loaded = load_file_with(&d.path().join("topology.yaml"), &options).unwrap();
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, loaded.source.file_name(d.span)))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("parameter-value ") && errors[0].ends_with("/envs/dev.yaml"),
        "{errors:?}"
    );
    // --param wins over the file, and is checked too.
    let options = ExpandOptions {
        env: Some("dev".into()),
        params: vec![("size".into(), "3".into())],
        ..Default::default()
    };
    let loaded = load_file_with(&d.path().join("topology.yaml"), &options).unwrap();
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    assert_eq!(
        loaded.environment.as_ref().map(|e| e.stack.as_str()),
        Some("s-dev")
    );
    let options = ExpandOptions {
        env: Some("dev".into()),
        params: vec![("cidr".into(), "10.1.0.0".into())],
        ..Default::default()
    };
    let loaded = load_file_with(&d.path().join("topology.yaml"), &options).unwrap();
    assert!(
        loaded
            .diagnostics
            .iter()
            .any(|d| d.code == "parameter-value" && d.message.contains("--param cidr")),
        "{:?}",
        loaded.diagnostics
    );
}

/// Instances work wherever a plain name does: `add-routes` between them,
/// expectations and waivers repeated over them.
#[test]
fn instances_take_part_in_add_routes_expectations_and_waivers() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/instances.yaml");
    let loaded = load_file_with(&path, &ExpandOptions::default()).unwrap();
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let (topology, graph) = loaded.valid().unwrap();
    for route in [
        "route.hub-rt[10.1.0.0/16]",
        "route.hub-rt[10.2.0.0/16]",
        "route.spoke-rt[a][10.0.0.0/16]",
        "route.spoke-rt[b][10.0.0.0/16]",
    ] {
        let address = vpcform_topology::Address::parse(route).unwrap();
        assert!(graph.index_of(&address).is_some(), "{route}");
    }
    assert_eq!(topology.expect.len(), 3);
    assert_eq!(topology.waivers.len(), 6);
    // Every finding is waived: no policy warning is left.
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_topology_directory_is_refused_and_its_target_never_shown() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.yaml"),
        "api_token: SECRET-abc123\n",
    )
    .unwrap();
    let topology = "stack: s\nregion: us-east-1\nparameters:\n  cidr: { type: cidr }\nenvironments:\n  dev: { values-file: vals.yaml }\nvpcs:\n  v: { cidr: \"${param.cidr}\" }\n";
    let d = dir(&[("topology.yaml", topology)]);
    std::os::unix::fs::symlink(
        outside.path().join("secret.yaml"),
        d.path().join("vals.yaml"),
    )
    .unwrap();
    let options = ExpandOptions {
        env: Some("dev".into()),
        ..Default::default()
    };
    let loaded = load_file_with(&d.path().join("topology.yaml"), &options).unwrap();
    let text: String = loaded
        .diagnostics
        .iter()
        .map(|d| loaded.source.render(d, &Style::plain()))
        .collect();
    assert!(
        loaded
            .diagnostics
            .iter()
            .any(|d| d.code == "expansion-file"),
        "{text}"
    );
    assert!(!text.contains("SECRET"), "{text}");
}
