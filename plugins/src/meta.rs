//! The metadata our elements pass along buffers: one `gst::meta::CustomMeta` per payload, each
//! carrying a `gst::Structure` converted from and to a plain library struct.
//!
//! Coordinates are fractions of the frame: videoconvert and videoscale keep custom metas but do not
//! rescale them. All meta code lives here, so a later move to GStreamer 1.24's analytics metas stays
//! in this one file.

use animecam::face::{Expression, FaceTrack, Gaze, HeadPose, Iris, NotDriving, Rect, TrackState};
use animecam::motion::{KeypointSet, Keypoints};
use gst::glib;

/// Registered name of the face meta; GStreamer names the meta's structure after it too.
pub const FACE_META: &str = "AnimecamFaceMeta";
const FACE_STRUCTURE: &str = FACE_META;

/// Registered name of the keypoint meta (FOMM keypoints of a face crop).
pub const KEYPOINTS_META: &str = "AnimecamKeypointsMeta";

/// Registers our metas; idempotent, called from `plugin_init`.
pub fn register() {
    // No tags: the payloads are resolution- and colour-independent, so every transform keeps them.
    for name in [FACE_META, KEYPOINTS_META] {
        if !gst::meta::CustomMeta::is_registered(name) {
            gst::meta::CustomMeta::register(name, &[]);
        }
    }
}

fn rect_to_array(rect: &Rect) -> gst::Array {
    gst::Array::new([rect.x, rect.y, rect.width, rect.height])
}

fn array_to_floats(array: &gst::Array) -> Result<Vec<f32>, glib::BoolError> {
    array
        .iter()
        .map(|value| {
            value
                .get::<f32>()
                .map_err(|e| glib::bool_error!("expected float values: {e}"))
        })
        .collect()
}

fn rect_field(structure: &gst::StructureRef, name: &str) -> Result<Rect, glib::BoolError> {
    let array = structure
        .get::<gst::Array>(name)
        .map_err(|e| glib::bool_error!("field '{name}': {e}"))?;
    match array_to_floats(&array)?[..] {
        [x, y, width, height] => Ok(Rect {
            x,
            y,
            width,
            height,
        }),
        _ => Err(glib::bool_error!("field '{name}' must hold 4 floats")),
    }
}

