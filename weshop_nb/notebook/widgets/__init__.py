"""The studio's widgets, one family per module: upload, pickers, grid, studio."""
