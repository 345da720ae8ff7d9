//! The walk: templates in every scalar and key, `for-each` and `if` on every
//! mapping, environments and parameters chosen, blueprints used.

use std::collections::BTreeMap;

use vpcform_lang::diagnostic::{Diagnostic, Origin, Span};
use vpcform_lang::yaml::{Node, NodeKind};

use crate::env::{self, EnvDecl, Environment};
use crate::params::{self, Given};
use crate::scope::{Each, EnvView, Scope};
use crate::template::{self, TemplateError};
use crate::value::{Value, scalar_text};
use crate::{Files, Options, Params, retag, unknown};

/// Keys that make a mapping a repeated or conditional declaration.
pub(crate) const CONTROL_KEYS: &[&str] = &["for-each", "if"];

pub(crate) struct Expander<'f> {
    pub(crate) files: &'f dyn Files,
    pub(crate) file_name: String,
    pub(crate) others: Vec<(String, String)>,
    pub(crate) origins: Vec<Origin>,
    pub(crate) diags: Vec<Diagnostic>,
    pub(crate) environment: Option<Environment>,
    pub(crate) environment_names: Vec<String>,
    pub(crate) env_view: Option<EnvView>,
    pub(crate) blueprints: BTreeMap<String, crate::blueprint::Blueprint>,
    /// The blueprints being used, outermost first (a cycle is refused).
    pub(crate) using: Vec<String>,
    /// Blueprints whose file could not be read (reported once, not per use).
    pub(crate) unreadable: std::collections::BTreeSet<String>,
}

impl<'f> Expander<'f> {
    pub(crate) fn new(file_name: &str, files: &'f dyn Files) -> Self {
        Expander {
            files,
            file_name: file_name.to_string(),
            others: Vec::new(),
            origins: vec![Origin {
                file: 0,
                note: None,
                parent: 0,
            }],
            diags: Vec::new(),
            environment: None,
            environment_names: Vec::new(),
            env_view: None,
            blueprints: BTreeMap::new(),
            using: Vec::new(),
            unreadable: std::collections::BTreeSet::new(),
        }
    }

    /// A new origin under `parent`, in the same file unless `file` says otherwise.
    pub(crate) fn origin(&mut self, parent: u32, file: Option<u16>, note: Option<String>) -> u32 {
        let file = file.unwrap_or_else(|| self.origins.get(parent as usize).map_or(0, |o| o.file));
        self.origins.push(Origin { file, note, parent });
        (self.origins.len() - 1) as u32
    }

    /// `FILE:LINE:COLUMN` of a span, for notes.
    pub(crate) fn place(&self, span: Span) -> String {
        let file = self
            .origins
            .get(span.origin as usize)
            .map_or(0, |o| o.file as usize);
        let name = match file.checked_sub(1).and_then(|i| self.others.get(i)) {
            Some((name, _)) => name.as_str(),
            None => self.file_name.as_str(),
        };
        format!("{name}:{}:{}", span.line, span.column)
    }

    /// Reads another file of the repository: a relative path inside the
    /// topology's directory, parsed, its nodes in a file origin of their own.
    pub(crate) fn read_file(&mut self, path: &str, at: Span, what: &str) -> Option<Node> {
        let bad =
            path.starts_with('/') || path.contains('\\') || path.split('/').any(|p| p == "..");
        if bad {
            self.diags.push(
                Diagnostic::error(
                    "expansion-file",
                    at,
                    format!("{what} `{path}` is outside the topology's directory"),
                )
                .with_help(
                    "name a file by a path relative to the topology's directory, without `..`",
                ),
            );
            return None;
        }
        let (name, text) = match self.files.read(path) {
            Ok(read) => read,
            Err(e) => {
                self.diags.push(Diagnostic::error(
                    "expansion-file",
                    at,
                    format!("cannot read {what} `{path}`: {e}"),
                ));
                return None;
            }
        };
        self.others.push((name, text.clone()));
        let file = self.others.len() as u16;
        let origin = self.origin(at.origin, Some(file), None);
        match vpcform_lang::yaml::parse(text.as_bytes()) {
            Ok(mut node) => {
                retag(&mut node, origin);
                Some(node)
            }
            Err(d) => {
                let mut d = *d;
                d.span = d.span.from_origin(origin);
                self.diags.push(d);
                None
            }
        }
    }