/// A face track as a structure:
/// `AnimecamFaceMeta, track-id=(guint64)1, state=detected, score=(float)0.9,
///  face=<x, y, w, h>, crop=<x, y, w, h>, landmarks=<x0, y0, x1, y1, ...>`, and with the face
/// mesh (each array empty where the mesh does not give it):
/// - `mesh`: 468 points x, y (fractions of the frame), z (fraction of its width);
/// - `expression`: right eye, left eye (lid gap over eye width: ~0.3 open, < 0.1 shut), mouth
///   opening and width (over the outer eye corners' distance: ~0 to 0.5, ~0.6 to 0.9);
/// - `pose`: yaw (to the subject's left +), pitch (down +), roll (counter-clockwise +), radians;
/// - `brows`: right, left: each brow's height above its eye, across the eye line, over the outer
///   eye corners' distance (~0.22 calm, more when raised, less when lowered);
/// - `mouth-corners`: the corners' height above the middle of the lips, same scale (+ smile,
///   - frown; ~-0.1 to 0.1);
/// - `irises` (the attention mesh only): right then left iris, centre x, y and radius, as
///   fractions of the frame (radius of its width); `irises-crop`: the same in the `crop` box;
/// - `gaze` (the attention mesh only): yaw (to the subject's left +, ~-0.5 to 0.5 at the eye
///   corners) and pitch (down +, ~-0.3 to 0.3): the irises' offsets in the eyes over half the
///   eye's width;
/// - `not-driving` (only when set): why the face drives no avatar (`not-a-face`).
pub fn face_to_structure(track: &FaceTrack) -> gst::Structure {
    gst::Structure::builder(FACE_STRUCTURE)
        .field("track-id", track.track_id)
        .field("state", track.state.name())
        .field("score", track.score)
        .field("face", rect_to_array(&track.face))
        .field("crop", rect_to_array(&track.crop))
        .field(
            "landmarks",
            gst::Array::new(track.landmarks.iter().flat_map(|[x, y]| [*x, *y])),
        )
        .field(
            "mesh",
            gst::Array::new(track.mesh.iter().flat_map(|point| *point)),
        )
        .field(
            "expression",
            gst::Array::new(
                track
                    .expression
                    .iter()
                    .flat_map(|e| [e.right_eye, e.left_eye, e.mouth_open, e.mouth_width]),
            ),
        )
        .field(
            "pose",
            gst::Array::new(track.pose.iter().flat_map(|p| [p.yaw, p.pitch, p.roll])),
        )
        .field(
            "brows",
            gst::Array::new(
                track
                    .expression
                    .iter()
                    .flat_map(|e| [e.right_brow, e.left_brow]),
            ),
        )
        .field(
            "mouth-corners",
            gst::Array::new(track.expression.iter().map(|e| e.mouth_corners)),
        )
        .field(
            "irises",
            gst::Array::new(
                track
                    .irises
                    .iter()
                    .flatten()
                    .flat_map(|iris| [iris.center[0], iris.center[1], iris.radius]),
            ),
        )
        .field(
            "irises-crop",
            gst::Array::new(
                track
                    .irises
                    .iter()
                    .flatten()
                    .flat_map(|iris| iris_in_crop(iris, &track.crop)),
            ),
        )
        .field(
            "gaze",
            gst::Array::new(track.gaze.iter().flat_map(|g| [g.yaw, g.pitch])),
        )
        .field_if_some("not-driving", track.not_driving.map(NotDriving::name))
        .build()
}

/// An iris in the face crop's coordinates: centre as fractions of the crop box, radius as a
/// fraction of its width.
fn iris_in_crop(iris: &Iris, crop: &Rect) -> [f32; 3] {
    let (width, height) = (crop.width.max(f32::EPSILON), crop.height.max(f32::EPSILON));
    [
        (iris.center[0] - crop.x) / width,
        (iris.center[1] - crop.y) / height,
        iris.radius / width,
    ]
}

/// An optional float array field (metas from before the mesh have none): empty when absent.
fn optional_floats(
    structure: &gst::StructureRef,
    name: &str,
    stride: usize,
) -> Result<Vec<f32>, glib::BoolError> {
    if !structure.has_field(name) {
        return Ok(Vec::new());
    }
    let values = floats_field(structure, name)?;
    if values.len() % stride != 0 {
        return Err(glib::bool_error!(
            "field '{name}' must hold groups of {stride} values"
        ));
    }
    Ok(values)
}

