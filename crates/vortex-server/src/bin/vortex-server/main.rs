//! The `vortex-server` binary: parse the command line, load settings, serve.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

mod cli;
mod report;
mod telemetry;

use anyhow::Context;
use cli::Command;
use vortex_server::{ServeOptions, app_from_settings, serve, shutdown_signal};
use vortex_settings::Loaded;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let env: HashMap<String, String> = std::env::vars().collect();
    match command {
        Command::Help => print(cli::USAGE),
        Command::Version => print(&format!("vortex-server {}\n", env!("CARGO_PKG_VERSION"))),
        Command::HashPassword => hash_password(),
        Command::CheckConfig { config } => match vortex_settings::load(config.as_deref(), &env) {
            Ok(loaded) => print(&report::cli_report(&loaded)),
            Err(err) => settings_failed(&err),
        },
        Command::Serve { config } => match vortex_settings::load(config.as_deref(), &env) {
            Ok(loaded) => match run(&loaded) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(error = format!("{err:#}"), "server failed");
                    eprintln!("error: {err:#}");
                    ExitCode::FAILURE
                }
            },
            Err(err) => settings_failed(&err),
        },
    }
}

fn print(text: &str) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

/// `hash-password`: the secret from standard input (never echoed, never in the arguments, where
/// `ps` would show it), its hash on standard output.
fn hash_password() -> ExitCode {
    use std::io::Read as _;
    let mut secret = Vec::new();
    if let Err(err) = std::io::stdin().lock().take(4096).read_to_end(&mut secret) {
        eprintln!("error: cannot read the secret from standard input: {err}");
        return ExitCode::FAILURE;
    }
    let secret = secret.strip_suffix(b"\n").map_or(secret.as_slice(), |s| s.strip_suffix(b"\r").unwrap_or(s));
    if secret.is_empty() {
        eprintln!("error: no secret on standard input (try: printf '%s' \"$SECRET\" | vortex-server hash-password)");
        return ExitCode::from(2);
    }
    match vortex_server::hash_secret(secret) {
        Ok(hash) => print(&format!("{hash}\n")),
        Err(err) => {
            eprintln!("error: cannot hash: {err}");
            ExitCode::FAILURE
        }
    }
}

fn settings_failed(err: &vortex_settings::SettingsError) -> ExitCode {
    for line in err.lines() {
        eprintln!("error: {line}");
    }
    ExitCode::FAILURE
}

fn run(loaded: &Loaded) -> anyhow::Result<()> {
    let settings = &loaded.settings;
    telemetry::init(&settings.logging);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("failed to start the runtime")?;
    // TLS material is read before anything starts: a bad certificate fails fast, naming its file.
    let options = ServeOptions::from_settings(&settings.server).context("cannot set up TLS (server.tls)")?;
    let scheme = if settings.server.tls.cert_path.is_some() { "https" } else { "http" };
    runtime.block_on(async {
        let app = app_from_settings(settings).await.context("failed to start the backend")?;
        let addr: SocketAddr = tokio::net::lookup_host((settings.server.host.as_str(), settings.server.port))
            .await
            .with_context(|| format!("cannot resolve server.host {:?}", settings.server.host))?
            .next()
            .with_context(|| format!("server.host {:?} resolves to no address", settings.server.host))?;
        // Installed before the port is bound: a SIGTERM from then on stops the server gracefully.
        // A second signal, while it drains or finishes, stops it at once.
        let first = shutdown_signal();
        let shutdown = async move {
            first.await;
            let second = shutdown_signal();
            tokio::spawn(async move {
                second.await;
                tracing::warn!("a second signal: stopping at once");
                std::process::exit(1);
            });
        };
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr().context("cannot read the bound address")?;
        tracing::info!(address = %local, scheme, version = env!("CARGO_PKG_VERSION"), "vortex-server listening");
        serve(listener, app, shutdown, options).await.context("server error")?;
        tracing::info!("stopped");
        Ok(())
    })
}
