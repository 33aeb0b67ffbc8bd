"""Image decoding and preprocessing of the library (host/io_image.c) against PIL and
torchvision: decoded pixels equal PIL's for grey, RGB, alpha, palette and 16-bit PNGs and
for JPEGs; preprocessed inputs equal torchvision's Resize/CenterCrop/ToTensor/Normalize
up to float rounding; broken files raise octcl.FormatError naming the file.
"""
import io

import numpy as np
import pytest

import octcl

PIL = pytest.importorskip("PIL.Image", reason="python3-pil is not installed")
Image = PIL

if not octcl._lib.has("oct_image_load"):
    pytest.skip("the library has no image calls", allow_module_level=True)


def rng(seed):
    return np.random.default_rng(seed)


def smooth(h, w, c, seed):
    """A smooth-ish random image (JPEG-friendly) of uint8 (h, w, c)."""
    r = rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    out = np.empty((h, w, c), np.uint8)
    for k in range(c):
        a, b, p = r.uniform(0.02, 0.2, 3)
        out[..., k] = np.clip(127 + 100 * np.sin(a * x + p * 7) * np.cos(b * y) + r.normal(0, 8, (h, w)), 0, 255)
    return out


@pytest.mark.parametrize("mode", ["L", "RGB", "RGBA", "LA", "P", "I;16", "1"])
def test_png_decodes_as_pil(tmp_path, mode):
    arr = smooth(37, 23, 3, seed=len(mode))
    img = Image.fromarray(arr, "RGB")
    if mode == "RGBA":
        rgba = np.dstack([arr, rng(1).integers(0, 256, (37, 23), dtype=np.uint8)])
        img = Image.fromarray(rgba, "RGBA")
    elif mode == "LA":
        img = img.convert("LA")
    elif mode == "I;16":
        img = Image.fromarray(rng(2).integers(0, 65536, (37, 23), dtype=np.uint16))
        assert img.mode == "I;16"
    else:
        img = img.convert(mode)
    p = tmp_path / f"x_{mode.replace(';', '')}.png"
    img.save(p)
    got = octcl.read_image(p)
    back = Image.open(p)
    if mode == "I;16":
        want = (np.asarray(back, dtype=np.uint16) >> 8).astype(np.uint8)[..., None]   # the high byte
    elif back.mode in ("L", "LA", "1") or (back.mode == "P" and False):
        want = np.asarray(back.convert("L"))[..., None]
    else:
        want = np.asarray(back.convert("RGB"))
    assert got.shape == want.shape, (got.shape, want.shape)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("mode", ["L", "RGB"])
def test_jpeg_decodes_as_pil(tmp_path, mode):
    img = Image.fromarray(smooth(41, 30, 3, seed=3), "RGB").convert(mode)
    p = tmp_path / "x.jpg"
    img.save(p, quality=90)
    got = octcl.read_image(p)
    want = np.asarray(Image.open(p))
    if want.ndim == 2:
        want = want[..., None]
    assert got.shape == want.shape
    # The same libjpeg-turbo decodes for both; allow 1 level for a different IDCT build.
    assert np.abs(got.astype(int) - want).max() <= 1


def torchvision_input(path, channels, resize, crop, mean, std):
    tv = pytest.importorskip("torchvision.transforms")
    t = tv.Compose([tv.Resize(resize), tv.CenterCrop(crop), tv.ToTensor(), tv.Normalize(mean, std)])
    return t(Image.open(path).convert("L" if channels == 1 else "RGB")).numpy()


@pytest.mark.parametrize("size", [(300, 200), (200, 300), (256, 256), (100, 75), (1000, 40)])
def test_imagenet_preprocessing_as_torchvision(tmp_path, size):
    h, w = size
    p = tmp_path / "x.png"
    Image.fromarray(smooth(h, w, 3, seed=h + w), "RGB").save(p)
    m = octcl.Model.random(3, 10, 0.5, seed=0, device="cpu")
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    got = m.preprocess(p)
    want = torchvision_input(p, 3, 256, 224, mean, std)
    assert got.shape == want.shape == (3, 224, 224)
    # Same 8-bit pixels after PIL's resize; the normalisation is rounded in double here,
    # in float32 there: a few ulp of |x| <= 3.
    diff = np.abs(got - want)
    assert diff.max() <= 4e-6 * 3, f"max |diff| {diff.max()} at {np.unravel_index(diff.argmax(), diff.shape)}"


def test_grey_model_preprocessing(tmp_path):
    p = tmp_path / "x.jpg"
    Image.fromarray(smooth(64, 50, 3, seed=9), "RGB").save(p, quality=95)
    m = octcl.Model.random(1, 10, 0.5, seed=0, device="cpu")
    got = m.preprocess(p)
    want = torchvision_input(p, 1, 28, 28, (0.0,), (1.0,))
    assert got.shape == (1, 28, 28)
    assert np.abs(got - want).max() <= 1e-6


def test_crop_larger_than_image_pads_like_torchvision(tmp_path):
    p = tmp_path / "x.png"
    Image.fromarray(smooth(20, 13, 3, seed=5), "RGB").save(p)
    m = octcl.Model.random(3, 10, 0.5, seed=0, device="cpu")
    got = m.preprocess(p, resize=0, crop=(25, 18), mean=0, std=1)
    tv = pytest.importorskip("torchvision.transforms")
    want = tv.Compose([tv.CenterCrop((25, 18)), tv.ToTensor()])(Image.open(p).convert("RGB")).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_broken_files_raise(tmp_path):
    good = io.BytesIO()
    Image.fromarray(smooth(64, 64, 3, seed=1), "RGB").save(good, "JPEG", quality=90)
    data = good.getvalue()
    cases = {"trunc.jpg": data[: len(data) // 2], "text.png": b"hello, not an image\n", "empty.jpg": b""}
    png = io.BytesIO()
    Image.fromarray(smooth(30, 30, 3, seed=2), "RGB").save(png, "PNG")
    cases["trunc.png"] = png.getvalue()[:-40]
    for name, b in cases.items():
        p = tmp_path / name
        p.write_bytes(b)
        with pytest.raises(octcl.FormatError) as e:
            octcl.read_image(p)
        assert name in e.value.message, e.value.message
    with pytest.raises(octcl.FileError):
        octcl.read_image(tmp_path / "absent.png")
