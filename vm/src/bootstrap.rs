//! Making a VM from nothing: nil, true and false, the kernel classes with the Smalltalk-80
//! metaclass loop, the globals, the special objects, and then the class library compiled from
//! `stdlib/`.
//!
//! The kernel classes are the ones whose instances the VM makes or reads itself; they get fixed
//! class indices (`objects::class_index`). The class library (`stdlib/*.som`) adds their methods
//! and defines every other class. Class definitions made later (class files, `subclass:`) go
//! through the same [`Vm::define_class`].

use crate::objects::{InstanceSpec, class, class_index as ci};
use crate::vm::{Vm, VmError, VmOptions, sp};
use smalt_gc::{ClassIndex, Format, Word};

/// A kernel class: name, superclass name, instance index (plus extra indices that share the
/// class), instance format and instance variables.
struct Kernel {
    name: &'static str,
    superclass: Option<&'static str>,
    index: ClassIndex,
    extra: &'static [ClassIndex],
    format: Format,
    ivars: &'static [&'static str],
}

const fn k(
    name: &'static str,
    superclass: Option<&'static str>,
    index: ClassIndex,
    format: Format,
    ivars: &'static [&'static str],
) -> Kernel {
    Kernel {
        name,
        superclass,
        index,
        extra: &[],
        format,
        ivars,
    }
}

/// The names of a class's own slots as the compiler sees them: not identifiers, so that class
/// methods cannot clash with (or touch) them; reflection goes through primitives.
pub const CLASS_SLOT_NAMES: [&str; class::SIZE] = [
    "<superclass>",
    "<methods>",
    "<spec>",
    "<name>",
    "<instanceVariables>",
    "<index>",
    "<thisClass>",
];

/// The slots of closures, contexts and method dictionaries (the globals too) are hidden from
/// compiled code the same way, for another reason: the VM reads them without checks (a
/// closure's code, a context's frame, a dictionary's key array), so no method, not even one
/// added to Block, Context or MethodDictionary, may store into them. Primitives answer what
/// Smalltalk may read (`outerContext`, `receiver`, …), and reflection refuses to write them
/// (`prims::objects::protected_slots`).
const BLOCK_SLOT_NAMES: [&str; 3] = ["<outerContext>", "<code>", "<receiver>"];
/// See [`BLOCK_SLOT_NAMES`].
const CONTEXT_SLOT_NAMES: [&str; 6] = [
    "<frame>",
    "<method>",
    "<receiver>",
    "<closure>",
    "<pc>",
    "<sender>",
];
/// See [`BLOCK_SLOT_NAMES`].
const DICTIONARY_SLOT_NAMES: [&str; 3] = ["<tally>", "<keys>", "<values>"];

const BYTES: Format = Format::Bytes { unused: 0 };
const METHOD: Format = Format::CompiledMethod { unused: 0 };
const NO_IVARS: &[&str] = &[];

