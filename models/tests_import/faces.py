"""Real face crops from the registry media `make setup` fetched: the tests' inputs, the same
pixels when the fixtures are made (with PyTorch) and when the tests run (without it)."""

from animecam_models import quantize

PICTURES = {
    "astronaut": "astronaut.png",
    "grace_hopper": "grace_hopper.jpg",
    "portrait": "sylvie_green_normal.png",
}


def crops(size, normalization):
    """{name: [1, 3, size, size] float32} face crops as the tracker makes them."""
    spec = {"shape": [1, 3, size, size], "normalization": normalization}
    return {name: quantize.image_tensor(quantize.face_crop(quantize._rgb(quantize.MEDIA / file)), spec)
            for name, file in PICTURES.items()}
