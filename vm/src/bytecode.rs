//! The bytecode set: the single source of truth.
//!
//! Every opcode appears exactly once, in the [`bytecodes!`] table below, with its operands, its
//! stack effect and one line of meaning. The enum [`Op`], the metadata table [`OPS`], the
//! decoder ([`decode`]), the disassembler and the compiler's max-stack computation all derive
//! from that table; the interpreter matches on [`Op`] and the JIT will translate the same enum.
//! `docs/bytecode.md` describes the set for humans.
//!
//! # Encoding
//!
//! An instruction is one opcode byte followed by its operands, in the order listed:
//!
//! ```text
//!   U8   one byte, unsigned (literal, local, instance-variable or count operands)
//!   I8   one byte, signed (small integer constants)
//!   I16  two bytes, little-endian, signed: a jump offset relative to the *next* instruction
//! ```
//!
//! `ExtA hi` is a prefix: the first `U8` operand of the following instruction becomes
//! `hi << 8 | operand`, so methods may have up to 65 536 literals. Two prefixes give 24 bits
//! (`ExtA h2 ExtA h1 op lo` is `h2 << 16 | h1 << 8 | lo`), which only send-site operands need
//! (see [`MAX_SEND_SITES`]). Local and instance-variable operands are never extended (a method
//! has at most 255 frame slots; see [`MAX_LOCALS`]).
//!
//! # Locals
//!
//! `PushLocal k` addresses the frame slot `bp + k` (see `frame.rs` for the layout):
//!
//! ```text
//!   k = 0                      the receiver (self)
//!   k = 1 ..= nargs            the arguments
//!   (nargs+1 .. nargs+1+H)     the frame header, H = FRAME_HEADER_WORDS, never addressed
//!   k = nargs+1+H + i          temporary i: for blocks the copied values come first
//! ```
//!
//! The compiler computes `k` once, so the interpreter does a single addition per access.
//!
//! # Sends
//!
//! `Send s` and `SuperSend s` name a *send site*: the method's site `s` has its own
//! inline-cache cell (cell `s` of the method in the side table), which knows the selector and
//! its argument count, so running a send never reads the literal frame. The method's *site
//! table* (a trailer slot of the method object, see `objects::method::SITES`) maps each site to
//! the literal holding its selector; each selector is one literal however many sites send it,
//! and every site is the operand of exactly one instruction, so each keeps its own type
//! feedback.
//! The special-selector opcodes (`Add` … `Value1`) have SmallInteger/Float fast paths; when the
//! fast path does not apply they perform an ordinary send of the selector named in
//! [`SPECIAL_SELECTORS`].

/// Number of words in a frame header, between the arguments and the temporaries (see
/// `layout.rs`).
///
/// Part of the bytecode format: compiled local indices skip these words.
pub const FRAME_HEADER_WORDS: usize = crate::layout::FRAME_HEADER_WORDS;

/// Largest local index a `PushLocal`/`StoreLocal` operand can hold.
pub const MAX_LOCALS: usize = 255;

/// Most send sites (`Send`/`SuperSend` operands) one method or block may have: a quarter of the
/// cell arena (`layout::CELL_CAPACITY`), encodable with two `ExtA` prefixes.
pub const MAX_SEND_SITES: usize = 1 << 20;

/// Largest first operand two `ExtA` prefixes can encode.
pub const MAX_PREFIXED: usize = 0xFF_FFFF;

/// Most `ExtA` prefixes in front of one instruction.
pub const MAX_PREFIXES: usize = 2;

/// Most values one closure can copy (`PushClosure k n`, n ≤ this): a compiled block's header
/// holds the count in 6 bits (`objects.rs`, `MethodInfoBits`).
pub const MAX_COPIED: usize = 63;

/// The kind of one operand of an instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    /// Unsigned byte: a literal index, local index, instance-variable index or a count.
    U8,
    /// Signed byte: a small integer constant.
    I8,
    /// Signed little-endian 16-bit jump offset, relative to the next instruction.
    I16,
}

impl Operand {
    /// Encoded size in bytes.
    pub const fn size(self) -> usize {
        match self {
            Operand::U8 | Operand::I8 => 1,
            Operand::I16 => 2,
        }
    }
}

