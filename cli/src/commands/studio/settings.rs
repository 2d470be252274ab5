//! What the studio keeps between runs, in the user's config folder
//! (`~/.config/animecam/studio.json`): written when the window closes, read when it opens. A
//! file that cannot be read is reported and the defaults are used; it is not overwritten until the
//! window closes with the user's new choices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The background behind the avatar, as the window offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Background {
    /// The portrait's own background.
    Portrait,
    /// One colour (0xRRGGBB) for a chroma key in OBS or the call app.
    Key(u32),
    /// None: the portrait's alpha moves with the avatar (recordings keep it, as MOV); a virtual
    /// camera and an H.264 stream cannot carry it.
    Transparent,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// The portrait's file name in the portraits folder.
    pub portrait: Option<String>,
    /// `warp`, `fomm` or `ugatit` (`--mode`'s names).
    pub mode: String,
    /// The warp's channel gains by name (`head`, `turn`, ...); a channel not here is at 1.
    pub gains: BTreeMap<String, f32>,
    /// fommanimate's `max-yaw` and `max-pitch`, in degrees (None: the element's default).
    pub max_yaw: Option<f32>,
    pub max_pitch: Option<f32>,
    pub background: Background,
    /// The key colour last picked, kept while the background is the portrait's.
    pub key_color: u32,
    /// Whether the camera is shown beside the avatar.
    pub show_camera: bool,
    /// The camera device (`/dev/videoN`); None: the first one.
    pub device: Option<String>,
    /// The camera's resolution, as `WIDTHxHEIGHT`; None: the camera's own choice.
    pub resolution: Option<String>,
    /// The port the OBS stream is served on.
    pub stream_port: u16,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            portrait: None,
            mode: "warp".to_owned(),
            gains: BTreeMap::new(),
            max_yaw: None,
            max_pitch: None,
            background: Background::Portrait,
            key_color: 0x00FF00,
            show_camera: true,
            device: None,
            resolution: None,
            stream_port: 8888,
        }
    }
}

/// The settings file in the user's config folder.
pub fn settings_path() -> Option<PathBuf> {
    dirs::config_dir().map(|dir| dir.join("animecam").join("studio.json"))
}

impl Settings {
    /// The settings kept at `path`, the defaults when there are none yet; a file that cannot be
    /// read says why (the window shows it and starts with the defaults).
    pub fn load(path: &Path) -> (Settings, Option<String>) {
        match std::fs::read_to_string(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Settings::default(), None),
            Err(e) => (
                Settings::default(),
                Some(format!("settings {}: {e}", path.display())),
            ),
            Ok(text) => match serde_json::from_str(&text) {
                Ok(settings) => (settings, None),
                Err(e) => (
                    Settings::default(),
                    Some(format!(
                        "settings {}: not the studio's settings ({e}); the defaults are used",
                        path.display()
                    )),
                ),
            },
        }
    }

    /// Writes the settings to `path` (through a file beside it, so that a crash never leaves
    /// half a file).
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let folder = path.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(folder)
            .map_err(|e| format!("cannot make {}: {e}", folder.display()))?;
        let text = serde_json::to_string_pretty(self).map_err(|e| e.to_string())?;
        let partial = path.with_extension("json.partial");
        std::fs::write(&partial, text)
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        std::fs::rename(&partial, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    pub fn gain(&self, channel: &str) -> f32 {
        self.gains.get(channel).copied().unwrap_or(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_back_as_they_were_saved() {
        let folder = std::env::temp_dir().join(format!("studio-settings-{}", std::process::id()));
        let path = folder.join("animecam").join("studio.json");
        let settings = Settings {
            portrait: Some("lucy happy.png".to_owned()),
            gains: [("mouth".to_owned(), 0.0)].into(),
            background: Background::Key(0x0000FF),
            ..Settings::default()
        };
        settings.save(&path).unwrap();
        assert_eq!(Settings::load(&path), (settings.clone(), None));
        assert_eq!(Settings::load(&path).0.gain("mouth"), 0.0);
        assert_eq!(Settings::load(&path).0.gain("turn"), 1.0);
        // A file that is not the studio's: the defaults, and why.
        std::fs::write(&path, "not json").unwrap();
        let (loaded, why) = Settings::load(&path);
        assert_eq!(loaded, Settings::default());
        assert!(why.unwrap().contains("not the studio's settings"));
        std::fs::remove_dir_all(folder).unwrap();
    }
}
