//! The portrait's face layout: where its eyes (with their irises), brows, nose, mouth, chin and
//! face outline are. Placed from the face detector's six landmarks with anime proportions, then
//! looked for in the portrait's pixels (irises, brows: `find`); or read from the sidecar a user
//! checked and corrected (`FILE.animecam.json`), which is then taken as it is.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::motion::Point;

/// A disc: an iris.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Circle {
    pub centre: Point,
    pub radius: f32,
}

/// One eye: the middle of its opening, its size corner to corner and lid to lid, and its iris.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Eye {
    pub centre: Point,
    pub width: f32,
    pub height: f32,
    /// The coloured disc inside the eye; `None` when none was found (the gaze then moves
    /// nothing in this eye).
    pub iris: Option<Circle>,
}

/// Where the portrait's face parts are, in pixels. "Right" and "left" are the character's: the
/// right eye is on the picture's left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaceLayout {
    pub right_eye: Eye,
    pub left_eye: Eye,
    /// The middle of each brow; `None` where no brow is drawn or the hair covers it (it then
    /// does not move).
    pub right_brow: Option<Point>,
    pub left_brow: Option<Point>,
    pub nose: Point,
    /// The middle of the drawn mouth line, and its width.
    pub mouth: Point,
    pub mouth_width: f32,
    pub chin: Point,
    /// The face's outline from the right temple down round the jaw (the chin apart) up to the
    /// left temple.
    pub outline: Vec<Point>,
}

/// The face's axes: the eye line's unit vector (from the right eye to the left), the unit vector
/// down the face, and the distance between the eyes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FaceAxes {
    pub along: Point,
    pub down: Point,
    pub eyes: f32,
}

impl FaceAxes {
    /// From the right and the left eye's centres; `None` when they (nearly) coincide.
    pub fn between(right: Point, left: Point) -> Option<FaceAxes> {
        let (dx, dy) = (left[0] - right[0], left[1] - right[1]);
        let eyes = dx.hypot(dy);
        if eyes < 1.0 {
            return None;
        }
        let along = [dx / eyes, dy / eyes];
        Some(FaceAxes {
            along,
            down: [-along[1], along[0]],
            eyes,
        })
    }

    /// The point `a` eye distances along the eye line and `d` down the face from `origin`.
    pub fn at(&self, origin: &Point, a: f32, d: f32) -> Point {
        [
            origin[0] + self.eyes * (a * self.along[0] + d * self.down[0]),
            origin[1] + self.eyes * (a * self.along[1] + d * self.down[1]),
        ]
    }
}

/// The outline's points, in half face widths along the eye line and half face heights down from
/// the middle between the ears: temple, cheek and jaw on each side.
const OUTLINE: [(f32, f32); 6] = [
    (-0.97, -0.45),
    (-0.97, 0.25),
    (-0.72, 0.75),
    (0.72, 0.75),
    (0.97, 0.25),
    (0.97, -0.45),
];

impl FaceLayout {
    /// Placed from BlazeFace's six landmarks (right eye, left eye, nose, mouth, right ear, left
    /// ear) with anime proportions: large eyes (0.62 by 0.5 eye distances), the mouth's drawn
    /// line a little above BlazeFace's mouth point, the chin 0.45 eye distances below it, the
    /// outline through the ears. No irises, brows where anime brows usually are.
    pub fn from_landmarks(landmarks: &[Point]) -> Option<FaceLayout> {
        let [right, left, nose, mouth, right_ear, left_ear, ..] = landmarks else {
            return None;
        };
        let axes = FaceAxes::between(*right, *left)?;
        let eye = |centre: &Point| Eye {
            centre: axes.at(centre, 0.0, -0.01),
            width: 0.62 * axes.eyes,
            height: 0.5 * axes.eyes,
            iris: None,
        };
        let mouth_line = axes.at(mouth, 0.0, -0.1);
        let chin = axes.at(mouth, 0.0, 0.45);
        let middle = [
            (right_ear[0] + left_ear[0]) / 2.0,
            (right_ear[1] + left_ear[1]) / 2.0,
        ];
        let half_width = (0.5 * (left_ear[0] - right_ear[0]).hypot(left_ear[1] - right_ear[1]))
            .max(0.75 * axes.eyes);
        let half_height = ((chin[0] - middle[0]) * axes.down[0]
            + (chin[1] - middle[1]) * axes.down[1])
            .max(0.5 * axes.eyes);
        let outline = OUTLINE
            .iter()
            .map(|(a, d)| {
                [
                    middle[0] + a * half_width * axes.along[0] + d * half_height * axes.down[0],
                    middle[1] + a * half_width * axes.along[1] + d * half_height * axes.down[1],
                ]
            })
            .collect();
        Some(FaceLayout {
            right_eye: eye(right),
            left_eye: eye(left),
            right_brow: Some(axes.at(right, 0.0, -0.5)),
            left_brow: Some(axes.at(left, 0.0, -0.5)),
            nose: *nose,
            mouth: mouth_line,
            mouth_width: 0.3 * axes.eyes,
            chin,
            outline,
        })
    }

