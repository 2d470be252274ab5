//! Keys in live modes and what they do: the terminal's key presses as commands, and their effect
//! on an animation element (recalibration, and the portraits n and p cycle through).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use crossbeam_channel::{unbounded, Receiver};
use gst::prelude::*;

use crate::key_command::Command;

/// Reads keys in raw mode on a thread while the pipeline runs; nothing when stdin is no terminal.
pub struct Keys {
    pub receiver: Receiver<Command>,
    pub raw: bool,
}

impl Keys {
    pub fn start() -> Keys {
        let raw = std::io::stdin().is_terminal() && crossterm::terminal::enable_raw_mode().is_ok();
        if !raw {
            // No keys will come: a receiver that never yields (a disconnected one would make the
            // select loop spin and eat a core).
            return Keys {
                receiver: crossbeam_channel::never(),
                raw,
            };
        }
        let (sender, receiver) = unbounded();
        {
            std::thread::spawn(move || loop {
                use crossterm::event::{self, Event, KeyCode, KeyModifiers};
                let key = match event::read() {
                    Ok(Event::Key(key)) => key,
                    Ok(_) => continue,
                    // The terminal is gone: no more keys will come.
                    Err(_) => break,
                };
                let command = match key.code {
                    KeyCode::Char('r') | KeyCode::Char(' ') => Command::Recalibrate,
                    KeyCode::Char('n') | KeyCode::Right => Command::NextPortrait,
                    KeyCode::Char('p') | KeyCode::Left => Command::PreviousPortrait,
                    KeyCode::Char('q') | KeyCode::Esc => Command::Quit,
                    KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                        Command::Quit
                    }
                    _ => continue,
                };
                if sender.send(command).is_err() {
                    break;
                }
            });
        }
        Keys { receiver, raw }
    }
}

impl Drop for Keys {
    fn drop(&mut self) {
        if self.raw {
            let _ = crossterm::terminal::disable_raw_mode();
        }
    }
}

/// Portraits to cycle through with n/p: the images of the portrait's folder, sorted.
pub fn portrait_list(portrait: &Path) -> Vec<PathBuf> {
    let folder = if portrait.is_dir() {
        portrait.to_path_buf()
    } else {
        // A bare file name has an empty parent: the current folder.
        portrait
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from)
    };
    let mut images: Vec<PathBuf> = std::fs::read_dir(&folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            let ext = path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_ascii_lowercase();
            matches!(ext.as_str(), "png" | "jpg" | "jpeg")
        })
        .collect();
    images.sort();
    images
}

/// The first image of a folder, or the file itself.
pub fn first_portrait(portrait: &Path) -> Option<PathBuf> {
    if portrait.is_dir() {
        portrait_list(portrait).into_iter().next()
    } else {
        Some(portrait.to_path_buf())
    }
}

/// What a key did to the animation.
pub enum KeyEffect {
    Recalibrated,
    Portrait(PathBuf),
}

/// The keys' effect on an animation element: recalibration, and the portraits n and p cycle
/// through (the folder of the portrait it started with).
pub struct AnimationKeys {
    portraits: Vec<PathBuf>,
    current: usize,
}

impl AnimationKeys {
    pub fn new(portrait: Option<&Path>) -> AnimationKeys {
        let portraits = portrait.map(portrait_list).unwrap_or_default();
        let current = portrait
            .and_then(first_portrait)
            .and_then(|p| {
                let wanted = p.canonicalize().ok()?;
                portraits
                    .iter()
                    .position(|q| q.canonicalize().ok().as_ref() == Some(&wanted))
            })
            .unwrap_or(0);
        AnimationKeys { portraits, current }
    }

    /// The portrait shown now, when there is a folder to cycle through.
    pub fn portrait(&self) -> Option<&Path> {
        self.portraits.get(self.current).map(PathBuf::as_path)
    }

    /// Does what `command` asks of `animate`; what it did, if anything.
    pub fn apply(&mut self, animate: &gst::Element, command: Command) -> Option<KeyEffect> {
        match command {
            Command::Recalibrate if animate.has_property("engine") => {
                animate.emit_by_name::<()>("recalibrate", &[]);
                Some(KeyEffect::Recalibrated)
            }
            Command::NextPortrait | Command::PreviousPortrait
                if !self.portraits.is_empty() && animate.has_property("source") =>
            {
                let count = self.portraits.len();
                self.current = match command {
                    Command::NextPortrait => (self.current + 1) % count,
                    _ => (self.current + count - 1) % count,
                };
                let path = self.portraits[self.current].clone();
                animate.set_property("source", path.to_string_lossy().to_string());
                Some(KeyEffect::Portrait(path))
            }
            _ => None,
        }
    }
}