/// How an instruction changes the depth of the operand stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Pops `pop` values and then pushes `push` values.
    Fixed { pop: u8, push: u8 },
    /// A send: pops the receiver and as many arguments as the selector takes, pushes the result.
    /// For `Send`/`SuperSend` the selector is that of the send site named by operand 0 (the
    /// method's site table gives its literal); for special selectors it is fixed by the opcode.
    Send,
    /// Pops as many values as operand `operand` says, pushes one (MakeArray, PushClosure).
    PopOperand { operand: u8 },
    /// Ends the activation (returns); nothing after it on this path.
    Return,
}

/// Static description of one opcode.
#[derive(Debug)]
pub struct OpInfo {
    /// Mnemonic used by the disassembler.
    pub name: &'static str,
    /// Operands, in encoding order.
    pub operands: &'static [Operand],
    /// Stack effect.
    pub effect: Effect,
    /// Whether control can fall through to the next instruction.
    pub falls_through: bool,
    /// One line of meaning.
    pub doc: &'static str,
    /// For a superinstruction: the instruction it runs as when it runs alone (it has that
    /// instruction's operands and stack effect). `None` for ordinary instructions.
    pub base: Option<Op>,
    /// For a superinstruction: the instructions that must follow it (compared by their base
    /// opcode). Empty for ordinary instructions.
    pub then: &'static [Op],
}

impl OpInfo {
    /// Encoded length of the instruction, opcode byte included.
    pub fn len(&self) -> usize {
        1 + self.operands.iter().map(|o| o.size()).sum::<usize>()
    }

    /// Always false: an instruction has at least its opcode byte.
    pub fn is_empty(&self) -> bool {
        false
    }
}

