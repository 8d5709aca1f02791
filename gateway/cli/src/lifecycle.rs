//! Process lifecycle shared by every gateway process: plugin hot reload on SIGHUP, the
//! systemd notifications that go with it, watchdog keep-alives, pid files, and
//! `rosetta reload`.
//!
//! Reload sequence (what systemd expects from `ExecReload=/bin/kill -HUP $MAINPID`):
//! `RELOADING=1` + `MONOTONIC_USEC`, then the plugin is loaded, checked and swapped in
//! ([`PluginHost::reload`]) — or refused, the old one staying active — then `READY=1`
//! with a `STATUS=` line saying which. Either way the outcome is logged.

use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::Args;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use rosetta_engine::sd_notify;
use rosetta_gateway::PluginHost;
use tokio::signal::unix::{signal, SignalKind};

/// Name of the run directory inside a data directory (pid files).
pub const RUN_DIR: &str = "run";

/// The pid file of a protocol's gateway in a run directory.
pub fn pid_file(run_dir: &Path, protocol: &str) -> PathBuf {
    run_dir.join(format!("gateway-{protocol}.pid"))
}

/// Logs the active plugin (at startup and after each reload).
pub fn log_active(plugins: &PluginHost, what: &str) {
    let active = plugins.active();
    let info = active.info();
    tracing::info!(
        plugin = %info.name,
        version = %info.version,
        build = %info.build_id,
        sha256 = %active.sha256(),
        bytecode = info.bytecode_version,
        path = %active.source().display(),
        "{what}: {}",
        active.describe()
    );
}

/// Handles SIGHUP for the rest of the process's life: reload the plugin from `path`,
/// with the systemd notifications around it.
pub fn spawn_reload_on_sighup(
    plugins: Arc<PluginHost>,
    path: PathBuf,
    protocol: &'static str,
) -> anyhow::Result<()> {
    let mut hangup = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            sd_notify::reloading(&format!("reloading the {protocol} plugin"));
            let host = plugins.clone();
            let from = path.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                host.reload_probed(&from, Some(&probe_in_child))
            })
            .await;
            let status = match outcome {
                Ok(Ok(_)) => {
                    log_active(&plugins, "plugin reloaded");
                    format!("serving {protocol}; plugin {}", plugins.active().describe())
                }
                Ok(Err(e)) => {
                    tracing::error!(
                        path = %path.display(),
                        "plugin reload refused, the old plugin stays active: {e}"
                    );
                    format!(
                        "serving {protocol}; plugin reload refused ({e}); still {}",
                        plugins.active().describe()
                    )
                }
                Err(e) => {
                    tracing::error!("plugin reload crashed, the old plugin stays active: {e}");
                    format!("serving {protocol}; plugin reload failed: {e}")
                }
            };
            sd_notify::ready(&status);
        }
    });
    Ok(())
}

/// How long the out-of-process plugin probe may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `rosetta plugin check <staged>` in a child process: a library that crashes or
/// hangs when loaded takes the child down, not the gateway.
fn probe_in_child(staged: &Path) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the executable: {e}"))?;
    let mut child = std::process::Command::new(exe)
        .args(["plugin".as_ref(), "check".as_ref(), staged.as_os_str()])
        .env("RUST_LOG", "error")
        // Its stderr becomes the refusal message: no log filter or file from the gateway's
        // environment may make it chattier.
        .env_remove("ROSETTA_LOG")
        .env_remove("ROSETTA_CONFIG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the probe: {e}"))?;
    let deadline = Instant::now() + PROBE_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the probe did not finish in {PROBE_TIMEOUT:?}"));
            }
            Err(e) => return Err(format!("cannot wait for the probe: {e}")),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read as _;
        let _ = pipe.read_to_string(&mut stderr);
    }
    let stderr = stderr.trim().trim_start_matches("rosetta: ").to_string();
    Err(match (status.code(), status.signal()) {
        (_, Some(sig)) => format!("loading it crashed the probe process (signal {sig})"),
        _ if !stderr.is_empty() => stderr,
        _ => format!("the probe exited with {status}"),
    })
}

/// `rosetta plugin check PATH`.
pub fn check_plugin(path: &Path) -> anyhow::Result<std::process::ExitCode> {
    let host = PluginHost::load(path)?;
    println!("ok: {}", host.active().describe());
    Ok(std::process::ExitCode::SUCCESS)
}

/// Sends `WATCHDOG=1` at half the interval systemd asked for, if it asked.
pub fn spawn_watchdog() {
    if let Some(interval) = sd_notify::watchdog_interval() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                sd_notify::watchdog();
            }
        });
    }
}

