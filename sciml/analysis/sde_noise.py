"""The noise of an SDE: does the diffusion depend on the state (A601), and in which sense, Itô
or Stratonovich, does the scheme read it (A602)?  Notes.

A601, at each sde line: the diffusion g of d(X) = f dt + g dW is additive when it reads no state
(it may read t), else it depends on the state, through a network or as a closed form whose
derivative g' sympy takes (`sde_terms.py`).  That decides the strong order: the stochastic
scheme without the correction (Euler-Maruyama) has its definition's strong order (1/2) where g
depends on the state, and the one that adds Milstein's 1/2 g g' (dW^2 - h) its own (1); where
the noise is additive g' = 0, the correction vanishes, the two schemes take the same steps, and
both have the corrected scheme's strong order.  The schemes are found by their stages in the
registry (the one whose step holds the correction, and the one equal to it without), not named.

A602, at the scheme line: the scheme's option `ito` (true: Itô, false: Stratonovich, whose Itô
form the step integrates, its drift f + 1/2 g g'); the correction is derived by sympy where the
diffusion is a closed form, named where it reads a network, and zero for additive noise (the two
readings then agree).  A scheme without the option (the reverse-time sampler) reads Itô.
"""
from __future__ import annotations

from functools import lru_cache

import sympy

from sciml.analysis import sde_terms as terms
from sciml.analysis.found import Found, Options
from sciml.frontend.diagnostics import Diagnostic, finding
from sciml.lowering import ir
from sciml.lowering.diffusion import STRATONOVICH, NotDiagonal, corrected_scheme, milstein_correction, not_diagonal_error
from sciml.lowering.mathtext import expr_text
from sciml.schemes import registry
from sciml.schemes.algebra import NoiseCorrection
from sciml.schemes.definition import STOCHASTIC_SYSTEM, SchemeDefinition


def run(model: ir.Model, earlier: Found, options: Options) -> Found:
    definition = registry.definition_of(model.scheme)
    diffusions = terms.diffusions(model)
    found = [_state_dependence(model, definition, eq, d) for eq, d in zip(model.equations, diffusions)]
    found.append(_sense(model, definition, diffusions))
    found += refusals(model, definition, diffusions)   # E408: no g g' to be had
    return Found(diagnostics=tuple(found))


def ito_drift(model: ir.Model, equation: ir.Equation, diffusions) -> sympy.Expr:
    """The Ito drift f + 1/2 sum_l g_l dg/dx_l of a Stratonovich sde: by sympy for closed forms
    (across states, sde_terms.ito_correction), else 1/2 g g' of a diagonal diffusion, a network's
    g' its gradient (lowering/diffusion.py); NotDiagonal where neither gives it."""
    correction = terms.ito_correction(model, equation, diffusions)
    if correction is None:
        correction = milstein_correction(equation, model)
    return equation.rhs + correction


def refusals(model: ir.Model, definition: SchemeDefinition, diffusions) -> list[Diagnostic]:
    """E408 for each equation whose g g' the scheme (one that adds 1/2 g g' (dW^2 - h)) or a
    Stratonovich reading needs and its diffusion does not give."""
    found = []
    for equation in model.equations:
        try:
            if not model.scheme.option("ito", True):
                why = STRATONOVICH
                ito_drift(model, equation, diffusions)
            if has_correction(definition):
                why = corrected_scheme(definition)
                milstein_correction(equation, model)
        except NotDiagonal as reason:
            found.append(not_diagonal_error(equation, *why, reason))
    return found


# -- the two stochastic schemes, by their stages -----------------------------------------------

def has_correction(definition: SchemeDefinition) -> bool:
    """Whether the step adds Milstein's 1/2 g g' (dW^2 - h)."""
    return any(stage.value.has(NoiseCorrection) for stage in definition.step)


@lru_cache(maxsize=None)
def corrected_and_plain() -> tuple[SchemeDefinition, SchemeDefinition]:
    """(the stochastic scheme whose step adds the correction, the one whose step is the same
    without it)."""
    stochastic = [d for d in registry.DEFINITIONS if d.stochastic and STOCHASTIC_SYSTEM in d.forms]
    corrected = next(d for d in stochastic if has_correction(d))
    without = [s.value.replace(lambda e: isinstance(e, NoiseCorrection), lambda e: sympy.S.Zero)
               for s in corrected.step]
    plain = next(d for d in stochastic if not has_correction(d)
                 and [s.value for s in d.step] == without)
    return corrected, plain


def strong_order_here(definition: SchemeDefinition, diffusion: terms.Diffusion):
    """The scheme's strong order on this diffusion: the corrected scheme's where g' = 0 (its
    correction vanishes), the plain one's where the correction misses g's dependence (another
    state, noise mixed across entries), else the definition's own."""
    corrected, plain = corrected_and_plain()
    if diffusion.is_additive:
        return corrected.strong_order
    if has_correction(definition) and not _diagonal(diffusion):
        return plain.strong_order
    return definition.strong_order if definition.strong_order is not None else plain.strong_order


def _diagonal(diffusion: terms.Diffusion) -> bool:
    """g reads only its own state, each increment entry by entry: the correction's g' (each
    diffusion entry's derivative in its own state entry) is the whole derivative."""
    return diffusion.reads_only_itself and bool(diffusion.columns)


# -- A601 --------------------------------------------------------------------------------------

