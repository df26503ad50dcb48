"""The Reflex app: pages, and the API mounted on its backend."""
