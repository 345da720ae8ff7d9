//! `parameters:`: typed, with defaults, descriptions, allowed values and bounds.

use std::collections::BTreeMap;

use ipnet::IpNet;
use vpcform_lang::diagnostic::{Diagnostic, Span, did_you_mean};
use vpcform_lang::yaml::{Node, NodeKind};

use crate::value::{Value, scalar_text};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ParamType {
    String,
    Number,
    Bool,
    Cidr,
    List,
    Map,
}

const TYPES: &[(&str, ParamType)] = &[
    ("string", ParamType::String),
    ("number", ParamType::Number),
    ("bool", ParamType::Bool),
    ("cidr", ParamType::Cidr),
    ("list", ParamType::List),
    ("map", ParamType::Map),
];

impl ParamType {
    fn name(self) -> &'static str {
        TYPES
            .iter()
            .find(|(_, t)| *t == self)
            .map_or("?", |(n, _)| n)
    }
}

/// One declared parameter.
#[derive(Clone, Debug)]
pub(crate) struct ParamSpec {
    pub name: String,
    pub span: Span,
    pub ty: ParamType,
    pub default: Option<(Value, Span)>,
    pub description: Option<String>,
    pub allowed: Option<Vec<Value>>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A value given for a parameter, and where it was written.
#[derive(Clone, Debug)]
pub(crate) struct Given {
    pub value: Value,
    pub span: Span,
    /// Where it came from, for messages: "environment `prod`", "--param".
    pub source: String,
}

/// Decodes `parameters:` (a map of name → declaration).
pub(crate) fn decode(node: &Node, diags: &mut Vec<Diagnostic>) -> Vec<ParamSpec> {
    crate::duplicate_keys(node, "`parameters:`", diags);
    let NodeKind::Map(entries) = &node.kind else {
        diags.push(Diagnostic::error(
            "parameter-declaration",
            node.span,
            format!(
                "`parameters:` must be a map of name → declaration, found {}",
                node.type_name()
            ),
        ));
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|(k, v)| decode_one(k, v, diags))
        .collect()
}

fn decode_one(key: &Node, body: &Node, diags: &mut Vec<Diagnostic>) -> Option<ParamSpec> {
    let name = scalar_text(key)?;
    if !vpcform_lang::model::is_valid_name(&name) {
        diags.push(vpcform_lang::model::invalid_name(&name, key.span));
        return None;
    }
    let NodeKind::Map(fields) = &body.kind else {
        diags.push(
            Diagnostic::error(
                "parameter-declaration",
                body.span,
                format!("parameter `{name}` must be a map with `type:`"),
            )
            .with_help("e.g. `vpc-cidr: { type: cidr, default: 10.1.0.0/16, description: … }`"),
        );
        return None;
    };
    let mut spec = ParamSpec {
        name,
        span: key.span,
        ty: ParamType::String,
        default: None,
        description: None,
        allowed: None,
        min: None,
        max: None,
    };
    let mut typed = false;
    for (k, v) in fields {
        let field = scalar_text(k).unwrap_or_default();
        match field.as_str() {
            "type" => {
                let text = v.as_str().unwrap_or_default();
                match TYPES.iter().find(|(n, _)| *n == text) {
                    Some((_, t)) => {
                        spec.ty = *t;
                        typed = true;
                    }
                    None => diags.push(
                        Diagnostic::error(
                            "parameter-declaration",
                            v.span,
                            format!("`{text}` is not a parameter type"),
                        )
                        .with_help("string, number, bool, cidr, list or map"),
                    ),
                }
            }
            "default" => spec.default = Some((Value::from_node(v), v.span)),
            "description" => spec.description = v.as_str().map(str::to_string),
            "allowed" => {
                spec.allowed = Some(match Value::from_node(v) {
                    Value::List(items) => items,
                    other => vec![other],
                })
            }
            "min" | "max" => {
                let Some(n) = Value::from_node(v).as_f64() else {
                    diags.push(Diagnostic::error(
                        "parameter-declaration",
                        v.span,
                        format!("`{field}` must be a number"),
                    ));
                    continue;
                };
                if field == "min" {
                    spec.min = Some(n)
                } else {
                    spec.max = Some(n)
                }
            }
            other => {
                let mut d = Diagnostic::error(
                    "parameter-declaration",
                    k.span,
                    format!("unknown field `{other}` in parameter `{}`", spec.name),
                );
                d = d.with_help(
                    match did_you_mean(
                        other,
                        ["type", "default", "description", "allowed", "min", "max"],
                    ) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => "a parameter has type, default, description, allowed, min and max"
                            .into(),
                    },
                );
                diags.push(d);
            }
        }
    }
    if !typed {
        diags.push(
            Diagnostic::error(
                "parameter-declaration",
                key.span,
                format!("parameter `{}` has no `type:`", spec.name),
            )
            .with_help("string, number, bool, cidr, list or map"),
        );
    }
    if let Some((v, span)) = spec.default.clone()
        && let Err(d) = check(&spec, &v, span, "its default")
    {
        diags.push(*d);
    }
    Some(spec)
}

