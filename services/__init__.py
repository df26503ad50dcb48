"""Document Workflow Chain's service layer: the product's rules, free of any web framework."""
