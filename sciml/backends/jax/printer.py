"""sympy's JaxPrinter, taught the IR's array operations (see common/printer.py)."""
from __future__ import annotations

from sympy.printing.numpy import JaxPrinter

from sciml.backends.common.printer import ArrayPrinterMixin


class JaxCodePrinter(ArrayPrinterMixin, JaxPrinter):
    SPELLING = {
        "sqrt": "jnp.sqrt({})",
        "relu": "jax.nn.relu({})",
        "step": "jnp.heaviside({0}, 0.0)",
        "sigmoid": "jax.nn.sigmoid({})",
        "softplus": "jax.nn.softplus({})",
        "softmax": "jax.nn.softmax({}, axis=-2)",   # the features: (features, samples), (draws, features, samples)
        "mean": "jnp.mean({})",
        "sum": "jnp.sum({})",
        "norm": "jnp.linalg.norm({})",
        "sample_norm": "jnp.linalg.norm({}, axis=0, keepdims=True)",
        "squared_norm": "jnp.sum(jnp.square({}))",
        "squared_sample_norm": "jnp.sum(jnp.square({}), axis=0, keepdims=True)",
        # J (outputs, directions, samples): its trace and the sum of its squares, per sample
        "jacobian_trace": "jnp.diagonal({}, axis1=0, axis2=1).sum(-1)[None]",
        "jacobian_squared_norm": "jnp.sum(jnp.square({}), axis=(0, 1))[None]",
        # v . J v over the features (axis 0), averaged over the probes (then axis 0)
        "probe_trace": "jnp.mean(jnp.sum({} * {}, axis=0), axis=0, keepdims=True)",
        "entry_sum": "jnp.sum({}, axis=0, keepdims=True)",
        "entry_min": "jnp.min({}, axis=0, keepdims=True)",
        "entry_max": "jnp.max({}, axis=0, keepdims=True)",
        "inner": "jnp.sum({} * {}, axis=0, keepdims=True)",
        "feature_sum": "jnp.sum({}, axis=0)",
        # a vae: draws side by side on the sample axis; log sum exp over the draws (axis 0)
        "repeat_samples": "jnp.tile({}, (1, {}))",
        "logsumexp_rows": "jax.nn.logsumexp({}, axis=0)",
        # the index of the largest of one value per sample (a row)
        "argmax_samples": "jnp.argmax({}.reshape(-1))",
    }

    def __init__(self, names, numbers=frozenset(), scalars=frozenset()):
        super().__init__(names, {"strict": True}, numbers, scalars)

    def _module_format(self, fqn, register=True):
        text = super()._module_format(fqn, register)
        return "jnp." + text[len("jax.numpy."):] if text.startswith("jax.numpy.") else text
