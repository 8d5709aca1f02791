//! `rosetta up`: run the engine and the gateways as child processes of this executable,
//! in the foreground, and stop them in order.
//!
//! Start: engine first; once its socket accepts connections, one gateway per protocol;
//! once each listens, print the endpoints. Stop (SIGINT/SIGTERM): gateways first, then
//! the engine — each gets SIGTERM, then SIGKILL after a grace period. SIGHUP is forwarded
//! to the gateways (plugin hot reload). A child that dies unexpectedly stops the others
//! and makes `up` exit non-zero.
//!
//! Children run in their own process group, so a terminal Ctrl-C reaches only this
//! supervisor (which then stops them in the right order), and they get SIGTERM if the
//! supervisor itself dies (`PR_SET_PDEATHSIG`).

use std::ffi::OsString;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ExitCode, ExitStatus, Stdio};
use std::time::Duration;

use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tokio::process::{Child, Command};
use tokio::signal::unix::{signal, SignalKind};

use crate::config::{pick, Config};

/// File name of the PostgreSQL dialect plugin.
const PG_PLUGIN_FILE: &str = "librosetta_plugin_postgres.so";
/// File name of the MySQL dialect plugin.
const MYSQL_PLUGIN_FILE: &str = "librosetta_plugin_mysql.so";
/// File name of the Firebird dialect plugin.
const FIREBIRD_PLUGIN_FILE: &str = "librosetta_plugin_firebird.so";
/// How long the engine may take to open its socket.
const ENGINE_START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a gateway may take to listen.
const GATEWAY_START_TIMEOUT: Duration = Duration::from_secs(30);
/// Extra grace after a gateway's shutdown timeout before SIGKILL (it cancels statements
/// still running at the timeout, then needs a moment to exit).
const GATEWAY_STOP_MARGIN: Duration = Duration::from_secs(10);
const ENGINE_STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// `sun_path` holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Default data directory of `up` and `reload`.
pub const DEFAULT_DATA_DIR: &str = "./rosetta-data";
/// Default listen address of the gateways.
pub const DEFAULT_LISTEN: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Default PostgreSQL protocol port.
pub const DEFAULT_PG_PORT: u16 = 15432;
/// Default MySQL protocol port.
pub const DEFAULT_MYSQL_PORT: u16 = 13306;
/// Default Firebird protocol port.
pub const DEFAULT_FIREBIRD_PORT: u16 = 13050;
/// Default seconds running statements get on SIGTERM.
pub const DEFAULT_SHUTDOWN_TIMEOUT: u64 = 10;

/// Options of `rosetta up`.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Data directory, created if missing [default: ./rosetta-data].
    #[arg(long, env = "ROSETTA_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address the gateways listen on [default: 127.0.0.1].
    #[arg(long, env = "ROSETTA_LISTEN", value_name = "ADDR")]
    listen: Option<IpAddr>,
    /// PostgreSQL protocol port [default: 15432].
    #[arg(long, env = "ROSETTA_POSTGRES_PORT", value_name = "N")]
    pg_port: Option<u16>,
    /// MySQL protocol port [default: 13306].
    #[arg(long, env = "ROSETTA_MYSQL_PORT", value_name = "N")]
    mysql_port: Option<u16>,
    /// Firebird protocol port [default: 13050].
    #[arg(long, env = "ROSETTA_FIREBIRD_PORT", value_name = "N")]
    firebird_port: Option<u16>,
    /// Directory holding the dialect plugins [default: next to the executable, or deps/].
    #[arg(long, env = "ROSETTA_PLUGIN_DIR", value_name = "DIR")]
    plugin_dir: Option<PathBuf>,
    /// The PostgreSQL dialect plugin [default: librosetta_plugin_postgres.so in the plugin dir].
    #[arg(long, env = "ROSETTA_POSTGRES_PLUGIN", value_name = "PATH")]
    pg_plugin: Option<PathBuf>,
    /// The MySQL dialect plugin [default: librosetta_plugin_mysql.so in the plugin dir].
    #[arg(long, env = "ROSETTA_MYSQL_PLUGIN", value_name = "PATH")]
    mysql_plugin: Option<PathBuf>,
    /// The Firebird dialect plugin [default: librosetta_plugin_firebird.so in the plugin dir].
    #[arg(long, env = "ROSETTA_FIREBIRD_PLUGIN", value_name = "PATH")]
    firebird_plugin: Option<PathBuf>,
    /// The engine's Unix socket [default: DIR/engine.sock].
    #[arg(long, env = "ROSETTA_ENGINE_SOCKET", value_name = "PATH")]
    engine_socket: Option<PathBuf>,
    /// Directory of the gateways' pid files, for `rosetta reload` [default: DIR/run].
    #[arg(long, env = "ROSETTA_RUN_DIR", value_name = "DIR")]
    run_dir: Option<PathBuf>,
    /// Name of the admin user created on first start [default: admin].
    #[arg(long, env = "ROSETTA_ADMIN_USER", value_name = "NAME")]
    admin_user: Option<String>,
    /// Password of the admin user on first start [default: generated, in DIR/admin-password].
    #[arg(
        long,
        env = "ROSETTA_ADMIN_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    admin_password: Option<String>,
    /// Seconds running statements get to finish on SIGTERM before they are cancelled [default: 10].
    #[arg(long, env = "ROSETTA_SHUTDOWN_TIMEOUT", value_name = "SECONDS")]
    shutdown_timeout: Option<u64>,
}

