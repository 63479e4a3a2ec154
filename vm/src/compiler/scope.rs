//! Name resolution, semantic checks and closure analysis.
//!
//! One walk over a method's tree builds its scopes (the method, each real block, each inlined
//! block), resolves every name, reports the semantic errors (assigning to a reserved word or
//! an undeclared variable; a name declared twice in one scope), and records for each variable
//! where it is read and written.
//!
//! Names follow SOM: a declaration may shadow a variable of an enclosing scope or an instance
//! variable, and the innermost binding wins, in inlined blocks as in real ones (an inlined
//! block's variables get frame slots of their own, so writing one never touches an outer
//! variable of the same name). Shadowing is recorded in [`Analysis::warnings`] for callers
//! that report it. Arguments of methods and blocks (inlined ones too) may be assigned; the
//! value is local to the activation. [`Analyzer::finish`] then decides, per variable
//! and per block:
//!
//! * **captured**: referenced from a real block other than the one (or the method) whose frame
//!   holds it;
//! * **indirect**: captured *and* possibly written after a capture. Such a variable lives in a
//!   temp vector (one per scope that declares any, created when the scope is entered) instead
//!   of a frame slot; closures copy the vector, so writes are shared. A variable is indirect if
//!   it is written from inside a block, or written in its own frame at a point that comes after
//!   a capture in the text, or written in a loop (an inlined `whileTrue:`, `to:do:`, …) nested
//!   in its scope that also captures it. The same rule holds for arguments: their initial
//!   value (set by the activation, or on each entry into an inlined block) is not a write,
//!   so only an argument assigned after a capture is indirect; the code generator copies it
//!   into the temp vector on entry;
//! * a real block's **captures**: the outer variables (or, for indirect ones, their vectors) it
//!   or its nested blocks reference, in order of first reference: they become its copied
//!   values;
//! * **clean** blocks: no captures, no `self`/`super`/instance variables/`thisContext`, no `^`,
//!   here or in nested blocks;
//! * **needs outer context**: the block or a nested one contains `^`.
//!
//! Positions in the text are approximated by a sequence number ticked at each reference and at
//! each scope and loop boundary.

use std::collections::HashSet;

use super::ClassScope;
use super::ast::{Block, Expr, MethodAst, Name, Send, Stmt};
use super::code::SourcePos;
use super::error::Diag;
use super::inline::{Inline, block_of, classify};
use super::parser::RESERVED;

pub(crate) type ScopeId = usize;
pub(crate) type VarId = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ScopeKind {
    Method,
    /// A real block: its own frame.
    Block,
    /// A block compiled inline: its variables live in the enclosing frame.
    Inlined,
}

/// What a real block copies into its closure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Capture {
    /// The value of a variable that is never written after capture.
    Var(VarId),
    /// The temp vector of a scope.
    Vector(ScopeId),
}

#[derive(Debug)]
pub(crate) struct Scope {
    pub kind: ScopeKind,
    pub parent: Option<ScopeId>,
    /// The method or real block whose frame holds this scope's variables.
    pub home: ScopeId,
    /// Declared variables: parameters, then temporaries.
    pub vars: Vec<VarId>,
    start: u32,
    /// Real blocks: outer variables referenced from here or nested blocks, first use first.
    captured: Vec<VarId>,
    /// Real blocks: self, super, an instance variable or thisContext is used here or nested.
    uses_self: bool,
    /// Real blocks: `^` here or nested.
    pub contains_return: bool,
    /// Real blocks: the copied values, in order.
    pub captures: Vec<Capture>,
    /// Real blocks: refers to nothing outside itself.
    pub clean: bool,
    /// This scope's variables that live in its temp vector, by vector index.
    pub indirect: Vec<VarId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VarKind {
    /// An argument of a method or real block, with its local index.
    Arg(usize),
    /// The argument of an inlined block (`to:do:`, `ifNotNil:`).
    InlinedArg,
    Temp,
}

#[derive(Debug)]
pub(crate) struct Var {
    pub name: String,
    pub scope: ScopeId,
    pub home: ScopeId,
    pub kind: VarKind,
    pub captured: bool,
    /// Assigned somewhere (arguments too: SOM lets a method or block assign its arguments).
    pub written: bool,
    pub indirect: bool,
    /// Indirect variables: the index in the scope's temp vector.
    pub vector_index: usize,
    refs: Vec<Ref>,
}

#[derive(Clone, Copy, Debug)]
struct Ref {
    seq: u32,
    write: bool,
    /// Made from the frame that holds the variable (not from a nested real block).
    from_home: bool,
}

/// What a name refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Resolved {
    Var(VarId),
    InstVar(usize),
    Global,
}

