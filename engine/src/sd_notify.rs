//! systemd's readiness protocol (`sd_notify(3)`), without libsystemd.
//!
//! When a service runs with `Type=notify`, systemd passes the path of a datagram socket
//! in `NOTIFY_SOCKET`; the service sends newline-separated `KEY=VALUE` assignments there:
//! `READY=1` once it serves, `RELOADING=1` + `MONOTONIC_USEC=…` when a reload starts (then
//! `READY=1` again), `STOPPING=1` on shutdown, `STATUS=…` free text for `systemctl
//! status`, `WATCHDOG=1` keep-alives when `WATCHDOG_USEC` is set. Outside systemd (no
//! `NOTIFY_SOCKET`) every call is a cheap no-op. Paths starting with `@` name Linux
//! abstract sockets.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Sends `state` (newline-separated assignments) to `$NOTIFY_SOCKET`. Returns `Ok(false)`
/// when there is no socket to notify (not running under systemd).
pub fn notify(state: &str) -> io::Result<bool> {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return Ok(false);
    };
    if path.is_empty() {
        return Ok(false);
    }
    let socket = UnixDatagram::unbound()?;
    let bytes = path.as_encoded_bytes();
    if let Some(name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
        socket.send_to_addr(state.as_bytes(), &addr)?;
    } else {
        socket.send_to(state.as_bytes(), &path)?;
    }
    Ok(true)
}

/// [`notify`], logging instead of returning a failure (a lost notification must never
/// stop the service).
pub fn notify_or_log(state: &str) {
    if let Err(e) = notify(state) {
        tracing::warn!("sd_notify({}) failed: {e}", state.replace('\n', " "));
    }
}

/// `READY=1` with a status line.
pub fn ready(status: &str) {
    notify_or_log(&format!("READY=1\nSTATUS={}", one_line(status)));
}

/// `STOPPING=1` with a status line.
pub fn stopping(status: &str) {
    notify_or_log(&format!("STOPPING=1\nSTATUS={}", one_line(status)));
}

/// `STATUS=…` alone.
pub fn status(status: &str) {
    notify_or_log(&format!("STATUS={}", one_line(status)));
}

/// `RELOADING=1` with `MONOTONIC_USEC` (CLOCK_MONOTONIC now, as systemd ≥ 253 requires to
/// match the reload with its request) and a status line.
pub fn reloading(status: &str) {
    notify_or_log(&format!(
        "RELOADING=1\nMONOTONIC_USEC={}\nSTATUS={}",
        monotonic_usec(),
        one_line(status)
    ));
}

/// CLOCK_MONOTONIC in microseconds.
pub fn monotonic_usec() -> u64 {
    use nix::time::{clock_gettime, ClockId};
    match clock_gettime(ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => (ts.tv_sec() as u64) * 1_000_000 + (ts.tv_nsec() as u64) / 1_000,
        Err(_) => 0,
    }
}

/// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when it is set and
/// `WATCHDOG_PID` (if set) names this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    if usec == 0 {
        return None;
    }
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok()? != std::process::id() {
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2))
}

/// Sends `WATCHDOG=1`.
pub fn watchdog() {
    notify_or_log("WATCHDOG=1");
}

/// Status texts are single lines in the protocol.
fn one_line(s: &str) -> String {
    s.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_the_socket_in_the_environment() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).expect("bind");
        // Tests share the environment: set and read back in one test only.
        std::env::set_var("NOTIFY_SOCKET", &path);
        ready("serving");
        reloading("reloading plugin");
        std::env::remove_var("NOTIFY_SOCKET");
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=serving");
        let n = listener.recv(&mut buf).expect("recv");
        let text = String::from_utf8_lossy(&buf[..n]).to_string();
        assert!(text.starts_with("RELOADING=1\nMONOTONIC_USEC="), "{text}");
        assert!(!notify("READY=1").expect("no socket is fine"));
    }

    #[test]
    fn status_is_one_line() {
        assert_eq!(one_line("a\nb\rc"), "a b c");
    }
}
