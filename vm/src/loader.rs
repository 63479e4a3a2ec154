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
use std::io::Write;
use std::path::Path;
use std::time::Instant;

impl Vm {
    /// Loads the class defined by `source` (named `file` in messages) and answers it.
    ///
    /// Compile errors of single methods do not stop the others from being installed; they are
    /// all reported together as one `VmError::Load` after the class is complete.
    pub fn load_class_source(&mut self, source: &str, file: &str) -> Result<Word, VmError> {
        self.load_class_source_as(source, file, false)
    }

    /// [`Vm::load_class_source`]; with `replace`, a library class of the same name is replaced
    /// by a new class rather than redefined (see [`Vm::apply_class_path`]).
    fn load_class_source_as(
        &mut self,
        source: &str,
        file: &str,
        replace: bool,
    ) -> Result<Word, VmError> {
        let started = Instant::now();
        let def = compiler::parse_class(file, source).map_err(|e| VmError::Load(e.to_string()));
        self.compile_micros += started.elapsed().as_micros() as u64;
        let def = def?;
        if replace && self.is_library_class(&def.name) {
            self.unbind_global(&def.name)?;
        }
        self.loading.push(def.name.clone());
        let r = self.define_and_compile(&def, source, file, started);
        self.loading.pop();
        r
    }

