//! The compiler's output: compiled methods and blocks, their literals, and source positions.
//!
//! These are plain Rust values. The VM's object model turns a [`CompiledCode`] into a heap
//! `CompiledMethod` (bytecodes, literal frame, header); nothing here knows about the heap.

use std::fmt;

use dashu_int::IBig;

/// The most arguments and temporaries one method or block may declare: what a frame holds
/// besides its receiver and header (`bytecode::MAX_LOCALS`). The parser reports a longer list
/// before any later pass looks at it, so no pass works on more names than this.
pub const MAX_FRAME_NAMES: usize =
    crate::bytecode::MAX_LOCALS - crate::bytecode::FRAME_HEADER_WORDS;

/// The most instance variables a class may have, inherited ones included: instance variables
/// are addressed by one-byte operands (`PushInstVar`). Reported when the class is defined, not
/// at the first access that does not fit.
pub const MAX_INSTANCE_VARIABLES: usize = 256;

/// A position in a source text. Lines and columns start at 1; columns count characters (not
/// bytes); `offset` is the byte offset from the start of the text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourcePos {
    /// Line number, from 1.
    pub line: u32,
    /// Column in characters, from 1.
    pub column: u32,
    /// Byte offset, from 0.
    pub offset: u32,
}

/// One entry of a method's literal frame.
///
/// Constants (`Nil` … `ByteArray`) are pushed with `PushLiteral`; `Selector`s name the selector
/// of send sites (one literal per selector, shared by all the sites that send it: see
/// [`CompiledCode::sites`]);
/// `Global`s name a global binding (`PushGlobal`/`StoreGlobal`); `Block` holds the code of a
/// closure made by `PushClosure`, `CleanBlock` the code of a block the VM turns into a closure
/// once, pushed with `PushLiteral`.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `nil` (only inside literal arrays).
    Nil,
    /// `true` (only inside literal arrays).
    True,
    /// `false` (only inside literal arrays).
    False,
    /// An integer that fits in 64 bits. The VM boxes it if it is outside the SmallInteger range.
    Int(i64),
    /// An integer that does not fit in 64 bits.
    BigInt(IBig),
    /// A floating-point number.
    Float(f64),
    /// A character (`$a`).
    Char(char),
    /// A string literal.
    String(String),
    /// A symbol literal (`#foo`, `#at:put:`, `#+`, `#'hello world'`).
    Symbol(String),
    /// A literal array `#( … )`.
    Array(Vec<Literal>),
    /// A byte array `#[ … ]`.
    ByteArray(Vec<u8>),
    /// A selector that send sites send (named by [`CompiledCode::sites`]).
    Selector(String),
    /// The name of a global variable.
    Global(String),
    /// The code of a block that is made into a closure by `PushClosure`.
    Block(Box<CompiledCode>),
    /// The code of a clean block (no outer references): the VM makes its closure once.
    CleanBlock(Box<CompiledCode>),
}

impl Literal {
    /// Whether the literal is a constant value (what `PushLiteral` may push, clean blocks aside).
    pub fn is_constant(&self) -> bool {
        !matches!(
            self,
            Literal::Selector(_) | Literal::Global(_) | Literal::Block(_) | Literal::CleanBlock(_)
        )
    }

    /// The literal for an integer value: `Int` when it fits in 64 bits, `BigInt` otherwise.
    pub fn integer(value: IBig) -> Literal {
        match i64::try_from(&value) {
            Ok(v) => Literal::Int(v),
            Err(_) => Literal::BigInt(value),
        }
    }

    /// Text used in listings: the literal as it would be written in source, or a short
    /// description for selectors, globals and blocks.
    pub fn listing_text(&self) -> String {
        match self {
            Literal::Selector(s) => format!("selector {}", symbol_text(s)),
            Literal::Global(g) => format!("global {g}"),
            Literal::Block(c) => format!("block {}", c.shape()),
            Literal::CleanBlock(c) => format!("clean block {}", c.shape()),
            other => format!("constant {other}"),
        }
    }
}

