"""Command line of the model toolchain. Run from the checkout root:

    PYTHONPATH=models .venv/bin/python -m animecam_models --help

`import` turns a checkpoint into a model set without PyTorch (what users run, through
`animecam models import`); the other commands are the PyTorch exporters, the reference the
importer is tested against, and import PyTorch only when they run.
"""

import argparse
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parents[1]


def import_command(args):
    from . import importer  # noqa: PLC0415

    return importer.main(args)


def fomm_command(args):
    from . import export, fomm  # noqa: PLC0415  (PyTorch)

    config = fomm.TINY if args.tiny else fomm.VOX_256
    entries, checks = export.export_fomm(args.out, args.checkpoint, config, args.seed)
    export.write_manifest(args.out, args.name or config.name, entries, "First Order Motion Model graphs")
    return checks


def ugatit_command(args):
    from . import export, ugatit  # noqa: PLC0415  (PyTorch)

    configs = {
        ("full", False): ugatit.FULL,
        ("light", False): ugatit.LIGHT,
        ("full", True): ugatit.TINY_FULL,
        ("light", True): ugatit.TINY_LIGHT,
    }
    config = configs[(args.variant, args.tiny)]
    if args.checkpoint and args.tf_checkpoint:
        raise ValueError("give --checkpoint (PyTorch) or --tf-checkpoint (TensorFlow), not both")
    entries, checks = export.export_ugatit(args.out, config, args.checkpoint, args.seed, tf_checkpoint=args.tf_checkpoint)
    export.write_manifest(args.out, args.name or f"ugatit-{config.name}", entries, "U-GAT-IT selfie2anime generator")
    return checks


def export_random_set(out, fomm_config, ugatit_configs, name, description, test_fixture=False, spread=False):
    """FOMM and U-GAT-IT graphs with seeded random weights into one model folder."""
    from . import export  # noqa: PLC0415  (PyTorch)

    out = Path(out)
    entries, checks = export.export_fomm(out, None, fomm_config, seed=1, spread=spread)
    for config in ugatit_configs:
        more, found = export.export_ugatit(out, config, None, seed=2)
        entries.update(more)
        checks += found
    export.write_manifest(out, name, entries, description, test_fixture=test_fixture)
    return checks


def tiny_command(args):
    """Every graph at small widths with seeded random weights: the models Rust tests use."""
    from . import fomm, ugatit  # noqa: PLC0415  (PyTorch)

    return export_random_set(
        args.out, fomm.TINY, (ugatit.TINY_FULL, ugatit.TINY_LIGHT),
        "tiny", "tiny random-weight graphs for tests (python -m animecam_models tiny)",
        test_fixture=True,
    )


def random_command(args):
    """Full-size graphs with random weights, for benchmarks (not committed)."""
    from . import fomm, ugatit  # noqa: PLC0415  (PyTorch)

    return export_random_set(
        args.out, fomm.VOX_256, (ugatit.FULL, ugatit.LIGHT),
        "random-full-size", "full-size random-weight graphs for benchmarks",
        spread=True,
    )


