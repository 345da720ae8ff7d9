//! Running a compiled query over a stream of events. `filter`, `fields`,
//! `parse` and `stats` stream (stats keeps one accumulator per group);
//! `sort` keeps the best rows only (at most the limit, 10,000 by default);
//! `dedup` keeps what it has seen.

use std::cell::{Cell, OnceCell};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::ast::{AggFunc, Aggregate, Command, Expr, Named, ParsePattern, Query, Stats};
use crate::error::{QueryError, did_you_mean};
use crate::event::{
    Event, FLOW_LOG_FIELDS, FlowSpans, Record, SYSTEM_FIELDS, Source, flow_spans, source_of,
};
use crate::parser::MAX_LIMIT;
use crate::value::{Value, natural_cmp};

/// A query ready to run: every field reference has its slot.
#[derive(Debug)]
pub struct Compiled {
    query: Query,
    names: Vec<String>,
    sources: Vec<Source>,
    /// The result's columns, in order.
    columns: Vec<usize>,
    /// Whether the query sorts or aggregates (else: newest first).
    ordered: bool,
}

/// What a query returns: columns, rows of strings, and statistics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueryResult {
    pub fields: Vec<String>,
    /// Each row's present fields, in column order, as strings.
    pub rows: Vec<Vec<(String, String)>>,
    pub statistics: Statistics,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Statistics {
    pub records_matched: f64,
    pub records_scanned: f64,
    pub bytes_scanned: f64,
}

/// Parses and compiles a query. A field not discovered in flow logs but
/// close to one (`srcaddr`) is an error with "did you mean".
pub fn compile(text: &str) -> Result<Compiled, QueryError> {
    let (mut query, refs) = crate::parser::parse(text)?;
    let mut names: Vec<String> = Vec::new();
    // Slots by name: a query naming thousands of fields stays linear.
    let mut slots: HashMap<String, usize> = HashMap::new();
    let mut slot = |name: &str, names: &mut Vec<String>| match slots.get(name) {
        Some(&i) => i,
        None => {
            names.push(name.to_string());
            slots.insert(name.to_string(), names.len() - 1);
            names.len() - 1
        }
    };
    // Names the query itself defines (a field shown as itself defines nothing).
    let mut defined: HashSet<String> = HashSet::new();
    let new_names = |list: &[Named]| -> Vec<String> {
        list.iter()
            .filter(|n| !matches!(&n.expr, Expr::Field(f) if f.name == n.name))
            .map(|n| n.name.clone())
            .collect()
    };
    for c in &query.commands {
        match c {
            Command::Fields(list) | Command::Display(list) => defined.extend(new_names(list)),
            Command::Stats(s) => {
                defined.extend(new_names(&s.by));
                defined.extend(s.aggregates.iter().map(|a| a.name.clone()));
            }
            Command::Parse(p) => match &p.pattern {
                ParsePattern::Glob { names, .. } => defined.extend(names.iter().cloned()),
                ParsePattern::Regex(r) => {
                    defined.extend(r.capture_names().flatten().map(str::to_string))
                }
            },
            _ => {}
        }
    }
    let known: Vec<&str> = FLOW_LOG_FIELDS
        .iter()
        .chain(SYSTEM_FIELDS.iter())
        .copied()
        .collect();
    for (name, column) in &refs {
        if source_of(name) == Source::Computed && !defined.contains(name) {
            let hint = did_you_mean(name, known.iter().copied());
            if !hint.is_empty() {
                return Err(QueryError::at(
                    *column,
                    format!("no field `{name}` is discovered in flow logs{hint}"),
                ));
            }
        }
    }
    for c in &mut query.commands {
        let mut resolve = |e: &mut Expr| e.refs_mut(&mut |r| r.id = slot(&r.name, &mut names));
        match c {
            Command::Fields(list) | Command::Display(list) => {
                list.iter_mut().for_each(|n| resolve(&mut n.expr))
            }
            Command::Filter(e) => resolve(e),
            Command::Stats(s) => {
                s.by.iter_mut().for_each(|n| resolve(&mut n.expr));
                s.aggregates
                    .iter_mut()
                    .filter_map(|a| a.arg.as_mut())
                    .for_each(&mut resolve);
            }
            Command::Sort(keys) => keys.iter_mut().for_each(|(e, _)| resolve(e)),
            _ => {}
        }
    }
    for name in ["@timestamp", "@message"] {
        slot(name, &mut names);
    }
    for name in defined {
        slot(&name, &mut names);
    }
    for c in &query.commands {
        let listed: Vec<&String> = match c {
            Command::Fields(list) | Command::Display(list) => {
                list.iter().map(|n| &n.name).collect()
            }
            Command::Stats(s) => s.by.iter().map(|n| &n.name).collect(),
            _ => Vec::new(),
        };
        for name in listed {
            slot(name, &mut names);
        }
    }
    for c in &query.commands {
        match c {
            Command::Dedup(keys) => {
                for k in keys {
                    slot(k, &mut names);
                }
            }
            Command::Parse(p) => {
                slot(&p.field, &mut names);
            }
            _ => {}
        }
    }
    let sources = names.iter().map(|n| source_of(n)).collect();
    let columns = result_columns(&query, &names);
    let ordered = query
        .commands
        .iter()
        .any(|c| matches!(c, Command::Sort(_) | Command::Stats(_)));
    Ok(Compiled {
        query,
        names,
        sources,
        columns,
        ordered,
    })
}

/// The last `display`, else the last `stats` (then `fields` after it), else
/// every `fields`, else `@timestamp` and `@message`.
fn result_columns(q: &Query, names: &[String]) -> Vec<usize> {
    let slots: HashMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();
    let id = |n: &str| slots[n];
    if let Some(Command::Display(list)) = q
        .commands
        .iter()
        .rev()
        .find(|c| matches!(c, Command::Display(_)))
    {
        return list.iter().map(|n| id(&n.name)).collect();
    }
    let last_stats = q
        .commands
        .iter()
        .rposition(|c| matches!(c, Command::Stats(_)));
    let mut out: Vec<usize> = Vec::new();
    let mut seen: HashSet<usize> = HashSet::new();
    let mut push = |i: usize, out: &mut Vec<usize>| {
        if seen.insert(i) {
            out.push(i);
        }
    };
    if let Some(i) = last_stats
        && let Command::Stats(s) = &q.commands[i]
    {
        s.by.iter().for_each(|n| push(id(&n.name), &mut out));
        s.aggregates
            .iter()
            .for_each(|a| push(id(&a.name), &mut out));
    }
    for c in &q.commands[last_stats.map_or(0, |i| i + 1)..] {
        if let Command::Fields(list) = c {
            list.iter().for_each(|n| push(id(&n.name), &mut out));
        }
    }
    if out.is_empty() {
        out = vec![id("@timestamp"), id("@message")];
    }
    out
}

