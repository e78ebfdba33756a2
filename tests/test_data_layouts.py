"""Scanning image folders: Kaggle, PetImages, class sub-folders, and the errors a user can hit."""

from __future__ import annotations

from pathlib import Path

import pytest
from data_fixtures import (
    make_kaggle,
    make_petimages,
    write,
    write_jpeg,
    write_png_as_jpg,
    write_truncated_jpeg,
)
from PIL import ImageFile

from tlexplorer.data.decode import decode_problem
from tlexplorer.data.layouts import scan_dataset
from tlexplorer.errors import UserError


def test_kaggle_train_folder(tmp_path: Path) -> None:
    make_kaggle(tmp_path, 3)
    scan = scan_dataset(tmp_path)
    assert scan.layout == "kaggle"
    assert scan.root == tmp_path.resolve()
    assert scan.class_names == ["cat", "dog"]
    assert [r.rel for r in scan.records] == sorted(r.rel for r in scan.records)
    assert len(scan.records) == 6
    assert scan.counts() == {"cat": 3, "dog": 3}
    first = scan.records[0]
    assert first.rel == "train/cat.0.jpg" and first.label == 0
    assert first.path.is_absolute() and first.path == tmp_path.resolve() / "train" / "cat.0.jpg"
    assert {r.label for r in scan.records if r.rel.startswith("train/dog.")} == {1}
    assert scan.skipped == {"not an image file": 1}


def test_kaggle_pointed_at_train_itself(tmp_path: Path) -> None:
    make_kaggle(tmp_path, 2)
    scan = scan_dataset(str(tmp_path / "train"))
    assert scan.layout == "kaggle"
    assert scan.records[0].rel == "cat.0.jpg"


def test_kaggle_one_class_is_an_error(tmp_path: Path) -> None:
    make_kaggle(tmp_path, 2, classes=("cat",))
    with pytest.raises(UserError, match=r"only one class found in .*'cat'"):
        scan_dataset(tmp_path)


def test_petimages_keeps_every_image_file_for_the_decoder(tmp_path: Path) -> None:
    make_petimages(tmp_path, 3)
    scan = scan_dataset(tmp_path)
    assert scan.layout == "petimages"
    assert scan.class_names == ["cat", "dog"]
    rels = [r.rel for r in scan.records]
    # No header heuristics: a PNG named .jpg is a valid image; the decoder, not the scan,
    # rejects the truncated and random-bytes files (the split lists them with the reason).
    assert "PetImages/Cat/png.jpg" in rels
    assert "PetImages/Dog/junk.jpg" in rels
    assert "PetImages/Cat/666.jpg" in rels
    assert scan.counts() == {"cat": 5, "dog": 4}
    assert scan.skipped == {"not an image file": 1}
    assert scan.skipped_files == [("PetImages/Dog/Thumbs.db", "not an image file")]


def test_petimages_folder_given_directly(tmp_path: Path) -> None:
    make_petimages(tmp_path, 2)
    scan = scan_dataset(tmp_path / "PetImages")
    assert scan.layout == "petimages"
    assert scan.records[0].rel == "Cat/0.jpg"


def test_petimages_without_any_image_file(tmp_path: Path) -> None:
    write(tmp_path / "Cat" / "a.txt", b"x")
    write(tmp_path / "Dog" / "b.db", b"y")
    with pytest.raises(UserError, match=r"no usable images found in .*2 not an image file"):
        scan_dataset(tmp_path)


def test_the_decoder_decides_what_is_readable(tmp_path: Path) -> None:
    special = make_petimages(tmp_path, 1)
    assert decode_problem(tmp_path / "PetImages" / "Cat" / "0.jpg") is None
    assert decode_problem(special["png"]) is None  # a real image, only not JFIF
    assert decode_problem(special["truncated"]) is not None
    assert decode_problem(special["random"]) is not None
    assert decode_problem(special["thumbs"]) is not None
    assert decode_problem(tmp_path / "missing.jpg") is not None


def test_truncated_images_are_refused_whatever_the_global_setting(tmp_path: Path) -> None:
    truncated = write_truncated_jpeg(tmp_path / "t.jpg")
    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True  # what some other library may have set
    try:
        assert decode_problem(truncated) is not None
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def test_class_folders(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "Zebra" / "z1.JPG")
    write_jpeg(tmp_path / "Zebra" / "nested" / "z2.jpeg")
    write_png_as_jpg(tmp_path / "ant" / "a1.png")
    write(tmp_path / "ant" / "notes.txt", b"hello")
    write(tmp_path / "ant" / ".DS_Store", b"mac")
    (tmp_path / "empty").mkdir()
    write(tmp_path / "README.txt", b"top-level file")
    scan = scan_dataset(tmp_path)
    assert scan.layout == "class-folders"
    assert scan.class_names == ["Zebra", "ant"]
    assert [(r.rel, r.label) for r in scan.records] == [
        ("Zebra/nested/z2.jpeg", 0),
        ("Zebra/z1.JPG", 0),
        ("ant/a1.png", 1),
    ]
    assert scan.skipped == {"hidden file": 1, "not an image file": 1}


def test_cat_dog_lowercase_folders_are_class_folders(tmp_path: Path) -> None:
    write_png_as_jpg(tmp_path / "cat" / "a.png")
    write_jpeg(tmp_path / "dog" / "b.jpg")
    scan = scan_dataset(tmp_path)
    assert scan.layout == "class-folders"
    assert scan.class_names == ["cat", "dog"]
    assert len(scan.records) == 2


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^dataset folder not found: .*nowhere$"):
        scan_dataset(tmp_path / "nowhere")


def test_path_is_a_file(tmp_path: Path) -> None:
    path = write_jpeg(tmp_path / "x.jpg")
    with pytest.raises(UserError, match=r"^dataset path is a file, not a folder: "):
        scan_dataset(path)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(UserError) as info:
        scan_dataset(tmp_path)
    message = str(info.value)
    assert message.startswith(f"no images found in {tmp_path.resolve()}: expected Kaggle train/")
    assert "PetImages (Cat/, Dog/)" in message and "one sub-folder per class" in message
    assert "\n" not in message


def test_images_without_class_folders(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "photo.jpg")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "Thumbs.db", b"x")
    with pytest.raises(UserError, match="no images found in"):
        scan_dataset(tmp_path)


def test_one_class_folder(tmp_path: Path) -> None:
    write_jpeg(tmp_path / "only" / "a.jpg")
    (tmp_path / "other").mkdir()
    with pytest.raises(UserError, match=r"only one class found in .*'only'"):
        scan_dataset(tmp_path)
