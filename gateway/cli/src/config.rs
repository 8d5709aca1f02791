//! The configuration file (`--config FILE`, or `ROSETTA_CONFIG`): TOML, one schema for
//! every process, so that one file can serve `rosetta up`, `rosetta engine`, `rosetta
//! gateway …` and `rosetta reload` alike. Each command reads the keys it has options for
//! and ignores the others; a key the schema does not know is an error naming the file.
//!
//! Precedence, per option: command-line flag > `ROSETTA_*` environment variable > this
//! file > built-in default. Clap resolves the first two (each option is an `Option` with
//! an `env`, and no clap default), [`pick`] adds the last two.
//!
//! Relative paths in the file are taken relative to the directory holding the file, so
//! that a file and the plugins next to it can move together.
//!
//! `scripts/rosetta.example.toml` lists every key with its default;
//! `docs/operations.md` § Configuration documents them.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;

/// The whole file. Every table and key is optional.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Data directory (`up`, `engine`, `reload`).
    pub data_dir: Option<PathBuf>,
    /// Address the gateways listen on (`up`, and the gateways together with their port).
    pub listen: Option<IpAddr>,
    /// Directory holding the dialect plugins (`up`).
    pub plugin_dir: Option<PathBuf>,
    /// Directory of the gateways' pid files [default: DATA_DIR/run] (`up`, `reload`).
    pub run_dir: Option<PathBuf>,
    /// Admin user created on first start (`up`, `engine`).
    pub admin_user: Option<String>,
    /// Admin password set on first start (`up`, `engine`).
    pub admin_password: Option<String>,
    /// Seconds running statements get on SIGTERM (`up`, `gateway postgres`).
    pub shutdown_timeout: Option<u64>,
    /// Log filter, `RUST_LOG` syntax (every command).
    pub log: Option<String>,
    /// `[engine]`.
    #[serde(default)]
    pub engine: EngineSection,
    /// `[postgres]`.
    #[serde(default)]
    pub postgres: PostgresSection,
    /// `[mysql]`.
    #[serde(default)]
    pub mysql: MysqlSection,
    /// `[firebird]`.
    #[serde(default)]
    pub firebird: FirebirdSection,
}

/// `[engine]`.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    /// The engine's Unix socket [default: DATA_DIR/engine.sock].
    pub socket: Option<PathBuf>,
}

/// `[postgres]`: the PostgreSQL gateway.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostgresSection {
    /// Client port.
    pub port: Option<u16>,
    /// The dialect plugin.
    pub plugin: Option<PathBuf>,
    /// Largest client message, in bytes.
    pub max_message_size: Option<usize>,
    /// Pid file (for `rosetta reload`; `up` always uses RUN_DIR/gateway-postgres.pid).
    pub pid_file: Option<PathBuf>,
}

/// `[mysql]`: the MySQL gateway.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MysqlSection {
    /// Client port.
    pub port: Option<u16>,
    /// The dialect plugin.
    pub plugin: Option<PathBuf>,
    /// Database a client lands in when it names none.
    pub default_database: Option<String>,
    /// Pid file (for `rosetta reload`; `up` always uses RUN_DIR/gateway-mysql.pid).
    pub pid_file: Option<PathBuf>,
}

/// `[firebird]`: the Firebird gateway.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirebirdSection {
    /// Client port.
    pub port: Option<u16>,
    /// The dialect plugin.
    pub plugin: Option<PathBuf>,
    /// Pid file (for `rosetta reload`; `up` always uses RUN_DIR/gateway-firebird.pid).
    pub pid_file: Option<PathBuf>,
}

impl Config {
    /// Reads and checks `path`; relative paths in it become relative to its directory.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        let base = std::path::absolute(path)
            .with_context(|| format!("bad config file path {}", path.display()))?;
        let base = base.parent().unwrap_or(Path::new("/"));
        let mut config = Self::parse(&text)
            .with_context(|| format!("invalid config file {}", path.display()))?;
        config.resolve_paths(base);
        Ok(config)
    }

    /// Loads the file if one was named, else the empty configuration (all defaults).
    pub fn load_optional(path: Option<&Path>) -> anyhow::Result<Self> {
        path.map_or_else(|| Ok(Self::default()), Self::load)
    }

    /// Parses TOML text (no path resolution).
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        // The TOML error names the line, the column and, for an unknown key, the keys
        // that are allowed there; keep it whole (it spans several lines).
        toml::from_str(text).map_err(|e| anyhow::anyhow!("{}", e.to_string().trim_end()))
    }

    fn resolve_paths(&mut self, base: &Path) {
        let fields = [
            &mut self.data_dir,
            &mut self.plugin_dir,
            &mut self.run_dir,
            &mut self.engine.socket,
            &mut self.postgres.plugin,
            &mut self.postgres.pid_file,
            &mut self.mysql.plugin,
            &mut self.mysql.pid_file,
            &mut self.firebird.plugin,
            &mut self.firebird.pid_file,
        ];
        for field in fields {
            if let Some(p) = field.as_mut() {
                if p.is_relative() {
                    *p = normalize(&base.join(&*p));
                }
            }
        }
    }
}

