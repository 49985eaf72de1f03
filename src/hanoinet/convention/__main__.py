"""``python -m hanoinet.convention``: write ``parsed.json``, the parsed copy of every YAML file
packaged with hanoinet (convention/loader.py says why). Run it after editing one of them; a
test fails until it is run."""

import json
import sys
from pathlib import Path

from hanoinet.convention.loader import PARSED, parsed_copy

target = Path(__file__).with_name(PARSED)
copy = parsed_copy()
target.write_text(json.dumps(copy, indent=0, sort_keys=True) + "\n", encoding="utf-8")
print(f"{target}: {len(copy)} YAML files", file=sys.stderr)