const KERNEL: &[Kernel] = &[
    k("Object", None, ci::OBJECT, Format::Fixed, NO_IVARS),
    k(
        "Class",
        Some("Object"),
        ci::CLASS,
        Format::Fixed,
        &CLASS_SLOT_NAMES,
    ),
    k(
        "Metaclass",
        Some("Class"),
        ci::METACLASS,
        Format::Fixed,
        NO_IVARS,
    ),
    k("Nil", Some("Object"), ci::NIL, Format::Fixed, NO_IVARS),
    k(
        "Boolean",
        Some("Object"),
        ci::BOOLEAN,
        Format::Fixed,
        NO_IVARS,
    ),
    k("True", Some("Boolean"), ci::TRUE, Format::Fixed, NO_IVARS),
    k("False", Some("Boolean"), ci::FALSE, Format::Fixed, NO_IVARS),
    k(
        "Magnitude",
        Some("Object"),
        ClassIndex(36),
        Format::Fixed,
        NO_IVARS,
    ),
    k(
        "Number",
        Some("Magnitude"),
        ci::NUMBER,
        Format::Fixed,
        NO_IVARS,
    ),
    Kernel {
        name: "Integer",
        superclass: Some("Number"),
        index: ci::SMALL_INTEGER,
        extra: &[ci::LARGE_POSITIVE, ci::LARGE_NEGATIVE],
        format: Format::Words,
        ivars: NO_IVARS,
    },
    Kernel {
        name: "Double",
        superclass: Some("Number"),
        index: ci::SMALL_FLOAT,
        extra: &[ci::BOXED_FLOAT],
        format: Format::Words,
        ivars: NO_IVARS,
    },
    k(
        "Character",
        Some("Magnitude"),
        ci::CHARACTER,
        Format::Fixed,
        NO_IVARS,
    ),
    k(
        "Collection",
        Some("Object"),
        ClassIndex(37),
        Format::Fixed,
        NO_IVARS,
    ),
    k(
        "SequenceableCollection",
        Some("Collection"),
        ClassIndex(38),
        Format::Fixed,
        NO_IVARS,
    ),
    k(
        "ArrayedCollection",
        Some("SequenceableCollection"),
        ClassIndex(39),
        Format::Fixed,
        NO_IVARS,
    ),
    k(
        "Array",
        Some("ArrayedCollection"),
        ci::ARRAY,
        Format::Indexable,
        NO_IVARS,
    ),
    k(
        "String",
        Some("ArrayedCollection"),
        ci::STRING,
        BYTES,
        NO_IVARS,
    ),
    k("Symbol", Some("String"), ci::SYMBOL, BYTES, NO_IVARS),
    k(
        "ByteArray",
        Some("ArrayedCollection"),
        ci::BYTE_ARRAY,
        BYTES,
        NO_IVARS,
    ),
    k(
        "WeakArray",
        Some("ArrayedCollection"),
        ci::WEAK_ARRAY,
        Format::Weak,
        NO_IVARS,
    ),
    k("Method", Some("Object"), ci::METHOD, METHOD, NO_IVARS),
    k("Primitive", Some("Method"), ci::PRIMITIVE, METHOD, NO_IVARS),
    k(
        "CompiledBlock",
        Some("Method"),
        ci::COMPILED_BLOCK,
        METHOD,
        NO_IVARS,
    ),
    k(
        "Block",
        Some("Object"),
        ci::BLOCK,
        Format::FixedIndexable,
        &BLOCK_SLOT_NAMES,
    ),
    k(
        "Block1",
        Some("Block"),
        ci::BLOCK1,
        Format::FixedIndexable,
        NO_IVARS,
    ),
    k(
        "Block2",
        Some("Block"),
        ci::BLOCK2,
        Format::FixedIndexable,
        NO_IVARS,
    ),
    k(
        "Block3",
        Some("Block"),
        ci::BLOCK3,
        Format::FixedIndexable,
        NO_IVARS,
    ),
    k(
        "Context",
        Some("Object"),
        ci::CONTEXT,
        Format::Fixed,
        &CONTEXT_SLOT_NAMES,
    ),
    k(
        "Association",
        Some("Object"),
        ci::ASSOCIATION,
        Format::Fixed,
        &["key", "value"],
    ),
    k(
        "UndeclaredBinding",
        Some("Association"),
        ci::UNDECLARED_BINDING,
        Format::Fixed,
        NO_IVARS,
    ),
    k(
        "MethodDictionary",
        Some("Object"),
        ci::METHOD_DICTIONARY,
        Format::Fixed,
        &DICTIONARY_SLOT_NAMES,
    ),
    k(
        "SystemDictionary",
        Some("MethodDictionary"),
        ci::SYSTEM_DICTIONARY,
        Format::Fixed,
        NO_IVARS,
    ),
    k(
        "Message",
        Some("Object"),
        ci::MESSAGE,
        Format::Fixed,
        &["selector", "arguments"],
    ),
    k(
        "System",
        Some("Object"),
        ci::SYSTEM,
        Format::Fixed,
        NO_IVARS,
    ),
];

/// Global names that are other names of kernel classes (Smalltalk-80 ↔ SOM).
const ALIASES: &[(&str, &str)] = &[
    ("UndefinedObject", "Nil"),
    ("Float", "Double"),
    ("BlockClosure", "Block"),
    ("SmallInteger", "Integer"),
    ("LargePositiveInteger", "Integer"),
    ("LargeNegativeInteger", "Integer"),
    ("CompiledMethod", "Method"),
    ("MethodContext", "Context"),
];

