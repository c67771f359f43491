"""The numpy text of the data generators and data-file readers the emitted modules paste in
(numpy_code.py picks the ones a spec's data sets use), identical in every backend."""
from __future__ import annotations

from sciml.backends.common.grid_pieces import GRID_STENCILS

GENERATORS = {
    **GRID_STENCILS,   # the known PDE of a `pde` data set is solved with the model's stencils
    "load_npz": '''
def load_npz(path, shapes, integers):
    """The fields of a .npz file: each array one field, samples on its first axis (moved last
    here).  `shapes` are the fields the model was compiled for; a file that does not fit them
    is a DataError."""
    try:
        archive = np.load(path, allow_pickle=False)
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from None
    except Exception:  # a broken file is the user's input: say which file, not numpy's guess
        raise DataError(f"{path}: not a .npz archive") from None
    if not hasattr(archive, "files"):
        raise DataError(f"{path}: holds one array, not a .npz archive of named arrays (np.savez)")
    data, samples = {}, {}
    with archive:
        for name, shape in shapes.items():
            if name not in archive.files:
                raise DataError(f"{path}: field {name!r}: no array of that name (the archive has "
                                f"{', '.join(map(repr, archive.files)) or 'none'})")
            try:
                values = archive[name]
            except Exception as error:
                raise DataError(f"{path}: field {name!r}: cannot read it ({error})") from None
            if values.dtype.kind not in "iuf":
                raise DataError(f"{path}: field {name!r}: holds {values.dtype} values, not numbers")
            if values.ndim == 0 or values.shape[1:] != shape or len(values) == 0:
                raise DataError(f"{path}: field {name!r}: an array of shape {values.shape}, but the "
                                f"model reads one of shape {('samples',) + shape}")
            samples[name] = len(values)
            data[name] = np.moveaxis(data_values(path, name, values, name in integers), 0, -1)
    if len(set(samples.values())) > 1:
        raise DataError(f"{path}: the fields have different numbers of samples: "
                        + ", ".join(f"{name} {count}" for name, count in samples.items()))
    return data
''',
    "load_csv": '''
def load_csv(path, shapes, integers):
    """The fields of a .csv file with a header row: a column `name` is a field, columns
    `name[0]`, `name[1]`, ... the entries of a vector field, each row a sample (the last axis
    here).  `shapes` are the fields the model was compiled for; a file that does not fit them
    is a DataError."""
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            rows = [(reader.line_num, row) for row in reader if row]
    except OSError as error:
        raise DataError(f"{path}: cannot read it: {error.strerror or error}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read it as text: {error}") from None
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row and at least one row of data")
    (_, header), body = rows[0], rows[1:]
    for line, row in body:
        if len(row) != len(header):
            raise DataError(f"{path}: line {line} has {len(row)} values, but the header has "
                            f"{len(header)} columns")
    titles = {"".join(title.split()): column for column, title in enumerate(header)}
    table = np.array([row for _, row in body], dtype=str)
    lines = [line for line, _ in body]
    data = {}
    for name, shape in shapes.items():
        wanted = [name] if shape == () else [f"{name}[{k}]" for k in range(shape[0])]
        missing = [title for title in wanted if title not in titles]
        if missing:
            raise DataError(f"{path}: field {name!r}: no column {missing[0]} (the model reads "
                            f"{', '.join(wanted)})")
        cells = table[:, [titles[title] for title in wanted]]
        try:
            values = cells.astype(float)
        except ValueError:
            for (row, _), cell in np.ndenumerate(cells):
                try:
                    float(cell)
                except ValueError:
                    raise DataError(f"{path}: field {name!r}: {cell.strip()!r} on line {lines[row]} "
                                    "is not a number") from None
            raise
        values = data_values(path, name, values, name in integers, lines)
        data[name] = values[:, 0] if shape == () else values.T
    return data
''',
    "spirals": '''
def spirals(samples, seed, noise):
    """Two interleaved spirals in the plane: x is (2, samples), label is (samples,)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, samples)
    radius = rng.uniform(0.05, 1.0, samples)
    angle = 3 * np.pi * radius + np.pi * label
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)])
    return {"x": x + noise * rng.standard_normal((2, samples)), "label": label}
''',
    "field_samples": '''
def field_samples(value, nodes, name, noise, seed):
    """Observations of a field: `value` at every node of the grid `nodes` ({coordinate: node
    values}), each node one sample, plus Gaussian noise of standard deviation `noise` drawn
    from default_rng(seed); {coordinate: (1, n), name: (1, n)}, rows as the networks take."""
    grid = np.meshgrid(*nodes.values(), indexing="ij")
    columns = {coordinate: axis.reshape(1, -1) for coordinate, axis in zip(nodes, grid)}
    values = value(*columns.values())
    values = values + noise * np.random.default_rng(seed).normal(size=values.shape)
    return {**columns, name: values}
''',
    "field_on_grid": '''
def field_on_grid(value, nodes, t, name):
    """A closed form on a grid: {coordinate: its nodes, for each of `nodes`; t: (times,);
    name: (times, nodes along each coordinate)}."""
    t_grid, *grid = np.meshgrid(t, *nodes.values(), indexing="ij")
    return {**nodes, "t": t, name: value(*grid, t_grid)}
''',
    "pde_on_grid": '''
def pde_on_grid(rhs, start, nodes, t, name, refine, fine):
    """A known PDE solved on a grid `refine` times finer than the nodes along each coordinate
    (the method of lines on `fine` nodes, the state a column, x-major; scipy's DOP853 to rtol
    1e-10), kept at the nodes and the times t: {coordinate: its nodes; t: (times,);
    name: (times, nodes along each coordinate)}."""
    from scipy.integrate import solve_ivp
    solution = solve_ivp(lambda time, values: rhs(values[:, None])[:, 0], (0.0, float(t[-1])), start[:, 0],
                         method="DOP853", t_eval=t, rtol=1e-10, atol=1e-12)
    if not solution.success:
        raise DataError(f"the known PDE of data set {name!r} could not be solved: {solution.message}")
    values = solution.y.T.reshape((len(t),) + tuple(fine))
    return {**nodes, "t": t, name: values[(slice(None),) + (slice(None, None, refine),) * len(fine)]}
''',
    "as_rows": '''
def as_rows(fields):
    """A PINN's data: each scalar field (n,) as a row (1, n), as the networks take coordinates."""
    return {name: value[None, :] if value.ndim == 1 else value for name, value in fields.items()}
''',
    "ou_paths": '''
def ou_paths(theta, mu, sigma, x0, paths, steps, T, seed):
    """Sample paths of dX = -theta (X - mu) dt + sigma dW from X(0) = x0, drawn with the exact
    Gaussian transition over each of `steps` equal steps of [0, T] from default_rng(seed):
    t is (steps + 1,), x is (steps + 1, 1, paths), one path per sample (the last axis)."""
    rng = np.random.default_rng(seed)
    dt = T / steps
    decay = np.exp(-theta * dt)
    spread = sigma * np.sqrt((1 - decay**2) / (2 * theta)) if theta != 0 else sigma * np.sqrt(dt)
    x = np.empty((steps + 1, 1, paths))
    x[0] = x0
    for k in range(steps):
        x[k + 1] = mu + (x[k] - mu) * decay + spread * rng.standard_normal((1, paths))
    return {"t": np.linspace(0.0, T, steps + 1), "x": x}
''',
    "two_moons": '''
def two_moons(samples, seed, noise):
    """Two interleaved half circles: x is (2, samples), label is (samples,)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, samples)
    angle = rng.uniform(0.0, np.pi, samples)
    x = np.stack([np.cos(angle) + label * (1 - 2 * np.cos(angle)) - 0.5 * label,
                  np.sin(angle) * (1 - 2 * label) + 0.5 * label - 0.25])
    return {"x": x + noise * rng.standard_normal((2, samples)), "label": label}
''',
    "digits": '''
def digits(seed, part, test_fraction, pairs):
    """scikit-learn's 8x8 digits (bundled with the package), pixels divided by 16 into [0, 1]:
    x is (64, samples), label is (samples,).  part 'train' or 'test': the images of one shuffle
    by default_rng(seed), the last round(test_fraction * 1797) of it held out as the test part
    ('all': every image, unshuffled).  pairs: y is an image of the next digit (9 -> 0), drawn
    from the same part."""
    from sklearn.datasets import load_digits
    images, label = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    if part != "all":
        order = rng.permutation(len(label))
        held_out = int(round(test_fraction * len(label)))
        chosen = order[len(label) - held_out:] if part == "test" else order[:len(label) - held_out]
        images, label = images[chosen], label[chosen]
    data = {"x": images.T / 16.0, "label": label.astype(np.int64)}
    if pairs:
        following = [rng.choice(np.flatnonzero(label == (k + 1) % 10)) for k in label]
        data["y"] = images[following].T / 16.0
    return data
''',
    "eight_gaussians": '''
def eight_gaussians(samples, seed, noise):
    """FFJORD's 8gaussians (Grathwohl et al. 2019, lib/toy_data.py): centers at radius 4 in the
    directions (+-1, 0), (0, +-1), (+-1, +-1)/sqrt(2), a point = center + 0.5 N(0, I) (with noise =
    0.5), all divided by 1.414: x is (2, samples), label (the center) is (samples,)."""
    rng = np.random.default_rng(seed)
    c = 1 / np.sqrt(2)
    centers = 4.0 * np.array([[1, -1, 0, 0, c, c, -c, -c], [0, 0, 1, -1, c, -c, c, -c]])
    label = rng.integers(0, 8, samples)
    x = (centers[:, label] + noise * rng.standard_normal((2, samples))) / 1.414
    return {"x": x, "label": label}
''',
    "checkerboard": '''
def checkerboard(samples, seed):
    """FFJORD's checkerboard (Grathwohl et al. 2019, lib/toy_data.py): uniform on the 8 dark squares
    of side 2 of a 4 x 4 board on [-4, 4]^2 (density 1/32, entropy ln 32): x is (2, samples),
    label (the square, 0-7) is (samples,)."""
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(-2.0, 2.0, samples)
    x2 = rng.uniform(0.0, 1.0, samples) - 2.0 * rng.integers(0, 2, samples) + np.floor(x1) % 2
    label = (2 * (np.floor(x1) + 2) + np.floor(x2 / 2 + 1)).astype(np.int64)
    return {"x": 2.0 * np.stack([x1, x2]), "label": label}
''',
    "ode": '''
def simulate_ode(rhs, start, times, steps, method):
    """Integrate dt(u) = rhs(u) from the columns of `start` with `steps` fixed steps
    u = method(rhs, u, h) over [0, times[-1]]; return the states at `times`."""
    h_data = times[-1] / steps
    u, observed = start, [start] if times[0] == 0 else []
    for step in range(1, steps + 1):
        u = method(rhs, u, h_data)
        if any(abs(step * h_data - t) < 1e-9 * max(1.0, t) for t in times):
            observed.append(u)
    return np.stack(observed) if len(times) > 1 else observed[-1]


def ode_data(names, sizes, rhs, start, times, steps, method):
    """Fields t, <name>0 (start) and <name> (states at the times) of a simulated data set;
    the states of a system are stacked on the feature axis while they are integrated."""
    path, data, first = simulate_ode(rhs, start, times, steps, method), {"t": times}, 0
    for name, size in zip(names, sizes):
        data[name + "0"], data[name] = start[first:first + size], path[..., first:first + size, :]
        first += size
    return data
''',
}

