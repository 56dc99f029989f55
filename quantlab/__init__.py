"""quantlab: Jupyter-centric quant research, from notebook to live runner."""
