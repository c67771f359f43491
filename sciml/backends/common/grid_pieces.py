"""The stencils of the method of lines (lowering/method_of_lines.py) as emitted functions: plain
slicing on axis 0, the same text for torch, JAX and numpy (the data of `generate pde`), so they
are written once here and each backend's pieces (and the numpy half) take them."""

GRID_STENCILS = {
    "upwind_divergence": '''
def upwind_divergence(v, u, dx):
    """d(v u)/dx on a right side, dt(u) = d(v u)/dx + ..., so u moves at -v: first-order upwind
    fluxes F[i+1/2] = max(a, 0) u[i+1] + min(a, 0) u[i], a = (v[i] + v[i+1]) / 2 at each face
    (v and u at the nodes with their ends, axis 0; a constant v too); max(a, 0) is written
    (a > 0) * a, whose derivative at a = 0 is 0 in torch and JAX alike."""
    v = v + 0 * u
    a = (v[1:] + v[:-1]) / 2
    flux = (a > 0) * a * u[1:] + (a < 0) * a * u[:-1]
    return (flux[1:] - flux[:-1]) / dx
''',
    "upwind_derivative": '''
def upwind_derivative(a, u, dx):
    """a du/dx on a right side, dt(u) = a du/dx + ..., so u moves at -a: the difference from
    upwind, backward where a < 0 and forward where a > 0 (a at the unknown nodes, u at the
    nodes with their ends, axis 0)."""
    return ((a < 0) * a * (u[1:-1] - u[:-2]) + (a > 0) * a * (u[2:] - u[1:-1])) / dx
''',
    "second_difference": '''
def second_difference(v, dx):
    """(v[i-1] - 2 v[i] + v[i+1]) / dx^2 at the inner nodes of v (axis 0: the grid with one
    node added at each end)."""
    return (v[:-2] - 2 * v[1:-1] + v[2:]) / dx**2
''',
    "central_difference": '''
def central_difference(v, dx):
    """(v[i+1] - v[i-1]) / (2 dx) at the inner nodes of v (axis 0: the grid with its ends)."""
    return (v[2:] - v[:-2]) / (2 * dx)
''',
    "second_difference_2d": '''
def second_difference_2d(v, dx, axis):
    """(v[i-1] - 2 v[i] + v[i+1]) / dx^2 along axis 0 (x) or 1 (y) of a 2-D grid at its inner
    nodes, v the nodes with one added at each end of both axes (and the samples last): the
    unknowns' column (x-major) back."""
    inner = v[1:-1, 1:-1]
    if axis == 0:
        difference = (v[:-2, 1:-1] - 2 * inner + v[2:, 1:-1]) / dx**2
    else:
        difference = (v[1:-1, :-2] - 2 * inner + v[1:-1, 2:]) / dx**2
    return difference.reshape(-1, v.shape[-1])
''',
    "central_difference_2d": '''
def central_difference_2d(v, dx, axis):
    """(v[i+1] - v[i-1]) / (2 dx) along axis 0 (x) or 1 (y) of a 2-D grid at its inner nodes (v
    as for second_difference_2d): the unknowns' column (x-major) back."""
    if axis == 0:
        difference = (v[2:, 1:-1] - v[:-2, 1:-1]) / (2 * dx)
    else:
        difference = (v[1:-1, 2:] - v[1:-1, :-2]) / (2 * dx)
    return difference.reshape(-1, v.shape[-1])
''',
    "upwind_derivative_2d": '''
def upwind_derivative_2d(a, u, dx, axis):
    """upwind_derivative along axis 0 (x) or 1 (y) of a 2-D grid: a at the unknown nodes (a
    column, x-major, or a number), u at the nodes with one added at each end of both axes."""
    inner = u[1:-1, 1:-1]
    if axis == 0:
        back, ahead = inner - u[:-2, 1:-1], u[2:, 1:-1] - inner
    else:
        back, ahead = inner - u[1:-1, :-2], u[1:-1, 2:] - inner
    back, ahead = back.reshape(-1, u.shape[-1]), ahead.reshape(-1, u.shape[-1])
    return ((a < 0) * a * back + (a > 0) * a * ahead) / dx
''',
    "upwind_divergence_2d": '''
def upwind_divergence_2d(v, u, dx, axis):
    """upwind_divergence along axis 0 (x) or 1 (y) of a 2-D grid: d(v u)/dx by first-order
    upwind fluxes at the faces between nodes along the axis (v and u at the nodes with one added
    at each end of both axes); the unknowns' column (x-major) back."""
    v = v + 0 * u
    if axis == 0:
        a = (v[1:, 1:-1] + v[:-1, 1:-1]) / 2
        flux = (a > 0) * a * u[1:, 1:-1] + (a < 0) * a * u[:-1, 1:-1]
        difference = (flux[1:] - flux[:-1]) / dx
    else:
        a = (v[1:-1, 1:] + v[1:-1, :-1]) / 2
        flux = (a > 0) * a * u[1:-1, 1:] + (a < 0) * a * u[1:-1, :-1]
        difference = (flux[:, 1:] - flux[:, :-1]) / dx
    return difference.reshape(-1, u.shape[-1])
''',
    "convolution": '''
def convolution(kernel, v):
    """conv(K, u): kernel[0] v[i-1] + kernel[1] v[i] + kernel[2] v[i+1] at the inner nodes of v
    (axis 0: the grid with one node added at each end), as a CNN runs a 3-tap kernel."""
    return kernel[0] * v[:-2] + kernel[1] * v[1:-1] + kernel[2] * v[2:]
''',
    "convolution_2d": '''
def convolution_2d(kernel, v, axis):
    """conv(K, u, x) on a 2-D grid: the 3-tap kernel along axis 0 (x) or 1 (y) at the inner
    nodes of v (as for second_difference_2d): the unknowns' column (x-major) back."""
    if axis == 0:
        run = kernel[0] * v[:-2, 1:-1] + kernel[1] * v[1:-1, 1:-1] + kernel[2] * v[2:, 1:-1]
    else:
        run = kernel[0] * v[1:-1, :-2] + kernel[1] * v[1:-1, 1:-1] + kernel[2] * v[1:-1, 2:]
    return run.reshape(-1, v.shape[-1])
''',
}

