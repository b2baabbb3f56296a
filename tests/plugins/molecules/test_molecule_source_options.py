"""Molecule inputs' source options and named data sets: ``--source-option column=NAME`` for CSV tables, and MOSES'
SMILES sets as ``moses:train``/``moses:test``/``moses:test-scaffolds`` read from an installed molsets package's data
files (a stand-in package here, and the real one where it is installed)."""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import pytest

from frechet.cli import main
from frechet.errors import ConfigError, InputError
from frechet.optional import package_file
from frechet.plugins import get_registry
from frechet_molecules.sources import MOSES_FOLDER, MOSES_SETS

#: Rows of the stand-in MOSES sets, per file.
ROWS = {"train.csv.gz": ["CCO", "c1ccccc1", "CC(=O)O"], "test.csv.gz": ["CCN", "ClCCBr"],
        "test_scaffolds.csv.gz": ["c1ccncc1"]}


@pytest.fixture
def molsets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package laid out as the molsets wheel: moses/dataset/data/*.csv.gz with a SMILES column; its code raises
    if it is ever imported."""
    package = tmp_path / "site" / "moses"
    data = package / MOSES_FOLDER
    data.mkdir(parents=True)
    (package / "__init__.py").write_text("raise RuntimeError('never imported')\n")
    for name, smiles in ROWS.items():
        (data / name).write_bytes(gzip.compress(("SMILES\n" + "\n".join(smiles) + "\n").encode()))
    monkeypatch.setattr(sys, "path", [str(package.parent), *sys.path])
    return data


def test_the_column_option_chooses_a_csv_tables_smiles_column(tmp_path: Path) -> None:
    table = tmp_path / "mols.csv"
    table.write_text("id,SMILES,canonical\n1,OCC,CCO\n2,C1=CC=CC=C1,c1ccccc1\n")
    registry = get_registry()
    assert registry.open_source(table, "molecule").smiles() == ["OCC", "C1=CC=CC=C1"]
    chosen = registry.open_source(table, "molecule", {"column": "canonical"})
    assert chosen.smiles() == ["CCO", "c1ccccc1"] and chosen.source_options == {"column": "canonical"}
    with pytest.raises(InputError, match=r"mols\.csv: no column 'inchi' among 'id', 'SMILES', 'canonical'"):
        registry.open_source(table, "molecule", {"column": "inchi"})


def test_a_missing_column_or_an_option_smiles_files_lack_is_one_line(tmp_path: Path, capsys,
                                                                    random_weights: dict[str, Path]) -> None:
    table, listing = tmp_path / "mols.csv", tmp_path / "mols.smi"
    table.write_text("id,structure\n1,CCO\n2,CCN\n")
    listing.write_text("CCO\nCCN\n")
    cases = {(str(table), str(listing), "column=smi"): "mols.csv: no column 'smi' among 'id', 'structure'; choose "
                                                       "the SMILES column with --source-option column=NAME",
             (str(listing), str(listing), "column=x"): "no input of this run takes source option 'column' (its "
                                                       "inputs are read as smiles-file; they take no source options)"}
    for (real, fake, option), message in cases.items():
        assert main(["compute", real, fake, "--embedder", "chemnet", "--weights", str(random_weights["zip"]),
                     "--source-option", option, "--no-cache"]) == 2
        error = capsys.readouterr().err
        assert message in error and error.count("\n") == 1, error


def test_moses_sets_are_named_inputs_read_from_the_installed_package(molsets: Path) -> None:
    registry = get_registry()
    for name, file in MOSES_SETS.items():
        source = registry.open_source(f"moses:{name}", "molecule")
        assert source.smiles() == ROWS[file]
        assert source.item_name(0) == f"moses:{name}:2"  # line 2: the header is line 1
        assert source.label == f"moses:{name}"
    assert "moses" not in sys.modules
    with pytest.raises(InputError, match=r"moses:tests: no data set 'tests' among the 'moses' inputs \(did you mean "
                                         r"'test'\?\); they are train, test, test-scaffolds"):
        registry.open_source("moses:tests", "molecule")


def test_moses_sets_without_molsets_say_what_to_install(molsets: Path) -> None:
    (molsets / "test.csv.gz").unlink()  # the package is first on the path but lacks the file: as if absent
    with pytest.raises(ConfigError, match=r"^moses:test: .* not installed here; pip install molsets --no-deps"):
        get_registry().open_source("moses:test", "molecule")


def test_the_sources_listing_shows_the_kinds_and_their_options(capsys) -> None:
    assert main(["sources", "--json"]) == 0
    rows = {row["kind"]: row for row in json.loads(capsys.readouterr().out.splitlines()[-1])["sources"]}
    assert [option["name"] for option in rows["smiles-csv"]["options"]] == ["column"]
    assert rows["moses"]["names"] == ["train", "test", "test-scaffolds"] and rows["moses"]["named_only"]


@pytest.mark.skipif(package_file("moses", f"{MOSES_FOLDER}/test.csv.gz") is None, reason="molsets is not installed")
def test_the_real_moses_test_sets_have_their_published_sizes() -> None:
    registry = get_registry()
    assert len(registry.open_source("moses:test", "molecule")) == 176_074
    assert len(registry.open_source("moses:test-scaffolds", "molecule")) == 176_225