/// The result of analysing one method.
#[derive(Debug)]
pub(crate) struct Analysis {
    pub scopes: Vec<Scope>,
    pub vars: Vec<Var>,
    block_scope: Vec<Option<ScopeId>>,
    /// Declarations that shadow an outer variable or an instance variable (legal, as in SOM;
    /// reported only when asked for).
    pub warnings: Vec<Diag>,
}

impl Analysis {
    /// The variable `name` visible in `scope`.
    pub fn lookup(&self, name: &str, scope: ScopeId) -> Option<VarId> {
        let mut s = Some(scope);
        while let Some(id) = s {
            let sc = self.scopes.get(id)?;
            if let Some(&v) = sc.vars.iter().find(|&&v| self.vars[v].name == name) {
                return Some(v);
            }
            s = sc.parent;
        }
        None
    }

    /// What `name` means in `scope`.
    pub fn resolve(&self, name: &str, scope: ScopeId, class: &ClassScope) -> Resolved {
        if let Some(v) = self.lookup(name, scope) {
            Resolved::Var(v)
        } else if let Some(i) = class.instance_vars.iter().position(|n| n == name) {
            Resolved::InstVar(i)
        } else {
            Resolved::Global
        }
    }

    /// The scope made for the block with this id.
    pub fn block_scope(&self, id: u32) -> Option<ScopeId> {
        self.block_scope.get(id as usize).copied().flatten()
    }

    /// The names of the variables in `scope`'s temp vector.
    pub fn vector_names(&self, scope: ScopeId) -> Vec<String> {
        self.scopes[scope]
            .indirect
            .iter()
            .map(|&v| self.vars[v].name.clone())
            .collect()
    }
}

/// Analyses a method or do-it. `auto_declare`: assignments to unknown names are global stores.
pub(crate) fn analyze(
    method: &MethodAst,
    class: &ClassScope,
    auto_declare: bool,
) -> Result<Analysis, Vec<Diag>> {
    let mut a = Analyzer {
        an: Analysis {
            scopes: Vec::new(),
            vars: Vec::new(),
            block_scope: vec![None; method.num_blocks as usize],
            warnings: Vec::new(),
        },
        class,
        auto_declare,
        seq: 0,
        loops: Vec::new(),
        diags: Vec::new(),
    };
    let s = a.new_scope(ScopeKind::Method, None);
    for (i, p) in method.params.iter().enumerate() {
        a.declare(s, p, VarKind::Arg(i + 1));
    }
    for t in &method.temps {
        a.declare(s, t, VarKind::Temp);
    }
    a.stmts(&method.body, s);
    if a.diags.is_empty() {
        a.finish();
        Ok(a.an)
    } else {
        Err(a.diags)
    }
}

struct Loop {
    home: ScopeId,
    start: u32,
    end: u32,
}

impl Loop {
    fn contains(&self, seq: u32) -> bool {
        self.start <= seq && seq <= self.end
    }
}

struct Analyzer<'a> {
    an: Analysis,
    class: &'a ClassScope,
    auto_declare: bool,
    seq: u32,
    loops: Vec<Loop>,
    diags: Vec<Diag>,
}

