"""The reverse-time sampler of a diffusion model: Euler-Maruyama on the reverse SDE
dx = [f(x, t) - g(t)^2 s(x, t)] dt + g(t) dW-bar, run from t = T down to 0 (Song et al. 2021).

The compiler derives that SDE from the spec's forward sde and the score network named by
`score = s` (sciml/lowering/reverse_sde.py); here its drift is `rate` and its diffusion the noise
slot, a step back in time.  The second sampler, the probability-flow ODE dx/dt = f - 1/2 g^2 s,
is integrated by the deterministic scheme of the `flow` option (rk4 by default), its stages taken
from that scheme's definition run backwards (registry.probability_flow: h -> -h, t_j = T - j h)."""
from __future__ import annotations

from sciml.schemes.algebra import Stage, State, h, t
from sciml.schemes.definition import (CHOICE, NETWORK, REVERSE_TIME, STEPS, Option, SchemeDefinition,
                                      grid_options)

y = State("y")
FLOW_SCHEMES = ("rk4", "euler")   # the probability-flow ODE's integrators (fixed-step, first order)

REVERSE_SAMPLER = SchemeDefinition(
    name="reverse_sampler",
    title="reverse-time Euler-Maruyama sampler",
    short="the reverse-time sampler",
    latex="reverse-time Euler--Maruyama",
    options=grid_options() + (Option("paths", STEPS, default=1), Option("score", NETWORK, missing=(
        "E263", "reverse_sampler(..., score = s) names the score network",
        "name the network that dsm(...) trains: score = s")),
        Option("flow", CHOICE, default=FLOW_SCHEMES[0], choices=FLOW_SCHEMES)),
    order=1,
    forms=(REVERSE_TIME,),
    example="reverse_sampler(steps = 500, T = 1.0, score = s, paths = 1000)",
    carried=(y[0],),
    step=(Stage(y[1], y[0] - h * y.rate(t, y[0]) + y.noise(t, y[0])),),
    stochastic=True,
)

