//! The engine's private executable form: a tree of relational operators over bound
//! expressions. It is built per statement (or once per prepared statement) by the binder
//! and may change any release — unlike the bytecode.

use std::fmt::Write;

use rosetta_bytecode::{JoinKind, SetOperator};

use super::expr::BExpr;
use super::functions::{Agg, TableFunc};
use crate::catalog::{IndexDef, TableDef};

/// How a table scan reaches its rows.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// Every row.
    Full,
    /// Rows whose leading primary-key columns equal these values (all of them: a point
    /// lookup).
    PkPrefix(Vec<BExpr>),
    /// Rows whose first primary-key column is within the bounds.
    PkRange {
        lo: Option<(BExpr, bool)>,
        hi: Option<(BExpr, bool)>,
    },
    /// Rows found through a secondary index whose leading columns equal these values.
    IndexPrefix { index: IndexDef, values: Vec<BExpr> },
    /// Rows found through a secondary index whose first column is within the bounds.
    IndexRange {
        index: IndexDef,
        lo: Option<(BExpr, bool)>,
        hi: Option<(BExpr, bool)>,
    },
}

/// An aggregate call in an [`Plan::Aggregate`].
#[derive(Debug, Clone, PartialEq)]
pub struct AggCall {
    pub agg: Agg,
    pub arg: Option<BExpr>,
    pub distinct: bool,
    /// The second argument of `string_agg(value, separator)`.
    pub separator: Option<BExpr>,
}

/// One key of a sort.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    pub expr: BExpr,
    pub desc: bool,
    pub nulls_first: bool,
}

/// A relational operator tree. Every node produces rows of a fixed width.
// Plans are built once per statement; boxing the table definition would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// One row of no columns (`SELECT` without `FROM`).
    Single,
    Values(Vec<Vec<BExpr>>),
    /// A stored table, read through `access`, rows filtered by `filter`.
    Scan {
        table: TableDef,
        access: Access,
        filter: Option<BExpr>,
    },
    /// A set-returning function in FROM (`generate_series(1, 3)`, `unnest(a)`): one
    /// column; the arguments are evaluated once, against the enclosing query's row.
    Function {
        func: TableFunc,
        args: Vec<BExpr>,
    },
    /// A virtual catalog table (`pg_catalog.pg_class`, `information_schema.tables`, …).
    Virtual {
        name: String,
        filter: Option<BExpr>,
    },
    Filter {
        input: Box<Plan>,
        predicate: BExpr,
    },
    Project {
        input: Box<Plan>,
        exprs: Vec<BExpr>,
    },
    /// Nested-loop join; the right side is materialized once.
    Join {
        left: Box<Plan>,
        right: Box<Plan>,
        kind: JoinKind,
        on: Option<BExpr>,
        left_width: usize,
        right_width: usize,
    },
    /// Hash aggregation: output is the group-by values followed by the aggregates.
    Aggregate {
        input: Box<Plan>,
        group_by: Vec<BExpr>,
        aggs: Vec<AggCall>,
    },
    Sort {
        input: Box<Plan>,
        keys: Vec<SortKey>,
    },
    Limit {
        input: Box<Plan>,
        limit: Option<BExpr>,
        offset: Option<BExpr>,
    },
    Distinct(Box<Plan>),
    SetOp {
        op: SetOperator,
        all: bool,
        left: Box<Plan>,
        right: Box<Plan>,
    },
}

impl Plan {
    /// Renders the plan as an indented tree for `EXPLAIN`.
    pub fn explain(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.explain_into(0, &mut out);
        out
    }

