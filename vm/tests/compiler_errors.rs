//! Golden tests of compile error messages: what they say and where the caret points.

use smalt_vm::compiler::{
    ClassScope, compile_class, compile_doit, compile_method, parse_class, parse_method,
};

fn scope() -> ClassScope {
    ClassScope::new("Foo", &["a", "b"], false)
}

/// Errors from compiling a method given as a string (parse or semantic).
fn method_errors(src: &str) -> String {
    let result =
        parse_method("test.st", src).and_then(|def| compile_method(&def, &scope(), "test.st", src));
    match result {
        Ok(_) => panic!("{src:?} compiled without errors"),
        Err(e) => e.to_string(),
    }
}

/// Errors from a class file: parsing, then compiling every method.
fn class_errors(src: &str) -> String {
    let result = parse_class("Test.som", src).and_then(|class| {
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
        compile_class(&class, &inst, &meta, "Test.som", src)
    });
    match result {
        Ok(_) => panic!("{src:?} compiled without errors"),
        Err(e) => e.to_string(),
    }
}

fn doit_errors(src: &str, auto_declare: bool) -> String {
    match compile_doit("doit", src, &scope(), auto_declare) {
        Ok(_) => panic!("{src:?} compiled without errors"),
        Err(e) => e.to_string(),
    }
}

macro_rules! method_error {
    ($name:ident, $src:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(method_errors($src));
        }
    };
}

method_error!(missing_argument_after_binary, "foo ^ 1 +");
method_error!(unclosed_block, "foo ^[:x | x + 1");
method_error!(missing_period_between_statements, "foo | x | x := 3 ^x");
method_error!(assign_to_self, "foo self := 3");
method_error!(assign_to_true, "foo true := false");
method_error!(assign_to_this_context, "foo thisContext := nil");
method_error!(assign_to_undeclared, "foo undeclared := 3");
method_error!(duplicate_temp, "foo | x y x | ^x");
method_error!(duplicate_argument, "foo: x bar: x ^x");
method_error!(reserved_word_as_temp, "foo | self | ^1");
method_error!(
    several_semantic_errors,
    "foo: x | x | self := x. x := 1. nope := 2"
);
method_error!(cascade_without_message, "foo 3; bar");
method_error!(unknown_pragma, "foo <bar: 1> ^1");
method_error!(bad_primitive_number, "foo <primitive: 70000> ^1");
method_error!(pragma_after_statements, "foo ^1. <primitive: 60>");
method_error!(pragma_without_keyword, "foo <primitive 60> ^1");
method_error!(pragma_without_value, "foo <primitive: > ^1");
method_error!(pragma_not_closed, "foo <primitive: 60 ^1");
method_error!(two_pragmas, "foo <primitive: 1> | t | <primitive: 2> ^1");
method_error!(pragma_in_block, "foo ^[<primitive: 1> 2]");
method_error!(unterminated_string, "foo ^'abc");
method_error!(unknown_escape, "foo ^'a\\qb'");
method_error!(unexpected_character, "foo ^3 ` 4");
method_error!(byte_out_of_range, "foo ^#[1 2 256]");
method_error!(bad_radix, "foo ^40r12");
method_error!(unclosed_literal_array, "foo ^#(1 2");
method_error!(keyword_where_expression_expected, "foo ^at: 3");
method_error!(unicode_columns_count_characters, "foo ^'héllo' , 'wörld' +");
method_error!(tab_aligned_caret, "foo\n\t^1 +\t)");
method_error!(cascade_after_parenthesis, "foo ^(3 + 4); printNl");
method_error!(
    cascade_after_parenthesized_variable,
    "foo | x | ^(x); printNl"
);
method_error!(radix_without_digits, "foo ^16r");
method_error!(radix_without_digits_before_name, "foo ^16r zork");
method_error!(digit_too_large_for_radix, "foo ^2r102");
method_error!(letter_digit_too_large_for_radix, "foo ^16rFFG + 1");
method_error!(float_exponent_without_digits, "foo ^1.5e");
method_error!(integer_exponent_without_digits, "foo ^1e + 2");
method_error!(character_at_end_of_input, "foo ^$");
method_error!(unterminated_comment, "foo ^1 \"no end");
method_error!(unterminated_symbol, "foo ^#'no end");
method_error!(unicode_before_error_on_later_line, "foo\n  ^'ä€𝄞' , )");
method_error!(crlf_line_endings, "foo\r\n  | x |\r\n  x := 1 +\r\n  ^x");

