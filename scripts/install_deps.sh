#!/usr/bin/env bash
# Installs everything tplm needs to build, test and run, from Debian's packages
# and PyPI. Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config git curl ca-certificates python3 python3-pip
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libspdlog-dev libfmt-dev
  libopenblas-dev libsentencepiece-dev libpcre2-dev
  libopenmpi-dev openmpi-bin
  clang clang-format libclang-rt-14-dev iproute2 procps
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "==> installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! python3 -c "import numpy, gguf, safetensors, sentencepiece, tokenizers, openai" 2>/dev/null; then
  echo "==> installing Python packages for the tools and reference checks"
  python3 -m pip install -q -r tools/requirements.txt 2>/dev/null ||
    python3 -m pip install -q --break-system-packages -r tools/requirements.txt
fi
echo "==> dependencies ready"
