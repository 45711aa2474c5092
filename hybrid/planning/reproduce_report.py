"""The report of ``hybrid reproduce mcts``: the ``mcts.md`` tables and the two figures, drawn from a run's summary.

Printers kept apart from the run (:mod:`hybrid.planning.reproduce`), which computes the
summary: :func:`write_table` writes the tables, :func:`write_figures` the figures
(matplotlib, imported when drawing).

Every table labels its rows (:mod:`hybrid.planning.labels`): a ``rules`` column (rules
given, learned, or none for the model-free baselines) and a ``data`` column (what was
learned from), read from the summary's ``rules`` and ``data`` keys.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from hybrid.planning.labels import DATA_LABELLED_FRAMES, DATA_NONE, DATA_SELF_PLAY, MODEL_FREE, RULES_GIVEN

__all__ = ["num", "pct", "write_figures", "write_table"]


def pct(x: Any) -> str:
    """A share as a percentage with two decimals (``"—"`` for a missing or NaN value)."""
    return f"{100 * x:.2f}%" if isinstance(x, (int, float)) and x == x else "—"


def num(x: Any, fmt: str = ".0f") -> str:
    """A number in ``fmt`` (``"—"`` for a missing, NaN or infinite value)."""
    return format(x, fmt) if isinstance(x, (int, float)) and x == x and not math.isinf(x) else "—"


def _labels(r: dict[str, Any] | None, rules: str, data: str) -> tuple[str, str]:
    """``(rules, data)`` of a summary entry, with defaults for a summary written before the labels."""
    r = r or {}
    return str(r.get("rules", rules)), str(r.get("data", data))


def write_table(path: Path, s: dict[str, Any]) -> None:
    """Write ``mcts.md`` from a run's summary: speed, puzzles, deep baselines, AlphaZero, targets."""
    lines = ["# MCTS and perception-to-search planning", ""]
    sp = s["speed"]
    rules, data = _labels(sp, RULES_GIVEN, DATA_NONE)
    lines += [f"## Search speed ({sp['num_simulations']} simulations per search, {sp['repeats']} repeats, one core)",
              "", sp["note"], "",
              f"Rules: {rules} (each game's own rules, both searches); data: {data} (nothing is learned).", "",
              "| game | ours sims/s | OpenSpiel sims/s | ratio (medians) | ratio (best runs) |",
              "|---|---|---|---|---|"]
    for g, r in sp["games"].items():
        lines.append(f"| {g} | {num(r['sims_per_s'])} | {num(r['openspiel_sims_per_s'])} | "
                     f"{num(r['ratio'], '.2f')} | {num(r['ratio_best'], '.2f')} |")
    lines += ["", "## Puzzles from pixels (hybrid: perception -> search)", "",
              "| puzzle | rules | data | instances | solved | perception (states read right) | labelled frames "
              "| median s |",
              "|---|---|---|---|---|---|---|---|"]
    for n, r in s["puzzles"].items():
        total = r.get("total", r.get("instances", "—"))
        rules, data = _labels(r, RULES_GIVEN, DATA_LABELLED_FRAMES)
        lines.append(f"| {n} | {rules} | {data} | {total} | {pct(r['solved_rate'])} | "
                     f"{pct(r.get('perception_accuracy'))} | {r.get('interactions', '—')} | "
                     f"{num(r.get('median_seconds'), '.3f')} |")
        for d, v in (r.get("distances") or {}).items():
            lines.append(f"| {n}, {d} moves from the goal | {rules} | {data} | {v.get('total', '—')} | "
                         f"{pct(v.get('solved_rate'))} | | | {num(v.get('median_seconds'), '.3f')} |")
    if s["deep"]:
        lines += ["", "## Deep RL baselines (stable-baselines3, from pixels)", "",
                  "| puzzle | algorithm | rules | data | env steps | x hybrid's interactions | success | train s |",
                  "|---|---|---|---|---|---|---|---|"]
        for n, per in s["deep"].items():
            first = next(iter(per.values()))
            rules, data = _labels(s["puzzles"].get(n), RULES_GIVEN, DATA_LABELLED_FRAMES)
            lines.append(f"| {n} | hybrid | {rules} | {data} | {first['hybrid_interactions']} {data} | 1 | "
                         f"{pct(first['hybrid_solved_rate'])} | |")
            for algo, d in per.items():
                rules, data = _labels(d, MODEL_FREE.rules, MODEL_FREE.data)
                for b, rate in d["success"].items():
                    lines.append(f"| {n} | {algo} | {rules} | {data} | {b} | {d['multiple_of_hybrid'][b]:g} | "
                                 f"{pct(rate)} | {num(d['train_seconds'][b])} |")
        lines.append("")
        for n, per in s["deep"].items():
            for algo, d in per.items():
                lines.append(f"- {algo} on {n}: {d['match_note']}.")
    az = s["alphazero"]
    if az is not None:
        rules, data = _labels(az, RULES_GIVEN, DATA_SELF_PLAY)
        lines += ["", "## AlphaZero-style self-play, Connect Four", "",
                  f"Rules: {rules} (PUCT search over Connect Four's rules); data: {data}.", "",
                  f"Trained {az['train_seconds']:.0f} s ({az['iterations']} iterations, {az['selfplay_games']} "
                  f"self-play games), then {az['games']} games against UCT with random rollouts, both at "
                  f"{az['simulations']} simulations per move: {az['wins']} wins, {az['draws']} draws, "
                  f"{az['losses']} losses (win rate {pct(az['win_rate'])}).", ""]
    lines += ["", "## Targets", "", "| target | measured | met |", "|---|---|---|"]
    for name, t in s["targets"].items():
        value = t["value"]
        shown = f"{value:.2f}x" if name.startswith("speed") else pct(value)
        lines.append(f"| {name}: {t['target']} | {shown} | {'yes' if t['met'] else 'no'} |")
    path.write_text("\n".join(lines) + "\n")