    fn define_and_compile(
        &mut self,
        def: &compiler::ClassDef,
        source: &str,
        file: &str,
        started: Instant,
    ) -> Result<Word, VmError> {
        let superclass = match &def.superclass {
            SuperclassRef::Nil => None,
            // The kernel's Object, whatever the global `Object` names now.
            SuperclassRef::Default => Some(self.class_at(crate::objects::class_index::OBJECT)),
            SuperclassRef::Named(s) => Some(self.resolve_superclass(def, s, file)?),
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
        let result = self.compile_class_methods(def, hcls, file, source, started);
        let cls = self.handle(hcls);
        self.release_handles(mark);
        result.map(|_| cls)
    }

    /// The names of the globals defined now (for the compiler's clean-block decision, see
    /// [`ClassScope::defined_globals`]); remade only when the number of globals changed.
    fn defined_globals(&mut self) -> std::sync::Arc<std::collections::HashSet<String>> {
        let globals = self.special(crate::vm::sp::GLOBALS);
        let tally = self
            .heap
            .slot(globals.oop(), crate::objects::method_dict::TALLY)
            .as_small_int()
            .unwrap_or(-1);
        if let Some((t, names)) = &self.defined_globals_cache
            && *t == tally
        {
            return names.clone();
        }
        let names: std::collections::HashSet<String> = self
            .dict_entries(globals)
            .into_iter()
            .filter_map(|(k, _)| self.string_value(k))
            .collect();
        let names = std::sync::Arc::new(names);
        self.defined_globals_cache = Some((tally, names.clone()));
        names
    }

    /// The superclass named `name` in the definition of `def`: a class file on the class
    /// path that replaces a library class is loaded first; an undefined one is loaded from
    /// the class path; a chain that comes back to a class being loaded is a cycle.
    fn resolve_superclass(
        &mut self,
        def: &compiler::ClassDef,
        name: &str,
        file: &str,
    ) -> Result<Word, VmError> {
        let at = |what: String| {
            VmError::Load(format!(
                "{file}:{}:{}: error: {what}",
                def.position.line, def.position.column
            ))
        };
        if self.pending_overrides.iter().any(|n| n == name) {
            self.load_override(name)?;
        }
        let found = match self.global(name) {
            Some(c) => Some(c),
            None if self.loading.iter().any(|n| n == name) => {
                let from = self.loading.iter().position(|n| n == name).unwrap_or(0);
                let mut chain: Vec<&str> =
                    self.loading[from..].iter().map(|s| s.as_str()).collect();
                chain.dedup();
                chain.push(name);
                return Err(at(format!(
                    "superclass cycle: {} (each class's superclass follows it)",
                    chain.join(" -> ")
                )));
            }
            None => self.load_class_from_path(name)?,
        };
        match found {
            Some(c) if self.is_class(c) => Ok(c),
            _ => Err(at(format!(
                "superclass {name} of {} is not defined",
                def.name
            ))),
        }
    }

    /// Whether `name` is a global naming a class of the class library, not a kernel class.
    fn is_library_class(&self, name: &str) -> bool {
        self.global(name).is_some_and(|c| {
            self.is_class(c)
                && self
                    .index_of_class(c)
                    .is_some_and(|i| i >= crate::objects::class_index::FIRST_DYNAMIC)
        })
    }

    /// Removes global `name` from the globals, leaving its binding to the code compiled
    /// against it: that code keeps the old value; code compiled later gets a new binding.
    fn unbind_global(&mut self, name: &str) -> Result<(), VmError> {
        let sym = self.intern(name)?;
        let globals = self.special(crate::vm::sp::GLOBALS);
        self.dict_remove(globals, sym);
        Ok(())
    }

    /// The class path decides, as in every SOM VM: smalt's library is the last entry on it.
    ///
    /// For every class file `X.som` on the class path (the first directory that has one wins)
    /// whose `X` is a class the library already defines, loads that file now:
    ///
    /// * a **kernel class** (one the VM lays out itself: `Object`, `Integer`, `String`,
    ///   `Array`, …) keeps its identity; the file's methods are installed into it, replacing
    ///   the library's methods of the same selectors. Its instance variables must agree with
    ///   the kernel's or be omitted, and its superclass must be the kernel's or a class above it;
    /// * any other **library class** is replaced: the file defines a new class that the
    ///   global `X` names from now on. The library's own code keeps the class it was compiled
    ///   against (its bindings hold the old class), so it goes on working.
    ///
    /// A file whose superclass is also overridden is loaded after that superclass. Called by
    /// [`Vm::new`] once the library is loaded; a VM made from an image calls it likewise.
    pub fn apply_class_path(&mut self) -> Result<(), VmError> {
        let mut seen = std::collections::HashSet::new();
        let mut overrides = Vec::new();
        for dir in self.options.class_path.clone() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|e| {
                    let path = e.ok()?.path();
                    if path.extension()? != "som" || !path.is_file() {
                        return None;
                    }
                    Some(path.file_stem()?.to_str()?.to_string())
                })
                .collect();
            names.sort();
            for name in names {
                if !seen.insert(name.clone()) {
                    continue;
                }
                if self.global(&name).is_some_and(|c| self.is_class(c)) {
                    overrides.push(name);
                }
            }
        }
        // Unbind every library class that a file replaces before compiling any of the files,
        // so that each file's references to another replaced class bind to the new class.
        for name in &overrides {
            if self.is_library_class(name) {
                self.unbind_global(name)?;
            }
        }
        self.pending_overrides = overrides.clone();
        let r = (|| {
            for name in &overrides {
                if self.pending_overrides.contains(name) {
                    self.load_override(name)?;
                }
            }
            Ok(())
        })();
        self.pending_overrides.clear();
        r
    }

    /// Loads the class-path file that overrides library class `name` (see
    /// [`Vm::apply_class_path`]).
    fn load_override(&mut self, name: &str) -> Result<(), VmError> {
        self.pending_overrides.retain(|n| n != name);
        let Some(path) = self.class_file(name) else {
            return Ok(());
        };
        let source = std::fs::read_to_string(&path)
            .map_err(|e| VmError::Load(format!("{}: cannot read: {e}", path.display())))?;
        self.load_class_source_as(&source, &path.display().to_string(), true)?;
        Ok(())
    }

    /// The first `name.som` on the class path.
    fn class_file(&self, name: &str) -> Option<std::path::PathBuf> {
        self.options
            .class_path
            .iter()
            .map(|dir| dir.join(format!("{name}.som")))
            .find(|p| p.is_file())
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
        let globals = Some(self.defined_globals());
        let instance_scope = ClassScope {
            class_name: def.name.clone(),
            instance_vars: self.instance_variable_names(cls),
            class_side: false,
            defined_globals: globals.clone(),
        };
        let class_scope = ClassScope {
            class_name: format!("{} class", def.name),
            instance_vars: self.instance_variable_names(meta),
            class_side: true,
            defined_globals: globals,
        };
        let mut errors = Vec::new();
        let prim_class = def.name.clone();
        for (methods, scope, class_side) in [
            (&def.instance_methods, &instance_scope, false),
            (&def.class_methods, &class_scope, true),
        ] {
            for m in methods.iter() {
                if self.interrupt.load(std::sync::atomic::Ordering::Relaxed) {
                    // Ctrl-C while a large file loads: stop (the run reports it).
                    return Err(self.interrupted_here());
                }
                if let Some(problem) = primitive_problem(m.primitive(), m.arg_names.len()) {
                    let pos = m.primitive_position;
                    errors.push(compiler::CompileError::at(file, source, pos, problem));
                    continue;
                }
                if self.options.warnings {
                    for w in compiler::method_warnings(m, scope, file, source) {
                        let _ = writeln!(self.err, "{w}");
                    }
                }
                let t = Instant::now();
                let compiled = compiler::compile_method(m, scope, file, source);
                self.compile_micros += t.elapsed().as_micros() as u64;
                // Each method is installed as soon as it is compiled: the compiler's data of
                // one method at a time exist, however many methods the file has.
                match compiled {
                    Ok(code) => {
                        let cls = self.handle(hcls);
                        let target = if class_side { self.class_of(cls) } else { cls };
                        let prim_name = if class_side {
                            format!("{prim_class} class")
                        } else {
                            prim_class.clone()
                        };
                        if self.som_primitive_already_provided(target, &code, &prim_name)? {
                            continue;
                        }
                        // (The check may have collected: the class is read again.)
                        let cls = self.handle(hcls);
                        let target = if class_side { self.class_of(cls) } else { cls };
                        self.install_in(target, &code, file, &prim_name)?;
                    }
                    Err(e) => errors.extend(e.0),
                }
            }
        }
        let _ = started;
        if errors.is_empty() {
            Ok(())
        } else {
            errors.sort_by_key(|e| (e.line, e.column));
            Err(VmError::Load(compiler::CompileErrors(errors).to_string()))
        }
    }

    /// Whether `code`, a SOM `= primitive` declaration, is already implemented by the
    /// method `target` has for that selector, which then stays: one with the same primitive
    /// (its Smalltalk fallback is at least as good as the declaration's `primitiveFailed`),
    /// or any method when the VM has no primitive of that name (the library implements it in
    /// Smalltalk). So SOM's own `Integer.som` on the class path keeps `3 + aFraction` working
    /// and `Object>>halt` (a primitive in SOM) signals Halt as the library's does.
    fn som_primitive_already_provided(
        &mut self,
        target: Word,
        code: &compiler::CompiledCode,
        prim_class: &str,
    ) -> Result<bool, VmError> {
        if code.primitive != compiler::Primitive::Som {
            return Ok(false);
        }
        // Interning may collect: the class is read back from a handle afterwards.
        let mark = self.handle_mark();
        let ht = self.push_handle(target);
        let sel = self.intern(&code.selector);
        let target = self.handle(ht);
        self.release_handles(mark);
        let sel = sel?;
        let dict = self.heap.slot(target.oop(), crate::objects::class::METHODS);
        let Some(existing) = self.dict_at(dict, sel) else {
            return Ok(false);
        };
        let existing = self.methods.info(self.method_id(existing)).primitive;
        Ok(
            match crate::prims::lookup(&format!("{prim_class}>>{}", code.selector)) {
                Some(index) => index == existing,
                None => true,
            },
        )
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
        let bytes = std::fs::read(path)
            .map_err(|e| VmError::Load(format!("{}: cannot read: {e}", path.display())))?;
        let file = path.display().to_string();
        let source =
            compiler::source_text(&file, bytes).map_err(|e| VmError::Load(e.to_string()))?;
        self.load_class_source(&source, &file)
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
        let Some(path) = self.class_file(name) else {
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
                defined_globals: Some(self.defined_globals()),
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
            defined_globals: None,
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
        let site = |s: usize| match self.site_literal(m, s) {
            Some(k) => self.describe(self.literal(m, k)),
            None => format!("<no send site {s}>"),
        };
        out.push_str(&compiler::disassemble_bytes(&bytes, &lit, &site));
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