    pub fn axes(&self) -> Option<FaceAxes> {
        FaceAxes::between(self.right_eye.centre, self.left_eye.centre)
    }

    /// Every point moved by `to` and every length scaled by `scale` (another picture's pixels).
    pub fn mapped(&self, to: impl Fn(Point) -> Point, scale: f32) -> FaceLayout {
        let eye = |eye: &Eye| Eye {
            centre: to(eye.centre),
            width: eye.width * scale,
            height: eye.height * scale,
            iris: eye.iris.map(|iris| Circle {
                centre: to(iris.centre),
                radius: iris.radius * scale,
            }),
        };
        FaceLayout {
            right_eye: eye(&self.right_eye),
            left_eye: eye(&self.left_eye),
            right_brow: self.right_brow.map(&to),
            left_brow: self.left_brow.map(&to),
            nose: to(self.nose),
            mouth: to(self.mouth),
            mouth_width: self.mouth_width * scale,
            chin: to(self.chin),
            outline: self.outline.iter().map(|p| to(*p)).collect(),
        }
    }

    /// Whether every number is finite and every size positive, and the eyes apart: what a
    /// hand-edited sidecar must satisfy before the warp trusts it.
    fn check(&self) -> Result<(), String> {
        let mut points: Vec<Point> = vec![
            self.right_eye.centre,
            self.left_eye.centre,
            self.nose,
            self.mouth,
            self.chin,
        ];
        points.extend(self.right_brow);
        points.extend(self.left_brow);
        points.extend(&self.outline);
        let mut sizes = vec![
            self.right_eye.width,
            self.right_eye.height,
            self.left_eye.width,
            self.left_eye.height,
            self.mouth_width,
        ];
        for iris in [self.right_eye.iris, self.left_eye.iris]
            .into_iter()
            .flatten()
        {
            points.push(iris.centre);
            sizes.push(iris.radius);
        }
        if points.iter().flatten().any(|v| !v.is_finite()) {
            return Err("a point is not a finite number".into());
        }
        if sizes.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return Err("a width, height or radius is not a positive number".into());
        }
        if self.axes().is_none() {
            return Err("the two eyes are at the same place".into());
        }
        Ok(())
    }
}

/// What a sidecar holds: the layout in the portrait file's own pixels, and the file's size (a
/// sidecar left beside a picture that was since resized is refused, not misplaced).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Sidecar {
    about: String,
    image_width: usize,
    image_height: usize,
    face: FaceLayout,
}

const SIDECAR_ABOUT: &str = "animecam's reading of this portrait's face, in the picture's pixels \
(x right, y down). Right and left are the character's: right_eye is on the picture's left. Edit \
the points to correct them; a brow or iris set to null does not move. Delete this file to have the \
features found again.";

#[derive(Debug, thiserror::Error)]
pub enum SidecarError {
    #[error("cannot read '{path}': {reason}")]
    Read { path: String, reason: String },
    #[error("'{path}' is for a {expected_width}x{expected_height} picture, but the portrait is {width}x{height}: delete it or run `animecam portrait` again")]
    WrongSize {
        path: String,
        expected_width: usize,
        expected_height: usize,
        width: usize,
        height: usize,
    },
    #[error("cannot write '{path}': {reason}")]
    Write { path: String, reason: String },
}

