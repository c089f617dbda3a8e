//! Replacing a file atomically: a reader sees the old content or the new, never a part.

use std::io::Write as _;
use std::path::Path;

/// Writes `content` to `path` unless it already holds exactly that: to a temporary file in the
/// same directory, flushed to disk, given the old file's permissions, renamed over `path`, and the
/// directory flushed too. Returns whether the file changed.
///
/// # Errors
/// The directory cannot be written, or the disk is full; `path` is then left as it was.
pub(crate) fn replace(path: &Path, content: &[u8]) -> std::io::Result<bool> {
    if std::fs::read(path).is_ok_and(|current| current == content) {
        return Ok(false);
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    let temp = dir.join(format!(".{name}.vortex-agent-{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(content)?;
        if let Ok(metadata) = std::fs::metadata(path) {
            file.set_permissions(metadata.permissions())?;
        }
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        // The rename itself is durable once the directory is.
        std::fs::File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map(|()| true)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_file_is_replaced_with_its_mode_and_left_alone_when_current() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.properties");
        assert!(super::replace(&path, b"a=1\n").unwrap());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(super::replace(&path, b"a=2\n").unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"a=2\n");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert!(!super::replace(&path, b"a=2\n").unwrap());
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // A directory that does not exist: an error, nothing written.
        assert!(super::replace(&dir.path().join("missing/x"), b"x").is_err());
    }
}
