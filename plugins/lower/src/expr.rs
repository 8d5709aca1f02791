//! Scalar expressions: column references, literals, parameters, operators, predicates,
//! `CASE`, casts and subqueries. Function calls are in
//! [`LowerFunction`](crate::LowerFunction).

use rosetta_bytecode::{self as bc, BinaryOp, CompileError, Literal, UnaryOp};
use sqlparser::ast;

use crate::{is_word, reject, unsupported, CastTarget, DialectLowering, LowerQuery, Result};

/// Longest piece of SQL quoted back in an error message.
const MAX_QUOTED: usize = 60;

/// Shared lowering of scalar expressions, provided for every [`DialectLowering`].
///
/// Its methods need [`LowerQuery`] (for subqueries), which every [`DialectLowering`]
/// has.
pub trait LowerExpr: DialectLowering {
    /// Lowers a scalar expression.
    fn expr(&mut self, expr: &ast::Expr) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        self.nested(|l| l.expr_inner(expr))
    }

    /// Lowers an expression and boxes it.
    fn boxed(&mut self, expr: &ast::Expr) -> Result<Box<bc::Expr>>
    where
        Self: LowerQuery,
    {
        Ok(Box::new(self.expr(expr)?))
    }

    /// Lowers an expression where `DEFAULT` is allowed (`VALUES` of `INSERT`, `SET` of
    /// `UPDATE`).
    fn value_or_default(&mut self, expr: &ast::Expr) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        match expr {
            ast::Expr::Identifier(id) if is_word(id, "default") => Ok(bc::Expr::Default),
            other => self.expr(other),
        }
    }

    fn expr_inner(&mut self, expr: &ast::Expr) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        use ast::Expr as E;
        if let Some(special) = self.special_identifier(expr) {
            return special;
        }
        Ok(match expr {
            E::Identifier(id) => {
                if is_word(id, "default") {
                    return Err(CompileError::syntax(
                        "DEFAULT is not allowed in this context",
                    ));
                }
                if id.quote_style.is_none() {
                    if let Some(call) = Self::niladic(&id.value) {
                        return Ok(call);
                    }
                }
                bc::Expr::Column(vec![Self::ident(id)])
            }
            E::CompoundIdentifier(ids) => bc::Expr::Column(Self::idents(ids)),
            E::IsNull(e) => self.is_null(e, false)?,
            E::IsNotNull(e) => self.is_null(e, true)?,
            E::IsTrue(e) => self.is_bool(e, true, false)?,
            E::IsNotTrue(e) => self.is_bool(e, true, true)?,
            E::IsFalse(e) => self.is_bool(e, false, false)?,
            E::IsNotFalse(e) => self.is_bool(e, false, true)?,
            E::IsDistinctFrom(a, b) => self.is_distinct_from(a, b, false)?,
            E::IsNotDistinctFrom(a, b) => self.is_distinct_from(a, b, true)?,
            E::In {
                expr,
                target,
                negated,
                global,
            } => {
                reject(*global, "GLOBAL IN")?;
                let expr = self.boxed(expr)?;
                match target {
                    ast::InTarget::List(list) => bc::Expr::InList {
                        expr,
                        list: list.iter().map(|e| self.expr(e)).collect::<Result<_>>()?,
                        negated: *negated,
                    },
                    ast::InTarget::Subquery(query) => bc::Expr::InSubquery {
                        expr,
                        query: Box::new(self.query(query)?),
                        negated: *negated,
                    },
                    ast::InTarget::Unnest(_) => return Err(unsupported("IN UNNEST(…)")),
                    ast::InTarget::Table { .. } => return Err(unsupported("IN table")),
                }
            }
            E::Between {
                expr,
                negated,
                low,
                high,
            } => bc::Expr::Between {
                expr: self.boxed(expr)?,
                low: self.boxed(low)?,
                high: self.boxed(high)?,
                negated: *negated,
            },
            E::BinaryOp { left, op, right } => self.binary(expr, left, op, right)?,
            E::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => self.like(*negated, *any, expr, pattern, escape_char, false)?,
            E::ILike {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => self.like(*negated, *any, expr, pattern, escape_char, true)?,
            E::UnaryOp { op, expr } => self.unary(op, expr)?,
            E::Cast {
                kind,
                expr,
                data_type,
                format,
            } => {
                reject(
                    matches!(kind, ast::CastKind::TryCast | ast::CastKind::SafeCast),
                    "TRY_CAST / SAFE_CAST",
                )?;
                reject(format.is_some(), "CAST … FORMAT")?;
                self.cast(expr, data_type)?
            }
            E::Collate { expr, collation } => {
                if !is_identity_collation::<Self>(collation) {
                    return Err(unsupported(format!("collation {collation}")));
                }
                self.expr(expr)?
            }
            E::Nested(e) => self.expr(e)?,
            E::Value(value) => self.value(&value.value)?,
            E::TypedString(typed) => self.typed_string(typed)?,
            E::Function(f) => self.function(f)?,
            E::Extract {
                field,
                syntax,
                expr,
            } => self.extract(field, syntax, expr)?,
            E::Ceil { expr, field } => self.ceil_floor("ceil", expr, field)?,
            E::Floor { expr, field } => self.ceil_floor("floor", expr, field)?,
            E::Position { expr, r#in } => {
                let args = vec![self.expr(r#in)?, self.expr(expr)?];
                Self::std_call("strpos", args)
            }
            E::Substring {
                expr,
                substring_from,
                substring_for,
                special: _,
                shorthand: _,
            } => self.substring(expr, substring_from, substring_for)?,
            E::Trim {
                trim_where,
                trim_what,
                expr,
                trim_characters,
            } => self.trim(trim_where, trim_what, expr, trim_characters)?,
            E::Overlay {
                expr,
                overlay_what,
                overlay_from,
                overlay_for,
            } => {
                let mut args = vec![
                    self.expr(expr)?,
                    self.expr(overlay_what)?,
                    self.expr(overlay_from)?,
                ];
                if let Some(f) = overlay_for {
                    args.push(self.expr(f)?);
                }
                Self::std_call("overlay", args)
            }
            E::Case {
                case_token: _,
                end_token: _,
                operand,
                conditions,
                else_result,
            } => bc::Expr::Case {
                operand: operand.as_deref().map(|e| self.boxed(e)).transpose()?,
                branches: conditions
                    .iter()
                    .map(|w| {
                        let ast::CaseWhen { condition, result } = w;
                        Ok((self.expr(condition)?, self.expr(result)?))
                    })
                    .collect::<Result<_>>()?,
                else_result: else_result.as_deref().map(|e| self.boxed(e)).transpose()?,
            },
            E::Exists { subquery, negated } => bc::Expr::Exists {
                query: Box::new(self.query(subquery)?),
                negated: *negated,
            },
            E::Subquery(query) => bc::Expr::Subquery(Box::new(self.query(query)?)),
            E::Array(array) => self.array(array)?,
            E::AnyOp {
                left,
                compare_op,
                right,
                is_some: _,
            } => self.any_all(left, compare_op, right, false)?,
            E::AllOp {
                left,
                compare_op,
                right,
            } => self.any_all(left, compare_op, right, true)?,
            E::Interval(_) => return Err(unsupported("INTERVAL")),
            E::AtTimeZone { .. } => return Err(unsupported("AT TIME ZONE")),
            E::IsUnknown(_) | E::IsNotUnknown(_) => return Err(unsupported("IS UNKNOWN")),
            E::SimilarTo { .. } => return Err(unsupported("SIMILAR TO")),
            E::CompoundFieldAccess { root, access_chain } => self.subscripts(root, access_chain)?,
            E::Tuple(_) => return Err(unsupported("row constructors")),
            other => return Err(unsupported(format!("expression {}", quote(other)))),
        })
    }

    /// `ARRAY[a, b, …]` (one dimension: nested `ARRAY[[…]]` is refused).
    fn array(&mut self, array: &ast::Array) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        let ast::Array { elem, named: _ } = array;
        let mut items = Vec::with_capacity(elem.len());
        for e in elem {
            if matches!(e, ast::Expr::Array(_)) {
                return Err(unsupported("multidimensional arrays"));
            }
            items.push(self.expr(e)?);
        }
        Ok(bc::Expr::Array(items))
    }

    /// `left op ANY|SOME|ALL (right)`. Over an array this is [`bc::Expr::AnyAll`]; over
    /// a subquery, `= ANY` is `IN` and `<> ALL` is `NOT IN` (other operators with a
    /// subquery are refused).
    fn any_all(
        &mut self,
        left: &ast::Expr,
        compare_op: &ast::BinaryOperator,
        right: &ast::Expr,
        all: bool,
    ) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        let op = match binary_operator::<Self>(compare_op)? {
            Operator::Binary(
                op @ (BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::LtEq
                | BinaryOp::Gt
                | BinaryOp::GtEq),
            ) => op,
            _ => return Err(unsupported(format!("operator {compare_op} with ANY/ALL"))),
        };
        let mut inner = right;
        while let ast::Expr::Nested(e) = inner {
            inner = e;
        }
        if let ast::Expr::Subquery(query) = inner {
            let negated = match (op, all) {
                (BinaryOp::Eq, false) => false,
                (BinaryOp::NotEq, true) => true,
                _ => {
                    return Err(unsupported(format!(
                        "{compare_op} {} (subquery)",
                        if all { "ALL" } else { "ANY" }
                    )))
                }
            };
            return Ok(bc::Expr::InSubquery {
                expr: self.boxed(left)?,
                query: Box::new(self.query(query)?),
                negated,
            });
        }
        Ok(bc::Expr::AnyAll {
            left: self.boxed(left)?,
            op,
            right: self.boxed(right)?,
            all,
        })
    }

    /// `expr[i]…`: array subscripts (slices and field access are refused).
    fn subscripts(&mut self, root: &ast::Expr, chain: &[ast::AccessExpr]) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        let mut out = self.expr(root)?;
        for access in chain {
            match access {
                ast::AccessExpr::Subscript(ast::Subscript::Index { index }) => {
                    out = bc::Expr::Subscript {
                        expr: Box::new(out),
                        index: self.boxed(index)?,
                    };
                }
                ast::AccessExpr::Subscript(ast::Subscript::Slice { .. }) => {
                    return Err(unsupported("array slices"))
                }
                ast::AccessExpr::Dot(_) => return Err(unsupported("field access")),
            }
        }
        Ok(out)
    }

    fn is_null(&mut self, e: &ast::Expr, negated: bool) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        Ok(bc::Expr::IsNull {
            expr: self.boxed(e)?,
            negated,
        })
    }

    fn is_bool(&mut self, e: &ast::Expr, value: bool, negated: bool) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        Ok(bc::Expr::IsBool {
            expr: self.boxed(e)?,
            value,
            negated,
        })
    }

    fn is_distinct_from(&mut self, a: &ast::Expr, b: &ast::Expr, negated: bool) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        Ok(bc::Expr::IsDistinctFrom {
            left: self.boxed(a)?,
            right: self.boxed(b)?,
            negated,
        })
    }

    fn like(
        &mut self,
        negated: bool,
        any: bool,
        expr: &ast::Expr,
        pattern: &ast::Expr,
        escape: &Option<Box<ast::Expr>>,
        case_insensitive: bool,
    ) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        reject(any, "LIKE ANY")?;
        Ok(bc::Expr::Like {
            expr: self.boxed(expr)?,
            pattern: self.boxed(pattern)?,
            escape: escape.as_deref().map(|e| self.boxed(e)).transpose()?,
            negated,
            case_insensitive,
        })
    }

    fn unary(&mut self, op: &ast::UnaryOperator, expr: &ast::Expr) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        let op = match op {
            ast::UnaryOperator::Plus => UnaryOp::Plus,
            ast::UnaryOperator::Minus => {
                // `-<number>` is one negative constant, as in PostgreSQL (this is how
                // -9223372036854775808 stays a bigint).
                if let ast::Expr::Value(v) = expr {
                    if let ast::Value::Number(text, long) = &v.value {
                        reject(*long, "long numeric literals")?;
                        return number(&format!("-{text}")).map(bc::Expr::Literal);
                    }
                }
                UnaryOp::Neg
            }
            ast::UnaryOperator::Not => UnaryOp::Not,
            other => return Err(unsupported(format!("prefix operator {other}"))),
        };
        Ok(bc::Expr::Unary {
            op,
            expr: self.boxed(expr)?,
        })
    }

    fn binary(
        &mut self,
        whole: &ast::Expr,
        left: &ast::Expr,
        op: &ast::BinaryOperator,
        right: &ast::Expr,
    ) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        use ast::BinaryOperator as B;
        let op = match op {
            B::And => return self.logical_chain(whole, B::And, BinaryOp::And),
            B::Or => return self.logical_chain(whole, B::Or, BinaryOp::Or),
            B::PGExp => {
                let args = vec![self.expr(left)?, self.expr(right)?];
                return Ok(Self::std_call("power", args));
            }
            B::PGCustomBinaryOperator(parts) => match parts.as_slice() {
                [op] => operator_symbol::<Self>(op)?,
                [schema, op] if schema == "pg_catalog" => operator_symbol::<Self>(op)?,
                _ => return Err(unsupported(format!("operator {op}"))),
            },
            other => binary_operator::<Self>(other)?,
        };
        self.apply(op, left, right)
    }

    /// Applies a lowered operator (`Like` forms of `~~` are not binary in bytecode).
    fn apply(&mut self, op: Operator, left: &ast::Expr, right: &ast::Expr) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        match op {
            Operator::Binary(op @ (BinaryOp::And | BinaryOp::Or)) => Ok(bc::Expr::Binary {
                op,
                left: Box::new(Self::logical_operand(self.expr(left)?)),
                right: Box::new(Self::logical_operand(self.expr(right)?)),
            }),
            Operator::Binary(op) => Ok(bc::Expr::Binary {
                op,
                left: self.boxed(left)?,
                right: self.boxed(right)?,
            }),
            Operator::Like {
                negated,
                case_insensitive,
            } => Ok(bc::Expr::Like {
                expr: self.boxed(left)?,
                pattern: self.boxed(right)?,
                escape: None,
                negated,
                case_insensitive,
            }),
        }
    }

    /// Lowers a chain `a AND b AND c …` without recursing along the chain, into a
    /// balanced tree (AND and OR are associative), so that long generated chains stay
    /// shallow.
    fn logical_chain(
        &mut self,
        whole: &ast::Expr,
        ast_op: ast::BinaryOperator,
        op: BinaryOp,
    ) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        let mut operands = Vec::new();
        let mut pending = vec![whole];
        while let Some(e) = pending.pop() {
            match e {
                ast::Expr::BinaryOp { left, op, right } if *op == ast_op => {
                    pending.push(right);
                    pending.push(left);
                }
                other => operands.push(Self::logical_operand(self.expr(other)?)),
            }
        }
        Ok(balance(operands, op))
    }

    /// `CAST(x AS t)` / `x::t`, including catalog types whose casts are lookups.
    fn cast(&mut self, expr: &ast::Expr, data_type: &ast::DataType) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        match Self::cast_target(data_type)? {
            CastTarget::Function(name) => {
                let args = vec![self.expr(expr)?];
                Ok(self.catalog_call(name, args))
            }
            CastTarget::Type(bc::DataType::Bytea) => {
                if let Some(text) = string_literal(expr) {
                    if let Some(hex) = text.strip_prefix("\\x") {
                        return Ok(bc::Expr::Literal(Literal::Bytes(decode_hex(hex)?)));
                    }
                }
                Ok(bc::Expr::Cast {
                    expr: self.boxed(expr)?,
                    data_type: bc::DataType::Bytea,
                })
            }
            CastTarget::Type(data_type) => Ok(bc::Expr::Cast {
                expr: self.boxed(expr)?,
                data_type,
            }),
        }
    }

    /// `TYPE 'text'`: a typed literal (or a catalog-type conversion).
    fn typed_string(&mut self, typed: &ast::TypedString) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        let ast::TypedString {
            data_type,
            value,
            uses_odbc_syntax,
        } = typed;
        reject(*uses_odbc_syntax, "ODBC literals")?;
        let Some(text) = string_value(&value.value) else {
            return Err(unsupported("this typed literal"));
        };
        match Self::cast_target(data_type)? {
            CastTarget::Function(name) => Ok(self.catalog_call(
                name,
                vec![bc::Expr::Literal(Literal::String(text.to_string()))],
            )),
            CastTarget::Type(bc::DataType::Bytea) if text.starts_with("\\x") => {
                Ok(bc::Expr::Literal(Literal::Bytes(decode_hex(&text[2..])?)))
            }
            CastTarget::Type(data_type) => Ok(bc::Expr::Literal(Literal::Typed {
                data_type,
                value: text.to_string(),
            })),
        }
    }

    /// A literal value or a `$n` parameter.
    fn value(&mut self, value: &ast::Value) -> Result<bc::Expr>
    where
        Self: LowerQuery,
    {
        use ast::Value as V;
        Ok(bc::Expr::Literal(match value {
            V::Number(text, long) => {
                reject(*long, "long numeric literals")?;
                number(text)?
            }
            V::Boolean(b) => Literal::Boolean(*b),
            V::Null => Literal::Null,
            V::Placeholder(p) => return self.param(p),
            other => match string_value(other) {
                Some(s) => Literal::String(s.to_string()),
                None => match other {
                    V::HexStringLiteral(_)
                    | V::SingleQuotedByteStringLiteral(_)
                    | V::DoubleQuotedByteStringLiteral(_) => {
                        return Err(unsupported("bit-string literals"))
                    }
                    _ => return Err(unsupported(format!("literal {other}"))),
                },
            },
        }))
    }
}

