//! The lexer: source text to tokens with exact positions.
//!
//! The parser takes tokens one at a time from a [`TokenStream`] (and keeps only a window of
//! them), so a large file never has all its tokens in memory; a stream can also start in the
//! middle of a source, where a method begins, to parse that method again. After the last
//! token comes [`Tok::Eof`]. Lexical errors (an unterminated string, a stray character) are reported as
//! diagnostics and leave a [`Tok::Error`] token, so the parser can keep going and stay quiet
//! about the same spot.
//!
//! Numbers are read without a sign: a `-` directly in front of a number is a separate
//! [`Tok::Binary`] token that the parser folds into a negative literal where a literal may
//! stand (`3 - -2`, `#(-1)`, `x := -5`). A binary operator stops in front of a `-` that is
//! followed by a digit, so `3--2` reads as `3 - -2`.

use dashu_int::ops::{BitTest, UnsignedAbs};
use dashu_int::{IBig, UBig};

use super::code::SourcePos;
use super::error::Diag;

/// Exponents of integer literals above this are refused (`1e10000` is already 4 KB of digits).
const MAX_INT_EXPONENT: usize = 10_000;

/// A token kind, with its value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// `foo`
    Ident(String),
    /// `foo:` (with the colon)
    Keyword(String),
    /// A binary operator: `+`, `->`, `<=`, `-` …
    Binary(String),
    /// `|` (temporaries, block parameters, or the binary operator `|`)
    Bar,
    /// An integer literal (non-negative, except radix literals written `16r-FF`).
    Int(IBig),
    /// A float literal.
    Float(f64),
    /// `'text'`
    Str(String),
    /// `#foo`, `#at:put:`, `#+`, `#'text'`
    Sym(String),
    /// `$a`
    Char(char),
    /// `#(`
    HashParen,
    /// `#[`
    HashBracket,
    LParen,
    RParen,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    Period,
    Semicolon,
    Caret,
    /// `:=`
    Assign,
    /// `:` (before a block parameter)
    Colon,
    /// `----` (four or more dashes): between the instance and class side of a class.
    Separator,
    /// Something the lexer could not read; already reported.
    Error,
    /// End of the source.
    Eof,
}

/// A token and where it is.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    /// Position of the first character.
    pub pos: SourcePos,
    /// Byte offset just past the last character.
    pub end: usize,
}

impl Token {
    /// How an error message refers to this token.
    pub fn describe(&self, source: &str) -> String {
        match &self.tok {
            Tok::Eof => "end of input".into(),
            Tok::Error => "invalid input".into(),
            Tok::Str(_) => "a string literal".into(),
            Tok::Sym(_) => "a symbol literal".into(),
            Tok::Char(_) => "a character literal".into(),
            Tok::Int(_) | Tok::Float(_) => {
                format!("the number {}", token_text(source, self))
            }
            Tok::HashParen => "'#('".into(),
            Tok::HashBracket => "'#['".into(),
            _ => format!("'{}'", token_text(source, self)),
        }
    }
}

/// The source text of a token, shortened when long.
fn token_text(source: &str, t: &Token) -> String {
    let text = source.get(t.pos.offset as usize..t.end).unwrap_or("");
    if text.chars().count() > 24 {
        let short: String = text.chars().take(20).collect();
        format!("{short}...")
    } else {
        text.to_string()
    }
}

/// Whether character `c`, followed by `next`, ends a line: a line feed, or a carriage return
/// that is not the first half of a CR LF pair (old Mac files end lines with CR alone). Every
/// line count of the compiler follows this rule, so positions agree with editors.
pub(crate) fn ends_line(c: char, next: Option<char>) -> bool {
    c == '\n' || (c == '\r' && next != Some('\n'))
}

/// Characters that make up binary operators (`|` is a token of its own).
pub(crate) fn is_binary_char(c: char) -> bool {
    matches!(
        c,
        '~' | '-' | '!' | '@' | '%' | '&' | '*' | '+' | '/' | '\\' | '<' | '>' | '=' | ',' | '?'
    )
}

pub(crate) fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

pub(crate) fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits `source` into tokens (ending with `Eof`) and lexical diagnostics.
#[cfg(test)]
pub(crate) fn tokenize(source: &str) -> (Vec<Token>, Vec<Diag>) {
    let mut stream = TokenStream::new(source);
    let mut toks = Vec::new();
    loop {
        let t = stream.next_token();
        let end = t.tok == Tok::Eof;
        toks.push(t);
        if end {
            break;
        }
    }
    (toks, stream.take_diags())
}

