//! The integration tests, one binary: each module's scenarios start the real application on
//! a random port with a fresh database, on SQLite and on PostgreSQL (the server named by
//! `CLAIMFLOW_TEST_POSTGRES_URL`). Without that variable the PostgreSQL variants are
//! reported as ignored, and a line says how many did not run; with `CI` set they must run.
mod common;

mod accounts;
mod api;
mod backup;
mod browser;
mod claims;
mod cli;
mod controls;
mod facility;
mod import;
mod inbox;
mod instances;
mod operations;
mod payments;
mod queue;
mod replica;
mod reports;
mod scope;
mod screening;
mod supervision;
mod web_lists;
mod whatif;

fn main() {
    let args = libtest_mimic::Arguments::from_args();
    let modules: [fn() -> Vec<libtest_mimic::Trial>; 21] = [
        accounts::trials,
        api::trials,
        backup::trials,
        browser::trials,
        claims::trials,
        cli::trials,
        controls::trials,
        facility::trials,
        import::trials,
        inbox::trials,
        instances::trials,
        operations::trials,
        payments::trials,
        queue::trials,
        replica::trials,
        reports::trials,
        scope::trials,
        screening::trials,
        supervision::trials,
        web_lists::trials,
        whatif::trials,
    ];
    let trials: Vec<_> = modules.iter().flat_map(|m| m()).collect();
    let conclusion = libtest_mimic::run(&args, trials);
    // The only trials ever ignored are PostgreSQL variants without a server.
    if conclusion.num_ignored > 0 {
        println!(
            "{} PostgreSQL variants did not run: set CLAIMFLOW_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/test)",
            conclusion.num_ignored
        );
    }
    conclusion.exit();
}
