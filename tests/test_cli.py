"""`loa say` and `loa play` run as an officer runs them: a real process, real speech, real sound."""

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from broadcaster import __version__
from broadcaster.audio.render import JOIN_PAUSE_MS, LEAD_IN_MS, bundled_jingle
from broadcaster.core.compose import MAX_TEXT_CHARS
from broadcaster.errors import ExitCode
from tests.conftest import ROOT, RunLoa, default_sigint
from tests.edge_endpoint import EdgeEndpoint
from tests.pulse_rig import RATE, PulseRig
from tests.signals import ffmpeg_loudness, locate, read_wav, window_levels_dbfs

TEXT = "Kính thưa bà con, đây là bản tin thử nghiệm của đài truyền thanh xã."


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr
    assert "ALSA lib" not in stderr


def test_say_is_heard_as_intro_then_speech_then_outro(pulse: PulseRig, run_loa: RunLoa) -> None:
    with pulse.record() as capture:
        result = run_loa("say", TEXT, env=pulse.env)
    assert result.returncode == ExitCode.OK, result.stderr
    heard = capture.samples
    intro, rate = read_wav(bundled_jingle("intro"))
    outro, _ = read_wav(bundled_jingle("outro"))
    assert rate == RATE
    intro_at, intro_match = locate(heard, intro)
    outro_at, outro_match = locate(heard, outro)
    assert intro_match > 0.9, f"intro not heard (best match {intro_match:.2f})"
    assert outro_match > 0.9, f"outro not heard (best match {outro_match:.2f})"
    assert outro_at > intro_at + len(intro), "the outro must come after the intro"
    pause = JOIN_PAUSE_MS * RATE // 1000
    between = heard[intro_at + len(intro) : outro_at]
    assert np.max(np.abs(between[: pause - 200])) < 0.01, "a pause after the intro"
    speech = between[pause:-pause]
    levels = window_levels_dbfs(speech, RATE)
    assert len(speech) / RATE > 2.0, "too little between the chimes for the sentence"
    assert np.mean(levels > -35) > 0.6, "the part between the chimes is not speech-level"
    assert 0.02 < np.mean(levels < -45) < 0.3, "speech pauses briefly at the comma, no more"
    assert "Phát xong" in result.stdout


def test_say_without_a_sound_device_says_so_in_vietnamese(run_loa: RunLoa) -> None:
    result = run_loa("say", TEXT)
    assert result.returncode == ExitCode.NO_AUDIO_DEVICE
    assert_no_traceback(result.stderr)
    assert "Không mở được thiết bị âm thanh" in result.stderr
    assert "--out" in result.stderr


def test_say_when_the_sound_server_is_gone(
    tmp_path: Path, run_loa: RunLoa, pulse: PulseRig
) -> None:
    gone = {**pulse.env, "PULSE_SERVER": f"unix:{tmp_path / 'no-such-socket'}"}
    result = run_loa("say", TEXT, env=gone)
    assert result.returncode == ExitCode.NO_AUDIO_DEVICE
    assert_no_traceback(result.stderr)


def test_say_out_writes_the_program_to_a_file(tmp_path: Path, run_loa: RunLoa) -> None:
    out = tmp_path / "ban-tin.wav"
    result = run_loa("say", TEXT, "--out", str(out))
    assert result.returncode == ExitCode.OK, result.stderr
    audio, rate = read_wav(out)
    intro, _ = read_wav(bundled_jingle("intro"))
    outro, _ = read_wav(bundled_jingle("outro"))
    at, match = locate(audio, intro)
    assert rate == RATE and at == LEAD_IN_MS * RATE // 1000 and match > 0.99
    outro_at, outro_match = locate(audio, outro)
    assert outro_match > 0.99 and outro_at + len(outro) == len(audio)
    speech = audio[at + len(intro) : outro_at]
    assert np.mean(window_levels_dbfs(speech, RATE) > -35) > 0.5
    assert str(out) in result.stdout
    assert [p.name for p in tmp_path.iterdir() if p.name != "netguard.log"].count(
        "ban-tin.wav"
    ) == 1
    assert "espeak" in result.stderr, "offline, the fallback voice must be announced"


def test_play_bundled_campaign_announcement_to_a_file(tmp_path: Path, run_loa: RunLoa) -> None:
    out = tmp_path / "bluezone.wav"
    result = run_loa("play", "bluezone", "--out", str(out))
    assert result.returncode == ExitCode.OK, result.stderr
    audio, rate = read_wav(out)
    assert len(audio) / rate > 20, "the campaign text is long; its broadcast cannot be short"


