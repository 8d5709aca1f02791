//! Compiling a decoded BLR request into one Rosetta query and the plan for its output
//! messages.
//!
//! The requests isql sends have one shape (GPRE's code for `FOR … END_FOR`):
//!
//! ```text
//!  begin
//!    message 1 (output) …   message 0 (input) …
//!    [receive 0]                        ← the client's start message, if any
//!      begin
//!        for (rse)  send 1 (assignments: field/literal → item)   ← once per row
//!        send 1 (assignments: literal 0 → end-of-data flag)       ← once at the end
//!      end
//!  end
//! ```
//!
//! which becomes `SELECT <assigned values> FROM <relations> WHERE <boolean> ORDER BY
//! <sort> LIMIT <first>`, input-message items becoming parameters `$n` (item n−1), and
//! an item-by-item plan saying where each output item comes from. Any other shape is
//! refused with an error naming what was found.

use rosetta_bytecode::{self as bc, BinaryOp, Dialect, Program};
use rosetta_plugin_abi::blr::{BlrItemSource, BlrMessage, BlrRequest};

use super::decode::{code, Literal, Request, Rse, Stmt, Value};

/// Why a decoded request could not be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("BLR request not supported: {0}")]
pub struct ShapeError(pub String);

fn shape(what: impl Into<String>) -> ShapeError {
    ShapeError(what.into())
}

/// State of compiling one request.
#[derive(Default)]
struct Compiler {
    messages: Vec<BlrMessage>,
    input: Option<u8>,
    output: Option<u8>,
    query: Option<bc::Query>,
    row: Vec<BlrItemSource>,
    end: Option<Vec<BlrItemSource>>,
    max_param: u16,
}

/// Compiles a decoded request.
pub fn compile(request: &Request) -> Result<BlrRequest, ShapeError> {
    let mut c = Compiler::default();
    c.top(&request.body)?;
    let output = c
        .output
        .ok_or_else(|| shape("the request sends no message"))?;
    let out_len = c.message_len(output)?;
    if let Some(input) = c.input {
        let in_len = c.message_len(input)?;
        if usize::from(c.max_param) > in_len {
            return Err(shape("a parameter beyond the input message"));
        }
    }
    let query = c
        .query
        .ok_or_else(|| shape("the request has no FOR loop"))?;
    let mut row = c.row;
    let mut end = c.end.unwrap_or_default();
    if row.len() > out_len || end.len() > out_len {
        return Err(shape(
            "an assignment to an item the output message does not have",
        ));
    }
    row.resize(out_len, BlrItemSource::Unset);
    end.resize(out_len, BlrItemSource::Unset);
    let mut program = Program::new(Dialect::Firebird, bc::Statement::Query(Box::new(query)));
    program.param_count = c.max_param;
    Ok(BlrRequest {
        program,
        messages: c.messages,
        input: c.input.map(u16::from),
        output: u16::from(output),
        row,
        end,
    })
}

impl Compiler {
    fn message_len(&self, number: u8) -> Result<usize, ShapeError> {
        self.messages
            .iter()
            .find(|m| m.number == u16::from(number))
            .map(|m| m.items.len())
            .ok_or_else(|| shape(format!("message {number} is not declared")))
    }

    /// The statements outside the loop.
    fn top(&mut self, stmt: &Stmt) -> Result<(), ShapeError> {
        match stmt {
            Stmt::Begin(stmts) => stmts.iter().try_for_each(|s| self.top(s)),
            Stmt::Message(m) => {
                if self.messages.iter().any(|x| x.number == m.number) {
                    return Err(shape(format!("message {} declared twice", m.number)));
                }
                self.messages.push(m.clone());
                Ok(())
            }
            Stmt::Receive { message, body } => {
                if self.input.is_some() || self.query.is_some() {
                    return Err(shape("more than one receive"));
                }
                self.input = Some(*message);
                self.top(body)
            }
            Stmt::For { rse, body } => {
                if self.query.is_some() {
                    return Err(shape("more than one FOR loop"));
                }
                let (message, assignments) = send(body)?;
                self.set_output(message)?;
                let mut projection = Vec::new();
                let mut row = Vec::new();
                for (value, target) in assignments {
                    let (item, flag) = output_item(target, message)?;
                    let source = match value {
                        Value::Literal(lit) => literal_source(lit)?,
                        other => {
                            let column = u16::try_from(projection.len())
                                .map_err(|_| shape("too many output items"))?;
                            projection.push(bc::SelectItem::Expr {
                                expr: self.value(other)?,
                                alias: None,
                            });
                            if let Some(flag) = flag {
                                place(&mut row, flag, BlrItemSource::NullFlag(column))?;
                            }
                            BlrItemSource::Column(column)
                        }
                    };
                    place(&mut row, item, source)?;
                }
                if projection.is_empty() {
                    projection.push(bc::SelectItem::Expr {
                        expr: bc::Expr::Literal(bc::Literal::Integer(1)),
                        alias: None,
                    });
                }
                self.row = row;
                self.query = Some(self.rse(rse, projection)?);
                Ok(())
            }
            Stmt::Send { .. } => {
                if self.query.is_none() || self.end.is_some() {
                    return Err(shape("a send outside the loop that is not the end message"));
                }
                let (message, assignments) = send(stmt)?;
                self.set_output(message)?;
                let mut end = Vec::new();
                for (value, target) in assignments {
                    let (item, _) = output_item(target, message)?;
                    let Value::Literal(lit) = value else {
                        return Err(shape("a non-constant value in the end message"));
                    };
                    place(&mut end, item, literal_source(lit)?)?;
                }
                self.end = Some(end);
                Ok(())
            }
            Stmt::Assign { .. } => Err(shape("an assignment outside a send")),
        }
    }