/// A lowered infix operator.
pub enum Operator {
    /// A binary operator of the bytecode.
    Binary(BinaryOp),
    /// `~~` and friends are `LIKE` in bytecode.
    Like {
        /// `NOT LIKE`.
        negated: bool,
        /// `ILIKE`.
        case_insensitive: bool,
    },
}

fn binary_operator<D: DialectLowering>(op: &ast::BinaryOperator) -> Result<Operator> {
    use ast::BinaryOperator as B;
    let regex = |case_insensitive, negated| {
        Operator::Binary(BinaryOp::RegexMatch {
            case_insensitive,
            negated,
        })
    };
    let like = |negated, case_insensitive| Operator::Like {
        negated,
        case_insensitive,
    };
    Ok(match op {
        B::Plus => Operator::Binary(BinaryOp::Add),
        B::Minus => Operator::Binary(BinaryOp::Sub),
        B::Multiply => Operator::Binary(BinaryOp::Mul),
        B::Divide => Operator::Binary(BinaryOp::Div),
        B::Modulo => Operator::Binary(BinaryOp::Mod),
        B::StringConcat => Operator::Binary(D::string_concat()),
        B::Eq => Operator::Binary(BinaryOp::Eq),
        B::NotEq => Operator::Binary(BinaryOp::NotEq),
        B::Lt => Operator::Binary(BinaryOp::Lt),
        B::LtEq => Operator::Binary(BinaryOp::LtEq),
        B::Gt => Operator::Binary(BinaryOp::Gt),
        B::GtEq => Operator::Binary(BinaryOp::GtEq),
        B::And => Operator::Binary(BinaryOp::And),
        B::Or => Operator::Binary(BinaryOp::Or),
        B::PGRegexMatch => regex(false, false),
        B::PGRegexIMatch => regex(true, false),
        B::PGRegexNotMatch => regex(false, true),
        B::PGRegexNotIMatch => regex(true, true),
        B::PGLikeMatch => like(false, false),
        B::PGILikeMatch => like(false, true),
        B::PGNotLikeMatch => like(true, false),
        B::PGNotILikeMatch => like(true, true),
        other => return Err(unsupported(format!("operator {other}"))),
    })
}

