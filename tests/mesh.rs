//! The face mesh on real faces: its points land on the face, the roll of a turned face is read
//! back, and the expression of a calm face reads as eyes open, mouth closed. Needs
//! `make face-mesh` (the converted MediaPipe graph); says so and checks nothing without it.

mod common;

use animecam::face::{mesh_points, BlazeFace, FaceDetector, FaceMesh, MeshRegion};
use animecam::image::{ImageView, PixelFormat};
use animecam::inference::{Provider, ProviderOptions};
use common::{astronaut, root};

fn mesh() -> FaceMesh {
    let dir = root().join("models/face_mesh");
    assert!(
        dir.join("manifest.json").is_file(),
        "models/face_mesh missing: run `make setup` (or `make face-mesh`), which converts MediaPipe's face mesh"
    );
    let options = ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: 1,
        ..ProviderOptions::default()
    };
    FaceMesh::load(&dir, &options).unwrap()
}

#[test]
fn the_mesh_follows_a_turned_real_face() {
    let mut mesh = mesh();
    let mut detector = BlazeFace::load(
        &root().join("models/blazeface"),
        &ProviderOptions {
            provider: Provider::Cpu,
            ..ProviderOptions::default()
        },
    )
    .unwrap();
    let (width, height) = (640, 480);
    for degrees in [0.0f32, 20.0, -25.0] {
        let data = astronaut(degrees, (width, height));
        let frame = ImageView::new(&data, width, height, width * 3, PixelFormat::Rgb).unwrap();
        let face = detector.detect(&frame).unwrap().remove(0);
        let eyes = (face.landmarks[0], face.landmarks[1]);
        let (cx, cy) = face.face.center();
        let region =
            MeshRegion::around((cx, cy), face.face.width.max(face.face.height), Some(eyes));
        let found = mesh.run(&frame, region).unwrap();
        assert!(found.score > 0.9, "{degrees}: face score {}", found.score);
        // The mesh's eye centres land on the detector's eye landmarks.
        let centre = |a: usize, b: usize| {
            let (p, q) = (found.points[a], found.points[b]);
            [(p[0] + q[0]) / 2.0, (p[1] + q[1]) / 2.0]
        };
        let right = centre(mesh_points::RIGHT_EYE_OUTER, mesh_points::RIGHT_EYE_INNER);
        let off = (right[0] - eyes.0[0]).hypot(right[1] - eyes.0[1]);
        assert!(
            off < 0.15 * face.face.width,
            "{degrees}: right eye {off:.1} px off"
        );
        let pose = found.pose();
        assert!(
            (pose.roll.to_degrees() - degrees).abs() < 5.0,
            "{degrees}: roll read as {:.1}",
            pose.roll.to_degrees()
        );
        let expression = found.expression();
        assert!(
            expression.right_eye > 0.15 && expression.left_eye > 0.15,
            "{degrees}: eyes read as closed: {expression:?}"
        );
        assert!(expression.mouth_open < 0.15, "{degrees}: {expression:?}");
        eprintln!("{degrees} deg: {pose:?} {expression:?}");
    }
}
