//! The attention mesh's irises on a real face (NASA's astronaut, scikit-image): each iris centre
//! lies on the pupil found independently (the darkest spot between the lids), and the gaze reads
//! the way the irises were moved (the eyes' contents shifted left, right, up and down). Needs
//! the attention mesh set-up converts (models/face_mesh_attention).

mod common;

use animecam::face::{mesh_points, BlazeFace, FaceDetector, FaceMesh, Gaze, Mesh, MeshRegion};
use animecam::image::{read_image, RgbImage};
use animecam::inference::{Provider, ProviderOptions};
use common::{media, root};

fn options() -> ProviderOptions {
    ProviderOptions {
        provider: Provider::Cpu,
        intra_threads: 1,
        ..ProviderOptions::default()
    }
}

fn attention_mesh() -> FaceMesh {
    let dir = root().join("models/face_mesh_attention");
    assert!(
        dir.join("manifest.json").is_file(),
        "models/face_mesh_attention missing: run `make setup`, which converts MediaPipe's attention mesh"
    );
    let mesh = FaceMesh::load(&dir, &options()).unwrap();
    assert!(mesh.has_irises());
    mesh
}

/// The mesh of the face in `photo`, framed as the tracker frames it.
fn mesh_of(photo: &RgbImage, mesh: &mut FaceMesh) -> Mesh {
    let mut detector = BlazeFace::load(&root().join("models/blazeface"), &options()).unwrap();
    let face = detector.detect(&photo.view()).unwrap().remove(0);
    let region = MeshRegion::around(
        face.face.center(),
        face.face.width.max(face.face.height),
        Some((face.landmarks[0], face.landmarks[1])),
    );
    mesh.run(&photo.view(), region).unwrap()
}

/// The eye's box: between its corners, and between its lids (frame pixels).
fn eye_box(mesh: &Mesh, right: bool) -> (usize, usize, usize, usize) {
    use mesh_points::*;
    let [outer, inner, upper, lower] = if right {
        [
            RIGHT_EYE_OUTER,
            RIGHT_EYE_INNER,
            RIGHT_EYE_UPPER,
            RIGHT_EYE_LOWER,
        ]
    } else {
        [
            LEFT_EYE_OUTER,
            LEFT_EYE_INNER,
            LEFT_EYE_UPPER,
            LEFT_EYE_LOWER,
        ]
    };
    let p = |index: usize| mesh.points[index];
    let (x0, x1) = (p(outer)[0].min(p(inner)[0]), p(outer)[0].max(p(inner)[0]));
    let (y0, y1) = (p(upper)[1].min(p(lower)[1]), p(upper)[1].max(p(lower)[1]));
    (
        x0 as usize,
        y0 as usize,
        x1.ceil() as usize,
        y1.ceil() as usize,
    )
}

/// The pupil: the centroid of the darkest tenth of the eye box's pixels (smoothed 3x3).
fn pupil(photo: &RgbImage, (x0, y0, x1, y1): (usize, usize, usize, usize)) -> [f32; 2] {
    let luma = |x: usize, y: usize| {
        let [r, g, b] = photo.rgb(x, y);
        0.299 * f32::from(r) + 0.587 * f32::from(g) + 0.114 * f32::from(b)
    };
    let mut pixels: Vec<(f32, usize, usize)> = Vec::new();
    for y in y0 + 1..y1 {
        for x in x0 + 1..x1 {
            let mut sum = 0.0;
            for (dx, dy) in [
                (0, 0),
                (1, 0),
                (0, 1),
                (1, 1),
                (2, 1),
                (1, 2),
                (0, 2),
                (2, 0),
                (2, 2),
            ] {
                sum += luma(x + dx - 1, y + dy - 1);
            }
            pixels.push((sum / 9.0, x, y));
        }
    }
    pixels.sort_by(|a, b| a.0.total_cmp(&b.0));
    let darkest = &pixels[..(pixels.len() / 10).max(1)];
    let count = darkest.len() as f32;
    [
        darkest.iter().map(|p| p.1 as f32).sum::<f32>() / count,
        darkest.iter().map(|p| p.2 as f32).sum::<f32>() / count,
    ]
}

#[test]
fn the_iris_centres_lie_on_the_pupils_of_a_real_face() {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let mut mesh = attention_mesh();
    let found = mesh_of(&photo, &mut mesh);
    let [right, left] = found.irises.expect("the attention mesh gives the irises");
    for (iris, is_right) in [(right, true), (left, false)] {
        let pupil = pupil(&photo, eye_box(&found, is_right));
        let off = (iris.center[0] - pupil[0]).hypot(iris.center[1] - pupil[1]);
        eprintln!(
            "{} iris at {:?} (radius {:.1} px), the darkest spot at {pupil:?}: {off:.2} px apart",
            if is_right { "right" } else { "left" },
            iris.center,
            iris.radius
        );
        assert!(
            off <= 2.0,
            "{off:.2} px between the iris centre and the pupil"
        );
        assert!((2.0..15.0).contains(&iris.radius), "radius {}", iris.radius);
    }
}

