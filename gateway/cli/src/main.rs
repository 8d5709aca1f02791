//! `rosetta`: the one command a newcomer runs (`rosetta up`), and the entry points of the
//! processes it supervises (`rosetta engine`, `rosetta gateway postgres`).
//!
//! Every Rosetta process is this same executable: `up` re-executes itself with the
//! `engine` and `gateway` subcommands, so one build always runs matching versions of all
//! of them. Production runs those subcommands directly under systemd.

mod lifecycle;
mod up;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context as _};
use clap::{Args, Parser, Subcommand};
use rosetta_gateway::{PluginHost, PostgresGateway, ServerConfig};
use tokio::signal::unix::{signal, SignalKind};

/// Rosetta: one SQL engine, three native wire protocols (PostgreSQL today; MySQL and
/// Firebird to come).
#[derive(Debug, Parser)]
#[command(name = "rosetta", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the engine and the protocol gateways in the foreground (Ctrl-C stops them).
    ///
    /// Creates the data directory on first start, together with the admin user (name
    /// from ROSETTA_ADMIN_USER, default "admin"; password from ROSETTA_ADMIN_PASSWORD, or
    /// generated and stored in DATA_DIR/admin-password). Prints one line per endpoint with
    /// a ready-to-paste client command.
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
    /// Data directory (created and bootstrapped on first start).
    #[arg(long, env = "ROSETTA_DATA_DIR", value_name = "DIR")]
    data_dir: PathBuf,
    /// Unix socket the gateways connect to [default: DIR/engine.sock].
    #[arg(long, value_name = "PATH")]
    socket: Option<PathBuf>,
    /// Name of the admin user created on first start.
    #[arg(
        long,
        env = "ROSETTA_ADMIN_USER",
        default_value = "admin",
        value_name = "NAME"
    )]
    admin_user: String,
    /// Password of the admin user on first start [default: generated, stored in
    /// DIR/admin-password].
    #[arg(
        long,
        env = "ROSETTA_ADMIN_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    admin_password: Option<String>,
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
}

/// Options of `rosetta gateway mysql`.
#[derive(Debug, Args)]
struct MysqlArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:13306", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// The engine's Unix socket.
    #[arg(long, value_name = "PATH")]
    engine_socket: PathBuf,
    /// The MySQL dialect plugin (librosetta_plugin_mysql.so).
    #[arg(long, value_name = "PATH")]
    plugin: PathBuf,
    /// The database a client lands in when it names none.
    #[arg(long, default_value = "rosetta", value_name = "NAME")]
    default_database: String,
    /// Write the process id here (what `rosetta reload` signals); removed on exit.
    #[arg(long, value_name = "PATH")]
    pid_file: Option<PathBuf>,
}

/// Options of `rosetta gateway postgres`.
#[derive(Debug, Args)]
struct PostgresArgs {
    /// Address and port to listen on.
    #[arg(long, default_value = "127.0.0.1:15432", value_name = "ADDR:PORT")]
    listen: SocketAddr,
    /// The engine's Unix socket.
    #[arg(long, value_name = "PATH")]
    engine_socket: PathBuf,
    /// The PostgreSQL dialect plugin (librosetta_plugin_postgres.so).
    #[arg(long, value_name = "PATH")]
    plugin: PathBuf,
    /// Largest client message accepted, in bytes.
    #[arg(long, default_value_t = rosetta_gateway::postgres::DEFAULT_MAX_MESSAGE_SIZE, value_name = "BYTES")]
    max_message_size: usize,
    /// On SIGTERM, how long running statements may take to finish, in seconds, before
    /// they are cancelled.
    #[arg(
        long,
        env = "ROSETTA_SHUTDOWN_TIMEOUT",
        default_value_t = 10,
        value_name = "SECONDS"
    )]
    shutdown_timeout: u64,
    /// Write the process id here (what `rosetta reload` signals); removed on exit.
    #[arg(long, value_name = "PATH")]
    pid_file: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Up(args) => up::run(args),
        Command::Engine(args) => run_engine(args),
        Command::Gateway {
            protocol: GatewayCommand::Postgres(args),
        } => run_postgres_gateway(args),
        Command::Gateway {
            protocol: GatewayCommand::Mysql(args),
        } => run_mysql_gateway(args),
        Command::Reload(args) => lifecycle::reload(args),
        Command::Plugin {
            command: PluginCommand::Check { path },
        } => lifecycle::check_plugin(&path),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rosetta: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `RUST_LOG` filters (default `info`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // No colour codes in files and the journal.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run_engine(args: EngineArgs) -> anyhow::Result<ExitCode> {
    let socket_path = args
        .socket
        .unwrap_or_else(|| args.data_dir.join("engine.sock"));
    rosetta_engine::daemon::run(rosetta_engine::daemon::Config {
        data_dir: args.data_dir,
        socket_path,
        admin_user: args.admin_user,
        admin_password: args.admin_password,
    })?;
    Ok(ExitCode::SUCCESS)
}

fn run_postgres_gateway(args: PostgresArgs) -> anyhow::Result<ExitCode> {
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
        config.max_message_size = args.max_message_size;
        config.shutdown_timeout = std::time::Duration::from_secs(args.shutdown_timeout);
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

fn run_mysql_gateway(args: MysqlArgs) -> anyhow::Result<ExitCode> {
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
        config.default_database = args.default_database.clone();
        let gateway = rosetta_gateway::MysqlGateway::new(config, plugins.clone());
        lifecycle::spawn_reload_on_sighup(plugins.clone(), args.plugin.clone(), "mysql")?;
        let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let shutdown = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
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

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn gateway_arguments_parse() {
        let cli = Cli::try_parse_from([
            "rosetta",
            "gateway",
            "postgres",
            "--listen",
            "127.0.0.1:5433",
            "--engine-socket",
            "/tmp/e.sock",
            "--plugin",
            "/tmp/p.so",
        ])
        .expect("parse");
        let Command::Gateway {
            protocol: GatewayCommand::Postgres(args),
        } = cli.command
        else {
            panic!("wrong subcommand")
        };
        assert_eq!(args.listen.port(), 5433);
    }
}