def test_english_on_request(run_loa: RunLoa) -> None:
    by_option = run_loa("--lang", "en", "say", " ")
    by_env = run_loa("say", " ", env={"LOA_LANG": "en"})
    for result in (by_option, by_env):
        assert result.returncode == ExitCode.EMPTY_TEXT
        assert "The announcement text is empty" in result.stderr


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["say", ""], ExitCode.EMPTY_TEXT, "trống"),
        (["say", " \n\t "], ExitCode.EMPTY_TEXT, "trống"),
        (["say", "a" * (MAX_TEXT_CHARS + 1)], ExitCode.TEXT_TOO_LONG, str(MAX_TEXT_CHARS)),
        (["say", TEXT, "--voice", "vi-VN-Unknown"], ExitCode.UNKNOWN_VOICE, "vi-VN-Unknown"),
        (["say", TEXT, "--out", "/no/such/folder/x.wav"], ExitCode.OUTPUT_FILE, "/no/such/folder"),
        (["say", TEXT, "--out", "/proc/loa.wav"], ExitCode.OUTPUT_FILE, "/proc/loa.wav"),
        (["say", TEXT, "--out", "ban-tin.txt"], ExitCode.OUTPUT_FILE, ".wav"),
        (
            ["--station", "/no/such/station", "say", TEXT],
            ExitCode.STATION_NOT_FOUND,
            "/no/such/station",
        ),
        (["play", "khong-co"], ExitCode.ANNOUNCEMENT, "bluezone"),
        (["say"], ExitCode.USAGE, "Thiếu tham số 'VĂN_BẢN'"),
        (["say", TEXT, "--bogus"], ExitCode.USAGE, "Không có tùy chọn '--bogus'"),
    ],
)
def test_bad_input_gets_one_clear_message_and_its_own_exit_code(
    run_loa: RunLoa, args: list[str], code: ExitCode, words: str
) -> None:
    result = run_loa(*args)
    assert result.returncode == code, result.stderr
    assert words in result.stderr
    assert_no_traceback(result.stderr)


def test_exit_codes_are_distinct() -> None:
    assert len({int(code) for code in ExitCode}) == len(ExitCode)


def test_read_only_folder_leaves_nothing_behind(read_only_dir: Path, run_loa: RunLoa) -> None:
    result = run_loa("say", TEXT, "--out", str(read_only_dir / "x.wav"))
    assert result.returncode == ExitCode.OUTPUT_FILE
    assert str(read_only_dir) in result.stderr
    assert_no_traceback(result.stderr)
    assert list(read_only_dir.iterdir()) == []


def test_full_disk_leaves_nothing_behind(small_disk: Path, run_loa: RunLoa) -> None:
    result = run_loa("play", "bluezone", "--out", str(small_disk / "bluezone.wav"))
    assert result.returncode == ExitCode.OUTPUT_FILE
    assert "Nothing was written" in result.stderr or "Không ghi" in result.stderr
    assert_no_traceback(result.stderr)
    assert list(small_disk.iterdir()) == []


def test_help_is_vietnamese_by_default_and_english_on_request(run_loa: RunLoa) -> None:
    vietnamese = run_loa("say", "--help")
    english = run_loa("--lang", "en", "say", "--help")
    assert vietnamese.returncode == english.returncode == ExitCode.OK
    assert "Cách dùng: loa say [TÙY_CHỌN] VĂN_BẢN" in vietnamese.stdout
    assert "Hiện hướng dẫn này rồi thoát." in vietnamese.stdout
    assert "Usage: loa say [OPTIONS] TEXT" in english.stdout
    assert "Show this message and exit." in english.stdout


def test_debug_shows_the_traceback(run_loa: RunLoa) -> None:
    result = run_loa("--debug", "say", " ")
    assert result.returncode == ExitCode.EMPTY_TEXT
    assert "Traceback" in result.stderr
    assert re.search(r"EmptyTextError", result.stderr)


def test_the_online_voice_reads_and_is_cached(
    edge: EdgeEndpoint, station: Path, tmp_path: Path, run_loa: RunLoa
) -> None:
    online = {"LOA_EDGE_ENDPOINT": edge.url, "LOA_STATION": str(station)}
    first = run_loa("say", TEXT, "--out", str(tmp_path / "a.wav"), env=online)
    assert first.returncode == ExitCode.OK, first.stderr
    assert "Cảnh báo" not in first.stderr, "the online voice served: nothing to warn about"
    assert [r.text for r in edge.requests] == [TEXT]
    again = run_loa("say", TEXT, "--out", str(tmp_path / "b.wav"), env=online)
    assert again.returncode == ExitCode.OK, again.stderr
    assert len(edge.requests) == 1, "the second broadcast comes from the cache"
    assert (tmp_path / "a.wav").read_bytes() == (tmp_path / "b.wav").read_bytes()


