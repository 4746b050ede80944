//! Prometheus metrics: requests and latencies by route pattern, and cases per workflow and
//! stage (read from the database at scrape time, so every instance reports the same truth).
use super::State;
use crate::error::AppResult;
use actix_web::{get, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    cases: IntGaugeVec,
}

impl Metrics {
    pub fn new() -> anyhow::Result<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "claimflow_http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "claimflow_http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ]),
            &["route", "method"],
        )?;
        let cases = IntGaugeVec::new(
            Opts::new(
                "claimflow_cases",
                "Cases by workflow and stage (stage `closed` for ended cases)",
            ),
            &["workflow", "stage"],
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(cases.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            cases,
        })
    }

    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
            .inc();
        self.latency
            .with_label_values(&[route, method])
            .observe(seconds);
    }
}

#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics_endpoint(state: State) -> AppResult<HttpResponse> {
    let counts = super::db(&state, |conn, _| {
        Ok(crate::store::cases::count_by_stage(conn)?)
    })
    .await?;
    state.metrics.cases.reset();
    for (workflow, stage, n) in counts {
        state
            .metrics
            .cases
            .with_label_values(&[&workflow, stage.as_deref().unwrap_or("closed")])
            .set(n);
    }
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&state.metrics.registry.gather(), &mut buf)
        .map_err(|e| anyhow::anyhow!("metrics encoding: {e}"))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(buf))
}