/// The effective options of `rosetta up` (flag > env > file > default), before any
/// file system check.
#[derive(Debug, PartialEq)]
pub struct UpSettings {
    /// Data directory (may be relative: made absolute by [`run`]).
    pub(crate) data_dir: PathBuf,
    /// Address the gateways listen on.
    pub(crate) listen: IpAddr,
    /// PostgreSQL protocol port.
    pub(crate) pg_port: u16,
    /// MySQL protocol port.
    pub(crate) mysql_port: u16,
    /// Firebird protocol port, if not the default.
    pub(crate) firebird_port: Option<u16>,
    /// The Firebird plugin, if given by path.
    pub(crate) firebird_plugin: Option<PathBuf>,
    /// Where to look for plugins not given by path.
    pub(crate) plugin_dir: Option<PathBuf>,
    /// The PostgreSQL plugin, if given by path.
    pub(crate) pg_plugin: Option<PathBuf>,
    /// The MySQL plugin, if given by path.
    pub(crate) mysql_plugin: Option<PathBuf>,
    /// The engine socket, if not DATA_DIR/engine.sock.
    pub(crate) engine_socket: Option<PathBuf>,
    /// The pid file directory, if not DATA_DIR/run.
    pub(crate) run_dir: Option<PathBuf>,
    /// Admin user created on first start.
    pub(crate) admin_user: String,
    /// Admin password set on first start (else generated by the engine).
    pub(crate) admin_password: Option<String>,
    /// Seconds the gateways give running statements on SIGTERM.
    pub(crate) shutdown_timeout: u64,
    /// The log filter given by flag, env or file, passed on to the children.
    pub(crate) log: Option<String>,
    /// The configuration file, passed on to the children (for the options `up` has no
    /// flag of its own for, e.g. `[postgres] max_message_size`).
    pub(crate) config: Option<PathBuf>,
}

impl UpArgs {
    /// Merges flags and environment (already merged by clap) with the file and defaults.
    pub fn resolve(
        self,
        file: &Config,
        config_path: Option<&Path>,
        log: Option<String>,
    ) -> anyhow::Result<UpSettings> {
        let config = config_path
            .map(|p| {
                std::path::absolute(p)
                    .with_context(|| format!("bad config file path {}", p.display()))
            })
            .transpose()?;
        Ok(UpSettings {
            data_dir: pick(
                self.data_dir,
                file.data_dir.clone(),
                DEFAULT_DATA_DIR.into(),
            ),
            listen: pick(self.listen, file.listen, DEFAULT_LISTEN),
            pg_port: pick(self.pg_port, file.postgres.port, DEFAULT_PG_PORT),
            mysql_port: pick(self.mysql_port, file.mysql.port, DEFAULT_MYSQL_PORT),
            firebird_port: self.firebird_port.or(file.firebird.port),
            plugin_dir: self.plugin_dir.or_else(|| file.plugin_dir.clone()),
            pg_plugin: self.pg_plugin.or_else(|| file.postgres.plugin.clone()),
            mysql_plugin: self.mysql_plugin.or_else(|| file.mysql.plugin.clone()),
            firebird_plugin: self
                .firebird_plugin
                .or_else(|| file.firebird.plugin.clone()),
            engine_socket: self.engine_socket.or_else(|| file.engine.socket.clone()),
            run_dir: self.run_dir.or_else(|| file.run_dir.clone()),
            admin_user: pick(self.admin_user, file.admin_user.clone(), "admin".into()),
            admin_password: self.admin_password.or_else(|| file.admin_password.clone()),
            shutdown_timeout: pick(
                self.shutdown_timeout,
                file.shutdown_timeout,
                DEFAULT_SHUTDOWN_TIMEOUT,
            ),
            log,
            config,
        })
    }
}

