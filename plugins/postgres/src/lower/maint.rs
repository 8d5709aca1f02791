//! Table maintenance and bulk loading: `TRUNCATE`, `VACUUM`, `ANALYZE`,
//! `ALTER TABLE … ADD PRIMARY KEY` and `COPY … FROM STDIN`.

use rosetta_bytecode::{self as bc, CompileError};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::{ident, idents, object_name, reject, unsupported, Lowerer, Result};

impl Lowerer {
    /// `TRUNCATE [TABLE] [ONLY] name [, …] [CONTINUE IDENTITY] [RESTRICT]`.
    pub(crate) fn truncate(&mut self, truncate: &ast::Truncate) -> Result<bc::Statement> {
        let ast::Truncate {
            table_names,
            partitions,
            table: _,
            if_exists,
            identity,
            cascade,
            on_cluster,
        } = truncate;
        reject(partitions.is_some(), "TRUNCATE … PARTITION")?;
        reject(*if_exists, "TRUNCATE IF EXISTS")?;
        reject(on_cluster.is_some(), "ON CLUSTER")?;
        reject(
            matches!(identity, Some(ast::TruncateIdentityOption::Restart)),
            "TRUNCATE … RESTART IDENTITY",
        )?;
        reject(
            matches!(cascade, Some(ast::CascadeOption::Cascade)),
            "TRUNCATE … CASCADE",
        )?;
        let names = table_names
            .iter()
            .map(|t| {
                let ast::TruncateTableTarget {
                    name,
                    only: _,
                    has_asterisk: _,
                } = t;
                object_name(name)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(bc::Statement::Truncate { names })
    }

    /// `ANALYZE [name]`.
    pub(crate) fn analyze(&mut self, analyze: &ast::Analyze) -> Result<bc::Statement> {
        let ast::Analyze {
            table_name,
            partitions,
            for_columns,
            columns,
            cache_metadata,
            noscan,
            compute_statistics,
            has_table_keyword,
        } = analyze;
        reject(partitions.is_some(), "ANALYZE … PARTITION")?;
        reject(*for_columns || !columns.is_empty(), "ANALYZE of columns")?;
        reject(
            *cache_metadata || *noscan || *compute_statistics || *has_table_keyword,
            "this ANALYZE syntax",
        )?;
        let names = table_name.iter().map(object_name).collect::<Result<_>>()?;
        Ok(bc::Statement::Maintain {
            vacuum: false,
            analyze: true,
            names,
        })
    }

    /// `ALTER TABLE name ADD [CONSTRAINT c] PRIMARY KEY (columns)`: the one `ALTER TABLE`
    /// form supported so far.
    pub(crate) fn alter_table(&mut self, alter: &ast::AlterTable) -> Result<bc::Statement> {
        let ast::AlterTable {
            name,
            if_exists,
            only: _,
            operations,
            location,
            on_cluster,
            table_type,
            end_token: _,
        } = alter;
        reject(*if_exists, "ALTER TABLE IF EXISTS")?;
        reject(location.is_some(), "ALTER TABLE … SET LOCATION")?;
        reject(on_cluster.is_some(), "ON CLUSTER")?;
        reject(table_type.is_some(), "this ALTER TABLE form")?;
        let [op] = operations.as_slice() else {
            return Err(unsupported(
                "ALTER TABLE with other than one ADD PRIMARY KEY",
            ));
        };
        match op {
            ast::AlterTableOperation::AddConstraint {
                constraint: constraint @ ast::TableConstraint::PrimaryKey(_),
                not_valid,
            } => {
                reject(*not_valid, "NOT VALID")?;
                match rosetta_sql_lower::table_constraint::<Lowerer>(constraint)? {
                    bc::TableConstraint::PrimaryKey {
                        name: pk_name,
                        columns,
                    } => Ok(bc::Statement::AddPrimaryKey {
                        table: object_name(name)?,
                        name: pk_name,
                        columns,
                    }),
                    _ => Err(unsupported("this ALTER TABLE … ADD CONSTRAINT")),
                }
            }
            other => Err(unsupported(format!("ALTER TABLE … {other}"))),
        }
    }

    /// `COPY table [(columns)] FROM STDIN [WITH (FORMAT text|csv, DELIMITER, NULL,
    /// HEADER)]`.
    pub(crate) fn copy(&mut self, statement: &ast::Statement) -> Result<bc::Statement> {
        let ast::Statement::Copy {
            source,
            to,
            target,
            options,
            legacy_options,
            payload,
        } = statement
        else {
            return Err(unsupported("this COPY form"));
        };
        reject(*to, "COPY … TO")?;
        reject(
            !matches!(target, ast::CopyTarget::Stdin),
            "COPY FROM a file or program",
        )?;
        reject(payload.is_some(), "COPY with inline data")?;
        let ast::CopySource::Table {
            table_name,
            columns,
        } = source
        else {
            return Err(unsupported("COPY (query)"));
        };
        let mut csv = false;
        let mut delimiter = None;
        let mut null = None;
        let mut header = false;
        for option in options {
            match option {
                ast::CopyOption::Format(f) if f.value.eq_ignore_ascii_case("text") => csv = false,
                ast::CopyOption::Format(f) if f.value.eq_ignore_ascii_case("csv") => csv = true,
                ast::CopyOption::Delimiter(c) => delimiter = Some(*c),
                ast::CopyOption::Null(s) => null = Some(s.clone()),
                ast::CopyOption::Header(h) => header = *h,
                // FREEZE loads rows already frozen (visible to all); every committed
                // COPY is, here, once its transaction commits.
                ast::CopyOption::Freeze(_) => {}
                other => return Err(unsupported(format!("COPY option {other}"))),
            }
        }
        for option in legacy_options {
            match option {
                ast::CopyLegacyOption::Delimiter(c) => delimiter = Some(*c),
                ast::CopyLegacyOption::Null(s) => null = Some(s.clone()),
                ast::CopyLegacyOption::Csv(opts) if opts.is_empty() => csv = true,
                other => return Err(unsupported(format!("COPY option {other}"))),
            }
        }
        if header && !csv {
            return Err(CompileError {
                sqlstate: "0A000".into(),
                message: "COPY HEADER available only in CSV mode".into(),
                position: None,
            });
        }
        let delimiter = delimiter.unwrap_or(if csv { ',' } else { '\t' });
        if delimiter == '\n' || delimiter == '\r' || delimiter == '\\' || !delimiter.is_ascii() {
            return Err(CompileError {
                sqlstate: "22023".into(),
                message: "COPY delimiter must be a single one-byte character other than newline, carriage return or backslash".into(),
                position: None,
            });
        }
        Ok(bc::Statement::CopyFrom(Box::new(bc::CopyFrom {
            table: object_name(table_name)?,
            columns: idents(columns),
            csv,
            delimiter,
            null: null.unwrap_or_else(|| if csv { String::new() } else { "\\N".into() }),
            header,
        })))
    }
}

/// True when `sql` is a `VACUUM` statement (which `sqlparser` parses only in Redshift's
/// syntax): the plugin lowers it with [`vacuum`] instead.
pub(crate) fn is_vacuum(sql: &str) -> bool {
    let word: String = sql
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphabetic())
        .collect();
    word.eq_ignore_ascii_case("vacuum")
}

/// Lowers PostgreSQL's `VACUUM [FULL] [FREEZE] [VERBOSE] [ANALYZE] [name [, …]]` (one
/// statement). FULL, FREEZE and VERBOSE change nothing for an LSM store: the engine's
/// VACUUM always compacts everything. The parenthesized option list is refused.
pub(crate) fn vacuum(sql: &str) -> Result<bc::Statement> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize()
        .map_err(|e| CompileError::syntax(e.message.to_lowercase()))?;
    let mut tokens = tokens
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .peekable();
    let mut analyze = false;
    let mut names: Vec<bc::ObjectName> = Vec::new();
    let mut expect_name = false;
    let mut first = true;
    let mut name: Vec<bc::Ident> = Vec::new();
    while let Some(t) = tokens.next() {
        match t {
            Token::Word(w) if first => {
                first = false;
                if w.keyword != Keyword::VACUUM {
                    return Err(CompileError::syntax("expected VACUUM"));
                }
            }
            Token::Word(w)
                if names.is_empty()
                    && name.is_empty()
                    && !expect_name
                    && w.quote_style.is_none()
                    && matches!(
                        w.keyword,
                        Keyword::FULL | Keyword::FREEZE | Keyword::VERBOSE | Keyword::ANALYZE
                    ) =>
            {
                analyze |= w.keyword == Keyword::ANALYZE;
            }
            Token::Word(w) if name.is_empty() || expect_name => {
                name.push(ident(&w.to_ident(sqlparser::tokenizer::Span::empty())));
                expect_name = false;
            }
            Token::Period if !name.is_empty() && !expect_name => expect_name = true,
            Token::Comma if !name.is_empty() && !expect_name => {
                names.push(std::mem::take(&mut name));
            }
            Token::SemiColon => {
                if tokens.next().is_some() {
                    return Err(unsupported("VACUUM followed by other statements"));
                }
            }
            Token::LParen => return Err(unsupported("VACUUM (options)")),
            other => {
                return Err(CompileError::syntax(format!(
                    "syntax error at or near \"{other}\""
                )))
            }
        }
    }
    if expect_name {
        return Err(CompileError::syntax("syntax error at end of input"));
    }
    if !name.is_empty() {
        names.push(name);
    }
    Ok(bc::Statement::Maintain {
        vacuum: true,
        analyze,
        names,
    })
}