/// The operator named in `OPERATOR(pg_catalog.op)`.
fn operator_symbol<D: DialectLowering>(symbol: &str) -> Result<Operator> {
    use ast::BinaryOperator as B;
    let op = match symbol {
        "+" => B::Plus,
        "-" => B::Minus,
        "*" => B::Multiply,
        "/" => B::Divide,
        "%" => B::Modulo,
        "||" => B::StringConcat,
        "=" => B::Eq,
        "<>" | "!=" => B::NotEq,
        "<" => B::Lt,
        "<=" => B::LtEq,
        ">" => B::Gt,
        ">=" => B::GtEq,
        "~" => B::PGRegexMatch,
        "~*" => B::PGRegexIMatch,
        "!~" => B::PGRegexNotMatch,
        "!~*" => B::PGRegexNotIMatch,
        "~~" => B::PGLikeMatch,
        "~~*" => B::PGILikeMatch,
        "!~~" => B::PGNotLikeMatch,
        "!~~*" => B::PGNotILikeMatch,
        other => return Err(unsupported(format!("operator {other}"))),
    };
    binary_operator::<D>(&op)
}

/// Builds a balanced tree of `op` over `operands` (left-deep for three operands).
fn balance(mut operands: Vec<bc::Expr>, op: BinaryOp) -> bc::Expr {
    if operands.len() <= 1 {
        return operands
            .pop()
            .unwrap_or(bc::Expr::Literal(Literal::Boolean(op == BinaryOp::And)));
    }
    let right = operands.split_off(operands.len().div_ceil(2));
    bc::Expr::Binary {
        op,
        left: Box::new(balance(operands, op)),
        right: Box::new(balance(right, op)),
    }
}

