//! The deployment files in `deploy/` against the code: every setting they name exists and takes the
//! value they give, every port and probe path they use is served, their stop timeouts outlast the
//! drain and the grace period, and systemd accepts the unit. The files are parsed, not grepped.

use std::collections::HashMap;
use std::path::PathBuf;

use axum::http::StatusCode;
use yaml_rust2::{Yaml, YamlLoader};

use crate::support::{get, sample_app, workspace_root};

fn deploy(path: &str) -> String {
    std::fs::read_to_string(workspace_root().join("deploy").join(path)).unwrap()
}

/// Settings from `env` must hold no unknown name and no invalid value; `allowed` names the keys
/// whose check depends on the machine the file is meant for (a directory that exists in the image).
fn assert_settings_exist(what: &str, env: &HashMap<String, String>, allowed: &[&str]) {
    let problems = match vortex_settings::load(None, env) {
        Ok(_) => return,
        Err(vortex_settings::SettingsError::Invalid(problems)) => problems,
        Err(err) => panic!("{what}: {err}"),
    };
    let wrong: Vec<_> = problems.iter().filter(|p| !allowed.contains(&p.key.as_str())).collect();
    assert!(wrong.is_empty(), "{what}: {wrong:#?}");
}

/// A value standing for a secret the orchestrator provides.
const SECRET: &str = "a-secret-from-the-orchestrator";

#[tokio::test]
async fn the_container_file_names_only_what_exists() {
    let text = deploy("Containerfile");
    // Instructions, continuation lines joined; only the last stage matters for the runtime.
    let joined = text.replace("\\\n", " ");
    let runtime = joined.rsplit("\nFROM ").next().unwrap();
    let instructions: Vec<(&str, &str)> = runtime
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once(' '))
        .collect();
    let value = |name: &str| instructions.iter().find(|(i, _)| *i == name).map(|(_, v)| v.trim()).unwrap();
    let env: HashMap<String, String> = value("ENV")
        .split_whitespace()
        .map(|pair| pair.split_once('=').unwrap())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_settings_exist("Containerfile", &env, &["backends.native.search_locations"]);
    let port = &env["VORTEX__SERVER__PORT"];
    assert_eq!(value("EXPOSE"), port);
    assert_ne!(value("USER"), "0", "runs as an unprivileged user");
    assert!(value("USER").parse::<u32>().unwrap() > 0);
    // The health check asks a probe that the server serves, on the configured port.
    let url = value("HEALTHCHECK").split_whitespace().find(|w| w.starts_with("http://")).unwrap();
    let (authority, path) = url.trim_start_matches("http://").split_once('/').unwrap();
    assert_eq!(authority.rsplit(':').next(), Some(port.as_str()));
    assert_eq!(get(&sample_app(), &format!("/{path}")).await.status, StatusCode::OK, "/{path}");
    // The entry point is the binary the build stage copied, and it takes `--config`.
    let entry: Vec<String> = serde_json::from_str(value("ENTRYPOINT")).unwrap();
    let copied = instructions.iter().filter(|(i, _)| *i == "COPY").any(|(_, v)| v.ends_with(entry[0].as_str()));
    assert!(copied, "{entry:?} is copied into the image");
}

