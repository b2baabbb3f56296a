"""Audio inputs: files, folders and in-memory clips; every kind of bad input gets a clear, tested behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
import tracemalloc

import numpy as np
import pytest
import soundfile
import torch

import frechet
from frechet.errors import ConfigError, InputError
from frechet_audio import AudioClips
from frechet_audio.clips import ArrayClip
from frechet_audio.files import FileClip
from frechet_audio.resample import resample
from frechet_audio.sources import open_audio_folder
from frechet_audio.stream import BLOCK_FRAMES, mono_signal
from frechet_audio.vggish_frontend import EXAMPLE_HOP, EXAMPLE_SAMPLES, log_mel


def _tone(seconds: float, rate: int = 16000, frequency: float = 440.0) -> np.ndarray:
    return 0.5 * np.sin(2 * np.pi * frequency * np.arange(int(seconds * rate)) / rate)


def _write(path, samples, rate=16000, subtype="PCM_16"):
    soundfile.write(path, samples, rate, subtype=subtype)
    return path


# ------------------------------------------------------------------------------------------------ unreadable files
def test_a_file_that_is_not_audio_is_named_as_unreadable(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_bytes(b"this is not a RIFF file at all" * 10)
    with pytest.raises(InputError, match=r"notes\.wav: unreadable audio file"):
        FileClip(path)


def test_a_wav_cut_short_is_refused_as_truncated_not_silently_shortened(tmp_path):
    data = _write(tmp_path / "full.wav", _tone(2.0)).read_bytes()
    (tmp_path / "cut.wav").write_bytes(data[: len(data) // 2])
    message = r"cut\.wav: truncated: the header declares 2\.00 s of audio but the file holds 1\.00 s"
    with pytest.raises(InputError, match=message):
        FileClip(tmp_path / "cut.wav")


def test_a_flac_cut_short_is_refused_when_its_samples_are_read(tmp_path):
    data = _write(tmp_path / "full.flac", np.random.RandomState(0).uniform(-0.5, 0.5, 64000)).read_bytes()
    (tmp_path / "cut.flac").write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.flac: (unreadable or truncated|truncated)"):
        list(FileClip(tmp_path / "cut.flac").blocks(4096))


def test_a_zero_length_file_is_refused(tmp_path):
    path = _write(tmp_path / "empty.wav", np.zeros(0))
    with pytest.raises(InputError, match=r"empty\.wav: has no samples \(zero-length audio\)"):
        FileClip(path)


def test_a_streamed_wav_with_unset_data_size_is_read_whole(tmp_path):
    path = _write(tmp_path / "streamed.wav", _tone(1.0))
    data = bytearray(path.read_bytes())
    data[40:44] = b"\xff\xff\xff\xff"  # data chunk size left unset, as piped encoders write it
    path.write_bytes(bytes(data))
    assert FileClip(path).frames == 16000


# ------------------------------------------------------------------------------------------------ content
def test_a_clip_shorter_than_one_vggish_example_is_refused_or_zero_padded_on_request(vggish, vggish_weights, tmp_path):
    path = _write(tmp_path / "short.wav", _tone(0.5))
    with pytest.raises(InputError, match=r"short\.wav: 0\.500 s is shorter than one VGGish example \(0\.975 s\)"):
        vggish.transform(FileClip(path))
    padded = type(vggish)(weights=str(vggish_weights), pad_short="true").transform(FileClip(path))
    expected = np.zeros(EXAMPLE_SAMPLES)
    expected[:8000] = soundfile.read(path)[0]
    np.testing.assert_allclose(padded[0, 0].numpy(), log_mel(expected).astype(np.float32), atol=1e-6)


def test_a_clip_shorter_than_cnn14_accepts_is_refused_or_zero_padded_on_request(pann, pann_weights, tmp_path):
    path = _write(tmp_path / "blip.wav", _tone(0.2))
    with pytest.raises(InputError, match=r"blip\.wav: 0\.200 s is shorter than CNN14 accepts \(0\.31 s\)"):
        pann.transform(FileClip(path))
    padded = type(pann)(weights=str(pann_weights), pad_short="yes").transform(FileClip(path))
    assert padded.shape == (4960,) and not padded[3200:].any()


def test_silence_gives_finite_log_mel_at_the_log_offset_and_finite_embeddings(vggish, tmp_path):
    path = _write(tmp_path / "silence.wav", np.zeros(32000))
    examples = vggish.transform(FileClip(path))
    assert torch.equal(examples, torch.full_like(examples, float(np.float32(np.log(0.01)))))
    with torch.inference_mode():
        assert torch.isfinite(vggish.forward(examples)["embedding"]).all()


def test_nan_samples_stop_the_clip_naming_where_they_are(vggish, tmp_path):
    samples = _tone(2.0)
    samples[24000] = np.nan
    path = _write(tmp_path / "glitch.wav", samples, subtype="FLOAT")
    with pytest.raises(InputError, match=r"glitch\.wav: has NaN or infinite samples \(first at 1\.500 s\)"):
        vggish.transform(FileClip(path))


def test_more_than_two_channels_are_averaged_like_torchvggish(tmp_path):
    channels = np.stack([_tone(1.5, frequency=200.0 * k) * 0.3 for k in range(1, 7)], axis=1)
    path = _write(tmp_path / "surround.wav", channels, subtype="FLOAT")
    stored = soundfile.read(path, dtype="float64")[0]
    np.testing.assert_array_equal(mono_signal(FileClip(path), 16000), stored.mean(axis=1))


def test_a_very_long_file_is_streamed_in_blocks_and_gives_the_same_examples_as_the_whole_signal(vggish, tmp_path):
    rate, seconds = 48000, 100
    t = np.arange(rate * seconds) / rate
    stereo = np.stack([0.3 * np.sin(2 * np.pi * 440 * t * (1 + t / 200)), 0.2 * np.sin(2 * np.pi * 97 * t)], axis=1)
    path = _write(tmp_path / "long.wav", stereo, rate=rate, subtype="FLOAT")
    decoded_bytes = stereo.size * 8
    del t, stereo
    resample(np.zeros(4800), rate, 16000)  # scipy.signal is imported on first use: not part of what is measured
    tracemalloc.start()
    examples = vggish.transform(FileClip(path)).numpy()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < decoded_bytes / 4  # never the whole decoded file (76.8 MB), let alone its float64 copies
    whole = resample(soundfile.read(path, dtype="float64")[0].mean(axis=1), rate, 16000)
    count = (whole.size - EXAMPLE_SAMPLES) // EXAMPLE_HOP + 1
    windows = np.stack([whole[j * EXAMPLE_HOP : j * EXAMPLE_HOP + EXAMPLE_SAMPLES] for j in range(count)])
    assert examples.shape == (count, 1, 96, 64) and count == 104
    np.testing.assert_allclose(examples[:, 0], log_mel(windows).astype(np.float32), rtol=0, atol=1e-6)
    assert rate * seconds > 20 * BLOCK_FRAMES


# ------------------------------------------------------------------------------------------------ folders and the API
def test_folders_are_read_recursively_in_path_order_skipping_hidden_and_other_files(tmp_path):
    for name in ("b.wav", "a/z.flac", "a/b/c.ogg", ".hidden.wav", "._resource.wav", ".cache/x.wav", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    source = open_audio_folder(tmp_path)
    assert [source.item_name(i) for i in range(len(source))] == [
        str(tmp_path / "a/b/c.ogg"), str(tmp_path / "a/z.flac"), str(tmp_path / "b.wav")]


def test_a_wav_named_flac_is_read_by_its_content_and_a_text_file_named_wav_is_refused(tmp_path):
    wav = _write(tmp_path / "tone.wav", _tone(1.0))
    (tmp_path / "really-a-wav.flac").write_bytes(wav.read_bytes())
    renamed = FileClip(tmp_path / "really-a-wav.flac")
    assert (renamed.sample_rate, renamed.frames) == (16000, 16000)
    np.testing.assert_array_equal(np.concatenate(list(renamed.blocks(4096))), soundfile.read(wav, always_2d=True)[0])
    (tmp_path / "notes.wav").write_text("plain text\n")
    with pytest.raises(InputError, match=r"notes\.wav: unreadable audio file"):
        FileClip(tmp_path / "notes.wav")


def test_an_empty_audio_folder_is_a_clear_error(vggish_weights, tmp_path):
    _write(tmp_path / "real.wav", _tone(1.0))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no audio here")
    with pytest.raises(InputError, match=rf"^{tmp_path / 'empty'}: no items found; check the path and the file types"):
        frechet.compute(tmp_path / "real.wav", tmp_path / "empty", embedder="vggish",
                        embedder_options={"weights": str(vggish_weights)}, progress=False)


def test_symlink_loops_in_an_audio_folder_neither_recurse_nor_hide_a_file(tmp_path):
    _write(tmp_path / "a.wav", _tone(1.0))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path, target_is_directory=True)  # a folder loop: not followed
    (tmp_path / "loop.wav").symlink_to(tmp_path / "loop.wav")  # a file link to itself: listed, fails by name
    (tmp_path / "gone.wav").symlink_to(tmp_path / "deleted.wav")  # a broken link: the same
    source = open_audio_folder(tmp_path)
    assert [source.item_name(i) for i in range(len(source))] == [
        str(tmp_path / "a.wav"), str(tmp_path / "gone.wav"), str(tmp_path / "loop.wav")]
    with pytest.raises(InputError, match=r"gone\.wav: cannot read \(No such file or directory\)"):
        source.load(1)
    with pytest.raises(InputError, match=r"loop\.wav: cannot read \(Too many levels of symbolic links\)"):
        source.load(2)


def test_a_fifo_or_a_device_in_an_audio_folder_is_named_within_seconds_not_read(tmp_path):
    _write(tmp_path / "a.wav", _tone(1.0))
    os.mkfifo(tmp_path / "b_fifo.wav")
    (tmp_path / "c_zero.wav").symlink_to("/dev/zero")
    code = f"""