pub fn face_from_structure(structure: &gst::StructureRef) -> Result<FaceTrack, glib::BoolError> {
    if structure.name() != FACE_STRUCTURE {
        return Err(glib::bool_error!(
            "expected a {FACE_STRUCTURE} structure, got {}",
            structure.name()
        ));
    }
    let state_name = structure
        .get::<&str>("state")
        .map_err(|e| glib::bool_error!("field 'state': {e}"))?;
    let state = TrackState::from_name(state_name)
        .ok_or_else(|| glib::bool_error!("unknown face state '{state_name}'"))?;
    let landmarks = array_to_floats(
        &structure
            .get::<gst::Array>("landmarks")
            .map_err(|e| glib::bool_error!("field 'landmarks': {e}"))?,
    )?;
    if landmarks.len() % 2 != 0 {
        return Err(glib::bool_error!("field 'landmarks' must hold x, y pairs"));
    }
    Ok(FaceTrack {
        track_id: structure
            .get("track-id")
            .map_err(|e| glib::bool_error!("field 'track-id': {e}"))?,
        state,
        score: structure
            .get("score")
            .map_err(|e| glib::bool_error!("field 'score': {e}"))?,
        face: rect_field(structure, "face")?,
        crop: rect_field(structure, "crop")?,
        landmarks: landmarks.chunks_exact(2).map(|p| [p[0], p[1]]).collect(),
        mesh: optional_floats(structure, "mesh", 3)?
            .chunks_exact(3)
            .map(|p| [p[0], p[1], p[2]])
            .collect(),
        expression: {
            let brows = optional_floats(structure, "brows", 2)?;
            let corners = optional_floats(structure, "mouth-corners", 1)?;
            optional_floats(structure, "expression", 4)?
                .chunks_exact(4)
                .map(|e| Expression {
                    right_eye: e[0],
                    left_eye: e[1],
                    mouth_open: e[2],
                    mouth_width: e[3],
                    right_brow: brows.first().copied().unwrap_or_default(),
                    left_brow: brows.get(1).copied().unwrap_or_default(),
                    mouth_corners: corners.first().copied().unwrap_or_default(),
                })
                .next()
        },
        irises: {
            let irises: Vec<Iris> = optional_floats(structure, "irises", 3)?
                .chunks_exact(3)
                .map(|i| Iris {
                    center: [i[0], i[1]],
                    radius: i[2],
                })
                .collect();
            match irises.as_slice() {
                [] => None,
                [right, left] => Some([*right, *left]),
                _ => return Err(glib::bool_error!("field 'irises' must hold two irises")),
            }
        },
        gaze: optional_floats(structure, "gaze", 2)?
            .chunks_exact(2)
            .map(|g| Gaze {
                yaw: g[0],
                pitch: g[1],
            })
            .next(),
        pose: optional_floats(structure, "pose", 3)?
            .chunks_exact(3)
            .map(|p| HeadPose {
                yaw: p[0],
                pitch: p[1],
                roll: p[2],
            })
            .next(),
        not_driving: match structure.get_optional::<&str>("not-driving") {
            Ok(None) => None,
            Ok(Some(name)) => Some(
                NotDriving::from_name(name)
                    .ok_or_else(|| glib::bool_error!("unknown not-driving reason '{name}'"))?,
            ),
            Err(e) => return Err(glib::bool_error!("field 'not-driving': {e}")),
        },
    })
}

fn floats_field(structure: &gst::StructureRef, name: &str) -> Result<Vec<f32>, glib::BoolError> {
    array_to_floats(
        &structure
            .get::<gst::Array>(name)
            .map_err(|e| glib::bool_error!("field '{name}': {e}"))?,
    )
}

/// A keypoint set as a structure:
/// `AnimecamKeypointsMeta, values=<x0, y0, ...>, jacobians=<a00, a01, a10, a11, ...>, crop=<x, y, w, h>`
/// (values in the crop's [-1, 1] coordinates, the crop in fractions of the frame).
pub fn keypoints_to_structure(set: &KeypointSet) -> gst::Structure {
    gst::Structure::builder(KEYPOINTS_META)
        .field(
            "values",
            gst::Array::new(set.keypoints.values.iter().flatten().copied()),
        )
        .field(
            "jacobians",
            gst::Array::new(set.keypoints.jacobians.iter().flatten().flatten().copied()),
        )
        .field("crop", rect_to_array(&set.crop))
        .build()
}

pub fn keypoints_from_structure(
    structure: &gst::StructureRef,
) -> Result<KeypointSet, glib::BoolError> {
    if structure.name() != KEYPOINTS_META {
        return Err(glib::bool_error!(
            "expected a {KEYPOINTS_META} structure, got {}",
            structure.name()
        ));
    }
    let values = floats_field(structure, "values")?;
    let jacobians = floats_field(structure, "jacobians")?;
    if values.len() % 2 != 0 || (jacobians.len() != 2 * values.len() && !jacobians.is_empty()) {
        return Err(glib::bool_error!(
            "{} values and {} Jacobian entries do not make keypoints",
            values.len(),
            jacobians.len()
        ));
    }
    Ok(KeypointSet {
        keypoints: Keypoints {
            values: values.chunks_exact(2).map(|p| [p[0], p[1]]).collect(),
            jacobians: jacobians
                .chunks_exact(4)
                .map(|m| [[m[0], m[1]], [m[2], m[3]]])
                .collect(),
        },
        crop: rect_field(structure, "crop")?,
    })
}

