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
            at = re.fullmatch(r"\s*(\w+)\s*\(\s*(\w+)\s*\.\s*t\s*\)\s*", state)
            if at is None or at.group(2) not in data_sets:
                continue  # a state at a fixed time (Y(t = 1)): no trajectory to draw
            function, name = at.groups()
            # y(obs.t), or on a grid u(obs.x, obs.t) (u(obs.x, obs.y, obs.t))
            read = re.compile(rf"\b{function}\s*\((\s*{name}\s*\.\s*\w+\s*,)*\s*{name}\s*\.\s*t\s*\)")
            for text in term_texts:
                if read.search(text) is None:
                    continue
                fields = [f for f in re.findall(rf"\b{name}\s*\.\s*(\w+)", read.sub(" ", text))
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

    def grid_fit(self, pairs, terms, batch, times, coordinates, write):
        """A grid state against its data (method of lines): on a 1-D grid the model's values
        along x (lines) and the data (points) at up to four observation times; on a 2-D grid the
        model, the data and their difference over (x, y) at the last observation time.  (Its
        path, the series drawn: [(state, field, time index, model values, data values)].)"""
        pairs = [(state, name, field) for state, name, field in pairs
                 if np.shape(terms[state]) == np.shape(batch[field]) and np.ndim(terms[state]) == 1 + len(coordinates)]
        if not pairs:
            return None, []
        state, name, field = pairs[0]
        path, observed = np.asarray(terms[state]), np.asarray(batch[field])
        axes_values = [np.asarray(batch[c]).reshape(-1) if c in batch else np.arange(n)
                       for c, n in zip(coordinates, path.shape[1:])]
        series = []
        if len(coordinates) == 1:
            figure = self.figure()
            axes = figure.add_subplot()
            for k in sorted(set(np.linspace(0, len(path) - 1, min(4, len(path))).round().astype(int))):
                line, = axes.plot(axes_values[0], path[k], linewidth=1.2, label=f"model, t = {times[k]:g}")
                axes.plot(axes_values[0], observed[k], "o", markersize=3, color=line.get_color())
                series.append((state, field, int(k), path[k], observed[k]))
            axes.set(xlabel=coordinates[0], ylabel=state.split("(")[0],
                     title=f"{state} (lines) against {name}.{field} (points)")
            axes.legend(loc="best", fontsize="small")
            axes.grid(True, alpha=0.3)
            return self.save(figure, "fit", write), series
        figure = self.figure(3, 2.6)
        last = len(path) - 1
        extent = [axes_values[0][0], axes_values[0][-1], axes_values[1][0], axes_values[1][-1]]
        low, high = min(path[last].min(), observed[last].min()), max(path[last].max(), observed[last].max())
        for row, (values, title) in enumerate([(path[last], f"model {state}"), (observed[last], f"data {name}.{field}"),
                                               (path[last] - observed[last], "model - data")]):
            axes = figure.add_subplot(3, 1, row + 1)
            scale = dict(vmin=low, vmax=high) if row < 2 else {}
            image = axes.imshow(values.T, origin="lower", extent=extent, aspect="auto", **scale)
            figure.colorbar(image, ax=axes)
            axes.set(xlabel=coordinates[0], ylabel=coordinates[1], title=f"{title} at t = {times[last]:g}")
        series.append((state, field, last, path[last], observed[last]))
        return self.save(figure, "fit", write), series