/// One supervised child process.
struct Proc {
    /// What it is, for messages ("engine", "postgres gateway").
    name: &'static str,
    child: Child,
}

/// The one-line error for a port that cannot be listened on.
pub fn listen_error(ip: IpAddr, port: u16, e: io::Error) -> anyhow::Error {
    if e.kind() == io::ErrorKind::AddrInUse {
        anyhow!("port {port} on {ip} is already in use")
    } else {
        anyhow!("cannot listen on {}: {e}", SocketAddr::new(ip, port))
    }
}

/// Runs `rosetta up` to its end.
pub fn run(args: UpSettings) -> anyhow::Result<ExitCode> {
    let exe = std::env::current_exe().context("cannot find the rosetta executable")?;
    let plugin = match args.pg_plugin {
        Some(p) => p,
        None => find_plugin(&exe, args.plugin_dir.as_deref(), PG_PLUGIN_FILE)?,
    };
    let mysql_plugin = match args.mysql_plugin {
        Some(p) => p,
        None => find_plugin(&exe, args.plugin_dir.as_deref(), MYSQL_PLUGIN_FILE)?,
    };
    // The Firebird gateway is optional: without its plugin `up` says so and goes on.
    let firebird_plugin = match args.firebird_plugin {
        Some(p) => Some(p),
        None => find_plugin(&exe, args.plugin_dir.as_deref(), FIREBIRD_PLUGIN_FILE).ok(),
    }
    .filter(|p| p.is_file());
    for p in [&plugin, &mysql_plugin] {
        if !p.is_file() {
            bail!("plugin {} not found", p.display());
        }
    }
    let data_dir = std::path::absolute(&args.data_dir)
        .with_context(|| format!("bad data directory {}", args.data_dir.display()))?;
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let socket = match &args.engine_socket {
        Some(s) => std::path::absolute(s)
            .with_context(|| format!("bad engine socket path {}", s.display()))?,
        None => data_dir.join("engine.sock"),
    };
    if socket.as_os_str().len() > MAX_SOCKET_PATH {
        bail!(
            "the engine socket path {} is too long for a Unix socket; use a shorter --data-dir or --engine-socket",
            socket.display()
        );
    }
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        bail!(
            "an engine is already running on {} (socket {})",
            data_dir.display(),
            socket.display()
        );
    }
    let run_dir = match &args.run_dir {
        Some(d) => {
            std::path::absolute(d).with_context(|| format!("bad run directory {}", d.display()))?
        }
        None => data_dir.join(crate::lifecycle::RUN_DIR),
    };
    let pg_addr = SocketAddr::new(args.listen, args.pg_port);
    std::net::TcpListener::bind(pg_addr).map_err(|e| listen_error(args.listen, args.pg_port, e))?;
    let mysql_addr = SocketAddr::new(args.listen, args.mysql_port);
    std::net::TcpListener::bind(mysql_addr)
        .map_err(|e| listen_error(args.listen, args.mysql_port, e))?;

    let firebird_port = args.firebird_port.unwrap_or(DEFAULT_FIREBIRD_PORT);
    let firebird_addr = SocketAddr::new(args.listen, firebird_port);
    if firebird_plugin.is_some() {
        std::net::TcpListener::bind(firebird_addr)
            .map_err(|e| listen_error(args.listen, firebird_port, e))?;
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(supervise(Plan {
        exe,
        plugin,
        data_dir,
        socket,
        run_dir,
        pg_addr,
        mysql_plugin,
        mysql_addr,
        firebird_plugin,
        firebird_addr,
        admin_user: args.admin_user,
        admin_password: args.admin_password,
        shutdown_timeout: args.shutdown_timeout,
        log: args.log,
        config: args.config,
    }))
}