from frechet.errors import ConfigError, InputError
from frechet_audio.sources import open_audio_folder
source = open_audio_folder({str(tmp_path)!r})
for index in range(len(source)):
    try:
        print(source.load(index).seconds)
    except InputError as error:
        print(error)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "1.0",
        f"{tmp_path / 'b_fifo.wav'}: not a regular file (a FIFO (named pipe)); frechet reads only regular files: "
        "remove it from the input or replace it with the file itself",
        f"{tmp_path / 'c_zero.wav'}: not a regular file (a character device); frechet reads only regular files: "
        "remove it from the input or replace it with the file itself",
    ]


def test_unreadable_audio_files_and_folders_are_named_not_silently_left_out(tmp_path, run_unprivileged):
    _write(tmp_path / "locked.wav", _tone(1.0)).chmod(0)
    (tmp_path / "locked").mkdir()
    _write(tmp_path / "locked" / "hidden-from-listing.wav", _tone(1.0))
    (tmp_path / "locked").chmod(0)
    done = run_unprivileged(f"""
        from frechet.errors import ConfigError, InputError
        from frechet_audio.files import FileClip
        from frechet_audio.sources import open_audio_folder
        for call in (lambda: FileClip({str(tmp_path / "locked.wav")!r}), lambda: open_audio_folder({str(tmp_path)!r})):
            try:
                call()
            except InputError as error:
                print(error)
    """)
    (tmp_path / "locked").chmod(0o755)  # let pytest clean up
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"{tmp_path / 'locked.wav'}: cannot read (Permission denied); check the file and its permissions"
    assert lines[1] == (f"{tmp_path / 'locked'}: cannot list this folder (Permission denied); fix its permissions, "
                        "or move it out of the input")