    fn set_output(&mut self, message: u8) -> Result<(), ShapeError> {
        match self.output {
            Some(m) if m != message => Err(shape("sends of two different messages")),
            _ => {
                self.output = Some(message);
                Ok(())
            }
        }
    }

    /// `SELECT projection FROM relations WHERE boolean ORDER BY sort LIMIT first`.
    fn rse(&mut self, rse: &Rse, projection: Vec<bc::SelectItem>) -> Result<bc::Query, ShapeError> {
        let Rse {
            relations,
            boolean,
            sort,
            first,
        } = rse;
        let mut contexts = Vec::new();
        let from = relations
            .iter()
            .map(|(name, context)| {
                if contexts.contains(context) {
                    return Err(shape(format!("context {context} used twice")));
                }
                contexts.push(*context);
                Ok(bc::FromItem::Table {
                    name: vec![bc::Ident::new(name.trim_end())],
                    alias: Some(bc::TableAlias {
                        name: alias(*context),
                        columns: Vec::new(),
                    }),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let filter = boolean.as_ref().map(|b| self.value(b)).transpose()?;
        let order_by = sort
            .iter()
            .map(|(desc, key)| {
                Ok(bc::OrderItem {
                    expr: self.value(key)?,
                    desc: *desc,
                    nulls_first: None,
                })
            })
            .collect::<Result<Vec<_>, ShapeError>>()?;
        let limit = first.as_ref().map(|f| self.value(f)).transpose()?;
        Ok(bc::Query {
            with: Vec::new(),
            body: bc::SetExpr::Select(Box::new(bc::Select {
                distinct: false,
                projection,
                from,
                filter,
                group_by: Vec::new(),
                having: None,
            })),
            order_by,
            limit,
            offset: None,
        })
    }

    fn value(&mut self, value: &Value) -> Result<bc::Expr, ShapeError> {
        Ok(match value {
            Value::Field { context, name } => {
                bc::Expr::Column(vec![alias(*context), bc::Ident::new(name.trim_end())])
            }
            Value::Parameter { message, item } | Value::Parameter2 { message, item, .. } => {
                if Some(*message) != self.input {
                    return Err(shape(format!(
                        "a parameter of message {message}, which the request does not receive"
                    )));
                }
                let n = item
                    .checked_add(1)
                    .ok_or_else(|| shape("parameter number out of range"))?;
                self.max_param = self.max_param.max(n);
                bc::Expr::Param(n)
            }
            Value::Literal(Literal::Integer { value, scale: 0 }) => {
                bc::Expr::Literal(bc::Literal::Integer(*value))
            }
            Value::Literal(Literal::Integer { value, scale }) => {
                bc::Expr::Literal(bc::Literal::Decimal(scaled(*value, *scale)))
            }
            Value::Literal(Literal::Text(s)) => bc::Expr::Literal(bc::Literal::String(s.clone())),
            Value::Null => bc::Expr::Literal(bc::Literal::Null),
            Value::Not(v) => bc::Expr::Unary {
                op: bc::UnaryOp::Not,
                expr: Box::new(self.value(v)?),
            },
            Value::Negate(v) => bc::Expr::Unary {
                op: bc::UnaryOp::Neg,
                expr: Box::new(self.value(v)?),
            },
            Value::Missing(v) => bc::Expr::IsNull {
                expr: Box::new(self.value(v)?),
                negated: false,
            },
            Value::Binary { verb, left, right } => {
                let left = self.value(left)?;
                let right = self.value(right)?;
                if *verb == code::STARTING {
                    // `a STARTING WITH b`: the first CHAR_LENGTH(b) characters of a are b.
                    return Ok(bc::Expr::Binary {
                        op: BinaryOp::Eq,
                        left: Box::new(std_call(
                            "substring",
                            vec![
                                left,
                                bc::Expr::Literal(bc::Literal::Integer(1)),
                                std_call("char_length", vec![right.clone()]),
                            ],
                        )),
                        right: Box::new(right),
                    });
                }
                let op = match *verb {
                    code::ADD => BinaryOp::Add,
                    code::SUBTRACT => BinaryOp::Sub,
                    code::MULTIPLY => BinaryOp::Mul,
                    code::DIVIDE => BinaryOp::Div,
                    code::CONCATENATE => BinaryOp::Concat,
                    code::EQL => BinaryOp::Eq,
                    code::NEQ => BinaryOp::NotEq,
                    code::GTR => BinaryOp::Gt,
                    code::GEQ => BinaryOp::GtEq,
                    code::LSS => BinaryOp::Lt,
                    code::LEQ => BinaryOp::LtEq,
                    code::AND => BinaryOp::And,
                    code::OR => BinaryOp::Or,
                    other => return Err(shape(format!("BLR operator {other}"))),
                };
                bc::Expr::Binary {
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                }
            }
        })
    }
}

/// The alias of stream `context` (`CTX0`, `CTX1` …).
fn alias(context: u8) -> bc::Ident {
    bc::Ident::new(format!("CTX{context}"))
}

fn std_call(name: &str, args: Vec<bc::Expr>) -> bc::Expr {
    bc::Expr::Function(bc::Function {
        namespace: "std".into(),
        name: name.into(),
        args,
        distinct: false,
        star: false,
    })
}

/// `value × 10^scale` as decimal text.
fn scaled(value: i64, scale: i8) -> String {
    if scale >= 0 {
        let mut s = value.to_string();
        s.extend(std::iter::repeat_n('0', scale.unsigned_abs().into()));
        return s;
    }
    let digits = value.unsigned_abs().to_string();
    let places = usize::from(scale.unsigned_abs());
    let padded = format!("{digits:0>width$}", width = places + 1);
    let (int, frac) = padded.split_at(padded.len() - places);
    format!("{}{int}.{frac}", if value < 0 { "-" } else { "" })
}

/// `(value, target)` pairs of the assignments of one send.
type Assignments<'a> = Vec<(&'a Value, &'a Value)>;

/// The message and assignments of `send m (begin assignment… end | assignment)`.
fn send(stmt: &Stmt) -> Result<(u8, Assignments<'_>), ShapeError> {
    let Stmt::Send { message, body } = stmt else {
        return Err(shape("a loop body that is not a send"));
    };
    let stmts: Vec<&Stmt> = match body.as_ref() {
        Stmt::Begin(stmts) => stmts.iter().collect(),
        other => vec![other],
    };
    let assignments = stmts
        .into_iter()
        .map(|s| match s {
            Stmt::Assign { value, target } => Ok((value, target)),
            _ => Err(shape("a send of something other than assignments")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((*message, assignments))
}

/// The output item (and NULL-flag item) an assignment target names.
fn output_item(target: &Value, message: u8) -> Result<(u16, Option<u16>), ShapeError> {
    match target {
        Value::Parameter { message: m, item } if *m == message => Ok((*item, None)),
        Value::Parameter2 {
            message: m,
            item,
            flag,
        } if *m == message => Ok((*item, Some(*flag))),
        _ => Err(shape(
            "an assignment to something other than the sent message",
        )),
    }
}

fn literal_source(lit: &Literal) -> Result<BlrItemSource, ShapeError> {
    match lit {
        Literal::Integer { value, scale: 0 } => Ok(BlrItemSource::Integer(*value)),
        Literal::Integer { .. } => Err(shape("a scaled constant in a message")),
        Literal::Text(s) => Ok(BlrItemSource::Text(s.clone())),
    }
}

/// Sets `row[item] = source`, growing `row` (bounded by the message size later).
fn place(row: &mut Vec<BlrItemSource>, item: u16, source: BlrItemSource) -> Result<(), ShapeError> {
    let i = usize::from(item);
    if i >= 4096 {
        return Err(shape("message item number out of range"));
    }
    if row.len() <= i {
        row.resize(i + 1, BlrItemSource::Unset);
    }
    row[i] = source;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::scaled;

    #[test]
    fn scaled_literals() {
        assert_eq!(scaled(1234, -2), "12.34");
        assert_eq!(scaled(-5, -3), "-0.005");
        assert_eq!(scaled(7, 2), "700");
    }
}
