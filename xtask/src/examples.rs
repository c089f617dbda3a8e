//! `cargo xtask examples`: runs every crate's examples and checks what they print, so an example
//! that stops working, or starts printing something else, fails CI.

use anyhow::{Context, Result, bail};

use crate::cmd::{cargo, workspace_root};

/// An example, its arguments, and lines its standard output must contain.
struct Example {
    package: &'static str,
    name: &'static str,
    /// Cargo features the example requires (`required-features`), comma-separated.
    features: &'static str,
    args: &'static [&'static str],
    expect: &'static [&'static str],
}

const EXAMPLES: &[Example] = &[
    Example {
        package: "vortex-core",
        name: "render_dir",
        features: "",
        args: &[],
        expect: &["server.port: 8081", "spring.datasource.url: jdbc:postgresql://orders-db.dev.internal:5432/orders"],
    },
    Example {
        package: "vortex-settings",
        name: "validate",
        features: "",
        args: &[],
        expect: &[
            "  server.port: must be between 1 and 65535 (got 0) (from environment variable VORTEX__SERVER__PORT)",
            "  server.prefix: \"config/\" must start with '/' (from environment variable VORTEX__SERVER__PREFIX)",
            "valid: port 9100 (from environment variable VORTEX__SERVER__PORT), cache ttl 300 s (from file config/default.yaml)",
        ],
    },
    Example {
        package: "vortex-cache",
        name: "custom_source",
        features: "",
        args: &[],
        expect: &[
            "loads after three requests: 1",
            "invalidated: 1",
            "loads after invalidation and one more request: 2",
            "hits 2, misses 2",
        ],
    },
    Example {
        package: "vortex-git",
        name: "serve_label",
        features: "",
        args: &[],
        expect: &["server.port = 8081", "no-such-label: no such label: no-such-label"],
    },
    Example {
        package: "vortex-bus",
        name: "in_process",
        features: "",
        args: &[],
        expect: &[
            "a knows its peers: [\"vortex:b:8080:2e\"]",
            "peer: fetching, then dropping what changed: labels [\"main\"]",
            "confirmed by: [\"vortex:b:8080:2e\"]",
            "fetches: a 0, b 1",
            "a Spring service reads: type \"RefreshRemoteApplicationEvent\", destination \"orders:**\"",
        ],
    },
    Example {
        package: "vortex-server",
        name: "embed",
        features: "",
        args: &[],
        expect: &[
            "GET /hello -> HTTP/1.1 200 OK",
            "  hello from the host application",
            "GET /config/orders/dev -> HTTP/1.1 200 OK",
            "GET /config/orders-dev.properties -> HTTP/1.1 200 OK",
            "GET /config/health -> HTTP/1.1 200 OK",
        ],
    },
    Example {
        package: "vortex-metrics",
        name: "exposition",
        features: "prometheus",
        args: &[],
        expect: &[
            "vortex_cache_lookups_total{outcome=\"hit\"} 3",
            "vortex_http_requests_total{route=\"/{a}/{b}\",method=\"GET\",status=\"2xx\"} 1",
            "vortex_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"4xx\"} 1",
        ],
    },
];

pub(crate) fn run() -> Result<()> {
    let root = workspace_root()?;
    for example in EXAMPLES {
        let mut command = cargo(&root, &["run", "--quiet", "-p", example.package, "--example", example.name]);
        if !example.features.is_empty() {
            command.args(["--features", example.features]);
        }
        command.arg("--");
        command.args(example.args);
        eprintln!("xtask: example {} {}", example.package, example.name);
        let output = command.output().with_context(|| format!("cannot run example {}", example.name))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "example {} {} failed ({}):\n{stdout}\n{}",
                example.package,
                example.name,
                output.status,
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let lines: Vec<&str> = stdout.lines().collect();
        for expected in example.expect {
            if !lines.contains(expected) {
                bail!("example {} {} did not print {expected:?}; it printed:\n{stdout}", example.package, example.name);
            }
        }
    }
    eprintln!("xtask: examples: {} ran and printed what they should", EXAMPLES.len());
    Ok(())
}