def test_cache_warm_stats_and_prune(edge: EdgeEndpoint, station: Path, run_loa: RunLoa) -> None:
    online = {"LOA_EDGE_ENDPOINT": edge.url, "LOA_STATION": str(station)}
    warm = run_loa("cache", "warm", "--all", env=online)
    assert warm.returncode == ExitCode.OK, warm.stderr
    assert "bluezone: đã chuẩn bị xong" in warm.stdout
    assert "hop-to-dan-pho: đã chuẩn bị xong" in warm.stdout
    again = run_loa("cache", "warm", "--all", env=online)
    assert "bluezone: đã có sẵn" in again.stdout
    stats = run_loa("cache", "stats", env=online)
    assert stats.stdout.startswith("2 bản ghi"), stats.stdout
    prune = run_loa("cache", "prune", env=online)
    assert prune.stdout.strip() == "Đã xóa 0 bản ghi."
    asked = len(edge.requests)
    aired = run_loa("play", "bluezone", "--out", str(station / "b.wav"), env=online)
    assert aired.returncode == ExitCode.OK, aired.stderr
    assert len(edge.requests) == asked, "what was warmed is what airs: no new request"


def test_cache_warm_offline_says_what_will_happen(station: Path, run_loa: RunLoa) -> None:
    result = run_loa("cache", "warm", "--all", env={"LOA_STATION": str(station)})
    assert result.returncode == ExitCode.CACHE
    assert "bluezone: giọng đọc trực tuyến không được" in result.stdout
    assert "giọng đọc ngoại tuyến sẽ đọc" in result.stderr
    assert_no_traceback(result.stderr)


def test_text_shows_what_each_engine_receives(run_loa: RunLoa) -> None:
    spoken = "UBND xã họp lúc 14h30."
    for_edge = run_loa("text", spoken)
    for_espeak = run_loa("text", spoken, "--engine", "espeak")
    assert for_edge.stdout.strip() == "Ủy ban nhân dân xã họp lúc 14h30."
    assert for_espeak.stdout.strip() == "Ủy ban nhân dân xã họp lúc mười bốn giờ ba mươi phút."
    both = run_loa("text", spoken, "--engine", "all")
    assert both.stdout.splitlines() == [
        f"edge: {for_edge.stdout.strip()}",
        f"espeak: {for_espeak.stdout.strip()}",
    ]


def test_a_station_in_english_speaks_english(station: Path, run_loa: RunLoa) -> None:
    config = station / "station.yaml"
    config.write_text(config.read_text().replace("language: vi", "language: en"))
    empty = run_loa("--station", str(station), "say", " ")
    help_text = run_loa("--station", str(station), "say", "--help")
    assert "The announcement text is empty" in empty.stderr
    assert "Usage: loa say [OPTIONS] TEXT" in help_text.stdout
    chosen = run_loa("--station", str(station), "say", " ", env={"LOA_LANG": "vi"})
    assert "Nội dung bản tin đang trống" in chosen.stderr, "the officer's choice wins"


def heard_so_far(pulse: PulseRig) -> np.ndarray:
    """What the rig's running recording holds now (Capture is filled only when it ends)."""
    raw = max(pulse.root.glob("capture-*.raw"), key=lambda path: path.stat().st_mtime_ns)
    data = raw.read_bytes()
    return np.frombuffer(data[: len(data) // 2 * 2], dtype="<i2").astype(np.float64) / 32768


def test_ctrl_c_stops_the_broadcast_cleanly(
    pulse: PulseRig, station: Path, loa_env: dict[str, str]
) -> None:
    intro, _ = read_wav(bundled_jingle("intro"))
    outro, _ = read_wav(bundled_jingle("outro"))
    with pulse.record() as capture:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "cli.py"), "--station", str(station), "play", "bluezone"],
            env={**loa_env, **pulse.env},
            cwd=station,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )
        deadline = time.monotonic() + 60
        while locate(heard_so_far(pulse), intro)[1] < 0.9:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the intro was never heard"
            time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == ExitCode.INTERRUPTED, stderr
    assert "Đã dừng." in stderr
    assert_no_traceback(stderr)
    intro_at, intro_match = locate(capture.samples, intro)
    assert intro_match > 0.9, "the intro was heard before the stop"
    assert locate(capture.samples, outro)[1] < 0.5, "playback stopped at Ctrl+C, before the outro"
    assert capture.seconds < intro_at / RATE + 10, "and the sound stopped with it"


