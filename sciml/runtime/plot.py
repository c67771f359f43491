"""--plot DIR: the loss curve of a training run and, where the spec observes trajectories, the
fit against the data, as PNG files.

matplotlib is optional (`pip install sciml-compiler[plot]`); it is imported only when plots are
drawn, and only its object-oriented API with the Agg canvas is used: no window, no display, no
pyplot state.  An observed trajectory is a loss term that reads a state at a data set's times
and a field of the same data set, as in `mse(y(obs.t), obs.u)`: the state at the times is drawn
as lines, the field as points, for the first samples of the evaluation batch.
"""
import io
import pathlib
import re

import numpy as np


class TrainingPlots:
    """The plots of a run of the emitted module `model`, written to `folder`."""

    SAMPLES = 3  # trajectories drawn per observed state
    ROWS = 6  # panels at most (one per feature of an observed state)

    def __init__(self, model, folder):
        self.model, self.folder = model, folder

    @staticmethod
    def missing_package():
        """'matplotlib' when it cannot be imported, else None."""
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            return "matplotlib"
        return None

    @staticmethod
    def figure(rows=1, height=3.2):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        figure = Figure(figsize=(6.4, height * rows), layout="constrained")
        FigureCanvasAgg(figure)
        return figure

    def save(self, figure, name, write):
        """Write `figure` as folder/MODEL_BACKEND_NAME.png with `write(path, bytes)`; the path."""
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
        path = pathlib.Path(self.folder) / f"{self.model.MODEL}_{self.model.BACKEND}_{name}.png"
        write(path, buffer.getvalue())
        return path

    def loss_curve(self, losses, write):
        """The training loss of every step (log scale where all of it is positive); its path."""
        figure = self.figure()
        axes = figure.add_subplot()
        axes.plot(range(1, len(losses) + 1), losses, linewidth=1)
        if losses and min(losses) > 0:
            axes.set_yscale("log")
        axes.set(xlabel="training step", ylabel="loss", title=f"{self.model.MODEL} ({self.model.BACKEND}): "
                 f"training loss")
        axes.grid(True, alpha=0.3)
        return self.save(figure, "loss", write)

    @staticmethod
    def observed_pairs(term_texts, observed_states, data_sets):
        """[(state text, data set, field)]: each state observed at a data set's times, as
        `y(obs.t)`, with the field of the same data set that a loss term compares it to."""
        pairs = []
        for state in observed_states:
            at = re.fullmatch(r"\s*\w+\s*\(\s*(\w+)\s*\.\s*t\s*\)\s*", state)
            if at is None or at.group(1) not in data_sets:
                continue  # a state at a fixed time (Y(t = 1)): no trajectory to draw
            name = at.group(1)
            for text in term_texts:
                if state not in text:
                    continue
                fields = [f for f in re.findall(rf"\b{name}\s*\.\s*(\w+)", text.replace(state, " "))
                          if f != "t" and f in data_sets[name]]
                if len(set(fields)) == 1:
                    pairs.append((state, name, fields[0]))
                    break
        return pairs

    def fit(self, pairs, terms, batch, times, write):
        """State against data for the observed `pairs`: the model's path `terms[state]` and the
        field `batch[field]` ((times, features, samples)) over `times`; (its path, the series
        drawn: [(state, field, feature, sample, model values, data values)])."""
        rows = [(state, f"{name}.{field}", field, feature) for state, name, field in pairs
                if np.ndim(terms[state]) == 3 and np.shape(terms[state]) == np.shape(batch[field])
                for feature in range(np.shape(terms[state])[1])][:self.ROWS]
        if not rows:
            return None, []
        figure, series = self.figure(len(rows), 2.6), []
        for row, (state, shown, field, feature) in enumerate(rows):
            axes = figure.add_subplot(len(rows), 1, row + 1)
            path, observed = np.asarray(terms[state]), np.asarray(batch[field])
            for sample in range(min(self.SAMPLES, path.shape[-1], observed.shape[-1])):
                model_values, data_values = path[:, feature, sample], observed[:, feature, sample]
                line, = axes.plot(times, model_values, linewidth=1.2,
                                  label="model" if sample == 0 else None)
                axes.plot(times, data_values, "o", markersize=3, color=line.get_color(),
                          label=shown if sample == 0 else None)
                series.append((state, field, feature, sample, model_values, data_values))
            axes.set(xlabel="t", ylabel=f"{state}[{feature}]", title=f"{state} against {shown}, feature {feature}")
            axes.legend(loc="best", fontsize="small")
            axes.grid(True, alpha=0.3)
        return self.save(figure, "fit", write), series