macro_rules! bytecodes {
    ($( $name:ident [$($operand:ident),*] $effect:expr, $falls:expr, $doc:literal
        $(=> $base:ident [$($then:ident),*])?; )*) => {
        /// An opcode. The discriminant is the encoded byte.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u8)]
        pub enum Op { $( #[doc = $doc] $name, )* }

        /// Metadata for every opcode, indexed by its byte.
        pub static OPS: &[OpInfo] = &[ $( OpInfo {
            name: stringify!($name),
            operands: &[$(Operand::$operand),*],
            effect: $effect,
            falls_through: $falls,
            doc: $doc,
            base: first(&[$(Op::$base)?]),
            then: &[$($(Op::$then),*)?],
        }, )* ];

        const ALL_OPS: &[Op] = &[ $( Op::$name, )* ];

        /// Opcode bytes as constants, so the interpreter can `match` on a raw byte.
        #[allow(non_upper_case_globals)]
        pub mod op {
            $( #[doc = $doc] pub const $name: u8 = super::Op::$name as u8; )*
        }
    };
}

const fn first(ops: &[Op]) -> Option<Op> {
    match ops {
        [op, ..] => Some(*op),
        [] => None,
    }
}

const fn fx(pop: u8, push: u8) -> Effect {
    Effect::Fixed { pop, push }
}
const SEND: Effect = Effect::Send;
const RET: Effect = Effect::Return;

bytecodes! {
    // ---- pushes -------------------------------------------------------------------------
    PushSelf        []        fx(0, 1), true,  "push the receiver";
    PushNil         []        fx(0, 1), true,  "push nil";
    PushTrue        []        fx(0, 1), true,  "push true";
    PushFalse       []        fx(0, 1), true,  "push false";
    PushSmallInt    [I8]      fx(0, 1), true,  "push the SmallInteger given by the signed operand";
    PushLiteral     [U8]      fx(0, 1), true,  "push literal k (a constant)";
    PushLocal       [U8]      fx(0, 1), true,  "push frame slot bp+k (receiver, argument or temporary)";
    PushInstVar     [U8]      fx(0, 1), true,  "push instance variable k of the receiver";
    PushGlobal      [U8]      fx(0, 1), true,  "push the value of the global binding in literal k";
    PushIndirect    [U8, U8]  fx(0, 1), true,  "push element i of the temp vector in local k (operands i, k)";
    PushThisContext []        fx(0, 1), true,  "push the context object of this activation";
    PushNewArray    [U8]      fx(0, 1), true,  "push a new Array of n nils (a temp vector)";
    MakeArray       [U8]      Effect::PopOperand { operand: 0 }, true, "pop n values, push an Array of them (brace array)";
    PushClosure     [U8, U8]  Effect::PopOperand { operand: 1 }, true, "pop n copied values, push a closure over the block in literal k (operands k, n)";
    Dup             []        fx(1, 2), true,  "duplicate the top of the stack";
    Pop             []        fx(1, 0), true,  "discard the top of the stack";
    // ---- stores -------------------------------------------------------------------------
    StoreLocal      [U8]      fx(1, 1), true,  "store the top into frame slot bp+k, keep it";
    PopStoreLocal   [U8]      fx(1, 0), true,  "pop the top into frame slot bp+k";
    StoreInstVar    [U8]      fx(1, 1), true,  "store the top into instance variable k, keep it";
    PopStoreInstVar [U8]      fx(1, 0), true,  "pop the top into instance variable k";
    StoreGlobal     [U8]      fx(1, 1), true,  "store the top into the global binding in literal k, keep it";
    PopStoreGlobal  [U8]      fx(1, 0), true,  "pop the top into the global binding in literal k";
    StoreIndirect   [U8, U8]  fx(1, 1), true,  "store the top into element i of the temp vector in local k, keep it";
    PopStoreIndirect [U8, U8] fx(1, 0), true,  "pop the top into element i of the temp vector in local k";
    // ---- sends --------------------------------------------------------------------------
    Send            [U8]      SEND, true,      "send the selector of send site s through the site's own cache cell";
    SuperSend       [U8]      SEND, true,      "send the selector of send site s, starting lookup above the method's class";
    Add             []        SEND, true,      "+ (SmallInteger/Float fast path)";
    Sub             []        SEND, true,      "- (SmallInteger/Float fast path)";
    Mul             []        SEND, true,      "* (SmallInteger/Float fast path)";
    Div             []        SEND, true,      "/ (SOM: integer division truncating toward zero on integers)";
    Lt              []        SEND, true,      "< (SmallInteger/Float fast path)";
    Gt              []        SEND, true,      "> (SmallInteger/Float fast path)";
    Le              []        SEND, true,      "<= (SmallInteger/Float fast path)";
    Ge              []        SEND, true,      ">= (SmallInteger/Float fast path)";
    Eq              []        SEND, true,      "= (SmallInteger/Float fast path)";
    Ne              []        SEND, true,      "~= (SmallInteger/Float fast path)";
    BitAnd          []        SEND, true,      "bitAnd: (SmallInteger fast path)";
    BitOr           []        SEND, true,      "bitOr: (SmallInteger fast path)";
    At              []        SEND, true,      "at: (Array/String fast path)";
    AtPut           []        SEND, true,      "at:put: (Array fast path)";
    Size            []        SEND, true,      "size (Array/String fast path)";
    Value           []        SEND, true,      "value (closure fast path)";
    Value1          []        SEND, true,      "value: (closure fast path)";
    IdentityEq      []        fx(2, 1), true,  "== : identity comparison, never a send";
    IdentityNe      []        fx(2, 1), true,  "~~ : identity comparison, never a send";
    // ---- jumps (offsets relative to the next instruction) ---------------------------------
    Jump            [I16]     fx(0, 0), false, "jump forward or back by the offset (back jumps poll interrupts)";
    JumpIfTrue      [I16]     fx(1, 0), true,  "pop; jump if true; continue if false; otherwise send mustBeBoolean";
    JumpIfFalse     [I16]     fx(1, 0), true,  "pop; jump if false; continue if true; otherwise send mustBeBoolean";
    JumpIfNil       [I16]     fx(1, 0), true,  "pop; jump if nil";
    JumpIfNotNil    [I16]     fx(1, 0), true,  "pop; jump unless nil";
    // ---- returns ------------------------------------------------------------------------
    ReturnTop       []        RET, false,      "return the top from this activation to its caller (method ^ or block end)";
    ReturnSelf      []        RET, false,      "return the receiver to the caller";
    NonLocalReturn  []        RET, false,      "return the top from the home method of this block";
    // ---- prefixes -----------------------------------------------------------------------
    ExtA            [U8]      fx(0, 0), true,  "prefix: the next instruction's first U8 operand gets this byte as its high byte (two prefixes: 24 bits)";
    // ---- superinstructions (see the module docs): each heads a sequence and runs as its
    // ---- base instruction when it runs alone; operands and stack effect are the base's
    PushLocal2      [U8]      fx(0, 1), true,  "PushLocal heading PushLocal: pushes both locals" => PushLocal [PushLocal];
    AddLocalConst   [U8]      fx(0, 1), true,  "PushLocal heading PushSmallInt, Add, PopStoreLocal: adds the constant to a SmallInteger local and stores the sum" => PushLocal [PushSmallInt, Add, PopStoreLocal];
    LtJumpIfFalse   []        SEND, true,      "Lt heading JumpIfFalse: compares and branches without making a Boolean" => Lt [JumpIfFalse];
    GtJumpIfFalse   []        SEND, true,      "Gt heading JumpIfFalse: compares and branches without making a Boolean" => Gt [JumpIfFalse];
    LeJumpIfFalse   []        SEND, true,      "Le heading JumpIfFalse: compares and branches without making a Boolean" => Le [JumpIfFalse];
    GeJumpIfFalse   []        SEND, true,      "Ge heading JumpIfFalse: compares and branches without making a Boolean" => Ge [JumpIfFalse];
    EqJumpIfFalse   []        SEND, true,      "Eq heading JumpIfFalse: compares and branches without making a Boolean" => Eq [JumpIfFalse];
    NeJumpIfFalse   []        SEND, true,      "Ne heading JumpIfFalse: compares and branches without making a Boolean" => Ne [JumpIfFalse];
    AddPopStoreLocal []       SEND, true,      "Add heading PopStoreLocal: stores a SmallInteger sum without pushing it" => Add [PopStoreLocal];
    PopStoreLocalPushLocal [U8] fx(1, 0), true, "PopStoreLocal heading PushLocal: stores one local and pushes another" => PopStoreLocal [PushLocal];
    PushLocalSmallInt [U8]    fx(0, 1), true,  "PushLocal heading PushSmallInt: pushes a local and a constant" => PushLocal [PushSmallInt];
    PushLocalLiteral [U8]     fx(0, 1), true,  "PushLocal heading PushLiteral: pushes a local and a literal" => PushLocal [PushLiteral];
    PushLocalAddConst [U8]    fx(0, 1), true,  "PushLocal heading PushSmallInt, Add: pushes a SmallInteger local plus a constant" => PushLocal [PushSmallInt, Add];
    PushLocalSubConst [U8]    fx(0, 1), true,  "PushLocal heading PushSmallInt, Sub: pushes a SmallInteger local minus a constant" => PushLocal [PushSmallInt, Sub];
    PushSelfPushLocal []      fx(0, 1), true,  "PushSelf heading PushLocal: pushes the receiver and a local" => PushSelf [PushLocal];
    ReturnLocal     [U8]      fx(0, 1), true,  "PushLocal heading ReturnTop: returns a local" => PushLocal [ReturnTop];
    AddLocalConstJump [U8]    fx(0, 1), true,  "PushLocal heading PushSmallInt, Add, PopStoreLocal, Jump: a counting loop's step and jump back" => PushLocal [PushSmallInt, Add, PopStoreLocal, Jump];
    LocalLtConstJump [U8]     fx(0, 1), true,  "PushLocal heading PushSmallInt, Lt, JumpIfFalse: compares a SmallInteger local with a constant and branches" => PushLocal [PushSmallInt, Lt, JumpIfFalse];
    LocalGtConstJump [U8]     fx(0, 1), true,  "PushLocal heading PushSmallInt, Gt, JumpIfFalse: compares a SmallInteger local with a constant and branches" => PushLocal [PushSmallInt, Gt, JumpIfFalse];
    LocalLeConstJump [U8]     fx(0, 1), true,  "PushLocal heading PushSmallInt, Le, JumpIfFalse: compares a SmallInteger local with a constant and branches" => PushLocal [PushSmallInt, Le, JumpIfFalse];
    LocalGeConstJump [U8]     fx(0, 1), true,  "PushLocal heading PushSmallInt, Ge, JumpIfFalse: compares a SmallInteger local with a constant and branches" => PushLocal [PushSmallInt, Ge, JumpIfFalse];
    LocalEqConstJump [U8]     fx(0, 1), true,  "PushLocal heading PushSmallInt, Eq, JumpIfFalse: compares a SmallInteger local with a constant and branches" => PushLocal [PushSmallInt, Eq, JumpIfFalse];
    LocalNeConstJump [U8]     fx(0, 1), true,  "PushLocal heading PushSmallInt, Ne, JumpIfFalse: compares a SmallInteger local with a constant and branches" => PushLocal [PushSmallInt, Ne, JumpIfFalse];
    AddReturnTop    []        SEND, true,      "Add heading ReturnTop: returns a SmallInteger sum" => Add [ReturnTop];
    PushSelfLocalAddConst []  fx(0, 1), true,  "PushSelf heading PushLocal, PushSmallInt, Add: pushes the receiver and a SmallInteger local plus a constant" => PushSelf [PushLocal, PushSmallInt, Add];
    PushSelfLocalSubConst []  fx(0, 1), true,  "PushSelf heading PushLocal, PushSmallInt, Sub: pushes the receiver and a SmallInteger local minus a constant" => PushSelf [PushLocal, PushSmallInt, Sub];
}

impl Op {
    /// Decodes an opcode byte; `None` for bytes that are not opcodes.
    #[inline]
    pub fn from_byte(b: u8) -> Option<Op> {
        ALL_OPS.get(b as usize).copied()
    }

    /// The opcode's metadata.
    #[inline]
    pub fn info(self) -> &'static OpInfo {
        &OPS[self as usize]
    }

    /// Every opcode, in byte order.
    pub fn all() -> &'static [Op] {
        ALL_OPS
    }

    /// The instruction this one runs as alone: a superinstruction's base, else itself.
    #[inline]
    pub fn base(self) -> Op {
        self.info().base.unwrap_or(self)
    }
}

/// The opcode byte an instruction executes when it runs alone: a superinstruction's base,
/// any other opcode itself. (The interpreter's slow path runs superinstructions this way.)
#[inline]
pub fn base_opcode(byte: u8) -> u8 {
    BASE_OPCODES[byte as usize]
}

/// The opcode of every byte, for dispatching with an exhaustive `match` (no range check).
/// Bytes that are not opcodes map to `ExtA`, which never runs as such (the interpreter's slow
/// path takes it, and it panics on an invalid byte).
pub static OP_OF_BYTE: [Op; 256] = {
    let mut t = [Op::ExtA; 256];
    let mut i = 0;
    while i < ALL_OPS.len() {
        t[i] = ALL_OPS[i];
        i += 1;
    }
    t
};

/// [`base_opcode`] for every byte (bytes that are not opcodes map to themselves).
static BASE_OPCODES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < OPS.len() {
        if let Some(b) = OPS[i].base {
            t[i] = b as u8;
        }
        i += 1;
    }
    t
};

