"""``hybrid reproduce compression --quick`` end to end: the files, and rows that match the models written."""

import json

import pytest
import torch
from hybrid.neural.compress import load_sparse

from hybrid.cli import main


def _strict(text):
    def refuse(name):
        raise ValueError(f"summary.json is not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def _nonzero_in_file(path):
    """Non-zero weights and biases stored in a model file (sparse, dense or int8), read back from disk."""
    data = path.read_bytes()
    state = torch.load(path, weights_only=True)
    if set(state) >= {"format", "tensors"}:  # CSR-sparse storage
        state = load_sparse(data)
    total = 0
    for key, value in state.items():
        if key.endswith("_packed_params._packed_params"):  # dynamic int8 Linear: (int8 weight, float bias)
            weight, bias = value
            total += int(torch.count_nonzero(weight.int_repr()))
            total += 0 if bias is None else int(torch.count_nonzero(bias))
        elif key.endswith((".weight", ".bias")):  # a static int8 convolution's weight: its int8 values
            total += int(torch.count_nonzero(value.int_repr() if value.is_quantized else value))
    return total


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_quick_writes_tables_and_claims_match_the_models(tmp_path, capsys):
    out = tmp_path / "c"
    assert main(["reproduce", "compression", "--quick", "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    assert "compression.md" in printed and ("met" in printed)
    summary = _strict((out / "summary.json").read_text())
    text = (out / "compression.md").read_text()
    for heading in ("## Targets", "Regression MLP", "Perception CNN", "## Machine", ">= 3.5x smaller on disk"):
        assert heading in text
    assert summary["machine"]["cpu"] and summary["seeds"] == [0]
    runs = summary["mlp"]["runs"] + summary["cnn"]["runs"]
    assert len(runs) == 2
    names = [r["compression"] for r in summary["mlp"]["runs"][0]["rows"]]
    assert names[0].startswith("teacher") and "prune 95% (one shot)" in names and any("distilled" in n for n in names)
    for run in runs:
        teacher = run["rows"][0]
        for row in run["rows"]:
            path = out / row["file"]
            assert path.stat().st_size == row["bytes"]
            assert _nonzero_in_file(path) == row["nonzero"], row["compression"]
            assert row["nonzero_ratio"] == pytest.approx(teacher["nonzero"] / row["nonzero"])
            assert row["points_lost"] == pytest.approx(100 * (teacher["metric"] - row["metric"]))
        by_name = {r["compression"]: r for r in run["rows"]}
        # 95% of the weights are zero; the biases (and BatchNorm) are kept, so slightly fewer than 20x
        assert 10 < by_name["prune 95% (one shot)"]["nonzero_ratio"] < 20
        assert 10 < by_name["prune 95% (gradual: 50, 75, 90, 95)"]["nonzero_ratio"] < 20
        assert by_name["structured 75%"]["params"] < by_name["structured 50%"]["params"] < teacher["params"]
    distilled = next(r for r in summary["mlp"]["runs"][0]["rows"] if "distilled" in r["compression"])
    assert distilled["params_ratio"] >= 5
    assert {t["model"] for t in summary["targets"]} == {"regression MLP", "perception CNN"}
    # resumable: a second run reads every stage back and writes the same tables
    before = (out / "summary.json").read_text()
    assert main(["reproduce", "compression", "--quick", "--out", str(out), "--no-progress"]) == 0
    after = _strict((out / "summary.json").read_text())
    assert after["mlp"]["runs"] == _strict(before)["mlp"]["runs"]
