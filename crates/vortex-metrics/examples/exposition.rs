//! A registry of its own, handles registered once, a few things recorded, and the Prometheus text
//! exposition a scrape of `/metrics` would get.
//!
//! ```sh
//! cargo run -p vortex-metrics --example exposition --features prometheus
//! ```

// An example prints what it shows.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use vortex_metrics::{Prometheus, names};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let prometheus = Prometheus::new()?;
    let metrics = prometheus.metrics();

    // Each subsystem takes its handles once, when it starts; recording is then an atomic operation.
    let cache = metrics.cache();
    for _ in 0..3 {
        cache.hit(cache.start());
    }
    cache.miss(cache.start());
    let http = metrics.http(&["/{a}/{b}"]);
    http.record(Some(0), "GET", 200, Duration::from_micros(40));
    http.record(None, "GET", 404, Duration::from_micros(25));

    let text = prometheus.render();
    for line in
        text.lines().filter(|line| line.starts_with(names::CACHE_LOOKUPS) || line.starts_with(names::HTTP_REQUESTS))
    {
        println!("{line}");
    }
    println!(
        "{} metrics in the table, {} recorded on every request",
        names::ALL.len(),
        names::ALL.iter().filter(|row| row.hot).count()
    );
    Ok(())
}