/// Rewrites the heads of instruction sequences that have a superinstruction (see the module
/// docs) into that superinstruction. Only opcode bytes change, so lengths, jump offsets and pcs
/// stay as they were. `code` must decode (the compiler's output); a sequence is fused only
/// when none of its instructions has an `ExtA` prefix. Among overlapping candidates the choice
/// that leaves the fewest instructions to dispatch wins.
pub fn fuse_superinstructions(code: &mut [u8]) {
    let instrs: Vec<Instr> = instructions(code).map_while(Result::ok).collect();
    let n = instrs.len();
    // Whether instruction i is unprefixed and could be part of a superinstruction's sequence.
    let plain = |i: usize| code[instrs[i].pc] == instrs[i].op as u8;
    // saved[i]: most dispatches saved from instruction i on; choice[i]: the fusion there.
    let mut saved = vec![0usize; n + 1];
    let mut choice: Vec<Option<(Op, usize)>> = vec![None; n];
    for i in (0..n).rev() {
        saved[i] = saved[i + 1];
        if !plain(i) {
            continue;
        }
        for &s in SUPERINSTRUCTIONS {
            let info = s.info();
            let len = 1 + info.then.len();
            if info.base != Some(instrs[i].op)
                || i + len > n
                || !info
                    .then
                    .iter()
                    .enumerate()
                    .all(|(k, t)| instrs[i + 1 + k].op == *t && plain(i + 1 + k))
            {
                continue;
            }
            let with = len - 1 + saved[i + len];
            if with > saved[i] {
                saved[i] = with;
                choice[i] = Some((s, len));
            }
        }
    }
    let mut i = 0;
    while i < n {
        match choice[i] {
            Some((s, len)) => {
                code[instrs[i].pc] = s as u8;
                i += len;
            }
            None => i += 1,
        }
    }
}

