//! `rosetta`: the one command a newcomer runs (`rosetta up`), and the entry points of the
//! processes it supervises (`rosetta engine`, `rosetta gateway postgres`).
//!
//! Every Rosetta process is this same executable: `up` re-executes itself with the
//! `engine` and `gateway` subcommands, so one build always runs matching versions of all
//! of them. Production runs those subcommands directly under systemd.

mod config;
mod lifecycle;
mod up;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use clap::{Args, Parser, Subcommand};
use config::{pick, require, Config};
use rosetta_gateway::{PluginHost, PostgresGateway, ServerConfig};
use tokio::signal::unix::{signal, SignalKind};

/// Rosetta: one SQL engine, three native wire protocols (PostgreSQL, MySQL and
/// Firebird).
///
/// Every option can also come from a `ROSETTA_*` environment variable (shown with each
/// option) or from the TOML file named by --config; a flag beats its environment
/// variable, which beats the file, which beats the built-in default. See
/// docs/operations.md and scripts/rosetta.example.toml.
#[derive(Debug, Parser)]
#[command(name = "rosetta", version, propagate_version = true)]
struct Cli {
    /// TOML configuration file for up, engine, gateway and reload (keys:
    /// scripts/rosetta.example.toml).
    #[arg(long, global = true, env = "ROSETTA_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Log filter for stderr, RUST_LOG syntax (e.g. "info", "warn,rosetta_engine=debug")
    /// [default: RUST_LOG, else info].
    #[arg(long, global = true, env = "ROSETTA_LOG", value_name = "FILTER")]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the engine and the protocol gateways in the foreground (Ctrl-C stops them).
    ///
    /// Creates the data directory on first start, together with the admin user
    /// (--admin-user, default "admin"; --admin-password, or generated and stored in
    /// DATA_DIR/admin-password). Prints one line per endpoint with a ready-to-paste client
    /// command. The children get the effective options as flags, and --config for the
    /// keys `up` has no flag for ([postgres] max_message_size, [mysql] default_database).
    Up(up::UpArgs),
    /// Run the engine daemon alone (what `up` starts; for systemd and debugging).
    Engine(EngineArgs),
    /// Run one protocol gateway alone (what `up` starts; for systemd and debugging).
    Gateway {
        #[command(subcommand)]
        protocol: GatewayCommand,
    },
    /// Reload the dialect plugins of running gateways (SIGHUP through their pid files).
    ///
    /// Each gateway loads its plugin again from its configured path, checks it (ABI and
    /// bytecode version, self-test) and swaps it in without dropping a connection; a
    /// plugin that fails is refused and the old one stays. Under systemd use `systemctl
    /// reload rosetta-gateway@PROTOCOL` instead.
    Reload(lifecycle::ReloadArgs),
    /// Dialect plugin tools.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Check a plugin build before deploying it: load it (ABI and bytecode version
    /// handshake) and run the self-test a gateway runs before trusting a plugin.
    ///
    /// Prints the plugin's name, version, build id and SHA-256 and exits 0, or prints why
    /// it is refused and exits 1. Gateways run this in a throw-away process on every
    /// reload, so that a library that crashes when loaded cannot take them down.
    Check {
        /// The plugin shared library.
        #[arg(value_name = "PATH")]
        path: PathBuf,
    },
}

/// Options of `rosetta engine`.
#[derive(Debug, Args)]
struct EngineArgs {
    /// Data directory, created and bootstrapped on first start (required: flag, env or
    /// config `data_dir`).
    #[arg(long, env = "ROSETTA_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Unix socket the gateways connect to [default: DIR/engine.sock].
    #[arg(long, env = "ROSETTA_ENGINE_SOCKET", value_name = "PATH")]
    socket: Option<PathBuf>,
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
}

impl EngineArgs {
    /// The effective engine configuration (flag > env > file > default).
    fn resolve(self, file: &Config) -> anyhow::Result<rosetta_engine::daemon::Config> {
        let data_dir = require(
            self.data_dir,
            file.data_dir.clone(),
            "--data-dir",
            "ROSETTA_DATA_DIR",
            "data_dir",
        )?;
        let socket_path = self
            .socket
            .or_else(|| file.engine.socket.clone())
            .unwrap_or_else(|| data_dir.join("engine.sock"));
        Ok(rosetta_engine::daemon::Config {
            data_dir,
            socket_path,
            admin_user: pick(self.admin_user, file.admin_user.clone(), "admin".into()),
            admin_password: self.admin_password.or_else(|| file.admin_password.clone()),
        })
    }
}

