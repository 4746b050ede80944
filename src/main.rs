use clap::Parser;

fn main() -> std::process::ExitCode {
    claimflow::commands::run(claimflow::commands::Cli::parse())
}