/// Every superinstruction, in byte order.
pub static SUPERINSTRUCTIONS: &[Op] = {
    const N: usize = {
        let mut n = 0;
        let mut i = 0;
        while i < OPS.len() {
            if OPS[i].base.is_some() {
                n += 1;
            }
            i += 1;
        }
        n
    };
    const LIST: [Op; N] = {
        let mut list = [Op::ExtA; N];
        let (mut i, mut k) = (0, 0);
        while i < OPS.len() {
            if OPS[i].base.is_some() {
                list[k] = ALL_OPS[i];
                k += 1;
            }
            i += 1;
        }
        list
    };
    &LIST
};

/// The selectors behind the special-send opcodes, with their argument counts.
///
/// The interpreter's slow path for a special opcode sends exactly this selector.
pub fn special_selector(op: Op) -> Option<(&'static str, usize)> {
    let op = op.base();
    SPECIAL_SELECTORS
        .iter()
        .find(|(o, _, _)| *o == op)
        .map(|&(_, s, n)| (s, n))
}

/// (opcode, selector, number of arguments) for every special send.
pub const SPECIAL_SELECTORS: &[(Op, &str, usize)] = &[
    (Op::Add, "+", 1),
    (Op::Sub, "-", 1),
    (Op::Mul, "*", 1),
    (Op::Div, "/", 1),
    (Op::Lt, "<", 1),
    (Op::Gt, ">", 1),
    (Op::Le, "<=", 1),
    (Op::Ge, ">=", 1),
    (Op::Eq, "=", 1),
    (Op::Ne, "~=", 1),
    (Op::BitAnd, "bitAnd:", 1),
    (Op::BitOr, "bitOr:", 1),
    (Op::At, "at:", 1),
    (Op::AtPut, "at:put:", 2),
    (Op::Size, "size", 0),
    (Op::Value, "value", 0),
    (Op::Value1, "value:", 1),
];

