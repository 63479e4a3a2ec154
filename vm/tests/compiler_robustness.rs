//! Robustness: no input panics or overflows the stack of the compiler, and everything it
//! compiles is valid bytecode.

use proptest::prelude::*;
use smalt_vm::compiler::{
    ClassScope, CompileErrors, MAX_DEPTH, compile_class, compile_doit, compile_method, parse_class,
    parse_method, verify,
};

fn scope() -> ClassScope {
    ClassScope::new("Foo", &["a", "b"], false)
}

/// Runs every entry point on `src`; whatever compiles must verify.
fn exercise(src: &str) {
    if let Ok(class) = parse_class("fuzz.som", src) {
        let inst = ClassScope {
            class_name: class.name.clone(),
            instance_vars: class.instance_vars.clone(),
            class_side: false,
            defined_globals: None,
        };
        let meta = ClassScope {
            class_name: format!("{} class", class.name),
            instance_vars: class.class_vars.clone(),
            class_side: true,
            defined_globals: None,
        };
        if let Ok(compiled) = compile_class(&class, &inst, &meta, "fuzz.som", src) {
            for m in compiled
                .instance_methods
                .iter()
                .chain(&compiled.class_methods)
            {
                verify(m).unwrap_or_else(|e| panic!("{e} in {src:?}"));
            }
        }
    }
    if let Ok(def) = parse_method("fuzz.st", src)
        && let Ok(code) = compile_method(&def, &scope(), "fuzz.st", src)
    {
        verify(&code).unwrap_or_else(|e| panic!("{e} in {src:?}"));
    }
    for auto in [false, true] {
        if let Ok(code) = compile_doit("fuzz", src, &scope(), auto) {
            verify(&code).unwrap_or_else(|e| panic!("{e} in {src:?}"));
        }
    }
    // Errors must be at real places of the source and format without panicking.
    for errors in [
        parse_class("fuzz.som", src).err(),
        parse_method("fuzz.st", src).err(),
        compile_doit("fuzz", src, &scope(), false).err(),
    ]
    .into_iter()
    .flatten()
    {
        check_positions(&errors, src);
        let _ = errors.to_string();
    }
}

/// Every error names a line of `src` (or the line just after its end), a column at most one
/// past that line's end, and carries that line's text.
fn check_positions(errors: &CompileErrors, src: &str) {
    let lines: Vec<&str> = src.split('\n').collect();
    for e in errors.errors() {
        assert!(
            e.line >= 1 && (e.line as usize) <= lines.len(),
            "line {} of {} in {src:?}: {e}",
            e.line,
            lines.len()
        );
        let text = lines[e.line as usize - 1];
        let text = text.strip_suffix('\r').unwrap_or(text);
        assert_eq!(e.source_line, text, "{e}");
        assert!(
            e.column >= 1 && (e.column as usize) <= text.chars().count() + 2,
            "column {} on {text:?}: {e}",
            e.column
        );
    }
}

/// Runs `f` on a thread with a small stack, as a VM embedding might.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

/// `pattern` repeated `n` times with `{}` replaced by 0, 1, 2, …
fn numbered(n: usize, pattern: &str) -> String {
    (0..n)
        .map(|i| pattern.replace("{}", &i.to_string()))
        .collect()
}

