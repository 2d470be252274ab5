"""animecam's model toolchain: FOMM and U-GAT-IT in PyTorch, exported to verified ONNX graphs.

Needs torch, onnx, onnxscript and onnxruntime (models/requirements.txt); never needed at run time.
"""

__version__ = "0.1.0"