/// The opcode that implements a send of `selector` with a fast path, if there is one.
pub fn special_op_for(selector: &str) -> Option<Op> {
    SPECIAL_SELECTORS
        .iter()
        .find(|(_, s, _)| *s == selector)
        .map(|&(o, _, _)| o)
}

/// One decoded instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Instr {
    /// Offset of the instruction's first byte (its `ExtA` prefix, if any).
    pub pc: usize,
    /// The opcode.
    pub op: Op,
    /// Operand values, in encoding order (an `ExtA` prefix already folded into the first).
    pub operands: [i32; 2],
    /// Offset of the next instruction.
    pub next: usize,
}

impl Instr {
    /// Target of a jump instruction.
    pub fn jump_target(&self) -> Option<usize> {
        match self.op.base() {
            Op::Jump | Op::JumpIfTrue | Op::JumpIfFalse | Op::JumpIfNil | Op::JumpIfNotNil => {
                Some((self.next as i64 + self.operands[0] as i64) as usize)
            }
            _ => None,
        }
    }
}

/// Why a byte sequence is not valid bytecode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A byte that is not an opcode.
    #[error("invalid opcode {byte:#04x} at {pc}")]
    BadOpcode { pc: usize, byte: u8 },
    /// The instruction's operands run past the end of the code.
    #[error("truncated instruction at {pc}")]
    Truncated { pc: usize },
    /// An `ExtA` prefix in front of an instruction with no U8 operand, or more than
    /// [`MAX_PREFIXES`] prefixes.
    #[error("misplaced ExtA prefix at {pc}")]
    BadPrefix { pc: usize },
}

/// Decodes the instruction at `pc`, folding a leading `ExtA` prefix into it.
pub fn decode(code: &[u8], pc: usize) -> Result<Instr, DecodeError> {
    let start = pc;
    let mut pc = pc;
    let mut ext: i32 = 0;
    let mut op = op_at(code, pc)?;
    let mut prefixes = 0;
    while op == Op::ExtA {
        prefixes += 1;
        let hi = *code.get(pc + 1).ok_or(DecodeError::Truncated { pc })?;
        if prefixes > MAX_PREFIXES {
            return Err(DecodeError::BadPrefix { pc: start });
        }
        ext = (ext | i32::from(hi)) << 8;
        pc += 2;
        op = op_at(code, pc)?;
    }
    if prefixes > 0 && op.info().operands.first() != Some(&Operand::U8) {
        return Err(DecodeError::BadPrefix { pc: start });
    }
    let info = op.info();
    let mut operands = [0i32; 2];
    let mut at = pc + 1;
    for (i, kind) in info.operands.iter().enumerate() {
        let bytes = code
            .get(at..at + kind.size())
            .ok_or(DecodeError::Truncated { pc: start })?;
        operands[i] = match kind {
            Operand::U8 => i32::from(bytes[0]),
            Operand::I8 => i32::from(bytes[0] as i8),
            Operand::I16 => i32::from(i16::from_le_bytes([bytes[0], bytes[1]])),
        };
        at += kind.size();
    }
    operands[0] |= ext;
    Ok(Instr {
        pc: start,
        op,
        operands,
        next: at,
    })
}

fn op_at(code: &[u8], pc: usize) -> Result<Op, DecodeError> {
    let byte = *code.get(pc).ok_or(DecodeError::Truncated { pc })?;
    Op::from_byte(byte).ok_or(DecodeError::BadOpcode { pc, byte })
}