/// Everything `up` decided before starting processes.
struct Plan {
    exe: PathBuf,
    plugin: PathBuf,
    data_dir: PathBuf,
    socket: PathBuf,
    run_dir: PathBuf,
    pg_addr: SocketAddr,
    mysql_plugin: PathBuf,
    mysql_addr: SocketAddr,
    firebird_plugin: Option<PathBuf>,
    firebird_addr: SocketAddr,
    admin_user: String,
    admin_password: Option<String>,
    shutdown_timeout: u64,
    log: Option<String>,
    config: Option<PathBuf>,
}

impl Plan {
    /// The arguments every child gets in front of its subcommand: the configuration
    /// file (for the options `up` passes no flag for) and the log filter.
    fn common_args(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        if let Some(config) = &self.config {
            args.push("--config".into());
            args.push(config.clone().into_os_string());
        }
        if let Some(log) = &self.log {
            args.push("--log".into());
            args.push(log.into());
        }
        args
    }

    /// How long a gateway may take to stop after SIGTERM before it is killed.
    fn gateway_stop_timeout(&self) -> Duration {
        Duration::from_secs(self.shutdown_timeout) + GATEWAY_STOP_MARGIN
    }
}

/// Finds a plugin: in `--plugin-dir`, else next to the executable, else in its `deps/`
/// subdirectory (where cargo leaves a dependency's cdylib).
fn find_plugin(exe: &Path, plugin_dir: Option<&Path>, file: &str) -> anyhow::Result<PathBuf> {
    let candidates: Vec<PathBuf> = match plugin_dir {
        Some(dir) => vec![dir.join(file)],
        None => {
            let dir = exe.parent().unwrap_or(Path::new("."));
            vec![dir.join(file), dir.join("deps").join(file)]
        }
    };
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| {
            let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            anyhow!(
                "plugin {file} not found (looked in {}); build it with `cargo build --release -p rosetta-cli` or pass --plugin-dir",
                looked.join(", ")
            )
        })
}

/// Starts `exe args…` as a supervised child; `env` is added to its environment.
fn spawn(
    exe: &Path,
    name: &'static str,
    args: &[OsString],
    env: &[(&str, &str)],
) -> anyhow::Result<Proc> {
    let mut cmd = Command::new(exe);
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .process_group(0)
        .kill_on_drop(false);
    // SAFETY: the closure runs in the forked child before exec and only makes one
    // async-signal-safe system call (prctl).
    unsafe {
        cmd.pre_exec(|| nix::sys::prctl::set_pdeathsig(Signal::SIGTERM).map_err(io::Error::from));
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start the {name}"))?;
    Ok(Proc { name, child })
}

/// Sends `sig` to a child that is still running.
fn signal_child(p: &Proc, sig: Signal) {
    if let Some(id) = p.child.id() {
        let _ = kill(Pid::from_raw(id as i32), sig);
    }
}

/// SIGTERM, wait up to `grace`, then SIGKILL.
async fn stop(p: &mut Proc, grace: Duration) {
    if matches!(p.child.try_wait(), Ok(Some(_))) {
        return;
    }
    signal_child(p, Signal::SIGTERM);
    match tokio::time::timeout(grace, p.child.wait()).await {
        Ok(_) => {}
        Err(_) => {
            eprintln!(
                "rosetta: the {} did not stop in {grace:?}; killing it",
                p.name
            );
            signal_child(p, Signal::SIGKILL);
            let _ = p.child.wait().await;
        }
    }
}

/// What happened while waiting for a child to become ready.
enum Startup {
    Ready,
    /// The child exited on its own.
    Exited(ExitStatus),
    /// The user asked to stop.
    Interrupted,
    TimedOut,
}

struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

async fn wait_ready<F, Fut>(
    p: &mut Proc,
    signals: &mut Signals,
    timeout: Duration,
    mut probe: F,
) -> Startup
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if probe().await {
            return Startup::Ready;
        }
        if tokio::time::Instant::now() >= deadline {
            return Startup::TimedOut;
        }
        tokio::select! {
            status = p.child.wait() => {
                return match status {
                    Ok(s) => Startup::Exited(s),
                    Err(_) => Startup::TimedOut,
                }
            }
            _ = signals.int.recv() => return Startup::Interrupted,
            _ = signals.term.recv() => return Startup::Interrupted,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}

fn exit_code(status: ExitStatus) -> ExitCode {
    match status.code() {
        Some(0) | None => ExitCode::FAILURE,
        Some(c) => ExitCode::from(u8::try_from(c).unwrap_or(1)),
    }
}

/// Where clients should connect for a listen address (wildcards mean "this machine").
fn connect_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

/// Percent-encodes a URL userinfo component.
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The admin credentials to print: the effective user, and the effective password or
/// else the one the engine wrote on first start.
fn admin_credentials(plan: &Plan) -> (String, Option<String>) {
    let password = plan
        .admin_password
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| {
            std::fs::read_to_string(plan.data_dir.join("admin-password"))
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|p| !p.is_empty())
        });
    (plan.admin_user.clone(), password)
}

