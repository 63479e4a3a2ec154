//! Golden tests: source → disassembly for each construct the compiler handles.
//!
//! Every listing is verified (`compiler::verify`) before it is compared, and each snapshot
//! starts with the source it was compiled from. The methods are compiled in a class `Foo` with
//! instance variables `a` and `b`.

use smalt_vm::compiler::{
    ClassScope, CompiledCode, compile_doit, compile_method, disassemble, parse_method, verify,
};

fn scope() -> ClassScope {
    ClassScope::new("Foo", &["a", "b"], false)
}

fn compile(src: &str) -> CompiledCode {
    let def = parse_method("test.st", src).unwrap_or_else(|e| panic!("{e}"));
    let code = compile_method(&def, &scope(), "test.st", src).unwrap_or_else(|e| panic!("{e}"));
    verify(&code).unwrap_or_else(|e| panic!("{e}\n{}", disassemble(&code)));
    code
}

/// The source followed by its listing.
fn listing(src: &str) -> String {
    format!("{src}\n---\n{}", disassemble(&compile(src)))
}

fn doit_listing(src: &str, auto_declare: bool) -> String {
    let code = compile_doit("doit", src, &scope(), auto_declare).unwrap_or_else(|e| panic!("{e}"));
    verify(&code).unwrap_or_else(|e| panic!("{e}"));
    format!("{src}\n---\n{}", disassemble(&code))
}

macro_rules! golden {
    ($name:ident, $src:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(listing($src));
        }
    };
}

// ---- conditionals ------------------------------------------------------------------------

golden!(if_true_value, "foo: c ^c ifTrue: [1]");
golden!(if_true_effect, "foo: c c ifTrue: [self bar]. ^1");
golden!(if_false_value, "foo: c ^c ifFalse: [1]");
golden!(if_false_effect, "foo: c c ifFalse: [self bar]");
golden!(if_true_if_false_value, "foo: c ^c ifTrue: [1] ifFalse: [2]");
golden!(
    if_true_if_false_effect,
    "foo: c c ifTrue: [self bar] ifFalse: [self baz]"
);
golden!(if_false_if_true_value, "foo: c ^c ifFalse: [1] ifTrue: [2]");
golden!(
    if_both_branches_return,
    "foo: c c ifTrue: [^1] ifFalse: [^2]"
);
golden!(if_empty_blocks, "foo: c ^c ifTrue: [] ifFalse: [2]");
golden!(
    cascade_with_inlined_parts,
    "foo: c ^c ifTrue: [1]; ifFalse: [2]; yourself"
);
golden!(
    cascade_with_inlined_loop_part,
    "foo: n ^n timesRepeat: [self bar]; to: 3 do: [:i | self baz: i]"
);
golden!(
    to_by_do_zero_step_not_inlined,
    "foo 1 to: 3 by: 0 do: [:i | self bar: i]"
);
golden!(
    while_true_block_with_argument_not_inlined,
    "foo [:x | x] whileTrue: [self bar]"
);
golden!(and_value, "foo: x ^x > 0 and: [x < 10]");
golden!(and_effect, "foo: x x > 0 and: [self bar]");
golden!(or_value, "foo: x ^x < 0 or: [x > 10]");
golden!(
    nested_conditionals,
    "foo: x ^x > 0 ifTrue: [x > 10 ifTrue: [#big] ifFalse: [#small]] ifFalse: [#negative]"
);

// ---- loops ---------------------------------------------------------------------------------

