"""Request context, structured logs and metrics: what lets an operator see inside the running product."""