/// Warnings for a method that compiles.
fn method_warnings(src: &str) -> String {
    let def = parse_method("test.st", src).unwrap();
    compile_method(&def, &scope(), "test.st", src).unwrap_or_else(|e| panic!("{e}"));
    smalt_vm::compiler::method_warnings(&def, &scope(), "test.st", src)
        .iter()
        .map(|w| w.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn arguments_may_be_assigned() {
    // SOM: method, block and inlined-block arguments may be assigned, with no warning.
    for src in [
        "foo: x x := 3",
        "foo ^[:x | x := 3]",
        "foo 1 to: 3 do: [:i | i := 2]",
        "foo ^3 ifNotNil: [:v | v := v + 1]",
    ] {
        assert_eq!(method_warnings(src), "", "{src}");
    }
}

#[test]
fn shadowing_compiles_with_a_warning() {
    insta::assert_snapshot!(
        [
            "foo: x ^[:y | | x | x := y]",
            "foo | t | ^[:t | t]",
            "foo | a | a := 1",
            "foo | t | true ifTrue: [ | t | t := 1 ]. ^t",
        ]
        .map(method_warnings)
        .join("\n")
    );
}

#[test]
fn deep_nesting_is_an_error() {
    let src = format!("foo ^{}1{}", "(".repeat(200), ")".repeat(200));
    insta::assert_snapshot!(method_errors(&src));
}

#[test]
fn doit_assignment_to_undeclared_without_auto_declare() {
    insta::assert_snapshot!(doit_errors("x := 3. x + 1", false));
}

#[test]
fn doit_syntax_error() {
    insta::assert_snapshot!(doit_errors("3 + 4)", true));
}

#[test]
fn class_with_several_broken_methods() {
    let src = "\
Broken = Object (
  | x y |

  ok = ( ^x )

  missingParen = ( ^ 1 + 2 ]

  alsoOk: n = ( ^n + y )

  badExpression = ( ^ 1 + )

  assignsArgument: n = ( n := 3 )

  stillOk = ( ^self ok )
)
";
    insta::assert_snapshot!(class_errors(src));
}

#[test]
fn class_header_errors() {
    insta::assert_snapshot!(class_errors("Broken Object ( )"));
}

#[test]
fn class_missing_close_paren() {
    insta::assert_snapshot!(class_errors("Broken = (\n  foo = ( ^1 )\n"));
}

#[test]
fn class_duplicate_fields_and_methods() {
    insta::assert_snapshot!(class_errors(
        "Dup = (\n  | a b a |\n  foo = ( ^a )\n  foo = ( ^b )\n  ----\n  | self |\n)\n"
    ));
}

#[test]
fn class_side_errors() {
    insta::assert_snapshot!(class_errors(
        "Side = (\n  ----\n  | count |\n  new = ( ^count := )\n  other: x = ( ^x + )\n)\n"
    ));
}

#[test]
fn semantic_errors_in_several_methods() {
    let src = "\
Checked = (
  | x |
  setX: n = ( n := x )
  y = ( ^y )
  z = ( | x | ^x )
  ----
  | count |
  reset = ( count := 0. total := 0 )
)
";
    insta::assert_snapshot!(class_errors(src));
}

#[test]
fn broken_pattern_recovers_at_next_line() {
    insta::assert_snapshot!(class_errors(
        "P = (\n  foo bar\n  ok = ( ^1 )\n  at: = ( ^2 )\n  fine = ( ^3 )\n  = ( ^4 )\n)\n"
    ));
}

#[test]
fn error_display_format() {
    let err = method_errors("foo = ( ^ 1 ]");
    assert_eq!(
        err,
        "test.st:1:13: error: expected ')' to close the method body, found ']'\n    1 | foo = ( ^ 1 ]\n      |             ^"
    );
}

#[test]
fn semantic_errors_are_reported_beside_syntax_errors() {
    // `broken` does not parse; the other methods are still checked, against the class's own
    // fields only: `inherited := 1` may assign an inherited instance variable, so it is not
    // reported until the file parses and the superclass is known.
    let src = "\
Mixed = Base (
  | own |
  broken = ( ^1 + )
  setArg: n = ( n := 1 )
  shadow = ( | own | ^own )
  reserved = ( self := 2 )
  inherited = ( inherited := 1 )
  ----
  make: x = ( ^[:x | x] )
)
";
    insta::assert_snapshot!(class_errors(src));
}

#[test]
fn block_copying_too_many_values() {
    let names: Vec<String> = (0..70).map(|i| format!("v{i}")).collect();
    let src = format!("foo | {} | ^[{}]", names.join(" "), names[..64].join(" + "));
    let err = method_errors(&src);
    assert!(
        err.starts_with(
            "test.st:1:280: error: a block may use at most 63 variables of the scopes around it; this one uses 64"
        ),
        "{err}"
    );
    // 63 compile.
    let ok = format!("foo | {} | ^[{}]", names.join(" "), names[..63].join(" + "));
    let def = parse_method("test.st", &ok).unwrap();
    compile_method(&def, &scope(), "test.st", &ok).unwrap();
}

#[test]
fn missing_close_paren_is_reported_before_the_next_method() {
    // Without its `)`, `a` runs on into `b` (`^(1 + 2) b = (…)`); the error names the cause,
    // and `b` and `c` are still parsed and checked.
    insta::assert_snapshot!(class_errors(
        "M = (\n  a = ( ^(1 + 2 )\n  b = ( ^#(1 2 )\n  c: x = ( x := 2 )\n  d = ( ^1 )\n)\n"
    ));
}

#[test]
fn unterminated_comment_in_a_class_is_one_error() {
    insta::assert_snapshot!(class_errors(
        "C = (\n  a = ( ^1 \"no end )\n  b = ( ^2 )\n)\n"
    ));
}
