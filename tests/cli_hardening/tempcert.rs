//! `blast target --tls` and `blast calibrate --tls` write the certificate
//! they make to the temp dir. They used a predictable name
//! (`blast-target-PID.pem`) and followed a symlink planted there; `target`
//! never removed its file. Now the file is made new (O_EXCL, a random name)
//! and removed when the process ends, on SIGTERM too.
//!
//! The symlink is planted at the old name by the very process that becomes
//! blast: `sh` makes it with its own pid (`$$`), then `exec`s blast, which
//! keeps that pid. TMPDIR points at the test's scratch directory.

use crate::support::{self, Scratch, TargetProcess};
use std::path::Path;
use std::process::{Command, Stdio};

const VICTIM: &str = "not a certificate: must stay as it is\n";

/// `sh -c 'ln -s VICTIM $TMPDIR/NAME-$$.pem; exec blast ARGS'`.
fn planted(dir: &Scratch, name: &str, args: &str) -> Command {
    let script = format!("ln -s \"$VICTIM\" \"$TMPDIR/{name}-$$.pem\" && exec \"$BLAST\" {args}");
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &script])
        .env("TMPDIR", &**dir)
        .env("VICTIM", dir.join("victim"))
        .env("BLAST", support::bin())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Files in `dir` other than the victim and the symlinks planted.
fn left(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| !e.file_type().unwrap().is_symlink())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "victim")
        .collect()
}

#[test]
fn target_tls_certificate_is_a_new_file_removed_on_sigterm() {
    let dir = Scratch::new("tempcert-target");
    dir.write("victim", VICTIM);
    let t = TargetProcess::spawn(planted(
        &dir,
        "blast-target",
        "target --listen 127.0.0.1:0 --tls",
    ));
    let cert = t
        .line
        .split_once("(certificate: ")
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("no certificate in {:?}", t.line))
        .to_string();
    let cert = Path::new(&cert);
    assert_eq!(
        std::fs::read_to_string(dir.join("victim")).unwrap(),
        VICTIM,
        "the symlink at the old name was followed"
    );
    let meta = std::fs::symlink_metadata(cert).unwrap();
    assert!(meta.file_type().is_file(), "{cert:?} is not a plain file");
    assert_eq!(cert.parent(), Some(&*dir), "{cert:?}");
    assert!(std::fs::read_to_string(cert)
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let err = t.stop();
    assert!(err.contains("served 0 requests"), "{err}");
    assert!(!cert.exists(), "{cert:?} is still there after SIGTERM");
    assert_eq!(left(&dir), Vec::<String>::new());
}

#[test]
fn calibrate_tls_certificate_is_a_new_file_removed_at_the_end() {
    let dir = Scratch::new("tempcert-calibrate");
    dir.write("victim", VICTIM);
    let cmd = planted(&dir, "blast-calibrate", "calibrate --tls -d 300ms -c 2");
    let r = support::run_cmd(cmd, std::time::Duration::from_secs(60));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("Calibration: "), "{}", r.stdout);
    assert_eq!(
        std::fs::read_to_string(dir.join("victim")).unwrap(),
        VICTIM,
        "the symlink at the old name was followed"
    );
    assert_eq!(left(&dir), Vec::<String>::new());
}
