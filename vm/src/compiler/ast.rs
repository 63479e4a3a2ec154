//! The syntax tree the parser builds and the later passes walk.
//!
//! Reserved identifiers (`self`, `super`, `nil`, `true`, `false`, `thisContext`) have their own
//! expression kinds; every other identifier is an [`Expr::Var`], resolved later to a temporary,
//! an argument, an instance variable or a global. Blocks carry an id, unique within one method,
//! by which the analysis pass records what it learned about each block's scope.

use super::code::{Literal, Primitive, SourcePos};

/// A declared or referenced name, with where it is written.
#[derive(Clone, Debug)]
pub(crate) struct Name {
    pub name: String,
    pub pos: SourcePos,
}

/// A statement.
#[derive(Clone, Debug)]
pub(crate) enum Stmt {
    Expr(Expr),
    /// `^ value`; `pos` is the caret's position.
    Return {
        value: Expr,
        pos: SourcePos,
    },
}

/// An expression.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Literal {
        value: Literal,
        pos: SourcePos,
    },
    Var(Name),
    SelfRef(SourcePos),
    Super(SourcePos),
    Nil(SourcePos),
    True(SourcePos),
    False(SourcePos),
    ThisContext(SourcePos),
    /// `target := value`. The target may be a reserved word or an argument: the analysis pass
    /// reports that.
    Assign {
        target: Name,
        value: Box<Expr>,
    },
    Send(Box<Send>),
    /// `receiver m1; m2; m3`: each part is a message chain whose innermost receiver is an
    /// [`Expr::CascadeReceiver`] standing for the (evaluated once) receiver.
    Cascade {
        receiver: Box<Expr>,
        parts: Vec<Expr>,
    },
    /// The receiver of a cascade part: already on the stack when the part runs.
    CascadeReceiver {
        is_super: bool,
        pos: SourcePos,
    },
    Block(Box<Block>),
    /// `{ a. b. c }`
    Brace {
        items: Vec<Expr>,
        pos: SourcePos,
    },
}

impl Expr {
    /// Where the expression starts.
    pub fn pos(&self) -> SourcePos {
        match self {
            Expr::Literal { pos, .. }
            | Expr::SelfRef(pos)
            | Expr::Super(pos)
            | Expr::Nil(pos)
            | Expr::True(pos)
            | Expr::False(pos)
            | Expr::ThisContext(pos)
            | Expr::CascadeReceiver { pos, .. }
            | Expr::Brace { pos, .. } => *pos,
            Expr::Var(n) | Expr::Assign { target: n, .. } => n.pos,
            Expr::Send(s) => s.chain().1.pos(),
            Expr::Cascade { receiver, .. } => receiver.pos(),
            Expr::Block(b) => b.pos,
        }
    }

    /// Whether this is `super` (or the receiver of a cascade to `super`).
    pub fn is_super(&self) -> bool {
        matches!(
            self,
            Expr::Super(_) | Expr::CascadeReceiver { is_super: true, .. }
        )
    }
}

/// A message send.
#[derive(Clone, Debug)]
pub(crate) struct Send {
    pub receiver: Expr,
    pub selector: String,
    pub args: Vec<Expr>,
    /// Position of the selector (its first keyword).
    pub pos: SourcePos,
}

impl Send {
    /// The spine of a chain of sends: `self` and the sends that are receivers in turn
    /// (`(a foo) bar` gives `[bar, foo]`), and the first receiver that is not a send (`a`).
    /// A chain can be as long as the source (`1 + 1 + 1 …`), so passes walk it with this
    /// loop instead of recursing along it.
    pub fn chain(&self) -> (Vec<&Send>, &Expr) {
        let mut sends = vec![self];
        let mut inner = &self.receiver;
        while let Expr::Send(s) = inner {
            sends.push(s);
            inner = &s.receiver;
        }
        (sends, inner)
    }
}

/// Dropping a long chain of sends one link at a time (the default drop would recurse along
/// the spine, as deep as the chain is long).
impl Drop for Send {
    fn drop(&mut self) {
        let mut next = std::mem::replace(&mut self.receiver, Expr::Nil(self.pos));
        while let Expr::Send(mut s) = next {
            next = std::mem::replace(&mut s.receiver, Expr::Nil(s.pos));
        }
    }
}

/// A block `[:a :b | | t | statements]`.
#[derive(Clone, Debug)]
pub(crate) struct Block {
    /// Unique within the method.
    pub id: u32,
    pub params: Vec<Name>,
    pub temps: Vec<Name>,
    pub body: Vec<Stmt>,
    pub pos: SourcePos,
}

/// A method (or a do-it) as parsed.
#[derive(Clone, Debug)]
pub(crate) struct MethodAst {
    pub selector: String,
    pub params: Vec<Name>,
    pub temps: Vec<Name>,
    pub primitive: Primitive,
    pub body: Vec<Stmt>,
    pub pos: SourcePos,
    /// Number of blocks (block ids are `0..num_blocks`).
    pub num_blocks: u32,
}
