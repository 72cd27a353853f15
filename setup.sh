#!/usr/bin/env bash
# Loa quick start for Debian/Ubuntu: installs what is missing (system packages, a virtualenv, Loa
# itself), then broadcasts the bundled campaign announcement on the default sound device — or,
# on a machine without one, writes it to out/bluezone.wav.
#   ./setup.sh            set up, then broadcast
#   ./setup.sh --no-play  set up only (CI does this)
set -euo pipefail
cd "$(dirname "$0")"

# gcc, python3-dev and libasound2-dev build simpleaudio; espeak-ng is the offline voice;
# pulseaudio, pulseaudio-utils, libasound2-plugins, gettext and ffmpeg serve the test suite, and
# mosquitto and openssl its province link (a real broker, with TLS certificates made by the tests);
# chromium and chromium-driver (built from one source, so their versions always match) run the web
# console's real-browser tests with nothing downloaded, and fonts-noto-core draws every Vietnamese
# letter in their screenshots; icecast2 serves the relay's tests a radio stream (ffmpeg its source).
packages=(gcc python3-dev libasound2-dev libasound2-plugins espeak-ng pulseaudio pulseaudio-utils
          gettext ffmpeg mosquitto openssl chromium chromium-driver fonts-noto-core icecast2)
python3 -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3-venv)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "Cần cài các gói hệ thống / please install: ${missing[*]}" >&2
    exit 1
  fi
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Đang cài gói hệ thống / installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || { echo "Loa cần Python 3.11 trở lên / Loa needs Python 3.11 or newer" >&2; exit 1; }
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'

next_steps() {
  echo "Xong. Tiếp theo: .venv/bin/loa doctor (máy đã sẵn sàng chưa), rồi làm theo docs/huong-dan.md." \
       "/ Done. Next: .venv/bin/loa doctor, then docs/huong-dan.md."
}
if [ "${1:-}" = "--no-play" ]; then
  next_steps
  exit 0
fi

status=0
.venv/bin/loa play bluezone || status=$?
if [ "$status" -eq 9 ]; then  # ExitCode.NO_AUDIO_DEVICE
  mkdir -p out
  .venv/bin/loa play bluezone --out out/bluezone.wav
  echo "Máy không có thiết bị âm thanh: hãy nghe thử tệp out/bluezone.wav." \
       "/ No sound device here: listen to out/bluezone.wav."
  status=0
fi
[ "$status" -eq 0 ] && next_steps
exit "$status"