#[derive(Debug, Subcommand)]
enum GatewayCommand {
    /// The PostgreSQL wire protocol gateway (psql, libpq, JDBC, psycopg, …).
    ///
    /// SIGHUP reloads the plugin from PATH: the new build is checked (ABI and bytecode
    /// version, self-test compile) and swapped in atomically — statements already running
    /// finish on the old one, the statement cache is cleared; a plugin that fails is
    /// refused and the old one stays. `SHOW rosetta.plugin` reports the active plugin.
    /// SIGINT/SIGTERM stop it gracefully: no new connections, running statements get
    /// --shutdown-timeout to finish, then every session ends with FATAL 57P01. Under
    /// systemd (NOTIFY_SOCKET) it reports READY=1, RELOADING=1, STOPPING=1 and STATUS=.
    Postgres(PostgresArgs),
    /// The MySQL wire protocol gateway (mysql/mariadb CLI, PyMySQL, Connector/J, …).
    ///
    /// SIGHUP reloads the plugin as for `postgres`; SIGINT/SIGTERM stop it.
    Mysql(MysqlArgs),
    /// The Firebird wire protocol gateway (isql-fb, firebirdsql, Jaybird, …).
    ///
    /// Protocol 13–15 (Firebird 3), Srp/Srp256 logins, Arc4 wire encryption. SIGHUP
    /// reloads the plugin as for `postgres`; SIGINT/SIGTERM stop accepting, give open
    /// connections --shutdown-timeout to end, then exit (open transactions roll back).
    Firebird(FirebirdArgs),
}

/// Options of `rosetta gateway firebird`.
#[derive(Debug, Args)]
struct FirebirdArgs {
    /// Address and port to listen on [default: 127.0.0.1:13050; config: listen + [firebird] port].
    #[arg(long, env = "ROSETTA_FIREBIRD_LISTEN", value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// The engine's Unix socket [default: config data_dir/engine.sock].
    #[arg(long, env = "ROSETTA_ENGINE_SOCKET", value_name = "PATH")]
    engine_socket: Option<PathBuf>,
    /// The Firebird dialect plugin, librosetta_plugin_firebird.so (required).
    #[arg(long, env = "ROSETTA_FIREBIRD_PLUGIN", value_name = "PATH")]
    plugin: Option<PathBuf>,
    /// Seconds open connections get to end on SIGTERM [default: 10].
    #[arg(long, env = "ROSETTA_SHUTDOWN_TIMEOUT", value_name = "SECONDS")]
    shutdown_timeout: Option<u64>,
    /// Write the process id here (what `rosetta reload` signals); removed on exit.
    #[arg(long, env = "ROSETTA_FIREBIRD_PID_FILE", value_name = "PATH")]
    pid_file: Option<PathBuf>,
}

impl FirebirdArgs {
    fn resolve(&self, file: &Config) -> anyhow::Result<GatewaySettings> {
        let listen = self.listen.unwrap_or_else(|| {
            SocketAddr::new(
                pick(None, file.listen, up::DEFAULT_LISTEN),
                pick(None, file.firebird.port, up::DEFAULT_FIREBIRD_PORT),
            )
        });
        Ok(GatewaySettings {
            listen,
            engine_socket: gateway_engine_socket(self.engine_socket.clone(), file)?,
            plugin: require(
                self.plugin.clone(),
                file.firebird.plugin.clone(),
                "--plugin",
                "ROSETTA_FIREBIRD_PLUGIN",
                "[firebird] plugin",
            )?,
            pid_file: self
                .pid_file
                .clone()
                .or_else(|| file.firebird.pid_file.clone()),
        })
    }
}

