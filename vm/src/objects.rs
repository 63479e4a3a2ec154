//! The layouts of the kernel objects the VM reads and writes directly.
//!
//! Each layout is a set of slot indices; Smalltalk code sees the same slots as instance
//! variables (the kernel class definitions in `bootstrap.rs` name them in this order), so the
//! class library can be written in Smalltalk against them. `docs/object-model.md` draws them.

use smalt_gc::ClassIndex;

/// Fixed class indices of the kernel classes. Indices 1–3 are the immediates' (from smalt-gc).
pub mod class_index {
    use super::ClassIndex;
    pub use smalt_gc::SMALL_INTEGER_CLASS as SMALL_INTEGER;
    pub use smalt_gc::{CHARACTER_CLASS as CHARACTER, SMALL_FLOAT_CLASS as SMALL_FLOAT};
    /// nil's class (UndefinedObject / SOM's Nil).
    pub const NIL: ClassIndex = ClassIndex(4);
    /// true's class.
    pub const TRUE: ClassIndex = ClassIndex(5);
    /// false's class.
    pub const FALSE: ClassIndex = ClassIndex(6);
    /// Object.
    pub const OBJECT: ClassIndex = ClassIndex(7);
    /// Class.
    pub const CLASS: ClassIndex = ClassIndex(8);
    /// Metaclass.
    pub const METACLASS: ClassIndex = ClassIndex(9);
    /// Array.
    pub const ARRAY: ClassIndex = ClassIndex(10);
    /// String.
    pub const STRING: ClassIndex = ClassIndex(11);
    /// Symbol.
    pub const SYMBOL: ClassIndex = ClassIndex(12);
    /// Method (SOM) / CompiledMethod.
    pub const METHOD: ClassIndex = ClassIndex(13);
    /// Primitive (SOM): a compiled method whose code is a primitive.
    pub const PRIMITIVE: ClassIndex = ClassIndex(14);
    /// CompiledBlock: the code of a block.
    pub const COMPILED_BLOCK: ClassIndex = ClassIndex(15);
    /// Block (closures with 3 or more arguments) / BlockClosure.
    pub const BLOCK: ClassIndex = ClassIndex(16);
    /// Block1: closures with no argument.
    pub const BLOCK1: ClassIndex = ClassIndex(17);
    /// Block2: closures with one argument.
    pub const BLOCK2: ClassIndex = ClassIndex(18);
    /// Block3: closures with two arguments.
    pub const BLOCK3: ClassIndex = ClassIndex(19);
    /// Boxed doubles (NaN, infinities, denormals, very large/small magnitudes): class Double.
    pub const BOXED_FLOAT: ClassIndex = ClassIndex(20);
    /// Large positive integers: class Integer.
    pub const LARGE_POSITIVE: ClassIndex = ClassIndex(21);
    /// Large negative integers: class Integer.
    pub const LARGE_NEGATIVE: ClassIndex = ClassIndex(22);
    /// Context: a reified activation.
    pub const CONTEXT: ClassIndex = ClassIndex(23);
    /// Association (also global bindings).
    pub const ASSOCIATION: ClassIndex = ClassIndex(24);
    /// A binding of a global that is referenced but not (yet) defined.
    pub const UNDECLARED_BINDING: ClassIndex = ClassIndex(25);
    /// MethodDictionary.
    pub const METHOD_DICTIONARY: ClassIndex = ClassIndex(26);
    /// Message (selector + arguments), made for doesNotUnderstand:.
    pub const MESSAGE: ClassIndex = ClassIndex(27);
    /// System: the class of `system`.
    pub const SYSTEM: ClassIndex = ClassIndex(28);
    /// ByteArray.
    pub const BYTE_ARRAY: ClassIndex = ClassIndex(29);
    /// Boolean (abstract superclass of True and False).
    pub const BOOLEAN: ClassIndex = ClassIndex(30);
    /// Integer (the class of SmallInteger and large integer values).
    pub const INTEGER: ClassIndex = ClassIndex(31);
    /// Double (the class of immediate and boxed floats).
    pub const DOUBLE: ClassIndex = ClassIndex(32);
    /// Character (the class object; instances are immediates with index 2).
    pub const CHARACTER_CLASS_OBJ: ClassIndex = ClassIndex(33);
    /// WeakArray: weak indexable pointers.
    pub const WEAK_ARRAY: ClassIndex = ClassIndex(34);
    /// Number: abstract superclass of Integer and Double.
    pub const NUMBER: ClassIndex = ClassIndex(35);
    /// SystemDictionary: the class of the globals (`Smalltalk`), a MethodDictionary.
    pub const SYSTEM_DICTIONARY: ClassIndex = ClassIndex(40);
    /// First index handed out to classes defined later.
    pub const FIRST_DYNAMIC: ClassIndex = ClassIndex(64);
}