/// Tokens on demand: the parser asks for them as it goes, so that a large source never has
/// all its tokens in memory at once (a 50 MB class file has tens of millions).
pub(crate) struct TokenStream<'s> {
    lx: Lexer<'s>,
    /// A token found ahead of the one handed out (after an unterminated comment's `Error`).
    pending: Option<Token>,
}

impl<'s> TokenStream<'s> {
    /// The tokens of `source` from its start.
    pub(crate) fn new(source: &'s str) -> TokenStream<'s> {
        TokenStream::starting_at(
            source,
            SourcePos {
                line: 1,
                column: 1,
                offset: 0,
            },
        )
    }

    /// The tokens of `source` from `at`, a position of a token boundary (where the lexer was
    /// when it found a token): positions are those of `source` as a whole.
    pub(crate) fn starting_at(source: &'s str, at: SourcePos) -> TokenStream<'s> {
        TokenStream {
            lx: Lexer {
                src: source,
                pos: (at.offset as usize).min(source.len()),
                line: at.line,
                col: at.column,
                diags: Vec::new(),
            },
            pending: None,
        }
    }

    /// The next token; `Eof` at the end, and again after it.
    pub(crate) fn next_token(&mut self) -> Token {
        if let Some(t) = self.pending.take() {
            return t;
        }
        let lx = &mut self.lx;
        let comment = lx.skip_trivia();
        let start = lx.here();
        let token = match lx.peek() {
            None => Token {
                tok: Tok::Eof,
                pos: start,
                end: lx.pos,
            },
            Some(c) => {
                let tok = lx.token(c, start);
                Token {
                    tok,
                    pos: start,
                    end: lx.pos,
                }
            }
        };
        match comment {
            // Already reported; the parser stays quiet about what the comment swallowed.
            Some(at) => {
                self.pending = Some(token);
                Token {
                    tok: Tok::Error,
                    pos: at,
                    end: start.offset as usize,
                }
            }
            None => token,
        }
    }

    /// The lexical errors found so far (handed over once).
    pub(crate) fn take_diags(&mut self) -> Vec<Diag> {
        std::mem::take(&mut self.lx.diags)
    }
}

struct Lexer<'s> {
    src: &'s str,
    /// Byte offset of the next character.
    pos: usize,
    line: u32,
    col: u32,
    diags: Vec<Diag>,
}

impl Lexer<'_> {
    fn here(&self) -> SourcePos {
        SourcePos {
            line: self.line,
            column: self.col,
            offset: u32::try_from(self.pos).unwrap_or(u32::MAX),
        }
    }

    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_nth(&self, n: usize) -> Option<char> {
        self.rest().chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if ends_line(c, self.peek()) {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let mut s = String::new();
        while let Some(c) = self.peek() {
            if !f(c) {
                break;
            }
            s.push(c);
            self.bump();
        }
        s
    }

    fn error(&mut self, pos: SourcePos, message: impl Into<String>) -> Tok {
        self.diags.push(Diag::new(pos, message));
        Tok::Error
    }

    /// Skips whitespace and `"comments"`; answers where an unterminated comment starts.
    fn skip_trivia(&mut self) -> Option<SourcePos> {
        loop {
            match self.peek() {
                Some(c) if c.is_whitespace() => {
                    self.bump();
                }
                Some('"') => {
                    let start = self.here();
                    self.bump();
                    loop {
                        match self.bump() {
                            Some('"') => break,
                            Some(_) => {}
                            None => {
                                self.diags.push(Diag::new(start, "unterminated comment"));
                                return Some(start);
                            }
                        }
                    }
                }
                _ => return None,
            }
        }
    }

    /// Reads one token starting with `c`. Always consumes at least one character.
    fn token(&mut self, c: char, start: SourcePos) -> Tok {
        match c {
            c if is_ident_start(c) => {
                let name = self.take_while(is_ident_char);
                if self.peek() == Some(':') && self.peek_nth(1) != Some('=') {
                    self.bump();
                    Tok::Keyword(name + ":")
                } else {
                    Tok::Ident(name)
                }
            }
            '0'..='9' => self.number(start),
            '\'' => {
                self.bump();
                match self.string_body(start, "unterminated string literal") {
                    Some(s) => Tok::Str(s),
                    None => Tok::Error,
                }
            }
            '$' => {
                self.bump();
                match self.bump() {
                    Some(ch) => Tok::Char(ch),
                    None => self.error(start, "expected a character after '$'"),
                }
            }
            '#' => self.hash(start),
            ':' => {
                self.bump();
                if self.peek() == Some('=') {
                    self.bump();
                    Tok::Assign
                } else {
                    Tok::Colon
                }
            }
            '-' if self.rest().starts_with("----") => {
                self.take_while(|c| c == '-');
                Tok::Separator
            }
            c if is_binary_char(c) => Tok::Binary(self.binary_op()),
            _ => {
                self.bump();
                match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    '{' => Tok::LBrace,
                    '}' => Tok::RBrace,
                    '.' => Tok::Period,
                    ';' => Tok::Semicolon,
                    '^' => Tok::Caret,
                    '|' => Tok::Bar,
                    _ => self.error(start, format!("unexpected character {c:?}")),
                }
            }
        }
    }

