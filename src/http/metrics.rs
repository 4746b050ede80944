//! Prometheus metrics: requests and latencies by route pattern, and cases per workflow and
//! stage (read from the database at scrape time, so every instance reports the same truth).
use super::State;
use crate::error::AppResult;
use actix_web::{get, HttpResponse};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    cases: IntGaugeVec,
    replica_lag: IntGauge,
    replica_in_use: IntGauge,
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
        let replica_lag = IntGauge::new(
            "claimflow_read_replica_lag_ms",
            "The read replica's measured lag in ms (-1: unreachable or none configured)",
        )?;
        let replica_in_use = IntGauge::new(
            "claimflow_read_replica_in_use",
            "1 while listings, reports and the audit search read the replica",
        )?;
        registry.register(Box::new(cases.clone()))?;
        registry.register(Box::new(replica_lag.clone()))?;
        registry.register(Box::new(replica_in_use.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            cases,
            replica_lag,
            replica_in_use,
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

/// Who may read the business gauges: the holder of the configured token, or, when none is
/// configured, a client on the same host.
pub fn may_scrape(
    token: &str,
    authorization: Option<&str>,
    peer: Option<std::net::IpAddr>,
) -> bool {
    if token.is_empty() {
        return peer.is_some_and(|ip| ip.is_loopback());
    }
    authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .is_some_and(|given| {
            use sha2::Digest;
            // Compared by digest, so the time taken says nothing about the token.
            sha2::Sha256::digest(given.as_bytes()) == sha2::Sha256::digest(token.as_bytes())
        })
}

#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
    (status = 403, description = "no or a wrong metrics token", body = crate::http::errors::ErrorBody)))]
#[get("/metrics")]
pub async fn metrics_endpoint(
    state: State,
    req: actix_web::HttpRequest,
) -> AppResult<HttpResponse> {
    let auth = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let peer = req.peer_addr().map(|a| a.ip());
    if !may_scrape(&state.config.metrics_token, auth, peer) {
        return Err(crate::error::AppError::Forbidden(crate::error::Msg::new(
            "forbidden-metrics",
        )));
    }
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
    let replica = state.reads.status();
    let m = &state.metrics;
    m.replica_lag.set(replica.map_or(-1, |r| r.lag_ms));
    m.replica_in_use.set(i64::from(
        replica.is_some_and(|r| r.state == crate::store::replica::ReplicaState::InUse),
    ));
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&state.metrics.registry.gather(), &mut buf)
        .map_err(|e| anyhow::anyhow!("metrics encoding: {e}"))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(buf))
}

#[cfg(test)]
mod tests {
    use super::may_scrape;

    #[test]
    fn metrics_need_the_token_or_a_loopback_client() {
        let local = Some("127.0.0.1".parse().unwrap());
        let remote = Some("203.0.113.9".parse().unwrap());
        assert!(may_scrape("", None, local));
        assert!(!may_scrape("", None, remote));
        assert!(may_scrape("s3cret", Some("Bearer s3cret"), remote));
        assert!(!may_scrape("s3cret", Some("Bearer wrong"), remote));
        assert!(
            !may_scrape("s3cret", None, local),
            "a set token binds loopback too"
        );
    }
}