/// A numeric literal: `Integer` when it fits 64 bits, `Float` with an exponent,
/// `Decimal` otherwise.
pub fn number(text: &str) -> Result<Literal> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(match text.parse::<i64>() {
            Ok(n) => Literal::Integer(n),
            Err(_) => Literal::Decimal(text.to_string()),
        });
    }
    if digits.contains(['e', 'E']) {
        return match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Literal::Float(f)),
            _ => Err(CompileError {
                sqlstate: "22003".into(),
                message: format!("\"{text}\" is out of range for type double precision"),
                position: None,
            }),
        };
    }
    let mut parts = digits.splitn(2, '.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next().unwrap_or("");
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if digits.contains('.')
        && !(int.is_empty() && frac.is_empty())
        && all_digits(int)
        && all_digits(frac)
    {
        return Ok(Literal::Decimal(text.to_string()));
    }
    Err(unsupported(format!("numeric literal {text}")))
}

/// The text of a string-like literal PostgreSQL accepts.
fn string_value(value: &ast::Value) -> Option<&str> {
    use ast::Value as V;
    match value {
        V::SingleQuotedString(s)
        | V::EscapedStringLiteral(s)
        | V::UnicodeStringLiteral(s)
        | V::NationalStringLiteral(s) => Some(s),
        V::DollarQuotedString(d) => Some(&d.value),
        _ => None,
    }
}