/// Runs `rosetta gateway firebird` to its end.
fn run_firebird_gateway(args: GatewaySettings, shutdown_timeout: u64) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let plugins = Arc::new(
            PluginHost::load(&args.plugin)
                .with_context(|| format!("cannot load plugin {}", args.plugin.display()))?,
        );
        lifecycle::log_active(&plugins, "plugin loaded");
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| up::listen_error(args.listen.ip(), args.listen.port(), e))?;
        let _pid_file = args
            .pid_file
            .as_deref()
            .map(lifecycle::PidFile::create)
            .transpose()?;
        let config = rosetta_gateway::FirebirdConfig {
            engine_socket: args.engine_socket.clone(),
        };
        let gateway = rosetta_gateway::FirebirdGateway::new(config, plugins.clone());
        lifecycle::spawn_reload_on_sighup(plugins.clone(), args.plugin.clone(), "firebird")?;
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let shutdown = async move {
            let sig = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            rosetta_engine::sd_notify::stopping(&format!("stopping on {sig}"));
            tracing::info!("firebird gateway stopping on {sig}");
        };
        let local = listener
            .local_addr()
            .map_err(|e| anyhow!("listener has no address: {e}"))?;
        tracing::info!(engine = %args.engine_socket.display(), "firebird gateway listening on {local}");
        rosetta_engine::sd_notify::ready(&format!(
            "serving firebird on {local}; plugin {}",
            plugins.active().describe()
        ));
        lifecycle::spawn_watchdog();
        gateway.serve(listener, shutdown).await?;
        let left = gateway
            .drain(std::time::Duration::from_secs(shutdown_timeout))
            .await;
        if left > 0 {
            tracing::info!("{left} firebird connections still open at shutdown; closing them");
        }
        tracing::info!("firebird gateway stopped");
        Ok(ExitCode::SUCCESS)
    })
}

/// Options of `rosetta gateway mysql`.
#[derive(Debug, Args)]
struct MysqlArgs {
    /// Address and port to listen on [default: 127.0.0.1:13306; config: listen + [mysql] port].
    #[arg(long, env = "ROSETTA_MYSQL_LISTEN", value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// The engine's Unix socket [default: config data_dir/engine.sock].
    #[arg(long, env = "ROSETTA_ENGINE_SOCKET", value_name = "PATH")]
    engine_socket: Option<PathBuf>,
    /// The MySQL dialect plugin, librosetta_plugin_mysql.so (required).
    #[arg(long, env = "ROSETTA_MYSQL_PLUGIN", value_name = "PATH")]
    plugin: Option<PathBuf>,
    /// The database a client lands in when it names none [default: rosetta].
    #[arg(long, env = "ROSETTA_MYSQL_DEFAULT_DATABASE", value_name = "NAME")]
    default_database: Option<String>,
    /// Seconds running statements get to finish on SIGTERM before they are cancelled [default: 10].
    #[arg(long, env = "ROSETTA_SHUTDOWN_TIMEOUT", value_name = "SECONDS")]
    shutdown_timeout: Option<u64>,
    /// Write the process id here (what `rosetta reload` signals); removed on exit.
    #[arg(long, env = "ROSETTA_MYSQL_PID_FILE", value_name = "PATH")]
    pid_file: Option<PathBuf>,
}

/// Options of `rosetta gateway postgres`.
#[derive(Debug, Args)]
struct PostgresArgs {
    /// Address and port to listen on [default: 127.0.0.1:15432; config: listen + [postgres] port].
    #[arg(long, env = "ROSETTA_POSTGRES_LISTEN", value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// The engine's Unix socket [default: config data_dir/engine.sock].
    #[arg(long, env = "ROSETTA_ENGINE_SOCKET", value_name = "PATH")]
    engine_socket: Option<PathBuf>,
    /// The PostgreSQL dialect plugin, librosetta_plugin_postgres.so (required).
    #[arg(long, env = "ROSETTA_POSTGRES_PLUGIN", value_name = "PATH")]
    plugin: Option<PathBuf>,
    /// Largest client message accepted, in bytes [default: 67108864].
    #[arg(long, env = "ROSETTA_POSTGRES_MAX_MESSAGE_SIZE", value_name = "BYTES")]
    max_message_size: Option<usize>,
    /// Seconds running statements get to finish on SIGTERM before they are cancelled [default: 10].
    #[arg(long, env = "ROSETTA_SHUTDOWN_TIMEOUT", value_name = "SECONDS")]
    shutdown_timeout: Option<u64>,
    /// Write the process id here (what `rosetta reload` signals); removed on exit.
    #[arg(long, env = "ROSETTA_POSTGRES_PID_FILE", value_name = "PATH")]
    pid_file: Option<PathBuf>,
}

/// The effective options of a gateway process (flag > env > file > default).
#[derive(Debug, PartialEq)]
struct GatewaySettings {
    /// Client address.
    listen: SocketAddr,
    /// The engine's Unix socket.
    engine_socket: PathBuf,
    /// The dialect plugin (reloaded from this path on SIGHUP).
    plugin: PathBuf,
    /// Pid file to write, if any.
    pid_file: Option<PathBuf>,
}

