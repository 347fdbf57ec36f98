//! Recursive-descent parser of the text form (grammar in `docs/nvlist.md`).

use super::lexer::{Lexer, Tok, Token};
use crate::error::{Error, ErrorKind, Result};
use crate::{DecodeOptions, Flags, NvList, NvString, Type, Value};

pub fn parse(text: &str) -> Result<NvList> {
    let mut p = Parser {
        lexer: Lexer::new(text),
        peeked: None,
        depth: 0,
        max_depth: DecodeOptions::default().max_depth,
    };
    let list = p.body()?;
    let t = p.next()?;
    if t.tok != Tok::Eof {
        return Err(unexpected(&t, "a pair name or the end of the input"));
    }
    Ok(list)
}

struct Parser<'a> {
    lexer: Lexer<'a>,
    peeked: Option<Token<'a>>,
    depth: u32,
    max_depth: u32,
}

fn unexpected(t: &Token<'_>, expected: &str) -> Error {
    Error::parse(
        t.line,
        t.column,
        format!("expected {expected}, found {}", t.tok.describe()),
    )
}

const TYPES: &str =
    "a type (null, bool, number, string, binary, nvlist, bool[], number[], string[], nvlist[])";

impl<'a> Parser<'a> {
    fn next(&mut self) -> Result<Token<'a>> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lexer.next_token(),
        }
    }

    fn peek(&mut self) -> Result<&Token<'a>> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        Ok(self.peeked.as_ref().expect("just filled"))
    }

    fn expect_punct(&mut self, c: char, expected: &str) -> Result<Token<'a>> {
        let t = self.next()?;
        if t.tok == Tok::Punct(c) {
            Ok(t)
        } else {
            Err(unexpected(&t, expected))
        }
    }

    /// Pairs up to `}` or the end, after an optional `!flags(...)`.
    fn body(&mut self) -> Result<NvList> {
        let flags = if self.peek()?.tok == Tok::Punct('!') {
            self.flags()?
        } else {
            Flags::NONE
        };
        let mut list = NvList::with_flags(flags);
        loop {
            let t = self.peek()?;
            if matches!(t.tok, Tok::Eof | Tok::Punct('}')) {
                return Ok(list);
            }
            let (line, column) = (t.line, t.column);
            let (name, value) = self.pair()?;
            list.try_push(name, value).map_err(|e| match e.kind() {
                ErrorKind::InvalidPair { reason, .. } => {
                    Error::parse(line, column, reason.to_string())
                }
                _ => e,
            })?;
        }
    }

    /// `!flags(ignore-case, no-unique)`.
    fn flags(&mut self) -> Result<Flags> {
        self.next()?; // `!`
        let t = self.next()?;
        if t.tok != Tok::Word("flags") {
            return Err(unexpected(&t, "`flags` after `!`"));
        }
        self.expect_punct('(', "`(`")?;
        let mut flags = Flags::NONE;
        loop {
            let t = self.next()?;
            flags = flags
                | match t.tok {
                    Tok::Word("ignore-case") => Flags::IGNORE_CASE,
                    Tok::Word("no-unique") => Flags::NO_UNIQUE,
                    Tok::Punct(')') => return Ok(flags),
                    _ => return Err(unexpected(&t, "`ignore-case`, `no-unique` or `)`")),
                };
            let t = self.next()?;
            match t.tok {
                Tok::Punct(',') => {}
                Tok::Punct(')') => return Ok(flags),
                _ => return Err(unexpected(&t, "`,` or `)`")),
            }
        }
    }

    /// `name: type = value`, or `name: null`.
    fn pair(&mut self) -> Result<(NvString, Value)> {
        let t = self.next()?;
        let name = match t.tok {
            Tok::Word(w) => NvString::from(w),
            Tok::Quoted(q) => NvString::from(q),
            _ => return Err(unexpected(&t, "a pair name")),
        };
        self.expect_punct(':', "`:` after the pair name")?;
        let ty = self.ty()?;
        if ty == Type::Null {
            return Ok((name, Value::Null));
        }
        self.expect_punct('=', "`=` after the type")?;
        let value = self.value(ty)?;
        Ok((name, value))
    }

    fn ty(&mut self) -> Result<Type> {
        let t = self.next()?;
        let scalar = match t.tok {
            Tok::Word("null") => return Ok(Type::Null),
            Tok::Word("binary") => return Ok(Type::Binary),
            Tok::Word("bool") => Type::Bool,
            Tok::Word("number") => Type::Number,
            Tok::Word("string") => Type::String,
            Tok::Word("nvlist") => Type::NvList,
            _ => return Err(unexpected(&t, TYPES)),
        };
        if self.peek()?.tok != Tok::Punct('[') {
            return Ok(scalar);
        }
        self.next()?;
        self.expect_punct(']', "`]` to close the array type")?;
        Ok(match scalar {
            Type::Bool => Type::BoolArray,
            Type::Number => Type::NumberArray,
            Type::String => Type::StringArray,
            _ => Type::NvListArray,
        })
    }

    fn value(&mut self, ty: Type) -> Result<Value> {
        Ok(match ty {
            Type::Bool => Value::Bool(self.bool()?),
            Type::Number => Value::Number(self.number()?),
            Type::String => Value::String(self.string()?),
            Type::Binary => {
                let t = self.next()?;
                match t.tok {
                    Tok::Binary(b) if b.is_empty() => {
                        return Err(Error::parse(
                            t.line,
                            t.column,
                            "a binary cannot be empty (libnv cannot store one)",
                        ))
                    }
                    Tok::Binary(b) => Value::Binary(b),
                    _ => return Err(unexpected(&t, "a binary `<hex digits>`")),
                }
            }
            Type::NvList => Value::NvList(self.nested()?),
            Type::BoolArray => Value::BoolArray(self.array(Self::bool)?),
            Type::NumberArray => Value::NumberArray(self.array(Self::number)?),
            Type::StringArray => Value::StringArray(self.array(Self::string)?),
            Type::NvListArray => Value::NvListArray(self.array(Self::nested)?),
            Type::Null | Type::Descriptor | Type::DescriptorArray => {
                unreachable!("not produced by ty()")
            }
        })
    }

    fn bool(&mut self) -> Result<bool> {
        let t = self.next()?;
        match t.tok {
            Tok::Word("true") => Ok(true),
            Tok::Word("false") => Ok(false),
            _ => Err(unexpected(&t, "`true` or `false`")),
        }
    }

    fn number(&mut self) -> Result<u64> {
        let t = self.next()?;
        let Tok::Word(w) = t.tok else {
            return Err(unexpected(&t, "a number"));
        };
        parse_number(w).ok_or_else(|| {
            Error::parse(
                t.line,
                t.column,
                format!("`{w}` is not a number (0..=18446744073709551615, 0x.., 0o.., 0b.., or a negative i64)"),
            )
        })
    }

    fn string(&mut self) -> Result<NvString> {
        let t = self.next()?;
        match t.tok {
            Tok::Quoted(q) => Ok(NvString::from(q)),
            _ => Err(unexpected(&t, "a quoted string")),
        }
    }

    fn nested(&mut self) -> Result<NvList> {
        let open = self.expect_punct('{', "`{`")?;
        if self.depth >= self.max_depth {
            let message = format!("lists nest deeper than {}", self.max_depth);
            return Err(Error::parse(open.line, open.column, message));
        }
        self.depth += 1;
        let list = self.body()?;
        self.depth -= 1;
        self.expect_punct('}', "a pair name or `}`")?;
        Ok(list)
    }

    /// `[item, item, ...]`, a trailing comma allowed, never empty.
    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Result<T>) -> Result<Vec<T>> {
        let open = self.expect_punct('[', "`[`")?;
        let mut items = Vec::new();
        loop {
            if self.peek()?.tok == Tok::Punct(']') {
                self.next()?;
                if items.is_empty() {
                    return Err(Error::parse(
                        open.line,
                        open.column,
                        "an array cannot be empty (libnv cannot store one)",
                    ));
                }
                return Ok(items);
            }
            items.push(item(self)?);
            let t = self.next()?;
            match t.tok {
                Tok::Punct(',') => {}
                Tok::Punct(']') => return Ok(items),
                _ => return Err(unexpected(&t, "`,` or `]`")),
            }
        }
    }
}

