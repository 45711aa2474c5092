"""The report's per-family table (issue 17): samples, compute, inference cost and size at the target."""

import json
import math

from hybrid.evaluate.protocols import MetricSpec
from hybrid.evaluate.report import aggregate, family_rows, write_report
from hybrid.evaluate.store import RunConfig, RunRecord

ERR = MetricSpec("err", "|error|", False, 0.1)


def _record(method, family, n, seed, err, *, train_flops, train_s, inf_flops, examples=None, nz=None):
    config = RunConfig(task="toy", task_params={}, method=method, method_params={}, family=family, n_train=n,
                       seed=seed, device="cpu")
    inference = {"flops": inf_flops, "wall_s": 0.01, "params": 1000.0, "nonzero_params": nz or 1000.0,
                 "model_bytes": 4000.0, "latency_s_b1": 2e-5, "latency_s_batch": 1e-6, "latency_batch": 64}
    if examples is not None:
        inference["examples"] = examples
    return RunRecord(config=config, status="ok", metrics={"err": err, "acc": 1 / (1 + err)},
                     train={"flops": train_flops, "wall_s": train_s}, inference=inference)


def _records():
    recs = []
    for seed in (0, 1):
        # the hybrid reaches err <= 0.1 at n=8; the deep net at n=512; the compressed one never
        recs += [_record("sym", "hybrid", 8, seed, 0.05, train_flops=1e3, train_s=0.1, inf_flops=200.0, examples=100),
                 _record("sym", "hybrid", 512, seed, 0.01, train_flops=1e5, train_s=1.0, inf_flops=200.0,
                         examples=100)]
        for n, err in ((8, 0.9), (512, 0.08 + 0.01 * seed)):
            recs.append(_record("net", "deep", n, seed, err, train_flops=1e9 * n, train_s=n / 100, inf_flops=5e5,
                                examples=100))
            recs.append(_record("net-pruned", "compressed-deep", n, seed, err + 0.1, train_flops=2e9 * n,
                                train_s=n / 50, inf_flops=5e5, nz=100.0))
    return recs


def test_family_rows_reuse_samples_to_target_and_say_not_reached():
    table = aggregate(_records())["toy"]
    families = {"sym": "hybrid", "net": "deep", "net-pruned": "compressed-deep"}
    rows = family_rows(table, families, ERR)
    assert [(r["family"], r["method"]) for r in rows] == [
        ("hybrid", "sym"), ("deep", "net"), ("compressed-deep", "net-pruned")]
    sym, net, pruned = rows
    assert sym["reached"] and sym["n"] == 8 and sym["train_flops"] == 1e3
    assert sym["inference_flops_per_example"] == 2.0  # 200 FLOPs over 100 examples
    assert net["reached"] and net["n"] == 512 and net["train_flops"] == 512e9 and net["train_seconds"] == 5.12
    assert net["inference_flops_per_example"] == 5e3
    # never at target: the largest size, flagged; no example count recorded -> no per-example FLOPs
    assert not pruned["reached"] and pruned["n"] == 512
    assert math.isnan(pruned["inference_flops_per_example"]) and pruned["inference_flops"] == 5e5
    assert pruned["nonzero_params"] == 100.0 and pruned["model_bytes"] == 4000.0


def test_report_writes_the_family_table(tmp_path):
    files = write_report(_records(), tmp_path)
    text = files.report.read_text()
    section = text[text.index("### Per family"):]
    section = section[:section.index("### Every size")] if "### Every size" in section else section
    assert "**err <= 0.1**" in section
    rows = [line for line in section.splitlines() if line.startswith("| ") and "family |" not in line]
    err_rows = rows[3:6] if "**acc" in section.split("**err")[0] else rows[:3]
    assert err_rows[0].startswith("| hybrid | sym | 8 |")
    assert err_rows[1].startswith("| deep | net | 512 | 5.12e+11 | 5.12 | 5e+03 |")
    assert err_rows[2].startswith("| compressed-deep (teacher's training included) | net-pruned | "
                                  "not reached (by n=512) | > 1.02e+12 | > 10.2 | — |")
    assert "teacher" in section and "Not reached" in section
    summary = json.loads(files.summary.read_text())
    assert summary["toy.family.err.net-pruned.reached"] is False
    assert summary["toy.family.err.net.n"] == 512
    assert summary["toy.family.err.sym.inference_flops_per_example"] == 2.0
    assert summary["toy.family.err.net-pruned.inference_flops_per_example"] is None
