"""Curation: score another tool's candidate ROIs as cell / not cell and decide at a chosen precision."""
