//! Relative motion against reference vectors computed like the official FOMM `normalize_kp`
//! (NumPy + SciPy's ConvexHull; see models/reference/motion_vectors.py).

use animecam::motion::{adapt_scale, convex_hull_area, relative_motion, Keypoints, MotionOptions};
use serde_json::Value;

fn keypoints(value: &Value) -> Keypoints {
    let values = value["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| [p[0].as_f64().unwrap() as f32, p[1].as_f64().unwrap() as f32])
        .collect();
    let jacobians = value["jacobian"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let at = |i: usize, j: usize| m[i][j].as_f64().unwrap() as f32;
            [[at(0, 0), at(0, 1)], [at(1, 0), at(1, 1)]]
        })
        .collect();
    Keypoints { values, jacobians }
}

#[test]
fn matches_the_reference_normalize_kp() {
    let text = include_str!("data/motion_vectors.json");
    let vectors: Value = serde_json::from_str(text).unwrap();
    let cases = vectors["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for (index, case) in cases.iter().enumerate() {
        let source = keypoints(&case["source"]);
        let driving = keypoints(&case["driving"]);
        let initial = keypoints(&case["initial"]);
        let options = MotionOptions {
            relative: case["relative"].as_bool().unwrap(),
            adapt_scale: case["adapt_scale"].as_bool().unwrap(),
        };
        let area = case["source_hull_area"].as_f64().unwrap() as f32;
        assert!(
            (convex_hull_area(&source.values) - area).abs() < 1e-5,
            "case {index}: hull area"
        );
        if options.adapt_scale {
            let scale = case["scale"].as_f64().unwrap() as f32;
            assert!(
                (adapt_scale(&source.values, &initial.values) - scale).abs() < 1e-5,
                "case {index}: scale"
            );
        }
        let expected = keypoints(&case["expected"]);
        let got = relative_motion(&source, &driving, &initial, options).unwrap();
        for (g, e) in got
            .values
            .iter()
            .flatten()
            .zip(expected.values.iter().flatten())
        {
            assert!((g - e).abs() < 1e-5, "case {index}: value {g} vs {e}");
        }
        for (g, e) in got
            .jacobians
            .iter()
            .flatten()
            .flatten()
            .zip(expected.jacobians.iter().flatten().flatten())
        {
            assert!((g - e).abs() < 1e-4, "case {index}: jacobian {g} vs {e}");
        }
    }
}
