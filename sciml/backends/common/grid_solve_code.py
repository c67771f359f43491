"""The implicit solve of IMEX on a grid, without its matrix (issue 11, item 2).

On a grid, IMEX's L is -kappa T, T the second difference on the unknowns (the constant
`laplacian`, grid_code.derived_constant) and kappa the diffusion coefficient (D, possibly
learned).  Each step solves (a I + b L) x = r, that is (shift I - scale T) x = r with shift = a
and scale = b kappa.  The factors of that matrix are set up once per solve, before the time loop,
and each step solves with them; both are differentiable in kappa:

    fft            periodic ends: T is circulant, its eigenvalues -4/dx^2 sin^2(pi k / M) at the
                   rfft frequencies k; x = irfft(rfft(r) / (shift + scale 4/dx^2 sin^2(pi k / M)))
    fft_extension  Dirichlet / Neumann ends: r extended to a periodic sequence, odd about a
                   Dirichlet end's node and even about a Neumann end's, on which the periodic
                   second difference is T on the unknowns: the FFT solve there (length 2(M + 1),
                   2(M - 1) or 4M)
    tridiagonal    Dirichlet / Neumann ends: T is tridiagonal (JAX: jax.lax.linalg.tridiagonal_solve)
    inverse        the dense inverse, once per solve, and one matrix product a step (torch on a
                   small grid, where that costs less than an FFT: benchmarks/mol_step.py --solvers)

Which a backend uses is its Spelling's `grid_solvers` (the texts) and `dense_grid_solve_up_to`
(the most unknowns for `inverse`, periodic and bounded).  The step adds the explicit rest of the
right side (`dc_dt_explicit`: the right side less the implicit diffusion): with it the stage
u + h L u + h f(u) of the scheme's definition is u + h (f(u) + L u), and f(u) + L u is computed
without the diffusion stencil at all where the grid's ends are homogeneous.
"""
from __future__ import annotations

import dataclasses

import sympy

from sciml.lowering import family_symbols as F
from sciml.lowering import ir
from sciml.backends.common.grid_code import concat_along
from sciml.lowering.method_of_lines import grid_of, with_ends


def solver_kind(spelling, periodic: bool, unknowns: int) -> str:
    """The solver a backend uses on a grid of `unknowns` unknowns (see the module's docstring)."""
    dense = spelling.dense_grid_solve_up_to or {}
    if unknowns <= dense.get("periodic" if periodic else "bounded", 0):
        return "inverse"
    if periodic:
        return "fft"
    return "tridiagonal" if "tridiagonal" in spelling.grid_solvers else "fft_extension"


def extension(left: str, right: str, unknowns: int, flip) -> tuple:
    """(the pieces of the periodic extension of `rhs`, its length, where the unknowns start):
    odd about a Dirichlet end's node (a zero there), even about a Neumann end's node."""
    m = unknowns
    if left == "dirichlet" and right == "dirichlet":     # DST-I: 0, r, 0, -r reversed
        return ["zero", "rhs", "zero", f"-{flip('rhs')}"], 2 * (m + 1), 1
    if left == "neumann" and right == "neumann":         # DCT-I: r, r reversed without its ends
        return ["rhs", flip("rhs[1:-1]")], 2 * (m - 1), 0
    if left == "neumann":                                # even about node 0, odd about node M
        return ["rhs", "zero", f"-{flip('rhs')}", "-rhs[1:]", "zero", flip("rhs[1:]")], 4 * m, 0
    # odd about node -1, even about node M - 1
    return ["zero", "rhs", flip("rhs[:-1]"), "zero", "-rhs", f"-{flip('rhs[:-1]')}"], 4 * m, 1


def _diffusion_part(term, state: str):
    """kappa where `term` is kappa * (the second difference of the state), kappa free of the
    state and of stencils and networks (as method_of_lines.diffusion_coefficient reads it); else
    None."""
    stencils = [a for a in term.atoms(F.GridStencil)
                if str(a.args[1]) == "second" and a.args[0] == with_ends(state)]
    if len(stencils) != 1:
        return None
    coefficient = term / stencils[0]
    names = {str(s) for s in coefficient.free_symbols}
    if names & {state, with_ends(state).name} or coefficient.has(F.GridStencil, F.NodeCall):
        return None
    return coefficient


