//! Code generation: an analysed tree to [`CompiledCode`], through [`Encoder`] only.
//!
//! One [`Frame`] is built per method and per real block; inlined blocks emit into the frame of
//! the method or block around them. Each expression is generated either for its value (it
//! leaves one value on the stack) or for effect (it leaves nothing), so statements do not push
//! values only to pop them. Generating a statement answers whether control can continue after
//! it ([`Flow`]); statements after a `^` are not generated.
//!
//! Frame slots are allocated as the generator meets them: for a block, the copied values
//! first (in the order the closure pushes them), then its temporaries, then its temp vector,
//! then the variables of inlined blocks and the hidden loop temporaries. Every limit of the
//! encoding (255 frame slots, 65536 literals, 2^20 send sites, 16-bit jumps, operand sizes) is
//! checked here and reported as a compile error, so the encoder's own assertions never fire.

use std::collections::{HashMap, HashSet};

use super::ClassScope;
use super::ast::{Block, Expr, MethodAst, Name, Send, Stmt};
use super::code::{CompiledCode, Literal, Primitive, SourcePos, TempVector};
use super::error::Diag;
use super::inline::{Inline, block_of, classify, literal_step, step_is_negative};
use super::scope::{Analysis, Capture, Resolved, ScopeId, VarId, VarKind};
use super::verify;
use crate::bytecode::{
    Encoder, FRAME_HEADER_WORDS, MAX_COPIED, MAX_LOCALS, MAX_SEND_SITES, Op, special_op_for,
};

/// Largest value of a first `U8` operand with an `ExtA` prefix.
const MAX_EXTENDED: usize = 0xFFFF;

/// Largest operand-stack depth a method may need (it fits in 16 bits of a method header).
pub const MAX_STACK: usize = 0xFFFF;

/// Whether control continues after a statement or expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    Continues,
    /// Every path returned (`^`): what follows is unreachable.
    Returns,
}

impl Flow {
    fn both(a: Flow, b: Flow) -> Flow {
        if a == Flow::Returns && b == Flow::Returns {
            Flow::Returns
        } else {
            Flow::Continues
        }
    }
}

/// Where a variable lives, seen from one frame.
#[derive(Clone, Copy, Debug)]
enum Loc {
    Local(usize),
    Indirect { index: usize, vector: usize },
}

/// A loop bound evaluated once: a constant pushed on each test, or a hidden temporary.
enum Bound<'e> {
    Expr(&'e Expr),
    Local(usize),
}

/// The code being built for one method or real block.
struct Frame {
    scope: ScopeId,
    is_block: bool,
    num_args: usize,
    position: SourcePos,
    enc: Encoder,
    literals: Vec<Literal>,
    /// Deduplication of constants, globals and selectors: key → literal index.
    shared: HashMap<String, usize>,
    /// The send sites: the literal index of each one's selector.
    sites: Vec<u16>,
    temp_names: Vec<String>,
    var_local: HashMap<VarId, usize>,
    vector_local: HashMap<ScopeId, usize>,
    capture_local: HashMap<Capture, usize>,
    prepared: HashSet<ScopeId>,
    vectors: Vec<TempVector>,
    source_map: Vec<(u32, SourcePos)>,
    /// Depth of inlined loops around the code being generated (in this frame).
    loop_depth: usize,
}

struct Gen<'a> {
    an: &'a Analysis,
    class: &'a ClassScope,
    selector: &'a str,
    diags: Vec<Diag>,
    reported: HashSet<String>,
}

/// Generates the code of an analysed method; `doit` methods answer their last statement.
pub(crate) fn generate(
    method: &MethodAst,
    an: &Analysis,
    class: &ClassScope,
    doit: bool,
    source: Option<String>,
) -> Result<CompiledCode, Vec<Diag>> {
    let mut g = Gen {
        an,
        class,
        selector: &method.selector,
        diags: Vec::new(),
        reported: HashSet::new(),
    };
    let scope = 0;
    let mut f = g.new_frame(scope, false, method.params.len(), method.pos);
    if method.primitive == Primitive::Som {
        f.enc.emit(Op::PushSelf, &[]);
        let s = g.send_site(&mut f, "primitiveFailed", method.pos);
        g.emit_at(&mut f, Op::Send, &[s], method.pos);
        f.enc.emit(Op::ReturnTop, &[]);
    } else {
        g.enter_real_scope(&mut f, scope);
        let flow = g.sequence(&mut f, &method.body, scope, doit);
        if flow == Flow::Continues {
            f.enc
                .emit(if doit { Op::ReturnTop } else { Op::ReturnSelf }, &[]);
        }
    }
    let code = g.finish_frame(f, method.primitive.clone(), source);
    if g.diags.is_empty() {
        Ok(code)
    } else {
        Err(g.diags)
    }
}

