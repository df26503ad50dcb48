"""The node catalogue: one module per node type, collected by ``registry``."""