/// A gateway's engine socket: flag/env, else `[engine] socket`, else `data_dir/engine.sock`
/// from the file.
fn gateway_engine_socket(flag_or_env: Option<PathBuf>, file: &Config) -> anyhow::Result<PathBuf> {
    let from_file = file
        .engine
        .socket
        .clone()
        .or_else(|| file.data_dir.as_ref().map(|d| d.join("engine.sock")));
    require(
        flag_or_env,
        from_file,
        "--engine-socket",
        "ROSETTA_ENGINE_SOCKET",
        "[engine] socket",
    )
}

impl PostgresArgs {
    fn resolve(&self, file: &Config) -> anyhow::Result<GatewaySettings> {
        let listen = self.listen.unwrap_or_else(|| {
            SocketAddr::new(
                pick(None, file.listen, up::DEFAULT_LISTEN),
                pick(None, file.postgres.port, up::DEFAULT_PG_PORT),
            )
        });
        Ok(GatewaySettings {
            listen,
            engine_socket: gateway_engine_socket(self.engine_socket.clone(), file)?,
            plugin: require(
                self.plugin.clone(),
                file.postgres.plugin.clone(),
                "--plugin",
                "ROSETTA_POSTGRES_PLUGIN",
                "[postgres] plugin",
            )?,
            pid_file: self
                .pid_file
                .clone()
                .or_else(|| file.postgres.pid_file.clone()),
        })
    }
}

impl MysqlArgs {
    fn resolve(&self, file: &Config) -> anyhow::Result<GatewaySettings> {
        let listen = self.listen.unwrap_or_else(|| {
            SocketAddr::new(
                pick(None, file.listen, up::DEFAULT_LISTEN),
                pick(None, file.mysql.port, up::DEFAULT_MYSQL_PORT),
            )
        });
        Ok(GatewaySettings {
            listen,
            engine_socket: gateway_engine_socket(self.engine_socket.clone(), file)?,
            plugin: require(
                self.plugin.clone(),
                file.mysql.plugin.clone(),
                "--plugin",
                "ROSETTA_MYSQL_PLUGIN",
                "[mysql] plugin",
            )?,
            pid_file: self
                .pid_file
                .clone()
                .or_else(|| file.mysql.pid_file.clone()),
        })
    }
}

/// mimalloc instead of glibc's allocator: the engine and the gateways allocate many small,
/// short-lived buffers per statement, and glibc's malloc showed up as a fifth of the
/// engine's CPU time under pgbench (docs/benchmarks.md, "Profile").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rosetta: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    // `plugin check` runs in throw-away probe processes: it needs no configuration.
    let file = match &cli.command {
        Command::Plugin { .. } => Config::default(),
        _ => Config::load_optional(cli.config.as_deref())?,
    };
    let log = effective_log(&cli, &file);
    init_tracing(log.as_deref());
    match cli.command {
        Command::Up(args) => up::run(args.resolve(&file, cli.config.as_deref(), log)?),
        Command::Engine(args) => run_engine(args.resolve(&file)?),
        Command::Gateway {
            protocol: GatewayCommand::Postgres(args),
        } => {
            let settings = args.resolve(&file)?;
            run_postgres_gateway(settings, &args, &file)
        }
        Command::Gateway {
            protocol: GatewayCommand::Firebird(args),
        } => {
            let settings = args.resolve(&file)?;
            let shutdown_timeout = pick(
                args.shutdown_timeout,
                file.shutdown_timeout,
                up::DEFAULT_SHUTDOWN_TIMEOUT,
            );
            run_firebird_gateway(settings, shutdown_timeout)
        }
        Command::Gateway {
            protocol: GatewayCommand::Mysql(args),
        } => {
            let settings = args.resolve(&file)?;
            let default_database = pick(
                args.default_database,
                file.mysql.default_database.clone(),
                "rosetta".into(),
            );
            let shutdown_timeout = pick(
                args.shutdown_timeout,
                file.shutdown_timeout,
                up::DEFAULT_SHUTDOWN_TIMEOUT,
            );
            run_mysql_gateway(settings, default_database, shutdown_timeout)
        }
        Command::Reload(args) => lifecycle::reload(args.resolve(&file)),
        Command::Plugin {
            command: PluginCommand::Check { path },
        } => lifecycle::check_plugin(&path),
    }
}

