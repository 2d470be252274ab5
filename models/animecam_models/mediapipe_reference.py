"""MediaPipe's own implementation of a face landmark graph, for checking a conversion: the
mediapipe wheel's InferenceCalculator with MediaPipe's custom operator resolver (which holds
Landmarks2TransformMatrix, TransformTensorBilinear and TransformLandmarks) runs the TFLite file
on 192x192 RGB crops, fed through ImageToTensorCalculator to [0, 1] as MediaPipe feeds it.

    <mediapipe venv>/bin/python mediapipe_reference.py MODEL.tflite CROPS.npy OUT.npz

Runs in a virtual environment of its own with the mediapipe wheel (set-up makes it: the wheel's
packages are not in the project's .venv). Writes, per crop i and model output k (in the model's
output order), the raw values as `i_k`. Imports nothing of animecam.
"""

import sys

import numpy as np


def graph_text(model_path, outputs):
    split = " ".join(f"ranges {{ begin: {i} end: {i + 1} }}" for i in range(outputs))
    streams = " ".join(f'output_stream: "t{i}"' for i in range(outputs))
    floats = "\n".join(
        f'node {{ calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:t{i}" output_stream: "FLOATS:f{i}" }}'
        for i in range(outputs))
    return f'''
input_stream: "image"
node {{ calculator: "ImageToTensorCalculator" input_stream: "IMAGE:image" output_stream: "TENSORS:input"
  options {{ [mediapipe.ImageToTensorCalculatorOptions.ext] {{ output_tensor_width: 192 output_tensor_height: 192
    keep_aspect_ratio: false output_tensor_float_range {{ min: 0.0 max: 1.0 }} }} }} }}
node {{ calculator: "TfLiteCustomOpResolverCalculator" output_side_packet: "OP_RESOLVER:op_resolver" }}
node {{ calculator: "InferenceCalculator" input_stream: "TENSORS:input" output_stream: "TENSORS:output"
  input_side_packet: "OP_RESOLVER:op_resolver"
  options {{ [mediapipe.InferenceCalculatorOptions.ext] {{ model_path: "{model_path}" delegate {{ tflite {{}} }} }} }} }}
node {{ calculator: "SplitTensorVectorCalculator" input_stream: "output" {streams}
  options {{ [mediapipe.SplitVectorCalculatorOptions.ext] {{ {split} }} }} }}
{floats}
'''


def run(model_path, crops, outputs=7):
    import mediapipe as mp
    from google.protobuf import text_format
    from mediapipe.framework import calculator_pb2

    config = text_format.Parse(graph_text(model_path, outputs), calculator_pb2.CalculatorGraphConfig())
    graph = mp.CalculatorGraph(graph_config=config)
    results = {}

    def keep(index):
        def observe(_, packet):
            values = np.array(mp.packet_getter.get_float_list(packet), np.float32)
            results.setdefault(packet.timestamp.value, {})[index] = values
        return observe

    for index in range(outputs):
        graph.observe_output_stream(f"f{index}", keep(index))
    graph.start_run()
    for timestamp, crop in enumerate(crops):
        frame = mp.ImageFrame(image_format=mp.ImageFormat.SRGB, data=np.ascontiguousarray(crop, np.uint8))
        graph.add_packet_to_input_stream("image", mp.packet_creator.create_image_frame(frame).at(timestamp))
    graph.close()
    return [results[t] for t in range(len(crops))]


if __name__ == "__main__":
    model, crops_path, out = sys.argv[1:4]
    found = run(model, np.load(crops_path))
    np.savez(out, **{f"{i}_{k}": values for i, outputs in enumerate(found) for k, values in outputs.items()})