def write_figures(out: Path, s: dict[str, Any], deep_puzzles: tuple[str, ...]) -> None:
    """Draw ``success_vs_interactions.png`` (hybrid point vs PPO/DQN curves, one panel per puzzle of
    ``deep_puzzles`` in the summary) and ``sims_per_s.png`` (bars) into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    names = [n for n in deep_puzzles if n in s["puzzles"]]
    if names:
        fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4), squeeze=False)
        for ax, n in zip(axes[0], names, strict=True):
            r = s["puzzles"][n]
            if r.get("interactions"):
                rules, data = _labels(r, RULES_GIVEN, DATA_LABELLED_FRAMES)
                ax.scatter([r["interactions"]], [r["solved_rate"]], marker="*", s=200, color="C3", zorder=3,
                           label=f"hybrid ({rules}, {data})")
            styles = (("o", "-"), ("s", "--"))
            for k, (algo, d) in enumerate(s["deep"].get(n, {}).items()):
                xs = sorted(int(b) for b in d["success"])
                marker, line = styles[k % len(styles)]
                ax.plot(xs, [d["success"][str(b)] for b in xs], marker=marker, linestyle=line, color=f"C{k}",
                        markersize=8 - 3 * k, label=f"{algo} ({_labels(d, MODEL_FREE.rules, MODEL_FREE.data)[1]})")
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            ax.set_ylim(-0.03, 1.03)
            ax.set_xlabel("environment interactions used for learning")
            ax.set_ylabel("success rate")
            ax.set_title(n)
            ax.grid(alpha=0.3)
            ax.legend(loc="best", fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "success_vs_interactions.png", dpi=120)
        plt.close(fig)

    games = list(s["sims_per_s"])
    if games:
        fig, ax = plt.subplots(figsize=(5, 4))
        xs = range(len(games))
        ax.bar([x - 0.2 for x in xs], [s["sims_per_s"][g] for g in games], 0.4, label="ours")
        peer = [s["openspiel_sims_per_s"][g] or 0.0 for g in games]
        ax.bar([x + 0.2 for x in xs], peer, 0.4, label="OpenSpiel MCTSBot")
        for x, g in zip(xs, games, strict=True):
            ratio = s["speed_ratio"].get(g)
            if ratio:
                ax.annotate(f"{ratio:.1f}x", (x - 0.2, s["sims_per_s"][g]), ha="center", va="bottom")
        ax.set_xticks(list(xs), games)
        ax.set_ylabel("simulations per second (one core)")
        ax.legend()
        ax.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / "sims_per_s.png", dpi=120)
        plt.close(fig)
