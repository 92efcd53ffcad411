#!/usr/bin/env python3
"""Add console messages to both catalogues: ``scripts/locale-add.py MESSAGES.json``.

MESSAGES.json maps each English source string to its Chinese translation. en.json gets the
English string as its own translation, zh-CN.json the Chinese one; both stay sorted with the
formatting the tests expect. Existing keys are overwritten with the new translation.
"""

import fcntl
import json
import sys
from pathlib import Path

LOCALES = Path(__file__).resolve().parents[1] / "src" / "kehu" / "web" / "locales"


def main(path: str) -> None:
    """Merge the messages of ``path`` into both catalogues."""
    new: dict[str, str] = json.loads(Path(path).read_text(encoding="utf-8"))
    with open(LOCALES / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # helpers working side by side must not lose keys
        for locale, chinese in (("en", False), ("zh-CN", True)):
            file = LOCALES / f"{locale}.json"
            data = json.loads(file.read_text(encoding="utf-8"))
            data.update({k: (v if chinese else k) for k, v in new.items()})
            file.write_text(json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True) + "\n")
    print(f"added {len(new)} messages to en.json and zh-CN.json")  # noqa: T201 - a script


if __name__ == "__main__":
    main(sys.argv[1])
