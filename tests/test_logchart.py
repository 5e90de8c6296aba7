import re

import pytest

from builder.render.logchart import TrainingLog, parse_training_log, render_chart_svg


def bracket_epoch_log(epochs: int = 50) -> str:
    """The `Epoch[20/1000], loss: 34.622749` format, decaying geometrically from 34.622749 to 0.38."""
    ratio = (0.38 / 34.622749) ** (1 / (epochs - 1))
    return "\n".join(
        f"Epoch[{epoch}/1000], loss: {34.622749 * ratio ** (epoch - 1):.6f}" for epoch in range(1, epochs + 1)
    )


def test_bracket_epoch_log_is_read_in_order():
    log = parse_training_log(bracket_epoch_log())

    assert log.steps_label == "epoch"
    assert list(log.metrics) == ["loss"]
    assert len(log.metrics["loss"]) == 50
    assert log.metrics["loss"][0] == (1.0, 34.622749)
    assert log.metrics["loss"][-1] == (50.0, 0.38)
    assert [step for step, _ in log.metrics["loss"]] == [float(n) for n in range(1, 51)]


def test_bracket_epoch_log_chart_describes_itself():
    svg = render_chart_svg(parse_training_log(bracket_epoch_log()))

    assert 'aria-label="loss over 50 epochs, from 34.62 to 0.38"' in svg
    assert svg.count("<polyline ") == 1
    assert len(re.search(r'points="([^"]*)"', svg).group(1).split()) == 50


def test_key_equals_value_format_skips_nan_and_inf():
    text = "epoch 1 loss=0.5 acc=0.7\nepoch 2 loss=0.41 acc=0.88\nepoch 3 loss=nan acc=0.9\nepoch 4 loss=inf acc=1e-1"

    assert parse_training_log(text) == TrainingLog(
        steps_label="epoch",
        metrics={
            "loss": ((1.0, 0.5), (2.0, 0.41)),
            "acc": ((1.0, 0.7), (2.0, 0.88), (3.0, 0.9), (4.0, 0.1)),
        },
    )


def test_keras_format_with_dashes_and_scientific_notation():
    text = (
        "Epoch 1/10 - loss: 0.1234 - val_loss: 0.2 - accuracy: 0.9\n"
        "Epoch 2/10 - loss: 0.1 - val_loss: 0.19 - accuracy: 0.91\n"
        "Epoch 3/10 - loss: 9.5E-2 - val_loss: 0.18 - accuracy: 0.92"
    )

    assert parse_training_log(text) == TrainingLog(
        steps_label="epoch",
        metrics={
            "loss": ((1.0, 0.1234), (2.0, 0.1), (3.0, 0.095)),
            "val_loss": ((1.0, 0.2), (2.0, 0.19), (3.0, 0.18)),
            "accuracy": ((1.0, 0.9), (2.0, 0.91), (3.0, 0.92)),
        },
    )


def test_step_format_ignores_other_lines_and_unit_suffixed_values():
    text = "starting\nstep 100: loss 2.31\nstep 200: loss 1.9\nsaving checkpoint\nstep 300: loss 1.5 time 2.3s"

    assert parse_training_log(text) == TrainingLog(
        steps_label="step", metrics={"loss": ((100.0, 2.31), (200.0, 1.9), (300.0, 1.5))}
    )


def test_pytorch_mnist_format_ignores_batch_fractions():
    text = (
        "Train Epoch: 1 [0/60000 (0%)]\tLoss: 2.302\n"
        "Train Epoch: 1 [640/60000 (1%)]\tLoss: 2.1\n"
        "Train Epoch: 2 [0/60000 (0%)]\tLoss: 1.2"
    )

    assert parse_training_log(text) == TrainingLog(
        steps_label="epoch", metrics={"Loss": ((1.0, 2.302), (1.0, 2.1), (2.0, 1.2))}
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hello, world!\ntensor([1., 2., 3.])\nDone",
        "epoch 1 loss 3\nepoch 2 loss 2",  # too few lines
        "epoch 1\nepoch 2\nepoch 3",  # no metrics
        "loss 3\nloss 2\nloss 1",  # no step numbers
    ],
)
def test_text_that_is_not_a_training_log_gives_none(text):
    assert parse_training_log(text) is None