    /// A binary operator; stops in front of a `-` that starts a negative number.
    fn binary_op(&mut self) -> String {
        let mut op = String::new();
        if let Some(c) = self.bump() {
            op.push(c);
        }
        while let Some(c) = self.peek() {
            if !is_binary_char(c)
                || (c == '-' && self.peek_nth(1).is_some_and(|d| d.is_ascii_digit()))
            {
                break;
            }
            op.push(c);
            self.bump();
        }
        op
    }

    /// The body of a string literal (or a quoted symbol), after its opening quote.
    fn string_body(&mut self, start: SourcePos, unterminated: &str) -> Option<String> {
        let mut s = String::new();
        loop {
            let here = self.here();
            match self.bump() {
                None => {
                    self.diags.push(Diag::new(start, unterminated));
                    return None;
                }
                Some('\'') => {
                    if self.peek() == Some('\'') {
                        self.bump();
                        s.push('\'');
                    } else {
                        return Some(s);
                    }
                }
                Some('\\') => match self.bump() {
                    Some('t') => s.push('\t'),
                    Some('b') => s.push('\u{8}'),
                    Some('n') => s.push('\n'),
                    Some('r') => s.push('\r'),
                    Some('f') => s.push('\u{c}'),
                    Some('0') => s.push('\0'),
                    Some('\'') => s.push('\''),
                    Some('\\') => s.push('\\'),
                    Some(other) => {
                        self.diags.push(Diag::new(
                            here,
                            format!(
                                "unknown escape sequence '\\{other}' (use \\t \\b \\n \\r \\f \\0 \\' or \\\\)"
                            ),
                        ));
                        s.push(other);
                    }
                    None => {
                        self.diags.push(Diag::new(start, unterminated));
                        return None;
                    }
                },
                Some(c) => s.push(c),
            }
        }
    }

    /// `#(`, `#[`, `#symbol`, `#at:put:`, `#+`, `#'quoted'`.
    fn hash(&mut self, start: SourcePos) -> Tok {
        self.bump();
        match self.peek() {
            Some('(') => {
                self.bump();
                Tok::HashParen
            }
            Some('[') => {
                self.bump();
                Tok::HashBracket
            }
            Some('\'') => {
                self.bump();
                match self.string_body(start, "unterminated symbol literal") {
                    Some(s) => Tok::Sym(s),
                    None => Tok::Error,
                }
            }
            Some(c) if is_ident_start(c) => {
                Tok::Sym(self.take_while(|c| is_ident_char(c) || c == ':'))
            }
            Some(c) if is_binary_char(c) || c == '|' => {
                Tok::Sym(self.take_while(|c| is_binary_char(c) || c == '|'))
            }
            _ => self.error(start, "expected a symbol, '(' or '[' after '#'"),
        }
    }

