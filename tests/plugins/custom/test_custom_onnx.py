"""onnx:PATH — an ONNX graph run through onnxruntime: FD, outputs, fixed shapes, ids and errors."""

from __future__ import annotations

import sys
import warnings

import pytest
import torch
from custom_helpers import SIZE, TinyCNN, oracle_fd, onnx_features, read_images, run_cli, save_onnx, to_unit_batch

from frechet.errors import ConfigError, WeightsError
from frechet.plugins import get_registry

pytest.importorskip("onnxruntime", reason="the 'onnx' extra (onnxruntime) is part of frechet[test]")


def test_fd_from_the_cli_equals_fd_of_onnxruntimes_own_features(shapes, tmp_path, capsys):
    model = save_onnx(TinyCNN(), tmp_path / "tiny.onnx")
    code, result, _ = run_cli(capsys, "compute", *map(str, shapes), "--embedder", f"onnx:{model}",
                              "--embedder-option", f"size={SIZE}", "--embedder-option", "mean=0.5",
                              "--embedder-option", "std=0.25", "--batch-size", "7")
    assert code == 0
    direct = [onnx_features(model, (to_unit_batch(read_images(folder)) - 0.5) / 0.25) for folder in shapes]
    assert result["fd"] == pytest.approx(oracle_fd(*direct), rel=1e-6)
    assert result["output"] == "embedding" and result["embedder"].startswith("onnx(")


def test_the_onnx_graph_and_the_torch_model_it_was_built_from_give_the_same_features(shapes, tmp_path):
    model = save_onnx(TinyCNN(), tmp_path / "tiny.onnx")
    embedder = get_registry().create_embedder(f"onnx:{model}", size=SIZE)
    batch = embedder.collate([embedder.transform(image) for image in read_images(shapes[0])])
    with torch.no_grad():
        expected = TinyCNN()(to_unit_batch(read_images(shapes[0])))
    torch.testing.assert_close(embedder.forward(batch)["embedding"], expected, rtol=1e-5, atol=1e-5)


def test_graph_outputs_keep_their_names_and_output_picks_one(tmp_path):
    model = save_onnx(TinyCNN(), tmp_path / "two.onnx", outputs=("embedding", "unscaled"))
    embedder = get_registry().create_embedder(f"onnx:{model}", size=SIZE, output="unscaled")
    assert embedder.outputs == {"embedding": 6, "unscaled": 6} and embedder.default_output == "unscaled"


def test_a_fixed_size_graph_sets_the_default_size_and_refuses_another(tmp_path):
    model = save_onnx(TinyCNN(), tmp_path / "fixed.onnx", side=SIZE)
    assert get_registry().create_embedder(f"onnx:{model}").preprocessing.size == (SIZE, SIZE)
    with pytest.raises(ConfigError, match=f"takes {SIZE}x{SIZE} images only, but size=48"):
        get_registry().create_embedder(f"onnx:{model}", size="48")


def test_a_graph_with_a_batch_of_one_runs_item_by_item(tmp_path, shapes):
    single = save_onnx(TinyCNN(), tmp_path / "single.onnx", batch=1)
    dynamic = save_onnx(TinyCNN(), tmp_path / "dynamic.onnx")
    images = read_images(shapes[1])[:5]
    results = []
    for model in (single, dynamic):
        embedder = get_registry().create_embedder(f"onnx:{model}", size=SIZE)
        results.append(embedder.forward(embedder.collate([embedder.transform(image) for image in images])))
    torch.testing.assert_close(results[0]["embedding"], results[1]["embedding"], rtol=1e-6, atol=1e-6)
    with pytest.raises(ConfigError, match="batch size is fixed to 4; export it with a dynamic batch axis"):
        get_registry().create_embedder(f"onnx:{save_onnx(TinyCNN(), tmp_path / 'four.onnx', batch=4)}", size=SIZE)


def test_the_model_files_content_and_the_options_are_part_of_the_id(tmp_path):
    first = save_onnx(TinyCNN(), tmp_path / "a.onnx")
    other = save_onnx(TinyCNN(seed=5), tmp_path / "b.onnx")
    ids = {
        get_registry().create_embedder(f"onnx:{path}", **options).id()
        for path, options in [(first, {"size": SIZE}), (other, {"size": SIZE}), (first, {"size": 24}),
                              (first, {"size": SIZE, "resize": "nearest"}), (first, {"size": SIZE, "std": 2})]
    }
    assert len(ids) == 5


def test_the_torch_onnx_export_recipe_of_the_guide_works(tmp_path, shapes):
    module = TinyCNN().eval()
    path = tmp_path / "exported.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, (torch.rand(1, 3, SIZE, SIZE),), str(path), input_names=["images"],
                          output_names=["embedding"], dynamic_axes={"images": {0: "batch"}, "embedding": {0: "batch"}},
                          dynamo=False)
    embedder = get_registry().create_embedder(f"onnx:{path}")
    images = read_images(shapes[0])[:4]
    got = embedder.forward(embedder.collate([embedder.transform(image) for image in images]))["embedding"]
    with torch.no_grad():
        torch.testing.assert_close(got, module(to_unit_batch(images)), rtol=1e-5, atol=1e-5)


def test_a_broken_onnx_file_is_a_one_line_error_naming_it(tmp_path, shapes, capsys):
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"\x08\x07garbage" * 10)
    code, _, err = run_cli(capsys, "compute", *map(str, shapes), "--embedder", f"onnx:{broken}",
                           "--embedder-option", f"size={SIZE}")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"onnx:{broken}: not a loadable ONNX model" in err


def test_a_graph_with_a_4d_output_is_a_one_line_error(tmp_path, shapes, capsys):
    model = save_onnx(TinyCNN(), tmp_path / "map.onnx", outputs=("map",))
    code, _, err = run_cli(capsys, "compute", *map(str, shapes), "--embedder", f"onnx:{model}",
                           "--embedder-option", f"size={SIZE}")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"onnx:{model}: output 'map'" in err and "(2, 6, 8, 8)" in err


def test_without_onnxruntime_the_error_says_what_to_install(tmp_path, shapes, capsys, monkeypatch):
    model = save_onnx(TinyCNN(), tmp_path / "tiny.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # what an interpreter without the package sees
    code, _, err = run_cli(capsys, "compute", *map(str, shapes), "--embedder", f"onnx:{model}",
                           "--embedder-option", f"size={SIZE}")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "needs the optional package 'onnxruntime', which is not installed" in err
    assert "pip install -e '.[onnx]'" in err


def test_a_graph_that_does_not_take_float_images_is_refused(tmp_path):
    from onnx import TensorProto, helper, save

    graph = helper.make_graph(
        [helper.make_node("Cast", ["images"], ["embedding"], to=TensorProto.FLOAT)], "bytes",
        [helper.make_tensor_value_info("images", TensorProto.UINT8, ["batch", 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 3, SIZE, SIZE])],
    )
    path = tmp_path / "bytes.onnx"
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    with pytest.raises(ConfigError, match=r"input 'images' is tensor\(uint8\)"):
        get_registry().create_embedder(f"onnx:{path}")


def test_a_missing_onnx_file_is_named(tmp_path):
    with pytest.raises(WeightsError, match="no such model file"):
        get_registry().create_embedder(f"onnx:{tmp_path / 'nope.onnx'}", size=SIZE)

