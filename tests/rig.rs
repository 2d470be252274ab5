//! The rig: what the landmark warp moves besides the head's roll, position and zoom, driven by a
//! real face's mesh (the astronaut photo, tracked as facetrack tracks it) moved by known amounts,
//! and measured on the warp's moved points and on its output pixels: the head turned in depth,
//! the gaze, the brows, the smile, and the breathing. Needs the converted face mesh and the
//! fetched portraits (set-up makes both).

mod common;

use animecam::animate::{Animator, AvatarMaker, AvatarSpec, DetectorSettings, Driving, Engine};
use animecam::face::{mesh_points, FaceTrack, Iris, Mesh};
use animecam::image::{ImageView, PixelFormat, RgbImage};
use animecam::motion::Point;
use animecam::warp::{feature_index, FaceLayout};
use common::{astronaut, face_mesh, media, pearson, to_mat, tracker};
use opencv::core::{Mat, Rect};
use opencv::prelude::*;

const SIZE: usize = 256;
const WIDTH: usize = 640;
const HEIGHT: usize = 480;

/// The astronaut's face tracked still for half a second (the tracker's smoothing settled).
fn still_face() -> FaceTrack {
    let data = astronaut(0.0, (WIDTH, HEIGHT));
    let frame = ImageView::new(&data, WIDTH, HEIGHT, WIDTH * 3, PixelFormat::Rgb).unwrap();
    let mut tracker = tracker(face_mesh());
    let mut track = None;
    for t in 0..15 {
        track = Some(tracker.update(&frame, t as f64 / 30.0).unwrap());
    }
    let track = track.unwrap();
    assert!(track.state.has_face() && track.mesh.len() == 468);
    track
}

/// The track's mesh in frame pixels (z in the frame's width, as x).
fn mesh_of(track: &FaceTrack) -> Mesh {
    Mesh {
        points: track
            .mesh
            .iter()
            .map(|p| {
                [
                    p[0] * WIDTH as f32,
                    p[1] * HEIGHT as f32,
                    p[2] * WIDTH as f32,
                ]
            })
            .collect(),
        score: 1.0,
        irises: None,
    }
}

/// What fommanimate reads off the meta of `track` with its mesh replaced by `mesh`: the mesh's
/// points, and the expression, head pose and gaze read from it.
fn driving(track: &FaceTrack, mesh: &Mesh) -> Driving {
    Driving {
        expression: Some(mesh.expression()),
        pose: Some(mesh.pose()),
        gaze: mesh.gaze(),
        mesh: mesh.points.iter().map(|p| [p[0], p[1]]).collect(),
        ..Driving::from_track(track, WIDTH, HEIGHT)
    }
}

/// The warp session on `portrait` (breathing and blinking off: only the driver moves it),
/// calibrated on `rest`.
fn calibrated(portrait: &std::path::Path, rest: &Driving) -> Animator {
    let maker = AvatarMaker::new(Engine::Warp, SIZE, DetectorSettings::default());
    let spec = AvatarSpec {
        path: portrait.to_path_buf(),
        crop: None,
        margin: 0.4,
    };
    let mut animator = Animator::new(&maker, maker.make(&spec).unwrap());
    animator.idle.breathing = false;
    animator.idle.blinking = false;
    for frame in 0..20 {
        animator.frame(Some(rest), frame as f64 / 30.0).unwrap();
    }
    assert!(animator.is_calibrated());
    animator
}

/// The picture for `drive`, shown for a few frames (the warp passes a motion at once; the
/// frames after it let nothing lag).
fn show(animator: &mut Animator, drive: &Driving, time: &mut f64) -> RgbImage {
    for _ in 0..3 {
        *time += 1.0 / 30.0;
        animator.frame(Some(drive), *time).unwrap();
    }
    animator.shown().0.clone()
}

