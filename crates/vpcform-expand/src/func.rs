//! The functions templates may call: a few that network people need,
//! nothing that loops or recurses.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use vpcform_lang::diagnostic::did_you_mean;

use crate::template::TemplateError;
use crate::value::Value;

type Function = fn(&[Value]) -> Result<Value, String>;

/// Name, fewest and most arguments, signature for messages, the function.
const FUNCTIONS: &[(&str, usize, usize, &str, Function)] = &[
    (
        "cidrsubnet",
        3,
        3,
        "cidrsubnet(PREFIX, NEWBITS, NETNUM)",
        cidrsubnet,
    ),
    ("cidrhost", 2, 2, "cidrhost(PREFIX, HOSTNUM)", cidrhost),
    ("join", 2, 2, "join(SEPARATOR, LIST)", join),
    (
        "format",
        1,
        16,
        "format(FORMAT, VALUES…) with %s, %d and %%",
        format,
    ),
    ("lower", 1, 1, "lower(TEXT)", |a| {
        text(&a[0]).map(|s| Value::Str(s.to_lowercase()))
    }),
    ("upper", 1, 1, "upper(TEXT)", |a| {
        text(&a[0]).map(|s| Value::Str(s.to_uppercase()))
    }),
    ("concat", 1, 16, "concat(LIST, LIST…)", concat),
    ("length", 1, 1, "length(LIST, MAP or TEXT)", length),
    ("keys", 1, 1, "keys(MAP)", |a| {
        map(&a[0]).map(|m| Value::List(m.iter().map(|(k, _)| Value::Str(k.clone())).collect()))
    }),
    ("values", 1, 1, "values(MAP)", |a| {
        map(&a[0]).map(|m| Value::List(m.iter().map(|(_, v)| v.clone()).collect()))
    }),
    ("lookup", 2, 3, "lookup(MAP, KEY[, DEFAULT])", lookup),
    ("range", 1, 2, "range(COUNT) or range(START, END)", range),
];

pub(crate) fn call(name: &str, args: &[Value]) -> Result<Value, TemplateError> {
    let Some((_, min, max, signature, f)) = FUNCTIONS.iter().find(|(n, ..)| *n == name) else {
        let mut e = TemplateError::new(0, format!("there is no function `{name}`"));
        e.help = Some(match did_you_mean(name, FUNCTIONS.iter().map(|f| f.0)) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "the functions: {}",
                FUNCTIONS.iter().map(|f| f.0).collect::<Vec<_>>().join(", ")
            ),
        });
        return Err(e);
    };
    if args.len() < *min || args.len() > *max {
        return Err(TemplateError::new(
            0,
            format!("{name} takes {}, given {}", arity(*min, *max), args.len()),
        )
        .with_help(format!("write {signature}")));
    }
    f(args).map_err(|m| {
        TemplateError::new(0, format!("{name}: {m}")).with_help(format!("write {signature}"))
    })
}

fn arity(min: usize, max: usize) -> String {
    match (min, max) {
        (a, b) if a == b => format!("{a} argument(s)"),
        (a, 16) => format!("at least {a} argument(s)"),
        (a, b) => format!("{a} to {b} arguments"),
    }
}

fn text(v: &Value) -> Result<String, String> {
    v.text()
        .ok_or_else(|| format!("expected text, found {}", v.type_name()))
}

fn int(v: &Value) -> Result<i64, String> {
    v.as_int()
        .ok_or_else(|| format!("expected a whole number, found {}", v.type_name()))
}

fn list(v: &Value) -> Result<&[Value], String> {
    match v {
        Value::List(items) => Ok(items),
        other => Err(format!("expected a list, found {}", other.type_name())),
    }
}

fn map(v: &Value) -> Result<&[(String, Value)], String> {
    match v {
        Value::Map(entries) => Ok(entries),
        other => Err(format!("expected a map, found {}", other.type_name())),
    }
}

fn prefix(v: &Value) -> Result<IpNet, String> {
    let t = text(v)?;
    t.parse::<IpNet>()
        .map_err(|_| format!("`{t}` is not a CIDR block"))
}

/// Terraform's and AWS's subnetting: the NETNUM'th block of PREFIX's length + NEWBITS.
fn cidrsubnet(a: &[Value]) -> Result<Value, String> {
    let net = prefix(&a[0])?;
    let (newbits, netnum) = (int(&a[1])?, int(&a[2])?);
    let max = u32::from(net.max_prefix_len());
    let length =
        u32::from(net.prefix_len()) + u32::try_from(newbits).map_err(|_| "NEWBITS is negative")?;
    if newbits == 0 || length > max {
        return Err(format!(
            "{net} cannot take {newbits} more bits (at most /{max})"
        ));
    }
    let count: u128 = 1u128 << newbits.min(127);
    let netnum = u128::try_from(netnum).map_err(|_| "NETNUM is negative")?;
    if netnum >= count {
        return Err(format!(
            "{net} holds {count} blocks of /{length}; NETNUM {netnum} is outside them"
        ));
    }
    let shift = max - length;
    let out = match net {
        IpNet::V4(n) => {
            let base = u32::from(n.network()) as u128 + (netnum << shift);
            IpNet::V4(
                Ipv4Net::new(Ipv4Addr::from(base as u32), length as u8)
                    .map_err(|e| e.to_string())?,
            )
        }
        IpNet::V6(n) => {
            let base = u128::from(n.network()) + (netnum << shift);
            IpNet::V6(Ipv6Net::new(Ipv6Addr::from(base), length as u8).map_err(|e| e.to_string())?)
        }
    };
    Ok(Value::Str(out.to_string()))
}

