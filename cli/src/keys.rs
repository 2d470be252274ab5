//! Keys in live modes and what they do: the terminal's key presses as commands, and their effect
//! on an animation element (recalibration, and the portraits or styles n and p cycle through).

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

/// What n and p cycle through while live.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Choices {
    /// Nothing: n and p do nothing.
    #[default]
    Nothing,
    /// The images of the portrait's folder (the portrait, or the folder it is in), sorted.
    Portraits(PathBuf),
    /// The style networks imported into the folder of model sets `models`, `current` first.
    Styles { models: PathBuf, current: String },
}

/// What a key did to the animation.
pub enum KeyEffect {
    Recalibrated,
    Portrait(PathBuf),
    Style(String),
}

/// The keys' effect on an animation element: recalibration, and the portraits (the folder of the
/// portrait it started with) or the imported styles n and p cycle through.
pub struct AnimationKeys {
    choices: Vec<PathBuf>,
    /// The element's property a choice is set to: `source` (portraits) or `model-dir` (styles).
    property: &'static str,
    current: usize,
}

impl AnimationKeys {
    pub fn new(choices: &Choices) -> AnimationKeys {
        match choices {
            Choices::Nothing => AnimationKeys {
                choices: Vec::new(),
                property: "source",
                current: 0,
            },
            Choices::Portraits(portrait) => {
                let portraits = portrait_list(portrait);
                let current = first_portrait(portrait)
                    .and_then(|p| {
                        let wanted = p.canonicalize().ok()?;
                        portraits
                            .iter()
                            .position(|q| q.canonicalize().ok().as_ref() == Some(&wanted))
                    })
                    .unwrap_or(0);
                AnimationKeys {
                    choices: portraits,
                    property: "source",
                    current,
                }
            }
            Choices::Styles { models, current } => {
                let names = animecam::model_sets::imported_styles(models);
                AnimationKeys {
                    current: names.iter().position(|name| name == current).unwrap_or(0),
                    choices: names
                        .iter()
                        .map(|name| animecam::model_sets::style_dir(models, name))
                        .collect(),
                    property: "model-dir",
                }
            }
        }
    }

    /// Gives a new `animate` (a pipeline built again) the portrait or style chosen last.
    pub fn restore(&self, animate: &gst::Element) {
        if let Some(path) = self.choices.get(self.current) {
            if animate.has_property(self.property) {
                animate.set_property(self.property, path.to_string_lossy().to_string());
            }
        }
    }

    /// What n and p cycle through, for the keys' help line.
    pub fn cycles(&self) -> &'static str {
        match self.property {
            "model-dir" => "style",
            _ => "portrait",
        }
    }

    /// Does what `command` asks of `animate`; what it did, if anything.
    pub fn apply(&mut self, animate: &gst::Element, command: Command) -> Option<KeyEffect> {
        match command {
            Command::Recalibrate if animate.has_property("engine") => {
                animate.emit_by_name::<()>("recalibrate", &[]);
                Some(KeyEffect::Recalibrated)
            }
            Command::NextPortrait | Command::PreviousPortrait
                if !self.choices.is_empty() && animate.has_property(self.property) =>
            {
                let count = self.choices.len();
                self.current = match command {
                    Command::NextPortrait => (self.current + 1) % count,
                    _ => (self.current + count - 1) % count,
                };
                let path = self.choices[self.current].clone();
                animate.set_property(self.property, path.to_string_lossy().to_string());
                Some(match self.property {
                    "model-dir" => KeyEffect::Style(
                        path.file_name()
                            .unwrap_or_default()
                            .to_string_lossy()
                            .to_string(),
                    ),
                    _ => KeyEffect::Portrait(path),
                })
            }
            _ => None,
        }
    }
}
