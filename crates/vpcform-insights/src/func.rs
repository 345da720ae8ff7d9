//! Expressions and the functions of Logs Insights.

use std::cmp::Ordering;
use std::net::IpAddr;

use crate::ast::{BinOp, Expr, Func};
use crate::value::{Value, civil_from_days, days_from_civil, natural_cmp, parse_time};

/// A row's fields, by slot.
pub(crate) trait Fields {
    fn get(&self, id: usize) -> Value;
    /// The field's text when it can be borrowed (`Some(None)`: missing).
    fn text(&self, id: usize) -> Option<Option<&str>>;
}

/// Evaluates `e` for one row; `get` reads a field by slot, `ts` is the row's @timestamp.
pub(crate) fn eval(e: &Expr, get: &dyn Fields, ts: i64) -> Value {
    match e {
        Expr::Field(f) => get.get(f.id),
        Expr::Str(s) => Value::Str(s.clone()),
        Expr::Num(n) => Value::Num(*n),
        Expr::Duration(ms) => Value::Num(*ms as f64),
        Expr::Regex(r) => Value::Str(r.as_str().to_string()),
        Expr::Not(x) => Value::Bool(!eval(x, get, ts).truthy()),
        Expr::Neg(x) => eval(x, get, ts)
            .num()
            .map_or(Value::Missing, |n| Value::Num(-n)),
        Expr::Binary(a, op, b) => binary(a, *op, b, get, ts),
        Expr::In {
            expr,
            list,
            negated,
        } => {
            let v = eval(expr, get, ts);
            if v.is_missing() {
                return Value::Bool(false);
            }
            let found = list.iter().any(|x| v.equals(&eval(x, get, ts)));
            Value::Bool(found != *negated)
        }
        Expr::Like {
            expr,
            pattern,
            negated,
        } => {
            let v = eval(expr, get, ts);
            if v.is_missing() {
                return Value::Bool(false);
            }
            let text = v.text();
            let hit = match pattern.as_ref() {
                Expr::Regex(r) => r.is_match(&text),
                other => text.contains(&eval(other, get, ts).text()),
            };
            Value::Bool(hit != *negated)
        }
        Expr::Call(f, args) => call(*f, args, get, ts),
    }
}

fn binary(a: &Expr, op: BinOp, b: &Expr, get: &dyn Fields, ts: i64) -> Value {
    match op {
        BinOp::And => return Value::Bool(eval(a, get, ts).truthy() && eval(b, get, ts).truthy()),
        BinOp::Or => return Value::Bool(eval(a, get, ts).truthy() || eval(b, get, ts).truthy()),
        BinOp::Match => {
            let v = eval(a, get, ts);
            return Value::Bool(match b {
                Expr::Regex(r) => !v.is_missing() && r.is_match(&v.text()),
                other => !v.is_missing() && v.text().contains(&eval(other, get, ts).text()),
            });
        }
        _ => {}
    }
    if matches!(op, BinOp::Eq | BinOp::Ne)
        && let Some(equal) = text_equals(a, b, get)
    {
        return Value::Bool(equal.is_some_and(|e| e == (op == BinOp::Eq)));
    }
    let (x, y) = (eval(a, get, ts), eval(b, get, ts));
    let cmp = |want: fn(Ordering) -> bool| Value::Bool(x.compare(&y).is_some_and(want));
    match op {
        BinOp::Eq => Value::Bool(x.equals(&y)),
        BinOp::Ne => Value::Bool(!x.is_missing() && !y.is_missing() && !x.equals(&y)),
        BinOp::Lt => cmp(Ordering::is_lt),
        BinOp::Le => cmp(Ordering::is_le),
        BinOp::Gt => cmp(Ordering::is_gt),
        BinOp::Ge => cmp(Ordering::is_ge),
        _ => {
            let (Some(p), Some(q)) = (x.num(), y.num()) else {
                return Value::Missing;
            };
            Value::Num(match op {
                BinOp::Add => p + q,
                BinOp::Sub => p - q,
                BinOp::Mul => p * q,
                BinOp::Div if q == 0.0 => return Value::Missing,
                BinOp::Div => p / q,
                BinOp::Mod if q == 0.0 => return Value::Missing,
                BinOp::Mod => p % q,
                _ => p.powf(q),
            })
        }
    }
}