    /// A number: `42`, `16r1F`, `16r-1F`, `2r1e4`, `1.5`, `1e10`, `2.5e-3`, `1.5e+2`, `2r1.1`.
    ///
    /// An integer mantissa with a non-negative exponent is an integer (`1e3` = 1000, as in
    /// Smalltalk-80); a fraction or a negative exponent makes a float (smalt has no Fractions,
    /// so `1e-3` and `2r1e-2` are the floats 0.001 and 0.25).
    fn number(&mut self, start: SourcePos) -> Tok {
        let int_part = self.take_while(|c| c.is_ascii_digit());
        if self.peek() == Some('r') {
            return self.radix_number(&int_part, start);
        }
        let mut frac = None;
        if self.peek() == Some('.') && self.peek_nth(1).is_some_and(|c| c.is_ascii_digit()) {
            self.bump();
            frac = Some(self.take_while(|c| c.is_ascii_digit()));
        }
        let exp = match self.exponent() {
            Ok(e) => e,
            Err(tok) => return tok,
        };
        let negative_exp = exp.as_deref().is_some_and(|e| e.starts_with('-'));
        if frac.is_some() || negative_exp {
            let text = format!(
                "{int_part}.{}e{}",
                frac.as_deref().unwrap_or("0"),
                exp.as_deref().unwrap_or("0")
            );
            return match text.parse::<f64>() {
                Ok(v) if v.is_finite() => Tok::Float(v),
                _ => self.error(start, "float literal out of range"),
            };
        }
        let mut value = IBig::from_str_radix(&int_part, 10).unwrap_or_default();
        if let Some(e) = exp {
            match e.parse::<usize>() {
                Ok(e) if e <= MAX_INT_EXPONENT => value *= IBig::from(10u8).pow(e),
                _ => return self.error(start, "integer literal too large (exponent above 10000)"),
            }
        }
        Tok::Int(value)
    }

    /// After the digits of a number, at an `r`: a radix number `16r1F`, `16r-1F`, `2r1e4`,
    /// `2r1.1`, `36rZZ`. Digits may be upper or lower case; an `e` is an exponent only where it
    /// is not a digit (radix 14 and below).
    fn radix_number(&mut self, radix_text: &str, start: SourcePos) -> Tok {
        self.bump();
        let radix = radix_text
            .parse::<u32>()
            .ok()
            .filter(|r| (2..=36).contains(r));
        let Some(radix) = radix else {
            self.take_while(|c| c.is_ascii_alphanumeric() || c == '-');
            return self.error(start, "radix must be between 2 and 36");
        };
        let negative = self.peek() == Some('-');
        if negative {
            self.bump();
        }
        if self.peek().is_none_or(|c| !c.is_digit(radix)) {
            let here = self.here();
            return self.error(
                here,
                format!("expected a digit of radix {radix} after '{radix_text}r'"),
            );
        }
        let int_digits = self.take_while(|c| c.is_digit(radix));
        let mut frac_digits = String::new();
        if self.peek() == Some('.') && self.peek_nth(1).is_some_and(|c| c.is_digit(radix)) {
            self.bump();
            frac_digits = self.take_while(|c| c.is_digit(radix));
        }
        let exp = match self.exponent() {
            Ok(e) => e,
            Err(tok) => return tok,
        };
        if let Some(c) = self.peek().filter(|c| c.is_ascii_alphanumeric()) {
            let here = self.here();
            self.take_while(|c| c.is_ascii_alphanumeric());
            return self.error(here, format!("'{c}' is not a digit of radix {radix}"));
        }
        let digits = format!("{int_digits}{frac_digits}");
        let mantissa = IBig::from_str_radix(&digits, radix).unwrap_or_default();
        let mantissa = if negative { -mantissa } else { mantissa };
        // The value is mantissa * radix^scale.
        // An exponent too long for an i64 is far out of range either way.
        let exp_value = match exp.as_deref().map(str::parse::<i64>) {
            None => 0,
            Some(Ok(e)) => e,
            Some(Err(_)) if exp.as_deref().is_some_and(|e| e.starts_with('-')) => i64::MIN / 2,
            Some(Err(_)) => i64::MAX / 2,
        };
        let scale = exp_value.saturating_sub(frac_digits.len() as i64);
        if frac_digits.is_empty() && scale >= 0 {
            if scale as usize > MAX_INT_EXPONENT {
                return self.error(start, "integer literal too large (exponent above 10000)");
            }
            return Tok::Int(mantissa * IBig::from(radix).pow(scale as usize));
        }
        match radix_float(&mantissa, radix, scale, digits.len()) {
            Some(v) => Tok::Float(v),
            None => self.error(start, "float literal out of range"),
        }
    }