golden!(
    while_true_effect,
    "foo | i | i := 0. [i < 10] whileTrue: [i := i + 1]. ^i"
);
golden!(
    while_true_value,
    "foo | i | i := 0. ^[i < 10] whileTrue: [i := i + 1]"
);
golden!(
    while_false,
    "foo | i | i := 0. [i >= 10] whileFalse: [i := i + 1]"
);
golden!(
    while_true_unary,
    "foo | i | i := 0. [i := i + 1. i < 10] whileTrue"
);
golden!(while_false_unary_value, "foo ^[self done] whileFalse");
golden!(
    to_do_literal_limit,
    "foo | sum | sum := 0. 1 to: 10 do: [:i | sum := sum + i]. ^sum"
);
golden!(
    to_do_expression_limit,
    "foo: coll 1 to: coll size do: [:i | (coll at: i) printNl]"
);
golden!(to_do_argument_limit, "foo: n 1 to: n do: [:i | i printNl]");
golden!(to_do_value, "foo: n ^1 to: n do: [:i | i printNl]");
golden!(to_by_do_positive, "foo 1 to: 10 by: 2 do: [:i | i printNl]");
golden!(
    to_by_do_negative,
    "foo 10 to: 1 by: -1 do: [:i | i printNl]"
);
golden!(to_by_do_float, "foo 0 to: 1 by: 0.25 do: [:x | x printNl]");
golden!(down_to_do, "foo: n n downTo: 1 do: [:i | i printNl]");
golden!(times_repeat_literal, "foo 3 timesRepeat: [self bar]");
golden!(
    times_repeat_expression_value,
    "foo ^self count timesRepeat: [self bar]"
);
golden!(
    loop_body_temps_are_fresh,
    "foo 1 to: 3 do: [:i | | t | t printNl. t := i]"
);
golden!(
    nested_loops,
    "foo | m | m := 0. 1 to: 3 do: [:i | 1 to: i do: [:j | m := m + (i * j)]]. ^m"
);

// ---- nil tests -----------------------------------------------------------------------------

golden!(if_nil_value, "foo: x ^x ifNil: [0]");
golden!(if_nil_effect, "foo: x x ifNil: [self bar]");
golden!(
    if_not_nil_value_with_arg,
    "foo: x ^x ifNotNil: [:v | v + 1]"
);
golden!(if_not_nil_value_no_arg, "foo: x ^x ifNotNil: [1]");
golden!(
    if_not_nil_effect_with_arg,
    "foo: x x ifNotNil: [:v | v printNl]"
);
golden!(if_not_nil_effect_no_arg, "foo: x x ifNotNil: [self bar]");
golden!(
    if_nil_if_not_nil_value,
    "foo: x ^x ifNil: [0] ifNotNil: [:v | v + 1]"
);
golden!(
    if_nil_if_not_nil_effect,
    "foo: x x ifNil: [self bar] ifNotNil: [:v | v printNl]"
);
golden!(
    if_not_nil_if_nil_value,
    "foo: x ^x ifNotNil: [:v | v + 1] ifNil: [0]"
);
golden!(
    if_not_nil_if_nil_no_arg_effect,
    "foo: x x ifNotNil: [self bar] ifNil: [self baz]"
);

// ---- not inlined ---------------------------------------------------------------------------

golden!(
    if_true_block_variable,
    "foo: c with: aBlock ^c ifTrue: aBlock"
);
golden!(if_true_block_with_argument, "foo: c ^c ifTrue: [:x | x]");
golden!(and_non_block, "foo: x with: y ^x and: y");
golden!(
    while_true_non_literal_receiver,
    "foo: aBlock aBlock whileTrue: [self bar]"
);
golden!(
    to_by_do_variable_step,
    "foo: s 1 to: 10 by: s do: [:i | i printNl]"
);
golden!(to_do_block_without_argument, "foo 1 to: 10 do: [self bar]");
golden!(super_if_true_not_inlined, "foo ^super ifTrue: [1]");
golden!(times_repeat_block_variable, "foo: blk 3 timesRepeat: blk");

// ---- closures ------------------------------------------------------------------------------

