"""Deterministic benchmark corpora for `builder`.

    python bench/corpus.py --posts N --out DIR [--executing] [--seed S]

Without --executing: N render-only posts (1,000-1,500 words of generated ML-ish prose with
headings and lists, 3-6 ```python blocks, one Markdown table, inline math, 1-4 tags from a
fixed vocabulary, dates spread over 2010-2024), meant to be built with `--no-execute`.

With --executing: N copies of the repository's tutorial
(posts/2017-08-11-pytorch-linear-regression.md) that differ only in title and file name (slug),
so every post trains the same model.

Both write DIR/posts/YYYY-MM-DD-slug.md and DIR/_config.yml. Output depends only on the
arguments (random.Random(seed); no clock, no environment).
"""
from __future__ import annotations

import argparse
import random
import re
import shutil
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TUTORIAL = REPO / "posts" / "2017-08-11-pytorch-linear-regression.md"

TAGS = ["pytorch", "numpy", "regression", "classification", "cnn", "rnn", "transformer",
        "optimization", "statistics", "visualization", "nlp", "vision", "reinforcement-learning",
        "probability", "tutorial", "deployment"]

NOUNS = ["model", "gradient", "loss", "tensor", "batch", "layer", "optimizer", "dataset", "epoch",
         "weight", "bias", "activation", "embedding", "kernel", "feature", "label", "prediction",
         "learning rate", "regularizer", "validation set", "checkpoint", "scheduler", "attention head",
         "encoder", "decoder", "residual block", "dropout mask", "parameter", "sample", "distribution",
         "posterior", "likelihood", "baseline", "benchmark", "pipeline", "GPU", "matrix", "vector"]
VERBS = ["computes", "updates", "normalizes", "reduces", "stabilizes", "improves", "projects",
         "samples", "accumulates", "initializes", "regularizes", "predicts", "transforms", "averages",
         "clips", "scales", "freezes", "fine-tunes", "evaluates", "encodes", "shuffles", "penalizes"]
ADJS = ["small", "noisy", "stable", "sparse", "dense", "linear", "convex", "deep", "shallow",
        "pretrained", "random", "held-out", "balanced", "large", "quantized", "robust", "smooth",
        "stochastic", "deterministic", "efficient", "expensive", "differentiable"]
ADVS = ["quickly", "slowly", "carefully", "roughly", "exactly", "usually", "rarely", "often",
        "in practice", "in theory", "at each step", "during training", "at inference time"]
HEADINGS = ["Setting up the data", "Defining the model", "Choosing a loss", "The training loop",
            "Evaluating the results", "Tuning the learning rate", "Regularization", "What went wrong",
            "Visualizing the predictions", "Saving and loading", "A closer look at the gradients",
            "Scaling up", "Related work", "Summary", "Next steps", "Batch normalization",
            "Data augmentation", "Early stopping", "Mixed precision", "Debugging tips"]
MATH = [r"$y = wx + b$", r"$\alpha = 10^{-3}$", r"$L = \frac{1}{n}\sum_i (y_i - \hat y_i)^2$",
        r"$\theta \leftarrow \theta - \eta \nabla_\theta L$", r"$\sigma(x) = 1/(1+e^{-x})$",
        r"$p(y \mid x)$", r"$\lVert w \rVert_2^2$", r"$x \in \mathbb{R}^d$", r"$\beta_1 = 0.9$",
        r"$\mathrm{softmax}(z)_i$"]
CODE = [
    "import torch\nfrom torch import nn\n\nmodel = nn.Sequential(nn.Linear({a}, {b}), nn.ReLU(), nn.Linear({b}, 1))\nprint(model)",
    "x = torch.randn({a}, {b})\ny = x @ torch.randn({b}, 1) + 0.1 * torch.randn({a}, 1)\nprint(x.shape, y.shape)",
    "optimizer = torch.optim.SGD(model.parameters(), lr={lr})\nfor epoch in range({a}):\n    loss = ((model(x) - y) ** 2).mean()\n    optimizer.zero_grad()\n    loss.backward()\n    optimizer.step()\n    if epoch % {b} == 0:\n        print(epoch, loss.item())",
    "import numpy as np\nimport matplotlib.pyplot as plt\n\nxs = np.linspace(0, {a}, {b})\nplt.plot(xs, np.sin(xs))\nplt.show()",
    "with torch.no_grad():\n    predictions = model(x)\nerror = (predictions - y).abs().mean()\nprint(f'mean absolute error: {{error:.4f}}')",
    "torch.save(model.state_dict(), 'model-{a}.pth')\nstate = torch.load('model-{a}.pth')\nprint(sorted(state))",
    "def accuracy(logits, labels):\n    return (logits.argmax(dim=1) == labels).float().mean().item()\n\nprint(accuracy(torch.randn({a}, {b}), torch.randint(0, {b}, ({a},))))",
]


