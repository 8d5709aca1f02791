//! The binder: resolves a program's names against the catalog inside the transaction,
//! types every expression, and builds the [`Plan`].

use rosetta_bytecode::{self as bc, DataType, Expr, Ident, JoinKind, Literal};
use rosetta_types::cast::parse_literal;
use rosetta_types::ops::{self, ArithOp};
use rosetta_types::{Decimal, Value};

use super::expr::{BExpr, CmpOp, SubPlan};
use super::functions::{Agg, Func, TableFunc};
use super::plan::{Access, AggCall, Plan, SortKey};
use crate::catalog::{Catalog, DatabaseDef, Relation, TableDef, ViewDef};
use crate::error::{Error, Result};
use crate::mvcc::Txn;

/// A column visible to expressions.
#[derive(Debug, Clone)]
pub struct ScopeCol {
    /// Table name or alias that qualifies it.
    pub qualifier: Option<String>,
    pub name: String,
    pub ty: DataType,
    pub table_id: u32,
    pub colno: u16,
}

/// The columns of the rows an expression is evaluated on.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub cols: Vec<ScopeCol>,
}

/// A result column of a bound query.
#[derive(Debug, Clone)]
pub struct OutCol {
    pub name: String,
    pub ty: DataType,
    pub table_id: u32,
    pub colno: u16,
}

/// Binds names and types inside one transaction.
pub struct Binder<'a> {
    txn: &'a Txn,
    db: &'a DatabaseDef,
    /// Parameter types, inferred from context where the client did not declare them.
    pub params: Vec<Option<DataType>>,
    outer: Vec<Scope>,
    outer_refs: usize,
    aggs: Option<Vec<AggCall>>,
    /// Ids of the catalog tables and views the statement names directly (not those
    /// reached through a view): the dependencies `CREATE VIEW` records.
    pub deps: Vec<u32>,
    /// Views being expanded, innermost last (a view reaching itself is an error).
    expanding: Vec<u32>,
    /// Report sized types for string results (Firebird).
    sized_strings: bool,
}

/// Most views expanded inside one another (a guard against runaway nesting).
const MAX_VIEW_NESTING: usize = 64;

/// Longest string result reported with a size (characters of up to 4 bytes in 32,765).
const MAX_SIZED_STRING: u32 = 8191;

const NUMERIC: DataType = DataType::Numeric {
    precision: None,
    scale: None,
};

impl<'a> Binder<'a> {
    /// A binder for a statement with `params` (declared types, `None` = infer).
    pub fn new(txn: &'a Txn, db: &'a DatabaseDef, params: Vec<Option<DataType>>) -> Self {
        Self {
            txn,
            db,
            params,
            outer: Vec::new(),
            outer_refs: 0,
            aggs: None,
            deps: Vec::new(),
            expanding: Vec::new(),
            sized_strings: false,
        }
    }

    /// Reports sized types for string expression results (see
    /// [`bc::Semantics::sized_string_results`]).
    pub fn sized_strings(mut self, on: bool) -> Self {
        self.sized_strings = on;
        self
    }

    /// The size a string expression's result is reported with under
    /// [`Binder::sized_strings`]: `(characters, fixed)` (`fixed`: CHAR rather than
    /// VARCHAR), or `None` when it has none (reported as unbounded text).
    fn text_size(&mut self, e: &Expr, scope: &Scope) -> Option<(u32, bool)> {
        let size = match e {
            Expr::Literal(Literal::String(s)) => {
                (u32::try_from(s.chars().count()).ok()?.max(1), true)
            }
            Expr::Binary {
                op: bc::BinaryOp::Concat,
                left,
                right,
            } => {
                let (a, _) = self.text_size(left, scope)?;
                let (b, _) = self.text_size(right, scope)?;
                (a.checked_add(b)?, false)
            }
            Expr::Cast {
                data_type: DataType::Varchar(Some(n)),
                ..
            } => (*n, false),
            Expr::Cast {
                data_type: DataType::Char(n),
                ..
            } => (n.unwrap_or(1), true),
            Expr::Column(_) => match self.expr(e, scope).ok()?.1 {
                DataType::Char(n) => (n.unwrap_or(1), true),
                DataType::Varchar(Some(n)) => (n, false),
                DataType::SmallInt => (6, false),
                DataType::Integer => (11, false),
                DataType::BigInt => (20, false),
                DataType::Boolean => (5, false),
                DataType::Date => (10, false),
                DataType::Time => (13, false),
                DataType::Timestamp => (24, false),
                _ => return None,
            },
            _ => return None,
        };
        // Wider strings do not fit Firebird's VARCHAR (32,765 bytes of UTF-8).
        (size.0 <= MAX_SIZED_STRING).then_some(size)
    }

    /// A binder for a view's defining query that refuses references back to the view
    /// `id` (used by `CREATE OR REPLACE VIEW`).
    pub fn for_view(txn: &'a Txn, db: &'a DatabaseDef, id: Option<u32>) -> Self {
        let mut b = Self::new(txn, db, vec![]);
        b.expanding.extend(id);
        b
    }

    /// Final parameter types (uninferred ones default to text, as PostgreSQL's unknown).
    pub fn param_types(&self) -> Vec<DataType> {
        self.params
            .iter()
            .map(|p| p.unwrap_or(DataType::Text))
            .collect()
    }

    /// The object part of `[db.][schema.]name`, once the schema is known to be ours
    /// (`public`, the only user schema).
    fn object_name(name: &[Ident]) -> Result<&Ident> {
        let Some(last) = name.last() else {
            return Err(Error::Syntax("empty table name".into()));
        };
        if name.len() > 1 && !name[name.len() - 2].value.eq_ignore_ascii_case("public") {
            return Err(Error::UndefinedTable(display_name(name)));
        }
        Ok(last)
    }

    /// Resolves a table name (`[db.][schema.]name`).
    pub fn table(&self, name: &[Ident]) -> Result<TableDef> {
        let last = Self::object_name(name)?;
        Catalog::new(self.txn)
            .table(self.db.id, last)?
            .ok_or_else(|| Error::UndefinedTable(display_name(name)))
    }

    /// Resolves a relation name (`[db.][schema.]name`) to a table or a view.
    pub fn relation(&self, name: &[Ident]) -> Result<Relation> {
        let last = Self::object_name(name)?;
        Catalog::new(self.txn)
            .relation(self.db.id, last)?
            .ok_or_else(|| Error::UndefinedTable(display_name(name)))
    }

    /// Binds with `scope` as an extra enclosing scope (its columns become
    /// [`BExpr::Outer`] references at depth 1): how an upsert sees `excluded`.
    pub fn with_outer<T>(
        &mut self,
        scope: Scope,
        f: impl FnOnce(&mut Self) -> Result<T>,
    ) -> Result<T> {
        let saved = std::mem::replace(&mut self.outer, vec![scope]);
        let refs = self.outer_refs;
        let r = f(self);
        self.outer = saved;
        self.outer_refs = refs;
        r
    }

    /// Resolves a sequence (42P01 when there is none of that name).
    pub fn sequence(&self, name: &[Ident]) -> Result<crate::catalog::SequenceDef> {
        let last = Self::object_name(name)?;
        Catalog::new(self.txn)
            .sequence(self.db.id, last)?
            .ok_or_else(|| Error::UndefinedRelation {
                kind: "sequence",
                name: display_name(name),
            })
    }

    /// `NEXT VALUE FOR name` with an optional step (cast to bigint).
    fn next_value(
        &mut self,
        name: &[Ident],
        step: Option<&Expr>,
        scope: &Scope,
    ) -> Result<(BExpr, DataType)> {
        let seq = self.sequence(name)?;
        let mut args = Vec::new();
        if let Some(step) = step {
            let (x, t) = self.expr(step, scope)?;
            self.infer_param(&x, DataType::BigInt);
            args.push(promote(x, t, &DataType::BigInt)?);
        }
        Ok((
            BExpr::Call(Func::NextValue(seq.counter()), args),
            DataType::BigInt,
        ))
    }

    /// PostgreSQL's `setval('name', n [, is_called])`: the sequence is named by a string
    /// literal (as PostgreSQL's `regclass` constant); `is_called = false` makes the next
    /// call return `n` itself.
    fn setval(&mut self, args: &[Expr], scope: &Scope) -> Result<(BExpr, DataType)> {
        let (name, value, is_called) = match args {
            [Expr::Literal(bc::Literal::String(n)), v] => (n, v, true),
            [Expr::Literal(bc::Literal::String(n)), v, Expr::Literal(bc::Literal::Boolean(c))] => {
                (n, v, *c)
            }
            _ => {
                return Err(Error::Unsupported(
                    "setval() other than setval('name', value [, true|false])".into(),
                ))
            }
        };
        let ident: Vec<Ident> = name.split('.').map(Ident::new).collect();
        let seq = self.sequence(&ident)?;
        let (x, t) = self.expr(value, scope)?;
        self.infer_param(&x, DataType::BigInt);
        let x = promote(x, t, &DataType::BigInt)?;
        let args = vec![x, BExpr::Const(Value::Bool(is_called))];
        Ok((
            BExpr::Call(Func::SetVal(seq.counter()), args),
            DataType::BigInt,
        ))
    }