/// `mesh` turned by `degrees` about the vertical axis through its centre (a real face's mesh
/// rotated in 3D and projected orthographically, as the camera would see the head turn).
fn turned(mesh: &Mesh, degrees: f32) -> Mesh {
    let n = mesh.points.len() as f32;
    let centre = mesh.points.iter().fold([0.0; 3], |sum, p| {
        [sum[0] + p[0] / n, sum[1] + p[1] / n, sum[2] + p[2] / n]
    });
    let (sin, cos) = degrees.to_radians().sin_cos();
    Mesh {
        points: mesh
            .points
            .iter()
            .map(|p| {
                let (x, z) = (p[0] - centre[0], p[2] - centre[2]);
                [
                    centre[0] + x * cos - z * sin,
                    p[1],
                    centre[2] + x * sin + z * cos,
                ]
            })
            .collect(),
        ..mesh.clone()
    }
}

/// The features' offset across the face: the centroid of the eyes and mouth (lids, eye
/// corners, lips, mouth corners) minus that of the face's outline, along x.
fn feature_offset(points: &[Point]) -> f64 {
    let mean = |range: std::ops::Range<usize>| {
        range.clone().map(|i| points[i][0] as f64).sum::<f64>() / range.len() as f64
    };
    let features = (mean(0..8) * 8.0
        + mean(feature_index::EYE_CORNERS..feature_index::EYE_CORNERS + 4) * 4.0)
        / 12.0;
    features - mean(feature_index::OUTLINE..feature_index::OUTLINE + 6)
}

#[test]
fn a_head_turned_in_depth_slides_the_features_across_the_face() {
    let track = still_face();
    let rest_mesh = mesh_of(&track);
    let rest = driving(&track, &rest_mesh);
    let mut animator = calibrated(&media("sylvie_green_normal.png"), &rest);
    let at_rest = animator.feature_points().unwrap();
    let outline: Vec<f32> = (0..6)
        .map(|i| at_rest[feature_index::OUTLINE + i][0])
        .collect();
    let face_width = (outline.iter().cloned().fold(f32::MIN, f32::max)
        - outline.iter().cloned().fold(f32::MAX, f32::min)) as f64;
    let rest_offset = feature_offset(&at_rest);
    let mut time = 1.0;
    let (mut yaws, mut offsets) = (Vec::new(), Vec::new());
    for degrees in (-25..=25).step_by(5).chain((-25..=25).rev().step_by(5)) {
        let mesh = turned(&rest_mesh, degrees as f32);
        let drive = driving(&track, &mesh);
        show(&mut animator, &drive, &mut time);
        yaws.push(drive.pose.unwrap().yaw.to_degrees() as f64);
        offsets.push(feature_offset(&animator.feature_points().unwrap()) - rest_offset);
    }
    let correlation = pearson(&yaws, &offsets);
    let (left, right) = (offsets[0] / face_width, offsets[10] / face_width);
    eprintln!(
        "yaw measured from the turned mesh {:.1} to {:.1} degrees; feature offset at -25: {:.1}% of the face width, at +25: {:.1}%; correlation {correlation:.3}",
        yaws[0],
        yaws[10],
        100.0 * left,
        100.0 * right
    );
    assert!(
        yaws[0] < -20.0 && yaws[10] > 20.0,
        "the turned mesh reads {yaws:?}"
    );
    assert!(
        correlation >= 0.8,
        "correlation {correlation:.3}: {offsets:?}"
    );
    // Turned to the character's left (the picture's right), the features move right.
    assert!(right >= 0.06 && left <= -0.06, "{left:.3} {right:.3}");
    // The turn's gain scales the turn once: at 0.5 the features go about half as far.
    animator.gains.set("turn", 0.5);
    show(
        &mut animator,
        &driving(&track, &turned(&rest_mesh, 25.0)),
        &mut time,
    );
    let halved = (feature_offset(&animator.feature_points().unwrap()) - rest_offset) / face_width;
    eprintln!("with turn gain 0.5, at +25: {:.1}%", 100.0 * halved);
    assert!(
        (0.35..=0.65).contains(&(halved / right)),
        "turn gain 0.5 moved the features {halved:.3} against {right:.3}"
    );
}