/// Attaches the keypoint meta, replacing one already there.
pub fn attach_keypoints(buffer: &mut gst::BufferRef, set: &KeypointSet) {
    attach_structure(buffer, KEYPOINTS_META, keypoints_to_structure(set));
}

/// The keypoint meta of a buffer: `None` when there is none, an error when it is malformed.
pub fn read_keypoints(buffer: &gst::BufferRef) -> Option<Result<KeypointSet, glib::BoolError>> {
    let meta = gst::meta::CustomMeta::from_buffer(buffer, KEYPOINTS_META).ok()?;
    Some(keypoints_from_structure(meta.structure()))
}

fn attach_structure(buffer: &mut gst::BufferRef, name: &str, payload: gst::Structure) {
    if let Ok(meta) = gst::meta::CustomMeta::from_mut_buffer(buffer, name) {
        meta.remove().ok();
    }
    let mut meta =
        gst::meta::CustomMeta::add(buffer, name).expect("our metas are registered in plugin_init");
    let structure = meta.mut_structure();
    for (field, value) in payload.iter() {
        structure.set_value(field, value.clone());
    }
}

/// Attaches the face meta, replacing one already there, plus a standard
/// `VideoRegionOfInterestMeta` of type "face" (pixels) when there is a face, so stock elements
/// see it too.
pub fn attach_face(buffer: &mut gst::BufferRef, track: &FaceTrack, width: u32, height: u32) {
    attach_structure(buffer, FACE_META, face_to_structure(track));
    if track.state.has_face() {
        let face = track.face.to_pixels(width as usize, height as usize);
        let clamp = |v: f32, max: u32| (v.round().max(0.0) as u32).min(max);
        let x = clamp(face.x, width);
        let y = clamp(face.y, height);
        let w = clamp(face.x + face.width, width) - x;
        let h = clamp(face.y + face.height, height) - y;
        gst_video::VideoRegionOfInterestMeta::add(buffer, "face", (x, y, w, h));
    }
}

