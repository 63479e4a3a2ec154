//! The Smalltalk compiler front end: source text to [`CompiledCode`].
//!
//! smalt reads SOM class files (`Name = Superclass ( | ivars | methods ---- class side )`)
//! extended with Smalltalk-80 syntax (cascades, `$a`, `#[1 2]`, `{a. b}`, `thisContext`,
//! `16r1F`, `1e10`, `<primitive: 60>`). The compiler knows nothing of the heap or the
//! interpreter: it produces plain Rust values that the VM's object model turns into objects.
//!
//! # Flow
//!
//! ```text
//!  source ──lexer──▶ tokens ──parser──▶ AST ──scope──▶ analysis ──codegen──▶ CompiledCode
//!                                        (ClassDef / MethodDef)   (names, captures,
//!                                                                  temp vectors, clean blocks)
//! ```
//!
//! 1. `lexer.rs`: tokens with exact positions (line, column in characters, byte offset).
//! 2. `parser.rs`: class files, single methods, do-its. Nesting is capped at
//!    [`MAX_DEPTH`], so no input can exhaust the Rust stack in any later pass.
//! 3. `scope.rs`: resolves names (temporaries and arguments, then instance variables, then
//!    globals), reports semantic errors, decides which captured variables are copied into
//!    closures and which live in temp vectors, and which blocks are clean.
//! 4. `codegen.rs`: emits bytecode through [`crate::bytecode::Encoder`], inlining control
//!    messages whose block arguments are literal blocks (see `inline.rs`); computes `max_stack`
//!    with [`max_stack`] (`verify.rs`, which also holds the validator [`verify()`]).
//!
//! `docs/bytecode.md` describes the instruction set, the frame layout, and how each construct
//! is compiled.
//!
//! # API
//!
//! * [`parse_class`]`(file, source) -> Result<ClassDef, CompileErrors>`
//! * [`parse_method`]`(file, source) -> Result<MethodDef, CompileErrors>`: one method from a
//!   string, either `foo ^1` or SOM's `foo = ( ^1 )`.
//! * [`compile_method`]`(def, scope, file, source) -> Result<CompiledCode, CompileErrors>`: the
//!   VM parses a class, loads its superclass to learn the inherited instance variables, builds
//!   a [`ClassScope`] and compiles each method. `source` is the text `def` was parsed from.
//! * [`compile_class`]: all methods of a [`ClassDef`] at once, errors of all methods together.
//! * [`compile_doit`]`(file, source, scope, auto_declare) -> Result<CompiledCode, CompileErrors>`:
//!   `| temps | statements`, answering the last statement's value (selector `DoIt`). With
//!   `auto_declare`, assigning an unknown name stores a global (REPL convenience); otherwise,
//!   as in methods, it is an error.
//! * [`disassemble`]`(code) -> String` and [`disassemble_bytes`]`(bytes, literal_text)`.
//! * [`verify`]`(code)`: the bytecode validator; [`selector_arity`].
//!
//! # Errors
//!
//! No input makes the compiler panic. Errors carry file, line, column (in characters) and the
//! source line, and display with a caret under the spot; a class file reports the errors of
//! all its methods (the parser resynchronises at the next method).

mod ast;
mod code;
mod codegen;
mod disasm;
mod error;
mod inline;
mod lexer;
mod parser;
mod scope;
mod verify;

pub use code::{CompiledCode, Literal, Primitive, SourcePos, TempVector, selector_arity};
pub use codegen::MAX_STACK;
pub use disasm::{disassemble, disassemble_bytes};
pub use error::{CompileError, CompileErrors, CompileWarning};
pub use parser::{ClassDef, MAX_DEPTH, MethodDef, SuperclassRef};
pub use verify::{VerifyError, max_stack, verify};

/// What a method is compiled against: its class's name and instance variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClassScope {
    /// The class name (for the class side, e.g. `Foo class`).
    pub class_name: String,
    /// All instance variables, inherited ones first; the index is the `PushInstVar` operand.
    /// For class-side methods: the fields of the metaclass.
    pub instance_vars: Vec<String>,
    /// Whether the methods are class-side methods.
    pub class_side: bool,
    /// The globals defined when the code is compiled, if known. A block that reads a global
    /// not among them is not compiled as a clean block: if the global is still undefined when
    /// the block runs, the VM sends `unknownGlobal:` to the block's receiver (SOM), which a
    /// clean block does not have. `None`: every global counts as defined.
    pub defined_globals: Option<std::sync::Arc<std::collections::HashSet<String>>>,
}

impl ClassScope {
    /// Whether `name` is a global that is not defined (as far as the scope knows).
    pub fn is_undefined_global(&self, name: &str) -> bool {
        self.defined_globals
            .as_ref()
            .is_some_and(|g| !g.contains(name))
    }

    /// A scope with the given class name and instance variables.
    pub fn new(
        class_name: impl Into<String>,
        instance_vars: &[&str],
        class_side: bool,
    ) -> ClassScope {
        ClassScope {
            class_name: class_name.into(),
            instance_vars: instance_vars.iter().map(|s| s.to_string()).collect(),
            class_side,
            defined_globals: None,
        }
    }
}