impl Gen<'_> {
    // ---- frames, slots, literals --------------------------------------------------------

    fn new_frame(
        &mut self,
        scope: ScopeId,
        is_block: bool,
        num_args: usize,
        position: SourcePos,
    ) -> Frame {
        let mut f = Frame {
            scope,
            is_block,
            num_args,
            position,
            enc: Encoder::default(),
            literals: Vec::new(),
            shared: HashMap::new(),
            sites: Vec::new(),
            temp_names: Vec::new(),
            var_local: HashMap::new(),
            vector_local: HashMap::new(),
            capture_local: HashMap::new(),
            prepared: HashSet::new(),
            vectors: Vec::new(),
            source_map: Vec::new(),
            loop_depth: 0,
        };
        if num_args > MAX_LOCALS - FRAME_HEADER_WORDS {
            self.limit_error(
                position,
                format!(
                    "too many arguments ({num_args}); a frame holds at most {} arguments and temporaries",
                    MAX_LOCALS - FRAME_HEADER_WORDS
                ),
            );
        }
        for &v in &self.an.scopes[scope].vars {
            if let VarKind::Arg(k) = self.an.vars[v].kind {
                f.var_local.insert(v, k);
            }
        }
        f
    }

    /// Reports a limit once per compilation.
    fn limit_error(&mut self, pos: SourcePos, message: String) {
        if self.reported.insert(message.clone()) {
            self.diags.push(Diag::new(pos, message));
        }
    }

    fn internal_error(&mut self, pos: SourcePos, what: &str) {
        self.limit_error(pos, format!("internal compiler error: {what}"));
    }

    /// A new temp slot; its local index.
    fn alloc(&mut self, f: &mut Frame, name: impl Into<String>) -> usize {
        let k = f.num_args + 1 + FRAME_HEADER_WORDS + f.temp_names.len();
        f.temp_names.push(name.into());
        if k > MAX_LOCALS {
            self.limit_error(
                f.position,
                format!(
                    "too many arguments and temporaries; a frame holds at most {}",
                    MAX_LOCALS - FRAME_HEADER_WORDS
                ),
            );
            return 0;
        }
        k
    }

    fn add_literal(&mut self, f: &mut Frame, lit: Literal, pos: SourcePos) -> i32 {
        let k = f.literals.len();
        if k > MAX_EXTENDED {
            self.limit_error(
                pos,
                format!(
                    "too many literals; a method has at most {}",
                    MAX_EXTENDED + 1
                ),
            );
            return 0;
        }
        f.literals.push(lit);
        k as i32
    }

    /// A new send site for `selector` (its literal shared with the frame's other sites of the
    /// same selector); the site's index.
    fn send_site(&mut self, f: &mut Frame, selector: &str, pos: SourcePos) -> i32 {
        let s = f.sites.len();
        if s >= MAX_SEND_SITES {
            self.limit_error(
                pos,
                format!("too many message sends; a method or block has at most {MAX_SEND_SITES}"),
            );
            return 0;
        }
        let k = self.shared_literal(f, Literal::Selector(selector.to_string()), pos);
        f.sites.push(k as u16);
        s as i32
    }

    /// A literal shared by all its uses in the frame (constants, globals and selectors).
    fn shared_literal(&mut self, f: &mut Frame, lit: Literal, pos: SourcePos) -> i32 {
        let key = match &lit {
            Literal::Global(g) => format!("global {g}"),
            other => format!("{:?} {other}", std::mem::discriminant(other)),
        };
        if let Some(&k) = f.shared.get(&key) {
            return k as i32;
        }
        let k = self.add_literal(f, lit, pos);
        f.shared.insert(key, k as usize);
        k
    }

    fn emit_at(&mut self, f: &mut Frame, op: Op, operands: &[i32], pos: SourcePos) {
        let pc = u32::try_from(f.enc.pc()).unwrap_or(u32::MAX);
        f.source_map.push((pc, pos));
        f.enc.emit(op, operands);
    }

    /// Checks an operand that cannot take an `ExtA` prefix (or is not the first operand).
    fn byte_operand(&mut self, value: usize, pos: SourcePos, what: &str) -> i32 {
        if value > 255 {
            self.limit_error(pos, format!("{what} ({value}) does not fit in one byte"));
            return 0;
        }
        value as i32
    }

    /// Checks a first operand that an `ExtA` prefix may extend.
    fn wide_operand(&mut self, value: usize, pos: SourcePos, what: &str) -> i32 {
        if value > MAX_EXTENDED {
            self.limit_error(pos, format!("too many {what} (more than {MAX_EXTENDED})"));
            return 0;
        }
        value as i32
    }

    fn finish_frame(
        &mut self,
        f: Frame,
        primitive: Primitive,
        source: Option<String>,
    ) -> CompiledCode {
        let sc = &self.an.scopes[f.scope];
        let mut args: Vec<(usize, String)> = sc
            .vars
            .iter()
            .filter_map(|&v| match self.an.vars[v].kind {
                VarKind::Arg(k) => Some((k, self.an.vars[v].name.clone())),
                _ => None,
            })
            .collect();
        args.sort();
        let mut code = CompiledCode {
            selector: self.selector.to_string(),
            is_block: f.is_block,
            num_args: f.num_args,
            num_temps: f.temp_names.len(),
            num_copied: if f.is_block { sc.captures.len() } else { 0 },
            max_stack: 0,
            primitive,
            bytecodes: {
                let mut bytes = f.enc.code;
                crate::bytecode::fuse_superinstructions(&mut bytes);
                bytes
            },
            literals: f.literals,
            sites: f.sites,
            needs_outer_context: f.is_block && sc.contains_return,
            is_clean: f.is_block && sc.clean,
            arg_names: args.into_iter().map(|(_, n)| n).collect(),
            temp_names: f.temp_names,
            vectors: f.vectors,
            source_map: f.source_map,
            position: f.position,
            source,
        };
        if self.diags.is_empty() {
            match verify::max_stack(&code) {
                Ok(depth) if depth > MAX_STACK => self.limit_error(
                    f.position,
                    format!("expression too large: it needs more than {MAX_STACK} stack slots"),
                ),
                Ok(depth) => code.max_stack = depth,
                Err(e) => self.internal_error(f.position, &format!("invalid code generated: {e}")),
            }
        }
        code
    }

    // ---- scopes and variables -------------------------------------------------------------

    /// At the start of a method or block: slots for its temporaries, and its temp vector.
    fn enter_real_scope(&mut self, f: &mut Frame, scope: ScopeId) {
        for &v in &self.an.scopes[scope].vars {
            let var = &self.an.vars[v];
            if var.kind == VarKind::Temp && !var.indirect {
                let k = self.alloc(f, var.name.clone());
                f.var_local.insert(v, k);
            }
        }
        self.alloc_vector(f, scope);
        self.make_vector(f, scope);
        self.move_args_to_vector(f, scope);
    }

    /// Copies the arguments of `scope` that live in its temp vector (they are assigned after a
    /// capture) from the slots they arrived in into the vector just made.
    fn move_args_to_vector(&mut self, f: &mut Frame, scope: ScopeId) {
        let Some(&vector) = f.vector_local.get(&scope) else {
            return;
        };
        for &v in &self.an.scopes[scope].vars {
            let var = &self.an.vars[v];
            if var.indirect
                && var.kind != VarKind::Temp
                && let Some(&k) = f.var_local.get(&v)
            {
                f.enc.emit(Op::PushLocal, &[k as i32]);
                f.enc.emit(
                    Op::PopStoreIndirect,
                    &[var.vector_index as i32, vector as i32],
                );
            }
        }
    }

    fn alloc_vector(&mut self, f: &mut Frame, scope: ScopeId) {
        if self.an.scopes[scope].indirect.is_empty() {
            return;
        }
        let k = self.alloc(f, "<vector>");
        f.vector_local.insert(scope, k);
        f.vectors.push(TempVector {
            local: k,
            names: self.an.vector_names(scope),
        });
    }

    /// Emits the creation of `scope`'s temp vector, if it has one.
    fn make_vector(&mut self, f: &mut Frame, scope: ScopeId) {
        let n = self.an.scopes[scope].indirect.len();
        let Some(&k) = f.vector_local.get(&scope) else {
            return;
        };
        let n = self.wide_operand(n, f.position, "captured temporaries in one scope");
        f.enc.emit(Op::PushNewArray, &[n]);
        f.enc.emit(Op::PopStoreLocal, &[k as i32]);
    }

    /// Allocates the slots of an inlined block's variables (once).
    fn prepare_inlined(&mut self, f: &mut Frame, scope: ScopeId) {
        if !f.prepared.insert(scope) {
            return;
        }
        for &v in &self.an.scopes[scope].vars {
            let var = &self.an.vars[v];
            // An indirect argument still arrives in a slot (see `move_args_to_vector`).
            if !var.indirect || var.kind == VarKind::InlinedArg {
                let k = self.alloc(f, var.name.clone());
                f.var_local.insert(v, k);
            }
        }
        self.alloc_vector(f, scope);
    }

    /// On each entry of an inlined block: fresh (nil) temporaries and a fresh temp vector.
    /// Outside loops the block runs at most once per activation, and its slots are still nil.
    fn enter_inlined(&mut self, f: &mut Frame, scope: ScopeId) {
        self.prepare_inlined(f, scope);
        if f.loop_depth > 0 {
            for &v in &self.an.scopes[scope].vars {
                let var = &self.an.vars[v];
                if var.kind == VarKind::Temp
                    && !var.indirect
                    && let Some(&k) = f.var_local.get(&v)
                {
                    f.enc.emit(Op::PushNil, &[]);
                    f.enc.emit(Op::PopStoreLocal, &[k as i32]);
                }
            }
        }
        self.make_vector(f, scope);
        self.move_args_to_vector(f, scope);
    }

    /// The scope of a literal block, or an internal error.
    fn scope_of(&mut self, b: &Block) -> Option<ScopeId> {
        let s = self.an.block_scope(b.id);
        if s.is_none() {
            self.internal_error(b.pos, "block without a scope");
        }
        s
    }

    /// The local slot of an inlined block's argument.
    fn inlined_arg_local(&mut self, f: &mut Frame, b: &Block) -> Option<usize> {
        let scope = self.scope_of(b)?;
        self.prepare_inlined(f, scope);
        let v = *self.an.scopes[scope].vars.first()?;
        if self.an.vars[v].kind != VarKind::InlinedArg {
            return None;
        }
        f.var_local.get(&v).copied()
    }

    fn locate(&mut self, f: &Frame, v: VarId, pos: SourcePos) -> Option<Loc> {
        let var = &self.an.vars[v];
        let own = var.home == f.scope;
        let loc = if var.indirect {
            let vector = if own {
                f.vector_local.get(&var.scope)
            } else {
                f.capture_local.get(&Capture::Vector(var.scope))
            };
            vector.map(|&vector| Loc::Indirect {
                index: var.vector_index,
                vector,
            })
        } else {
            let local = if own {
                f.var_local.get(&v)
            } else {
                f.capture_local.get(&Capture::Var(v))
            };
            local.map(|&k| Loc::Local(k))
        };
        if loc.is_none() {
            let name = var.name.clone();
            self.internal_error(pos, &format!("no slot for '{name}'"));
        }
        loc
    }

    fn push_var(&mut self, f: &mut Frame, v: VarId, pos: SourcePos) {
        match self.locate(f, v, pos) {
            Some(Loc::Local(k)) => f.enc.emit(Op::PushLocal, &[k as i32]),
            Some(Loc::Indirect { index, vector }) => {
                let i = self.wide_operand(index, pos, "captured temporaries in one scope");
                f.enc.emit(Op::PushIndirect, &[i, vector as i32]);
            }
            None => {}
        }
    }

    fn push_name(&mut self, f: &mut Frame, name: &Name, scope: ScopeId) {
        match self.an.resolve(&name.name, scope, self.class) {
            Resolved::Var(v) => self.push_var(f, v, name.pos),
            Resolved::InstVar(i) => {
                let i = self.byte_operand(i, name.pos, "instance variable index");
                f.enc.emit(Op::PushInstVar, &[i]);
            }
            Resolved::Global => {
                let k = self.shared_literal(f, Literal::Global(name.name.clone()), name.pos);
                self.emit_at(f, Op::PushGlobal, &[k], name.pos);
            }
        }
    }

    fn store(&mut self, f: &mut Frame, target: &Name, scope: ScopeId, keep: bool) {
        let pos = target.pos;
        match self.an.resolve(&target.name, scope, self.class) {
            Resolved::Var(v) => match self.locate(f, v, pos) {
                Some(Loc::Local(k)) => {
                    let op = if keep {
                        Op::StoreLocal
                    } else {
                        Op::PopStoreLocal
                    };
                    f.enc.emit(op, &[k as i32]);
                }
                Some(Loc::Indirect { index, vector }) => {
                    let i = self.wide_operand(index, pos, "captured temporaries in one scope");
                    let op = if keep {
                        Op::StoreIndirect
                    } else {
                        Op::PopStoreIndirect
                    };
                    f.enc.emit(op, &[i, vector as i32]);
                }
                None => {}
            },
            Resolved::InstVar(i) => {
                let i = self.byte_operand(i, pos, "instance variable index");
                let op = if keep {
                    Op::StoreInstVar
                } else {
                    Op::PopStoreInstVar
                };
                f.enc.emit(op, &[i]);
            }
            Resolved::Global => {
                let k = self.shared_literal(f, Literal::Global(target.name.clone()), pos);
                let op = if keep {
                    Op::StoreGlobal
                } else {
                    Op::PopStoreGlobal
                };
                self.emit_at(f, op, &[k], pos);
            }
        }
    }

    // ---- statements and expressions -----------------------------------------------------

    /// Statements; with `want_last`, the last one's value (nil if there are none) is left on
    /// the stack.
    fn sequence(&mut self, f: &mut Frame, stmts: &[Stmt], scope: ScopeId, want_last: bool) -> Flow {
        if stmts.is_empty() {
            if want_last {
                f.enc.emit(Op::PushNil, &[]);
            }
            return Flow::Continues;
        }
        for (i, s) in stmts.iter().enumerate() {
            let want = want_last && i + 1 == stmts.len();
            if self.statement(f, s, scope, want) == Flow::Returns {
                return Flow::Returns;
            }
        }
        Flow::Continues
    }

    fn statement(&mut self, f: &mut Frame, s: &Stmt, scope: ScopeId, want: bool) -> Flow {
        match s {
            Stmt::Expr(e) => self.expr(f, e, scope, want),
            Stmt::Return { value, pos } => {
                self.expr(f, value, scope, true);
                if f.is_block {
                    self.emit_at(f, Op::NonLocalReturn, &[], *pos);
                } else {
                    f.enc.emit(Op::ReturnTop, &[]);
                }
                Flow::Returns
            }
        }
    }

    /// Generates `e`; with `want`, leaves its value on the stack, otherwise nothing.
    fn expr(&mut self, f: &mut Frame, e: &Expr, scope: ScopeId, want: bool) -> Flow {
        match e {
            Expr::Literal { value, pos } => {
                if want {
                    self.push_constant(f, value, *pos);
                }
            }
            Expr::Nil(_)
            | Expr::True(_)
            | Expr::False(_)
            | Expr::SelfRef(_)
            | Expr::Super(_)
            | Expr::ThisContext(_) => {
                if want {
                    let op = match e {
                        Expr::Nil(_) => Op::PushNil,
                        Expr::True(_) => Op::PushTrue,
                        Expr::False(_) => Op::PushFalse,
                        Expr::ThisContext(_) => Op::PushThisContext,
                        _ => Op::PushSelf,
                    };
                    f.enc.emit(op, &[]);
                }
            }
            // Already on the stack, pushed by the cascade.
            Expr::CascadeReceiver { .. } => {}
            Expr::Var(name) => {
                let global = self.an.resolve(&name.name, scope, self.class) == Resolved::Global;
                // Reading a global may fail (unbound): keep it even for effect.
                if want || global {
                    self.push_name(f, name, scope);
                    if !want {
                        f.enc.emit(Op::Pop, &[]);
                    }
                }
            }
            Expr::Assign { target, value } => {
                self.expr(f, value, scope, true);
                self.store(f, target, scope, want);
            }
            Expr::Send(send) => return self.send(f, send, scope, want),
            Expr::Cascade { receiver, parts } => {
                self.expr(f, receiver, scope, true);
                for (i, part) in parts.iter().enumerate() {
                    if i + 1 < parts.len() {
                        f.enc.emit(Op::Dup, &[]);
                        self.expr(f, part, scope, false);
                    } else {
                        self.expr(f, part, scope, want);
                    }
                }
            }
            Expr::Block(b) => {
                if want {
                    self.closure(f, b);
                }
            }
            Expr::Brace { items, pos } => {
                for item in items {
                    self.expr(f, item, scope, true);
                }
                let n = self.wide_operand(items.len(), *pos, "elements in a brace array");
                f.enc.emit(Op::MakeArray, &[n]);
                if !want {
                    f.enc.emit(Op::Pop, &[]);
                }
            }
        }
        Flow::Continues
    }

    fn push_constant(&mut self, f: &mut Frame, value: &Literal, pos: SourcePos) {
        match value {
            Literal::Int(n) if (-128..=127).contains(n) => {
                f.enc.emit(Op::PushSmallInt, &[*n as i32]);
            }
            Literal::Nil => f.enc.emit(Op::PushNil, &[]),
            Literal::True => f.enc.emit(Op::PushTrue, &[]),
            Literal::False => f.enc.emit(Op::PushFalse, &[]),
            other => {
                let k = self.shared_literal(f, other.clone(), pos);
                f.enc.emit(Op::PushLiteral, &[k]);
            }
        }
    }

    /// A real block: a clean-block literal, or its copied values and `PushClosure`.
    fn closure(&mut self, f: &mut Frame, b: &Block) {
        let Some(scope) = self.scope_of(b) else {
            return;
        };
        let code = self.compile_block(b, scope);
        let sc = &self.an.scopes[scope];
        if sc.clean {
            let k = self.add_literal(f, Literal::CleanBlock(Box::new(code)), b.pos);
            f.enc.emit(Op::PushLiteral, &[k]);
            return;
        }
        let captures = sc.captures.clone();
        for &cap in &captures {
            self.push_capture(f, cap, b.pos);
        }
        if captures.len() > MAX_COPIED {
            self.limit_error(
                b.pos,
                format!(
                    "a block may use at most {MAX_COPIED} variables of the scopes around it; \
                     this one uses {}",
                    captures.len()
                ),
            );
            return;
        }
        let n = captures.len() as i32;
        let k = self.add_literal(f, Literal::Block(Box::new(code)), b.pos);
        f.enc.emit(Op::PushClosure, &[k, n]);
    }

    fn push_capture(&mut self, f: &mut Frame, cap: Capture, pos: SourcePos) {
        let local = match cap {
            Capture::Var(v) => match self.locate(f, v, pos) {
                Some(Loc::Local(k)) => Some(k),
                _ => None,
            },
            Capture::Vector(s) => {
                if self.an.scopes[s].home == f.scope {
                    f.vector_local.get(&s).copied()
                } else {
                    f.capture_local.get(&cap).copied()
                }
            }
        };
        match local {
            Some(k) => f.enc.emit(Op::PushLocal, &[k as i32]),
            None => self.internal_error(pos, "captured value without a slot"),
        }
    }

    fn compile_block(&mut self, b: &Block, scope: ScopeId) -> CompiledCode {
        let mut f = self.new_frame(scope, true, b.params.len(), b.pos);
        for cap in self.an.scopes[scope].captures.clone() {
            let name = match cap {
                Capture::Var(v) => self.an.vars[v].name.clone(),
                Capture::Vector(_) => "<vector>".to_string(),
            };
            let k = self.alloc(&mut f, name);
            f.capture_local.insert(cap, k);
            if let Capture::Vector(s) = cap {
                f.vectors.push(TempVector {
                    local: k,
                    names: self.an.vector_names(s),
                });
            }
        }
        self.enter_real_scope(&mut f, scope);
        if self.sequence(&mut f, &b.body, scope, true) == Flow::Continues {
            f.enc.emit(Op::ReturnTop, &[]);
        }
        self.finish_frame(f, Primitive::None, None)
    }

    // ---- sends ------------------------------------------------------------------------

    fn send(&mut self, f: &mut Frame, send: &Send, scope: ScopeId, want: bool) -> Flow {
        if let Some(kind) = classify(send) {
            return self.inline(f, send, kind, scope, want);
        }
        // A chain of plain sends (`1 + 2 + 3 …`, any length): the first receiver, then each
        // send innermost first, without recursing along the chain.
        let (chain, first) = send.chain();
        let plain = chain.iter().take_while(|s| classify(s).is_none()).count();
        match chain.get(plain) {
            Some(inlined) => {
                self.send(f, inlined, scope, true);
            }
            None => {
                self.expr(f, first, scope, true);
            }
        }
        for (i, s) in chain[..plain].iter().enumerate().rev() {
            self.send_message(f, s, scope, want || i > 0);
        }
        Flow::Continues
    }

    /// A send whose receiver is on the stack: its arguments and the send.
    fn send_message(&mut self, f: &mut Frame, send: &Send, scope: ScopeId, want: bool) {
        let is_super = send.receiver.is_super();
        for a in &send.args {
            self.expr(f, a, scope, true);
        }
        let special = if is_super {
            None
        } else {
            special_op_for(&send.selector)
        };
        match (is_super, send.selector.as_str(), special) {
            (false, "==", _) => f.enc.emit(Op::IdentityEq, &[]),
            (false, "~~", _) => f.enc.emit(Op::IdentityNe, &[]),
            (_, _, Some(op)) => self.emit_at(f, op, &[], send.pos),
            _ => {
                let s = self.send_site(f, &send.selector, send.pos);
                let op = if is_super { Op::SuperSend } else { Op::Send };
                self.emit_at(f, op, &[s], send.pos);
            }
        }
        if !want {
            f.enc.emit(Op::Pop, &[]);
        }
    }

    // ---- jumps ------------------------------------------------------------------------

    /// A forward jump to patch later; conditional jumps on Booleans record `pos` (they can
    /// send mustBeBoolean).
    fn jump(&mut self, f: &mut Frame, op: Op, pos: Option<SourcePos>) -> usize {
        if let Some(pos) = pos {
            let pc = u32::try_from(f.enc.pc()).unwrap_or(u32::MAX);
            f.source_map.push((pc, pos));
        }
        f.enc.emit_jump(op)
    }

    fn land(&mut self, f: &mut Frame, at: usize) {
        let target = f.enc.pc();
        if !f.enc.patch_jump(at, target) {
            self.too_large(f);
        }
    }

    fn jump_back(&mut self, f: &mut Frame, target: usize) {
        let next = f.enc.pc() + Op::Jump.info().len();
        let offset = match i16::try_from(target as i64 - next as i64) {
            Ok(o) => i32::from(o),
            Err(_) => {
                self.too_large(f);
                0
            }
        };
        f.enc.emit(Op::Jump, &[offset]);
    }

    fn too_large(&mut self, f: &Frame) {
        self.limit_error(
            f.position,
            "method too large: a jump spans more than 32767 bytes of bytecode".into(),
        );
    }

    // ---- inlined constructs -------------------------------------------------------------

    /// The body of an inlined block (known to be a literal block).
    fn inlined_body(&mut self, f: &mut Frame, e: &Expr, want: bool) -> Flow {
        let Some(b) = block_of(e) else {
            self.internal_error(e.pos(), "inlined block expected");
            return Flow::Continues;
        };
        let Some(scope) = self.scope_of(b) else {
            return Flow::Continues;
        };
        self.enter_inlined(f, scope);
        self.sequence(f, &b.body, scope, want)
    }

    fn inline(
        &mut self,
        f: &mut Frame,
        send: &Send,
        kind: Inline,
        scope: ScopeId,
        want: bool,
    ) -> Flow {
        let args = &send.args;
        match kind {
            Inline::IfTrue => self.if_one(f, send, Op::JumpIfFalse, scope, want),
            Inline::IfFalse => self.if_one(f, send, Op::JumpIfTrue, scope, want),
            Inline::IfTrueIfFalse => self.if_two(f, send, Op::JumpIfFalse, scope, want),
            Inline::IfFalseIfTrue => self.if_two(f, send, Op::JumpIfTrue, scope, want),
            Inline::And => self.and_or(f, send, Op::JumpIfFalse, Op::PushFalse, scope, want),
            Inline::Or => self.and_or(f, send, Op::JumpIfTrue, Op::PushTrue, scope, want),
            Inline::WhileTrue | Inline::WhileTrueUnary => {
                self.while_loop(f, send, Op::JumpIfFalse, want)
            }
            Inline::WhileFalse | Inline::WhileFalseUnary => {
                self.while_loop(f, send, Op::JumpIfTrue, want)
            }
            Inline::ToDo => self.counting_loop(f, send, None, false, scope, want),
            Inline::DownToDo => self.counting_loop(f, send, None, true, scope, want),
            Inline::ToByDo => {
                let step = literal_step(&args[1]).cloned();
                let down = step.as_ref().is_some_and(step_is_negative);
                self.counting_loop(f, send, step, down, scope, want)
            }
            Inline::TimesRepeat => self.times_repeat(f, send, scope, want),
            Inline::IfNil => self.if_nil(f, send, scope, want),
            Inline::IfNotNil => self.if_not_nil(f, send, scope, want),
            Inline::IfNilIfNotNil => self.if_nil_not_nil(f, send, true, scope, want),
            Inline::IfNotNilIfNil => self.if_nil_not_nil(f, send, false, scope, want),
        }
    }

    /// `c ifTrue: [b]` / `c ifFalse: [b]`: the block's value, or nil.
    ///
    /// ```text
    ///   c; JumpIfFalse L1; b; Jump L2; L1: PushNil; L2:      (for value)
    ///   c; JumpIfFalse L1; b; L1:                            (for effect)
    /// ```
    fn if_one(&mut self, f: &mut Frame, send: &Send, skip: Op, scope: ScopeId, want: bool) -> Flow {
        self.expr(f, &send.receiver, scope, true);
        let j1 = self.jump(f, skip, Some(send.pos));
        let flow = self.inlined_body(f, &send.args[0], want);
        if want {
            let j2 = (flow == Flow::Continues).then(|| self.jump(f, Op::Jump, None));
            self.land(f, j1);
            f.enc.emit(Op::PushNil, &[]);
            if let Some(j2) = j2 {
                self.land(f, j2);
            }
        } else {
            self.land(f, j1);
        }
        Flow::Continues
    }

    /// `c ifTrue: [a] ifFalse: [b]`: `c; JumpIfFalse L1; a; Jump L2; L1: b; L2:`.
    fn if_two(&mut self, f: &mut Frame, send: &Send, skip: Op, scope: ScopeId, want: bool) -> Flow {
        self.expr(f, &send.receiver, scope, true);
        let j1 = self.jump(f, skip, Some(send.pos));
        let first = self.inlined_body(f, &send.args[0], want);
        let j2 = (first == Flow::Continues).then(|| self.jump(f, Op::Jump, None));
        self.land(f, j1);
        let second = self.inlined_body(f, &send.args[1], want);
        if let Some(j2) = j2 {
            self.land(f, j2);
        }
        Flow::both(first, second)
    }

    /// `a and: [b]`: `a; JumpIfFalse L1; b; Jump L2; L1: PushFalse; L2:` (`or:` mirrors it).
    fn and_or(
        &mut self,
        f: &mut Frame,
        send: &Send,
        skip: Op,
        short: Op,
        scope: ScopeId,
        want: bool,
    ) -> Flow {
        self.expr(f, &send.receiver, scope, true);
        let j1 = self.jump(f, skip, Some(send.pos));
        let flow = self.inlined_body(f, &send.args[0], want);
        if want {
            let j2 = (flow == Flow::Continues).then(|| self.jump(f, Op::Jump, None));
            self.land(f, j1);
            f.enc.emit(short, &[]);
            if let Some(j2) = j2 {
                self.land(f, j2);
            }
        } else {
            self.land(f, j1);
        }
        Flow::Continues
    }

    /// `[c] whileTrue: [b]`: `L1: c; JumpIfFalse L2; b; Jump L1; L2: (PushNil)`.
    fn while_loop(&mut self, f: &mut Frame, send: &Send, exit: Op, want: bool) -> Flow {
        let top = f.enc.pc();
        f.loop_depth += 1;
        self.inlined_body(f, &send.receiver, true);
        let j = self.jump(f, exit, Some(send.pos));
        if let Some(body) = send.args.first() {
            self.inlined_body(f, body, false);
        }
        f.loop_depth -= 1;
        self.jump_back(f, top);
        self.land(f, j);
        if want {
            f.enc.emit(Op::PushNil, &[]);
        }
        Flow::Continues
    }

    /// A loop bound that is evaluated once: small integers (pushed with `PushSmallInt`) and
    /// arguments are pushed on each test, anything else is stored in a hidden temporary first
    /// (a local is cheaper to push than a literal).
    fn bound<'e>(&mut self, f: &mut Frame, e: &'e Expr, scope: ScopeId) -> Bound<'e> {
        let constant = match e {
            Expr::Literal { value, .. } => {
                matches!(value, Literal::Int(n) if (-128..=127).contains(n))
            }
            Expr::Var(n) => matches!(
                self.an.resolve(&n.name, scope, self.class),
                Resolved::Var(v) if matches!(self.an.vars[v].kind, VarKind::Arg(_))
                    && !self.an.vars[v].written
            ),
            _ => false,
        };
        if constant {
            return Bound::Expr(e);
        }
        self.expr(f, e, scope, true);
        let k = self.alloc(f, "<limit>");
        f.enc.emit(Op::PopStoreLocal, &[k as i32]);
        Bound::Local(k)
    }

    fn push_bound(&mut self, f: &mut Frame, bound: &Bound<'_>, scope: ScopeId) {
        match bound {
            Bound::Expr(e) => {
                self.expr(f, e, scope, true);
            }
            Bound::Local(k) => f.enc.emit(Op::PushLocal, &[*k as i32]),
        }
    }

    /// `a to: b do: [:i | body]` (and `to:by:do:`, `downTo:do:`); answers `a`.
    ///
    /// ```text
    ///   a; (Dup); PopStoreLocal i; b; PopStoreLocal limit
    ///   L1: PushLocal i; PushLocal limit; Le; JumpIfFalse L2
    ///   (a small-integer limit or an argument is pushed directly instead of `limit`)
    ///       body; PushLocal i; PushSmallInt 1; Add; PopStoreLocal i; Jump L1
    ///   L2:
    /// ```
    /// When `i` is captured by a real block or assigned in the body, a hidden counter runs the
    /// loop and `i` is set from it at the start of each iteration, so each closure sees its own
    /// value and an assignment to `i` lasts until the end of the iteration only.
    fn counting_loop(
        &mut self,
        f: &mut Frame,
        send: &Send,
        step: Option<Literal>,
        down: bool,
        scope: ScopeId,
        want: bool,
    ) -> Flow {
        let Some(block_expr) = send.args.last() else {
            return Flow::Continues;
        };
        let Some(b) = block_of(block_expr) else {
            self.internal_error(send.pos, "inlined block expected");
            return Flow::Continues;
        };
        let Some(body_scope) = self.scope_of(b) else {
            return Flow::Continues;
        };
        self.expr(f, &send.receiver, scope, true);
        if want {
            f.enc.emit(Op::Dup, &[]);
        }
        let Some(i_local) = self.inlined_arg_local(f, b) else {
            self.internal_error(b.pos, "loop variable without a slot");
            return Flow::Continues;
        };
        // The body may capture `i` or assign it (SOM: the assignment is local to the
        // iteration): then a hidden counter runs the loop.
        let hidden = self.an.scopes[body_scope]
            .vars
            .first()
            .is_some_and(|&v| self.an.vars[v].captured || self.an.vars[v].written);
        let counter = if hidden {
            self.alloc(f, "<counter>")
        } else {
            i_local
        };
        f.enc.emit(Op::PopStoreLocal, &[counter as i32]);
        let limit = self.bound(f, &send.args[0], scope);
        let top = f.enc.pc();
        f.enc.emit(Op::PushLocal, &[counter as i32]);
        self.push_bound(f, &limit, scope);
        self.emit_at(f, if down { Op::Ge } else { Op::Le }, &[], send.pos);
        let exit = self.jump(f, Op::JumpIfFalse, Some(send.pos));
        f.loop_depth += 1;
        if hidden {
            f.enc.emit(Op::PushLocal, &[counter as i32]);
            f.enc.emit(Op::PopStoreLocal, &[i_local as i32]);
        }
        self.enter_inlined(f, body_scope);
        self.sequence(f, &b.body, body_scope, false);
        f.loop_depth -= 1;
        f.enc.emit(Op::PushLocal, &[counter as i32]);
        let increment = match step {
            Some(step) => {
                self.push_constant(f, &step, send.pos);
                Op::Add
            }
            None => {
                f.enc.emit(Op::PushSmallInt, &[1]);
                if down { Op::Sub } else { Op::Add }
            }
        };
        self.emit_at(f, increment, &[], send.pos);
        f.enc.emit(Op::PopStoreLocal, &[counter as i32]);
        self.jump_back(f, top);
        self.land(f, exit);
        Flow::Continues
    }

    /// `n timesRepeat: [body]`: a hidden counter from 1 to n; answers `n`.
    fn times_repeat(&mut self, f: &mut Frame, send: &Send, scope: ScopeId, want: bool) -> Flow {
        let limit = if matches!(send.receiver, Expr::Literal { .. }) {
            if want {
                self.expr(f, &send.receiver, scope, true);
            }
            Bound::Expr(&send.receiver)
        } else {
            self.expr(f, &send.receiver, scope, true);
            if want {
                f.enc.emit(Op::Dup, &[]);
            }
            let k = self.alloc(f, "<limit>");
            f.enc.emit(Op::PopStoreLocal, &[k as i32]);
            Bound::Local(k)
        };
        let counter = self.alloc(f, "<counter>");
        f.enc.emit(Op::PushSmallInt, &[1]);
        f.enc.emit(Op::PopStoreLocal, &[counter as i32]);
        let top = f.enc.pc();
        f.enc.emit(Op::PushLocal, &[counter as i32]);
        self.push_bound(f, &limit, scope);
        self.emit_at(f, Op::Le, &[], send.pos);
        let exit = self.jump(f, Op::JumpIfFalse, Some(send.pos));
        f.loop_depth += 1;
        self.inlined_body(f, &send.args[0], false);
        f.loop_depth -= 1;
        f.enc.emit(Op::PushLocal, &[counter as i32]);
        f.enc.emit(Op::PushSmallInt, &[1]);
        self.emit_at(f, Op::Add, &[], send.pos);
        f.enc.emit(Op::PopStoreLocal, &[counter as i32]);
        self.jump_back(f, top);
        self.land(f, exit);
        Flow::Continues
    }

    /// `x ifNil: [b]`: the receiver unless it is nil.
    ///
    /// ```text
    ///   x; Dup; JumpIfNotNil L1; Pop; b; L1:        (for value)
    ///   x; JumpIfNotNil L1; b; L1:                  (for effect)
    /// ```
    fn if_nil(&mut self, f: &mut Frame, send: &Send, scope: ScopeId, want: bool) -> Flow {
        self.expr(f, &send.receiver, scope, true);
        if want {
            f.enc.emit(Op::Dup, &[]);
        }
        let j = self.jump(f, Op::JumpIfNotNil, None);
        if want {
            f.enc.emit(Op::Pop, &[]);
        }
        self.inlined_body(f, &send.args[0], want);
        self.land(f, j);
        Flow::Continues
    }

    /// Moves the non-nil receiver on the stack into the block's argument, or drops it.
    fn take_receiver(&mut self, f: &mut Frame, arg: Option<usize>) {
        match arg {
            Some(k) => f.enc.emit(Op::PopStoreLocal, &[k as i32]),
            None => f.enc.emit(Op::Pop, &[]),
        }
    }

    /// `x ifNotNil: [:v | b]`: the block's value, or nil.
    ///
    /// ```text
    ///   x; Dup; JumpIfNil L1; PopStoreLocal v; b; L1:    (for value)
    ///   x; StoreLocal v; JumpIfNil L1; b; L1:            (for effect)
    /// ```
    fn if_not_nil(&mut self, f: &mut Frame, send: &Send, scope: ScopeId, want: bool) -> Flow {
        let Some(b) = block_of(&send.args[0]) else {
            return Flow::Continues;
        };
        self.expr(f, &send.receiver, scope, true);
        let arg = self.inlined_arg_local(f, b);
        if want {
            f.enc.emit(Op::Dup, &[]);
            let j = self.jump(f, Op::JumpIfNil, None);
            self.take_receiver(f, arg);
            self.inlined_body(f, &send.args[0], true);
            self.land(f, j);
        } else {
            if let Some(k) = arg {
                f.enc.emit(Op::StoreLocal, &[k as i32]);
            }
            let j = self.jump(f, Op::JumpIfNil, None);
            self.inlined_body(f, &send.args[0], false);
            self.land(f, j);
        }
        Flow::Continues
    }

    /// `x ifNil: [a] ifNotNil: [:v | b]` and `x ifNotNil: [:v | b] ifNil: [a]`.
    ///
    /// ```text
    ///   x; Dup; JumpIfNotNil L1; Pop; a; Jump L2; L1: PopStoreLocal v; b; L2:   (for value)
    ///   x; StoreLocal v; JumpIfNotNil L1; a; Jump L2; L1: b; L2:                (for effect)
    /// ```
    fn if_nil_not_nil(
        &mut self,
        f: &mut Frame,
        send: &Send,
        nil_first: bool,
        scope: ScopeId,
        want: bool,
    ) -> Flow {
        let (nil_block, value_block) = if nil_first {
            (&send.args[0], &send.args[1])
        } else {
            (&send.args[1], &send.args[0])
        };
        let Some(b) = block_of(value_block) else {
            return Flow::Continues;
        };
        self.expr(f, &send.receiver, scope, true);
        let arg = self.inlined_arg_local(f, b);
        if want {
            f.enc.emit(Op::Dup, &[]);
        } else if let Some(k) = arg {
            f.enc.emit(Op::StoreLocal, &[k as i32]);
        }
        let (first, second) = if nil_first {
            let j1 = self.jump(f, Op::JumpIfNotNil, None);
            if want {
                f.enc.emit(Op::Pop, &[]);
            }
            let a = self.inlined_body(f, nil_block, want);
            let j2 = (a == Flow::Continues).then(|| self.jump(f, Op::Jump, None));
            self.land(f, j1);
            if want {
                self.take_receiver(f, arg);
            }
            let b = self.inlined_body(f, value_block, want);
            if let Some(j2) = j2 {
                self.land(f, j2);
            }
            (a, b)
        } else {
            let j1 = self.jump(f, Op::JumpIfNil, None);
            if want {
                self.take_receiver(f, arg);
            }
            let b = self.inlined_body(f, value_block, want);
            let j2 = (b == Flow::Continues).then(|| self.jump(f, Op::Jump, None));
            self.land(f, j1);
            if want {
                f.enc.emit(Op::Pop, &[]);
            }
            let a = self.inlined_body(f, nil_block, want);
            if let Some(j2) = j2 {
                self.land(f, j2);
            }
            (b, a)
        };
        Flow::both(first, second)
    }
}