fn call(f: Func, args: &[Expr], get: &dyn Fields, ts: i64) -> Value {
    let arg = |i: usize| args.get(i).map_or(Value::Missing, |e| eval(e, get, ts));
    let text = |i: usize| arg(i).text();
    let num = |i: usize| arg(i).num();
    let numeric = |g: fn(f64) -> f64| num(0).map_or(Value::Missing, |n| Value::Num(g(n)));
    match f {
        Func::IsPresent => Value::Bool(!arg(0).is_missing()),
        Func::Coalesce => args
            .iter()
            .map(|e| eval(e, get, ts))
            .find(|v| !v.is_missing())
            .unwrap_or(Value::Missing),
        Func::IsEmpty => Value::Bool(arg(0).is_missing() || text(0).is_empty()),
        Func::IsBlank => Value::Bool(arg(0).is_missing() || text(0).trim().is_empty()),
        Func::Concat => Value::Str(args.iter().map(|e| eval(e, get, ts).text()).collect()),
        Func::Ltrim | Func::Rtrim | Func::Trim => {
            let s = text(0);
            let chars: Vec<char> = if args.len() > 1 {
                text(1).chars().collect()
            } else {
                vec![' ', '\t', '\n', '\r']
            };
            let trimmed = match f {
                Func::Ltrim => s.trim_start_matches(chars.as_slice()),
                Func::Rtrim => s.trim_end_matches(chars.as_slice()),
                _ => s.trim_matches(chars.as_slice()),
            };
            Value::Str(trimmed.to_string())
        }
        Func::Strlen => Value::Num(text(0).chars().count() as f64),
        Func::ToUpper => Value::Str(text(0).to_uppercase()),
        Func::ToLower => Value::Str(text(0).to_lowercase()),
        Func::Substr => {
            let s: Vec<char> = text(0).chars().collect();
            let start = (num(1).unwrap_or(0.0).max(0.0) as usize).min(s.len());
            let len = num(2).map_or(s.len() - start, |l| l.max(0.0) as usize);
            Value::Str(s[start..(start + len).min(s.len())].iter().collect())
        }
        Func::Replace => Value::Str(text(0).replace(&text(1), &text(2))),
        Func::StrContains => Value::Bool(text(0).contains(&text(1))),
        Func::Abs => numeric(f64::abs),
        Func::Ceil => numeric(f64::ceil),
        Func::Floor => numeric(f64::floor),
        Func::Log => numeric(f64::ln),
        Func::Sqrt => numeric(f64::sqrt),
        Func::Greatest | Func::Least => {
            let values: Vec<Value> = args
                .iter()
                .map(|e| eval(e, get, ts))
                .filter(|v| !v.is_missing())
                .collect();
            let pick = values.into_iter().reduce(|a, b| {
                let o = natural_cmp(&a, &b);
                if (f == Func::Greatest) == (o == Ordering::Less) {
                    b
                } else {
                    a
                }
            });
            pick.unwrap_or(Value::Missing)
        }
        Func::Bin => Value::Time(floor_time(ts, period(&args[0]))),
        Func::DateFloor | Func::DateCeil => {
            let Some(t) = time_of(&arg(0)) else {
                return Value::Missing;
            };
            let p = period(&args[1]);
            let floor = floor_time(t, p);
            if f == Func::DateCeil && floor != t {
                Value::Time(ceil_after(floor, p))
            } else {
                Value::Time(floor)
            }
        }
        Func::FromMillis => num(0).map_or(Value::Missing, |n| Value::Time(n as i64)),
        Func::ToMillis => time_of(&arg(0)).map_or(Value::Missing, |t| Value::Num(t as f64)),
        Func::IsValidIp => Value::Bool(text(0).parse::<IpAddr>().is_ok()),
        Func::IsValidIpV4 => Value::Bool(text(0).parse::<std::net::Ipv4Addr>().is_ok()),
        Func::IsValidIpV6 => Value::Bool(text(0).parse::<std::net::Ipv6Addr>().is_ok()),
        Func::IsIpInSubnet | Func::IsIpv4InSubnet | Func::IsIpv6InSubnet => {
            let (ip, net) = (text(0), text(1));
            let inside = match (ip.parse::<IpAddr>(), net.parse::<ipnet::IpNet>()) {
                (Ok(IpAddr::V4(a)), Ok(ipnet::IpNet::V4(n))) if f != Func::IsIpv6InSubnet => {
                    n.contains(&a)
                }
                (Ok(IpAddr::V6(a)), Ok(ipnet::IpNet::V6(n))) if f != Func::IsIpv4InSubnet => {
                    n.contains(&a)
                }
                _ => false,
            };
            Value::Bool(inside)
        }
    }
}

