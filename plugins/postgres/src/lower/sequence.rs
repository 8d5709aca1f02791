//! Sequences, PostgreSQL's way: `CREATE SEQUENCE`, `DROP SEQUENCE`, `ALTER SEQUENCE`
//! (which `sqlparser` does not parse: it is read from the tokens here), the
//! `nextval`/`currval`/`setval` calls and `SERIAL` columns.
//!
//! A `SERIAL` column becomes an integer column whose DEFAULT is `NEXT VALUE FOR
//! <table>_<column>_seq`; the engine creates that sequence with the table, owned by the
//! column (and drops it with the table).

use std::ops::ControlFlow;

use rosetta_bytecode::{self as bc, CompileError};
use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, Tokenizer};

use super::{ident, object_name, reject, unsupported, Result};

/// The serial pseudo-types and the integer type each stands for.
const SERIALS: &[(&str, bc::DataType)] = &[
    ("serial", bc::DataType::Integer),
    ("serial4", bc::DataType::Integer),
    ("bigserial", bc::DataType::BigInt),
    ("serial8", bc::DataType::BigInt),
    ("smallserial", bc::DataType::SmallInt),
    ("serial2", bc::DataType::SmallInt),
];

/// The integer type of a serial pseudo-type name (`None` for any other type).
pub(crate) fn serial_type(data_type: &ast::DataType) -> Option<bc::DataType> {
    let ast::DataType::Custom(name, modifiers) = data_type else {
        return None;
    };
    if !modifiers.is_empty() {
        return None;
    }
    let parts = object_name(name).ok()?;
    let [last] = parts.as_slice() else {
        return None;
    };
    SERIALS
        .iter()
        .find(|(n, _)| !last.quoted && *n == last.value)
        .map(|(_, t)| *t)
}

/// Gives the SERIAL columns of a lowered `CREATE TABLE` their sequence default.
pub(crate) fn apply_serials(create: &ast::CreateTable, lowered: &mut bc::Statement) -> Result<()> {
    let bc::Statement::CreateTable(table) = lowered else {
        return Ok(());
    };
    let Some(table_name) = table.name.last().map(|n| n.value.clone()) else {
        return Ok(());
    };
    for (def, column) in create.columns.iter().zip(table.columns.iter_mut()) {
        if serial_type(&def.data_type).is_none() {
            continue;
        }
        if column.default.is_some() {
            return Err(CompileError::syntax(format!(
                "multiple default values specified for column \"{}\" of table \"{table_name}\"",
                column.name.value
            )));
        }
        column.default = Some(bc::Expr::NextValue {
            sequence: vec![bc::Ident::quoted(format!(
                "{table_name}_{}_seq",
                column.name.value
            ))],
            step: None,
        });
        column.not_null = true;
    }
    Ok(())
}

/// An integer constant of a sequence option (`5`, `-5`).
fn integer(expr: &ast::Expr, what: &str) -> Result<i64> {
    let (negative, inner) = match expr {
        ast::Expr::UnaryOp {
            op: ast::UnaryOperator::Minus,
            expr,
        } => (true, expr.as_ref()),
        other => (false, other),
    };
    let text = match inner {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.clone(),
            _ => return Err(unsupported(format!("{what} {expr}"))),
        },
        _ => return Err(unsupported(format!("{what} {expr}"))),
    };
    let text = if negative { format!("-{text}") } else { text };
    text.parse::<i64>()
        .map_err(|_| CompileError::syntax(format!("{what} must be an integer: {text}")))
}

/// `CREATE SEQUENCE [IF NOT EXISTS] name [AS bigint] [INCREMENT [BY] n] [START [WITH] n]
/// [NO MINVALUE] [NO MAXVALUE] [NO CYCLE] [CACHE n]`.
pub(crate) fn create_sequence(
    temporary: bool,
    if_not_exists: bool,
    name: &ast::ObjectName,
    options: &[ast::SequenceOptions],
) -> Result<bc::Statement> {
    reject(temporary, "CREATE TEMPORARY SEQUENCE")?;
    let mut first = None;
    let mut increment = 1i64;
    for option in options {
        use ast::SequenceOptions as O;
        match option {
            O::IncrementBy(e, _) => increment = integer(e, "INCREMENT")?,
            O::StartWith(e, _) => first = Some(integer(e, "START")?),
            O::DataType(ast::DataType::BigInt(None) | ast::DataType::Int8(None)) => {}
            // `Cycle(true)` is `NO CYCLE` (the flag says "NO" was written).
            O::MinValue(None) | O::MaxValue(None) | O::Cycle(true) => {}
            // The cache only changes which values a crash skips.
            O::Cache(e) => {
                integer(e, "CACHE")?;
            }
            other => return Err(unsupported(format!("sequence option{other}"))),
        }
    }
    if increment == 0 {
        return Err(CompileError {
            sqlstate: "22023".into(),
            message: "INCREMENT must not be zero".into(),
            position: None,
        });
    }
    // PostgreSQL's default start: MINVALUE (1) ascending, MAXVALUE (-1) descending.
    let first = first.unwrap_or(if increment > 0 { 1 } else { -1 });
    Ok(bc::Statement::CreateSequence(Box::new(
        bc::CreateSequence {
            name: object_name(name)?,
            if_not_exists,
            first,
            increment,
        },
    )))
}