def test_the_installed_loa_command_runs(loa_env: dict[str, str]) -> None:
    loa = Path(sys.executable).parent / "loa"
    result = subprocess.run(
        [str(loa), "--version"], env=loa_env, capture_output=True, text=True, check=False
    )
    assert result.returncode == ExitCode.OK
    assert result.stdout.strip() == f"loa, phiên bản {__version__}"


def test_a_broken_lexicon_line_is_named(station: Path, run_loa: RunLoa) -> None:
    lexicon = station / "announcements" / "lexicon.txt"
    lexicon.write_text(lexicon.read_text() + "UBND Ủy ban nhân dân\n")
    line = len(lexicon.read_text().splitlines())
    result = run_loa("--station", str(station), "say", TEXT)
    assert result.returncode == ExitCode.LEXICON
    assert f"{lexicon}:{line}:" in result.stderr
    assert_no_traceback(result.stderr)


def test_text_with_nothing_to_read_is_refused(run_loa: RunLoa) -> None:
    result = run_loa("say", "!!! ... ???")
    assert result.returncode == ExitCode.EMPTY_TEXT, result.stderr
    assert_no_traceback(result.stderr)


def test_an_out_of_range_rate_is_refused_at_its_line(station: Path, run_loa: RunLoa) -> None:
    config = station / "station.yaml"
    config.write_text(config.read_text().replace('rate: "+0%"', 'rate: "+300%"'))
    line = next(n for n, text in enumerate(config.read_text().splitlines(), 1) if "+300%" in text)
    result = run_loa("--station", str(station), "say", TEXT)
    assert result.returncode == ExitCode.STATION_CONFIG
    assert f"{config}:{line}:" in result.stderr and "+100%" in result.stderr


def test_repeats_gaps_and_the_attention_tone(tmp_path: Path, run_loa: RunLoa) -> None:
    out = tmp_path / "khan.wav"
    result = run_loa(
        "say", "Cháy ở chợ xã.", "--repeat", "2", "--gap", "2", "--emergency", "--out", str(out)
    )
    assert result.returncode == ExitCode.OK, result.stderr
    audio, rate = read_wav(out)
    attention, _ = read_wav(bundled_jingle("attention"))
    intro, _ = read_wav(bundled_jingle("intro"))
    attention_at, attention_match = locate(audio, attention)
    intro_at, intro_match = locate(audio, intro)
    assert attention_match > 0.99 and intro_match > 0.99
    assert attention_at < intro_at, "the attention tone opens an emergency"
    levels = window_levels_dbfs(audio[intro_at + len(intro) :], rate)
    silent_runs = np.diff(np.flatnonzero(np.diff((levels < -60).astype(int))))
    assert any(35 <= run <= 45 for run in silent_runs), "a 2-second gap between the two plays"


def test_mp3_output_meets_the_loudness_target(tmp_path: Path, run_loa: RunLoa) -> None:
    out = tmp_path / "ban-tin.mp3"
    result = run_loa("say", TEXT, "--out", str(out))
    assert result.returncode == ExitCode.OK, result.stderr
    loudness, peak = ffmpeg_loudness(out)
    assert abs(loudness - -16.0) <= 1.0 and peak <= -1.0 + 0.5, "MP3 encoding adds a little"


