//! Decoding BLR (Firebird's binary request language) into a small tree.
//!
//! Only the subset GPRE-generated metadata requests use is understood: `blr_begin`,
//! `blr_message`, `blr_receive`, `blr_send`, `blr_for` over a record selection
//! (`blr_rse` with relations, `blr_boolean`, `blr_sort`, `blr_first`), `blr_assignment`,
//! and the value expressions fields, parameters, literals, comparisons, `AND`/`OR`/`NOT`,
//! `MISSING`, `STARTING`, arithmetic and concatenation. Any other verb is an error that
//! names it.
//!
//! The decoder is total and bounded: every read is checked against the end of the
//! buffer, nesting is limited to [`MAX_DEPTH`], and the input to [`MAX_BLR_BYTES`];
//! hostile bytes yield a [`BlrError`], never a panic.

use rosetta_plugin_abi::blr::{BlrItem, BlrMessage};

/// Longest BLR request accepted.
pub const MAX_BLR_BYTES: usize = 64 * 1024;
/// Deepest nesting of statements and expressions accepted.
pub const MAX_DEPTH: usize = 64;

/// BLR codes (Firebird's `blr.h`) used below.
pub(crate) mod code {
    pub const VERSION4: u8 = 4;
    pub const VERSION5: u8 = 5;
    pub const EOC: u8 = 76;
    pub const END: u8 = 255;

    pub const ASSIGNMENT: u8 = 1;
    pub const BEGIN: u8 = 2;
    pub const MESSAGE: u8 = 4;
    pub const FOR: u8 = 7;
    pub const RECEIVE: u8 = 12;
    pub const SEND: u8 = 14;

    pub const LITERAL: u8 = 21;
    pub const FIELD: u8 = 23;
    pub const PARAMETER: u8 = 25;
    pub const ADD: u8 = 34;
    pub const SUBTRACT: u8 = 35;
    pub const MULTIPLY: u8 = 36;
    pub const DIVIDE: u8 = 37;
    pub const NEGATE: u8 = 38;
    pub const CONCATENATE: u8 = 39;
    pub const PARAMETER2: u8 = 41;
    pub const NULL: u8 = 45;
    pub const EQL: u8 = 47;
    pub const NEQ: u8 = 48;
    pub const GTR: u8 = 49;
    pub const GEQ: u8 = 50;
    pub const LSS: u8 = 51;
    pub const LEQ: u8 = 52;
    pub const STARTING: u8 = 55;
    pub const OR: u8 = 57;
    pub const AND: u8 = 58;
    pub const NOT: u8 = 59;
    pub const MISSING: u8 = 61;
    pub const RSE: u8 = 67;
    pub const FIRST: u8 = 68;
    pub const SORT: u8 = 70;
    pub const BOOLEAN: u8 = 71;
    pub const ASCENDING: u8 = 72;
    pub const DESCENDING: u8 = 73;
    pub const RELATION: u8 = 74;

    // Data types of message items and literals.
    pub const SHORT: u8 = 7;
    pub const LONG: u8 = 8;
    pub const QUAD: u8 = 9;
    pub const FLOAT: u8 = 10;
    pub const D_FLOAT: u8 = 11;
    pub const SQL_DATE: u8 = 12;
    pub const SQL_TIME: u8 = 13;
    pub const TEXT: u8 = 14;
    pub const TEXT2: u8 = 15;
    pub const INT64: u8 = 16;
    pub const BLOB2: u8 = 17;
    pub const BOOL: u8 = 23;
    pub const DOUBLE: u8 = 27;
    pub const TIMESTAMP: u8 = 35;
    pub const VARYING: u8 = 37;
    pub const VARYING2: u8 = 38;
    pub const CSTRING: u8 = 40;
    pub const CSTRING2: u8 = 41;
}

/// Why a BLR request could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlrError {
    /// The request ends in the middle of an item.
    #[error("BLR request is truncated at offset {0}")]
    Truncated(usize),
    /// The request is larger than [`MAX_BLR_BYTES`].
    #[error("BLR request of {0} bytes is too long")]
    TooLong(usize),
    /// Nesting beyond [`MAX_DEPTH`].
    #[error("BLR request is nested too deeply")]
    TooDeep,
    /// The request does not start with `blr_version4`/`blr_version5`.
    #[error("BLR version {0} is not supported")]
    Version(u8),
    /// A verb outside the supported subset.
    #[error("BLR verb {verb} at offset {offset} is not supported")]
    Unsupported { verb: u8, offset: usize },
    /// Well-formed bytes that make no sense (text that is not UTF-8, …).
    #[error("malformed BLR at offset {offset}: {what}")]
    Malformed { offset: usize, what: &'static str },
}

/// A statement of a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Begin(Vec<Stmt>),
    Message(BlrMessage),
    Receive { message: u8, body: Box<Stmt> },
    Send { message: u8, body: Box<Stmt> },
    For { rse: Rse, body: Box<Stmt> },
    Assign { value: Value, target: Value },
}