def _state_dependence(model, definition, eq: ir.Equation, d: terms.Diffusion) -> Diagnostic:
    corrected, plain = corrected_and_plain()
    name, state = definition.short, eq.state
    order = strong_order_here(definition, d)
    data = {"state": state, "scheme": model.scheme.kind, "additive": d.is_additive,
            "reads": ", ".join(d.reads) or None, "networks": ", ".join(d.networks) or None,
            "strong_order": expr_text(order)}
    if d.is_additive:
        message = (f"the diffusion of {state} does not depend on the state (g = {d.coefficient_text()}): "
                   f"additive noise, so g' = 0 and {corrected.short}'s correction 1/2 g g' (dW^2 - h) "
                   f"vanishes: {plain.short} takes the same steps, of strong order "
                   f"{expr_text(corrected.strong_order)}, not {expr_text(plain.strong_order)}; here "
                   f"{name}: strong order {expr_text(order)}")
        help = (f"{plain.name}(...) takes the same steps here, without g'" if has_correction(definition)
                else "")
        return finding("A601", "note", message, eq.span, help, **data)
    how = _how(d)
    data.update(derivative=_derivative_text(d))
    message = (f"the diffusion of {state} depends on the state: {how}, so {plain.short} has strong "
               f"order {expr_text(plain.strong_order)} on it and {corrected.short}, which adds "
               f"1/2 g g' (dW^2 - h), strong order {expr_text(corrected.strong_order)}; here {name}: "
               f"strong order {expr_text(order)}")
    if not _diagonal(d):
        help = (f"{corrected.short}'s correction takes each diffusion entry's derivative in its own "
                f"state entry (diagonal noise), which misses this dependence")
    elif not has_correction(definition) and definition is plain:
        help = (f"{corrected.name}(...) raises the strong order to {expr_text(corrected.strong_order)} "
                f"(the weak order is {plain.order} either way)")
    else:
        help = ""
    return finding("A601", "note", message, eq.span, help, **data)


def _how(d: terms.Diffusion) -> str:
    reads = ", ".join(d.reads)
    if d.networks:
        nets = ", ".join(d.networks)
        return f"it reads {reads} through the network{'s' if len(d.networks) > 1 else ''} {nets}"
    if d.closed_form:
        return (f"g = {d.coefficient_text()}, a closed form in {reads} with g' = "
                f"{_derivative_text(d)} (by sympy)")
    return f"g dW = {expr_text(d.expr)} reads {reads}"


def _derivative_text(d: terms.Diffusion) -> str | None:
    """dg/dX of a closed form in its own state X (one noise), else None."""
    if not (d.closed_form and len(d.columns) == 1 and d.state in d.reads):
        return None
    return expr_text(sympy.simplify(terms.derivative(d.columns[0][1], d.state)))


# -- A602 --------------------------------------------------------------------------------------

def _sense(model, definition: SchemeDefinition, diffusions) -> Diagnostic:
    scheme, name = model.scheme, definition.short
    option = definition.option("ito")
    ito = scheme.option("ito", True) if option is not None else True
    written = ("" if option is None else
               f" (ito = {'true' if ito else 'false'}{', the default' if ito == option.default else ''})")
    corrections = {eq.state: terms.ito_correction(model, eq, diffusions) for eq in model.equations}
    data = {"scheme": scheme.kind, "sense": "Ito" if ito else "Stratonovich",
            "corrections": "; ".join(f"{s}: {_correction_text(c)}" for s, c in corrections.items())}
    if all(d.is_additive for d in diffusions):
        message = (f"{name} reads the sde in the Itô sense{written}; the noise is additive, so read as "
                   f"Stratonovich it is the same sde (its Itô drift correction 1/2 g g' is 0)")
        if not ito:
            message = (f"{name} reads the sde in the Stratonovich sense{written}; the noise is additive, "
                       f"so its Itô form is the same sde (the drift correction 1/2 g g' is 0)")
        return finding("A602", "note", message, scheme.span, **data)
    by_state = {d.state: d for d in diffusions}
    parts = [_correction_clause(eq, by_state[eq.state], corrections[eq.state], ito)
             for eq in model.equations if not by_state[eq.state].is_additive]
    if ito:
        message = (f"{name} reads the sde in the Itô sense{written}: g is taken at the start of each "
                   f"step; read as Stratonovich (ito = false), its Itô form would add "
                   + "; ".join(parts))
        return finding("A602", "note", message, scheme.span, **data)
    message = (f"{name} reads the sde in the Stratonovich sense{written}: it integrates the Itô form, "
               "adding " + "; ".join(parts))
    return finding("A602", "note", message, scheme.span,
                   "the Itô drift f + 1/2 g g' (g' = dg/dX) takes the place of f in the step", **data)


def _correction_clause(eq: ir.Equation, d: terms.Diffusion, correction, ito: bool) -> str:
    state = eq.state
    if correction is None:
        nets = ", ".join(d.networks)
        of = f"the network {nets}" if nets else "g"
        return (f"1/2 g g' to the drift of {state}, with g' the derivative of {of} in "
                f"{', '.join(d.reads)} (no closed form)")
    text = f"1/2 g g' = {expr_text(correction)} to the drift of {state}"
    if ito:
        return text
    drift = sympy.simplify(eq.rhs + correction)
    return f"{text}: d({state}) = ({expr_text(drift)})*dt + ({d.coefficient_text()})*dW"


def _correction_text(correction) -> str:
    return "not a closed form" if correction is None else expr_text(correction)