/// One row: an event (until `stats` replaces events with groups) and the
/// values the query set.
#[derive(Debug)]
struct Row {
    event: Option<Event>,
    /// Where the record's flow-log fields are, scanned once.
    flow: OnceCell<Option<FlowSpans>>,
    slots: Vec<Value>,
    seq: u64,
}

impl Row {
    fn of(record: Record) -> Self {
        Row {
            flow: record.spans.map_or_else(OnceCell::new, OnceCell::from),
            event: Some(record.event),
            slots: Vec::new(),
            seq: record.seq,
        }
    }

    fn get(&self, id: usize, sources: &[Source]) -> Value {
        if let Some(v) = self.slots.get(id).filter(|v| !v.is_missing()) {
            return v.clone();
        }
        if let Some(text) = self.flow_text(id, sources) {
            return text.map_or(Value::Missing, |t| Value::Str(t.to_string()));
        }
        match &self.event {
            Some(event) => event.field(sources[id]),
            None => Value::Missing,
        }
    }

    /// A discovered flow-log field the query has not set, borrowed from
    /// the record (`Some(None)`: missing); `None` for any other field.
    fn flow_text(&self, id: usize, sources: &[Source]) -> Option<Option<&str>> {
        let Source::Flow(i) = sources[id] else {
            return None;
        };
        if self.slots.get(id).is_some_and(|v| !v.is_missing()) {
            return None;
        }
        let event = self.event.as_ref()?;
        let spans = self.flow.get_or_init(|| flow_spans(&event.message));
        Some(
            spans.and_then(|spans| match spans.field(&event.message, i) {
                "-" => None,
                v => Some(v),
            }),
        )
    }

    fn set(&mut self, id: usize, v: Value) {
        if self.slots.len() <= id {
            self.slots.resize(id + 1, Value::Missing);
        }
        self.slots[id] = v;
    }

    fn timestamp(&self) -> i64 {
        self.event.as_ref().map_or(0, |e| e.timestamp)
    }
}

type Rows<'a> = Box<dyn Iterator<Item = Row> + 'a>;

struct RowFields<'r> {
    row: &'r Row,
    sources: &'r [Source],
}

impl crate::func::Fields for RowFields<'_> {
    fn get(&self, id: usize) -> Value {
        self.row.get(id, self.sources)
    }

    fn text(&self, id: usize) -> Option<Option<&str>> {
        self.row.flow_text(id, self.sources)
    }
}

impl Compiled {
    /// Whether the query reads a field of this source anywhere.
    pub(crate) fn reads(&self, source: Source) -> bool {
        self.sources.contains(&source)
    }

    /// The slot `compile` gave a name.
    fn slot_of(&self, name: &str) -> usize {
        self.names
            .iter()
            .position(|n| n == name)
            .expect("compile gives every name a slot")
    }

    /// The slots of a `stats`'s `by` fields and of its aggregates.
    fn group_slots(&self, s: &Stats) -> (Vec<usize>, Vec<usize>) {
        (
            s.by.iter().map(|n| self.slot_of(&n.name)).collect(),
            s.aggregates.iter().map(|a| self.slot_of(&a.name)).collect(),
        )
    }

