//! Queries: `WITH`, set operations, `SELECT`, `VALUES`, `FROM` items and joins,
//! `ORDER BY`, `LIMIT`/`OFFSET`/`FETCH`.

use rosetta_bytecode::{self as bc, CompileError};
use sqlparser::ast;

use crate::{reject, unsupported, DialectLowering, LowerExpr, LowerFunction, Result};

/// Shared lowering of queries, provided for every [`DialectLowering`].
pub trait LowerQuery: LowerExpr + LowerFunction {
    /// Lowers a query.
    fn query(&mut self, query: &ast::Query) -> Result<bc::Query> {
        self.nested(|l| l.query_inner(query))
    }

    fn query_inner(&mut self, query: &ast::Query) -> Result<bc::Query> {
        let ast::Query {
            with,
            body,
            order_by,
            limit_clause,
            fetch,
            locks,
            for_clause,
            settings,
            format_clause,
            pipe_operators,
        } = query;
        reject(!locks.is_empty(), "SELECT … FOR UPDATE/SHARE")?;
        reject(for_clause.is_some(), "FOR XML/JSON")?;
        reject(settings.is_some(), "SETTINGS")?;
        reject(format_clause.is_some(), "FORMAT")?;
        reject(!pipe_operators.is_empty(), "pipe operators")?;
        let with = match with {
            Some(with) => self.with(with)?,
            None => Vec::new(),
        };
        let body = self.set_expr(body)?;
        let order_by = match order_by {
            Some(order_by) => self.order_by(order_by)?,
            None => Vec::new(),
        };
        let (mut limit, offset) = match limit_clause {
            Some(clause) => self.limit_clause(clause)?,
            None => (None, None),
        };
        if let Some(fetch) = fetch {
            if limit.is_some() {
                return Err(CompileError::syntax("multiple LIMIT clauses not allowed"));
            }
            limit = Some(self.fetch(fetch)?);
        }
        Ok(bc::Query {
            with,
            body,
            order_by,
            limit,
            offset,
        })
    }

    fn with(&mut self, with: &ast::With) -> Result<Vec<bc::Cte>> {
        let ast::With {
            with_token: _,
            recursive,
            cte_tables,
        } = with;
        reject(*recursive, "WITH RECURSIVE")?;
        cte_tables.iter().map(|cte| self.cte(cte)).collect()
    }

    fn cte(&mut self, cte: &ast::Cte) -> Result<bc::Cte> {
        let ast::Cte {
            alias,
            query,
            from,
            materialized,
            closing_paren_token: _,
        } = cte;
        reject(from.is_some(), "WITH … FROM")?;
        reject(materialized.is_some(), "WITH … AS [NOT] MATERIALIZED")?;
        let bc::TableAlias { name, columns } = table_alias::<Self>(alias)?;
        Ok(bc::Cte {
            name,
            columns,
            query: self.query(query)?,
        })
    }

    /// Lowers the body of a query.
    fn set_expr(&mut self, body: &ast::SetExpr) -> Result<bc::SetExpr> {
        self.nested(|l| l.set_expr_inner(body))
    }

    fn set_expr_inner(&mut self, body: &ast::SetExpr) -> Result<bc::SetExpr> {
        use ast::SetExpr as S;
        match body {
            S::Select(select) => Ok(bc::SetExpr::Select(Box::new(self.select(select)?))),
            S::Query(query) => Ok(bc::SetExpr::Query(Box::new(self.query(query)?))),
            S::SetOperation {
                left,
                op,
                set_quantifier,
                right,
            } => {
                let op = match op {
                    ast::SetOperator::Union => bc::SetOperator::Union,
                    ast::SetOperator::Intersect => bc::SetOperator::Intersect,
                    ast::SetOperator::Except => bc::SetOperator::Except,
                    ast::SetOperator::Minus => return Err(unsupported("MINUS")),
                };
                let all = match set_quantifier {
                    ast::SetQuantifier::All => true,
                    ast::SetQuantifier::Distinct | ast::SetQuantifier::None => false,
                    other => return Err(unsupported(format!("{op:?} {other}"))),
                };
                Ok(bc::SetExpr::SetOp {
                    op,
                    all,
                    left: Box::new(self.set_expr(left)?),
                    right: Box::new(self.set_expr(right)?),
                })
            }
            S::Values(values) => Ok(bc::SetExpr::Values(self.values(values, false)?)),
            S::Table(table) => {
                let ast::Table {
                    table_name,
                    schema_name,
                } = table.as_ref();
                let Some(table_name) = table_name else {
                    return Err(unsupported("TABLE without a name"));
                };
                let mut name: bc::ObjectName = schema_name.iter().map(Self::ident).collect();
                name.push(Self::ident(table_name));
                Ok(bc::SetExpr::Select(Box::new(bc::Select {
                    distinct: false,
                    projection: vec![bc::SelectItem::Wildcard],
                    from: vec![bc::FromItem::Table { name, alias: None }],
                    filter: None,
                    group_by: Vec::new(),
                    having: None,
                })))
            }
            S::Insert(_) | S::Update(_) | S::Delete(_) | S::Merge(_) => Err(unsupported(
                "data-modifying statements in WITH or subqueries",
            )),
        }
    }