/// `mesh` with both irises placed in their eyes: `along` half eye widths from the middle of the
/// corners along the eye line, `down` half eye widths across it (the gaze's own units).
fn looking(mesh: &Mesh, along: f32, down: f32) -> Mesh {
    use mesh_points::*;
    let p = |i: usize| mesh.points[i];
    let iris = |outer: usize, inner: usize, upper: usize, lower: usize| {
        let (a, b) = (p(outer), p(inner));
        let half = 0.5 * (b[0] - a[0]).hypot(b[1] - a[1]);
        let lids = [
            (p(upper)[0] + p(lower)[0]) / 2.0,
            (p(upper)[1] + p(lower)[1]) / 2.0,
        ];
        let middle = [(a[0] + b[0]) / 2.0, (a[1] + b[1]) / 2.0];
        // The face is upright here: the eye line runs along x.
        Iris {
            center: [middle[0] + along * half, lids[1] + down * half],
            radius: 0.4 * half,
        }
    };
    Mesh {
        irises: Some([
            iris(
                RIGHT_EYE_OUTER,
                RIGHT_EYE_INNER,
                RIGHT_EYE_UPPER,
                RIGHT_EYE_LOWER,
            ),
            iris(
                LEFT_EYE_OUTER,
                LEFT_EYE_INNER,
                LEFT_EYE_UPPER,
                LEFT_EYE_LOWER,
            ),
        ]),
        ..mesh.clone()
    }
}

#[test]
fn the_portraits_irises_follow_the_drivers_gaze_inside_the_eyes() {
    let track = still_face();
    let mesh = mesh_of(&track);
    let rest = driving(&track, &looking(&mesh, 0.0, 0.0));
    let mut animator = calibrated(&media("sylvie_green_normal.png"), &rest);
    let layout = animator.avatar().layout().unwrap().clone();
    let eyes = [layout.right_eye, layout.left_eye];
    assert!(eyes.iter().all(|eye| eye.iris.is_some()), "{layout:?}");
    let mut time = 1.0;
    let still = show(&mut animator, &rest, &mut time);
    // The irises measured on the output pixels: where each iris's patch of the picture at rest
    // moved.
    let discs: Vec<_> = eyes.iter().map(|eye| eye.iris.unwrap()).collect();
    let irises = |picture: &RgbImage| -> Vec<Point> {
        discs
            .iter()
            .map(|disc| {
                let half = (0.8 * disc.radius).round() as i32;
                let moved = shift_of(&still, picture, disc.centre, half, half);
                [disc.centre[0] + moved[0], disc.centre[1] + moved[1]]
            })
            .collect()
    };
    let at_rest = irises(&still);
    let mut sweep = |steps: &[(f32, f32)]| -> (Vec<f64>, Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut gaze_x, mut gaze_y, mut moved_x, mut moved_y) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for &(along, down) in steps {
            let drive = driving(&track, &looking(&mesh, along, down));
            let picture = show(&mut animator, &drive, &mut time);
            let gaze = drive.gaze.unwrap();
            let now = irises(&picture);
            for (eye, (iris, rest)) in eyes.iter().zip(now.iter().zip(&at_rest)) {
                // Never outside the eye opening.
                assert!(
                    (iris[0] - eye.centre[0]).abs() <= eye.width / 2.0
                        && (iris[1] - eye.centre[1]).abs() <= eye.height / 2.0,
                    "gaze ({along}, {down}): an iris at {iris:?}, its eye {eye:?}"
                );
                gaze_x.push(gaze.yaw as f64);
                gaze_y.push(gaze.pitch as f64);
                moved_x.push((iris[0] - rest[0]) as f64);
                moved_y.push((iris[1] - rest[1]) as f64);
            }
        }
        (gaze_x, gaze_y, moved_x, moved_y)
    };
    let across: Vec<(f32, f32)> = (-4..=4).map(|i| (i as f32 * 0.1, 0.0)).collect();
    let (gaze_x, _, moved_x, _) = sweep(&across);
    let upright: Vec<(f32, f32)> = (-3..=3).map(|i| (0.0, i as f32 * 0.1)).collect();
    let (_, gaze_y, _, moved_y) = sweep(&upright);
    let (horizontal, vertical) = (pearson(&gaze_x, &moved_x), pearson(&gaze_y, &moved_y));
    let spread = |v: &[f64]| {
        v.iter().cloned().fold(f64::MIN, f64::max) - v.iter().cloned().fold(f64::MAX, f64::min)
    };
    eprintln!(
        "irises on the output: {:.1} px left to right ({horizontal:.3}), {:.1} px up and down ({vertical:.3})",
        spread(&moved_x),
        spread(&moved_y)
    );
    assert!(horizontal >= 0.9, "left/right: {horizontal:.3} {moved_x:?}");
    assert!(vertical >= 0.9, "up/down: {vertical:.3} {moved_y:?}");
    // Looking to the picture's right moves the irises right, by a visible amount.
    assert!(moved_x[16] > 2.0 && moved_x[0] < -2.0, "{moved_x:?}");
}

