//! Pattern repositories (`backends.git.repos`, Spring's `spring.cloud.config.server.git.repos`):
//! each request is served from the repository whose patterns match it, built from settings as the
//! binary builds it, with real repositories in temp dirs.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use vortex_server::{App, AppState, app};
use vortex_settings::{GitRepoSettings, Secret};

use crate::support::{Remote, Reply, get, git_settings, send};

const TOKEN: &str = "test-admin-token-0123456789";

/// The default repository and two pattern repositories, each with files that say where they are.
struct Fleet {
    default: Remote,
    team: Remote,
    prod: Remote,
    _basedir: tempfile::TempDir,
    app: App,
}

impl Fleet {
    async fn start() -> Self {
        let default = Remote::new();
        default.commit("payments.yml", "from: default\n");
        let team = Remote::new();
        team.commit("payments.yml", "from: team\n");
        team.commit("notes.txt", "team notes\n");
        let prod = Remote::new();
        prod.commit("orders-prod.yml", "from: prod\n");
        let basedir = tempfile::tempdir().unwrap();
        let mut settings = git_settings(&default.uri(), basedir.path());
        settings.security.admin_token = Some(Secret::new(TOKEN));
        let repo = |pattern: &[&str], remote: &Remote| GitRepoSettings {
            pattern: pattern.iter().map(|p| (*p).to_owned()).collect(),
            uri: Some(remote.uri()),
            ..GitRepoSettings::default()
        };
        // Tried in name order: `prod` before `team`.
        settings.backends.git.repos.insert("team".to_owned(), repo(&["pay*", "billing/*"], &team));
        settings.backends.git.repos.insert("prod".to_owned(), repo(&["*/prod"], &prod));
        settings.validate().unwrap();
        let app = app(AppState::from_settings(&settings).await.unwrap());
        Self { default, team, prod, _basedir: basedir, app }
    }

    async fn get(&self, uri: &str) -> Reply {
        get(&self.app, uri).await
    }

    /// The remote that served `uri`: the one whose head commit is the response's version, and
    /// whose directory names every property source.
    async fn served_by(&self, uri: &str) -> &'static str {
        let reply = self.get(uri).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {reply:?}");
        let json = reply.json();
        let remotes = [("default", &self.default), ("team", &self.team), ("prod", &self.prod)];
        let (which, remote) = remotes
            .into_iter()
            .find(|(_, remote)| json["version"] == head(remote))
            .unwrap_or_else(|| panic!("{uri}: served by no remote's head: {json}"));
        let dir = format!("{}/", remote.dir.path().display());
        for source in json["propertySources"].as_array().unwrap() {
            assert!(source["name"].as_str().unwrap().contains(&dir), "{uri}: {source} is not from {which}");
        }
        which
    }
}

