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
pub mod monitoring;
pub(crate) use vpcform_lang::model;
pub mod policy;
mod ports;
pub mod queries;
mod registry;
mod route;
mod rules;
mod schema;
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
    Import, Section, TopologyIndex, UNDECLARED_TARGETS, aws_name_attr, desired, target_description,
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
pub use vpcform_expand::{Environment, Options as ExpandOptions};
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
    /// The plain topology the expansion made (`vpcform render`), when the
    /// file parsed and used the expansion's language (a plain file is not
    /// kept twice).
    pub plain: Option<yaml::Node>,
    /// The environment chosen with `--env`: its stack, region and credentials.
    pub environment: Option<Environment>,
    /// Every environment the topology declares.
    pub environments: Vec<String>,
    /// What the plain topology depends on besides the file's text: the
    /// environment and parameter values chosen (part of a plan's binding).
    pub expansion_key: String,
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

    /// What a saved plan is bound to: the file's text and, when it used
    /// them, the other files it read and the environment and values chosen.
    pub fn binding_text(&self) -> std::borrow::Cow<'_, str> {
        if self.source.others.is_empty() && self.expansion_key.is_empty() {
            return std::borrow::Cow::Borrowed(&self.source.text);
        }
        let mut text = self.source.text.clone();
        for (name, other) in &self.source.others {
            text.push_str(&format!("\n--- {name} {}\n{other}", other.len()));
        }
        text.push_str(&format!("\n--- expansion\n{}", self.expansion_key));
        std::borrow::Cow::Owned(text)
    }

    /// The plain topology as YAML text (`vpcform render`).
    pub fn render_plain(&self) -> Option<String> {
        let parsed;
        let plain = match &self.plain {
            Some(plain) => plain,
            None => {
                parsed = yaml::parse(self.source.text.as_bytes()).ok()?;
                &parsed
            }
        };
        match emit::from_node(plain) {
            emit::Yaml::Map(map) => Some(map.to_text()),
            _ => None,
        }
    }

    /// The topology and its graph, if there were no errors.
    pub fn valid(&self) -> Option<(&Topology, &DependencyGraph)> {
        Some((self.topology.as_ref()?, self.graph.as_ref()?))
    }
}

/// Reads and checks a topology file. I/O errors are returned as such; every
/// problem with the content is a diagnostic.
pub fn load_file(path: &std::path::Path) -> std::io::Result<Loaded> {
    load_file_with(path, &ExpandOptions::default())
}

/// [`load_file`] with an environment and parameter values; blueprints and
/// values files are read beside the topology.
pub fn load_file_with(path: &std::path::Path, options: &ExpandOptions) -> std::io::Result<Loaded> {
    let name = path.display().to_string();
    let bytes = read_capped(path)?;
    if bytes.len() > MAX_FILE_BYTES {
        return Ok(Loaded {
            diagnostics: vec![yaml::too_large_read()],
            ..Loaded::empty(SourceFile::new(name, String::new()))
        });
    }
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    Ok(load_with(
        &name,
        &bytes,
        options,
        &Beside(dir.to_path_buf()),
    ))
}

/// Reads through a cap, not by what metadata claims: /dev/zero, a FIFO or
/// a growing file stop at the limit.
fn read_capped(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Files beside the topology (blueprints, values files).
struct Beside(std::path::PathBuf);

impl vpcform_expand::Files for Beside {
    fn read(&self, path: &str) -> Result<(String, String), String> {
        let joined = self.0.join(path);
        // A link may not lead out of the topology's directory either.
        let dir = std::fs::canonicalize(&self.0).map_err(|e| e.to_string())?;
        let real = std::fs::canonicalize(&joined).map_err(|e| e.to_string())?;
        if !real.starts_with(&dir) {
            return Err("it leads outside the topology's directory (through a link)".into());
        }
        let bytes = read_capped(&real).map_err(|e| e.to_string())?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(format!("it is larger than {MAX_FILE_BYTES} bytes"));
        }
        let text = String::from_utf8(bytes).map_err(|_| "it is not UTF-8".to_string())?;
        Ok((joined.display().to_string(), text))
    }
}

