//! The `smalt` command: run SOM programs, evaluate expressions, or work in the REPL.
//!
//! ```text
//! smalt                              the REPL
//! smalt FILE.som [ARGS…]             run a program (SOM convention: the class is instantiated
//!                                    and sent #run: with the arguments, or #run)
//! smalt -cp DIR:DIR ClassName [ARGS…]
//! smalt -e 'EXPR'                    print the value of an expression
//! smalt bench [PROGRAM…] [OPTIONS]   run the benchmark programs under each tier
//! ```

#[global_allocator]
static GLOBAL: alloc::SmaltAlloc = alloc::SmaltAlloc;

mod alloc;
mod bench;
mod cli;
mod heap_limit;
mod output;
mod repl;
mod style;
mod tier_stats;

fn main() {
    smalt_jit::install();
    std::process::exit(cli::main(std::env::args().collect()));
}