/// A number: decimal, `0x`/`0o`/`0b`, `_` separators, or a negative i64
/// (stored as its two's complement, as C's `(uint64_t)-1`).
pub fn parse_number(word: &str) -> Option<u64> {
    let clean: String = word.chars().filter(|&c| c != '_').collect();
    if word.starts_with('_') || word.ends_with('_') {
        return None;
    }
    if let Some(neg) = clean.strip_prefix('-') {
        if !neg.bytes().all(|b| b.is_ascii_digit()) || neg.is_empty() {
            return None;
        }
        return format!("-{neg}").parse::<i64>().ok().map(|v| v as u64);
    }
    let (digits, radix) = match clean.get(..2) {
        Some("0x" | "0X") => (&clean[2..], 16),
        Some("0o" | "0O") => (&clean[2..], 8),
        Some("0b" | "0B") => (&clean[2..], 2),
        _ => (&clean[..], 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("0"), Some(0));
        assert_eq!(parse_number("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_number("18446744073709551616"), None);
        assert_eq!(parse_number("0xdead_beef"), Some(0xdead_beef));
        assert_eq!(parse_number("0b101"), Some(5));
        assert_eq!(parse_number("0o17"), Some(15));
        assert_eq!(parse_number("-1"), Some(u64::MAX));
        assert_eq!(parse_number("-9223372036854775808"), Some(1 << 63));
        assert_eq!(parse_number("-9223372036854775809"), None);
        assert_eq!(parse_number("-"), None);
        assert_eq!(parse_number("0x"), None);
        assert_eq!(parse_number("+1"), None);
        assert_eq!(parse_number("1_"), None);
        assert_eq!(parse_number("12a"), None);
    }
}
