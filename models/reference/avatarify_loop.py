"""The Python reference for `animecam bench`: an avatarify-style loop (OpenCV crop and resize,
ONNX Runtime Python sessions, the same relative-motion math) on the same ONNX files, frames and
thread count; plus the graphs' multiply-accumulates per frame and the machine's MatMul rate.
Benchmark only, never shipped. Prints JSON.

    .venv/bin/python models/reference/avatarify_loop.py --models .cache/models/random --threads 2
(needs numpy, scipy, onnx, onnxruntime and opencv-python-headless in .venv)
"""

import argparse
import json
import os
import time

import cv2
import numpy as np
import onnx
# ONNX Runtime reads its telemetry opt-out once, when it initialises: set it before the import.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"
import onnxruntime as ort
from onnx import helper, shape_inference, TensorProto
from scipy.spatial import ConvexHull


def session(path, threads):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def to_tensor(rgb, size):
    image = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    return (image.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]


def normalize_kp(source, driving, initial):
    scale = np.sqrt(ConvexHull(source[0][0]).volume) / np.sqrt(ConvexHull(initial[0][0]).volume)
    value = (driving[0] - initial[0]) * scale + source[0]
    jacobian = np.matmul(np.matmul(driving[1], np.linalg.inv(initial[1])), source[1])
    return value.astype(np.float32), jacobian.astype(np.float32)


def macs(path):
    """Multiply-accumulates of the Conv, ConvTranspose, MatMul and Gemm nodes of a graph."""
    model = shape_inference.infer_shapes(onnx.load(path))
    shapes = {}
    for value in list(model.graph.value_info) + list(model.graph.input) + list(model.graph.output):
        dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
        shapes[value.name] = dims
    for init in model.graph.initializer:
        shapes[init.name] = list(init.dims)
    total = 0
    for node in model.graph.node:
        out = shapes.get(node.output[0])
        if not out:
            continue
        if node.op_type == "Conv":
            weight = shapes[node.input[1]]
            total += int(np.prod(out)) * int(np.prod(weight[1:]))
        elif node.op_type in ("MatMul", "Gemm"):
            a = shapes.get(node.input[0])
            if a:
                total += int(np.prod(out)) * a[-1]
    return total


def matmul_gflops(threads, n=2048):
    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [n, n])
    c = helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])
    graph = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "mm", [a, b], [c])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    s = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    x = np.random.rand(n, n).astype(np.float32)
    s.run(None, {"a": x, "b": x})
    runs = 5
    start = time.perf_counter()
    for _ in range(runs):
        s.run(None, {"a": x, "b": x})
    return 2 * n**3 * runs / (time.perf_counter() - start) / 1e9


def clock_ghz():
    try:
        with open("/proc/cpuinfo") as info:
            mhz = [float(line.split(":")[1]) for line in info if line.startswith("cpu MHz")]
        return max(mhz) / 1000 if mhz else None
    except OSError:
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--frames", type=int, default=10)
    parser.add_argument("--portrait", required=True)
    parser.add_argument("--photo", required=True)
    args = parser.parse_args()
    kp = session(os.path.join(args.models, "fomm_kp.onnx"), args.threads)
    encoder = session(os.path.join(args.models, "fomm_encoder.onnx"), args.threads)
    generator = session(os.path.join(args.models, "fomm_generator.onnx"), args.threads)
    size = kp.get_inputs()[0].shape[2]

    portrait = cv2.cvtColor(cv2.imread(args.portrait), cv2.COLOR_BGR2RGB)
    side = min(portrait.shape[:2])
    source = to_tensor(portrait[:side, :side], size)
    photo = cv2.cvtColor(cv2.imread(args.photo), cv2.COLOR_BGR2RGB)
    frames = [photo[40 + t: 440 + t, 50 + 2 * t: 450 + 2 * t] for t in range(args.frames + 1)]

    features = encoder.run(None, {"source": source})[0]
    kp_source = kp.run(None, {"image": source})
    initial = kp.run(None, {"image": to_tensor(frames[0], size)})

    def frame(rgb, cached):
        nonlocal features, kp_source
        if not cached:
            features = encoder.run(None, {"source": source})[0]
            kp_source = kp.run(None, {"image": source})
        driving = kp.run(None, {"image": to_tensor(rgb, size)})
        value, jacobian = normalize_kp(kp_source, driving, initial)
        prediction = generator.run(["prediction"], {
            "source": source, "features": features,
            "source_value": kp_source[0], "source_jacobian": kp_source[1],
            "driving_value": value, "driving_jacobian": jacobian,
        })[0]
        return (np.clip(prediction[0].transpose(1, 2, 0), 0, 1) * 255).astype(np.uint8)

    results = {}
    for cached in (True, False):
        frame(frames[0], cached)
        times = []
        for rgb in frames[1:]:
            start = time.perf_counter()
            frame(rgb, cached)
            times.append((time.perf_counter() - start) * 1000)
        results["fomm_frame_cached_ms" if cached else "fomm_frame_uncached_ms"] = float(np.median(times))

    per_frame = macs(os.path.join(args.models, "fomm_kp.onnx")) + macs(os.path.join(args.models, "fomm_generator.onnx"))
    results["fomm_gmac_per_frame"] = round(per_frame / 1e9, 2)
    results["fomm_encoder_gmac"] = round(macs(os.path.join(args.models, "fomm_encoder.onnx")) / 1e9, 2)
    results["matmul_gflops"] = round(matmul_gflops(args.threads), 1)
    ghz = clock_ghz()
    if ghz:
        peak = args.threads * ghz * 32
        results["fp32_peak_gflops"] = round(peak, 1)
        results["roofline_ms"] = round(2 * per_frame / (peak * 1e9) * 1000, 1)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