    /// Lowers `VALUES` rows; `allow_default` admits `DEFAULT` entries (in `INSERT`).
    fn values(&mut self, values: &ast::Values, allow_default: bool) -> Result<Vec<Vec<bc::Expr>>> {
        let ast::Values {
            explicit_row,
            value_keyword: _,
            rows,
        } = values;
        reject(*explicit_row, "VALUES ROW(…)")?;
        rows.iter()
            .map(|row| {
                row.content
                    .iter()
                    .map(|e| {
                        if allow_default {
                            self.value_or_default(e)
                        } else {
                            self.expr(e)
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn select(&mut self, select: &ast::Select) -> Result<bc::Select> {
        let ast::Select {
            select_token: _,
            optimizer_hints,
            distinct,
            select_modifiers,
            top,
            top_before_distinct: _,
            projection,
            exclude,
            into,
            from,
            lateral_views,
            prewhere,
            selection,
            connect_by,
            group_by,
            cluster_by,
            distribute_by,
            sort_by,
            having,
            named_window,
            qualify,
            window_before_qualify: _,
            value_table_mode,
            flavor,
        } = select;
        reject(!optimizer_hints.is_empty(), "optimizer hints")?;
        reject(select_modifiers.is_some(), "SELECT modifiers")?;
        reject(top.is_some(), "TOP")?;
        reject(exclude.is_some(), "EXCLUDE")?;
        reject(into.is_some(), "SELECT INTO")?;
        reject(!lateral_views.is_empty(), "LATERAL VIEW")?;
        reject(prewhere.is_some(), "PREWHERE")?;
        reject(!connect_by.is_empty(), "CONNECT BY")?;
        reject(!cluster_by.is_empty(), "CLUSTER BY")?;
        reject(!distribute_by.is_empty(), "DISTRIBUTE BY")?;
        reject(!sort_by.is_empty(), "SORT BY")?;
        reject(!named_window.is_empty(), "WINDOW")?;
        reject(qualify.is_some(), "QUALIFY")?;
        reject(value_table_mode.is_some(), "SELECT AS VALUE/STRUCT")?;
        reject(
            !matches!(flavor, ast::SelectFlavor::Standard),
            "FROM-first SELECT",
        )?;
        let distinct = match distinct {
            None | Some(ast::Distinct::All) => false,
            Some(ast::Distinct::Distinct) => true,
            Some(ast::Distinct::On(_)) => return Err(unsupported("SELECT DISTINCT ON")),
        };
        let projection = self.select_items(projection)?;
        let from = from
            .iter()
            .map(|t| self.table_with_joins(t))
            .collect::<Result<Vec<_>>>()?;
        let filter = selection.as_ref().map(|e| self.expr(e)).transpose()?;
        let group_by = match group_by {
            ast::GroupByExpr::Expressions(exprs, modifiers) => {
                reject(!modifiers.is_empty(), "GROUP BY modifiers")?;
                exprs
                    .iter()
                    .map(|e| self.expr(e))
                    .collect::<Result<Vec<_>>>()?
            }
            ast::GroupByExpr::All(_) => return Err(unsupported("GROUP BY ALL")),
        };
        let having = having.as_ref().map(|e| self.expr(e)).transpose()?;
        Ok(bc::Select {
            distinct,
            projection,
            from,
            filter,
            group_by,
            having,
        })
    }

    /// Lowers a select list (also used by `RETURNING`).
    fn select_items(&mut self, items: &[ast::SelectItem]) -> Result<Vec<bc::SelectItem>> {
        items.iter().map(|item| self.select_item(item)).collect()
    }

    fn select_item(&mut self, item: &ast::SelectItem) -> Result<bc::SelectItem> {
        use ast::SelectItem as S;
        match item {
            S::UnnamedExpr(expr) => Ok(bc::SelectItem::Expr {
                expr: self.expr(expr)?,
                alias: Self::unaliased_column_name(expr),
            }),
            S::ExprWithAlias { expr, alias } => Ok(bc::SelectItem::Expr {
                expr: self.expr(expr)?,
                alias: Some(Self::ident(alias)),
            }),
            S::ExprWithAliases { .. } => Err(unsupported("multiple aliases for one expression")),
            S::Wildcard(options) => {
                wildcard_options(options)?;
                Ok(bc::SelectItem::Wildcard)
            }
            S::QualifiedWildcard(kind, options) => {
                wildcard_options(options)?;
                match kind {
                    ast::SelectItemQualifiedWildcardKind::ObjectName(name) => {
                        Ok(bc::SelectItem::QualifiedWildcard(Self::object_name(name)?))
                    }
                    ast::SelectItemQualifiedWildcardKind::Expr(_) => {
                        Err(unsupported("expression.*"))
                    }
                }
            }
        }
    }

    fn table_with_joins(&mut self, table: &ast::TableWithJoins) -> Result<bc::FromItem> {
        let ast::TableWithJoins { relation, joins } = table;
        let mut item = self.table_factor(relation)?;
        for join in joins {
            let ast::Join {
                relation,
                global,
                join_operator,
            } = join;
            reject(*global, "GLOBAL JOIN")?;
            use ast::JoinOperator as J;
            let (kind, constraint) = match join_operator {
                J::Join(c) | J::Inner(c) => (bc::JoinKind::Inner, c),
                J::Left(c) | J::LeftOuter(c) => (bc::JoinKind::Left, c),
                J::Right(c) | J::RightOuter(c) => (bc::JoinKind::Right, c),
                J::FullOuter(c) => (bc::JoinKind::Full, c),
                J::CrossJoin(c) => (bc::JoinKind::Cross, c),
                other => {
                    let text = other_join_name(other);
                    return Err(unsupported(text));
                }
            };
            let constraint = self.join_constraint(constraint)?;
            match (kind, &constraint) {
                (bc::JoinKind::Cross, bc::JoinConstraint::None) => {}
                (bc::JoinKind::Cross, _) => {
                    return Err(CompileError::syntax(
                        "CROSS JOIN cannot have an ON, USING or NATURAL clause",
                    ))
                }
                (_, bc::JoinConstraint::None) => {
                    return Err(CompileError::syntax(
                        "JOIN requires an ON, USING or NATURAL clause",
                    ))
                }
                _ => {}
            }
            let right = self.table_factor(relation)?;
            item = bc::FromItem::Join {
                left: Box::new(item),
                right: Box::new(right),
                kind,
                constraint,
            };
        }
        Ok(item)
    }

    fn join_constraint(&mut self, constraint: &ast::JoinConstraint) -> Result<bc::JoinConstraint> {
        Ok(match constraint {
            ast::JoinConstraint::On(e) => bc::JoinConstraint::On(self.expr(e)?),
            ast::JoinConstraint::Using(names) => bc::JoinConstraint::Using(
                names
                    .iter()
                    .map(|n| Self::single_ident(n, "USING column"))
                    .collect::<Result<_>>()?,
            ),
            ast::JoinConstraint::UsingAlias(..) => {
                return Err(unsupported("JOIN … USING (…) AS alias"))
            }
            ast::JoinConstraint::Natural => bc::JoinConstraint::Natural,
            ast::JoinConstraint::None => bc::JoinConstraint::None,
        })
    }

    fn table_factor(&mut self, factor: &ast::TableFactor) -> Result<bc::FromItem> {
        self.nested(|l| l.table_factor_inner(factor))
    }

    fn table_factor_inner(&mut self, factor: &ast::TableFactor) -> Result<bc::FromItem> {
        use ast::TableFactor as T;
        match factor {
            T::Table {
                name,
                alias,
                args,
                with_hints,
                version,
                with_ordinality,
                partitions,
                json_path,
                sample,
                index_directives,
                inheritance: _, // no table inheritance: `ONLY t` and `t *` are `t`
            } => {
                reject(!with_hints.is_empty(), "table hints")?;
                reject(version.is_some(), "time travel")?;
                reject(*with_ordinality, "WITH ORDINALITY")?;
                reject(!partitions.is_empty(), "PARTITION selection")?;
                reject(json_path.is_some(), "JSON paths in FROM")?;
                reject(sample.is_some(), "TABLESAMPLE")?;
                reject(!index_directives.is_empty(), "index hints")?;
                if let Some(args) = args {
                    return self.table_function(name, args, alias.as_ref());
                }
                Ok(bc::FromItem::Table {
                    name: Self::object_name(name)?,
                    alias: alias.as_ref().map(table_alias::<Self>).transpose()?,
                })
            }
            T::Derived {
                lateral,
                subquery,
                alias,
                sample,
            } => {
                reject(*lateral, "LATERAL")?;
                reject(sample.is_some(), "TABLESAMPLE")?;
                Ok(bc::FromItem::Subquery {
                    query: Box::new(self.query(subquery)?),
                    alias: alias.as_ref().map(table_alias::<Self>).transpose()?,
                })
            }
            T::NestedJoin {
                table_with_joins,
                alias,
            } => {
                reject(alias.is_some(), "an alias on a parenthesized join")?;
                self.table_with_joins(table_with_joins)
            }
            T::UNNEST {
                alias,
                array_exprs,
                with_offset,
                with_offset_alias,
                with_ordinality,
            } => {
                reject(*with_offset || with_offset_alias.is_some(), "WITH OFFSET")?;
                reject(*with_ordinality, "WITH ORDINALITY")?;
                let [array] = array_exprs.as_slice() else {
                    return Err(unsupported("unnest of several arrays"));
                };
                Ok(bc::FromItem::Function {
                    function: bc::Function {
                        namespace: "std".into(),
                        name: "unnest".into(),
                        args: vec![self.expr(array)?],
                        distinct: false,
                        star: false,
                    },
                    alias: alias.as_ref().map(table_alias::<Self>).transpose()?,
                })
            }
            T::Function { .. } | T::TableFunction { .. } => {
                Err(unsupported("set-returning functions in FROM"))
            }
            _ => Err(unsupported("this FROM item")),
        }
    }

    /// `f(args) [AS alias[(columns)]]` in FROM: a set-returning function.
    fn table_function(
        &mut self,
        name: &ast::ObjectName,
        args: &ast::TableFunctionArgs,
        alias: Option<&ast::TableAlias>,
    ) -> Result<bc::FromItem> {
        let ast::TableFunctionArgs { args, settings } = args;
        reject(settings.is_some(), "SETTINGS")?;
        let call = ast::Function {
            name: name.clone(),
            uses_odbc_syntax: false,
            parameters: ast::FunctionArguments::None,
            args: ast::FunctionArguments::List(ast::FunctionArgumentList {
                duplicate_treatment: None,
                args: args.clone(),
                clauses: vec![],
            }),
            filter: None,
            null_treatment: None,
            over: None,
            within_group: vec![],
        };
        let bc::Expr::Function(function) = self.function(&call)? else {
            return Err(unsupported(format!("{name} in FROM")));
        };
        if function.star || function.distinct {
            return Err(unsupported(format!("{name}(…) with * or DISTINCT in FROM")));
        }
        Ok(bc::FromItem::Function {
            function,
            alias: alias.map(table_alias::<Self>).transpose()?,
        })
    }

    fn order_by(&mut self, order_by: &ast::OrderBy) -> Result<Vec<bc::OrderItem>> {
        let ast::OrderBy { kind, interpolate } = order_by;
        reject(interpolate.is_some(), "INTERPOLATE")?;
        match kind {
            ast::OrderByKind::Expressions(items) => {
                items.iter().map(|item| self.order_item(item)).collect()
            }
            ast::OrderByKind::All(_) => Err(unsupported("ORDER BY ALL")),
        }
    }

    /// Lowers one `ORDER BY` item.
    fn order_item(&mut self, item: &ast::OrderByExpr) -> Result<bc::OrderItem> {
        let ast::OrderByExpr {
            expr,
            options,
            with_fill,
        } = item;
        reject(with_fill.is_some(), "WITH FILL")?;
        let (desc, nulls_first) = order_options(options)?;
        Ok(bc::OrderItem {
            expr: self.expr(expr)?,
            desc,
            nulls_first,
        })
    }

    fn limit_clause(
        &mut self,
        clause: &ast::LimitClause,
    ) -> Result<(Option<bc::Expr>, Option<bc::Expr>)> {
        match clause {
            ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            } => {
                reject(!limit_by.is_empty(), "LIMIT BY")?;
                let limit = limit.as_ref().map(|e| self.expr(e)).transpose()?;
                let offset = match offset {
                    Some(ast::Offset { value, rows: _ }) => Some(self.expr(value)?),
                    None => None,
                };
                Ok((limit, offset))
            }
            ast::LimitClause::OffsetCommaLimit { offset, limit } => {
                self.offset_comma_limit(offset, limit)
            }
        }
    }

    fn fetch(&mut self, fetch: &ast::Fetch) -> Result<bc::Expr> {
        let ast::Fetch {
            with_ties,
            percent,
            quantity,
        } = fetch;
        reject(*with_ties, "FETCH … WITH TIES")?;
        reject(*percent, "FETCH … PERCENT")?;
        match quantity {
            Some(q) => self.expr(q),
            None => Ok(bc::Expr::Literal(bc::Literal::Integer(1))),
        }
    }
}

/// `ASC`/`DESC` and `NULLS FIRST/LAST` of an ordering.
pub fn order_options(options: &ast::OrderByOptions) -> Result<(bool, Option<bool>)> {
    let ast::OrderByOptions { sort, nulls_first } = options;
    let desc = match sort {
        None | Some(ast::OrderBySort::Asc) => false,
        Some(ast::OrderBySort::Desc) => true,
        Some(ast::OrderBySort::Using(_)) => return Err(unsupported("ORDER BY … USING operator")),
    };
    Ok((desc, *nulls_first))
}

/// `AS name [(columns)]` of a table or CTE.
fn table_alias<D: DialectLowering>(alias: &ast::TableAlias) -> Result<bc::TableAlias> {
    let ast::TableAlias {
        explicit: _,
        name,
        columns,
        at,
    } = alias;
    reject(at.is_some(), "AT in a table alias")?;
    let columns = columns
        .iter()
        .map(|c| {
            let ast::TableAliasColumnDef { name, data_type } = c;
            reject(data_type.is_some(), "column types in a table alias")?;
            Ok(D::ident(name))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(bc::TableAlias {
        name: D::ident(name),
        columns,
    })
}

/// Refuses the non-PostgreSQL decorations of `*`.
fn wildcard_options(options: &ast::WildcardAdditionalOptions) -> Result<()> {
    let ast::WildcardAdditionalOptions {
        wildcard_token: _,
        opt_ilike,
        opt_exclude,
        opt_except,
        opt_replace,
        opt_rename,
        opt_alias,
    } = options;
    reject(
        opt_ilike.is_some()
            || opt_exclude.is_some()
            || opt_except.is_some()
            || opt_replace.is_some()
            || opt_rename.is_some()
            || opt_alias.is_some(),
        "options on *",
    )
}

fn other_join_name(join: &ast::JoinOperator) -> &'static str {
    use ast::JoinOperator as J;
    match join {
        J::Semi(_) | J::LeftSemi(_) | J::RightSemi(_) => "SEMI JOIN",
        J::Anti(_) | J::LeftAnti(_) | J::RightAnti(_) => "ANTI JOIN",
        J::CrossApply | J::OuterApply => "APPLY",
        J::AsOf { .. } => "ASOF JOIN",
        J::StraightJoin(_) => "STRAIGHT_JOIN",
        _ => "this kind of join",
    }
}

impl<T: DialectLowering> LowerQuery for T {}