/// Reads `--param NAME=VALUE`'s text as the parameter's type.
pub(crate) fn from_text(spec: &ParamSpec, text: &str) -> Value {
    match spec.ty {
        ParamType::String | ParamType::Cidr => Value::Str(text.to_string()),
        ParamType::Number => text
            .parse::<i64>()
            .map(Value::Int)
            .or_else(|_| text.parse::<f64>().map(Value::Float))
            .unwrap_or(Value::Str(text.into())),
        ParamType::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::Str(text.into()),
        },
        ParamType::List | ParamType::Map => vpcform_lang::yaml::parse(text.as_bytes())
            .map_or(Value::Str(text.into()), |n| Value::from_node(&n)),
    }
}

/// Checks a value against the declaration; the diagnostic points at `span`.
pub(crate) fn check(
    spec: &ParamSpec,
    value: &Value,
    span: Span,
    whose: &str,
) -> Result<(), Box<Diagnostic>> {
    let fail = |message: String, help: String| {
        Err(Box::new(
            Diagnostic::error("parameter-value", span, message).with_help(help),
        ))
    };
    let type_ok = matches!(
        (spec.ty, value),
        (ParamType::String, Value::Str(_))
            | (ParamType::Number, Value::Int(_) | Value::Float(_))
            | (ParamType::Bool, Value::Bool(_))
            | (ParamType::Cidr, Value::Str(_))
            | (ParamType::List, Value::List(_))
            | (ParamType::Map, Value::Map(_))
    );
    if !type_ok {
        return fail(
            format!(
                "{whose} for parameter `{}` is {}, but the parameter is a {}",
                spec.name,
                value.type_name(),
                spec.ty.name()
            ),
            format!(
                "give a {} (quote text that looks like a number or boolean)",
                spec.ty.name()
            ),
        );
    }
    if spec.ty == ParamType::Cidr
        && let Value::Str(s) = value
    {
        match s.parse::<IpNet>() {
            Ok(net) if net.trunc() == net => {}
            Ok(net) => {
                return fail(
                    format!(
                        "{whose} for parameter `{}`, `{s}`, has host bits set",
                        spec.name
                    ),
                    format!("did you mean `{}`?", net.trunc()),
                );
            }
            Err(_) => {
                return fail(
                    format!(
                        "{whose} for parameter `{}`, `{s}`, is not a CIDR block",
                        spec.name
                    ),
                    "write a block such as 10.1.0.0/16".into(),
                );
            }
        }
    }
    if let Some(allowed) = &spec.allowed
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().filter_map(Value::text).collect();
        return fail(
            format!(
                "{whose} for parameter `{}` is not one of its allowed values",
                spec.name
            ),
            format!("allowed: {}", list.join(", ")),
        );
    }
    if let Some(n) = value.as_f64()
        && (spec.min.is_some_and(|m| n < m) || spec.max.is_some_and(|m| n > m))
    {
        {
            let bounds = format!(
                "{} to {}",
                spec.min.map_or("…".into(), |m| m.to_string()),
                spec.max.map_or("…".into(), |m| m.to_string())
            );
            return fail(
                format!(
                    "{whose} for parameter `{}`, {n}, is outside its bounds",
                    spec.name
                ),
                format!("give a number from {bounds}"),
            );
        }
    }
    Ok(())
}

/// The value of every parameter: given (later sources win) or default.
/// A value for an undeclared parameter, or none for one without default, is an error.
pub(crate) fn resolve(
    specs: &[ParamSpec],
    given: &BTreeMap<String, Given>,
    at: Option<Span>,
    whose: &str,
    diags: &mut Vec<Diagnostic>,
) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    for (name, g) in given {
        if !specs.iter().any(|s| &s.name == name) {
            let mut d = Diagnostic::error(
                "unknown-parameter",
                g.span,
                format!(
                    "{} gives a value for `{name}`, which {whose} does not declare",
                    g.source
                ),
            );
            d = d.with_help(
                match did_you_mean(name, specs.iter().map(|s| s.name.as_str())) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "declared: {}",
                        specs
                            .iter()
                            .map(|s| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                },
            );
            diags.push(d);
        }
    }
    for spec in specs {
        match (given.get(&spec.name), &spec.default) {
            (Some(g), _) => match check(
                spec,
                &g.value,
                g.span,
                &format!("the value from {}", g.source),
            ) {
                Ok(()) => {
                    out.insert(spec.name.clone(), g.value.clone());
                }
                Err(d) => diags.push(*d),
            },
            (None, Some((v, _))) => {
                out.insert(spec.name.clone(), v.clone());
            }
            (None, None) => {
                // A use of a blueprint is where the value is missing; the
                // topology's own parameter is missing where it is declared.
                let d = match at {
                    Some(at) => Diagnostic::error(
                        "missing-parameter",
                        at,
                        format!(
                            "parameter `{}` has no default and no value was given",
                            spec.name
                        ),
                    )
                    .with_related(spec.span, "declared here"),
                    None => Diagnostic::error(
                        "missing-parameter",
                        spec.span,
                        format!(
                            "parameter `{}` has no default and no value was given",
                            spec.name
                        ),
                    ),
                };
                diags.push(d.with_help(format!(
                    "give it a value ({}), or a `default:`",
                    where_values_go(whose)
                )));
            }
        }
    }
    out
}

/// Where a parameter's value is written, for help texts.
fn where_values_go(whose: &str) -> String {
    if whose == "the topology" {
        "in an environment's `values:`, with --param-file or --param NAME=VALUE".into()
    } else {
        format!("as an argument of the use of {whose}")
    }
}
