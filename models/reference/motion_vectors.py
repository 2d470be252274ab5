"""Reference vectors for animecam's relative motion (src/motion.rs), computed the way the official
first-order-model `normalize_kp` does (animate.py): NumPy, and SciPy's ConvexHull for the areas.

    .venv/bin/pip install numpy scipy
    .venv/bin/python models/reference/motion_vectors.py > tests/data/motion_vectors.json
"""

import json

import numpy as np
from scipy.spatial import ConvexHull


def normalize_kp(source, driving, initial, adapt_movement_scale, use_relative_movement, use_relative_jacobian=True):
    if adapt_movement_scale:
        source_area = ConvexHull(source["value"]).volume
        driving_area = ConvexHull(initial["value"]).volume
        scale = np.sqrt(source_area) / np.sqrt(driving_area)
    else:
        scale = 1.0
    new = dict(driving)
    if use_relative_movement:
        new["value"] = (driving["value"] - initial["value"]) * scale + source["value"]
        if use_relative_jacobian:
            jacobian_diff = np.matmul(driving["jacobian"], np.linalg.inv(initial["jacobian"]))
            new["jacobian"] = np.matmul(jacobian_diff, source["jacobian"])
    return new, scale


def keypoints(rng, count, spread):
    return {
        "value": rng.uniform(-spread, spread, (count, 2)),
        "jacobian": np.eye(2) + rng.normal(0, 0.2, (count, 2, 2)),
    }


def main():
    rng = np.random.default_rng(2019)
    cases = []
    for index in range(12):
        source = keypoints(rng, 10, 0.8)
        initial = keypoints(rng, 10, 0.4 + 0.05 * index)
        driving = {
            "value": initial["value"] + rng.normal(0, 0.1, (10, 2)),
            "jacobian": initial["jacobian"] + rng.normal(0, 0.1, (10, 2, 2)),
        }
        adapt, relative = index % 2 == 0, index % 3 != 2
        new, scale = normalize_kp(source, driving, initial, adapt, relative)
        cases.append({
            "adapt_scale": adapt,
            "relative": relative,
            "source": {k: v.tolist() for k, v in source.items()},
            "driving": {k: v.tolist() for k, v in driving.items()},
            "initial": {k: v.tolist() for k, v in initial.items()},
            "scale": float(scale),
            "source_hull_area": float(ConvexHull(source["value"]).volume),
            "expected": {k: np.asarray(v).tolist() for k, v in new.items()},
        })
    print(json.dumps({"generator": "models/reference/motion_vectors.py", "cases": cases}, indent=1))


if __name__ == "__main__":
    main()
