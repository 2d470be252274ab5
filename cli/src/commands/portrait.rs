//! `animecam portrait FILE`: the portrait's face parts as the warp reads them, drawn over it for
//! a person to check, and kept in a sidecar the person may correct (the warp then takes it).

use std::path::{Path, PathBuf};

use animecam::animate::{AvatarMaker, AvatarSpec, DetectorSettings, Engine};
use animecam::image::{read_image, write_png, RgbImage};
use animecam::model_sets;
use animecam::warp::{sidecar_path, write_sidecar, FaceLayout};

use crate::args::PortraitArgs;
use crate::failure::Failure;

/// The side the warp's features are found at (its default picture).
const FIND_AT: usize = animecam::animate::DEFAULT_WARP_SIZE;
/// The margin around the face the warp frames a portrait with (the elements' default).
const MARGIN: f32 = 0.4;

pub fn run(args: PortraitArgs) -> Result<(), Failure> {
    let file = &args.file;
    if !file.is_file() {
        return Err(Failure::from(format!(
            "portrait {} not found: pass an existing PNG or JPEG file",
            file.display()
        )));
    }
    animecam::portrait::check_size(file).map_err(|e| Failure::from(e.to_string()))?;
    let out = match &args.out {
        Some(out) if out.exists() && !args.force => {
            return Err(Failure::from(format!(
                "{} exists: pass --force to replace it, or another --out",
                out.display()
            )))
        }
        Some(out) => out.clone(),
        None => {
            let mut name = file.as_os_str().to_owned();
            name.push(".features.png");
            PathBuf::from(name)
        }
    };
    if same_file(&out, file) {
        return Err(Failure::from(format!(
            "--out {} is the portrait itself: pass another file",
            out.display()
        )));
    }
    let models = args.models.clone().unwrap_or_else(model_sets::models_dir);
    let FoundParts {
        layout,
        width,
        height,
        from_sidecar,
        drawn,
    } = find_parts(file, &models)?;
    let sidecar = sidecar_path(file);
    if from_sidecar {
        println!(
            "using your {} (delete it to have the features found again)",
            sidecar.display()
        );
    } else {
        write_sidecar(file, &layout, width, height).map_err(|e| Failure::from(e.to_string()))?;
        println!(
            "wrote {}: correct any point there and the warp uses it",
            sidecar.display()
        );
    }
    write_png(&out, &drawn).map_err(|e| Failure::from(e.to_string()))?;
    let found = |found: bool| if found { "found" } else { "none found" };
    let drawn_brow = |brow: Option<[f32; 2]>| {
        if brow.is_some() {
            "drawn"
        } else {
            "hidden (held still)"
        }
    };
    println!(
        "irises: right {}, left {}; brows: right {}, left {}",
        found(layout.right_eye.iris.is_some()),
        found(layout.left_eye.iris.is_some()),
        drawn_brow(layout.right_brow),
        drawn_brow(layout.left_brow),
    );
    println!(
        "wrote {}: eyes green, irises blue, brows orange, nose, mouth and chin red, outline yellow",
        out.display()
    );
    Ok(())
}

/// A portrait's face parts as the warp reads them (found, or from the sidecar beside it), and
/// the portrait with them drawn over it.
pub struct FoundParts {
    pub layout: FaceLayout,
    /// The portrait's size, in whose pixels the layout is.
    pub width: usize,
    pub height: usize,
    pub from_sidecar: bool,
    /// Eyes green, irises blue, brows orange, nose, mouth and chin red, outline yellow.
    pub drawn: RgbImage,
}

/// Finds the portrait's face parts as the warp does (its warnings go to stderr) and draws them.
pub fn find_parts(file: &Path, models: &Path) -> Result<FoundParts, Failure> {
    let detector = DetectorSettings {
        dir: model_sets::BLAZEFACE.dir_in(models),
        ..DetectorSettings::default()
    };
    let maker = AvatarMaker::new(Engine::Warp, FIND_AT, detector);
    let avatar = maker
        .make(&AvatarSpec {
            path: file.to_path_buf(),
            crop: None,
            margin: MARGIN,
        })
        .map_err(|e| Failure::from(e.to_string()))?;
    for warning in avatar.warnings() {
        eprintln!("warning: {warning}");
    }
    let (layout, width, height) = avatar
        .layout_in_file()
        .ok_or("the portrait's face parts could not be placed (its eyes coincide)")?;
    let picture = read_image(file).map_err(|e| Failure::from(e.to_string()))?;
    let drawn = layout
        .drawn_on(&picture)
        .map_err(|e| Failure::from(e.to_string()))?;
    Ok(FoundParts {
        layout,
        width,
        height,
        from_sidecar: avatar.layout_from_sidecar(),
        drawn,
    })
}

/// Whether two paths name one file (both existing and the same), so a drawing never replaces
/// the portrait.
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
