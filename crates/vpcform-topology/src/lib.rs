//! vpcform's topology language.
//!
//! `load` turns the bytes of a `topology.yaml` into a typed [`Topology`], every
//! problem found on the way as located [`Diagnostic`]s, and the
//! [`DependencyGraph`] that orders everything vpcform does. No AWS, no async.

mod address;
pub mod attr;
mod check;
pub(crate) use vpcform_lang::decode;
mod derived;
pub(crate) use vpcform_lang::diagnostic;
pub use vpcform_lang::{emit, escape};
mod expect;
pub mod export;
pub mod generate;
mod graph;
mod kind;
pub mod kinds;
pub(crate) use vpcform_lang::model;
pub mod policy;
mod ports;
pub mod queries;
mod registry;
mod route;
mod rules;
mod validate;
mod waiver;
pub mod waivers;
pub(crate) use vpcform_lang::yaml;

pub use address::{Address, ResourceKind, TargetKind};
pub use expect::{ExpectProtocol, Expectation};
pub use kind::{
    Attr, AttrSpec, Compare, Desired, DesiredAttrs, DesiredCx, IdShape, Kind, ReplaceOrder,
};
pub use kinds::flow_log::{
    FLOW_LOG_ACTIONS, FLOW_LOG_FIELDS, FLOW_LOGS_SERVICE, FlowLog, TrafficType,
};
pub use kinds::iam::{IamPolicy, IamRole, policy_path, policy_path_prefix};
pub use kinds::instance::Instance;
pub use kinds::internet_gateway::InternetGateway;
pub use kinds::log_group::{LogGroup, RETENTION_DAYS};
pub use kinds::peering::Peering;
pub use kinds::route_table::{Route, RouteTable};
pub use kinds::security_group::{Rule, SecurityGroup};
pub use kinds::subnet::Subnet;
pub use kinds::vpc::Vpc;
pub use registry::{
    Import, Section, TopologyIndex, UNDECLARED_TARGETS, desired, target_description,
};

/// Tag keys vpcform sets on everything it creates, in the create call.
pub const TAG_STACK: &str = "vpcform:stack";
pub const TAG_ADDRESS: &str = "vpcform:address";
pub use derived::{
    Direction, NormalRule, Peer, allows_action, decode_policy_document, default_egress,
    iam_matches, statements, string_or_list, trusts_service,
};
pub use diagnostic::{
    Diagnostic, DiagnosticRecord, Severity, SourceFile, Span, Style, did_you_mean,
};
pub use graph::{DependencyGraph, EdgeKind, GraphNode};
pub use model::{At, Named, Protocol, Ref, Tags, is_valid_name};
pub use petgraph::graph::NodeIndex;
pub use registry::Topology;
pub use route::{Destination, EffectiveRoute, RouteTarget};
pub use yaml::MAX_FILE_BYTES;

/// The result of loading a topology: what could be understood, and every problem.
#[derive(Debug)]
pub struct Loaded {
    pub source: SourceFile,
    /// Present when the file parsed as YAML and had the topology's outline.
    pub topology: Option<Topology>,
    /// Present when the topology has no errors.
    pub graph: Option<DependencyGraph>,
    /// Sorted by position.
    pub diagnostics: Vec<Diagnostic>,
    /// Policy-check findings on what the topology builds, waived or not
    /// (computed when the topology has no errors; the unwaived ones are
    /// also warnings in `diagnostics`).
    pub findings: Vec<waivers::Finding>,
}

impl Loaded {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }

    /// The topology and its graph, if there were no errors.
    pub fn valid(&self) -> Option<(&Topology, &DependencyGraph)> {
        Some((self.topology.as_ref()?, self.graph.as_ref()?))
    }
}

/// Reads and checks a topology file. I/O errors are returned as such; every
/// problem with the content is a diagnostic.
pub fn load_file(path: &std::path::Path) -> std::io::Result<Loaded> {
    use std::io::Read as _;
    let name = path.display().to_string();
    // Read through a cap, not by what metadata claims: /dev/zero, a FIFO or
    // a growing file stop at the limit.
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Ok(Loaded {
            source: SourceFile::new(name, String::new()),
            topology: None,
            graph: None,
            diagnostics: vec![yaml::too_large_read()],
            findings: Vec::new(),
        });
    }
    Ok(load(&name, &bytes))
}

/// Checks a topology given as bytes; `name` is used in messages.
pub fn load(name: &str, bytes: &[u8]) -> Loaded {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let source = SourceFile::new(name, text);
    let root = match yaml::parse(bytes) {
        Ok(root) => root,
        Err(d) => {
            return Loaded {
                source,
                topology: None,
                graph: None,
                diagnostics: vec![*d],
                findings: Vec::new(),
            };
        }
    };
    let mut cx = decode::Cx::default();
    let topology = registry::decode_topology(&root, &mut cx);
    let mut graph = None;
    let mut findings = Vec::new();
    if let Some(t) = &topology {
        let index = validate::NameIndex::build(&t.declared, &mut cx);
        check::validate(t, &index, &mut cx);
        let g = DependencyGraph::build(t);
        if let Err(cycle) = g.topological_order() {
            cx.push(g.cycle_diagnostic(&cycle));
        }
        if !cx.diags.iter().any(Diagnostic::is_error) {
            findings = check_policy(t, &g, &mut cx);
            graph = Some(g);
        }
    }
    let mut diagnostics = cx.diags;
    diagnostics.sort_by_key(|d| (d.span.line, d.span.column, d.severity));
    Loaded {
        source,
        topology,
        graph,
        diagnostics,
        findings,
    }
}

/// The policy checks on what the topology builds; unwaived findings are warnings.
fn check_policy(t: &Topology, g: &DependencyGraph, cx: &mut decode::Cx) -> Vec<waivers::Finding> {
    let raw = policy::findings(&policy::desired_facts(t, g));
    let findings = waivers::assess(t, g, raw, cx);
    for f in findings.iter().filter(|f| f.waiver.is_none()) {
        let Some(rule) = policy::rule(f.finding.rule) else {
            continue;
        };
        cx.push(
            Diagnostic::warning(
                rule.id,
                f.span,
                format!("{}: {}", f.finding.address, f.finding.message),
            )
            .with_label(rule.title)
            .with_help(format!(
                "{}; or accept it under `waivers:` with `rule: {}`, `resource:` and a `reason:`",
                rule.fix, rule.id
            )),
        );
    }
    findings
}

/// The JSON Schema of the topology language, for editors (`vpcform schema`).
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Topology)).unwrap_or_default();
    if let Some(obj) = schema.as_object_mut() {
        obj.insert(
            "$id".into(),
            serde_json::Value::String("https://vpcform.dev/schema/topology-v1.json".into()),
        );
    }
    schema
}
