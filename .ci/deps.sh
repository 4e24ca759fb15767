#!/usr/bin/env bash
# Installs the Debian 12 packages cityrisk needs to build, test and run, and only
# those that are missing (apt-get update runs only when something is to install).
# Usage: .ci/deps.sh [--bench]   (--bench adds the peers measured in bench/)
set -euo pipefail

packages=(build-essential cmake pkg-config libgdal-dev libgeos-dev libproj-dev libjson-c-dev
          libcmocka-dev libcairo2-dev libxml2-dev gdal-bin python3 python3-gdal
          clang libclang-rt-14-dev # clang and libFuzzer: .ci/fuzz.sh
          man-db groff-base bash-completion # the generated man pages and completion: e2e.docs
          parallel # GNU parallel running the job list of run --emit jobs: e2e.run_plan
          snakemake # Snakemake running the Snakefile of run --emit snakemake: e2e.run_plan (with its
                    # dependencies 80 packages, about 650 MB installed, 530 MB of it python3-azure, which
                    # python3-smart-open depends on; dpkg took 2 min here)
          slurm-wlm munge # a single-node Slurm cluster the tests start: e2e.run_plan, e2e.slurm_harness
          chromium python3-websocket poppler-utils fonts-dejavu-core) # the report in a real browser: e2e.report
if [[ "${1:-}" == "--bench" ]]; then
  packages+=(time grass-core)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