def test_metric_names_are_escaped():
    log = TrainingLog(
        steps_label="step", metrics={"<script>alert(1)</script>": ((1.0, 1.0), (2.0, 2.0), (3.0, 3.0))}
    )

    svg = render_chart_svg(log)

    assert "<script>" not in svg
    assert ">&lt;script&gt;alert(1)&lt;/script&gt;</text>" in svg
    assert 'aria-label="&lt;script&gt;alert(1)&lt;/script&gt; over 3 steps, from 1.00 to 3.00"' in svg


def test_rendering_is_deterministic():
    text = "epoch 1 loss=0.5 acc=0.7\nepoch 2 loss=0.41 acc=0.88\nepoch 3 loss=0.3 acc=0.9"

    assert render_chart_svg(parse_training_log(text)) == render_chart_svg(parse_training_log(text))


def test_wide_positive_range_uses_log_scale():
    text = "step 1: loss 10\nstep 2: loss 0.31622776601683794\nstep 3: loss 0.01"

    svg = render_chart_svg(parse_training_log(text))

    assert 'aria-label="loss over 3 steps, from 10.00 to 0.01 (log scale)"' in svg
    # On a log axis the geometric midpoint sits halfway up the plot.
    assert 'points="52.00,22.00 200.00,89.00 348.00,156.00"' in svg


@pytest.mark.parametrize(
    "values",
    [
        ("10", "5", "0.1"),  # exactly two orders of magnitude
        ("10", "5", "0"),  # not all positive
        ("10", "5", "-0.01"),
    ],
)
def test_narrow_or_non_positive_range_stays_linear(values):
    text = "\n".join(f"step {n}: loss {value}" for n, value in enumerate(values, start=1))

    svg = render_chart_svg(parse_training_log(text))

    assert "log scale" not in svg


def test_at_most_four_metrics_are_drawn():
    text = "\n".join(f"step {n}: a {n} b {n} c {n} d {n} e {n}" for n in range(1, 4))

    svg = render_chart_svg(parse_training_log(text))

    assert re.findall(r'<polyline class="(metric-\d)"', svg) == ["metric-0", "metric-1", "metric-2", "metric-3"]
    assert ">e</text>" not in svg


def test_three_point_log_renders_exact_svg():
    log = parse_training_log("step 1: loss 3\nstep 2: loss 2\nstep 3: loss 1")

    assert render_chart_svg(log) == "\n".join([
        '<svg class="training-chart" viewBox="0 0 360 180" width="360" height="180"'
        ' xmlns="http://www.w3.org/2000/svg" role="img" aria-label="loss over 3 steps, from 3.00 to 1.00">',
        '<g class="axes" stroke="currentColor" stroke-opacity="0.4" stroke-width="1">',
        '<line x1="52.00" y1="156.00" x2="348.00" y2="156.00"/>',
        '<line x1="52.00" y1="22.00" x2="52.00" y2="156.00"/>',
        '</g>',
        '<g class="axis-labels" font-family="sans-serif" font-size="10" fill="currentColor">',
        '<text x="48.00" y="26.00" text-anchor="end">3.00</text>',
        '<text x="48.00" y="156.00" text-anchor="end">1.00</text>',
        '<text x="52.00" y="170.00" text-anchor="start">1</text>',
        '<text x="200.00" y="170.00" text-anchor="middle">step</text>',
        '<text x="348.00" y="170.00" text-anchor="end">3</text>',
        '</g>',
        '<g class="series" fill="none" stroke-width="1.5">',
        '<polyline class="metric-0" stroke="#ee4c2c" points="52.00,22.00 200.00,89.00 348.00,156.00"/>',
        '</g>',
        '<g class="legend" font-family="sans-serif" font-size="10" fill="currentColor">',
        '<line class="metric-0" x1="52.00" y1="10.00" x2="66.00" y2="10.00" stroke="#ee4c2c" stroke-width="2"/>',
        '<text x="70.00" y="13.00" text-anchor="start">loss</text>',
        '</g>',
        '</svg>',
    ])


def test_tiny_values_keep_significant_digits_in_labels():
    text = "step 1: lr 1e-3\nstep 2: lr 5e-4\nstep 3: lr 1e-4"

    svg = render_chart_svg(parse_training_log(text))

    assert 'aria-label="lr over 3 steps, from 1.00e-03 to 1.00e-04"' in svg