    /// The result's column names.
    pub fn columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|&i| self.names[i].clone())
            .collect()
    }

    fn value(&self, e: &Expr, row: &Row) -> Value {
        let fields = RowFields {
            row,
            sources: &self.sources,
        };
        crate::func::eval(e, &fields, row.timestamp())
    }

    /// Runs the query over events (any order).
    pub fn run(&self, events: impl Iterator<Item = Event>) -> QueryResult {
        let numbered = events.enumerate().map(|(i, event)| Record {
            seq: i as u64,
            event,
            spans: None,
        });
        let commands = self.with_default_order();
        let counters = Cell::new(Counters::default());
        let rows = self.streamed(&commands, numbered, &counters);
        let first_block = first_blocking(&commands);
        let rows = self.pipeline(&commands[first_block..], rows);
        self.result(rows, counters.get())
    }

    /// Runs the query over partitions of the input, each on its own thread.
    /// Each partition yields its events with a sequence number that orders
    /// the whole input (e.g. a byte offset). The commands up to the first
    /// `stats` or `sort` run in every partition, whose partial groups or
    /// best rows are then merged; other queries read the partitions in turn.
    /// `input_bytes` (the whole input's size, when known) sizes the groups
    /// of a `stats` once instead of growing them.
    pub(crate) fn run_partitioned<I>(
        &self,
        partitions: Vec<I>,
        input_bytes: Option<u64>,
    ) -> QueryResult
    where
        I: Iterator<Item = Record> + Send,
    {
        let commands = self.with_default_order();
        let split = first_blocking(&commands);
        let mergeable = matches!(
            commands.get(split),
            Some(Command::Stats(_) | Command::Sort(_))
        );
        if !mergeable || partitions.len() < 2 {
            let counters = Cell::new(Counters::default());
            let rows = self.streamed(&commands, partitions.into_iter().flatten(), &counters);
            let rows = self.pipeline(&commands[split..], rows);
            return self.result(rows, counters.get());
        }
        let width = match &commands[split] {
            Command::Stats(s) => s.aggregates.len(),
            _ => 0,
        };
        let groups = SharedGroups::new(width);
        let partials: Vec<(Partial, Counters)> = std::thread::scope(|scope| {
            let handles: Vec<_> = partitions
                .into_iter()
                .map(|part| {
                    scope.spawn(|| self.partial(&commands, split, part, &groups, input_bytes))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a partition's evaluation panicked"))
                .collect()
        });
        let partials_len = partials.len();
        let mut total = Counters::default();
        let mut merged: Option<Partial> = None;
        for (partial, counters) in partials {
            total.add(counters);
            merged = Some(match merged {
                None => partial,
                Some(m) => m.merge(partial),
            });
        }
        let threads = partials_len;
        let (rows, next): (Rows<'_>, usize) = match merged.expect("two partitions") {
            Partial::Grouped => {
                let Command::Stats(s) = &commands[split] else {
                    unreachable!("groups come from stats")
                };
                match commands.get(split + 1) {
                    // `stats … | sort`: the groups are ranked in parallel too.
                    Some(Command::Sort(keys)) => {
                        let keep = keep_after_sort(&commands[split + 2..]);
                        let top = self.top_groups(s, groups, keys, keep, threads);
                        (Box::new(top.into_sorted().into_iter()), split + 2)
                    }
                    _ => {
                        let natural = !sorted_later(&commands[split + 1..]);
                        (
                            self.grouped_rows(s, groups.into_groups(), natural),
                            split + 1,
                        )
                    }
                }
            }
            Partial::Top(top) => (Box::new(top.into_sorted().into_iter()), split + 1),
        };
        let rows = self.pipeline(&commands[next..], rows);
        self.result(rows, total)
    }

    /// The best rows of `stats` groups by a sort, shards split between threads.
    fn top_groups(
        &self,
        s: &Stats,
        groups: SharedGroups,
        keys: &[(Expr, bool)],
        keep: usize,
        threads: usize,
    ) -> TopRows {
        let mut shards = groups.into_shards();
        let per_thread = shards.len().div_ceil(threads.max(1));
        let mut parts: Vec<Vec<Groups>> = Vec::new();
        while !shards.is_empty() {
            let rest = shards.split_off(per_thread.min(shards.len()));
            parts.push(std::mem::replace(&mut shards, rest));
        }
        let tops: Vec<TopRows> = std::thread::scope(|scope| {
            let handles: Vec<_> = parts
                .into_iter()
                .map(|part| scope.spawn(move || self.rank_groups(s, part, keys, keep)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("ranking groups panicked"))
                .collect()
        });
        let mut tops = tops.into_iter();
        let mut best = tops.next().expect("one part at least");
        for top in tops {
            best.merge(top);
        }
        best
    }

    /// One partition's events through the streaming commands, then into
    /// the shared groups (`stats`) or its own best rows (`sort`).
    fn partial(
        &self,
        commands: &[Command],
        split: usize,
        events: impl Iterator<Item = Record>,
        groups: &SharedGroups,
        input_bytes: Option<u64>,
    ) -> (Partial, Counters) {
        let counters = Cell::new(Counters::default());
        let rows = self.streamed(commands, events, &counters);
        let partial = match &commands[split] {
            Command::Stats(s) => {
                let sizing = Sizing {
                    input_bytes,
                    counters: &counters,
                };
                self.add_to_groups(s, rows, groups, Some(sizing));
                Partial::Grouped
            }
            Command::Sort(keys) => {
                Partial::Top(self.top(keys, rows, keep_after_sort(&commands[split + 1..])))
            }
            _ => unreachable!("only stats and sort are merged"),
        };
        (partial, counters.get())
    }

    /// Events through the commands before the first blocking one, counted:
    /// scanned as they come, matched as they pass those commands.
    fn streamed<'a>(
        &'a self,
        commands: &'a [Command],
        events: impl Iterator<Item = Record> + 'a,
        counters: &'a Cell<Counters>,
    ) -> Rows<'a> {
        let mut rows: Rows<'a> = Box::new(events.map(move |record| {
            counters.set(counters.get().scanned(record.event.message.len()));
            Row::of(record)
        }));
        let first_block = first_blocking(commands);
        for (i, c) in commands[..first_block].iter().enumerate() {
            rows = self.apply(c, &commands[i + 1..], rows);
        }
        Box::new(rows.inspect(move |_| counters.set(counters.get().matched())))
    }

    fn pipeline<'a>(&'a self, commands: &'a [Command], mut rows: Rows<'a>) -> Rows<'a> {
        for (i, c) in commands.iter().enumerate() {
            rows = self.apply(c, &commands[i + 1..], rows);
        }
        rows
    }

    fn result(&self, rows: Rows<'_>, counters: Counters) -> QueryResult {
        let out: Vec<Row> = rows.take(MAX_LIMIT).collect();
        QueryResult {
            fields: self.columns(),
            rows: out.iter().map(|r| self.render(r)).collect(),
            statistics: Statistics {
                records_matched: counters.matched as f64,
                records_scanned: counters.scanned as f64,
                bytes_scanned: counters.bytes as f64,
            },
        }
    }

    /// Without `sort` or `stats`, results are newest first: as if `sort
    /// @timestamp desc` came before the first `limit` (or at the end).
    fn with_default_order(&self) -> Vec<Command> {
        let mut commands = self.query.commands.clone();
        if !self.ordered {
            let id = self.slot_of("@timestamp");
            let by_time = Command::Sort(vec![(
                Expr::Field(crate::ast::FieldRef {
                    name: "@timestamp".into(),
                    id,
                }),
                true,
            )]);
            let at = commands
                .iter()
                .position(|c| matches!(c, Command::Limit(_)))
                .unwrap_or(commands.len());
            commands.insert(at, by_time);
        }
        commands
    }

    fn apply<'a>(&'a self, c: &'a Command, rest: &[Command], rows: Rows<'a>) -> Rows<'a> {
        match c {
            Command::Filter(e) => Box::new(rows.filter(move |r| self.value(e, r).truthy())),
            Command::Fields(list) | Command::Display(list) => {
                Box::new(rows.map(move |r| self.assign(list, r)))
            }
            Command::Parse(p) => {
                let id = self.slot_of(&p.field);
                Box::new(rows.map(move |r| self.parse(p, id, r)))
            }
            Command::Stats(s) => {
                let groups = SharedGroups::new(s.aggregates.len());
                self.add_to_groups(s, rows, &groups, None);
                self.grouped_rows(s, groups.into_groups(), !sorted_later(rest))
            }
            Command::Sort(keys) => Box::new(
                self.top(keys, rows, keep_after_sort(rest))
                    .into_sorted()
                    .into_iter(),
            ),
            Command::Limit(n) => Box::new(rows.take(*n)),
            Command::Dedup(keys) => {
                let ids: Vec<usize> = keys.iter().map(|k| self.slot_of(k)).collect();
                let mut seen: HashSet<Vec<String>> = HashSet::new();
                Box::new(rows.filter(move |r| {
                    let key: Option<Vec<String>> = ids
                        .iter()
                        .map(|&i| r.get(i, &self.sources).to_result())
                        .collect();
                    // A row missing a key field is never a duplicate.
                    key.is_none_or(|k| seen.insert(k))
                }))
            }
        }
    }

    fn assign(&self, list: &[Named], mut r: Row) -> Row {
        for n in list {
            let id = self.slot_of(&n.name);
            if let Expr::Field(f) = &n.expr
                && f.id == id
            {
                continue; // a field shown as itself
            }
            let v = self.value(&n.expr, &r);
            r.set(id, v);
        }
        r
    }

    fn parse(&self, p: &crate::ast::Parse, field: usize, mut r: Row) -> Row {
        let text = r.get(field, &self.sources).text();
        let slot = |name: &str| self.slot_of(name);
        match &p.pattern {
            ParsePattern::Glob { regex, names } => {
                if let Some(c) = regex.captures(&text) {
                    for (i, name) in names.iter().enumerate() {
                        if let Some(m) = c.get(i + 1) {
                            r.set(slot(name), Value::Str(m.as_str().to_string()));
                        }
                    }
                }
            }
            ParsePattern::Regex(regex) => {
                if let Some(c) = regex.captures(&text) {
                    for name in regex.capture_names().flatten() {
                        if let Some(m) = c.name(name) {
                            r.set(slot(name), Value::Str(m.as_str().to_string()));
                        }
                    }
                }
            }
        }
        r
    }

    fn top(&self, keys: &[(Expr, bool)], rows: Rows<'_>, keep: usize) -> TopRows {
        let mut top = TopRows::new(keys, keep);
        let mut key = Vec::new();
        for row in rows {
            key.clear();
            key.extend(keys.iter().map(|(e, _)| self.value(e, &row)));
            top.offer(&mut key, row);
        }
        top
    }

    /// Adds rows to their groups, keyed by the groups' result text. Rows
    /// are aggregated in a private table first (no lock per row) while
    /// groups repeat; when a private table fills with groups seen about
    /// once, the rest go straight to the shared groups, sized then for the
    /// number of groups the input's size predicts.
    fn add_to_groups(
        &self,
        s: &Stats,
        rows: Rows<'_>,
        shared: &SharedGroups,
        sizing: Option<Sizing<'_>>,
    ) {
        const PRIVATE_GROUPS: usize = 1 << 12;
        // Long keys (whole messages) flush sooner: a private table stays small.
        const PRIVATE_KEY_BYTES: usize = 1 << 24;
        let mut private = Groups::new(s.aggregates.len());
        let mut private_rows = 0usize;
        let mut direct = false;
        let mut key = Vec::new();
        for row in rows {
            key.clear();
            for n in &s.by {
                match &n.expr {
                    Expr::Field(f) if let Some(text) = row.flow_text(f.id, &self.sources) => {
                        encode_key_part(&mut key, text)
                    }
                    e => encode_key_part(&mut key, self.value(e, &row).to_result().as_deref()),
                }
            }
            let (ts, seq) = (row.timestamp(), row.seq);
            let add = |accs: &mut [Acc]| {
                for (acc, a) in accs.iter_mut().zip(&s.aggregates) {
                    let text = match &a.arg {
                        Some(Expr::Field(f)) => row.flow_text(f.id, &self.sources),
                        _ => None,
                    };
                    if !text.is_some_and(|t| acc.add_text(t)) {
                        acc.add(a.arg.as_ref().map(|e| self.value(e, &row)), ts, seq);
                    }
                }
            };
            if direct {
                shared.update(&key, seq, &s.aggregates, add);
                continue;
            }
            add(private.entry(shared.hash(&key), &key, seq, &s.aggregates));
            private_rows += 1;
            if private.len() >= PRIVATE_GROUPS || private.keys.len() >= PRIVATE_KEY_BYTES {
                direct = private_rows < 2 * private.len();
                // Sized from a full table of groups only: a few long keys
                // predict nothing.
                let predicts = direct && private.len() >= PRIVATE_GROUPS;
                if let Some(sizing) = sizing.as_ref().filter(|_| predicts) {
                    sizing.reserve(shared, &private);
                }
                shared.absorb(&mut private, &s.aggregates);
                private_rows = 0;
            }
        }
        shared.absorb(&mut private, &s.aggregates);
    }

    /// The best groups of some shards by a sort. When the sort reads only
    /// aggregates, a group's key is decoded only if the group is kept.
    fn rank_groups(
        &self,
        s: &Stats,
        shards: Vec<Groups>,
        keys: &[(Expr, bool)],
        keep: usize,
    ) -> TopRows {
        let (by_slots, agg_slots) = self.group_slots(s);
        let reads_keys = keys.iter().any(|(e, _)| {
            let mut hit = false;
            e.clone().refs_mut(&mut |r| hit |= by_slots.contains(&r.id));
            hit
        });
        let mut top = TopRows::new(keys, keep);
        let mut sort_key = Vec::new();
        // One row reused until a group is kept: most are not.
        let mut r = empty_row(0);
        for shard in shards {
            let mut accs = shard.accs.into_iter();
            for (g, &seq) in shard.first_seq.iter().enumerate() {
                r.seq = seq;
                r.slots.iter_mut().for_each(|v| *v = Value::Missing);
                set_aggregates(&mut r, s, &agg_slots, accs.by_ref().take(shard.width));
                let key = || decode_key(Groups::key(&shard.keys, &shard.key_ends, g));
                if reads_keys {
                    set_key_parts(&mut r, &by_slots, key());
                }
                sort_key.clear();
                sort_key.extend(keys.iter().map(|(e, _)| self.value(e, &r)));
                if !top.admits(&sort_key, seq) {
                    continue;
                }
                if !reads_keys {
                    set_key_parts(&mut r, &by_slots, key());
                }
                top.offer(&mut sort_key, std::mem::replace(&mut r, empty_row(0)));
            }
        }
        top
    }

    /// Rows made one at a time, so a later `sort … | limit` of millions of
    /// groups never holds them all as rows.
    fn grouped_rows<'a>(
        &'a self,
        s: &'a Stats,
        groups: impl Iterator<Item = (u64, Vec<Option<String>>, Vec<Acc>)> + 'a,
        natural: bool,
    ) -> Rows<'a> {
        let (by_slots, agg_slots) = self.group_slots(s);
        let keys = by_slots.clone();
        let rows = groups.map(move |(seq, key, accs)| {
            let mut r = empty_row(seq);
            set_aggregates(&mut r, s, &agg_slots, accs);
            set_key_parts(&mut r, &keys, key);
            r
        });
        if !natural {
            return Box::new(rows);
        }
        // Without a later sort: groups in the natural order of their keys
        // (bin() groups chronologically).
        let mut out: Vec<Row> = rows.collect();
        out.sort_by(|a, b| {
            by_slots
                .iter()
                .map(|&id| natural_cmp(&a.get(id, &self.sources), &b.get(id, &self.sources)))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        });
        Box::new(out.into_iter())
    }

    fn render(&self, r: &Row) -> Vec<(String, String)> {
        self.columns
            .iter()
            .filter_map(|&id| {
                Some((
                    self.names[id].clone(),
                    r.get(id, &self.sources).to_result()?,
                ))
            })
            .collect()
    }
}