/// The log filter from `--log`/`ROSETTA_LOG`, else from the file (else `None`: `RUST_LOG`
/// or `info`, see [`init_tracing`]).
fn effective_log(cli: &Cli, file: &Config) -> Option<String> {
    cli.log.clone().or_else(|| file.log.clone())
}

/// Logs to stderr. The filter: `--log`/`ROSETTA_LOG`, else `log` in the config file,
/// else `RUST_LOG`, else `info`.
fn init_tracing(filter: Option<&str>) {
    let filter = filter
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .or_else(|| tracing_subscriber::EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new("info"));
    // No colour codes in files and the journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run_engine(config: rosetta_engine::daemon::Config) -> anyhow::Result<ExitCode> {
    rosetta_engine::daemon::run(config)?;
    Ok(ExitCode::SUCCESS)
}

fn run_postgres_gateway(
    args: GatewaySettings,
    options: &PostgresArgs,
    file: &Config,
) -> anyhow::Result<ExitCode> {
    let max_message_size = pick(
        options.max_message_size,
        file.postgres.max_message_size,
        rosetta_gateway::postgres::DEFAULT_MAX_MESSAGE_SIZE,
    );
    let shutdown_timeout = pick(
        options.shutdown_timeout,
        file.shutdown_timeout,
        up::DEFAULT_SHUTDOWN_TIMEOUT,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let plugins = Arc::new(
            PluginHost::load(&args.plugin)
                .with_context(|| format!("cannot load plugin {}", args.plugin.display()))?,
        );
        lifecycle::log_active(&plugins, "plugin loaded");
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| up::listen_error(args.listen.ip(), args.listen.port(), e))?;
        let _pid_file = args
            .pid_file
            .as_deref()
            .map(lifecycle::PidFile::create)
            .transpose()?;
        let mut config = ServerConfig::new(args.engine_socket.clone());
        config.max_message_size = max_message_size;
        config.shutdown_timeout = std::time::Duration::from_secs(shutdown_timeout);
        let gateway = PostgresGateway::new(config, plugins.clone());

        lifecycle::spawn_reload_on_sighup(plugins.clone(), args.plugin.clone(), "postgres")?;
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let shutdown = async move {
            let sig = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            rosetta_engine::sd_notify::stopping(&format!("stopping on {sig}"));
            tracing::info!("postgres gateway stopping on {sig}");
        };
        let local = listener
            .local_addr()
            .map_err(|e| anyhow!("listener has no address: {e}"))?;
        tracing::info!(engine = %args.engine_socket.display(), "postgres gateway listening on {local}");
        rosetta_engine::sd_notify::ready(&format!(
            "serving postgres on {local}; plugin {}",
            plugins.active().describe()
        ));
        lifecycle::spawn_watchdog();
        gateway.serve(listener, shutdown).await?;
        tracing::info!("postgres gateway stopped");
        Ok(ExitCode::SUCCESS)
    })
}

