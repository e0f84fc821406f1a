//! `--metrics-listen ADDR`: an HTTP endpoint serving `/metrics` as OpenMetrics text, for a
//! Prometheus server to scrape. One thread; a scrape encodes the figures held at that moment.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use super::Metrics;
use crate::profile::rules::{METRICS_PORT, SettingError, check_address};

/// The content type of the OpenMetrics text format.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A running `/metrics` endpoint; stops when dropped.
pub struct MetricsServer {
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MetricsServer {
    /// Listens on `address` (`127.0.0.1:9464`; port 0 picks a free one) and serves `metrics`.
    ///
    /// # Errors
    /// Why the address cannot be listened on.
    pub fn start(address: &str, metrics: Metrics) -> Result<MetricsServer, String> {
        if let Err(err) = check_address(address, true, METRICS_PORT) {
            let reason = match err {
                SettingError::Address { reason, .. } => reason,
                other => other.to_string(),
            };
            return Err(format!("cannot serve metrics on {address}: {reason}"));
        }
        let server = tiny_http::Server::http(address)
            .map_err(|e| format!("cannot serve metrics on {address}: {e}"))?;
        let bound = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| format!("cannot serve metrics on {address}: not an IP address"))?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("metrics".into())
                .spawn(move || serve(&server, &metrics, &stop))
                .map_err(|e| format!("cannot start the metrics thread: {e}"))?
        };
        Ok(MetricsServer {
            address: bound,
            stop,
            thread: Some(thread),
        })
    }

    /// The address it listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Keeps serving until a scrape has read `metrics`' final figures, or `most` has passed:
    /// a run shorter than the scrape interval still reaches Prometheus whole.
    pub fn linger(&self, metrics: &Metrics, most: Duration) {
        let until = std::time::Instant::now() + most;
        while !metrics.final_figures_scraped() && std::time::Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(server: &tiny_http::Server, metrics: &Metrics, stop: &AtomicBool) {
    while !stop.load(Relaxed) {
        let request = match server.recv_timeout(Duration::from_millis(100)) {
            Ok(Some(request)) => request,
            Ok(None) => continue,
            Err(_) => break,
        };
        let path = request.url().split('?').next().unwrap_or_default();
        let response = match (request.method(), path) {
            (tiny_http::Method::Get | tiny_http::Method::Head, "/metrics") => {
                tiny_http::Response::from_string(metrics.scrape())
                    .with_header(header("Content-Type", OPENMETRICS))
            }
            (tiny_http::Method::Get | tiny_http::Method::Head, _) => {
                tiny_http::Response::from_string("ringtop serves /metrics only\n")
                    .with_status_code(404)
            }
            _ => tiny_http::Response::from_string("GET /metrics\n").with_status_code(405),
        };
        // A scraper that hung up is its own business.
        let _ = request.respond(response);
    }
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .expect("a static header is valid")
}