/// The compiled methods of a class.
#[derive(Clone, Debug)]
pub struct CompiledClass {
    /// Instance-side methods, in source order.
    pub instance_methods: Vec<CompiledCode>,
    /// Class-side methods, in source order.
    pub class_methods: Vec<CompiledCode>,
}

/// Parses a SOM class file.
///
/// When the file has syntax errors, the methods that did parse are also checked for the
/// semantic errors that do not depend on inherited instance variables (assigning to a
/// reserved word, duplicate names), so one run reports both.
pub fn parse_class(file: &str, source: &str) -> Result<ClassDef, CompileErrors> {
    parser::parse_class(source).map_err(|(partial, mut diags)| {
        if let Some(class) = partial {
            diags.extend(semantic_errors_without_superclass(&class));
        }
        error::into_errors(file, source, diags)
    })
}

/// The semantic errors of a class's methods, judged without its superclass: the scope holds
/// only the class's own fields, and assigning an unknown name is not reported (it may be an
/// inherited instance variable).
fn semantic_errors_without_superclass(class: &ClassDef) -> Vec<error::Diag> {
    let own = |name: String, fields: &[String], class_side: bool| ClassScope {
        class_name: name,
        instance_vars: fields.to_vec(),
        class_side,
        defined_globals: None,
    };
    let sides = [
        (
            &class.instance_methods,
            own(class.name.clone(), &class.instance_vars, false),
        ),
        (
            &class.class_methods,
            own(format!("{} class", class.name), &class.class_vars, true),
        ),
    ];
    let mut diags = Vec::new();
    for (methods, scope) in &sides {
        for m in methods.iter() {
            if let Err(d) = scope::analyze(&m.ast, scope, true) {
                diags.extend(d);
            }
        }
    }
    diags
}

/// Parses a single method: `pattern statements`, or `pattern = ( statements )`.
pub fn parse_method(file: &str, source: &str) -> Result<MethodDef, CompileErrors> {
    parser::parse_method(source).map_err(|d| error::into_errors(file, source, d))
}

/// Compiles a parsed method. `source` is the text `def` was parsed from (for error lines).
pub fn compile_method(
    def: &MethodDef,
    scope: &ClassScope,
    file: &str,
    source: &str,
) -> Result<CompiledCode, CompileErrors> {
    let analysis =
        scope::analyze(&def.ast, scope, false).map_err(|d| error::into_errors(file, source, d))?;
    codegen::generate(&def.ast, &analysis, scope, false, Some(def.source.clone()))
        .map_err(|d| error::into_errors(file, source, d))
}

/// The warnings for a parsed method: declarations that shadow a variable of an enclosing
/// scope or an instance variable (legal, as in SOM). Empty when the method does not compile.
pub fn method_warnings(
    def: &MethodDef,
    scope: &ClassScope,
    file: &str,
    source: &str,
) -> Vec<CompileWarning> {
    match scope::analyze(&def.ast, scope, false) {
        Ok(analysis) => error::into_errors(file, source, analysis.warnings)
            .0
            .into_iter()
            .map(CompileWarning)
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Compiles every method of a class, collecting the errors of all of them.
pub fn compile_class(
    def: &ClassDef,
    instance_scope: &ClassScope,
    class_scope: &ClassScope,
    file: &str,
    source: &str,
) -> Result<CompiledClass, CompileErrors> {
    let mut errors = Vec::new();
    let mut compile_all = |methods: &[MethodDef], scope: &ClassScope| -> Vec<CompiledCode> {
        methods
            .iter()
            .filter_map(|m| match compile_method(m, scope, file, source) {
                Ok(code) => Some(code),
                Err(e) => {
                    errors.extend(e.0);
                    None
                }
            })
            .collect()
    };
    let instance_methods = compile_all(&def.instance_methods, instance_scope);
    let class_methods = compile_all(&def.class_methods, class_scope);
    if errors.is_empty() {
        Ok(CompiledClass {
            instance_methods,
            class_methods,
        })
    } else {
        errors.sort_by_key(|e| (e.line, e.column));
        Err(CompileErrors(errors))
    }
}

/// Compiles a do-it (`| temps | statements`) as a method `DoIt` of `scope`'s class that
/// answers the value of its last statement. With `auto_declare`, assigning an undeclared name
/// stores into a global of that name.
pub fn compile_doit(
    file: &str,
    source: &str,
    scope: &ClassScope,
    auto_declare: bool,
) -> Result<CompiledCode, CompileErrors> {
    let ast = parser::parse_doit(source).map_err(|d| error::into_errors(file, source, d))?;
    let analysis = scope::analyze(&ast, scope, auto_declare)
        .map_err(|d| error::into_errors(file, source, d))?;
    codegen::generate(&ast, &analysis, scope, true, Some(source.to_string()))
        .map_err(|d| error::into_errors(file, source, d))
}