/// Prints the literal as Smalltalk source (`42`, `$a`, `'it''s'`, `#foo`, `#(1 #a)`).
/// Selectors print as symbols, globals as their name, blocks as `[block]`.
impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Nil => f.write_str("nil"),
            Literal::True => f.write_str("true"),
            Literal::False => f.write_str("false"),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::BigInt(v) => write!(f, "{v}"),
            Literal::Float(v) => f.write_str(&float_text(*v)),
            Literal::Char(c) => f.write_str(&char_text(*c)),
            Literal::String(s) => f.write_str(&string_text(s)),
            Literal::Symbol(s) | Literal::Selector(s) => f.write_str(&symbol_text(s)),
            Literal::Array(items) => {
                f.write_str("#(")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
            Literal::ByteArray(bytes) => {
                f.write_str("#[")?;
                for (i, b) in bytes.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{b}")?;
                }
                f.write_str("]")
            }
            Literal::Global(g) => f.write_str(g),
            Literal::Block(_) => f.write_str("[block]"),
            Literal::CleanBlock(_) => f.write_str("[clean block]"),
        }
    }
}

/// A float as Smalltalk source: always with a fraction or an exponent.
fn float_text(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let s = format!("{v:?}");
    if s.contains(['.', 'e', 'E']) {
        s
    } else {
        format!("{s}.0")
    }
}

fn char_text(c: char) -> String {
    if c.is_control() {
        format!("(Character value: {})", c as u32)
    } else {
        format!("${c}")
    }
}

/// A string as source, with SOM escapes for control characters and backslashes and a doubled
/// quote for the quote: the lexer reads it back to the same string.
pub(crate) fn string_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\0' => out.push_str("\\0"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A symbol as source: `#foo`, `#at:put:`, `#+`, or quoted when it is none of those.
pub(crate) fn symbol_text(s: &str) -> String {
    if is_plain_symbol(s) {
        format!("#{s}")
    } else {
        format!("#{}", string_text(s))
    }
}

fn is_plain_symbol(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if super::lexer::is_binary_char(first) || first == '|' {
        return s
            .chars()
            .all(|c| super::lexer::is_binary_char(c) || c == '|');
    }
    if !super::lexer::is_ident_start(first) {
        return false;
    }
    if !s.contains(':') {
        return s.chars().all(super::lexer::is_ident_char);
    }
    // keyword selector: one or more `name:` parts
    s.ends_with(':')
        && s[..s.len() - 1].split(':').all(|part| {
            part.chars()
                .next()
                .is_some_and(super::lexer::is_ident_start)
                && part.chars().all(super::lexer::is_ident_char)
        })
}

/// Which primitive a method names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Primitive {
    /// No primitive: the bytecodes are the method.
    None,
    /// A SOM `= primitive` method: the VM finds the primitive by class and selector; the
    /// bytecodes (`^self primitiveFailed`) run only when the primitive fails.
    Som,
    /// `<primitive: N>`.
    Number(u16),
    /// `<primitive: #name>` or `<primitive: 'name'>`.
    Named(String),
}

/// A temp vector held in a frame slot: which variables live in it, by element index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TempVector {
    /// The local index (`PushLocal` operand) of the slot holding the vector.
    pub local: usize,
    /// The variables stored in the vector, element `i` being `names[i]`.
    pub names: Vec<String>,
}

