//! The command line: `vortex-server [--config PATH] [--check-config] [--help] [--version]`, and
//! `vortex-server hash-password`.

use std::path::PathBuf;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Start the server.
    Serve {
        /// The settings file given with `--config`.
        config: Option<PathBuf>,
    },
    /// Validate the settings, print them and exit.
    CheckConfig {
        /// The settings file given with `--config`.
        config: Option<PathBuf>,
    },
    /// Read a password or token from standard input and print its argon2id hash.
    HashPassword,
    /// Print usage.
    Help,
    /// Print the version.
    Version,
}

/// Usage text for `--help`.
pub(crate) const USAGE: &str = "\
vortex-server: a Spring Cloud Config compatible configuration server

Usage: vortex-server [--config PATH] [--check-config]
       vortex-server hash-password < secret

Commands:
  hash-password     read a password or token from standard input (one trailing
                    newline removed) and print its argon2id hash, for
                    security.clients[].password_hash or token_hash

Options:
  --config PATH     read settings from this YAML file (it must exist); without it
                    config/default.yaml is read when present
  --check-config    validate the settings, print the effective settings (secrets
                    redacted) and exit: 0 when valid, 1 with every problem otherwise
  -h, --help        print this help
  -V, --version     print the version

Environment variables VORTEX__<SECTION>__<KEY> override the file, for example
VORTEX__SERVER__PORT=9000.
";

/// Parses the arguments after the program name.
///
/// # Errors
/// A message for an unknown argument or a `--config` without a path.
pub(crate) fn parse(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut config = None;
    let mut check = false;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--check-config" => check = true,
            "hash-password" => return Ok(Command::HashPassword),
            "--config" => config = Some(PathBuf::from(args.next().ok_or("--config needs a path")?)),
            other => match other.strip_prefix("--config=") {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return Err(format!("unknown argument {other:?} (see --help)")),
            },
        }
    }
    Ok(if check { Command::CheckConfig { config } } else { Command::Serve { config } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Command, String> {
        parse(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(args(&[]), Ok(Command::Serve { config: None }));
        assert_eq!(args(&["--config", "a.yaml"]), Ok(Command::Serve { config: Some("a.yaml".into()) }));
        assert_eq!(
            args(&["--config=a.yaml", "--check-config"]),
            Ok(Command::CheckConfig { config: Some("a.yaml".into()) })
        );
        assert_eq!(args(&["--help"]), Ok(Command::Help));
        assert_eq!(args(&["hash-password"]), Ok(Command::HashPassword));
        assert_eq!(args(&["-V"]), Ok(Command::Version));
        assert!(args(&["--config"]).is_err());
        assert!(args(&["--port", "1"]).is_err());
    }
}
