"""One module per time integrator (or per family of forms), each a SchemeDefinition."""
