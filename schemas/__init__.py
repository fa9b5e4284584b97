"""Schemas: the one definition of every record that crosses a stage boundary, and every params model."""
