//! The git backend's wiring (feature `git`): settings to `vortex-git` sources, one per pattern
//! repository, cloned at once. Without the feature, [`backend`] says how to build one.

use std::sync::Arc;
use std::time::Duration;

use vortex_core::{ConfigSource, CoreError};

pub(crate) async fn backend(
    git: &vortex_settings::GitSettings,
    metrics: &vortex_metrics::Metrics,
) -> Result<Arc<dyn ConfigSource>, CoreError> {
    let remote = GitRemote {
        uri: git.uri.as_deref().unwrap_or_default(),
        search_paths: &git.search_paths,
        username: git.username.as_deref(),
        password: git.password.as_ref(),
        private_key_path: git.private_key_path.as_deref(),
    };
    let default = git_options(git, &remote, metrics.git());
    if git.repos.is_empty() {
        return git_repository(default, git.max_repositories).await;
    }
    // Every repository clones at once: start-up takes the slowest clone, not their sum.
    let default = tokio::spawn(git_repository(default, git.max_repositories));
    let mut starting = Vec::with_capacity(git.repos.len());
    for (name, repo) in &git.repos {
        // Spring's rule: a repository without a user of its own uses the top-level credentials.
        let (username, password) = match &repo.username {
            Some(username) => (Some(username.as_str()), repo.password.as_ref()),
            None => (git.username.as_deref(), git.password.as_ref()),
        };
        let remote = GitRemote {
            uri: repo.uri.as_deref().unwrap_or_default(),
            search_paths: &repo.search_paths,
            username,
            password,
            private_key_path: repo.private_key_path.as_deref().or(git.private_key_path.as_deref()),
        };
        let options = git_options(git, &remote, metrics.git_repository(name));
        starting.push((name, &repo.pattern, tokio::spawn(git_repository(options, git.max_repositories))));
    }
    let started = |joined: Result<Result<Arc<dyn ConfigSource>, CoreError>, tokio::task::JoinError>| {
        joined.map_err(|err| CoreError::Backend {
            kind: vortex_core::ErrorKind::Internal,
            message: "backends.git: starting a repository failed".to_owned(),
            source: Some(Box::new(err)),
        })?
    };
    let default = started(default.await)?;
    let mut repos = Vec::with_capacity(starting.len());
    for (name, patterns, source) in starting {
        repos.push(vortex_git::PatternRepo::new(name.clone(), patterns, started(source.await)?));
    }
    Ok(Arc::new(vortex_git::PatternRepos::new(default, repos)))
}

/// One repository of the git backend: a mirror of its remote, or with `{application}` in the
/// URI, a mirror per application cloned when it is first asked for.
async fn git_repository(
    options: vortex_git::GitOptions,
    max_repositories: usize,
) -> Result<Arc<dyn ConfigSource>, CoreError> {
    if options.uri.contains(vortex_git::APPLICATION_PLACEHOLDER) {
        return Ok(Arc::new(vortex_git::ApplicationRepos::new(options, max_repositories)?));
    }
    Ok(Arc::new(vortex_git::GitSource::start(options).await?))
}

/// What differs between the repositories of the git backend.
struct GitRemote<'a> {
    uri: &'a str,
    search_paths: &'a [String],
    username: Option<&'a str>,
    password: Option<&'a vortex_settings::Secret>,
    private_key_path: Option<&'a std::path::Path>,
}

fn git_options(
    git: &vortex_settings::GitSettings,
    remote: &GitRemote<'_>,
    metrics: vortex_metrics::GitMetrics,
) -> vortex_git::GitOptions {
    vortex_git::GitOptions {
        metrics,
        uri: remote.uri.to_owned(),
        basedir: git.basedir.clone(),
        default_label: git.default_label.clone(),
        try_master_branch: git.try_master_branch,
        search_paths: remote.search_paths.to_vec(),
        refresh_interval: Duration::from_secs(git.refresh_interval_seconds),
        timeout: Duration::from_secs(git.timeout_seconds),
        delete_untracked_branches: git.delete_untracked_branches,
        continue_on_multiple_label_failure: git.continue_on_multiple_label_failure,
        clone_on_start: git.clone_on_start,
        credentials: match (remote.username, remote.password) {
            (Some(username), Some(password)) => {
                Some(vortex_git::Credentials { username: username.to_owned(), password: password.expose().to_owned() })
            }
            _ => None,
        },
        ssh_command: Some(ssh_command(remote.private_key_path, git.timeout_seconds)),
    }
}

/// The `ssh` command for `ssh://` remotes. BatchMode: a server never prompts. The timeouts make a
/// host that goes silent end the transfer within about `timeout_seconds`, as the other transports
/// do: `ConnectTimeout` covers the connection and the banner, keep-alives every half timeout (two
/// unanswered end the session) cover a stall mid-transfer.
fn ssh_command(private_key_path: Option<&std::path::Path>, timeout_seconds: u64) -> String {
    let interval = (timeout_seconds / 2).max(1);
    let identity = private_key_path.map_or_else(String::new, |key| {
        // Quoted for the shell git runs the command with.
        let key = key.display().to_string().replace('\'', r"'\''");
        format!(" -i '{key}' -o IdentitiesOnly=yes")
    });
    format!(
        "ssh{identity} -o BatchMode=yes -o ConnectTimeout={timeout_seconds} -o ServerAliveInterval={interval} \
         -o ServerAliveCountMax=2"
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn ssh_gets_timeouts_and_the_quoted_key() {
        assert_eq!(
            super::ssh_command(None, 5),
            "ssh -o BatchMode=yes -o ConnectTimeout=5 -o ServerAliveInterval=2 -o ServerAliveCountMax=2"
        );
        let key = std::path::Path::new("/keys/it's");
        assert_eq!(
            super::ssh_command(Some(key), 1),
            "ssh -i '/keys/it'\\''s' -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=1 \
             -o ServerAliveInterval=1 -o ServerAliveCountMax=2"
        );
    }
}