def sentence(rng: random.Random) -> str:
    words = [rng.choice(ADJS), rng.choice(NOUNS), rng.choice(VERBS), "the", rng.choice(ADJS),
             rng.choice(NOUNS)]
    if rng.random() < 0.5:
        words += [rng.choice(ADVS)]
    if rng.random() < 0.4:
        words += ["because", "the", rng.choice(NOUNS), rng.choice(VERBS), "a", rng.choice(NOUNS)]
    if rng.random() < 0.15:
        words += ["so", rng.choice(MATH), "holds"]
    if rng.random() < 0.1:
        words.insert(2, f"`{rng.choice(['nn.Linear', 'torch.no_grad', 'loss.backward', 'optim.Adam'])}`")
    text = " ".join(words)
    return text[0].upper() + text[1:] + "."


def excerpt(rng: random.Random) -> str:
    return f"{rng.choice(ADJS).capitalize()} {rng.choice(NOUNS)} {rng.choice(VERBS)} the {rng.choice(NOUNS)}."


def paragraph(rng: random.Random, sentences: int) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))


def count_words(text: str) -> int:
    return len(re.findall(r"\S+", text))


def table(rng: random.Random) -> str:
    rows = ["| model | epochs | learning rate | loss |", "| --- | ---: | ---: | ---: |"]
    for name in rng.sample(["linear", "mlp", "cnn", "rnn", "lstm", "transformer", "resnet"], 4):
        rows.append(f"| {name} | {rng.randint(5, 500)} | {rng.choice(['1e-2', '1e-3', '3e-4', '1e-4'])} "
                    f"| {rng.uniform(0.01, 2):.3f} |")
    return "\n".join(rows)


def code_block(rng: random.Random) -> str:
    code = rng.choice(CODE).format(a=rng.randint(2, 64), b=rng.randint(2, 16),
                                   lr=rng.choice(["0.1", "0.01", "1e-3"]))
    return f"```python\n{code}\n```"


def render_post(rng: random.Random, index: int) -> tuple[str, str]:
    """(file name, text) of one render-only post."""
    day = date(2010, 1, 1) + timedelta(days=rng.randrange(15 * 365))
    topic = " ".join(rng.sample(NOUNS, 2))
    title = f"{topic.title()} notes {index}"
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    tags = sorted(rng.sample(TAGS, rng.randint(1, 4)))
    target_words = rng.randint(1000, 1440)  # the padding below overshoots by < 60 words
    code_blocks = [code_block(rng) for _ in range(rng.randint(3, 6))]
    headings = rng.sample(HEADINGS, len(code_blocks) + 1)
    blocks: list[str] = [paragraph(rng, 4) + f" We write {rng.choice(MATH)} throughout."]
    blocks.append(f"## {headings[0]}")
    blocks.append(table(rng))
    for heading, code in zip(headings[1:], code_blocks):
        blocks += [f"## {heading}", paragraph(rng, rng.randint(3, 6)), code]
        if rng.random() < 0.6:
            blocks.append("\n".join(f"{'-' if rng.random() < 0.5 else '1.'} {sentence(rng)}"
                                    for _ in range(rng.randint(2, 5))))
    # pad with prose (in the later sections) until the post reaches its word count
    while count_words("\n\n".join(blocks)) < target_words:
        blocks.append(paragraph(rng, rng.randint(2, 4)))
    front = (f"---\ntitle: \"{title}\"\nexcerpt: \"{excerpt(rng)}\"\n"
             f"tags: [{', '.join(tags)}]\ncategories: [notes]\ntoc: {str(rng.random() < 0.3).lower()}\n---\n\n")
    return f"{day.isoformat()}-{slug}.md", front + "\n\n".join(blocks) + "\n"


def executing_post(index: int, tutorial: str) -> tuple[str, str]:
    """(file name, text) of one copy of the tutorial; only the title and slug differ."""
    title = f"线性回归副本 {index + 1}"
    text, count = re.subn(r'(?m)^title: .*$', f'title: "{title}"', tutorial, count=1)
    if count != 1:
        raise SystemExit(f"{TUTORIAL} has no title: line")
    return f"2017-08-11-pytorch-linear-regression-copy-{index + 1:03d}.md", text


# Search on, as a site has it by default: the speed rows include the Pagefind index (Hugo and
# Jekyll build none), whose shards make an edit re-index only the edited post's shard.
CONFIG = "title: \"Benchmark corpus\"\nurl: \"https://bench.example.org\"\nbaseurl: ''\n"


def generate(posts: int, out: Path, executing: bool = False, seed: int = 0) -> list[Path]:
    """Write the corpus into `out` (its posts/ folder is replaced); return the post paths."""
    shutil.rmtree(out / "posts", ignore_errors=True)
    (out / "posts").mkdir(parents=True)
    (out / "_config.yml").write_text(CONFIG, encoding="utf-8")
    rng = random.Random(seed)
    tutorial = TUTORIAL.read_text(encoding="utf-8") if executing else ""
    written = []
    for index in range(posts):
        name, text = executing_post(index, tutorial) if executing else render_post(rng, index)
        path = out / "posts" / name
        if path.exists():
            raise SystemExit(f"duplicate post name {name}")
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--executing", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    paths = generate(args.posts, args.out, args.executing, args.seed)
    print(f"wrote {len(paths)} posts to {args.out / 'posts'}")


if __name__ == "__main__":
    main()
