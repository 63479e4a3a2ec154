//! A lexical scan of Smalltalk input that is just enough for the REPL: which brackets, strings
//! and comments are still open at the end of the text (to continue the input on the next line
//! and show the depth in the prompt), and where strings, comments and literals are (for the
//! colours of the input line).

/// What is still open at the end of some input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Open {
    /// The open brackets, outermost first: `(`, `[`, `{` (a literal array `#(` counts as `(`).
    pub brackets: Vec<char>,
    /// Inside a string or quoted symbol (`'…`).
    pub in_string: bool,
    /// Inside a comment (`"…`).
    pub in_comment: bool,
}

impl Open {
    /// Whether the input is complete: every string and comment closed and no bracket open.
    /// Extra closing brackets make it complete too: the compiler reports them.
    pub fn is_complete(&self) -> bool {
        !self.in_string && !self.in_comment && self.brackets.is_empty()
    }

    /// The prompt for the next line of an incomplete input, as wide as the main prompt: dots,
    /// then the innermost open bracket and the depth (`...[2> `), or what must be closed
    /// (`....'> ` in a string, `...."> ` in a comment).
    pub fn continuation_prompt(&self) -> String {
        let marker = if self.in_string {
            "'".to_string()
        } else if self.in_comment {
            "\"".to_string()
        } else {
            match self.brackets.last() {
                Some(b) => format!("{b}{}", self.brackets.len()),
                None => String::new(),
            }
        };
        format!("{marker:.>5}> ")
    }
}

/// The kind of a stretch of input, for colouring it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A string literal or quoted symbol.
    String,
    /// A comment.
    Comment,
    /// A symbol (`#foo`, `#at:put:`), a character (`$a`) or a number.
    Literal,
}

/// Scans `src`; answers what is open at its end and the coloured stretches (byte ranges).
pub fn scan(src: &str) -> (Open, Vec<(std::ops::Range<usize>, Kind)>) {
    let bytes = src.as_bytes();
    let mut open = Open::default();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'\'' => {
                let start = i;
                i += 1;
                let mut closed = false;
                while i < bytes.len() {
                    if bytes[i] == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        closed = true;
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                spans.push((start..i, Kind::String));
                if !closed {
                    open.in_string = true;
                }
                continue;
            }
            b'"' => {
                let start = i;
                match src[i + 1..].find('"') {
                    Some(k) => i += k + 2,
                    None => {
                        i = bytes.len();
                        open.in_comment = true;
                    }
                }
                spans.push((start..i, Kind::Comment));
                continue;
            }
            b'$' => {
                // A character literal: `$` and the next character, whatever it is.
                let start = i;
                i += 1;
                if let Some(ch) = src[i..].chars().next() {
                    i += ch.len_utf8();
                }
                spans.push((start..i, Kind::Literal));
                continue;
            }
            b'#' => {
                let start = i;
                match bytes.get(i + 1) {
                    Some(b'\'') => {
                        // A quoted symbol scans as a string.
                        i += 1;
                        continue;
                    }
                    Some(b'(') | Some(b'[') | Some(b'{') => {
                        i += 1;
                        continue;
                    }
                    _ => {}
                }
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b':')
                {
                    i += 1;
                }
                if i == start + 1 {
                    // A binary selector symbol: #+ #<= #->.
                    while i < bytes.len() && b"+-*/\\<>=~@%|&?,".contains(&bytes[i]) {
                        i += 1;
                    }
                }
                spans.push((start..i, Kind::Literal));
                continue;
            }
            b'0'..=b'9' => {
                let start = i;
                let prev_ident = start > 0
                    && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.' || bytes[i] == b'_')
                {
                    // A period ends the number unless a digit follows (`3.14` but `x := 3.`).
                    if bytes[i] == b'.' && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                        break;
                    }
                    i += 1;
                }
                if !prev_ident {
                    spans.push((start..i, Kind::Literal));
                }
                continue;
            }
            b'(' | b'[' | b'{' => open.brackets.push(c as char),
            b')' | b']' | b'}' => {
                open.brackets.pop();
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                // Skip the rest of an identifier so that its digits are not numbers.
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    (open, spans)
}

/// What is open at the end of `src`.
pub fn open_at_end(src: &str) -> Open {
    scan(src).0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(s: &str) -> bool {
        open_at_end(s).is_complete()
    }

    #[test]
    fn brackets_strings_and_comments_decide_completeness() {
        assert!(complete("3 + 4"));
        assert!(complete("#(1 2 #(3)) size"));
        assert!(!complete("[ :x | x"));
        assert!(!complete("'it''s"));
        assert!(complete("'it''s'"));
        assert!(!complete("\"a comment"));
        assert!(complete("\"(\" 3"));
        assert!(complete("'(' size"));
        assert!(complete("$( value"));
        assert!(complete("$' value"));
        assert!(complete("$\" value"));
        assert!(!complete("#( 1 2"));
        assert!(
            complete("x := 3)"),
            "an extra bracket is the compiler's to report"
        );
        assert!(!complete("Foo = Object (\n  bar = ( ^1 )\n"));
    }

    #[test]
    fn the_continuation_prompt_shows_the_depth_and_what_is_open() {
        assert_eq!(open_at_end("[ :x | (x").continuation_prompt(), "...(2> ");
        assert_eq!(open_at_end("#(1").continuation_prompt(), "...(1> ");
        assert_eq!(open_at_end("'abc").continuation_prompt(), "....'> ");
        assert_eq!(open_at_end("\"abc").continuation_prompt(), "....\"> ");
        assert_eq!(open_at_end("[ 'abc").continuation_prompt(), "....'> ");
        assert_eq!(open_at_end("((((((((((((").continuation_prompt(), "..(12> ");
        assert_eq!(
            "smalt> ".len(),
            open_at_end("[").continuation_prompt().len()
        );
    }

    #[test]
    fn spans_mark_strings_comments_and_literals() {
        let src = "x1 := #foo: , 'a''b' \"c\" $d 3.5e2. 42";
        let (_, spans) = scan(src);
        let texts: Vec<(&str, Kind)> = spans.iter().map(|(r, k)| (&src[r.clone()], *k)).collect();
        assert_eq!(
            texts,
            vec![
                ("#foo:", Kind::Literal),
                ("'a''b'", Kind::String),
                ("\"c\"", Kind::Comment),
                ("$d", Kind::Literal),
                ("3.5e2", Kind::Literal),
                ("42", Kind::Literal),
            ]
        );
        let (_, spans) = scan("#+ #'x y'");
        assert_eq!(spans[0], (0..2, Kind::Literal));
        assert_eq!(spans[1], (4..9, Kind::String));
    }

    #[test]
    fn multibyte_text_does_not_confuse_the_scan() {
        assert!(complete("'héllo ☃' size"));
        assert!(complete("$é"));
        assert!(!complete("[ 'ü"));
        let (_, spans) = scan("$☃ 'ö'");
        assert_eq!(spans.len(), 2);
    }
}
