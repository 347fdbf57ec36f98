//! Tokens of the text form, each with its line and column.

use super::hex;
use crate::error::{Error, Result};

/// A token's kind and payload.
#[derive(Clone, Debug, PartialEq)]
pub enum Tok<'a> {
    /// A bare word: a name, a keyword or a number.
    Word(&'a str),
    /// A quoted string, escapes resolved.
    Quoted(Vec<u8>),
    /// `<hex digits>`.
    Binary(Vec<u8>),
    /// A single punctuation character: `: = , { } [ ] ( ) !`.
    Punct(char),
    /// The end of the input.
    Eof,
}

impl Tok<'_> {
    /// How the token reads in an error message.
    pub fn describe(&self) -> String {
        match self {
            Tok::Word(w) => format!("`{w}`"),
            Tok::Quoted(_) => "a quoted string".into(),
            Tok::Binary(_) => "a binary `<...>`".into(),
            Tok::Punct(c) => format!("`{c}`"),
            Tok::Eof => "the end of the input".into(),
        }
    }
}

/// A token and where it starts (1-based).
#[derive(Clone, Debug)]
pub struct Token<'a> {
    pub tok: Tok<'a>,
    pub line: u32,
    pub column: u32,
}

/// Characters allowed in a bare word.
pub fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

pub struct Lexer<'a> {
    src: &'a str,
    pos: usize,
    line: u32,
    column: u32,
}

impl<'a> Lexer<'a> {
    pub fn new(src: &'a str) -> Lexer<'a> {
        Lexer {
            src,
            pos: 0,
            line: 1,
            column: 1,
        }
    }

    fn peek_char(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek_char()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn skip_space_and_comments(&mut self) {
        while let Some(c) = self.peek_char() {
            if c == '#' {
                while !matches!(self.peek_char(), None | Some('\n')) {
                    self.bump();
                }
            } else if c.is_whitespace() {
                self.bump();
            } else {
                break;
            }
        }
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::parse(self.line, self.column, message)
    }

    /// The next token.
    pub fn next_token(&mut self) -> Result<Token<'a>> {
        self.skip_space_and_comments();
        let (line, column) = (self.line, self.column);
        let tok = match self.peek_char() {
            None => Tok::Eof,
            Some('"') => Tok::Quoted(self.quoted()?),
            Some('<') => Tok::Binary(self.binary()?),
            Some(c) if is_word_char(c) => {
                let start = self.pos;
                while self.peek_char().is_some_and(is_word_char) {
                    self.bump();
                }
                Tok::Word(&self.src[start..self.pos])
            }
            Some(c @ (':' | '=' | ',' | '{' | '}' | '[' | ']' | '(' | ')' | '!')) => {
                self.bump();
                Tok::Punct(c)
            }
            Some(c) => return Err(self.error(format!("unexpected character {c:?}"))),
        };
        Ok(Token { tok, line, column })
    }

    /// A quoted string; the opening quote is next.
    fn quoted(&mut self) -> Result<Vec<u8>> {
        let (line, column) = (self.line, self.column);
        self.bump();
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek_char() else {
                return Err(Error::parse(line, column, "unterminated string"));
            };
            match c {
                '"' => {
                    self.bump();
                    return Ok(out);
                }
                '\n' => return Err(Error::parse(line, column, "unterminated string")),
                '\\' => {
                    let (el, ec) = (self.line, self.column);
                    self.bump();
                    let byte = match self.bump() {
                        Some('\\') => b'\\',
                        Some('"') => b'"',
                        Some('n') => b'\n',
                        Some('t') => b'\t',
                        Some('r') => b'\r',
                        Some('x') => {
                            let hi = self
                                .bump()
                                .and_then(|c| hex::digit(c as u8).filter(|_| c.is_ascii()));
                            let lo = self
                                .bump()
                                .and_then(|c| hex::digit(c as u8).filter(|_| c.is_ascii()));
                            match (hi, lo) {
                                (Some(h), Some(l)) => h << 4 | l,
                                _ => {
                                    return Err(Error::parse(el, ec, "`\\x` needs two hex digits"))
                                }
                            }
                        }
                        _ => {
                            return Err(Error::parse(
                                el,
                                ec,
                                "unknown escape (expected \\\\, \\\", \\n, \\t, \\r or \\xHH)",
                            ))
                        }
                    };
                    if byte == 0 {
                        return Err(Error::parse(
                            el,
                            ec,
                            "NUL is not allowed in names and strings",
                        ));
                    }
                    out.push(byte);
                }
                c if c.is_control() => {
                    return Err(self.error(format!(
                        "control character {c:?} in a string: write it as an escape"
                    )))
                }
                c => {
                    self.bump();
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }

    /// A binary `<hex>`; the `<` is next. Whitespace may separate bytes.
    fn binary(&mut self) -> Result<Vec<u8>> {
        let (line, column) = (self.line, self.column);
        self.bump();
        let mut out = Vec::new();
        let mut high: Option<u8> = None;
        loop {
            self.skip_space_and_comments();
            match self.peek_char() {
                None => {
                    return Err(Error::parse(
                        line,
                        column,
                        "unterminated binary: missing `>`",
                    ))
                }
                Some('>') => {
                    if high.is_some() {
                        return Err(self.error("odd number of hex digits in binary"));
                    }
                    self.bump();
                    return Ok(out);
                }
                Some(c) => {
                    let Some(d) = c.is_ascii().then(|| hex::digit(c as u8)).flatten() else {
                        return Err(self.error(format!("expected a hex digit or `>`, found {c:?}")));
                    };
                    if self.peek_is_split_byte(high) {
                        return Err(self.error("a byte's two hex digits cannot be split by space"));
                    }
                    self.bump();
                    match high.take() {
                        Some(h) => out.push(h << 4 | d),
                        None => high = Some(d),
                    }
                }
            }
        }
    }

    /// Whether the digit about to be read completes a byte whose first
    /// digit was followed by whitespace (`<0 a>` is a typo, not `0x0a`).
    fn peek_is_split_byte(&self, high: Option<u8>) -> bool {
        high.is_some()
            && self.src[..self.pos]
                .chars()
                .next_back()
                .is_some_and(|c| !c.is_ascii_hexdigit())
    }
}