/// A pid file that is removed again when the process ends normally.
#[derive(Debug)]
pub struct PidFile(PathBuf);

impl PidFile {
    /// Writes this process's id to `path` (creating its directory).
    pub fn create(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        std::fs::write(path, format!("{}\n", std::process::id()))
            .with_context(|| format!("cannot write pid file {}", path.display()))?;
        Ok(Self(path.to_path_buf()))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only remove it if it is still ours (a newer gateway may have replaced it).
        let ours = std::fs::read_to_string(&self.0)
            .map(|s| s.trim() == std::process::id().to_string())
            .unwrap_or(false);
        if ours {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Options of `rosetta reload`.
#[derive(Debug, Args)]
pub struct ReloadArgs {
    /// Data directory of the running cluster; its gateways' pid files are in DIR/run
    /// [default: ./rosetta-data].
    #[arg(long, env = "ROSETTA_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Directory holding the pid files, if not DIR/run (e.g. /run/rosetta under systemd).
    #[arg(long, env = "ROSETTA_RUN_DIR", value_name = "DIR")]
    run_dir: Option<PathBuf>,
    /// Reload only this protocol's gateway, e.g. postgres [default: all].
    #[arg(long, env = "ROSETTA_RELOAD_PROTOCOL", value_name = "PROTOCOL")]
    protocol: Option<String>,
}

/// What `rosetta reload` does, once flags, environment and file are merged.
#[derive(Debug, PartialEq)]
pub struct ReloadPlan {
    /// Where the pid files are.
    pub run_dir: PathBuf,
    /// Only this protocol's gateway, or all.
    pub protocol: Option<String>,
}

impl ReloadArgs {
    /// The effective plan (flag > env > file > default).
    pub fn resolve(self, file: &crate::config::Config) -> ReloadPlan {
        let data_dir = crate::config::pick(
            self.data_dir,
            file.data_dir.clone(),
            PathBuf::from(crate::up::DEFAULT_DATA_DIR),
        );
        let run_dir = self
            .run_dir
            .or_else(|| file.run_dir.clone())
            .unwrap_or_else(|| data_dir.join(RUN_DIR));
        ReloadPlan {
            run_dir,
            protocol: self.protocol,
        }
    }
}

/// `rosetta reload`: SIGHUP to every running gateway found through its pid file.
pub fn reload(args: ReloadPlan) -> anyhow::Result<std::process::ExitCode> {
    let run_dir = args.run_dir;
    let entries = std::fs::read_dir(&run_dir).with_context(|| {
        format!(
            "no gateway pid files in {} (is Rosetta running there?)",
            run_dir.display()
        )
    })?;
    let mut signalled = 0;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(protocol) = name
            .strip_prefix("gateway-")
            .and_then(|n| n.strip_suffix(".pid"))
        else {
            continue;
        };
        if args.protocol.as_deref().is_some_and(|p| p != protocol) {
            continue;
        }
        let pid: i32 = match std::fs::read_to_string(entry.path())
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            Some(pid) => pid,
            None => {
                eprintln!(
                    "rosetta: ignoring unreadable pid file {}",
                    entry.path().display()
                );
                continue;
            }
        };
        // A stale pid file may name an unrelated process now: check it is a gateway.
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let is_gateway = cmdline.split(|b| *b == 0).any(|arg| arg == b"gateway");
        if !is_gateway {
            eprintln!("rosetta: the {protocol} gateway (pid {pid}) is not running; skipped");
            continue;
        }
        kill(Pid::from_raw(pid), Signal::SIGHUP)
            .with_context(|| format!("cannot signal the {protocol} gateway (pid {pid})"))?;
        println!("{protocol} gateway (pid {pid}): plugin reload requested");
        signalled += 1;
    }
    if signalled == 0 {
        bail!("no running gateway found in {}", run_dir.display());
    }
    println!("the outcome is in the gateway log; `SHOW rosetta.plugin` shows the active plugin");
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_file_is_written_and_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = pid_file(&dir.path().join(RUN_DIR), "postgres");
        {
            let _pid = PidFile::create(&path).expect("pid file");
            let text = std::fs::read_to_string(&path).expect("read");
            assert_eq!(text.trim(), std::process::id().to_string());
        }
        assert!(!path.exists());
    }

    #[test]
    fn reload_without_gateways_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(dir.path().join(RUN_DIR)).expect("mkdir");
        let err = reload(ReloadPlan {
            run_dir: dir.path().join(RUN_DIR),
            protocol: None,
        })
        .expect_err("nothing to reload");
        assert!(err.to_string().contains("no running gateway"), "{err}");
    }
}
