//! `claimflow serve`: the scheduler and the HTTP service on one runtime, with demo data on
//! an empty database when asked.
use crate::app::Application;
use crate::config::Config;
use crate::core::Core;
use crate::store::users;
use std::process::ExitCode;

pub fn seed_demo(core: &Core, with_cases: bool) -> anyhow::Result<()> {
    let mut conn = core.pool.get()?;
    let password = core.config.demo_password.as_deref();
    let logins = match with_cases {
        true => crate::cli::demo::seed(&mut conn, core.env(), &core.config.data_dir, password)?,
        false => crate::cli::demo::seed_people(&mut conn, password)?,
    };
    println!("Demo data created. Sign in as:");
    for l in logins {
        println!(
            "  {:<16} {:<16} password: {}",
            l.username,
            l.role.as_str(),
            l.password
        );
    }
    Ok(())
}

pub fn serve(config: Config, demo: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let core = Core::open(config)?;
    if demo && users::count(&mut *core.pool.get()?)? == 0 {
        seed_demo(&core, true)?;
    }
    for year in core.defs.calendar_missing_years(crate::store::now_ms()) {
        tracing::warn!(
            year,
            file = %core.config.calendar_file.display(),
            "the working calendar lists no public holidays for {year}: SLA clocks count plain Monday-Friday days until the State Council's notice is added"
        );
    }
    let today = chrono::Utc::now().date_naive();
    for (schedule, region) in core.defs.schedules_without_policy_on(today) {
        tracing::warn!(
            schedule,
            region,
            "no policy of the {schedule} schedule is in force today ({today}): claims in region {region} for this year get the no_policy finding and cannot be priced until its policy file is added"
        );
    }
    let bind = core.config.bind.clone();
    let runner = std::sync::Arc::new(crate::jobs::JobRunner::new(&core)?);
    let scheduler_on = core.config.jobs.enabled;
    runtime.block_on(async move {
        if scheduler_on {
            crate::jobs::spawn_scheduler(runner)?;
            tracing::info!("scheduler started");
        }
        let app = Application::build(core)?;
        tracing::info!(bind, port = app.port(), "claimflow is serving");
        app.run().await?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