/// Drops `.` and folds `..` lexically (`/etc/rosetta/../data` → `/etc/data`), so that
/// messages show plain paths. Symbolic links are not looked at: `base` is absolute and
/// the result is what the kernel would resolve for a path without symlinked parents.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            other => out.push(other),
        }
    }
    out
}

/// One option's effective value: flag or environment variable (already merged by
/// clap), else the configuration file, else the default.
pub fn pick<T>(flag_or_env: Option<T>, file: Option<T>, default: T) -> T {
    flag_or_env.or(file).unwrap_or(default)
}

/// Like [`pick`] for an option without a default: an error naming the three places it
/// can be given in when it is given in none.
pub fn require<T>(
    flag_or_env: Option<T>,
    file: Option<T>,
    flag: &str,
    env: &str,
    key: &str,
) -> anyhow::Result<T> {
    flag_or_env.or(file).ok_or_else(|| {
        anyhow::anyhow!("{flag} is required (or the environment variable {env}, or `{key}` in the --config file)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_file_parses_and_covers_every_key() {
        let text = include_str!("../../../scripts/rosetta.example.toml");
        let c = Config::parse(text).expect("the shipped example parses");
        // Every key is set in the example (uncommented), so none is left out of it.
        assert!(c.data_dir.is_some() && c.listen.is_some() && c.plugin_dir.is_some());
        assert!(c.run_dir.is_some() && c.admin_user.is_some() && c.admin_password.is_some());
        assert!(c.shutdown_timeout.is_some() && c.log.is_some() && c.engine.socket.is_some());
        let pg = &c.postgres;
        assert!(pg.port.is_some() && pg.plugin.is_some());
        assert!(pg.max_message_size.is_some() && pg.pid_file.is_some());
        let my = &c.mysql;
        assert!(my.port.is_some() && my.plugin.is_some());
        assert!(my.default_database.is_some() && my.pid_file.is_some());
        assert!(c.firebird.port.is_some() && c.firebird.plugin.is_some());
        assert!(c.firebird.pid_file.is_some());
    }

    #[test]
    fn empty_file_is_all_defaults() {
        assert_eq!(Config::parse("").expect("empty"), Config::default());
    }

    #[test]
    fn unknown_key_is_an_error_naming_the_file_and_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rosetta.toml");
        std::fs::write(&path, "data_dir = \"d\"\n[postgres]\nprot = 5432\n").expect("write");
        let err = format!("{:#}", Config::load(&path).expect_err("unknown key"));
        assert!(err.contains(&path.display().to_string()), "{err}");
        assert!(err.contains("prot"), "{err}");
        assert!(err.contains("port"), "the allowed keys are listed: {err}");

        for text in [
            "colour = true",
            "[gateway]\nport = 1",
            "[engine]\ndata_dir = \"x\"",
        ] {
            assert!(Config::parse(text).is_err(), "accepted: {text}");
        }
    }

    #[test]
    fn wrong_type_and_missing_file_are_errors() {
        let err = Config::parse("[postgres]\nport = \"high\"").expect_err("type");
        assert!(err.to_string().contains("port"), "{err}");
        assert!(Config::parse("listen = \"localhost:1\"").is_err());
        let err = Config::load(Path::new("/nonexistent/rosetta.toml")).expect_err("missing");
        assert!(
            format!("{err:#}").contains("cannot read config file /nonexistent/rosetta.toml"),
            "{err:#}"
        );
    }

    #[test]
    fn relative_paths_are_relative_to_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rosetta.toml");
        std::fs::write(
            &path,
            "data_dir = \"data\"\n[engine]\nsocket = \"/run/e.sock\"\n[postgres]\nplugin = \"lib/p.so\"\n",
        )
        .expect("write");
        let c = Config::load(&path).expect("load");
        assert_eq!(c.data_dir, Some(dir.path().join("data")));
        assert_eq!(c.engine.socket, Some(PathBuf::from("/run/e.sock")));
        assert_eq!(c.postgres.plugin, Some(dir.path().join("lib/p.so")));
        assert_eq!(
            normalize(Path::new("/etc/r/./../data")),
            PathBuf::from("/etc/data")
        );
    }

    #[test]
    fn pick_order() {
        assert_eq!(pick(Some(1), Some(2), 3), 1);
        assert_eq!(pick(None, Some(2), 3), 2);
        assert_eq!(pick(None, None, 3), 3);
        assert!(require::<u8>(None, None, "--x", "ROSETTA_X", "x").is_err());
        assert_eq!(
            require(None, Some(2), "--x", "ROSETTA_X", "x").ok(),
            Some(2)
        );
    }
}
