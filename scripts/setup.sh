#!/usr/bin/env bash
# Installs everything glassbox needs on a fresh machine, and does nothing when it is all there:
#   - npm packages (npm ci) when node_modules is missing or older than package-lock.json,
#     and dist/ (the compiled sources, `npm run build`) when it is missing or older than a source;
#   - a WebGPU driver: on Linux without a GPU, Mesa's lavapipe (software Vulkan) with
#     libvulkan1, from bookworm-backports on Debian 12 (bookworm's own Mesa 22 is too old for Dawn);
#   - for the tests and experiments: Debian's chromium (browser test, SwiftShader WebGPU) and
#     dataset-fashion-mnist (Fashion-MNIST in IDX format);
#   - with --with-torch (benchmarks, fixture generation): Debian's python3-torch and OpenBLAS
#     (libopenblas0-pthread; without it torch falls back to a reference BLAS ~40x slower),
#     and python3-sklearn (scikit-learn, the t-SNE / PCA peer of bench/embed.ts).
# System packages need root and apt; without them the script says what to install and goes on.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "[setup] $*" >&2; }

with_torch=false
for arg in "$@"; do
  case "$arg" in
    --with-torch) with_torch=true ;;
    *) log "unknown option '$arg' (known: --with-torch)"; exit 2 ;;
  esac
done

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# dist/, the compiled package the glassbox command runs (bin/glassbox.mjs also rebuilds it after a source changes)
node --input-type=module -e "await (await import('./scripts/build.mjs')).ensureBuilt()"

missing=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
adapter_ok() { node scripts/check-webgpu.mjs >/dev/null 2>&1; }

if command -v dpkg-query >/dev/null 2>&1; then
  adapter_ok || missing+=(webgpu-driver)
  have_pkg chromium || missing+=(chromium)
  have_pkg dataset-fashion-mnist || missing+=(dataset-fashion-mnist)
  if $with_torch; then
    have_pkg python3-torch || missing+=(python3-torch)
    have_pkg python3-sklearn || missing+=(python3-sklearn)
    have_pkg libopenblas0-pthread || missing+=(libopenblas0-pthread)
  fi
fi

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing system packages for: ${missing[*]}"
    codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
    id=$(. /etc/os-release 2>/dev/null && echo "${ID:-}")
    if [ "$id" = debian ] && [ "$codename" = bookworm ] && [ ! -f /etc/apt/sources.list.d/backports.sources ]; then
      cat > /etc/apt/sources.list.d/backports.sources <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    for m in "${missing[@]}"; do
      case "$m" in
        webgpu-driver)
          apt-get install -y -q libvulkan1 >/dev/null
          if [ "$codename" = bookworm ]; then
            apt-get install -y -q -t bookworm-backports mesa-vulkan-drivers >/dev/null
          else
            apt-get install -y -q mesa-vulkan-drivers >/dev/null
          fi ;;
        *) apt-get install -y -q --no-install-recommends "$m" >/dev/null || log "could not install $m (what needs it will be skipped)" ;;
      esac
    done
  else
    log "missing: ${missing[*]}. As root on Debian/Ubuntu, run: sudo bash scripts/setup.sh"
    log "  (WebGPU without a GPU needs Mesa >= 24: apt-get install libvulkan1 mesa-vulkan-drivers, from bookworm-backports on Debian 12)"
  fi
fi

if ! node scripts/check-webgpu.mjs; then
  log "no usable WebGPU adapter. On a machine with a GPU, install its Vulkan driver; without one, Mesa's lavapipe (see README, Requirements)."
  exit 1
fi