fn head(remote: &Remote) -> String {
    let out = std::process::Command::new("git").args(["rev-parse", "HEAD"]).current_dir(remote.dir.path()).output();
    String::from_utf8(out.unwrap().stdout).unwrap().trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_served_by_the_repository_its_patterns_match() {
    let fleet = Fleet::start().await;
    assert_eq!(fleet.served_by("/orders/dev").await, "default", "no pattern matches");
    assert_eq!(fleet.served_by("/payments/dev").await, "team", "pay* is pay*/*");
    assert_eq!(fleet.served_by("/billing/anything").await, "team");
    assert_eq!(fleet.served_by("/orders/prod").await, "prod");
    // Every profile is tried on its own, the last first: prod matches in either position.
    assert_eq!(fleet.served_by("/orders/prod,dev").await, "prod");
    assert_eq!(fleet.served_by("/orders/dev,prod").await, "prod");
    // Both `prod` and `team` match: the first by name wins.
    assert_eq!(fleet.served_by("/payments/prod").await, "prod");

    let json = fleet.get("/payments/dev").await.json();
    assert_eq!(json["version"], head(&fleet.team));
    assert_eq!(json["propertySources"][0]["source"]["from"], "team");
    assert_eq!(json["label"], serde_json::Value::Null);
    let flat = fleet.get("/payments-dev.properties").await;
    assert_eq!(flat.body, "from: team");
    let resource = fleet.get("/payments/default/master/notes.txt").await;
    assert_eq!((resource.status, resource.body.as_str()), (StatusCode::OK, "team notes\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_matching_repository_answers_its_own_errors() {
    let fleet = Fleet::start().await;
    // The default repository has the label; the team repository does not: 404, not the default's.
    fleet.default.git(&["branch", "only-default"]);
    let reply = fleet.get("/orders/dev/only-default").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    let reply = fleet.get("/payments/dev/only-default").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND, "{reply:?}");
    // A file that does not parse in the team repository breaks only what the team serves.
    fleet.team.commit("payments.yml", "from: [unclosed\n");
    assert_eq!(monitor(&fleet.app, "payments.yml").await.status, StatusCode::OK);
    assert_eq!(fleet.get("/payments/dev").await.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(fleet.served_by("/orders/dev").await, "default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_fetches_every_repository_and_health_shows_each() {
    let fleet = Fleet::start().await;
    assert_eq!(fleet.get("/payments/dev").await.json()["propertySources"][0]["source"]["from"], "team");
    assert_eq!(fleet.get("/orders/prod").await.json()["propertySources"][0]["source"]["from"], "prod");
    fleet.team.commit("payments.yml", "from: team, again\n");
    fleet.prod.commit("orders-prod.yml", "from: prod, again\n");
    let reply = monitor(&fleet.app, "payments.yml").await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    // The fetch moved `master` in two repositories: both cached answers are gone.
    assert_eq!(fleet.get("/payments/dev").await.json()["propertySources"][0]["source"]["from"], "team, again");
    assert_eq!(fleet.get("/orders/prod").await.json()["propertySources"][0]["source"]["from"], "prod, again");

    let health = fleet.get("/health").await;
    assert_eq!(health.status, StatusCode::OK);
    let git = &health.json()["backends"]["git"];
    assert_eq!(git["status"], "UP", "{git}");
    let repos = &git["details"]["repos"];
    assert_eq!(repos["team"]["pattern"], serde_json::json!(["pay*/*", "billing/*"]), "{git}");
    assert_eq!(repos["team"]["status"], "UP");
    assert_eq!(repos["team"]["branches"]["master"], head(&fleet.team));
    assert_eq!(repos["prod"]["branches"]["master"], head(&fleet.prod));
    assert_eq!(git["details"]["branches"]["master"], head(&fleet.default));

    #[cfg(feature = "metrics")]
    {
        // Fetches are counted per repository: the clone and the webhook's fetch, at least.
        let text = fleet.get("/metrics").await.body;
        for repository in ["default", "team", "prod"] {
            let series = format!("vortex_git_fetches_total{{repository=\"{repository}\",result=\"ok\"}} ");
            let line =
                text.lines().find(|line| line.starts_with(&series)).unwrap_or_else(|| panic!("{series}: {text}"));
            let count: f64 = line.rsplit_once(' ').unwrap().1.parse().unwrap();
            assert!(count >= 2.0, "{line}");
        }
    }

    // A repository whose remote is gone degrades the whole backend, and says which one.
    std::fs::remove_dir_all(fleet.prod.dir.path()).unwrap();
    assert_eq!(monitor(&fleet.app, "orders-prod.yml").await.status, StatusCode::BAD_GATEWAY);
    let git = &fleet.get("/health").await.json()["backends"]["git"];
    assert_eq!(
        (git["status"].as_str(), git["details"]["repos"]["prod"]["status"].as_str()),
        (Some("DEGRADED"), Some("DEGRADED"))
    );
    assert_eq!(git["details"]["repos"]["team"]["status"], "UP");
    assert_eq!(fleet.get("/orders/prod").await.json()["propertySources"][0]["source"]["from"], "prod, again");
}

async fn monitor(app: &App, path: &str) -> Reply {
    let request = Request::post("/monitor")
        .header("Authorization", format!("Bearer {TOKEN}"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("path={path}")))
        .unwrap();
    send(app, request).await
}

/// A pattern repository whose remote does not exist: its applications get 503, every other
/// application is served, and health stays 200, degraded, naming the repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_pattern_repository_costs_only_its_own_applications() {
    let default = Remote::new();
    let basedir = tempfile::tempdir().unwrap();
    let gone = basedir.path().join("no-such-remote");
    let mut settings = git_settings(&default.uri(), basedir.path());
    settings.backends.git.timeout_seconds = 2;
    let repo = GitRepoSettings {
        pattern: vec!["pay*".to_owned()],
        uri: Some(format!("file://{}", gone.display())),
        ..GitRepoSettings::default()
    };
    settings.backends.git.repos.insert("team".to_owned(), repo);
    let app = app(AppState::from_settings(&settings).await.unwrap());
    let reply = get(&app, "/payments/dev").await;
    assert_eq!((reply.status, reply.error_code().as_str()), (StatusCode::SERVICE_UNAVAILABLE, "unavailable"));
    let reply = get(&app, "/orders/dev").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json()["propertySources"][0]["source"]["value"], 1);
    let health = get(&app, "/health").await;
    assert_eq!(health.status, StatusCode::OK, "{health:?}");
    let git = &health.json()["backends"]["git"];
    assert_eq!((git["status"].as_str(), git["ready"].as_bool()), (Some("DEGRADED"), Some(true)), "{git}");
    let team = &git["details"]["repos"]["team"];
    assert_eq!((team["status"].as_str(), team["ready"].as_bool()), (Some("DOWN"), Some(false)), "{team}");
    assert!(team["lastError"].is_string(), "{team}");
}

/// `{application}` in the URI, as Spring's `uri: https://host/{application}-config`: each
/// application from its own repository, cloned on its first request; an application without one
/// is 404; health lists the open ones; the webhook fetches them. Also as a pattern repository.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repository_per_application_from_a_placeholder_uri() {
    let parent = tempfile::tempdir().unwrap();
    let orders = Remote::new();
    orders.commit("orders.yml", "from: orders repository\n");
    let payments = Remote::new();
    payments.commit("payments.yml", "from: payments repository\n");
    for (name, remote) in [("orders-config", &orders), ("payments-config", &payments)] {
        std::os::unix::fs::symlink(remote.dir.path(), parent.path().join(name)).unwrap();
    }
    let template = format!("file://{}/{{application}}-config", parent.path().display());
    let basedir = tempfile::tempdir().unwrap();
    let mut settings = git_settings(&template, basedir.path());
    settings.security.admin_token = Some(Secret::new(TOKEN));
    settings.validate().unwrap();
    let app = app(AppState::from_settings(&settings).await.unwrap());
    let from = |reply: Reply| reply.json()["propertySources"][0]["source"]["from"].clone();
    assert_eq!(from(get(&app, "/orders/dev").await), "orders repository");
    assert_eq!(from(get(&app, "/payments/dev").await), "payments repository");
    let reply = get(&app, "/nobody/dev").await;
    assert_eq!((reply.status, reply.error_code().as_str()), (StatusCode::NOT_FOUND, "not_found"), "{reply:?}");
    let health = get(&app, "/health").await;
    assert_eq!(health.status, StatusCode::OK);
    let repositories = &health.json()["backends"]["git"]["details"]["repositories"];
    assert_eq!(repositories["orders"]["status"], "UP", "{repositories}");
    assert!(repositories["nobody"].is_null(), "{repositories}");

    // A push to one application's repository leaves the other applications' cached answers alone
    // (the webhook names a file of the repository, which invalidates nothing by name here).
    #[cfg(feature = "cache")]
    let cached = |app: App| async move {
        let request = Request::get("/cache?keys").header("Authorization", format!("Bearer {TOKEN}"));
        let stats = send(&app, request.body(Body::empty()).unwrap()).await.json();
        let mut keys: Vec<String> =
            stats["keys"].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()).collect();
        keys.sort();
        keys
    };
    #[cfg(feature = "cache")]
    assert_eq!(cached(app.clone()).await, ["orders:dev:main", "payments:dev:main"]);
    orders.commit("orders.yml", "from: orders repository, again\n");
    assert_eq!(monitor(&app, "settings.yml").await.status, StatusCode::OK);
    #[cfg(feature = "cache")]
    assert_eq!(cached(app.clone()).await, ["payments:dev:main"], "only the orders entry went");
    assert_eq!(from(get(&app, "/orders/dev").await), "orders repository, again");

    // As a pattern repository: applications named team-* come from their own repositories.
    let team = Remote::new();
    team.commit("team-a.yml", "from: team-a repository\n");
    std::os::unix::fs::symlink(team.dir.path(), parent.path().join("team-a")).unwrap();
    let default = Remote::new();
    let basedir = tempfile::tempdir().unwrap();
    let mut settings = git_settings(&default.uri(), basedir.path());
    let repo = GitRepoSettings {
        pattern: vec!["team-*".to_owned()],
        uri: Some(format!("file://{}/{{application}}", parent.path().display())),
        ..GitRepoSettings::default()
    };
    settings.backends.git.repos.insert("teams".to_owned(), repo);
    settings.validate().unwrap();
    let app = vortex_server::app(AppState::from_settings(&settings).await.unwrap());
    assert_eq!(from(get(&app, "/team-a/dev").await), "team-a repository");
    assert_eq!(get(&app, "/team-b/dev").await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&app, "/orders/dev").await.json()["propertySources"][0]["source"]["value"], 1);
}
