# Put the folder above this one first on PYTHONPATH to prove that code does not need PyTorch:
# any `import torch` then fails.
raise ImportError("torch is deliberately unavailable here: the torch-free importer must not import it")