/// How far the patch of `before` around `at` (a square `half` pixels from its middle to each
/// side) moved in `after`: the best match of the patch within `reach` pixels each way, to a
/// tenth of a pixel (a parabola through the best score and its neighbours).
fn shift_of(before: &RgbImage, after: &RgbImage, at: Point, half: i32, reach: i32) -> Point {
    let (x, y) = (at[0].round() as i32, at[1].round() as i32);
    let patch = Mat::roi(
        &to_mat(before),
        Rect::new(x - half, y - half, 2 * half, 2 * half),
    )
    .unwrap()
    .try_clone()
    .unwrap();
    let search = Mat::roi(
        &to_mat(after),
        Rect::new(
            x - half - reach,
            y - half - reach,
            2 * half + 2 * reach,
            2 * half + 2 * reach,
        ),
    )
    .unwrap()
    .try_clone()
    .unwrap();
    let mut scores = Mat::default();
    opencv::imgproc::match_template_def(&search, &patch, &mut scores, opencv::imgproc::TM_SQDIFF)
        .unwrap();
    let score = |row: i32, column: i32| *scores.at_2d::<f32>(row, column).unwrap();
    let (mut best_row, mut best_column) = (0, 0);
    for row in 0..scores.rows() {
        for column in 0..scores.cols() {
            if score(row, column) < score(best_row, best_column) {
                (best_row, best_column) = (row, column);
            }
        }
    }
    let refine = |l: f32, c: f32, r: f32| {
        let curve = l - 2.0 * c + r;
        if curve > 0.0 {
            0.5 * (l - r) / curve
        } else {
            0.0
        }
    };
    let dx = if best_column > 0 && best_column + 1 < scores.cols() {
        refine(
            score(best_row, best_column - 1),
            score(best_row, best_column),
            score(best_row, best_column + 1),
        )
    } else {
        0.0
    };
    let dy = if best_row > 0 && best_row + 1 < scores.rows() {
        refine(
            score(best_row - 1, best_column),
            score(best_row, best_column),
            score(best_row + 1, best_column),
        )
    } else {
        0.0
    };
    [
        best_column as f32 + dx - reach as f32,
        best_row as f32 + dy - reach as f32,
    ]
}

/// `mesh` with the points of both brows moved `up` pixels (up on the picture) and both mouth
/// corners `smile` pixels up.
fn expressing(mesh: &Mesh, up: f32, smile: f32) -> Mesh {
    use mesh_points::*;
    let mut moved = mesh.clone();
    for index in RIGHT_BROW.iter().chain(&LEFT_BROW) {
        moved.points[*index][1] -= up;
    }
    for index in [MOUTH_RIGHT, MOUTH_LEFT] {
        moved.points[index][1] -= smile;
    }
    moved
}