/// One aggregate's running state, small (large states boxed) because
/// high-cardinality `stats` hold one per group and aggregate.
#[derive(Debug)]
enum Acc {
    Count(u64),
    Sum(f64, u64),
    // Boxed: a HashSet is 48 bytes inline and would size every other state.
    #[allow(clippy::box_collection)]
    Distinct(Box<HashSet<String>>),
    Extreme(Option<Box<Value>>, bool),
    // Boxed, like the moments: the common states (count, sum) then take
    // 24 bytes a group instead of 32.
    #[allow(clippy::box_collection)]
    Values(Box<Vec<f64>>),
    Moments(Box<Moments>),
    /// The value at the earliest or latest time, and its row (ties go to
    /// the first row, whichever partition sees it first).
    AtTime(Option<Box<(i64, u64, Value)>>, bool),
}
impl Acc {
    fn new(f: AggFunc) -> Self {
        match f {
            AggFunc::Count => Acc::Count(0),
            AggFunc::Sum | AggFunc::Avg => Acc::Sum(0.0, 0),
            AggFunc::CountDistinct => Acc::Distinct(Box::default()),
            AggFunc::Min | AggFunc::SortsFirst => Acc::Extreme(None, false),
            AggFunc::Max | AggFunc::SortsLast => Acc::Extreme(None, true),
            AggFunc::Pct => Acc::Values(Box::default()),
            AggFunc::Stddev => Acc::Moments(Box::default()),
            AggFunc::Earliest => Acc::AtTime(None, false),
            AggFunc::Latest => Acc::AtTime(None, true),
        }
    }