/// A record selection: `FOR x IN relation … WITH … SORTED BY …`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rse {
    /// `(relation name, context number)` of every stream.
    pub relations: Vec<(String, u8)>,
    pub boolean: Option<Value>,
    /// `(descending, key)`.
    pub sort: Vec<(bool, Value)>,
    pub first: Option<Value>,
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// An exact number: `value × 10^scale`.
    Integer {
        value: i64,
        scale: i8,
    },
    Text(String),
}

/// A value expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Field {
        context: u8,
        name: String,
    },
    Parameter {
        message: u8,
        item: u16,
    },
    /// A parameter with its NULL-indicator item.
    Parameter2 {
        message: u8,
        item: u16,
        flag: u16,
    },
    Literal(Literal),
    Null,
    Binary {
        verb: u8,
        left: Box<Value>,
        right: Box<Value>,
    },
    Not(Box<Value>),
    Negate(Box<Value>),
    Missing(Box<Value>),
}

/// A whole decoded request.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub body: Stmt,
}

/// Decodes a BLR request.
pub fn decode(bytes: &[u8]) -> Result<Request, BlrError> {
    if bytes.len() > MAX_BLR_BYTES {
        return Err(BlrError::TooLong(bytes.len()));
    }
    let mut r = Reader {
        bytes,
        at: 0,
        depth: 0,
    };
    let version = r.u8()?;
    if version != code::VERSION4 && version != code::VERSION5 {
        return Err(BlrError::Version(version));
    }
    let body = r.stmt()?;
    let at = r.at;
    if r.u8()? != code::EOC {
        return Err(BlrError::Malformed {
            offset: at,
            what: "expected blr_eoc after the request",
        });
    }
    Ok(Request { body })
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    depth: usize,
}

