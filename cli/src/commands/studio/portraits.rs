//! The studio's portraits folder (`~/Pictures/animecam`): made on first run with the portraits
//! set-up fetched, listed for the window's strip, and added to by dropping a picture on the
//! window (copied in; nothing there is ever overwritten).

use std::path::{Path, PathBuf};

/// The anime portraits set-up fetches (`make setup`, into the checkout's `.cache/media`), which
/// a new portraits folder starts with.
const BUNDLED: [&str; 5] = [
    "sylvie_green_normal.png",
    "sylvie_green_smile.png",
    "sylvie_green_surprised.png",
    "eileen_happy.png",
    "lucy_happy.png",
];

/// Where set-up put the bundled portraits: the checkout this was built from.
fn bundled_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../.cache/media")
}

/// The user's portraits folder: `~/Pictures/animecam` (the desktop's pictures folder where it
/// names one).
pub fn default_folder() -> Option<PathBuf> {
    dirs::picture_dir()
        .or_else(|| dirs::home_dir().map(|home| home.join("Pictures")))
        .map(|pictures| pictures.join("animecam"))
}

/// Makes the folder on first run, with the bundled portraits in it; an existing folder is left
/// as it is (the user may have removed some on purpose).
pub fn prepare(folder: &Path) -> Result<(), String> {
    if folder.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(folder)
        .map_err(|e| format!("cannot make the portraits folder {}: {e}", folder.display()))?;
    for name in BUNDLED {
        let bundled = bundled_dir().join(name);
        if bundled.is_file() {
            std::fs::copy(&bundled, folder.join(name)).map_err(|e| {
                format!(
                    "cannot copy {} into {}: {e}",
                    bundled.display(),
                    folder.display()
                )
            })?;
        }
    }
    Ok(())
}

/// Whether the file is a picture the studio takes (by its name, as the portrait loader does).
pub fn is_picture(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// The pictures in the folder, by name; the features pictures `animecam portrait` draws beside
/// them are left out.
pub fn list(folder: &Path) -> Vec<PathBuf> {
    let mut pictures: Vec<PathBuf> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && is_picture(path))
        .filter(|path| {
            !path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.contains(".features."))
        })
        .collect();
    pictures.sort();
    pictures
}

/// Copies a dropped picture into the folder, under its own name or, when that is taken, the
/// name with ` (2)`, ` (3)`... before the extension: nothing in the folder is overwritten.
pub fn add(folder: &Path, picture: &Path) -> Result<PathBuf, String> {
    if !is_picture(picture) {
        return Err(format!(
            "{}: not a PNG or JPEG picture (a portrait is a .png, .jpg or .jpeg file)",
            picture.display()
        ));
    }
    animecam::portrait::check_size(picture).map_err(|e| e.to_string())?;
    let stem = picture
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("portrait");
    let extension = picture
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("png");
    let mut target = folder.join(format!("{stem}.{extension}"));
    let mut copy = 1;
    while target.exists() {
        copy += 1;
        target = folder.join(format!("{stem} ({copy}).{extension}"));
    }
    std::fs::copy(picture, &target).map_err(|e| {
        format!(
            "cannot copy {} into {}: {e}",
            picture.display(),
            folder.display()
        )
    })?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_picture_never_overwrites_one_in_the_folder() {
        let folder = std::env::temp_dir().join(format!("studio-portraits-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&folder);
        prepare(&folder).unwrap();
        let bundled = list(&folder);
        let sylvie = bundled_dir().join("sylvie_green_normal.png");
        assert!(
            bundled.contains(&folder.join("sylvie_green_normal.png")),
            "a new folder starts with the bundled portraits (run `make setup` to fetch them): {bundled:?}"
        );
        let before = std::fs::read(folder.join("sylvie_green_normal.png")).unwrap();
        let added = add(&folder, &sylvie).unwrap();
        assert_eq!(added, folder.join("sylvie_green_normal (2).png"));
        assert_eq!(
            std::fs::read(folder.join("sylvie_green_normal.png")).unwrap(),
            before
        );
        assert_eq!(list(&folder).len(), bundled.len() + 1);
        let text = folder.join("notes.txt");
        std::fs::write(&text, "x").unwrap();
        assert!(add(&folder, &text)
            .unwrap_err()
            .contains("not a PNG or JPEG"));
        std::fs::remove_dir_all(folder).unwrap();
    }
}