/// `DROP SEQUENCE [IF EXISTS] names`.
pub(crate) fn drop_sequence(
    names: &[ast::ObjectName],
    if_exists: bool,
    cascade: bool,
) -> Result<bc::Statement> {
    reject(cascade, "DROP SEQUENCE … CASCADE")?;
    Ok(bc::Statement::DropSequence {
        names: names.iter().map(object_name).collect::<Result<_>>()?,
        if_exists,
    })
}

/// A sequence named by a string constant, as PostgreSQL reads a `regclass` literal:
/// dot-separated parts, each folded to lower case unless double-quoted.
fn regclass_name(text: &str) -> Result<bc::ObjectName> {
    let bad = || CompileError {
        sqlstate: "42602".into(),
        message: format!("invalid name syntax: \"{text}\""),
        position: None,
    };
    let mut parts = Vec::new();
    let mut rest = text.trim();
    loop {
        if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').ok_or_else(bad)?;
            parts.push(bc::Ident::quoted(&quoted[..end]));
            rest = &quoted[end + 1..];
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            let part = rest[..end].trim();
            if part.is_empty() {
                return Err(bad());
            }
            parts.push(bc::Ident::new(part.to_ascii_lowercase()));
            rest = &rest[end..];
        }
        match rest.strip_prefix('.') {
            Some(r) => rest = r,
            None if rest.trim().is_empty() => break,
            None => return Err(bad()),
        }
    }
    if parts.len() > 3 {
        return Err(bad());
    }
    Ok(parts)
}

/// `nextval('name')` and `currval('name')` (the current value without advancing, as
/// Firebird's `GEN_ID(g, 0)`); `setval` is left to the engine, which resolves its name.
pub(crate) fn call(
    fname: String,
    args: &ast::FunctionArguments,
) -> Result<ControlFlow<bc::Expr, String>> {
    let step = match fname.as_str() {
        "nextval" => None,
        "currval" => Some(Box::new(bc::Expr::Literal(bc::Literal::Integer(0)))),
        _ => return Ok(ControlFlow::Continue(fname)),
    };
    let name = match args {
        ast::FunctionArguments::List(list)
            if list.duplicate_treatment.is_none() && list.clauses.is_empty() =>
        {
            match list.args.as_slice() {
                [ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(e))] => string_literal(e),
                _ => None,
            }
        }
        _ => None,
    };
    let Some(name) = name else {
        return Err(unsupported(format!(
            "{fname}() with an argument other than a string constant"
        )));
    };
    Ok(ControlFlow::Break(bc::Expr::NextValue {
        sequence: regclass_name(&name)?,
        step,
    }))
}

/// The text of a string constant, also through a `::regclass` / `::text` cast.
fn string_literal(e: &ast::Expr) -> Option<String> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s) => Some(s.clone()),
            _ => None,
        },
        ast::Expr::Cast {
            expr,
            data_type: ast::DataType::Regclass | ast::DataType::Text,
            ..
        } => string_literal(expr),
        _ => None,
    }
}

/// Whether `sql` is an `ALTER SEQUENCE` statement (which `sqlparser` cannot parse).
pub(crate) fn is_alter_sequence(sql: &str) -> bool {
    let mut words = sql.split_whitespace();
    matches!(
        (words.next(), words.next()),
        (Some(a), Some(s)) if a.eq_ignore_ascii_case("alter") && s.eq_ignore_ascii_case("sequence")
    )
}