def random_styles_command(args):
    """Style networks with seeded random weights at the sizes the benchmark measures, built
    without PyTorch (AnimeGANv2 at 256 and 512, CartoonGAN at 256), each a set under `out`/styles."""
    from . import import_styles, importer, onnx_style  # noqa: PLC0415

    for kind, size, shapes in [("animegan2", 256, onnx_style.animegan2_expected_shapes()),
                               ("animegan2", 512, onnx_style.animegan2_expected_shapes()),
                               ("cartoongan", 256, onnx_style.cartoongan_expected_shapes())]:
        weights = onnx_style.random_weights(shapes, seed=size)
        spec = import_styles.StyleSpec(size=size, default_name=f"{kind}-{size}")
        found = importer.Found(kind, spec, weights, import_styles.parameter_count(kind, weights, spec))
        importer.write_set(found, Path("seeded random weights"), args.out)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="animecam_models", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("import", help="a FOMM, U-GAT-IT or style network checkpoint to a model set, "
                                           "without PyTorch")
    p.add_argument("file", help="vox-adv-cpk.pth.tar, a UGATIT-pytorch *_params_*.pt, the TensorFlow "
                                "checkpoint's prefix or folder, an AnimeGANv2 (animegan2-pytorch) or CartoonGAN "
                                "state dict (face_paint_512_v2.pt, Hayao_net_G_float.pth), or a ready .onnx style "
                                "network")
    p.add_argument("--models-dir", default=str(MODELS), help="where model sets live (default: models/)")
    p.add_argument("--name", help="the set's folder name (default: vox-256 for FOMM, ugatit for U-GAT-IT, the "
                                  "file's name for a style network, under styles/)")
    p.add_argument("--variant", choices=["full", "light"], help="U-GAT-IT: which generator the checkpoint must be")
    p.add_argument("--int8", action="store_true", help="also make the int8 set beside it (minutes)")
    p.add_argument("--size", type=int, help="style networks: the picture size the graph runs at, a multiple of 8 "
                                           "(default 512; a ready .onnx file of fixed size runs at its own)")
    p.add_argument("--range", choices=["symmetric", "unit", "byte"],
                   help="a ready .onnx file: the value range its pictures use (symmetric [-1, 1], unit [0, 1], "
                        "byte [0, 255]); required, the graph cannot tell")
    p.add_argument("--progress-lines", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(run=import_command)

    p = commands.add_parser("fomm", help="export fomm_kp, fomm_encoder and fomm_generator")
    p.add_argument("--checkpoint", help="official vox-cpk.pth.tar or vox-adv-cpk.pth.tar (omit for random weights)")
    p.add_argument("--out", required=True, help="model folder to write (graphs + manifest.json)")
    p.add_argument("--tiny", action="store_true", help="small widths at 64x64 (tests)")
    p.add_argument("--seed", type=int, default=0, help="seed of random weights and verification inputs")
    p.add_argument("--name", help="model set name in the manifest")
    p.set_defaults(run=fomm_command)

    p = commands.add_parser("ugatit", help="export the U-GAT-IT A->B generator")
    p.add_argument("--checkpoint", help="UGATIT-pytorch *_params_*.pt (omit for random weights)")
    p.add_argument("--tf-checkpoint", help="official TensorFlow checkpoint prefix, e.g. checkpoint/UGATIT_selfie2anime_lsgan_4resblock_6dis_1_1_10_10_1000_sn_smoothing/UGATIT.model-1000000")
    p.add_argument("--variant", choices=["full", "light"], default="full")
    p.add_argument("--out", required=True)
    p.add_argument("--tiny", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name")
    p.set_defaults(run=ugatit_command)

    p = commands.add_parser("tiny", help="regenerate the committed tiny test models")
    p.add_argument("--out", default=str(MODELS / "tiny"))
    p.set_defaults(run=tiny_command)

    p = commands.add_parser("random-styles", help="style networks with random weights for the benchmark, in "
                                                  "OUT/styles (no PyTorch)")
    p.add_argument("--out", required=True, help="the folder of model sets to write into")
    p.set_defaults(run=random_styles_command)

    p = commands.add_parser("random", help="full-size random-weight exports of every graph (benchmarks)")
    p.add_argument("--out", default=str(MODELS.parent / ".cache" / "models" / "random"))
    p.set_defaults(run=random_command)

    args = parser.parse_args(argv)
    if args.command in ("import", "random-styles"):
        return args.run(args)
    try:
        checks = args.run(args)
    except (ValueError, RuntimeError, FileNotFoundError, KeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    failed = [check for check in checks if not check.ok]
    if failed:
        print(f"error: {len(failed)} output(s) differ between PyTorch and ONNX Runtime:", file=sys.stderr)
        for check in failed:
            print(f"  {check}", file=sys.stderr)
        return 1
    print(f"verified {len(checks)} outputs against PyTorch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
