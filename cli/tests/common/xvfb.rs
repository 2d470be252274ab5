//! An X server of our own for the window tests (Xvfb), stopped when dropped. Only std, so that
//! the studio's own tests inside the binary include it too (`#[path]`).

use std::process::{Child, Command, Stdio};

/// An X server of our own, stopped when dropped.
pub struct Xvfb {
    child: Child,
    pub display: String,
}

impl Xvfb {
    /// A 1280x720 screen.
    pub fn start() -> Xvfb {
        Xvfb::with_screen("1280x720x24")
    }

    /// A screen of this size (`WIDTHxHEIGHTxDEPTH`).
    pub fn with_screen(screen: &str) -> Xvfb {
        // Xvfb picks a free display itself and writes its number to the -displayfd descriptor
        // once it accepts connections: no race on display numbers, no stale socket taken for a
        // running server.
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                screen,
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb not installed: run `make setup` (it installs the xvfb package)");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let number: u32 = line.trim().parse().expect("Xvfb says its display number");
        let display = format!(":{number}");
        Xvfb { child, display }
    }
}

impl Drop for Xvfb {
    /// SIGTERM, so that the server removes its lock and socket (SIGKILL would leave them).
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}