    /// An exponent `e12`, `e-3`, `e+2`, returned as its signed digits (`"12"`, `"-3"`, `"2"`);
    /// `None` when there is no `e`, or the `e` starts a name (`2even`). An `e` followed by
    /// neither digits nor a name (`1.5e`, `2e-x`) is an error.
    fn exponent(&mut self) -> Result<Option<String>, Tok> {
        if self.peek() != Some('e') {
            return Ok(None);
        }
        let sign = match self.peek_nth(1) {
            Some(c @ ('-' | '+')) if self.peek_nth(2).is_some_and(|d| d.is_ascii_digit()) => {
                Some(c)
            }
            Some(d) if d.is_ascii_digit() => None,
            Some(c) if is_ident_char(c) => return Ok(None),
            _ => {
                self.bump();
                let here = self.here();
                return Err(self.error(here, "expected the digits of the exponent after 'e'"));
            }
        };
        self.bump();
        if sign.is_some() {
            self.bump();
        }
        let digits = self.take_while(|c| c.is_ascii_digit());
        Ok(Some(match sign {
            Some('-') => format!("-{digits}"),
            _ => digits,
        }))
    }
}

/// `mantissa * radix^scale` as the nearest float (`digits`: how many digits the mantissa was
/// written with), or `None` if it is too large. The division for a negative scale is done on
/// integers, so the result is rounded once (twice at most for subnormal results).
fn radix_float(mantissa: &IBig, radix: u32, scale: i64, digits: usize) -> Option<f64> {
    // 2^1100 is above the largest float and 2^-1100 below the smallest, for every radix.
    const RANGE: i64 = 1100;
    if *mantissa == IBig::ZERO {
        return Some(0.0);
    }
    let magnitude = if scale >= 0 {
        if scale > RANGE {
            return None;
        }
        let v = mantissa.clone().unsigned_abs() * UBig::from(radix).pow(scale as usize);
        v.to_f64().value()
    } else {
        // |mantissa| < radix^digits, so the value is below radix^(digits + scale).
        if (digits as i64).saturating_add(scale) < -RANGE {
            return Some(if *mantissa < IBig::ZERO { -0.0 } else { 0.0 });
        }
        let den = UBig::from(radix).pow(scale.unsigned_abs() as usize);
        let num = mantissa.clone().unsigned_abs();
        // Shift so that the quotient has at least 64 significant bits, and keep a sticky bit
        // for a non-zero remainder: converting the quotient then rounds correctly.
        let shift = (den.bit_len() + 64).saturating_sub(num.bit_len());
        let shifted = num << shift;
        let (q, r) = (&shifted / &den, &shifted % &den);
        let q = if r == UBig::ZERO { q } else { q | UBig::ONE };
        scale_by_power_of_two(q.to_f64().value(), -(shift as i64))
    };
    let v = if *mantissa < IBig::ZERO {
        -magnitude
    } else {
        magnitude
    };
    v.is_finite().then_some(v)
}

