//! Loading classes from SOM class files, compiling methods and do-its at run time.
//!
//! A class file defines one class: `Name = Superclass ( … )`. Loading parses it, finds (or
//! loads, from the class path) the superclass, defines or reuses the class
//! ([`Vm::define_class`]), compiles every method against the class's instance variables and
//! installs them. A reference to an undefined global `Foo` loads `Foo.som` from the class path
//! (SOM convention), superclasses first.

use crate::compiler::{self, ClassScope, SuperclassRef};
use crate::install::primitive_problem;
use crate::vm::{Vm, VmError};
use smalt_gc::Word;
use std::path::Path;
use std::time::Instant;

impl Vm {
    /// Loads the class defined by `source` (named `file` in messages) and answers it.
    ///
    /// Compile errors of single methods do not stop the others from being installed; they are
    /// all reported together as one `VmError::Load` after the class is complete.
    pub fn load_class_source(&mut self, source: &str, file: &str) -> Result<Word, VmError> {
        let started = Instant::now();
        let def = compiler::parse_class(file, source).map_err(|e| VmError::Load(e.to_string()));
        self.compile_micros += started.elapsed().as_micros() as u64;
        let def = def?;
        let superclass = match &def.superclass {
            SuperclassRef::Nil => None,
            // The kernel's Object, whatever the global `Object` names now.
            SuperclassRef::Default => Some(self.class_at(crate::objects::class_index::OBJECT)),
            SuperclassRef::Named(s) => {
                let found = match self.global(s) {
                    Some(c) => Some(c),
                    None => self.load_class_from_path(s)?,
                };
                match found {
                    Some(c) if self.is_class(c) => Some(c),
                    _ => {
                        return Err(VmError::Load(format!(
                            "{file}:{}:{}: error: superclass {s} of {} is not defined",
                            def.position.line, def.position.column, def.name
                        )));
                    }
                }
            }
        };
        let cls = self
            .define_class(
                &def.name,
                superclass,
                &def.instance_vars,
                &def.class_vars,
                None,
            )
            .map_err(|e| match e {
                VmError::Load(m) => VmError::Load(format!(
                    "{file}:{}:{}: error: {m}",
                    def.position.line, def.position.column
                )),
                e => e,
            })?;
        let mark = self.handle_mark();
        let hcls = self.push_handle(cls);
        let result = self.compile_class_methods(&def, hcls, file, source, started);
        let cls = self.handle(hcls);
        self.release_handles(mark);
        result.map(|_| cls)
    }

    fn compile_class_methods(
        &mut self,
        def: &compiler::ClassDef,
        hcls: smalt_gc::Handle,
        file: &str,
        source: &str,
        started: Instant,
    ) -> Result<(), VmError> {
        let cls = self.handle(hcls);
        let meta = self.class_of(cls);
        let instance_scope = ClassScope {
            class_name: def.name.clone(),
            instance_vars: self.instance_variable_names(cls),
            class_side: false,
        };
        let class_scope = ClassScope {
            class_name: format!("{} class", def.name),
            instance_vars: self.instance_variable_names(meta),
            class_side: true,
        };
        let t = Instant::now();
        let mut errors = Vec::new();
        let mut compiled = Vec::new();
        for (methods, scope, side) in [
            (&def.instance_methods, &instance_scope, false),
            (&def.class_methods, &class_scope, true),
        ] {
            for m in methods.iter() {
                if let Some(problem) = primitive_problem(m.primitive(), m.arg_names.len()) {
                    let pos = m.primitive_position;
                    errors.push(compiler::CompileError::at(file, source, pos, problem));
                    continue;
                }
                match compiler::compile_method(m, scope, file, source) {
                    Ok(code) => compiled.push((code, side)),
                    Err(e) => errors.extend(e.0),
                }
            }
        }
        self.compile_micros += t.elapsed().as_micros() as u64;
        let prim_class = def.name.clone();
        for (code, class_side) in compiled {
            let cls = self.handle(hcls);
            let target = if class_side { self.class_of(cls) } else { cls };
            let prim_name = if class_side {
                format!("{prim_class} class")
            } else {
                prim_class.clone()
            };
            self.install_in(target, &code, file, &prim_name)?;
        }
        let _ = started;
        if errors.is_empty() {
            Ok(())
        } else {
            errors.sort_by_key(|e| (e.line, e.column));
            Err(VmError::Load(compiler::CompileErrors(errors).to_string()))
        }
    }

