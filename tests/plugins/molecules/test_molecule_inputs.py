"""SMILES inputs: files, CSV tables and lists; items named by line; every bad line a bad item naming it (skipped and
counted with --skip-bad), nothing dropped unsaid; readers bounded and FIFOs refused."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

import frechet
from frechet.errors import InputError
from frechet_molecules.embedder import ChemNetEmbedder
from frechet_molecules.sources import MAX_SMILES, open_smiles_csv, open_smiles_file, open_smiles_list
from frechet_molecules.tokens import PAD_LENGTH

GOOD = ["CCO", "c1ccccc1", "CC(=O)Nc1ccc(O)cc1", "C[C@@H](N)C(=O)O", "ClCCBr", "C[Si](C)(C)C"]


def _bad_message(source, index: int) -> str:
    with pytest.raises(InputError) as raised:
        source.load(index)
    return str(raised.value)


def test_smiles_file_names_items_by_line_and_makes_bad_lines_bad_items(tmp_path: Path) -> None:
    path = tmp_path / "mols.smi"
    path.write_bytes(b"SMILES\nCCO ethanol\n\nc1ccccc1\tbenzene\nC\xff\n" + b"C" * (MAX_SMILES + 1) + b"\n")
    source = open_smiles_file(path)
    assert len(source) == 5
    assert source.item_name(0) == f"{path}:2 ('ethanol')"
    assert source.load(0).smiles == "CCO" and source.load(2).smiles == "c1ccccc1"
    assert _bad_message(source, 1) == f"{path}:3: empty line"
    assert _bad_message(source, 3).startswith(f"{path}:5: not UTF-8 text")
    assert _bad_message(source, 4).startswith(f"{path}:6: 100,001 characters")


def test_bad_lines_stop_the_run_by_line_or_are_skipped_and_counted(tmp_path: Path,
                                                                   random_weights: dict[str, Path]) -> None:
    path = tmp_path / "mols.smi"
    path.write_text("\n".join([*GOOD, "CCé", "", *GOOD]) + "\n")
    options = {"embedder": "chemnet", "embedder_options": {"weights": random_weights["zip"]}, "cache": False, "workers": 0,
               "progress": False}
    with pytest.raises(InputError, match=rf"{path.name}:7: character 'é' cannot be part of a SMILES"):
        frechet.compute(GOOD, path, **options)
    result = frechet.compute(GOOD, path, skip_bad=True, **options)
    assert result["n_fake"] == 2 * len(GOOD) and result["n_skipped"] == 2
    assert result["fcd"] == result["fd"] >= 0


def test_csv_tables_read_their_smiles_column(tmp_path: Path) -> None:
    table = tmp_path / "mols.csv"
    table.write_text("id,SMILES,score\n1,CCO,0.5\n2,c1ccccc1,0.1\n3,CCN\n")
    source = open_smiles_csv(table)
    assert [source.load(index).smiles for index in range(2)] == ["CCO", "c1ccccc1"]
    assert source.item_name(1) == f"{table}:3"
    assert _bad_message(source, 2) == f"{table}:4: 2 fields where the header has 3"
    packed = tmp_path / "train.csv.gz"
    packed.write_bytes(gzip.compress(b"smiles\nCCO\nCCN\n"))
    assert open_smiles_csv(packed).smiles() == ["CCO", "CCN"]
    assert open_smiles_csv(table, column="id").smiles()[:2] == ["1", "2"]


def test_a_csv_without_a_smiles_column_names_its_columns(tmp_path: Path) -> None:
    table = tmp_path / "mols.csv"
    table.write_text("id,structure\n1,CCO\n")
    with pytest.raises(InputError, match=r"mols\.csv: no SMILES or smiles column among 'id', 'structure'; choose the SMILES "
                       r"column with source_options=\{'column': 'NAME'\}"):
        open_smiles_csv(table)


def test_gz_files_other_than_csv_and_broken_gzip_are_refused(tmp_path: Path) -> None:
    other = tmp_path / "mols.smi.gz"
    other.write_bytes(gzip.compress(b"CCO\n"))
    with pytest.raises(InputError, match=r"named \*\.csv\.gz"):
        open_smiles_csv(other)
    broken = tmp_path / "mols.csv.gz"
    broken.write_bytes(gzip.compress(b"SMILES\nCCO\n" * 100)[:-20])
    with pytest.raises(InputError, match="mols.csv.gz: (truncated|not a readable gzip)"):
        open_smiles_csv(broken)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "mols.smi"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        open_smiles_file(fifo)


def test_lists_name_items_by_index() -> None:
    source = open_smiles_list(["CCO", ""])
    assert source.item_name(1) == "<SMILES list>[1]" and _bad_message(source, 1).endswith("empty line")


def test_a_smiles_over_349_characters_pads_its_set_in_fcd_mode_and_is_truncated_in_fcd_torch_mode(random_weights) -> None:
    long = "C" * 1_000
    source = open_smiles_list(["CCO", long])
    assert ChemNetEmbedder(weights=random_weights["zip"]).transform(source.load(0)).shape == (35, 1_001)
    rdkit = pytest.importorskip("rdkit")
    assert rdkit is not None
    prepared = ChemNetEmbedder(preprocess="fcd-torch", weights=random_weights["zip"]).transform(source.load(1))
    assert prepared.shape == (35, PAD_LENGTH)


def test_canonical_modes_name_what_rdkit_cannot_parse_and_record_its_version(random_weights) -> None:
    rdkit = pytest.importorskip("rdkit")
    embedder = ChemNetEmbedder(preprocess="moses", weights=random_weights["legacy"])
    with pytest.raises(InputError, match=rf"\[1\]: RDKit {rdkit.__version__} cannot parse 'C1CC'"):
        embedder.transform(open_smiles_list(["CCO", "C1CC"]).load(1))
    assert f"rdkit={rdkit.__version__}" in embedder.id()
    assert "rdkit" not in ChemNetEmbedder(weights=random_weights["zip"]).id()


def test_a_scorer_takes_lists_of_smiles_and_gives_the_fcd_of_the_whole_lists(random_weights) -> None:
    options = {"embedder": "chemnet", "embedder_options": {"weights": random_weights["zip"]}}
    scorer = frechet.Scorer(reference=GOOD, **options)
    scorer.update(GOOD[:4])
    scorer.update(GOOD[4:] + ["CCN"])
    whole = frechet.compute(GOOD, [*GOOD, "CCN"], cache=False, workers=0, progress=False, **options)
    assert scorer.compute()["fcd"] == pytest.approx(whole["fcd"], rel=1e-6)