impl Loaded {
    fn empty(source: SourceFile) -> Loaded {
        Loaded {
            source,
            topology: None,
            graph: None,
            diagnostics: Vec::new(),
            findings: Vec::new(),
            plain: None,
            environment: None,
            environments: Vec::new(),
            expansion_key: String::new(),
        }
    }
}

/// Checks a topology given as bytes; `name` is used in messages.
pub fn load(name: &str, bytes: &[u8]) -> Loaded {
    load_with(
        name,
        bytes,
        &ExpandOptions::default(),
        &vpcform_expand::NoFiles,
    )
}

/// [`load`] with an environment, parameter values and a way to read other files.
pub fn load_with(
    name: &str,
    bytes: &[u8],
    options: &ExpandOptions,
    files: &dyn vpcform_expand::Files,
) -> Loaded {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let mut loaded = Loaded::empty(SourceFile::new(name, text));
    loaded.expansion_key = expansion_key(options);
    let root = match yaml::parse(bytes) {
        Ok(root) => root,
        Err(d) => {
            loaded.diagnostics = vec![*d];
            return loaded;
        }
    };
    let expanded = vpcform_expand::expand(root, name, options, files);
    loaded.source.others = expanded.others;
    loaded.source.origins = expanded.origins;
    loaded.environment = expanded.environment;
    loaded.environments = expanded.environments;
    if expanded.diagnostics.iter().any(Diagnostic::is_error) {
        loaded.diagnostics = collapse_repeats(expanded.diagnostics, &loaded.source);
        return loaded;
    }
    let root = expanded.root;
    check_plain(&mut loaded, &root, expanded.diagnostics);
    // A plain file renders from its own text: its tree need not be kept.
    if let Some(t) = &mut loaded.topology {
        t.environment = loaded.environment.clone();
    }
    if expanded.expanded {
        loaded.plain = Some(root);
    }
    loaded
}

/// Sorted by position; the same problem in many instances of one text is
/// reported once, for the first, saying how many others share it.
fn collapse_repeats(mut diags: Vec<Diagnostic>, source: &SourceFile) -> Vec<Diagnostic> {
    diags.sort_by_key(|d| (d.span.line, d.span.column, d.severity, d.span.origin));
    let mut out: Vec<(Diagnostic, usize)> = Vec::with_capacity(diags.len());
    for d in diags {
        let same = |o: &Diagnostic| {
            d.span.origin != 0
                && o.code == d.code
                && o.message == d.message
                && (o.span.line, o.span.column) == (d.span.line, d.span.column)
                && source.file_name(o.span) == source.file_name(d.span)
        };
        match out.iter_mut().rev().take(64).find(|(o, _)| same(o)) {
            Some((_, n)) => *n += 1,
            None => out.push((d, 0)),
        }
    }
    out.into_iter()
        .map(|(d, n)| match n {
            0 => d,
            n => d.with_related(
                Span::UNKNOWN,
                format!("the same in {n} other instance(s) of this text"),
            ),
        })
        .collect()
}

/// What a plan made from this load is bound to besides the file's text.
fn expansion_key(options: &ExpandOptions) -> String {
    let mut key = String::new();
    if let Some(env) = &options.env {
        key.push_str(&format!("env={env};"));
    }
    for (name, text) in &options.param_files {
        key.push_str(&format!("param-file={name}:{};", text.len()));
        key.push_str(text);
    }
    for (name, value) in &options.params {
        key.push_str(&format!("param={name}={value};"));
    }
    key
}

/// Decodes and checks the plain topology.
fn check_plain(loaded: &mut Loaded, root: &yaml::Node, diags: Vec<Diagnostic>) {
    let mut cx = decode::Cx { diags };
    let topology = registry::decode_topology(root, &mut cx);
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
    let diagnostics = collapse_repeats(cx.diags, &loaded.source);
    loaded.topology = topology;
    loaded.graph = graph;
    loaded.diagnostics = diagnostics;
    loaded.findings = findings;
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
    schema::json_schema()
}