/// `photo` with each eye's contents moved by a fraction of the eye's width (`dx`) and height
/// (`dy`): the eyes looking another way.
fn eyes_moved(photo: &RgbImage, mesh: &Mesh, dx: f32, dy: f32) -> RgbImage {
    let mut data = photo.data().to_vec();
    let width = photo.width();
    for right in [true, false] {
        let (x0, y0, x1, y1) = eye_box(mesh, right);
        let (shift_x, shift_y) = (
            (dx * (x1 - x0) as f32).round() as isize,
            (dy * (y1 - y0) as f32).round() as isize,
        );
        for y in y0..y1 {
            for x in x0..x1 {
                let from_x = (x as isize - shift_x).clamp(x0 as isize, x1 as isize - 1) as usize;
                let from_y = (y as isize - shift_y).clamp(y0 as isize, y1 as isize - 1) as usize;
                let colour = photo.rgb(from_x, from_y);
                data[(y * width + x) * 3..][..3].copy_from_slice(&colour);
            }
        }
    }
    RgbImage::new(width, photo.height(), data).unwrap()
}

#[test]
fn the_gaze_follows_irises_moved_left_right_up_and_down() {
    let photo = read_image(&media("astronaut.png")).unwrap();
    let mut mesh = attention_mesh();
    let ahead = mesh_of(&photo, &mut mesh);
    let straight = ahead.gaze().unwrap();
    let gaze = |dx: f32, dy: f32, mesh: &mut FaceMesh| -> Gaze {
        let moved = eyes_moved(&photo, &ahead, dx, dy);
        mesh_of(&moved, mesh).gaze().unwrap()
    };
    // The picture's right is the subject's left: yaw grows.
    let to_picture_right = gaze(0.25, 0.0, &mut mesh);
    let to_picture_left = gaze(-0.25, 0.0, &mut mesh);
    // Between lids 5 px apart the irises move only a little up or down (a third of that
    // here): the pitch moves less than the yaw, but the right way.
    let down = gaze(0.0, 0.3, &mut mesh);
    let up = gaze(0.0, -0.3, &mut mesh);
    eprintln!(
        "gaze ahead {straight:?}; right {to_picture_right:?}, left {to_picture_left:?}, down {down:?}, up {up:?}"
    );
    assert!(to_picture_right.yaw > straight.yaw + 0.1);
    assert!(to_picture_left.yaw < straight.yaw - 0.1);
    assert!(down.pitch > straight.pitch + 0.01);
    assert!(up.pitch < straight.pitch - 0.01);
    assert!(down.pitch - up.pitch > 0.04);
    // Moving the eyes sideways leaves the pitch, and up and down the yaw, about as they were.
    assert!((to_picture_right.pitch - straight.pitch).abs() < 0.03);
    assert!((down.yaw - straight.yaw).abs() < 0.1);
}

#[test]
fn raised_brows_read_higher() {
    use mesh_points::{LEFT_BROW, RIGHT_BROW};
    let photo = read_image(&media("astronaut.png")).unwrap();
    let mut mesh = attention_mesh();
    let ahead = mesh_of(&photo, &mut mesh);
    // Each brow's band moved up by 4 px (a quarter of its height above the eye), the skin
    // below it stretched to follow.
    let mut data = photo.data().to_vec();
    let width = photo.width();
    for brow in [RIGHT_BROW, LEFT_BROW] {
        let xs = brow.iter().map(|&i| ahead.points[i][0]);
        let ys = brow.iter().map(|&i| ahead.points[i][1]);
        let (x0, x1) = (xs.clone().fold(f32::MAX, f32::min), xs.fold(0.0, f32::max));
        let (y0, y1) = (ys.clone().fold(f32::MAX, f32::min), ys.fold(0.0, f32::max));
        let (x0, x1) = (x0 as usize - 3, x1 as usize + 3);
        let (top, bottom) = (y0 as usize - 8, y1 as usize + 6);
        for y in top..bottom {
            for x in x0..x1 {
                // Rows from 4 px lower, tapering to none at the bottom of the band.
                let shift = 4.0 * (bottom - y) as f32 / (bottom - top) as f32;
                let from = (y as f32 + shift).round() as usize;
                let colour = photo.rgb(x, from);
                data[(y * width + x) * 3..][..3].copy_from_slice(&colour);
            }
        }
    }
    let raised = RgbImage::new(width, photo.height(), data).unwrap();
    let (before, after) = (ahead.expression(), mesh_of(&raised, &mut mesh).expression());
    eprintln!(
        "brows {:.3} {:.3} -> {:.3} {:.3}",
        before.right_brow, before.left_brow, after.right_brow, after.left_brow
    );
    assert!((0.1..0.6).contains(&before.right_brow) && (0.1..0.6).contains(&before.left_brow));
    assert!(after.right_brow > before.right_brow + 0.01);
    assert!(after.left_brow > before.left_brow + 0.01);
}