/// A time value: a timestamp, milliseconds, or a formatted date.
fn time_of(v: &Value) -> Option<i64> {
    match v {
        Value::Time(t) => Some(*t),
        Value::Num(n) => Some(*n as i64),
        Value::Str(s) => s.parse::<i64>().ok().or_else(|| parse_time(s)),
        _ => None,
    }
}

/// A period argument (`5m`) in milliseconds, with its calendar unit.
#[derive(Clone, Copy)]
enum Period {
    Fixed(i64),
    Months(i64),
}

fn period(e: &Expr) -> Period {
    let ms = match e {
        Expr::Duration(ms) => *ms,
        Expr::Num(n) => *n as i64,
        _ => 0,
    };
    const DAY: i64 = 86_400_000;
    match ms {
        m if m > 0 && m % (365 * DAY) == 0 => Period::Months(12 * m / (365 * DAY)),
        m if m > 0 && m % (91 * DAY) == 0 && m % (7 * DAY) != 0 => {
            Period::Months(3 * m / (91 * DAY))
        }
        m if m > 0 && m % (30 * DAY) == 0 && m % (7 * DAY) != 0 => Period::Months(m / (30 * DAY)),
        m => Period::Fixed(m.max(1)),
    }
}

fn floor_time(t: i64, p: Period) -> i64 {
    match p {
        Period::Fixed(ms) => t.div_euclid(ms) * ms,
        Period::Months(n) => {
            let (y, m, _) = civil_from_days(t.div_euclid(86_400_000));
            let index = y * 12 + (m - 1);
            let floored = index - index.rem_euclid(n);
            days_from_civil(floored.div_euclid(12), floored.rem_euclid(12) + 1, 1) * 86_400_000
        }
    }
}

fn ceil_after(floor: i64, p: Period) -> i64 {
    match p {
        Period::Fixed(ms) => floor + ms,
        Period::Months(n) => {
            let (y, m, _) = civil_from_days(floor.div_euclid(86_400_000));
            let next = y * 12 + (m - 1) + n;
            days_from_civil(next.div_euclid(12), next.rem_euclid(12) + 1, 1) * 86_400_000
        }
    }
}

/// `field = 'text'` without copying the field, when the text is not a
/// number (numbers compare numerically): `Some(None)` when the field is
/// missing (both `=` and `!=` are false then), `None` when not this case.
fn text_equals(a: &Expr, b: &Expr, get: &dyn Fields) -> Option<Option<bool>> {
    let ((Expr::Field(f), Expr::Str(literal)) | (Expr::Str(literal), Expr::Field(f))) = (a, b)
    else {
        return None;
    };
    if crate::value::number(literal).is_some() {
        return None;
    }
    Some(get.text(f.id)?.map(|t| t == literal))
}
