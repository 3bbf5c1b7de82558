#!/usr/bin/env bash
# Seeds the fuzz corpus with the real fixtures' XML.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
mkdir -p corpus/parse_imzml
for f in ../fixtures/imzml/*.imzML; do
  head -c 65536 "$f" > "corpus/parse_imzml/$(basename "$f")"
done
