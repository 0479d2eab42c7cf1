"""``approx import-torch``: a PyTorch ``nn.LSTM`` + ``nn.Linear`` state dict (safetensors) as a forecaster model file."""

from __future__ import annotations

import click

from approx.errors import ApproxError
from cli.app import approx, registry_option
from cli.extras import require
from cli.train_commands import check_output, lstm_activation_options, series_options
from nn.dtypes import DEFAULT_DTYPE, DTYPES


@approx.command("import-torch")
@click.argument("state_file", type=click.Path(dir_okay=False))
@lstm_activation_options
@click.option("--hidden-activation", default="relu", show_default=True,
              help="With a two-Linear head: the activation between the Linear layers (e.g. nn.ReLU: relu).")
@click.option("--output-activation", default="identity", show_default=True,
              help="Activation after the last Linear (identity: none).")
@series_options("The data the model was trained on, as for approx train forecaster: 'taylor' or a load CSV (its "
                "features must be the model's input; recorded for approx evaluate and secure infer).",
                "Lagged-load features the model reads, e.g. 48,336.")
@click.option("--dtype", type=click.Choice(DTYPES), default=DEFAULT_DTYPE, show_default=True,
              help="Floating-point type of the model file's weights.")
@registry_option
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="forecaster.npz", show_default=True,
              help="Model file to write.")
@click.option("--force", is_flag=True, help="Replace an -o file that holds another kind of model (or no model).")
def import_torch_command(state_file, gate_activation, cell_activation, hidden_activation, output_activation, data,
                         time_column, load_column, holiday_calendar, window, lags, dtype, registry, output, force):
    """Convert STATE_FILE, a PyTorch nn.LSTM(num_layers=2) with an nn.Linear head saved with
    safetensors.torch.save_file, into a forecaster model file that approx evaluate and approx secure infer read.

    PyTorch's gate order i, f, g, o becomes ours (i, f, o, g) and its two biases are added; see
    docs/training.md. Everything is checked before the file is written.
    """
    require("import-torch", "nn", "torch")
    from nn.persistence import forecaster_metadata, save_model
    from nn.provenance import series_dataset, source_record
    from nn.torch_import import forecaster_from_state_dict, read_state_dict

    check_output(output, "forecaster", force)
    model = forecaster_from_state_dict(read_state_dict(state_file), gate_activation=gate_activation,
                                       cell_activation=cell_activation, hidden_activation=hidden_activation,
                                       output_activation=output_activation, registry=registry, dtype=dtype)
    dataset = series_dataset(data, time_column, load_column, holiday_calendar, window, lags)
    if dataset.features != model.config.input_size:
        raise ApproxError(f"the nn.LSTM reads {model.config.input_size} features per step but --data with "
                          f"--lags {','.join(map(str, lags)) or '(none)'} gives {dataset.features}; give the lags "
                          "the model was trained with")
    summary = {"imported_from": source_record(state_file)}
    save_model(output, model, forecaster_metadata(dataset, data, time_column, load_column, holiday_calendar, lags,
                                                  summary))
    config = model.config
    click.echo(f"LSTM({config.input_size} -> {config.hidden_size}) x 2 -> Dense({config.hidden_size} -> "
               f"{config.dense_size}) -> Dense({config.dense_size} -> 1); wrote {output}")