/// The HOSTNUM'th address of PREFIX (negative counts back from its last).
fn cidrhost(a: &[Value]) -> Result<Value, String> {
    let net = prefix(&a[0])?;
    let host = int(&a[1])? as i128;
    let bits = u32::from(net.max_prefix_len() - net.prefix_len());
    let size: i128 = if bits >= 127 {
        i128::MAX
    } else {
        1i128 << bits
    };
    let offset = if host < 0 { size + host } else { host };
    if offset < 0 || offset >= size {
        return Err(format!(
            "{net} holds {size} addresses; HOSTNUM {host} is outside it"
        ));
    }
    let address = match net {
        IpNet::V4(n) => IpAddr::V4(Ipv4Addr::from(u32::from(n.network()) + offset as u32)),
        IpNet::V6(n) => IpAddr::V6(Ipv6Addr::from(u128::from(n.network()) + offset as u128)),
    };
    Ok(Value::Str(address.to_string()))
}

fn join(a: &[Value]) -> Result<Value, String> {
    let separator = text(&a[0])?;
    let parts = list(&a[1])?
        .iter()
        .map(text)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Value::Str(parts.join(&separator)))
}

fn format(a: &[Value]) -> Result<Value, String> {
    let spec = text(&a[0])?;
    let mut args = a[1..].iter();
    let mut out = String::new();
    let mut chars = spec.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') => out.push_str(&text(args.next().ok_or("more %s/%d than values")?)?),
            Some('d') => {
                out.push_str(&int(args.next().ok_or("more %s/%d than values")?)?.to_string())
            }
            other => return Err(format!("`%{}` is not %s, %d or %%", other.unwrap_or(' '))),
        }
    }
    if args.next().is_some() {
        return Err("more values than %s/%d".into());
    }
    Ok(Value::Str(out))
}

fn concat(a: &[Value]) -> Result<Value, String> {
    let mut out = Vec::new();
    for v in a {
        out.extend(list(v)?.iter().cloned());
    }
    Ok(Value::List(out))
}

fn length(a: &[Value]) -> Result<Value, String> {
    let n = match &a[0] {
        Value::List(items) => items.len(),
        Value::Map(entries) => entries.len(),
        Value::Str(s) => s.chars().count(),
        other => return Err(format!("{} has no length", other.type_name())),
    };
    Ok(Value::Int(n as i64))
}

fn lookup(a: &[Value]) -> Result<Value, String> {
    let key = text(&a[1])?;
    match (map(&a[0])?.iter().find(|(k, _)| *k == key), a.get(2)) {
        (Some((_, v)), _) => Ok(v.clone()),
        (None, Some(default)) => Ok(default.clone()),
        (None, None) => Err(format!(
            "the map has no key `{key}` and no default is given"
        )),
    }
}

fn range(a: &[Value]) -> Result<Value, String> {
    let (start, end) = match a {
        [n] => (0, int(n)?),
        [s, e] => (int(s)?, int(e)?),
        _ => unreachable!("arity checked"),
    };
    if end - start > 4096 {
        return Err("a range holds at most 4,096 numbers".into());
    }
    Ok(Value::List((start..end).map(Value::Int).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.into())
    }

    #[test]
    fn subnetting_follows_the_prefix_arithmetic() {
        let call = |p: &str, b, n| cidrsubnet(&[s(p), Value::Int(b), Value::Int(n)]);
        assert_eq!(call("10.1.0.0/16", 8, 0), Ok(s("10.1.0.0/24")));
        assert_eq!(call("10.1.0.0/16", 8, 255), Ok(s("10.1.255.0/24")));
        assert_eq!(call("10.1.0.0/16", 4, 3), Ok(s("10.1.48.0/20")));
        assert_eq!(
            call("2600:1f18:abcd::/56", 8, 2),
            Ok(s("2600:1f18:abcd:2::/64"))
        );
        assert!(call("10.1.0.0/16", 8, 256).is_err());
        assert!(call("10.1.0.0/30", 8, 0).is_err());
        assert_eq!(
            cidrhost(&[s("10.1.2.0/24"), Value::Int(10)]),
            Ok(s("10.1.2.10"))
        );
        assert_eq!(
            cidrhost(&[s("10.1.2.0/24"), Value::Int(-2)]),
            Ok(s("10.1.2.254"))
        );
        assert!(cidrhost(&[s("10.1.2.0/24"), Value::Int(256)]).is_err());
    }

    #[test]
    fn text_functions() {
        assert_eq!(
            format(&[s("%s-%d%%"), s("a"), Value::Int(3)]),
            Ok(s("a-3%"))
        );
        assert!(format(&[s("%s"), s("a"), s("b")]).is_err());
        assert_eq!(
            join(&[s(","), Value::List(vec![s("a"), Value::Int(1)])]),
            Ok(s("a,1"))
        );
    }
}