def test_arrays_need_their_sample_rate_through_audio_clips(vggish_weights):
    with pytest.raises(InputError, match=r"audio arrays need their sample rate; pass frechet_audio\.AudioClips"):
        frechet.compute([_tone(2.0)], [_tone(2.0)], embedder="vggish",
                        embedder_options={"weights": str(vggish_weights)})


def test_audio_clips_take_lists_or_batches_at_any_rate_and_scale_integer_pcm(vggish_weights):
    rng = np.random.RandomState(1)
    real = AudioClips([_tone(2.0, 44100, 440.0 + 10 * k) + rng.uniform(-0.01, 0.01, 88200) for k in range(4)], 44100)
    pcm = np.stack([(_tone(2.0, 16000, 445.0 + 10 * k) * 32767).astype(np.int16) for k in range(4)])
    fake = AudioClips(torch.from_numpy(pcm), sample_rate=16000)
    result = frechet.compute(real, fake, embedder="vggish", embedder_options={"weights": str(vggish_weights)},
                             progress=False)
    assert result["n_real_items"] == result["n_fake_items"] == 4
    assert result["n_real"] == result["n_fake"] == 8  # two 0.96 s examples per 2 s clip
    assert result["fad"] > 0
    block = next(ArrayClip(pcm[0], 16000, "x").blocks(10))
    np.testing.assert_array_equal(block[:, 0], pcm[0, :10] / 32768.0)