fn run_mysql_gateway(
    args: GatewaySettings,
    default_database: String,
    shutdown_timeout: u64,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let plugins = Arc::new(
            PluginHost::load(&args.plugin)
                .with_context(|| format!("cannot load plugin {}", args.plugin.display()))?,
        );
        lifecycle::log_active(&plugins, "plugin loaded");
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| up::listen_error(args.listen.ip(), args.listen.port(), e))?;
        let _pid_file = args
            .pid_file
            .as_deref()
            .map(lifecycle::PidFile::create)
            .transpose()?;
        let mut config = rosetta_gateway::MysqlConfig::new(args.engine_socket.clone());
        config.default_database = default_database;
        config.shutdown_timeout = std::time::Duration::from_secs(shutdown_timeout);
        let gateway = rosetta_gateway::MysqlGateway::new(config, plugins.clone());
        lifecycle::spawn_reload_on_sighup(plugins.clone(), args.plugin.clone(), "mysql")?;
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let shutdown = async move {
            let sig = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            rosetta_engine::sd_notify::stopping(&format!("stopping on {sig}"));
            tracing::info!("mysql gateway stopping on {sig}");
        };
        let local = listener
            .local_addr()
            .map_err(|e| anyhow!("listener has no address: {e}"))?;
        tracing::info!(engine = %args.engine_socket.display(), "mysql gateway listening on {local}");
        gateway.serve(listener, shutdown).await?;
        tracing::info!("mysql gateway stopped");
        Ok(ExitCode::SUCCESS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::sync::Mutex;

    /// Tests that read or change `ROSETTA_*` variables hold this: the environment is
    /// shared by every test thread.
    static ENV_LOCK: Mutex<()> = Mutex::new(());

    /// Runs `f` with exactly `vars` set among the `ROSETTA_*` variables.
    fn with_env<R>(vars: &[(&str, &str)], f: impl FnOnce() -> R) -> R {
        let _guard = ENV_LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let saved: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("ROSETTA_"))
            .collect();
        for (k, _) in &saved {
            std::env::remove_var(k);
        }
        for (k, v) in vars {
            std::env::set_var(k, v);
        }
        let result = f();
        for (k, _) in vars {
            std::env::remove_var(k);
        }
        for (k, v) in saved {
            std::env::set_var(k, v);
        }
        result
    }

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("rosetta").chain(args.iter().copied())).expect("parse")
    }

    /// The file used by the precedence tests: every value differs from the default.
    fn file() -> Config {
        Config::parse(
            r#"
            data_dir = "/file/data"
            listen = "10.0.0.3"
            admin_user = "file-admin"
            shutdown_timeout = 33
            log = "debug"
            run_dir = "/file/run"
            [engine]
            socket = "/file/engine.sock"
            [postgres]
            port = 3003
            plugin = "/file/pg.so"
            max_message_size = 3000
            [mysql]
            port = 3306
            plugin = "/file/my.so"
            "#,
        )
        .expect("test file")
    }

    fn up(cli: Cli, file: &Config) -> up::UpSettings {
        let log = effective_log(&cli, file);
        let config = cli.config.clone();
        let Command::Up(args) = cli.command else {
            panic!("not up")
        };
        args.resolve(file, config.as_deref(), log).expect("resolve")
    }

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn gateway_arguments_parse() {
        let cli = with_env(&[], || {
            parse(&[
                "gateway",
                "postgres",
                "--listen",
                "127.0.0.1:5433",
                "--engine-socket",
                "/tmp/e.sock",
                "--plugin",
                "/tmp/p.so",
            ])
        });
        let Command::Gateway {
            protocol: GatewayCommand::Postgres(args),
        } = cli.command
        else {
            panic!("wrong subcommand")
        };
        let s = args.resolve(&Config::default()).expect("resolve");
        assert_eq!(s.listen.port(), 5433);
        assert_eq!(s.plugin, PathBuf::from("/tmp/p.so"));
    }

    #[test]
    fn up_precedence_flag_env_file_default() {
        let env = [
            ("ROSETTA_POSTGRES_PORT", "2002"),
            ("ROSETTA_DATA_DIR", "/env/data"),
            ("ROSETTA_LISTEN", "10.0.0.2"),
            ("ROSETTA_SHUTDOWN_TIMEOUT", "22"),
            ("ROSETTA_ADMIN_USER", "env-admin"),
            ("ROSETTA_LOG", "warn"),
        ];
        let flags = [
            "--log",
            "error",
            "up",
            "--pg-port",
            "1001",
            "--data-dir",
            "/flag/data",
            "--listen",
            "10.0.0.1",
            "--shutdown-timeout",
            "11",
            "--admin-user",
            "flag-admin",
        ];
        // Flag beats env beats file.
        let s = with_env(&env, || up(parse(&flags), &file()));
        assert_eq!(s.pg_port, 1001);
        assert_eq!(s.data_dir, PathBuf::from("/flag/data"));
        assert_eq!(s.listen.to_string(), "10.0.0.1");
        assert_eq!(s.shutdown_timeout, 11);
        assert_eq!(s.admin_user, "flag-admin");
        assert_eq!(s.log.as_deref(), Some("error"));
        // Env beats file.
        let s = with_env(&env, || up(parse(&["up"]), &file()));
        assert_eq!(s.pg_port, 2002);
        assert_eq!(s.data_dir, PathBuf::from("/env/data"));
        assert_eq!(s.listen.to_string(), "10.0.0.2");
        assert_eq!(s.shutdown_timeout, 22);
        assert_eq!(s.admin_user, "env-admin");
        assert_eq!(s.log.as_deref(), Some("warn"));
        // File beats default; keys given nowhere else come from the file.
        let s = with_env(&[], || up(parse(&["up"]), &file()));
        assert_eq!(s.pg_port, 3003);
        assert_eq!(s.mysql_port, 3306);
        assert_eq!(s.data_dir, PathBuf::from("/file/data"));
        assert_eq!(s.listen.to_string(), "10.0.0.3");
        assert_eq!(s.shutdown_timeout, 33);
        assert_eq!(s.admin_user, "file-admin");
        assert_eq!(s.log.as_deref(), Some("debug"));
        assert_eq!(s.engine_socket, Some(PathBuf::from("/file/engine.sock")));
        assert_eq!(s.pg_plugin, Some(PathBuf::from("/file/pg.so")));
        assert_eq!(s.run_dir, Some(PathBuf::from("/file/run")));
        // Defaults.
        let s = with_env(&[], || up(parse(&["up"]), &Config::default()));
        assert_eq!(s.pg_port, up::DEFAULT_PG_PORT);
        assert_eq!(s.mysql_port, up::DEFAULT_MYSQL_PORT);
        assert_eq!(s.data_dir, PathBuf::from(up::DEFAULT_DATA_DIR));
        assert_eq!(s.listen, up::DEFAULT_LISTEN);
        assert_eq!(s.shutdown_timeout, up::DEFAULT_SHUTDOWN_TIMEOUT);
        assert_eq!(s.admin_user, "admin");
        assert_eq!(s.log, None);
        assert_eq!(s.engine_socket, None);
        assert_eq!(s.firebird_port, None);
    }

    #[test]
    fn config_file_comes_from_flag_or_env() {
        let cli = with_env(&[("ROSETTA_CONFIG", "/env/rosetta.toml")], || {
            parse(&["up"])
        });
        assert_eq!(cli.config, Some(PathBuf::from("/env/rosetta.toml")));
        // Global: accepted after the subcommand too, and it beats the variable.
        let cli = with_env(&[("ROSETTA_CONFIG", "/env/rosetta.toml")], || {
            parse(&["reload", "--config", "/flag/rosetta.toml"])
        });
        assert_eq!(cli.config, Some(PathBuf::from("/flag/rosetta.toml")));
        // `up` hands the file on to its children as an absolute path.
        let s = with_env(&[], || {
            up(
                parse(&["--config", "rel/rosetta.toml", "up"]),
                &Config::default(),
            )
        });
        let passed = s.config.expect("config passed on");
        assert!(passed.is_absolute() && passed.ends_with("rel/rosetta.toml"));
    }

    #[test]
    fn engine_precedence_flag_env_file_default() {
        let engine = |args: &[&str], env: &[(&str, &str)], file: &Config| {
            let cli = with_env(env, || parse(args));
            let Command::Engine(args) = cli.command else {
                panic!("not engine")
            };
            args.resolve(file)
        };
        let env = [
            ("ROSETTA_DATA_DIR", "/env/data"),
            ("ROSETTA_ENGINE_SOCKET", "/env/e.sock"),
        ];
        let c = engine(
            &[
                "engine",
                "--data-dir",
                "/flag/data",
                "--socket",
                "/flag/e.sock",
            ],
            &env,
            &file(),
        )
        .expect("resolve");
        assert_eq!(c.data_dir, PathBuf::from("/flag/data"));
        assert_eq!(c.socket_path, PathBuf::from("/flag/e.sock"));
        let c = engine(&["engine"], &env, &file()).expect("resolve");
        assert_eq!(c.data_dir, PathBuf::from("/env/data"));
        assert_eq!(c.socket_path, PathBuf::from("/env/e.sock"));
        let c = engine(&["engine"], &[], &file()).expect("resolve");
        assert_eq!(c.data_dir, PathBuf::from("/file/data"));
        assert_eq!(c.socket_path, PathBuf::from("/file/engine.sock"));
        assert_eq!(c.admin_user, "file-admin");
        // Default socket is inside the data directory; the data directory has no default.
        let c = engine(&["engine", "--data-dir", "/d"], &[], &Config::default()).expect("ok");
        assert_eq!(c.socket_path, PathBuf::from("/d/engine.sock"));
        assert_eq!(c.admin_user, "admin");
        let err = engine(&["engine"], &[], &Config::default()).expect_err("no data dir");
        assert!(err.to_string().contains("--data-dir is required"), "{err}");
        assert!(err.to_string().contains("ROSETTA_DATA_DIR"), "{err}");
    }

    #[test]
    fn gateway_precedence_flag_env_file_default() {
        let postgres = |args: &[&str], env: &[(&str, &str)]| {
            let cli = with_env(env, || parse(args));
            let Command::Gateway {
                protocol: GatewayCommand::Postgres(args),
            } = cli.command
            else {
                panic!("not postgres")
            };
            args
        };
        let env = [
            ("ROSETTA_POSTGRES_LISTEN", "10.0.0.2:2002"),
            ("ROSETTA_POSTGRES_PLUGIN", "/env/pg.so"),
            ("ROSETTA_SHUTDOWN_TIMEOUT", "22"),
        ];
        let a = postgres(
            &[
                "gateway",
                "postgres",
                "--listen",
                "10.0.0.1:1001",
                "--plugin",
                "/flag/pg.so",
                "--shutdown-timeout",
                "11",
            ],
            &env,
        );
        let s = a.resolve(&file()).expect("resolve");
        assert_eq!(s.listen.to_string(), "10.0.0.1:1001");
        assert_eq!(s.plugin, PathBuf::from("/flag/pg.so"));
        assert_eq!(a.shutdown_timeout, Some(11));
        let a = postgres(&["gateway", "postgres"], &env);
        let s = a.resolve(&file()).expect("resolve");
        assert_eq!(s.listen.to_string(), "10.0.0.2:2002");
        assert_eq!(s.plugin, PathBuf::from("/env/pg.so"));
        assert_eq!(a.shutdown_timeout, Some(22));
        // The file: listen address + [postgres] port, plugin, socket.
        let a = postgres(&["gateway", "postgres"], &[]);
        let s = a.resolve(&file()).expect("resolve");
        assert_eq!(s.listen.to_string(), "10.0.0.3:3003");
        assert_eq!(s.plugin, PathBuf::from("/file/pg.so"));
        assert_eq!(s.engine_socket, PathBuf::from("/file/engine.sock"));
        assert_eq!(
            a.shutdown_timeout, None,
            "the file's value is applied later"
        );
        // Without [engine] socket the file's data_dir gives it.
        let only_dir =
            Config::parse("data_dir = \"/d\"\n[postgres]\nplugin = \"/p.so\"").expect("toml");
        let s = a.resolve(&only_dir).expect("resolve");
        assert_eq!(s.engine_socket, PathBuf::from("/d/engine.sock"));
        assert_eq!(s.listen.to_string(), "127.0.0.1:15432");
        let err = a
            .resolve(&Config::default())
            .expect_err("no socket, no plugin");
        assert!(
            err.to_string().contains("--engine-socket is required"),
            "{err}"
        );
    }

    #[test]
    fn reload_precedence_flag_env_file_default() {
        let reload = |args: &[&str], env: &[(&str, &str)], file: &Config| {
            let cli = with_env(env, || parse(args));
            let Command::Reload(args) = cli.command else {
                panic!("not reload")
            };
            args.resolve(file)
        };
        let env = [("ROSETTA_RUN_DIR", "/env/run")];
        let p = reload(&["reload", "--run-dir", "/flag/run"], &env, &file());
        assert_eq!(p.run_dir, PathBuf::from("/flag/run"));
        assert_eq!(
            reload(&["reload"], &env, &file()).run_dir,
            PathBuf::from("/env/run")
        );
        assert_eq!(
            reload(&["reload"], &[], &file()).run_dir,
            PathBuf::from("/file/run")
        );
        let p = reload(
            &["reload"],
            &[("ROSETTA_DATA_DIR", "/env/data")],
            &Config::default(),
        );
        assert_eq!(p.run_dir, PathBuf::from("/env/data/run"));
        let p = reload(&["reload"], &[], &Config::default());
        assert_eq!(p.run_dir, PathBuf::from("./rosetta-data/run"));
    }

    #[test]
    fn every_option_has_a_one_line_help_and_an_env_var() {
        fn walk(cmd: &clap::Command, path: &str) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
                assert!(!help.is_empty(), "{path} {id} has no help");
                assert!(!help.contains('\n'), "{path} {id}: help is not one line");
                if arg.get_long().is_some() {
                    let env = arg.get_env().map(|e| e.to_string_lossy().to_string());
                    assert!(
                        env.as_deref().is_some_and(|e| e.starts_with("ROSETTA_")),
                        "{path} --{id} has no ROSETTA_* variable"
                    );
                }
            }
            for sub in cmd.get_subcommands() {
                assert!(
                    sub.get_about().is_some(),
                    "{path} {} has no about",
                    sub.get_name()
                );
                walk(sub, &format!("{path} {}", sub.get_name()));
            }
        }
        walk(&Cli::command(), "rosetta");
    }
}
