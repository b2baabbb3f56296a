"""Settings: every setting is checked once, whether it comes from Python or the command line, and errors name it in
the caller's words (``batch_size='8'`` from Python, ``--batch-size`` from the command line)."""

import numpy as np
import pytest

import frechet
from frechet.cli import main
from frechet.errors import ConfigError, InputError
from frechet.settings import Settings


@pytest.fixture
def rows():
    rng = np.random.default_rng(0)
    return rng.standard_normal((30, 3)), rng.standard_normal((40, 3)) + 0.5


def test_a_metric_named_as_a_string_is_one_metric_not_its_characters(rows):
    result = frechet.compute(*rows, metrics="fd", progress=False)
    assert result["fd"] == frechet.compute(*rows, metrics=["fd"], progress=False)["fd"]
    assert Settings(metrics="fd,kid").metrics == ("fd", "kid")


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"batch_size": "8"}, "batch_size='8' is not valid: it must be a whole number ≥ 1"),
        ({"seed": "x"}, "seed='x' is not valid: it must be a whole number ≥ 0"),
        ({"skip_bad": "yes"}, "skip_bad='yes' is not valid: it must be True or False"),
        ({"workers": -1}, "workers=-1 is not valid: it must be a whole number ≥ 0"),
        ({"metrics": ""}, "metrics='' names nothing"),
        ({"embedder_options": ["size"]}, "embedder_options=['size'] must be a mapping"),
        ({"batchsize": 8}, "unknown setting 'batchsize' (did you mean 'batch_size'?)"),
    ],
)
def test_a_bad_setting_is_a_config_error_naming_it_as_python_code_writes_it(rows, given, message):
    with pytest.raises(ConfigError) as raised:
        frechet.compute(*rows, progress=False, **given)
    assert message in str(raised.value)


def test_errors_speak_the_api_words_from_python_and_the_flags_from_the_command_line(rows, tmp_path, capsys):
    real, fake = rows
    fake[3] = np.nan
    with pytest.raises(InputError, match=r"\(pass skip_bad=True to skip bad items\)$"):
        frechet.compute(real, fake, progress=False)
    np.save(tmp_path / "real.npy", real)
    np.save(tmp_path / "fake.npy", fake)
    assert main(["compute", str(tmp_path / "real.npy"), str(tmp_path / "fake.npy"), "--quiet"]) == 2
    assert capsys.readouterr().err.endswith("(pass --skip-bad to skip bad items)\n")
    with pytest.raises(ConfigError, match=r"embedder 'features' has no option 'size'"):
        frechet.compute(real, real, embedder_options={"size": 3}, progress=False)


def test_a_bad_embedder_option_is_named_as_the_caller_wrote_it(projection, rows, tmp_path, capsys):
    with pytest.raises(ConfigError, match=r"embedder 'wide': embedder_options=\{'dims': 'x'\} is not valid \(not a "
                                          "whole number; dims is whole number\\)"):
        frechet.compute(*rows, embedder="wide", embedder_options={"dims": "x"}, progress=False)
    np.save(tmp_path / "a.npy", rows[0])
    assert main(["compute", str(tmp_path / "a.npy"), str(tmp_path / "a.npy"), "--embedder", "wide",
                 "--embedder-option", "dims=x"]) == 2
    assert "embedder 'wide': --embedder-option dims=x is not valid" in capsys.readouterr().err
