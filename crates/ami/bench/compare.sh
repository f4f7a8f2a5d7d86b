#!/usr/bin/env bash
# Parse throughput of clickdial-ami against panoramisk 1.4 on the same AMI capture.
#
#   crates/ami/bench/compare.sh [FILE]     (default: crates/ami/tests/data/originate-300.ami)
#
# Runs `cargo run --release -p clickdial-ami --example parse -- FILE`, then panoramisk's own
# receive path on the same bytes (panoramisk_parse.py, in a virtualenv made on first use under
# ${PANORAMISK_VENV:-target/panoramisk-venv}), and prints both lines and the MB/s ratio.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
file="${1:-$root/crates/ami/tests/data/originate-300.ami}"
venv="${PANORAMISK_VENV:-$root/target/panoramisk-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet panoramisk==1.4
fi
ours="$(cd "$root" && cargo run --quiet --release -p clickdial-ami --example parse -- "$file")"
theirs="$("$venv/bin/python" "$here/panoramisk_parse.py" "$file")"
echo "clickdial-ami: $ours"
echo "panoramisk:    $theirs"
mbs() { sed -E 's/.* ([0-9.]+) MB\/s$/\1/' <<<"$1"; }
awk -v a="$(mbs "$ours")" -v b="$(mbs "$theirs")" 'BEGIN { printf "ratio:         %.1fx\n", a / b }'
