#!/usr/bin/env bash
# deps.sh - installs the Debian packages xtrading needs, only those missing.
#   scripts/deps.sh build   compiler, make, cmake
#   scripts/deps.sh test    + cmocka, clang with its sanitizer/libFuzzer runtime, python3
#                           (websockets, yaml for the deploy/ checks), promtool and prometheus
#                           (Debian's prometheus) for the /metrics tests and the alert rules
# On a system without dpkg it only checks that the tools are on PATH.
set -euo pipefail

build_pkgs=(build-essential cmake pkg-config libisal-dev libssl-dev libwslay-dev libhttp-parser-dev libjansson-dev)
test_pkgs=(libcmocka-dev clang clang-format clang-tidy libclang-rt-14-dev llvm python3 python3-websockets python3-yaml
           prometheus)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

if ! command -v dpkg-query >/dev/null 2>&1; then
  for t in cc cmake make; do
    command -v "$t" >/dev/null 2>&1 || { echo "deps: '$t' not found; install it" >&2; exit 1; }
  done
  exit 0
fi

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null 2>&1; then
  sudo=(sudo)
else
  echo "deps: missing packages (${missing[*]}) and not root; install them with apt-get" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
