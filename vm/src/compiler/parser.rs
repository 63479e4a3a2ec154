//! The parser: tokens to syntax trees, for class files, single methods and do-its.
//!
//! A recursive-descent parser over the token list from `lexer.rs`. Every nesting level
//! (parentheses, blocks, brace and literal arrays, message arguments, a chain of messages)
//! counts against [`MAX_DEPTH`], so the later passes, which recurse over the tree, have a
//! bounded depth as well. A chain (`a foo bar baz`, `1 + 2 + 3 + …`) nests in the tree as a
//! spine of receivers of any length; it counts as one level, and every pass walks such a
//! spine with a loop (see [`super::ast::Send::chain`]).
//!
//! Errors: parsing a method stops at its first error; in a class file the parser then skips to
//! the end of that method (the parenthesis matching its body's `(`) and goes on with the next
//! one, so one run reports the errors of several methods.

use super::ast::{Block, Expr, MethodAst, Name, Send, Stmt};
use super::code::{Literal, Primitive, SourcePos};
use super::error::Diag;
use super::lexer::{Tok, Token, tokenize};

/// Deepest nesting the parser accepts, in levels: a parenthesis, block or brace array costs
/// two (itself and the expression inside), a keyword message, a chain of unary or binary
/// messages (of any length), an assignment and a literal array one each. So 128 nested
/// parentheses or blocks are fine.
///
/// Every later pass recurses over the tree, and a debug build needs up to about 2.5 KB of
/// stack per level, so a full-depth method compiles within about 650 KB of stack.
pub const MAX_DEPTH: usize = 256;

/// Names the parser treats specially: they cannot be declared or assigned.
pub(crate) const RESERVED: &[&str] = &["self", "super", "nil", "true", "false", "thisContext"];

/// How a class names its superclass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SuperclassRef {
    /// `Name = ( … )`: the superclass is `Object`.
    Default,
    /// `Name = Superclass ( … )`.
    Named(String),
    /// `Name = nil ( … )`: no superclass (the root class).
    Nil,
}

/// A parsed method, ready for [`super::compile_method`].
#[derive(Clone, Debug)]
pub struct MethodDef {
    /// The selector.
    pub selector: String,
    /// The argument names.
    pub arg_names: Vec<String>,
    /// Where the method pattern starts.
    pub position: SourcePos,
    /// Where the primitive's number or name is written (`<primitive: 60>`); the method's
    /// position for SOM `= primitive` methods and methods without a primitive.
    pub primitive_position: SourcePos,
    /// The method's source text, from its pattern to its end.
    pub source: String,
    pub(crate) ast: MethodAst,
}

impl MethodDef {
    /// The primitive the method declares (`= primitive`, `<primitive: …>`), if any.
    pub fn primitive(&self) -> &Primitive {
        &self.ast.primitive
    }
}

/// A parsed SOM class file.
#[derive(Clone, Debug)]
pub struct ClassDef {
    /// The class name.
    pub name: String,
    /// The superclass.
    pub superclass: SuperclassRef,
    /// Instance variables declared by this class (not the inherited ones).
    pub instance_vars: Vec<String>,
    /// Class-side fields (SOM: instance variables of the metaclass).
    pub class_vars: Vec<String>,
    /// Instance-side methods, in source order.
    pub instance_methods: Vec<MethodDef>,
    /// Class-side methods, in source order.
    pub class_methods: Vec<MethodDef>,
    /// Where the class name is.
    pub position: SourcePos,
}

type PResult<T> = Result<T, Diag>;

impl Parser<'_> {
    /// The parse result, or every diagnostic reported on the way (with the fatal one last).
    fn finish<T>(mut self, result: PResult<T>) -> Result<T, Vec<Diag>> {
        match result {
            Ok(v) if self.diags.is_empty() => Ok(v),
            Ok(_) => Err(self.diags),
            Err(d) => {
                self.diags.push(d);
                Err(self.diags)
            }
        }
    }
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    i: usize,
    depth: usize,
    next_block: u32,
    /// The position of the current method's `<primitive: …>` value.
    primitive_pos: Option<SourcePos>,
    diags: Vec<Diag>,
}

/// Parses a class file; on failure, the lexical and syntax errors of the whole file, and the
/// class with the methods that did parse (if its header could be read).
pub(crate) fn parse_class(source: &str) -> Result<ClassDef, (Option<Box<ClassDef>>, Vec<Diag>)> {
    let mut p = Parser::new(source);
    let class = p.class_def();
    match class {
        Some(c) if p.diags.is_empty() => Ok(c),
        partial => Err((partial.map(Box::new), p.diags)),
    }
}

/// Parses one method from a string: `pattern statements` (Smalltalk-80 style) or
/// `pattern = ( statements )` / `pattern = primitive` (SOM style).
pub(crate) fn parse_method(source: &str) -> Result<MethodDef, Vec<Diag>> {
    let mut p = Parser::new(source);
    let result = p.standalone_method();
    p.finish(result)
}