@pytest.mark.parametrize(
    ("clips", "rate", "message"),
    [
        ([np.zeros((2, 16000))], 16000, r"more channels than samples; clips are \(samples, channels\)"),
        ([np.zeros(0)], 16000, r"has no samples"),
        ([np.zeros(100, dtype=np.uint8)], 16000, r"samples must be float, int16 or int32 PCM"),
        ([np.zeros(100)], 0, r"sample_rate must be a positive whole number"),
        ([np.zeros(100)], 44.1, r"sample_rate must be a positive whole number"),
        (np.zeros(100), 16000, r"put a single clip in a list"),
    ],
)
def test_malformed_clips_get_a_clear_error(clips, rate, message):
    with pytest.raises(InputError, match=message):
        AudioClips(clips, rate).clip(0)


def test_bad_files_are_skipped_and_reported_with_skip_bad(vggish_weights, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "fake").mkdir()
    for name in ("a", "b", "c"):
        _write(tmp_path / "real" / f"{name}.wav", _tone(1.5, frequency=300.0 + ord(name)))
    for name in ("a", "b"):
        _write(tmp_path / "fake" / f"{name}.wav", _tone(1.5, frequency=500.0 + ord(name)))
    (tmp_path / "fake" / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    _write(tmp_path / "fake" / "short.wav", _tone(0.3))
    options = {"weights": str(vggish_weights)}
    with pytest.raises(InputError, match=r"broken\.wav: unreadable audio file.*\(pass skip_bad=True"):
        frechet.compute(tmp_path / "real", tmp_path / "fake", embedder="vggish", embedder_options=options)
    result = frechet.compute(tmp_path / "real", tmp_path / "fake", embedder="vggish", embedder_options=options,
                             skip_bad=True, progress=False)
    assert result["skipped"] == [str(tmp_path / "fake" / "broken.wav"), str(tmp_path / "fake" / "short.wav")]
    assert result["n_fake_items"] == 2


def test_without_soundfile_the_run_stops_once_saying_what_to_install_even_with_skip_bad(
        vggish_weights, monkeypatch, tmp_path):
    # A missing package is the setup's problem, not each file's: one error, never a skip per file.
    for side in ("real", "fake"):
        (tmp_path / side).mkdir()
        for name in ("a", "b", "c"):
            _write(tmp_path / side / f"{name}.wav", _tone(1.0, frequency=300.0 + ord(name)))
    monkeypatch.setitem(sys.modules, "soundfile", None)  # as if the audio extra were not installed
    with pytest.raises(ConfigError, match=r"^reading audio files: needs the optional package 'soundfile', which is "
                                          r"not installed; pip install soundfile \(or, in frechet's checkout, "
                                          r"pip install -e '\.\[audio\]'\)"):
        frechet.compute(tmp_path / "real", tmp_path / "fake", embedder="vggish", skip_bad=True, cache=False,
                        embedder_options={"weights": vggish_weights})
    with pytest.raises(ConfigError, match="needs the optional package 'soundfile'"):
        FileClip(tmp_path / "real" / "a.wav")