impl Analyzer<'_> {
    fn tick(&mut self) -> u32 {
        self.seq += 1;
        self.seq
    }

    fn home(&self, scope: ScopeId) -> ScopeId {
        self.an.scopes[scope].home
    }

    /// The real scope enclosing the real scope `r` (its parent's home).
    fn outer_home(&self, r: ScopeId) -> Option<ScopeId> {
        self.an.scopes[r].parent.map(|p| self.home(p))
    }

    fn new_scope(&mut self, kind: ScopeKind, parent: Option<ScopeId>) -> ScopeId {
        let id = self.an.scopes.len();
        let home = match (kind, parent) {
            (ScopeKind::Inlined, Some(p)) => self.home(p),
            _ => id,
        };
        let start = self.tick();
        self.an.scopes.push(Scope {
            kind,
            parent,
            home,
            vars: Vec::new(),
            start,
            captured: Vec::new(),
            uses_self: false,
            contains_return: false,
            captures: Vec::new(),
            clean: false,
            indirect: Vec::new(),
        });
        id
    }

    fn error(&mut self, pos: SourcePos, message: String) {
        self.diags.push(Diag::new(pos, message));
    }

    fn declare(&mut self, scope: ScopeId, name: &Name, kind: VarKind) {
        let n = name.name.as_str();
        if RESERVED.contains(&n) {
            self.error(
                name.pos,
                format!("'{n}' is a reserved word and cannot be declared"),
            );
            return;
        }
        if self.an.scopes[scope]
            .vars
            .iter()
            .any(|&v| self.an.vars[v].name == n)
        {
            self.error(name.pos, format!("duplicate name '{n}'"));
            return;
        }
        // SOM scoping: an inner declaration hides an outer variable or an instance variable
        // of the same name (lookup is innermost first); `warnings` lets a caller report it.
        let shadowed = match self.an.scopes[scope].parent {
            Some(parent) if self.an.lookup(n, parent).is_some() => {
                Some("a variable of an enclosing scope")
            }
            _ if self.class.instance_vars.iter().any(|iv| iv == n) => Some("an instance variable"),
            _ => None,
        };
        if let Some(what) = shadowed {
            self.an
                .warnings
                .push(Diag::new(name.pos, format!("'{n}' shadows {what}")));
        }
        let id = self.an.vars.len();
        self.an.vars.push(Var {
            name: n.to_string(),
            scope,
            home: self.home(scope),
            kind,
            captured: false,
            written: false,
            indirect: false,
            vector_index: 0,
            refs: Vec::new(),
        });
        self.an.scopes[scope].vars.push(id);
    }

    /// Marks the real block enclosing `scope` and all real blocks around it.
    fn mark_outward(&mut self, scope: ScopeId, mark: fn(&mut Scope)) {
        let mut r = Some(self.home(scope));
        while let Some(id) = r {
            if self.an.scopes[id].kind != ScopeKind::Block {
                break;
            }
            mark(&mut self.an.scopes[id]);
            r = self.outer_home(id);
        }
    }

    fn mark_self(&mut self, scope: ScopeId) {
        self.mark_outward(scope, |s| s.uses_self = true);
    }

    fn reference(&mut self, name: &Name, scope: ScopeId, write: bool) {
        match self.an.resolve(&name.name, scope, self.class) {
            Resolved::Var(v) => {
                let here = self.home(scope);
                let var_home = self.an.vars[v].home;
                let seq = self.tick();
                self.an.vars[v].refs.push(Ref {
                    seq,
                    write,
                    from_home: here == var_home,
                });
                let mut r = Some(here);
                while let Some(id) = r {
                    if id == var_home {
                        break;
                    }
                    if !self.an.scopes[id].captured.contains(&v) {
                        self.an.scopes[id].captured.push(v);
                    }
                    r = self.outer_home(id);
                }
            }
            Resolved::InstVar(_) => self.mark_self(scope),
            Resolved::Global => {
                // SOM sends unknownGlobal: to the receiver, from blocks too.
                if !write && self.class.is_undefined_global(&name.name) {
                    self.mark_self(scope);
                }
                if write && !self.auto_declare {
                    self.error(
                        name.pos,
                        format!("cannot assign to undeclared variable '{}'", name.name),
                    );
                }
            }
        }
    }

    fn stmts(&mut self, stmts: &[Stmt], scope: ScopeId) {
        for s in stmts {
            match s {
                Stmt::Expr(e) => self.expr(e, scope),
                Stmt::Return { value, .. } => {
                    self.expr(value, scope);
                    self.mark_outward(scope, |s| s.contains_return = true);
                }
            }
        }
    }

    fn expr(&mut self, e: &Expr, scope: ScopeId) {
        match e {
            Expr::Literal { .. }
            | Expr::Nil(_)
            | Expr::True(_)
            | Expr::False(_)
            | Expr::CascadeReceiver { .. } => {}
            Expr::Var(name) => self.reference(name, scope, false),
            Expr::SelfRef(_) | Expr::Super(_) | Expr::ThisContext(_) => self.mark_self(scope),
            Expr::Assign { target, value } => {
                self.expr(value, scope);
                if RESERVED.contains(&target.name.as_str()) {
                    self.error(target.pos, format!("cannot assign to '{}'", target.name));
                } else {
                    self.reference(target, scope, true);
                }
            }
            Expr::Send(send) => self.send(send, scope),
            Expr::Cascade { receiver, parts } => {
                self.expr(receiver, scope);
                for p in parts {
                    self.expr(p, scope);
                }
            }
            Expr::Block(b) => self.real_block(b, scope),
            Expr::Brace { items, .. } => {
                for i in items {
                    self.expr(i, scope);
                }
            }
        }
    }

    fn send(&mut self, send: &Send, scope: ScopeId) {
        let Some(kind) = classify(send) else {
            // A chain of plain sends: the first receiver, then each send's arguments, in
            // evaluation order, without recursing along the chain.
            let (chain, first) = send.chain();
            let plain = chain.iter().take_while(|s| classify(s).is_none()).count();
            match chain.get(plain) {
                Some(inlined) => self.send(inlined, scope),
                None => self.expr(first, scope),
            }
            for s in chain[..plain].iter().rev() {
                for a in &s.args {
                    self.expr(a, scope);
                }
            }
            return;
        };
        let args = &send.args;
        match kind {
            Inline::IfTrue
            | Inline::IfFalse
            | Inline::And
            | Inline::Or
            | Inline::IfNil
            | Inline::IfNotNil => {
                self.expr(&send.receiver, scope);
                self.inlined(&args[0], scope);
            }
            Inline::IfTrueIfFalse
            | Inline::IfFalseIfTrue
            | Inline::IfNilIfNotNil
            | Inline::IfNotNilIfNil => {
                self.expr(&send.receiver, scope);
                self.inlined(&args[0], scope);
                self.inlined(&args[1], scope);
            }
            Inline::WhileTrue
            | Inline::WhileFalse
            | Inline::WhileTrueUnary
            | Inline::WhileFalseUnary => {
                let start = self.tick();
                self.inlined(&send.receiver, scope);
                if let Some(body) = args.first() {
                    self.inlined(body, scope);
                }
                self.end_loop(scope, start);
            }
            Inline::ToDo | Inline::DownToDo | Inline::ToByDo => {
                self.expr(&send.receiver, scope);
                for limit_or_step in &args[..args.len() - 1] {
                    self.expr(limit_or_step, scope);
                }
                let start = self.tick();
                self.inlined(&args[args.len() - 1], scope);
                self.end_loop(scope, start);
            }
            Inline::TimesRepeat => {
                self.expr(&send.receiver, scope);
                let start = self.tick();
                self.inlined(&args[0], scope);
                self.end_loop(scope, start);
            }
        }
    }

    fn end_loop(&mut self, scope: ScopeId, start: u32) {
        let end = self.tick();
        let home = self.home(scope);
        self.loops.push(Loop { home, start, end });
    }

    fn inlined(&mut self, e: &Expr, parent: ScopeId) {
        let Some(b) = block_of(e) else {
            self.expr(e, parent);
            return;
        };
        let s = self.new_scope(ScopeKind::Inlined, Some(parent));
        self.set_block_scope(b, s);
        for p in &b.params {
            self.declare(s, p, VarKind::InlinedArg);
        }
        for t in &b.temps {
            self.declare(s, t, VarKind::Temp);
        }
        self.stmts(&b.body, s);
        self.tick();
    }

    fn real_block(&mut self, b: &Block, parent: ScopeId) {
        let s = self.new_scope(ScopeKind::Block, Some(parent));
        self.set_block_scope(b, s);
        for (i, p) in b.params.iter().enumerate() {
            self.declare(s, p, VarKind::Arg(i + 1));
        }
        for t in &b.temps {
            self.declare(s, t, VarKind::Temp);
        }
        self.stmts(&b.body, s);
        self.tick();
    }

    fn set_block_scope(&mut self, b: &Block, s: ScopeId) {
        let i = b.id as usize;
        if i >= self.an.block_scope.len() {
            self.an.block_scope.resize(i + 1, None);
        }
        self.an.block_scope[i] = Some(s);
    }

    /// Decides captured/indirect variables, temp vectors, captures and clean blocks.
    fn finish(&mut self) {
        for v in 0..self.an.vars.len() {
            let indirect = self.is_indirect(v);
            let var = &mut self.an.vars[v];
            var.captured = var.refs.iter().any(|r| !r.from_home);
            var.written = var.refs.iter().any(|r| r.write);
            var.indirect = indirect;
        }
        for s in 0..self.an.scopes.len() {
            let indirect: Vec<VarId> = self.an.scopes[s]
                .vars
                .iter()
                .copied()
                .filter(|&v| self.an.vars[v].indirect)
                .collect();
            for (i, &v) in indirect.iter().enumerate() {
                self.an.vars[v].vector_index = i;
            }
            self.an.scopes[s].indirect = indirect;
        }
        for s in 0..self.an.scopes.len() {
            if self.an.scopes[s].kind != ScopeKind::Block {
                continue;
            }
            let mut seen = HashSet::new();
            let captures: Vec<Capture> = self.an.scopes[s]
                .captured
                .iter()
                .map(|&v| {
                    let var = &self.an.vars[v];
                    if var.indirect {
                        Capture::Vector(var.scope)
                    } else {
                        Capture::Var(v)
                    }
                })
                .filter(|c| seen.insert(*c))
                .collect();
            let sc = &mut self.an.scopes[s];
            sc.clean = captures.is_empty() && !sc.uses_self && !sc.contains_return;
            sc.captures = captures;
        }
    }

    fn is_indirect(&self, v: VarId) -> bool {
        // Arguments are treated like temporaries whose first write is the activation (or,
        // for an inlined block's argument, the entry into the block).
        let var = &self.an.vars[v];
        let captures: Vec<u32> = var
            .refs
            .iter()
            .filter(|r| !r.from_home)
            .map(|r| r.seq)
            .collect();
        let Some(&first_capture) = captures.iter().min() else {
            return false;
        };
        if var.refs.iter().any(|r| r.write && !r.from_home) {
            return true;
        }
        let home_writes: Vec<u32> = var
            .refs
            .iter()
            .filter(|r| r.write && r.from_home)
            .map(|r| r.seq)
            .collect();
        if home_writes.iter().any(|&w| w > first_capture) {
            return true;
        }
        let scope_start = self.an.scopes[var.scope].start;
        self.loops.iter().any(|l| {
            l.home == var.home
                && l.start > scope_start
                && home_writes.iter().any(|&w| l.contains(w))
                && captures.iter().any(|&c| l.contains(c))
        })
    }
}