    /// Resolves the target table of INSERT/UPDATE/DELETE (`verb`: "insert into",
    /// "update", "delete from"); a view is refused with 0A000 as PostgreSQL refuses a
    /// view that is not automatically updatable.
    pub fn write_target(&self, name: &[Ident], verb: &'static str) -> Result<TableDef> {
        match self.relation(name)? {
            Relation::Table(t) => Ok(t),
            Relation::View(v) => Err(Error::ViewNotUpdatable { verb, view: v.name }),
        }
    }

    /// Binds a view's defining query as a subquery of its own: it sees no enclosing
    /// query, no parameters and no aggregate context of the query naming it.
    pub fn view_query(&mut self, v: &ViewDef) -> Result<(Plan, Vec<OutCol>)> {
        if self.expanding.contains(&v.id) {
            return Err(Error::InvalidTableDefinition(format!(
                "infinite recursion detected in rules for relation \"{}\"",
                v.name
            )));
        }
        if self.expanding.len() >= MAX_VIEW_NESTING {
            return Err(Error::Unsupported(format!(
                "views nested more than {MAX_VIEW_NESTING} deep"
            )));
        }
        let outer = std::mem::take(&mut self.outer);
        let aggs = self.aggs.take();
        let deps = std::mem::take(&mut self.deps);
        self.expanding.push(v.id);
        let r = self.query(&v.query);
        self.expanding.pop();
        self.deps = deps;
        self.aggs = aggs;
        self.outer = outer;
        let (plan, cols) = r?;
        if cols.len() != v.columns.len() {
            return Err(Error::InvalidTableDefinition(format!(
                "view \"{}\" no longer matches its definition ({} columns, {} expected)",
                v.name,
                cols.len(),
                v.columns.len()
            )));
        }
        // Like PostgreSQL, a view's columns report the view as their table.
        let cols = cols
            .into_iter()
            .zip(&v.columns)
            .enumerate()
            .map(|(i, (c, vc))| OutCol {
                name: vc.name.clone(),
                ty: c.ty,
                table_id: v.id,
                colno: u16::try_from(i + 1).unwrap_or(0),
            })
            .collect();
        Ok((plan, cols))
    }

    // ----- queries -------------------------------------------------------------------