    /// The whole topology: environment and parameters chosen, then everything expanded.
    pub(crate) fn topology(
        &mut self,
        entries: &[(Node, Node)],
        span: Span,
        options: &Options,
    ) -> Node {
        let get = |name: &str| entries.iter().find(|(k, _)| k.as_str() == Some(name));
        let envs = get("environments")
            .map(|(_, v)| env::decode(v, &mut self.diags))
            .unwrap_or_default();
        self.environment_names = envs.iter().map(|e| e.name.clone()).collect();
        let chosen = self.choose_env(&envs, get("environments").map(|(k, _)| k.span), options);
        if self.diags.iter().any(Diagnostic::is_error) {
            // Without its environment, parameters would only echo this.
            return Node {
                kind: NodeKind::Map(entries.to_vec()),
                span,
            };
        }
        let specs = get("parameters")
            .map(|(_, v)| params::decode(v, &mut self.diags))
            .unwrap_or_default();
        let given = self.given_values(chosen, &specs, options);
        let values = params::resolve(&specs, &given, None, "the topology", &mut self.diags);
        // Known even when a value is wrong: reports name the environment's stack.
        self.set_environment(chosen, entries, &values);
        if self.diags.iter().any(Diagnostic::is_error) {
            // Without its values the rest would only echo these.
            let mut out = entries.to_vec();
            self.apply_environment(&mut out);
            return Node {
                kind: NodeKind::Map(entries.to_vec()),
                span,
            };
        }
        if let Some((_, v)) = get("blueprints") {
            self.decode_blueprints(v);
        }
        let scope = Scope {
            params: &values,
            params_of: "the topology",
            each: None,
            env: None,
        };
        let view = self.env_view.clone();
        let scope = Scope {
            env: view.as_ref(),
            ..scope
        };
        let mut out: Vec<(Node, Node)> = Vec::new();
        for (k, v) in entries {
            let key = k.as_str().unwrap_or_default();
            if crate::LANGUAGE_KEYS.contains(&key) {
                continue;
            }
            self.map_entry(k, v, &scope, &mut out);
        }
        if let Some((_, uses)) = get("use") {
            self.uses("", uses, &scope, &mut out);
        }
        self.apply_environment(&mut out);
        let mut root = Node {
            kind: NodeKind::Map(out),
            span,
        };
        crate::splat::expand(&mut root, &mut self.diags);
        root
    }