/// The face meta of a buffer: `None` when there is none, an error when it is malformed.
pub fn read_face(buffer: &gst::BufferRef) -> Option<Result<FaceTrack, glib::BoolError>> {
    let meta = gst::meta::CustomMeta::from_buffer(buffer, FACE_META).ok()?;
    Some(face_from_structure(meta.structure()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track() -> FaceTrack {
        FaceTrack {
            track_id: 7,
            state: TrackState::Tracked,
            score: 0.875,
            face: Rect {
                x: 0.25,
                y: 0.125,
                width: 0.5,
                height: 0.375,
            },
            crop: Rect {
                x: 0.1,
                y: 0.0,
                width: 0.8,
                height: 1.0,
            },
            landmarks: vec![[0.3, 0.2], [0.6, 0.25]],
            mesh: vec![[0.3, 0.2, -0.01], [0.6, 0.25, 0.02]],
            expression: Some(Expression {
                right_eye: 0.3,
                left_eye: 0.25,
                mouth_open: 0.1,
                mouth_width: 0.7,
                right_brow: 0.31,
                left_brow: 0.33,
                mouth_corners: 0.02,
            }),
            pose: Some(HeadPose {
                yaw: 0.1,
                pitch: -0.2,
                roll: 0.05,
            }),
            irises: Some([
                Iris {
                    center: [0.35, 0.2],
                    radius: 0.01,
                },
                Iris {
                    center: [0.55, 0.21],
                    radius: 0.011,
                },
            ]),
            gaze: Some(Gaze {
                yaw: -0.2,
                pitch: 0.05,
            }),
            not_driving: None,
        }
    }

    #[test]
    fn face_track_round_trips_through_a_structure() {
        gst::init().unwrap();
        let structure = face_to_structure(&track());
        assert_eq!(structure.get::<&str>("state").unwrap(), "tracked");
        assert_eq!(face_from_structure(&structure).unwrap(), track());
        let text = structure.to_string();
        let parsed: gst::Structure = text.parse().unwrap();
        assert_eq!(face_from_structure(&parsed).unwrap(), track(), "{text}");
        // A face that must not drive says why.
        let animal = FaceTrack {
            not_driving: Some(NotDriving::NotAFace),
            ..track()
        };
        let structure = face_to_structure(&animal);
        assert_eq!(structure.get::<&str>("not-driving").unwrap(), "not-a-face");
        assert_eq!(face_from_structure(&structure).unwrap(), animal);
    }

    #[test]
    fn face_metas_without_a_mesh_still_read() {
        gst::init().unwrap();
        let mut structure = face_to_structure(&track());
        for field in [
            "mesh",
            "expression",
            "pose",
            "brows",
            "mouth-corners",
            "irises",
            "irises-crop",
            "gaze",
        ] {
            structure.remove_field(field);
        }
        let read = face_from_structure(&structure).unwrap();
        assert_eq!(
            (read.mesh.len(), read.expression, read.pose),
            (0, None, None)
        );
    }

    #[test]
    fn keypoint_sets_round_trip_through_structures_and_buffers() {
        gst::init().unwrap();
        register();
        let set = KeypointSet {
            keypoints: Keypoints {
                values: vec![[0.5, -0.25], [0.125, 0.75]],
                jacobians: vec![[[1.0, 0.5], [-0.5, 2.0]], [[0.25, 0.0], [0.0, 4.0]]],
            },
            crop: Rect {
                x: 0.1,
                y: 0.2,
                width: 0.5,
                height: 0.625,
            },
        };
        let parsed: gst::Structure = keypoints_to_structure(&set).to_string().parse().unwrap();
        assert_eq!(keypoints_from_structure(&parsed).unwrap(), set);
        let mut buffer = gst::Buffer::new();
        attach_keypoints(buffer.get_mut().unwrap(), &set);
        assert_eq!(read_keypoints(&buffer).unwrap().unwrap(), set);
        let mut broken = keypoints_to_structure(&set);
        broken.set("jacobians", gst::Array::new([1.0f32, 2.0, 3.0]));
        assert!(keypoints_from_structure(&broken).is_err());
    }

    #[test]
    fn malformed_structures_are_errors() {
        gst::init().unwrap();
        let mut structure = face_to_structure(&track());
        structure.set("state", "dancing");
        let error = face_from_structure(&structure).unwrap_err().to_string();
        assert!(error.contains("dancing"), "{error}");
        let mut structure = face_to_structure(&track());
        structure.set("crop", gst::Array::new([1.0f32, 2.0]));
        assert!(face_from_structure(&structure).is_err());
        let other = gst::Structure::new_empty("something/else");
        assert!(face_from_structure(&other).is_err());
    }

    #[test]
    fn attached_meta_reads_back_and_adds_a_face_roi() {
        gst::init().unwrap();
        register();
        let mut buffer = gst::Buffer::with_size(16).unwrap();
        {
            let buffer = buffer.get_mut().unwrap();
            attach_face(buffer, &FaceTrack::lost(3), 640, 480);
            attach_face(buffer, &track(), 640, 480);
        }
        assert_eq!(read_face(&buffer).unwrap().unwrap(), track());
        let roi = buffer
            .meta::<gst_video::VideoRegionOfInterestMeta>()
            .unwrap();
        assert_eq!(roi.roi_type(), "face");
        assert_eq!(roi.rect(), (160, 60, 320, 180));
        assert!(read_face(&gst::Buffer::new()).is_none());
    }
}