DATA_ERRORS = '''
class DataError(Exception):
    """A data file that does not fit the model: main says `MODEL: error: FILE: field 'x': ...`
    on standard error and exits with status 2."""
'''

DATA_FILES = '''
def data_path(path, data_dir=None):
    """Where the data file at `path` (the spec's path, from the spec's folder) is read: in
    `data_dir`, else in $SCIML_DATA_DIR, else beside this module, else in the spec's folder
    as seen from where this module was written (SPEC_FOLDER)."""
    here, chosen = pathlib.Path(__file__).parent, data_dir or os.environ.get("SCIML_DATA_DIR")
    if chosen:
        places = [("in data_dir" if data_dir else "in $SCIML_DATA_DIR", pathlib.Path(chosen))]
    else:
        places = [("beside this module", here)]
        places += [("in the spec's folder", here / SPEC_FOLDER)] if SPEC_FOLDER != "." else []
    for _, folder in places:
        if os.path.exists(folder / path):
            return folder / path
    where = " nor ".join(f"{place} ({os.path.normpath(os.path.abspath(folder))})" for place, folder in places)
    raise DataError(f"{path}: not found {where}; copy it beside this module, or set SCIML_DATA_DIR "
                    "to its folder")


def data_values(path, name, values, integer, lines=None):
    """`values` (samples on the first axis) as float64, or int64 for an integer field; a value
    that is not finite, or not an integer in an integer field, is a DataError naming its line
    (lines: of a .csv) or sample."""
    values = np.asarray(values, dtype=float)
    checks = [(~np.isfinite(values), "is not a finite number")]
    if integer:
        checks.append((values != np.round(values), "is not an integer (the model reads integers)"))
    for bad, what in checks:
        if bad.any():
            first = tuple(np.argwhere(bad)[0])
            where = f"on line {lines[first[0]]}" if lines else f"in sample {first[0]}"
            raise DataError(f"{path}: field {name!r}: {float(values[first])!r} {where} {what}")
    return values.astype(np.int64) if integer else values
'''
