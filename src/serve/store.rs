//! The runs' history on disk, so a restart of `blast serve` loses nothing.
//!
//! One folder per run under `DATA_DIR/runs/ID/`: `meta.json` (id, status,
//! times, the request as sent, the error if any), and once it has ended
//! `result.json`, `report.html`, `run_stats.csv`, `run_stats_history.csv`,
//! `run.hlog`. IDs are the UTC start time to the millisecond
//! (`20261130-090512-123`), so names sort oldest first. `meta.json` is
//! replaced by rename, never left half-written. A run found `running` at
//! start-up was cut short by the server's own end and is marked `lost`.
//! The folder's name is the run's id: a `meta.json` that does not parse,
//! lacks a field, or names another id is skipped (with a warning naming
//! the file at start-up), so a stray or hostile folder can neither stop the
//! server nor overwrite another run's record.

use serde_json::{json, Value};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct Store {
    runs: PathBuf,
}

/// The default `--data-dir`: `$XDG_DATA_HOME/blast/serve`, else
/// `~/.local/share/blast/serve`, else `blast-serve` in the temp dir.
pub fn default_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(d) = env("XDG_DATA_HOME") {
        return d.join("blast").join("serve");
    }
    if let Some(h) = env("HOME") {
        return h.join(".local").join("share").join("blast").join("serve");
    }
    std::env::temp_dir().join("blast-serve")
}

impl Store {
    /// Open (creating) the store under `dir`, and mark runs that were
    /// going when the last server stopped as `lost`.
    pub fn open(dir: &Path) -> io::Result<Store> {
        let runs = dir.join("runs");
        std::fs::create_dir_all(&runs)?;
        let store = Store { runs };
        for id in store.ids() {
            let path = store.runs.join(&id).join("meta.json");
            let mut m = match store.checked_meta(&id) {
                Ok(m) => m,
                Err(why) => {
                    eprintln!("blast serve: skipped {}: {why}", path.display());
                    continue;
                }
            };
            if m["status"] == "running" {
                m["status"] = "lost".into();
                m["error"] = "blast serve stopped during the run".into();
                store.save(&m)?;
            }
        }
        Ok(store)
    }