/// Other names of class-library classes.
const LIBRARY_ALIASES: &[(&str, &str)] = &[("IndexOutOfBounds", "SubscriptOutOfBounds")];

/// Selectors the VM sends by itself, in `sp` order.
const SPECIAL_SELECTORS: &[(usize, &str)] = &[
    (sp::SEL_DNU, "doesNotUnderstand:"),
    (sp::SEL_MUST_BE_BOOLEAN, "mustBeBoolean"),
    (sp::SEL_ESCAPED_BLOCK, "escapedBlock:"),
    (sp::SEL_UNKNOWN_GLOBAL, "unknownGlobal:"),
    (sp::SEL_STACK_OVERFLOW, "stackOverflow"),
    (sp::SEL_ABOUT_TO_RETURN, "aboutToReturn:through:"),
    (sp::SEL_RUN, "run"),
    (sp::SEL_RUN_ARGS, "run:"),
    (sp::SEL_PRINT_STRING, "printString"),
    (sp::SEL_PRIMITIVE_FAILED, "primitiveFailed:"),
    (sp::SEL_SIGNAL_FROM_VM, "signalFromVM"),
    (sp::SEL_INITIALIZE_ARGS, "initialize:"),
];

impl Vm {
    /// A VM with the kernel and the whole class library loaded.
    pub fn new(options: VmOptions) -> Result<Vm, VmError> {
        let mut vm = Vm::new_kernel(options)?;
        vm.load_stdlib()?;
        for &(alias, name) in LIBRARY_ALIASES {
            if let Some(c) = vm.global(name) {
                vm.set_global(alias, c)?;
            }
        }
        vm.attach_tier()?;
        vm.apply_class_path()?;
        Ok(vm)
    }

    /// A VM with the kernel classes only (no methods): for tests of the VM itself.
    pub fn new_kernel(options: VmOptions) -> Result<Vm, VmError> {
        let mut vm = Vm::empty(options);
        vm.make_nil_true_false();
        vm.make_kernel_classes()?;
        vm.kernel_ready = true;
        vm.heap.set_stress(vm.options.gc_stress);
        for &(index, name) in SPECIAL_SELECTORS {
            let sym = vm.intern(name)?;
            vm.set_special(index, sym);
        }
        for (i, (_, sel, _)) in crate::bytecode::SPECIAL_SELECTORS.iter().enumerate() {
            let sym = vm.intern(sel)?;
            vm.set_special(sp::FIRST_SPECIAL_SELECTOR + i, sym);
        }
        let system = vm.alloc(ci::SYSTEM, Format::Fixed, 0)?;
        vm.set_special(sp::SYSTEM, system.word());
        vm.set_global("system", system.word())?;
        let globals = vm.special(sp::GLOBALS);
        vm.set_global("Smalltalk", globals)?;
        for &(alias, name) in ALIASES {
            let c = vm
                .global(name)
                .ok_or_else(|| VmError::Load(format!("no kernel class {name}")))?;
            vm.set_global(alias, c)?;
        }
        Ok(vm)
    }

    /// nil, true and false: the first three objects of the heap, which never move (see
    /// `smalt_gc::Roots`).
    fn make_nil_true_false(&mut self) {
        let nil = self.alloc_reserved_unchecked(ci::NIL);
        self.heap.set_nil(nil);
        let t = self.alloc_reserved_unchecked(ci::TRUE);
        let f = self.alloc_reserved_unchecked(ci::FALSE);
        assert_eq!((nil.raw(), t.raw(), f.raw()), (8, 16, 24));
        self.true_false = [t, f];
        let specials = self
            .heap
            .alloc(ci::ARRAY, Format::Indexable, sp::COUNT)
            .expect("a fresh heap has room");
        self.specials = specials.word();
        self.set_special(sp::NIL, nil);
        self.set_special(sp::TRUE, t);
        self.set_special(sp::FALSE, f);
    }