/// Slots of every class and metaclass (the instance variables of `Class`).
pub mod class {
    /// The superclass, or nil.
    pub const SUPERCLASS: usize = 0;
    /// The MethodDictionary.
    pub const METHODS: usize = 1;
    /// Instance specification, a SmallInteger: see [`super::InstanceSpec`].
    pub const SPEC: usize = 2;
    /// The name, a Symbol (metaclasses: nil).
    pub const NAME: usize = 3;
    /// All instance variable names, inherited first: an Array of Symbols.
    pub const INSTANCE_VARIABLES: usize = 4;
    /// The class's index in the class table, a SmallInteger.
    pub const INDEX: usize = 5;
    /// Metaclasses: the sole instance. Classes: nil.
    pub const THIS_CLASS: usize = 6;
    /// Number of slots of a class without class-side instance variables.
    pub const SIZE: usize = 7;
}

/// Slots of a MethodDictionary: an open-addressing table keyed by selector identity hash.
pub mod method_dict {
    /// Number of entries, a SmallInteger.
    pub const TALLY: usize = 0;
    /// Array of selectors (nil for empty).
    pub const KEYS: usize = 1;
    /// Array of methods, parallel to KEYS.
    pub const VALUES: usize = 2;
    /// Slot count.
    pub const SIZE: usize = 3;
}

/// Slots of an Association / global binding.
pub mod association {
    /// The key (a Symbol for globals).
    pub const KEY: usize = 0;
    /// The value.
    pub const VALUE: usize = 1;
    /// Slot count.
    pub const SIZE: usize = 2;
}

/// Pointer slots of a compiled method or block (format CompiledMethod), then its bytecodes.
///
/// ```text
///   slot 0        header: SmallInteger, low 16 bits = number of pointer slots after slot 0
///   slot 1        info:   SmallInteger, see MethodInfoBits
///   slot 2        method id: SmallInteger index of the VM's side table (0 = none yet)
///   slot 3 ..     literals: bytecode literal k is slot 3 + k
///   last - 3      site table: a read-only ByteArray of little-endian u16 literal indices,
///                 entry s naming the literal that holds send site s's selector; nil when
///                 the code has no send sites (see `bytecode`, "Sends")
///   last - 2      selector (Symbol); blocks: the enclosing method's selector
///   last - 1      holder: methods: the class; blocks: the enclosing method or block
///   last          debug info: an Array, see `debug`
///   then          bytecodes
/// ```
pub mod method {
    /// SmallInteger whose low 16 bits count the pointer slots after slot 0.
    pub const HEADER: usize = 0;
    /// SmallInteger with argument/temp counts, max stack, primitive and flags.
    pub const INFO: usize = 1;
    /// SmallInteger: the method's index in the VM's side table.
    pub const ID: usize = 2;
    /// Slot of literal 0.
    pub const FIRST_LITERAL: usize = 3;
    /// Number of trailer slots after the literals: site table, selector, holder, debug info.
    pub const TRAILER: usize = 4;
    /// The site table's place in the trailer, counted back from the last slot (see
    /// `Vm::method_trailer`).
    pub const SITES_BACK: usize = 3;
}

/// The debug-info Array of a method.
pub mod debug {
    /// Source file name (String) or nil.
    pub const FILE: usize = 0;
    /// Line table: Array of SmallIntegers, (pc, line, column) triples sorted by pc.
    pub const LINES: usize = 1;
    /// Source text of the method (String) or nil.
    pub const SOURCE: usize = 2;
    /// Names of the arguments and temporaries (Array of Strings).
    pub const TEMP_NAMES: usize = 3;
    /// The primitive's name (Symbol) or nil, so an image can re-resolve primitive indices.
    pub const PRIMITIVE: usize = 4;
    /// Slot count.
    pub const SIZE: usize = 5;
}

/// Slots of a closure (Block, Block1–3).
pub mod closure {
    /// The home method's context, for non-local return; nil for blocks without `^`.
    pub const OUTER_CONTEXT: usize = 0;
    /// The CompiledBlock.
    pub const CODE: usize = 1;
    /// The receiver (self inside the block).
    pub const RECEIVER: usize = 2;
    /// First copied value.
    pub const FIRST_COPIED: usize = 3;
}