    /// Binds a query.
    pub fn query(&mut self, q: &bc::Query) -> Result<(Plan, Vec<OutCol>)> {
        if !q.with.is_empty() {
            return Err(Error::Unsupported("WITH".into()));
        }
        if let bc::SetExpr::Select(sel) = &q.body {
            return self.select(sel, &q.order_by, &q.limit, &q.offset);
        }
        let (plan, cols) = self.set_expr(&q.body)?;
        let scope = Scope {
            cols: cols
                .iter()
                .map(|c| ScopeCol {
                    qualifier: None,
                    name: c.name.clone(),
                    ty: c.ty,
                    table_id: 0,
                    colno: 0,
                })
                .collect(),
        };
        let mut keys = Vec::new();
        for o in &q.order_by {
            let expr = match &o.expr {
                Expr::Literal(Literal::Integer(n)) => position(*n, cols.len())?,
                e => self.expr(e, &scope)?.0,
            };
            keys.push(sort_key(expr, o));
        }
        let mut plan = plan;
        if !keys.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys,
            };
        }
        plan = self.limit(plan, &q.limit, &q.offset)?;
        Ok((plan, cols))
    }

    fn limit(&mut self, plan: Plan, limit: &Option<Expr>, offset: &Option<Expr>) -> Result<Plan> {
        if limit.is_none() && offset.is_none() {
            return Ok(plan);
        }
        let empty = Scope::default();
        let mut b = |e: &Option<Expr>| -> Result<Option<BExpr>> {
            e.as_ref()
                .map(|e| {
                    let (x, ty) = self.expr(e, &empty)?;
                    self.infer_param(&x, DataType::BigInt);
                    let _ = ty;
                    Ok(x)
                })
                .transpose()
        };
        Ok(Plan::Limit {
            limit: b(limit)?,
            offset: b(offset)?,
            input: Box::new(plan),
        })
    }

    fn set_expr(&mut self, s: &bc::SetExpr) -> Result<(Plan, Vec<OutCol>)> {
        match s {
            bc::SetExpr::Select(sel) => self.select(sel, &[], &None, &None),
            bc::SetExpr::Query(q) => self.query(q),
            bc::SetExpr::Values(rows) => {
                let empty = Scope::default();
                let mut out = Vec::new();
                let mut types: Vec<DataType> = Vec::new();
                for row in rows {
                    let mut r = Vec::new();
                    for (i, e) in row.iter().enumerate() {
                        let (x, ty) = self.expr(e, &empty)?;
                        match types.get_mut(i) {
                            Some(t) => *t = ops::common_type(t, &ty).unwrap_or(*t),
                            None => types.push(ty),
                        }
                        r.push(x);
                    }
                    if r.len() != types.len() {
                        return Err(Error::Syntax(
                            "VALUES lists must all be the same length".into(),
                        ));
                    }
                    out.push(r);
                }
                let cols = types
                    .iter()
                    .enumerate()
                    .map(|(i, t)| OutCol {
                        name: format!("column{}", i + 1),
                        ty: *t,
                        table_id: 0,
                        colno: 0,
                    })
                    .collect();
                Ok((Plan::Values(out), cols))
            }
            bc::SetExpr::SetOp {
                op,
                all,
                left,
                right,
            } => {
                let (lp, lc) = self.set_expr(left)?;
                let (rp, rc) = self.set_expr(right)?;
                if lc.len() != rc.len() {
                    return Err(Error::Syntax(format!(
                        "each {op:?} query must have the same number of columns"
                    )));
                }
                let cols = lc
                    .into_iter()
                    .zip(&rc)
                    .map(|(l, r)| OutCol {
                        ty: ops::common_type(&l.ty, &r.ty).unwrap_or(l.ty),
                        ..l
                    })
                    .collect();
                Ok((
                    Plan::SetOp {
                        op: *op,
                        all: *all,
                        left: Box::new(lp),
                        right: Box::new(rp),
                    },
                    cols,
                ))
            }
        }
    }

    fn select(
        &mut self,
        sel: &bc::Select,
        order_by: &[bc::OrderItem],
        limit: &Option<Expr>,
        offset: &Option<Expr>,
    ) -> Result<(Plan, Vec<OutCol>)> {
        // FROM
        let (mut plan, scope) = if sel.from.is_empty() {
            (Plan::Single, Scope::default())
        } else {
            let mut acc: Option<(Plan, Scope)> = None;
            for item in &sel.from {
                let (p, s) = self.bind_from_item(item)?;
                acc = Some(match acc {
                    None => (p, s),
                    Some((lp, ls)) => join_plans(lp, ls, p, s, JoinKind::Cross, None),
                });
            }
            acc.unwrap_or((Plan::Single, Scope::default()))
        };
        // WHERE
        if let Some(f) = &sel.filter {
            let (pred, _) = self.expr(f, &scope)?;
            plan = push_filter(plan, pred);
        }
        // Projection (aggregates collected on the way).
        let saved_aggs = self.aggs.replace(Vec::new());
        let mut proj: Vec<(BExpr, OutCol)> = Vec::new();
        for item in &sel.projection {
            match item {
                bc::SelectItem::Wildcard | bc::SelectItem::QualifiedWildcard(_) => {
                    let qual = match item {
                        bc::SelectItem::QualifiedWildcard(n) => n.last().map(|i| i.value.clone()),
                        _ => None,
                    };
                    let mut any = false;
                    for (i, c) in scope.cols.iter().enumerate() {
                        if let Some(q) = &qual {
                            if !c
                                .qualifier
                                .as_ref()
                                .is_some_and(|cq| cq.eq_ignore_ascii_case(q))
                            {
                                continue;
                            }
                        }
                        any = true;
                        proj.push((
                            BExpr::Column(i),
                            OutCol {
                                name: c.name.clone(),
                                ty: c.ty,
                                table_id: c.table_id,
                                colno: c.colno,
                            },
                        ));
                    }
                    if !any && qual.is_some() {
                        return Err(Error::UndefinedTable(qual.unwrap_or_default()));
                    }
                }
                bc::SelectItem::Expr { expr, alias } => {
                    let (e, ty) = self.expr(expr, &scope)?;
                    let ty = match (self.sized_strings, ty) {
                        (true, DataType::Text) => match self.text_size(expr, &scope) {
                            Some((n, true)) => DataType::Char(Some(n)),
                            Some((n, false)) => DataType::Varchar(Some(n)),
                            None => ty,
                        },
                        _ => ty,
                    };
                    let (table_id, colno) = match &e {
                        BExpr::Column(i) => scope
                            .cols
                            .get(*i)
                            .map(|c| (c.table_id, c.colno))
                            .unwrap_or((0, 0)),
                        _ => (0, 0),
                    };
                    let name = alias
                        .as_ref()
                        .map(|a| a.value.clone())
                        .unwrap_or_else(|| default_name(expr));
                    proj.push((
                        e,
                        OutCol {
                            name,
                            ty,
                            table_id,
                            colno,
                        },
                    ));
                }
            }
        }
        let having = sel
            .having
            .as_ref()
            .map(|h| self.expr(h, &scope).map(|x| x.0))
            .transpose()?;
        // ORDER BY: output positions, output names, or expressions over the input.
        let mut order: Vec<(BExpr, &bc::OrderItem)> = Vec::new();
        for o in order_by {
            let e = match &o.expr {
                // Output positions are marked as `Column(nproj + i)` until the projection
                // is final.
                Expr::Literal(Literal::Integer(n)) => match position(*n, proj.len())? {
                    BExpr::Column(i) => BExpr::Column(proj.len() + i),
                    e => e,
                },
                Expr::Column(parts) if parts.len() == 1 => {
                    match proj.iter().position(|(_, c)| c.name == parts[0].value) {
                        Some(i) => BExpr::Column(proj.len() + i),
                        None => self.expr(&o.expr, &scope)?.0,
                    }
                }
                e => self.expr(e, &scope)?.0,
            };
            order.push((e, o));
        }
        let aggs = std::mem::replace(&mut self.aggs, saved_aggs).unwrap_or_default();
        let grouped = !sel.group_by.is_empty() || !aggs.is_empty() || having.is_some();
        let nproj = proj.len();
        let mut proj_exprs: Vec<BExpr> = proj.iter().map(|(e, _)| e.clone()).collect();
        // Resolve "output column i" markers now that we know the projection.
        let mut order: Vec<(BExpr, &bc::OrderItem)> = order
            .into_iter()
            .map(|(e, o)| match e {
                BExpr::Column(i)
                    if i >= nproj && i < 2 * nproj && is_output_marker(&o.expr, &proj) =>
                {
                    (proj_exprs[i - nproj].clone(), o)
                }
                e => (e, o),
            })
            .collect();
        let mut having = having;
        if grouped {
            let mut group_exprs = Vec::new();
            for g in &sel.group_by {
                let e = match g {
                    Expr::Literal(Literal::Integer(n)) => {
                        let i = usize::try_from(*n - 1)
                            .ok()
                            .filter(|i| *i < nproj)
                            .ok_or_else(|| {
                                Error::Syntax(format!(
                                    "GROUP BY position {n} is not in select list"
                                ))
                            })?;
                        proj_exprs[i].clone()
                    }
                    g => {
                        let saved = self.aggs.take();
                        let r = self.expr(g, &scope);
                        self.aggs = saved;
                        r?.0
                    }
                };
                group_exprs.push(e);
            }
            let ng = group_exprs.len();
            let rewrite = |e: BExpr| to_agg_output(e, &group_exprs, ng, &scope);
            proj_exprs = proj_exprs.into_iter().map(rewrite).collect::<Result<_>>()?;
            having = having.map(rewrite).transpose()?;
            order = order
                .into_iter()
                .map(|(e, o)| Ok((rewrite(e)?, o)))
                .collect::<Result<_>>()?;
            plan = Plan::Aggregate {
                input: Box::new(plan),
                group_by: group_exprs,
                aggs,
            };
            if let Some(h) = having {
                plan = Plan::Filter {
                    input: Box::new(plan),
                    predicate: h,
                };
            }
        }
        // Sort keys become extra projected columns unless they are already projected.
        let mut keys = Vec::new();
        let mut extra = 0;
        for (e, o) in order {
            let idx = match proj_exprs.iter().position(|p| *p == e) {
                Some(i) => i,
                None => {
                    if sel.distinct {
                        return Err(Error::InvalidParameter(
                            "for SELECT DISTINCT, ORDER BY expressions must appear in select list"
                                .into(),
                        ));
                    }
                    proj_exprs.push(e);
                    extra += 1;
                    proj_exprs.len() - 1
                }
            };
            keys.push(sort_key(BExpr::Column(idx), o));
        }
        let width = proj_exprs.len();
        plan = Plan::Project {
            input: Box::new(plan),
            exprs: proj_exprs,
        };
        if sel.distinct {
            plan = Plan::Distinct(Box::new(plan));
        }
        if !keys.is_empty() {
            plan = Plan::Sort {
                input: Box::new(plan),
                keys,
            };
        }
        plan = self.limit(plan, limit, offset)?;
        if extra > 0 {
            plan = Plan::Project {
                input: Box::new(plan),
                exprs: (0..width - extra).map(BExpr::Column).collect(),
            };
        }
        Ok((plan, proj.into_iter().map(|(_, c)| c).collect()))
    }

    fn bind_from_item(&mut self, item: &bc::FromItem) -> Result<(Plan, Scope)> {
        match item {
            bc::FromItem::Table { name, alias } => {
                let qualifier = alias
                    .as_ref()
                    .map(|a| a.name.value.clone())
                    .or_else(|| name.last().map(|n| n.value.clone()));
                let virtual_name = crate::vcat::resolve(name);
                let table = match virtual_name {
                    Some(_) => None,
                    None => match self.relation(name)? {
                        Relation::Table(t) => {
                            self.deps.push(t.id);
                            Some(t)
                        }
                        Relation::View(v) => {
                            self.deps.push(v.id);
                            let (plan, out) = self.view_query(&v)?;
                            let mut cols: Vec<ScopeCol> = out
                                .into_iter()
                                .map(|c| ScopeCol {
                                    qualifier: qualifier.clone(),
                                    name: c.name,
                                    ty: c.ty,
                                    table_id: c.table_id,
                                    colno: c.colno,
                                })
                                .collect();
                            if let Some(a) = alias {
                                for (c, n) in cols.iter_mut().zip(&a.columns) {
                                    c.name = n.value.clone();
                                }
                            }
                            return Ok((plan, Scope { cols }));
                        }
                    },
                };
                let (plan, mut cols): (Plan, Vec<ScopeCol>) = match (table, virtual_name) {
                    (Some(t), _) => {
                        let cols = t
                            .columns
                            .iter()
                            .enumerate()
                            .map(|(i, c)| ScopeCol {
                                qualifier: qualifier.clone(),
                                name: c.name.clone(),
                                ty: c.data_type,
                                table_id: t.id,
                                colno: i as u16 + 1,
                            })
                            .collect();
                        (
                            Plan::Scan {
                                table: t,
                                access: Access::Full,
                                filter: None,
                            },
                            cols,
                        )
                    }
                    (None, Some(v)) => {
                        let cols = crate::vcat::columns(v)
                            .iter()
                            .map(|(n, ty)| ScopeCol {
                                qualifier: qualifier.clone(),
                                name: n.to_string(),
                                ty: *ty,
                                table_id: 0,
                                colno: 0,
                            })
                            .collect();
                        (
                            Plan::Virtual {
                                name: v.to_string(),
                                filter: None,
                            },
                            cols,
                        )
                    }
                    (None, None) => return Err(Error::UndefinedTable(display_name(name))),
                };
                if let Some(a) = alias {
                    for (c, n) in cols.iter_mut().zip(&a.columns) {
                        c.name = n.value.clone();
                    }
                }
                Ok((plan, Scope { cols }))
            }
            bc::FromItem::Subquery { query, alias } => {
                let (plan, out) = self.query(query)?;
                let qualifier = alias.as_ref().map(|a| a.name.value.clone());
                let mut cols: Vec<ScopeCol> = out
                    .into_iter()
                    .map(|c| ScopeCol {
                        qualifier: qualifier.clone(),
                        name: c.name,
                        ty: c.ty,
                        table_id: c.table_id,
                        colno: c.colno,
                    })
                    .collect();
                if let Some(a) = alias {
                    for (c, n) in cols.iter_mut().zip(&a.columns) {
                        c.name = n.value.clone();
                    }
                }
                Ok((plan, Scope { cols }))
            }
            bc::FromItem::Function { function, alias } => self.table_function(function, alias),
            bc::FromItem::Join {
                left,
                right,
                kind,
                constraint,
            } => {
                let (lp, ls) = self.bind_from_item(left)?;
                let (rp, rs) = self.bind_from_item(right)?;
                let lw = ls.cols.len();
                let mut scope = ls.clone();
                scope.cols.extend(rs.cols.iter().cloned());
                let on = match constraint {
                    bc::JoinConstraint::On(e) => Some(self.expr(e, &scope)?.0),
                    bc::JoinConstraint::None => None,
                    bc::JoinConstraint::Using(cols) => {
                        let mut pred: Option<BExpr> = None;
                        for c in cols {
                            let li = ls.cols.iter().position(|x| x.name == c.value);
                            let ri = rs.cols.iter().position(|x| x.name == c.value);
                            let (Some(li), Some(ri)) = (li, ri) else {
                                return Err(Error::UndefinedColumn(c.value.clone()));
                            };
                            let eq = BExpr::Cmp(
                                CmpOp::Eq,
                                BExpr::Column(li).boxed(),
                                BExpr::Column(lw + ri).boxed(),
                            );
                            pred = Some(match pred {
                                None => eq,
                                Some(p) => BExpr::And(p.boxed(), eq.boxed()),
                            });
                        }
                        pred
                    }
                    bc::JoinConstraint::Natural => {
                        return Err(Error::Unsupported("NATURAL JOIN".into()))
                    }
                };
                Ok(join_plans(lp, ls, rp, rs, *kind, on))
            }
        }
    }

    /// A set-returning function in FROM. Its arguments may refer to enclosing queries
    /// (not to other items of the same FROM: no LATERAL).
    fn table_function(
        &mut self,
        f: &bc::Function,
        alias: &Option<bc::TableAlias>,
    ) -> Result<(Plan, Scope)> {
        let undefined = || Error::UndefinedFunction(format!("{}()", f.name));
        let func = TableFunc::lookup(&f.namespace, &f.name, f.args.len()).ok_or_else(undefined)?;
        let empty = Scope::default();
        let mut args = Vec::with_capacity(f.args.len());
        let mut types = Vec::with_capacity(f.args.len());
        for a in &f.args {
            let (x, t) = self.expr(a, &empty)?;
            args.push(x);
            types.push(t);
        }
        let ty = match func {
            TableFunc::GenerateSeries => {
                let ty = types
                    .iter()
                    .copied()
                    .reduce(|a, b| ops::common_type(&a, &b).unwrap_or(a))
                    .unwrap_or(DataType::Integer);
                if !is_numeric(&ty) {
                    return Err(Error::UndefinedFunction(format!(
                        "generate_series({})",
                        types
                            .iter()
                            .map(rosetta_types::type_name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                args = args
                    .into_iter()
                    .map(|a| {
                        self.infer_param(&a, ty);
                        coerce_literal(a, &ty)
                    })
                    .collect::<Result<_>>()?;
                ty
            }
            TableFunc::Unnest => match types.first().and_then(|t| t.element()) {
                Some(e) => e,
                None => return Err(undefined()),
            },
        };
        let name = match alias {
            Some(a) => a.columns.first().unwrap_or(&a.name).value.clone(),
            None => f.name.clone(),
        };
        let qualifier = Some(
            alias
                .as_ref()
                .map_or(f.name.clone(), |a| a.name.value.clone()),
        );
        Ok((
            Plan::Function { func, args },
            Scope {
                cols: vec![ScopeCol {
                    qualifier,
                    name,
                    ty,
                    table_id: 0,
                    colno: 0,
                }],
            },
        ))
    }

    // ----- expressions ---------------------------------------------------------------

    /// Binds an expression in `scope`, returning it with its static type.
    pub fn expr(&mut self, e: &Expr, scope: &Scope) -> Result<(BExpr, DataType)> {
        Ok(match e {
            Expr::Column(parts) => {
                if let Some(i) = scope_lookup(scope, parts) {
                    let i = i?;
                    (BExpr::Column(i), scope.cols[i].ty)
                } else {
                    let mut found = None;
                    for (d, s) in self.outer.iter().rev().enumerate() {
                        if let Some(i) = scope_lookup(s, parts) {
                            let i = i?;
                            found = Some((
                                BExpr::Outer {
                                    depth: d + 1,
                                    index: i,
                                },
                                s.cols[i].ty,
                            ));
                            break;
                        }
                    }
                    match found {
                        Some(f) => {
                            self.outer_refs += 1;
                            f
                        }
                        None => return Err(Error::UndefinedColumn(display_name(parts))),
                    }
                }
            }
            Expr::Literal(l) => literal(l)?,
            Expr::Param(n) => {
                let i = usize::from(*n).saturating_sub(1);
                if self.params.len() <= i {
                    self.params.resize(i + 1, None);
                }
                (BExpr::Param(i), self.params[i].unwrap_or(DataType::Text))
            }
            Expr::Default => {
                return Err(Error::Syntax(
                    "DEFAULT is not allowed in this context".into(),
                ))
            }
            Expr::Unary { op, expr } => {
                let (x, ty) = self.expr(expr, scope)?;
                match op {
                    bc::UnaryOp::Not => (BExpr::Not(x.boxed()), DataType::Boolean),
                    bc::UnaryOp::Plus => (x, ty),
                    bc::UnaryOp::Neg => match x {
                        BExpr::Const(v) => (BExpr::Const(ops::negate(&v)?), ty),
                        x => (BExpr::Neg(x.boxed()), ty),
                    },
                }
            }
            Expr::Binary { op, left, right } => self.binary(*op, left, right, scope)?,
            Expr::IsNull { expr, negated } => (
                BExpr::IsNull(self.expr(expr, scope)?.0.boxed(), *negated),
                DataType::Boolean,
            ),
            Expr::IsDistinctFrom {
                left,
                right,
                negated,
            } => {
                let (l, r) = self.coerced_pair(left, right, scope)?;
                (
                    BExpr::IsDistinct(l.0.boxed(), r.0.boxed(), *negated),
                    DataType::Boolean,
                )
            }
            Expr::IsBool {
                expr,
                value,
                negated,
            } => (
                BExpr::IsBool {
                    expr: self.expr(expr, scope)?.0.boxed(),
                    value: *value,
                    negated: *negated,
                },
                DataType::Boolean,
            ),
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let (x, ty) = self.expr(expr, scope)?;
                let mut items = Vec::new();
                for item in list {
                    let (i, ity) = self.expr(item, scope)?;
                    self.infer_param(&i, ty);
                    self.infer_param(&x, ity);
                    items.push(coerce_literal(i, &ty)?);
                }
                (
                    BExpr::InList {
                        expr: x.boxed(),
                        list: items,
                        negated: *negated,
                    },
                    DataType::Boolean,
                )
            }
            Expr::InSubquery {
                expr,
                query,
                negated,
            } => {
                let (x, _) = self.expr(expr, scope)?;
                let (sub, _) = self.subquery(query, scope)?;
                (
                    BExpr::InSubquery {
                        expr: x.boxed(),
                        sub,
                        negated: *negated,
                    },
                    DataType::Boolean,
                )
            }
            Expr::Exists { query, negated } => {
                let (sub, _) = self.subquery(query, scope)?;
                (
                    BExpr::Exists {
                        sub,
                        negated: *negated,
                    },
                    DataType::Boolean,
                )
            }
            Expr::Subquery(query) => {
                let (sub, cols) = self.subquery(query, scope)?;
                if cols.len() != 1 {
                    return Err(Error::Syntax("subquery must return only one column".into()));
                }
                (BExpr::Subquery(sub), cols[0].ty)
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let (x, xt) = self.expr(expr, scope)?;
                let (lo, lt) = self.expr(low, scope)?;
                let (hi, _) = self.expr(high, scope)?;
                self.infer_param(&x, lt);
                self.infer_param(&lo, xt);
                self.infer_param(&hi, xt);
                let lo = coerce_literal(lo, &xt)?;
                let hi = coerce_literal(hi, &xt)?;
                let x = coerce_literal(x, &lt)?;
                let b = BExpr::And(
                    BExpr::Cmp(CmpOp::GtEq, x.clone().boxed(), lo.boxed()).boxed(),
                    BExpr::Cmp(CmpOp::LtEq, x.boxed(), hi.boxed()).boxed(),
                );
                (
                    if *negated { BExpr::Not(b.boxed()) } else { b },
                    DataType::Boolean,
                )
            }
            Expr::Like {
                expr,
                pattern,
                escape,
                negated,
                case_insensitive,
            } => {
                let (x, _) = self.expr(expr, scope)?;
                let (p, _) = self.expr(pattern, scope)?;
                self.infer_param(&p, DataType::Text);
                let esc = escape
                    .as_ref()
                    .map(|e| self.expr(e, scope).map(|x| x.0.boxed()))
                    .transpose()?;
                (
                    BExpr::Like {
                        expr: x.boxed(),
                        pattern: p.boxed(),
                        escape: esc,
                        negated: *negated,
                        case_insensitive: *case_insensitive,
                    },
                    DataType::Boolean,
                )
            }
            Expr::Case {
                operand,
                branches,
                else_result,
            } => {
                let op = operand.as_ref().map(|o| self.expr(o, scope)).transpose()?;
                let mut ty: Option<DataType> = None;
                let mut bs = Vec::new();
                for (w, t) in branches {
                    let (mut w, wt) = self.expr(w, scope)?;
                    if let Some((_, ot)) = &op {
                        w = coerce_literal(w, ot)?;
                        let _ = wt;
                    }
                    let (t, tt) = self.expr(t, scope)?;
                    ty = unify(ty, &t, tt);
                    bs.push((w, t, tt));
                }
                let els = else_result
                    .as_ref()
                    .map(|e| self.expr(e, scope))
                    .transpose()?;
                if let Some((e, et)) = &els {
                    ty = unify(ty, e, *et);
                }
                let ty = ty.unwrap_or(DataType::Text);
                let bs = bs
                    .into_iter()
                    .map(|(w, t, tt)| Ok((w, promote(t, tt, &ty)?)))
                    .collect::<Result<_>>()?;
                (
                    BExpr::Case {
                        operand: op.map(|o| o.0.boxed()),
                        branches: bs,
                        else_result: els
                            .map(|(e, et)| promote(e, et, &ty))
                            .transpose()?
                            .map(Box::new),
                    },
                    ty,
                )
            }
            Expr::Cast { expr, data_type } => {
                let (x, _) = self.expr(expr, scope)?;
                self.infer_param(&x, *data_type);
                match x {
                    BExpr::Const(v) => (
                        BExpr::Const(rosetta_types::cast::cast(
                            &v,
                            data_type,
                            rosetta_types::cast::CastMode::Explicit,
                        )?),
                        *data_type,
                    ),
                    x => (BExpr::Cast(x.boxed(), *data_type), *data_type),
                }
            }
            Expr::Function(f) => self.function(f, scope)?,
            Expr::Array(items) => self.array(items, scope)?,
            Expr::ArraySubquery(query) => {
                let (sub, cols) = self.subquery(query, scope)?;
                if cols.len() != 1 {
                    return Err(Error::Syntax("subquery must return only one column".into()));
                }
                let ty = array_type(cols[0].ty)?;
                (BExpr::ArraySubquery(sub), ty)
            }
            Expr::AnyAll {
                left,
                op,
                right,
                all,
            } => self.any_all(left, *op, right, *all, scope)?,
            Expr::Subscript { expr, index } => {
                let (a, at) = self.expr(expr, scope)?;
                let Some(element) = at.element() else {
                    return Err(Error::DatatypeMismatch(format!(
                        "cannot subscript type {} because it does not support subscripting",
                        rosetta_types::type_name(&at)
                    )));
                };
                let (i, it) = self.expr(index, scope)?;
                self.infer_param(&i, DataType::Integer);
                let i = coerce_literal(i, &DataType::Integer)?;
                if !matches!(self.param_type(&i).unwrap_or(it), t if is_integer(&t))
                    && !matches!(i, BExpr::Const(Value::Null))
                {
                    return Err(Error::DatatypeMismatch(
                        "array subscript must have type integer".into(),
                    ));
                }
                (BExpr::Subscript(a.boxed(), i.boxed()), element)
            }
            Expr::NextValue { sequence, step } => {
                return self.next_value(sequence, step.as_deref(), scope)
            }
        })
    }

    /// `ARRAY[…]`: the elements' common type (untyped literals and NULLs adapt to it;
    /// `text` when nothing else decides).
    fn array(&mut self, items: &[Expr], scope: &Scope) -> Result<(BExpr, DataType)> {
        let mut bound = Vec::with_capacity(items.len());
        let mut ty: Option<DataType> = None;
        for item in items {
            let (x, t) = self.expr(item, scope)?;
            ty = unify(ty, &x, t);
            bound.push((x, t));
        }
        let element = ty.unwrap_or(DataType::Text);
        let array = array_type(element)?;
        let bound = bound
            .into_iter()
            .map(|(x, t)| {
                self.infer_param(&x, element);
                let literal = matches!(x, BExpr::Const(Value::Text(_) | Value::Null));
                let x = coerce_literal(x, &element)?;
                // Elements of another type convert to the array's element type.
                Ok(
                    if literal || t == element || self.param_type(&x).is_some() {
                        x
                    } else {
                        BExpr::Cast(x.boxed(), element)
                    },
                )
            })
            .collect::<Result<_>>()?;
        Ok((BExpr::Array(bound), array))
    }

    /// `left op ANY|ALL (right)`: `right` must be an array (an untyped literal is read
    /// as an array of the left side's type); the left side is compared with its elements.
    fn any_all(
        &mut self,
        left: &Expr,
        op: bc::BinaryOp,
        right: &Expr,
        all: bool,
        scope: &Scope,
    ) -> Result<(BExpr, DataType)> {
        let cmp = match op {
            bc::BinaryOp::Eq => CmpOp::Eq,
            bc::BinaryOp::NotEq => CmpOp::NotEq,
            bc::BinaryOp::Lt => CmpOp::Lt,
            bc::BinaryOp::LtEq => CmpOp::LtEq,
            bc::BinaryOp::Gt => CmpOp::Gt,
            bc::BinaryOp::GtEq => CmpOp::GtEq,
            other => {
                return Err(Error::UndefinedFunction(format!(
                    "operator {other:?} with ANY/ALL"
                )))
            }
        };
        let (l, lt) = self.expr(left, scope)?;
        let (r, rt) = self.expr(right, scope)?;
        let (r, rt) = match (&r, rt.element()) {
            (_, Some(_)) => (r, rt),
            (BExpr::Const(Value::Text(_) | Value::Null), None) | (BExpr::Param(_), None) => {
                let at = array_type(lt)?;
                self.infer_param(&r, at);
                (coerce_literal(r, &at)?, at)
            }
            _ => {
                return Err(Error::DatatypeMismatch(format!(
                    "op ANY/ALL (array) requires array on right side, got {}",
                    rosetta_types::type_name(&rt)
                )))
            }
        };
        let element = rt.element().unwrap_or(DataType::Text);
        self.infer_param(&l, element);
        let l = coerce_literal(l, &element)?;
        Ok((
            BExpr::AnyAll {
                op: cmp,
                left: l.boxed(),
                right: r.boxed(),
                all,
            },
            DataType::Boolean,
        ))
    }

    fn subquery(&mut self, q: &bc::Query, scope: &Scope) -> Result<(SubPlan, Vec<OutCol>)> {
        self.outer.push(scope.clone());
        let before = self.outer_refs;
        let saved_aggs = self.aggs.take();
        let r = self.query(q);
        self.aggs = saved_aggs;
        self.outer.pop();
        let (plan, cols) = r?;
        Ok((
            SubPlan {
                plan: Box::new(plan),
                correlated: self.outer_refs > before,
            },
            cols,
        ))
    }

    fn function(&mut self, f: &bc::Function, scope: &Scope) -> Result<(BExpr, DataType)> {
        if (f.namespace == "std" || f.namespace == "pg") && f.name == "setval" {
            return self.setval(&f.args, scope);
        }
        if f.namespace == "std" || f.namespace == "pg" {
            if let Some(agg) = Agg::lookup(&f.name) {
                if f.args.len() != agg.arity() && !(f.args.is_empty() && f.star) {
                    return Err(Error::UndefinedFunction(format!("{}()", f.name)));
                }
                if self.aggs.is_none() {
                    return Err(Error::Grouping(
                        "aggregate functions are not allowed here".into(),
                    ));
                }
                let saved = self.aggs.take();
                let arg = f.args.first().map(|a| self.expr(a, scope)).transpose();
                let separator = f.args.get(1).map(|a| self.expr(a, scope)).transpose();
                self.aggs = saved;
                let arg = arg?;
                let separator = separator?.map(|s| s.0);
                let ty = agg.result_type(arg.as_ref().map(|a| &a.1));
                if matches!(agg, Agg::Sum | Agg::Avg) {
                    if let Some((_, t)) = &arg {
                        if !is_numeric(t) {
                            return Err(Error::UndefinedFunction(format!(
                                "{}({})",
                                f.name,
                                rosetta_types::type_name(t)
                            )));
                        }
                    }
                }
                let aggs = self.aggs.get_or_insert_with(Vec::new);
                aggs.push(AggCall {
                    agg,
                    arg: arg.map(|a| a.0),
                    distinct: f.distinct,
                    separator,
                });
                return Ok((BExpr::AggRef(aggs.len() - 1), ty));
            }
        }
        let func = Func::lookup(&f.namespace, &f.name, f.args.len())
            .ok_or_else(|| Error::UndefinedFunction(format!("{}()", f.name)))?;
        let mut args = Vec::new();
        let mut types = Vec::new();
        for a in &f.args {
            let (x, t) = self.expr(a, scope)?;
            args.push(x);
            types.push(t);
        }
        let mut ty = func.result_type(&types);
        if matches!(func, Func::Coalesce | Func::Greatest | Func::Least) {
            args = args
                .into_iter()
                .zip(&types)
                .map(|(a, t)| promote(a, *t, &ty))
                .collect::<Result<_>>()?;
        } else if func == Func::NullIf {
            // PostgreSQL returns NULLIF's first argument as promoted by the implied `=`:
            // NULLIF(2, 1.5) is numeric.
            if let [a, b] = types.as_slice() {
                if is_numeric(a) && is_numeric(b) {
                    ty = ops::common_type(a, b).unwrap_or(*a);
                    if let Some(first) = args.first_mut() {
                        let x = std::mem::replace(first, BExpr::Const(Value::Null));
                        *first = promote(x, *a, &ty)?;
                    }
                }
            }
        }
        Ok((BExpr::Call(func, args), ty))
    }

    fn coerced_pair(
        &mut self,
        left: &Expr,
        right: &Expr,
        scope: &Scope,
    ) -> Result<((BExpr, DataType), (BExpr, DataType))> {
        let (l, lt) = self.expr(left, scope)?;
        let (r, rt) = self.expr(right, scope)?;
        self.infer_param(&l, rt);
        self.infer_param(&r, lt);
        let lt = self.param_type(&l).unwrap_or(lt);
        let rt = self.param_type(&r).unwrap_or(rt);
        let l2 = coerce_literal(l, &rt)?;
        let r2 = coerce_literal(r, &lt)?;
        Ok(((l2, lt), (r2, rt)))
    }

    fn binary(
        &mut self,
        op: bc::BinaryOp,
        left: &Expr,
        right: &Expr,
        scope: &Scope,
    ) -> Result<(BExpr, DataType)> {
        use bc::BinaryOp as B;
        // `||`, `~` and AND/OR take their operands as they are: an untyped literal there is
        // text (or boolean), not the other side's type.
        let ((l, lt), (r, rt)) = match op {
            B::Concat | B::RegexMatch { .. } | B::And | B::Or => {
                (self.expr(left, scope)?, self.expr(right, scope)?)
            }
            _ => self.coerced_pair(left, right, scope)?,
        };
        let (l, r) = match op {
            B::Eq | B::NotEq | B::Lt | B::LtEq | B::Gt | B::GtEq => char_comparison(l, lt, r, rt),
            _ => (l, r),
        };
        let cmp = |c: CmpOp| {
            (
                BExpr::Cmp(c, l.clone().boxed(), r.clone().boxed()),
                DataType::Boolean,
            )
        };
        Ok(match op {
            B::Eq => cmp(CmpOp::Eq),
            B::NotEq => cmp(CmpOp::NotEq),
            B::Lt => cmp(CmpOp::Lt),
            B::LtEq => cmp(CmpOp::LtEq),
            B::Gt => cmp(CmpOp::Gt),
            B::GtEq => cmp(CmpOp::GtEq),
            B::And => (BExpr::And(l.boxed(), r.boxed()), DataType::Boolean),
            B::Or => (BExpr::Or(l.boxed(), r.boxed()), DataType::Boolean),
            B::Concat if lt.element().is_some() || rt.element().is_some() => {
                // `array || array`: array_cat (an untyped literal is an array literal).
                let at = if lt.element().is_some() { lt } else { rt };
                let l = coerce_literal(l, &at)?;
                let r = coerce_literal(r, &at)?;
                (BExpr::Call(Func::ArrayCat, vec![l, r]), at)
            }
            B::Concat => (BExpr::Concat(l.boxed(), r.boxed()), DataType::Text),
            B::RegexMatch {
                case_insensitive,
                negated,
            } => (
                BExpr::Regex {
                    expr: l.boxed(),
                    pattern: r.boxed(),
                    case_insensitive,
                    negated,
                },
                DataType::Boolean,
            ),
            B::Add | B::Sub | B::Mul | B::Div | B::Mod => {
                let aop = match op {
                    B::Add => ArithOp::Add,
                    B::Sub => ArithOp::Sub,
                    B::Mul => ArithOp::Mul,
                    B::Div => ArithOp::Div,
                    _ => ArithOp::Mod,
                };
                // Untyped string literals in arithmetic take the other side's type.
                let sem = rosetta_bytecode::Semantics::for_dialect(bc::Dialect::Postgres);
                let ty = ops::arith_result_type(aop, &lt, &rt, &sem).unwrap_or(NUMERIC);
                (BExpr::Arith(aop, l.boxed(), r.boxed()), ty)
            }
        })
    }

    fn param_type(&self, e: &BExpr) -> Option<DataType> {
        match e {
            BExpr::Param(i) => self.params.get(*i).copied().flatten(),
            _ => None,
        }
    }

    /// Records the type a parameter must have, learned from its context.
    pub fn infer_param(&mut self, e: &BExpr, ty: DataType) {
        if let BExpr::Param(i) = e {
            if let Some(slot) = self.params.get_mut(*i) {
                if slot.is_none() {
                    *slot = Some(ty);
                }
            }
        }
    }
}

fn is_integer(t: &DataType) -> bool {
    matches!(t, DataType::SmallInt | DataType::Integer | DataType::BigInt)
}

/// The array type over `element` (arrays of arrays are refused: one dimension only).
fn array_type(element: DataType) -> Result<DataType> {
    element
        .array_of()
        .ok_or_else(|| Error::Unsupported("multidimensional arrays".into()))
}

fn is_numeric(t: &DataType) -> bool {
    matches!(
        t,
        DataType::SmallInt
            | DataType::Integer
            | DataType::BigInt
            | DataType::Numeric { .. }
            | DataType::Real
            | DataType::Double
    )
}

/// Folds one more branch type into a CASE's result type; NULL literals have no type of
/// their own (PostgreSQL's `unknown`) and do not take part.
fn unify(acc: Option<DataType>, e: &BExpr, ty: DataType) -> Option<DataType> {
    if matches!(e, BExpr::Const(Value::Null)) {
        return acc;
    }
    Some(match acc {
        None => ty,
        Some(a) if matches!(e, BExpr::Const(Value::Text(_))) => a,
        Some(a) => ops::common_type(&a, &ty).unwrap_or(a),
    })
}

/// Converts one input of a CASE / COALESCE / GREATEST / LEAST / NULLIF of result type
/// `to`: untyped literals as [`coerce_literal`], and a numeric input of another numeric
/// type is cast, so that the values carry the result type (`COALESCE(77, 1.5)` is the
/// numeric 77, and dividing by it is numeric division, as in PostgreSQL).
fn promote(e: BExpr, from: DataType, to: &DataType) -> Result<BExpr> {
    let e = coerce_literal(e, to)?;
    if from == *to || !is_numeric(&from) || !is_numeric(to) {
        return Ok(e);
    }
    Ok(match e {
        BExpr::Const(Value::Null) => e,
        BExpr::Const(v) => BExpr::Const(rosetta_types::cast::cast(
            &v,
            to,
            rosetta_types::cast::CastMode::Explicit,
        )?),
        e => BExpr::Cast(e.boxed(), *to),
    })
}

/// `CHAR(n)` comparison semantics (PostgreSQL's `bpchar`, Firebird's CHAR): trailing
/// blanks do not count. A string constant compared with a `CHAR(n)` side is padded to `n`
/// (so an index on the column still serves the comparison); otherwise each `CHAR` side
/// loses its trailing blanks, as PostgreSQL's `bpchar` → `text` cast does.
fn char_comparison(l: BExpr, lt: DataType, r: BExpr, rt: DataType) -> (BExpr, BExpr) {
    let is_char = |t: &DataType| matches!(t, DataType::Char(_));
    let is_string =
        |t: &DataType| matches!(t, DataType::Char(_) | DataType::Text | DataType::Varchar(_));
    if !(is_char(&lt) || is_char(&rt)) || !is_string(&lt) || !is_string(&rt) {
        return (l, r);
    }
    let pad = |e: BExpr, n: Option<u32>| match e {
        BExpr::Const(Value::Text(s)) => {
            let width = n.unwrap_or(1) as usize;
            let trimmed = s.trim_end_matches(' ');
            BExpr::Const(Value::Text(format!("{trimmed:<width$}")))
        }
        e => e,
    };
    let rtrim = |e: BExpr| BExpr::Call(Func::Rtrim, vec![e]);
    match (&l, &r, lt, rt) {
        (_, BExpr::Const(Value::Text(_)), DataType::Char(n), _) => (l, pad(r, n)),
        (BExpr::Const(Value::Text(_)), _, _, DataType::Char(n)) => (pad(l, n), r),
        _ => {
            let l = if is_char(&lt) { rtrim(l) } else { l };
            let r = if is_char(&rt) { rtrim(r) } else { r };
            (l, r)
        }
    }
}

/// Casts an untyped string literal to the type it is compared or combined with, the way
/// PostgreSQL resolves `unknown` literals.
pub fn coerce_literal(e: BExpr, to: &DataType) -> Result<BExpr> {
    match e {
        BExpr::Const(Value::Text(s))
            if !matches!(
                to,
                DataType::Text | DataType::Varchar(_) | DataType::Char(_)
            ) =>
        {
            Ok(BExpr::Const(parse_literal(&s, to)?))
        }
        e => Ok(e),
    }
}

fn literal(l: &Literal) -> Result<(BExpr, DataType)> {
    Ok(match l {
        Literal::Null => (BExpr::Const(Value::Null), DataType::Text),
        Literal::Boolean(b) => (BExpr::Const(Value::Bool(*b)), DataType::Boolean),
        Literal::Integer(i) => match i32::try_from(*i) {
            Ok(v) => (BExpr::Const(Value::Int32(v)), DataType::Integer),
            Err(_) => (BExpr::Const(Value::Int64(*i)), DataType::BigInt),
        },
        Literal::Decimal(s) => {
            let d: Decimal = s
                .parse()
                .or_else(|_| Decimal::from_scientific(s))
                .map_err(|_| rosetta_types::TypeError::OutOfRange("numeric".into()))?;
            (BExpr::Const(Value::Numeric(d)), NUMERIC)
        }
        Literal::Float(f) => (BExpr::Const(Value::Float64(*f)), DataType::Double),
        Literal::String(s) => (BExpr::Const(Value::Text(s.clone())), DataType::Text),
        Literal::Bytes(b) => (BExpr::Const(Value::Bytes(b.clone())), DataType::Bytea),
        Literal::Typed { data_type, value } => {
            (BExpr::Const(parse_literal(value, data_type)?), *data_type)
        }
    })
}

fn position(n: i64, len: usize) -> Result<BExpr> {
    usize::try_from(n - 1)
        .ok()
        .filter(|i| *i < len)
        .map(BExpr::Column)
        .ok_or_else(|| Error::Syntax(format!("ORDER BY position {n} is not in select list")))
}

fn is_output_marker(e: &Expr, proj: &[(BExpr, OutCol)]) -> bool {
    match e {
        Expr::Literal(Literal::Integer(_)) => true,
        Expr::Column(parts) if parts.len() == 1 => {
            proj.iter().any(|(_, c)| c.name == parts[0].value)
        }
        _ => false,
    }
}

fn sort_key(expr: BExpr, o: &bc::OrderItem) -> SortKey {
    SortKey {
        expr,
        desc: o.desc,
        // PostgreSQL: NULLs are larger than every value.
        nulls_first: o.nulls_first.unwrap_or(o.desc),
    }
}

fn scope_lookup(scope: &Scope, parts: &[Ident]) -> Option<Result<usize>> {
    let (qual, name) = match parts {
        [n] => (None, n),
        [.., q, n] => (Some(q), n),
        [] => return None,
    };
    let matches = |c: &ScopeCol, exact: bool| {
        let name_ok = if exact {
            c.name == name.value
        } else {
            c.name.eq_ignore_ascii_case(&name.value)
        };
        let qual_ok = match qual {
            None => true,
            Some(q) => c.qualifier.as_ref().is_some_and(|cq| {
                if exact {
                    *cq == q.value
                } else {
                    cq.eq_ignore_ascii_case(&q.value)
                }
            }),
        };
        name_ok && qual_ok
    };
    for exact in [true, false] {
        if !exact && name.quoted {
            break;
        }
        let hits: Vec<usize> = scope
            .cols
            .iter()
            .enumerate()
            .filter(|(_, c)| matches(c, exact))
            .map(|(i, _)| i)
            .collect();
        match hits.len() {
            0 => continue,
            1 => return Some(Ok(hits[0])),
            _ => return Some(Err(Error::AmbiguousColumn(name.value.clone()))),
        }
    }
    None
}

fn display_name(parts: &[Ident]) -> String {
    parts
        .iter()
        .map(|p| p.value.as_str())
        .collect::<Vec<_>>()
        .join(".")
}

fn default_name(e: &Expr) -> String {
    match e {
        Expr::Column(parts) => parts.last().map(|p| p.value.clone()).unwrap_or_default(),
        Expr::Function(f) => f.name.clone(),
        Expr::Cast { expr, .. } => match expr.as_ref() {
            Expr::Column(_) | Expr::Function(_) => default_name(expr),
            _ => "?column?".into(),
        },
        Expr::Case { .. } => "case".into(),
        Expr::Array(_) | Expr::ArraySubquery(_) => "array".into(),
        Expr::Subscript { expr, .. } => default_name(expr),
        Expr::Exists { .. } => "exists".into(),
        Expr::NextValue { step: None, .. } => "nextval".into(),
        Expr::NextValue { .. } => "gen_id".into(),
        _ => "?column?".into(),
    }
}

fn join_plans(
    lp: Plan,
    ls: Scope,
    rp: Plan,
    rs: Scope,
    kind: JoinKind,
    on: Option<BExpr>,
) -> (Plan, Scope) {
    let (lw, rw) = (ls.cols.len(), rs.cols.len());
    let mut scope = ls;
    scope.cols.extend(rs.cols);
    (
        Plan::Join {
            left: Box::new(lp),
            right: Box::new(rp),
            kind,
            on,
            left_width: lw,
            right_width: rw,
        },
        scope,
    )
}

/// Rewrites an expression bound over the input of an aggregation into one over its
/// output (group values, then aggregates).
fn to_agg_output(e: BExpr, groups: &[BExpr], ng: usize, scope: &Scope) -> Result<BExpr> {
    if let Some(i) = groups.iter().position(|g| *g == e) {
        return Ok(BExpr::Column(i));
    }
    match e {
        BExpr::AggRef(j) => Ok(BExpr::Column(ng + j)),
        BExpr::Column(i) => Err(Error::Grouping(format!(
            "column \"{}\" must appear in the GROUP BY clause or be used in an aggregate function",
            scope.cols.get(i).map(|c| c.name.as_str()).unwrap_or("?")
        ))),
        e @ (BExpr::Const(_) | BExpr::Param(_) | BExpr::Outer { .. }) => Ok(e),
        e => {
            // Rewrite children one level at a time so that a child equal to a group
            // expression is replaced before its own columns are checked.
            let mut err = None;
            let out = rewrite_children(e, &mut |c| match to_agg_output(c, groups, ng, scope) {
                Ok(x) => x,
                Err(x) => {
                    err.get_or_insert(x);
                    BExpr::Const(Value::Null)
                }
            });
            match err {
                Some(e) => Err(e),
                None => Ok(out),
            }
        }
    }
}

fn rewrite_children(e: BExpr, f: &mut dyn FnMut(BExpr) -> BExpr) -> BExpr {
    let mut b = |x: Box<BExpr>| Box::new(f(*x));
    match e {
        BExpr::Not(a) => BExpr::Not(b(a)),
        BExpr::Neg(a) => BExpr::Neg(b(a)),
        BExpr::IsNull(a, n) => BExpr::IsNull(b(a), n),
        BExpr::Cast(a, t) => BExpr::Cast(b(a), t),
        BExpr::And(x, y) => BExpr::And(b(x), b(y)),
        BExpr::Or(x, y) => BExpr::Or(b(x), b(y)),
        BExpr::Cmp(o, x, y) => BExpr::Cmp(o, b(x), b(y)),
        BExpr::Arith(o, x, y) => BExpr::Arith(o, b(x), b(y)),
        BExpr::Concat(x, y) => BExpr::Concat(b(x), b(y)),
        BExpr::IsDistinct(x, y, n) => BExpr::IsDistinct(b(x), b(y), n),
        BExpr::IsBool {
            expr,
            value,
            negated,
        } => BExpr::IsBool {
            expr: b(expr),
            value,
            negated,
        },
        BExpr::Regex {
            expr,
            pattern,
            case_insensitive,
            negated,
        } => BExpr::Regex {
            expr: b(expr),
            pattern: b(pattern),
            case_insensitive,
            negated,
        },
        BExpr::InList {
            expr,
            list,
            negated,
        } => BExpr::InList {
            expr: b(expr),
            list: list.into_iter().map(&mut *f).collect(),
            negated,
        },
        BExpr::InSubquery { expr, sub, negated } => BExpr::InSubquery {
            expr: b(expr),
            sub,
            negated,
        },
        BExpr::Like {
            expr,
            pattern,
            escape,
            negated,
            case_insensitive,
        } => BExpr::Like {
            expr: b(expr),
            pattern: b(pattern),
            escape: escape.map(&mut b),
            negated,
            case_insensitive,
        },
        BExpr::Call(func, args) => BExpr::Call(func, args.into_iter().map(&mut *f).collect()),
        BExpr::Array(items) => BExpr::Array(items.into_iter().map(&mut *f).collect()),
        BExpr::AnyAll {
            op,
            left,
            right,
            all,
        } => BExpr::AnyAll {
            op,
            left: b(left),
            right: b(right),
            all,
        },
        BExpr::Subscript(a, i) => BExpr::Subscript(b(a), b(i)),
        BExpr::Case {
            operand,
            branches,
            else_result,
        } => {
            let operand = operand.map(|x| Box::new(f(*x)));
            let mut bs = Vec::with_capacity(branches.len());
            for (w, t) in branches {
                bs.push((f(w), f(t)));
            }
            BExpr::Case {
                operand,
                branches: bs,
                else_result: else_result.map(|x| Box::new(f(*x))),
            }
        }
        other => other,
    }
}

// ----- filter pushdown and access paths -------------------------------------------

fn conjuncts(e: BExpr, out: &mut Vec<BExpr>) {
    match e {
        BExpr::And(a, b) => {
            conjuncts(*a, out);
            conjuncts(*b, out);
        }
        e => out.push(e),
    }
}

fn and_all(v: Vec<BExpr>) -> Option<BExpr> {
    v.into_iter()
        .reduce(|a, b| BExpr::And(a.boxed(), b.boxed()))
}

fn has_subquery(e: &BExpr) -> bool {
    e.any(&mut |x| {
        matches!(
            x,
            BExpr::Subquery(_)
                | BExpr::ArraySubquery(_)
                | BExpr::Exists { .. }
                | BExpr::InSubquery { .. }
                | BExpr::Outer { .. }
        )
    })
}

fn columns_in(e: &BExpr) -> (usize, usize) {
    let (mut lo, mut hi) = (usize::MAX, 0);
    e.any(&mut |x| {
        if let BExpr::Column(i) = x {
            lo = lo.min(*i);
            hi = hi.max(*i + 1);
        }
        false
    });
    (lo, hi)
}

fn shift(e: BExpr, by: usize) -> BExpr {
    e.transform(&mut |x| {
        Ok(match x {
            BExpr::Column(i) => BExpr::Column(i - by),
            x => x,
        })
    })
    .unwrap_or(BExpr::Const(Value::Null))
}

/// Pushes a WHERE predicate as deep into the plan as it can go: conjuncts that only use
/// one table's columns become that table's scan filter (and may choose an index); the
/// rest filter the join that has all their columns.
fn push_filter(plan: Plan, pred: BExpr) -> Plan {
    let mut cs = Vec::new();
    conjuncts(pred, &mut cs);
    let (plan, rest) = push_into(plan, cs, 0);
    match and_all(rest) {
        Some(p) => Plan::Filter {
            input: Box::new(plan),
            predicate: p,
        },
        None => plan,
    }
}

fn plan_width(p: &Plan) -> Option<usize> {
    match p {
        Plan::Scan { table, .. } => Some(table.columns.len()),
        Plan::Join {
            left_width,
            right_width,
            ..
        } => Some(left_width + right_width),
        _ => None,
    }
}

/// Returns the plan with what it could absorb, and the conjuncts it could not.
fn push_into(plan: Plan, cs: Vec<BExpr>, offset: usize) -> (Plan, Vec<BExpr>) {
    match plan {
        Plan::Scan {
            table,
            access,
            filter,
        } => {
            let width = table.columns.len();
            let (mine, rest): (Vec<_>, Vec<_>) = cs.into_iter().partition(|c| {
                let (lo, hi) = columns_in(c);
                !has_subquery(c) && (lo == usize::MAX || (lo >= offset && hi <= offset + width))
            });
            let mut mine: Vec<BExpr> = mine.into_iter().map(|c| shift(c, offset)).collect();
            if let Some(f) = filter {
                mine.push(f);
            }
            let access = if access == Access::Full {
                choose_access(&table, &mine)
            } else {
                access
            };
            (
                Plan::Scan {
                    table,
                    access,
                    filter: and_all(mine),
                },
                rest,
            )
        }
        Plan::Join {
            left,
            right,
            kind,
            on,
            left_width,
            right_width,
        } if matches!(kind, JoinKind::Inner | JoinKind::Cross) => {
            let mut cs = cs;
            if let Some(on) = on {
                let mut more = Vec::new();
                conjuncts(shift_up(on, offset), &mut more);
                cs.extend(more);
            }
            let (left, rest) = push_into(*left, cs, offset);
            let (right, rest) = match plan_width(&right) {
                Some(_) => push_into(*right, rest, offset + left_width),
                None => (*right, rest),
            };
            // What remains and lies within this join becomes its ON condition.
            let (mine, rest): (Vec<_>, Vec<_>) = rest.into_iter().partition(|c| {
                let (lo, hi) = columns_in(c);
                !has_subquery(c)
                    && lo != usize::MAX
                    && lo >= offset
                    && hi <= offset + left_width + right_width
            });
            let on = and_all(mine.into_iter().map(|c| shift(c, offset)).collect());
            (
                Plan::Join {
                    left: Box::new(left),
                    right: Box::new(right),
                    kind: if on.is_some() { JoinKind::Inner } else { kind },
                    on,
                    left_width,
                    right_width,
                },
                rest,
            )
        }
        other => (other, cs),
    }
}

fn shift_up(e: BExpr, by: usize) -> BExpr {
    e.transform(&mut |x| {
        Ok(match x {
            BExpr::Column(i) => BExpr::Column(i + by),
            x => x,
        })
    })
    .unwrap_or(BExpr::Const(Value::Null))
}

fn is_constant(e: &BExpr) -> bool {
    !e.any(&mut |x| {
        matches!(
            x,
            BExpr::Column(_)
                | BExpr::Outer { .. }
                | BExpr::Subquery(_)
                | BExpr::ArraySubquery(_)
                | BExpr::Exists { .. }
                | BExpr::InSubquery { .. }
                | BExpr::AggRef(_)
                // Volatile: each evaluation advances or changes a counter.
                | BExpr::Call(
                    Func::NextValue(_) | Func::SetVal(_) | Func::LastInsertId | Func::ConnectionId,
                    _
                )
        )
    })
}

/// `column op constant` (either way round) from a conjunct.
fn column_bound(c: &BExpr) -> Option<(usize, CmpOp, BExpr)> {
    if let BExpr::Cmp(op, a, b) = c {
        match (a.as_ref(), b.as_ref()) {
            (BExpr::Column(i), v) if is_constant(v) => return Some((*i, *op, v.clone())),
            (v, BExpr::Column(i)) if is_constant(v) => return Some((*i, op.flip(), v.clone())),
            _ => {}
        }
    }
    None
}

/// Picks the access path for a scan from its filter conjuncts: a primary-key or index
/// prefix on equalities, else a range on the leading column, else a full scan. The
/// conjuncts stay in the filter, so a path only has to be a superset of the answer.
pub fn choose_access(table: &TableDef, conj: &[BExpr]) -> Access {
    let bounds: Vec<(usize, CmpOp, BExpr)> = conj.iter().filter_map(column_bound).collect();
    let eq = |col: usize| {
        bounds
            .iter()
            .find(|(c, op, _)| *c == col && *op == CmpOp::Eq)
            .map(|(_, _, v)| v.clone())
    };
    let prefix = |cols: &[usize]| -> Vec<BExpr> { cols.iter().map_while(|c| eq(*c)).collect() };
    let range = |col: usize| {
        let mut lo = None;
        let mut hi = None;
        for (c, op, v) in &bounds {
            if *c != col {
                continue;
            }
            match op {
                CmpOp::Gt => lo = Some((v.clone(), false)),
                CmpOp::GtEq => lo = Some((v.clone(), true)),
                CmpOp::Lt => hi = Some((v.clone(), false)),
                CmpOp::LtEq => hi = Some((v.clone(), true)),
                _ => {}
            }
        }
        (lo, hi)
    };
    if !table.primary_key.is_empty() {
        let p = prefix(&table.primary_key);
        if p.len() == table.primary_key.len() {
            return Access::PkPrefix(p);
        }
    }
    let mut best: Option<Access> = None;
    let mut best_len = 0;
    for idx in table.indexes.iter().filter(|i| !i.primary) {
        let p = prefix(&idx.columns);
        if p.len() > best_len {
            best_len = p.len();
            best = Some(Access::IndexPrefix {
                index: idx.clone(),
                values: p,
            });
        }
    }
    if !table.primary_key.is_empty() {
        let p = prefix(&table.primary_key);
        if !p.is_empty() && p.len() >= best_len {
            return Access::PkPrefix(p);
        }
    }
    if let Some(b) = best {
        return b;
    }
    if let Some(&first) = table.primary_key.first() {
        let (lo, hi) = range(first);
        if lo.is_some() || hi.is_some() {
            return Access::PkRange { lo, hi };
        }
    }
    for idx in table.indexes.iter().filter(|i| !i.primary) {
        if let Some(&first) = idx.columns.first() {
            let (lo, hi) = range(first);
            if lo.is_some() || hi.is_some() {
                return Access::IndexRange {
                    index: idx.clone(),
                    lo,
                    hi,
                };
            }
        }
    }
    Access::Full
}