    fn choose_env<'e>(
        &mut self,
        envs: &'e [EnvDecl],
        at: Option<Span>,
        options: &Options,
    ) -> Option<&'e EnvDecl> {
        let names: Vec<&str> = envs.iter().map(|e| e.name.as_str()).collect();
        match (&options.env, at) {
            (Some(name), Some(at)) => {
                let found = envs.iter().find(|e| &e.name == name);
                if found.is_none() {
                    self.diags.push(unknown(
                        "unknown-environment",
                        at,
                        "environment",
                        name,
                        &names,
                    ));
                }
                found
            }
            (Some(name), None) => {
                self.diags.push(
                    Diagnostic::error(
                        "unknown-environment",
                        Span::UNKNOWN,
                        format!(
                            "--env {name} was given, but the topology declares no `environments:`"
                        ),
                    )
                    .with_help("declare environments, or leave out --env"),
                );
                None
            }
            (None, Some(at)) if !envs.is_empty() => {
                self.diags.push(
                    Diagnostic::error(
                        "environment-required",
                        at,
                        format!(
                            "the topology declares environments ({}); say which with --env NAME",
                            names.join(", ")
                        ),
                    )
                    .with_help("or `vpcform plan --all-envs` for every environment"),
                );
                None
            }
            (None, _) => None,
        }
    }

    /// Values for parameters: the environment's, its values file, --param-file, --param (later win).
    fn given_values(
        &mut self,
        env: Option<&EnvDecl>,
        specs: &[params::ParamSpec],
        options: &Options,
    ) -> BTreeMap<String, Given> {
        let mut given = BTreeMap::new();
        if let Some(env) = env {
            let source = format!("environment `{}`", env.name);
            if let Some((path, at)) = &env.values_file
                && let Some(node) = self.read_file(path, *at, "the values file")
            {
                self.values_from(&node, &source, &mut given);
            }
            if let Some(values) = &env.values {
                self.values_from(values, &source, &mut given);
            }
        }
        for (name, text) in &options.param_files {
            self.others.push((name.clone(), text.clone()));
            let origin = self.origin(0, Some(self.others.len() as u16), None);
            match vpcform_lang::yaml::parse(text.as_bytes()) {
                Ok(mut node) => {
                    retag(&mut node, origin);
                    self.values_from(&node, &format!("--param-file {name}"), &mut given);
                }
                Err(d) => self.diags.push(Diagnostic {
                    span: d.span.from_origin(origin),
                    ..*d
                }),
            }
        }
        for (name, text) in &options.params {
            let value = specs
                .iter()
                .find(|s| &s.name == name)
                .map_or(Value::Str(text.clone()), |s| params::from_text(s, text));
            given.insert(
                name.clone(),
                Given {
                    value,
                    span: Span::UNKNOWN,
                    source: format!("--param {name}=…"),
                },
            );
        }
        given
    }

    fn values_from(&mut self, node: &Node, source: &str, given: &mut BTreeMap<String, Given>) {
        crate::duplicate_keys(node, &format!("the values of {source}"), &mut self.diags);
        let NodeKind::Map(entries) = &node.kind else {
            self.diags.push(Diagnostic::error(
                "parameter-value",
                node.span,
                format!("the values of {source} must be a map of parameter → value"),
            ));
            return;
        };
        for (k, v) in entries {
            if let Some(name) = scalar_text(k) {
                given.insert(
                    name,
                    Given {
                        value: Value::from_node(v),
                        span: v.span,
                        source: source.to_string(),
                    },
                );
            }
        }
    }

    /// The chosen environment's stack, region and credentials.
    fn set_environment(
        &mut self,
        env: Option<&EnvDecl>,
        entries: &[(Node, Node)],
        values: &Params,
    ) {
        let Some(env) = env else { return };
        let scope = Scope {
            params: values,
            params_of: "the topology",
            each: None,
            env: None,
        };
        let text_of = |x: &mut Self, node: Option<&Node>| -> Option<String> {
            let node = x.node(node?, &scope);
            node.as_str().map(str::to_string)
        };
        let top = |name: &str| {
            entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(name))
                .map(|(_, v)| v)
        };
        let region = text_of(self, env.region.as_ref())
            .or_else(|| top("region").and_then(|r| r.as_str().map(str::to_string)));
        let stack = match (env.stack.as_ref(), top("stack")) {
            (Some(s), _) => text_of(self, Some(s)).unwrap_or_default(),
            // A stack name that uses `${env.…}` names each environment's stack itself.
            (None, Some(s)) if s.as_str().is_some_and(template::has_template) => String::new(),
            (None, Some(s)) => format!("{}-{}", s.as_str().unwrap_or("stack"), env.name),
            (None, None) => env.name.clone(),
        };
        self.env_view = Some(EnvView {
            name: env.name.clone(),
            region: region.clone(),
            stack: stack.clone(),
        });
        self.environment = Some(Environment {
            name: env.name.clone(),
            stack,
            region,
            profile: env.profile.clone(),
            role_arn: env.role_arn.as_ref().map(|(a, _)| a.clone()),
        });
    }

    /// Writes the environment's stack and region into the plain topology.
    fn apply_environment(&mut self, out: &mut Vec<(Node, Node)>) {
        let Some(env) = &mut self.environment else {
            return;
        };
        if env.stack.is_empty() {
            env.stack = out
                .iter()
                .find(|(k, _)| k.as_str() == Some("stack"))
                .and_then(|(_, v)| v.as_str())
                .unwrap_or_default()
                .to_string();
        }
        for (field, value) in [
            ("stack", Some(env.stack.clone())),
            ("region", env.region.clone()),
        ] {
            let Some(value) = value else { continue };
            match out.iter_mut().find(|(k, _)| k.as_str() == Some(field)) {
                Some((_, v)) => v.kind = NodeKind::Str(value),
                None => {
                    let key = Node {
                        kind: NodeKind::Str(field.into()),
                        span: Span::UNKNOWN,
                    };
                    let at = out
                        .iter()
                        .position(|(k, _)| k.as_str() == Some("stack"))
                        .map_or(0, |p| p + 1);
                    out.insert(
                        at.min(out.len()),
                        (
                            key,
                            Node {
                                kind: NodeKind::Str(value),
                                span: Span::UNKNOWN,
                            },
                        ),
                    );
                }
            }
        }
        if let Some(view) = &mut self.env_view {
            view.stack = env.stack.clone();
        }
    }

    /// Any node: templates evaluated, repeated and conditional entries expanded.
    pub(crate) fn node(&mut self, node: &Node, scope: &Scope<'_>) -> Node {
        let kind = match &node.kind {
            NodeKind::Str(s) if template::has_template(s) => return self.string(node, s, scope),
            NodeKind::Map(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    self.map_entry(k, v, scope, &mut out);
                }
                NodeKind::Map(out)
            }
            NodeKind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    if is_control(item) {
                        out.extend(self.repeat(None, item, scope).into_iter().map(|(_, n)| n));
                    } else {
                        out.push(self.node(item, scope));
                    }
                }
                NodeKind::Seq(out)
            }
            other => other.clone(),
        };
        Node {
            kind,
            span: node.span,
        }
    }

    pub(crate) fn map_entry(
        &mut self,
        k: &Node,
        v: &Node,
        scope: &Scope<'_>,
        out: &mut Vec<(Node, Node)>,
    ) {
        let key = self.node(k, scope);
        if is_control(v) {
            for (name, node) in self.repeat(Some(&key), v, scope) {
                out.push((name.unwrap_or(key.clone()), node));
            }
        } else {
            out.push((key, self.node(v, scope)));
        }
    }

    fn string(&mut self, node: &Node, text: &str, scope: &Scope<'_>) -> Node {
        let result = template::parse(text).and_then(|parts| template::evaluate(&parts, scope));
        match result {
            Ok(value) => value.to_node(node.span),
            Err(e) => {
                self.template_error(node.span, text, e);
                node.clone()
            }
        }
    }

    /// A template's error, underlining from its offset to the end of that `${…}`.
    pub(crate) fn template_error(&mut self, span: Span, text: &str, e: TemplateError) {
        let rest: Vec<char> = text.chars().skip(e.offset).collect();
        let len = rest
            .iter()
            .position(|c| *c == '}')
            .map_or(rest.len(), |end| end + 1);
        let at = Span {
            column: span.column + e.offset as u32,
            len: len.max(1) as u32,
            ..span
        };
        let mut d = Diagnostic::error("template", at, e.message);
        if let Some(help) = e.help {
            d = d.with_help(help);
        }
        self.diags.push(d);
    }

    /// A mapping with `for-each:` or `if:`: its instances, named `KEY[k]`
    /// when the mapping is a map entry (`key`), each in an origin of its own.
    pub(crate) fn repeat(
        &mut self,
        key: Option<&Node>,
        body: &Node,
        scope: &Scope<'_>,
    ) -> Vec<(Option<Node>, Node)> {
        let NodeKind::Map(fields) = &body.kind else {
            return Vec::new();
        };
        let field = |name: &str| fields.iter().find(|(k, _)| k.as_str() == Some(name));
        if let Some((k, cond)) = field("if") {
            match self.node(cond, scope).kind {
                NodeKind::Bool(true) => {}
                NodeKind::Bool(false) => return Vec::new(),
                _ => {
                    self.diags.push(
                        Diagnostic::error("for-each", k.span, "`if:` must be true or false")
                            .with_help("e.g. `if: ${param.nat}` with a bool parameter"),
                    );
                    return Vec::new();
                }
            }
        }
        let rest: Vec<(Node, Node)> = fields
            .iter()
            .filter(|(k, _)| !k.as_str().is_some_and(|k| CONTROL_KEYS.contains(&k)))
            .cloned()
            .collect();
        let rest = Node {
            kind: NodeKind::Map(rest),
            span: body.span,
        };
        let Some((each_key, collection)) = field("for-each") else {
            return vec![(key.cloned(), self.node(&rest, scope))];
        };
        let Some(items) = self.items(each_key, collection, scope, key.is_some()) else {
            return Vec::new();
        };
        let base = key.and_then(|k| k.as_str().map(str::to_string));
        let place = self.place(each_key.span);
        let mut out = Vec::with_capacity(items.len());
        for (index, (item_key, value)) in items.into_iter().enumerate() {
            let note = match &base {
                Some(b) => format!("in `{b}[{item_key}]`, an instance of the for-each at {place}"),
                None => format!("in item `{item_key}` of the for-each at {place}"),
            };
            let origin = self.origin(body.span.origin, None, Some(note));
            let mut instance = rest.clone();
            retag(&mut instance, origin);
            let each = Each {
                key: item_key.clone(),
                value,
                index,
            };
            let inner = Scope {
                each: Some(&each),
                ..scope.clone()
            };
            let node = self.node(&instance, &inner);
            let name = key.map(|k| Node {
                kind: NodeKind::Str(format!(
                    "{}[{item_key}]",
                    base.as_deref().unwrap_or_default()
                )),
                span: k.span.from_origin(origin),
            });
            out.push((name, node));
        }
        out
    }

    /// The items of a `for-each:`: a map's entries, or a list of names.
    fn items(
        &mut self,
        at: &Node,
        collection: &Node,
        scope: &Scope<'_>,
        naming: bool,
    ) -> Option<Vec<(String, Value)>> {
        let before = self.diags.len();
        let evaluated = self.node(collection, scope);
        if self.diags.len() > before {
            return None; // reported where the collection is written
        }
        if let Some(at) = yaml_boolean_name(&evaluated) {
            self.diags.push(
                Diagnostic::error(
                    "for-each",
                    at,
                    "this name reads as a boolean in YAML (y, n, yes, no, on and off do)",
                )
                .with_help("quote it to name an instance: \"y\""),
            );
            return None;
        }
        let items: Vec<(String, Value)> = match Value::from_node(&evaluated) {
            Value::Map(entries) => entries,
            Value::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let Some(key) = item.text() else {
                        self.diags.push(Diagnostic::error("for-each", collection.span, format!("a list to repeat over holds names, found {}", item.type_name()))
                            .with_help("repeat over a map (`for-each: { a: {…}, b: {…} }`) whose keys name the instances"));
                        return None;
                    };
                    out.push((key, item));
                }
                out
            }
            other => {
                self.diags.push(Diagnostic::error(
                    "for-each",
                    collection.span,
                    format!(
                        "`for-each:` takes a list or a map, found {}",
                        other.type_name()
                    ),
                ));
                return None;
            }
        };
        let mut seen = std::collections::HashSet::new();
        for (key, _) in &items {
            // Keys name instances only of a map entry; a list's items are just values.
            if naming && !vpcform_lang::model::is_valid_instance_key(key) {
                self.diags.push(
                    Diagnostic::error(
                        "for-each",
                        collection.span,
                        format!("`{key}` cannot name an instance"),
                    )
                    .with_help("instance keys are letters, digits, `-` and `_` (at most 64)"),
                );
                return None;
            }
            if !seen.insert(key.as_str()) {
                self.diags.push(Diagnostic::error(
                    "for-each",
                    at.span,
                    format!("the key `{key}` appears twice in the for-each"),
                ));
                return None;
            }
        }
        Some(items)
    }
}

/// A key or item of a `for-each` collection written `y`, `n`, `on`, … that
/// YAML read as a boolean (its source is not `true` or `false`).
fn yaml_boolean_name(collection: &Node) -> Option<Span> {
    let written_as_word =
        |n: &Node| matches!(n.kind, NodeKind::Bool(_)) && !matches!(n.span.len, 4 | 5);
    match &collection.kind {
        NodeKind::Seq(items) => items.iter().find(|n| written_as_word(n)).map(|n| n.span),
        NodeKind::Map(entries) => entries
            .iter()
            .find(|(k, _)| written_as_word(k))
            .map(|(k, _)| k.span),
        NodeKind::Null
        | NodeKind::Bool(_)
        | NodeKind::Int(_)
        | NodeKind::Float(_)
        | NodeKind::Str(_) => None,
    }
}

/// A mapping that repeats or is conditional.
fn is_control(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::Map(fields) if fields.iter().any(|(k, _)| k.as_str().is_some_and(|k| CONTROL_KEYS.contains(&k))))
}