    fn alloc_reserved_unchecked(&mut self, class: ClassIndex) -> Word {
        self.heap
            .alloc(class, Format::Fixed, 0)
            .expect("a fresh heap has room")
            .word()
    }

    fn make_kernel_classes(&mut self) -> Result<(), VmError> {
        // The dictionaries for globals need their classes' indices only, not the class objects.
        let globals = self.new_dict(ci::SYSTEM_DICTIONARY, 256)?;
        self.set_special(sp::GLOBALS, globals);
        let undeclared = self.new_dict(ci::METHOD_DICTIONARY, 32)?;
        self.set_special(sp::UNDECLARED, undeclared);
        for kc in KERNEL {
            let superclass = kc.superclass.map(|s| {
                self.global(s)
                    .unwrap_or_else(|| panic!("kernel superclass {s} defined later"))
            });
            let ivars: Vec<String> = kc.ivars.iter().map(|s| s.to_string()).collect();
            let cls = self.define_class(
                kc.name,
                superclass,
                &ivars,
                &[],
                Some((kc.index, kc.format)),
            )?;
            for extra in kc.extra {
                self.heap.classes_mut().set(*extra, cls);
            }
        }
        // The metaclass loop: every metaclass is an instance of Metaclass, and `Object class`
        // inherits from Class.
        let object_meta = self.class_of(self.global("Object").expect("Object"));
        let class_class = self.global("Class").expect("Class");
        self.heap
            .set_slot(object_meta.oop(), class::SUPERCLASS, class_class);
        Ok(())
    }