    /// `v` is `None` for `count()`/`count(*)`.
    fn add(&mut self, v: Option<Value>, ts: i64, seq: u64) {
        match self {
            Acc::Count(n) => {
                if v.as_ref().is_none_or(|v| !v.is_missing()) {
                    *n += 1;
                }
            }
            Acc::Sum(total, n) => {
                if let Some(x) = v.and_then(|v| v.num()) {
                    *total += x;
                    *n += 1;
                }
            }
            Acc::Distinct(set) => {
                if let Some(t) = v.and_then(|v| v.to_result()) {
                    set.insert(t);
                }
            }
            Acc::Extreme(best, max) => {
                let Some(v) = v.filter(|v| !v.is_missing()) else {
                    return;
                };
                if better_extreme(&v, best.as_deref(), *max) {
                    *best = Some(Box::new(v));
                }
            }
            Acc::Values(values) => {
                if let Some(x) = v.and_then(|v| v.num()) {
                    values.push(x);
                }
            }
            Acc::Moments(m) => {
                if let Some(x) = v.and_then(|v| v.num()) {
                    m.n += 1;
                    let delta = x - m.mean;
                    m.mean += delta / m.n as f64;
                    m.m2 += delta * (x - m.mean);
                }
            }
            Acc::AtTime(best, latest) => {
                let Some(v) = v.filter(|v| !v.is_missing()) else {
                    return;
                };
                if better_time((ts, seq), best.as_deref(), *latest) {
                    *best = Some(Box::new((ts, seq, v)));
                }
            }
        }
    }

    /// Adds a field's text (`None`: missing) without making a value of it,
    /// when this aggregate needs no more than its number; `false` if it does.
    fn add_text(&mut self, text: Option<&str>) -> bool {
        let number = || text.and_then(crate::value::number);
        match self {
            Acc::Count(n) => *n += u64::from(text.is_some()),
            Acc::Sum(..) | Acc::Values(_) | Acc::Moments(_) => {
                if let Some(x) = number() {
                    self.add(Some(Value::Num(x)), 0, 0);
                }
            }
            Acc::Distinct(_) | Acc::Extreme(..) | Acc::AtTime(..) => return false,
        }
        true
    }

    /// Adds another part of the same group's rows.
    fn merge(&mut self, other: Acc) {
        match (self, other) {
            (Acc::Count(a), Acc::Count(b)) => *a += b,
            (Acc::Sum(total, n), Acc::Sum(t, m)) => {
                *total += t;
                *n += m;
            }
            (Acc::Distinct(a), Acc::Distinct(b)) => a.extend(*b),
            (Acc::Extreme(best, max), Acc::Extreme(Some(v), _)) => {
                if better_extreme(&v, best.as_deref(), *max) {
                    *best = Some(v);
                }
            }
            (Acc::Values(a), Acc::Values(b)) => a.extend(*b),
            (Acc::Moments(a), Acc::Moments(b)) => {
                if b.n == 0 {
                    return;
                }
                // Chan et al.'s pairwise update.
                let total = a.n + b.n;
                let delta = b.mean - a.mean;
                a.mean += delta * b.n as f64 / total as f64;
                a.m2 += b.m2 + delta * delta * (a.n as f64) * (b.n as f64) / total as f64;
                a.n = total;
            }
            (Acc::AtTime(best, latest), Acc::AtTime(Some(b), _)) => {
                if better_time((b.0, b.1), best.as_deref(), *latest) {
                    *best = Some(b);
                }
            }
            (Acc::Extreme(..), Acc::Extreme(None, _)) | (Acc::AtTime(..), Acc::AtTime(None, _)) => {
            }
            _ => unreachable!("the same aggregate in every part"),
        }
    }