/// Lucy (Ren'Py's demo) with her brows marked in a sidecar, as a user corrects what the finder
/// missed (her brows run at a slant, which it does not take for brows): a copy in a temporary
/// folder with the sidecar `animecam portrait` writes, brows set where they are drawn.
fn lucy_with_brows() -> (tempfile_dir::Dir, std::path::PathBuf) {
    let dir = tempfile_dir::Dir::new("rig-brows");
    let portrait = dir.path().join("lucy happy.png");
    std::fs::copy(media("lucy_happy.png"), &portrait).unwrap();
    let maker = AvatarMaker::new(Engine::Warp, SIZE, DetectorSettings::default());
    let avatar = maker
        .make(&AvatarSpec {
            path: portrait.clone(),
            crop: None,
            margin: 0.4,
        })
        .unwrap();
    let (mut layout, width, height): (FaceLayout, usize, usize) = avatar.layout_in_file().unwrap();
    // Measured on the picture: the middle of each slanted brow stroke.
    layout.right_brow = Some([186.0, 161.0]);
    layout.left_brow = Some([243.0, 160.0]);
    animecam::warp::write_sidecar(&portrait, &layout, width, height).unwrap();
    (dir, portrait)
}

/// A temporary folder removed when dropped.
mod tempfile_dir {
    pub struct Dir(std::path::PathBuf);