async fn supervise(plan: Plan) -> anyhow::Result<ExitCode> {
    let mut signals = Signals {
        int: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
        term: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        hup: signal(SignalKind::hangup()).context("cannot handle SIGHUP")?,
    };

    // 1. The engine. The password goes through the environment, not the command line
    // (which any local user can read in /proc).
    let mut engine_args = plan.common_args();
    engine_args.extend([
        "engine".into(),
        "--data-dir".into(),
        plan.data_dir.clone().into_os_string(),
        "--socket".into(),
        plan.socket.clone().into_os_string(),
        "--admin-user".into(),
        plan.admin_user.clone().into(),
    ]);
    let engine_env: Vec<(&str, &str)> = plan
        .admin_password
        .as_deref()
        .map(|p| ("ROSETTA_ADMIN_PASSWORD", p))
        .into_iter()
        .collect();
    let mut engine = spawn(&plan.exe, "engine", &engine_args, &engine_env)?;
    let socket = plan.socket.clone();
    let started = wait_ready(&mut engine, &mut signals, ENGINE_START_TIMEOUT, || {
        let socket = socket.clone();
        async move { tokio::net::UnixStream::connect(&socket).await.is_ok() }
    })
    .await;
    match started {
        Startup::Ready => {}
        // The engine printed its own one-line reason; pass its exit code on.
        Startup::Exited(status) => return Ok(exit_code(status)),
        Startup::Interrupted => {
            stop(&mut engine, ENGINE_STOP_TIMEOUT).await;
            return Ok(ExitCode::SUCCESS);
        }
        Startup::TimedOut => {
            stop(&mut engine, ENGINE_STOP_TIMEOUT).await;
            bail!("the engine did not open {} in time", plan.socket.display());
        }
    }

    // 2. The gateways (PostgreSQL only, for now), each with a pid file for `rosetta reload`.
    let mut pg_args = plan.common_args();
    pg_args.extend([
        "gateway".into(),
        "postgres".into(),
        "--listen".into(),
        plan.pg_addr.to_string().into(),
        "--engine-socket".into(),
        plan.socket.clone().into_os_string(),
        "--plugin".into(),
        plan.plugin.clone().into_os_string(),
        "--shutdown-timeout".into(),
        plan.shutdown_timeout.to_string().into(),
        "--pid-file".into(),
        crate::lifecycle::pid_file(&plan.run_dir, "postgres").into_os_string(),
    ]);
    let mut gateways = vec![spawn(&plan.exe, "postgres gateway", &pg_args, &[])?];
    let probe_addr = connect_addr(plan.pg_addr);
    let started = wait_ready(
        &mut gateways[0],
        &mut signals,
        GATEWAY_START_TIMEOUT,
        || async move { tokio::net::TcpStream::connect(probe_addr).await.is_ok() },
    )
    .await;
    let mut failure = match started {
        Startup::Ready => None,
        Startup::Exited(status) => Some(format!("the postgres gateway failed to start ({status})")),
        Startup::Interrupted => Some(String::new()),
        Startup::TimedOut => Some(format!(
            "the postgres gateway did not listen on {} in time",
            plan.pg_addr
        )),
    };
    if failure.is_none() {
        let mut mysql_args = plan.common_args();
        mysql_args.extend([
            "gateway".into(),
            "mysql".into(),
            "--listen".into(),
            plan.mysql_addr.to_string().into(),
            "--engine-socket".into(),
            plan.socket.clone().into_os_string(),
            "--plugin".into(),
            plan.mysql_plugin.clone().into_os_string(),
            "--pid-file".into(),
            crate::lifecycle::pid_file(&plan.run_dir, "mysql").into_os_string(),
        ]);
        gateways.push(spawn(&plan.exe, "mysql gateway", &mysql_args, &[])?);
        let probe = connect_addr(plan.mysql_addr);
        let started = wait_ready(
            &mut gateways[1],
            &mut signals,
            GATEWAY_START_TIMEOUT,
            || async move { tokio::net::TcpStream::connect(probe).await.is_ok() },
        )
        .await;
        failure = match started {
            Startup::Ready => None,
            Startup::Exited(status) => {
                Some(format!("the mysql gateway failed to start ({status})"))
            }
            Startup::Interrupted => Some(String::new()),
            Startup::TimedOut => Some(format!(
                "the mysql gateway did not listen on {} in time",
                plan.mysql_addr
            )),
        };
    }
    if let (None, Some(firebird_plugin)) = (&failure, &plan.firebird_plugin) {
        let mut fb_args = plan.common_args();
        fb_args.extend([
            "gateway".into(),
            "firebird".into(),
            "--listen".into(),
            plan.firebird_addr.to_string().into(),
            "--engine-socket".into(),
            plan.socket.clone().into_os_string(),
            "--plugin".into(),
            firebird_plugin.clone().into_os_string(),
            "--shutdown-timeout".into(),
            plan.shutdown_timeout.to_string().into(),
            "--pid-file".into(),
            crate::lifecycle::pid_file(&plan.run_dir, "firebird").into_os_string(),
        ]);
        gateways.push(spawn(&plan.exe, "firebird gateway", &fb_args, &[])?);
        let probe = connect_addr(plan.firebird_addr);
        let index = gateways.len() - 1;
        let started = wait_ready(
            &mut gateways[index],
            &mut signals,
            GATEWAY_START_TIMEOUT,
            || async move { tokio::net::TcpStream::connect(probe).await.is_ok() },
        )
        .await;
        failure = match started {
            Startup::Ready => None,
            Startup::Exited(status) => {
                Some(format!("the firebird gateway failed to start ({status})"))
            }
            Startup::Interrupted => Some(String::new()),
            Startup::TimedOut => Some(format!(
                "the firebird gateway did not listen on {} in time",
                plan.firebird_addr
            )),
        };
    }
    if let Some(message) = failure {
        for g in &mut gateways {
            stop(g, plan.gateway_stop_timeout()).await;
        }
        stop(&mut engine, ENGINE_STOP_TIMEOUT).await;
        if message.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        bail!(message);
    }

    // 3. Tell the user where to connect.
    let (user, password) = admin_credentials(&plan);
    let userinfo = match &password {
        Some(p) => format!("{}:{}", url_escape(&user), url_escape(p)),
        None => url_escape(&user),
    };
    println!(
        "Rosetta {} is up (data directory {})",
        env!("CARGO_PKG_VERSION"),
        plan.data_dir.display()
    );
    println!(
        "postgres  {}  psql \"postgresql://{userinfo}@{probe_addr}/rosetta\"",
        plan.pg_addr
    );
    let mysql_probe = connect_addr(plan.mysql_addr);
    println!(
        "mysql     {}  mysql -h {} -P {} -u {} {}",
        plan.mysql_addr,
        mysql_probe.ip(),
        mysql_probe.port(),
        user,
        match &password {
            Some(p) => format!("-p{p}"),
            None => "-p".to_string(),
        }
    );
    match &plan.firebird_plugin {
        Some(_) => {
            let probe = connect_addr(plan.firebird_addr);
            println!(
                "firebird  {}  isql-fb -user {} {} {}/{}:rosetta",
                plan.firebird_addr,
                user,
                match &password {
                    Some(p) => format!("-password {p}"),
                    None => "-password …".to_string(),
                },
                probe.ip(),
                probe.port()
            );
        }
        None => println!("firebird  not started: {FIREBIRD_PLUGIN_FILE} not found (build rosetta-plugin-firebird)"),
    }
    match &password {
        Some(p) => println!("admin user: {user}  password: {p}"),
        None => println!(
            "admin user: {user}  password: the one set when {} was created",
            plan.data_dir.display()
        ),
    }
    println!("Press Ctrl-C to stop.");

    // 4. Supervise.
    let gateway_pids: Vec<u32> = gateways.iter().filter_map(|g| g.child.id()).collect();
    let outcome: Result<(), String> = loop {
        let gateway_exit = futures::future::select_all(
            gateways
                .iter_mut()
                .map(|g| Box::pin(async move { (g.name, g.child.wait().await) })),
        );
        tokio::select! {
            _ = signals.int.recv() => break Ok(()),
            _ = signals.term.recv() => break Ok(()),
            _ = signals.hup.recv() => {
                for pid in &gateway_pids {
                    let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGHUP);
                }
                tracing::info!("SIGHUP forwarded to the gateways (plugin reload)");
            }
            status = engine.child.wait() => {
                break Err(format!("the engine exited unexpectedly ({}); stopping", describe(status)));
            }
            ((name, status), _, _) = gateway_exit => {
                break Err(format!("the {name} exited unexpectedly ({}); stopping", describe(status)));
            }
        }
    };
    if let Err(message) = &outcome {
        eprintln!("rosetta: {message}");
    }
    for g in &mut gateways {
        stop(g, plan.gateway_stop_timeout()).await;
    }
    stop(&mut engine, ENGINE_STOP_TIMEOUT).await;
    Ok(match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    })
}