/// Parses a do-it: `| temps | statements`.
pub(crate) fn parse_doit(source: &str) -> Result<MethodAst, Vec<Diag>> {
    let mut p = Parser::new(source);
    let result = p.doit();
    p.finish(result)
}

fn is_binary(t: &Tok, op: &str) -> bool {
    matches!(t, Tok::Binary(o) if o == op)
}

fn is_ident(t: &Tok, name: &str) -> bool {
    matches!(t, Tok::Ident(n) if n == name)
}

/// Whether a token can start an expression.
fn starts_expression(t: &Tok) -> bool {
    matches!(
        t,
        Tok::Ident(_)
            | Tok::Int(_)
            | Tok::Float(_)
            | Tok::Str(_)
            | Tok::Sym(_)
            | Tok::Char(_)
            | Tok::HashParen
            | Tok::HashBracket
            | Tok::LParen
            | Tok::LBracket
            | Tok::LBrace
    )
}

impl<'s> Parser<'s> {
    fn new(src: &'s str) -> Parser<'s> {
        let (toks, diags) = tokenize(src);
        Parser {
            src,
            toks,
            i: 0,
            depth: 0,
            next_block: 0,
            primitive_pos: None,
            diags,
        }
    }

    // ---- token access -----------------------------------------------------------------

    fn peek(&self) -> &Token {
        self.peek_at(0)
    }

    /// The token `n` ahead (the final `Eof` once past the end).
    fn peek_at(&self, n: usize) -> &Token {
        let last = self.toks.len().saturating_sub(1);
        &self.toks[(self.i + n).min(last)]
    }

    fn tok(&self) -> &Tok {
        &self.peek().tok
    }

    fn bump(&mut self) -> Token {
        let t = self.peek().clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    /// Byte offset just past the previous token.
    fn prev_end(&self) -> usize {
        self.i
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .map_or(0, |t| t.end)
    }

    /// An error at the current token: "expected {what}, found {token}". Silent when the
    /// current token is a lexical error (already reported).
    #[cold]
    #[inline(never)]
    fn expected(&self, what: &str) -> Diag {
        let t = self.peek();
        if t.tok == Tok::Error {
            return Diag::silent(t.pos);
        }
        Diag::new(
            t.pos,
            format!("expected {what}, found {}", t.describe(self.src)),
        )
    }

    fn expect(&mut self, tok: Tok, what: &str) -> PResult<Token> {
        if *self.tok() == tok {
            Ok(self.bump())
        } else {
            Err(self.expected(what))
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Diag::new(
                self.peek().pos,
                format!("expression nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    fn block_id(&mut self) -> u32 {
        let id = self.next_block;
        self.next_block += 1;
        id
    }

    fn name(&mut self, what: &str) -> PResult<Name> {
        match self.tok().clone() {
            Tok::Ident(name) => {
                let pos = self.bump().pos;
                Ok(Name { name, pos })
            }
            _ => Err(self.expected(what)),
        }
    }

    // ---- classes ----------------------------------------------------------------------

    /// `Name = Superclass ( | ivars | methods ---- | classVars | classMethods )`.
    /// Reports its errors in `self.diags`; `None` if the header could not be read.
    fn class_def(&mut self) -> Option<ClassDef> {
        let header = self.class_header();
        let (name, position, superclass) = match header {
            Ok(h) => h,
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        };
        let mut class = ClassDef {
            name,
            superclass,
            instance_vars: Vec::new(),
            class_vars: Vec::new(),
            instance_methods: Vec::new(),
            class_methods: Vec::new(),
            position,
        };
        match self.fields() {
            Ok(f) => class.instance_vars = check_fields(f, &mut self.diags),
            Err(d) => {
                self.diags.push(d);
                return None;
            }
        }
        let mut at_eof = self.methods(&mut class.instance_methods);
        if !at_eof && *self.tok() == Tok::Separator {
            self.bump();
            // `| a b |` declares class fields; `| other = ( … )` is a method named `|`.
            match self.fields() {
                Ok(f) => class.class_vars = check_fields(f, &mut self.diags),
                Err(d) => {
                    self.diags.push(d);
                    return None;
                }
            }
            at_eof = self.methods(&mut class.class_methods);
        }
        check_duplicate_methods(&class.instance_methods, &mut self.diags);
        check_duplicate_methods(&class.class_methods, &mut self.diags);
        if at_eof {
            // Recovery ran to the end of the file: a missing ')' would only repeat the error.
            return Some(class);
        }
        if let Err(d) = self.expect(Tok::RParen, "')' to close the class body") {
            self.diags.push(d);
            return Some(class);
        }
        if *self.tok() != Tok::Eof {
            let d = self.expected("end of file after the class definition");
            self.diags.push(d);
        }
        Some(class)
    }

    fn class_header(&mut self) -> PResult<(String, SourcePos, SuperclassRef)> {
        let name = self.name("a class name")?;
        if !is_binary(self.tok(), "=") {
            return Err(self.expected("'=' after the class name"));
        }
        self.bump();
        let superclass = match self.tok().clone() {
            Tok::Ident(s) if s == "nil" => {
                self.bump();
                SuperclassRef::Nil
            }
            Tok::Ident(s) => {
                self.bump();
                SuperclassRef::Named(s)
            }
            _ => SuperclassRef::Default,
        };
        self.expect(Tok::LParen, "'(' to start the class body")?;
        Ok((name.name, name.pos, superclass))
    }

    /// `| a b c |` or nothing.
    fn fields(&mut self) -> PResult<Vec<Name>> {
        if *self.tok() != Tok::Bar || self.at_bar_method() {
            return Ok(Vec::new());
        }
        self.temporaries("a field name or '|'")
    }

    /// Whether a `|` here starts a method named `|` or `||` (`| other = ( … )`) rather than a
    /// field declaration `| a b |`.
    fn at_bar_method(&self) -> bool {
        let is_eq = |n: usize| is_binary(&self.peek_at(n).tok, "=");
        let ident = |n: usize| matches!(self.peek_at(n).tok, Tok::Ident(_));
        (ident(1) && is_eq(2)) || (self.peek_double_bar() && ident(2) && is_eq(3))
    }

    /// Methods up to `)`, `----` or the end. Returns whether error recovery reached the end
    /// of the file.
    fn methods(&mut self, out: &mut Vec<MethodDef>) -> bool {
        loop {
            match self.tok() {
                Tok::RParen | Tok::Separator => return false,
                Tok::Eof => {
                    let d = self.expected("')' to close the class body");
                    self.diags.push(d);
                    return true;
                }
                _ => {}
            }
            let start = self.i;
            self.depth = 0;
            match self.som_method() {
                Ok(m) => out.push(m),
                Err(d) => {
                    if let Some(next) = self.next_method_inside(start, self.i, &d) {
                        // The method lacks its `)`: say so, and go on with the next one.
                        self.diags.push(Diag::new(
                            self.toks[next].pos,
                            "expected ')' to close the method body, found the start of the next method",
                        ));
                        self.i = next;
                        continue;
                    }
                    self.diags.push(d);
                    self.recover(start);
                    if *self.tok() == Tok::Eof {
                        return true;
                    }
                }
            }
        }
    }

    /// After the (not lexical) error `d` at token `failed` in the method starting at token
    /// `start`: the first token in between that begins a line like a method definition, no
    /// further indented than this method. The usual cause is a missing `)`, which lets the
    /// method run on into the next one (`a = ( ^(1 + 2 )` then `b = ( … )` reads as sending
    /// `b` and `=`), so the error found there says nothing useful.
    fn next_method_inside(&mut self, start: usize, failed: usize, d: &Diag) -> Option<usize> {
        if d.silent {
            return None;
        }
        let column = self.toks.get(start)?.pos.column;
        let saved = self.i;
        let found = (start + 1..=failed.min(self.toks.len() - 1)).find(|&k| {
            self.i = k;
            self.at_method_start(column)
        });
        self.i = saved;
        found
    }

    /// After an error in the method starting at token `start`: skips to just after its end
    /// (the `)` matching its body's `(`, or `primitive`), or to the next line that starts like
    /// a method definition (`foo = (`, `at: i put: v = (`, …) no further indented than this
    /// method, or stops at the end of the class.
    fn recover(&mut self, start: usize) {
        let column = self.toks.get(start).map_or(1, |t| t.pos.column);
        self.i = start;
        self.bump();
        let mut depth = 0usize;
        let mut prev_was_eq = false;
        loop {
            if self.at_method_start(column) {
                return;
            }
            match self.tok().clone() {
                Tok::Eof => return,
                Tok::Separator | Tok::RParen if depth == 0 => return,
                Tok::Ident(s) if s == "primitive" && prev_was_eq && depth == 0 => {
                    self.bump();
                    return;
                }
                Tok::LParen | Tok::HashParen => depth += 1,
                Tok::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        self.bump();
                        return;
                    }
                }
                _ => {}
            }
            prev_was_eq = is_binary(self.tok(), "=");
            self.bump();
        }
    }

    /// Whether the current token begins a line, at most at `column`, with what looks like a
    /// method definition.
    fn at_method_start(&self, column: u32) -> bool {
        let t = self.peek();
        let first_on_line = self
            .i
            .checked_sub(1)
            .and_then(|i| self.toks.get(i))
            .is_none_or(|prev| prev.pos.line < t.pos.line);
        if !first_on_line || t.pos.column > column {
            return false;
        }
        let mut n = match &t.tok {
            Tok::Ident(_) => 1,
            Tok::Binary(_) | Tok::Bar if matches!(self.peek_at(1).tok, Tok::Ident(_)) => 2,
            Tok::Bar if self.peek_double_bar() && matches!(self.peek_at(2).tok, Tok::Ident(_)) => 3,
            Tok::Keyword(_) => {
                let mut n = 0;
                while matches!(self.peek_at(n).tok, Tok::Keyword(_))
                    && matches!(self.peek_at(n + 1).tok, Tok::Ident(_))
                {
                    n += 2;
                }
                n
            }
            _ => 0,
        };
        if n == 0 || !is_binary(&self.peek_at(n).tok, "=") {
            return false;
        }
        n += 1;
        let after = &self.peek_at(n).tok;
        *after == Tok::LParen || is_ident(after, "primitive")
    }

    /// `pattern = ( body )` or `pattern = primitive`.
    fn som_method(&mut self) -> PResult<MethodDef> {
        self.next_block = 0;
        self.primitive_pos = None;
        let start = self.peek().pos;
        let (selector, params) = self.pattern()?;
        if !is_binary(self.tok(), "=") {
            return Err(self.expected("'=' after the method pattern"));
        }
        self.bump();
        let (temps, primitive, body) = self.som_body()?;
        Ok(self.method_def(start, selector, params, temps, primitive, body))
    }

    /// After `pattern =`: `primitive` or `( body )`.
    fn som_body(&mut self) -> PResult<(Vec<Name>, Primitive, Vec<Stmt>)> {
        if is_ident(self.tok(), "primitive") {
            self.bump();
            return Ok((Vec::new(), Primitive::Som, Vec::new()));
        }
        self.expect(Tok::LParen, "'(' or 'primitive' after '='")?;
        let (temps, primitive) = self.temps_and_pragma()?;
        let body = self.statements(&Tok::RParen, "')' to close the method body")?;
        self.expect(Tok::RParen, "')' to close the method body")?;
        Ok((temps, primitive, body))
    }

    fn method_def(
        &mut self,
        start: SourcePos,
        selector: String,
        params: Vec<Name>,
        temps: Vec<Name>,
        primitive: Primitive,
        body: Vec<Stmt>,
    ) -> MethodDef {
        let end = self.prev_end();
        let source = self
            .src
            .get(start.offset as usize..end)
            .unwrap_or("")
            .to_string();
        MethodDef {
            selector: selector.clone(),
            arg_names: params.iter().map(|p| p.name.clone()).collect(),
            position: start,
            primitive_position: self.primitive_pos.unwrap_or(start),
            source,
            ast: MethodAst {
                selector,
                params,
                temps,
                primitive,
                body,
                pos: start,
                num_blocks: self.next_block,
            },
        }
    }

    /// Whether the current `|` is immediately followed by another `|`: the binary selector
    /// `||` (SOM's non-short-circuit or), as opposed to `| |` or `:x || t |` in blocks, which
    /// the temporaries parser sees first.
    fn peek_double_bar(&self) -> bool {
        let (a, b) = (self.peek(), self.peek_at(1));
        a.tok == Tok::Bar && b.tok == Tok::Bar && b.pos.offset == a.pos.offset + 1
    }

    /// After a `|` was consumed: whether the next token is a `|` right behind it.
    fn double_bar_rest(&self) -> bool {
        let prev = &self.toks[self.i - 1];
        let t = self.peek();
        t.tok == Tok::Bar && t.pos.offset == prev.pos.offset + 1
    }

    /// A method pattern: `foo`, `+ other`, `at: i put: v`.
    fn pattern(&mut self) -> PResult<(String, Vec<Name>)> {
        match self.tok().clone() {
            Tok::Ident(s) => {
                self.bump();
                Ok((s, Vec::new()))
            }
            Tok::Binary(op) => {
                self.bump();
                let arg = self.name(&format!("an argument name after '{op}'"))?;
                Ok((op, vec![arg]))
            }
            Tok::Bar => {
                self.bump();
                let op = if self.double_bar_rest() {
                    self.bump();
                    "||"
                } else {
                    "|"
                };
                let arg = self.name(&format!("an argument name after '{op}'"))?;
                Ok((op.into(), vec![arg]))
            }
            Tok::Keyword(_) => {
                let mut selector = String::new();
                let mut params = Vec::new();
                while let Tok::Keyword(k) = self.tok().clone() {
                    self.bump();
                    params.push(self.name(&format!("an argument name after '{k}'"))?);
                    selector.push_str(&k);
                }
                Ok((selector, params))
            }
            _ => Err(self.expected("a method pattern (a unary, binary or keyword selector)")),
        }
    }

    /// Optional temporaries and an optional `<primitive: …>` before or after them.
    fn temps_and_pragma(&mut self) -> PResult<(Vec<Name>, Primitive)> {
        let mut primitive = Primitive::None;
        if self.at_pragma() {
            primitive = self.pragma()?;
        }
        let mut temps = Vec::new();
        if *self.tok() == Tok::Bar {
            temps = self.temporaries("a temporary name or '|'")?;
        }
        if self.at_pragma() {
            if primitive != Primitive::None {
                return Err(Diag::new(
                    self.peek().pos,
                    "a method has at most one primitive",
                ));
            }
            primitive = self.pragma()?;
        }
        Ok((temps, primitive))
    }

    /// At the start of a method body, where no statement can begin with `<`.
    fn at_pragma(&self) -> bool {
        is_binary(self.tok(), "<")
    }

    /// `<primitive: 60>`, `<primitive: #name>`, `<primitive: 'name'>`.
    fn pragma(&mut self) -> PResult<Primitive> {
        self.bump();
        if !matches!(self.tok(), Tok::Keyword(_)) {
            return Err(self.expected("'primitive:' after '<'"));
        }
        let kw = self.bump();
        let Tok::Keyword(k) = &kw.tok else {
            return Err(Diag::new(kw.pos, "expected a pragma keyword"));
        };
        if k != "primitive:" {
            return Err(Diag::new(
                kw.pos,
                format!("unknown pragma <{k} ...>; only <primitive: ...> is supported"),
            ));
        }
        let value = self.peek().clone();
        let primitive = match &value.tok {
            Tok::Int(n) => match u16::try_from(n) {
                Ok(n) => Primitive::Number(n),
                Err(_) => {
                    return Err(Diag::new(
                        value.pos,
                        "primitive number must be between 0 and 65535",
                    ));
                }
            },
            Tok::Sym(s) | Tok::Str(s) => Primitive::Named(s.clone()),
            _ => return Err(self.expected("a primitive number or name")),
        };
        self.primitive_pos = Some(value.pos);
        self.bump();
        if !is_binary(self.tok(), ">") {
            return Err(self.expected("'>' to close the pragma"));
        }
        self.bump();
        Ok(primitive)
    }

    /// `| a b |`: at a `|`.
    fn temporaries(&mut self, what: &str) -> PResult<Vec<Name>> {
        self.bump();
        let mut names = Vec::new();
        loop {
            match self.tok().clone() {
                Tok::Ident(name) => {
                    let pos = self.bump().pos;
                    names.push(Name { name, pos });
                }
                Tok::Bar => {
                    self.bump();
                    return Ok(names);
                }
                _ => return Err(self.expected(what)),
            }
        }
    }

    // ---- methods from strings and do-its ------------------------------------------------

    fn standalone_method(&mut self) -> PResult<MethodDef> {
        self.next_block = 0;
        self.primitive_pos = None;
        let start = self.peek().pos;
        let (selector, params) = self.pattern()?;
        let som_style = is_binary(self.tok(), "=")
            && (self.peek_at(1).tok == Tok::LParen || is_ident(&self.peek_at(1).tok, "primitive"));
        let (temps, primitive, body) = if som_style {
            self.bump();
            self.som_body()?
        } else {
            let (temps, primitive) = self.temps_and_pragma()?;
            let body = self.statements(&Tok::Eof, "end of input")?;
            (temps, primitive, body)
        };
        let def = self.method_def(start, selector, params, temps, primitive, body);
        if *self.tok() != Tok::Eof {
            return Err(self.expected("end of input after the method"));
        }
        Ok(def)
    }

    fn doit(&mut self) -> PResult<MethodAst> {
        let start = self.peek().pos;
        let mut temps = Vec::new();
        if *self.tok() == Tok::Bar {
            temps = self.temporaries("a temporary name or '|'")?;
        }
        let body = self.statements(&Tok::Eof, "end of input")?;
        Ok(MethodAst {
            selector: "DoIt".into(),
            params: Vec::new(),
            temps,
            primitive: Primitive::None,
            body,
            pos: start,
            num_blocks: self.next_block,
        })
    }

    // ---- statements and expressions -----------------------------------------------------
    //
    // The functions on the recursive path (statement, expression, primary, the message
    // tails, block, brace, parenthesized) keep small stack frames: everything else (literals,
    // identifiers, error messages) is in separate functions, and what was expected is
    // described by a `Wanted` that becomes text only when there is an error.

    /// Statements separated by periods, up to (not including) `end`.
    fn statements(&mut self, end: &Tok, close: &'static str) -> PResult<Vec<Stmt>> {
        let mut stmts = Vec::new();
        loop {
            while *self.tok() == Tok::Period {
                self.bump();
            }
            if self.tok() == end {
                return Ok(stmts);
            }
            stmts.push(self.statement()?);
            if *self.tok() == Tok::Period {
                self.bump();
                continue;
            }
            if self.tok() == end {
                return Ok(stmts);
            }
            return Err(self.statement_end_error(close));
        }
    }

    #[cold]
    #[inline(never)]
    fn statement_end_error(&self, close: &str) -> Diag {
        if starts_expression(self.tok()) || *self.tok() == Tok::Caret {
            self.expected(&format!("'.' to end the statement, or {close}"))
        } else {
            self.expected(close)
        }
    }

    fn statement(&mut self) -> PResult<Stmt> {
        if is_binary(self.tok(), "<") && matches!(self.peek_at(1).tok, Tok::Keyword(_)) {
            return Err(Diag::new(
                self.peek().pos,
                "a pragma such as <primitive: …> must come at the start of the method body, \
                 before the statements",
            ));
        }
        if *self.tok() == Tok::Caret {
            let pos = self.bump().pos;
            let value = self.expression(Wanted::Text("an expression after '^'"))?;
            return Ok(Stmt::Return { value, pos });
        }
        Ok(Stmt::Expr(self.expression(Wanted::Text("a statement"))?))
    }

    /// An expression: an assignment, or a receiver with messages and cascades.
    fn expression(&mut self, what: Wanted<'_>) -> PResult<Expr> {
        self.enter()?;
        let result = if matches!(self.tok(), Tok::Ident(_)) && self.peek_at(1).tok == Tok::Assign {
            self.assignment()
        } else {
            self.message_expression(what)
        };
        self.leave();
        result
    }

    fn assignment(&mut self) -> PResult<Expr> {
        let target = self.name("a variable")?;
        self.bump();
        let value = self.expression(Wanted::Text("an expression after ':='"))?;
        Ok(Expr::Assign {
            target,
            value: Box::new(value),
        })
    }

    fn message_expression(&mut self, what: Wanted<'_>) -> PResult<Expr> {
        let e = self.primary(what)?;
        let after_primary = self.i;
        let e = self.unary_tail(e)?;
        let e = self.binary_tail(e)?;
        let e = self.keyword_tail(e)?;
        if *self.tok() == Tok::Semicolon {
            // `(a foo); bar` has no message of its own before the `;`: the send inside the
            // parentheses is not a cascade's first part.
            if self.i == after_primary {
                return Err(Diag::new(
                    self.peek().pos,
                    "a cascade needs a message before ';'",
                ));
            }
            return self.cascade(e);
        }
        Ok(e)
    }

    /// `receiver first; second; …` where `first` was parsed as a normal message.
    fn cascade(&mut self, first: Expr) -> PResult<Expr> {
        let semicolon = self.peek().pos;
        let Expr::Send(send) = first else {
            return Err(Diag::new(semicolon, "a cascade needs a message before ';'"));
        };
        let mut send = *send;
        let hole = Expr::CascadeReceiver {
            is_super: send.receiver.is_super(),
            pos: send.receiver.pos(),
        };
        let receiver = std::mem::replace(&mut send.receiver, hole.clone());
        let mut parts = vec![Expr::Send(Box::new(send))];
        while *self.tok() == Tok::Semicolon {
            self.bump();
            parts.push(self.cascade_part(hole.clone())?);
        }
        Ok(Expr::Cascade {
            receiver: Box::new(receiver),
            parts,
        })
    }

    fn cascade_part(&mut self, hole: Expr) -> PResult<Expr> {
        match self.tok() {
            Tok::Ident(_) => {
                let e = self.unary_tail(hole)?;
                let e = self.binary_tail(e)?;
                self.keyword_tail(e)
            }
            Tok::Binary(_) | Tok::Bar => {
                let e = self.binary_tail(hole)?;
                self.keyword_tail(e)
            }
            Tok::Keyword(_) => self.keyword_tail(hole),
            _ => Err(self.expected("a message after ';'")),
        }
    }

    /// A chain of unary messages. The whole chain, however long, is one level of nesting:
    /// the later passes walk a chain of sends (`a foo bar`, `1 + 2 + 3`) without recursing
    /// along it.
    fn unary_tail(&mut self, mut receiver: Expr) -> PResult<Expr> {
        let mut entered = false;
        while matches!(self.tok(), Tok::Ident(_)) && self.peek_at(1).tok != Tok::Assign {
            if !entered {
                self.enter()?;
                entered = true;
            }
            receiver = self.unary_send(receiver);
        }
        if entered {
            self.leave();
        }
        Ok(receiver)
    }

    fn unary_send(&mut self, receiver: Expr) -> Expr {
        let t = self.bump();
        let selector = match t.tok {
            Tok::Ident(s) => s,
            _ => String::new(),
        };
        Expr::Send(Box::new(Send {
            receiver,
            selector,
            args: Vec::new(),
            pos: t.pos,
        }))
    }

    /// A chain of binary messages: one level of nesting, like [`Parser::unary_tail`].
    fn binary_tail(&mut self, mut receiver: Expr) -> PResult<Expr> {
        let mut entered = false;
        while matches!(self.tok(), Tok::Binary(_) | Tok::Bar) {
            if !entered {
                self.enter()?;
                entered = true;
            }
            let double = self.tok() == &Tok::Bar && self.peek_double_bar();
            let t = self.bump();
            let selector = match t.tok {
                Tok::Binary(op) => op,
                _ if double => {
                    self.bump();
                    "||".to_string()
                }
                _ => "|".to_string(),
            };
            let arg = self.primary(Wanted::ArgumentAfter(&selector))?;
            let arg = self.unary_tail(arg)?;
            receiver = Expr::Send(Box::new(Send {
                receiver,
                selector,
                args: vec![arg],
                pos: t.pos,
            }));
        }
        if entered {
            self.leave();
        }
        Ok(receiver)
    }

    fn keyword_tail(&mut self, receiver: Expr) -> PResult<Expr> {
        if !matches!(self.tok(), Tok::Keyword(_)) {
            return Ok(receiver);
        }
        self.enter()?;
        let pos = self.peek().pos;
        let mut selector = String::new();
        let mut args = Vec::new();
        while let Tok::Keyword(k) = &self.peek().tok {
            let start = selector.len();
            selector.push_str(k);
            self.bump();
            let arg = self.primary(Wanted::ArgumentAfter(&selector[start..]))?;
            let arg = self.unary_tail(arg)?;
            args.push(self.binary_tail(arg)?);
        }
        self.leave();
        Ok(Expr::Send(Box::new(Send {
            receiver,
            selector,
            args,
            pos,
        })))
    }

    fn primary(&mut self, what: Wanted<'_>) -> PResult<Expr> {
        match self.tok() {
            Tok::LParen => self.parenthesized(),
            Tok::LBracket => self.block(),
            Tok::LBrace => self.brace(),
            _ => self.atom(what),
        }
    }

    fn parenthesized(&mut self) -> PResult<Expr> {
        self.bump();
        self.enter()?;
        let e = self.expression(Wanted::Text("an expression after '('"))?;
        if *self.tok() != Tok::RParen {
            return Err(self.expected("')' to close the parenthesis"));
        }
        self.bump();
        self.leave();
        Ok(e)
    }

    /// A primary that is not nested: a variable, a pseudo-variable or a literal.
    #[inline(never)]
    fn atom(&mut self, what: Wanted<'_>) -> PResult<Expr> {
        let t = self.peek().clone();
        let pos = t.pos;
        let e = match t.tok {
            Tok::Ident(name) => {
                self.bump();
                match name.as_str() {
                    "self" => Expr::SelfRef(pos),
                    "super" => Expr::Super(pos),
                    "nil" => Expr::Nil(pos),
                    "true" => Expr::True(pos),
                    "false" => Expr::False(pos),
                    "thisContext" => Expr::ThisContext(pos),
                    _ => Expr::Var(Name { name, pos }),
                }
            }
            Tok::Int(_) | Tok::Float(_) | Tok::Str(_) | Tok::Sym(_) | Tok::Char(_) => {
                let value = self.scalar_literal().unwrap_or(Literal::Nil);
                Expr::Literal { value, pos }
            }
            Tok::Binary(ref op) if op == "-" && self.negative_number_follows() => {
                let value = self.scalar_literal().unwrap_or(Literal::Nil);
                Expr::Literal { value, pos }
            }
            Tok::HashParen => {
                self.bump();
                let value = self.literal_array()?;
                Expr::Literal { value, pos }
            }
            Tok::HashBracket => {
                self.bump();
                let value = self.byte_array()?;
                Expr::Literal { value, pos }
            }
            _ => return Err(self.expected(&what.describe())),
        };
        Ok(e)
    }

    /// At a `-` token: whether a number follows with no space in between.
    fn negative_number_follows(&self) -> bool {
        let next = self.peek_at(1);
        matches!(next.tok, Tok::Int(_) | Tok::Float(_))
            && next.pos.offset as usize == self.peek().end
    }

    /// At a number (possibly after a `-`), string, symbol or character token: reads it.
    fn scalar_literal(&mut self) -> Option<Literal> {
        let negative = is_binary(self.tok(), "-");
        if negative {
            self.bump();
        }
        let t = self.bump();
        Some(match t.tok {
            Tok::Int(v) => Literal::integer(if negative { -v } else { v }),
            Tok::Float(v) => Literal::Float(if negative { -v } else { v }),
            Tok::Str(s) => Literal::String(s),
            Tok::Sym(s) => Literal::Symbol(s),
            Tok::Char(c) => Literal::Char(c),
            _ => return None,
        })
    }

    /// The elements of `#( … )`, after the opening token.
    fn literal_array(&mut self) -> PResult<Literal> {
        self.enter()?;
        let mut items = Vec::new();
        loop {
            let t = self.peek().clone();
            let item = match t.tok {
                Tok::RParen => {
                    self.bump();
                    break;
                }
                Tok::Int(_) | Tok::Float(_) | Tok::Str(_) | Tok::Sym(_) | Tok::Char(_) => {
                    self.scalar_literal().unwrap_or(Literal::Nil)
                }
                Tok::Binary(ref op) if op == "-" && self.negative_number_follows() => {
                    self.scalar_literal().unwrap_or(Literal::Nil)
                }
                Tok::Ident(name) => {
                    self.bump();
                    match name.as_str() {
                        "true" => Literal::True,
                        "false" => Literal::False,
                        "nil" => Literal::Nil,
                        _ => Literal::Symbol(name),
                    }
                }
                Tok::Keyword(mut k) => {
                    let mut end = self.bump().end;
                    // `at:put:` inside a literal array is the one symbol #at:put:
                    while let Tok::Keyword(more) = self.tok().clone() {
                        if self.peek().pos.offset as usize != end {
                            break;
                        }
                        end = self.bump().end;
                        k.push_str(&more);
                    }
                    Literal::Symbol(k)
                }
                Tok::Binary(op) => {
                    self.bump();
                    Literal::Symbol(op)
                }
                Tok::Bar => {
                    self.bump();
                    Literal::Symbol("|".into())
                }
                Tok::LParen | Tok::HashParen => {
                    self.bump();
                    self.literal_array()?
                }
                Tok::HashBracket => {
                    self.bump();
                    self.byte_array()?
                }
                Tok::Eof => return Err(self.expected("')' to close the literal array")),
                _ => return Err(self.expected("a literal or ')' in the literal array")),
            };
            items.push(item);
        }
        self.leave();
        Ok(Literal::Array(items))
    }

    /// The elements of `#[ … ]`, after the opening token.
    fn byte_array(&mut self) -> PResult<Literal> {
        let mut bytes = Vec::new();
        loop {
            let t = self.peek().clone();
            match &t.tok {
                Tok::RBracket => {
                    self.bump();
                    return Ok(Literal::ByteArray(bytes));
                }
                Tok::Int(v) => match u8::try_from(v) {
                    Ok(b) => {
                        self.bump();
                        bytes.push(b);
                    }
                    Err(_) => {
                        return Err(Diag::new(
                            t.pos,
                            "byte array elements must be integers from 0 to 255",
                        ));
                    }
                },
                Tok::Binary(op) if op == "-" && self.negative_number_follows() => {
                    return Err(Diag::new(
                        t.pos,
                        "byte array elements must be integers from 0 to 255",
                    ));
                }
                _ => return Err(self.expected("a byte (0 to 255) or ']' in the byte array")),
            }
        }
    }

    /// `[:a :b | | t | statements]`, at the `[`.
    fn block(&mut self) -> PResult<Expr> {
        let pos = self.bump().pos;
        self.enter()?;
        let (params, temps) = self.block_header()?;
        let body = self.statements(&Tok::RBracket, "']' to close the block")?;
        if *self.tok() != Tok::RBracket {
            return Err(self.expected("']' to close the block"));
        }
        self.bump();
        self.leave();
        let id = self.block_id();
        Ok(Expr::Block(Box::new(Block {
            id,
            params,
            temps,
            body,
            pos,
        })))
    }

    /// `:a :b | | t |`: a block's parameters and temporaries.
    #[inline(never)]
    fn block_header(&mut self) -> PResult<(Vec<Name>, Vec<Name>)> {
        let mut params = Vec::new();
        while *self.tok() == Tok::Colon {
            self.bump();
            params.push(self.name("a parameter name after ':'")?);
        }
        if !params.is_empty() {
            match self.tok() {
                Tok::Bar => {
                    self.bump();
                }
                Tok::RBracket => {}
                _ => return Err(self.expected("'|' after the block parameters")),
            }
        }
        let mut temps = Vec::new();
        if *self.tok() == Tok::Bar {
            temps = self.temporaries("a temporary name or '|'")?;
        }
        Ok((params, temps))
    }

    /// `{ a. b. c }`, at the `{`.
    fn brace(&mut self) -> PResult<Expr> {
        let pos = self.bump().pos;
        self.enter()?;
        let mut items = Vec::new();
        loop {
            if *self.tok() == Tok::RBrace {
                self.bump();
                break;
            }
            items.push(self.expression(Wanted::Text("an expression or '}' in the brace array"))?);
            match self.tok() {
                Tok::Period => {
                    self.bump();
                }
                Tok::RBrace => {}
                _ => return Err(self.expected("'.' or '}' in the brace array")),
            }
        }
        self.leave();
        Ok(Expr::Brace { items, pos })
    }
}

/// What the parser wanted where no expression starts; becomes text only for an error.
#[derive(Clone, Copy)]
enum Wanted<'a> {
    Text(&'static str),
    ArgumentAfter(&'a str),
}

impl Wanted<'_> {
    #[cold]
    fn describe(self) -> String {
        match self {
            Wanted::Text(t) => t.to_string(),
            Wanted::ArgumentAfter(op) => format!("an argument after '{op}'"),
        }
    }
}

/// Reports reserved or repeated field names; returns the names.
fn check_fields(fields: Vec<Name>, diags: &mut Vec<Diag>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for f in fields {
        if RESERVED.contains(&f.name.as_str()) {
            diags.push(Diag::new(
                f.pos,
                format!("'{}' is a reserved word and cannot name a field", f.name),
            ));
        } else if names.contains(&f.name) {
            diags.push(Diag::new(
                f.pos,
                format!("duplicate field name '{}'", f.name),
            ));
        }
        names.push(f.name);
    }
    names
}

fn check_duplicate_methods(methods: &[MethodDef], diags: &mut Vec<Diag>) {
    let mut seen = std::collections::HashSet::new();
    for m in methods {
        if !seen.insert(m.selector.as_str()) {
            diags.push(Diag::new(
                m.position,
                format!("method '{}' is defined twice", m.selector),
            ));
        }
    }
}