/// `x * 2^e`, without overflowing or underflowing in between.
fn scale_by_power_of_two(mut x: f64, mut e: i64) -> f64 {
    while e < -1000 {
        x *= 2f64.powi(-1000);
        e += 1000;
    }
    while e > 1000 {
        x *= 2f64.powi(1000);
        e -= 1000;
    }
    x * 2f64.powi(e as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        let (t, d) = tokenize(src);
        assert!(d.is_empty(), "unexpected diagnostics for {src:?}: {d:?}");
        t.into_iter().map(|t| t.tok).collect()
    }

    fn one(src: &str) -> Tok {
        let t = toks(src);
        assert_eq!(t.len(), 2, "{src:?} gave {t:?}");
        t[0].clone()
    }

    fn int(v: i64) -> Tok {
        Tok::Int(IBig::from(v))
    }

    fn err(src: &str) -> String {
        let (_, d) = tokenize(src);
        assert!(!d.is_empty(), "expected an error for {src:?}");
        d[0].message.clone()
    }

    #[test]
    fn integers() {
        assert_eq!(one("0"), int(0));
        assert_eq!(one("42"), int(42));
        assert_eq!(one("007"), int(7));
        let big = "123456789012345678901234567890";
        assert_eq!(one(big), Tok::Int(big.parse().unwrap()));
    }

    #[test]
    fn radix_integers() {
        assert_eq!(one("16r1F"), int(31));
        assert_eq!(one("16r1f"), int(31));
        assert_eq!(one("2r1010"), int(10));
        assert_eq!(one("36rZZ"), int(36 * 36 - 1));
        assert_eq!(one("16r-FF"), int(-255));
        assert_eq!(one("2r1e4"), int(16));
        assert_eq!(one("16r1e4"), int(0x1e4));
        assert_eq!(
            one("16rFFFFFFFFFFFFFFFFFFFF"),
            Tok::Int(IBig::from_str_radix("FFFFFFFFFFFFFFFFFFFF", 16).unwrap())
        );
        assert_eq!(one("10r99"), int(99));
        assert_eq!(one("2r-101"), int(-5));
        assert!(err("40r12").contains("radix must be between 2 and 36"));
        assert!(err("1r0").contains("radix must be between 2 and 36"));
        assert!(err("0r").contains("radix must be between 2 and 36"));
    }

    #[test]
    fn radix_numbers_without_digits_or_with_wrong_digits() {
        assert_eq!(err("16r"), "expected a digit of radix 16 after '16r'");
        assert_eq!(err("16r x"), "expected a digit of radix 16 after '16r'");
        assert_eq!(err("16r-"), "expected a digit of radix 16 after '16r'");
        assert_eq!(err("2rG"), "expected a digit of radix 2 after '2r'");
        assert_eq!(err("2r102"), "'2' is not a digit of radix 2");
        assert_eq!(err("8r78"), "'8' is not a digit of radix 8");
        assert_eq!(err("16rFG"), "'G' is not a digit of radix 16");
        assert_eq!(err("2r1e"), "expected the digits of the exponent after 'e'");
        assert_eq!(err("2r1ex"), "'e' is not a digit of radix 2");
        // The error is at the offending character, and the rest of the number is skipped.
        let (t, d) = tokenize("2r102 + 1");
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].pos.column, 5);
        assert_eq!(t[1].tok, Tok::Binary("+".into()));
    }

    #[test]
    fn radix_fractions_and_negative_exponents_are_floats() {
        assert_eq!(one("2r1.1"), Tok::Float(1.5));
        assert_eq!(one("16r1.8"), Tok::Float(1.5));
        assert_eq!(one("16r-A.8"), Tok::Float(-10.5));
        assert_eq!(one("2r1e-2"), Tok::Float(0.25));
        assert_eq!(one("2r1.1e1"), Tok::Float(3.0));
        assert_eq!(one("10r1e-1"), Tok::Float(0.1));
        assert_eq!(one("3r0.1"), Tok::Float(1.0 / 3.0));
        assert_eq!(one("10r0.1"), Tok::Float(0.1));
        assert_eq!(
            one("10r0.000000000000000000000000000000001"),
            Tok::Float(1e-33)
        );
        assert_eq!(one("2r1e-1074"), Tok::Float(f64::from_bits(1)));
        assert_eq!(one("2r1e-2000"), Tok::Float(0.0));
        assert_eq!(one("2r1e-99999999999999999999999"), Tok::Float(0.0));
        assert_eq!(one("2r0.0"), Tok::Float(0.0));
        assert!(err("2r1.1e2000").contains("out of range"));
        assert!(err("2r1e99999999999999999999999").contains("too large"));
        // a period not followed by a digit of the radix ends the statement
        assert_eq!(toks("2r1.2"), vec![int(1), Tok::Period, int(2), Tok::Eof]);
    }

    #[test]
    fn floats_and_exponents() {
        assert_eq!(one("1.5"), Tok::Float(1.5));
        assert_eq!(one("2.5e-3"), Tok::Float(0.0025));
        assert_eq!(one("1.5e+2"), Tok::Float(150.0));
        assert_eq!(one("1.0e10"), Tok::Float(1e10));
        assert_eq!(one("1e10"), int(10_000_000_000));
        assert_eq!(one("1e-3"), Tok::Float(0.001));
        assert_eq!(one("0.1"), Tok::Float(0.1));
        assert_eq!(
            one("1e30"),
            Tok::Int("1000000000000000000000000000000".parse().unwrap())
        );
        // a period not followed by a digit ends the statement
        assert_eq!(toks("3."), vec![int(3), Tok::Period, Tok::Eof]);
        // `e` starting a name is a unary message; with neither digits nor a name it is an error
        assert_eq!(
            toks("2even"),
            vec![int(2), Tok::Ident("even".into()), Tok::Eof]
        );
        assert_eq!(
            toks("2e3e"),
            vec![int(2000), Tok::Ident("e".into()), Tok::Eof]
        );
        for bad in ["2e", "1.5e", "2e-x", "1e+", "1e ", "1e."] {
            assert_eq!(
                err(bad),
                "expected the digits of the exponent after 'e'",
                "{bad}"
            );
        }
        assert!(err("1.0e999").contains("out of range"));
        assert!(err("1e100000").contains("too large"));
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(one("'abc'"), Tok::Str("abc".into()));
        assert_eq!(one("''"), Tok::Str("".into()));
        assert_eq!(one("'it''s'"), Tok::Str("it's".into()));
        assert_eq!(
            one(r"'\t\b\n\r\f\0\'\\'"),
            Tok::Str("\t\u{8}\n\r\u{c}\0'\\".into())
        );
        assert_eq!(one("'héllo wörld'"), Tok::Str("héllo wörld".into()));
        assert!(err("'abc").contains("unterminated string"));
        assert!(err(r"'a\qb'").contains("unknown escape"));
        assert!(err(r"'abc\").contains("unterminated string"));
    }

    #[test]
    fn characters() {
        assert_eq!(one("$a"), Tok::Char('a'));
        assert_eq!(one("$ "), Tok::Char(' '));
        assert_eq!(one("$'"), Tok::Char('\''));
        assert_eq!(one("$$"), Tok::Char('$'));
        assert_eq!(one("$é"), Tok::Char('é'));
        assert!(err("$").contains("character"));
    }

    #[test]
    fn symbols() {
        assert_eq!(one("#foo"), Tok::Sym("foo".into()));
        assert_eq!(one("#at:put:"), Tok::Sym("at:put:".into()));
        assert_eq!(one("#+"), Tok::Sym("+".into()));
        assert_eq!(one("#->"), Tok::Sym("->".into()));
        assert_eq!(one("#|"), Tok::Sym("|".into()));
        assert_eq!(one("#'hello world'"), Tok::Sym("hello world".into()));
        assert_eq!(one("#("), Tok::HashParen);
        assert_eq!(one("#["), Tok::HashBracket);
        assert!(err("# foo").contains("after '#'"));
    }

    #[test]
    fn operators_and_negative_numbers() {
        assert_eq!(
            toks("3 - -2"),
            vec![
                int(3),
                Tok::Binary("-".into()),
                Tok::Binary("-".into()),
                int(2),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("3--2"),
            vec![
                int(3),
                Tok::Binary("-".into()),
                Tok::Binary("-".into()),
                int(2),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("x<=-1"),
            vec![
                Tok::Ident("x".into()),
                Tok::Binary("<=".into()),
                Tok::Binary("-".into()),
                int(1),
                Tok::Eof
            ]
        );
        assert_eq!(toks("a->b")[1], Tok::Binary("->".into()));
        assert_eq!(toks("----")[0], Tok::Separator);
        assert_eq!(toks("--------")[0], Tok::Separator);
        assert_eq!(toks("---")[0], Tok::Binary("---".into()));
    }

    #[test]
    fn keywords_and_assignment() {
        assert_eq!(
            toks("a:=b at:1"),
            vec![
                Tok::Ident("a".into()),
                Tok::Assign,
                Tok::Ident("b".into()),
                Tok::Keyword("at:".into()),
                int(1),
                Tok::Eof
            ]
        );
        assert_eq!(toks("[:x|x]")[1], Tok::Colon);
    }

    #[test]
    fn positions_count_characters() {
        let (t, _) = tokenize("\"é\" ab\n  'ü' cd");
        assert_eq!(
            t[0].pos,
            SourcePos {
                line: 1,
                column: 5,
                offset: 5
            }
        );
        assert_eq!(
            t[1].pos,
            SourcePos {
                line: 2,
                column: 3,
                offset: 10
            }
        );
        assert_eq!(
            t[2].pos,
            SourcePos {
                line: 2,
                column: 7,
                offset: 15
            }
        );
    }

    #[test]
    fn comments_and_bad_characters() {
        assert_eq!(toks("\"a comment\" 1"), vec![int(1), Tok::Eof]);
        assert!(err("\"open").contains("unterminated comment"));
        assert!(err("a ` b").contains("unexpected character"));
    }
}
