"""ipywidgets panels of weshop_nb. Widgets never send HTTP themselves: they call the work
layer, and background threads only set their traits."""