/// Slots of a Context.
pub mod context {
    /// While the activation runs: its frame's base index in the VM stack (SmallInteger).
    /// After it returned: nil.
    pub const FRAME: usize = 0;
    /// The method or block code.
    pub const METHOD: usize = 1;
    /// The receiver.
    pub const RECEIVER: usize = 2;
    /// The closure for block activations, else nil.
    pub const CLOSURE: usize = 3;
    /// The pc (relative to the code start) when the activation ended or was last observed.
    pub const PC: usize = 4;
    /// A sender recorded for a detached context (normally nil: live senders come from frames).
    pub const SENDER: usize = 5;
    /// Slot count.
    pub const SIZE: usize = 6;
}

/// Slots of a Message.
pub mod message {
    /// The selector.
    pub const SELECTOR: usize = 0;
    /// The arguments (Array).
    pub const ARGUMENTS: usize = 1;
    /// Slot count.
    pub const SIZE: usize = 2;
}

/// The shape of a class's instances, packed in a SmallInteger in the class's SPEC slot.
///
/// ```text
///   bits 0..4    format bits of smalt_gc::Format (for byte formats: 8; compiled methods: 16)
///   bits 8..     number of named instance variables
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InstanceSpec {
    /// Instance format (for byte-holding formats the padding part is 0).
    pub format: smalt_gc::Format,
    /// Named instance variables.
    pub inst_size: usize,
}

impl InstanceSpec {
    /// Packs into the SmallInteger value.
    pub fn encode(self) -> i64 {
        i64::from(self.format.bits()) | ((self.inst_size as i64) << 8)
    }

    /// Unpacks; `None` if the bits are corrupt.
    pub fn decode(v: i64) -> Option<InstanceSpec> {
        let format = smalt_gc::Format::from_bits((v & 0x1F) as u8)?;
        Some(InstanceSpec {
            format,
            inst_size: usize::try_from(v >> 8).ok()?,
        })
    }
}

/// The method info word (slot 1 of a compiled method).
///
/// ```text
///   bits 0..7    number of arguments
///   bits 8..15   number of temporaries (frame slots after the header; blocks: copied first)
///   bits 16..31  max operand-stack depth
///   bits 32..47  primitive number (0 = none)
///   bits 48..55  flags (FLAG_*)
///   bits 56..61  number of copied values (blocks)
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct MethodInfoBits {
    /// Arguments.
    pub num_args: usize,
    /// Temporaries after the frame header.
    pub num_temps: usize,
    /// Max operand-stack depth.
    pub max_stack: usize,
    /// Primitive number, 0 for none.
    pub primitive: u16,
    /// FLAG_* bits.
    pub flags: u8,
    /// Copied values (blocks).
    pub num_copied: usize,
}

/// The code is a block.
pub const FLAG_BLOCK: u8 = 1;
/// A block that needs its home context (contains `^`).
pub const FLAG_NEEDS_OUTER: u8 = 2;
/// The method marks an unwind-protect activation (`ensure:` / `ifCurtailed:`).
pub const FLAG_UNWIND: u8 = 4;
/// The method marks an exception-handler activation (`on:do:`).
pub const FLAG_HANDLER: u8 = 8;
/// A SOM `= primitive` method.
pub const FLAG_SOM_PRIMITIVE: u8 = 16;

impl MethodInfoBits {
    /// Packs into the SmallInteger value.
    pub fn encode(self) -> i64 {
        (self.num_args as i64 & 0xFF)
            | ((self.num_temps as i64 & 0xFF) << 8)
            | ((self.max_stack as i64 & 0xFFFF) << 16)
            | (i64::from(self.primitive) << 32)
            | (i64::from(self.flags) << 48)
            | ((self.num_copied as i64 & 0x3F) << 56)
    }

    /// Unpacks.
    pub fn decode(v: i64) -> MethodInfoBits {
        MethodInfoBits {
            num_args: (v & 0xFF) as usize,
            num_temps: ((v >> 8) & 0xFF) as usize,
            max_stack: ((v >> 16) & 0xFFFF) as usize,
            primitive: ((v >> 32) & 0xFFFF) as u16,
            flags: ((v >> 48) & 0xFF) as u8,
            num_copied: ((v >> 56) & 0x3F) as usize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_info_round_trips() {
        let m = MethodInfoBits {
            num_args: 255,
            num_temps: 200,
            max_stack: 65535,
            primitive: 65535,
            flags: 0xFF,
            num_copied: 63,
        };
        let v = m.encode();
        assert!(smalt_gc::Word::try_small_int(v).is_some());
        assert_eq!(MethodInfoBits::decode(v), m);
    }

    #[test]
    fn instance_spec_round_trips() {
        let s = InstanceSpec {
            format: smalt_gc::Format::FixedIndexable,
            inst_size: 1000,
        };
        assert_eq!(InstanceSpec::decode(s.encode()), Some(s));
    }
}
