use clap::Parser;

/// mimalloc instead of glibc's allocator: intake allocates and frees many small strings
/// per claim, and glibc spent a tenth of bulk-import time in malloc, free and their
/// free-list consolidation (perf; README "Import benchmark").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    claimflow::cli::run(claimflow::cli::Cli::parse())
}