/// Where the sidecar of `portrait` is: beside it, its name with `.animecam.json` added.
pub fn sidecar_path(portrait: &Path) -> PathBuf {
    let mut name = portrait.as_os_str().to_owned();
    name.push(".animecam.json");
    PathBuf::from(name)
}

/// The layout the sidecar of `portrait` (a `width` x `height` picture) holds, or `None` when
/// there is none.
pub fn read_sidecar(
    portrait: &Path,
    width: usize,
    height: usize,
) -> Result<Option<FaceLayout>, SidecarError> {
    let path = sidecar_path(portrait);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(SidecarError::Read {
                path: path.display().to_string(),
                reason: e.to_string(),
            })
        }
    };
    let read_error = |reason: String| SidecarError::Read {
        path: path.display().to_string(),
        reason,
    };
    let sidecar: Sidecar = serde_json::from_str(&text).map_err(|e| read_error(e.to_string()))?;
    if (sidecar.image_width, sidecar.image_height) != (width, height) {
        return Err(SidecarError::WrongSize {
            path: path.display().to_string(),
            expected_width: sidecar.image_width,
            expected_height: sidecar.image_height,
            width,
            height,
        });
    }
    sidecar.face.check().map_err(read_error)?;
    Ok(Some(sidecar.face))
}

/// Writes `layout` (in the pixels of `portrait`, a `width` x `height` picture) as its sidecar.
/// Refuses to replace one that is there: the user may have corrected it.
pub fn write_sidecar(
    portrait: &Path,
    layout: &FaceLayout,
    width: usize,
    height: usize,
) -> Result<PathBuf, SidecarError> {
    let path = sidecar_path(portrait);
    let write_error = |reason: String| SidecarError::Write {
        path: path.display().to_string(),
        reason,
    };
    let sidecar = Sidecar {
        about: SIDECAR_ABOUT.into(),
        image_width: width,
        image_height: height,
        face: layout.clone(),
    };
    let text = serde_json::to_string_pretty(&sidecar).map_err(|e| write_error(e.to_string()))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|e| write_error(e.to_string()))?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .map_err(|e| write_error(e.to_string()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> FaceLayout {
        FaceLayout::from_landmarks(&[
            [40.0, 50.0],
            [80.0, 50.0],
            [60.0, 70.0],
            [60.0, 90.0],
            [20.0, 55.0],
            [100.0, 55.0],
        ])
        .unwrap()
    }

    #[test]
    fn the_layout_places_the_parts_where_an_anime_face_has_them() {
        let face = layout();
        assert_eq!(face.right_eye.centre[0], 40.0);
        assert!(face.right_brow.unwrap()[1] < face.right_eye.centre[1] - 10.0);
        assert!(face.mouth[1] < 90.0 && face.chin[1] > 100.0);
        // The outline runs from the picture's left round the jaw to its right, wider than the
        // eyes.
        assert!(face.outline[0][0] < 25.0 && face.outline[5][0] > 95.0);
        assert!(face.outline[2][1] > face.mouth[1]);
    }

    #[test]
    fn a_sidecar_is_read_back_checked_and_never_overwritten() {
        let dir = std::env::temp_dir().join(format!("animecam-sidecar-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let portrait = dir.join("my portrait.png");
        assert!(read_sidecar(&portrait, 120, 140).unwrap().is_none());
        let written = write_sidecar(&portrait, &layout(), 120, 140).unwrap();
        assert_eq!(written, dir.join("my portrait.png.animecam.json"));
        assert_eq!(read_sidecar(&portrait, 120, 140).unwrap(), Some(layout()));
        assert!(matches!(
            read_sidecar(&portrait, 240, 280),
            Err(SidecarError::WrongSize { .. })
        ));
        assert!(write_sidecar(&portrait, &layout(), 120, 140).is_err());
        // An edit that breaks it is refused with the reason.
        let text = std::fs::read_to_string(&written).unwrap();
        std::fs::write(&written, text.replacen("\"width\": ", "\"width\": -", 1)).unwrap();
        let error = read_sidecar(&portrait, 120, 140).unwrap_err().to_string();
        assert!(error.contains("positive"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