golden!(
    clean_block,
    "foo ^#(3 1 2) asSortedCollection: [:x :y | x > y]"
);
golden!(clean_block_empty, "foo ^[]");
golden!(copied_argument, "foo: x ^[:y | x + y]");
golden!(
    copied_temp_written_before_capture,
    "foo | t | t := 3. ^[t + 1]"
);
golden!(
    indirect_temp_written_in_block,
    "foo | count | count := 0. #(1 2) do: [:e | count := count + e]. ^count"
);
golden!(
    indirect_temp_written_after_capture,
    "foo | t blk | t := 1. blk := [t]. t := 2. ^blk value"
);
golden!(
    indirect_temp_written_in_loop_with_capture,
    "foo | t bs | bs := OrderedCollection new. 1 to: 3 do: [:i | t := i. bs add: [t]]. ^bs"
);
golden!(
    loop_variable_captured,
    "foo | bs | bs := OrderedCollection new. 1 to: 3 do: [:i | bs add: [i]]. ^bs"
);
golden!(
    loop_body_temp_captured,
    "foo | bs | bs := OrderedCollection new. 1 to: 3 do: [:i | | t | t := i * 2. bs add: [t]]. ^bs"
);
golden!(
    loop_body_temp_captured_and_written,
    "foo | bs | bs := OrderedCollection new. 1 to: 3 do: [:i | | t | bs add: [t]. t := i]. ^bs"
);
golden!(
    nested_capture_through_block,
    "foo: x | t | t := 0. ^[:y | [:z | t := x + y + z]]"
);
golden!(
    block_temps_and_self,
    "foo ^[:x | | t | t := x. a := t. self bar: t]"
);
golden!(
    inlined_temps_in_block,
    "foo ^[:x | x > 0 ifTrue: [| t | t := x. t * 2] ifFalse: [0]]"
);
golden!(clean_outer_block_with_nested_closure, "foo ^[:x | [x]]");
golden!(this_context_in_block, "foo ^[thisContext]");

// ---- returns -------------------------------------------------------------------------------

golden!(
    non_local_return,
    "foo: c c do: [:e | e > 0 ifTrue: [^e]]. ^nil"
);
golden!(
    nested_non_local_return,
    "foo: c ^[:x | [:y | ^y] value: x] value: c"
);
golden!(non_local_return_outer_block_marked, "foo ^[[^1] value. 2]");
golden!(return_self_implicit, "foo self bar");
golden!(empty_method, "foo");
golden!(dead_code_after_return, "foo ^1. self bar");

// ---- messages ------------------------------------------------------------------------------

golden!(cascade_effect, "foo Transcript show: 'a'; cr; show: 'b'");
golden!(
    cascade_value,
    "foo ^OrderedCollection new add: 1; add: 2; yourself"
);
golden!(cascade_chain_in_part, "foo ^self bar; baz qux; + 1");
golden!(super_send, "foo: x ^super foo: x + 1");
golden!(super_cascade, "foo super bar; baz");
golden!(
    special_selectors,
    "foo: x ^{x + 1. x - 1. x * 2. x / 2. x < 1. x > 1. x <= 1. x >= 1. x = 1. x ~= 1. x == 1. x ~~ 1. x bitAnd: 1. x bitOr: 1. x at: 1. x at: 1 put: 2. x size. x value. x value: 1}"
);
golden!(
    repeated_sends_share_a_literal,
    "foo self bar. self bar. ^self bar: self bar"
);
golden!(
    keyword_binary_unary_precedence,
    "foo ^self at: a + b negated put: 3 factorial - 1"
);

// ---- variables and literals ----------------------------------------------------------------