/// Iterates over the instructions of `code`, stopping at the first decoding error.
pub fn instructions(code: &[u8]) -> impl Iterator<Item = Result<Instr, DecodeError>> + '_ {
    let mut pc = 0;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || pc >= code.len() {
            return None;
        }
        let r = decode(code, pc);
        match &r {
            Ok(i) => pc = i.next,
            Err(_) => failed = true,
        }
        Some(r)
    })
}

/// Appends instructions to a byte vector. The compiler's only way of writing bytecode.
#[derive(Debug, Default, Clone)]
pub struct Encoder {
    /// The code written so far.
    pub code: Vec<u8>,
}

impl Encoder {
    /// Current offset (the pc of the next instruction).
    pub fn pc(&self) -> usize {
        self.code.len()
    }

    /// Emits `op` with its operands, adding `ExtA` prefixes when the first operand needs them.
    ///
    /// # Panics
    /// If the number of operands does not match the table, or an operand is out of range for its
    /// kind: both are compiler bugs (the compiler checks user-visible limits first).
    pub fn emit(&mut self, op: Op, operands: &[i32]) {
        let info = op.info();
        assert_eq!(
            info.operands.len(),
            operands.len(),
            "{} takes {} operands",
            info.name,
            info.operands.len()
        );
        if let (Some(Operand::U8), Some(&first)) = (info.operands.first(), operands.first())
            && first > 255
        {
            assert!(
                first as usize <= MAX_PREFIXED,
                "{}: operand {first} out of range",
                info.name
            );
            if first > 0xFFFF {
                self.code.push(Op::ExtA as u8);
                self.code.push((first >> 16) as u8);
            }
            self.code.push(Op::ExtA as u8);
            self.code.push((first >> 8) as u8);
        }
        self.code.push(op as u8);
        for (kind, &value) in info.operands.iter().zip(operands) {
            match kind {
                Operand::U8 => self.code.push((value & 0xFF) as u8),
                Operand::I8 => {
                    let v = i8::try_from(value).expect("I8 operand out of range");
                    self.code.push(v as u8);
                }
                Operand::I16 => {
                    let v = i16::try_from(value).expect("I16 operand out of range");
                    self.code.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    }

    /// Emits a jump with a placeholder offset and returns the position to patch.
    pub fn emit_jump(&mut self, op: Op) -> usize {
        self.emit(op, &[0]);
        self.code.len() - 2
    }

    /// Points the jump whose offset lives at `at` (from [`Encoder::emit_jump`]) to `target`.
    ///
    /// Returns `false` if the distance does not fit in 16 bits (the caller reports a
    /// "method too large" error).
    pub fn patch_jump(&mut self, at: usize, target: usize) -> bool {
        let next = at + 2;
        let Ok(off) = i16::try_from(target as i64 - next as i64) else {
            return false;
        };
        self.code[at..at + 2].copy_from_slice(&off.to_le_bytes());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_enum_agree() {
        for (i, op) in Op::all().iter().enumerate() {
            assert_eq!(*op as usize, i);
            assert_eq!(Op::from_byte(i as u8), Some(*op));
            assert_eq!(op.info().name, format!("{op:?}"));
        }
        assert_eq!(Op::from_byte(Op::all().len() as u8), None);
    }

    #[test]
    fn every_special_opcode_has_a_selector() {
        for op in Op::all() {
            let is_send = op.info().effect == Effect::Send;
            let special = !matches!(op, Op::Send | Op::SuperSend);
            assert_eq!(
                is_send && special,
                special_selector(*op).is_some(),
                "{op:?}"
            );
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        let mut e = Encoder::default();
        e.emit(Op::PushLocal, &[7]);
        e.emit(Op::PushSmallInt, &[-5]);
        e.emit(Op::Send, &[300]);
        e.emit(Op::PushIndirect, &[2, 9]);
        e.emit(Op::Send, &[70_000]);
        e.emit(Op::SuperSend, &[0x1_0000]);
        let j = e.emit_jump(Op::JumpIfFalse);
        e.emit(Op::ReturnSelf, &[]);
        let target = e.pc();
        assert!(e.patch_jump(j, target));
        e.emit(Op::ReturnTop, &[]);
        let ins: Vec<Instr> = instructions(&e.code).map(Result::unwrap).collect();
        let ops: Vec<Op> = ins.iter().map(|i| i.op).collect();
        assert_eq!(
            ops,
            [
                Op::PushLocal,
                Op::PushSmallInt,
                Op::Send,
                Op::PushIndirect,
                Op::Send,
                Op::SuperSend,
                Op::JumpIfFalse,
                Op::ReturnSelf,
                Op::ReturnTop
            ]
        );
        assert_eq!(ins[0].operands[0], 7);
        assert_eq!(ins[1].operands[0], -5);
        assert_eq!(ins[2].operands[0], 300);
        assert_eq!(ins[2].next - ins[2].pc, 4, "one prefix");
        assert_eq!(ins[3].operands, [2, 9]);
        assert_eq!(ins[4].operands[0], 70_000);
        assert_eq!(ins[4].next - ins[4].pc, 6, "two prefixes");
        assert_eq!(ins[5].operands[0], 0x1_0000);
        assert_eq!(ins[6].jump_target(), Some(target));
    }

    #[test]
    fn superinstructions_are_their_base_heading_a_sequence() {
        for op in Op::all() {
            let info = op.info();
            let Some(base) = info.base else {
                assert!(info.then.is_empty(), "{op:?}");
                continue;
            };
            let b = base.info();
            assert!(
                b.base.is_none(),
                "{op:?}: the base of a superinstruction is ordinary"
            );
            assert_eq!(info.operands, b.operands, "{op:?}");
            assert_eq!(info.effect, b.effect, "{op:?}");
            assert_eq!(info.falls_through, b.falls_through, "{op:?}");
            assert!(!info.then.is_empty(), "{op:?}");
            assert!(info.then.iter().all(|t| t.info().base.is_none()), "{op:?}");
            assert_eq!(base_opcode(*op as u8), base as u8);
            assert_eq!(special_selector(*op), special_selector(base));
            // The fast path reads operands up to 15 bytes after the head (`stack::CODE_PAD`).
            let len: usize = b.len() + info.then.iter().map(|t| t.info().len()).sum::<usize>();
            assert!(len <= crate::stack::CODE_PAD, "{op:?}");
        }
        assert!(Op::all().len() <= 256);
        for (i, op) in Op::all().iter().enumerate() {
            assert_eq!(OP_OF_BYTE[i], *op);
        }
    }

    #[test]
    fn fusing_rewrites_heads_only() {
        // s := s + i. i := i + 1. (locals 7 and 8)
        let mut e = Encoder::default();
        e.emit(Op::PushLocal, &[7]);
        e.emit(Op::PushLocal, &[8]);
        e.emit(Op::Add, &[]);
        e.emit(Op::PopStoreLocal, &[7]);
        e.emit(Op::PushLocal, &[8]);
        e.emit(Op::PushSmallInt, &[1]);
        e.emit(Op::Add, &[]);
        e.emit(Op::PopStoreLocal, &[8]);
        e.emit(Op::Send, &[300]); // ExtA-prefixed: never fused into anything
        e.emit(Op::ReturnSelf, &[]);
        let plain = e.code.clone();
        let mut fused = e.code;
        fuse_superinstructions(&mut fused);
        let ops: Vec<Op> = instructions(&fused).map(|i| i.unwrap().op).collect();
        assert_eq!(
            ops,
            [
                Op::PushLocal2,
                Op::PushLocal,
                Op::AddPopStoreLocal,
                Op::PopStoreLocal,
                Op::AddLocalConst,
                Op::PushSmallInt,
                Op::Add,
                Op::PopStoreLocal,
                Op::Send,
                Op::ReturnSelf
            ]
        );
        // Only opcode bytes changed, each into a superinstruction of the same base.
        assert_eq!(fused.len(), plain.len());
        for (a, b) in plain.iter().zip(&fused) {
            assert!(a == b || base_opcode(*b) == *a);
        }
    }

    #[test]
    fn bad_code_is_an_error() {
        assert!(matches!(
            decode(&[250], 0),
            Err(DecodeError::BadOpcode { .. })
        ));
        assert!(matches!(
            decode(&[Op::PushLocal as u8], 0),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            decode(&[Op::ExtA as u8, 1, Op::Dup as u8], 0),
            Err(DecodeError::BadPrefix { .. })
        ));
        let send = Op::Send as u8;
        let ext = Op::ExtA as u8;
        assert!(matches!(
            decode(&[ext, 1, ext, 1, ext, 1, send, 0], 0),
            Err(DecodeError::BadPrefix { .. })
        ));
        assert!(matches!(
            decode(&[ext, 1, ext, 0, send, 7], 0),
            Ok(Instr {
                operands: [0x1_0007, 0],
                ..
            })
        ));
    }
}