/// `ALTER SEQUENCE name [RESTART [WITH] n] [INCREMENT [BY] n]` (one statement).
/// `RESTART` without a value is refused: the bytecode carries the value to restart at.
pub(crate) fn alter_sequence(sql: &str) -> Result<bc::Statement> {
    let dialect = PostgreSqlDialect {};
    let tokens: Vec<Token> = Tokenizer::new(&dialect, sql)
        .tokenize()
        .map_err(|e| CompileError::syntax(e.message.to_lowercase()))?
        .into_iter()
        .filter(|t| !matches!(t, Token::Whitespace(_)))
        .collect();
    let mut it = tokens.into_iter().peekable();
    let keyword =
        |k: Keyword, it: &mut std::iter::Peekable<std::vec::IntoIter<Token>>| match it.peek() {
            Some(Token::Word(w)) if w.keyword == k && w.quote_style.is_none() => {
                it.next();
                true
            }
            _ => false,
        };
    if !keyword(Keyword::ALTER, &mut it) || !keyword(Keyword::SEQUENCE, &mut it) {
        return Err(CompileError::syntax("expected ALTER SEQUENCE"));
    }
    if keyword(Keyword::IF, &mut it) {
        return Err(unsupported("ALTER SEQUENCE IF EXISTS"));
    }
    let mut name = Vec::new();
    loop {
        match it.next() {
            Some(Token::Word(w)) => {
                name.push(ident(&w.to_ident(sqlparser::tokenizer::Span::empty())))
            }
            _ => return Err(CompileError::syntax("expected a sequence name")),
        }
        if it.peek() == Some(&Token::Period) {
            it.next();
        } else {
            break;
        }
    }
    let number = |it: &mut std::iter::Peekable<std::vec::IntoIter<Token>>| -> Result<i64> {
        let negative = if it.peek() == Some(&Token::Minus) {
            it.next();
            true
        } else {
            false
        };
        match it.next() {
            Some(Token::Number(n, _)) => {
                let text = if negative { format!("-{n}") } else { n };
                text.parse::<i64>()
                    .map_err(|_| CompileError::syntax(format!("invalid integer {text}")))
            }
            other => Err(CompileError::syntax(format!(
                "expected an integer, found {}",
                other
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "end of input".into())
            ))),
        }
    };
    let (mut restart, mut increment) = (None, None);
    loop {
        if keyword(Keyword::RESTART, &mut it) {
            keyword(Keyword::WITH, &mut it);
            if !matches!(it.peek(), Some(Token::Number(..) | Token::Minus)) {
                return Err(unsupported("ALTER SEQUENCE … RESTART without a value"));
            }
            restart = Some(number(&mut it)?);
        } else if keyword(Keyword::INCREMENT, &mut it) {
            keyword(Keyword::BY, &mut it);
            let n = number(&mut it)?;
            if n == 0 {
                return Err(CompileError {
                    sqlstate: "22023".into(),
                    message: "INCREMENT must not be zero".into(),
                    position: None,
                });
            }
            increment = Some(n);
        } else {
            break;
        }
    }
    match it.next() {
        None => {}
        Some(Token::SemiColon) if it.next().is_none() => {}
        Some(t) => return Err(unsupported(format!("ALTER SEQUENCE … {t}"))),
    }
    if restart.is_none() && increment.is_none() {
        return Err(unsupported("ALTER SEQUENCE without RESTART or INCREMENT"));
    }
    Ok(bc::Statement::AlterSequence {
        name,
        restart,
        increment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regclass_names_fold_like_identifiers() {
        assert_eq!(
            regclass_name("Public.\"MySeq\"").ok(),
            Some(vec![bc::Ident::new("public"), bc::Ident::quoted("MySeq")])
        );
        assert!(regclass_name("a..b").is_err());
        assert!(regclass_name("\"open").is_err());
    }

    #[test]
    fn alter_sequence_is_read_from_tokens() {
        assert!(is_alter_sequence("  alter SEQUENCE s restart"));
        assert!(!is_alter_sequence("alter table s"));
        assert_eq!(
            alter_sequence("ALTER SEQUENCE S RESTART WITH -5 INCREMENT BY 2;").ok(),
            Some(bc::Statement::AlterSequence {
                name: vec![bc::Ident::new("s")],
                restart: Some(-5),
                increment: Some(2),
            })
        );
        assert!(alter_sequence("ALTER SEQUENCE s RESTART").is_err());
        assert!(alter_sequence("ALTER SEQUENCE s OWNED BY t.c").is_err());
        assert!(alter_sequence("ALTER SEQUENCE s INCREMENT 0").is_err());
    }
}