    /// Installs compiled method code in class `target` under its selector. A safepoint.
    fn install_in(
        &mut self,
        target: Word,
        code: &compiler::CompiledCode,
        file: &str,
        prim_class: &str,
    ) -> Result<Word, VmError> {
        let mark = self.handle_mark();
        let ht = self.push_handle(target);
        let r = (|| {
            let m = self.install_code(code, self.handle(ht), file, prim_class)?;
            let hm = self.push_handle(m);
            let sel = self.intern(&code.selector)?;
            let hs = self.push_handle(sel);
            self.install_method(ht, hs, hm)?;
            Ok(self.handle(hs))
        })();
        self.release_handles(mark);
        r
    }

    /// Loads the class defined in the file at `path`.
    pub fn load_class_file(&mut self, path: &Path) -> Result<Word, VmError> {
        let source = std::fs::read_to_string(path)
            .map_err(|e| VmError::Load(format!("{}: cannot read: {e}", path.display())))?;
        self.load_class_source(&source, &path.display().to_string())
    }

    /// Loads `Name.som` from the class path if such a file exists; `Ok(None)` otherwise (and
    /// while that class is already being loaded, which breaks cycles).
    pub fn load_class_from_path(&mut self, name: &str) -> Result<Option<Word>, VmError> {
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Ok(None);
        }
        if self.loading.iter().any(|n| n == name) {
            return Ok(None);
        }
        let Some(path) = self
            .options
            .class_path
            .iter()
            .map(|dir| dir.join(format!("{name}.som")))
            .find(|p| p.is_file())
        else {
            return Ok(None);
        };
        self.loading.push(name.to_string());
        let r = self.load_class_file(&path);
        self.loading.pop();
        r.map(Some)
    }

    /// Compiles `source` (a method, `pattern body` or SOM `pattern = ( body )`) in class `cls`
    /// and installs it; answers its selector. A safepoint.
    pub fn compile_and_install(
        &mut self,
        cls: Word,
        source: &str,
        file: &str,
    ) -> Result<Word, VmError> {
        let mark = self.handle_mark();
        let hcls = self.push_handle(cls);
        let r = (|| {
            let t = Instant::now();
            let def =
                compiler::parse_method(file, source).map_err(|e| VmError::Load(e.to_string()))?;
            if let Some(problem) = primitive_problem(def.primitive(), def.arg_names.len()) {
                let e = compiler::CompileError::at(file, source, def.primitive_position, problem);
                return Err(VmError::Load(e.to_string()));
            }
            let cls = self.handle(hcls);
            let scope = ClassScope {
                class_name: self.class_name(cls),
                instance_vars: self.instance_variable_names(cls),
                class_side: self.heap.class_index_of(cls) == crate::objects::class_index::METACLASS,
            };
            let code = compiler::compile_method(&def, &scope, file, source)
                .map_err(|e| VmError::Load(e.to_string()))?;
            self.compile_micros += t.elapsed().as_micros() as u64;
            let prim_class = self.class_name(cls);
            self.install_in(cls, &code, file, &prim_class)
        })();
        self.release_handles(mark);
        r
    }

    /// Compiles a do-it as a method of nil's class (not installed) and answers the method.
    /// With `auto_declare`, assignments to unknown names define globals.
    pub fn compile_doit(
        &mut self,
        source: &str,
        file: &str,
        auto_declare: bool,
    ) -> Result<Word, VmError> {
        let t = Instant::now();
        let nil_class = self.class_of(self.nil());
        let scope = ClassScope {
            class_name: self.class_name(nil_class),
            instance_vars: Vec::new(),
            class_side: false,
        };
        let code = compiler::compile_doit(file, source, &scope, auto_declare)
            .map_err(|e| VmError::Load(e.to_string()))?;
        self.compile_micros += t.elapsed().as_micros() as u64;
        let prim_class = self.class_name(nil_class);
        self.install_code(&code, nil_class, file, &prim_class)
    }

    /// Compiles and runs a do-it with receiver nil; answers its value.
    pub fn evaluate(
        &mut self,
        source: &str,
        file: &str,
        auto_declare: bool,
    ) -> Result<Word, VmError> {
        let m = self.compile_doit(source, file, auto_declare)?;
        let nil = self.nil();
        self.run_method(nil, m, &[])
    }
}

