//! Turning compiler output into heap objects: compiled methods and blocks, their literals, the
//! side-table entries, and primitive resolution.

use crate::compiler::{self, CompiledCode, Literal, Primitive};
use crate::objects::{
    FLAG_BLOCK, FLAG_HANDLER, FLAG_NEEDS_OUTER, FLAG_SOM_PRIMITIVE, FLAG_UNWIND, MethodInfoBits,
    class_index as ci, closure, debug, method,
};
use crate::prims;
use crate::vm::{Vm, VmError};
use smalt_gc::{Format, Handle, Word};

impl Vm {
    /// Makes the heap object for `code` (and, recursively, its blocks), registers it in the
    /// side table and answers it. `holder` is the class for methods, the enclosing code for
    /// blocks. `prim_class` names the class for SOM `= primitive` lookups (`Foo` or
    /// `Foo class`). A safepoint.
    pub fn install_code(
        &mut self,
        code: &CompiledCode,
        holder: Word,
        file: &str,
        prim_class: &str,
    ) -> Result<Word, VmError> {
        compiler::verify(code).map_err(|e| {
            VmError::Load(format!(
                "{file}: internal compiler error in {}: {e}",
                code.selector
            ))
        })?;
        // The compiler reports this limit; code from elsewhere is checked here.
        if code.num_copied > crate::bytecode::MAX_COPIED {
            return Err(VmError::Load(format!(
                "{file}:{}:{}: error: a block may capture at most {} variables",
                code.position.line,
                code.position.column,
                crate::bytecode::MAX_COPIED
            )));
        }
        let mark = self.handle_mark();
        let hholder = self.push_handle(holder);
        let r = self.install_code_h(code, hholder, file, prim_class);
        self.release_handles(mark);
        r
    }

    fn install_code_h(
        &mut self,
        code: &CompiledCode,
        hholder: Handle,
        file: &str,
        prim_class: &str,
    ) -> Result<Word, VmError> {
        let (primitive, mut flags, prim_name) = resolve_primitive(code, prim_class, file)?;
        if code.is_block {
            flags |= FLAG_BLOCK;
        }
        if code.needs_outer_context {
            flags |= FLAG_NEEDS_OUTER;
        }
        let nlit = code.literals.len();
        let pointers = method::FIRST_LITERAL + nlit + method::TRAILER;
        let class = if code.is_block {
            ci::COMPILED_BLOCK
        } else if code.primitive == Primitive::Som {
            ci::PRIMITIVE
        } else {
            ci::METHOD
        };
        self.reserve(Vm::object_words(
            pointers + code.bytecodes.len().div_ceil(8),
        ))?;
        let m = self
            .heap
            .alloc_method(class, pointers, code.bytecodes.len())
            .map_err(|_| VmError::OutOfMemory)?;
        let info = MethodInfoBits {
            num_args: code.num_args,
            num_temps: code.num_temps,
            max_stack: code.max_stack,
            primitive,
            flags,
            num_copied: code.num_copied,
        };
        self.heap
            .set_slot(m, method::INFO, Word::small_int(info.encode()));
        self.heap.set_slot(m, method::ID, Word::ZERO);
        self.heap
            .method_bytes_mut(m)
            .copy_from_slice(&code.bytecodes);
        let hm = self.push_handle(m.word());

        for (k, lit) in code.literals.iter().enumerate() {
            let w = match lit {
                Literal::Selector(s) => self.intern(s)?,
                Literal::Global(g) => self.binding_for(g)?,
                Literal::Block(c) => self.install_code(c, self.handle(hm), file, prim_class)?,
                Literal::CleanBlock(c) => {
                    let b = self.install_code(c, self.handle(hm), file, prim_class)?;
                    self.clean_closure(b, c.num_args)?
                }
                other => self.literal_object(other)?,
            };
            let m = self.handle(hm).oop();
            self.heap.set_slot(m, method::FIRST_LITERAL + k, w);
        }

        let sites = self.site_table(&code.sites)?;
        let hsites = self.push_handle(sites);
        let selector = self.intern(&code.selector)?;
        let hsel = self.push_handle(selector);
        let debug_info = self.debug_info(code, file, prim_name.as_deref())?;
        let m = self.handle(hm).oop();
        let last = pointers - 1;
        self.heap
            .set_slot(m, last - method::SITES_BACK, self.handle(hsites));
        self.heap.set_slot(m, last - 2, self.handle(hsel));
        self.heap.set_slot(m, last - 1, self.handle(hholder));
        self.heap.set_slot(m, last, debug_info);

        self.register_method(m.word())?;
        Ok(m.word())
    }