    /// Defines a class (or answers the existing one when the definition is unchanged).
    ///
    /// `fixed` gives a kernel class its class index and instance format. Otherwise the format
    /// follows the superclass: pointer classes stay pointer classes (indexable ones gain named
    /// variables before the indexed part), byte and word classes cannot add variables.
    /// A changed definition of an existing class makes a new class bound to the same global;
    /// existing instances keep the old one. A safepoint.
    pub fn define_class(
        &mut self,
        name: &str,
        superclass: Option<Word>,
        ivars: &[String],
        class_ivars: &[String],
        fixed: Option<(ClassIndex, Format)>,
    ) -> Result<Word, VmError> {
        let nil = self.nil();
        let sup = superclass.unwrap_or(nil);
        let (super_spec, super_ivars) = if sup == nil {
            (
                InstanceSpec {
                    format: Format::Fixed,
                    inst_size: 0,
                },
                Vec::new(),
            )
        } else {
            let spec = self
                .instance_spec(sup)
                .ok_or_else(|| VmError::Load(format!("{name}: superclass is not a class")))?;
            (spec, self.instance_variable_names(sup))
        };
        // A file for a kernel class (the library's, or one on the class path) adds methods to
        // it: it may name the kernel's superclass or any class above it (SOM's `Integer = (`
        // says Object, where smalt has Number in between), and may only restate the kernel's
        // own variables.
        if fixed.is_none()
            && let Some(existing) = self.global(name)
            && self.is_class(existing)
            && self
                .index_of_class(existing)
                .is_some_and(|i| i < ci::FIRST_DYNAMIC)
        {
            let kernel_super = self.superclass(existing);
            let all = self.instance_variable_names(existing);
            let inherited = if kernel_super == nil {
                0
            } else {
                self.instance_variable_names(kernel_super).len()
            };
            let own = &all[inherited.min(all.len())..];
            let super_ok =
                kernel_super == sup || (sup != nil && self.inherits_from(kernel_super, sup));
            if !super_ok || !(ivars.is_empty() || ivars == own) {
                return Err(VmError::Load(format!(
                    "{name} is a kernel class: its superclass and instance variables cannot change"
                )));
            }
            if !class_ivars.is_empty() {
                return Err(VmError::Load(format!(
                    "{name} is a kernel class: it cannot get class-side variables"
                )));
            }
            return Ok(existing);
        }
        let format = match fixed {
            Some((_, f)) => f,
            None => match super_spec.format {
                Format::Fixed => Format::Fixed,
                Format::Indexable | Format::FixedIndexable if !ivars.is_empty() => {
                    Format::FixedIndexable
                }
                f @ (Format::Indexable | Format::FixedIndexable) => f,
                f @ (Format::Bytes { .. } | Format::Words | Format::Weak) => {
                    if !ivars.is_empty() {
                        return Err(VmError::Load(format!(
                            "{name}: a subclass of a byte, word or weak class cannot have instance variables"
                        )));
                    }
                    f
                }
                Format::CompiledMethod { .. } => {
                    return Err(VmError::Load(format!(
                        "{name}: compiled methods cannot be subclassed"
                    )));
                }
            },
        };
        let mut all_ivars = super_ivars;
        let limit = crate::compiler::MAX_INSTANCE_VARIABLES;
        if all_ivars.len() + ivars.len() > limit {
            return Err(VmError::Load(format!(
                "{name}: too many instance variables ({} with the inherited ones); a class has at most {limit}",
                all_ivars.len() + ivars.len()
            )));
        }
        for v in ivars {
            if all_ivars.contains(v) {
                return Err(VmError::Load(format!(
                    "{name}: instance variable {v} is already defined in a superclass"
                )));
            }
            all_ivars.push(v.clone());
        }
        // Class-side variables: the metaclass's instances (the class) have Class's slots,
        // the superclass's class-side variables, then these.
        let super_meta = if sup == nil {
            self.heap.classes().get(ci::CLASS).unwrap_or(nil)
        } else {
            self.class_of(sup)
        };
        let mut meta_ivars = if super_meta == nil {
            CLASS_SLOT_NAMES.iter().map(|s| s.to_string()).collect()
        } else {
            self.instance_variable_names(super_meta)
        };
        if meta_ivars.len() < class::SIZE {
            meta_ivars = CLASS_SLOT_NAMES.iter().map(|s| s.to_string()).collect();
        }
        if meta_ivars.len() + class_ivars.len() > limit {
            return Err(VmError::Load(format!(
                "{name}: too many class-side variables ({}); there is room for {} besides a class's own slots and the inherited ones",
                class_ivars.len(),
                limit.saturating_sub(meta_ivars.len())
            )));
        }
        for v in class_ivars {
            if meta_ivars.contains(v) {
                return Err(VmError::Load(format!(
                    "{name}: class-side variable {v} is already defined"
                )));
            }
            meta_ivars.push(v.clone());
        }

        // An unchanged existing definition is reused.
        if fixed.is_none()
            && let Some(existing) = self.global(name)
            && self.is_class(existing)
            && self.superclass(existing) == sup
            && self.instance_variable_names(existing) == all_ivars
            && self.instance_variable_names(self.class_of(existing)) == meta_ivars
        {
            return Ok(existing);
        }

        let mark = self.handle_mark();
        let r = self.make_class(
            name,
            sup,
            format,
            &all_ivars,
            &meta_ivars,
            fixed.map(|f| f.0),
        );
        self.release_handles(mark);
        r
    }