    impl Dir {
        pub fn new(name: &str) -> Dir {
            let path = std::env::temp_dir().join(format!("animecam-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&path).unwrap();
            Dir(path)
        }

        pub fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn brows_and_mouth_corners_follow_the_drivers_on_the_output() {
    let track = still_face();
    let mesh = mesh_of(&track);
    let rest = driving(&track, &mesh);
    // Brows: Lucy's, marked in her sidecar.
    let (_dir, lucy) = lucy_with_brows();
    let mut animator = calibrated(&lucy, &rest);
    assert!(animator.avatar().layout_from_sidecar());
    let mut time = 1.0;
    let still = show(&mut animator, &rest, &mut time);
    let points = animator.feature_points().unwrap();
    let brows = [
        points[feature_index::BROWS],
        points[feature_index::BROWS + 1],
    ];
    let (mut driver, mut portrait) = (Vec::new(), Vec::new());
    for up in [
        -3.0, -1.5, 0.0, 1.5, 3.0, 4.5, 6.0, 4.5, 3.0, 1.5, 0.0, -1.5, -3.0,
    ] {
        let drive = driving(&track, &expressing(&mesh, up, 0.0));
        let picture = show(&mut animator, &drive, &mut time);
        let expression = drive.expression.unwrap();
        let rest_expression = rest.expression.unwrap();
        for (brow, (now, before)) in brows.iter().zip([
            (expression.right_brow, rest_expression.right_brow),
            (expression.left_brow, rest_expression.left_brow),
        ]) {
            driver.push((now - before) as f64);
            // Up on the picture is negative y.
            portrait.push(-shift_of(&still, &picture, *brow, 5, 8)[1] as f64);
        }
    }
    let brow_correlation = pearson(&driver, &portrait);
    eprintln!(
        "brows: driver {:.3} to {:.3} (eye distances), portrait {:.1} to {:.1} px; correlation {brow_correlation:.3}",
        driver.iter().cloned().fold(f64::MAX, f64::min),
        driver.iter().cloned().fold(f64::MIN, f64::max),
        portrait.iter().cloned().fold(f64::MAX, f64::min),
        portrait.iter().cloned().fold(f64::MIN, f64::max),
    );
    assert!(brow_correlation >= 0.8, "{driver:?} {portrait:?}");
    assert!(
        portrait.iter().cloned().fold(f64::MIN, f64::max) > 1.5,
        "raised brows rise"
    );

    // Mouth corners: Sylvie's drawn smile.
    let mut animator = calibrated(&media("sylvie_green_normal.png"), &rest);
    let still = show(&mut animator, &rest, &mut time);
    let points = animator.feature_points().unwrap();
    let corners = [
        points[feature_index::RIGHT_MOUTH_CORNER],
        points[feature_index::LEFT_MOUTH_CORNER],
    ];
    let (mut driver, mut portrait) = (Vec::new(), Vec::new());
    for smile in [
        -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0, 0.0, -1.0, -2.0,
    ] {
        let drive = driving(&track, &expressing(&mesh, 0.0, smile));
        let picture = show(&mut animator, &drive, &mut time);
        let now = drive.expression.unwrap().mouth_corners - rest.expression.unwrap().mouth_corners;
        let rise: f64 = corners
            .iter()
            .map(|corner| -shift_of(&still, &picture, *corner, 4, 6)[1] as f64)
            .sum::<f64>()
            / 2.0;
        driver.push(now as f64);
        portrait.push(rise);
    }
    let smile_correlation = pearson(&driver, &portrait);
    eprintln!(
        "mouth corners: portrait {:.1} to {:.1} px; correlation {smile_correlation:.3}",
        portrait.iter().cloned().fold(f64::MAX, f64::min),
        portrait.iter().cloned().fold(f64::MIN, f64::max),
    );
    assert!(smile_correlation >= 0.8, "{driver:?} {portrait:?}");
    assert!(
        portrait.iter().cloned().fold(f64::MIN, f64::max) > 1.0,
        "a smile lifts the corners"
    );
}

#[test]
fn a_still_face_breathes_with_a_period_of_three_to_five_seconds() {
    let track = still_face();
    let rest = driving(&track, &mesh_of(&track));
    let mut animator = calibrated(&media("sylvie_green_normal.png"), &rest);
    animator.idle.breathing = true;
    let first = animator.shown().0.clone();
    // The lower third's vertical shift against the first picture, 10 s at 30 fps.
    let lower = |image: &RgbImage| -> Mat {
        let grey: Vec<f32> = (SIZE * 2 / 3..SIZE)
            .flat_map(|y| (0..SIZE).map(move |x| (y, x)))
            .map(|(y, x)| {
                let [r, g, b] = image.rgb(x, y);
                (r as f32 + g as f32 + b as f32) / 3.0
            })
            .collect();
        Mat::new_rows_cols_with_data((SIZE - SIZE * 2 / 3) as i32, SIZE as i32, &grey)
            .unwrap()
            .try_clone()
            .unwrap()
    };
    let reference = lower(&first);
    let mut shifts = Vec::new();
    for frame in 0..300 {
        let time = 2.0 + frame as f64 / 30.0;
        let picture = animator.frame(Some(&rest), time).unwrap().0.clone();
        let shift = opencv::imgproc::phase_correlate_def(&reference, &lower(&picture)).unwrap();
        shifts.push(shift.y);
    }
    let mean = shifts.iter().sum::<f64>() / shifts.len() as f64;
    let crossings: Vec<usize> = (1..shifts.len())
        .filter(|&i| (shifts[i - 1] - mean) < 0.0 && (shifts[i] - mean) >= 0.0)
        .collect();
    let amplitude = (shifts.iter().cloned().fold(f64::MIN, f64::max)
        - shifts.iter().cloned().fold(f64::MAX, f64::min))
        / 2.0;
    assert!(crossings.len() >= 2, "no oscillation: {shifts:?}");
    let period = (crossings[crossings.len() - 1] - crossings[0]) as f64
        / (crossings.len() - 1) as f64
        / 30.0;
    eprintln!(
        "lower third: period {period:.2} s, amplitude {amplitude:.2} px ({:.2}% of the height)",
        100.0 * amplitude / SIZE as f64
    );
    assert!((3.0..=5.0).contains(&period), "period {period:.2} s");
    assert!(
        amplitude >= 0.5 && amplitude <= 0.015 * SIZE as f64,
        "amplitude {amplitude:.2} px"
    );
}
