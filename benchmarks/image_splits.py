"""The held-out images of the still-image benchmarks, in one place.

The shipped image models were trained with these excluded (`--exclude`, see each model's
MODEL_CARD.md); every image benchmark scores only these.
"""

from pathlib import Path

from neuronseg.io.images import read_labelled_images

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

#: abo_summary: 3 of 15 fields held out (the last three by id that are not consensus-labelled)
ABO_TEST = ("510517131", "540684467", "545446482")
#: pfc_brightfield: the last 16 of 80 images
PFC_TEST = tuple(f"img_{i:03d}" for i in range(65, 81))
#: dsb2018_nuclei: train on one image, test on the other
NUCLEI_TEST = ("ee927e82_256",)


def held_out(folder: str, names) -> list:
    items = [it for it in read_labelled_images(DATA / folder) if it.name in names]
    if len(items) != len(names):
        raise SystemExit(f"needs {DATA / folder} with {names}")
    return items


def training_part(folder: str, names) -> list:
    return [it for it in read_labelled_images(DATA / folder) if it.name not in names]