def is_homogeneous(end) -> bool:
    """Whether an end adds nothing of its own to the second difference (periodic, or a zero
    value or slope)."""
    return end.kind == "periodic" or sympy.sympify(end.value) == 0


class GridOperator:
    """L = -kappa T of a grid IMEX, printed as functions of the module (see the module's docstring):
    `factor(shift, scale)` before the loop, `solve(factors, rhs)` and `apply(v)` (L v) in a step."""

    def __init__(self, writer, matrix: ir.Constant, kappa: sympy.Basic, backend_spelling):
        self.axes = matrix.derived[1:]   # (unknowns, dx, left end, right end) per axis
        self.unknowns, self.dx, self.left, self.right = self.axes[0]
        self.w, self.kappa, self.sp = writer, kappa, backend_spelling
        self.matrix = writer.names[matrix.name]
        self.kind = ("eigenbases" if len(self.axes) == 2 else
                     solver_kind(backend_spelling, self.left == "periodic", self.unknowns))
        self.factors_name = writer.fresh(f"{self.matrix}_factors")
        self.solve_name = writer.fresh(f"{self.matrix}_solve")
        self.times_name = writer.fresh(f"{self.matrix}_times")
        self.times_used = False
        (equation,) = writer.m.equations
        self.equation = equation
        self.explicit = dataclasses.replace(equation, rhs=self._explicit_rhs(equation))
        self.explicit_name = writer.fresh(f"{writer.rhs_name(equation)}_explicit")
        self.has_explicit_rest = self.explicit.rhs != 0   # else IMEX's step is the solve alone

    # -- what the scheme's stages print ----------------------------------------------------
    def kappa_code(self) -> str:
        code = self.w.code(self.kappa)
        return code if self.kappa.is_Atom else f"({code})"

    def factor(self, shift: str, scale: str, like: str) -> str:
        """The factors of shift I + scale L = shift I - (scale kappa) T, set up before the loop."""
        return f"{self.factors_name}({shift}, {scale} * {self.kappa_code()}, {like})"

    def solve(self, factors: str, rhs: str) -> str:
        return f"{self.solve_name}({factors}, {rhs})"

    def apply(self, vector: str) -> str:
        """L v = -kappa T v, T applied as the stencil (not the matrix)."""
        self.times_used = True
        return f"(-{self.kappa_code()} * {self.times_name}({vector}))"

    def explicit_call(self, args: dict, step: str) -> str:
        """The call of the explicit rest f(u) + L u at the state `args`."""
        return self.w.call(self.explicit, args, step, name=self.explicit_name)

    # -- the explicit rest of the right side -------------------------------------------------
    def _explicit_rhs(self, equation) -> sympy.Basic:
        """f(u) + L u = f(u) - kappa T u: f without its terms kappa * lap(u) where the ends are
        homogeneous (T u is then exactly the stencil); else f - kappa T u, T u by the stencil
        with homogeneous ends (`u_times`), which leaves the ends' own part in."""
        state = equation.state
        axes = grid_of(self.w.m).axes
        if not all(is_homogeneous(a.left) and is_homogeneous(a.right) for a in axes):
            self.times_used = True
            applied = sympy.Symbol(f"{self.matrix} times {state}")   # no spec name has a space
            self.w.names[applied.name] = f"{self.times_name}({self.w.names[state]})"
            return equation.rhs - self.kappa * applied
        for rhs in (equation.rhs, sympy.expand(equation.rhs)):   # the terms as written, else expanded
            kept, dropped = [], sympy.S.Zero
            for term in sympy.Add.make_args(rhs):
                coefficient = _diffusion_part(term, state)
                kept += [term] if coefficient is None else []
                dropped += 0 if coefficient is None else coefficient
            if sympy.expand(dropped - len(axes) * self.kappa) == 0:   # kappa along each axis
                return sympy.Add(*kept)
        raise AssertionError(f"the implicit {self.kappa} * lap({state}) is not a term of the right side")

    # -- the module's functions --------------------------------------------------------------
    def functions(self) -> list[str]:
        """The explicit rest, L's factors and solve (and T v where used), as module functions."""
        w, lines = self.w, []
        if self.has_explicit_rest:
            lines += [f"def {self.explicit_name}({', '.join(w.rhs_args(self.explicit))}):",
                      f'    """{w.rhs_name(self.equation)} less {self._diffusion_text()}, which IMEX takes '
                      'implicitly."""']
            lines += w.rhs_preamble(self.explicit)
            lines += [f"    return {w.code(self.explicit.rhs)}", "", ""]
        lines += self._solver_text().strip("\n").split("\n") + ["", ""]
        if self.times_used:
            lines += self._times_function() + ["", ""]
        return lines

    def _diffusion_text(self) -> str:
        return f"{self.w.code(self.kappa)} * lap({self.w.names[self.equation.state]})"

    def _ends_text(self) -> str:
        def one(left, right):
            return "periodic" if left == "periodic" else f"{left}, {right}"
        if len(self.axes) == 2:
            (_, _, xl, xr), (_, _, yl, yr) = self.axes
            return f"ends along x {one(xl, xr)}; along y {one(yl, yr)}"
        return f"ends {one(self.left, self.right)}"

    def _solver_text(self) -> str:
        if self.kind == "eigenbases":
            (mx, *_), (my, *_) = self.axes
            return self.sp.grid_solvers["eigenbases"].format(
                factors=self.factors_name, solve=self.solve_name, matrix=self.matrix, mx=mx, my=my,
                ends=self._ends_text())
        m = self.unknowns
        fields = dict(factors=self.factors_name, solve=self.solve_name, matrix=self.matrix, m=m,
                      dx=repr(self.dx), ends=self._ends_text(), n=m, half=m // 2 + 1, start=0, stop=m,
                      pieces="")
        if self.kind == "fft_extension":
            pieces, n, start = extension(self.left, self.right, m, self.sp.grid_solvers["flip"].format)
            fields.update(n=n, half=n // 2 + 1, start=start, stop=start + m,
                          pieces=", ".join(pieces))
        return self.sp.grid_solvers[self.kind].format(**fields)

    def _times_function(self) -> list[str]:
        if len(self.axes) == 2:
            return self._times_function_2d()
        u = self.w.names[self.equation.state]
        ends = {"periodic": (f"{u}[-1:]", f"{u}[:1]"), "dirichlet": (f"0 * {u}[:1]", f"0 * {u}[-1:]"),
                "neumann": (f"{u}[1:2]", f"{u}[-2:-1]")}
        left, right = ends[self.left][0], ends[self.right][1]
        self.w.helpers.add("second_difference")
        extended = self.w.sp.concat.format(", ".join([left, u, right]))
        return [f"def {self.times_name}({u}):",
                f'    """{self.matrix} @ {u} without the matrix: the second difference of the '
                f'{self.unknowns} unknowns,',
                f'    the ends homogeneous ({self._ends_text()})."""',
                f"    return second_difference({extended}, {self.dx!r})"]

    def _times_function_2d(self) -> list[str]:
        u = self.w.names[self.equation.state]
        (mx, dx, xl, xr), (my, dy, yl, yr) = self.axes
        ends = {"periodic": ("{v}[{b}-1:]", "{v}[{b}:1]"), "dirichlet": ("0 * {v}[{b}:1]", "0 * {v}[{b}-1:]"),
                "neumann": ("{v}[{b}1:2]", "{v}[{b}-2:-1]")}

        def padded(v, left, right, before, axis):
            items = [ends[left][0].format(v=v, b=before), v, ends[right][1].format(v=v, b=before)]
            return concat_along(self.w.sp, items, axis)
        self.w.helpers.add("second_difference_2d")
        return [f"def {self.times_name}({u}):",
                f'    """{self.matrix} @ {u} without the matrix: the second differences along x and y of the '
                f'{mx} x {my} unknowns,',
                f'    the ends homogeneous ({self._ends_text()})."""',
                f"    {u} = {u}.reshape({mx}, {my}, -1)",
                f"    {u} = {padded(u, xl, xr, '', 0)}",
                f"    {u} = {padded(u, yl, yr, ':, ', 1)}",
                f"    return second_difference_2d({u}, {dx!r}, axis=0) + second_difference_2d({u}, {dy!r}, axis=1)"]