def test_play_an_audio_file_of_the_station(station: Path, tmp_path: Path, run_loa: RunLoa) -> None:
    shutil.copy(ROOT / "tests" / "data" / "xin-chao.m4a", station / "announcements")
    out = tmp_path / "ghi-am.wav"
    result = run_loa(
        "--station",
        str(station),
        "play",
        str(station / "announcements" / "xin-chao.m4a"),
        "--out",
        str(out),
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert len(read_wav(out)[0]) > 44100


def test_a_link_leading_out_of_the_station_is_refused(
    station: Path, tmp_path: Path, run_loa: RunLoa
) -> None:
    outside = tmp_path / "ngoai.wav"
    shutil.copy(ROOT / "tests" / "data" / "xin-chao.wav", outside)
    link = station / "announcements" / "lien-ket.wav"
    link.symlink_to(outside)
    for name in (str(link), "lien-ket.wav"):
        result = run_loa("--station", str(station), "play", name, "--out", str(tmp_path / "x.wav"))
        assert result.returncode == ExitCode.ANNOUNCEMENT, result.stderr
        assert "ngoài thư mục đài" in result.stderr
        assert not (tmp_path / "x.wav").exists()


@pytest.mark.parametrize(
    ("args", "words"), [(["--repeat", "11"], "11"), (["--repeat", "2", "--gap", "0.5"], "0.5")]
)
def test_repeats_out_of_range_are_refused(run_loa: RunLoa, args: list[str], words: str) -> None:
    result = run_loa("say", TEXT, *args)
    assert result.returncode == ExitCode.REPEAT
    assert words in result.stderr


@pytest.mark.parametrize("suffix", [".mp3", ".m4a"])
def test_a_recording_longer_than_a_broadcast_is_refused(
    station: Path, tmp_path: Path, run_loa: RunLoa, suffix: str
) -> None:
    config = station / "station.yaml"
    config.write_text(
        config.read_text().replace("max_recording_minutes: 60", "max_recording_minutes: 1")
    )
    long = station / "announcements" / f"dai{suffix}"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=d=100:sample_rate=8000", str(long)],
        check=True,
    )
    result = run_loa("--station", str(station), "play", str(long), "--out", str(tmp_path / "x.wav"))
    assert result.returncode == ExitCode.AUDIO_FILE
    assert str(long) in result.stderr and "max_recording_minutes" in result.stderr
    assert not (tmp_path / "x.wav").exists()


def test_a_recording_is_found_in_the_announcements_folder(
    station: Path, tmp_path: Path, run_loa: RunLoa
) -> None:
    shutil.copy(ROOT / "tests" / "data" / "xin-chao.ogg", station / "announcements")
    out = tmp_path / "x.wav"
    result = run_loa("--station", str(station), "play", "xin-chao.ogg", "--out", str(out))
    assert result.returncode == ExitCode.OK, result.stderr
    assert out.exists()


def test_cache_warm_renders_what_the_schedules_air_next(
    edge: EdgeEndpoint, station: Path, run_loa: RunLoa
) -> None:
    (station / "schedules").mkdir()
    (station / "schedules" / "lich.yaml").write_text(
        "- id: suot-ngay\n  announcement: hop-to-dan-pho\n"
        '  times: ["00:00", "06:00", "12:00", "18:00"]\n'
    )
    online = {"LOA_EDGE_ENDPOINT": edge.url, "LOA_STATION": str(station)}
    warm = run_loa("cache", "warm", "--hours", "48", env=online)
    assert warm.returncode == ExitCode.OK, warm.stderr
    assert warm.stdout.strip() == "hop-to-dan-pho: đã chuẩn bị xong", "only what is scheduled"
    none = run_loa("cache", "warm", "--hours", "0", env=online)
    assert none.stdout.strip() == "Không có bản tin nào được lên lịch trong 0 giờ tới."


def test_next_lists_the_bundled_schedule_as_json(run_loa: RunLoa) -> None:
    result = run_loa("next", "--from", "2026-11-28T12:00", "--days", "3", "--json")
    assert result.returncode == ExitCode.OK, result.stderr
    assert json.loads(result.stdout) == [
        {"id": "bluezone-sang", "announcement": "bluezone", "start": start, "priority": "normal"}
        for start in (
            "2026-11-30T06:45:00+07:00",
            "2026-11-30T17:15:00+07:00",
            "2026-12-01T06:45:00+07:00",
        )
    ], "Saturday noon to Tuesday noon: nothing at the weekend (T2-T6), Monday twice, Tuesday once"


def test_next_as_text_and_a_bad_schedule(station: Path, run_loa: RunLoa) -> None:
    (station / "schedules").mkdir()
    lich = station / "schedules" / "lich.yaml"
    lich.write_text("- id: a\n  announcement: bluezone\n  times: [19h]\n")
    shown = run_loa("--station", str(station), "next", "--from", "2026-12-01", "--days", "1")
    assert "19:00|bluezone" in shown.stdout.replace(" ", "")
    lich.write_text("- id: a\n  announcement: bluezone\n  times: [25h]\n")
    broken = run_loa("--station", str(station), "next")
    assert broken.returncode == ExitCode.SCHEDULE
    assert f"{lich}:3:" in broken.stderr
    assert_no_traceback(broken.stderr)