/// The text of `expr` when it is a string literal.
fn string_literal(expr: &ast::Expr) -> Option<&str> {
    match expr {
        ast::Expr::Value(v) => string_value(&v.value),
        _ => None,
    }
}

/// Decodes the hex digits of a `'\x…'` bytea literal.
fn decode_hex(hex: &str) -> Result<Vec<u8>> {
    let digit = |c: u8| -> Result<u8> {
        match c {
            b'0'..=b'9' => Ok(c - b'0'),
            b'a'..=b'f' => Ok(c - b'a' + 10),
            b'A'..=b'F' => Ok(c - b'A' + 10),
            _ => Err(CompileError {
                sqlstate: "22023".into(),
                message: format!("invalid hexadecimal digit: \"{}\"", c as char),
                position: None,
            }),
        }
    };
    let bytes: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !bytes.len().is_multiple_of(2) {
        return Err(CompileError {
            sqlstate: "22023".into(),
            message: "invalid hexadecimal data: odd number of digits".into(),
            position: None,
        });
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Ok(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Whether `COLLATE name` names the one collation Rosetta has (`default`, `C`, `POSIX`,
/// optionally `pg_catalog.`-qualified).
fn is_identity_collation<D: DialectLowering>(name: &ast::ObjectName) -> bool {
    let parts: Vec<bc::Ident> = name
        .0
        .iter()
        .filter_map(|p| match p {
            ast::ObjectNamePart::Identifier(id) => Some(D::ident(id)),
            ast::ObjectNamePart::Function(_) => None,
        })
        .collect();
    let last = match parts.as_slice() {
        [last] => last,
        [schema, last] if schema.value == "pg_catalog" => last,
        _ => return false,
    };
    matches!(last.value.as_str(), "default" | "C" | "POSIX")
}

/// A short rendering of an expression for error messages.
fn quote(expr: &ast::Expr) -> String {
    let text = expr.to_string();
    if text.chars().count() > MAX_QUOTED {
        let cut: String = text.chars().take(MAX_QUOTED).collect();
        format!("{cut}…")
    } else {
        text
    }
}

impl<T: DialectLowering> LowerExpr for T {}
