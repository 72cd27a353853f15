"""The speech cache: whole entries or none, damage noticed on read, least recently used pruned."""

import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from broadcaster.errors import CacheError
from broadcaster.speech.cache import ABANDONED_AFTER_S, AudioCache, CacheKey

DATA = Path(__file__).resolve().parent.parent / "data"
KEY = CacheKey("edge", "7.3.1", "vi-VN-HoaiMyNeural", "+0%", "+0Hz", "+0%", "Xin chào bà con.")
MP3 = DATA / "xin-chao.mp3"


def entries(cache: AudioCache) -> list[str]:
    return sorted(p.name for p in cache.directory.iterdir())


def test_an_entry_comes_back_byte_for_byte(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path / "cache", 10**6)
    assert cache.get(KEY) is None
    stored = cache.put(KEY, MP3)
    assert cache.get(KEY) == (MP3.read_bytes(), ".mp3")
    assert stored.read_bytes() == MP3.read_bytes()
    assert not [n for n in entries(cache) if n.endswith(".part")]


@pytest.mark.parametrize(
    "field", ["engine", "engine_version", "voice", "rate", "pitch", "volume", "text"]
)
def test_every_field_of_the_key_matters(tmp_path: Path, field: str) -> None:
    cache = AudioCache(tmp_path, 10**6)
    cache.put(KEY, MP3)
    assert cache.get(replace(KEY, **{field: "other"})) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda audio: audio.write_bytes(audio.read_bytes()[:-100]),  # cut short
        lambda audio: audio.write_bytes(b"\xff" + audio.read_bytes()[1:]),  # one byte changed
        lambda audio: audio.unlink(),  # audio gone, record left
        lambda audio: audio.with_suffix(".json").write_text("{not json"),  # record damaged
        lambda audio: audio.with_suffix(".json").unlink(),  # write never finished
    ],
    ids=["truncated", "corrupt", "audio-missing", "record-corrupt", "record-missing"],
)
def test_a_damaged_entry_is_a_miss_and_is_removed(tmp_path: Path, damage) -> None:  # type: ignore[no-untyped-def]
    cache = AudioCache(tmp_path, 10**6)
    damage(cache.put(KEY, MP3))
    assert cache.get(KEY) is None
    assert entries(cache) == []
    assert cache.get(KEY) is None
    cache.put(KEY, MP3)
    assert cache.get(KEY) is not None, "rendered again, it is cached again"


def test_least_recently_used_entries_go_first(tmp_path: Path) -> None:
    size = MP3.stat().st_size
    cache = AudioCache(tmp_path, 10**6)
    keys = [replace(KEY, text=f"bản tin {n}") for n in range(3)]
    for age, key in enumerate(keys):
        cache.put(key, MP3)
        record = next(tmp_path.glob(f"{key.digest()}.json"))
        os.utime(record, (time.time() - 100 + age, time.time() - 100 + age))
    assert cache.get(keys[0]) is not None  # now the most recently used
    removed = cache.prune(max_bytes=2 * size + 2000)
    assert removed == 1
    assert [cache.get(k) is not None for k in keys] == [True, False, True]
    assert cache.stats().entries == 2


def test_putting_prunes_to_the_size_cap(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, MP3.stat().st_size + 1000)
    cache.put(replace(KEY, text="một"), MP3)
    time.sleep(0.01)
    cache.put(replace(KEY, text="hai"), MP3)
    assert cache.get(replace(KEY, text="một")) is None
    assert cache.get(replace(KEY, text="hai")) is not None


def test_leftovers_of_a_crash_are_cleaned_but_not_writes_in_progress(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, 10**6)
    old = tmp_path / ".0123.mp3.abcd.part"
    fresh = tmp_path / ".4567.mp3.ef01.part"
    orphan = tmp_path / "89ab.mp3"
    kept = tmp_path / ".gitignore"
    for path in (old, fresh, orphan, kept):
        path.write_bytes(b"x" * 10)
    long_ago = time.time() - ABANDONED_AFTER_S - 1
    for path in (old, orphan, kept):
        os.utime(path, (long_ago, long_ago))
    cache.prune()
    assert entries(cache) == [fresh.name, kept.name]


def test_a_full_disk_leaves_no_partial_entry(small_disk: Path) -> None:
    cache = AudioCache(small_disk / "cache", 10**9)
    big = small_disk.parent / "big.mp3"
    big.write_bytes(os.urandom(300 * 1024))
    with pytest.raises(CacheError) as raised:
        cache.put(KEY, big)
    assert str(small_disk / "cache") in raised.value.message
    assert entries(cache) == []
    assert cache.get(KEY) is None


def test_stats_count_entries_and_bytes(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, 5 * 10**6)
    cache.put(KEY, MP3)
    stats = cache.stats()
    assert stats.entries == 1
    assert MP3.stat().st_size < stats.size_bytes < MP3.stat().st_size + 2000
    assert stats.max_bytes == 5 * 10**6


def test_an_unwritable_cache_folder_is_reported(read_only_dir: Path) -> None:
    with pytest.raises(CacheError) as raised:
        AudioCache(read_only_dir, 10**6).put(KEY, MP3)
    assert str(read_only_dir) in raised.value.message
    assert list(read_only_dir.iterdir()) == []


def test_pruning_removes_thousands_of_entries(tmp_path: Path) -> None:
    cache = AudioCache(tmp_path, 10**9)
    for n in range(1500):
        (tmp_path / f"{n:032x}.mp3").write_bytes(b"x" * 100)
        (tmp_path / f"{n:032x}.json").write_text("{}")
    assert cache.prune(max_bytes=0) == 1500
    assert entries(cache) == []


def test_an_entry_that_cannot_be_removed_is_still_a_miss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = AudioCache(tmp_path, 10**6)
    cache.put(KEY, MP3).write_bytes(b"damaged")

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "unlink", refuse)
    assert cache.get(KEY) is None
