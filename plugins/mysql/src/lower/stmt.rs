//! Statement dispatch, and the statements that are neither queries, DML nor DDL:
//! transactions, `EXPLAIN`, SQL-level `PREPARE`/`EXECUTE`/`DEALLOCATE`, `SET`, `SHOW`.

use rosetta_bytecode as bc;
use rosetta_sql_lower::stmt::{session_characteristics, transaction_mode};
use rosetta_sql_lower::{LowerExpr, LowerStatement};
use sqlparser::ast;

use super::{ident, is_word, reject, unsupported, Lowerer, Result};

impl Lowerer {
    /// Lowers the dialect-only statements (`None` for the shared ones).
    pub(crate) fn dialect_statement(
        &mut self,
        statement: &ast::Statement,
    ) -> Option<Result<bc::Statement>> {
        self.dialect_statement_inner(statement).transpose()
    }

    /// [`Self::dialect_statement`], with `Ok(None)` for the shared statements.
    fn dialect_statement_inner(
        &mut self,
        statement: &ast::Statement,
    ) -> Result<Option<bc::Statement>> {
        use ast::Statement as S;
        let lowered: Result<bc::Statement> = match statement {
            S::ShowTables {
                terse: _,
                history: _,
                extended,
                full,
                external,
                show_options,
            } => {
                reject(*extended || *external, "SHOW EXTENDED/EXTERNAL TABLES")?;
                let filter = show_filter(show_options, "table_name")?;
                let extra = if *full {
                    ", table_type AS `Table_type`"
                } else {
                    ""
                };
                // The gateway names the column after the session's database.
                self.rewrite(&format!(
                    "SELECT table_name AS `{TABLES_IN}`{extra} \
                     FROM information_schema.tables WHERE table_schema = 'public'{filter} \
                     ORDER BY table_name"
                ))
            }
            S::ShowDatabases {
                terse: _,
                history: _,
                show_options,
            }
            | S::ShowSchemas {
                terse: _,
                history: _,
                show_options,
            } => {
                let filter = show_filter(show_options, "datname")?;
                self.rewrite(&format!(
                    "SELECT datname AS `Database` FROM pg_catalog.pg_database \
                     WHERE TRUE{filter} ORDER BY datname"
                ))
            }
            S::ShowColumns {
                extended,
                full,
                show_options,
            } => {
                reject(*extended, "SHOW EXTENDED COLUMNS")?;
                reject(*full, "SHOW FULL COLUMNS")?;
                let Some(table) = show_options
                    .show_in
                    .as_ref()
                    .and_then(|i| i.parent_name.as_ref())
                else {
                    return Err(unsupported("SHOW COLUMNS without FROM table"));
                };
                let filter = show_filter(
                    &ast::ShowStatementOptions {
                        show_in: None,
                        ..show_options.clone()
                    },
                    "column_name",
                )?;
                self.describe_table(table, &filter)
            }
            S::ExplainTable {
                describe_alias: _,
                hive_format,
                has_table_keyword: _,
                table_name,
            } => {
                reject(hive_format.is_some(), "DESCRIBE FORMATTED/EXTENDED")?;
                self.describe_table(table_name, "")
            }
            S::ShowVariables {
                filter,
                global,
                session: _,
            } => {
                reject(*global, "SHOW GLOBAL VARIABLES")?;
                let names = SYSTEM_VARIABLES
                    .iter()
                    .map(|n| format!("('{n}')"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let filter = match filter {
                    None => String::new(),
                    Some(ast::ShowStatementFilter::Like(p)) => {
                        format!(" WHERE v.`Variable_name` LIKE {}", quote(p))
                    }
                    Some(_) => return Err(unsupported("SHOW VARIABLES WHERE")),
                };
                self.rewrite(&format!(
                    "SELECT v.`Variable_name`, mysql.variable(v.`Variable_name`) AS `Value` \
                     FROM (VALUES {names}) AS v(`Variable_name`){filter} \
                     ORDER BY v.`Variable_name`"
                ))
            }
            S::ShowCreate { obj_type, obj_name } => match obj_type {
                ast::ShowCreateObject::Table => self.show_create_table(obj_name),
                other => Err(unsupported(format!("SHOW CREATE {other}"))),
            },
            S::Kill { modifier, id } => {
                let query_only = match modifier {
                    None | Some(ast::KillType::Connection) => false,
                    Some(ast::KillType::Query) => true,
                    Some(ast::KillType::Mutation) => return Err(unsupported("KILL MUTATION")),
                };
                let session_id = u32::try_from(*id)
                    .map_err(|_| unsupported("a connection id above 4294967295"))?;
                Ok(bc::Statement::Kill {
                    session_id,
                    query_only,
                })
            }
            S::Use(_) => Err(unsupported(
                "USE in this form (send `USE db` alone, or COM_INIT_DB)",
            )),
            _ => return Ok(None),
        };
        lowered.map(Some)
    }

    /// Lowers the `SET` family.
    pub(crate) fn set(&mut self, set: &ast::Set) -> Result<bc::Statement> {
        use ast::Set as S;
        match set {
            S::SingleAssignment {
                scope,
                hivevar,
                variable,
                values,
            } => {
                reject(*hivevar, "SET HIVEVAR")?;
                let local = match scope {
                    None | Some(ast::ContextModifier::Session) => false,
                    Some(ast::ContextModifier::Local) => true,
                    Some(ast::ContextModifier::Global) => return Err(unsupported("SET GLOBAL")),
                };
                let name = variable
                    .0
                    .iter()
                    .map(|part| match part {
                        ast::ObjectNamePart::Identifier(id) => Ok(ident(id).value),
                        ast::ObjectNamePart::Function(_) => {
                            Err(unsupported("a function call as a setting name"))
                        }
                    })
                    .collect::<Result<Vec<_>>>()?;
                // `@@session.x`, `@@x`, `SESSION x` all name the session variable `x`.
                let name = match name.as_slice() {
                    [scope, rest @ ..]
                        if !rest.is_empty()
                            && ["@@session", "@@local"]
                                .contains(&scope.to_ascii_lowercase().as_str()) =>
                    {
                        rest.join(".")
                    }
                    [scope, ..] if scope.eq_ignore_ascii_case("@@global") => {
                        return Err(unsupported("SET GLOBAL"))
                    }
                    parts => parts.join("."),
                };
                let name = name.trim_start_matches("@@").to_ascii_lowercase();
                if name.starts_with('@') {
                    return Err(unsupported("user variables (@name)"));
                }
                let values = values
                    .iter()
                    .map(|v| self.setting_value(v))
                    .collect::<Result<Vec<_>>>()?;
                Ok(bc::Statement::SetVariable {
                    name,
                    values,
                    local,
                })
            }
            S::SetTimeZone { local, value } => Ok(bc::Statement::SetVariable {
                name: "timezone".into(),
                values: vec![match value {
                    ast::Expr::Identifier(id) if is_word(id, "local") => bc::Expr::Default,
                    other => self.setting_value(other)?,
                }],
                local: *local,
            }),
            S::SetNames {
                charset_name,
                collation_name,
            } => {
                // Rosetta stores and sends UTF-8 only; a collation other than a UTF-8
                // one is refused (comparisons are by code point whatever is named).
                let utf8 = |name: &str| name.to_ascii_lowercase().starts_with("utf8");
                reject(
                    !utf8(&charset_name.value),
                    "a character set other than utf8mb4",
                )?;
                reject(
                    collation_name.as_deref().is_some_and(|c| !utf8(c)),
                    "a collation other than a utf8mb4 one",
                )?;
                Ok(bc::Statement::SetVariable {
                    name: "character_set_client".into(),
                    values: vec![bc::Expr::Literal(bc::Literal::String(
                        charset_name.value.clone(),
                    ))],
                    local: false,
                })
            }
            S::SetTransaction {
                modes,
                snapshot,
                session,
            } => {
                reject(snapshot.is_some(), "SET TRANSACTION SNAPSHOT")?;
                if *session {
                    session_characteristics(modes)
                } else {
                    Ok(bc::Statement::SetTransaction(transaction_mode(modes)?))
                }
            }
            S::SetNamesDefault {} => Err(unsupported("SET NAMES DEFAULT")),
            S::SetRole { .. } => Err(unsupported("SET ROLE")),
            S::SetSessionAuthorization(_) => Err(unsupported("SET SESSION AUTHORIZATION")),
            S::SetSessionParam(_) => Err(unsupported("this SET statement")),
            S::ParenthesizedAssignments { .. } | S::MultipleAssignments { .. } => {
                Err(unsupported("SET of several variables at once"))
            }
        }
    }

    /// Compiles a MySQL statement written by the plugin itself (the query a `SHOW` or
    /// `DESCRIBE` stands for) in place of the client's statement.
    fn rewrite(&mut self, sql: &str) -> Result<bc::Statement> {
        let statements = crate::parse::parse(sql)?;
        let [statement] = statements.as_slice() else {
            return Err(unsupported("this SHOW statement"));
        };
        self.nested(|l| l.statement(statement))
    }

    /// `SHOW CREATE TABLE t`: MySQL's two columns, the second a `CREATE TABLE` statement
    /// rebuilt from `information_schema.columns` (names, types, NOT NULL, DEFAULT,
    /// AUTO_INCREMENT) and `pg_catalog.pg_index` (PRIMARY KEY, UNIQUE KEY, KEY lines).
    fn show_create_table(&mut self, table: &ast::ObjectName) -> Result<bc::Statement> {
        let name = super::object_name(table)?;
        let [table] = name.as_slice() else {
            return Err(unsupported(
                "SHOW CREATE TABLE of a table in another database",
            ));
        };
        let matches = |column: &str| {
            if table.quoted {
                format!("{column} = {}", quote(&table.value))
            } else {
                format!("lower({column}) = lower({})", quote(&table.value))
            }
        };
        // A PostgreSQL-style default (`'x'::text`) without its cast.
        let default = "CASE WHEN strpos(column_default, '::') > 0 \
             THEN substr(column_default, 1, strpos(column_default, '::') - 1) \
             ELSE column_default END";
        let column_line = format!(
            "CONCAT('  `', column_name, '` ', column_type, \
             CASE WHEN is_nullable = 'NO' THEN ' NOT NULL' ELSE '' END, \
             CASE WHEN extra = 'auto_increment' THEN '' \
                  WHEN column_default IS NOT NULL THEN CONCAT(' DEFAULT ', {default}) \
                  WHEN is_nullable = 'YES' THEN ' DEFAULT NULL' ELSE '' END, \
             CASE WHEN extra = 'auto_increment' THEN ' AUTO_INCREMENT' ELSE '' END)"
        );
        // Index columns from `CREATE [UNIQUE] INDEX n ON t USING btree (a, b)`.
        let key_columns = "replace(replace(substr(d, strpos(d, ' (') + 2, \
             length(d) - strpos(d, ' (') - 2), ', ', '`,`'), '\"', '')";
        let key_line = "CONCAT(',\n  ', CASE WHEN k.p THEN 'PRIMARY KEY (`' \
                 WHEN k.u THEN CONCAT('UNIQUE KEY `', k.n, '` (`') \
                 ELSE CONCAT('KEY `', k.n, '` (`') END, k.cols, '`)')";
        let sql = format!(
            "SELECT t.table_name AS `Table`, CONCAT('CREATE TABLE `', t.table_name, '` (\n', \
               (SELECT string_agg(l, ',\n') FROM (SELECT {column_line} AS l \
                  FROM information_schema.columns \
                  WHERE table_schema = 'public' AND table_name = t.table_name \
                  ORDER BY ordinal_position) AS c), \
               COALESCE((SELECT string_agg(line, '') FROM (SELECT {key_line} AS line \
                  FROM (SELECT i.indisprimary AS p, i.indisunique AS u, ic.relname AS n, \
                          {key_columns} AS cols \
                        FROM (SELECT indexrelid, indrelid, indisprimary, indisunique, \
                                pg_get_indexdef(indexrelid) AS d FROM pg_catalog.pg_index) AS i \
                        JOIN pg_catalog.pg_class AS ic ON ic.oid = i.indexrelid \
                        JOIN pg_catalog.pg_class AS tc ON tc.oid = i.indrelid \
                        WHERE tc.relname = t.table_name) AS k \
                  ORDER BY k.p DESC, k.u DESC, k.n) AS kl), ''), \
               '\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4') AS `Create Table` \
             FROM information_schema.tables AS t \
             WHERE t.table_schema = 'public' AND {}",
            matches("t.table_name")
        );
        self.rewrite(&sql)
    }

    /// `DESCRIBE t` / `SHOW COLUMNS FROM t`: MySQL's six columns, from
    /// `information_schema.columns` (an unquoted name matches case-insensitively).
    fn describe_table(&mut self, table: &ast::ObjectName, filter: &str) -> Result<bc::Statement> {
        let name = super::object_name(table)?;
        let [table] = name.as_slice() else {
            return Err(unsupported("DESCRIBE of a table in another database"));
        };
        let matches = if table.quoted {
            format!("table_name = {}", quote(&table.value))
        } else {
            format!("lower(table_name) = lower({})", quote(&table.value))
        };
        self.rewrite(&format!(
            "SELECT column_name AS `Field`, column_type AS `Type`, is_nullable AS `Null`, \
             column_key AS `Key`, column_default AS `Default`, extra AS `Extra` \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND {matches}{filter} ORDER BY ordinal_position"
        ))
    }

    /// A `SET` value: bare words are strings (`SET x TO on`), `DEFAULT` is the default.
    fn setting_value(&mut self, value: &ast::Expr) -> Result<bc::Expr> {
        match value {
            ast::Expr::Identifier(id) if is_word(id, "default") => Ok(bc::Expr::Default),
            ast::Expr::Identifier(id) => {
                Ok(bc::Expr::Literal(bc::Literal::String(ident(id).value)))
            }
            other => self.expr(other),
        }
    }
}

/// The leading keywords of a statement (`CREATE VIEW`, `ALTER TABLE`, …) for messages.
pub(crate) fn statement_label(statement: &ast::Statement) -> String {
    let text = statement.to_string();
    let words: Vec<&str> = text
        .split_whitespace()
        .take(3)
        .take_while(|w| w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    if words.is_empty() {
        "this statement".into()
    } else {
        words.join(" ")
    }
}

/// The session variables `SHOW VARIABLES` lists (their values come from the engine's
/// `mysql.variable` function).
const SYSTEM_VARIABLES: &[&str] = &[
    "autocommit",
    "character_set_client",
    "character_set_connection",
    "character_set_database",
    "character_set_results",
    "character_set_server",
    "collation_connection",
    "collation_database",
    "collation_server",
    "lower_case_table_names",
    "max_allowed_packet",
    "sql_mode",
    "system_time_zone",
    "time_zone",
    "transaction_isolation",
    "tx_isolation",
    "version",
    "version_comment",
];

/// The column name `SHOW TABLES` gives its one column; the gateway, which knows the
/// session's database, shows it as MySQL does: `Tables_in_<database>`.
pub const TABLES_IN: &str = "Tables_in_@database";

/// A MySQL string literal holding `text`.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// The `LIKE 'pattern'` / `WHERE …` of a `SHOW` statement as an extra `AND` condition on
/// `column`; other options (`IN db`, `STARTS WITH`, `LIMIT`) are refused.
fn show_filter(options: &ast::ShowStatementOptions, column: &str) -> Result<String> {
    let ast::ShowStatementOptions {
        show_in,
        starts_with,
        limit,
        limit_from,
        filter_position,
    } = options;
    reject(show_in.is_some(), "SHOW … FROM/IN another database")?;
    reject(
        starts_with.is_some() || limit.is_some() || limit_from.is_some(),
        "SHOW … STARTS WITH/LIMIT",
    )?;
    let filter = match filter_position {
        None => return Ok(String::new()),
        Some(ast::ShowStatementFilterPosition::Infix(f))
        | Some(ast::ShowStatementFilterPosition::Suffix(f)) => f,
    };
    match filter {
        ast::ShowStatementFilter::Like(p) => Ok(format!(" AND {column} LIKE {}", quote(p))),
        _ => Err(unsupported("this SHOW filter")),
    }
}
