//! One writer per grid directory: an advisory lock on `DIR/.ite-lock` (with `fs4`), held for a
//! whole run or merge. The holder writes its pid and start time into the file, so that a second
//! run is refused with a message naming it. The operating system releases the lock when the
//! holder ends, however it ends (a killed holder does not block).

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use crate::error::EvalError;

/// The lock file's name inside a grid's directory.
pub const LOCK_FILE: &str = ".ite-lock";

/// An advisory lock on a grid's directory, released when dropped (or when the process ends).
/// On a file system that has no locks (`flock` unsupported), it holds nothing.
#[derive(Debug)]
pub struct GridLock {
    file: Option<File>,
    path: PathBuf,
    exclusive: bool,
}

fn lock_err(path: &Path, e: impl std::fmt::Display) -> EvalError {
    EvalError::GridFile { path: path.display().to_string(), message: format!("cannot lock: {e}") }
}

fn busy(dir: &Path, file: &mut File) -> EvalError {
    let mut holder = String::new();
    let _ = file.seek(SeekFrom::Start(0)).and_then(|_| file.read_to_string(&mut holder));
    let holder = holder.trim();
    let holder = if holder.is_empty() { "a process reading it (`ite merge`?)" } else { holder };
    EvalError::GridBusy { path: dir.display().to_string(), holder: holder.to_string() }
}

impl GridLock {
    /// Takes the exclusive lock of `dir` (which must exist) for a run that writes into it, and
    /// records `what` (e.g. `ite reproduce`), this process's id and the start time in the lock
    /// file. Fails at once with [`EvalError::GridBusy`], naming the holder, when another process
    /// holds the lock.
    pub fn exclusive(dir: &Path, what: &str) -> Result<GridLock, EvalError> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| lock_err(&path, e))?;
        match FileExt::try_lock_exclusive(&file) {
            Ok(true) => {}
            Ok(false) => return Err(busy(dir, &mut file)),
            // A file system without locks (Lustre mounted `noflock`): run as before, unlocked.
            Err(e) if e.kind() == ErrorKind::Unsupported => return Ok(GridLock { file: None, path, exclusive: true }),
            Err(e) => return Err(lock_err(&path, e)),
        }
        let line = format!("{what}, pid {}, started {}\n", std::process::id(), utc_now());
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(line.as_bytes()))
            .and_then(|_| file.flush())
            .map_err(|e| lock_err(&path, e))?;
        Ok(GridLock { file: Some(file), path, exclusive: true })
    }

    /// Takes a shared lock of `dir` for reading it (a merge's inputs): refused while a run
    /// writes into it. A directory where the lock file cannot be created (read-only) is read
    /// without a lock: no run can write there either.
    pub fn shared(dir: &Path) -> Result<GridLock, EvalError> {
        let path = dir.join(LOCK_FILE);
        let opened = OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path);
        let mut file = match opened {
            Ok(f) => f,
            Err(e) if matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem) => {
                match File::open(&path) {
                    Ok(f) => f,
                    Err(_) => return Ok(GridLock { file: None, path, exclusive: false }),
                }
            }
            // No such directory: nothing to lock (reading it reports what is missing).
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(GridLock { file: None, path, exclusive: false }),
            Err(e) => return Err(lock_err(&path, e)),
        };
        match FileExt::try_lock_shared(&file) {
            Ok(true) => {}
            Ok(false) => return Err(busy(dir, &mut file)),
            Err(e) if e.kind() == ErrorKind::Unsupported => return Ok(GridLock { file: None, path, exclusive: false }),
            Err(e) => return Err(lock_err(&path, e)),
        }
        Ok(GridLock { file: Some(file), path, exclusive: false })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for GridLock {
    fn drop(&mut self) {
        // Clear the holder's line before the lock goes (closing the file releases it).
        if let Some(f) = &self.file
            && self.exclusive
        {
            let _ = f.set_len(0);
        }
    }
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
fn utc_now() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_exclusive_lock_is_refused_naming_the_holder_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let first = GridLock::exclusive(dir.path(), "test run").unwrap();
        let err = GridLock::exclusive(dir.path(), "other").unwrap_err().to_string();
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(err.contains(&format!("test run, pid {}", std::process::id())), "{err}");
        assert!(GridLock::shared(dir.path()).is_err());
        drop(first);
        let s1 = GridLock::shared(dir.path()).unwrap();
        let _s2 = GridLock::shared(dir.path()).unwrap();
        assert!(GridLock::exclusive(dir.path(), "writer").is_err());
        drop(s1);
        drop(_s2);
        GridLock::exclusive(dir.path(), "writer").unwrap();
    }

    #[test]
    fn utc_now_is_an_iso_date() {
        let t = utc_now();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z') && &t[10..11] == "T", "{t}");
    }
}