    /// A new run's folder, named for the time now; its id.
    pub fn create(&self) -> io::Result<String> {
        let mut ms = now_ms();
        loop {
            let id = id_of(ms);
            match std::fs::create_dir(self.runs.join(&id)) {
                Ok(()) => return Ok(id),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => ms += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// The folder of run `id`, if `id` is one of ours (never a path).
    pub fn dir(&self, id: &str) -> Option<PathBuf> {
        let ok = !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit() || b == b'-');
        let d = self.runs.join(id);
        (ok && d.is_dir()).then_some(d)
    }

    /// Write `meta` (it holds its `id`) as the run's `meta.json`.
    pub fn save(&self, meta: &Value) -> io::Result<()> {
        let id = meta["id"].as_str().unwrap_or_default();
        let dir = self
            .dir(id)
            .ok_or_else(|| io::Error::other("no such run"))?;
        let tmp = dir.join("meta.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(meta)?)?;
        std::fs::rename(tmp, dir.join("meta.json"))
    }

    /// Run `id`'s record, if it is a sound one (`checked_meta`).
    pub fn meta(&self, id: &str) -> Option<Value> {
        self.checked_meta(id).ok()
    }

    /// Run `id`'s `meta.json`, or why it cannot be trusted: it is missing
    /// or not JSON, lacks a field the API shows, or is another run's.
    fn checked_meta(&self, id: &str) -> Result<Value, String> {
        let dir = self.dir(id).ok_or("not a run id")?;
        let bytes = std::fs::read(dir.join("meta.json")).map_err(|e| e.to_string())?;
        let m: Value =
            serde_json::from_slice(&bytes).map_err(|e| format!("not a JSON record ({e})"))?;
        if m["id"].is_string() && m["id"] != id {
            return Err(format!(
                "its id {} is not its folder's name ({id}), the run's id",
                m["id"]
            ));
        }
        for field in ["id", "status", "url", "created_at"] {
            if !m[field].is_string() {
                return Err(format!("no text field '{field}'"));
            }
        }
        Ok(m)
    }

    /// A file of run `id` (`result.json`, `report.html`, ...).
    pub fn read(&self, id: &str, file: &str) -> Option<Vec<u8>> {
        std::fs::read(self.dir(id)?.join(file)).ok()
    }

    pub fn result(&self, id: &str) -> Option<Value> {
        serde_json::from_slice(&self.read(id, "result.json")?).ok()
    }

    /// Every sound run's meta, newest first.
    pub fn list(&self) -> Vec<Value> {
        self.ids().iter().filter_map(|id| self.meta(id)).collect()
    }

    /// The folders under `runs/`, newest first.
    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(&self.runs)
            .map(|d| {
                d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// (year, month, day, hour, minute, second, millisecond) in UTC.
fn civil(ms: u64) -> [u64; 7] {
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    [
        y as u64,
        m as u64,
        d as u64,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000,
    ]
}

/// A run's id: its start, UTC, to the millisecond (`20260101-120000-000`).
pub fn id_of(ms: u64) -> String {
    let [y, mo, d, h, mi, s, ms] = civil(ms);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}-{ms:03}")
}

/// RFC 3339 in UTC, to the millisecond.
pub fn rfc3339(ms: u64) -> String {
    let [y, mo, d, h, mi, s, ms] = civil(ms);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// A new run's meta: `running`, with the request as the caller sent it.
pub fn new_meta(id: &str, url: &str, request: &Value, notices: &[String]) -> Value {
    json!({
        "id": id,
        "status": "running",
        "url": url,
        "created_at": rfc3339(now_ms()),
        "finished_at": null,
        "request": request,
        "notices": notices,
        "error": null,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_796_029_512_123), "2026-11-30T09:05:12.123Z");
        assert_eq!(id_of(1_796_029_512_123), "20261130-090512-123");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn history_survives_reopening() {
        let dir = std::env::temp_dir().join(format!("blast-store-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir).unwrap();
        let a = s.create().unwrap();
        let b = s.create().unwrap();
        assert!(b > a);
        s.save(&new_meta(&a, "http://x/", &json!({}), &[])).unwrap();
        let mut done = new_meta(&b, "http://y/", &json!({}), &[]);
        done["status"] = "done".into();
        s.save(&done).unwrap();
        let s = Store::open(&dir).unwrap();
        let list = s.list();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0]["id"], b.as_str());
        assert_eq!(list[1]["status"], "lost");
        assert!(s.dir("../x").is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// Issue 18, defect 5: a record without an id stopped the start-up
    /// (`no such run`), and one naming another run's id overwrote that
    /// run's record. Both are skipped now; the good run keeps its summary.
    #[test]
    fn the_folder_name_is_the_id() {
        let dir = std::env::temp_dir().join(format!("blast-store-ids-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir).unwrap();
        let good = s.create().unwrap();
        let mut done = new_meta(&good, "http://x/", &json!({}), &[]);
        done["status"] = "done".into();
        done["summary"] = json!({"requests": 600});
        s.save(&done).unwrap();
        let put = |id: &str, text: &str| {
            std::fs::create_dir_all(dir.join("runs").join(id)).unwrap();
            std::fs::write(dir.join("runs").join(id).join("meta.json"), text).unwrap();
        };
        put("20260101-000000-002", r#"{"status":"running"}"#);
        let liar = json!({"id": good, "status": "running", "url": 5});
        put("20260101-000000-003", &liar.to_string());
        let mut liar = new_meta(&good, "http://y/", &json!({}), &[]);
        liar["id"] = good.as_str().into();
        put("20260101-000000-004", &liar.to_string());
        put("20260101-000000-005", "{");
        std::fs::create_dir_all(dir.join("runs").join("20260101-000000-006")).unwrap();
        let s = Store::open(&dir).unwrap();
        assert_eq!(s.meta(&good).unwrap(), done);
        assert_eq!(s.list(), [done]);
        for bad in ["002", "003", "004", "005", "006"] {
            let id = format!("20260101-000000-{bad}");
            assert!(s.meta(&id).is_none(), "{id}");
            let why = s.checked_meta(&id).unwrap_err();
            let expect = match bad {
                "002" => "no text field 'id'",
                "003" => "is not its folder's name",
                "004" => "is not its folder's name",
                "005" => "not a JSON record",
                _ => "No such file",
            };
            assert!(why.contains(expect), "{id}: {why}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