#[tokio::test]
async fn the_kubernetes_manifests_name_only_what_exists() {
    let docs = YamlLoader::load_from_str(&deploy("kubernetes/vortex-config.yaml")).unwrap();
    let deployment = docs.iter().find(|d| d["kind"].as_str() == Some("Deployment")).unwrap();
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let mut env = HashMap::new();
    for var in container["env"].as_vec().unwrap() {
        let name = var["name"].as_str().unwrap().to_owned();
        let value = var["value"].as_str().map_or_else(
            || {
                assert!(!var["valueFrom"]["secretKeyRef"].is_badvalue(), "{name}: a value or a secret");
                SECRET.to_owned()
            },
            str::to_owned,
        );
        env.insert(name, value);
    }
    assert_settings_exist("Kubernetes", &env, &[]);
    let settings = vortex_settings::load(None, &env).unwrap().settings;
    // The named port is the server's port, and the probes ask the server's probe paths on it.
    let port = &container["ports"][0];
    assert_eq!(port["containerPort"].as_i64(), Some(i64::from(settings.server.port)));
    let port_name = port["name"].as_str().unwrap();
    let app = sample_app();
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let http = &container[probe]["httpGet"];
        assert_eq!(http["port"].as_str(), Some(port_name), "{probe}");
        let path = http["path"].as_str().unwrap();
        assert_eq!(get(&app, path).await.status, StatusCode::OK, "{probe} {path}");
    }
    assert!(container["readinessProbe"]["httpGet"]["path"].as_str().unwrap().ends_with("/readiness"));
    // Kubernetes waits long enough for the drain and the requests in flight.
    let shutdown = settings.server.shutdown.drain_seconds + settings.server.shutdown_grace_seconds;
    let grace = pod["terminationGracePeriodSeconds"].as_i64().unwrap();
    assert!(u64::try_from(grace).unwrap() > shutdown, "terminationGracePeriodSeconds {grace} <= {shutdown}");
    // The drain outlasts the time readiness takes to take the pod out of rotation.
    let readiness = &container["readinessProbe"];
    let out_of_rotation =
        readiness["periodSeconds"].as_i64().unwrap() * readiness["failureThreshold"].as_i64().unwrap();
    assert!(settings.server.shutdown.drain_seconds > u64::try_from(out_of_rotation).unwrap());
    // A read-only root, and a writable volume where the git mirror lives.
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"].as_bool(), Some(true));
    let mounts: Vec<PathBuf> = container["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .map(|m| PathBuf::from(m["mountPath"].as_str().unwrap()))
        .collect();
    assert!(mounts.iter().any(|m| settings.backends.git.basedir.starts_with(m)), "{mounts:?}");
    let service = docs.iter().find(|d| d["kind"].as_str() == Some("Service")).unwrap();
    assert_eq!(service["spec"]["ports"][0]["targetPort"].as_str(), Some(port_name));
    assert!(matches!(service["spec"]["ports"][0]["port"], Yaml::Integer(_)));
}

#[test]
fn the_systemd_unit_names_only_what_exists_and_systemd_accepts_it() {
    let text = deploy("systemd/vortex-config.service");
    let entries: Vec<(&str, &str)> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#') && !line.starts_with('['))
        .map(|line| line.split_once('=').unwrap())
        .collect();
    let env: HashMap<String, String> = entries
        .iter()
        .filter(|(key, _)| *key == "Environment")
        .map(|(_, value)| value.split_once('=').unwrap())
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    // The backend comes from the operator's settings file; alone, the unit's variables leave the
    // default search location, relative to a working directory the unit does not have.
    assert_settings_exist("systemd", &env, &["backends.native.search_locations"]);
    let mut with_repo = env.clone();
    with_repo.insert("VORTEX__BACKENDS__NATIVE__SEARCH_LOCATIONS".to_owned(), "optional:/srv/config-repo".to_owned());
    let settings = vortex_settings::load(None, &with_repo).unwrap().settings;
    let stop: u64 = entries.iter().find(|(k, _)| *k == "TimeoutStopSec").unwrap().1.parse().unwrap();
    assert!(stop > settings.server.shutdown.drain_seconds + settings.server.shutdown_grace_seconds);
    let exec = entries.iter().find(|(k, _)| *k == "ExecStart").unwrap().1;
    let mut words = exec.split_whitespace();
    let (program, args): (&str, Vec<&str>) = (words.next().unwrap(), words.collect());
    assert_eq!(args.first(), Some(&"--config"));
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_vortex-server")).arg("--help").output().unwrap();
    assert!(String::from_utf8_lossy(&help.stdout).contains("--config"));
    // systemd itself, where it is installed, with the unit pointed at the binary just built.
    let analyze = std::process::Command::new("systemd-analyze").arg("--version").output();
    if analyze.is_ok_and(|o| o.status.success()) {
        let dir = tempfile::tempdir().unwrap();
        let unit = dir.path().join("vortex-config.service");
        std::fs::write(&unit, text.replace(program, env!("CARGO_BIN_EXE_vortex-server"))).unwrap();
        let verify = std::process::Command::new("systemd-analyze").arg("verify").arg(&unit).output().unwrap();
        let said = String::from_utf8_lossy(&verify.stderr);
        assert!(verify.status.success() && said.trim().is_empty(), "systemd-analyze verify: {said}");
    } else {
        eprintln!("systemd-analyze is not installed: the unit was checked against the code only");
    }
}