    /// The site table of a method (see `objects::method`): a read-only ByteArray of the
    /// sites' literal indices as little-endian u16, or nil for code without send sites. A
    /// safepoint.
    fn site_table(&mut self, sites: &[u16]) -> Result<Word, VmError> {
        if sites.is_empty() {
            return Ok(self.nil());
        }
        let bytes: Vec<u8> = sites.iter().flat_map(|k| k.to_le_bytes()).collect();
        let o = self.alloc_bytes(ci::BYTE_ARRAY, &bytes)?;
        self.heap.set_read_only(o, true);
        Ok(o.word())
    }

    /// The closure of a clean block, made once at install time.
    fn clean_closure(&mut self, code: Word, nargs: usize) -> Result<Word, VmError> {
        let mark = self.handle_mark();
        let hc = self.push_handle(code);
        let class = match nargs {
            0 => ci::BLOCK1,
            1 => ci::BLOCK2,
            2 => ci::BLOCK3,
            _ => ci::BLOCK,
        };
        let c = self.alloc(class, Format::FixedIndexable, closure::FIRST_COPIED)?;
        let code = self.handle(hc);
        self.release_handles(mark);
        self.heap.set_slot(c, closure::CODE, code);
        Ok(c.word())
    }

    /// The object for a constant literal, read-only (as are all its elements). A safepoint.
    pub fn literal_object(&mut self, lit: &Literal) -> Result<Word, VmError> {
        let w = self.literal_value(lit)?;
        let constant = matches!(
            lit,
            Literal::String(_) | Literal::Array(_) | Literal::ByteArray(_) | Literal::Float(_)
        );
        if constant && let Some(o) = w.as_oop() {
            self.heap.set_read_only(o, true);
        }
        Ok(w)
    }

    fn literal_value(&mut self, lit: &Literal) -> Result<Word, VmError> {
        Ok(match lit {
            Literal::Nil => self.nil(),
            Literal::True => self.true_obj(),
            Literal::False => self.false_obj(),
            Literal::Int(i) => match Word::try_small_int(*i) {
                Some(w) => w,
                None => prims::word_from_big(self, &dashu_int::IBig::from(*i))?,
            },
            Literal::BigInt(b) => prims::word_from_big(self, b)?,
            Literal::Float(x) => self.new_float(*x)?,
            Literal::Char(c) => Word::character(*c as u32),
            Literal::String(s) => self.new_string(s)?,
            Literal::Symbol(s) | Literal::Selector(s) => self.intern(s)?,
            Literal::Global(g) => self.binding_for(g)?,
            Literal::ByteArray(b) => self.alloc_bytes(ci::BYTE_ARRAY, b)?.word(),
            Literal::Array(items) => {
                let mark = self.handle_mark();
                let mut hs = Vec::with_capacity(items.len());
                for item in items {
                    let w = self.literal_object(item)?;
                    hs.push(self.push_handle(w));
                }
                let words: Vec<Word> = hs.iter().map(|h| self.handle(*h)).collect();
                let a = self.new_array_from(&words);
                self.release_handles(mark);
                a?
            }
            Literal::Block(_) | Literal::CleanBlock(_) => {
                return Err(VmError::Load("block literal outside a method".into()));
            }
        })
    }