impl Vm {
    /// The disassembly of `Class>>selector` or `Class class>>selector`.
    pub fn method_listing(&mut self, spec: &str) -> Result<String, VmError> {
        let (class_part, selector) = spec
            .split_once(">>")
            .ok_or_else(|| VmError::Load("expected Class>>selector".into()))?;
        let (name, meta) = match class_part.trim().strip_suffix(" class") {
            Some(n) => (n, true),
            None => (class_part.trim(), false),
        };
        let mut cls = match self.global(name) {
            Some(c) if self.is_class(c) => c,
            _ => self
                .load_class_from_path(name)?
                .ok_or_else(|| VmError::Load(format!("no class {name}")))?,
        };
        if meta {
            cls = self.class_of(cls);
        }
        let sel = self.intern(selector.trim())?;
        let md = self.heap.slot(cls.oop(), crate::objects::class::METHODS);
        let m = self
            .dict_at(md, sel)
            .ok_or_else(|| VmError::Load(format!("{spec}: no such method")))?;
        Ok(self.listing_of(m, spec))
    }

    /// The disassembly of method (or block) `m` under the heading `title`, with its blocks.
    pub fn listing_of(&self, m: Word, title: &str) -> String {
        let id = self.method_id(m);
        let info = self.methods.info(id);
        let bytes = self.heap.method_bytes(m.oop()).to_vec();
        let lit = |k: usize| {
            let w = self.literal(m, k);
            self.describe(w)
        };
        let mut out = format!(
            "{title} ({} args, {} temps, max stack {}{})\n",
            info.num_args,
            info.num_temps,
            info.max_stack,
            if info.primitive != 0 {
                ", primitive"
            } else {
                ""
            }
        );
        out.push_str(&compiler::disassemble_bytes(&bytes, &lit));
        for k in 0..info.num_literals {
            let w = self.literal(m, k);
            if w.as_oop().is_some_and(|o| {
                self.heap.header(o).class_index() == crate::objects::class_index::COMPILED_BLOCK
            }) {
                out.push_str(&self.listing_of(w, &format!("  block in literal {k}")));
            }
        }
        out
    }

    /// A short description of a value for listings and debugging.
    pub fn describe(&self, w: Word) -> String {
        if let Some(i) = w.as_small_int() {
            return i.to_string();
        }
        if let Some(c) = w.as_character() {
            return format!("${}", char::from_u32(c).unwrap_or('?'));
        }
        if let Some(x) = self.float_value(w) {
            return format!("{x:?}");
        }
        if w == self.nil() {
            return "nil".into();
        }
        if w == self.true_obj() {
            return "true".into();
        }
        if w == self.false_obj() {
            return "false".into();
        }
        if self.is_symbol(w) {
            return format!("#{}", self.string_value(w).unwrap_or_default());
        }
        if let Some(s) = self.string_value(w) {
            return format!("'{s}'");
        }
        let c = self.heap.class_index_of(w);
        if c == crate::objects::class_index::ASSOCIATION
            || c == crate::objects::class_index::UNDECLARED_BINDING
        {
            let k = self.heap.slot(w.oop(), 0);
            return format!("binding {}", self.string_value(k).unwrap_or_default());
        }
        if self.is_class(w) {
            return self.class_name(w);
        }
        format!("a {}", self.class_name(self.class_of(w)))
    }
}