/// Sources nested `n` levels deep in every way the grammar allows.
fn nested_sources(n: usize) -> Vec<String> {
    vec![
        format!("{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("{}1{}", "[".repeat(n), "]".repeat(n)),
        format!("{}1{}", numbered(n, "[:x{} | "), "]".repeat(n)),
        format!("{}1{}", "{".repeat(n), "}".repeat(n)),
        format!("#{}1{}", "(".repeat(n), ")".repeat(n)),
        format!("1{}", " foo".repeat(n)),
        format!("1{}", " + 1".repeat(n)),
        format!("1{}", " , 'a' size".repeat(n)),
        format!("| t | {}1", "t := ".repeat(n)),
        format!("{}1{}", "true ifTrue: [".repeat(n), "]".repeat(n)),
        format!(
            "{}1{}",
            numbered(n, "nil ifNil: [1] ifNotNil: [:x{} | "),
            "]".repeat(n)
        ),
        format!("{}nil{}", "[true] whileTrue: [".repeat(n), "]".repeat(n)),
        format!("{}1{}", numbered(n, "1 to: 2 do: [:i{} | "), "]".repeat(n)),
        format!("{}1{}", "self at: (".repeat(n), ")".repeat(n)),
        format!("{}1{}", "self x: 1 y: (".repeat(n), ")".repeat(n)),
        format!("{}1{}", "[^".repeat(n), "]".repeat(n)),
        format!("{}", "[".repeat(n)),
        format!("{}", "(".repeat(n)),
    ]
}

#[test]
fn deep_nesting_never_overflows_the_stack() {
    on_small_stack(|| {
        for n in [
            MAX_DEPTH / 3,
            MAX_DEPTH / 2,
            MAX_DEPTH,
            MAX_DEPTH + 1,
            4 * MAX_DEPTH,
            20_000,
        ] {
            for src in nested_sources(n) {
                exercise(&src);
                exercise(&format!("foo {src}"));
                exercise(&format!("C = ( foo = ( ^{src} ) )"));
            }
        }
    });
}

#[test]
fn deep_nesting_below_the_limit_compiles() {
    on_small_stack(|| {
        // Each nesting construct costs at most 3 levels; a third of the limit always compiles.
        for src in nested_sources(MAX_DEPTH / 3 - 2) {
            if src.starts_with("#") || !src.ends_with(['[', '(']) {
                let code = compile_doit("deep", &src, &scope(), false);
                assert!(code.is_ok(), "{src:.60}...: {}", code.unwrap_err());
            }
        }
    });
}

#[test]
fn huge_flat_inputs() {
    on_small_stack(|| {
        exercise(&"x := 1. ".repeat(20_000));
        exercise(&format!("^{{{}}}", "1. ".repeat(70_000)));
        exercise(&format!("^#({})", "1 ".repeat(100_000)));
        exercise(&format!(
            "| {} |",
            (0..300)
                .map(|i| format!("t{i}"))
                .collect::<Vec<_>>()
                .join(" ")
        ));
        exercise(&"self foo; ".repeat(10_000));
        exercise(&format!("1{}", "0".repeat(20_000)));
    });
}

const SAMPLE_CLASS: &str = r#"
Sample = Object (
  | items count |
  init = ( items := OrderedCollection new. count := 0 )
  add: x = ( items add: x. count := count + 1. ^x )
  sum = ( | s | s := 0. items do: [:e | s := s + e]. ^s )
  max = ( ^items inject: 0 into: [:a :b | a > b ifTrue: [a] ifFalse: [b]] )
  find: x = ( items do: [:e | e = x ifTrue: [^e]]. ^nil )
  loops = ( | r | r := 0. 1 to: 10 do: [:i | r := r + i]. [r > 0] whileTrue: [r := r - 1]. 3 timesRepeat: [r := r + 1]. ^r )
  nils: x = ( ^x ifNil: [0] ifNotNil: [:v | v + 1] )
  casc = ( ^Transcript show: 'a'; cr; yourself )
  lits = ( ^{#(1 $a 'b' #c (2 3) #[1 2]). 16r1F. 2.5e-3. -3. $ . #at:put:. thisContext} )
  prim = primitive
  other: y = ( <primitive: 42> ^super other: y )
  closures = ( | t bs | bs := OrderedCollection new. 1 to: 3 do: [:i | t := i. bs add: [t + i]]. ^bs collect: [:b | b value] )
  ----
  | instances |
  new = ( instances := (instances ifNil: [0]) + 1. ^super new init )
)
"#;

const SAMPLE_DOIT: &str =
    "| p q | p := 3. q := [:x | x * p]. (q value: 4) printNl. p > 2 and: [p < 5]";

#[test]
fn samples_compile() {
    exercise(SAMPLE_CLASS);
    parse_class("Sample.som", SAMPLE_CLASS).unwrap();
    compile_doit("doit", SAMPLE_DOIT, &scope(), false).unwrap();
}

/// Tokens that mutations insert: punctuation, keywords of the grammar, odd literals.
const FRAGMENTS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ".",
    ";",
    "^",
    ":=",
    ":",
    "|",
    "#",
    "#(",
    "#[",
    "$",
    "'",
    "\"",
    "----",
    "-",
    "--",
    "16r",
    "1e",
    "e",
    "r",
    "2r1e",
    "\\",
    "<primitive: ",
    ">",
    "self",
    "super",
    "thisContext",
    "nil",
    "true",
    "[:x |",
    "ifTrue:",
    "whileTrue",
    "to:",
    "do:",
    "primitive",
    "=",
    "é",
    "\u{0}",
    "\n",
    "ifNil:",
    "ifNotNil: [:v |",
    "timesRepeat:",
    " ",
    "999999999999999999999",
];

fn mutate(base: &str, edits: &[(usize, usize, usize)]) -> String {
    let mut chars: Vec<char> = base.chars().collect();
    for &(pos, kind, frag) in edits {
        if chars.is_empty() {
            break;
        }
        let at = pos % chars.len();
        match kind % 3 {
            0 => {
                chars.remove(at);
            }
            1 => {
                let f = FRAGMENTS[frag % FRAGMENTS.len()];
                for (i, c) in f.chars().enumerate() {
                    chars.insert(at + i, c);
                }
            }
            _ => {
                let len = (frag % 8).min(chars.len() - at);
                chars.drain(at..at + len);
            }
        }
    }
    chars.into_iter().collect()
}

/// Cases per property: `SMALT_FUZZ_CASES` (default 2048, about a second each in a debug
/// build); set it much higher for a longer search.
fn cases() -> u32 {
    std::env::var("SMALT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_smalltalk_looking_text_never_panics(
        parts in proptest::collection::vec(0..FRAGMENTS.len(), 0..60),
        words in proptest::collection::vec("[a-z]{1,3}:?|[0-9]{1,4}", 0..10),
    ) {
        let mut s = String::new();
        for (i, p) in parts.iter().enumerate() {
            s.push_str(FRAGMENTS[*p]);
            if let Some(w) = words.get(i % words.len().max(1)) {
                s.push(' ');
                s.push_str(w);
            }
        }
        exercise(&s);
    }

    #[test]
    fn mutated_classes_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<usize>(), any::<usize>()), 1..6)) {
        exercise(&mutate(SAMPLE_CLASS, &edits));
    }

    /// The class library's own files: real code using every construct, mutated.
    #[test]
    fn mutated_library_files_never_panic(
        file in 0..smalt_stdlib::FILES.len(),
        edits in proptest::collection::vec((any::<usize>(), any::<usize>(), any::<usize>()), 1..5),
    ) {
        exercise(&mutate(smalt_stdlib::FILES[file].1, &edits));
    }

    #[test]
    fn mutated_doits_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<usize>(), any::<usize>()), 1..4)) {
        exercise(&mutate(SAMPLE_DOIT, &edits));
    }
}
