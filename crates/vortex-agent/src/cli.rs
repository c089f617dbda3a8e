//! The command line.

use std::path::PathBuf;
use std::time::Duration;

/// Usage text for `--help`.
pub(crate) const USAGE: &str = "\
vortex-agent: keeps files current from a Vortex Config server

It asks the server for a representation (a .properties, .yml or .json rendering of an
application's configuration), writes it to a file, and then waits for it to change
(long-polls with ?wait=): on each change it replaces the file atomically and runs a
command or POSTs to a URL. When the server cannot be reached it keeps the last good
file and retries with backoff.

Usage:
  vortex-agent --server URL --app NAME --profile PROFILES [--label LABEL]
               [--format properties|yml|yaml|json] --out PATH [options]
  vortex-agent --server URL --file SPEC [--file SPEC ...] [options]

Where:
  --server URL        the server, e.g. http://localhost:8080 or https://config.internal
  --app, --profile, --label, --format, --out
                      one file: the application, its profiles (comma-separated), the
                      label (the server's default without it), the format (properties
                      by default) and where to write it
  --file SPEC         a file as APP/PROFILES[/LABEL].FORMAT=PATH, repeatable, e.g.
                      orders/prod/main.properties=/etc/orders/application.properties

Options:
  --exec COMMAND      run COMMAND with sh -c after each change (e.g. 'systemctl reload x')
  --post URL          POST to URL after each change (e.g. a Spring Boot service's
                      http://localhost:8081/actuator/refresh)
  --user NAME         basic authentication; the password from --password-file or the
                      environment variable VORTEX_AGENT_PASSWORD
  --password-file PATH
  --token-file PATH   a bearer token instead (or VORTEX_AGENT_TOKEN)
  --wait SECONDS      how long each request waits for a change (55 by default)
  --once              write the files once and exit (for an init container): 0 when
                      every file is written, 1 when the server cannot be reached within
                      --once-timeout
  --once-timeout SECONDS   (300 by default)
  -h, --help          print this help
  -V, --version       print the version

Files are written to a temporary file beside them, flushed to disk and renamed over
them, keeping their permissions: a reader sees the old file or the new one, never a
part. The command runs once per change, not at start when the file is already current.
";

/// One file to keep current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    pub(crate) app: String,
    pub(crate) profiles: String,
    pub(crate) label: Option<String>,
    pub(crate) format: String,
    pub(crate) out: PathBuf,
}

impl Target {
    /// The path of its representation on the server (Spring's flat routes).
    pub(crate) fn path(&self) -> String {
        let file = format!("{}-{}.{}", self.app, self.profiles, self.format);
        match &self.label {
            Some(label) => format!("/{}/{file}", label.replace('/', "(_)")),
            None => format!("/{file}"),
        }
    }

    /// Reads `APP/PROFILES[/LABEL].FORMAT=PATH`.
    fn parse(spec: &str) -> Result<Self, String> {
        let bad = || format!("--file {spec:?}: expected APP/PROFILES[/LABEL].FORMAT=PATH");
        let (what, out) = spec.split_once('=').ok_or_else(bad)?;
        let (what, format) = what.rsplit_once('.').ok_or_else(bad)?;
        let mut parts = what.splitn(3, '/');
        let (app, profiles) = (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
        let label = parts.next().map(str::to_owned);
        let target = Self {
            app: app.to_owned(),
            profiles: profiles.to_owned(),
            label,
            format: format.to_owned(),
            out: PathBuf::from(out),
        };
        target.check().map(|()| target)
    }

    fn check(&self) -> Result<(), String> {
        if !matches!(self.format.as_str(), "properties" | "yml" | "yaml" | "json") {
            return Err(format!("format {:?}: one of properties, yml, yaml, json", self.format));
        }
        let name_ok = |s: &str| !s.is_empty() && !s.contains(['/', '?', '#', ' ']) && !s.contains("..");
        if !name_ok(&self.app) || !name_ok(&self.profiles) || self.out.as_os_str().is_empty() {
            return Err(format!("{}: an application, profiles and an output path are needed", self.path()));
        }
        Ok(())
    }
}

/// How to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Auth {
    None,
    Basic { user: String, password: String },
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Basic { user, .. } => write!(f, "Basic({user}, <redacted>)"),
            Self::Bearer(_) => f.write_str("Bearer(<redacted>)"),
        }
    }
}

/// Everything the command line says.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) server: String,
    pub(crate) targets: Vec<Target>,
    pub(crate) exec: Option<String>,
    pub(crate) post: Option<String>,
    pub(crate) auth: Auth,
    pub(crate) wait: Duration,
    pub(crate) once: Option<Duration>,
}

/// What the command line asks for.
#[derive(Debug)]
pub(crate) enum Command {
    Run(Options),
    Help,
    Version,
}