/// A compiled method or block: bytecodes, literal frame and the header information the VM
/// needs to build a frame for it.
#[derive(Clone, Debug, PartialEq)]
pub struct CompiledCode {
    /// The method's selector; for a block, the selector of the enclosing method.
    pub selector: String,
    /// Whether this is the code of a block.
    pub is_block: bool,
    /// Number of arguments.
    pub num_args: usize,
    /// Number of frame slots after the header (for blocks the copied values come first).
    pub num_temps: usize,
    /// Blocks: number of copied values (the first `num_copied` temp slots).
    pub num_copied: usize,
    /// Largest operand-stack depth any path through the bytecodes reaches.
    pub max_stack: usize,
    /// The primitive, if any.
    pub primitive: Primitive,
    /// The bytecodes (see [`crate::bytecode`]).
    pub bytecodes: Vec<u8>,
    /// The literal frame.
    pub literals: Vec<Literal>,
    /// The send sites: `sites[s]` is the index of the `Selector` literal that site `s` sends.
    /// `Send s`/`SuperSend s` name a site; each site is the operand of exactly one instruction
    /// and has an inline-cache cell of its own in the VM.
    pub sites: Vec<u16>,
    /// Blocks: contains `^` (directly or in a nested block), so the closure needs its home
    /// method's context.
    pub needs_outer_context: bool,
    /// Blocks: refers to nothing outside itself; compiled as a `CleanBlock` literal.
    pub is_clean: bool,
    /// Argument names, in order.
    pub arg_names: Vec<String>,
    /// One name per temp slot: copied values are named after their variable, temp vectors
    /// `<vector>`, the hidden loop temps `<counter>` and `<limit>`.
    pub temp_names: Vec<String>,
    /// The temp vectors this code's frame holds (its own and copied ones).
    pub vectors: Vec<TempVector>,
    /// `(pc, position)` for every instruction that can fail (sends, global accesses,
    /// conditional jumps, non-local returns); sorted by pc.
    pub source_map: Vec<(u32, SourcePos)>,
    /// Where the method or block starts in the source.
    pub position: SourcePos,
    /// Methods: their source text; `None` for blocks and do-its compiled without source.
    pub source: Option<String>,
}

impl CompiledCode {
    /// The local index (`PushLocal` operand) of temp slot `i`.
    pub fn temp_local(&self, i: usize) -> usize {
        self.num_args + 1 + crate::bytecode::FRAME_HEADER_WORDS + i
    }

    /// The name of the frame slot addressed by local index `k`, if it names one.
    pub fn local_name(&self, k: usize) -> Option<String> {
        if k == 0 {
            return Some("self".into());
        }
        if k <= self.num_args {
            return self.arg_names.get(k - 1).cloned();
        }
        let first_temp = self.temp_local(0);
        if k < first_temp {
            return Some("<header>".into());
        }
        self.temp_names.get(k - first_temp).cloned()
    }

    /// The source position recorded for the instruction at `pc`, if any.
    pub fn position_at(&self, pc: usize) -> Option<SourcePos> {
        let pc = u32::try_from(pc).ok()?;
        self.source_map
            .binary_search_by_key(&pc, |&(p, _)| p)
            .ok()
            .map(|i| self.source_map[i].1)
    }

    /// A one-line summary: arguments, temps, copied values, stack and flags.
    pub fn shape(&self) -> String {
        let mut parts = vec![plural(self.num_args, "arg"), plural(self.num_temps, "temp")];
        if self.is_block {
            parts.push(format!("{} copied", self.num_copied));
        }
        parts.push(format!("max stack {}", self.max_stack));
        match &self.primitive {
            Primitive::None => {}
            Primitive::Som => parts.push("SOM primitive".into()),
            Primitive::Number(n) => parts.push(format!("primitive {n}")),
            Primitive::Named(n) => parts.push(format!("primitive {}", symbol_text(n))),
        }
        if self.is_clean {
            parts.push("clean".into());
        }
        if self.needs_outer_context {
            parts.push("needs outer context".into());
        }
        format!("({})", parts.join(", "))
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Number of arguments a selector takes: the number of colons of a keyword selector, 1 for a
/// binary selector, 0 for a unary one.
pub fn selector_arity(selector: &str) -> usize {
    match selector.chars().next() {
        Some(c) if super::lexer::is_ident_start(c) => selector.matches(':').count(),
        Some(_) => 1,
        None => 0,
    }
}