golden!(instance_variables, "foo: x a := x. b := a + 1. ^b");
golden!(
    globals,
    "foo ^Transcript show: Smalltalk version; show: Transcript name"
);
golden!(assignment_chain, "foo | x y | x := y := 3. a := b := x. ^y");
golden!(
    pseudo_variables,
    "foo ^{self. super. nil. true. false. thisContext}"
);
golden!(
    integer_literals,
    "foo ^{0. 127. -128. 128. -129. 1073741823. 9223372036854775807. -9223372036854775808. 9223372036854775808. 100 factorial. 16r1F. -16rFF. 2r1010. 1e10}"
);
golden!(
    other_literals,
    "foo ^{1.5. -2.5e-3. 1.5e+2. $a. $ . $'. 'it''s'. 'tab\\there'. #foo. #at:put:. #+. #'hello world'. #(1 $a 'b' #c (2 3) #[1 2] true false nil foo at:put: - -3). #[1 2 255]}"
);
golden!(
    literals_are_shared,
    "foo ^{'x'. 'x'. #y. #y. 1000. 1000. 1.0. 1}"
);
golden!(brace_arrays, "foo: x ^{x. {}. {x + 1. {x}}}");
golden!(brace_for_effect, "foo: x {x. x bar}");
golden!(negative_literals, "foo: x ^x - -2 + (x-2) + #(-1 -2.5)");

// ---- SOM scoping: shadowing and assigned arguments -------------------------------------------

golden!(
    shadowing_in_inlined_blocks,
    "foo: a | t | t := 1. a ifTrue: [ | t | t := 2. a ifTrue: [ | t | t := 3 ] ]. ^t"
);
golden!(assigned_method_argument, "foo: x x := x + 1. ^x");
golden!(
    assigned_argument_after_capture,
    "foo: x | blk | blk := [ x ]. x := 2. ^blk"
);
golden!(
    assigned_loop_variable_uses_a_counter,
    "foo 1 to: 3 do: [:i | i := i * 2. self bar: i]"
);
golden!(
    assigned_inlined_argument_after_capture,
    "foo: y ^y ifNotNil: [:v | | blk | blk := [ v ]. v := 0. blk]"
);

// ---- primitives ----------------------------------------------------------------------------

golden!(som_primitive, "at: i = primitive");
golden!(numbered_primitive, "+ other <primitive: 1> ^super + other");
golden!(
    named_primitive,
    "foo | t | <primitive: #fooPrim> t := 3. ^t"
);
golden!(named_primitive_string, "foo <primitive: 'fooPrim'>");
golden!(som_style_method_body, "foo: x = ( | t | t := x. ^t )");

// ---- do-its --------------------------------------------------------------------------------

#[test]
fn doit_expression() {
    insta::assert_snapshot!(doit_listing("3 + 4", false));
}

#[test]
fn doit_temps_last_value() {
    insta::assert_snapshot!(doit_listing("| x | x := 3. x * 2", false));
}

#[test]
fn doit_empty() {
    insta::assert_snapshot!(doit_listing("", false));
}

#[test]
fn doit_explicit_return() {
    insta::assert_snapshot!(doit_listing("^ 1 + 2", false));
}

#[test]
fn doit_auto_declare() {
    insta::assert_snapshot!(doit_listing("counter := 0. counter := counter + 1", true));
}

#[test]
fn doit_ends_with_loop() {
    insta::assert_snapshot!(doit_listing(
        "| s | s := 0. 1 to: 3 do: [:i | s := s + i]",
        false
    ));
}

// ---- classes -------------------------------------------------------------------------------

#[test]
fn class_file() {
    let src = "Counter = Object (\n  | count |\n  increment = ( count := count + 1 )\n  count = ( ^count )\n  ----\n  | instances |\n  new = ( instances := instances + 1. ^super new )\n)\n";
    let class = smalt_vm::compiler::parse_class("Counter.som", src).unwrap();
    let inst = ClassScope::new("Counter", &["count"], false);
    let meta = ClassScope::new("Counter class", &["instances"], true);
    let compiled =
        smalt_vm::compiler::compile_class(&class, &inst, &meta, "Counter.som", src).unwrap();
    let mut out = format!("{src}---\n");
    for m in compiled
        .instance_methods
        .iter()
        .chain(&compiled.class_methods)
    {
        verify(m).unwrap();
        out.push_str(&disassemble(m));
        out.push('\n');
    }
    insta::assert_snapshot!(out);
}
