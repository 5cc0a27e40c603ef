"""Set Vietnamese translations from a small Python dict: `python scripts/translate.py FILE.json`.

The JSON maps English msgid -> Vietnamese text; the catalogue keeps its order and comments.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

CATALOGUE = Path(__file__).resolve().parent.parent / "app/translations/vi/LC_MESSAGES/messages.po"


def main(path: str) -> int:
    wanted = json.loads(Path(path).read_text(encoding="utf-8"))
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="vi")
    unknown = [key for key in wanted if key not in catalogue]
    for key, value in wanted.items():
        if key in catalogue:
            catalogue[key].string = value
            catalogue[key].flags.discard("fuzzy")
    with CATALOGUE.open("wb") as handle:
        write_po(handle, catalogue, width=100, omit_header=False)
    if unknown:
        print("not in the catalogue (run `make messages` first):", *unknown, sep="\n  ")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