impl Reader<'_> {
    fn u8(&mut self) -> Result<u8, BlrError> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or(BlrError::Truncated(self.at))?;
        self.at += 1;
        Ok(b)
    }

    fn peek(&self) -> Result<u8, BlrError> {
        self.bytes
            .get(self.at)
            .copied()
            .ok_or(BlrError::Truncated(self.at))
    }

    fn take(&mut self, n: usize) -> Result<&[u8], BlrError> {
        let end = self.at.checked_add(n).ok_or(BlrError::Truncated(self.at))?;
        let slice = self
            .bytes
            .get(self.at..end)
            .ok_or(BlrError::Truncated(self.at))?;
        self.at = end;
        Ok(slice)
    }

    fn u16(&mut self) -> Result<u16, BlrError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn i8(&mut self) -> Result<i8, BlrError> {
        Ok(i8::from_le_bytes([self.u8()?]))
    }

    /// A name: length byte and bytes.
    fn name(&mut self) -> Result<String, BlrError> {
        let offset = self.at;
        let len = usize::from(self.u8()?);
        let bytes = self.take(len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| BlrError::Malformed {
            offset,
            what: "a name that is not UTF-8",
        })
    }

    fn deeper<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, BlrError>,
    ) -> Result<T, BlrError> {
        if self.depth >= MAX_DEPTH {
            return Err(BlrError::TooDeep);
        }
        self.depth += 1;
        let result = f(self);
        self.depth -= 1;
        result
    }

    fn stmt(&mut self) -> Result<Stmt, BlrError> {
        self.deeper(Self::stmt_inner)
    }

    fn stmt_inner(&mut self) -> Result<Stmt, BlrError> {
        let offset = self.at;
        let verb = self.u8()?;
        Ok(match verb {
            code::BEGIN => {
                let mut stmts = Vec::new();
                while self.peek()? != code::END {
                    stmts.push(self.stmt()?);
                }
                self.at += 1;
                Stmt::Begin(stmts)
            }
            code::MESSAGE => Stmt::Message(self.message()?),
            code::RECEIVE => Stmt::Receive {
                message: self.u8()?,
                body: Box::new(self.stmt()?),
            },
            code::SEND => Stmt::Send {
                message: self.u8()?,
                body: Box::new(self.stmt()?),
            },
            code::FOR => {
                let at = self.at;
                if self.u8()? != code::RSE {
                    return Err(BlrError::Unsupported {
                        verb: self.bytes.get(at).copied().unwrap_or(0),
                        offset: at,
                    });
                }
                let rse = self.rse()?;
                Stmt::For {
                    rse,
                    body: Box::new(self.stmt()?),
                }
            }
            code::ASSIGNMENT => Stmt::Assign {
                value: self.value()?,
                target: self.value()?,
            },
            _ => return Err(BlrError::Unsupported { verb, offset }),
        })
    }

    /// `blr_message number count item…` (the verb already read).
    fn message(&mut self) -> Result<BlrMessage, BlrError> {
        let number = u16::from(self.u8()?);
        let count = self.u16()?;
        let mut items = Vec::with_capacity(usize::from(count).min(1024));
        for _ in 0..count {
            items.push(self.item()?);
        }
        Ok(BlrMessage { number, items })
    }

    /// One data type with its modifiers.
    fn item(&mut self) -> Result<BlrItem, BlrError> {
        let offset = self.at;
        let dtype = self.u8()?;
        let mut item = BlrItem {
            dtype,
            scale: 0,
            length: 0,
            sub_type: 0,
            charset: 0,
        };
        match dtype {
            code::SHORT | code::LONG | code::QUAD | code::INT64 => item.scale = self.i8()?,
            code::TEXT | code::VARYING | code::CSTRING => item.length = self.u16()?,
            code::TEXT2 | code::VARYING2 | code::CSTRING2 => {
                item.charset = self.u16()?;
                item.length = self.u16()?;
            }
            code::BLOB2 => {
                item.sub_type = self.u16()?;
                item.charset = self.u16()?;
            }
            code::FLOAT
            | code::D_FLOAT
            | code::DOUBLE
            | code::SQL_DATE
            | code::SQL_TIME
            | code::TIMESTAMP
            | code::BOOL => {}
            _ => {
                return Err(BlrError::Unsupported {
                    verb: dtype,
                    offset,
                })
            }
        }
        Ok(item)
    }

    /// `blr_rse count stream… clause… blr_end` (`blr_rse` already read).
    fn rse(&mut self) -> Result<Rse, BlrError> {
        let count = self.u8()?;
        let mut rse = Rse {
            relations: Vec::new(),
            boolean: None,
            sort: Vec::new(),
            first: None,
        };
        for _ in 0..count {
            let offset = self.at;
            match self.u8()? {
                code::RELATION => {
                    let name = self.name()?;
                    let context = self.u8()?;
                    rse.relations.push((name, context));
                }
                verb => return Err(BlrError::Unsupported { verb, offset }),
            }
        }
        loop {
            let offset = self.at;
            match self.u8()? {
                code::END => return Ok(rse),
                code::BOOLEAN if rse.boolean.is_none() => rse.boolean = Some(self.value()?),
                code::FIRST if rse.first.is_none() => rse.first = Some(self.value()?),
                code::SORT if rse.sort.is_empty() => {
                    let keys = self.u8()?;
                    for _ in 0..keys {
                        let at = self.at;
                        let desc = match self.u8()? {
                            code::ASCENDING => false,
                            code::DESCENDING => true,
                            verb => return Err(BlrError::Unsupported { verb, offset: at }),
                        };
                        rse.sort.push((desc, self.value()?));
                    }
                }
                verb => return Err(BlrError::Unsupported { verb, offset }),
            }
        }
    }

    fn value(&mut self) -> Result<Value, BlrError> {
        self.deeper(Self::value_inner)
    }

    fn value_inner(&mut self) -> Result<Value, BlrError> {
        let offset = self.at;
        let verb = self.u8()?;
        Ok(match verb {
            code::FIELD => Value::Field {
                context: self.u8()?,
                name: self.name()?,
            },
            code::PARAMETER => Value::Parameter {
                message: self.u8()?,
                item: self.u16()?,
            },
            code::PARAMETER2 => Value::Parameter2 {
                message: self.u8()?,
                item: self.u16()?,
                flag: self.u16()?,
            },
            code::LITERAL => Value::Literal(self.literal()?),
            code::NULL => Value::Null,
            code::ADD
            | code::SUBTRACT
            | code::MULTIPLY
            | code::DIVIDE
            | code::CONCATENATE
            | code::EQL
            | code::NEQ
            | code::GTR
            | code::GEQ
            | code::LSS
            | code::LEQ
            | code::STARTING
            | code::AND
            | code::OR => Value::Binary {
                verb,
                left: Box::new(self.value()?),
                right: Box::new(self.value()?),
            },
            code::NOT => Value::Not(Box::new(self.value()?)),
            code::NEGATE => Value::Negate(Box::new(self.value()?)),
            code::MISSING => Value::Missing(Box::new(self.value()?)),
            _ => return Err(BlrError::Unsupported { verb, offset }),
        })
    }

    /// `blr_literal dtype value` (`blr_literal` already read).
    fn literal(&mut self) -> Result<Literal, BlrError> {
        let offset = self.at;
        let item = self.item()?;
        Ok(match item.dtype {
            code::SHORT => {
                let b = self.take(2)?;
                Literal::Integer {
                    value: i64::from(i16::from_le_bytes([b[0], b[1]])),
                    scale: item.scale,
                }
            }
            code::LONG => {
                let b = self.take(4)?;
                Literal::Integer {
                    value: i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])),
                    scale: item.scale,
                }
            }
            code::INT64 => {
                let b = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Literal::Integer {
                    value: i64::from_le_bytes(a),
                    scale: item.scale,
                }
            }
            code::TEXT | code::TEXT2 => {
                let bytes = self.take(usize::from(item.length))?;
                Literal::Text(String::from_utf8(bytes.to_vec()).map_err(|_| {
                    BlrError::Malformed {
                        offset,
                        what: "a text literal that is not UTF-8",
                    }
                })?)
            }
            verb => return Err(BlrError::Unsupported { verb, offset }),
        })
    }
}