    fn finish(self, a: &Aggregate) -> Value {
        match self {
            Acc::Count(n) => Value::Num(n as f64),
            Acc::Sum(total, n) => match a.func {
                AggFunc::Avg if n == 0 => Value::Missing,
                AggFunc::Avg => Value::Num(total / n as f64),
                _ => Value::Num(total),
            },
            Acc::Distinct(set) => Value::Num(set.len() as f64),
            Acc::Extreme(best, _) => best.map_or(Value::Missing, |b| *b),
            Acc::Values(mut values) => {
                if values.is_empty() {
                    return Value::Missing;
                }
                values.sort_by(|x, y| x.partial_cmp(y).unwrap_or(Ordering::Equal));
                // Nearest rank.
                let rank = ((a.percent / 100.0) * values.len() as f64).ceil() as usize;
                Value::Num(values[rank.clamp(1, values.len()) - 1])
            }
            Acc::Moments(m) => {
                if m.n < 2 {
                    Value::Num(0.0)
                } else {
                    Value::Num((m.m2 / (m.n - 1) as f64).sqrt())
                }
            }
            Acc::AtTime(best, _) => best.map_or(Value::Missing, |b| b.2),
        }
    }
}

/// A running count, mean and sum of squared deviations (Welford).
#[derive(Debug, Default)]
struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

/// The best `keep` rows by sort key. Rows better than the current
/// threshold are buffered; when the buffer holds twice `keep`, a selection
/// keeps the best `keep` and sets the threshold to the worst of them. Each
/// row costs one comparison plus amortized linear work, whatever the input
/// order (a heap costs log(keep) comparisons for every row of a sorted input).
struct TopRows {
    /// Bit i: the i-th key sorts descending.
    desc: u64,
    keep: usize,
    kept: Vec<Ranked>,
    /// The index in `kept` of the worst row after the last selection.
    threshold: Option<usize>,
}

struct Ranked {
    key: Vec<Value>,
    seq: u64,
    /// Boxed: selections move entries, and a row is large.
    row: Box<Row>,
}