fn describe(status: io::Result<ExitStatus>) -> String {
    match status {
        Ok(s) => s.to_string(),
        Err(e) => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_userinfo_is_escaped() {
        assert_eq!(url_escape("a b@c:d/é"), "a%20b%40c%3Ad%2F%C3%A9");
        assert_eq!(url_escape("Abc-123_~."), "Abc-123_~.");
    }

    #[test]
    fn wildcard_listen_connects_to_loopback() {
        let a: SocketAddr = "0.0.0.0:15432".parse().expect("addr");
        assert_eq!(connect_addr(a).to_string(), "127.0.0.1:15432");
        let b: SocketAddr = "10.0.0.1:1".parse().expect("addr");
        assert_eq!(connect_addr(b), b);
    }

    #[test]
    fn plugin_lookup_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let exe = dir.path().join("rosetta");
        assert!(find_plugin(&exe, None, "p.so").is_err());
        std::fs::create_dir(dir.path().join("deps")).expect("mkdir");
        std::fs::write(dir.path().join("deps/p.so"), b"").expect("write");
        assert_eq!(
            find_plugin(&exe, None, "p.so").ok(),
            Some(dir.path().join("deps/p.so"))
        );
        std::fs::write(dir.path().join("p.so"), b"").expect("write");
        assert_eq!(
            find_plugin(&exe, None, "p.so").ok(),
            Some(dir.path().join("p.so"))
        );
        let other = tempfile::tempdir().expect("tempdir");
        assert!(find_plugin(&exe, Some(other.path()), "p.so").is_err());
    }

    #[test]
    fn port_in_use_is_one_clear_line() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let e = std::net::TcpListener::bind(("127.0.0.1", port)).expect_err("in use");
        let msg = listen_error("127.0.0.1".parse().expect("ip"), port, e).to_string();
        assert_eq!(msg, format!("port {port} on 127.0.0.1 is already in use"));
    }
}