# IMEX on a 2-D grid (backends/common/grid_solve_code.py): the same text in torch and JAX but for
# the array constructor and einsum; the other fields ({factors}, {solve}, ...) are the solver's
EIGENBASES_SOLVER = '''
def {factors}(shift, scale, like):
    """The eigenvalues of shift I - scale {matrix} on the {mx} x {my} unknowns and the eigenbases
    they are in: {matrix} = T_x (+) T_y with T_x = V_x diag(lambda_x) V_x^-1 (and T_y), so that its
    eigenvalues are lambda_x[i] + lambda_y[j] ({ends})."""
    (lambda_x, v_x, w_x), (lambda_y, v_y, w_y) = ([ARRAY(a, dtype=like.dtypeDEVICE) for a in axis]
                                                  for axis in {matrix})
    return shift - scale * (lambda_x[:, None] + lambda_y[None, :]), v_x, w_x, v_y, w_y


def {solve}(factors, rhs):
    """x with (shift I - scale {matrix}) x = rhs: rhs (the unknowns' column, x-major) in the
    eigenbases of T_x and T_y, divided by the eigenvalues, and back."""
    values, v_x, w_x, v_y, w_y = factors
    r = rhs.reshape({mx}, {my}, -1)
    r = EINSUM("ia,jb,abk->ijk", w_x, w_y, r) / values[:, :, None]
    return EINSUM("ia,jb,abk->ijk", v_x, v_y, r).reshape(-1, rhs.shape[-1])
'''


def eigenbases_solver(array: str, einsum: str, device: str) -> str:
    """EIGENBASES_SOLVER for one backend: its array constructor, einsum and device argument."""
    return EIGENBASES_SOLVER.replace("ARRAY", array).replace("EINSUM", einsum).replace("DEVICE", device)
