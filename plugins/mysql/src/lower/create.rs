//! MySQL's `CREATE TABLE` extras: the `AUTO_INCREMENT` column option and the table
//! options MySQL schemas (and tools such as sysbench and mysqldump) carry.
//!
//! The shared lowering knows neither, so a `CREATE TABLE` is lowered in two steps: the
//! `AUTO_INCREMENT` options are taken off the parsed columns (remembering which), the
//! rest is lowered the shared way, and the lowered columns are then marked
//! `auto_increment`. Table options are checked in [`table_options`].

use std::borrow::Cow;

use rosetta_bytecode as bc;
use sqlparser::ast;
use sqlparser::tokenizer::Token;

use super::{reject, unsupported, Result};

/// True for the `AUTO_INCREMENT` column option.
fn is_auto_increment(option: &ast::ColumnOption) -> bool {
    match option {
        ast::ColumnOption::DialectSpecific(tokens) => matches!(
            tokens.as_slice(),
            [Token::Word(w)] if w.value.eq_ignore_ascii_case("auto_increment")
        ),
        _ => false,
    }
}

/// `statement` without its `AUTO_INCREMENT` column options, and the names of the
/// columns that had one.
pub(crate) fn take_auto_increment(
    statement: &ast::Statement,
) -> (Cow<'_, ast::Statement>, Vec<String>) {
    let ast::Statement::CreateTable(create) = statement else {
        return (Cow::Borrowed(statement), Vec::new());
    };
    let marked: Vec<String> = create
        .columns
        .iter()
        .filter(|c| c.options.iter().any(|o| is_auto_increment(&o.option)))
        .map(|c| c.name.value.clone())
        .collect();
    if marked.is_empty() {
        return (Cow::Borrowed(statement), marked);
    }
    let mut create = create.clone();
    for column in &mut create.columns {
        column.options.retain(|o| !is_auto_increment(&o.option));
    }
    (Cow::Owned(ast::Statement::CreateTable(create)), marked)
}

/// Marks the lowered columns named in `marked` as `AUTO_INCREMENT`. MySQL allows one
/// such column per table, and it must be an integer.
pub(crate) fn mark_auto_increment(statement: &mut bc::Statement, marked: &[String]) -> Result<()> {
    if marked.is_empty() {
        return Ok(());
    }
    reject(marked.len() > 1, "more than one AUTO_INCREMENT column")?;
    let bc::Statement::CreateTable(create) = statement else {
        return Err(unsupported("AUTO_INCREMENT here"));
    };
    for column in &mut create.columns {
        if marked.contains(&column.name.value) {
            if !matches!(
                column.data_type,
                bc::DataType::SmallInt | bc::DataType::Integer | bc::DataType::BigInt
            ) {
                return Err(unsupported("AUTO_INCREMENT on a non-integer column"));
            }
            column.auto_increment = true;
            // MySQL: an AUTO_INCREMENT column is never NULL.
            column.not_null = true;
        }
    }
    Ok(())
}

/// Checks `CREATE TABLE`'s table options: `ENGINE=…` is accepted whatever it names
/// (every Rosetta table is transactional, as InnoDB's are), UTF-8 character sets and
/// collations are accepted, everything else is refused.
pub(crate) fn table_options(options: &ast::CreateTableOptions) -> Result<()> {
    let list = match options {
        ast::CreateTableOptions::None => return Ok(()),
        ast::CreateTableOptions::Plain(list) => list,
        _ => return Err(unsupported("table options (WITH …, OPTIONS …)")),
    };
    for option in list {
        match option {
            ast::SqlOption::NamedParenthesizedList(ast::NamedParenthesizedList {
                key,
                name: _,
                values,
            }) if key.value.eq_ignore_ascii_case("engine") && values.is_empty() => {}
            ast::SqlOption::KeyValue { key, value } => {
                let key = key.to_string().to_ascii_uppercase();
                let value = match value {
                    ast::Expr::Identifier(id) => id.value.clone(),
                    ast::Expr::Value(v) => match &v.value {
                        ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => {
                            s.clone()
                        }
                        other => other.to_string(),
                    },
                    other => other.to_string(),
                };
                let utf8 = value.to_ascii_lowercase().starts_with("utf8");
                match key.as_str() {
                    "DEFAULT CHARSET"
                    | "CHARSET"
                    | "DEFAULT CHARACTER SET"
                    | "CHARACTER SET"
                    | "DEFAULT COLLATE"
                    | "COLLATE"
                        if utf8 => {}
                    "DEFAULT CHARSET"
                    | "CHARSET"
                    | "DEFAULT CHARACTER SET"
                    | "CHARACTER SET"
                    | "DEFAULT COLLATE"
                    | "COLLATE" => return Err(unsupported("a character set other than utf8mb4")),
                    _ => return Err(unsupported(format!("table option {key}"))),
                }
            }
            other => return Err(unsupported(format!("table option {other}"))),
        }
    }
    Ok(())
}