    fn make_class(
        &mut self,
        name: &str,
        sup: Word,
        format: Format,
        all_ivars: &[String],
        meta_ivars: &[String],
        index: Option<ClassIndex>,
    ) -> Result<Word, VmError> {
        let nil = self.nil();
        let hsup = self.push_handle(sup);
        // Names and method dictionaries first (all safepoints), then the two class objects.
        let name_sym = self.intern(name)?;
        let hname = self.push_handle(name_sym);
        let ivar_array = self.new_symbol_array(all_ivars)?;
        let hivars = self.push_handle(ivar_array);
        let meta_ivar_array = self.new_symbol_array(meta_ivars)?;
        let hmivars = self.push_handle(meta_ivar_array);
        let md = self.new_dict(ci::METHOD_DICTIONARY, 32)?;
        let hmd = self.push_handle(md);
        let mmd = self.new_dict(ci::METHOD_DICTIONARY, 8)?;
        let hmmd = self.push_handle(mmd);
        self.reserve(2 * Vm::object_words(meta_ivars.len().max(class::SIZE)))?;
        let meta = self.alloc_reserved(ci::METACLASS, Format::Fixed, class::SIZE);
        let meta_index = self
            .heap
            .classes_mut()
            .register(meta.word(), ci::FIRST_DYNAMIC)
            .ok_or_else(|| VmError::Load("too many classes".into()))?;
        let cls = self.alloc_reserved(meta_index, Format::Fixed, meta_ivars.len().max(class::SIZE));
        let index = match index {
            Some(i) => {
                self.heap.classes_mut().set(i, cls.word());
                i
            }
            None => self
                .heap
                .classes_mut()
                .register(cls.word(), ci::FIRST_DYNAMIC)
                .ok_or_else(|| VmError::Load("too many classes".into()))?,
        };
        let sup = self.handle(hsup);
        let spec = InstanceSpec {
            format,
            inst_size: if format.is_pointers() {
                all_ivars.len()
            } else {
                0
            },
        };
        let set = |vm: &mut Vm, o: smalt_gc::Oop, i: usize, w: Word| vm.heap.set_slot(o, i, w);
        set(self, cls, class::SUPERCLASS, sup);
        set(self, cls, class::METHODS, self.handle(hmd));
        set(self, cls, class::SPEC, Word::small_int(spec.encode()));
        set(self, cls, class::NAME, self.handle(hname));
        set(self, cls, class::INSTANCE_VARIABLES, self.handle(hivars));
        set(self, cls, class::INDEX, Word::small_int(i64::from(index.0)));
        set(self, cls, class::THIS_CLASS, nil);
        let meta_super = if sup == nil {
            self.heap.classes().get(ci::CLASS).unwrap_or(nil)
        } else {
            self.class_of(sup)
        };
        let meta_spec = InstanceSpec {
            format: Format::Fixed,
            inst_size: meta_ivars.len().max(class::SIZE),
        };
        set(self, meta, class::SUPERCLASS, meta_super);
        set(self, meta, class::METHODS, self.handle(hmmd));
        set(self, meta, class::SPEC, Word::small_int(meta_spec.encode()));
        set(self, meta, class::NAME, nil);
        set(self, meta, class::INSTANCE_VARIABLES, self.handle(hmivars));
        set(
            self,
            meta,
            class::INDEX,
            Word::small_int(i64::from(meta_index.0)),
        );
        set(self, meta, class::THIS_CLASS, cls.word());
        let hcls = self.push_handle(cls.word());
        self.set_global(name, cls.word())?;
        Ok(self.handle(hcls))
    }

    /// All instance variable names of a class, inherited first.
    pub fn instance_variable_names(&self, cls: Word) -> Vec<String> {
        let Some(o) = cls.as_oop() else {
            return Vec::new();
        };
        if !self.is_class(cls) {
            return Vec::new();
        }
        let Some(arr) = self.heap.slot(o, class::INSTANCE_VARIABLES).as_oop() else {
            return Vec::new();
        };
        (0..self.heap.num_slots(arr))
            .filter_map(|i| self.string_value(self.heap.slot(arr, i)))
            .collect()
    }

    /// Loads the class library from the embedded sources, in manifest order.
    pub fn load_stdlib(&mut self) -> Result<(), VmError> {
        for (file, source) in smalt_stdlib::FILES {
            self.load_class_source(source, &format!("stdlib/{file}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_classes_form_the_metaclass_loop() {
        let vm = Vm::new_kernel(VmOptions::default()).unwrap();
        let object = vm.global("Object").unwrap();
        let class_c = vm.global("Class").unwrap();
        let metaclass = vm.global("Metaclass").unwrap();
        let object_class = vm.class_of(object);
        assert_eq!(vm.superclass(object_class), class_c);
        assert_eq!(vm.class_of(vm.class_of(metaclass)), metaclass);
        assert_eq!(
            vm.class_of(Word::small_int(3)),
            vm.global("Integer").unwrap()
        );
        assert_eq!(vm.class_of(vm.nil()), vm.global("Nil").unwrap());
        assert_eq!(vm.global("UndefinedObject"), vm.global("Nil"));
        assert_eq!(vm.class_name(object_class), "Object class");
        assert!(vm.is_class(object) && vm.is_class(object_class) && !vm.is_class(vm.nil()));
    }
}
