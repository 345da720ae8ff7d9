//! What a template's references can see.

use std::collections::BTreeMap;

use vpcform_lang::diagnostic::did_you_mean;

use crate::template::{Step, TemplateError};
use crate::value::Value;

/// The current item of a `for-each`.
#[derive(Clone, Debug)]
pub(crate) struct Each {
    pub key: String,
    pub value: Value,
    pub index: usize,
}

/// The environment as templates see it.
#[derive(Clone, Debug, Default)]
pub(crate) struct EnvView {
    pub name: String,
    pub region: Option<String>,
    pub stack: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Scope<'a> {
    pub params: &'a BTreeMap<String, Value>,
    /// Whose parameters these are, for messages: "the topology" or "blueprint `tiers`".
    pub params_of: &'a str,
    pub each: Option<&'a Each>,
    pub env: Option<&'a EnvView>,
}

impl Scope<'_> {
    pub(crate) fn lookup(&self, steps: &[Step], at: usize) -> Result<Value, TemplateError> {
        let Some(Step::Field(root)) = steps.first() else {
            return Err(TemplateError::new(at, "a reference starts with a name"));
        };
        let (value, rest) = match root.as_str() {
            "param" => self.param(steps, at)?,
            "each" => self.each(steps, at)?,
            "env" => self.env(steps, at)?,
            other => {
                let mut e = TemplateError::new(
                    at,
                    format!("`{other}` is not something a template can refer to"),
                );
                e.help = Some(match did_you_mean(other, ["param", "each", "env"]) {
                    Some(s) => format!("did you mean `{s}`? References are param.NAME, each.key, each.value, each.index and env.name, env.region, env.stack"),
                    None => "references are param.NAME, each.key, each.value, each.index and env.name, env.region, env.stack; a function is called with parentheses".into(),
                });
                return Err(e);
            }
        };
        descend(value, rest, at)
    }

    fn param<'s>(
        &self,
        steps: &'s [Step],
        at: usize,
    ) -> Result<(Value, &'s [Step]), TemplateError> {
        let Some(Step::Field(name)) = steps.get(1) else {
            return Err(TemplateError::new(at, "write `param.NAME`"));
        };
        match self.params.get(name) {
            Some(v) => Ok((v.clone(), &steps[2..])),
            None => {
                let mut e = TemplateError::new(
                    at,
                    format!("{} declares no parameter `{name}`", self.params_of),
                );
                e.help = Some(
                    match did_you_mean(name, self.params.keys().map(String::as_str)) {
                        Some(s) => format!("did you mean `param.{s}`?"),
                        None => "declare it under `parameters:`".into(),
                    },
                );
                Err(e)
            }
        }
    }

    fn each<'s>(&self, steps: &'s [Step], at: usize) -> Result<(Value, &'s [Step]), TemplateError> {
        let Some(each) = self.each else {
            return Err(TemplateError::new(
                at,
                "`each` is known only inside a declaration with `for-each:`",
            ));
        };
        match steps.get(1) {
            Some(Step::Field(f)) if f == "key" => Ok((Value::Str(each.key.clone()), &steps[2..])),
            Some(Step::Field(f)) if f == "value" => Ok((each.value.clone(), &steps[2..])),
            Some(Step::Field(f)) if f == "index" => {
                Ok((Value::Int(each.index as i64), &steps[2..]))
            }
            _ => Err(TemplateError::new(
                at,
                "write each.key, each.value or each.index",
            )),
        }
    }

    fn env<'s>(&self, steps: &'s [Step], at: usize) -> Result<(Value, &'s [Step]), TemplateError> {
        let Some(env) = self.env else {
            return Err(TemplateError::new(at, "no environment is selected here")
                .with_help("declare `environments:` and pass --env NAME"));
        };
        let value = match steps.get(1) {
            Some(Step::Field(f)) if f == "name" => Value::Str(env.name.clone()),
            Some(Step::Field(f)) if f == "stack" => Value::Str(env.stack.clone()),
            Some(Step::Field(f)) if f == "region" => {
                env.region.clone().map_or(Value::Null, Value::Str)
            }
            _ => {
                return Err(TemplateError::new(
                    at,
                    "write env.name, env.region or env.stack",
                ));
            }
        };
        Ok((value, &steps[2..]))
    }
}

fn descend(mut value: Value, steps: &[Step], at: usize) -> Result<Value, TemplateError> {
    for step in steps {
        value = match (step, &value) {
            (Step::Field(f), Value::Map(_)) | (Step::Index(Value::Str(f)), Value::Map(_)) => {
                let keys: Vec<String> = match &value {
                    Value::Map(m) => m.iter().map(|(k, _)| k.clone()).collect(),
                    _ => Vec::new(),
                };
                value.field(f).cloned().ok_or_else(|| {
                    TemplateError::new(at, format!("the map has no key `{f}`"))
                        .with_help(format!("its keys: {}", keys.join(", ")))
                })?
            }
            (Step::Index(i), Value::List(items)) => {
                let n = i.as_int().unwrap_or(-1);
                usize::try_from(n)
                    .ok()
                    .and_then(|n| items.get(n))
                    .cloned()
                    .ok_or_else(|| {
                        TemplateError::new(
                            at,
                            format!("index {n} is outside the list of {}", items.len()),
                        )
                    })?
            }
            (_, other) => {
                return Err(TemplateError::new(
                    at,
                    format!("{} has no fields or items", other.type_name()),
                ));
            }
        };
    }
    Ok(value)
}