    fn explain_into(&self, depth: usize, out: &mut Vec<String>) {
        let pad = "  ".repeat(depth);
        let mut line = String::new();
        let children: Vec<&Plan> = match self {
            Plan::Single => {
                line.push_str("Result");
                vec![]
            }
            Plan::Values(rows) => {
                let _ = write!(line, "Values ({} rows)", rows.len());
                vec![]
            }
            Plan::Scan {
                table,
                access,
                filter,
            } => {
                match access {
                    Access::Full => {
                        let _ = write!(line, "Seq Scan on {}", table.name);
                    }
                    Access::PkPrefix(v) => {
                        let _ = write!(
                            line,
                            "Index Scan using {}_pkey on {} (key = {})",
                            table.name,
                            table.name,
                            list(v)
                        );
                    }
                    Access::PkRange { lo, hi } => {
                        let _ = write!(
                            line,
                            "Index Range Scan using {}_pkey on {} ({})",
                            table.name,
                            table.name,
                            bounds(lo, hi)
                        );
                    }
                    Access::IndexPrefix { index, values } => {
                        let _ = write!(
                            line,
                            "Index Scan using {} on {} (key = {})",
                            index.name,
                            table.name,
                            list(values)
                        );
                    }
                    Access::IndexRange { index, lo, hi } => {
                        let _ = write!(
                            line,
                            "Index Range Scan using {} on {} ({})",
                            index.name,
                            table.name,
                            bounds(lo, hi)
                        );
                    }
                }
                if let Some(f) = filter {
                    let _ = write!(line, " filter: {f}");
                }
                vec![]
            }
            Plan::Function { func, args } => {
                let _ = write!(line, "Function Scan on {}({})", func.name(), list(args));
                vec![]
            }
            Plan::Virtual { name, filter } => {
                let _ = write!(line, "Virtual Scan on {name}");
                if let Some(f) = filter {
                    let _ = write!(line, " filter: {f}");
                }
                vec![]
            }
            Plan::Filter { input, predicate } => {
                let _ = write!(line, "Filter: {predicate}");
                vec![input]
            }
            Plan::Project { input, exprs } => {
                let _ = write!(line, "Project: {}", list(exprs));
                vec![input]
            }
            Plan::Join {
                left,
                right,
                kind,
                on,
                ..
            } => {
                let _ = write!(line, "Nested Loop {kind:?} Join");
                if let Some(on) = on {
                    let _ = write!(line, " on: {on}");
                }
                vec![left, right]
            }
            Plan::Aggregate {
                input,
                group_by,
                aggs,
            } => {
                let _ = write!(
                    line,
                    "HashAggregate group by: [{}] aggregates: [{}]",
                    list(group_by),
                    aggs.iter()
                        .map(|a| format!(
                            "{:?}({}{})",
                            a.agg,
                            if a.distinct { "DISTINCT " } else { "" },
                            a.arg.as_ref().map(|e| e.to_string()).unwrap_or("*".into())
                        ))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                vec![input]
            }
            Plan::Sort { input, keys } => {
                let _ = write!(
                    line,
                    "Sort: {}",
                    keys.iter()
                        .map(|k| format!("{}{}", k.expr, if k.desc { " DESC" } else { "" }))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                vec![input]
            }
            Plan::Limit {
                input,
                limit,
                offset,
            } => {
                line.push_str("Limit");
                if let Some(l) = limit {
                    let _ = write!(line, " {l}");
                }
                if let Some(o) = offset {
                    let _ = write!(line, " offset {o}");
                }
                vec![input]
            }
            Plan::Distinct(input) => {
                line.push_str("Distinct");
                vec![input]
            }
            Plan::SetOp {
                op,
                all,
                left,
                right,
            } => {
                let _ = write!(line, "{op:?}{}", if *all { " All" } else { "" });
                vec![left, right]
            }
        };
        out.push(format!("{pad}{line}"));
        for c in children {
            c.explain_into(depth + 1, out);
        }
    }
}

fn list(v: &[BExpr]) -> String {
    v.iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn bounds(lo: &Option<(BExpr, bool)>, hi: &Option<(BExpr, bool)>) -> String {
    let mut s = String::new();
    if let Some((e, inc)) = lo {
        let _ = write!(s, "key {} {e}", if *inc { ">=" } else { ">" });
    }
    if let Some((e, inc)) = hi {
        if !s.is_empty() {
            s.push_str(" AND ");
        }
        let _ = write!(s, "key {} {e}", if *inc { "<=" } else { "<" });
    }
    s
}