    /// The debug-info Array of a method: file, line table, source, temp names, primitive name.
    fn debug_info(
        &mut self,
        code: &CompiledCode,
        file: &str,
        prim_name: Option<&str>,
    ) -> Result<Word, VmError> {
        let mark = self.handle_mark();
        let r = (|| {
            let f = self.new_string(file)?;
            let hf = self.push_handle(f);
            let mut triples = Vec::with_capacity(code.source_map.len() * 3 + 3);
            triples.extend([
                Word::ZERO,
                Word::small_int(i64::from(code.position.line)),
                Word::small_int(i64::from(code.position.column)),
            ]);
            for (pc, pos) in &code.source_map {
                triples.push(Word::small_int(i64::from(*pc)));
                triples.push(Word::small_int(i64::from(pos.line)));
                triples.push(Word::small_int(i64::from(pos.column)));
            }
            let lines = self.new_array_from(&triples)?;
            let hl = self.push_handle(lines);
            let src = match &code.source {
                Some(s) => self.new_string(s)?,
                None => self.nil(),
            };
            let hsrc = self.push_handle(src);
            let mut names = Vec::new();
            for n in code.arg_names.iter().chain(code.temp_names.iter()) {
                let s = self.new_string(n)?;
                names.push(self.push_handle(s));
            }
            let words: Vec<Word> = names.iter().map(|h| self.handle(*h)).collect();
            let name_array = self.new_array_from(&words)?;
            let hn = self.push_handle(name_array);
            let prim = match prim_name {
                Some(p) => self.intern(p)?,
                None => self.nil(),
            };
            let hp = self.push_handle(prim);
            let d = self.new_array(debug::SIZE)?;
            self.heap.set_slot(d, debug::FILE, self.handle(hf));
            self.heap.set_slot(d, debug::LINES, self.handle(hl));
            self.heap.set_slot(d, debug::SOURCE, self.handle(hsrc));
            self.heap.set_slot(d, debug::TEMP_NAMES, self.handle(hn));
            self.heap.set_slot(d, debug::PRIMITIVE, self.handle(hp));
            Ok(d.word())
        })();
        self.release_handles(mark);
        r
    }
}

/// The primitive index, method flags and primitive name of a method.
fn resolve_primitive(
    code: &CompiledCode,
    prim_class: &str,
    file: &str,
) -> Result<(u16, u8, Option<String>), VmError> {
    // The loader reports these with the source line; code compiled elsewhere is checked here.
    if let Some(problem) = primitive_problem(&code.primitive, code.num_args) {
        return Err(VmError::Load(format!(
            "{file}:{}:{}: error: {problem}",
            code.position.line, code.position.column
        )));
    }
    Ok(match &code.primitive {
        Primitive::None => (0, 0, None),
        Primitive::Som => {
            let name = format!("{prim_class}>>{}", code.selector);
            // A SOM primitive the VM does not provide fails at run time (its body sends
            // #primitiveFailed), as in other SOM VMs.
            (
                prims::lookup(&name).unwrap_or(0),
                FLAG_SOM_PRIMITIVE,
                Some(name),
            )
        }
        Primitive::Number(n) => {
            let name = prims::table().entries[usize::from(*n)].0;
            (*n, 0, Some(name.to_string()))
        }
        Primitive::Named(name) if name == prims::UNWIND_MARKER => (0, FLAG_UNWIND, None),
        Primitive::Named(name) if name == prims::HANDLER_MARKER => (0, FLAG_HANDLER, None),
        Primitive::Named(name) => {
            let i = prims::lookup(name).unwrap_or(0);
            (i, 0, Some(name.clone()))
        }
    })
}

/// Why a method with `num_args` arguments cannot have `primitive`, if it cannot: the VM has
/// no such primitive, or the primitive takes another number of arguments (it reads them from
/// the stack by position). SOM `= primitive` methods are never refused: a primitive the VM
/// does not provide fails at run time.
pub(crate) fn primitive_problem(primitive: &Primitive, num_args: usize) -> Option<String> {
    let (index, name) = match primitive {
        Primitive::None | Primitive::Som => return None,
        Primitive::Named(name) if name == prims::UNWIND_MARKER || name == prims::HANDLER_MARKER => {
            return None;
        }
        Primitive::Number(n) => {
            let table = prims::table();
            if *n == 0 || usize::from(*n) >= table.entries.len() {
                return Some(format!("no primitive number {n}"));
            }
            (*n, table.entries[usize::from(*n)].0.to_string())
        }
        Primitive::Named(name) => match prims::lookup(name) {
            Some(i) => (i, name.clone()),
            None => return Some(format!("unknown primitive #{name}")),
        },
    };
    if prims::accepts(index, num_args) {
        return None;
    }
    Some(format!(
        "primitive #{name} cannot take {num_args} argument{}",
        if num_args == 1 { "" } else { "s" }
    ))
}