/// Parses the arguments after the program name; `env` reads the environment.
///
/// # Errors
/// A message naming what is wrong, for the user.
pub(crate) fn parse(
    args: impl IntoIterator<Item = String>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, String> {
    let mut args = args.into_iter();
    let (mut server, mut targets, mut exec, mut post) = (None, Vec::new(), None, None);
    let (mut app, mut profile, mut label, mut format, mut out) = (None, None, None, None, None);
    let (mut user, mut password_file, mut token_file) = (None, None, None);
    let (mut wait, mut once, mut once_timeout) = (55_u64, false, 300_u64);
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag.to_owned(), Some(value.to_owned())),
            _ => (arg.clone(), None),
        };
        let mut value = || inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "-V" | "--version" => return Ok(Command::Version),
            "--server" => server = Some(value()?),
            "--file" => targets.push(Target::parse(&value()?)?),
            "--app" => app = Some(value()?),
            "--profile" => profile = Some(value()?),
            "--label" => label = Some(value()?),
            "--format" => format = Some(value()?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--exec" => exec = Some(value()?),
            "--post" => post = Some(value()?),
            "--user" => user = Some(value()?),
            "--password-file" => password_file = Some(value()?),
            "--token-file" => token_file = Some(value()?),
            "--wait" => wait = value()?.parse().map_err(|_| "--wait needs a number of seconds".to_owned())?,
            "--once" => once = true,
            "--once-timeout" => {
                once_timeout = value()?.parse().map_err(|_| "--once-timeout needs a number of seconds".to_owned())?;
            }
            other => return Err(format!("unknown argument {other:?} (see --help)")),
        }
    }
    if app.is_some() || out.is_some() {
        let target = Target {
            app: app.ok_or("--out needs --app")?,
            profiles: profile.ok_or("--app needs --profile")?,
            label,
            format: format.unwrap_or_else(|| "properties".to_owned()),
            out: out.ok_or("--app needs --out")?,
        };
        target.check()?;
        targets.insert(0, target);
    }
    let server = server.ok_or("--server is required (see --help)")?;
    if !server.starts_with("http://") && !server.starts_with("https://") {
        return Err(format!("--server {server:?}: an http:// or https:// URL"));
    }
    if targets.is_empty() {
        return Err("nothing to keep current: give --app/--profile/--out or --file (see --help)".to_owned());
    }
    if !(1..=3600).contains(&wait) {
        return Err("--wait: 1 to 3600 seconds".to_owned());
    }
    let read = |path: String| {
        std::fs::read_to_string(&path)
            .map(|text| text.trim_end_matches(['\r', '\n']).to_owned())
            .map_err(|err| format!("cannot read {path}: {err}"))
    };
    let auth = match (user, token_file) {
        (Some(_), Some(_)) => return Err("--user and --token-file: one or the other".to_owned()),
        (Some(user), None) => {
            let password = match password_file {
                Some(path) => read(path)?,
                None => env("VORTEX_AGENT_PASSWORD").ok_or("--user needs --password-file or VORTEX_AGENT_PASSWORD")?,
            };
            Auth::Basic { user, password }
        }
        (None, Some(path)) => Auth::Bearer(read(path)?),
        (None, None) => env("VORTEX_AGENT_TOKEN").map_or(Auth::None, Auth::Bearer),
    };
    Ok(Command::Run(Options {
        server: server.trim_end_matches('/').to_owned(),
        targets,
        exec,
        post,
        auth,
        wait: Duration::from_secs(wait),
        once: once.then(|| Duration::from_secs(once_timeout)),
    }))
}

#[cfg(test)]
mod tests {
    use super::{Auth, Command, parse};

    fn run(args: &[&str]) -> Result<super::Options, String> {
        match parse(args.iter().map(|a| (*a).to_owned()), |_| None)? {
            Command::Run(options) => Ok(options),
            other => Err(format!("{other:?}")),
        }
    }

    #[test]
    fn one_file_from_flags_and_more_from_specs() {
        let options = run(&[
            "--server",
            "http://h:8080/",
            "--app",
            "orders",
            "--profile",
            "prod",
            "--label",
            "release/1",
            "--out",
            "/tmp/o.properties",
            "--file",
            "billing/dev.yml=/tmp/b.yml",
            "--exec",
            "true",
        ])
        .unwrap();
        assert_eq!(options.server, "http://h:8080");
        assert_eq!(options.targets.len(), 2);
        assert_eq!(options.targets[0].path(), "/release(_)1/orders-prod.properties");
        assert_eq!(options.targets[1].path(), "/billing-dev.yml");
        assert_eq!(options.auth, Auth::None);
        assert_eq!(options.wait.as_secs(), 55);
    }

    #[test]
    fn mistakes_are_named() {
        for (args, says) in [
            (&["--app", "a", "--profile", "p", "--out", "x"][..], "--server is required"),
            (&["--server", "ftp://h", "--file", "a/p.yml=x"], "http:// or https://"),
            (&["--server", "http://h"], "nothing to keep current"),
            (&["--server", "http://h", "--file", "a/p.toml=x"], "one of properties"),
            (&["--server", "http://h", "--file", "nonsense"], "APP/PROFILES"),
            (&["--server", "http://h", "--file", "../p.yml=x"], "an application"),
            (&["--server", "http://h", "--file", "a/p.yml=x", "--user", "u"], "--password-file"),
            (&["--server", "http://h", "--file", "a/p.yml=x", "--wait", "0"], "--wait"),
            (&["--bogus"], "unknown argument"),
        ] {
            let err = run(args).unwrap_err();
            assert!(err.contains(says), "{args:?}: {err}");
        }
    }

    #[test]
    fn secrets_are_not_shown() {
        let auth = Auth::Basic { user: "u".to_owned(), password: "hunter2".to_owned() };
        assert!(!format!("{auth:?}").contains("hunter2"));
        assert!(!format!("{:?}", Auth::Bearer("tok".to_owned())).contains("tok"));
    }
}
