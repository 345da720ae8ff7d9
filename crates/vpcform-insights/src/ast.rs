//! The parsed query.

use regex::Regex;

#[derive(Clone, Debug)]
pub(crate) struct Query {
    pub(crate) commands: Vec<Command>,
}

#[derive(Clone, Debug)]
pub(crate) enum Command {
    /// Adds (or computes) fields; several `fields` add up.
    Fields(Vec<Named>),
    /// The fields shown; only the last `display` counts.
    Display(Vec<Named>),
    Filter(Expr),
    Stats(Stats),
    Sort(Vec<(Expr, bool)>),
    Limit(usize),
    Dedup(Vec<String>),
    Parse(Parse),
}

/// An expression and the column name it gets: its alias, else its text.
#[derive(Clone, Debug)]
pub(crate) struct Named {
    pub(crate) expr: Expr,
    pub(crate) name: String,
}

#[derive(Clone, Debug)]
pub(crate) struct Stats {
    pub(crate) aggregates: Vec<Aggregate>,
    pub(crate) by: Vec<Named>,
}

#[derive(Clone, Debug)]
pub(crate) struct Aggregate {
    pub(crate) func: AggFunc,
    /// `None` for `count()` and `count(*)`.
    pub(crate) arg: Option<Expr>,
    /// The percentile of `pct(field, 50)`.
    pub(crate) percent: f64,
    pub(crate) name: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AggFunc {
    Avg,
    Count,
    CountDistinct,
    Max,
    Min,
    Pct,
    Stddev,
    Sum,
    Earliest,
    Latest,
    SortsFirst,
    SortsLast,
}

pub(crate) const AGGREGATES: &[(&str, AggFunc)] = &[
    ("avg", AggFunc::Avg),
    ("count", AggFunc::Count),
    ("count_distinct", AggFunc::CountDistinct),
    ("max", AggFunc::Max),
    ("min", AggFunc::Min),
    ("pct", AggFunc::Pct),
    ("stddev", AggFunc::Stddev),
    ("sum", AggFunc::Sum),
    ("earliest", AggFunc::Earliest),
    ("latest", AggFunc::Latest),
    ("sortsFirst", AggFunc::SortsFirst),
    ("sortsLast", AggFunc::SortsLast),
];

#[derive(Clone, Debug)]
pub(crate) struct Parse {
    pub(crate) field: String,
    pub(crate) pattern: ParsePattern,
}

#[derive(Clone, Debug)]
pub(crate) enum ParsePattern {
    /// `"* from *" as a, b`: each `*` captures into the next name.
    Glob { regex: Regex, names: Vec<String> },
    /// `/(?<name>…)/`: named groups.
    Regex(Regex),
}

/// A field by name, and its slot once the query is compiled.
#[derive(Clone, Debug)]
pub(crate) struct FieldRef {
    pub(crate) name: String,
    pub(crate) id: usize,
}

#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Field(FieldRef),
    Str(String),
    Num(f64),
    Regex(Regex),
    /// A duration (`5m`) in milliseconds, for `bin()` and `datefloor()`.
    Duration(i64),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    Binary(Box<Expr>, BinOp, Box<Expr>),
    In {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
    },
    Call(Func, Vec<Expr>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Match,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

/// The functions usable outside `stats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Func {
    IsPresent,
    Coalesce,
    IsEmpty,
    IsBlank,
    Concat,
    Ltrim,
    Rtrim,
    Trim,
    Strlen,
    ToUpper,
    ToLower,
    Substr,
    Replace,
    StrContains,
    Abs,
    Ceil,
    Floor,
    Greatest,
    Least,
    Log,
    Sqrt,
    Bin,
    DateFloor,
    DateCeil,
    FromMillis,
    ToMillis,
    IsValidIp,
    IsValidIpV4,
    IsValidIpV6,
    IsIpInSubnet,
    IsIpv4InSubnet,
    IsIpv6InSubnet,
}

/// Name, function, and the number of arguments it takes (min, max).
pub(crate) const FUNCTIONS: &[(&str, Func, usize, usize)] = &[
    ("ispresent", Func::IsPresent, 1, 1),
    ("coalesce", Func::Coalesce, 1, 99),
    ("isempty", Func::IsEmpty, 1, 1),
    ("isblank", Func::IsBlank, 1, 1),
    ("concat", Func::Concat, 1, 99),
    ("ltrim", Func::Ltrim, 1, 2),
    ("rtrim", Func::Rtrim, 1, 2),
    ("trim", Func::Trim, 1, 2),
    ("strlen", Func::Strlen, 1, 1),
    ("toupper", Func::ToUpper, 1, 1),
    ("tolower", Func::ToLower, 1, 1),
    ("substr", Func::Substr, 2, 3),
    ("replace", Func::Replace, 3, 3),
    ("strcontains", Func::StrContains, 2, 2),
    ("abs", Func::Abs, 1, 1),
    ("ceil", Func::Ceil, 1, 1),
    ("floor", Func::Floor, 1, 1),
    ("greatest", Func::Greatest, 1, 99),
    ("least", Func::Least, 1, 99),
    ("log", Func::Log, 1, 1),
    ("sqrt", Func::Sqrt, 1, 1),
    ("bin", Func::Bin, 1, 1),
    ("datefloor", Func::DateFloor, 2, 2),
    ("dateceil", Func::DateCeil, 2, 2),
    ("fromMillis", Func::FromMillis, 1, 1),
    ("toMillis", Func::ToMillis, 1, 1),
    ("isValidIp", Func::IsValidIp, 1, 1),
    ("isValidIpV4", Func::IsValidIpV4, 1, 1),
    ("isValidIpV6", Func::IsValidIpV6, 1, 1),
    ("isIpInSubnet", Func::IsIpInSubnet, 2, 2),
    ("isIpv4InSubnet", Func::IsIpv4InSubnet, 2, 2),
    ("isIpv6InSubnet", Func::IsIpv6InSubnet, 2, 2),
];

impl Expr {
    /// Every field reference, to give each its slot.
    pub(crate) fn refs_mut(&mut self, f: &mut impl FnMut(&mut FieldRef)) {
        match self {
            Expr::Field(r) => f(r),
            Expr::Not(e) | Expr::Neg(e) => e.refs_mut(f),
            Expr::Binary(a, _, b) => {
                a.refs_mut(f);
                b.refs_mut(f);
            }
            Expr::In { expr, list, .. } => {
                expr.refs_mut(f);
                list.iter_mut().for_each(|e| e.refs_mut(f));
            }
            Expr::Like { expr, pattern, .. } => {
                expr.refs_mut(f);
                pattern.refs_mut(f);
            }
            Expr::Call(_, args) => args.iter_mut().for_each(|e| e.refs_mut(f)),
            Expr::Str(_) | Expr::Num(_) | Expr::Regex(_) | Expr::Duration(_) => {}
        }
    }
}