/// Sort keys in order, then input order.
fn rank_order(desc: u64, a: (&[Value], u64), b: (&[Value], u64)) -> Ordering {
    for (i, (x, y)) in a.0.iter().zip(b.0).enumerate() {
        let descending = i < 64 && desc & (1 << i) != 0;
        let o = match (x.is_missing(), y.is_missing()) {
            (false, false) if descending => natural_cmp(y, x),
            _ => natural_cmp(x, y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.1.cmp(&b.1)
}

impl TopRows {
    fn new(keys: &[(Expr, bool)], keep: usize) -> Self {
        let desc = keys
            .iter()
            .take(64)
            .enumerate()
            .fold(0, |bits, (i, (_, d))| if *d { bits | 1 << i } else { bits });
        TopRows {
            desc,
            keep,
            kept: Vec::new(),
            threshold: None,
        }
    }

    /// Whether a row with this key would be kept now.
    fn admits(&self, key: &[Value], seq: u64) -> bool {
        if self.keep == 0 {
            return false;
        }
        self.threshold.is_none_or(|t| {
            let worst = &self.kept[t];
            rank_order(self.desc, (key, seq), (&worst.key, worst.seq)) == Ordering::Less
        })
    }

    /// Keeps the row if it may be among the best; takes `key` only then,
    /// so the caller can reuse it.
    fn offer(&mut self, key: &mut Vec<Value>, row: Row) {
        if !self.admits(key, row.seq) {
            return;
        }
        self.kept.push(Ranked {
            key: std::mem::take(key),
            seq: row.seq,
            row: Box::new(row),
        });
        if self.kept.len() >= self.keep.saturating_mul(2) {
            self.select();
        }
    }

    /// Keeps the best `keep` rows; the worst of them becomes the threshold.
    fn select(&mut self) {
        let desc = self.desc;
        let order = |a: &Ranked, b: &Ranked| rank_order(desc, (&a.key, a.seq), (&b.key, b.seq));
        if self.kept.len() > self.keep {
            self.kept.select_nth_unstable_by(self.keep - 1, order);
            self.kept.truncate(self.keep);
        }
        if self.kept.len() == self.keep {
            let worst = (0..self.kept.len())
                .max_by(|&a, &b| order(&self.kept[a], &self.kept[b]))
                .expect("keep > 0 rows");
            self.threshold = Some(worst);
        }
    }

    /// Merges another partition's best rows into these.
    fn merge(&mut self, other: TopRows) {
        for mut ranked in other.kept {
            self.offer(&mut ranked.key, *ranked.row);
        }
    }

    fn into_sorted(mut self) -> Vec<Row> {
        if self.keep == 0 {
            return Vec::new();
        }
        self.select();
        let desc = self.desc;
        self.kept
            .sort_unstable_by(|a, b| rank_order(desc, (&a.key, a.seq), (&b.key, b.seq)));
        self.kept.into_iter().map(|r| *r.row).collect()
    }
}

/// The index of the first command that needs more than one row at a time.
fn first_blocking(commands: &[Command]) -> usize {
    commands
        .iter()
        .position(|c| {
            !matches!(
                c,
                Command::Filter(_) | Command::Fields(_) | Command::Display(_) | Command::Parse(_)
            )
        })
        .unwrap_or(commands.len())
}

fn sorted_later(rest: &[Command]) -> bool {
    rest.iter().any(|c| matches!(c, Command::Sort(_)))
}

/// How many sorted rows can matter: those a later limit (or the result cap)
/// keeps, unless a later filter, dedup or stats needs them all.
fn keep_after_sort(rest: &[Command]) -> usize {
    let needs_all = rest.iter().any(|c| {
        matches!(
            c,
            Command::Filter(_) | Command::Dedup(_) | Command::Stats(_)
        )
    });
    if needs_all {
        return usize::MAX;
    }
    rest.iter()
        .find_map(|c| match c {
            Command::Limit(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(MAX_LIMIT)
}

#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    scanned: u64,
    bytes: u64,
    matched: u64,
}

impl Counters {
    fn scanned(self, bytes: usize) -> Self {
        Counters {
            scanned: self.scanned + 1,
            bytes: self.bytes + bytes as u64,
            ..self
        }
    }

    fn matched(self) -> Self {
        Counters {
            matched: self.matched + 1,
            ..self
        }
    }

    fn add(&mut self, other: Counters) {
        self.scanned += other.scanned;
        self.bytes += other.bytes;
        self.matched += other.matched;
    }
}

/// What a partition knows to size the shared groups by: the input's size
/// and how much of it the partition has read.
struct Sizing<'a> {
    input_bytes: Option<u64>,
    counters: &'a Cell<Counters>,
}

impl Sizing<'_> {
    /// Reserves room for the groups the whole input would make at the rate
    /// `private` was made (an eighth more), so tables are allocated once
    /// instead of doubling: each doubling copies everything into fresh memory.
    fn reserve(&self, shared: &SharedGroups, private: &Groups) {
        let scanned = self.counters.get().bytes.max(1);
        let Some(total) = self.input_bytes.filter(|&t| t > scanned) else {
            return;
        };
        let groups = private.len() as u64 * total / scanned;
        let groups = usize::try_from(groups + groups / 8).unwrap_or(usize::MAX);
        shared.reserve(groups, private.keys.len() / private.len().max(1));
    }
}

/// What one partition hands over at its first `stats` or `sort`.
enum Partial {
    /// Its rows went into the shared groups.
    Grouped,
    Top(TopRows),
}

impl Partial {
    /// Merges a later partition into this one.
    fn merge(self, later: Partial) -> Partial {
        match (self, later) {
            (Partial::Grouped, Partial::Grouped) => Partial::Grouped,
            (Partial::Top(mut a), Partial::Top(b)) => {
                a.merge(b);
                Partial::Top(a)
            }
            _ => unreachable!("every partition runs the same commands"),
        }
    }
}

/// Appends one key field to a group key: 0 for missing, else the length
/// plus one (LEB128: one byte for text under 127 bytes, never a first byte
/// of 0) and the text.
fn encode_key_part(key: &mut Vec<u8>, text: Option<&str>) {
    let Some(t) = text else {
        key.push(0);
        return;
    };
    let mut n = t.len() + 1;
    while n >= 0x80 {
        key.push((n as u8 & 0x7f) | 0x80);
        n >>= 7;
    }
    key.push(n as u8);
    key.extend_from_slice(t.as_bytes());
}

fn decode_key(mut key: &[u8]) -> Vec<Option<String>> {
    let mut parts = Vec::new();
    while let Some((&tag, rest)) = key.split_first() {
        if tag == 0 {
            parts.push(None);
            key = rest;
            continue;
        }
        let (mut n, mut shift, mut rest) = (usize::from(tag & 0x7f), 7, rest);
        let mut more = tag & 0x80 != 0;
        while more {
            let (&b, tail) = rest.split_first().expect("a whole length");
            n |= usize::from(b & 0x7f) << shift;
            (shift, more, rest) = (shift + 7, b & 0x80 != 0, tail);
        }
        let (text, rest) = rest.split_at(n - 1);
        parts.push(Some(String::from_utf8_lossy(text).into_owned()));
        key = rest;
    }
    parts
}

/// `stats` groups, compact because high-cardinality stats hold millions:
/// encoded keys back to back in one buffer, a hash table of group numbers,
/// each group's first row and its accumulators (`width` per group).
struct Groups {
    width: usize,
    /// Each group's number and the low half of its key's hash.
    table: hashbrown::HashTable<(u32, u32)>,
    keys: Vec<u8>,
    /// Each group's key: its end in `keys` (it starts where the previous
    /// ends). 32 bits: a table is one shard of the groups, so 4 GiB of keys
    /// in one would take hundreds of GiB in all.
    key_ends: Vec<u32>,
    first_seq: Vec<u64>,
    accs: Vec<Acc>,
}

impl Groups {
    fn new(width: usize) -> Self {
        Groups {
            width,
            table: hashbrown::HashTable::new(),
            keys: Vec::new(),
            key_ends: Vec::new(),
            first_seq: Vec::new(),
            accs: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.first_seq.len()
    }

    /// Room for `groups` groups in all, allocated exactly. Partitions
    /// estimate alike: a table already sized by another's estimate (to
    /// within an eighth) is left alone rather than grown a little, which
    /// would double it.
    fn reserve(&mut self, groups: usize, key_len: usize) {
        if self.first_seq.capacity() >= groups - groups / 8 {
            return;
        }
        let more = groups.saturating_sub(self.len());
        self.table.reserve(more, |&(_, h)| table_hash(h));
        self.keys.reserve_exact(more.saturating_mul(key_len));
        self.key_ends.reserve_exact(more);
        self.first_seq.reserve_exact(more);
        self.accs.reserve_exact(more.saturating_mul(self.width));
    }

    fn key<'k>(keys: &'k [u8], ends: &[u32], g: usize) -> &'k [u8] {
        let start = if g == 0 { 0 } else { ends[g - 1] as usize };
        &keys[start..ends[g] as usize]
    }

    /// The accumulators of `key`'s group, created when new; the group's
    /// first row is the lowest `seq` seen (partitions add concurrently).
    fn entry(&mut self, hash: u64, key: &[u8], seq: u64, aggregates: &[Aggregate]) -> &mut [Acc] {
        let short = hash as u32;
        let (keys, ends) = (&self.keys, &self.key_ends);
        let found = self.table.find(table_hash(short), |&(g, h)| {
            h == short && Self::key(keys, ends, g as usize) == key
        });
        let g = match found {
            Some(&(g, _)) => {
                let g = g as usize;
                self.first_seq[g] = self.first_seq[g].min(seq);
                g
            }
            None => {
                let g = self.key_ends.len();
                self.keys.extend_from_slice(key);
                let end = u32::try_from(self.keys.len()).expect("under 4 GiB of keys in one shard");
                self.key_ends.push(end);
                self.first_seq.push(seq);
                self.accs
                    .extend(aggregates.iter().map(|a| Acc::new(a.func)));
                // The table grows from the hashes it holds, never the keys.
                self.table
                    .insert_unique(table_hash(short), (g as u32, short), |&(_, h)| {
                        table_hash(h)
                    });
                g
            }
        };
        &mut self.accs[g * self.width..(g + 1) * self.width]
    }
}

/// A group's place in its table, from the low half of its key's hash (the
/// high half chose the shard): spread so that the table's tag bits (the
/// top seven) depend on all of it.
fn table_hash(short: u32) -> u64 {
    u64::from(short).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The groups of one `stats`, in shards by key hash so partitions add to
/// them concurrently, each group held once.
struct SharedGroups {
    hasher: foldhash::fast::FixedState,
    shards: Vec<std::sync::Mutex<Groups>>,
}

impl SharedGroups {
    const SHARDS: usize = 64;

    fn new(width: usize) -> Self {
        SharedGroups {
            hasher: foldhash::fast::FixedState::default(),
            shards: (0..Self::SHARDS)
                .map(|_| std::sync::Mutex::new(Groups::new(width)))
                .collect(),
        }
    }

    fn hash(&self, key: &[u8]) -> u64 {
        use std::hash::BuildHasher as _;
        self.hasher.hash_one(key)
    }

    fn update(&self, key: &[u8], seq: u64, aggregates: &[Aggregate], f: impl FnOnce(&mut [Acc])) {
        let hash = self.hash(key);
        // Bits the shards' tables do not use for buckets or tags.
        let shard = (hash >> 32) as usize % Self::SHARDS;
        let mut groups = self.shards[shard].lock().expect("not poisoned");
        f(groups.entry(hash, key, seq, aggregates));
    }

    /// Room for `groups` groups in all, of keys about `key_len` bytes long.
    fn reserve(&self, groups: usize, key_len: usize) {
        for shard in &self.shards {
            let mut g = shard.lock().expect("not poisoned");
            g.reserve(groups / Self::SHARDS + 1, key_len);
        }
    }

    /// Moves a private table's groups in and empties it.
    fn absorb(&self, private: &mut Groups, aggregates: &[Aggregate]) {
        let width = private.width;
        let mut accs = std::mem::take(&mut private.accs).into_iter();
        for (g, &seq) in private.first_seq.iter().enumerate() {
            let key = Groups::key(&private.keys, &private.key_ends, g);
            let theirs = accs.by_ref().take(width);
            self.update(key, seq, aggregates, |mine| {
                for (acc, other) in mine.iter_mut().zip(theirs) {
                    acc.merge(other);
                }
            });
        }
        private.keys.clear();
        private.key_ends.clear();
        private.first_seq.clear();
        private.table.clear();
    }

    fn into_shards(self) -> Vec<Groups> {
        self.shards
            .into_iter()
            .map(|m| m.into_inner().expect("not poisoned"))
            .collect()
    }

    /// Each group's first row, key and accumulators, one group at a time
    /// and in no particular order: the first row orders them where it
    /// matters (ties of a later sort).
    fn into_groups(self) -> impl Iterator<Item = (u64, Vec<Option<String>>, Vec<Acc>)> {
        Self::groups_of(self.into_shards())
    }

    fn groups_of(
        shards: Vec<Groups>,
    ) -> impl Iterator<Item = (u64, Vec<Option<String>>, Vec<Acc>)> {
        shards.into_iter().flat_map(|shard| {
            let Groups {
                width,
                keys,
                key_ends,
                first_seq,
                accs,
                ..
            } = shard;
            let mut accs = accs.into_iter();
            first_seq.into_iter().enumerate().map(move |(g, seq)| {
                let group = accs.by_ref().take(width).collect();
                (seq, decode_key(Groups::key(&keys, &key_ends, g)), group)
            })
        })
    }
}

fn better_extreme(v: &Value, best: Option<&Value>, max: bool) -> bool {
    best.is_none_or(|b| {
        let o = natural_cmp(v, b);
        if max {
            o == Ordering::Greater
        } else {
            o == Ordering::Less
        }
    })
}

fn better_time((ts, seq): (i64, u64), best: Option<&(i64, u64, Value)>, latest: bool) -> bool {
    best.is_none_or(|(t, first, _)| match ts.cmp(t) {
        Ordering::Equal => seq < *first,
        o => (o == Ordering::Greater) == latest,
    })
}

/// A row of no event (a `stats` group's).
fn empty_row(seq: u64) -> Row {
    Row {
        event: None,
        flow: OnceCell::new(),
        slots: Vec::new(),
        seq,
    }
}

/// A `stats` group's aggregates' values into its row.
fn set_aggregates(
    r: &mut Row,
    s: &Stats,
    agg_slots: &[usize],
    accs: impl IntoIterator<Item = Acc>,
) {
    for ((a, acc), &id) in s.aggregates.iter().zip(accs).zip(agg_slots) {
        r.set(id, acc.finish(a));
    }
}

/// A group's `by` values as their result text (a bin() time sorts the same
/// as its text).
fn set_key_parts(r: &mut Row, by_slots: &[usize], parts: Vec<Option<String>>) {
    for (&id, v) in by_slots.iter().zip(parts) {
        r.set(id, v.map_or(Value::Missing, Value::Str));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_keys_decode_to_what_was_encoded() {
        let long = |n: usize| Some("x".repeat(n));
        let parts = [
            None,
            Some(String::new()),
            Some("10.1.0.4".into()),
            long(126),
            long(127),
            long(128),
            long(16_383),
            long(16_384),
            None,
            long(300_000),
        ];
        let mut key = Vec::new();
        for p in &parts {
            encode_key_part(&mut key, p.as_deref());
        }
        assert_eq!(decode_key(&key), parts);
        let mut short = Vec::new();
        encode_key_part(&mut short, Some("10.1.0.4"));
        assert_eq!(short.len(), 9, "one byte of length for short text");
    }

    #[test]
    fn common_aggregate_states_are_small() {
        assert!(std::mem::size_of::<Acc>() <= 24);
    }
}
